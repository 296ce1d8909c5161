//! The relay: the connection layer's server and the frame-sync rooms behind it, as one sans-IO state
//! machine. A connect token's user data names the room and the slot (slot [`SPECTATOR`] for a
//! spectator), so only the token holder can send inputs for its slot.
//!
//! Inputs, in any order: [`Relay::handle_datagram`], [`Relay::handle_timeout`]. Outputs, after each
//! input: [`Relay::poll_transmit`] until `None`, then [`Relay::poll_timeout`] for the next deadline.
//!
//! # Rooms on demand
//! A room is created by the first connection that names it, and freed when it has been empty for
//! [`RelayConfig::room_idle`] or when its match ended (see [`RelayConfig::match_frames`]); a freed
//! room's id can be used again. A freed room stays readable through [`Relay::closed_rooms`] until
//! the next [`Relay::handle_timeout`], so that whoever records rooms can write its last frames.
//!
//! # Admission
//! A connection is admitted or refused when its request arrives, from its token's user data: a
//! refusal is the connection layer's connection-denied packet, counted by [`Refusal`] reason.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::Frame;
use rand_core::RngCore;

use crate::histogram::Histogram;
use crate::netcode::{Server, ServerConfig, ServerEvent, Timers, Transmit, UserData};
use crate::sync::msg::MAX_MESSAGE;
use crate::sync::{Room, RoomConfig, RoomStats};

pub use crate::relay_config::{room_bytes, RelayConfigError, MAX_MATCH_FRAMES, MAX_ROOMS, MAX_ROOM_IDLE};

/// The slot number in a connect token that makes its holder a spectator.
pub const SPECTATOR: u8 = u8::MAX;

/// How long a room whose match ended keeps relaying (so its clients get the last bundles and
/// checksums) before the relay says goodbye to whoever is still there and frees it.
pub const MATCH_END_GRACE: Duration = Duration::from_secs(2);

/// A relay's settings.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The connection layer (protocol id, key, client limit, public addresses).
    pub netcode: ServerConfig,
    /// The settings every room is created with.
    pub room: RoomConfig,
    /// Rooms open at once (a connection that would open another is refused while it is full).
    pub max_rooms: usize,
    /// A room with nobody connected is freed after this long (a player who drops may come back
    /// within it).
    pub room_idle: Duration,
    /// A room's match ends once it has closed this many frames (0: matches never end by length).
    /// Frames `0..match_frames` are the match; the room is freed [`MATCH_END_GRACE`] later, or as
    /// soon as its clients left, and no one may join it after the end.
    pub match_frames: Frame,
}

impl RelayConfig {
    /// A configuration with 64 rooms, rooms freed after 30 s empty and matches that do not end by
    /// length.
    pub fn new(netcode: ServerConfig, room: RoomConfig) -> Self {
        RelayConfig { netcode, room, max_rooms: 64, room_idle: Duration::from_secs(30), match_frames: 0 }
    }
}

/// Why a connection was refused (with a connection-denied packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The token's user data names no room and slot.
    NoRoomInToken,
    /// The slot does not exist in the relay's rooms.
    BadSlot,
    /// Another client holds the slot.
    SlotTaken,
    /// The room has no spectator place left.
    SpectatorsFull,
    /// Opening the room would exceed `max_rooms`.
    NoRoomLeft,
    /// The relay is draining: it opens no new room.
    Draining,
    /// The room's match is over.
    MatchOver,
}

impl Refusal {
    /// Every reason, in the order of [`RelayStats::refused`].
    pub const ALL: [Refusal; 7] = [
        Refusal::NoRoomInToken,
        Refusal::BadSlot,
        Refusal::SlotTaken,
        Refusal::SpectatorsFull,
        Refusal::NoRoomLeft,
        Refusal::Draining,
        Refusal::MatchOver,
    ];

