//! `NativeLog`: a validated input log held in memory. The Python class `framelock.InputLog`
//! wraps it and views its decoded frames as numpy arrays.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

use framelock_core::arena::{self, Arena, ArenaParams};
use framelock_core::replay::{LogEvent, LogHeader, LogReader, LogStream, Replay, SessionKind, StreamedKeyframe};
use framelock_core::{Error, Frame, Simulation};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::IntoPy;
use crate::signals::Interruptible;

/// The bytes of a log file, parsed once to check them (parsing borrows the bytes, so operations
/// parse again: it is a linear scan, small next to decoding or replaying).
#[pyclass(module = "framelock._framelock", frozen)]
pub struct NativeLog {
    bytes: Vec<u8>,
}

impl core::fmt::Debug for NativeLog {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NativeLog").field("bytes", &self.bytes.len()).finish()
    }
}

impl NativeLog {
    fn reader(&self) -> Result<LogReader<'_>, Error> {
        LogReader::parse(&self.bytes)
    }

    fn params_of(h: &LogHeader) -> Result<ArenaParams, Error> {
        if h.simulation != arena::SIMULATION_ID {
            return Err(Error::LogMismatch { what: "the log was not recorded with the built-in `arena` simulation" });
        }
        let p = arena::decode_params(&h.sim_params).map_err(|e| Error::LogMismatch { what: e.reason })?;
        if usize::from(p.players) != usize::from(h.slots) {
            return Err(Error::LogMismatch { what: "the arena params do not have one player per slot" });
        }
        Ok(p)
    }

    /// The arena in the state of the log's first frame: a new one, or the keyframe of a log that
    /// starts later.
    fn first_state(log: &LogReader<'_>, p: ArenaParams) -> Result<Arena, Error> {
        let mut sim = Arena::new(p).map_err(|e| Error::LogMismatch { what: e.reason })?;
        let first = log.header().first_frame;
        if first != 0 {
            let k = log.keyframes().iter().find(|k| k.frame == first).ok_or(Error::LogMismatch {
                what: "the log starts after frame 0 without a keyframe of its first frame to replay from",
            })?;
            sim.load(log.keyframe_bytes(k)).map_err(|e| Error::Simulation { frame: first, reason: e.reason })?;
        }
        Ok(sim)
    }

    fn replay<'l>(log: &'l LogReader<'l>, p: &ArenaParams) -> Replay<'l> {
        Replay::new(log).max_snapshot_size(arena::snapshot_size_bound(p)).frame_arena_size(arena::scratch_size_bound(p))
    }
}

/// A log cut short is a `LogTruncatedError` (saying which frames its whole chunks hold) unless
/// `allow_truncated`.
fn refuse_truncated(cut: Option<Error>, first: Frame, end: Frame, allow_truncated: bool) -> PyResult<()> {
    let (Some(cut), false) = (cut, allow_truncated) else { return Ok(()) };
    let err = crate::errors::to_py(cut);
    Python::attach(|py| {
        let v = err.value(py);
        let msg = format!(
            "{cut}: the log ends inside a chunk (its whole chunks hold frames {first}..{end}); \
             open it with allow_truncated=True to read those"
        );
        let _ = v.setattr("args", (msg,));
        let _ = v.setattr("end_frame", end);
    });
    Err(err)
}

/// A stream over the log file at `path` (`OSError` when it cannot be opened).
fn open_stream(path: &PathBuf) -> PyResult<LogStream<BufReader<File>>> {
    let file = File::open(path)?;
    LogStream::from_buf_read(BufReader::with_capacity(256 << 10, file)).py_err()
}

/// Validates the rest of the log (as `LogStream::validate`, without decoding the frames) and
/// returns the first keyframe of `frame`.
fn validate_finding_keyframe(s: &mut LogStream<BufReader<File>>, frame: Frame) -> PyResult<Option<StreamedKeyframe>> {
    let mut found = None;
    loop {
        match s.next_event().py_err()? {
            None => return Ok(found),
            Some(LogEvent::Keyframe(k)) if k.frame == frame && found.is_none() => found = Some(k),
            Some(LogEvent::Frame(_)) => s.skip_chunk_frames(),
            Some(_) => {}
        }
    }
}

