//! A room's settings and their validation: every value is checked before anything is allocated, and
//! a bad one is a [`RoomConfigError`] naming the setting.

use framelock_core::Frame;

use super::msg::MAX_MESSAGE;

/// A room's settings.
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// Player slots (1..=64).
    pub slots: u8,
    /// Frames per second (1..=120).
    pub tick_rate: u16,
    /// The largest input in bytes. One closed frame (every slot's input, 2 bytes of flags and length
    /// each) must fit one bundle: `slots × (2 + max_input_size)` at most [`MAX_FRAME_BYTES`].
    pub max_input_size: u8,
    /// A disconnected slot's input (at most `max_input_size` bytes).
    pub default_input: Vec<u8>,
    /// Closed frames kept for resending and for clients that join late or come back (1..=65536,
    /// rounded up to a power of two and at least 16; `history × slots` at most
    /// [`MAX_HISTORY_CELLS`] and `history × slots × max_input_size` at most [`MAX_HISTORY_BYTES`]).
    pub history: u32,
    /// How far past the frame being closed an input may be (1..=1024 frames).
    pub input_window: u32,
    /// Spectators the room admits besides its players (at most 1024).
    pub max_spectators: u16,
    /// The largest snapshot a member may send for a late joiner, in bytes (at most
    /// [`MAX_SNAPSHOT_SIZE`]; 0: no snapshot transfers, a member behind the history stays behind).
    /// The room allocates a buffer of this size at its first transfer.
    pub max_snapshot_size: u32,
    /// The clients' snapshot checksum is the core's `checksum64` of the snapshot bytes (their
    /// simulation does not set its own checksum): the relay then checks a snapshot's bytes itself.
    /// With `false` a snapshot whose provider claims the agreed checksum is passed on, and the
    /// joiner checks it after loading (reporting a mismatch, so the provider is skipped).
    pub snapshot_hashed: bool,
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            slots: 2,
            tick_rate: 30,
            max_input_size: 8,
            default_input: Vec::new(),
            history: 4096,
            input_window: 64,
            max_spectators: 8,
            max_snapshot_size: 256 * 1024,
            snapshot_hashed: true,
        }
    }
}

/// The bytes one closed frame may take in a bundle: a bundle's header (14 bytes), the desync
/// reports it repeats (1 + 4 × 20 bytes) and one frame must fit one message.
pub const MAX_FRAME_BYTES: usize = MAX_MESSAGE - 14 - 81;
/// The largest closed-frame history in bytes of input (`history × slots × max_input_size`).
pub const MAX_HISTORY_BYTES: u64 = 64 << 20;
/// The largest closed-frame history in slot-frames (`history × slots`).
pub const MAX_HISTORY_CELLS: u64 = 1 << 20;
/// The largest `history`.
pub const MAX_HISTORY: u32 = 1 << 16;
/// The largest `input_window`.
pub const MAX_INPUT_WINDOW: u32 = 1024;
/// The most spectators per room.
pub const MAX_SPECTATORS: u16 = 1024;
/// The largest `max_snapshot_size` (32 MiB).
pub const MAX_SNAPSHOT_SIZE: u32 = 32 << 20;
/// The last frame a room closes. A room's frame clock ends there (a core session cannot simulate
/// frames from `Frame::MAX - 1` on); the match is over, see [`Room::is_over`](super::Room::is_over).
pub const LAST_FRAME: Frame = Frame::MAX - 2;

/// A room setting that is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomConfigError {
    /// The setting (`RoomConfig`'s field name).
    pub setting: &'static str,
    /// What it must be.
    pub reason: &'static str,
}

impl core::fmt::Display for RoomConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "room setting `{}` {}", self.setting, self.reason)
    }
}

impl std::error::Error for RoomConfigError {}

impl RoomConfig {
    /// Checks every setting.
    pub fn validate(&self) -> Result<(), RoomConfigError> {
        let bad = |setting, reason| Err(RoomConfigError { setting, reason });
        if !(1..=64).contains(&self.slots) {
            return bad("slots", "must be 1..=64");
        }
        if !(1..=120).contains(&self.tick_rate) {
            return bad("tick_rate", "must be 1..=120");
        }
        if usize::from(self.slots) * (2 + usize::from(self.max_input_size)) > MAX_FRAME_BYTES {
            return bad("max_input_size", "is too large for one frame of every slot to fit a bundle");
        }
        if self.default_input.len() > usize::from(self.max_input_size) {
            return bad("default_input", "is longer than max_input_size");
        }
        if !(1..=MAX_HISTORY).contains(&self.history) {
            return bad("history", "must be 1..=65536");
        }
        let rows = u64::from(self.history.max(16).next_power_of_two());
        if rows * u64::from(self.slots) > MAX_HISTORY_CELLS {
            return bad("history", "times slots must be at most 1048576");
        }
        if rows * u64::from(self.slots) * u64::from(self.max_input_size) > MAX_HISTORY_BYTES {
            return bad("history", "times slots times max_input_size must be at most 64 MiB");
        }
        if !(1..=MAX_INPUT_WINDOW).contains(&self.input_window) {
            return bad("input_window", "must be 1..=1024");
        }
        if self.max_spectators > MAX_SPECTATORS {
            return bad("max_spectators", "must be at most 1024");
        }
        if self.max_snapshot_size > MAX_SNAPSHOT_SIZE {
            return bad("max_snapshot_size", "must be at most 32 MiB");
        }
        Ok(())
    }
}
