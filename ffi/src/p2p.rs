//! Peer to peer without a server (GGPO's `ggpo_start_session`): one endpoint of a match on its own
//! UDP socket, playing the reference simulation or the engine's callbacks. The protocol is
//! `docs/p2p-protocol.md`; the Rust endpoint is `framelock_net::p2p`.

use core::ffi::c_char;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use framelock_core::arena::{self, scratch_size_bound, snapshot_size_bound, Arena, INPUT_SIZE, NEUTRAL_INPUT};
use framelock_core::{checksum64, Error, FrameInputs, Mode, Outcome, Session, SimError, Simulation, SnapshotWriter};
use framelock_net::io::{Conditioner, UdpDriver};
use framelock_net::p2p::{P2pBuilder, P2pEndpoint, P2pError, P2pEvent, MAX_RECORD};

use crate::arena::{default_params, framelock_arena_params, framelock_arena_player, params_of, player_of};
use crate::error::{bytes, c_str, check_size, guard, guard_void, handle, out, FfiError};
use crate::framelock_status;
use crate::lock::{Claim, Guarded};
use crate::session::{
    c_input, framelock_callbacks, framelock_input, framelock_outcome, framelock_snapshot, outcome, Callbacks,
};

/// The most remote players, spectators or hosts a config names in total.
pub const FRAMELOCK_P2P_MAX_PEERS: u32 = 64;
/// The largest input of one slot, in bytes.
pub const FRAMELOCK_P2P_MAX_INPUT_SIZE: u32 = 64;
/// The most ticks framelock_p2p_ticks_due() reports at once.
pub const FRAMELOCK_P2P_MAX_TICKS_DUE: u32 = 8;
/// The size of framelock_p2p_peer_stats.address (a NUL-terminated "HOST:PORT").
pub const FRAMELOCK_P2P_ADDRESS_LEN: u32 = 64;

/// P2P event: nothing waiting.
pub const FRAMELOCK_P2P_EVENT_NONE: u32 = 0;
/// P2P event: a synchronization round trip with `peer` completed (`count` of `total`).
pub const FRAMELOCK_P2P_EVENT_SYNCHRONIZING: u32 = 1;
/// P2P event: `peer` is synchronized.
pub const FRAMELOCK_P2P_EVENT_SYNCHRONIZED: u32 = 2;
/// P2P event: every peer is synchronized; frame 0 is played (GGPO's RUNNING).
pub const FRAMELOCK_P2P_EVENT_RUNNING: u32 = 3;
/// P2P event: `peer` runs with another `setting` (`local` here, `remote` there); never synchronized.
pub const FRAMELOCK_P2P_EVENT_CONFIG_MISMATCH: u32 = 4;
/// P2P event: an authenticated packet from `peer`'s address carried another session (a restarted
/// peer); refused, reported once per peer.
pub const FRAMELOCK_P2P_EVENT_NEW_SESSION_REFUSED: u32 = 5;
/// P2P event: nothing heard from `peer` for disconnect_notify_ms; `disconnect_in_ms` left.
pub const FRAMELOCK_P2P_EVENT_NETWORK_INTERRUPTED: u32 = 6;
/// P2P event: `peer` was heard again after an interruption.
pub const FRAMELOCK_P2P_EVENT_NETWORK_RESUMED: u32 = 7;
/// P2P event: `peer` is being disconnected (its inputs are no longer taken).
pub const FRAMELOCK_P2P_EVENT_DISCONNECTING: u32 = 8;
/// P2P event: `slot` is disconnected from `frame` on, the same frame at every remaining peer.
pub const FRAMELOCK_P2P_EVENT_DISCONNECTED: u32 = 9;
/// P2P event: this endpoint runs ahead; waiting `count` frames evens it out (GGPO's TIMESYNC).
pub const FRAMELOCK_P2P_EVENT_WAIT_RECOMMENDATION: u32 = 10;
/// P2P event: `peer` has not acknowledged `count` frames of inputs, more than the send queue holds.
pub const FRAMELOCK_P2P_EVENT_PEER_TOO_FAR_BEHIND: u32 = 11;
/// P2P event: `slot`'s peer has another checksum (`remote`) of `frame` than this one (`local`).
pub const FRAMELOCK_P2P_EVENT_DESYNC: u32 = 12;

/// A peer-to-peer endpoint (opaque): its UDP socket, its peers, its rollback session and its game.
/// Create with framelock_p2p_new() or framelock_p2p_new_with_callbacks(), free with
/// framelock_p2p_free().
#[derive(Debug)]
pub struct framelock_p2p {
    /// Claimed by every call (see `lock.rs`): BUSY from a second thread, REENTRANT from a callback.
    guarded: Guarded<P2pState>,
}

#[derive(Debug)]
struct P2pState {
    udp: UdpDriver,
    ep: Ep,
    /// Local slots, ascending, and this tick's staged inputs (input_size bytes each, in that order).
    local: Vec<usize>,
    staged: Vec<u8>,
    staged_mask: u64,
    input_size: usize,
    period: Duration,
}

#[derive(Debug)]
enum Ep {
    Arena(P2pEndpoint<Arena>),
    Callbacks(P2pEndpoint<P2pCallbackSim>),
}

macro_rules! each {
    ($ep:expr, $e:ident => $body:expr) => {
        match $ep {
            Ep::Arena($e) => $body,
            Ep::Callbacks($e) => $body,
        }
    };
}

/// The bytes appended to every snapshot of a callback endpoint: the frame of the state, so the
/// load_state callback is told which frame it restores.
const FRAME_TAG: usize = 4;

/// The engine's callbacks as a [`Simulation`] (the endpoint drives the session itself).
#[derive(Debug)]
struct P2pCallbackSim {
    cb: Callbacks,
    inputs: Vec<framelock_input>,
    state_frame: u32,
}

