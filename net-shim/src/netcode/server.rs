//! The sans-IO netcode server.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use rand_core::RngCore;

use super::packet::{self, Header, Packet, Receiver};
use super::queue::{Datagram, EventSlot, Ring, Transmit};
use super::replay::ReplayProtection;
use super::server_conn::{queue_packet, timeout_of, Pending, Slot, TokenEntry};
use super::server_types::{DisconnectReason, SendError, ServerConfig, ServerConfigError, ServerEvent};
use super::stats::{DropReason, ServerStats};
use super::token::{PrivateConnectToken, TokenError, UserData};
use super::{
    secs, sequence_block, CONNECT_TOKEN_PRIVATE_BYTES, KEY_BYTES, MAC_BYTES, MAX_PACKET_BYTES, MAX_PAYLOAD_BYTES,
    NUM_DISCONNECT_PACKETS, SEND_INTERVAL, USER_DATA_BYTES,
};

#[derive(Debug, Clone, Copy)]
enum EventKind {
    Connected { client_index: usize, client_id: u64 },
    Disconnected { client_index: usize, client_id: u64, reason: DisconnectReason },
    Payload { client_index: usize, client_id: u64 },
}

/// A sans-IO netcode server: see the [module docs](super) for the call order.
pub struct Server {
    protocol_id: u64,
    private_key: [u8; KEY_BYTES],
    public_addresses: Vec<SocketAddr>,
    challenge_key: [u8; KEY_BYTES],
    challenge_sequence: u64,
    global_sequence: u64,
    slots: Vec<Slot>,
    pending: Vec<Pending>,
    tokens: Vec<TokenEntry>,
    tokens_next: usize,
    tx: Ring<Datagram>,
    events: Ring<EventSlot<EventKind>>,
    scratch: Box<[u8; MAX_PACKET_BYTES]>,
    unused_replay: ReplayProtection,
    stats: ServerStats,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("protocol_id", &self.protocol_id)
            .field("max_clients", &self.slots.len())
            .field("connected", &self.num_connected())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Creates a server, allocating every buffer it will use. The challenge key is drawn from `rng`.
    pub fn new(now: Duration, config: ServerConfig, rng: &mut impl RngCore) -> Result<Self, ServerConfigError> {
        if config.max_clients == 0 || config.max_clients > 1024 {
            return Err(ServerConfigError::BadMaxClients);
        }
        if config.public_addresses.is_empty() {
            return Err(ServerConfigError::NoPublicAddress);
        }
        let mut challenge_key = [0u8; KEY_BYTES];
        rng.fill_bytes(&mut challenge_key);
        let n = config.max_clients;
        Ok(Self {
            protocol_id: config.protocol_id,
            private_key: config.private_key,
            public_addresses: config.public_addresses,
            challenge_key,
            challenge_sequence: sequence_block(now),
            global_sequence: (1 << 63) | sequence_block(now),
            slots: (0..n).map(|_| Slot::empty()).collect(),
            pending: vec![Pending::empty(); n * 4],
            tokens: vec![TokenEntry::empty(); n * 2],
            tokens_next: 0,
            tx: Ring::new(config.transmit_capacity, Datagram::empty),
            events: Ring::new(config.event_capacity, || {
                EventSlot::new(EventKind::Payload { client_index: 0, client_id: 0 })
            }),
            scratch: Box::new([0; MAX_PACKET_BYTES]),
            unused_replay: ReplayProtection::new(),
            stats: ServerStats::default(),
        })
    }

    /// Processes one received datagram. Never panics; invalid packets are dropped and counted in [`Self::stats`].
    pub fn handle_packet(&mut self, now: Duration, from: SocketAddr, data: &[u8]) {
        self.handle_packet_with(now, from, data, &mut |_, _| true);
    }

    /// [`Self::handle_packet`] with an admission hook: `admit(client_id, user_data)` decides whether a
    /// client whose token is otherwise valid may connect; `false` answers with a connection-denied
    /// packet (counted in `denied_sent`). It is asked when the connection request arrives and again
    /// when the challenge response does, since what it depends on may have changed in between.
    pub fn handle_packet_with(
        &mut self,
        now: Duration,
        from: SocketAddr,
        data: &[u8],
        admit: &mut dyn FnMut(u64, &UserData) -> bool,
    ) {
        self.stats.packets_received += 1;
        self.stats.bytes_received += data.len() as u64;
        let result = match data.first() {
            None => Err(DropReason::TooSmall),
            Some(0) => self.handle_request(now, from, data, admit),
            Some(_) => match packet::peek_header(data, Receiver::Server) {
                Err(r) => Err(r),
                Ok(h) => {
                    if let Some(i) = self.slot_by_address(from) {
                        self.handle_connected(now, i, &h, data)
                    } else if let Some(p) = self.pending_by_address(from) {
                        self.handle_pending(now, p, &h, data, admit)
                    } else {
                        Err(DropReason::UnknownAddress)
                    }
                }
            },
        };
        if let Err(reason) = result {
            self.stats.drop(reason);
        }
    }

