//! Pieces the network tests share.
#![allow(dead_code)] // each test binary uses part of it

use framelock_core::arena::{scratch_size_bound, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE, NEUTRAL_INPUT};
use framelock_core::{Authority, Driver, Mode, SessionBuilder};
use framelock_net::sync::RoomClient;

/// A player of `slot` in an arena room behind a relay: a rollback session under relay authority,
/// reporting a checksum every 30 frames.
pub fn arena_player(params: ArenaParams, slot: usize, max_prediction: u32, input_delay: u32) -> RoomClient<Arena> {
    let session = SessionBuilder::new(usize::from(params.players))
        .local_slot(slot)
        .authority(Authority::Relay)
        .mode(Mode::Rollback { max_prediction })
        .max_input_size(INPUT_SIZE)
        .default_input(&NEUTRAL_INPUT)
        .input_delay(input_delay)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params))
        .build()
        .expect("player session");
    RoomClient::new(Driver::new(session, Arena::new(params).expect("arena params")), slot, 30)
}

use std::collections::BinaryHeap;

use framelock_core::testing::HashSim;
use framelock_net::sync::msg::{self, MAX_MESSAGE};
use framelock_net::sync::{Room, RoomConfig};

/// A seeded generator (splitmix64) for links and scripted inputs.
pub struct Mix(pub u64);

impl Mix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// A player of `slot` running [`HashSim`] behind a relay (rollback, relay authority, a checksum
/// every `interval` frames): its state hashes every input's length, bytes and status, so any
/// difference in what two clients were given shows in their checksums.
pub fn hash_player(slots: u8, slot: usize, input_delay: u32, default: &[u8], interval: u32) -> RoomClient<HashSim> {
    RoomClient::new(Driver::new(hash_session(slots, slot, input_delay, default), HashSim::new(0)), slot, interval)
}

/// The session of [`hash_player`].
pub fn hash_session(slots: u8, slot: usize, input_delay: u32, default: &[u8]) -> framelock_core::Session {
    hash_builder(slots, default).local_slot(slot).input_delay(input_delay).build().expect("player session")
}

/// A session builder for [`HashSim`] rooms: rollback, relay authority, states of up to 8 KiB.
pub fn hash_builder(slots: u8, default: &[u8]) -> SessionBuilder {
    SessionBuilder::new(usize::from(slots))
        .authority(Authority::Relay)
        .mode(Mode::Rollback { max_prediction: 16 })
        .max_input_size(4)
        .default_input(default)
        .max_snapshot_size(8 * 1024)
}

/// A [`HashSim`] player whose session starts at `start` with `pad` bytes of state padding (so its
/// snapshot takes several chunks).
pub fn hash_player_at(slots: u8, slot: usize, default: &[u8], start: u32, pad: usize) -> RoomClient<HashSim> {
    let session = hash_builder(slots, default).local_slot(slot).input_delay(2).start_frame(start).build();
    RoomClient::new(Driver::new(session.expect("player session"), HashSim::new(pad)), slot, 10)
}

/// A spectator of a [`HashSim`] room.
pub fn hash_spectator(slots: u8, default: &[u8], pad: usize) -> RoomClient<HashSim> {
    let session = SessionBuilder::new(usize::from(slots))
        .authority(Authority::Relay)
        .max_input_size(4)
        .default_input(default)
        .input_window(1024)
        .max_snapshot_size(8 * 1024)
        .build()
        .expect("spectator session");
    RoomClient::spectator(Driver::new(session, HashSim::new(pad)))
}

/// A scripted input of 0..=3 bytes (lengths vary, so a simulation that hashes lengths notices).
pub fn scripted(seed: u64, slot: usize, tick: u32) -> ([u8; 4], usize) {
    let mut m = Mix(seed ^ (slot as u64) << 40 ^ u64::from(tick / 7));
    let v = m.next();
    ((v as u32).to_le_bytes(), (v >> 32) as usize % 4)
}

/// A datagram in flight: (arrival, sequence), to the relay?, member, bytes.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Flight(std::cmp::Reverse<(u64, u64)>, bool, usize, Vec<u8>);

/// A lossy link with latency and jitter on a virtual clock (microseconds).
pub struct Link {
    pub latency_us: u64,
    pub jitter_us: u64,
    /// Per mille.
    pub loss: u64,
    rng: Mix,
    queue: BinaryHeap<Flight>,
    seq: u64,
}

impl Link {
    pub fn new(latency_us: u64, jitter_us: u64, loss: u64, seed: u64) -> Self {
        Link { latency_us, jitter_us, loss, rng: Mix(seed), queue: BinaryHeap::new(), seq: 0 }
    }
    pub fn send(&mut self, now: u64, to_relay: bool, member: usize, bytes: &[u8]) {
        if self.rng.below(1000) < self.loss {
            return;
        }
        let at = now + self.latency_us + self.rng.below(self.jitter_us + 1);
        self.seq += 1;
        self.queue.push(Flight(std::cmp::Reverse((at, self.seq)), to_relay, member, bytes.to_vec()));
    }
    pub fn due(&mut self, now: u64) -> Option<(bool, usize, Vec<u8>)> {
        if self.queue.peek().is_some_and(|f| (f.0).0 .0 <= now) {
            self.queue.pop().map(|Flight(_, r, m, b)| (r, m, b))
        } else {
            None
        }
    }
}

