//! Packet encoding and decoding for every netcode packet type.
//!
//! The connection request (type 0) travels in the clear:
//! `0 | version info (13) | protocol id (8) | expire timestamp (8) | token nonce (24) | private token (1024)`.
//! Every other packet is `prefix | sequence (1..=8 bytes, little endian, high zero bytes omitted) | encrypted
//! per-packet data | tag (16)`, where `prefix = (sequence bytes << 4) | type`, the nonce is the sequence number and
//! the associated data is `version info | protocol id | prefix`.

use super::crypto::{self, CryptoError};
use super::replay::ReplayProtection;
use super::stats::DropReason;
use super::token::ConnectToken;
use super::wire::{Reader, Short, Writer};
use super::{
    CHALLENGE_TOKEN_BYTES, CONNECTION_REQUEST_BYTES, CONNECT_TOKEN_NONCE_BYTES, CONNECT_TOKEN_PRIVATE_BYTES, KEY_BYTES,
    MAC_BYTES, MAX_PACKET_BYTES, MAX_PAYLOAD_BYTES, USER_DATA_BYTES, VERSION_INFO,
};

/// Packet type numbers (low 4 bits of the prefix byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PacketType {
    /// Connection request (unencrypted).
    Request = 0,
    /// Connection denied.
    Denied = 1,
    /// Connection challenge.
    Challenge = 2,
    /// Connection response.
    Response = 3,
    /// Keep-alive.
    KeepAlive = 4,
    /// Payload.
    Payload = 5,
    /// Disconnect.
    Disconnect = 6,
}

impl PacketType {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::Request,
            1 => Self::Denied,
            2 => Self::Challenge,
            3 => Self::Response,
            4 => Self::KeepAlive,
            5 => Self::Payload,
            6 => Self::Disconnect,
            _ => return None,
        })
    }

    fn replay_protected(self) -> bool {
        matches!(self, Self::KeepAlive | Self::Payload | Self::Disconnect)
    }
}

/// An encrypted packet's contents (types 1..=6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// The server is full.
    Denied,
    /// Server → client: an encrypted challenge token to echo back.
    Challenge {
        /// Challenge token sequence (its nonce).
        token_sequence: u64,
        /// The encrypted challenge token.
        token: &'a [u8; CHALLENGE_TOKEN_BYTES],
    },
    /// Client → server: the echoed challenge.
    Response {
        /// Challenge token sequence.
        token_sequence: u64,
        /// The encrypted challenge token.
        token: &'a [u8; CHALLENGE_TOKEN_BYTES],
    },
    /// Keeps the connection alive; from the server it also tells the client its index.
    KeepAlive {
        /// The client's slot on the server.
        client_index: u32,
        /// The server's slot count.
        max_clients: u32,
    },
    /// Application data, 1..=1200 bytes.
    Payload(&'a [u8]),
    /// The sender closes the connection.
    Disconnect,
}

impl Packet<'_> {
    /// The packet's type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Self::Denied => PacketType::Denied,
            Self::Challenge { .. } => PacketType::Challenge,
            Self::Response { .. } => PacketType::Response,
            Self::KeepAlive { .. } => PacketType::KeepAlive,
            Self::Payload(_) => PacketType::Payload,
            Self::Disconnect => PacketType::Disconnect,
        }
    }
}

/// Which end is decoding: each ignores the types only the other end receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    /// Accepts response, keep-alive, payload, disconnect.
    Server,
    /// Accepts denied, challenge, keep-alive, payload, disconnect.
    Client,
}

/// Encoding failed: the output buffer is too small or the payload size is outside 1..=1200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeError;

impl From<Short> for EncodeError {
    fn from(_: Short) -> Self {
        Self
    }
}

impl From<CryptoError> for EncodeError {
    fn from(_: CryptoError) -> Self {
        Self
    }
}

fn packet_aad(protocol_id: u64, prefix: u8) -> [u8; 22] {
    let mut ad = [0u8; 22];
    ad[..13].copy_from_slice(VERSION_INFO);
    ad[13..21].copy_from_slice(&protocol_id.to_le_bytes());
    ad[21] = prefix;
    ad
}

/// Number of bytes the variable-length encoding of `sequence` takes (1..=8).
pub fn sequence_bytes(sequence: u64) -> usize {
    (((64 - sequence.leading_zeros()) as usize).div_ceil(8)).max(1)
}