    fn handle_request(
        &mut self,
        now: Duration,
        from: SocketAddr,
        data: &[u8],
        admit: &mut dyn FnMut(u64, &UserData) -> bool,
    ) -> Result<(), DropReason> {
        let req = packet::decode_request(data, self.protocol_id, secs(now))?;
        let mut private = *req.private_data;
        let token = PrivateConnectToken::decrypt(
            &mut private,
            self.protocol_id,
            req.expire_timestamp,
            req.nonce,
            &self.private_key,
        )
        .map_err(|e| match e {
            TokenError::DecryptFailed => DropReason::TokenDecryptFailed,
            _ => DropReason::TokenMalformed,
        })?;
        if !token.server_addresses().iter().any(|a| self.public_addresses.contains(a)) {
            return Err(DropReason::NotInHostList);
        }
        if self.slot_by_address(from).is_some() {
            return Err(DropReason::AddressAlreadyConnected);
        }
        if self.slot_by_client_id(token.client_id).is_some() {
            return Err(DropReason::ClientIdAlreadyConnected);
        }
        let mut mac = [0u8; MAC_BYTES];
        mac.copy_from_slice(&req.private_data[CONNECT_TOKEN_PRIVATE_BYTES - MAC_BYTES..]);
        self.find_or_add_token(mac, from, req.expire_timestamp, now)?;
        if self.num_connected() >= self.slots.len() || !admit(token.client_id, &token.user_data) {
            let seq = self.next_global();
            queue_packet(
                &mut self.tx,
                &mut self.stats,
                from,
                &Packet::Denied,
                seq,
                &token.server_to_client_key,
                self.protocol_id,
            );
            self.stats.denied_sent += 1;
            return Ok(());
        }
        let p = match self.pending_by_address(from) {
            Some(p) => p,
            None => self.free_pending(now).ok_or(DropReason::PendingFull)?,
        };
        self.pending[p] = Pending {
            active: true,
            client_id: token.client_id,
            address: from,
            send_key: token.server_to_client_key,
            recv_key: token.client_to_server_key,
            timeout: timeout_of(token.timeout_seconds),
            expire_timestamp: req.expire_timestamp,
            last_recv: now,
        };
        let challenge_seq = self.challenge_sequence;
        self.challenge_sequence = self.challenge_sequence.wrapping_add(1);
        let sealed = packet::seal_challenge(token.client_id, &token.user_data.0, challenge_seq, &self.challenge_key);
        let seq = self.next_global();
        let challenge = Packet::Challenge { token_sequence: challenge_seq, token: &sealed };
        let sent = queue_packet(
            &mut self.tx,
            &mut self.stats,
            from,
            &challenge,
            seq,
            &token.server_to_client_key,
            self.protocol_id,
        );
        debug_assert!(sent.unwrap_or(0) < data.len(), "amplification");
        Ok(())
    }

    fn handle_pending(
        &mut self,
        now: Duration,
        p: usize,
        h: &Header,
        data: &[u8],
        admit: &mut dyn FnMut(u64, &UserData) -> bool,
    ) -> Result<(), DropReason> {
        if h.packet_type != packet::PacketType::Response {
            return Err(DropReason::WrongState);
        }
        let pending = self.pending[p];
        let pkt =
            packet::open(data, h, &mut self.scratch[..], self.protocol_id, &pending.recv_key, &mut self.unused_replay)?;
        let Packet::Response { token_sequence, token } = pkt else {
            return Err(DropReason::WrongState);
        };
        let (client_id, user_data) = packet::open_challenge(token, token_sequence, &self.challenge_key)
            .ok_or(DropReason::ChallengeDecryptFailed)?;
        if client_id != pending.client_id {
            return Err(DropReason::ChallengeMismatch);
        }
        if self.slot_by_client_id(client_id).is_some() {
            return Err(DropReason::ClientIdAlreadyConnected);
        }
        self.pending[p].active = false;
        let free = self.slots.iter().position(|s| !s.connected);
        let Some(index) = free.filter(|_| admit(client_id, &UserData(user_data))) else {
            let seq = self.next_global();
            queue_packet(
                &mut self.tx,
                &mut self.stats,
                pending.address,
                &Packet::Denied,
                seq,
                &pending.send_key,
                self.protocol_id,
            );
            self.stats.denied_sent += 1;
            return Ok(());
        };
        let slot = &mut self.slots[index];
        *slot = Slot {
            connected: true,
            confirmed: false,
            client_id,
            address: pending.address,
            send_key: pending.send_key,
            recv_key: pending.recv_key,
            user_data: UserData(user_data),
            timeout: pending.timeout,
            last_recv: now,
            last_send: now,
            sequence: sequence_block(now),
            replay: ReplayProtection::new(),
        };
        self.stats.connects += 1;
        self.push_event(EventKind::Connected { client_index: index, client_id }, &user_data);
        self.send_keep_alive(now, index);
        Ok(())
    }

