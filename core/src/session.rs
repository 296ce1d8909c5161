//! The session: inputs in, ordered requests out, checksums compared.

use arrayvec::ArrayVec;
use bumpalo::Bump;

use crate::config::{Authority, Limits, Mode, Predictor, MAX_SLOTS};
use crate::event::{Event, EventQueue};
use crate::history::{ChecksumHistory, EarlyChecksum};
use crate::input::{CellState, FrameInputs, InputStore};
use crate::ledger::{Evidence, Ledger};
use crate::plan::{Plan, Saves, MAX_OPS};
use crate::snapshot::SnapshotRing;
use crate::step::{Op, Outcome, Request, Step};
use crate::{Error, Frame, InputStatus, Slot, SlotMask, SnapshotWriter};

/// Counters of what a session did, for overlays, logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Frames simulated for the first time.
    pub frames_advanced: u64,
    /// Frames simulated again after a load (rollbacks and sync-test checks).
    pub frames_resimulated: u64,
    /// Rollbacks performed.
    pub rollbacks: u64,
    /// The longest rollback, in frames.
    pub max_rollback: u32,
    /// Calls to `advance` that could not advance the frame.
    pub stalls: u64,
    /// Remote checksums compared with a local one.
    pub checksums_compared: u64,
    /// Desyncs and sync-test mismatches found.
    pub desyncs: u64,
    /// Events dropped because nobody polled them.
    pub events_dropped: u64,
}

/// The two snapshots of a sync-test mismatch, kept for comparison.
#[derive(Debug, Clone, Copy)]
pub struct SyncTestEvidence<'a> {
    /// The frame whose starting state differs.
    pub frame: Frame,
    /// The first run's snapshot.
    pub first: &'a [u8],
    /// The resimulation's snapshot.
    pub second: &'a [u8],
}

/// What planning a step changes, kept to undo a step whose fulfilment failed
/// ([`Session::abort_step`]).
#[derive(Debug, Clone, Copy)]
struct Undo {
    current: Frame,
    first_incorrect: Option<Frame>,
    primary_top: Option<Frame>,
    release_below: Frame,
    stats: SessionStats,
}

/// A frame-sync session. Built by [`SessionBuilder`](crate::SessionBuilder); see the crate docs.
pub struct Session {
    lim: Limits,
    inputs: InputStore,
    /// `None`: the built-in [`RepeatLast`](crate::RepeatLast), applied inline (no dynamic call, no
    /// `memcpy` call per predicted input).
    predictor: Option<Box<dyn Predictor>>,
    current: Frame,
    first_incorrect: Option<Frame>,
    /// Per slot: the next frame a local input goes to.
    local_next: ArrayVec<Frame, MAX_SLOTS>,
    /// Inputs below this frame may be recycled once the open step is gone.
    release_below: Frame,
    tap_next: Frame,
    /// The outcome of the step opened by `begin_step`.
    outcome: Outcome,
    requests: Bump,
    requests_cap: usize,
    scratch: Bump,
    /// The frame arena's real size (`frame_arena_size` rounded up to the allocator's chunk size).
    scratch_cap: usize,
    /// The frame arena's free bytes when nothing is allocated in it (see `step::fresh_arena`).
    scratch_empty: usize,
    ledger: Ledger,
    undo: Undo,
    /// After an aborted step whose game state is unknown: the next step starts by loading it.
    reload: Option<Frame>,
    /// The slots that may need a prediction in the step being planned (`InputStore::lagging`).
    lagging: SlotMask,
    /// The operations of the open step (of the last one planned when none is open).
    planned: Plan,
    /// `planned` as a list, for the step kept inside the session (`begin_step`): the C ABI and
    /// Python read its requests by index, several times each, and a list answers that with one
    /// load where the plan computes. Empty for a step opened by `advance`.
    listed: ArrayVec<Op, MAX_OPS>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("mode", &self.lim.mode)
            .field("slots", &self.lim.slots)
            .field("current_frame", &self.current)
            .field("confirmed_until", &self.inputs.confirmed_until())
            .field("stats", &self.ledger.stats)
            .finish_non_exhaustive()
    }
}

/// An arena of one chunk of at least `cap` bytes that can never grow: its allocation limit is the
/// chunk it starts with, so a frame that needs more fails (bumpalo ignores a limit below the bytes
/// it already holds, which is why the limit is the chunk's real size, not `cap`). Never growing is
/// also what keeps a tick allocation-free. Returns the arena and its usable size.
fn capped_bump(cap: usize) -> (Bump, usize) {
    let b = Bump::with_capacity(cap);
    let size = b.allocated_bytes();
    b.set_allocation_limit(Some(size));
    (b, size)
}

