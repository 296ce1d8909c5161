//! Recorded input logs: a compact, chunked, CRC-checked file of every confirmed input of a match,
//! with a checksum track and optional keyframe snapshots; and replaying one to verify or seek.
//!
//! The byte layout is specified in `docs/replay-format.md`. In short:
//!
//! ```text
//! file   := magic "FLOG\r\n\x1a\n" | version u16 | min_reader u16 | header_len u32 | header | crc32 u32 | chunk* | end
//! chunk  := kind u8 | body_len u32 | body | crc32 u32          (CRC over kind, body_len and body)
//! end    := chunk of kind 3: frames u32 | end_frame u32 | chunks u32 | digest u32 (CRC-32 of all CRCs before)
//! frames := first_frame u32 | count u16 | frame* | checksums u16 | (frame u32, checksum u64)*
//! frame  := changed-slot mask (ceil(slots / 8) bytes) | (flags u8, len u16, bytes) per changed slot
//! ```
//!
//! Each frames chunk starts from "every slot holds the default input", so it decodes on its own
//! (seeking never reads earlier chunks); a frame where no input changed costs `ceil(slots / 8)`
//! bytes. A writer killed mid-chunk leaves a file whose whole chunks all read back, reported as
//! truncated: only [`LogWriter::finish`] writes the end chunk that proves a log whole.
//!
//! ```
//! use framelock_core::replay::{LogHeader, LogReader, LogWriter, LoggedInput};
//!
//! let header = LogHeader::new(2, 2);
//! let mut w = LogWriter::new(Vec::new(), header)?;
//! for frame in 0..100 {
//!     let b = [(frame / 10) as u8, 0];
//!     w.record_inputs(frame, &[LoggedInput::confirmed(&b), LoggedInput::confirmed(&[])])?;
//!     if frame % 60 == 0 {
//!         w.record_checksum(frame, 0xfeed + u64::from(frame))?;
//!     }
//! }
//! let bytes = w.finish()?;
//! let log = LogReader::parse(&bytes)?;
//! assert_eq!(log.frames(), 100);
//! let mut cursor = log.cursor_at(42)?;
//! let frame = cursor.next_frame()?.expect("frame 42");
//! assert_eq!((frame.frame(), frame.input(0).bytes), (42, &[4u8, 0][..]));
//! assert_eq!(log.checksums().collect::<Vec<_>>(), vec![(0, 0xfeed), (60, 0xfeed + 60)]);
//! # Ok::<(), framelock_core::Error>(())
//! ```

mod chunk;
mod codec;
mod consistency;
mod header;
mod reader;
mod stream;
mod verify;
mod verify_stream;
mod writer;

pub use chunk::MAX_FRAMES_CHUNK_BODY;
pub use codec::crc32;
pub use header::{
    LogHeader, SessionKind, FORMAT_VERSION, MAGIC, MIN_READER_WRITTEN, OLDEST_READABLE_VERSION, XXH3_SINCE_VERSION,
};
pub use reader::{Completeness, FrameCursor, LogReader, LoggedFrame, Trailer};
pub use stream::{LogEvent, LogStream, StreamedKeyframe, STREAM_CHECKSUM_WINDOW};
pub use verify::{Replay, VerifyReport};
pub use verify_stream::{StreamReplay, STREAM_PENDING_CHECKSUMS};
pub use writer::LogWriter;

use crate::{Frame, InputStatus};

/// Flag bit of a logged input: the slot was disconnected (its bytes are the default input).
pub const FLAG_DISCONNECTED: u8 = 1;
/// Flag bit of a logged input: the authority substituted this input for a late one.
pub const FLAG_SUBSTITUTED: u8 = 2;

/// Chunk kind: a run of frames and the checksums recorded while it was open.
pub(crate) const CHUNK_FRAMES: u8 = 1;
/// Chunk kind: a keyframe snapshot.
pub(crate) const CHUNK_KEYFRAME: u8 = 2;
/// Chunk kind (format 2): the end chunk, last in the file, proving it whole.
pub(crate) const CHUNK_END: u8 = 3;
/// The largest chunk body a reader accepts (a keyframe snapshot can be large, frames chunks are small).
pub const MAX_CHUNK_BODY: u32 = 1 << 30;

/// One slot's confirmed input for one frame, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedInput<'a> {
    /// [`FLAG_DISCONNECTED`] and/or [`FLAG_SUBSTITUTED`].
    pub flags: u8,
    /// The input bytes.
    pub bytes: &'a [u8],
}

impl<'a> LoggedInput<'a> {
    /// A plain confirmed input.
    pub fn confirmed(bytes: &'a [u8]) -> Self {
        LoggedInput { flags: 0, bytes }
    }

    /// The status the simulation saw for this input.
    pub fn status(&self) -> InputStatus {
        if self.flags & FLAG_DISCONNECTED != 0 {
            InputStatus::Disconnected
        } else if self.flags & FLAG_SUBSTITUTED != 0 {
            InputStatus::Substituted
        } else {
            InputStatus::Confirmed
        }
    }
}

/// Where a keyframe is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyframe {
    /// The frame whose starting state the snapshot holds.
    pub frame: Frame,
    /// File offset of the snapshot bytes.
    pub offset: u64,
    /// Length of the snapshot in bytes.
    pub len: u32,
}