impl Simulation for P2pCallbackSim {
    fn advance(&mut self, inputs: FrameInputs<'_>, _scratch: &framelock_core::Bump) -> Result<(), SimError> {
        self.inputs.clear();
        self.inputs.extend(inputs.iter().map(|p| c_input(p.slot, p.bytes, p.status)));
        let frame = inputs.frame();
        // SAFETY: the callbacks were checked non-NULL at creation and the caller promised they stay
        // callable with `user` for the handle's lifetime; the inputs are valid during the call.
        let rc = unsafe { (self.cb.advance)(self.cb.user, frame, self.inputs.as_ptr(), self.inputs.len()) };
        self.state_frame = frame.wrapping_add(1);
        if rc != 0 {
            return Err(SimError::new("the advance_frame callback returned nonzero"));
        }
        Ok(())
    }

    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        let writer: *mut SnapshotWriter<'_> = out;
        let mut snap = framelock_snapshot { writer: writer.cast(), frame: self.state_frame, reserved: FRAME_TAG };
        // SAFETY: as in advance; `snap` points to a writer that lives for the whole call.
        let rc = unsafe { (self.cb.save)(self.cb.user, self.state_frame, &mut snap) };
        if rc != 0 {
            return Err(SimError::new("the save_state callback returned nonzero"));
        }
        out.write_u32(self.state_frame)
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        let Some(split) = snapshot.len().checked_sub(FRAME_TAG) else {
            return Err(SimError::new("a snapshot without its frame tag"));
        };
        let (data, tag) = snapshot.split_at(split);
        let frame = u32::from_le_bytes([tag[0], tag[1], tag[2], tag[3]]);
        // SAFETY: as in advance; the bytes are valid during the call.
        let rc = unsafe { (self.cb.load)(self.cb.user, frame, data.as_ptr(), data.len()) };
        self.state_frame = frame;
        if rc != 0 {
            return Err(SimError::new("the load_state callback returned nonzero"));
        }
        Ok(())
    }
}

impl Ep {
    fn session(&self) -> &Session {
        each!(self, e => e.driver().session())
    }
    fn is_running(&self) -> bool {
        each!(self, e => e.is_running())
    }
    fn next_tick(&self) -> Option<Duration> {
        each!(self, e => e.next_tick())
    }
    fn run_once(&mut self, udp: &mut UdpDriver, wait: Duration) -> std::io::Result<()> {
        each!(self, e => udp.run_once(e, wait))
    }
    fn flush(&mut self, udp: &mut UdpDriver, now: Duration) {
        each!(self, e => udp.flush(e, now))
    }
    fn tick(&mut self, now: Duration, input: &[u8]) -> Result<Option<Outcome>, P2pError> {
        each!(self, e => e.tick(now, input))
    }
    fn poll_event(&mut self) -> Option<P2pEvent> {
        each!(self, e => e.poll_event())
    }
    fn peer_count(&self) -> usize {
        each!(self, e => e.peers().count())
    }
    fn peer(&self, index: usize, now: Duration) -> Option<(SocketAddr, framelock_net::p2p::PeerStats)> {
        each!(self, e => e.peers().nth(index).zip(e.peer_stats(index, now)).map(|(p, s)| (p.addr, s)))
    }
}

impl From<P2pError> for FfiError {
    fn from(e: P2pError) -> Self {
        match e {
            P2pError::Config { setting, reason } => FfiError::Core(Error::InvalidConfig { setting, reason }),
            P2pError::Session(e) => FfiError::Core(e),
        }
    }
}

/// How to create a peer-to-peer endpoint. Fill it with framelock_p2p_config_init(), then set the
/// key, the addresses and the slots. Every endpoint of a match must agree on players, input size,
/// tick rate, checksum interval and the simulation (a mismatch is a
/// FRAMELOCK_P2P_EVENT_CONFIG_MISMATCH naming the setting, never a silent desync).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_p2p_config {
    /// sizeof(framelock_p2p_config).
    pub struct_size: u32,
    /// The 32-byte session key every endpoint of the match shares (from the matchmaker, e.g. the
    /// file `framelock key` writes). All zero is refused.
    pub key: [u8; 32],
    /// Seeds the endpoint's session epoch and nonces. All zero (the default): drawn from the OS.
    pub rng_seed: [u8; 32],
    /// The UDP address to bind, "HOST:PORT" (NUL-terminated; NULL: "0.0.0.0:0"). The peers name it.
    pub listen: *const c_char,
    /// Player slots in the match, 1..=64 (default 2).
    pub players: u32,
    /// The slots played in this process, bit `s` for slot `s` (default 1: slot 0). 0 for a spectator.
    pub local_slots: u64,
    /// Every other slot: `peer_count` strings "SLOT=HOST:PORT" (slots of one address form one peer).
    pub peers: *const *const c_char,
    /// The number of strings in `peers`.
    pub peer_count: usize,
    /// Spectators hosted here: `spectator_count` strings "HOST:PORT".
    pub spectators: *const *const c_char,
    /// The number of strings in `spectators`.
    pub spectator_count: usize,
    /// Non-NULL: this endpoint is a spectator of the player at "HOST:PORT" (no local slots, peers
    /// or spectators).
    pub spectate: *const c_char,
    /// framelock_p2p_new_with_callbacks() only: the input size of a slot in bytes, 1..=64 (default
    /// 8); inputs shorter are padded with zeros. The arena's is FRAMELOCK_ARENA_INPUT_SIZE.
    pub input_size: u32,
    /// Frames per second, 1..=1000 (default 60).
    pub tick_rate: u32,
    /// Frames simulated past the last confirmed frame, 1..=64 (default 8); 0 plays lockstep.
    pub max_prediction: u32,
    /// Frames between a local input and the frame it is for, 0..=32 (default 2; GGPO's frame delay).
    pub input_delay: u32,
    /// Frames between two checksums exchanged, 1..=65535 (default 30).
    pub checksum_interval: u32,
    /// Silence from a peer before FRAMELOCK_P2P_EVENT_NETWORK_INTERRUPTED, in ms (default 750).
    pub disconnect_notify_ms: u32,
    /// Silence from a peer before it is disconnected, in ms, above disconnect_notify_ms (default 5000).
    pub disconnect_timeout_ms: u32,
    /// Stretch local frames by a tenth while ahead, instead of only recommending a wait (default false).
    pub auto_time_sync: bool,
    /// framelock_p2p_new_with_callbacks() only: identifies the game and its parameters; every
    /// endpoint must have the same (default 0). The arena's is derived from `arena`.
    pub simulation_id: u64,
    /// framelock_p2p_new_with_callbacks() only: the largest snapshot save_state writes (default 65536).
    pub max_snapshot_size: usize,
    /// framelock_p2p_new_with_callbacks() only: the input of a disconnected slot and of the first
    /// input_delay frames (`default_input_len` bytes, at most input_size; NULL: zeros).
    pub default_input: *const u8,
    /// The length of default_input.
    pub default_input_len: usize,
    /// framelock_p2p_new() only: the reference simulation's params (`arena.players` is ignored:
    /// the arena has `players` players).
    pub arena: framelock_arena_params,
    /// Link conditioner on this endpoint's sends (a test tool; all zero, the default, is off):
    /// one-way latency in milliseconds.
    pub latency_ms: u32,
    /// Link conditioner: the latency varies by up to this many milliseconds either way.
    pub jitter_ms: u32,
    /// Link conditioner: datagrams dropped, per mille (0..=1000).
    pub loss_per_mille: u32,
    /// Link conditioner: datagrams duplicated, per mille (0..=1000).
    pub duplicate_per_mille: u32,
    /// Link conditioner: datagrams held back by an extra jitter, per mille (0..=1000).
    pub reorder_per_mille: u32,
    /// Link conditioner: the seed of its decisions.
    pub conditioner_seed: u64,
}

