//! `NativeSession`: a core `Session`, optionally with the reference simulation it drives, and an
//! optional input-log recorder. The Python class `framelock.Session` wraps it.

use std::fs::File;
use std::io::BufWriter;

use framelock_core::arena::{self, Arena, ArenaParams};
use framelock_core::replay::{LogHeader, LogWriter, SessionKind};
use framelock_core::{Error, Event, Frame, InputStatus, Mode, Outcome, Request, Session, SessionStats};
use parking_lot::{Mutex, MutexGuard};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::arena::{params, params_tuple, ParamsTuple};
use crate::errors::{to_py, IntoPy};
use crate::state::{self, Config};

/// Ticks of `run` between two looks at Python's pending signals (about 10 ms of an 8-player
/// arena; 40 ms at 64 players).
const SIGNAL_CHECK_TICKS: usize = 2048;

/// Why `run_frames` stopped early: a core error, or a Python exception raised by a signal handler
/// (`KeyboardInterrupt`), each with the tick it stopped at.
enum RunStop {
    Core(Error, usize),
    Signal(PyErr, usize),
}

#[derive(Debug)]
struct Recorder {
    writer: LogWriter<BufWriter<File>>,
    path: String,
}

/// The native half of `framelock.Session`: the state behind a mutex, so that the class is `Sync`
/// and `run` can release the GIL. A call that finds the mutex taken (another thread is inside
/// `run`) fails at once instead of waiting with the GIL held.
#[pyclass(module = "framelock._framelock", frozen)]
#[derive(Debug)]
pub struct NativeSession {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    session: Session,
    arena: Option<Arena>,
    default_input: Vec<u8>,
    record_confirmed: bool,
    recorder: Option<Recorder>,
    /// Counts `begin_step` calls: a request of step `n` is only valid while `step_id == n`.
    step_id: u64,
    relay_authority: bool,
    /// The next frame a recorder receives from `poll_confirmed` (the session's start frame until
    /// a recording took frames).
    record_next: Frame,
    /// What the session was built from (`save_state` writes it).
    config: Config,
}

pub(crate) fn outcome(o: Outcome) -> (bool, u64) {
    match o {
        Outcome::Advanced { frame } => (true, u64::from(frame)),
        Outcome::Stalled { waiting_for } => (false, waiting_for),
    }
}

pub(crate) fn stats_tuple(s: SessionStats) -> (u64, u64, u64, u32, u64, u64, u64, u64) {
    (
        s.frames_advanced,
        s.frames_resimulated,
        s.rollbacks,
        s.max_rollback,
        s.stalls,
        s.checksums_compared,
        s.desyncs,
        s.events_dropped,
    )
}

impl Inner {
    /// A session from its configuration; `snapshot` (a restored state) is loaded into the arena.
    fn build(config: Config, snapshot: Option<&[u8]>) -> PyResult<Inner> {
        let (session, arena, default_input) = state::build(&config, snapshot)?;
        let c = &config;
        let record = c.record;
        Ok(Inner {
            session,
            arena,
            default_input,
            record_confirmed: record,
            recorder: None,
            step_id: 0,
            relay_authority: c.relay,
            record_next: c.start_frame,
            config: config.clone(),
        })
    }

    /// A session rebuilt from `save_state()` bytes (`ValueError` for bytes that are not one).
    fn restore(data: &[u8]) -> PyResult<Inner> {
        let (config, snap) = state::decode(data).map_err(|e| PyValueError::new_err(e.reason))?;
        Inner::build(config, Some(&snap))
    }

    /// Hands the newly confirmed frames to the recorder; while not recording, lets them go (so a
    /// `record=True` session never fills its input window) and moves the next recording's start.
    fn record(&mut self) -> Result<(), Error> {
        match self.recorder.as_mut() {
            Some(r) => r.writer.record_from(&mut self.session)?,
            None if self.record_confirmed => {
                while self.session.poll_confirmed().is_some() {
                    self.record_next += 1;
                }
            }
            None => {}
        }
        Ok(())
    }

    /// Plans and fulfils one tick with the arena (the caller checked there is one).
    fn advance_arena(&mut self) -> Result<Outcome, Error> {
        self.record()?;
        // Fulfilled whole from the plan below: no request list to build.
        let o = self.session.begin_step_unlisted()?;
        self.step_id += 1;
        if let Some(a) = self.arena.as_mut() {
            let r = self.session.fulfil_step(a);
            self.session.finish_step();
            r?;
        }
        Ok(o)
    }

