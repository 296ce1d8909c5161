//! `framelock replay`: verify, describe and export recorded input logs.
//!
//! Every subcommand reads the whole file (at most [`MAX_LOG_BYTES`]; garbage is refused after
//! its first 16 bytes), validates it with [`LogReader::parse`] (every chunk's
//! CRC, every frame's encoding) and only then looks at its frames. A file that cannot be used ends
//! with exit code 2 and a message saying what is wrong and where; a replay that diverges from its
//! recording ends with exit code 1 and names the first divergent frame. Nothing here panics on a
//! bad file.

mod export;
mod info;
mod text;
mod verify;

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use framelock_core::arena::{self, ArenaParams};
use framelock_core::replay::{Completeness, LogHeader, LogReader};

/// `framelock replay` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Replay a log through the simulation it names, compare every recorded checksum and check
    /// every keyframe.
    ///
    /// Exit codes: 0 every recorded checksum matches; 1 the replay diverged (the message names the
    /// first divergent frame, with the recorded and the computed checksum); 2 the file cannot be
    /// verified (unreadable, not an input log, truncated unless --allow-truncated, corrupt,
    /// unsupported version, no checksum, unknown simulation or parameters). Divergence is always an
    /// error: no option silences it.
    Verify(verify::VerifyArgs),
    /// Describe a log: slots, frames and duration, simulation and its parameters, session kind,
    /// checksums, keyframes, size, creator and creation time, truncation.
    Info(info::InfoArgs),
    /// Export per-frame inputs and recorded checksums as CSV or JSON lines.
    Export(export::ExportArgs),
}

/// Why a replay subcommand failed.
#[derive(Debug)]
pub enum ReplayError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// The file is not a usable input log (or not one this program can replay).
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        reason: String,
    },
    /// The replay computed another checksum than the recorded one.
    Diverged {
        /// The file.
        path: PathBuf,
        /// [`framelock_core::Error::ReplayDiverged`]: the frame, both checksums.
        error: framelock_core::Error,
    },
    /// An option does not fit the log.
    Usage(String),
    /// Writing the output failed (`None`: standard output).
    Output {
        /// The output file.
        path: Option<PathBuf>,
        /// What the operating system said.
        error: io::Error,
    },
}

impl ReplayError {
    /// 1 for a divergence, 2 for everything else (the file or the options cannot be used).
    pub fn exit_code(&self) -> u8 {
        match self {
            ReplayError::Diverged { .. } => 1,
            _ => 2,
        }
    }

    /// Standard output was closed by its reader.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ReplayError::Output { path: None, error } if error.kind() == io::ErrorKind::BrokenPipe)
    }

    fn invalid(path: &Path, reason: impl Into<String>) -> Self {
        ReplayError::Invalid { path: path.to_path_buf(), reason: reason.into() }
    }

    fn stdout(error: io::Error) -> Self {
        ReplayError::Output { path: None, error }
    }
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Read { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            ReplayError::Invalid { path, reason } => write!(f, "{}: {reason}", path.display()),
            ReplayError::Diverged { path, error } => write!(f, "{}: {error}", path.display()),
            ReplayError::Usage(msg) => f.write_str(msg),
            ReplayError::Output { path: None, error } => write!(f, "cannot write the output: {error}"),
            ReplayError::Output { path: Some(path), error } => write!(f, "cannot write {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for ReplayError {}

/// Runs a replay subcommand, writing its report to standard output.
pub fn run(command: &ReplayCommand) -> Result<(), ReplayError> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match command {
        ReplayCommand::Verify(args) => verify::run(args, &mut out),
        ReplayCommand::Info(args) => info::run(args, &mut out),
        ReplayCommand::Export(args) => export::run(args, &mut out),
    }?;
    out.flush().map_err(ReplayError::stdout)
}

/// The largest log this program reads: the whole file is held in memory while it is used, so
/// memory stays bounded whatever the input (a 2 GiB file, `/dev/zero`). At a few bytes per frame
/// this is days of play; keyframes count too.
pub const MAX_LOG_BYTES: u64 = 256 << 20;

/// The whole file, if it starts like an input log and is at most [`MAX_LOG_BYTES`]. The prefix is
/// checked first, so a stream of garbage (`/dev/zero`, a device, a pipe) is refused after 16 bytes,
/// and a file whose size is known to be too large is refused before reading anything.
fn read_file(path: &Path) -> Result<Vec<u8>, ReplayError> {
    let read_error = |error| ReplayError::Read { path: path.to_path_buf(), error };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let too_large = |size: String| {
        ReplayError::invalid(path, format!("{size}, more than the {MAX_LOG_BYTES} bytes (256 MiB) this program reads"))
    };
    if let Some(len) = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len()) {
        if len > MAX_LOG_BYTES {
            return Err(too_large(format!("the file is {len} bytes")));
        }
    }
    let mut bytes = Vec::new();
    let mut limited = file.take(16);
    limited.read_to_end(&mut bytes).map_err(read_error)?;
    if !bytes.is_empty() && !framelock_core::replay::MAGIC.starts_with(&bytes[..bytes.len().min(8)]) {
        // Not a log: say so without reading the rest (LogReader gives the standard message).
        return Ok(bytes);
    }
    let mut rest = limited.into_inner().take(MAX_LOG_BYTES + 1 - bytes.len() as u64);
    rest.read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > MAX_LOG_BYTES {
        return Err(too_large("the input goes on".to_string()));
    }
    Ok(bytes)
}