    /// A short snake_case name (a metrics label).
    pub fn name(self) -> &'static str {
        match self {
            Refusal::NoRoomInToken => "no_room_in_token",
            Refusal::BadSlot => "bad_slot",
            Refusal::SlotTaken => "slot_taken",
            Refusal::SpectatorsFull => "spectators_full",
            Refusal::NoRoomLeft => "no_room_left",
            Refusal::Draining => "draining",
            Refusal::MatchOver => "match_over",
        }
    }
}

/// What the relay counted besides its rooms and connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Connection-denied answers, by [`Refusal`] in `Refusal::ALL` order (a client that does not
    /// hear the denial asks again and is counted again).
    pub refused: [u64; 7],
    /// Bundles the connection layer could not queue (its transmit queue was full).
    pub send_failures: u64,
    /// Rooms opened.
    pub rooms_opened: u64,
    /// Rooms freed.
    pub rooms_closed: u64,
    /// Counters of the rooms already freed, summed (with those of the open rooms, a room counter
    /// that never goes down).
    pub closed_rooms: RoomStats,
}

impl RelayStats {
    /// Refusals for `reason`.
    pub fn refused_for(&self, reason: Refusal) -> u64 {
        self.refused[reason as usize]
    }

    /// Every refusal.
    pub fn refused_total(&self) -> u64 {
        self.refused.iter().sum()
    }
}

/// Adds `b`'s counters to `a`.
pub fn add_room_stats(a: &mut RoomStats, b: &RoomStats) {
    a.frames_closed += b.frames_closed;
    a.late_inputs += b.late_inputs;
    a.substitutes += b.substitutes;
    a.malformed += b.malformed;
    a.bundles_sent += b.bundles_sent;
    a.desyncs += b.desyncs;
}

#[derive(Debug)]
struct RoomEntry {
    id: u64,
    room: Room,
    /// Member (slot or spectator id) → connection index.
    members: Vec<Option<usize>>,
    connected: usize,
    /// Since when nobody is connected.
    empty_since: Option<Duration>,
    /// When the room closed its match's last frame.
    ended_at: Option<Duration>,
}

