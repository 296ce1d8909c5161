//! # framelock-core
//!
//! QUICKSTART_PLACEHOLDER
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checksum;
mod error;
mod input;
mod simulation;
mod snapshot;

pub mod fixed;
pub mod rng;

#[cfg(feature = "arena")]
pub mod arena;

pub use bumpalo::Bump;
pub use checksum::checksum64;
pub use error::Error;
pub use input::{FrameInputs, InputStatus, PlayerInput};
pub use rng::Rng;
pub use simulation::{SimError, Simulation};
pub use snapshot::{SnapshotReader, SnapshotWriter};

/// A frame number, counted from 0.
pub type Frame = u32;
/// A player slot index, `0..slots` (at most 64 slots).
pub type Slot = usize;
/// A set of slots: bit `s` stands for slot `s`.
pub type SlotMask = u64;

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