/// The arena in the state of the log's first frame, streaming: a new one, or (as
/// `NativeLog::first_state`) the keyframe of a log that starts later, read from the file at the
/// offset the first pass saw it at and checked against the hash computed then.
fn first_state_of_file(path: &PathBuf, p: ArenaParams, first: Frame, k: Option<StreamedKeyframe>) -> PyResult<Arena> {
    let mut sim = Arena::new(p).map_err(|e| Error::LogMismatch { what: e.reason }).py_err()?;
    if first == 0 {
        return Ok(sim);
    }
    let k = k.ok_or(Error::LogMismatch {
        what: "the log starts after frame 0 without a keyframe of its first frame to replay from",
    });
    let k = k.py_err()?;
    if k.len as usize > arena::snapshot_size_bound(&p) {
        let what = "the keyframe of the log's first frame is larger than any state of its arena";
        return Err(Error::Simulation { frame: first, reason: what }).py_err();
    }
    let mut snapshot = vec![0u8; k.len as usize];
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(k.offset))?;
    file.read_exact(&mut snapshot)?;
    if framelock_core::checksum64(&snapshot) != k.hash {
        let what = "the file changed while it was read (a keyframe's hash differs between two passes)";
        return Err(Error::LogMismatch { what }).py_err();
    }
    sim.load(&snapshot).map_err(|e| Error::Simulation { frame: first, reason: e.reason }).py_err()?;
    Ok(sim)
}

/// What `verify_log_file` returns: `(frames, verified, unchecked, last_frame, last_checksum,
/// end_frame, truncation)`.
type FileReport = (u32, u32, u32, Option<Frame>, Option<u64>, Frame, Option<String>);

/// Verifies the log file at `path` through the arena reading it streaming, in memory that does not
/// grow with the file (the GIL released; Ctrl-C stops it): a first pass validates the whole file,
/// a second replays it with a third stream reading the checksums and keyframes ahead. A log cut
/// short is a `LogTruncatedError` unless `allow_truncated`. A log that starts after frame 0 replays
/// from the keyframe of its first frame, as `NativeLog::verify` does.
#[pyfunction]
#[pyo3(signature = (path, allow_truncated = false))]
pub fn verify_log_file(py: Python<'_>, path: PathBuf, allow_truncated: bool) -> PyResult<FileReport> {
    py.detach(|| -> PyResult<FileReport> {
        let mut first = open_stream(&path)?;
        let start = first.header().first_frame;
        let keyframe = if start == 0 {
            first.validate().py_err()?;
            None
        } else {
            validate_finding_keyframe(&mut first, start)?
        };
        let (end, cut) = (first.end_frame(), first.truncation());
        refuse_truncated(cut, start, end, allow_truncated)?;
        let p = NativeLog::params_of(first.header()).py_err()?;
        let mut sim = first_state_of_file(&path, p, start, keyframe)?;
        let mut sim = Interruptible::new(&mut sim);
        let (mut log, mut ahead) = (open_stream(&path)?, open_stream(&path)?);
        let r = log
            .replay()
            .read_ahead(&mut ahead, first.max_lag())
            .max_snapshot_size(arena::snapshot_size_bound(&p))
            .frame_arena_size(arena::scratch_size_bound(&p))
            .verify(&mut sim, &mut |_| {});
        let r = match (r, sim.raised.take()) {
            (_, Some(e)) => return Err(e),
            (r, None) => r.py_err()?,
        };
        let (last_frame, last) = (r.last_checksum.map(|c| c.0), r.last_checksum.map(|c| c.1));
        let cut = cut.map(|e| e.to_string());
        Ok((r.frames, r.checksums_verified, r.checksums_unchecked, last_frame, last, end, cut))
    })
}

/// The frames of a log file, read streaming (`InputLog.frames_of_file`): one frames chunk held at
/// a time, whatever the file's size.
#[pyclass(module = "framelock._framelock")]
pub struct NativeLogFrames {
    stream: LogStream<BufReader<File>>,
    allow_truncated: bool,
}

impl core::fmt::Debug for NativeLogFrames {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NativeLogFrames").field("bytes_read", &self.stream.bytes_read()).finish()
    }
}

/// One frame as `(frame, inputs, flags)`.
type FrameTuple<'py> = (Frame, Vec<Bound<'py, PyBytes>>, Vec<u8>);

