//! The sans-IO netcode client.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use super::packet::{self, Packet, Receiver};
use super::queue::{Datagram, EventSlot, Ring, Transmit};
use super::replay::ReplayProtection;
use super::server_conn::timeout_of;
use super::server_types::SendError;
use super::stats::{ClientStats, DropReason};
use super::token::ConnectToken;
use super::{
    sequence_block, CHALLENGE_TOKEN_BYTES, MAX_PACKET_BYTES, MAX_PAYLOAD_BYTES, MAX_SERVER_ADDRESSES,
    NUM_DISCONNECT_PACKETS, SEND_INTERVAL,
};

const TRANSMIT_CAPACITY: usize = 64;
const RECEIVE_CAPACITY: usize = 256;

/// The standard's client states; `as i32` gives the standard's numeric code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// The token expired before a connection was established.
    ConnectTokenExpired = -6,
    /// The token was invalid.
    InvalidConnectToken = -5,
    /// The connected server stopped answering.
    ConnectionTimedOut = -4,
    /// No keep-alive answered our challenge responses.
    ConnectionResponseTimedOut = -3,
    /// No challenge answered our connection requests.
    ConnectionRequestTimedOut = -2,
    /// The server was full.
    ConnectionDenied = -1,
    /// Not connected (initial state, or after a disconnect by either side).
    Disconnected = 0,
    /// Sending connection requests.
    SendingConnectionRequest = 1,
    /// Sending challenge responses.
    SendingConnectionResponse = 2,
    /// Connected.
    Connected = 3,
}

impl ClientState {
    /// True for the negative (error) states.
    pub fn is_error(self) -> bool {
        (self as i32) < 0
    }

    /// True while connecting or connected.
    pub fn is_active(self) -> bool {
        (self as i32) > 0
    }
}

/// A sans-IO netcode client: see the [module docs](super) for the call order.
pub struct Client {
    token: ConnectToken,
    state: ClientState,
    server_index: usize,
    server_address: SocketAddr,
    sequence: u64,
    replay: ReplayProtection,
    challenge_sequence: u64,
    challenge_token: [u8; CHALLENGE_TOKEN_BYTES],
    client_index: u32,
    max_clients: u32,
    connect_start: Duration,
    last_send: Option<Duration>,
    last_recv: Duration,
    timeout: Option<Duration>,
    tx: Ring<Datagram>,
    rx: Ring<EventSlot<()>>,
    scratch: Box<[u8; MAX_PACKET_BYTES]>,
    stats: ClientStats,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("state", &self.state)
            .field("server_address", &self.server_address)
            .field("client_index", &self.client_index)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts connecting with `token` to its first server address. An invalid token puts the client in
    /// [`ClientState::InvalidConnectToken`]. The first connection request goes out on the first
    /// [`Self::handle_timeout`].
    pub fn new(now: Duration, token: ConnectToken) -> Self {
        let n = token.server_addresses().len();
        let valid = (1..=MAX_SERVER_ADDRESSES).contains(&n) && token.create_timestamp < token.expire_timestamp;
        let server_address = token.server_addresses().first().copied().unwrap_or(super::server_conn::NO_ADDR);
        Self {
            timeout: timeout_of(token.timeout_seconds),
            token,
            state: if valid { ClientState::SendingConnectionRequest } else { ClientState::InvalidConnectToken },
            server_index: 0,
            server_address,
            sequence: sequence_block(now),
            replay: ReplayProtection::new(),
            challenge_sequence: 0,
            challenge_token: [0; CHALLENGE_TOKEN_BYTES],
            client_index: 0,
            max_clients: 0,
            connect_start: now,
            last_send: None,
            last_recv: now,
            tx: Ring::new(TRANSMIT_CAPACITY, Datagram::empty),
            rx: Ring::new(RECEIVE_CAPACITY, || EventSlot::new(())),
            scratch: Box::new([0; MAX_PACKET_BYTES]),
            stats: ClientStats::default(),
        }
    }

