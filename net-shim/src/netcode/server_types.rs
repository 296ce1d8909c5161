//! Server configuration, errors and events.

use std::fmt;
use std::net::SocketAddr;

use super::token::UserData;
use super::{KEY_BYTES, NUM_DISCONNECT_PACKETS};

/// Server configuration.
#[derive(Clone)]
pub struct ServerConfig {
    /// Unique id of the game/application version.
    pub protocol_id: u64,
    /// Key shared with the token issuer.
    pub private_key: [u8; KEY_BYTES],
    /// Client slots (1..=1024).
    pub max_clients: usize,
    /// This server's public addresses; a token must list one of them.
    pub public_addresses: Vec<SocketAddr>,
    /// Outgoing datagrams held between `poll_transmit` calls.
    pub transmit_capacity: usize,
    /// Events (payloads, connects, disconnects) held between `poll_event` calls.
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
    /// A configuration with ring capacities sized for `max_clients`.
    pub fn new(protocol_id: u64, private_key: [u8; KEY_BYTES], max_clients: usize, public_address: SocketAddr) -> Self {
        Self {
            protocol_id,
            private_key,
            max_clients,
            public_addresses: vec![public_address],
            transmit_capacity: 64 + max_clients * (NUM_DISCONNECT_PACKETS + 4),
            event_capacity: 64 + max_clients * 8,
        }
    }
}

/// Invalid server configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerConfigError {
    /// `max_clients` is 0 or above 1024.
    BadMaxClients,
    /// No public address.
    NoPublicAddress,
}

impl fmt::Display for ServerConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadMaxClients => "max_clients must be in 1..=1024",
            Self::NoPublicAddress => "the server needs at least one public address",
        })
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