/// Writes a connection request for `token` into `out`; returns its length ([`CONNECTION_REQUEST_BYTES`]).
pub fn encode_request(token: &ConnectToken, out: &mut [u8]) -> Result<usize, EncodeError> {
    let mut w = Writer::new(out);
    w.u8(PacketType::Request as u8)?;
    w.bytes(VERSION_INFO)?;
    w.u64(token.protocol_id)?;
    w.u64(token.expire_timestamp)?;
    w.bytes(&token.nonce)?;
    w.bytes(&token.private_data)?;
    Ok(w.pos())
}

/// Encodes and encrypts `packet` with `sequence` as nonce into `out`; returns the datagram length.
pub fn encode(
    packet: &Packet<'_>,
    sequence: u64,
    key: &[u8; KEY_BYTES],
    protocol_id: u64,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let seq_bytes = sequence_bytes(sequence);
    let prefix = ((seq_bytes as u8) << 4) | packet.packet_type() as u8;
    let mut w = Writer::new(out);
    w.u8(prefix)?;
    w.bytes(&sequence.to_le_bytes()[..seq_bytes])?;
    let start = w.pos();
    match packet {
        Packet::Denied | Packet::Disconnect => {}
        Packet::Challenge { token_sequence, token } | Packet::Response { token_sequence, token } => {
            w.u64(*token_sequence)?;
            w.bytes(&token[..])?;
        }
        Packet::KeepAlive { client_index, max_clients } => {
            w.u32(*client_index)?;
            w.u32(*max_clients)?;
        }
        Packet::Payload(p) => {
            if p.is_empty() || p.len() > MAX_PAYLOAD_BYTES {
                return Err(EncodeError);
            }
            w.bytes(p)?;
        }
    }
    w.bytes(&[0u8; MAC_BYTES])?;
    let end = w.pos();
    let body = out.get_mut(start..end).ok_or(EncodeError)?;
    crypto::encrypt(body, sequence, key, &packet_aad(protocol_id, prefix))?;
    Ok(end)
}

/// A parsed connection request; the private token is still encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionRequest<'a> {
    /// Protocol id.
    pub protocol_id: u64,
    /// Connect token expire timestamp (Unix seconds).
    pub expire_timestamp: u64,
    /// Connect token nonce.
    pub nonce: &'a [u8; CONNECT_TOKEN_NONCE_BYTES],
    /// Encrypted private connect token.
    pub private_data: &'a [u8; CONNECT_TOKEN_PRIVATE_BYTES],
}

/// Parses a connection request, running the standard's cheap checks in order: size, version, protocol id, expiry
/// (`now_secs` is the current Unix time in seconds). Token decryption is left to the caller.
pub fn decode_request(data: &[u8], protocol_id: u64, now_secs: u64) -> Result<ConnectionRequest<'_>, DropReason> {
    if data.len() != CONNECTION_REQUEST_BYTES {
        return Err(DropReason::BadSize);
    }
    let mut r = Reader::new(data);
    let bad = |_: Short| DropReason::BadSize;
    let _prefix = r.u8().map_err(bad)?;
    if r.array_ref::<13>().map_err(bad)? != VERSION_INFO {
        return Err(DropReason::VersionMismatch);
    }
    if r.u64().map_err(bad)? != protocol_id {
        return Err(DropReason::ProtocolMismatch);
    }
    let expire_timestamp = r.u64().map_err(bad)?;
    if expire_timestamp <= now_secs {
        return Err(DropReason::TokenExpired);
    }
    Ok(ConnectionRequest {
        protocol_id,
        expire_timestamp,
        nonce: r.array_ref().map_err(bad)?,
        private_data: r.array_ref().map_err(bad)?,
    })
}

/// The cleartext header of an encrypted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Packet type.
    pub packet_type: PacketType,
    /// Sequence number (nonce).
    pub sequence: u64,
    prefix: u8,
    body_start: usize,
}

