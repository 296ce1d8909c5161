//! `NativeNetClient`: a player (or spectator) of a relay's room on its own UDP socket, running the
//! reference simulation: `framelock_net::player::NetClient` driven by the mio `UdpDriver`, as
//! `framelock bot` drives it (cli/src/net.rs `play`). The Python class `framelock.NetClient`
//! wraps it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

use framelock_core::arena::{self, scratch_size_bound, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::{Authority, Driver, Frame, Mode, SessionBuilder};
use framelock_net::io::{Conditioner, UdpDriver};
use framelock_net::netcode::{ClientState, ConnectToken};
use framelock_net::player::NetClient;
use framelock_net::sync::RoomClient;
use parking_lot::{Mutex, MutexGuard};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::arena::{params, ParamsTuple};
use crate::errors::{connect_token, connection_failed, network, to_py, IntoPy};

/// How long a client may take to connect before `play` gives up (as `framelock bot`).
const CONNECT_LIMIT: Duration = Duration::from_secs(10);
/// The longest `play` waits in one driver iteration (so it checks for Ctrl-C and the clock).
const MAX_POLL: Duration = Duration::from_millis(10);
/// How often `play` lets Python check for signals.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);
/// A tick loop that fell behind plays at most this many missed ticks at once.
const MAX_CATCH_UP_TICKS: u32 = 8;

/// The connection states of the netcode standard, by their `as i32` code, with the names of
/// `framelock.ConnectionState`.
pub fn state_name(s: ClientState) -> &'static str {
    match s {
        ClientState::ConnectTokenExpired => "CONNECT_TOKEN_EXPIRED",
        ClientState::InvalidConnectToken => "INVALID_CONNECT_TOKEN",
        ClientState::ConnectionTimedOut => "CONNECTION_TIMED_OUT",
        ClientState::ConnectionResponseTimedOut => "CONNECTION_RESPONSE_TIMED_OUT",
        ClientState::ConnectionRequestTimedOut => "CONNECTION_REQUEST_TIMED_OUT",
        ClientState::ConnectionDenied => "CONNECTION_DENIED",
        ClientState::Disconnected => "DISCONNECTED",
        ClientState::SendingConnectionRequest => "SENDING_CONNECTION_REQUEST",
        ClientState::SendingConnectionResponse => "SENDING_CONNECTION_RESPONSE",
        ClientState::Connected => "CONNECTED",
    }
}