impl Session {
    pub(crate) fn new(lim: Limits, predictor: Option<Box<dyn Predictor>>) -> Session {
        let depth = lim.depth();
        let (ring, checks) = match lim.mode {
            Mode::Lockstep => (1, 0),
            Mode::Rollback { .. } => (depth as usize + 2, 0),
            Mode::SyncTest { .. } => (depth as usize + 2, depth as usize + 1),
        };
        let max_ops = (2 * (depth as usize + 2) + 2).min(MAX_OPS);
        let requests_cap = max_ops * core::mem::size_of::<crate::Request<'static>>() + 256;
        let start = lim.start_frame;
        let mut inputs = InputStore::new(
            lim.slots,
            lim.max_input_size,
            lim.input_window,
            &lim.default_input,
            start,
            predictor.is_none(),
        );
        // Frames before the first local input can arrive (the input delay) hold the default input:
        // confirmed peer to peer; behind a relay a proposal like any local input (the client sends
        // it, and the relay's bundle confirms or substitutes it, as for every member).
        let delay_state = match lim.authority {
            Authority::PeerToPeer => CellState::Confirmed,
            Authority::Relay => CellState::Proposed,
        };
        let mut local_next: ArrayVec<Frame, MAX_SLOTS> = (0..lim.slots).map(|_| start).collect();
        for s in (0..lim.slots).filter(|&s| lim.local >> s & 1 == 1) {
            for f in start..start + lim.input_delay {
                inputs.put_ahead(s, f, &lim.default_input, delay_state, InputStatus::Confirmed);
            }
            local_next[s] = start + lim.input_delay;
        }
        let (requests, requests_cap) = capped_bump(requests_cap);
        let (scratch, scratch_cap) = capped_bump(lim.frame_arena_size);
        let scratch_empty = scratch.chunk_capacity();
        let evidence_cap = if checks > 0 { lim.max_snapshot_size } else { 0 };
        Session {
            ledger: Ledger {
                snapshots: SnapshotRing::new(ring, lim.max_snapshot_size, lim.snapshot_hash),
                checks: SnapshotRing::new(checks, lim.max_snapshot_size, lim.snapshot_hash),
                evidence: Evidence {
                    frame: None,
                    first: Vec::with_capacity(evidence_cap),
                    second: Vec::with_capacity(evidence_cap),
                },
                history: ChecksumHistory::new(lim.checksum_history),
                early: Vec::with_capacity(lim.early_checksums),
                events: EventQueue::new(lim.event_queue),
                stats: SessionStats::default(),
                open: None,
                primary_top: None,
                checksummed_until: start,
                sync_test: matches!(lim.mode, Mode::SyncTest { .. }),
                fresh_from: 0,
                pending: None,
                matched: 0,
                own: None,
                suspects: ArrayVec::new(),
            },
            predictor,
            current: start,
            first_incorrect: None,
            local_next,
            release_below: start,
            tap_next: start,
            outcome: Outcome::Stalled { waiting_for: 0 },
            requests,
            requests_cap,
            scratch,
            scratch_cap,
            scratch_empty,
            inputs,
            undo: Undo {
                current: start,
                first_incorrect: None,
                primary_top: None,
                release_below: start,
                stats: SessionStats::default(),
            },
            reload: None,
            lagging: 0,
            planned: Plan::empty(),
            listed: ArrayVec::new(),
            lim,
        }
    }

    /// Starts over at `frame`, as a session built with the same settings (and predictor) and
    /// [`SessionBuilder::start_frame`](crate::SessionBuilder::start_frame)`(frame)` would: every
    /// input, snapshot, checksum and event is forgotten; the input delay is the current one. The
    /// caller loads the state at the start of `frame` into its simulation before the next advance:
    /// a late joiner given a verified snapshot. It allocates (as building a session does).
    ///
    /// Errors: [`Error::InvalidConfig`] when `frame` is above 2^31 (as for `start_frame`).
    pub fn restart_at(&mut self, frame: Frame) -> Result<(), Error> {
        if frame > Frame::MAX / 2 {
            return Err(Error::InvalidConfig {
                setting: "start_frame",
                reason: "must leave room for the frame counter (at most 2^31)",
            });
        }
        let mut lim = self.lim.clone();
        lim.start_frame = frame;
        let predictor = self.predictor.take();
        *self = Session::new(lim, predictor);
        Ok(())
    }

    /// Recycles input rows the last step no longer needs (it cannot, while a step borrows them).
    #[inline]
    fn release(&mut self) {
        // Both checks inline: most calls find no open step and nothing to recycle.
        if self.ledger.open.is_some() {
            self.ledger.finish_step();
        }
        if self.release_below > self.inputs.base {
            self.inputs.release_below(self.release_below);
        }
    }

    // ----- inputs -------------------------------------------------------------------------------

    fn check_slot(&self, slot: Slot) -> Result<(), Error> {
        if slot >= self.lim.slots {
            return Err(Error::UnknownSlot { slot, slots: self.lim.slots });
        }
        Ok(())
    }

    fn is_local(&self, slot: Slot) -> bool {
        self.lim.local >> slot & 1 == 1
    }

    fn check_len(&self, slot: Slot, input: &[u8]) -> Result<(), Error> {
        if input.len() > self.lim.max_input_size {
            return Err(Error::InputTooLong { slot, len: input.len(), max: self.lim.max_input_size });
        }
        Ok(())
    }

    fn check_input(&self, slot: Slot, frame: Frame, input: &[u8]) -> Result<(), Error> {
        self.check_len(slot, input)?;
        if frame < self.inputs.base {
            return Err(Error::FrameTooOld { slot, frame, oldest: self.inputs.base });
        }
        if !self.inputs.in_window(frame) {
            return Err(Error::BeyondWindow { slot, frame, newest: self.inputs.newest() });
        }
        // `advance` stops at `LAST_FRAME` with `FrameOverflow`: an input for a later frame could
        // never be simulated, and counting past it would wrap the input store's frame counters.
        if frame > crate::input::LAST_FRAME {
            return Err(Error::FrameOverflow);
        }
        Ok(())
    }

