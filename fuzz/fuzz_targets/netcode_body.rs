// The bodies of the netcode fuzz targets (`netcode_server`, `netcode_client`, `connect_token`),
// shared with `net-shim/tests/fuzz_corpus.rs` so that their corpora are replayed by `cargo test`.
//
// Random bytes almost never pass a packet's MAC, so fuzzing raw datagrams only tests the drop path.
// These bodies also *seal* fuzzed bytes under the real keys of an established connection (the same
// ChaCha20-Poly1305 IETF construction as netcode 1.02: nonce = 4 zero bytes + sequence, associated
// data = version info | protocol id | prefix byte), so every mutation reaches the decoders behind
// the MAC: packet types, body lengths, sequences, keep-alive fields, payloads, challenge tokens, and
// private connect tokens sealed under the server's private key.

#![allow(dead_code)] // each includer uses part of it

use std::net::SocketAddr;
use std::time::Duration;

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, XChaCha20Poly1305, XNonce};
use framelock_net::netcode::packet::{self, Packet};
use framelock_net::netcode::{
    Client, ConnectToken, SeededRng, Server, ServerConfig, TokenParams, UserData, CONNECTION_REQUEST_BYTES,
    CONNECT_TOKEN_BYTES, CONNECT_TOKEN_PRIVATE_BYTES, MAC_BYTES, VERSION_INFO,
};

const PROTO: u64 = 0x0F00_D5EE_D000_0001;
const KEY: [u8; 32] = [0x5a; 32];
const T0: u64 = 1_800_000_000;

fn server_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 40000))
}

fn client_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 1, 1], 50000))
}

fn token() -> ConnectToken {
    let params = TokenParams {
        protocol_id: PROTO,
        client_id: 77,
        create_timestamp: T0,
        expire_timestamp: T0 + 30,
        timeout_seconds: 5,
        server_addresses: &[server_addr()],
        user_data: UserData::for_room_slot(9, 1),
    };
    match ConnectToken::generate(&params, &KEY, &mut SeededRng::from_u64(7)) {
        Ok(t) => t,
        Err(e) => panic!("a valid token: {e:?}"),
    }
}

/// Time since the Unix epoch, as the drivers pass it.
fn at(ms: u64) -> Duration {
    Duration::from_secs(T0) + Duration::from_millis(ms)
}

/// A server with one client connected over an in-memory link, and that client.
fn connected() -> (Server, Client, ConnectToken, u64) {
    let mut server =
        match Server::new(at(0), ServerConfig::new(PROTO, KEY, 4, server_addr()), &mut SeededRng::from_u64(1)) {
            Ok(s) => s,
            Err(e) => panic!("server config: {e:?}"),
        };
    let token = token();
    let mut client = Client::new(at(0), token.clone());
    let mut ms = 0;
    for _ in 0..20 {
        ms += 10;
        client.handle_timeout(at(ms));
        while let Some(t) = client.poll_transmit() {
            let bytes = t.contents.to_vec();
            server.handle_packet(at(ms), client_addr(), &bytes);
        }
        server.handle_timeout(at(ms));
        while let Some(t) = server.poll_transmit() {
            let bytes = t.contents.to_vec();
            client.handle_packet(at(ms), server_addr(), &bytes);
        }
        while server.poll_event().is_some() {}
        if client.is_connected() {
            break;
        }
    }
    assert!(client.is_connected(), "the fixture connects");
    (server, client, token, ms)
}

fn aad(prefix: u8) -> [u8; 22] {
    let mut ad = [0u8; 22];
    ad[..13].copy_from_slice(VERSION_INFO);
    ad[13..21].copy_from_slice(&PROTO.to_le_bytes());
    ad[21] = prefix;
    ad
}

/// A datagram of any type byte, sequence and body, sealed under `key` (the body may have any length:
/// the decoders' length checks are what is being fuzzed).
fn seal(kind: u8, sequence: u64, body: &[u8], key: &[u8; 32]) -> Vec<u8> {
    let seq_bytes = packet::sequence_bytes(sequence);
    let prefix = ((seq_bytes as u8) << 4) | (kind & 0x0f);
    let mut out = vec![prefix];
    out.extend_from_slice(&sequence.to_le_bytes()[..seq_bytes]);
    let mut data = body.to_vec();
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&sequence.to_le_bytes());
    let cipher = ChaCha20Poly1305::new(key.into());
    match cipher.encrypt_in_place_detached(&Nonce::from(nonce), &aad(prefix), &mut data) {
        Ok(tag) => {
            out.extend_from_slice(&data);
            out.extend_from_slice(&tag);
        }
        Err(_) => out.extend_from_slice(&[0; MAC_BYTES]),
    }
    out
}