    /// One tick of `run`: every slot's input from `row` (`slots × size` bytes), then an advance.
    fn run_tick(&mut self, row: &[u8], size: usize) -> Result<Outcome, Error> {
        let delay = self.session.input_delay();
        let target = self.session.current_frame().checked_add(delay).ok_or(Error::FrameOverflow)?;
        let local = self.session.local_slots();
        for (slot, input) in row.chunks_exact(size).enumerate() {
            let is_local = slot < 64 && local >> slot & 1 == 1;
            if is_local {
                self.session.add_local_input(slot, input)?;
            }
            if !is_local || self.relay() {
                self.session.add_remote_input(slot, target, input)?;
            }
        }
        self.advance_arena()
    }

    fn relay(&self) -> bool {
        // The session does not report its authority; a relay session is built with `relay = true`.
        self.relay_authority
    }

    /// Runs `frames` ticks. Every [`SIGNAL_CHECK_TICKS`] ticks it takes the GIL for a moment to
    /// run Python's signal handlers, so that Ctrl-C stops a long batch at once; the session stays
    /// usable at the frame reached.
    fn run_frames(&mut self, data: &[u8], frames: usize, row: usize, size: usize) -> Result<(u64, u64), RunStop> {
        let (mut advanced, mut stalled) = (0, 0);
        for t in 0..frames {
            if t % SIGNAL_CHECK_TICKS == SIGNAL_CHECK_TICKS - 1 {
                crate::signals::check().map_err(|e| RunStop::Signal(e, t))?;
            }
            let o = self.run_tick(&data[t * row..(t + 1) * row], size).map_err(|e| RunStop::Core(e, t))?;
            if o.stalled() {
                stalled += 1;
            } else {
                advanced += 1;
            }
        }
        Ok((advanced, stalled))
    }

    fn arena_ref(&self) -> PyResult<&Arena> {
        self.arena.as_ref().ok_or_else(|| {
            PyTypeError::new_err("this session has no built-in simulation (build it with arena=ArenaParams(...))")
        })
    }

    fn check_step(&self, step: u64) -> PyResult<()> {
        if step != self.step_id || self.session.step_len() == 0 {
            return Err(to_py(Error::NoOpenStep));
        }
        Ok(())
    }

    fn step_has(&self, want: fn(&Request<'_>) -> Option<Frame>, frame: Frame) -> bool {
        (0..self.session.step_len()).any(|i| self.session.step_request(i).as_ref().and_then(want) == Some(frame))
    }
}

#[pymethods]
impl NativeSession {
    #[new]
    #[pyo3(signature = (
        slots, local, mode, depth, relay, max_input_size, input_delay, max_snapshot_size, default_input,
        frame_arena_size, input_window, checksum_history, checksum_interval, event_capacity, record, start_frame,
        arena_params, early_checksum_capacity = 256
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        slots: usize,
        local: Vec<usize>,
        mode: &str,
        depth: u32,
        relay: bool,
        max_input_size: Option<usize>,
        input_delay: u32,
        max_snapshot_size: Option<usize>,
        default_input: Option<Vec<u8>>,
        frame_arena_size: Option<usize>,
        input_window: u32,
        checksum_history: u32,
        checksum_interval: u32,
        event_capacity: usize,
        record: bool,
        start_frame: Frame,
        arena_params: Option<ParamsTuple>,
        early_checksum_capacity: usize,
    ) -> PyResult<Self> {
        let arena_params: Option<ArenaParams> = arena_params.map(params).transpose().py_err()?;
        if arena_params.is_some() && start_frame != 0 {
            return Err(to_py(Error::InvalidConfig {
                setting: "start_frame",
                reason: "must be 0 for a session driving the built-in simulation",
            }));
        }
        let config = Config {
            slots,
            local,
            mode: mode.to_string(),
            depth,
            relay,
            max_input_size,
            input_delay,
            max_snapshot_size,
            default_input,
            frame_arena_size,
            input_window,
            checksum_history,
            checksum_interval,
            event_capacity,
            record,
            start_frame,
            arena_params,
            early_checksum_capacity,
        };
        Ok(NativeSession::from(Inner::build(config, None)?))
    }

    /// A session rebuilt from `save_state()`'s bytes.
    #[staticmethod]
    fn from_state(data: &[u8]) -> PyResult<Self> {
        Ok(NativeSession::from(Inner::restore(data)?))
    }