/// Something the game should know, from framelock_p2p_poll_event(). Fields a kind does not use
/// are 0 (`peer`: -1, `setting`: NULL).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_p2p_event {
    /// FRAMELOCK_P2P_EVENT_NONE (nothing waiting) or another FRAMELOCK_P2P_EVENT_ kind.
    pub kind: u32,
    /// The peer concerned (its index for framelock_p2p_get_peer_stats()), or -1.
    pub peer: i32,
    /// DISCONNECTED, DESYNC: the slot.
    pub slot: u32,
    /// DISCONNECTED: the first frame without its input. DESYNC: the frame compared.
    pub frame: u32,
    /// SYNCHRONIZING: round trips done. WAIT_RECOMMENDATION: frames to wait.
    /// PEER_TOO_FAR_BEHIND: frames not acknowledged.
    pub count: u32,
    /// SYNCHRONIZING: round trips needed.
    pub total: u32,
    /// NETWORK_INTERRUPTED: milliseconds before the peer is disconnected.
    pub disconnect_in_ms: u32,
    /// CONFIG_MISMATCH: the setting ("protocol_version", "slots", "input_size", "tick_rate",
    /// "checksum_interval", "simulation_id" or "peer_slots"; a static string), else NULL.
    pub setting: *const c_char,
    /// CONFIG_MISMATCH: this endpoint's value. DESYNC: this endpoint's checksum.
    pub local: u64,
    /// CONFIG_MISMATCH: the peer's value. DESYNC: the peer's checksum.
    pub remote: u64,
}

impl Default for framelock_p2p_event {
    fn default() -> Self {
        framelock_p2p_event {
            kind: FRAMELOCK_P2P_EVENT_NONE,
            peer: -1,
            slot: 0,
            frame: 0,
            count: 0,
            total: 0,
            disconnect_in_ms: 0,
            setting: core::ptr::null(),
            local: 0,
            remote: 0,
        }
    }
}

/// Network statistics of one peer (GGPO's ggpo_get_network_stats, and more). Set struct_size
/// before calling framelock_p2p_get_peer_stats().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_p2p_peer_stats {
    /// sizeof(framelock_p2p_peer_stats).
    pub struct_size: u32,
    /// Its address, "HOST:PORT", NUL-terminated.
    pub address: [c_char; 64],
    /// Smoothed round-trip time in milliseconds (GGPO's ping).
    pub rtt_ms: u32,
    /// Kilobits per second sent to it since synchronization (GGPO's kbps_sent).
    pub kbps_sent: u32,
    /// Kilobits per second received from it.
    pub kbps_received: u32,
    /// Frames of local input it has not acknowledged (GGPO's send_queue_len).
    pub send_queue: u32,
    /// Frames this endpoint is ahead of it (negative: behind); GGPO's local_frames_behind negated.
    pub local_frame_advantage: i32,
    /// Frames it says it is ahead of this endpoint; GGPO's remote_frames_behind negated.
    pub remote_frame_advantage: i32,
    /// Datagrams sent to it.
    pub packets_sent: u64,
    /// Authenticated datagrams received from it.
    pub packets_received: u64,
    /// Its datagrams that never arrived.
    pub packets_lost: u64,
    /// Its datagrams that arrived twice (or were replayed).
    pub packets_duplicated: u64,
    /// Bytes sent to it.
    pub bytes_sent: u64,
    /// Bytes received from it.
    pub bytes_received: u64,
    /// It has this endpoint's inputs (a hosted spectator: the confirmed frames) below this frame.
    pub acknowledged: u32,
    /// It is disconnected or being disconnected.
    pub disconnected: bool,
}

/// What an endpoint counted. Set struct_size before calling framelock_p2p_get_stats().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_p2p_stats {
    /// sizeof(framelock_p2p_stats).
    pub struct_size: u32,
    /// Every peer is synchronized: frames are played.
    pub running: bool,
    /// Configured peers (remote players' addresses, then spectators or the spectated host).
    pub peers: u32,
    /// The frame the next tick simulates.
    pub current_frame: u32,
    /// The first frame whose inputs are not all confirmed.
    pub confirmed_until: u32,
    /// Every frame below this has its final checksum (framelock_p2p_checksum()).
    pub checksummed_until: u32,
    /// The longest rollback, in frames.
    pub max_rollback: u32,
    /// Frames automatic time sync stretched.
    pub frames_stretched: u32,
    /// Frames simulated for the first time.
    pub frames_advanced: u64,
    /// Frames simulated again after a rollback.
    pub frames_resimulated: u64,
    /// Rollbacks performed.
    pub rollbacks: u64,
    /// Ticks that could not advance (prediction window full).
    pub stalls: u64,
    /// Datagrams dropped: too short or long, not ours.
    pub dropped_malformed: u64,
    /// Datagrams dropped: from an address that is no peer.
    pub dropped_unknown_address: u64,
    /// Datagrams dropped: wrong handles, or another session epoch.
    pub dropped_wrong_session: u64,
    /// Datagrams dropped: duplicates or replays.
    pub dropped_replayed: u64,
    /// Datagrams dropped: the tag did not verify (wrong key, forged, corrupted).
    pub dropped_unauthenticated: u64,
    /// Datagrams dropped: authenticated but unexpected, undecodable, or another configuration.
    pub dropped_other: u64,
    /// Events dropped because nobody polled them.
    pub events_dropped: u64,
    /// Datagrams received on the socket.
    pub datagrams_in: u64,
    /// Datagrams sent on the socket.
    pub datagrams_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Datagrams not sent: the socket's buffer or the endpoint's transmit queue was full.
    pub send_dropped: u64,
    /// Datagrams the link conditioner dropped on purpose.
    pub conditioner_dropped: u64,
}

