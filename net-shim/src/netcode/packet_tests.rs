#![allow(clippy::unwrap_used)]

use super::*;
use crate::netcode::{SeededRng, TokenParams, UserData};
use std::net::SocketAddr;

const PROTO: u64 = 0xfeed;
const KEY: [u8; 32] = [3; 32];

fn roundtrip(p: Packet<'_>, seq: u64, receiver: Receiver) -> (Vec<u8>, Vec<u8>) {
    let mut out = [0u8; MAX_PACKET_BYTES];
    let n = encode(&p, seq, &KEY, PROTO, &mut out).unwrap();
    let h = peek_header(&out[..n], receiver).unwrap();
    assert_eq!(h.sequence, seq);
    assert_eq!(h.packet_type, p.packet_type());
    let mut scratch = [0u8; MAX_PACKET_BYTES];
    let mut replay = ReplayProtection::new();
    let got = open(&out[..n], &h, &mut scratch, PROTO, &KEY, &mut replay).unwrap();
    assert_eq!(got, p);
    (out[..n].to_vec(), scratch.to_vec())
}

#[test]
fn sequence_encoding() {
    assert_eq!(sequence_bytes(0), 1);
    assert_eq!(sequence_bytes(255), 1);
    assert_eq!(sequence_bytes(256), 2);
    assert_eq!(sequence_bytes(1000), 2);
    assert_eq!(sequence_bytes(u64::MAX), 8);
    let (bytes, _) = roundtrip(Packet::Disconnect, 1000, Receiver::Server);
    // The standard's example: 1000 = 0x3E8 → two bytes, written low byte first.
    assert_eq!(bytes[0], (2 << 4) | 6);
    assert_eq!(&bytes[1..3], &[0xE8, 0x03]);
    assert_eq!(bytes.len(), 1 + 2 + 16);
}

#[test]
fn every_type_roundtrips() {
    let token = [9u8; CHALLENGE_TOKEN_BYTES];
    roundtrip(Packet::Denied, 0, Receiver::Client);
    roundtrip(Packet::Challenge { token_sequence: 7, token: &token }, 1 << 63, Receiver::Client);
    roundtrip(Packet::Response { token_sequence: 7, token: &token }, 5, Receiver::Server);
    roundtrip(Packet::KeepAlive { client_index: 3, max_clients: 64 }, 77, Receiver::Server);
    roundtrip(Packet::Payload(&[1, 2, 3]), 1 << 40, Receiver::Client);
    roundtrip(Packet::Payload(&[0xaa; MAX_PAYLOAD_BYTES]), u64::MAX - 1, Receiver::Server);
    roundtrip(Packet::Disconnect, 1, Receiver::Client);
}

#[test]
fn encode_rejects_bad_payloads_and_small_buffers() {
    let mut out = [0u8; MAX_PACKET_BYTES + 10];
    assert_eq!(encode(&Packet::Payload(&[]), 0, &KEY, PROTO, &mut out), Err(EncodeError));
    assert_eq!(encode(&Packet::Payload(&[0; MAX_PAYLOAD_BYTES + 1]), 0, &KEY, PROTO, &mut out), Err(EncodeError));
    assert_eq!(encode(&Packet::Disconnect, 0, &KEY, PROTO, &mut [0u8; 10]), Err(EncodeError));
}

#[test]
fn header_checks_in_order() {
    let mut out = [0u8; MAX_PACKET_BYTES];
    let n = encode(&Packet::KeepAlive { client_index: 0, max_clients: 1 }, 5, &KEY, PROTO, &mut out).unwrap();
    let pkt = &out[..n];
    assert_eq!(peek_header(&pkt[..17], Receiver::Server), Err(DropReason::TooSmall));
    assert_eq!(peek_header(&[0u8; MAX_PACKET_BYTES + 1], Receiver::Server), Err(DropReason::TooLarge));
    let mut bad = pkt.to_vec();
    bad[0] = 0x17;
    assert_eq!(peek_header(&bad, Receiver::Server), Err(DropReason::InvalidType));
    bad[0] = 0x12;
    assert_eq!(peek_header(&bad, Receiver::Server), Err(DropReason::UnexpectedType));
    bad[0] = 0x13;
    assert_eq!(peek_header(&bad, Receiver::Client), Err(DropReason::UnexpectedType));
    bad[0] = 0x04;
    assert_eq!(peek_header(&bad, Receiver::Server), Err(DropReason::BadSequenceBytes));
    bad[0] = 0x94;
    assert_eq!(peek_header(&bad, Receiver::Server), Err(DropReason::BadSequenceBytes));
    bad[0] = 0x15;
    assert_eq!(peek_header(&bad, Receiver::Server).map(|h| h.packet_type), Ok(PacketType::Payload));
    bad[0] = 0x16;
    assert_eq!(peek_header(&bad, Receiver::Server), Err(DropReason::BadSize));
}