    /// Adds the input of a local slot for this tick. It is queued for frame
    /// `current_frame() + input_delay()` and returned as `Some(frame)`.
    ///
    /// When the input delay was raised, the frames in between repeat the previous local input; when it
    /// was lowered, inputs are dropped (and `None` returned) until the frames catch up, so a local slot
    /// never has two inputs for one frame. In peer-to-peer sessions the input is confirmed at once; behind
    /// a relay it is a proposal until [`Session::add_remote_input`] confirms the frame.
    ///
    /// Errors: [`Error::UnknownSlot`], [`Error::WrongSlotKind`] (not a local slot),
    /// [`Error::InputTooLong`], [`Error::BeyondWindow`] (more inputs than the window holds),
    /// [`Error::FrameOverflow`] (the frame would be past `u32::MAX - 2`, the last one a session
    /// simulates).
    #[inline(always)]
    pub fn add_local_input(&mut self, slot: Slot, input: &[u8]) -> Result<Option<Frame>, Error> {
        self.release();
        self.check_slot(slot)?;
        if !self.is_local(slot) {
            return Err(Error::WrongSlotKind { slot, is: "remote" });
        }
        let target = self.current.checked_add(self.lim.input_delay).ok_or(Error::FrameOverflow)?;
        self.check_input(slot, target, input)?;
        if self.inputs.is_disconnected(slot, target) {
            return Ok(None);
        }
        let next = self.local_next[slot];
        if target < next {
            return Ok(None);
        }
        let state = match self.lim.authority {
            Authority::PeerToPeer => CellState::Confirmed,
            Authority::Relay => CellState::Proposed,
        };
        if next < target {
            self.fill_delay_gap(slot, next, target, state);
        }
        // `check_input` put `target` in the window and it is not disconnected.
        self.inputs.put_local(slot, target, input, state);
        self.local_next[slot] = target + 1;
        Ok(Some(target))
    }

    /// Fills the gap a raised delay opened with the previous input (`target` is in the window, so
    /// every frame in between is too, or below the base and already confirmed). Out of line: only
    /// the tick after a delay change gets here, and keeping it apart keeps the per-input path short.
    #[cold]
    #[inline(never)]
    fn fill_delay_gap(&mut self, slot: Slot, next: Frame, target: Frame, state: CellState) {
        for f in next.max(self.inputs.base)..target {
            if self.inputs.state(slot, f) == CellState::Empty {
                self.inputs.copy_previous(slot, f, state);
            }
        }
    }

    /// Adds the confirmed input of `slot` for `frame`: a remote player's input (peer to peer), or any
    /// slot's input as the relay confirmed it (relay authority). Inputs may arrive in any order within
    /// the input window. If the frame was already simulated on a different prediction, the next
    /// [`Session::advance`] rolls back to it.
    ///
    /// Errors: [`Error::UnknownSlot`], [`Error::WrongSlotKind`] (a local slot, peer to peer),
    /// [`Error::InputTooLong`], [`Error::AlreadyConfirmed`], [`Error::FrameTooOld`],
    /// [`Error::BeyondWindow`], [`Error::FrameOverflow`] (a frame past `u32::MAX - 2`, the last one a
    /// session simulates).
    #[inline]
    pub fn add_remote_input(&mut self, slot: Slot, frame: Frame, input: &[u8]) -> Result<(), Error> {
        self.confirm(slot, frame, input, InputStatus::Confirmed)
    }

    /// Like [`Session::add_remote_input`], for a frame the relay closed without this slot's input: the
    /// input is its substitute, and the simulation sees [`InputStatus::Substituted`](crate::InputStatus).
    pub fn add_substituted_input(&mut self, slot: Slot, frame: Frame, input: &[u8]) -> Result<(), Error> {
        self.confirm(slot, frame, input, InputStatus::Substituted)
    }

    /// Like [`Session::add_remote_input`], for a frame the authority closed with this slot
    /// disconnected: the simulation sees `input` (normally the default input) as
    /// [`InputStatus::Disconnected`]. Unlike [`Session::disconnect_slot`] it covers one frame only, so
    /// a slot can come back (a relay's reconnect, a replayed log).
    pub fn add_disconnected_input(&mut self, slot: Slot, frame: Frame, input: &[u8]) -> Result<(), Error> {
        self.confirm(slot, frame, input, InputStatus::Disconnected)
    }