impl RoomEntry {
    /// When the room must be freed, unless someone connects before.
    fn free_at(&self, idle: Duration, draining: bool) -> Option<Duration> {
        let empty = self.empty_since.map(|t| if draining || self.ended_at.is_some() { t } else { t + idle });
        let ended = self.ended_at.map(|t| t + MATCH_END_GRACE);
        match (empty, ended) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A freed room, readable until the next [`Relay::handle_timeout`].
#[derive(Debug)]
pub struct ClosedRoom {
    /// Its id.
    pub id: u64,
    /// The room as it was when freed.
    pub room: Room,
    /// Where its match ended (`match_frames`), or `None` when it was freed for being empty.
    pub match_end: Option<Frame>,
}

/// A relay server: connections, rooms, frame clocks.
#[derive(Debug)]
pub struct Relay {
    server: Server,
    cfg: RelayConfig,
    /// Room slots; a freed room's index is reused (routes hold indices).
    rooms: Vec<Option<RoomEntry>>,
    free: Vec<usize>,
    by_id: HashMap<u64, usize>,
    open: usize,
    closed: Vec<ClosedRoom>,
    /// Connection index → (room index, member).
    routes: Vec<Option<(usize, usize)>>,
    refuse: Vec<usize>,
    buf: Vec<u8>,
    stats: RelayStats,
    draining: bool,
    /// Room `r`'s next deadline (its next frame close, or when it is to be freed) is timer `r`:
    /// only rooms whose time came are visited.
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

fn min_opt(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Decides whether a client whose token names `user_data` may connect, from the relay's state.
fn check(
    rooms: &[Option<RoomEntry>],
    by_id: &HashMap<u64, usize>,
    cfg: &RelayConfig,
    open: usize,
    draining: bool,
    user_data: &UserData,
) -> Result<(), Refusal> {
    let (id, slot) = user_data.room_slot().ok_or(Refusal::NoRoomInToken)?;
    let slots = usize::from(cfg.room.slots);
    if slot != SPECTATOR && usize::from(slot) >= slots {
        return Err(Refusal::BadSlot);
    }
    match by_id.get(&id).and_then(|&r| rooms.get(r)).and_then(Option::as_ref) {
        Some(e) if e.ended_at.is_some() => Err(Refusal::MatchOver),
        Some(e) if slot == SPECTATOR => e
            .members
            .get(slots..)
            .is_some_and(|m| m.iter().any(Option::is_none))
            .then_some(())
            .ok_or(Refusal::SpectatorsFull),
        Some(e) => e.members[usize::from(slot)].is_none().then_some(()).ok_or(Refusal::SlotTaken),
        None if draining => Err(Refusal::Draining),
        None if open >= cfg.max_rooms => Err(Refusal::NoRoomLeft),
        None if slot == SPECTATOR && cfg.room.max_spectators == 0 => Err(Refusal::SpectatorsFull),
        None => Ok(()),
    }
}

impl Relay {
    /// A relay with no rooms; rooms open when their first client connects. Every buffer the relay
    /// itself uses is allocated here (a room's buffers when it opens).
    pub fn new(now: Duration, cfg: RelayConfig, rng: &mut impl RngCore) -> Result<Self, RelayConfigError> {
        cfg.validate()?;
        let max_clients = cfg.netcode.max_clients;
        let server = Server::new(now, cfg.netcode.clone(), rng).map_err(RelayConfigError::Netcode)?;
        Ok(Relay {
            server,
            rooms: Vec::with_capacity(cfg.max_rooms),
            free: Vec::with_capacity(cfg.max_rooms),
            by_id: HashMap::with_capacity(cfg.max_rooms),
            open: 0,
            closed: Vec::with_capacity(cfg.max_rooms.min(64)),
            routes: vec![None; max_clients],
            refuse: Vec::with_capacity(max_clients),
            buf: vec![0; MAX_MESSAGE],
            stats: RelayStats::default(),
            draining: false,
            room_timers: Timers::new(cfg.max_rooms),
            dirty: Vec::with_capacity(cfg.max_rooms),
            is_dirty: vec![false; cfg.max_rooms],
            lateness: Histogram::default(),
            cfg,
        })
    }

    /// Takes a datagram from the network.
    pub fn handle_datagram(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]) {
        let (rooms, by_id, cfg, open, draining) = (&self.rooms, &self.by_id, &self.cfg, self.open, self.draining);
        let refused = &mut self.stats.refused;
        self.server.handle_packet_with(now, from, bytes, &mut |_, user_data| match check(
            rooms, by_id, cfg, open, draining, user_data,
        ) {
            Ok(()) => true,
            Err(reason) => {
                refused[reason as usize] += 1;
                false
            }
        });
        self.process_events(now);
    }

    /// Advances timers: keep-alives and timeouts, the frame clock of every room whose frame is due,
    /// the end of matches and the freeing of rooms (rooms are kept in a deadline heap: the others are
    /// not visited). Rooms freed by the previous call are dropped now.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.closed.clear();
        self.server.handle_timeout(now);
        self.process_events(now);
        let (idle, draining, match_frames) = (self.cfg.room_idle, self.draining, self.cfg.match_frames);
        while let Some(r) = self.room_timers.pop_due(now) {
            let Some(e) = self.rooms.get_mut(r).and_then(Option::as_mut) else { continue };
            if let Some(deadline) = e.room.poll_timeout().filter(|&d| d <= micros(now)) {
                self.lateness.record_us(micros(now).saturating_sub(deadline));
            }
            e.room.handle_timeout(micros(now));
            if match_frames > 0 && e.ended_at.is_none() && e.room.next_close() >= match_frames {
                e.ended_at = Some(now);
            }
            let free_at = e.free_at(idle, draining);
            if free_at.is_some_and(|t| t <= now) {
                self.free_room(now, r);
                continue;
            }
            if let Some(next) = min_opt(e.room.poll_timeout().map(Duration::from_micros), free_at) {
                self.room_timers.schedule(r, next);
            }
            Self::mark(&mut self.dirty, &mut self.is_dirty, r);
        }
        self.process_events(now);
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

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        self.server.poll_transmit()
    }

    /// When [`Relay::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Duration> {
        min_opt(self.server.poll_timeout(), self.room_timers.next())
    }

    /// Says goodbye to every client (the connection layer's redundant disconnect packets); call
    /// [`Relay::poll_transmit`] until `None` afterwards. For a graceful shutdown.
    pub fn disconnect_all(&mut self, now: Duration) {
        self.server.disconnect_all(now);
        self.process_events(now);
    }

    /// Stops opening rooms: connections to rooms that are open are still admitted, those that would
    /// open one are refused ([`Refusal::Draining`]); an empty room is freed at once. For a graceful
    /// scale-down: wait until [`Relay::room_count`] is 0 (or a deadline), then
    /// [`Relay::disconnect_all`].
    pub fn drain(&mut self) {
        self.draining = true;
        // Empty rooms are now due at once: one pass over the rooms, once.
        for (r, e) in self.rooms.iter().enumerate() {
            if let Some(t) = e.as_ref().and_then(|e| e.free_at(self.cfg.room_idle, true)) {
                self.room_timers.schedule(r, t);
            }
        }
    }

    /// True after [`Relay::drain`].
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Every open room with its id.
    pub fn rooms(&self) -> impl Iterator<Item = (u64, &Room)> + '_ {
        self.rooms.iter().flatten().map(|e| (e.id, &e.room))
    }