    fn handle_connected(&mut self, now: Duration, i: usize, h: &Header, data: &[u8]) -> Result<(), DropReason> {
        let slot = &mut self.slots[i];
        let pkt = packet::open(data, h, &mut self.scratch[..], self.protocol_id, &slot.recv_key, &mut slot.replay)?;
        let client_id = slot.client_id;
        match pkt {
            Packet::KeepAlive { .. } => {
                slot.confirmed = true;
                slot.last_recv = now;
            }
            Packet::Payload(bytes) => {
                slot.confirmed = true;
                slot.last_recv = now;
                let event = EventKind::Payload { client_index: i, client_id };
                push_event(&mut self.events, &mut self.stats, event, bytes);
            }
            Packet::Disconnect => self.close_slot(now, i, DisconnectReason::ByPeer, false),
            _ => return Err(DropReason::WrongState),
        }
        Ok(())
    }

    /// Runs keep-alives and timeouts. Call it at [`Self::poll_timeout`] or every step.
    pub fn handle_timeout(&mut self, now: Duration) {
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            if !slot.connected {
                continue;
            }
            if slot.timeout.is_some_and(|t| now >= slot.last_recv + t) {
                self.close_slot(now, i, DisconnectReason::TimedOut, true);
            } else if now >= slot.last_send + SEND_INTERVAL {
                self.send_keep_alive(now, i);
            }
        }
        for p in self.pending.iter_mut() {
            if p.active && now >= p.deadline() {
                p.active = false;
            }
        }
    }

    /// The earliest time [`Self::handle_timeout`] has work, if any connection or pending connection exists.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let slots = self.slots.iter().filter(|s| s.connected).map(|s| {
            let ka = s.last_send + SEND_INTERVAL;
            s.timeout.map_or(ka, |t| ka.min(s.last_recv + t))
        });
        let pending = self.pending.iter().filter(|p| p.active).map(Pending::deadline);
        slots.chain(pending).min()
    }

    /// Queues a payload (1..=1200 bytes) for a connected client.
    pub fn send_payload(&mut self, now: Duration, client_index: usize, payload: &[u8]) -> Result<(), SendError> {
        if payload.is_empty() || payload.len() > MAX_PAYLOAD_BYTES {
            return Err(SendError::BadPayloadSize);
        }
        let confirmed = match self.slots.get(client_index) {
            Some(s) if s.connected => s.confirmed,
            _ => return Err(SendError::NotConnected),
        };
        if self.tx.free() < if confirmed { 1 } else { 2 } {
            self.stats.transmits_dropped += 1;
            return Err(SendError::QueueFull);
        }
        if !confirmed {
            self.send_keep_alive(now, client_index);
        }
        let slot = &mut self.slots[client_index];
        let seq = slot.next_sequence();
        slot.last_send = now;
        queue_packet(
            &mut self.tx,
            &mut self.stats,
            slot.address,
            &Packet::Payload(payload),
            seq,
            &slot.send_key,
            self.protocol_id,
        )
        .map(|_| ())
        .ok_or(SendError::QueueFull)
    }

    /// Disconnects a client, sending it redundant disconnect packets. Returns false if it was not connected.
    pub fn disconnect(&mut self, now: Duration, client_index: usize) -> bool {
        if !self.is_connected(client_index) {
            return false;
        }
        self.close_slot(now, client_index, DisconnectReason::ByLocal, true);
        true
    }

    /// Disconnects every client (before shutting the server down).
    pub fn disconnect_all(&mut self, now: Duration) {
        for i in 0..self.slots.len() {
            self.disconnect(now, i);
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        self.tx.pop().map(Datagram::as_transmit)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent<'_>> {
        let slot = self.events.pop()?;
        Some(match slot.event {
            EventKind::Connected { client_index, client_id } => {
                let mut user_data = UserData::default();
                user_data.0.copy_from_slice(slot.payload.get(..USER_DATA_BYTES).unwrap_or(&[0; USER_DATA_BYTES]));
                ServerEvent::Connected { client_index, client_id, user_data }
            }
            EventKind::Disconnected { client_index, client_id, reason } => {
                ServerEvent::Disconnected { client_index, client_id, reason }
            }
            EventKind::Payload { client_index, client_id } => {
                ServerEvent::Payload { client_index, client_id, payload: slot.payload() }
            }
        })
    }

    /// Counters, including dropped packets by reason.
    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    /// Number of client slots.
    pub fn max_clients(&self) -> usize {
        self.slots.len()
    }

    /// Number of connected clients.
    pub fn num_connected(&self) -> usize {
        self.slots.iter().filter(|s| s.connected).count()
    }

    /// True if a client is connected at `client_index`.
    pub fn is_connected(&self, client_index: usize) -> bool {
        self.slots.get(client_index).is_some_and(|s| s.connected)
    }

    /// The client id at `client_index`.
    pub fn client_id(&self, client_index: usize) -> Option<u64> {
        self.slots.get(client_index).filter(|s| s.connected).map(|s| s.client_id)
    }

    /// The address of the client at `client_index`.
    pub fn client_address(&self, client_index: usize) -> Option<SocketAddr> {
        self.slots.get(client_index).filter(|s| s.connected).map(|s| s.address)
    }

    /// The token user data of the client at `client_index` (its room and slot).
    pub fn user_data(&self, client_index: usize) -> Option<&UserData> {
        self.slots.get(client_index).filter(|s| s.connected).map(|s| &s.user_data)
    }

    /// The slot index of a connected client id.
    pub fn client_index(&self, client_id: u64) -> Option<usize> {
        self.slot_by_client_id(client_id)
    }

    fn slot_by_address(&self, addr: SocketAddr) -> Option<usize> {
        self.slots.iter().position(|s| s.connected && s.address == addr)
    }

    fn slot_by_client_id(&self, id: u64) -> Option<usize> {
        self.slots.iter().position(|s| s.connected && s.client_id == id)
    }

    fn pending_by_address(&self, addr: SocketAddr) -> Option<usize> {
        self.pending.iter().position(|p| p.active && p.address == addr)
    }

    fn free_pending(&mut self, now: Duration) -> Option<usize> {
        self.pending.iter().position(|p| !p.active || now >= p.deadline())
    }

    fn find_or_add_token(
        &mut self,
        mac: [u8; MAC_BYTES],
        from: SocketAddr,
        expire_timestamp: u64,
        now: Duration,
    ) -> Result<(), DropReason> {
        if let Some(e) = self.tokens.iter().find(|e| e.used && e.mac == mac && e.expire_timestamp > secs(now)) {
            return if e.address == from { Ok(()) } else { Err(DropReason::TokenInUse) };
        }
        // Prefer an empty or expired entry; else overwrite the oldest (round robin).
        let idx = match self.tokens.iter().position(|e| !e.used || e.expire_timestamp <= secs(now)) {
            Some(i) => i,
            None => {
                let i = self.tokens_next % self.tokens.len().max(1);
                self.tokens_next = i + 1;
                i
            }
        };
        if let Some(e) = self.tokens.get_mut(idx) {
            *e = TokenEntry { used: true, mac, address: from, expire_timestamp };
        }
        Ok(())
    }

    fn next_global(&mut self) -> u64 {
        let s = self.global_sequence;
        self.global_sequence = self.global_sequence.wrapping_add(1);
        s
    }

    fn send_keep_alive(&mut self, now: Duration, i: usize) {
        let max_clients = self.slots.len() as u32;
        let slot = &mut self.slots[i];
        let seq = slot.next_sequence();
        slot.last_send = now;
        let ka = Packet::KeepAlive { client_index: i as u32, max_clients };
        queue_packet(&mut self.tx, &mut self.stats, slot.address, &ka, seq, &slot.send_key, self.protocol_id);
    }

    fn close_slot(&mut self, _now: Duration, i: usize, reason: DisconnectReason, send: bool) {
        let slot = &mut self.slots[i];
        if send {
            for _ in 0..NUM_DISCONNECT_PACKETS {
                let seq = slot.next_sequence();
                let (tx, stats) = (&mut self.tx, &mut self.stats);
                queue_packet(tx, stats, slot.address, &Packet::Disconnect, seq, &slot.send_key, self.protocol_id);
            }
        }
        let client_id = slot.client_id;
        *slot = Slot::empty();
        self.stats.disconnects += 1;
        self.push_event(EventKind::Disconnected { client_index: i, client_id, reason }, &[]);
    }

    fn push_event(&mut self, event: EventKind, bytes: &[u8]) {
        push_event(&mut self.events, &mut self.stats, event, bytes);
    }
}

fn push_event(events: &mut Ring<EventSlot<EventKind>>, stats: &mut ServerStats, event: EventKind, bytes: &[u8]) {
    let Some(slot) = events.reserve() else {
        stats.events_dropped += 1;
        return;
    };
    let len = bytes.len().min(MAX_PAYLOAD_BYTES);
    slot.event = event;
    slot.len = len;
    slot.payload[..len].copy_from_slice(&bytes[..len]);
    events.commit();
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