fn addr(s: &str, name: &'static str, v6: bool) -> Result<SocketAddr, FfiError> {
    let all = s.trim().to_socket_addrs().map_err(|_| FfiError::Invalid(name, "is not a HOST:PORT address"))?;
    let all: Vec<SocketAddr> = all.collect();
    all.iter().find(|a| a.is_ipv6() == v6).or(all.first()).copied().ok_or(FfiError::Invalid(name, "names no address"))
}

/// `count` C strings at `p`.
///
/// # Safety
/// `p` is NULL (with count 0) or points to `count` NULL or NUL-terminated strings.
unsafe fn strings<'a>(p: *const *const c_char, count: usize, name: &'static str) -> Result<Vec<&'a str>, FfiError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(FfiError::Null(name));
    }
    if count > FRAMELOCK_P2P_MAX_PEERS as usize {
        return Err(FfiError::Invalid(name, "names more than FRAMELOCK_P2P_MAX_PEERS addresses"));
    }
    (0..count)
        .map(|i| {
            // SAFETY: `count` readable pointers, as the caller promises; each NULL or a C string.
            unsafe { c_str(*p.add(i), name) }?.ok_or(FfiError::Null(name))
        })
        .collect()
}

fn per_mille(v: u32, name: &'static str) -> Result<u32, FfiError> {
    if v > 1000 {
        return Err(FfiError::Invalid(name, "must be 0..=1000 (per mille)"));
    }
    Ok(v)
}

/// A seed from the OS (the std hasher's keys are drawn from it), as `framelock p2p` does.
fn os_seed() -> [u8; 32] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// Checks a config and creates the endpoint.
///
/// # Safety
/// The config's pointers are NULL or valid as documented on framelock_p2p_config.
unsafe fn new_p2p(cfg: &framelock_p2p_config, cb: Option<Callbacks>) -> Result<framelock_p2p, FfiError> {
    check_size::<framelock_p2p_config>(cfg.struct_size, "framelock_p2p_config")?;
    if cfg.key == [0; 32] {
        return Err(FfiError::Invalid("config.key", "is all zero (use the match's 32-byte session key)"));
    }
    if !(1..=64).contains(&cfg.players) {
        return Err(FfiError::Invalid("config.players", "must be 1..=64"));
    }
    if !(1..=1000).contains(&cfg.tick_rate) {
        return Err(FfiError::Invalid("config.tick_rate", "must be 1..=1000"));
    }
    if !(1..=u32::from(u16::MAX)).contains(&cfg.checksum_interval) {
        return Err(FfiError::Invalid("config.checksum_interval", "must be 1..=65535"));
    }
    if cfg.max_prediction > 64 {
        return Err(FfiError::Invalid("config.max_prediction", "must be 0..=64"));
    }
    let (loss, dup, reorder) = (
        per_mille(cfg.loss_per_mille, "config.loss_per_mille")?,
        per_mille(cfg.duplicate_per_mille, "config.duplicate_per_mille")?,
        per_mille(cfg.reorder_per_mille, "config.reorder_per_mille")?,
    );
    // SAFETY: NULL or NUL-terminated, as documented.
    let listen = unsafe { c_str(cfg.listen, "config.listen") }?.unwrap_or("0.0.0.0:0");
    let listen = addr(listen, "config.listen", false)?;
    let v6 = listen.is_ipv6();
    // SAFETY: as documented on the fields.
    let peers = unsafe { strings(cfg.peers, cfg.peer_count, "config.peers") }?;
    // SAFETY: as above.
    let spectators = unsafe { strings(cfg.spectators, cfg.spectator_count, "config.spectators") }?;
    // SAFETY: as above.
    let spectate = unsafe { c_str(cfg.spectate, "config.spectate") }?;
    if peers.len() + spectators.len() > FRAMELOCK_P2P_MAX_PEERS as usize {
        return Err(FfiError::Invalid("config.peers", "with the spectators, more than FRAMELOCK_P2P_MAX_PEERS"));
    }
    let players = cfg.players as usize;
    let input_size = match cb {
        None => INPUT_SIZE,
        Some(_) => cfg.input_size as usize,
    };
    if !(1..=FRAMELOCK_P2P_MAX_INPUT_SIZE as usize).contains(&input_size) || players * (input_size + 1) > MAX_RECORD {
        return Err(FfiError::Invalid("config.input_size", "must be 1..=64, and players * (input_size + 1) <= 512"));
    }
    let mode = match cfg.max_prediction {
        0 => Mode::Lockstep,
        n => Mode::Rollback { max_prediction: n },
    };
    let seed = if cfg.rng_seed == [0; 32] { os_seed() } else { cfg.rng_seed };
    let mut b = P2pBuilder::new(players, input_size)
        .key(cfg.key)
        .rng_seed(seed)
        .tick_rate(cfg.tick_rate as u16)
        .checksum_interval(cfg.checksum_interval as u16)
        .mode(mode)
        .input_delay(cfg.input_delay)
        .auto_time_sync(cfg.auto_time_sync)
        .disconnect_notify(Duration::from_millis(u64::from(cfg.disconnect_notify_ms)))
        .disconnect_timeout(Duration::from_millis(u64::from(cfg.disconnect_timeout_ms)));
    for s in (0..64).filter(|s| cfg.local_slots >> s & 1 == 1) {
        b = b.local_slot(s);
    }
    for p in peers {
        let (slot, a) = p.split_once('=').ok_or(FfiError::Invalid("config.peers", "an entry is not SLOT=HOST:PORT"))?;
        let slot =
            slot.trim().parse::<usize>().map_err(|_| FfiError::Invalid("config.peers", "a SLOT is no number"))?;
        b = b.remote_slot(slot, addr(a, "config.peers", v6)?);
    }
    for s in spectators {
        b = b.spectator(addr(s, "config.spectators", v6)?);
    }
    if let Some(h) = spectate {
        b = b.spectate(addr(h, "config.spectate", v6)?);
    }
    let mut udp = UdpDriver::bind(listen).map_err(|err| FfiError::Io { what: "cannot bind config.listen", err })?;
    if cfg.latency_ms > 0 || cfg.jitter_ms > 0 || loss > 0 || dup > 0 || reorder > 0 {
        udp.condition(Conditioner {
            latency: Duration::from_millis(u64::from(cfg.latency_ms)),
            jitter: Duration::from_millis(u64::from(cfg.jitter_ms)),
            loss_per_mille: loss,
            duplicate_per_mille: dup,
            reorder_per_mille: reorder,
            seed: cfg.conditioner_seed,
        });
    }
    let now = udp.now();
    let ep = match cb {
        None => {
            let params = params_of(&framelock_arena_params { players: cfg.players, ..cfg.arena })?;
            let mut id = arena::SIMULATION_ID.as_bytes().to_vec();
            id.extend_from_slice(&arena::encode_params(&params));
            let sim =
                Arena::new(params).map_err(|e| Error::InvalidConfig { setting: "config.arena", reason: e.reason })?;
            let b = b
                .simulation_id(checksum64(&id))
                .default_input(&NEUTRAL_INPUT)
                .max_snapshot_size(snapshot_size_bound(&params))
                .frame_arena_size(scratch_size_bound(&params));
            Ep::Arena(b.build(now, sim)?)
        }
        Some(cb) => {
            // SAFETY: NULL (with len 0) or default_input_len readable bytes, as documented.
            let default = unsafe { bytes(cfg.default_input, cfg.default_input_len, "config.default_input") }?;
            let snapshot = cfg
                .max_snapshot_size
                .checked_add(FRAME_TAG)
                .ok_or(FfiError::Invalid("config.max_snapshot_size", "is too large"))?;
            let sim = P2pCallbackSim { cb, inputs: Vec::with_capacity(players), state_frame: 0 };
            let b = b.simulation_id(cfg.simulation_id).default_input(default).max_snapshot_size(snapshot);
            Ep::Callbacks(b.build(now, sim)?)
        }
    };
    let local: Vec<usize> = (0..64).filter(|s| cfg.local_slots >> s & 1 == 1).collect();
    let staged = vec![0; local.len() * input_size];
    let state =
        P2pState { udp, ep, local, staged, staged_mask: 0, input_size, period: Duration::from_secs(1) / cfg.tick_rate };
    Ok(framelock_p2p { guarded: Guarded::new(state) })
}