    // Inlined into its three callers: `add_remote_input`, the hot one, then pays no second call
    // and its status is a constant (14 instructions per input in the C ABI's tick).
    #[inline(always)]
    fn confirm(&mut self, slot: Slot, frame: Frame, input: &[u8], status: InputStatus) -> Result<(), Error> {
        self.release();
        self.check_slot(slot)?;
        if self.is_local(slot) && self.lim.authority == Authority::PeerToPeer {
            return Err(Error::WrongSlotKind { slot, is: "local" });
        }
        // A rollback's common case with one lookup (`InputStore::next_seen_last`): no check below
        // but the length can fail then.
        if status == InputStatus::Confirmed && frame < self.current {
            if let Some(i) = self.inputs.next_seen_last(slot, frame) {
                self.check_len(slot, input)?;
                if self.inputs.put_next_seen_last(slot, frame, i, input, self.current) {
                    self.mark_incorrect(frame);
                }
                return Ok(());
            }
        }
        if frame < self.inputs.base || self.inputs.is_confirmed(slot, frame) {
            return Err(Error::AlreadyConfirmed { slot, frame });
        }
        self.check_input(slot, frame, input)?;
        if self.inputs.put(slot, frame, input, status, self.current) {
            self.mark_incorrect(frame);
        }
        Ok(())
    }

    fn mark_incorrect(&mut self, frame: Frame) {
        self.first_incorrect = Some(self.first_incorrect.map_or(frame, |f| f.min(frame)));
    }

    /// Disconnects `slot` from `frame` on: its input becomes the default input, flagged
    /// [`InputStatus::Disconnected`](crate::InputStatus), and the session stops waiting for it. Inputs
    /// already received for later frames are discarded; frames simulated with something else are
    /// simulated again. `frame` must not be before the slot's first unconfirmed frame.
    ///
    /// Errors: [`Error::UnknownSlot`], [`Error::InvalidDisconnect`].
    pub fn disconnect_slot(&mut self, slot: Slot, frame: Frame) -> Result<(), Error> {
        self.release();
        self.check_slot(slot)?;
        let earliest = self.inputs.next_unconfirmed[slot].max(self.inputs.base);
        if self.inputs.disconnected_from[slot].is_some() || frame < earliest {
            return Err(Error::InvalidDisconnect { slot, frame, earliest });
        }
        if let Some(f) = self.inputs.disconnect(slot, frame, self.current) {
            self.mark_incorrect(f);
        }
        self.ledger.events.push(Event::SlotDisconnected { slot, frame });
        Ok(())
    }

    /// Changes the input delay of local slots from the next local input on (see
    /// [`Session::add_local_input`]). Errors: [`Error::InvalidConfig`] above 32 frames.
    pub fn set_input_delay(&mut self, frames: u32) -> Result<(), Error> {
        if frames > crate::config::MAX_INPUT_DELAY {
            return Err(Error::InvalidConfig { setting: "input_delay", reason: "must be at most 32" });
        }
        self.lim.input_delay = frames;
        Ok(())
    }

    // ----- checksums ----------------------------------------------------------------------------

    /// Compares a remote peer's checksum of `frame` with the local one, now or as soon as the local
    /// one exists. A difference raises [`Event::Desync`].
    ///
    /// Errors: [`Error::UnknownSlot`]; [`Error::ChecksumUnavailable`] when the frame is older than the
    /// kept history (or was never checksummed); [`Error::ChecksumQueueFull`] when too many checksums
    /// are ahead of the local confirmed frame.
    pub fn add_remote_checksum(&mut self, slot: Slot, frame: Frame, checksum: u64) -> Result<(), Error> {
        self.release();
        self.check_slot(slot)?;
        if frame < self.ledger.checksummed_until {
            let local = self.ledger.history.get(frame).ok_or(Error::ChecksumUnavailable { frame, slot })?;
            self.ledger.compare(frame, slot, local, checksum);
            return Ok(());
        }
        if self.ledger.early.len() == self.ledger.early.capacity() {
            return Err(Error::ChecksumQueueFull { capacity: self.ledger.early.capacity() });
        }
        self.ledger.early.push(EarlyChecksum { frame, slot, checksum });
        Ok(())
    }

    /// The checksum of the state at the start of confirmed frame `frame`, while the history holds it.
    pub fn checksum(&self, frame: Frame) -> Option<u64> {
        (frame < self.ledger.checksummed_until).then(|| self.ledger.history.get(frame)).flatten()
    }

    /// Every frame below this has its final checksum recorded (where its mode records one).
    pub fn checksummed_until(&self) -> Frame {
        self.ledger.checksummed_until
    }

    // ----- advancing ----------------------------------------------------------------------------

    /// Plans the next step into `planned` and opens it.
    fn plan(&mut self) -> Result<Outcome, Error> {
        self.release();
        let cur = self.current;
        // First: at the end no local input can be added, so "missing local input" would mislead.
        if cur > crate::input::LAST_FRAME {
            return Err(Error::FrameOverflow);
        }
        // Only the local slots (set bits of the mask), lowest first. Below `confirmed_until` every
        // slot's input is confirmed, none is missing: the common case skips the per-slot lookups.
        let mut local = if cur < self.inputs.confirmed_until() { 0 } else { self.lim.local };
        while local != 0 {
            let s = local.trailing_zeros() as Slot;
            local &= local - 1;
            if s < self.lim.slots && self.inputs.state(s, cur) == CellState::Empty {
                return Err(Error::MissingLocalInput { slot: s, frame: cur });
            }
        }
        self.undo = Undo {
            current: cur,
            first_incorrect: self.first_incorrect,
            primary_top: self.ledger.primary_top,
            release_below: self.release_below,
            stats: self.ledger.stats,
        };
        self.planned = Plan::empty();
        self.listed.clear();
        self.ledger.clear_checks();
        self.ledger.fresh_from = self.ledger.primary_top.map_or(0, |t| t + 1);
        self.lagging = if self.predictor.is_some() { self.inputs.lagging(cur) } else { 0 };
        let outcome = match self.lim.mode {
            Mode::Lockstep => self.plan_lockstep(),
            Mode::Rollback { max_prediction } => self.plan_rollback(max_prediction),
            Mode::SyncTest { check_distance } => self.plan_sync_test(check_distance),
        };
        if outcome.stalled() {
            self.ledger.stats.stalls += 1;
        }
        let confirmed_until = self.inputs.confirmed_until();
        self.ledger.open = Some(confirmed_until);
        let mut keep = confirmed_until.min(self.current.saturating_sub(self.lim.resim_depth()));
        if self.lim.record_confirmed {
            keep = keep.min(self.tap_next);
        }
        self.release_below = keep;

        Ok(outcome)
    }