    /// Rooms open.
    pub fn room_count(&self) -> usize {
        self.open
    }

    /// The rooms freed by the last [`Relay::handle_timeout`] (dropped at the next one).
    pub fn closed_rooms(&self) -> &[ClosedRoom] {
        &self.closed
    }

    /// The room with this id, if open.
    pub fn room(&self, id: u64) -> Option<&Room> {
        self.by_id.get(&id).and_then(|&r| self.rooms.get(r)).and_then(Option::as_ref).map(|e| &e.room)
    }

    /// The settings.
    pub fn config(&self) -> &RelayConfig {
        &self.cfg
    }

    /// The connection layer (its statistics, its clients).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// What the relay counted.
    pub fn stats(&self) -> RelayStats {
        self.stats
    }

    /// Counters of every room the relay ever opened, summed (freed rooms' included).
    pub fn room_totals(&self) -> RoomStats {
        let mut total = self.stats.closed_rooms;
        for e in self.rooms.iter().flatten() {
            add_room_stats(&mut total, &e.room.stats());
        }
        total
    }

    fn process_events(&mut self, now: Duration) {
        while let Some(event) = self.server.poll_event() {
            match event {
                ServerEvent::Connected { client_index, user_data, .. } => {
                    let admitted = check(&self.rooms, &self.by_id, &self.cfg, self.open, self.draining, &user_data)
                        .and_then(|()| user_data.room_slot().ok_or(Refusal::NoRoomInToken))
                        .map(|(room, slot)| self.admit(now, room, slot, client_index));
                    match (admitted, self.routes.get_mut(client_index)) {
                        (Ok(Some(route)), Some(r)) => {
                            *r = Some(route);
                            // The room's clock starts (if it had not) and the newcomer's first
                            // bundle goes out at the next `handle_timeout`.
                            self.room_timers.schedule(route.0, now);
                            Self::mark(&mut self.dirty, &mut self.is_dirty, route.0);
                        }
                        (Err(reason), _) => {
                            // Only when the hook's answer changed since the challenge response.
                            self.stats.refused[reason as usize] += 1;
                            self.refuse.push(client_index);
                        }
                        _ => {
                            self.stats.refused[Refusal::SpectatorsFull as usize] += 1;
                            self.refuse.push(client_index);
                        }
                    }
                }
                ServerEvent::Disconnected { client_index, .. } => {
                    if let Some((r, member)) = self.routes.get_mut(client_index).and_then(Option::take) {
                        if let Some(e) = self.rooms[r].as_mut() {
                            e.room.disconnect(member);
                            e.members[member] = None;
                            e.connected -= 1;
                            if e.connected == 0 {
                                e.empty_since = Some(now);
                                if let Some(t) = e.free_at(self.cfg.room_idle, self.draining) {
                                    self.room_timers.schedule(r, t);
                                }
                            }
                        }
                    }
                }
                ServerEvent::Payload { client_index, payload, .. } => {
                    if let Some(&Some((r, member))) = self.routes.get(client_index) {
                        if let Some(e) = self.rooms[r].as_mut() {
                            // A malformed update is dropped and counted by the room.
                            let _ = e.room.handle_update(micros(now), member, payload);
                        }
                    }
                }
            }
        }
        while let Some(client_index) = self.refuse.pop() {
            self.server.disconnect(now, client_index);
        }
    }