#[test]
fn open_detects_tampering_replay_and_wrong_protocol() {
    let mut out = [0u8; MAX_PACKET_BYTES];
    let n = encode(&Packet::Payload(b"abc"), 9, &KEY, PROTO, &mut out).unwrap();
    let mut scratch = [0u8; MAX_PACKET_BYTES];
    let mut replay = ReplayProtection::new();
    let h = peek_header(&out[..n], Receiver::Server).unwrap();
    assert_eq!(open(&out[..n], &h, &mut scratch, PROTO + 1, &KEY, &mut replay), Err(DropReason::DecryptFailed));
    assert_eq!(open(&out[..n], &h, &mut scratch, PROTO, &[4; 32], &mut replay), Err(DropReason::DecryptFailed));
    // A packet type flipped in the prefix fails authentication (the prefix is associated data).
    let mut flipped = out;
    flipped[0] = (flipped[0] & 0xf0) | 4;
    let n2 = n; // keep-alive needs 8 bytes: size check rejects first
    assert_eq!(peek_header(&flipped[..n2], Receiver::Server), Err(DropReason::BadSize));
    let mut bitflip = out;
    bitflip[3] ^= 0x40;
    assert_eq!(open(&bitflip[..n], &h, &mut scratch, PROTO, &KEY, &mut replay), Err(DropReason::DecryptFailed));
    assert_eq!(open(&out[..n], &h, &mut scratch, PROTO, &KEY, &mut replay), Ok(Packet::Payload(b"abc")));
    assert_eq!(open(&out[..n], &h, &mut scratch, PROTO, &KEY, &mut replay), Err(DropReason::Replayed));
}

#[test]
fn request_roundtrip_and_checks() {
    let addrs = [SocketAddr::from(([127, 0, 0, 1], 1))];
    let params = TokenParams {
        protocol_id: PROTO,
        client_id: 1,
        create_timestamp: 10,
        expire_timestamp: 20,
        timeout_seconds: 5,
        server_addresses: &addrs,
        user_data: UserData::default(),
    };
    let token = ConnectToken::generate(&params, &KEY, &mut SeededRng::from_u64(4)).unwrap();
    let mut out = [0u8; 2000];
    let n = encode_request(&token, &mut out).unwrap();
    assert_eq!(n, CONNECTION_REQUEST_BYTES);
    assert_eq!(n, 1078);
    let req = decode_request(&out[..n], PROTO, 10).unwrap();
    assert_eq!(req.expire_timestamp, 20);
    assert_eq!(req.private_data, &token.private_data);
    assert_eq!(decode_request(&out[..n - 1], PROTO, 10), Err(DropReason::BadSize));
    assert_eq!(decode_request(&out[..n], PROTO + 1, 10), Err(DropReason::ProtocolMismatch));
    assert_eq!(decode_request(&out[..n], PROTO, 20), Err(DropReason::TokenExpired));
    let mut v = out;
    v[5] = b'X';
    assert_eq!(decode_request(&v[..n], PROTO, 10), Err(DropReason::VersionMismatch));
}

#[test]
fn challenge_token_roundtrip() {
    let user = [7u8; USER_DATA_BYTES];
    let sealed = seal_challenge(99, &user, 12, &KEY);
    assert_eq!(open_challenge(&sealed, 12, &KEY), Some((99, user)));
    assert_eq!(open_challenge(&sealed, 13, &KEY), None);
    assert_eq!(open_challenge(&sealed, 12, &[0; 32]), None);
}
