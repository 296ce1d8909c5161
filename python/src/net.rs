//! `NativeNetClient`: a player (or spectator) of a relay's room on its own UDP socket, running the
//! reference simulation: `framelock_net::player::NetClient` driven by the mio `UdpDriver`, as
//! `framelock bot` drives it (cli/src/net.rs `play`). The Python class `framelock.NetClient`
//! wraps it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

use framelock_core::arena::{self, scratch_size_bound, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::{Authority, Driver, Frame, Mode, SessionBuilder};
use framelock_net::io::UdpDriver;
use framelock_net::netcode::{ClientState, ConnectToken};
use framelock_net::player::NetClient;
use framelock_net::sync::RoomClient;
use parking_lot::{Mutex, MutexGuard};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::arena::{match_params, new_arena, ParamsTuple};
use crate::errors::{connect_token, connection_failed, to_py, IntoPy};
use crate::realtime::{self, Frames, Live, LiveClass, Source, MAX_CATCH_UP_TICKS, MAX_POLL, SIGNAL_CHECK};

/// How long a client may take to connect before `play` gives up (as `framelock bot`).
const CONNECT_LIMIT: Duration = Duration::from_secs(10);

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

#[derive(Debug)]
pub(crate) struct Inner {
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

    fn session(&self) -> &framelock_core::Session {
        self.client.room().driver().session()
    }
}

impl Live for Inner {
    fn run_once(&mut self, wait: Duration) -> PyResult<()> {
        realtime::run_once(&mut self.driver, &mut self.client, wait)
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

    fn tick_scripted(&mut self) -> PyResult<()> {
        let input = self.scripted();
        self.tick(&input).map(drop)
    }

    /// A row holds a column per slot (or one for every slot): this slot's.
    fn tick_row(&mut self, row: Option<&[u8]>) -> PyResult<()> {
        let col = match row {
            Some(r) if r.len() > INPUT_SIZE => self.slot.unwrap_or(0),
            _ => 0,
        };
        let input = row.map_or(&arena::NEUTRAL_INPUT[..], |r| &r[col * INPUT_SIZE..(col + 1) * INPUT_SIZE]);
        self.tick(input).map(drop)
    }

    fn ticks(&self) -> u32 {
        self.ticks
    }
}

/// Counters published after every call that moves the client, readable without its mutex: another
/// thread can watch a `play` in progress.
#[derive(Debug, Default)]
struct Progress {
    state: AtomicI32,
    frames: Frames,
    input_delay: AtomicU32,
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

impl LiveClass for NativeNetClient {
    type Inner = Inner;
    type Guard<'a> = MutexGuard<'a, Inner>;

    fn publish(&self, g: &Inner) {
        let s = g.session();
        let p = &self.progress;
        p.state.store(g.state() as i32, Ordering::Relaxed);
        p.frames.publish(s, g.ticks);
        p.input_delay.store(s.input_delay(), Ordering::Relaxed);
    }

    /// Never waits (see `NativeSession::lock`): a busy client raises.
    fn lock(&self) -> PyResult<MutexGuard<'_, Inner>> {
        self.inner.try_lock().ok_or_else(|| {
            PyRuntimeError::new_err("the client is busy: another thread is inside play(), poll() or disconnect()")
        })
    }

    fn lock_wait(&self) -> PyResult<MutexGuard<'_, Inner>> {
        Ok(self.inner.lock())
    }
}

impl NativeNetClient {
    fn play_loop(&self, frames: Frame, source: &Source<'_>, limit: Duration, leave: bool) -> PyResult<u64> {
        let mut g = self.lock_wait()?;
        let started = g.driver.now();
        let deadline = started + limit;
        let mut next_tick = started;
        let mut next_signal_check = started + SIGNAL_CHECK;
        let first_tick = g.ticks;
        loop {
            self.publish(&g);
            if let Some(c) = realtime::final_checksum(g.session(), frames) {
                if leave {
                    g.leave()?;
                    self.publish(&g);
                }
                return Ok(c);
            }
            g.check_alive()?;
            let now = g.driver.now();
            if now > deadline {
                return Err(realtime::not_final(frames, limit, g.session()));
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
                if g.client.is_connected() {
                    g = realtime::tick_from(self, g, source, first_tick)?;
                }
            }
            if g.driver.now() >= next_signal_check {
                next_signal_check = g.driver.now() + SIGNAL_CHECK;
                g = realtime::check_signals(self, g)?;
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
        let p: ArenaParams = match_params(arena_params, players).py_err()?;
        if !(1..=1000).contains(&tick_rate) {
            return Err(PyValueError::new_err(format!(
                "tick_rate must be 1..=1000 frames per second, not {tick_rate}"
            )));
        }
        realtime::check_probability("loss", loss)?;
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
        let sim = new_arena(p).py_err()?;
        let bind: SocketAddr = match bind {
            Some(a) => a.parse().map_err(|e| PyValueError::new_err(format!("bind: {a:?} is not an address: {e}")))?,
            None if token.server_addresses().first().is_some_and(SocketAddr::is_ipv6) => {
                SocketAddr::from(([0u16; 8], 0))
            }
            None => SocketAddr::from(([0, 0, 0, 0], 0)),
        };
        let mut driver = realtime::bind(bind)?;
        let link_seed = seed ^ (slot.unwrap_or(255) as u64) << 32;
        realtime::condition(&mut driver, latency_ms, jitter_ms, loss, 0.0, 0.0, link_seed);
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
        realtime::poll(self, py, max_wait)
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
            Some(t) => realtime::seconds(t, "timeout")?,
            None => Duration::from_secs(20) + period * frames.saturating_add(600),
        };
        let source = Source::new(data.as_deref(), rows, width * INPUT_SIZE, callback.as_ref());
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
        Ok(self.lock()?.session().checksum(frame))
    }

    #[getter]
    fn current_frame(&self) -> Frame {
        self.progress.frames.current_frame()
    }

    #[getter]
    fn confirmed_until(&self) -> Frame {
        self.progress.frames.confirmed_until()
    }

    #[getter]
    fn checksummed_until(&self) -> Frame {
        self.progress.frames.checksummed_until()
    }

    #[getter]
    fn input_delay(&self) -> u32 {
        self.progress.input_delay.load(Ordering::Relaxed)
    }

    #[getter]
    fn ticks(&self) -> u32 {
        self.progress.frames.ticks()
    }

    #[getter]
    fn local_addr(&self) -> PyResult<String> {
        realtime::local_addr(&self.lock()?.driver)
    }

    #[getter]
    fn server_addr(&self) -> PyResult<String> {
        Ok(self.lock()?.client.connection().server_address().to_string())
    }

    /// Every counter as `(name, value)` pairs (the fields of `framelock.NetStats`).
    fn stats(&self) -> PyResult<Vec<(&'static str, u64)>> {
        let g = self.lock()?;
        let session = g.session();
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
