//! The sans-IO netcode server.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use rand_core::RngCore;

use super::keyed::KeyedState;
use super::packet::{self, Header, Packet, Receiver};
use super::queue::{Datagram, EventSlot, Ring, Transmit};
use super::replay::ReplayProtection;
use super::server_conn::{queue_packet, timeout_of, Pending, Slot, TokenEntry};
use super::server_types::{DisconnectReason, SendError, ServerConfig, ServerConfigError, ServerEvent};
use super::stats::{DropReason, ServerStats};
use super::timers::Timers;
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

/// What an address is to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    /// A connected client's slot.
    Slot(u32),
    /// A pending handshake.
    Pending(u32),
}

/// A sans-IO netcode server: see the [module docs](super) for the call order.
///
/// Nothing here scans every connection per packet or per call: addresses, client ids and token MACs
/// are looked up in preallocated hash tables (keyed from the RNG), free slots come from a min-heap
/// (the lowest free index, as before), deadlines from a lazily updated heap, and the connected count is kept.
pub struct Server {
    protocol_id: u64,
    private_key: [u8; KEY_BYTES],
    public_addresses: Vec<SocketAddr>,
    challenge_key: [u8; KEY_BYTES],
    challenge_sequence: u64,
    global_sequence: u64,
    slots: Vec<Slot>,
    free_slots: BinaryHeap<Reverse<u32>>,
    connected: usize,
    pending: Vec<Pending>,
    free_pending: Vec<u32>,
    by_address: HashMap<SocketAddr, Conn, KeyedState>,
    by_client_id: HashMap<u64, u32, KeyedState>,
    /// Slot `i`'s deadline is timer `i`; pending handshake `p`'s is timer `slots + p`.
    timers: Timers,
    tokens: Vec<TokenEntry>,
    by_token_mac: HashMap<[u8; MAC_BYTES], u32, KeyedState>,
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
        config.validate()?;
        let mut challenge_key = [0u8; KEY_BYTES];
        rng.fill_bytes(&mut challenge_key);
        let n = config.max_clients;
        let keyed = KeyedState::new(rng);
        // Tables sized at twice their most entries: hashbrown then always rehashes in place (no
        // allocation) when deleted entries use up its free space.
        Ok(Self {
            protocol_id: config.protocol_id,
            private_key: config.private_key,
            public_addresses: config.public_addresses,
            challenge_key,
            challenge_sequence: sequence_block(now),
            global_sequence: (1 << 63) | sequence_block(now),
            slots: (0..n).map(|_| Slot::empty()).collect(),
            free_slots: (0..n as u32).map(Reverse).collect(),
            connected: 0,
            pending: vec![Pending::empty(); n * 4],
            free_pending: (0..(n * 4) as u32).rev().collect(),
            by_address: HashMap::with_capacity_and_hasher(2 * 5 * n, keyed),
            by_client_id: HashMap::with_capacity_and_hasher(2 * n, keyed),
            timers: Timers::new(n + n * 4),
            tokens: vec![TokenEntry::empty(); n * 2],
            by_token_mac: HashMap::with_capacity_and_hasher(2 * 2 * n, keyed),
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
                Ok(h) => match self.by_address.get(&from) {
                    Some(&Conn::Slot(i)) => self.handle_connected(now, i as usize, &h, data),
                    Some(&Conn::Pending(p)) => self.handle_pending(now, p as usize, &h, data, admit),
                    None => Err(DropReason::UnknownAddress),
                },
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
            None => self.free_pending.pop().ok_or(DropReason::PendingFull)? as usize,
        };
        self.by_address.insert(from, Conn::Pending(p as u32));
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
        let deadline = self.pending[p].deadline();
        self.timers.schedule(self.slots.len() + p, deadline);
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
        self.release_pending(p);
        // Asked only when a slot is free (a full server denies anyway); the slot is taken only if admitted.
        let free = self.free_slots.peek().copied().filter(|_| admit(client_id, &UserData(user_data)));
        let Some(Reverse(index)) = free.and_then(|_| self.free_slots.pop()) else {
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
        let index = index as usize;
        self.by_address.insert(pending.address, Conn::Slot(index as u32));
        self.by_client_id.insert(client_id, index as u32);
        self.connected += 1;
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
        self.schedule_slot(index);
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

    /// Runs keep-alives and timeouts. Call it at [`Self::poll_timeout`] or every step; it only visits
    /// the connections whose deadline came.
    pub fn handle_timeout(&mut self, now: Duration) {
        let n = self.slots.len();
        while let Some(id) = self.timers.pop_due(now) {
            if id < n {
                let slot = &self.slots[id];
                if !slot.connected {
                    continue;
                }
                if slot.timeout.is_some_and(|t| now >= slot.last_recv + t) {
                    self.close_slot(now, id, DisconnectReason::TimedOut, true);
                    continue;
                }
                if now >= slot.last_send + SEND_INTERVAL {
                    self.send_keep_alive(now, id);
                }
                self.schedule_slot(id);
            } else {
                let p = id - n;
                if !self.pending[p].active {
                    continue;
                }
                let deadline = self.pending[p].deadline();
                if now >= deadline {
                    self.release_pending(p);
                } else {
                    self.timers.schedule(id, deadline);
                }
            }
        }
    }

    /// The earliest time [`Self::handle_timeout`] may have work, if any connection or pending
    /// connection exists (possibly a little early: then it finds nothing due).
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.next()
    }

    /// Schedules a connected slot's next keep-alive or timeout.
    fn schedule_slot(&mut self, i: usize) {
        let s = &self.slots[i];
        let ka = s.last_send + SEND_INTERVAL;
        let deadline = s.timeout.map_or(ka, |t| ka.min(s.last_recv + t));
        self.timers.schedule(i, deadline);
    }

    /// Ends a pending handshake: its address and entry are free again.
    fn release_pending(&mut self, p: usize) {
        let pending = &mut self.pending[p];
        if !pending.active {
            return;
        }
        pending.active = false;
        if self.by_address.get(&pending.address) == Some(&Conn::Pending(p as u32)) {
            self.by_address.remove(&pending.address);
        }
        self.timers.cancel(self.slots.len() + p);
        self.free_pending.push(p as u32);
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
        self.connected
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
        match self.by_address.get(&addr) {
            Some(&Conn::Slot(i)) => Some(i as usize),
            _ => None,
        }
    }

    fn slot_by_client_id(&self, id: u64) -> Option<usize> {
        self.by_client_id.get(&id).map(|&i| i as usize)
    }

    fn pending_by_address(&self, addr: SocketAddr) -> Option<usize> {
        match self.by_address.get(&addr) {
            Some(&Conn::Pending(p)) => Some(p as usize),
            _ => None,
        }
    }

    fn find_or_add_token(
        &mut self,
        mac: [u8; MAC_BYTES],
        from: SocketAddr,
        expire_timestamp: u64,
        now: Duration,
    ) -> Result<(), DropReason> {
        let idx = match self.by_token_mac.get(&mac).map(|&i| i as usize) {
            Some(i) if self.tokens[i].expire_timestamp > secs(now) => {
                let e = &self.tokens[i];
                return if e.address == from { Ok(()) } else { Err(DropReason::TokenInUse) };
            }
            // The same token again after it expired: its entry is reused.
            Some(i) => i,
            None => {
                // The oldest entry makes room (round robin: entries are added in time order, so the
                // oldest is the first to have expired).
                let i = self.tokens_next % self.tokens.len().max(1);
                self.tokens_next = i + 1;
                let old = self.tokens[i];
                if old.used {
                    self.by_token_mac.remove(&old.mac);
                }
                self.by_token_mac.insert(mac, i as u32);
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
        let (client_id, address) = (slot.client_id, slot.address);
        *slot = Slot::empty();
        self.by_address.remove(&address);
        self.by_client_id.remove(&client_id);
        self.free_slots.push(Reverse(i as u32));
        self.connected -= 1;
        self.timers.cancel(i);
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
