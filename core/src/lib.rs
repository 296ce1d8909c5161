//! # framelock-core
//!
//! A deterministic frame-sync engine for multiplayer games: lockstep, rollback (GGPO-style) and
//! sync-test sessions over any game state, with no heap allocation per tick. It is sans-IO: it
//! never touches sockets, clocks, threads or OS randomness; you hand it inputs and it hands back
//! the ordered requests (save, load, advance) that keep every peer's state identical.
//!
//! ## Quick start
//!
//! A rollback session for two players, driving a game state you own:
//!
//! ```
//! use framelock_core::{Mode, Request, SessionBuilder, SnapshotReader};
//!
//! // The game: one counter per player, moved by each frame's input byte.
//! let mut state = [0i32; 2];
//!
//! let mut session = SessionBuilder::new(2)
//!     .local_slot(0)                                   // slot 1 is a remote peer
//!     .max_input_size(1)
//!     .mode(Mode::Rollback { max_prediction: 8 })
//!     .max_snapshot_size(64)
//!     .build()?;
//!
//! for tick in 0..60u32 {
//!     session.add_local_input(0, &[1])?;
//!     if tick >= 3 {
//!         // The peer's input for frame `tick - 3` arrives three frames late.
//!         session.add_remote_input(1, tick - 3, &[2])?;
//!     }
//!     let mut step = session.advance()?;
//!     for request in step.requests() {
//!         match *request {
//!             Request::SaveState { frame } => {
//!                 let mut out = step.save(frame);
//!                 for v in state {
//!                     out.write_i32(v).expect("fits max_snapshot_size");
//!                 }
//!             }
//!             Request::LoadState { frame } => {
//!                 let mut r = SnapshotReader::new(step.load(frame)?);
//!                 for v in &mut state {
//!                     *v = r.read_i32().expect("saved above");
//!                 }
//!             }
//!             Request::AdvanceFrame { inputs, .. } => {
//!                 for p in inputs.iter() {
//!                     state[p.slot] += i32::from(p.bytes.first().copied().unwrap_or(0));
//!                 }
//!             }
//!         }
//!     }
//! }
//! // 60 frames simulated; the last three on a prediction of the peer's input, which was right.
//! assert_eq!(session.current_frame(), 60);
//! assert_eq!(state, [60, 120]);
//! assert_eq!(session.confirmed_until(), 57);
//! # Ok::<(), framelock_core::Error>(())
//! ```
//!
//! Rust game states can implement [`Simulation`] and let a [`Driver`] fulfil the requests.
//!
//! ## What is where
//!
//! - [`SessionBuilder`] configures a [`Session`]: slots, input size, [`Mode`], [`Authority`],
//!   input delay, snapshot capacity, frame arena cap, [`Predictor`].
//! - [`Session::advance`] returns a [`Step`]: its [`Request`]s live in a frame arena and are valid
//!   until the step is dropped; snapshots are written into core-owned buffers
//!   ([`SnapshotWriter`]) and read back from them.
//! - Checksums of confirmed frames ([`Session::checksum`]) are compared with remote ones
//!   ([`Session::add_remote_checksum`]); differences become [`Event`]s.
//! - [`fixed::Fixed`] and [`Rng`] are the determinism toolkit; [`arena`] is the reference
//!   simulation (demo, fixture and benchmark load); [`testing::HashSim`] is a trivial state.
//!
//! ## Determinism rules for simulations
//!
//! The next state must be a pure function of the state and the input bytes: no floats, no
//! hash-map iteration order, no `usize` or wall-clock time in the state, randomness from an RNG
//! stored in the state. A [`Mode::SyncTest`] session checks a simulation for you.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checksum;
mod config;
mod error;
mod event;
mod history;
mod input;
mod ledger;
mod plan;
mod session;
mod simulation;
mod snapshot;
mod step;

pub mod fixed;
pub mod replay;
pub mod rng;
pub mod testing;

#[cfg(feature = "arena")]
pub mod arena;

pub use bumpalo::Bump;
pub use checksum::{checksum64, checksum64_v1};
pub use config::{
    Authority, Mode, Predictor, RepeatLast, SessionBuilder, MAX_INPUT_DELAY, MAX_INPUT_SIZE, MAX_ROLLBACK, MAX_SLOTS,
};
pub use error::Error;
pub use event::Event;
pub use input::{FrameInputs, InputStatus, PlayerInput};
pub use rng::Rng;
pub use session::{Session, SessionStats, SyncTestEvidence};
pub use simulation::{fulfil, Driver, Fulfil, SimError, Simulation};
pub use snapshot::{SnapshotReader, SnapshotWriter};
pub use step::{Outcome, Request, Step};

/// A frame number, counted from 0.
pub type Frame = u32;
/// A player slot index, `0..slots` (at most 64 slots).
pub type Slot = usize;
/// A set of slots: bit `s` stands for slot `s`.
pub type SlotMask = u64;

/// The README's Rust examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
