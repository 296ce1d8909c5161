//! `framelock demo --record FILE`: one peer's confirmed frames, written to an input log while the
//! match runs.
//!
//! The recorder is called once per tick with the recording peer's session (built with
//! `record_confirmed(true)`) and hands it to [`LogWriter::record_from`], which writes the newly
//! confirmed frames, a checksum every [`CHECKSUM_INTERVAL`] frames and a keyframe every
//! [`KEYFRAME_INTERVAL`] frames. The log holds exactly the match's frames: at the finish line the
//! peers have already sent inputs for a few frames past the end (their input delay), so from the
//! tick where the session confirms the last frame on, the recorder takes frames, checksums and
//! keyframes one by one and stops at the end of the match.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use framelock_core::arena::{self, ArenaParams, INPUT_SIZE, NEUTRAL_INPUT};
use framelock_core::replay::{LogHeader, LogWriter, SessionKind};
use framelock_core::{Frame, Mode, Session};

/// A checksum is recorded every this many frames.
pub const CHECKSUM_INTERVAL: u32 = 60;
/// A keyframe (a snapshot, for seeking) is recorded every this many frames.
pub const KEYFRAME_INTERVAL: u32 = 600;
/// The frame rate a log says the match ran at.
pub const TICK_RATE: u16 = 60;

/// Why recording failed.
#[derive(Debug)]
pub enum RecordError {
    /// The file could not be created.
    Create {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// Writing the log failed.
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        error: String,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Create { path, error } => {
                write!(f, "cannot create the input log {}: {error}", path.display())
            }
            RecordError::Write { path, error } => write!(f, "cannot write the input log {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for RecordError {}

/// The header of a log of an arena match: `players` slots of [`INPUT_SIZE`] bytes at
/// [`TICK_RATE`] Hz, the neutral input as default, the params encoded with
/// [`arena::encode_params`], this program as creator and now as creation time.
pub fn arena_header(params: &ArenaParams, mode: Mode) -> LogHeader {
    let mut h = LogHeader::new(params.players, INPUT_SIZE as u16);
    h.tick_rate = TICK_RATE;
    h.session = SessionKind::from(mode);
    h.default_input = NEUTRAL_INPUT.to_vec();
    h.checksum_interval = CHECKSUM_INTERVAL;
    h.keyframe_interval = KEYFRAME_INTERVAL;
    h.simulation = arena::SIMULATION_ID.to_string();
    h.sim_params = arena::encode_params(params);
    h.creator = format!("framelock-cli {}", env!("CARGO_PKG_VERSION"));
    // The core has no clock; the CLI may read one. Before 1970 counts as unknown (0).
    h.created_unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    h
}

/// What was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The file.
    pub path: PathBuf,
    /// Frames in the log.
    pub frames: Frame,
    /// The file's size in bytes.
    pub bytes: u64,
}

/// Writes one session's confirmed frames below `end` to a log file.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    writer: LogWriter<BufWriter<File>>,
    /// Frames below this are recorded; the log ends here.
    end: Frame,
    checksum_interval: u32,
    keyframe_interval: u32,
    /// The next frame whose final checksum (and keyframe) is looked for.
    next_final: Frame,
}

impl Recorder {
    /// Creates (or replaces) `path` and writes the header; the log will hold frames below `end`.
    pub fn create(path: &Path, header: LogHeader, end: Frame) -> Result<Recorder, RecordError> {
        let file = File::create(path).map_err(|error| RecordError::Create { path: path.to_path_buf(), error })?;
        let (checksum_interval, keyframe_interval, first) =
            (header.checksum_interval, header.keyframe_interval, header.first_frame);
        let writer = LogWriter::new(BufWriter::new(file), header)
            .map_err(|e| RecordError::Write { path: path.to_path_buf(), error: e.to_string() })?;
        Ok(Recorder { path: path.to_path_buf(), writer, end, checksum_interval, keyframe_interval, next_final: first })
    }

    fn write_error(&self, e: framelock_core::Error) -> RecordError {
        RecordError::Write { path: self.path.clone(), error: e.to_string() }
    }

    /// Records what `session` confirmed since the last call (call it every tick, after advancing).
    pub fn record(&mut self, session: &mut Session) -> Result<(), RecordError> {
        if session.confirmed_until() < self.end {
            // The usual case. Checksums are final only for frames up to one past the confirmed
            // ones, so `record_from` cannot write anything at or past `end` here.
            self.writer.record_from(session).map_err(|e| self.write_error(e))?;
            self.next_final = self.next_final.max(session.checksummed_until());
            return Ok(());
        }
        // The finish line: the session confirmed frames past the end; stop at the end.
        while self.writer.next_frame() < self.end {
            let Some(inputs) = session.poll_confirmed() else { break };
            self.writer.record_frame(inputs).map_err(|e| self.write_error(e))?;
        }
        let until = session.checksummed_until().min(self.end);
        while self.next_final < until {
            let f = self.next_final;
            if f % self.checksum_interval == 0 {
                if let Some(c) = session.checksum(f) {
                    self.writer.record_checksum(f, c).map_err(|e| self.write_error(e))?;
                }
            }
            if self.keyframe_interval > 0 && f % self.keyframe_interval == 0 {
                if let Some(snapshot) = session.final_snapshot(f) {
                    self.writer.record_keyframe(f, snapshot).map_err(|e| self.write_error(e))?;
                }
            }
            self.next_final += 1;
        }
        Ok(())
    }

    /// Every frame below the end, and every checksum and keyframe of those frames, is recorded.
    pub fn complete(&self) -> bool {
        self.writer.next_frame() >= self.end && self.next_final >= self.end
    }

    /// Writes the last chunk and closes the file.
    pub fn finish(self) -> Result<Recording, RecordError> {
        let Recorder { path, writer, .. } = self;
        let frames = writer.next_frame();
        let write_error = |error: String| RecordError::Write { path: path.clone(), error };
        let out = writer.finish().map_err(|e| write_error(e.to_string()))?;
        let file = out.into_inner().map_err(|e| write_error(e.error().to_string()))?;
        let bytes = file.metadata().map_err(|e| write_error(e.to_string()))?.len();
        Ok(Recording { path, frames, bytes })
    }
}
