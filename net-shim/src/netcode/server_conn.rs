//! Server-side per-connection records and the shared send helper.

use std::net::SocketAddr;
use std::time::Duration;

use super::packet::{self, Packet};
use super::queue::{Datagram, Ring};
use super::replay::ReplayProtection;
use super::stats::ServerStats;
use super::token::UserData;
use super::{KEY_BYTES, MAC_BYTES};

pub(crate) const NO_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// Timeout of a token's `timeout_seconds` (`None`: disabled).
pub(crate) fn timeout_of(seconds: i32) -> Option<Duration> {
    (seconds > 0).then(|| Duration::from_secs(seconds as u64))
}

/// A client slot.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) connected: bool,
    pub(crate) confirmed: bool,
    pub(crate) client_id: u64,
    pub(crate) address: SocketAddr,
    pub(crate) send_key: [u8; KEY_BYTES],
    pub(crate) recv_key: [u8; KEY_BYTES],
    pub(crate) user_data: UserData,
    pub(crate) timeout: Option<Duration>,
    pub(crate) last_recv: Duration,
    pub(crate) last_send: Duration,
    pub(crate) sequence: u64,
    pub(crate) replay: ReplayProtection,
}

impl Slot {
    pub(crate) fn empty() -> Self {
        Self {
            connected: false,
            confirmed: false,
            client_id: 0,
            address: NO_ADDR,
            send_key: [0; KEY_BYTES],
            recv_key: [0; KEY_BYTES],
            user_data: UserData::default(),
            timeout: None,
            last_recv: Duration::ZERO,
            last_send: Duration::ZERO,
            sequence: 0,
            replay: ReplayProtection::new(),
        }
    }

    pub(crate) fn next_sequence(&mut self) -> u64 {
        let s = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        s
    }
}

/// An encryption mapping for an address that sent a valid connection request but has not answered the challenge.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub(crate) active: bool,
    pub(crate) client_id: u64,
    pub(crate) address: SocketAddr,
    pub(crate) send_key: [u8; KEY_BYTES],
    pub(crate) recv_key: [u8; KEY_BYTES],
    pub(crate) timeout: Option<Duration>,
    pub(crate) expire_timestamp: u64,
    pub(crate) last_recv: Duration,
}

impl Pending {
    pub(crate) fn empty() -> Self {
        Self {
            active: false,
            client_id: 0,
            address: NO_ADDR,
            send_key: [0; KEY_BYTES],
            recv_key: [0; KEY_BYTES],
            timeout: None,
            expire_timestamp: 0,
            last_recv: Duration::ZERO,
        }
    }

    /// When this mapping lapses: its timeout after the last packet, or the token's expiry.
    pub(crate) fn deadline(&self) -> Duration {
        let expiry = Duration::from_secs(self.expire_timestamp);
        match self.timeout {
            Some(t) => expiry.min(self.last_recv + t),
            None => expiry,
        }
    }
}

/// A connect token seen recently: its MAC and the address that used it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenEntry {
    pub(crate) used: bool,
    pub(crate) mac: [u8; MAC_BYTES],
    pub(crate) address: SocketAddr,
    pub(crate) expire_timestamp: u64,
}

impl TokenEntry {
    pub(crate) fn empty() -> Self {
        Self { used: false, mac: [0; MAC_BYTES], address: NO_ADDR, expire_timestamp: 0 }
    }
}

/// Encrypts `packet` straight into the next free transmit slot. Returns the datagram length, or `None` (counted)
/// when the ring is full.
pub(crate) fn queue_packet(
    tx: &mut Ring<Datagram>,
    stats: &mut ServerStats,
    destination: SocketAddr,
    packet: &Packet<'_>,
    sequence: u64,
    key: &[u8; KEY_BYTES],
    protocol_id: u64,
) -> Option<usize> {
    let Some(slot) = tx.reserve() else {
        stats.transmits_dropped += 1;
        return None;
    };
    let len = packet::encode(packet, sequence, key, protocol_id, &mut slot.buf).ok()?;
    slot.len = len;
    slot.destination = destination;
    tx.commit();
    stats.packets_sent += 1;
    stats.bytes_sent += len as u64;
    Some(len)
}