    /// Processes one datagram received from `from`.
    pub fn handle_packet(&mut self, now: Duration, from: SocketAddr, data: &[u8]) {
        self.stats.packets_received += 1;
        if let Err(reason) = self.process(now, from, data) {
            self.stats.drop(reason);
        }
    }

    fn process(&mut self, now: Duration, from: SocketAddr, data: &[u8]) -> Result<(), DropReason> {
        if from != self.server_address {
            return Err(DropReason::UnknownAddress);
        }
        if !self.state.is_active() {
            return Err(DropReason::WrongState);
        }
        let h = packet::peek_header(data, Receiver::Client)?;
        let key = &self.token.server_to_client_key;
        let pkt = packet::open(data, &h, &mut self.scratch[..], self.token.protocol_id, key, &mut self.replay)?;
        match (pkt, self.state) {
            (Packet::Denied, ClientState::SendingConnectionRequest | ClientState::SendingConnectionResponse) => {
                self.fail_over(now, ClientState::ConnectionDenied);
            }
            (Packet::Challenge { token_sequence, token }, ClientState::SendingConnectionRequest) => {
                self.challenge_sequence = token_sequence;
                self.challenge_token = *token;
                self.state = ClientState::SendingConnectionResponse;
                self.last_recv = now;
                self.last_send = None;
                self.send_handshake(now);
            }
            (Packet::KeepAlive { client_index, max_clients }, ClientState::SendingConnectionResponse) => {
                self.client_index = client_index;
                self.max_clients = max_clients;
                self.state = ClientState::Connected;
                self.last_recv = now;
            }
            (Packet::KeepAlive { .. }, ClientState::Connected) => self.last_recv = now,
            (Packet::Payload(bytes), ClientState::Connected) => {
                self.last_recv = now;
                match self.rx.reserve() {
                    Some(slot) => {
                        slot.len = bytes.len().min(MAX_PAYLOAD_BYTES);
                        slot.payload[..slot.len].copy_from_slice(&bytes[..slot.len]);
                        self.rx.commit();
                    }
                    None => self.stats.events_dropped += 1,
                }
            }
            (Packet::Disconnect, ClientState::Connected) => self.state = ClientState::Disconnected,
            _ => return Err(DropReason::WrongState),
        }
        Ok(())
    }

    /// Moves to the next server address in the token, or to `error` when there is none.
    fn fail_over(&mut self, now: Duration, error: ClientState) {
        match self.token.server_addresses().get(self.server_index + 1).copied() {
            Some(addr) => {
                self.server_index += 1;
                self.server_address = addr;
                self.state = ClientState::SendingConnectionRequest;
                self.replay.reset();
                self.last_recv = now;
                self.last_send = None;
            }
            None => self.state = error,
        }
    }

    /// Resends handshake packets and keep-alives, detects timeouts and token expiry.
    pub fn handle_timeout(&mut self, now: Duration) {
        match self.state {
            ClientState::SendingConnectionRequest | ClientState::SendingConnectionResponse => {
                let lifetime =
                    Duration::from_secs(self.token.expire_timestamp.saturating_sub(self.token.create_timestamp));
                if now >= self.connect_start.saturating_add(lifetime) {
                    self.state = ClientState::ConnectTokenExpired;
                } else if self.timeout.is_some_and(|t| now >= self.last_recv + t) {
                    let error = if self.state == ClientState::SendingConnectionRequest {
                        ClientState::ConnectionRequestTimedOut
                    } else {
                        ClientState::ConnectionResponseTimedOut
                    };
                    self.fail_over(now, error);
                    if self.state.is_active() {
                        self.send_handshake(now);
                    }
                } else if self.last_send.is_none_or(|t| now >= t + SEND_INTERVAL) {
                    self.send_handshake(now);
                }
            }
            ClientState::Connected => {
                if self.timeout.is_some_and(|t| now >= self.last_recv + t) {
                    self.state = ClientState::ConnectionTimedOut;
                } else if self.last_send.is_none_or(|t| now >= t + SEND_INTERVAL) {
                    self.send_encrypted(now, &Packet::KeepAlive { client_index: 0, max_clients: 0 });
                }
            }
            _ => {}
        }
    }

