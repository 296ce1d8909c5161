//! The framelock side: lockstep, rollback, sync test, 64 KiB save+load and the reference simulation.

use std::hint::black_box;

use framelock_core::arena::{scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::testing::HashSim;
use framelock_core::{Driver, FrameInputs, Mode, SessionBuilder, SimError, Simulation, SnapshotReader, SnapshotWriter};
use framelock_hash::CopyHasher;

use super::Case;

/// Bytes per input on both sides of the comparison (a `u32`).
pub const INPUT_BYTES: usize = 4;
/// How far behind the remote input arrives in the rollback case, in frames.
pub const LAG: u32 = 8;
/// `max_prediction` of the rollback sessions (and GGRS's prediction window).
pub const MAX_PREDICTION: u32 = 10;
/// The sync-test cases, on both sides: (players, check distance).
pub const SYNC_TESTS: [(usize, u32); 3] = [(2, 7), (8, 7), (2, 1)];
/// The state size of the save+load case.
pub const BIG_STATE: usize = 64 * 1024;

/// Slot 0's (or GGRS peer A's) input for `frame`: changes every frame.
pub fn local_input(frame: u32) -> u32 {
    frame.wrapping_mul(0x9E37_79B9) ^ 0x5555_5555
}

/// Slot 1's (or GGRS peer B's) input for `frame`: changes every frame, so repeating the last
/// confirmed input always mispredicts.
pub fn remote_input(frame: u32) -> u32 {
    frame.wrapping_add(1)
}

/// Slot `slot`'s input for `frame` in the sync-test cases (slots 0 and 1 as above; the others
/// different from both and from each other).
pub fn slot_input(slot: usize, frame: u32) -> u32 {
    match slot {
        0 => local_input(frame),
        1 => remote_input(frame),
        s => local_input(frame).rotate_left(s as u32) ^ s as u32,
    }
}

fn frames_of<S: Simulation>(d: &Driver<S>) -> (u64, u64) {
    let s = d.session().stats();
    (s.frames_advanced, s.frames_resimulated)
}

fn detail_of<S: Simulation>(d: &Driver<S>) -> String {
    let s = d.session().stats();
    format!(
        "session totals: frames {}, resimulated {}, rollbacks {}, max rollback {}, stalls {}, desyncs {}",
        s.frames_advanced, s.frames_resimulated, s.rollbacks, s.max_rollback, s.stalls, s.desyncs
    )
}

/// Lockstep, trivial state (`HashSim` with no padding, 12-byte snapshot saved and checksummed every
/// frame): slot 0 local, slot 1 remote, the remote input added for the current frame each tick.
#[derive(Debug)]
pub struct Lockstep {
    driver: Driver<HashSim>,
}

impl Lockstep {
    pub fn new() -> Self {
        let sim = HashSim::new(0);
        let session = SessionBuilder::new(2)
            .local_slot(0)
            .max_input_size(INPUT_BYTES)
            .max_snapshot_size(sim.snapshot_size())
            .mode(Mode::Lockstep)
            .build()
            .expect("valid lockstep config");
        Lockstep { driver: Driver::new(session, sim) }
    }
}

impl Case for Lockstep {
    fn tick(&mut self) {
        let s = self.driver.session_mut();
        let f = s.current_frame();
        s.add_local_input(0, &local_input(f).to_le_bytes()).expect("local input");
        s.add_remote_input(1, f, &remote_input(f).to_le_bytes()).expect("remote input");
        let outcome = self.driver.advance().expect("advance");
        debug_assert!(!outcome.stalled());
    }
    fn frames(&self) -> u64 {
        frames_of(&self.driver).0
    }
    fn resimulated(&self) -> u64 {
        frames_of(&self.driver).1
    }
    fn detail(&self) -> String {
        detail_of(&self.driver)
    }
}

/// Rollback with a `lag`-frame rollback every frame: slot 0 local, slot 1 remote; each tick adds the
/// local input and the remote input for `current_frame - lag`, which differs from the one before it,
/// so the repeat-last prediction is always wrong and every advance loads `lag` frames back.
#[derive(Debug)]
pub struct Rollback<S> {
    driver: Driver<S>,
    lag: u32,
}

impl Rollback<HashSim> {
    /// The trivial state with an 8-frame rollback every frame.
    pub fn trivial() -> Self {
        Rollback::with_sim(HashSim::new(0), 12, LAG, MAX_PREDICTION)
    }
}

impl<S: Simulation> Rollback<S> {
    pub fn with_sim(sim: S, snapshot_size: usize, lag: u32, max_prediction: u32) -> Self {
        let session = SessionBuilder::new(2)
            .local_slot(0)
            .max_input_size(INPUT_BYTES)
            .max_snapshot_size(snapshot_size)
            .mode(Mode::Rollback { max_prediction })
            .build()
            .expect("valid rollback config");
        Rollback { driver: Driver::new(session, sim), lag }
    }
}

impl<S: Simulation> Case for Rollback<S> {
    fn tick(&mut self) {
        let s = self.driver.session_mut();
        let f = s.current_frame();
        s.add_local_input(0, &local_input(f).to_le_bytes()).expect("local input");
        if f >= self.lag {
            let r = f - self.lag;
            s.add_remote_input(1, r, &remote_input(r).to_le_bytes()).expect("remote input");
        }
        let outcome = self.driver.advance().expect("advance");
        debug_assert!(!outcome.stalled());
    }
    fn frames(&self) -> u64 {
        frames_of(&self.driver).0
    }
    fn resimulated(&self) -> u64 {
        frames_of(&self.driver).1
    }
    fn detail(&self) -> String {
        detail_of(&self.driver)
    }
}

/// Sync test, trivial state, every slot local.
#[derive(Debug)]
pub struct SyncTest {
    driver: Driver<HashSim>,
    players: usize,
}

impl SyncTest {
    pub fn new(players: usize, check_distance: u32) -> Self {
        let sim = HashSim::new(0);
        let session = SessionBuilder::new(players)
            .local_slots(if players >= 64 { u64::MAX } else { (1u64 << players) - 1 })
            .max_input_size(INPUT_BYTES)
            .max_snapshot_size(sim.snapshot_size())
            .mode(Mode::SyncTest { check_distance })
            .build()
            .expect("valid sync-test config");
        SyncTest { driver: Driver::new(session, sim), players }
    }
}

impl Case for SyncTest {
    #[inline(never)] // a symbol of its own for callgrind and perf
    fn tick(&mut self) {
        let s = self.driver.session_mut();
        let f = s.current_frame();
        for slot in 0..self.players {
            s.add_local_input(slot, &slot_input(slot, f).to_le_bytes()).expect("local input");
        }
        let outcome = self.driver.advance().expect("advance");
        debug_assert!(!outcome.stalled());
    }
    fn frames(&self) -> u64 {
        frames_of(&self.driver).0
    }
    fn resimulated(&self) -> u64 {
        frames_of(&self.driver).1
    }
    fn detail(&self) -> String {
        detail_of(&self.driver)
    }
}

/// A 64 KiB state that supplies its own checksum (a running value kept in its first 12 bytes), so a
/// save is one 64 KiB copy into the session's buffer and a load one copy back, with no hashing.
#[derive(Debug)]
pub struct Blob {
    /// The state is `buf[at..]`, on a 64-byte boundary like the session's snapshot buffers (and
    /// `HashSim`'s and `Memcpy`'s states): where `vec!` puts 64 KiB depends on the allocator's
    /// state, and a copy between addresses 16 bytes apart modulo 64 runs about a sixth slower (the
    /// misaligned memcpy row), which moved this row by 10 % between builds of the same code.
    buf: Vec<u8>,
    at: usize,
}

impl Blob {
    pub fn new(size: usize) -> Self {
        let (buf, at) = aligned(size.max(12), 0);
        Blob { buf, at }
    }
}

impl Simulation for Blob {
    fn advance(&mut self, inputs: FrameInputs<'_>, _scratch: &framelock_core::Bump) -> Result<(), SimError> {
        let frame = inputs.frame();
        let bytes = &mut self.buf[self.at..];
        let mut sum = u64::from_le_bytes(bytes[4..12].try_into().expect("8 bytes"));
        for p in inputs.iter() {
            for &b in p.bytes {
                sum = sum.rotate_left(5) ^ u64::from(b);
            }
        }
        bytes[..4].copy_from_slice(&(frame + 1).to_le_bytes());
        bytes[4..12].copy_from_slice(&sum.to_le_bytes());
        let i = 12 + frame as usize % (bytes.len() - 12).max(1);
        if let Some(b) = bytes.get_mut(i) {
            *b = b.wrapping_add(sum as u8);
        }
        Ok(())
    }

    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        let bytes = &self.buf[self.at..];
        // Before the bytes, so the session does not hash them as it copies them in.
        out.set_checksum(u64::from_le_bytes(bytes[4..12].try_into().expect("8 bytes")));
        out.write(bytes)
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        let mut r = SnapshotReader::new(snapshot);
        let bytes = &mut self.buf[self.at..];
        let len = bytes.len();
        bytes.copy_from_slice(r.read(len)?);
        Ok(())
    }
}

