//! [`RelayConfig`] validation and the memory a room takes.

use std::fmt;
use std::time::Duration;

use crate::netcode::ServerConfigError;
use crate::relay::RelayConfig;
use crate::sync::{RoomConfig, RoomConfigError};

/// The most rooms one relay may be configured for.
pub const MAX_ROOMS: usize = 65_536;
/// The longest [`RelayConfig::room_idle`], one day.
pub const MAX_ROOM_IDLE: Duration = Duration::from_secs(86_400);
/// The longest match, in frames ([`RelayConfig::match_frames`]): 2^31, below where the room's frame
/// clock ends.
pub const MAX_MATCH_FRAMES: u32 = 1 << 31;

/// An invalid [`RelayConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayConfigError {
    /// The connection layer's settings (`RelayConfig::netcode`) are invalid.
    Netcode(ServerConfigError),
    /// The settings rooms are created with (`RelayConfig::room`) are invalid.
    Room(RoomConfigError),
    /// A numeric setting is outside its range.
    OutOfRange {
        /// The setting, as a field path (`"max_rooms"`, `"room_idle"`...).
        setting: &'static str,
        /// Its value (seconds for durations, saturated to `u64::MAX`).
        value: u64,
        /// The smallest valid value.
        min: u64,
        /// The largest valid value.
        max: u64,
    },
}

impl fmt::Display for RelayConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Netcode(e) => write!(f, "RelayConfig.netcode: {e}"),
            Self::Room(e) => write!(f, "RelayConfig.room: {e}"),
            Self::OutOfRange { setting, value, min, max } => {
                write!(f, "RelayConfig.{setting} = {value} is out of range {min}..={max}")
            }
        }
    }
}

impl std::error::Error for RelayConfigError {}

fn in_range(setting: &'static str, value: u64, min: u64, max: u64) -> Result<(), RelayConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(RelayConfigError::OutOfRange { setting, value, min, max })
    }
}

impl RelayConfig {
    /// Checks every setting the relay itself has (the connection layer's are checked by the server,
    /// and reported as [`RelayConfigError::Netcode`]): `room.slots` in `1..=64`, `max_rooms` in
    /// `1..=`[`MAX_ROOMS`],
    /// `room_idle` at most [`MAX_ROOM_IDLE`] (whole seconds count; a fraction over is out of
    /// range), `match_frames` at most [`MAX_MATCH_FRAMES`]; and the room settings
    /// ([`RoomConfig::validate`], reported as [`RelayConfigError::Room`]), so that a relay never
    /// starts with rooms it could not open.
    pub fn validate(&self) -> Result<(), RelayConfigError> {
        // The relay maps token slots onto the room's members by this number.
        in_range("room.slots", u64::from(self.room.slots), 1, 64)?;
        self.room.validate().map_err(RelayConfigError::Room)?;
        in_range("max_rooms", self.max_rooms as u64, 1, MAX_ROOMS as u64)?;
        let idle = self.room_idle;
        if idle > MAX_ROOM_IDLE {
            let secs = idle.as_secs().max(MAX_ROOM_IDLE.as_secs() + 1);
            return in_range("room_idle", secs, 0, MAX_ROOM_IDLE.as_secs());
        }
        in_range("match_frames", u64::from(self.match_frames), 0, u64::from(MAX_MATCH_FRAMES))
    }
}

/// About how many heap bytes one open room takes on the relay with `cfg` (the room's buffers and
/// the relay's member table; a recording adds its own). Dominated by the closed-frame history:
/// `history × slots × (max_input_size + 2 + 16)` bytes (inputs, their lengths and flags, and one
/// reported checksum per slot).
pub fn room_bytes(cfg: &RoomConfig) -> usize {
    let slots = usize::from(cfg.slots.clamp(1, 64));
    let input = usize::from(cfg.max_input_size);
    let history = cfg.history.max(16).checked_next_power_of_two().unwrap_or(1 << 31) as usize;
    let window = cfg.input_window.max(4) as usize;
    let members = slots + usize::from(cfg.max_spectators);
    let history_bytes = history.saturating_mul(slots).saturating_mul(input + 2 + 16);
    let window_bytes = window.saturating_mul(slots).saturating_mul(input + 2);
    // Per member: the room's member record and the relay's route (32 + 16 bytes).
    let member_bytes = members * 48;
    history_bytes
        .saturating_add(window_bytes)
        .saturating_add(member_bytes)
        .saturating_add(slots * (input + 1) + cfg.default_input.len() + 1024)
}