/// Reads fuzz input front to back; past the end every read gives zeros.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        b
    }
    fn u64(&mut self) -> u64 {
        let n = usize::from(self.u8() % 9);
        let mut v = [0u8; 8];
        for b in v.iter_mut().take(n) {
            *b = self.u8();
        }
        u64::from_le_bytes(v)
    }
    fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = (usize::from(self.u8()) | usize::from(self.u8()) << 8).min(max).min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        b
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Server side: raw datagrams from the connected address and strangers, datagrams sealed under the
/// client's key (any type, sequence and body), mutated connection requests, and time passing.
pub fn server(data: &[u8]) {
    let (mut server, _client, token, mut ms) = connected();
    let mut input = Input(data);
    let mut sent = 0usize;
    while !input.is_empty() && sent < 64 {
        sent += 1;
        let datagram = match input.u8() % 6 {
            0 => input.bytes(1500).to_vec(),
            1 | 2 => {
                let (kind, sequence) = (input.u8(), input.u64());
                seal(kind, sequence, input.bytes(1400), &token.client_to_server_key)
            }
            3 => {
                // A connection request with fuzzed bytes over the real one.
                let mut req = [0u8; CONNECTION_REQUEST_BYTES];
                let Ok(n) = packet::encode_request(&token, &mut req) else { return };
                let mut req = req[..n].to_vec();
                for _ in 0..input.u8() % 8 {
                    let i = usize::from(input.u8()) | usize::from(input.u8()) << 8;
                    if let Some(b) = req.get_mut(i % n.max(1)) {
                        *b ^= input.u8();
                    }
                }
                req
            }
            4 => {
                // A well-formed packet of the connection with fuzzed fields.
                let (sequence, a, b) = (input.u64(), input.u64() as u32, input.u64() as u32);
                let mut out = [0u8; 1500];
                let p = match input.u8() % 3 {
                    0 => Packet::KeepAlive { client_index: a, max_clients: b },
                    1 => Packet::Payload(input.bytes(1200)),
                    _ => Packet::Disconnect,
                };
                match packet::encode(&p, sequence, &token.client_to_server_key, PROTO, &mut out) {
                    Ok(n) => out[..n].to_vec(),
                    Err(_) => continue,
                }
            }
            _ => {
                ms += u64::from(input.u8()) * 20;
                server.handle_timeout(at(ms));
                Vec::new()
            }
        };
        let from = if input.u8() % 4 == 0 { SocketAddr::from(([10, 9, 9, 9], 1)) } else { client_addr() };
        if !datagram.is_empty() {
            server.handle_packet(at(ms), from, &datagram);
        }
        while server.poll_transmit().is_some() {}
        while let Some(e) = server.poll_event() {
            let _ = format!("{e:?}");
        }
    }
    let _ = server.stats();
}

/// Client side: raw datagrams and datagrams sealed under the server's key for this connection.
pub fn client(data: &[u8]) {
    let (_server, mut client, token, mut ms) = connected();
    let mut input = Input(data);
    let mut sent = 0usize;
    while !input.is_empty() && sent < 64 {
        sent += 1;
        let datagram = match input.u8() % 4 {
            0 => input.bytes(1500).to_vec(),
            1 | 2 => {
                let (kind, sequence) = (input.u8(), input.u64());
                seal(kind, sequence, input.bytes(1400), &token.server_to_client_key)
            }
            _ => {
                ms += u64::from(input.u8()) * 20;
                client.handle_timeout(at(ms));
                Vec::new()
            }
        };
        let from = if input.u8() % 4 == 0 { SocketAddr::from(([10, 9, 9, 9], 1)) } else { server_addr() };
        if !datagram.is_empty() {
            client.handle_packet(at(ms), from, &datagram);
        }
        while client.poll_transmit().is_some() {}
        while client.poll_payload().is_some() {}
        let _ = (client.state(), client.client_index(), client.max_clients());
    }
    let _ = client.stats();
}

/// Connect tokens: the public token read from raw bytes; and a private part whose *plaintext* is the
/// fuzz input, sealed under the server's private key, decrypted and decoded by the token and by a
/// server receiving it in a connection request.
pub fn token_parse(data: &[u8]) {
    // The public token, raw.
    let mut raw = [0u8; CONNECT_TOKEN_BYTES];
    let n = data.len().min(CONNECT_TOKEN_BYTES);
    raw[..n].copy_from_slice(&data[..n]);
    if let Ok(t) = ConnectToken::read(&raw) {
        let _ = t.server_addresses();
        let _ = t.decrypt_private(&KEY);
    }
    let _ = ConnectToken::read(data);
    // The private part, sealed under the real key.
    let good = token();
    let mut private = [0u8; CONNECT_TOKEN_PRIVATE_BYTES];
    let n = data.len().min(CONNECT_TOKEN_PRIVATE_BYTES - MAC_BYTES);
    private[..n].copy_from_slice(&data[..n]);
    let mut ad = [0u8; 29];
    ad[..13].copy_from_slice(VERSION_INFO);
    ad[13..21].copy_from_slice(&PROTO.to_le_bytes());
    ad[21..].copy_from_slice(&good.expire_timestamp.to_le_bytes());
    let cipher = XChaCha20Poly1305::new((&KEY).into());
    let (body, tag_out) = private.split_at_mut(CONNECT_TOKEN_PRIVATE_BYTES - MAC_BYTES);
    let Ok(tag) = cipher.encrypt_in_place_detached(XNonce::from_slice(&good.nonce), &ad, body) else { return };
    tag_out.copy_from_slice(&tag);
    let mut forged = good.clone();
    forged.private_data = private;
    if let Ok(p) = forged.decrypt_private(&KEY) {
        let _ = (p.server_addresses(), p.user_data.room_slot(), format!("{p:?}"));
    }
    let mut bytes = [0u8; CONNECT_TOKEN_BYTES];
    forged.write(&mut bytes);
    let _ = ConnectToken::read(&bytes);
    // A server receiving it in a connection request.
    let Ok(mut server) =
        Server::new(at(0), ServerConfig::new(PROTO, KEY, 2, server_addr()), &mut SeededRng::from_u64(3))
    else {
        return;
    };
    let mut req = [0u8; CONNECTION_REQUEST_BYTES];
    if let Ok(n) = packet::encode_request(&forged, &mut req) {
        server.handle_packet(at(10), client_addr(), &req[..n]);
        while server.poll_transmit().is_some() {}
        while server.poll_event().is_some() {}
    }
}
