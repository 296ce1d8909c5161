//! Server configuration, errors and events.

use std::fmt;
use std::net::SocketAddr;

use super::token::UserData;
use super::{KEY_BYTES, MAX_SERVER_ADDRESSES, NUM_DISCONNECT_PACKETS};

/// The most client slots a server takes (each slot's replay window and keys cost about 2 KiB, its
/// share of the default rings about 30 KiB).
pub const MAX_CLIENTS: usize = 16_384;
/// The largest transmit or event ring (datagram-sized entries, about 1.2 KiB each).
pub const MAX_RING_CAPACITY: usize = 1 << 16;

/// Server configuration.
#[derive(Clone)]
pub struct ServerConfig {
    /// Unique id of the game/application version.
    pub protocol_id: u64,
    /// Key shared with the token issuer.
    pub private_key: [u8; KEY_BYTES],
    /// Client slots (1..=[`MAX_CLIENTS`]).
    pub max_clients: usize,
    /// This server's public addresses (1..=32); a token must list one of them.
    pub public_addresses: Vec<SocketAddr>,
    /// Outgoing datagrams held between `poll_transmit` calls (1..=[`MAX_RING_CAPACITY`]).
    pub transmit_capacity: usize,
    /// Events (payloads, connects, disconnects) held between `poll_event` calls (1..=[`MAX_RING_CAPACITY`]).
    pub event_capacity: usize,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("protocol_id", &self.protocol_id)
            .field("max_clients", &self.max_clients)
            .field("public_addresses", &self.public_addresses)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// A configuration with ring capacities sized for `max_clients` (capped at [`MAX_RING_CAPACITY`]; an
    /// out-of-range `max_clients` is reported by [`Self::validate`], never a panic here).
    pub fn new(protocol_id: u64, private_key: [u8; KEY_BYTES], max_clients: usize, public_address: SocketAddr) -> Self {
        let ring = |per_client: usize| max_clients.saturating_mul(per_client).saturating_add(64).min(MAX_RING_CAPACITY);
        Self {
            protocol_id,
            private_key,
            max_clients,
            public_addresses: vec![public_address],
            transmit_capacity: ring(NUM_DISCONNECT_PACKETS + 4),
            event_capacity: ring(8),
        }
    }

    /// Checks every setting against its range; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), ServerConfigError> {
        let check = |setting: &'static str, value: usize, min: usize, max: usize| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ServerConfigError::OutOfRange { setting, value, min, max })
            }
        };
        check("max_clients", self.max_clients, 1, MAX_CLIENTS)?;
        check("public_addresses", self.public_addresses.len(), 1, MAX_SERVER_ADDRESSES)?;
        check("transmit_capacity", self.transmit_capacity, 1, MAX_RING_CAPACITY)?;
        check("event_capacity", self.event_capacity, 1, MAX_RING_CAPACITY)?;
        Ok(())
    }
}

/// Invalid server configuration: which setting, its value and its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerConfigError {
    /// A numeric setting (or the number of public addresses) is outside `min..=max`.
    OutOfRange {
        /// The [`ServerConfig`] field.
        setting: &'static str,
        /// Its value.
        value: usize,
        /// The smallest accepted.
        min: usize,
        /// The largest accepted.
        max: usize,
    },
}

impl fmt::Display for ServerConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfRange { setting, value, min, max } => {
                write!(f, "server setting {setting} is {value}; it must be in {min}..={max}")
            }
        }
    }
}

impl std::error::Error for ServerConfigError {}

/// Why a payload could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// No connected client at that index (or the client is not connected).
    NotConnected,
    /// Payloads are 1..=1200 bytes.
    BadPayloadSize,
    /// The transmit ring is full: drain `poll_transmit` more often.
    QueueFull,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotConnected => "not connected",
            Self::BadPayloadSize => "payloads must be 1..=1200 bytes",
            Self::QueueFull => "transmit queue full",
        })
    }
}

impl std::error::Error for SendError {}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The peer sent a disconnect packet.
    ByPeer,
    /// No keep-alive or payload within the token's timeout.
    TimedOut,
    /// This side called `disconnect`.
    ByLocal,
}

/// Something the application must know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // returned by value, never stored
pub enum ServerEvent<'a> {
    /// A client completed the handshake and owns `client_index`.
    Connected {
        /// Slot index.
        client_index: usize,
        /// Client id from its token.
        client_id: u64,
        /// User data from its token (room and slot).
        user_data: UserData,
    },
    /// A client's slot was freed.
    Disconnected {
        /// Slot index.
        client_index: usize,
        /// Client id.
        client_id: u64,
        /// Why.
        reason: DisconnectReason,
    },
    /// A payload from an authenticated client.
    Payload {
        /// Slot index.
        client_index: usize,
        /// Client id.
        client_id: u64,
        /// The payload bytes.
        payload: &'a [u8],
    },
}