    /// The session's configuration, frame and arena state as bytes (see `state.rs`). Only at a
    /// frame where nothing is predicted and no input was added ahead: a rebuilt session starts
    /// there with no input history.
    fn save_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let s = self.lock()?;
        let a = s.arena_ref()?;
        let frame = s.session.current_frame();
        let all = if s.session.slots() >= 64 { u64::MAX } else { (1u64 << s.session.slots()) - 1 };
        let why = if s.session.input_delay() != 0 {
            Some("its input delay is not 0 (inputs for frames ahead would be lost)")
        } else if s.session.confirmed_until() != frame {
            Some("frames it simulated are not confirmed yet (predicted state)")
        } else if s.session.waiting_for(frame) != all {
            Some("inputs for the next frame were added already (advance first)")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(PyRuntimeError::new_err(format!("cannot save the session's state at frame {frame}: {why}")));
        }
        Ok(PyBytes::new(py, &state::encode(&s.config, frame, a)))
    }

    /// Replaces this session by the one `save_state()`'s bytes describe.
    fn load_state(&self, data: &[u8]) -> PyResult<()> {
        let mut s = self.lock()?;
        *s = Inner::restore(data)?;
        Ok(())
    }

    // ----- inputs ---------------------------------------------------------------------------

    fn add_local_input(&self, slot: usize, input: &[u8]) -> PyResult<Option<Frame>> {
        let mut s = self.lock()?;
        s.session.add_local_input(slot, input).py_err()
    }

    fn add_remote_input(&self, slot: usize, frame: Frame, input: &[u8]) -> PyResult<()> {
        let mut s = self.lock()?;
        s.session.add_remote_input(slot, frame, input).py_err()
    }

    fn add_substituted_input(&self, slot: usize, frame: Frame, input: &[u8]) -> PyResult<()> {
        let mut s = self.lock()?;
        s.session.add_substituted_input(slot, frame, input).py_err()
    }

    fn add_disconnected_input(&self, slot: usize, frame: Frame, input: &[u8]) -> PyResult<()> {
        let mut s = self.lock()?;
        s.session.add_disconnected_input(slot, frame, input).py_err()
    }

    fn disconnect_slot(&self, slot: usize, frame: Frame) -> PyResult<()> {
        let mut s = self.lock()?;
        s.session.disconnect_slot(slot, frame).py_err()
    }

    fn set_input_delay(&self, frames: u32) -> PyResult<()> {
        let mut s = self.lock()?;
        s.session.set_input_delay(frames).py_err()
    }

    fn add_remote_checksum(&self, slot: usize, frame: Frame, checksum: u64) -> PyResult<()> {
        let mut s = self.lock()?;
        s.session.add_remote_checksum(slot, frame, checksum).py_err()
    }

    // ----- advancing ------------------------------------------------------------------------

    /// Plans a tick. With the arena: fulfils it too and returns `(advanced, frame_or_mask, step, ())`.
    /// Without: returns the requests as tuples `(0, frame)` save, `(1, frame)` load,
    /// `(2, frame, inputs, statuses)` advance, valid while the step is open.
    fn advance<'py>(&self, py: Python<'py>) -> PyResult<(bool, u64, u64, Bound<'py, PyTuple>)> {
        let mut s = self.lock()?;
        if s.arena.is_some() {
            let (a, v) = outcome(s.advance_arena().py_err()?);
            return Ok((a, v, s.step_id, PyTuple::empty(py)));
        }
        s.record().py_err()?;
        let o = s.session.begin_step().py_err()?;
        s.step_id += 1;
        let mut list: Vec<Bound<'py, PyAny>> = Vec::with_capacity(s.session.step_len());
        for i in 0..s.session.step_len() {
            let Some(r) = s.session.step_request(i) else { break };
            let item = match r {
                Request::SaveState { frame } => (0u8, frame).into_pyobject(py)?.into_any(),
                Request::LoadState { frame } => (1u8, frame).into_pyobject(py)?.into_any(),
                Request::AdvanceFrame { frame, inputs } => {
                    let bytes: Vec<Bound<'py, PyBytes>> = inputs.iter().map(|p| PyBytes::new(py, p.bytes)).collect();
                    let statuses: Vec<u8> = inputs.iter().map(|p| p.status as u8).collect();
                    (2u8, frame, PyTuple::new(py, bytes)?, PyTuple::new(py, statuses)?).into_pyobject(py)?.into_any()
                }
            };
            list.push(item);
        }
        let (a, v) = outcome(o);
        Ok((a, v, s.step_id, PyTuple::new(py, list)?))
    }

    #[pyo3(signature = (step, frame, data, checksum = None))]
    fn step_save(&self, step: u64, frame: Frame, data: &[u8], checksum: Option<u64>) -> PyResult<()> {
        let mut s = self.lock()?;
        s.check_step(step)?;
        if !s.step_has(|r| if let Request::SaveState { frame } = r { Some(*frame) } else { None }, frame) {
            return Err(PyValueError::new_err(format!("the open step has no SaveState request for frame {frame}")));
        }
        let capacity = s.session.max_snapshot_size();
        let mut w = s.session.step_save(frame).py_err()?;
        // The caller's checksum first: then the bytes are not hashed as they are copied in.
        if let Some(c) = checksum {
            w.set_checksum(c);
        }
        w.write(data).map_err(|_| to_py(Error::SnapshotTooLarge { frame, capacity }))?;
        Ok(())
    }

    fn step_load<'py>(&self, py: Python<'py>, step: u64, frame: Frame) -> PyResult<Bound<'py, PyBytes>> {
        let s = self.lock()?;
        s.check_step(step)?;
        Ok(PyBytes::new(py, s.session.step_load(frame).py_err()?))
    }

    fn finish_step(&self) -> PyResult<()> {
        let mut s = self.lock()?;
        s.session.finish_step();
        Ok(())
    }

    /// Runs `frames` ticks with the GIL released; `inputs` is a C-contiguous `frames × slots ×
    /// size` buffer of bytes. Returns `(advanced, stalled)`; an error names the tick it stopped at.
    fn run(&self, py: Python<'_>, inputs: &Bound<'_, PyAny>, frames: usize, size: usize) -> PyResult<(u64, u64)> {
        let mut s = self.lock()?;
        s.arena_ref()?;
        let buf = PyBuffer::<u8>::get(inputs)
            .map_err(|e| PyTypeError::new_err(format!("inputs must be a buffer of uint8: {e}")))?;
        if !buf.is_c_contiguous() {
            return Err(PyValueError::new_err("inputs must be C-contiguous"));
        }
        let slots = s.session.slots();
        if size == 0 || size > s.session.max_input_size() {
            return Err(PyValueError::new_err(format!(
                "inputs have {size} bytes per input; this session takes 1 to {}",
                s.session.max_input_size()
            )));
        }
        let row = slots * size;
        if frames.checked_mul(row) != Some(buf.item_count()) {
            return Err(PyValueError::new_err(format!(
                "inputs hold {} bytes, not frames × slots × input bytes = {frames} × {slots} × {size}",
                buf.item_count()
            )));
        }
        let data = buf.to_vec(py)?;
        drop(buf);
        let this: &mut Inner = &mut s;
        let r = py.detach(move || this.run_frames(&data, frames, row, size));
        r.map_err(|stop| {
            let (err, tick) = match stop {
                RunStop::Core(e, tick) => (to_py(e), tick),
                RunStop::Signal(e, tick) => (e, tick),
            };
            let _ = err.value(py).setattr("tick", tick);
            err
        })
    }

    // ----- recording ------------------------------------------------------------------------

    #[pyo3(signature = (path, checksum_interval, keyframe_interval, tick_rate, simulation, sim_params, creator, created_unix))]
    #[allow(clippy::too_many_arguments)]
    fn start_recording(
        &self,
        path: String,
        checksum_interval: u32,
        keyframe_interval: u32,
        tick_rate: u16,
        simulation: Option<String>,
        sim_params: Option<Vec<u8>>,
        creator: String,
        created_unix: u64,
    ) -> PyResult<()> {
        let mut s = self.lock()?;
        if !s.record_confirmed {
            return Err(to_py(Error::InvalidConfig {
                setting: "record",
                reason: "must be true to record an input log (Session(..., record=True))",
            }));
        }
        if s.recorder.is_some() {
            return Err(to_py(Error::LogMismatch { what: "the session is already recording" }));
        }
        // The log starts at the first confirmed frame not yet let go of.
        s.record().py_err()?;
        let slots = u8::try_from(s.session.slots()).unwrap_or(u8::MAX);
        let mut h = LogHeader::new(slots, s.session.max_input_size() as u16);
        h.tick_rate = tick_rate;
        h.session = SessionKind::from(s.session.mode());
        h.default_input = s.default_input.clone();
        h.checksum_interval = checksum_interval;
        h.keyframe_interval = keyframe_interval;
        h.first_frame = s.record_next;
        match &s.arena {
            Some(a) => {
                h.simulation = simulation.unwrap_or_else(|| arena::SIMULATION_ID.to_string());
                h.sim_params = sim_params.unwrap_or_else(|| arena::encode_params(a.params()));
            }
            None => {
                h.simulation = simulation.unwrap_or_default();
                h.sim_params = sim_params.unwrap_or_default();
            }
        }
        h.creator = creator;
        h.created_unix = created_unix;
        let file = File::create(&path).map_err(|e| crate::errors::io_error(&e, Some(&path)))?;
        let writer = LogWriter::new(BufWriter::new(file), h).py_err()?;
        s.recorder = Some(Recorder { writer, path });
        Ok(())
    }

    /// Records what is confirmed so far, writes the last chunk and closes the file. Returns
    /// `(path, frames recorded)`, or `None` when not recording.
    fn stop_recording(&self) -> PyResult<Option<(String, Frame)>> {
        let mut s = self.lock()?;
        s.session.finish_step();
        s.record().py_err()?;
        let Some(r) = s.recorder.take() else { return Ok(None) };
        let next = r.writer.next_frame();
        let frames = next - s.record_next;
        s.record_next = next;
        r.writer.finish().py_err()?;
        Ok(Some((r.path, frames)))
    }

    #[getter]
    fn recording(&self) -> PyResult<Option<String>> {
        let s = self.lock()?;
        Ok(s.recorder.as_ref().map(|r| r.path.clone()))
    }

    // ----- observation ----------------------------------------------------------------------

    /// The next event as `(kind, a, b, c, d)`.
    fn poll_event(&self) -> PyResult<Option<(&'static str, u64, u64, u64, u64)>> {
        let mut s = self.lock()?;
        Ok({
            s.session.poll_event().map(|e| match e {
                Event::Desync { frame, slot, local, remote } => {
                    ("desync", u64::from(frame), slot as u64, local, remote)
                }
                Event::SyncTestMismatch { frame, first, second } => {
                    ("sync_test_mismatch", u64::from(frame), 0, first, second)
                }
                Event::SlotDisconnected { slot, frame } => ("slot_disconnected", u64::from(frame), slot as u64, 0, 0),
                Event::ChecksumNotCompared { frame, slot } => {
                    ("checksum_not_compared", u64::from(frame), slot as u64, 0, 0)
                }
            })
        })
    }

    fn checksum(&self, frame: Frame) -> PyResult<Option<u64>> {
        let s = self.lock()?;
        Ok(s.session.checksum(frame))
    }

    /// Every kept final checksum in `[start, stop)` as `(frames, checksums)` lists.
    fn checksums(&self, start: Frame, stop: Frame) -> PyResult<(Vec<Frame>, Vec<u64>)> {
        let s = self.lock()?;
        Ok({
            let stop = stop.min(s.session.checksummed_until());
            let (mut f, mut c) = (Vec::new(), Vec::new());
            for frame in start..stop {
                if let Some(v) = s.session.checksum(frame) {
                    f.push(frame);
                    c.push(v);
                }
            }
            (f, c)
        })
    }

    #[getter]
    fn checksummed_until(&self) -> PyResult<Frame> {
        let s = self.lock()?;
        Ok(s.session.checksummed_until())
    }

    #[getter]
    fn current_frame(&self) -> PyResult<Frame> {
        let s = self.lock()?;
        Ok(s.session.current_frame())
    }

    #[getter]
    fn confirmed_until(&self) -> PyResult<Frame> {
        let s = self.lock()?;
        Ok(s.session.confirmed_until())
    }

    fn waiting_for(&self, frame: Frame) -> PyResult<u64> {
        let s = self.lock()?;
        Ok(s.session.waiting_for(frame))
    }

    #[getter]
    fn input_delay(&self) -> PyResult<u32> {
        let s = self.lock()?;
        Ok(s.session.input_delay())
    }

    #[getter]
    fn slots(&self) -> PyResult<usize> {
        let s = self.lock()?;
        Ok(s.session.slots())
    }

    #[getter]
    fn local_slots(&self) -> PyResult<u64> {
        let s = self.lock()?;
        Ok(s.session.local_slots())
    }

    #[getter]
    fn mode(&self) -> PyResult<(&'static str, u32)> {
        let s = self.lock()?;
        Ok({
            match s.session.mode() {
                Mode::Lockstep => ("lockstep", 0),
                Mode::Rollback { max_prediction } => ("rollback", max_prediction),
                Mode::SyncTest { check_distance } => ("synctest", check_distance),
            }
        })
    }

    #[getter]
    fn max_input_size(&self) -> PyResult<usize> {
        let s = self.lock()?;
        Ok(s.session.max_input_size())
    }

    #[getter]
    fn max_snapshot_size(&self) -> PyResult<usize> {
        let s = self.lock()?;
        Ok(s.session.max_snapshot_size())
    }

    #[getter]
    fn default_input<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let s = self.lock()?;
        Ok(PyBytes::new(py, &s.default_input))
    }

    fn stats(&self) -> PyResult<(u64, u64, u64, u32, u64, u64, u64, u64)> {
        let s = self.lock()?;
        Ok(stats_tuple(s.session.stats()))
    }

    fn final_snapshot<'py>(&self, py: Python<'py>, frame: Frame) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let s = self.lock()?;
        Ok(s.session.final_snapshot(frame).map(|b| PyBytes::new(py, b)))
    }

    fn sync_test_evidence<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<(Frame, Bound<'py, PyBytes>, Bound<'py, PyBytes>)>> {
        let s = self.lock()?;
        Ok(s.session.sync_test_evidence().map(|e| (e.frame, PyBytes::new(py, e.first), PyBytes::new(py, e.second))))
    }

    // ----- the built-in simulation ------------------------------------------------------------

    #[getter]
    fn arena_params(&self) -> PyResult<Option<ParamsTuple>> {
        let s = self.lock()?;
        Ok(s.arena.as_ref().map(|a| params_tuple(a.params())))
    }

    /// Every player's observation (`players × rows × features` float32, see `observe.rs`) and
    /// the global state (`players × features`), as native-endian float32 bytes.
    fn observe<'py>(
        &self,
        py: Python<'py>,
        full: bool,
        projectiles: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let s = self.lock()?;
        let a = s.arena_ref()?;
        let spec = crate::observe::Spec { full, projectiles: projectiles.min(1024) };
        let p = a.players().len();
        let per = spec.len(p);
        let mut obs = vec![0f32; p * per];
        let mut near = Vec::new();
        for (agent, out) in obs.chunks_exact_mut(per).enumerate() {
            crate::observe::agent(a, agent, &spec, &mut near, out);
        }
        let mut global = vec![0f32; p * spec.features()];
        crate::observe::global(a, &spec, &mut global);
        let bytes = |v: &[f32]| PyBytes::new(py, &v.iter().flat_map(|x| x.to_ne_bytes()).collect::<Vec<u8>>());
        Ok((bytes(&obs), bytes(&global)))
    }

    fn arena_state<'py>(&self, py: Python<'py>) -> PyResult<(u32, usize, usize, Bound<'py, PyBytes>)> {
        let s = self.lock()?;
        crate::arena::state(py, s.arena_ref()?)
    }
}

impl From<Inner> for NativeSession {
    fn from(inner: Inner) -> Self {
        NativeSession { inner: Mutex::new(inner) }
    }
}

impl NativeSession {
    /// Never waits: taken by another thread, or by this one further up the stack (a callback
    /// calling back in), the lock is refused and the call raises. A `parking_lot` mutex, which has no
    /// poisoning: a panic inside the core cannot leave the session half-updated in a way Python
    /// could observe as memory unsafety, so the state would be used as it is anyway.
    fn lock(&self) -> PyResult<MutexGuard<'_, Inner>> {
        self.inner
            .try_lock()
            .ok_or_else(|| PyRuntimeError::new_err("the session is busy: another thread is inside Session.run()"))
    }
}

/// The status byte of the requests, for the Python side's `InputStatus`.
pub fn status_names() -> [(&'static str, u8); 4] {
    [
        ("CONFIRMED", InputStatus::Confirmed as u8),
        ("PREDICTED", InputStatus::Predicted as u8),
        ("DISCONNECTED", InputStatus::Disconnected as u8),
        ("SUBSTITUTED", InputStatus::Substituted as u8),
    ]
}