/// A relay room and its [`HashSim`] clients on a virtual clock, ticking every millisecond.
pub struct World {
    pub room: Room,
    /// Per member id: its client (players at their slot, spectators at their member id).
    pub clients: Vec<Option<RoomClient<HashSim>>>,
    pub ticks: Vec<u32>,
    next_tick: Vec<u64>,
    pub link: Link,
    pub now: u64,
    pub period: u64,
    pub seed: u64,
    /// A member whose snapshot chunks are forged on the way out.
    pub forger: Option<usize>,
    pub forge_checksum: bool,
    /// A member whose snapshot chunks are never sent.
    pub staller: Option<usize>,
    /// The clock's step in microseconds.
    pub step_us: u64,
    buf: Vec<u8>,
}

impl World {
    pub fn new(cfg: RoomConfig, link: Link, seed: u64) -> Self {
        let period = 1_000_000 / u64::from(cfg.tick_rate);
        let members = usize::from(cfg.slots) + usize::from(cfg.max_spectators);
        World {
            room: Room::new(cfg).expect("room config"),
            clients: (0..members).map(|_| None).collect(),
            ticks: vec![0; members],
            next_tick: (0..members as u64).map(|m| m * 997 % period).collect(),
            link,
            now: 0,
            period,
            seed,
            forger: None,
            forge_checksum: false,
            staller: None,
            step_us: 1_000,
            buf: vec![0; MAX_MESSAGE],
        }
    }

    /// Connects a player client at its slot.
    pub fn join(&mut self, slot: usize, client: RoomClient<HashSim>) {
        self.room.connect(slot);
        self.clients[slot] = Some(client);
    }

    /// Connects a spectator client; returns its member id.
    pub fn spectate(&mut self, client: RoomClient<HashSim>) -> usize {
        let id = self.room.connect_spectator().expect("spectator place");
        self.clients[id] = Some(client);
        id
    }

    /// The member leaves (its client is dropped).
    pub fn leave(&mut self, member: usize) {
        self.room.disconnect(member);
        self.clients[member] = None;
    }

    /// One millisecond: deliveries, the room's clock and bundles, client ticks and updates.
    pub fn step(&mut self) {
        let now = self.now;
        while let Some((to_relay, member, bytes)) = self.link.due(now) {
            if to_relay {
                let _ = self.room.handle_update(now, member, &bytes);
            } else if let Some(Some(c)) = self.clients.get_mut(member) {
                let _ = c.handle_bundle(&bytes);
            }
        }
        if self.room.poll_timeout().is_none_or(|t| t <= now) {
            self.room.handle_timeout(now);
        }
        while let Some((member, len)) = self.room.poll_transmit(&mut self.buf) {
            self.link.send(now, false, member, &self.buf[..len]);
        }
        for (m, c) in self.clients.iter_mut().enumerate() {
            let Some(c) = c else { continue };
            c.catch_up(256).expect("catch up");
            if now >= self.next_tick[m] {
                self.next_tick[m] = self.next_tick[m].max(now.saturating_sub(self.period)) + self.period;
                self.ticks[m] += 1;
                let (input, len) = scripted(self.seed, m, self.ticks[m]);
                c.tick(&input[..len]).expect("tick");
                let n = c.poll_transmit(&mut self.buf);
                self.link.send(now, true, m, &self.buf[..n]);
                while let Some(n) = c.poll_transfer(&mut self.buf) {
                    if self.staller == Some(m) && msg::kind(&self.buf[..n]) == Some(msg::Kind::Chunk) {
                        continue; // a provider that stalls: its chunks never leave
                    }
                    if self.forger == Some(m) && msg::kind(&self.buf[..n]) == Some(msg::Kind::Chunk) && n > 30 {
                        // A lying provider: one byte of its snapshot changed (and, unless it
                        // forges only the bytes, the checksum it claims too).
                        self.buf[n - 1] ^= 0x5a;
                        if self.forge_checksum {
                            self.buf[13] ^= 1;
                        }
                    }
                    self.link.send(now, true, m, &self.buf[..n]);
                }
            }
        }
        self.now += self.step_us;
    }

    /// Steps until every client has a final checksum of `frame` (or `limit_us` passes).
    pub fn run_until_checksummed(&mut self, frame: u32, limit_us: u64) {
        while self.now < limit_us
            && !self.clients.iter().flatten().all(|c| c.driver().session().checksummed_until() > frame)
        {
            self.step();
        }
    }

    /// Every client's checksum of `frame`.
    pub fn checksums(&self, frame: u32) -> Vec<Option<u64>> {
        self.clients.iter().flatten().map(|c| c.driver().session().checksum(frame)).collect()
    }
}