/// Save + load of a 64 KiB state through a session: a rollback session whose remote input arrives
/// one frame late and always differs, so each step is load(f-1), advance(f-1), save(f), advance(f):
/// one 64 KiB load and one 64 KiB save per frame.
pub fn save_load_hashsim() -> Rollback<HashSim> {
    let sim = HashSim::new(BIG_STATE - 12);
    let size = sim.snapshot_size();
    Rollback::with_sim(sim, size, 1, 2)
}

/// The same with [`Blob`], which supplies its own checksum (no hash of the 64 KiB).
pub fn save_load_blob() -> Rollback<Blob> {
    Rollback::with_sim(Blob::new(BIG_STATE), BIG_STATE, 1, 2)
}

/// The baseline: copy a 64 KiB state out and back in with `copy_from_slice`, nothing else. Both
/// buffers start on a 64-byte boundary, as the session's snapshot buffers and `HashSim`'s state do
/// (so neither side gets a copy between differently aligned addresses, which runs up to a fifth
/// slower): the memcpy at its best.
#[derive(Debug)]
pub struct Memcpy {
    /// The buffers and where their 64 KiB start.
    state: (Vec<u8>, usize),
    saved: (Vec<u8>, usize),
    frames: u64,
}

/// `len` bytes of `fill` starting on a 64-byte boundary: the buffer's tail from `offset`.
fn aligned(len: usize, fill: u8) -> (Vec<u8>, usize) {
    let mut v = vec![fill; len + 63];
    let offset = v.as_ptr().align_offset(64).min(63);
    v.truncate(offset + len);
    (v, offset)
}