/// Claims an endpoint for one call (BUSY from another thread, REENTRANT from its own callback).
///
/// # Safety
/// `p` is NULL or a live endpoint handle.
unsafe fn lock<'a>(p: *const framelock_p2p) -> Result<Claim<'a, P2pState>, FfiError> {
    // SAFETY: as the caller promises; only the atomic owner flag is touched before the claim.
    let h = unsafe { handle(p, "p2p") }?;
    h.guarded.claim("p2p endpoint")
}

/// Fills `config` with the defaults (2 players, slot 0 local, no peers, 60 Hz, rollback with 8
/// frames of prediction, input delay 2, checksums every 30 frames, interrupted after 750 ms,
/// disconnected after 5000 ms, default arena params, no key, rng seed from the OS, no link
/// conditioner) and sets its struct_size.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_config_init(config: *mut framelock_p2p_config) -> framelock_status {
    guard(|| {
        let config = out(config, "config")?;
        let c = framelock_p2p_config {
            struct_size: core::mem::size_of::<framelock_p2p_config>() as u32,
            key: [0; 32],
            rng_seed: [0; 32],
            listen: core::ptr::null(),
            players: 2,
            local_slots: 1,
            peers: core::ptr::null(),
            peer_count: 0,
            spectators: core::ptr::null(),
            spectator_count: 0,
            spectate: core::ptr::null(),
            input_size: 8,
            tick_rate: 60,
            max_prediction: 8,
            input_delay: 2,
            checksum_interval: 30,
            disconnect_notify_ms: 750,
            disconnect_timeout_ms: 5000,
            auto_time_sync: false,
            simulation_id: 0,
            max_snapshot_size: 65536,
            default_input: core::ptr::null(),
            default_input_len: 0,
            arena: default_params(),
            latency_ms: 0,
            jitter_ms: 0,
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            reorder_per_mille: 0,
            conditioner_seed: 0,
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { config.write(c) };
        Ok(())
    })
}

/// Creates an endpoint playing the reference simulation (GGPO's ggpo_start_session plus one
/// ggpo_add_player per player): checks the config, binds config.listen and starts synchronizing
/// with every peer (the round trips run in framelock_p2p_poll()). Everything it needs is allocated
/// here. Free it with framelock_p2p_free().
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT (config, out_p2p, an address string);
/// FRAMELOCK_ERR_STRUCT_SIZE (config or config.arena); FRAMELOCK_ERR_INVALID_ARGUMENT (a value out
/// of range, an address that does not parse); FRAMELOCK_ERR_INVALID_CONFIG (slots that are not
/// each local or remote exactly once, and the other settings the endpoint checks; the message
/// names it); FRAMELOCK_ERR_IO (the socket).
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_new(
    config: *const framelock_p2p_config,
    out_p2p: *mut *mut framelock_p2p,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable config struct.
        let cfg = unsafe { handle(config, "config") }?;
        let out_p2p = out(out_p2p, "out_p2p")?;
        // SAFETY: the config's pointers are as documented.
        let p = Box::new(unsafe { new_p2p(cfg, None) }?);
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_p2p.write(Box::into_raw(p)) };
        Ok(())
    })
}

