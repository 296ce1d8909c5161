//! The `Simulation` trait that Rust game states implement, and the `Driver` that fulfils a
//! session's requests with one.

use bumpalo::Bump;

use crate::{Error, FrameInputs, Outcome, Request, Session, SnapshotWriter, Step};

/// An error reported by a simulation while advancing, saving or loading.
///
/// It carries a static description so that reporting it allocates nothing; the session wraps it in
/// [`Error::Simulation`](crate::Error::Simulation) together with the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimError {
    /// What went wrong.
    pub reason: &'static str,
}

impl SimError {
    /// An error with a static description.
    pub const fn new(reason: &'static str) -> Self {
        SimError { reason }
    }

    /// The error a simulation returns when the frame arena's cap is reached; the session reports it
    /// as [`Error::ArenaExhausted`].
    pub const SCRATCH_EXHAUSTED: SimError = SimError::new("frame arena exhausted");
}

impl core::fmt::Display for SimError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.reason)
    }
}

impl std::error::Error for SimError {}

/// A deterministic game state that a [`Driver`] can advance, save and load.
///
/// Determinism rules: the next state must be a pure function of the current state and the input
/// bytes. No floats, no hash-map iteration order, no `usize` in saved state, no clocks; randomness
/// comes from an RNG whose state is part of the saved state (see [`crate::Rng`]).
pub trait Simulation {
    /// Advances the state by one frame with every slot's input for it.
    ///
    /// `scratch` is a frame arena, reset before every call, for data that lives only during this
    /// frame (a spatial grid, a sort buffer). It is capped; allocate with its `try_` methods and
    /// report exhaustion as a [`SimError`].
    fn advance(&mut self, inputs: FrameInputs<'_>, scratch: &Bump) -> Result<(), SimError>;

    /// Writes the whole state into `out`. Optionally sets its own checksum with
    /// [`SnapshotWriter::set_checksum`]; otherwise the core hashes the bytes.
    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError>;

    /// Replaces the state by one previously written by [`Simulation::save`].
    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError>;
}

/// Fulfils every request of `step` with `sim`, in order.
///
/// Errors: [`Error::Simulation`] (or [`Error::ArenaExhausted`] for the frame arena) naming the frame
/// of the request that failed; [`Error::NoSuchSnapshot`] if a load finds nothing to load.
pub fn fulfil<S: Simulation + ?Sized>(step: &mut Step<'_>, sim: &mut S) -> Result<(), Error> {
    let cap = step.frame_arena_cap();
    let wrap = |frame, e| sim_error(frame, e, cap);
    for request in step.requests() {
        match *request {
            Request::SaveState { frame } => sim.save(&mut step.save(frame)).map_err(|e| wrap(frame, e))?,
            Request::LoadState { frame } => sim.load(step.load(frame)?).map_err(|e| wrap(frame, e))?,
            Request::AdvanceFrame { frame, inputs } => {
                sim.advance(inputs, step.frame_arena()).map_err(|e| wrap(frame, e))?
            }
        }
    }
    Ok(())
}

/// What fulfils a step's requests when it is told each one's frame: an engine whose save and load
/// take the frame (the C ABI's callbacks), driven by
/// [`Session::fulfil_open_step`](crate::Session::fulfil_open_step). A Rust [`Simulation`] does not
/// need the frames: [`Driver`] and [`Session::fulfil_step`](crate::Session::fulfil_step) fulfil
/// with it directly.
pub trait Fulfil {
    /// `SaveState { frame }`: writes the state at the start of `frame` into `out`.
    fn save(&mut self, frame: crate::Frame, out: &mut SnapshotWriter<'_>) -> Result<(), SimError>;
    /// `LoadState { frame }`: replaces the state by `snapshot`, the state saved for `frame`.
    fn load(&mut self, frame: crate::Frame, snapshot: &[u8]) -> Result<(), SimError>;
    /// `AdvanceFrame`: simulates `inputs.frame()` (`scratch`: the frame arena).
    fn advance(&mut self, inputs: FrameInputs<'_>, scratch: &Bump) -> Result<(), SimError>;
}

/// A [`Simulation`] as a [`Fulfil`] (the frames are not needed).
pub(crate) struct Plain<'a, S: ?Sized>(pub &'a mut S);

impl<S: Simulation + ?Sized> Fulfil for Plain<'_, S> {
    #[inline]
    fn save(&mut self, _frame: crate::Frame, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        self.0.save(out)
    }
    #[inline]
    fn load(&mut self, _frame: crate::Frame, snapshot: &[u8]) -> Result<(), SimError> {
        self.0.load(snapshot)
    }
    #[inline]
    fn advance(&mut self, inputs: FrameInputs<'_>, scratch: &Bump) -> Result<(), SimError> {
        self.0.advance(inputs, scratch)
    }
}

/// The session's error for a simulation's failure at `frame` (`cap`: the frame arena's size).
#[cold]
pub(crate) fn sim_error(frame: crate::Frame, e: SimError, cap: usize) -> Error {
    if e == SimError::SCRATCH_EXHAUSTED {
        Error::ArenaExhausted { arena: "scratch", cap }
    } else {
        Error::Simulation { frame, reason: e.reason }
    }
}

/// A session and the Rust simulation that fulfils its requests.
///
/// ```
/// use framelock_core::{Driver, Mode, SessionBuilder};
/// use framelock_core::arena::{Arena, ArenaParams, INPUT_SIZE};
///
/// let params = ArenaParams { players: 2, ..ArenaParams::default() };
/// let session = SessionBuilder::new(2)
///     .local_slots(0b11)
///     .max_input_size(INPUT_SIZE)
///     .max_snapshot_size(framelock_core::arena::snapshot_size_bound(&params))
///     .frame_arena_size(framelock_core::arena::scratch_size_bound(&params))
///     .mode(Mode::SyncTest { check_distance: 4 })
///     .build()?;
/// let mut driver = Driver::new(session, Arena::new(params).expect("valid params"));
/// for _ in 0..100 {
///     driver.session_mut().add_local_input(0, &[0b0001, 0])?;
///     driver.session_mut().add_local_input(1, &[0b1000, 0])?;
///     driver.advance()?;
/// }
/// assert_eq!(driver.sim().frame(), 100);
/// assert_eq!(driver.session_mut().poll_event(), None, "deterministic: no sync-test mismatch");
/// # Ok::<(), framelock_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Driver<S> {
    session: Session,
    sim: S,
}

impl<S: Simulation> Driver<S> {
    /// Pairs a session with the simulation state it drives (at frame 0).
    pub fn new(session: Session, sim: S) -> Self {
        Driver { session, sim }
    }

    /// Plans this tick and fulfils it: the same requests, in the same order, as
    /// [`Session::advance`] followed by [`fulfil`], taken from the plan directly (no request list
    /// is built). Returns whether the frame advanced.
    pub fn advance(&mut self) -> Result<Outcome, Error> {
        self.session.advance_with(&mut self.sim)
    }

    /// The session (for inputs, checksums, events).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The session, mutably.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// The simulation state.
    pub fn sim(&self) -> &S {
        &self.sim
    }

    /// The simulation state, mutably. Changing it outside a request breaks determinism.
    pub fn sim_mut(&mut self) -> &mut S {
        &mut self.sim
    }

    /// Both halves.
    pub fn into_parts(self) -> (Session, S) {
        (self.session, self.sim)
    }
}
