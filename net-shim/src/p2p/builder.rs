//! [`P2pBuilder`]: every setting of a peer-to-peer endpoint, checked at build.

use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::{Authority, Driver, Mode, SessionBuilder, Simulation};

use super::endpoint::P2pEndpoint;
use super::peer::{Peer, Role};
use super::types::P2pError;
use super::wire::{WireConfig, PROTOCOL_VERSION, SPECTATOR_HANDLE};

/// The largest input record (all slots with a status byte each) in bytes: a whole record must fit
/// in a datagram with room for more.
pub const MAX_RECORD: usize = 512;

/// Builds a [`P2pEndpoint`]. Players: [`P2pBuilder::local_slot`] for each slot played here and
/// [`P2pBuilder::remote_slot`] for every other slot; spectators: [`P2pBuilder::spectate`].
///
/// ```
/// use std::time::Duration;
/// use framelock_core::testing::HashSim;
/// use framelock_net::p2p::P2pBuilder;
///
/// let peer = "127.0.0.1:7001".parse().unwrap();
/// let endpoint = P2pBuilder::new(2, 2)
///     .key([7; 32])                 // from `framelock key`, handed out by the matchmaker
///     .rng_seed([1; 32])            // from the OS in production
///     .local_slot(0)
///     .remote_slot(1, peer)
///     .simulation_id(42)
///     .max_snapshot_size(64)
///     .build(Duration::ZERO, HashSim::new(0))?;
/// assert!(!endpoint.is_running());
/// # Ok::<(), framelock_net::p2p::P2pError>(())
/// ```
#[derive(Debug, Clone)]
pub struct P2pBuilder {
    pub(super) slots: usize,
    pub(super) input_size: usize,
    pub(super) key: Option<[u8; 32]>,
    pub(super) seed: Option<[u8; 32]>,
    pub(super) local: u64,
    pub(super) remotes: Vec<(usize, SocketAddr)>,
    pub(super) spectators: Vec<SocketAddr>,
    pub(super) host: Option<SocketAddr>,
    pub(super) mode: Mode,
    pub(super) input_delay: u32,
    pub(super) tick_rate: u16,
    pub(super) simulation_id: u64,
    pub(super) checksum_interval: u16,
    pub(super) disconnect_notify: Duration,
    pub(super) disconnect_timeout: Duration,
    pub(super) auto_time_sync: bool,
    pub(super) default_input: Vec<u8>,
    pub(super) max_snapshot_size: usize,
    pub(super) frame_arena_size: usize,
    pub(super) bad_slot: bool,
}

impl P2pBuilder {
    /// A session of `slots` player slots (1..=64) with inputs of exactly `input_size` bytes
    /// (1..=64). Defaults: rollback with 8 frames of prediction, input delay 2, 60 Hz, checksums
    /// every 30 frames, interrupted after 750 ms, disconnected after 5 s, no automatic time sync.
    pub fn new(slots: usize, input_size: usize) -> Self {
        P2pBuilder {
            slots,
            input_size,
            key: None,
            seed: None,
            local: 0,
            remotes: Vec::new(),
            spectators: Vec::new(),
            host: None,
            mode: Mode::Rollback { max_prediction: 8 },
            input_delay: 2,
            tick_rate: 60,
            simulation_id: 0,
            checksum_interval: 30,
            disconnect_notify: Duration::from_millis(750),
            disconnect_timeout: Duration::from_secs(5),
            auto_time_sync: false,
            default_input: Vec::new(),
            max_snapshot_size: 64 * 1024,
            frame_arena_size: 1 << 16,
            bad_slot: false,
        }
    }

    /// The 32-byte session key every endpoint of the match shares (required).
    pub fn key(mut self, key: [u8; 32]) -> Self {
        self.key = Some(key);
        self
    }