/// Creates an endpoint whose game is the engine's own state, through three GGPO-style callbacks
/// (save_state, load_state, advance_frame, as framelock_session_advance_with() takes them); the
/// same as framelock_p2p_new() otherwise. config.input_size, config.max_snapshot_size,
/// config.simulation_id and config.default_input apply; config.arena does not. The callbacks run,
/// with `callbacks->user`, inside framelock_p2p_tick(): keep `user` valid until framelock_p2p_free().
/// They are told the frame concerned, also on a load.
///
/// Returns as framelock_p2p_new(), and FRAMELOCK_ERR_NULL_ARGUMENT (callbacks, or one of them, is
/// NULL); FRAMELOCK_ERR_STRUCT_SIZE (callbacks).
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_new_with_callbacks(
    config: *const framelock_p2p_config,
    callbacks: *const framelock_callbacks,
    out_p2p: *mut *mut framelock_p2p,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable config struct.
        let cfg = unsafe { handle(config, "config") }?;
        // SAFETY: NULL or a readable callbacks struct.
        let cb = unsafe { Callbacks::read(callbacks) }?;
        let out_p2p = out(out_p2p, "out_p2p")?;
        // SAFETY: the config's pointers are as documented.
        let p = Box::new(unsafe { new_p2p(cfg, Some(cb)) }?);
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_p2p.write(Box::into_raw(p)) };
        Ok(())
    })
}

/// Frees an endpoint and closes its socket (GGPO's ggpo_close_session). Accepts NULL. Called from
/// inside one of its callbacks, or while another thread is in a call on it, it does nothing.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_free(p2p: *mut framelock_p2p) {
    guard_void(|| {
        // SAFETY: NULL or a handle from framelock_p2p_new(), not freed yet.
        let Some(h) = (unsafe { p2p.as_ref() }) else { return };
        if h.guarded.claim("p2p endpoint").is_err() {
            return;
        }
        // SAFETY: non-NULL, from framelock_p2p_new(), freed once, no call running on it.
        drop(unsafe { Box::from_raw(p2p) }.guarded.into_inner());
    })
}

/// One network iteration (GGPO's ggpo_idle): waits up to `max_wait_ms` milliseconds (less when a
/// timer or the next tick is due sooner; 0 does not block) for datagrams, takes every datagram
/// that arrived, runs the timers (synchronization, keep-alives, interruptions, disconnects) and
/// sends what is due.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT;
/// FRAMELOCK_ERR_IO (the socket failed).
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_poll(p2p: *mut framelock_p2p, max_wait_ms: u32) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let mut c = unsafe { lock(p2p) }?;
        let c = &mut *c;
        let mut wait = Duration::from_millis(u64::from(max_wait_ms));
        if let Some(t) = c.ep.next_tick() {
            wait = wait.min(t.saturating_sub(c.udp.now()));
        }
        c.ep.run_once(&mut c.udp, wait).map_err(|err| FfiError::Io { what: "socket", err })?;
        Ok(())
    })
}

/// Writes how many ticks are due now to `*out_count`: 0 until every peer is synchronized, then the
/// frames whose time came at the tick rate (stretched by automatic time sync), at most
/// FRAMELOCK_P2P_MAX_TICKS_DUE. Call framelock_p2p_tick() that many times (each with this
/// frame's inputs).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_ticks_due(p2p: *mut framelock_p2p, out_count: *mut u32) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_count = out(out_count, "out_count")?;
        let now = c.udp.now();
        let n = match c.ep.next_tick() {
            _ if !c.ep.is_running() => 0,
            None => 1,
            Some(t) if t > now => 0,
            Some(t) => {
                let behind = (now - t).as_nanos() / c.period.as_nanos().max(1);
                (behind + 1).min(u128::from(FRAMELOCK_P2P_MAX_TICKS_DUE)) as u32
            }
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_count.write(n) };
        Ok(())
    })
}

/// Stages this tick's input of local slot `slot` (GGPO's ggpo_add_local_input): `len` bytes, at
/// most the input size (FRAMELOCK_ARENA_INPUT_SIZE for the arena), padded with zeros. A second
/// call for the same slot before framelock_p2p_tick() replaces it.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT (p2p, or input with a nonzero len);
/// FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT; FRAMELOCK_ERR_INPUT_TOO_LONG;
/// FRAMELOCK_ERR_WRONG_SLOT_KIND (not a local slot).
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_add_local_input(
    p2p: *mut framelock_p2p,
    slot: u32,
    input: *const u8,
    len: usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let mut c = unsafe { lock(p2p) }?;
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let input = unsafe { bytes(input, len, "input") }?;
        let slot = slot as usize;
        let Some(k) = c.local.iter().position(|&s| s == slot) else {
            return Err(Error::WrongSlotKind { slot, is: "not local here" }.into());
        };
        let n = c.input_size;
        if input.len() > n {
            return Err(Error::InputTooLong { slot, len: input.len(), max: n }.into());
        }
        let dst = &mut c.staged[k * n..(k + 1) * n];
        dst.fill(0);
        dst[..input.len()].copy_from_slice(input);
        c.staged_mask |= 1 << slot;
        Ok(())
    })
}