    fn send_handshake(&mut self, now: Duration) {
        if self.state == ClientState::SendingConnectionRequest {
            let Some(slot) = self.tx.reserve() else {
                self.stats.transmits_dropped += 1;
                return;
            };
            if let Ok(len) = packet::encode_request(&self.token, &mut slot.buf) {
                slot.len = len;
                slot.destination = self.server_address;
                self.tx.commit();
                self.stats.packets_sent += 1;
                self.last_send = Some(now);
            }
        } else {
            let token = self.challenge_token;
            self.send_encrypted(now, &Packet::Response { token_sequence: self.challenge_sequence, token: &token });
        }
    }

    fn send_encrypted(&mut self, now: Duration, pkt: &Packet<'_>) -> bool {
        let Some(slot) = self.tx.reserve() else {
            self.stats.transmits_dropped += 1;
            return false;
        };
        let seq = self.sequence;
        let key = &self.token.client_to_server_key;
        match packet::encode(pkt, seq, key, self.token.protocol_id, &mut slot.buf) {
            Ok(len) => {
                self.sequence = self.sequence.wrapping_add(1);
                slot.len = len;
                slot.destination = self.server_address;
                self.tx.commit();
                self.stats.packets_sent += 1;
                self.last_send = Some(now);
                true
            }
            Err(_) => false,
        }
    }

    /// Queues a payload (1..=1200 bytes) for the server. Only while connected.
    pub fn send_payload(&mut self, now: Duration, payload: &[u8]) -> Result<(), SendError> {
        if payload.is_empty() || payload.len() > MAX_PAYLOAD_BYTES {
            return Err(SendError::BadPayloadSize);
        }
        if self.state != ClientState::Connected {
            return Err(SendError::NotConnected);
        }
        if self.send_encrypted(now, &Packet::Payload(payload)) {
            Ok(())
        } else {
            Err(SendError::QueueFull)
        }
    }

    /// Disconnects: when connected, queues the redundant disconnect packets. Ends in
    /// [`ClientState::Disconnected`].
    pub fn disconnect(&mut self, now: Duration) {
        if self.state == ClientState::Connected {
            for _ in 0..NUM_DISCONNECT_PACKETS {
                self.send_encrypted(now, &Packet::Disconnect);
            }
        }
        if self.state.is_active() {
            self.state = ClientState::Disconnected;
        }
    }

    /// When [`Self::handle_timeout`] next has work (`None` once the client is no longer active).
    pub fn poll_timeout(&self) -> Option<Duration> {
        if !self.state.is_active() {
            return None;
        }
        let send = self.last_send.map_or(self.connect_start, |t| t + SEND_INTERVAL);
        let mut next = self.timeout.map_or(send, |t| send.min(self.last_recv + t));
        if self.state != ClientState::Connected {
            let lifetime = Duration::from_secs(self.token.expire_timestamp.saturating_sub(self.token.create_timestamp));
            next = next.min(self.connect_start.saturating_add(lifetime));
        }
        Some(next)
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        self.tx.pop().map(Datagram::as_transmit)
    }

    /// The next payload received from the server.
    pub fn poll_payload(&mut self) -> Option<&[u8]> {
        self.rx.pop().map(EventSlot::payload)
    }

    /// The connection state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// True when connected.
    pub fn is_connected(&self) -> bool {
        self.state == ClientState::Connected
    }

    /// The slot the server assigned (valid once connected).
    pub fn client_index(&self) -> u32 {
        self.client_index
    }

    /// The server's slot count (valid once connected).
    pub fn max_clients(&self) -> u32 {
        self.max_clients
    }

    /// The server address currently tried or connected to.
    pub fn server_address(&self) -> SocketAddr {
        self.server_address
    }

    /// Counters, including dropped packets by reason.
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