impl Memcpy {
    pub fn new() -> Self {
        Memcpy { state: aligned(BIG_STATE, 1), saved: aligned(BIG_STATE, 0), frames: 0 }
    }

    /// The same copies with the saved copy 16 bytes past a 64-byte boundary (where the allocator
    /// put consecutive 64 KiB buffers before the session aligned its snapshots): what alignment
    /// is worth.
    pub fn misaligned() -> Self {
        let (saved, at) = aligned(BIG_STATE + 16, 0);
        Memcpy { state: aligned(BIG_STATE, 1), saved: (saved, at + 16), frames: 0 }
    }
}

impl Case for Memcpy {
    fn tick(&mut self) {
        let ((state, a), (saved, b)) = (&mut self.state, &mut self.saved);
        saved[*b..].copy_from_slice(black_box(&state[*a..]));
        black_box(&mut *saved);
        state[*a..].copy_from_slice(black_box(&saved[*b..]));
        black_box(&mut *state);
        self.frames += 1;
    }
    fn frames(&self) -> u64 {
        self.frames
    }
    fn resimulated(&self) -> u64 {
        0
    }
}

/// The floor of a save + load whose saved bytes are hashed, done the way the session does it for a
/// final frame: copy the 64 KiB in while hashing it (`framelock-hash`), finish the hash, copy back.
#[derive(Debug)]
pub struct FusedCopyHash {
    state: (Vec<u8>, usize),
    saved: (Vec<u8>, usize),
    hasher: CopyHasher,
    frames: u64,
}

impl FusedCopyHash {
    pub fn new() -> Self {
        let state = aligned(BIG_STATE, 1);
        let mut saved = aligned(BIG_STATE, 0);
        saved.0.truncate(saved.1);
        FusedCopyHash { state, saved, hasher: CopyHasher::new(), frames: 0 }
    }
}

impl Case for FusedCopyHash {
    fn tick(&mut self) {
        let ((state, a), (saved, b)) = (&mut self.state, &mut self.saved);
        saved.truncate(*b);
        self.hasher.reset();
        self.hasher.extend(saved, *b, black_box(&state[*a..]));
        black_box(self.hasher.finish(&saved[*b..]));
        state[*a..].copy_from_slice(black_box(&saved[*b..]));
        black_box(&mut *state);
        self.frames += 1;
    }
    fn frames(&self) -> u64 {
        self.frames
    }
    fn resimulated(&self) -> u64 {
        0
    }
}