    /// Plans this tick: returns a [`Step`] holding the ordered requests to fulfil (save, load,
    /// advance), valid until the step is dropped. Fulfil them in order, with a
    /// [`Driver`](crate::Driver) or by hand. When the session cannot advance (lockstep waiting, or
    /// rollback at its prediction limit) the step says so in [`Step::outcome`]; a rollback that is due
    /// is still performed.
    ///
    /// Errors: [`Error::MissingLocalInput`] when a connected local slot has no input for the current
    /// frame; [`Error::FrameOverflow`] at the end of time.
    pub fn advance(&mut self) -> Result<Step<'_>, Error> {
        let outcome = self.plan()?;
        self.open_step(outcome)
    }

    /// Plans this tick and fulfils it with `sim` straight from the planned operations, then
    /// finishes the step (also when a request fails, as dropping a [`Step`] does): what
    /// [`Driver::advance`](crate::Driver::advance) does, without building the request list.
    pub(crate) fn advance_with<S: crate::Simulation + ?Sized>(&mut self, sim: &mut S) -> Result<Outcome, Error> {
        let outcome = self.plan()?;
        self.fulfil_step(sim).map(|()| outcome)
    }

    /// Fulfils the step opened by [`Session::begin_step`] (or [`Session::begin_step_unlisted`]) with
    /// `f`, request by request in order, without building or reading the request list, and leaves
    /// it open: then call [`Session::finish_step`], or, when a request failed,
    /// [`Session::abort_step`] with its index.
    /// For engines whose save and load are told the frame (the C ABI's callbacks); a Rust
    /// [`Simulation`](crate::Simulation) uses [`Session::fulfil_step`].
    ///
    /// Errors: the index of the request that failed (those before it were fulfilled) and its error:
    /// [`Error::Simulation`] naming the frame (or [`Error::ArenaExhausted`] for the frame arena),
    /// [`Error::NoSuchSnapshot`]; `(0, Error::NoOpenStep)` when no step is open.
    pub fn fulfil_open_step<F: crate::Fulfil + ?Sized>(&mut self, f: &mut F) -> Result<(), (usize, Error)> {
        if self.ledger.open.is_none() {
            return Err((0, Error::NoOpenStep));
        }
        self.fulfil_ops(f)
    }

    /// Fulfils the open step's operations in order with `f` (the step stays open): the leading
    /// ones, then the run of frames, without a dispatch per operation. On a failure: the index of
    /// the failed request and the error.
    fn fulfil_ops<F: crate::Fulfil + ?Sized>(&mut self, f: &mut F) -> Result<(), (usize, Error)> {
        let Session { ledger, inputs, scratch, scratch_cap, scratch_empty, planned, .. } = self;
        let (inputs, cap, empty, plan): (&InputStore, usize, usize, Plan) =
            (inputs, *scratch_cap, *scratch_empty, *planned);
        let wrap = |frame, e| crate::simulation::sim_error(frame, e, cap);
        let mut advance = |f: &mut F, frame: Frame| {
            f.advance(FrameInputs::new(inputs, frame), crate::step::fresh_arena(scratch, empty))
                .map_err(|e| wrap(frame, e))
        };
        let save = |f: &mut F, ledger: &mut Ledger, frame: Frame| {
            f.save(frame, &mut ledger.writer(frame)).map_err(|e| wrap(frame, e))
        };
        // The index of the request being fulfilled, for the error.
        let mut i = 0;
        macro_rules! done {
            ($e:expr) => {
                match $e {
                    Ok(()) => i += 1,
                    Err(e) => return Err((i, e)),
                }
            };
        }
        for &op in plan.head() {
            match op {
                Op::Save { frame, .. } => done!(save(f, ledger, frame)),
                Op::Load(frame) => {
                    done!(ledger.load(frame).and_then(|s| f.load(frame, s).map_err(|e| wrap(frame, e))))
                }
                Op::Advance(frame) => done!(advance(f, frame)),
            }
        }
        match plan.saves {
            Saves::Before { .. } => {
                let from = plan.saved_from();
                for frame in plan.first..from {
                    done!(advance(f, frame));
                }
                for frame in from..plan.end {
                    done!(save(f, ledger, frame));
                    done!(advance(f, frame));
                }
            }
            Saves::After { .. } => {
                for frame in plan.first..plan.end {
                    done!(advance(f, frame));
                    done!(save(f, ledger, frame + 1));
                }
            }
        }
        Ok(())
    }

    /// The open step as a [`Step`], its requests built in the request arena.
    fn open_step(&mut self, outcome: Outcome) -> Result<Step<'_>, Error> {
        self.requests.reset();
        let Session { ledger, inputs, requests, requests_cap, scratch, scratch_cap, scratch_empty, planned, .. } = self;
        let inputs: &InputStore = inputs;
        let plan = *planned;
        let list = requests
            .try_alloc_slice_fill_with(plan.len(), |i| {
                plan.get(i).map_or(Request::LoadState { frame: 0 }, |op| op.request(inputs))
            })
            .map_err(|_| Error::ArenaExhausted { arena: "requests", cap: *requests_cap })?;
        Ok(Step { requests: list, outcome, ledger, scratch, scratch_cap: *scratch_cap, scratch_empty: *scratch_empty })
    }

    // ----- the same step, kept inside the session (for C and Python) -------------------------------

    /// Plans this tick like [`Session::advance`], but keeps the step inside the session instead of
    /// returning a borrow of it: for callers that cannot hold a borrow across calls (the C ABI,
    /// Python). Read the requests with [`Session::step_request`], fulfil them with
    /// [`Session::step_save`], [`Session::step_load`] and [`Session::step_frame_arena`], then call
    /// [`Session::finish_step`] (any other call that changes the session finishes it too).
    pub fn begin_step(&mut self) -> Result<Outcome, Error> {
        let outcome = self.begin_step_unlisted()?;
        self.planned.list_into(&mut self.listed);
        Ok(outcome)
    }

    /// [`Session::begin_step`] without listing the requests, for a caller that fulfils the whole
    /// step with [`Session::fulfil_open_step`] (which walks the plan, not the list): the C ABI's
    /// callbacks. [`Session::step_len`] is 0 and [`Session::step_request`] `None` for such a step.
    pub fn begin_step_unlisted(&mut self) -> Result<Outcome, Error> {
        self.outcome = self.plan()?;
        Ok(self.outcome)
    }

    /// The number of requests of the open step (0 when none is open).
    pub fn step_len(&self) -> usize {
        if self.ledger.open.is_some() {
            self.listed.len()
        } else {
            0
        }
    }

    /// Request `index` of the open step, in order.
    pub fn step_request(&self, index: usize) -> Option<Request<'_>> {
        self.ledger.open?;
        self.listed.get(index).map(|op| op.request(&self.inputs))
    }

    /// The buffer for a `SaveState` request of the open step.
    ///
    /// Errors: [`Error::NoOpenStep`].
    pub fn step_save(&mut self, frame: Frame) -> Result<SnapshotWriter<'_>, Error> {
        self.ledger.open.ok_or(Error::NoOpenStep)?;
        Ok(self.ledger.writer(frame))
    }

    /// The saved state for a `LoadState` request of the open step.
    ///
    /// Errors: [`Error::NoOpenStep`], [`Error::NoSuchSnapshot`].
    pub fn step_load(&self, frame: Frame) -> Result<&[u8], Error> {
        self.ledger.open.ok_or(Error::NoOpenStep)?;
        self.ledger.load(frame)
    }

    /// The frame arena for an `AdvanceFrame` request: reset on each call, capped.
    pub fn step_frame_arena(&mut self) -> &Bump {
        crate::step::fresh_arena(&mut self.scratch, self.scratch_empty)
    }

    /// Fulfils the open step's requests with a Rust simulation and finishes it (what a
    /// [`Driver`](crate::Driver) does after [`Session::advance`]). Does nothing when no step is open.
    pub fn fulfil_step<S: crate::Simulation + ?Sized>(&mut self, sim: &mut S) -> Result<(), Error> {
        if self.ledger.open.is_none() {
            return Ok(());
        }
        let done = self.fulfil_ops(&mut crate::simulation::Plain(sim));
        self.ledger.finish_step();
        done.map_err(|(_, e)| e)
    }

    /// Finishes the open step (checksums, comparisons, events), as dropping a [`Step`] does. Does
    /// nothing when no step is open.
    pub fn finish_step(&mut self) {
        self.ledger.finish_step();
    }

    /// Abandons the open step because request `failed` could not be fulfilled (the requests before
    /// it were). The session forgets the step: the current frame, statistics and input bookkeeping
    /// are back to what they were before it, nothing it saved is checksummed, and the next step
    /// simulates the same frame again. Returns `Some(frame)` when the game's state is unknown (a
    /// load or an advance failed, or the game is at another frame than the step started from): the
    /// next step then starts by loading the state saved for `frame` and resimulates from there.
    /// Returns `None` when the game still holds the state the step started from (a save failed
    /// before any load or advance; saves do not change the game).
    ///
    /// Errors: [`Error::NoOpenStep`]; [`Error::NoSuchSnapshot`] when no saved state to reload is
    /// held with the inputs after it (lockstep with a `checksum_interval` above 1, failing in a frame
    /// that saves nothing): the session cannot continue and must be rebuilt.
    pub fn abort_step(&mut self, failed: usize) -> Result<Option<Frame>, Error> {
        self.ledger.open.take().ok_or(Error::NoOpenStep)?;
        let u = self.undo;
        let cur = u.current;
        // Follow the game through the fulfilled requests: the frame whose starting state it holds,
        // and the newest frame at or before `cur` with a correct saved state.
        let mut game = Some(cur);
        let mut loaded = false;
        let mut good: Option<Frame> = None;
        let note = |f: Frame, good: &mut Option<Frame>| {
            if f <= cur {
                *good = Some(good.map_or(f, |g: Frame| g.max(f)));
            }
        };
        for op in (0..failed.min(self.planned.len())).filter_map(|i| self.planned.get(i)) {
            match op {
                Op::Save { frame, check: false } => note(frame, &mut good),
                Op::Save { check: true, .. } => {}
                Op::Load(frame) => {
                    game = Some(frame);
                    loaded = true;
                    note(frame, &mut good);
                }
                Op::Advance(frame) => game = Some(frame + 1),
            }
        }
        if !matches!(self.planned.get(failed), Some(Op::Save { .. }) | None) {
            game = None;
        }
        // States saved before this step that are still right: the frame a rollback was going to load
        // (frames after it were simulated on a misprediction); in a sync test, the current frame's.
        if let Some(r) = u.first_incorrect.filter(|&r| r < cur && self.ledger.snapshots.get(r).is_some()) {
            note(r, &mut good);
        }
        if self.ledger.sync_test && u.primary_top == Some(cur) {
            note(cur, &mut good);
        }
        self.current = cur;
        self.ledger.stats = u.stats;
        self.ledger.primary_top = u.primary_top;
        self.release_below = u.release_below;
        if game == Some(cur) {
            self.first_incorrect = if loaded { None } else { u.first_incorrect };
            return Ok(None);
        }
        match good.filter(|&g| g >= self.inputs.base) {
            Some(g) => {
                self.first_incorrect = Some(g);
                self.reload = Some(g);
                Ok(Some(g))
            }
            None => {
                self.first_incorrect = u.first_incorrect;
                Err(Error::NoSuchSnapshot { frame: cur })
            }
        }
    }

    /// Prepares the predictions of the run of frames `first..end` for every slot not confirmed there.
    ///
    /// The built-in `RepeatLast` writes nothing: the simulation reads each lagging slot's last
    /// confirmed input in place (`InputStore::put` says why that stays exact), so a prediction
    /// costs nothing per slot and frame; only guesses stored for frames simulated again are
    /// dropped (rare). A custom predictor is called per frame above `confirmed_until` and per
    /// slot that lags (`self.lagging`, found once per step): per predicted input, not per slot
    /// and frame.
    #[inline]
    fn predict_run(&mut self, first: Frame, end: Frame) {
        if self.predictor.is_none() {
            self.inputs.forget_guesses(first, end);
            return;
        }
        for frame in first.max(self.inputs.confirmed_until())..end {
            self.predict_frame(frame);
        }
    }

    #[inline(never)]
    fn predict_frame(&mut self, frame: Frame) {
        if let Some(p) = self.predictor.as_deref() {
            self.inputs.predict_row(self.lagging, frame, p);
        }
    }

    /// Sets the run of the step being planned, its predictions and its primary saves
    /// (`saves_from..saves_end`, consecutive frames in every mode).
    #[inline]
    fn plan_run(&mut self, first: Frame, end: Frame, saves: Saves, saves_from: Frame, saves_end: Frame) {
        self.planned.first = first;
        self.planned.end = end;
        self.planned.saves = saves;
        self.predict_run(first, end);
        self.ledger.plan_saves(saves_from, saves_end);
    }

    fn plan_lockstep(&mut self) -> Outcome {
        let cur = self.current;
        let waiting_for = self.inputs.unconfirmed_mask(cur);
        if waiting_for != 0 {
            return Outcome::Stalled { waiting_for };
        }
        let mut first = cur;
        if let Some(l) = self.reload.take() {
            // After an aborted step: back to a saved state, then the frames from it again.
            self.planned.push_head(Op::Load(l));
            self.first_incorrect = None;
            first = l;
            self.ledger.stats.frames_resimulated += u64::from(cur - l);
        }
        let from = if cur % self.lim.checksum_interval == 0 { cur } else { cur + 1 };
        self.plan_run(first, cur + 1, Saves::Before { from }, from, cur + 1);
        self.current += 1;
        self.ledger.stats.frames_advanced += 1;
        Outcome::Advanced { frame: cur }
    }

    fn plan_rollback(&mut self, max_prediction: u32) -> Outcome {
        let cur = self.current;
        // After an aborted step the game's state is unknown: load even the current frame's.
        let reload = self.reload.take().is_some();
        let mut first = cur;
        if let Some(r) = self.first_incorrect.take().filter(|&r| r < cur || reload) {
            self.planned.push_head(Op::Load(r));
            first = r;
            let n = cur - r;
            self.ledger.stats.rollbacks += 1;
            self.ledger.stats.frames_resimulated += u64::from(n);
            self.ledger.stats.max_rollback = self.ledger.stats.max_rollback.max(n);
        }
        // Every frame of the run after the loaded one is saved before it is advanced; so is the
        // current frame when it is advanced.
        let resaved = if first < cur { first + 1 } else { cur };
        let confirmed_until = self.inputs.confirmed_until();
        if cur >= confirmed_until && cur - confirmed_until >= max_prediction {
            // A rollback that is due is still performed.
            let from = first + 1;
            self.plan_run(first, cur, Saves::Before { from }, from, cur);
            return Outcome::Stalled { waiting_for: self.inputs.unconfirmed_mask(confirmed_until) };
        }
        self.plan_run(first, cur + 1, Saves::Before { from: resaved }, resaved, cur + 1);
        self.current += 1;
        self.ledger.stats.frames_advanced += 1;
        Outcome::Advanced { frame: cur }
    }

    fn plan_sync_test(&mut self, check_distance: u32) -> Outcome {
        let cur = self.current;
        let waiting_for = self.inputs.unconfirmed_mask(cur);
        if waiting_for != 0 {
            return Outcome::Stalled { waiting_for };
        }
        // After an aborted step the game's state is unknown; past the first frame the check below
        // loads a saved state anyway.
        if let Some(l) = self.reload.take() {
            if cur == self.lim.start_frame {
                self.planned.push_head(Op::Load(l));
            }
            self.first_incorrect = None;
        }
        let mut saves_from = cur + 1;
        if self.ledger.primary_top.is_none() {
            self.planned.push_head(Op::Save { frame: cur, check: false });
            saves_from = cur;
        }
        let mut first = cur;
        if cur > self.lim.start_frame {
            let r = cur.saturating_sub(check_distance).max(self.lim.start_frame);
            self.planned.push_head(Op::Load(r));
            first = r;
            self.ledger.stats.frames_resimulated += u64::from(cur - r);
        }
        // Each frame of the run is advanced, then the state after it saved: a check copy of the
        // first run's save up to the current frame, the current frame's result a primary save.
        self.plan_run(first, cur + 1, Saves::After { checks_below: cur + 1 }, saves_from, cur + 2);
        self.current += 1;
        self.ledger.stats.frames_advanced += 1;
        Outcome::Advanced { frame: cur }
    }

    // ----- observation --------------------------------------------------------------------------

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.release();
        self.ledger.events.pop()
    }

    /// With [`SessionBuilder::record_confirmed`](crate::SessionBuilder::record_confirmed): the next
    /// confirmed frame's inputs, in frame order, each once (for an input log writer).
    pub fn poll_confirmed(&mut self) -> Option<FrameInputs<'_>> {
        self.release();
        if !self.lim.record_confirmed || self.tap_next >= self.inputs.confirmed_until() {
            return None;
        }
        let f = self.tap_next;
        self.tap_next += 1;
        Some(FrameInputs::new(&self.inputs, f))
    }

    /// The frame the next [`Session::advance`] simulates (every frame below it has been simulated).
    pub fn current_frame(&self) -> Frame {
        self.current
    }

    /// The first frame whose inputs are not all confirmed.
    pub fn confirmed_until(&self) -> Frame {
        self.inputs.confirmed_until()
    }

    /// The slots whose input for `frame` is not confirmed yet.
    pub fn waiting_for(&self, frame: Frame) -> SlotMask {
        self.inputs.unconfirmed_mask(frame)
    }

    /// The current input delay.
    pub fn input_delay(&self) -> u32 {
        self.lim.input_delay
    }

    /// The default input: a disconnected slot's input, and what local slots propose for the frames
    /// before their first input (the input delay).
    pub fn default_input(&self) -> &[u8] {
        &self.lim.default_input
    }

    /// The number of slots.
    pub fn slots(&self) -> usize {
        self.lim.slots
    }

    /// The local slots.
    pub fn local_slots(&self) -> SlotMask {
        self.lim.local
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.lim.mode
    }

    /// The largest input in bytes.
    pub fn max_input_size(&self) -> usize {
        self.lim.max_input_size
    }

    /// The capacity of a snapshot buffer in bytes.
    pub fn max_snapshot_size(&self) -> usize {
        self.ledger.snapshots.capacity()
    }

    /// Counters of what the session did.
    pub fn stats(&self) -> SessionStats {
        SessionStats { events_dropped: self.ledger.events.dropped, ..self.ledger.stats }
    }

    /// The snapshot of the state at the start of `frame` once that frame's checksum is final, while
    /// the snapshot ring still holds it (an input log's keyframe).
    pub fn final_snapshot(&self, frame: Frame) -> Option<&[u8]> {
        if frame >= self.ledger.checksummed_until {
            return None;
        }
        self.ledger.snapshots.get(frame).map(|s| s.bytes())
    }

    /// The snapshots of the first sync-test mismatch, if there was one.
    pub fn sync_test_evidence(&self) -> Option<SyncTestEvidence<'_>> {
        let e = &self.ledger.evidence;
        e.frame.map(|frame| SyncTestEvidence { frame, first: &e.first, second: &e.second })
    }
}

impl Limits {
    /// How many frames a step can go back.
    pub(crate) fn depth(&self) -> u32 {
        match self.mode {
            Mode::Lockstep => 0,
            Mode::Rollback { max_prediction: d } | Mode::SyncTest { check_distance: d } => d,
        }
    }

    /// How many frames below the current one the inputs must be kept for resimulation.
    fn resim_depth(&self) -> u32 {
        match self.mode {
            Mode::SyncTest { check_distance } => check_distance,
            _ => 0,
        }
    }
}
