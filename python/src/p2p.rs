//! `NativeP2PSession`: one process of a peer-to-peer match (no relay) on its own UDP socket:
//! `framelock_net::p2p::P2pEndpoint` driven by the mio `UdpDriver`, as `framelock p2p` drives it
//! (cli/src/p2p.rs `play`). The simulation is the reference arena, or Python-owned state reached
//! through three callables (GGPO's save/load/advance callbacks). The Python class
//! `framelock.P2PSession` wraps it.

use std::cell::{Cell, RefCell};
use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use framelock_core::arena::{self, scratch_size_bound, snapshot_size_bound, INPUT_SIZE};
use framelock_core::{checksum64, Frame, Mode};
use framelock_net::io::UdpDriver;
use framelock_net::p2p::{P2pBuilder, P2pEndpoint, P2pError, P2pEvent};
use parking_lot::{Mutex, MutexGuard};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::arena::{match_params, new_arena, ParamsTuple};
use crate::errors::{network, peer_config_mismatch, to_py, IntoPy};
use crate::p2p_game::{p2p_err, Game, PySim};
use crate::realtime::{self, Frames, Live, LiveClass, Source, MAX_CATCH_UP_TICKS, MAX_POLL, SIGNAL_CHECK};
/// After its last frame is final, `play` keeps ticking at most this long until every peer has
/// acknowledged what it needs from this process (as `framelock p2p`).
const LINGER: Duration = Duration::from_secs(5);
/// How long `play` goes on after a configuration mismatch before raising it (two
/// synchronization retries: the peer hears of it too).
const MISMATCH_GRACE: Duration = Duration::from_millis(450);
/// Events kept for Python between two `events()` calls; the oldest are dropped beyond.
const EVENTS: usize = 1024;

/// An event as the tuple `framelock._p2p` turns into a dataclass:
/// `(kind, peer index (a desync: the slot) or -1, a, b, c, setting)`.
type EventTuple = (&'static str, i64, u64, u64, u64, &'static str);

