//! The `Simulation` trait that Rust game states implement, and the `Driver` that fulfils a
//! session's requests with one.

use bumpalo::Bump;

use crate::{FrameInputs, SnapshotWriter};

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
