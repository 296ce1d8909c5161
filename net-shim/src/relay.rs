//! The relay: the connection layer's server and the frame-sync rooms behind it, as one sans-IO state
//! machine. A connect token's user data names the room and the slot (slot [`SPECTATOR`] for a
//! spectator), so only the token holder can send inputs for its slot.
//!
//! Inputs, in any order: [`Relay::handle_datagram`], [`Relay::handle_timeout`]. Outputs, after each
//! input: [`Relay::poll_transmit`] until `None`, then [`Relay::poll_timeout`] for the next deadline.

use std::net::SocketAddr;
use std::time::Duration;

use rand_core::RngCore;

use crate::histogram::Histogram;
use crate::netcode::{Server, ServerConfig, ServerConfigError, ServerEvent, Timers, Transmit};
use crate::sync::msg::MAX_MESSAGE;
use crate::sync::{Room, RoomConfig};

/// The slot number in a connect token that makes its holder a spectator.
pub const SPECTATOR: u8 = u8::MAX;

/// A relay's settings.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The connection layer (protocol id, key, client limit, public address).
    pub netcode: ServerConfig,
    /// The settings every room is created with.
    pub room: RoomConfig,
    /// Rooms open at once (a token for another room is refused while it is full).
    pub max_rooms: usize,
}

/// What the relay counted besides its rooms and connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Connections refused: no room/slot in the token, a slot that does not exist or is taken, no
    /// room left, or no spectator place left.
    pub refused: u64,
    /// Bundles the connection layer could not queue (its transmit queue was full).
    pub send_failures: u64,
}

#[derive(Debug)]
struct RoomEntry {
    id: u64,
    room: Room,
    /// Member (slot or spectator id) → connection index.
    members: Vec<Option<usize>>,
}

/// A relay server: connections, rooms, frame clocks.
#[derive(Debug)]
pub struct Relay {
    server: Server,
    cfg: RelayConfig,
    rooms: Vec<RoomEntry>,
    /// Connection index → (room index, member).
    routes: Vec<Option<(usize, usize)>>,
    refuse: Vec<usize>,
    buf: Vec<u8>,
    stats: RelayStats,
    /// Room `r`'s next frame close is timer `r`: only rooms whose time came are ticked.
    room_timers: Timers,
    /// Rooms with bundles to send (a frame closed, a member joined), each once.
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
    /// How late each frame close ran against its room's deadline.
    lateness: Histogram,
}

fn micros(now: Duration) -> u64 {
    now.as_micros().min(u128::from(u64::MAX)) as u64
}

impl Relay {
    /// A relay with no rooms; rooms open when their first client connects.
    pub fn new(now: Duration, cfg: RelayConfig, rng: &mut impl RngCore) -> Result<Self, ServerConfigError> {
        let max_clients = cfg.netcode.max_clients;
        let server = Server::new(now, cfg.netcode.clone(), rng)?;
        Ok(Relay {
            server,
            rooms: Vec::with_capacity(cfg.max_rooms),
            routes: vec![None; max_clients],
            refuse: Vec::with_capacity(max_clients),
            buf: vec![0; MAX_MESSAGE],
            stats: RelayStats::default(),
            room_timers: Timers::new(cfg.max_rooms),
            dirty: Vec::with_capacity(cfg.max_rooms),
            is_dirty: vec![false; cfg.max_rooms],
            lateness: Histogram::default(),
            cfg,
        })
    }