/// One frame (GGPO's ggpo_advance_frame, with ggpo_synchronize_input folded in): takes the staged
/// inputs of every local slot, advances the session (rolling back and resimulating when remote
/// inputs differ from the predictions; the callbacks run here) and sends the update to every
/// peer. Writes the outcome to `*out_outcome` (may be NULL): before every peer is synchronized
/// nothing is simulated and `advanced` is false; a full prediction window stalls (`waiting_for`).
/// The staged inputs are used up either way. Allocates nothing without a link conditioner.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT;
/// FRAMELOCK_ERR_MISSING_LOCAL_INPUT (a local slot has no staged input; nothing was done);
/// FRAMELOCK_ERR_SIMULATION (a callback returned nonzero); FRAMELOCK_ERR_FRAME_OVERFLOW.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_tick(
    p2p: *mut framelock_p2p,
    out_outcome: *mut framelock_outcome,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let mut c = unsafe { lock(p2p) }?;
        let c = &mut *c;
        if c.ep.is_running() {
            if let Some(&slot) = c.local.iter().find(|&&s| c.staged_mask >> s & 1 == 0) {
                let frame = c.ep.session().current_frame();
                return Err(Error::MissingLocalInput { slot, frame }.into());
            }
        }
        c.staged_mask = 0;
        let now = c.udp.now();
        let o = c.ep.tick(now, &c.staged)?;
        c.ep.flush(&mut c.udp, now);
        let session = c.ep.session();
        let v = match o {
            Some(o) => outcome(session, o),
            None => framelock_outcome { advanced: false, frame: session.current_frame(), waiting_for: 0 },
        };
        if !out_outcome.is_null() {
            // SAFETY: non-NULL, writable out-parameter.
            unsafe { out_outcome.write(v) };
        }
        Ok(())
    })
}

/// Disconnects peer `index` (GGPO's ggpo_disconnect_player), as if it had timed out here: its
/// inputs are no longer taken, nothing more is sent to it, and its slots are disconnected at the
/// frame the remaining players agree on (FRAMELOCK_P2P_EVENT_DISCONNECTING, then
/// FRAMELOCK_P2P_EVENT_DISCONNECTED per slot). The peer itself sees silence and times this
/// endpoint out after its disconnect_timeout_ms. Disconnecting a disconnected peer does nothing.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (no such
/// peer); FRAMELOCK_ERR_WRONG_STATE (not running yet); FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_disconnect_peer(p2p: *mut framelock_p2p, index: u32) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let mut c = unsafe { lock(p2p) }?;
        let len = c.ep.peer_count();
        if index as usize >= len {
            return Err(FfiError::IndexOutOfRange { what: "peer", index: index as usize, len });
        }
        if !each!(&mut c.ep, e => e.disconnect_peer(index as usize)) {
            return Err(FfiError::WrongState("the endpoint is not running yet (every peer synchronized)"));
        }
        let now = c.udp.now();
        let c = &mut *c;
        c.ep.flush(&mut c.udp, now);
        Ok(())
    })
}

fn setting_name(s: &str) -> *const c_char {
    let n: &'static core::ffi::CStr = match s {
        "protocol_version" => c"protocol_version",
        "slots" => c"slots",
        "input_size" => c"input_size",
        "tick_rate" => c"tick_rate",
        "checksum_interval" => c"checksum_interval",
        "simulation_id" => c"simulation_id",
        "peer_slots" => c"peer_slots",
        _ => c"other",
    };
    n.as_ptr()
}

fn c_event(e: Option<P2pEvent>) -> framelock_p2p_event {
    let d = framelock_p2p_event::default();
    let peer = |p: framelock_net::p2p::PeerId| p.index as i32;
    match e {
        None => d,
        Some(P2pEvent::Synchronizing { peer: p, done, total }) => framelock_p2p_event {
            kind: FRAMELOCK_P2P_EVENT_SYNCHRONIZING,
            peer: peer(p),
            count: u32::from(done),
            total: u32::from(total),
            ..d
        },
        Some(P2pEvent::Synchronized { peer: p }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_SYNCHRONIZED, peer: peer(p), ..d }
        }
        Some(P2pEvent::Running) => framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_RUNNING, ..d },
        Some(P2pEvent::ConfigMismatch { peer: p, setting, local, remote }) => framelock_p2p_event {
            kind: FRAMELOCK_P2P_EVENT_CONFIG_MISMATCH,
            peer: peer(p),
            setting: setting_name(setting),
            local,
            remote,
            ..d
        },
        Some(P2pEvent::NewSessionRefused { peer: p }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_NEW_SESSION_REFUSED, peer: peer(p), ..d }
        }
        Some(P2pEvent::NetworkInterrupted { peer: p, disconnect_in }) => framelock_p2p_event {
            kind: FRAMELOCK_P2P_EVENT_NETWORK_INTERRUPTED,
            peer: peer(p),
            disconnect_in_ms: disconnect_in.as_millis().min(u128::from(u32::MAX)) as u32,
            ..d
        },
        Some(P2pEvent::NetworkResumed { peer: p }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_NETWORK_RESUMED, peer: peer(p), ..d }
        }
        Some(P2pEvent::Disconnecting { peer: p }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_DISCONNECTING, peer: peer(p), ..d }
        }
        Some(P2pEvent::Disconnected { slot, frame }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_DISCONNECTED, slot: slot as u32, frame, ..d }
        }
        Some(P2pEvent::WaitRecommendation { frames }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_WAIT_RECOMMENDATION, count: frames, ..d }
        }
        Some(P2pEvent::PeerTooFarBehind { peer: p, queued }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_PEER_TOO_FAR_BEHIND, peer: peer(p), count: queued, ..d }
        }
        Some(P2pEvent::Desync { frame, slot, local, remote }) => {
            framelock_p2p_event { kind: FRAMELOCK_P2P_EVENT_DESYNC, slot: slot as u32, frame, local, remote, ..d }
        }
    }
}

/// Takes the oldest waiting event into `*out_event` (kind FRAMELOCK_P2P_EVENT_NONE when none is
/// waiting; the endpoint keeps the latest 256). GGPO's on_event callback, polled.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_poll_event(
    p2p: *mut framelock_p2p,
    out_event: *mut framelock_p2p_event,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let mut c = unsafe { lock(p2p) }?;
        let out_event = out(out_event, "out_event")?;
        let v = c_event(c.ep.poll_event());
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_event.write(v) };
        Ok(())
    })
}

/// Writes the number of configured peers (remote players' addresses in the order first named, then
/// hosted spectators, or the spectated host) to `*out_count`: the indices of
/// framelock_p2p_get_peer_stats() and of framelock_p2p_event.peer.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_peer_count(p2p: *const framelock_p2p, out_count: *mut u32) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_count = out(out_count, "out_count")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_count.write(c.ep.peer_count() as u32) };
        Ok(())
    })
}

