//! `framelock replay`: verify, describe and export recorded input logs.
//!
//! Every subcommand reads a log streaming ([`LogStream`] over a buffered file), in memory that
//! does not grow with the log: a first pass validates it whole (every chunk's CRC, every frame's
//! encoding, the consistency checks, with the same errors as [`LogReader::parse`]) and only then
//! a second pass uses its frames. Garbage is refused after its first 16 bytes. An input that is not
//! a regular file (a pipe, a device) cannot be read twice: it is read into memory once, up to
//! [`MAX_LOG_BYTES`]. A file that cannot be used ends with exit code 2 and a message saying what is
//! wrong and where; a replay that diverges from its recording ends with exit code 1 and names the
//! first divergent frame. Nothing here panics on a bad file.
//!
//! [`LogReader::parse`]: framelock_core::replay::LogReader::parse

mod export;
mod info;
mod text;
mod verify;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use framelock_core::arena::{self, ArenaParams};
use framelock_core::replay::{Completeness, LogEvent, LogHeader, LogStream, Trailer};
use framelock_core::{Error, Frame};

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

/// The largest input that is not a regular file (a pipe, a device) this program reads: such an
/// input cannot be read twice, so it is held in memory while it is used. Regular files are read
/// streaming, at any size.
pub const MAX_LOG_BYTES: u64 = 256 << 20;

/// Where a log comes from.
#[derive(Debug)]
enum Input {
    /// A regular file: read streaming, once per pass.
    File(PathBuf),
    /// Anything else, read once into memory.
    Bytes(Vec<u8>),
}

/// The reader a pass reads a log with.
type Stream<'i> = LogStream<Box<dyn BufRead + 'i>>;

impl Input {
    /// Opens a log: a regular file is only checked to open here; anything else is read whole if it
    /// starts like an input log.
    fn open(path: &Path) -> Result<Self, ReplayError> {
        let read_error = |error| ReplayError::Read { path: path.to_path_buf(), error };
        let file = File::open(path).map_err(read_error)?;
        if file.metadata().map_err(read_error)?.is_file() {
            return Ok(Input::File(path.to_path_buf()));
        }
        read_unseekable(path, file).map(Input::Bytes)
    }

    /// A stream over the log from its first byte, with its header read.
    fn stream(&self, path: &Path) -> Result<Stream<'_>, ReplayError> {
        let source: Box<dyn BufRead + '_> = match self {
            Input::File(p) => {
                let file = File::open(p).map_err(|error| ReplayError::Read { path: p.clone(), error })?;
                // Room for a few chunks (a writer's are under 140 KiB): most are read in place.
                Box::new(BufReader::with_capacity(256 << 10, file))
            }
            Input::Bytes(b) => Box::new(&b[..]),
        };
        LogStream::from_buf_read(source).map_err(|e| match e {
            Error::LogTruncated { byte: 0, chunk: None } => {
                ReplayError::invalid(path, "the file is empty: not an input log")
            }
            e => ReplayError::invalid(path, e.to_string()),
        })
    }
}

/// An input that is not a regular file, if it starts like an input log and is at most
/// [`MAX_LOG_BYTES`]. The prefix is checked first, so a stream of garbage (`/dev/zero`, a device, a
/// pipe) is refused after 16 bytes.
fn read_unseekable(path: &Path, file: File) -> Result<Vec<u8>, ReplayError> {
    let read_error = |error| ReplayError::Read { path: path.to_path_buf(), error };
    let mut bytes = Vec::new();
    let mut limited = file.take(16);
    limited.read_to_end(&mut bytes).map_err(read_error)?;
    if !bytes.is_empty() && !framelock_core::replay::MAGIC.starts_with(&bytes[..bytes.len().min(8)]) {
        // Not a log: say so without reading the rest (LogStream gives the standard message).
        return Ok(bytes);
    }
    let mut rest = limited.into_inner().take(MAX_LOG_BYTES + 1 - bytes.len() as u64);
    rest.read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > MAX_LOG_BYTES {
        return Err(ReplayError::invalid(
            path,
            format!(
                "the input goes on past {MAX_LOG_BYTES} bytes (256 MiB), the most this program reads from a pipe or device (regular files have no limit)"
            ),
        ));
    }
    Ok(bytes)
}

/// What the validating pass learnt about a whole log.
#[derive(Debug)]
struct Scan {
    header: LogHeader,
    version: u16,
    frames: u32,
    end_frame: Frame,
    checksums: u64,
    /// The checksums of the lowest and the highest frame.
    checksum_range: Option<((Frame, u64), (Frame, u64))>,
    /// Every keyframe's frame, in order.
    keyframes: Vec<Frame>,
    completeness: Completeness,
    trailer: Option<Trailer>,
    size: u64,
    /// How many frames past its frame a checksum or keyframe was recorded at most
    /// ([`LogStream::max_lag`]): how far ahead `verify` and `export` read for them.
    lag: u32,
}

impl Scan {
    fn truncation(&self) -> Option<Error> {
        match self.completeness {
            Completeness::Truncated(e) => Some(e),
            _ => None,
        }
    }
}

/// The validating pass: reads the whole log (a file cut short up to its last whole chunk),
/// passing over the frames.
fn scan(path: &Path, input: &Input) -> Result<Scan, ReplayError> {
    let mut s = input.stream(path)?;
    let mut keyframes = Vec::new();
    loop {
        match s.next_event() {
            Ok(Some(LogEvent::Frame(_))) => s.skip_chunk_frames(),
            Ok(Some(LogEvent::Checksum { .. })) => {}
            Ok(Some(LogEvent::Keyframe(k))) => keyframes.push(k.frame),
            Ok(None) => break,
            Err(e) => return Err(ReplayError::invalid(path, e.to_string())),
        }
    }
    keyframes.sort_unstable();
    Ok(Scan {
        header: s.header().clone(),
        version: s.format_version(),
        frames: s.frames(),
        end_frame: s.end_frame(),
        checksums: s.checksums_seen(),
        checksum_range: s.checksum_range(),
        keyframes,
        completeness: s.completeness(),
        trailer: s.trailer(),
        size: s.bytes_read(),
        lag: s.max_lag(),
    })
}

/// A truncated log (cut inside a chunk, or a format-2 log without its end chunk) is an error unless
/// `--allow-truncated` was given; then it is a warning on stderr and the whole frames before the cut
/// are used (the relay's crash-recovery case). Returns the warning's text when there is one.
fn check_complete(path: &Path, log: &Scan, allow_truncated: bool) -> Result<Option<String>, ReplayError> {
    let Completeness::Truncated(cut) = log.completeness else { return Ok(None) };
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
fn whole_frames(log: &Scan) -> String {
    let first = log.header.first_frame;
    match log.end_frame.checked_sub(1).filter(|&last| last >= first) {
        Some(last) => format!("{} whole frames ({first}..={last})", log.frames),
        None => "no whole frame".to_string(),
    }
}

/// What the log says about its own completeness, for reports.
fn completeness_text(log: &Scan) -> String {
    match (log.completeness, log.trailer) {
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