fn event_tuple(e: P2pEvent) -> EventTuple {
    let i = |p: framelock_net::p2p::PeerId| p.index as i64;
    match e {
        P2pEvent::Synchronizing { peer, done, total } => ("synchronizing", i(peer), done.into(), total.into(), 0, ""),
        P2pEvent::Synchronized { peer } => ("synchronized", i(peer), 0, 0, 0, ""),
        P2pEvent::Running => ("running", -1, 0, 0, 0, ""),
        P2pEvent::ConfigMismatch { peer, setting, local, remote } => {
            ("config_mismatch", i(peer), local, remote, 0, setting)
        }
        P2pEvent::NewSessionRefused { peer } => ("new_session_refused", i(peer), 0, 0, 0, ""),
        P2pEvent::NetworkInterrupted { peer, disconnect_in } => {
            ("network_interrupted", i(peer), disconnect_in.as_millis() as u64, 0, 0, "")
        }
        P2pEvent::NetworkResumed { peer } => ("network_resumed", i(peer), 0, 0, 0, ""),
        P2pEvent::Disconnecting { peer } => ("disconnecting", i(peer), 0, 0, 0, ""),
        P2pEvent::Disconnected { slot, frame } => ("disconnected", -1, slot as u64, frame.into(), 0, ""),
        P2pEvent::WaitRecommendation { frames } => ("wait_recommendation", -1, frames.into(), 0, 0, ""),
        P2pEvent::PeerTooFarBehind { peer, queued } => ("peer_too_far_behind", i(peer), queued.into(), 0, 0, ""),
        P2pEvent::Desync { frame, slot, local, remote } => ("desync", slot as i64, frame.into(), local, remote, ""),
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    ep: P2pEndpoint<Game>,
    driver: UdpDriver,
    local: Vec<usize>,
    input_size: usize,
    default: Vec<u8>,
    seed: u64,
    /// Ticks played while running (the scripted input of the next one is `ticks + 1`'s).
    ticks: u32,
    events: std::collections::VecDeque<EventTuple>,
    events_dropped: u64,
    /// The first configuration mismatch, kept so that `play` raises it.
    mismatch: Option<(usize, &'static str, u64, u64)>,
    /// How long the end of `play` waits for the link conditioner to deliver what it holds.
    drain: Duration,
    /// One frame at the tick rate.
    period: Duration,
    /// The addresses of hosted spectators and of the spectated host (for `peers()`' roles).
    spectator_addrs: Vec<SocketAddr>,
    host: Option<SocketAddr>,
}

impl Inner {
    fn collect_events(&mut self) {
        while let Some(e) = self.ep.poll_event() {
            if let P2pEvent::ConfigMismatch { peer, setting, local, remote } = e {
                self.mismatch.get_or_insert((peer.index, setting, local, remote));
            }
            if self.events.len() == EVENTS {
                self.events.pop_front();
                self.events_dropped += 1;
            }
            self.events.push_back(event_tuple(e));
        }
    }

    fn check_mismatch(&self) -> PyResult<()> {
        match self.mismatch {
            Some((peer, setting, local, remote)) => {
                let addr = self.ep.peers().nth(peer).map(|p| p.addr.to_string()).unwrap_or_default();
                Err(peer_config_mismatch(peer, addr, setting, local, remote))
            }
            None => Ok(()),
        }
    }

    fn scripted(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.local.len() * self.input_size);
        for &s in &self.local {
            v.extend_from_slice(&arena::scripted_input(self.seed, s, self.ticks.wrapping_add(1)));
        }
        v
    }

    fn session(&self) -> &framelock_core::Session {
        self.ep.driver().session()
    }

    /// Every peer has what it needs from this process for the checksum of `frame` (its inputs, a
    /// hosted spectator the confirmed frames, below `frame`), or is gone.
    fn served(&self, frame: Frame) -> bool {
        let now = self.driver.now();
        self.ep
            .peers()
            .all(|p| self.ep.peer_stats(p.index, now).is_none_or(|s| s.acknowledged >= frame || s.disconnected))
    }
}

impl Live for Inner {
    fn run_once(&mut self, wait: Duration) -> PyResult<()> {
        realtime::run_once(&mut self.driver, &mut self.ep, wait)?;
        self.collect_events();
        Ok(())
    }

    /// One tick with `input` (every local slot's, in slot order; ignored by a spectator); `None`
    /// before every peer is synchronized.
    fn tick(&mut self, input: &[u8]) -> PyResult<Option<(bool, u64)>> {
        let now = self.driver.now();
        let r = self.ep.tick(now, input);
        let o = match r {
            Ok(o) => o,
            Err(e) => return Err(p2p_err(self.ep.driver().sim(), e)),
        };
        if o.is_some() {
            self.ticks = self.ticks.wrapping_add(1);
        }
        self.driver.flush(&mut self.ep, now);
        self.collect_events();
        Ok(o.map(crate::session::outcome))
    }

    fn tick_scripted(&mut self) -> PyResult<()> {
        let input = self.scripted();
        self.tick(&input).map(drop)
    }

    /// A row holds every local slot's input, in slot order.
    fn tick_row(&mut self, row: Option<&[u8]>) -> PyResult<()> {
        let input = row.map_or_else(|| self.default.clone(), <[u8]>::to_vec);
        self.tick(&input).map(drop)
    }

    fn ticks(&self) -> u32 {
        self.ticks
    }
}

/// The locked session, known to be open.
pub(crate) struct Guard<'a>(MutexGuard<'a, Option<Inner>>, std::marker::PhantomData<&'a Inner>);

impl<'a> Guard<'a> {
    fn open(g: MutexGuard<'a, Option<Inner>>) -> PyResult<Self> {
        match *g {
            Some(_) => Ok(Guard(g, std::marker::PhantomData)),
            None => Err(PyRuntimeError::new_err("the session is closed")),
        }
    }
}

impl Deref for Guard<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        // `open` checked it is `Some`, and nothing sets it to `None` while the guard is held.
        self.0.as_ref().unwrap_or_else(|| unreachable!("checked by Guard::open"))
    }
}

impl DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        self.0.as_mut().unwrap_or_else(|| unreachable!("checked by Guard::open"))
    }
}

/// Counters published after every call that moves the session, readable without its mutex.
#[derive(Debug, Default)]
struct Progress {
    running: AtomicBool,
    frames: Frames,
}

/// The native half of `framelock.P2PSession` (see the module docs): the endpoint and its socket
/// behind a mutex, so that `play` and `poll` release the GIL. A call that finds the mutex taken
/// fails at once (busy) instead of waiting with the GIL held, except the `Progress` getters.
#[pyclass(module = "framelock._framelock", frozen)]
#[derive(Debug)]
pub struct NativeP2PSession {
    /// `None` once closed (the socket is gone).
    inner: Mutex<Option<Inner>>,
    progress: Progress,
    spectator: bool,
}