/// Validates and indexes a log (a file cut short parses up to its last whole chunk).
fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<LogReader<'a>, ReplayError> {
    if bytes.is_empty() {
        return Err(ReplayError::invalid(path, "the file is empty: not an input log"));
    }
    LogReader::parse(bytes).map_err(|e| ReplayError::invalid(path, e.to_string()))
}

/// A truncated log (cut inside a chunk, or a format-2 log without its end chunk) is an error unless
/// `--allow-truncated` was given; then it is a warning on stderr and the whole frames before the cut
/// are used (the relay's crash-recovery case). Returns the warning's text when there is one.
fn check_complete(path: &Path, log: &LogReader<'_>, allow_truncated: bool) -> Result<Option<String>, ReplayError> {
    let Completeness::Truncated(cut) = log.completeness() else { return Ok(None) };
    let held = whole_frames(log);
    if !allow_truncated {
        return Err(ReplayError::invalid(
            path,
            format!("{cut}: the log is not complete and holds {held}; pass --allow-truncated to use them"),
        ));
    }
    let warning = format!("{}: {cut}: the log is not complete; using the {held} before the cut", path.display());
    eprintln!("warning: {warning}");
    Ok(Some(warning))
}

/// "N whole frames (A..=B)".
fn whole_frames(log: &LogReader<'_>) -> String {
    let first = log.header().first_frame;
    match log.end_frame().checked_sub(1).filter(|&last| last >= first) {
        Some(last) => format!("{} whole frames ({first}..={last})", log.frames()),
        None => "no whole frame".to_string(),
    }
}

/// What the log says about its own completeness, for reports.
fn completeness_text(log: &LogReader<'_>) -> String {
    match (log.completeness(), log.trailer()) {
        (Completeness::Complete, Some(t)) => {
            format!("complete (end chunk: {} frames, {} chunks, digest {:#010x} matches)", t.frames, t.chunks, t.digest)
        }
        (Completeness::NoTrailer, _) => {
            "no trailer (format 1): cannot prove that nothing was cut at a chunk boundary".into()
        }
        (Completeness::Truncated(e), _) => format!("truncated: {e}; {} before the cut", whole_frames(log)),
        (Completeness::Complete, None) => "complete".into(),
    }
}

/// The arena params of a log that names the arena, or why it cannot be replayed.
fn arena_params(header: &LogHeader) -> Result<ArenaParams, String> {
    if header.simulation != arena::SIMULATION_ID {
        return Err(if header.simulation.is_empty() {
            "the log does not name its simulation".to_string()
        } else {
            format!("unknown simulation `{}` (this program replays `{}`)", header.simulation, arena::SIMULATION_ID)
        });
    }
    arena::decode_params(&header.sim_params).map_err(|e| e.to_string())
}

/// `frames` at `tick_rate` Hz in seconds, when the rate is known.
fn duration_secs(frames: u32, tick_rate: u16) -> Option<f64> {
    (tick_rate > 0).then(|| f64::from(frames) / f64::from(tick_rate))
}