    /// Finds or opens the room (already checked) and gives the connection its slot or a spectator
    /// place.
    fn admit(&mut self, now: Duration, id: u64, slot: u8, conn: usize) -> Option<(usize, usize)> {
        let r = match self.by_id.get(&id) {
            Some(&r) => r,
            None => {
                let members = usize::from(self.cfg.room.slots) + usize::from(self.cfg.room.max_spectators);
                let entry = RoomEntry {
                    id,
                    // A room setting out of range refuses the connection (RelayConfig validation reports it).
                    room: Room::new(self.cfg.room.clone()).ok()?,
                    members: vec![None; members],
                    connected: 0,
                    empty_since: Some(now),
                    ended_at: None,
                };
                let r = match self.free.pop() {
                    Some(r) => {
                        self.rooms[r] = Some(entry);
                        r
                    }
                    None => {
                        self.rooms.push(Some(entry));
                        self.rooms.len() - 1
                    }
                };
                self.by_id.insert(id, r);
                // Due now: if no member ends up in it, the next timeout schedules its freeing.
                self.room_timers.schedule(r, now);
                self.open += 1;
                self.stats.rooms_opened += 1;
                r
            }
        };
        let e = self.rooms[r].as_mut()?;
        let member = if slot == SPECTATOR {
            e.room.connect_spectator()?
        } else {
            let s = usize::from(slot);
            e.room.connect(s);
            s
        };
        e.members[member] = Some(conn);
        e.connected += 1;
        e.empty_since = None;
        Some((r, member))
    }

    /// Says goodbye to the room's clients, and moves it to the closed rooms.
    fn free_room(&mut self, now: Duration, r: usize) {
        let Some(e) = self.rooms[r].take() else { return };
        self.room_timers.cancel(r);
        for conn in e.members.iter().flatten() {
            self.routes[*conn] = None;
            self.server.disconnect(now, *conn);
        }
        self.by_id.remove(&e.id);
        self.free.push(r);
        self.open -= 1;
        self.stats.rooms_closed += 1;
        add_room_stats(&mut self.stats.closed_rooms, &e.room.stats());
        let match_end = e.ended_at.map(|_| self.cfg.match_frames);
        self.closed.push(ClosedRoom { id: e.id, room: e.room, match_end });
    }

    /// Hands every due bundle of the rooms marked dirty to the connection layer.
    fn flush(&mut self, now: Duration) {
        while let Some(r) = self.dirty.pop() {
            let r = r as usize;
            self.is_dirty[r] = false;
            let Some(e) = self.rooms.get_mut(r).and_then(Option::as_mut) else { continue };
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
