//! One call's worth of work: the ordered requests `advance` returns, and access to the snapshot
//! buffers and the frame arena needed to fulfil them.

use bumpalo::Bump;

use crate::input::{FrameInputs, InputStore};
use crate::ledger::Ledger;
use crate::{Error, Frame, SlotMask, SnapshotWriter};

/// A request to fulfil, in the order given.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// Save the current state (the state at the start of `frame`) with [`Step::save`].
    SaveState {
        /// The frame whose starting state this is.
        frame: Frame,
    },
    /// Replace the current state by the one saved for `frame`, read with [`Step::load`].
    LoadState {
        /// The frame to go back to.
        frame: Frame,
    },
    /// Simulate `frame` with these inputs (scratch memory: [`Step::frame_arena`]).
    AdvanceFrame {
        /// The frame to simulate.
        frame: Frame,
        /// Every slot's input for it.
        inputs: FrameInputs<'a>,
    },
}

/// What the session planned internally; turned into [`Request`]s in the frame arena.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Save { frame: Frame, check: bool },
    Load(Frame),
    Advance(Frame),
}

impl Op {
    #[inline]
    pub fn request(self, inputs: &InputStore) -> Request<'_> {
        match self {
            Op::Save { frame, .. } => Request::SaveState { frame },
            Op::Load(frame) => Request::LoadState { frame },
            Op::Advance(frame) => Request::AdvanceFrame { frame, inputs: FrameInputs::new(inputs, frame) },
        }
    }
}

/// Whether a step moved the current frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `frame` was simulated for the first time.
    Advanced {
        /// The frame.
        frame: Frame,
    },
    /// The current frame could not be simulated: these slots' inputs are needed first.
    Stalled {
        /// The slots being waited for.
        waiting_for: SlotMask,
    },
}

impl Outcome {
    /// True when the step did not advance the frame.
    pub fn stalled(&self) -> bool {
        matches!(self, Outcome::Stalled { .. })
    }
}

/// The requests of one [`Session::advance`](crate::Session::advance) call and the means to fulfil
/// them. It borrows the session: fulfil its requests in order, then drop it. Dropping it finishes the
/// step: the saved snapshots are checksummed, sync-test copies compared, and the checksums of frames
/// that became final recorded and compared with waiting remote checksums.
#[derive(Debug)]
pub struct Step<'a> {
    pub(crate) requests: &'a [Request<'a>],
    pub(crate) outcome: Outcome,
    pub(crate) ledger: &'a mut Ledger,
    pub(crate) scratch: &'a mut Bump,
    pub(crate) scratch_cap: usize,
    pub(crate) scratch_empty: usize,
}

/// The frame arena, reset first unless nothing was allocated since the last reset (an untouched
/// arena's free space is its whole chunk, `empty`; its allocation limit keeps it to that one
/// chunk): most simulations never use it, and a reset per advance was a measurable share of a
/// sync-test frame.
#[inline]
pub(crate) fn fresh_arena(b: &mut Bump, empty: usize) -> &Bump {
    if b.chunk_capacity() != empty {
        b.reset();
    }
    b
}

impl<'a> Step<'a> {
    /// The ordered requests. The slice outlives borrows of the step, so the step's methods can be
    /// called while iterating it.
    #[inline]
    pub fn requests(&self) -> &'a [Request<'a>] {
        self.requests
    }

    /// Whether the current frame advanced, or which slots the session waits for.
    #[inline]
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The buffer to save the state at the start of `frame` into, for a
    /// [`Request::SaveState`]. Its checksum is taken when the step finishes.
    #[inline]
    pub fn save(&mut self, frame: Frame) -> SnapshotWriter<'_> {
        self.ledger.writer(frame)
    }

    /// The state saved for `frame`, for a [`Request::LoadState`].
    ///
    /// Errors: [`Error::NoSuchSnapshot`] when no snapshot of `frame` is held (a request not fulfilled).
    #[inline]
    pub fn load(&self, frame: Frame) -> Result<&[u8], Error> {
        self.ledger.load(frame)
    }

    /// The frame arena for a [`Request::AdvanceFrame`]: reset on each call, capped at
    /// `frame_arena_size` bytes.
    #[inline]
    pub fn frame_arena(&mut self) -> &Bump {
        fresh_arena(self.scratch, self.scratch_empty)
    }

    /// The frame arena's cap in bytes.
    #[inline]
    pub fn frame_arena_cap(&self) -> usize {
        self.scratch_cap
    }
}

impl Drop for Step<'_> {
    fn drop(&mut self) {
        self.ledger.finish_step();
    }
}
