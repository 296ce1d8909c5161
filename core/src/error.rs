//! The one error type of the crate.

use core::fmt;

use crate::{Frame, Slot};

/// Everything that can go wrong in `framelock-core`.
///
/// Every variant says what was wrong and where (which slot, which frame, which limit), so a message
/// built from it is enough to debug the call that caused it. Errors are `Copy` and never allocate:
/// returning one from a tick keeps the tick allocation-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is outside its allowed range.
    InvalidConfig {
        /// The name of the builder setting.
        setting: &'static str,
        /// Why the value was refused.
        reason: &'static str,
    },
    /// A slot index is not below the configured number of slots.
    UnknownSlot {
        /// The slot that was named.
        slot: Slot,
        /// The configured number of slots.
        slots: usize,
    },
    /// A local input was added for a slot that is not local (or a remote one for a local slot in P2P).
    WrongSlotKind {
        /// The slot that was named.
        slot: Slot,
        /// What the slot is (`"local"` or `"remote"`).
        is: &'static str,
    },
    /// An input is longer than the configured `max_input_size`.
    InputTooLong {
        /// The slot the input was for.
        slot: Slot,
        /// The length of the input.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// An input arrived for a frame whose input for this slot is already confirmed.
    AlreadyConfirmed {
        /// The slot the input was for.
        slot: Slot,
        /// The frame the input was for.
        frame: Frame,
    },
    /// An input arrived for a frame older than the session still keeps.
    FrameTooOld {
        /// The slot the input was for.
        slot: Slot,
        /// The frame the input was for.
        frame: Frame,
        /// The oldest frame the session still accepts input for.
        oldest: Frame,
    },
    /// An input arrived for a frame too far in the future for the input window.
    BeyondWindow {
        /// The slot the input was for.
        slot: Slot,
        /// The frame the input was for.
        frame: Frame,
        /// The newest frame the session accepts input for right now.
        newest: Frame,
    },
    /// `advance` was called before this tick's input of a local slot was added.
    MissingLocalInput {
        /// The local slot without input.
        slot: Slot,
        /// The frame that needs it.
        frame: Frame,
    },
    /// A slot that is already disconnected was disconnected again, or its disconnect frame is not after
    /// its last confirmed input.
    InvalidDisconnect {
        /// The slot.
        slot: Slot,
        /// The frame that was asked for.
        frame: Frame,
        /// The earliest frame it could be disconnected from.
        earliest: Frame,
    },
    /// A remote checksum names a frame the local history no longer holds (or never held: lockstep
    /// sessions record checksums only every `checksum_interval` frames).
    ChecksumUnavailable {
        /// The frame of the remote checksum.
        frame: Frame,
        /// The slot that sent it.
        slot: Slot,
    },
    /// Remote checksums for frames not yet confirmed locally filled their preallocated queue.
    ChecksumQueueFull {
        /// The configured capacity of the queue.
        capacity: usize,
    },
    /// A frame arena reached its configured cap.
    ArenaExhausted {
        /// Which arena (`"requests"` or `"scratch"`).
        arena: &'static str,
        /// The configured cap in bytes.
        cap: usize,
    },
    /// A snapshot did not fit the configured `max_snapshot_size`.
    SnapshotTooLarge {
        /// The frame being saved.
        frame: Frame,
        /// The configured capacity in bytes.
        capacity: usize,
    },
    /// A request of the step was not for this frame, or the state asked for is not in the ring.
    NoSuchSnapshot {
        /// The frame asked for.
        frame: Frame,
    },
    /// A step request was fulfilled while no step is open (see `Session::begin_step`).
    NoOpenStep,
    /// The frame counter would pass `u32::MAX`.
    FrameOverflow,
    /// An input log is not in the expected format: `what` was wrong at file offset `byte` (in chunk
    /// `chunk`, counted from 0, when inside one).
    LogCorrupt {
        /// What was wrong.
        what: &'static str,
        /// The file offset.
        byte: u64,
        /// The chunk, when the problem is inside one.
        chunk: Option<u32>,
    },
    /// A chunk of an input log does not match its CRC.
    LogChunkCrc {
        /// The chunk, counted from 0.
        chunk: u32,
        /// The file offset of the chunk.
        byte: u64,
    },
    /// An input log ends in the middle of a chunk (or of its header): everything before is readable.
    LogTruncated {
        /// The file offset where the file ends.
        byte: u64,
        /// The chunk that is cut short (`None`: the header).
        chunk: Option<u32>,
    },
    /// An input log's format version is one this reader cannot read.
    LogUnsupportedVersion {
        /// The version the file was written with.
        version: u16,
        /// The oldest reader version the file says can read it.
        min_reader: u16,
        /// The version this reader implements.
        supported: u16,
    },
    /// The frames of an input log (or the frames given to a log writer) are not consecutive.
    LogFramesOutOfOrder {
        /// The frame that should come next.
        expected: Frame,
        /// The frame that came.
        found: Frame,
    },
    /// An input log's parts contradict each other at a frame: two different checksums for it, a
    /// checksum or keyframe for a frame the log does not hold, or a keyframe that is not the state
    /// at its frame.
    LogInconsistent {
        /// What contradicts what.
        what: &'static str,
        /// The frame.
        frame: Frame,
    },
    /// An input log does not fit what it is used with (another simulation, other slots).
    LogMismatch {
        /// What does not fit.
        what: &'static str,
    },
    /// Reading or writing a log failed in the operating system.
    Io {
        /// The kind of I/O error.
        kind: std::io::ErrorKind,
    },
    /// A replay computed a different checksum than the one recorded: the first divergent frame.
    ReplayDiverged {
        /// The frame whose starting state differs.
        frame: Frame,
        /// The recorded checksum.
        expected: u64,
        /// The replay's checksum.
        actual: u64,
    },
    /// The simulation reported an error while fulfilling a request.
    Simulation {
        /// The frame being simulated, saved or loaded.
        frame: Frame,
        /// The simulation's own description.
        reason: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::InvalidConfig { setting, reason } => write!(f, "invalid configuration: `{setting}` {reason}"),
            Error::UnknownSlot { slot, slots } => write!(f, "slot {slot} does not exist (the session has {slots} slots)"),
            Error::WrongSlotKind { slot, is } => write!(f, "slot {slot} is a {is} slot"),
            Error::InputTooLong { slot, len, max } => {
                write!(f, "input for slot {slot} is {len} bytes, more than max_input_size {max}")
            }
            Error::AlreadyConfirmed { slot, frame } => {
                write!(f, "input for slot {slot} at frame {frame} is already confirmed")
            }
            Error::FrameTooOld { slot, frame, oldest } => write!(
                f,
                "input for slot {slot} at frame {frame} is too old: the oldest frame still accepted is {oldest}"
            ),
            Error::BeyondWindow { slot, frame, newest } => write!(
                f,
                "input for slot {slot} at frame {frame} is beyond the input window: the newest frame accepted now is {newest}"
            ),
            Error::MissingLocalInput { slot, frame } => {
                write!(f, "advance needs the input of local slot {slot} for frame {frame}, which was not added")
            }
            Error::InvalidDisconnect { slot, frame, earliest } => write!(
                f,
                "slot {slot} cannot be disconnected from frame {frame}: the earliest possible frame is {earliest}"
            ),
            Error::ChecksumUnavailable { frame, slot } => write!(
                f,
                "remote checksum of slot {slot} for frame {frame} cannot be compared: no local checksum of that frame is kept"
            ),
            Error::ChecksumQueueFull { capacity } => {
                write!(f, "the queue of early remote checksums is full ({capacity} entries)")
            }
            Error::ArenaExhausted { arena, cap } => write!(f, "the {arena} frame arena exceeded its cap of {cap} bytes"),
            Error::SnapshotTooLarge { frame, capacity } => {
                write!(f, "the snapshot of frame {frame} exceeds max_snapshot_size ({capacity} bytes)")
            }
            Error::NoSuchSnapshot { frame } => write!(f, "no snapshot of frame {frame} is held"),
            Error::NoOpenStep => write!(f, "no step is open: call begin_step first"),
            Error::FrameOverflow => write!(f, "the frame counter would overflow u32"),
            Error::LogCorrupt { what, byte, chunk: Some(chunk) } => {
                write!(f, "input log is corrupt: {what} at byte {byte} in chunk {chunk}")
            }
            Error::LogCorrupt { what, byte, chunk: None } => write!(f, "input log is corrupt: {what} at byte {byte}"),
            Error::LogChunkCrc { chunk, byte } => {
                write!(f, "input log is corrupt: chunk {chunk} (at byte {byte}) fails its CRC")
            }
            Error::LogTruncated { byte, chunk: Some(chunk) } => {
                write!(f, "input log is truncated at byte {byte} in chunk {chunk}")
            }
            Error::LogTruncated { byte, chunk: None } => write!(f, "input log is truncated at byte {byte} in its header"),
            Error::LogUnsupportedVersion { version, min_reader, supported } => write!(
                f,
                "input log format version {version} needs a reader of version {min_reader} or newer; this one reads version {supported}"
            ),
            Error::LogFramesOutOfOrder { expected, found } => {
                write!(f, "input log frames out of order: expected frame {expected}, found {found}")
            }
            Error::LogInconsistent { what, frame } => write!(f, "input log is corrupt: {what} (frame {frame})"),
            Error::LogMismatch { what } => write!(f, "input log does not fit: {what}"),
            Error::Io { kind } => write!(f, "I/O error: {kind}"),
            Error::ReplayDiverged { frame, expected, actual } => write!(
                f,
                "replay diverged at frame {frame}: recorded checksum {expected:#018x}, replay computed {actual:#018x}"
            ),
            Error::Simulation { frame, reason } => write!(f, "the simulation failed at frame {frame}: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io { kind: e.kind() }
    }
}