/// Where `play` takes each tick's input from.
enum Source<'a> {
    /// `arena::scripted_input(seed, slot, tick)`, as `framelock bot`.
    Scripted,
    /// Row `t` of a `rows × width × 2` buffer for tick `t` of this `play`; column `slot` (or 0
    /// when `width` is 1); the neutral input after the last row.
    Rows { data: &'a [u8], rows: usize, width: usize },
    /// A Python callable returning the input (called with the GIL and the client unlocked).
    Callback(&'a Py<PyAny>),
}

#[derive(Debug)]
struct Inner {
    client: NetClient<Arena>,
    driver: UdpDriver,
    /// `None` for a spectator.
    slot: Option<usize>,
    seed: u64,
    period: Duration,
    /// Ticks played while connected (the scripted input of the next one is `ticks + 1`'s).
    ticks: u32,
    /// How long a disconnect waits for the link conditioner to deliver what it holds.
    drain: Duration,
}

impl Inner {
    fn state(&self) -> ClientState {
        self.client.connection().state()
    }

    /// Fails when the connection is over (an error state, or disconnected by either side).
    fn check_alive(&self) -> PyResult<()> {
        let s = self.state();
        if s.is_active() {
            return Ok(());
        }
        let what = match s {
            ClientState::Disconnected => "the client is disconnected".to_string(),
            _ => format!("the connection to {} failed", self.client.connection().server_address()),
        };
        Err(connection_failed(format!("{what} ({})", state_name(s)), state_name(s)))
    }

    fn run_once(&mut self, wait: Duration) -> PyResult<()> {
        self.driver.run_once(&mut self.client, wait).map_err(|e| network(format!("socket: {e}")))
    }

    /// One tick with `input` (ignored by a spectator); `None` before the connection is up.
    fn tick(&mut self, input: &[u8]) -> PyResult<Option<(bool, u64)>> {
        let now = self.driver.now();
        let connected = self.client.is_connected();
        let o = self.client.tick(now, input).py_err()?;
        if connected {
            self.ticks = self.ticks.wrapping_add(1);
        }
        self.driver.flush(&mut self.client, now);
        Ok(o.map(crate::session::outcome))
    }

    fn scripted(&self) -> [u8; INPUT_SIZE] {
        match self.slot {
            Some(slot) => arena::scripted_input(self.seed, slot, self.ticks.wrapping_add(1)),
            None => arena::NEUTRAL_INPUT,
        }
    }

    /// Leaves the room and lets the conditioner deliver what it holds (the disconnect among it).
    fn leave(&mut self) -> PyResult<()> {
        let now = self.driver.now();
        self.client.disconnect(now);
        self.driver.flush(&mut self.client, now);
        let until = self.driver.now() + self.drain;
        while self.driver.delayed() > 0 && self.driver.now() < until {
            self.run_once(Duration::from_millis(5))?;
            let now = self.driver.now();
            self.driver.flush(&mut self.client, now);
        }
        Ok(())
    }

    fn final_checksum(&self, frame: Frame) -> Option<u64> {
        let s = self.client.room().driver().session();
        if s.checksummed_until() > frame {
            Some(s.checksum(frame).unwrap_or(0))
        } else {
            None
        }
    }
}

/// Counters published after every call that moves the client, readable without its mutex: another
/// thread can watch a `play` in progress.
#[derive(Debug, Default)]
struct Progress {
    state: AtomicI32,
    current_frame: AtomicU32,
    confirmed_until: AtomicU32,
    checksummed_until: AtomicU32,
    input_delay: AtomicU32,
    ticks: AtomicU32,
}

/// The native half of `framelock.NetClient`: the client behind a mutex, so that `play`, `poll`
/// and `disconnect` release the GIL. A call that finds the mutex taken (another thread is inside
/// one of them) fails at once instead of waiting with the GIL held, except the getters of
/// `Progress`.
#[pyclass(module = "framelock._framelock", frozen)]
#[derive(Debug)]
pub struct NativeNetClient {
    inner: Mutex<Inner>,
    progress: Progress,
}

impl NativeNetClient {
    fn publish(&self, g: &Inner) {
        let s = g.client.room().driver().session();
        let p = &self.progress;
        p.state.store(g.state() as i32, Ordering::Relaxed);
        p.current_frame.store(s.current_frame(), Ordering::Relaxed);
        p.confirmed_until.store(s.confirmed_until(), Ordering::Relaxed);
        p.checksummed_until.store(s.checksummed_until(), Ordering::Relaxed);
        p.input_delay.store(s.input_delay(), Ordering::Relaxed);
        p.ticks.store(g.ticks, Ordering::Relaxed);
    }

    /// Never waits (see `NativeSession::lock`): a busy client raises.
    fn lock(&self) -> PyResult<MutexGuard<'_, Inner>> {
        self.inner.try_lock().ok_or_else(|| {
            PyRuntimeError::new_err("the client is busy: another thread is inside play(), poll() or disconnect()")
        })
    }

    /// The blocking lock, for the loop of `play` (which holds no GIL while waiting for it).
    fn lock_wait(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    fn play_loop(&self, frames: Frame, source: &Source<'_>, limit: Duration, leave: bool) -> PyResult<u64> {
        let mut g = self.lock_wait();
        let started = g.driver.now();
        let deadline = started + limit;
        let mut next_tick = started;
        let mut next_signal_check = started + SIGNAL_CHECK;
        let first_tick = g.ticks;
        loop {
            self.publish(&g);
            if let Some(c) = g.final_checksum(frames) {
                if leave {
                    g.leave()?;
                    self.publish(&g);
                }
                return Ok(c);
            }
            g.check_alive()?;
            let now = g.driver.now();
            if now > deadline {
                return Err(network(format!(
                    "frame {frames} was not final within {:.1} s (at frame {})",
                    limit.as_secs_f64(),
                    g.client.room().driver().session().checksummed_until()
                )));
            }
            if !g.client.is_connected() && now > started + CONNECT_LIMIT {
                let s = state_name(g.state());
                return Err(connection_failed(format!("could not connect within 10 s ({s})"), s));
            }
            g.run_once(next_tick.saturating_sub(now).min(MAX_POLL))?;
            let now = g.driver.now();
            // Behind (a slow machine, a long callback): play the missed ticks at once, a few at a
            // time, so the frame keeps pace with the relay's clock.
            let mut behind = 0;
            while now >= next_tick && behind < MAX_CATCH_UP_TICKS {
                next_tick += g.period;
                behind += 1;
                if !g.client.is_connected() {
                    continue;
                }
                match *source {
                    Source::Scripted => {
                        let input = g.scripted();
                        g.tick(&input)?;
                    }
                    Source::Rows { data, rows, width } => {
                        let t = g.ticks.wrapping_sub(first_tick) as usize;
                        let col = if width == 1 { 0 } else { g.slot.unwrap_or(0) };
                        let input = if t < rows {
                            let at = (t * width + col) * INPUT_SIZE;
                            &data[at..at + INPUT_SIZE]
                        } else {
                            &arena::NEUTRAL_INPUT[..]
                        };
                        g.tick(input)?;
                    }
                    Source::Callback(cb) => {
                        drop(g);
                        let input: Vec<u8> = Python::attach(|py| {
                            let v = cb.call0(py)?;
                            v.extract::<Vec<u8>>(py).map_err(|e| {
                                PyTypeError::new_err(format!("the inputs callable must return bytes: {e}"))
                            })
                        })?;
                        g = self.lock_wait();
                        g.tick(&input)?;
                    }
                }
            }
            if g.driver.now() >= next_signal_check {
                next_signal_check = g.driver.now() + SIGNAL_CHECK;
                drop(g);
                crate::signals::check()?;
                g = self.lock_wait();
            }
        }
    }
}

#[pymethods]
impl NativeNetClient {
    /// `slot` `None` makes a spectator (a token for slot 255; a lockstep session, every slot remote).
    #[new]
    #[pyo3(signature = (
        token, slot, players, tick_rate, arena_params, max_prediction, input_delay, checksum_interval,
        loss, latency_ms, jitter_ms, seed, bind = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        token: &[u8],
        slot: Option<usize>,
        players: usize,
        tick_rate: u16,
        arena_params: ParamsTuple,
        max_prediction: u32,
        input_delay: u32,
        checksum_interval: u32,
        loss: f64,
        latency_ms: u64,
        jitter_ms: u64,
        seed: u64,
        bind: Option<String>,
    ) -> PyResult<Self> {
        let token = ConnectToken::read(token).map_err(|e| connect_token(e.to_string()))?;
        let p: ArenaParams = params(arena_params).py_err()?;
        if usize::from(p.players) != players {
            return Err(to_py(framelock_core::Error::InvalidConfig {
                setting: "arena",
                reason: "must have one player per slot (players == arena.players)",
            }));
        }
        if !(1..=1000).contains(&tick_rate) {
            return Err(PyValueError::new_err(format!(
                "tick_rate must be 1..=1000 frames per second, not {tick_rate}"
            )));
        }
        if !(0.0..=1.0).contains(&loss) {
            return Err(PyValueError::new_err(format!("loss must be between 0 and 1, not {loss}")));
        }
        if let Some(s) = slot.filter(|&s| s >= players) {
            return Err(to_py(framelock_core::Error::UnknownSlot { slot: s, slots: players }));
        }
        let mut b = SessionBuilder::new(players)
            .authority(Authority::Relay)
            .max_input_size(INPUT_SIZE)
            .default_input(&arena::NEUTRAL_INPUT)
            .max_snapshot_size(snapshot_size_bound(&p))
            .frame_arena_size(scratch_size_bound(&p));
        b = match slot {
            Some(s) => b.local_slot(s).mode(Mode::Rollback { max_prediction }).input_delay(input_delay),
            None => b.mode(Mode::Lockstep),
        };
        let session = b.build().py_err()?;
        let sim = Arena::new(p)
            .map_err(|e| framelock_core::Error::InvalidConfig { setting: "arena", reason: e.reason })
            .py_err()?;
        let bind: SocketAddr = match bind {
            Some(a) => a.parse().map_err(|e| PyValueError::new_err(format!("bind: {a:?} is not an address: {e}")))?,
            None if token.server_addresses().first().is_some_and(SocketAddr::is_ipv6) => {
                SocketAddr::from(([0u16; 8], 0))
            }
            None => SocketAddr::from(([0, 0, 0, 0], 0)),
        };
        let mut driver = UdpDriver::bind(bind).map_err(|e| network(format!("cannot bind {bind}: {e}")))?;
        if loss > 0.0 || latency_ms > 0 || jitter_ms > 0 {
            driver.condition(Conditioner {
                latency: Duration::from_millis(latency_ms),
                jitter: Duration::from_millis(jitter_ms),
                loss_per_mille: (loss * 1000.0) as u32,
                duplicate_per_mille: 0,
                reorder_per_mille: 0,
                seed: seed ^ (slot.unwrap_or(255) as u64) << 32,
            });
        }
        let driver_sim = Driver::new(session, sim);
        let room = match slot {
            Some(s) => RoomClient::new(driver_sim, s, checksum_interval.max(1)),
            None => RoomClient::spectator(driver_sim),
        };
        let client = NetClient::new(driver.now(), token, room);
        let this = NativeNetClient {
            progress: Progress::default(),
            inner: Mutex::new(Inner {
                client,
                driver,
                slot,
                seed,
                period: Duration::from_micros(1_000_000 / u64::from(tick_rate)),
                ticks: 0,
                drain: Duration::from_millis(latency_ms + jitter_ms + 100),
            }),
        };
        this.publish(&*this.lock()?);
        Ok(this)
    }

    /// One driver iteration with the GIL released: waits up to `max_wait` seconds for a datagram
    /// or the connection's next deadline, takes what arrived, sends what is due.
    fn poll(&self, py: Python<'_>, max_wait: f64) -> PyResult<()> {
        let wait = Duration::try_from_secs_f64(max_wait.max(0.0))
            .map_err(|_| PyValueError::new_err("max_wait must be a finite number of seconds"))?;
        let mut g = self.lock()?;
        let this: &mut Inner = &mut g;
        let r = py.detach(move || this.run_once(wait));
        self.publish(&g);
        r
    }

    /// One tick with `input` (`None`: the scripted bot input). `(advanced, frame_or_mask)`, or
    /// `None` before the connection is up.
    #[pyo3(signature = (input = None))]
    fn tick(&self, input: Option<Vec<u8>>) -> PyResult<Option<(bool, u64)>> {
        let mut g = self.lock()?;
        let input = match input {
            Some(i) => i,
            None => g.scripted().to_vec(),
        };
        let r = g.tick(&input);
        self.publish(&g);
        r
    }

    /// Plays in real time at the tick rate until `frames` is final; returns its checksum. Inputs
    /// from `rows` (`rows × width × 2` bytes), else `callback()`, else scripted. The GIL is
    /// released except while `callback` runs.
    #[pyo3(signature = (frames, inputs, rows, width, callback, timeout, leave))]
    #[allow(clippy::too_many_arguments)]
    fn play(
        &self,
        py: Python<'_>,
        frames: Frame,
        inputs: Option<&Bound<'_, PyAny>>,
        rows: usize,
        width: usize,
        callback: Option<Py<PyAny>>,
        timeout: Option<f64>,
        leave: bool,
    ) -> PyResult<u64> {
        let data = match inputs {
            Some(obj) => {
                let buf = PyBuffer::<u8>::get(obj)
                    .map_err(|e| PyTypeError::new_err(format!("inputs must be a buffer of uint8: {e}")))?;
                if !buf.is_c_contiguous() {
                    return Err(PyValueError::new_err("inputs must be C-contiguous"));
                }
                if width == 0 || rows.checked_mul(width * INPUT_SIZE) != Some(buf.item_count()) {
                    return Err(PyValueError::new_err(format!(
                        "inputs hold {} bytes, not rows × width × 2 = {rows} × {width} × 2",
                        buf.item_count()
                    )));
                }
                Some(buf.to_vec(py)?)
            }
            None => None,
        };
        let period = {
            let g = self.lock()?;
            if let (Some(s), true) = (g.slot, width > 1 && data.is_some()) {
                if s >= width {
                    return Err(PyValueError::new_err(format!("inputs have {width} columns; slot {s} has none")));
                }
            }
            g.period
        };
        let limit = match timeout {
            Some(t) => Duration::try_from_secs_f64(t.max(0.0))
                .map_err(|_| PyValueError::new_err("timeout must be a finite number of seconds"))?,
            None => Duration::from_secs(20) + period * frames.saturating_add(600),
        };
        let source = match (&data, &callback) {
            (Some(d), _) => Source::Rows { data: d, rows, width },
            (None, Some(cb)) => Source::Callback(cb),
            (None, None) => Source::Scripted,
        };
        // Only `play` itself may hold the mutex meanwhile: another thread's call fails at once.
        drop(self.lock()?);
        py.detach(|| self.play_loop(frames, &source, limit, leave))
    }

    /// Leaves the room (redundant disconnect packets) and lets the link conditioner deliver what
    /// it holds, with the GIL released.
    fn disconnect(&self, py: Python<'_>) -> PyResult<()> {
        let mut g = self.lock()?;
        let this: &mut Inner = &mut g;
        let r = py.detach(move || this.leave());
        self.publish(&g);
        r
    }

    /// The connection state's code (`ClientState as i32`). This and the counters below are the
    /// values published by the last call that moved the client: they never fail as busy.
    #[getter]
    fn state(&self) -> i32 {
        self.progress.state.load(Ordering::Relaxed)
    }

    #[getter]
    fn connected(&self) -> bool {
        self.state() == ClientState::Connected as i32
    }

    fn check_alive(&self) -> PyResult<()> {
        self.lock()?.check_alive()
    }

    fn checksum(&self, frame: Frame) -> PyResult<Option<u64>> {
        Ok(self.lock()?.client.room().driver().session().checksum(frame))
    }

    #[getter]
    fn current_frame(&self) -> Frame {
        self.progress.current_frame.load(Ordering::Relaxed)
    }

    #[getter]
    fn confirmed_until(&self) -> Frame {
        self.progress.confirmed_until.load(Ordering::Relaxed)
    }

    #[getter]
    fn checksummed_until(&self) -> Frame {
        self.progress.checksummed_until.load(Ordering::Relaxed)
    }

    #[getter]
    fn input_delay(&self) -> u32 {
        self.progress.input_delay.load(Ordering::Relaxed)
    }

    #[getter]
    fn ticks(&self) -> u32 {
        self.progress.ticks.load(Ordering::Relaxed)
    }

    #[getter]
    fn local_addr(&self) -> PyResult<String> {
        let g = self.lock()?;
        g.driver.local_addr().map(|a| a.to_string()).map_err(|e| network(format!("socket: {e}")))
    }

    #[getter]
    fn server_addr(&self) -> PyResult<String> {
        Ok(self.lock()?.client.connection().server_address().to_string())
    }

    /// Every counter as `(name, value)` pairs (the fields of `framelock.NetStats`).
    fn stats(&self) -> PyResult<Vec<(&'static str, u64)>> {
        let g = self.lock()?;
        let session = g.client.room().driver().session();
        let s = session.stats();
        let room = g.client.room().stats();
        let io = g.driver.stats();
        let conn = g.client.connection().stats();
        Ok(vec![
            ("ticks", u64::from(g.ticks)),
            ("frames", u64::from(session.current_frame())),
            ("confirmed", u64::from(session.confirmed_until())),
            ("frames_advanced", s.frames_advanced),
            ("frames_resimulated", s.frames_resimulated),
            ("rollbacks", s.rollbacks),
            ("max_rollback", u64::from(s.max_rollback)),
            ("stalls", s.stalls),
            ("desyncs", s.desyncs),
            ("input_delay", u64::from(session.input_delay())),
            ("delay_changes", room.delay_changes),
            ("bundles_malformed", room.malformed),
            ("bundles_out_of_order", room.out_of_order),
            ("desyncs_reported", room.desyncs_reported),
            ("datagrams_in", io.datagrams_in),
            ("datagrams_out", io.datagrams_out),
            ("bytes_in", io.bytes_in),
            ("bytes_out", io.bytes_out),
            ("send_dropped", io.send_dropped),
            ("conditioner_dropped", io.conditioner_dropped),
            ("packets_dropped", conn.dropped_total()),
        ])
    }

    fn arena_state<'py>(&self, py: Python<'py>) -> PyResult<(u32, usize, usize, Bound<'py, pyo3::types::PyBytes>)> {
        let g = self.lock()?;
        crate::arena::state(py, g.client.room().driver().sim())
    }
}