impl LiveClass for NativeP2PSession {
    type Inner = Inner;
    type Guard<'a> = Guard<'a>;

    fn publish(&self, g: &Inner) {
        self.progress.running.store(g.ep.is_running(), Ordering::Relaxed);
        self.progress.frames.publish(g.session(), g.ticks);
    }

    /// Never waits (see `NativeSession::lock`): a busy session raises.
    fn lock(&self) -> PyResult<Guard<'_>> {
        let g = self.inner.try_lock().ok_or_else(|| {
            PyRuntimeError::new_err("the session is busy: another thread is inside play(), poll() or tick()")
        })?;
        Guard::open(g)
    }

    fn lock_wait(&self) -> PyResult<Guard<'_>> {
        Guard::open(self.inner.lock())
    }
}

impl NativeP2PSession {
    fn play_loop(&self, frames: Frame, source: &Source<'_>, limit: Duration, sync_limit: Duration) -> PyResult<u64> {
        let mut g = self.lock_wait()?;
        let started = g.driver.now();
        let deadline = started + limit;
        let mut next_signal_check = started + SIGNAL_CHECK;
        let first_tick = g.ticks;
        let mut done: Option<(u64, Duration)> = None;
        let mut mismatch_at = None;
        loop {
            self.publish(&g);
            // A mismatch is raised after a grace period that lets this endpoint's next
            // synchronization requests reach the peer, so that it raises the mismatch too.
            if g.mismatch.is_some()
                && mismatch_at.get_or_insert(g.driver.now()).saturating_add(MISMATCH_GRACE) <= g.driver.now()
            {
                g.check_mismatch()?;
            }
            if done.is_none() {
                if let Some(c) = realtime::final_checksum(g.session(), frames) {
                    done = Some((c, g.driver.now()));
                }
            }
            if let Some((c, at)) = done {
                if self.spectator || g.served(frames) || g.driver.now() > at + LINGER {
                    let until = g.driver.now() + g.drain;
                    while g.driver.delayed() > 0 && g.driver.now() < until {
                        g.run_once(Duration::from_millis(5))?;
                    }
                    self.publish(&g);
                    return Ok(c);
                }
            }
            let now = g.driver.now();
            if !g.ep.is_running() && now > started + sync_limit {
                let d = g.ep.drops();
                return Err(network(format!(
                    "the peers did not synchronize within {:.1} s (datagrams dropped: {} unauthenticated \
                     (wrong key?), {} config mismatch, {} unknown address)",
                    sync_limit.as_secs_f64(),
                    d.unauthenticated,
                    d.config_mismatch,
                    d.unknown_address
                )));
            }
            if now > deadline {
                return Err(realtime::not_final(frames, limit, g.session()));
            }
            let wait = g.ep.next_tick().map_or(MAX_POLL, |t| t.saturating_sub(now));
            g.run_once(wait.min(MAX_POLL))?;
            let mut behind = 0;
            while g.ep.next_tick().is_some_and(|t| t <= g.driver.now()) && behind < MAX_CATCH_UP_TICKS {
                behind += 1;
                g = realtime::tick_from(self, g, source, first_tick)?;
            }
            if g.driver.now() >= next_signal_check {
                next_signal_check = g.driver.now() + SIGNAL_CHECK;
                g = realtime::check_signals(self, g)?;
            }
        }
    }
}

fn addr(what: &str, s: &str) -> PyResult<SocketAddr> {
    s.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| PyValueError::new_err(format!("{what}: {s:?} is not an address like 127.0.0.1:7000")))
}