    /// Takes a datagram from the network.
    pub fn handle_datagram(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]) {
        self.server.handle_packet(now, from, bytes);
        self.process_events(now);
    }

    /// Advances timers: keep-alives and timeouts, and the frame clock of every room whose frame is due
    /// (rooms are kept in a deadline heap: the others are not visited).
    pub fn handle_timeout(&mut self, now: Duration) {
        self.server.handle_timeout(now);
        self.process_events(now);
        while let Some(r) = self.room_timers.pop_due(now) {
            let Some(e) = self.rooms.get_mut(r) else { continue };
            if let Some(deadline) = e.room.poll_timeout() {
                self.lateness.record_us(micros(now).saturating_sub(deadline));
            }
            e.room.handle_timeout(micros(now));
            if let Some(next) = e.room.poll_timeout() {
                self.room_timers.schedule(r, Duration::from_micros(next));
            }
            Self::mark(&mut self.dirty, &mut self.is_dirty, r);
        }
        self.flush(now);
    }

    /// How late frame closes ran against their rooms' deadlines (on the caller's clock), since the
    /// relay started.
    pub fn lateness(&self) -> &Histogram {
        &self.lateness
    }

    /// Room `r` has bundles to send at the next flush.
    fn mark(dirty: &mut Vec<u32>, is_dirty: &mut [bool], r: usize) {
        if let Some(d) = is_dirty.get_mut(r).filter(|d| !**d) {
            *d = true;
            dirty.push(r as u32);
        }
    }

    /// A member joined room `r`: its clock starts at the next `handle_timeout` if it had not, and the
    /// newcomer's first bundle goes out then.
    fn touch_room(&mut self, r: usize, now: Duration) {
        if self.rooms.get(r).is_some_and(|e| e.room.poll_timeout().is_none()) {
            self.room_timers.schedule(r, now);
        }
        Self::mark(&mut self.dirty, &mut self.is_dirty, r);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        self.server.poll_transmit()
    }

    /// When [`Relay::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match (self.server.poll_timeout(), self.room_timers.next()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Says goodbye to every client (the connection layer's redundant disconnect packets); call
    /// [`Relay::poll_transmit`] until `None` afterwards. For a graceful shutdown.
    pub fn disconnect_all(&mut self, now: Duration) {
        self.server.disconnect_all(now);
        self.process_events(now);
    }

    /// Every open room with its id.
    pub fn rooms(&self) -> impl Iterator<Item = (u64, &Room)> + '_ {
        self.rooms.iter().map(|e| (e.id, &e.room))
    }

    /// The room with this id, if open.
    pub fn room(&self, id: u64) -> Option<&Room> {
        self.rooms.iter().find(|e| e.id == id).map(|e| &e.room)
    }

    /// The connection layer (its statistics, its clients).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// What the relay counted.
    pub fn stats(&self) -> RelayStats {
        self.stats
    }

    fn process_events(&mut self, now: Duration) {
        while let Some(event) = self.server.poll_event() {
            match event {
                ServerEvent::Connected { client_index, user_data, .. } => {
                    let admitted = user_data
                        .room_slot()
                        .and_then(|(room, slot)| Self::admit(&mut self.rooms, &self.cfg, room, slot, client_index));
                    match (admitted, self.routes.get_mut(client_index)) {
                        (Some(route), Some(r)) => {
                            *r = Some(route);
                            self.touch_room(route.0, now);
                        }
                        _ => {
                            self.stats.refused += 1;
                            self.refuse.push(client_index);
                        }
                    }
                }
                ServerEvent::Disconnected { client_index, .. } => {
                    if let Some((r, member)) = self.routes.get_mut(client_index).and_then(Option::take) {
                        let e = &mut self.rooms[r];
                        e.room.disconnect(member);
                        e.members[member] = None;
                    }
                }
                ServerEvent::Payload { client_index, payload, .. } => {
                    if let Some(&Some((r, member))) = self.routes.get(client_index) {
                        // A malformed update is dropped and counted by the room.
                        let _ = self.rooms[r].room.handle_update(micros(now), member, payload);
                    }
                }
            }
        }
        while let Some(client_index) = self.refuse.pop() {
            self.server.disconnect(now, client_index);
        }
    }

    /// Finds or opens the room and gives the connection its slot (or a spectator place).
    fn admit(rooms: &mut Vec<RoomEntry>, cfg: &RelayConfig, id: u64, slot: u8, conn: usize) -> Option<(usize, usize)> {
        let r = match rooms.iter().position(|e| e.id == id) {
            Some(r) => r,
            None if rooms.len() < cfg.max_rooms => {
                let members = usize::from(cfg.room.slots) + usize::from(cfg.room.max_spectators);
                rooms.push(RoomEntry { id, room: Room::new(cfg.room.clone()), members: vec![None; members] });
                rooms.len() - 1
            }
            None => return None,
        };
        let e = &mut rooms[r];
        let member = if slot == SPECTATOR {
            e.room.connect_spectator()?
        } else {
            let s = usize::from(slot);
            if s >= usize::from(cfg.room.slots) || e.members[s].is_some() {
                return None;
            }
            e.room.connect(s);
            s
        };
        e.members[member] = Some(conn);
        Some((r, member))
    }

    /// Hands every due bundle of the rooms marked dirty to the connection layer.
    fn flush(&mut self, now: Duration) {
        while let Some(r) = self.dirty.pop() {
            let r = r as usize;
            self.is_dirty[r] = false;
            let Some(e) = self.rooms.get_mut(r) else { continue };
            while let Some((member, len)) = e.room.poll_transmit(&mut self.buf) {
                if let Some(Some(conn)) = e.members.get(member) {
                    if self.server.send_payload(now, *conn, &self.buf[..len]).is_err() {
                        self.stats.send_failures += 1;
                    }
                }
            }
        }
    }
}