/// Runs the standard's pre-decryption checks (size, type, sequence bytes, per-type size) without touching the
/// key or the replay window.
pub fn peek_header(data: &[u8], receiver: Receiver) -> Result<Header, DropReason> {
    if data.len() < 2 + MAC_BYTES {
        return Err(DropReason::TooSmall);
    }
    if data.len() > MAX_PACKET_BYTES {
        return Err(DropReason::TooLarge);
    }
    let prefix = data[0];
    let packet_type = PacketType::from_u8(prefix & 0x0f).ok_or(DropReason::InvalidType)?;
    let accepted = match receiver {
        Receiver::Server => !matches!(packet_type, PacketType::Request | PacketType::Challenge | PacketType::Denied),
        Receiver::Client => !matches!(packet_type, PacketType::Request | PacketType::Response),
    };
    if !accepted {
        return Err(DropReason::UnexpectedType);
    }
    let seq_bytes = (prefix >> 4) as usize;
    if !(1..=8).contains(&seq_bytes) {
        return Err(DropReason::BadSequenceBytes);
    }
    let body_start = 1 + seq_bytes;
    let body_len = data.len().checked_sub(body_start + MAC_BYTES).ok_or(DropReason::TooSmall)?;
    let size_ok = match packet_type {
        PacketType::Denied | PacketType::Disconnect => body_len == 0,
        PacketType::Challenge | PacketType::Response => body_len == 8 + CHALLENGE_TOKEN_BYTES,
        PacketType::KeepAlive => body_len == 8,
        PacketType::Payload => (1..=MAX_PAYLOAD_BYTES).contains(&body_len),
        PacketType::Request => false,
    };
    if !size_ok {
        return Err(DropReason::BadSize);
    }
    let mut seq = [0u8; 8];
    seq[..seq_bytes].copy_from_slice(&data[1..body_start]);
    Ok(Header { packet_type, sequence: u64::from_le_bytes(seq), prefix, body_start })
}

/// Replay-checks, decrypts and parses an encrypted packet whose header passed [`peek_header`]. The plaintext is
/// written into `scratch` (at least [`MAX_PACKET_BYTES`] long) and the returned packet borrows from it.
pub fn open<'s>(
    data: &[u8],
    header: &Header,
    scratch: &'s mut [u8],
    protocol_id: u64,
    key: &[u8; KEY_BYTES],
    replay: &mut ReplayProtection,
) -> Result<Packet<'s>, DropReason> {
    let protected = header.packet_type.replay_protected();
    if protected && replay.already_received(header.sequence) {
        return Err(DropReason::Replayed);
    }
    let body_len = data.len() - header.body_start;
    let buf = scratch.get_mut(..body_len).ok_or(DropReason::TooLarge)?;
    buf.copy_from_slice(&data[header.body_start..]);
    crypto::decrypt(buf, header.sequence, key, &packet_aad(protocol_id, header.prefix))
        .map_err(|_| DropReason::DecryptFailed)?;
    if protected {
        replay.advance(header.sequence);
    }
    let plain = &buf[..body_len - MAC_BYTES];
    let mut r = Reader::new(plain);
    let bad = |_: Short| DropReason::BadSize;
    Ok(match header.packet_type {
        PacketType::Denied => Packet::Denied,
        PacketType::Disconnect => Packet::Disconnect,
        PacketType::Challenge => {
            Packet::Challenge { token_sequence: r.u64().map_err(bad)?, token: r.array_ref().map_err(bad)? }
        }
        PacketType::Response => {
            Packet::Response { token_sequence: r.u64().map_err(bad)?, token: r.array_ref().map_err(bad)? }
        }
        PacketType::KeepAlive => {
            Packet::KeepAlive { client_index: r.u32().map_err(bad)?, max_clients: r.u32().map_err(bad)? }
        }
        PacketType::Payload => Packet::Payload(plain),
        PacketType::Request => return Err(DropReason::UnexpectedType),
    })
}

/// Encrypts a challenge token (`client id | user data | zero pad` to 300 bytes) with the server's challenge key.
pub(crate) fn seal_challenge(
    client_id: u64,
    user_data: &[u8; USER_DATA_BYTES],
    sequence: u64,
    key: &[u8; KEY_BYTES],
) -> [u8; CHALLENGE_TOKEN_BYTES] {
    let mut t = [0u8; CHALLENGE_TOKEN_BYTES];
    t[..8].copy_from_slice(&client_id.to_le_bytes());
    t[8..8 + USER_DATA_BYTES].copy_from_slice(user_data);
    // The buffer is 300 > 16 bytes: encryption cannot fail.
    let _ = crypto::encrypt(&mut t, sequence, key, &[]);
    t
}

/// Decrypts a challenge token; returns the client id and user data.
pub(crate) fn open_challenge(
    token: &[u8; CHALLENGE_TOKEN_BYTES],
    sequence: u64,
    key: &[u8; KEY_BYTES],
) -> Option<(u64, [u8; USER_DATA_BYTES])> {
    let mut t = *token;
    crypto::decrypt(&mut t, sequence, key, &[]).ok()?;
    let mut id = [0u8; 8];
    id.copy_from_slice(&t[..8]);
    let mut user = [0u8; USER_DATA_BYTES];
    user.copy_from_slice(&t[8..8 + USER_DATA_BYTES]);
    Some((u64::from_le_bytes(id), user))
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