#[pymethods]
impl NativeP2PSession {
    /// `arena_params` `Some` plays the arena (inputs of 2 bytes); `None` plays Python-owned state
    /// through `callbacks` `(save_state, load_state, advance_frame)`.
    #[new]
    #[pyo3(signature = (
        bind, key, rng_seed, slots, input_size, local, peers, spectators, spectate, tick_rate,
        max_prediction, input_delay, checksum_interval, simulation_id, disconnect_notify_ms,
        disconnect_timeout_ms, auto_time_sync, default_input, arena_params, callbacks,
        max_snapshot_size, latency_ms, jitter_ms, loss, duplicate, reorder, seed
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        bind: &str,
        key: &[u8],
        rng_seed: &[u8],
        slots: usize,
        input_size: usize,
        local: Vec<usize>,
        peers: Vec<(usize, String)>,
        spectators: Vec<String>,
        spectate: Option<String>,
        tick_rate: u16,
        max_prediction: u32,
        input_delay: u32,
        checksum_interval: u16,
        simulation_id: Option<u64>,
        disconnect_notify_ms: u64,
        disconnect_timeout_ms: u64,
        auto_time_sync: bool,
        default_input: Option<Vec<u8>>,
        arena_params: Option<ParamsTuple>,
        callbacks: Option<(Py<PyAny>, Py<PyAny>, Py<PyAny>)>,
        max_snapshot_size: usize,
        latency_ms: u64,
        jitter_ms: u64,
        loss: f64,
        duplicate: f64,
        reorder: f64,
        seed: u64,
    ) -> PyResult<Self> {
        let key: [u8; 32] =
            key.try_into().map_err(|_| PyValueError::new_err(format!("key must be 32 bytes, not {}", key.len())))?;
        let rng_seed: [u8; 32] = rng_seed.try_into().map_err(|_| PyValueError::new_err("rng_seed must be 32 bytes"))?;
        for (name, v) in [("loss", loss), ("duplicate", duplicate), ("reorder", reorder)] {
            realtime::check_probability(name, v)?;
        }
        let mode = match max_prediction {
            0 => Mode::Lockstep,
            n => Mode::Rollback { max_prediction: n },
        };
        let mut b = P2pBuilder::new(slots, input_size)
            .key(key)
            .rng_seed(rng_seed)
            .tick_rate(tick_rate)
            .mode(mode)
            .input_delay(input_delay)
            .checksum_interval(checksum_interval)
            .disconnect_notify(Duration::from_millis(disconnect_notify_ms))
            .disconnect_timeout(Duration::from_millis(disconnect_timeout_ms))
            .auto_time_sync(auto_time_sync);
        let (game, sim_id, default) = match (arena_params, callbacks) {
            (Some(t), None) => {
                let p = match_params(t, slots).py_err()?;
                if input_size != INPUT_SIZE {
                    return Err(PyValueError::new_err("the arena's inputs are 2 bytes"));
                }
                let mut id = arena::SIMULATION_ID.as_bytes().to_vec();
                id.extend_from_slice(&arena::encode_params(&p));
                b = b.max_snapshot_size(snapshot_size_bound(&p)).frame_arena_size(scratch_size_bound(&p));
                let a = new_arena(p).py_err()?;
                let default = default_input.unwrap_or_else(|| arena::NEUTRAL_INPUT.to_vec());
                (Game::Arena(Box::new(a)), simulation_id.unwrap_or_else(|| checksum64(&id)), default)
            }
            (None, Some((save, load, advance))) => {
                b = b.max_snapshot_size(max_snapshot_size.saturating_add(4)).frame_arena_size(64);
                let sim = PySim { save, load, advance, frame: Cell::new(0), error: RefCell::new(None) };
                (Game::Py(sim), simulation_id.unwrap_or(0), default_input.unwrap_or_default())
            }
            _ => return Err(PyValueError::new_err("give either arena_params or callbacks")),
        };
        b = b.default_input(&default);
        let mut default = default;
        default.resize(input_size, 0);
        let host = spectate.as_deref().map(|h| addr("spectate", h)).transpose()?;
        let mut spectator_addrs = Vec::new();
        match host {
            Some(h) => b = b.spectate(h),
            None => {
                for &s in &local {
                    b = b.local_slot(s);
                }
                for (s, a) in &peers {
                    b = b.remote_slot(*s, addr("peers", a)?);
                }
                for a in &spectators {
                    let a = addr("spectators", a)?;
                    spectator_addrs.push(a);
                    b = b.spectator(a);
                }
            }
        }
        b = b.simulation_id(sim_id);
        let bind_addr = addr("bind", bind)?;
        let mut driver = realtime::bind(bind_addr)?;
        let link_seed = seed ^ u64::from(bind_addr.port()) << 32;
        realtime::condition(&mut driver, latency_ms, jitter_ms, loss, duplicate, reorder, link_seed);
        let ep = match b.build(driver.now(), game) {
            Ok(ep) => ep,
            Err(P2pError::Config { setting, reason }) => {
                return Err(to_py(framelock_core::Error::InvalidConfig { setting, reason }))
            }
            Err(P2pError::Session(e)) => return Err(to_py(e)),
        };
        let mut local = local;
        local.sort_unstable();
        local.dedup();
        let mut inner = Inner {
            ep,
            driver,
            local: if spectate.is_some() { Vec::new() } else { local },
            input_size,
            default,
            seed,
            ticks: 0,
            events: std::collections::VecDeque::with_capacity(EVENTS),
            events_dropped: 0,
            mismatch: None,
            drain: Duration::from_millis(latency_ms + 2 * jitter_ms + 50),
            period: Duration::from_secs(1) / u32::from(tick_rate.max(1)),
            spectator_addrs,
            host,
        };
        // The synchronization requests built with the endpoint go out now.
        let now = inner.driver.now();
        inner.driver.flush(&mut inner.ep, now);
        let this = NativeP2PSession {
            inner: Mutex::new(Some(inner)),
            progress: Progress::default(),
            spectator: spectate.is_some(),
        };
        this.publish(&*this.lock()?);
        Ok(this)
    }

    /// One driver iteration with the GIL released: waits up to `max_wait` seconds for a datagram
    /// or the endpoint's next deadline, takes what arrived, sends what is due.
    fn poll(&self, py: Python<'_>, max_wait: f64) -> PyResult<()> {
        realtime::poll(self, py, max_wait)
    }

    /// Seconds until the next frame is due (`None` before running).
    fn until_next_tick(&self) -> PyResult<Option<f64>> {
        let g = self.lock()?;
        let now = g.driver.now();
        Ok(g.ep.next_tick().map(|t| t.saturating_sub(now).as_secs_f64()))
    }

    /// One tick with `input` (`None`: the scripted arena input of every local slot).
    #[pyo3(signature = (input = None))]
    fn tick(&self, input: Option<Vec<u8>>) -> PyResult<Option<(bool, u64)>> {
        let mut g = self.lock()?;
        let input = match input {
            Some(i) => i,
            None if matches!(g.ep.driver().sim(), Game::Arena(_)) => g.scripted(),
            None => return Err(PyValueError::new_err("a session over Python-owned state needs its input")),
        };
        let r = g.tick(&input);
        self.publish(&g);
        r
    }

    /// Plays in real time until `frames` is final and every peer has what it needs; returns the
    /// checksum of `frames`. Inputs from `rows` (`rows × local × input_size` bytes), else
    /// `callback()`, else scripted. The GIL is released except while Python code runs.
    #[pyo3(signature = (frames, rows_data, rows, callback, timeout, sync_timeout))]
    #[allow(clippy::too_many_arguments)]
    fn play(
        &self,
        py: Python<'_>,
        frames: Frame,
        rows_data: Option<Vec<u8>>,
        rows: usize,
        callback: Option<Py<PyAny>>,
        timeout: Option<f64>,
        sync_timeout: f64,
    ) -> PyResult<u64> {
        let (period, width, arena) = {
            let g = self.lock()?;
            (g.period, g.local.len() * g.input_size, matches!(g.ep.driver().sim(), Game::Arena(_)))
        };
        if let Some(d) = &rows_data {
            if d.len() != rows * width {
                return Err(PyValueError::new_err(format!(
                    "inputs hold {} bytes, not rows × local slots × input_size = {rows} × {width}",
                    d.len()
                )));
            }
        }
        if rows_data.is_none() && callback.is_none() && !arena && !self.spectator {
            return Err(PyValueError::new_err("a session over Python-owned state needs inputs (rows or a callable)"));
        }
        let sync_limit = realtime::seconds(sync_timeout, "sync_timeout")?;
        let limit = match timeout {
            Some(t) => realtime::seconds(t, "timeout")?,
            None => sync_limit + Duration::from_secs(20) + period * frames.saturating_add(600),
        };
        let source = Source::new(rows_data.as_deref(), rows, width, callback.as_ref());
        py.detach(|| self.play_loop(frames, &source, limit, sync_limit))
    }

    /// Events since the last call, as tuples (see `event_tuple`), and how many were dropped.
    fn events(&self) -> PyResult<(Vec<EventTuple>, u64)> {
        let mut g = self.lock()?;
        g.collect_events();
        let dropped = std::mem::take(&mut g.events_dropped);
        Ok((g.events.drain(..).collect(), dropped))
    }

    /// `(index, address, role)` of every peer: `player`, `spectator` (hosted here) or `host`.
    fn peers(&self) -> PyResult<Vec<(usize, String, &'static str)>> {
        let g = self.lock()?;
        let role = |a: SocketAddr| {
            if g.host == Some(a) {
                "host"
            } else if g.spectator_addrs.contains(&a) {
                "spectator"
            } else {
                "player"
            }
        };
        Ok(g.ep.peers().map(|p| (p.index, p.addr.to_string(), role(p.addr))).collect())
    }

    /// Network statistics of peer `index` (the fields of `framelock.PeerStats`, in order).
    fn peer_stats(&self, index: usize) -> PyResult<Vec<(&'static str, i64)>> {
        let g = self.lock()?;
        let now = g.driver.now();
        let s =
            g.ep.peer_stats(index, now)
                .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err(format!("no peer {index}")))?;
        let u = |v: u64| v.min(i64::MAX as u64) as i64;
        Ok(vec![
            ("rtt_ms", s.rtt_ms.into()),
            ("kbps_sent", s.kbps_sent.into()),
            ("kbps_received", s.kbps_received.into()),
            ("send_queue", s.send_queue.into()),
            ("local_frame_advantage", s.local_frame_advantage.into()),
            ("remote_frame_advantage", s.remote_frame_advantage.into()),
            ("packets_sent", u(s.packets_sent)),
            ("packets_received", u(s.packets_received)),
            ("packets_lost", u(s.packets_lost)),
            ("packets_duplicated", u(s.packets_duplicated)),
            ("bytes_sent", u(s.bytes_sent)),
            ("bytes_received", u(s.bytes_received)),
            ("acknowledged", s.acknowledged.into()),
            ("disconnected", s.disconnected.into()),
        ])
    }

    /// Dropped datagrams by reason (the fields of `framelock.P2PDrops`).
    fn drops(&self) -> PyResult<Vec<(&'static str, u64)>> {
        let g = self.lock()?;
        let d = g.ep.drops();
        let (tx, _) = g.ep.queue_drops();
        Ok(vec![
            ("malformed", d.malformed),
            ("unknown_address", d.unknown_address),
            ("wrong_handle", d.wrong_handle),
            ("wrong_epoch", d.wrong_epoch),
            ("replayed", d.replayed),
            ("unauthenticated", d.unauthenticated),
            ("bad_body", d.bad_body),
            ("config_mismatch", d.config_mismatch),
            ("unexpected", d.unexpected),
            ("transmit_queue_full", tx),
        ])
    }

    /// The core session's counters (the fields of `framelock.SessionStats`, in order) and the
    /// frames automatic time sync stretched.
    fn stats(&self) -> PyResult<((u64, u64, u64, u32, u64, u64, u64, u64), u32)> {
        let g = self.lock()?;
        Ok((crate::session::stats_tuple(g.session().stats()), g.ep.frames_stretched()))
    }

    fn checksum(&self, frame: Frame) -> PyResult<Option<u64>> {
        Ok(self.lock()?.session().checksum(frame))
    }

    /// Closes the session and its socket (the port is free again); every later call but the
    /// published getters raises `RuntimeError`. Closing a closed session does nothing.
    fn close(&self) -> PyResult<()> {
        let mut g = self
            .inner
            .try_lock()
            .ok_or_else(|| PyRuntimeError::new_err("the session is busy: another thread is inside play() or poll()"))?;
        *g = None;
        self.progress.running.store(false, Ordering::Relaxed);
        Ok(())
    }

    #[getter]
    fn closed(&self) -> bool {
        // Busy: a thread is inside a call on it, so it is open.
        self.inner.try_lock().is_some_and(|g| g.is_none())
    }

    #[getter]
    fn running(&self) -> bool {
        self.progress.running.load(Ordering::Relaxed)
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
    fn ticks(&self) -> u32 {
        self.progress.frames.ticks()
    }

    #[getter]
    fn local_addr(&self) -> PyResult<String> {
        realtime::local_addr(&self.lock()?.driver)
    }

    fn arena_state<'py>(&self, py: Python<'py>) -> PyResult<(u32, usize, usize, Bound<'py, PyBytes>)> {
        let g = self.lock()?;
        match g.ep.driver().sim() {
            Game::Arena(a) => crate::arena::state(py, a),
            Game::Py(_) => Err(PyTypeError::new_err("arena_state() needs the built-in simulation (arena=...)")),
        }
    }
}