#[pymethods]
impl NativeLogFrames {
    /// Opens the log at `path` and reads its header (`OSError`, or the header's error).
    #[new]
    #[pyo3(signature = (path, allow_truncated = false))]
    fn new(path: PathBuf, allow_truncated: bool) -> PyResult<Self> {
        Ok(NativeLogFrames { stream: open_stream(&path)?, allow_truncated })
    }

    /// The header's first frame.
    fn first_frame(&self) -> Frame {
        self.stream.header().first_frame
    }

    /// The next frame, or `None` at the end. A chunk's errors come when the stream reaches it
    /// (the frames before it were given out); a cut log is a `LogTruncatedError` at the cut
    /// unless `allow_truncated`.
    fn next<'py>(&mut self, py: Python<'py>) -> PyResult<Option<FrameTuple<'py>>> {
        let Some(f) = self.stream.next_frame().py_err()? else {
            let s = &self.stream;
            refuse_truncated(s.truncation(), s.header().first_frame, s.end_frame(), self.allow_truncated)?;
            return Ok(None);
        };
        let inputs = f.inputs().map(|i| PyBytes::new(py, i.bytes)).collect();
        let flags = f.inputs().map(|i| i.flags).collect();
        Ok(Some((f.frame(), inputs, flags)))
    }
}

#[pymethods]
impl NativeLog {
    /// Parses and validates a whole log. A log cut short inside a chunk is a `LogTruncatedError`
    /// unless `allow_truncated`, which reads it up to its last whole chunk.
    #[new]
    #[pyo3(signature = (data, allow_truncated = false))]
    fn new(data: &[u8], allow_truncated: bool) -> PyResult<Self> {
        let log = NativeLog { bytes: data.to_vec() };
        let reader = log.reader().py_err()?;
        refuse_truncated(reader.truncation(), reader.header().first_frame, reader.end_frame(), allow_truncated)?;
        Ok(log)
    }

