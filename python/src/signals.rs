//! Ctrl-C inside native loops that run without the GIL: every few thousand iterations the loop
//! takes the GIL for a moment and runs Python's pending signal handlers. A handler that raises
//! (`KeyboardInterrupt` for SIGINT) stops the loop with that exception.

use framelock_core::{FrameInputs, SimError, Simulation, SnapshotWriter};
use pyo3::prelude::*;

/// Runs pending signal handlers (on the main thread; elsewhere Python runs none and this is
/// `Ok`). Must be called without the GIL held by this thread's caller.
pub fn check() -> PyResult<()> {
    Python::attach(|py| py.check_signals())
}

/// Frames between two signal checks of an [`Interruptible`] simulation.
const CHECK_FRAMES: u32 = 2048;

/// A simulation that checks for signals every [`CHECK_FRAMES`] advances and fails once a signal
/// handler raised, so that a core loop that only knows simulation errors (replay verify and
/// seek) stops early. The exception is kept in `raised`.
pub struct Interruptible<'a, S> {
    pub sim: &'a mut S,
    count: u32,
    pub raised: Option<PyErr>,
}

impl<'a, S> Interruptible<'a, S> {
    pub fn new(sim: &'a mut S) -> Self {
        Interruptible { sim, count: 0, raised: None }
    }

    /// The reason a stopped loop reports (replaced by `raised` before it reaches Python).
    pub const INTERRUPTED: SimError = SimError::new("interrupted by a signal");
}

impl<S: Simulation> Simulation for Interruptible<'_, S> {
    fn advance(&mut self, inputs: FrameInputs<'_>, scratch: &framelock_core::Bump) -> Result<(), SimError> {
        self.count = self.count.wrapping_add(1);
        if self.count % CHECK_FRAMES == 0 {
            if let Err(e) = check() {
                self.raised = Some(e);
            }
        }
        if self.raised.is_some() {
            return Err(Self::INTERRUPTED);
        }
        self.sim.advance(inputs, scratch)
    }

    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        self.sim.save(out)
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        self.sim.load(snapshot)
    }
}