    /// Seeds the endpoint's random numbers: its session epoch and synchronization nonces
    /// (required; draw it from the OS in production, a constant in tests).
    pub fn rng_seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = Some(seed);
        self
    }

    /// A slot played in this process (several are allowed).
    pub fn local_slot(mut self, slot: usize) -> Self {
        match 1u64.checked_shl(slot as u32) {
            Some(bit) if slot < 64 => self.local |= bit,
            _ => self.bad_slot = true,
        }
        self
    }

    /// A slot played by the endpoint at `addr` (slots of one address form one peer).
    pub fn remote_slot(mut self, slot: usize, addr: SocketAddr) -> Self {
        self.remotes.push((slot, addr));
        self
    }

    /// Hosts a spectator at `addr`: it receives every confirmed frame from this endpoint.
    pub fn spectator(mut self, addr: SocketAddr) -> Self {
        self.spectators.push(addr);
        self
    }

    /// Makes this endpoint a spectator of the player endpoint at `host` (no local slots).
    pub fn spectate(mut self, host: SocketAddr) -> Self {
        self.host = Some(host);
        self
    }

    /// Rollback (default, `max_prediction` 8) or lockstep. Spectators always run lockstep.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Frames between a local input and the frame it is for (0..=32, default 2).
    pub fn input_delay(mut self, frames: u32) -> Self {
        self.input_delay = frames;
        self
    }

    /// Frames per second (1..=1000, default 60): the tick schedule and frame-advantage estimates.
    pub fn tick_rate(mut self, hz: u16) -> Self {
        self.tick_rate = hz;
        self
    }

    /// An identifier of the simulation and its parameters; every endpoint must have the same.
    pub fn simulation_id(mut self, id: u64) -> Self {
        self.simulation_id = id;
        self
    }

    /// Frames between two checksums exchanged (default 30).
    pub fn checksum_interval(mut self, frames: u16) -> Self {
        self.checksum_interval = frames;
        self
    }

    /// Silence after which a peer is reported interrupted (default 750 ms).
    pub fn disconnect_notify(mut self, d: Duration) -> Self {
        self.disconnect_notify = d;
        self
    }

    /// Silence after which a peer is disconnected (default 5 s).
    pub fn disconnect_timeout(mut self, d: Duration) -> Self {
        self.disconnect_timeout = d;
        self
    }

    /// Stretches local frames slightly while this endpoint is ahead, instead of only recommending
    /// a wait (see [`P2pEndpoint::next_tick`]).
    pub fn auto_time_sync(mut self, on: bool) -> Self {
        self.auto_time_sync = on;
        self
    }

    /// The input of a disconnected slot and of the first `input_delay` frames (zeros by default;
    /// shorter than `input_size` is padded with zeros).
    pub fn default_input(mut self, bytes: &[u8]) -> Self {
        self.default_input = bytes.to_vec();
        self
    }

    /// The capacity of a snapshot (default 64 KiB).
    pub fn max_snapshot_size(mut self, bytes: usize) -> Self {
        self.max_snapshot_size = bytes;
        self
    }

    /// The simulation's per-frame scratch arena (default 64 KiB).
    pub fn frame_arena_size(mut self, bytes: usize) -> Self {
        self.frame_arena_size = bytes;
        self
    }

    fn check(&self) -> Result<(), P2pError> {
        let bad = |setting, reason| Err(P2pError::Config { setting, reason });
        if self.key.is_none() {
            return bad("key", "is required (32 bytes, as `framelock key` writes)");
        }
        if self.seed.is_none() {
            return bad("rng_seed", "is required (draw it from the OS)");
        }
        if !(1..=64).contains(&self.slots) {
            return bad("slots", "must be 1..=64");
        }
        if !(1..=64).contains(&self.input_size) || self.slots * (self.input_size + 1) > MAX_RECORD {
            return bad("input_size", "must be 1..=64, and slots * (input_size + 1) at most 512");
        }
        if self.default_input.len() > self.input_size {
            return bad("default_input", "is longer than input_size");
        }
        if !(1..=1000).contains(&self.tick_rate) {
            return bad("tick_rate", "must be 1..=1000");
        }
        if self.checksum_interval == 0 {
            return bad("checksum_interval", "must be at least 1");
        }
        if self.disconnect_notify.is_zero() || self.disconnect_timeout <= self.disconnect_notify {
            return bad("disconnect_timeout", "must be longer than disconnect_notify, which must not be zero");
        }
        let all = if self.slots == 64 { u64::MAX } else { (1u64 << self.slots) - 1 };
        if self.host.is_some() {
            if self.local != 0 || !self.remotes.is_empty() || !self.spectators.is_empty() {
                return bad("spectate", "a spectator has no local slots, remote slots or spectators");
            }
            return Ok(());
        }
        if self.bad_slot || self.local == 0 || self.local & !all != 0 {
            return bad("local_slot", "at least one, each below slots");
        }
        let mut seen = self.local;
        for &(slot, addr) in &self.remotes {
            let bit = if slot < 64 { 1u64 << slot } else { 0 };
            if bit == 0 || bit & all == 0 || seen & bit != 0 {
                return bad("remote_slot", "names a slot that does not exist or is given twice");
            }
            if self.spectators.contains(&addr) {
                return bad("spectator", "an address is both a player and a spectator");
            }
            seen |= bit;
        }
        if seen != all {
            return bad("remote_slot", "every slot must be local or remote");
        }
        let mut spectators = self.spectators.clone();
        spectators.sort();
        spectators.dedup();
        if spectators.len() != self.spectators.len() || self.spectators.len() > 32 {
            return bad("spectator", "at most 32, each address once");
        }
        Ok(())
    }

    /// Checks every setting, builds the core session and allocates everything the endpoint uses.
    /// `now` starts its clock; `sim` is the game state at frame 0.
    pub fn build<S: Simulation>(self, now: Duration, sim: S) -> Result<P2pEndpoint<S>, P2pError> {
        self.check()?;
        let spectator = self.host.is_some();
        let mut default = self.default_input.clone();
        default.resize(self.input_size, 0);
        let mode = if spectator { Mode::Lockstep } else { self.mode };
        let session = SessionBuilder::new(self.slots)
            .local_slots(self.local)
            .authority(Authority::PeerToPeer)
            .mode(mode)
            .max_input_size(self.input_size)
            .default_input(&default)
            .input_delay(if spectator { 0 } else { self.input_delay })
            .max_snapshot_size(self.max_snapshot_size)
            .frame_arena_size(self.frame_arena_size)
            .input_window(256)
            .record_confirmed(!self.spectators.is_empty())
            .build()?;
        // Remote players grouped by address, in the order first named; then spectators or the host.
        let mut groups: Vec<(SocketAddr, u64)> = Vec::new();
        for &(slot, addr) in &self.remotes {
            match groups.iter_mut().find(|g| g.0 == addr) {
                Some(g) => g.1 |= 1 << slot,
                None => groups.push((addr, 1 << slot)),
            }
        }
        let n = groups.len() + self.spectators.len() + usize::from(spectator);
        let mut peers = Vec::with_capacity(n);
        for (addr, slots) in groups {
            let record = slots.count_ones() as usize * self.input_size;
            peers.push(Peer::new(addr, Role::Player, slots.trailing_zeros() as u8, slots, record, n));
        }
        for &addr in &self.spectators {
            peers.push(Peer::new(addr, Role::Spectator, SPECTATOR_HANDLE, 0, 0, n));
        }
        if let Some(host) = self.host {
            let record = self.slots * (self.input_size + 1);
            // The host's handle is learned from its first authenticated reply.
            peers.push(Peer::new(host, Role::Host, SPECTATOR_HANDLE, 0, record, n));
        }
        let wire = WireConfig {
            version: PROTOCOL_VERSION,
            slots: self.slots as u8,
            input_size: self.input_size as u16,
            tick_rate: self.tick_rate,
            checksum_interval: self.checksum_interval,
            simulation_id: self.simulation_id,
            sender_slots: self.local,
        };
        Ok(P2pEndpoint::new(now, self, Driver::new(session, sim), peers, wire, default))
    }
}
