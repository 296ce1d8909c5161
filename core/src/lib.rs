//! # framelock-core
//!
//! QUICKSTART_PLACEHOLDER
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checksum;
mod config;
mod error;
mod event;
mod history;
mod input;
mod ledger;
mod session;
mod simulation;
mod snapshot;
mod step;

pub mod fixed;
pub mod rng;
pub mod testing;

#[cfg(feature = "arena")]
pub mod arena;

pub use bumpalo::Bump;
pub use checksum::checksum64;
pub use config::{Authority, Mode, Predictor, RepeatLast, SessionBuilder, MAX_INPUT_DELAY, MAX_INPUT_SIZE, MAX_ROLLBACK, MAX_SLOTS};
pub use error::Error;
pub use event::Event;
pub use session::{Session, SessionStats, SyncTestEvidence};
pub use step::{Outcome, Request, Step};
pub use input::{FrameInputs, InputStatus, PlayerInput};
pub use rng::Rng;
pub use simulation::{fulfil, Driver, SimError, Simulation};
pub use snapshot::{SnapshotReader, SnapshotWriter};

/// A frame number, counted from 0.
pub type Frame = u32;
/// A player slot index, `0..slots` (at most 64 slots).
pub type Slot = usize;
/// A set of slots: bit `s` stands for slot `s`.
pub type SlotMask = u64;

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
