//! Frame sync over a relay: the messages, the relay's room and the player's client, all sans-IO.
//!
//! The relay owns the frame clock. Every tick it closes one frame with every slot's input (a late or
//! missing one replaced by the slot's previous input, flagged substituted) and sends each client
//! the closed frames it has not acknowledged. Clients run a core session under relay authority:
//! their own inputs are proposals that predict their slot until the relay's bundle confirms (or
//! substitutes) them. Clients report checksums of final frames; the relay compares them and reports
//! disagreements. A client that joins or comes back after the room's history moved on starts from
//! a snapshot another member provides and the relay verifies against the agreed checksum.

pub mod client;
pub mod config;
pub mod msg;
pub mod room;

pub use client::{ClientStats, RoomClient};
pub use config::{RoomConfig, RoomConfigError};
pub use room::{Room, RoomStats, TransferStats};