    /// The header as a dict.
    fn header<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let log = self.reader().py_err()?;
        let h = log.header();
        let d = PyDict::new(py);
        d.set_item("slots", h.slots)?;
        d.set_item("max_input_size", h.max_input_size)?;
        d.set_item("tick_rate", h.tick_rate)?;
        let (mode, depth) = match h.session {
            SessionKind::Lockstep => ("lockstep", 0),
            SessionKind::Rollback(p) => ("rollback", p),
            SessionKind::SyncTest(d) => ("synctest", d),
            SessionKind::Relay => ("relay", 0),
        };
        d.set_item("mode", mode)?;
        d.set_item("mode_depth", depth)?;
        d.set_item("default_input", PyBytes::new(py, &h.default_input))?;
        d.set_item("checksum_interval", h.checksum_interval)?;
        d.set_item("keyframe_interval", h.keyframe_interval)?;
        d.set_item("frames_per_chunk", h.frames_per_chunk)?;
        d.set_item("first_frame", h.first_frame)?;
        d.set_item("simulation", &h.simulation)?;
        d.set_item("sim_params", PyBytes::new(py, &h.sim_params))?;
        d.set_item("created_unix", h.created_unix)?;
        d.set_item("creator", &h.creator)?;
        d.set_item("end_frame", log.end_frame())?;
        d.set_item("size", log.size())?;
        d.set_item("truncation", log.truncation().map(|e| e.to_string()))?;
        Ok(d)
    }

    /// Recorded checksums as `(frames, checksums)`.
    fn checksums(&self) -> PyResult<(Vec<Frame>, Vec<u64>)> {
        let log = self.reader().py_err()?;
        Ok(log.checksums().unzip())
    }

    /// Keyframes as `(frame, offset, len)`.
    fn keyframes(&self) -> PyResult<Vec<(Frame, u64, u32)>> {
        let log = self.reader().py_err()?;
        Ok(log.keyframes().iter().map(|k| (k.frame, k.offset, k.len)).collect())
    }

    /// The snapshot of the keyframe of `frame`, if the log holds one.
    fn keyframe<'py>(&self, py: Python<'py>, frame: Frame) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let log = self.reader().py_err()?;
        Ok(log.keyframes().iter().find(|k| k.frame == frame).map(|k| PyBytes::new(py, log.keyframe_bytes(k))))
    }

    /// Decodes frames `[start, stop)` into three dense buffers: inputs `n × slots × max_input`
    /// (zero-padded), lengths `n × slots` (u16 little-endian) and flags `n × slots`.
    fn decode<'py>(
        &self,
        py: Python<'py>,
        start: Frame,
        stop: Frame,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let log = self.reader().py_err()?;
        let h = log.header();
        let (slots, max) = (usize::from(h.slots), usize::from(h.max_input_size));
        let start = start.max(h.first_frame);
        let stop = stop.min(log.end_frame());
        let n = stop.saturating_sub(start) as usize;
        let decoded = py.detach(|| -> PyResult<(Vec<u8>, Vec<u8>, Vec<u8>)> {
            let (mut inputs, mut lens, mut flags) =
                (vec![0u8; n * slots * max], vec![0u8; n * slots * 2], vec![0u8; n * slots]);
            if n > 0 {
                let mut cursor = log.cursor_at(start).py_err()?;
                for i in 0..n {
                    if i % 65_536 == 65_535 {
                        crate::signals::check()?;
                    }
                    let Some(frame) = cursor.next_frame().py_err()? else { break };
                    for (s, input) in frame.inputs().enumerate() {
                        let row = i * slots + s;
                        inputs[row * max..row * max + input.bytes.len()].copy_from_slice(input.bytes);
                        lens[row * 2..row * 2 + 2].copy_from_slice(&(input.bytes.len() as u16).to_le_bytes());
                        flags[row] = input.flags;
                    }
                }
            }
            Ok((inputs, lens, flags))
        });
        let (inputs, lens, flags) = decoded?;
        Ok((PyBytes::new(py, &inputs), PyBytes::new(py, &lens), PyBytes::new(py, &flags)))
    }

    /// The arena params the log was recorded with, or an error for another simulation.
    fn arena_params(&self) -> PyResult<crate::arena::ParamsTuple> {
        let log = self.reader().py_err()?;
        Ok(crate::arena::params_tuple(&Self::params_of(log.header()).py_err()?))
    }

    /// Replays the whole log through the arena with the GIL released and checks every recorded
    /// checksum. Returns `(frames, verified, unchecked, last_frame, last_checksum)`. Ctrl-C stops
    /// it (`KeyboardInterrupt`).
    fn verify(&self, py: Python<'_>) -> PyResult<(u32, u32, u32, Option<Frame>, Option<u64>)> {
        let r = py.detach(|| -> PyResult<_> {
            let log = self.reader().py_err()?;
            let p = Self::params_of(log.header()).py_err()?;
            let mut sim = Self::first_state(&log, p).py_err()?;
            let mut sim = Interruptible::new(&mut sim);
            let r = Self::replay(&log, &p).verify(&mut sim, &mut |_| {});
            match (r, sim.raised.take()) {
                (_, Some(e)) => Err(e),
                (r, None) => r.py_err(),
            }
        });
        let r = r?;
        Ok((
            r.frames,
            r.checksums_verified,
            r.checksums_unchecked,
            r.last_checksum.map(|c| c.0),
            r.last_checksum.map(|c| c.1),
        ))
    }

    /// The arena's state at the start of `frame` (from the nearest keyframe), as `Session.arena_state`.
    fn seek<'py>(&self, py: Python<'py>, frame: Frame) -> PyResult<(u32, usize, usize, Bound<'py, PyBytes>)> {
        let sim = py.detach(|| -> PyResult<Arena> {
            let log = self.reader().py_err()?;
            let p = Self::params_of(log.header()).py_err()?;
            let mut sim = match log.keyframe_at_or_before(frame) {
                Some(_) => Arena::new(p).map_err(|e| Error::LogMismatch { what: e.reason }).py_err()?,
                None => Self::first_state(&log, p).py_err()?,
            };
            let mut wrapped = Interruptible::new(&mut sim);
            let r = Self::replay(&log, &p).seek(&mut wrapped, frame);
            match (r, wrapped.raised.take()) {
                (_, Some(e)) => Err(e),
                (r, None) => r.py_err().map(|_| sim),
            }
        })?;
        crate::arena::state(py, &sim)
    }
}