/// The reference simulation in lockstep, peer to peer, every slot local, fed `scripted_input`.
pub struct ArenaLockstep {
    driver: Driver<Arena>,
    players: usize,
    seed: u64,
}

impl ArenaLockstep {
    pub fn new(players: u8) -> Self {
        let params = ArenaParams { players, ..ArenaParams::default() };
        let n = usize::from(players);
        let mask = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
        let session = SessionBuilder::new(n)
            .local_slots(mask)
            .max_input_size(INPUT_SIZE)
            .max_snapshot_size(snapshot_size_bound(&params))
            .frame_arena_size(scratch_size_bound(&params))
            .mode(Mode::Lockstep)
            .build()
            .expect("valid arena session config");
        let seed = params.seed;
        let arena = Arena::new(params).expect("valid arena params");
        ArenaLockstep { driver: Driver::new(session, arena), players: n, seed }
    }
}

impl Case for ArenaLockstep {
    fn tick(&mut self) {
        let s = self.driver.session_mut();
        let f = s.current_frame();
        for slot in 0..self.players {
            let input = scripted_input(self.seed, slot, f);
            s.add_local_input(slot, &input[..]).expect("local input");
        }
        let outcome = self.driver.advance().expect("advance");
        debug_assert!(!outcome.stalled());
    }
    fn frames(&self) -> u64 {
        frames_of(&self.driver).0
    }
    fn resimulated(&self) -> u64 {
        frames_of(&self.driver).1
    }
    fn detail(&self) -> String {
        detail_of(&self.driver)
    }
}

/// Input handling and planning at many slots: `players` slots, slot 0 remote and `lag` frames
/// late (every one of its inputs differs from the prediction, so every tick rolls back `lag`
/// frames), every other slot local. Per tick the work is `players - 1` local inputs, 1 remote
/// input and `lag + 1` simulated frames of `players` inputs each; what the session adds on top
/// should grow with that, not with players × frames predicted.
pub struct Wide {
    driver: Driver<HashSim>,
    players: usize,
    lag: u32,
}

impl Wide {
    pub fn new(players: usize, lag: u32) -> Self {
        let mask = if players >= 64 { u64::MAX } else { (1u64 << players) - 1 };
        let session = SessionBuilder::new(players)
            .local_slots(mask & !1)
            .max_input_size(INPUT_BYTES)
            .max_snapshot_size(12)
            .mode(Mode::Rollback { max_prediction: lag + 2 })
            .build()
            .expect("valid wide config");
        Wide { driver: Driver::new(session, HashSim::new(0)), players, lag }
    }
}

impl Case for Wide {
    #[inline(never)] // a symbol of its own for callgrind
    fn tick(&mut self) {
        let s = self.driver.session_mut();
        let f = s.current_frame();
        for slot in 1..self.players {
            s.add_local_input(slot, &slot_input(slot, f).to_le_bytes()).expect("local input");
        }
        if f >= self.lag {
            let r = f - self.lag;
            s.add_remote_input(0, r, &remote_input(r).to_le_bytes()).expect("remote input");
        }
        let outcome = self.driver.advance().expect("advance");
        debug_assert!(!outcome.stalled());
    }
    fn frames(&self) -> u64 {
        frames_of(&self.driver).0
    }
    fn resimulated(&self) -> u64 {
        frames_of(&self.driver).1
    }
    fn detail(&self) -> String {
        detail_of(&self.driver)
    }
}

/// The core's checksum of a 64 KiB snapshot alone (`checksum64`, XXH3-64), one hash per "frame":
/// with [`Memcpy`] it bounds what a save + load that hashes can reach (see docs/BENCHMARKS.md).
#[derive(Debug)]
pub struct Hash64k {
    state: Vec<u8>,
    frames: u64,
}

impl Hash64k {
    pub fn new() -> Self {
        Hash64k { state: (0..BIG_STATE).map(|i| i as u8).collect(), frames: 0 }
    }
}

impl Case for Hash64k {
    fn tick(&mut self) {
        black_box(framelock_core::checksum64(black_box(&self.state)));
        self.frames += 1;
    }
    fn frames(&self) -> u64 {
        self.frames
    }
    fn resimulated(&self) -> u64 {
        0
    }
}