/// Writes the network statistics of peer `index` to `*out_stats`, whose struct_size the caller sets
/// first (GGPO's ggpo_get_network_stats).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_INVALID_ARGUMENT (no such peer); FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_get_peer_stats(
    p2p: *const framelock_p2p,
    index: u32,
    out_stats: *mut framelock_p2p_peer_stats,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_stats = out(out_stats, "out_stats")?;
        // SAFETY: non-NULL; the caller set struct_size (one u32 at the start of the struct).
        let size = unsafe { out_stats.cast::<u32>().read() };
        check_size::<framelock_p2p_peer_stats>(size, "framelock_p2p_peer_stats")?;
        let len = c.ep.peer_count();
        let (a, s) = c.ep.peer(index as usize, c.udp.now()).ok_or(FfiError::IndexOutOfRange {
            what: "peer",
            index: index as usize,
            len,
        })?;
        let address = address_text(a);
        let v = framelock_p2p_peer_stats {
            struct_size: size,
            address,
            rtt_ms: s.rtt_ms,
            kbps_sent: s.kbps_sent,
            kbps_received: s.kbps_received,
            send_queue: s.send_queue,
            local_frame_advantage: s.local_frame_advantage,
            remote_frame_advantage: s.remote_frame_advantage,
            packets_sent: s.packets_sent,
            packets_received: s.packets_received,
            packets_lost: s.packets_lost,
            packets_duplicated: s.packets_duplicated,
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            acknowledged: s.acknowledged,
            disconnected: s.disconnected,
        };
        // SAFETY: non-NULL, writable out-parameter of the checked size.
        unsafe { out_stats.write(v) };
        Ok(())
    })
}

/// `a` as a NUL-terminated "HOST:PORT", without allocating (stats are read every frame).
fn address_text(a: SocketAddr) -> [c_char; 64] {
    struct Fixed {
        buf: [c_char; 64],
        len: usize,
    }
    impl core::fmt::Write for Fixed {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            for b in s.bytes() {
                // The longest address ("[v6%scope]:port") fits; anything longer is cut, NUL kept.
                if self.len < self.buf.len() - 1 {
                    self.buf[self.len] = b as c_char;
                    self.len += 1;
                }
            }
            Ok(())
        }
    }
    let mut w = Fixed { buf: [0; 64], len: 0 };
    let _ = core::fmt::write(&mut w, format_args!("{a}"));
    w.buf
}

/// Writes the endpoint's counters to `*out_stats`, whose struct_size the caller sets first.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_get_stats(
    p2p: *const framelock_p2p,
    out_stats: *mut framelock_p2p_stats,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_stats = out(out_stats, "out_stats")?;
        // SAFETY: non-NULL; the caller set struct_size.
        let size = unsafe { out_stats.cast::<u32>().read() };
        check_size::<framelock_p2p_stats>(size, "framelock_p2p_stats")?;
        let session = c.ep.session();
        let ss = session.stats();
        let io = c.udp.stats();
        let (d, (tx_dropped, events_dropped), stretched) =
            each!(&c.ep, e => (e.drops(), e.queue_drops(), e.frames_stretched()));
        let v = framelock_p2p_stats {
            struct_size: size,
            running: c.ep.is_running(),
            peers: c.ep.peer_count() as u32,
            current_frame: session.current_frame(),
            confirmed_until: session.confirmed_until(),
            checksummed_until: session.checksummed_until(),
            max_rollback: ss.max_rollback,
            frames_stretched: stretched,
            frames_advanced: ss.frames_advanced,
            frames_resimulated: ss.frames_resimulated,
            rollbacks: ss.rollbacks,
            stalls: ss.stalls,
            dropped_malformed: d.malformed,
            dropped_unknown_address: d.unknown_address,
            dropped_wrong_session: d.wrong_handle + d.wrong_epoch,
            dropped_replayed: d.replayed,
            dropped_unauthenticated: d.unauthenticated,
            dropped_other: d.bad_body + d.config_mismatch + d.unexpected,
            events_dropped,
            datagrams_in: io.datagrams_in,
            datagrams_out: io.datagrams_out,
            bytes_in: io.bytes_in,
            bytes_out: io.bytes_out,
            send_dropped: io.send_dropped + tx_dropped,
            conditioner_dropped: io.conditioner_dropped,
        };
        // SAFETY: non-NULL, writable out-parameter of the checked size.
        unsafe { out_stats.write(v) };
        Ok(())
    })
}

/// Writes the final checksum of the state at the start of `frame` (below
/// framelock_p2p_stats.checksummed_until) to `*out_checksum`: every endpoint of the match computes
/// the same one.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT;
/// FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE (not final yet, or too old).
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_checksum(
    p2p: *const framelock_p2p,
    frame: u32,
    out_checksum: *mut u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_checksum = out(out_checksum, "out_checksum")?;
        let v = c.ep.session().checksum(frame).ok_or(Error::ChecksumUnavailable { frame, slot: 0 })?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_checksum.write(v) };
        Ok(())
    })
}

/// Writes the UDP port the endpoint's socket is bound to (useful with a listen port of 0) to
/// `*out_port`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT;
/// FRAMELOCK_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_local_port(p2p: *const framelock_p2p, out_port: *mut u16) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_port = out(out_port, "out_port")?;
        let a = c.udp.local_addr().map_err(|err| FfiError::Io { what: "socket address", err })?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_port.write(a.port()) };
        Ok(())
    })
}

/// Writes player `slot` of the endpoint's arena (the predicted current state, for drawing) to
/// `*out_player`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (no such
/// player); FRAMELOCK_ERR_WRONG_STATE (an endpoint made with framelock_p2p_new_with_callbacks());
/// FRAMELOCK_ERR_BUSY; FRAMELOCK_ERR_REENTRANT.
#[no_mangle]
pub unsafe extern "C" fn framelock_p2p_arena_get_player(
    p2p: *const framelock_p2p,
    slot: u32,
    out_player: *mut framelock_arena_player,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let c = unsafe { lock(p2p) }?;
        let out_player = out(out_player, "out_player")?;
        let Ep::Arena(a) = &c.ep else {
            return Err(FfiError::WrongState("this endpoint runs the engine's callbacks, not the arena"));
        };
        let v = player_of(a.driver().sim(), slot)?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_player.write(v) };
        Ok(())
    })
}
