//! What the two real-time network classes share: `NativeNetClient` (a relay's room, net.rs) and
//! `NativeP2PSession` (peer to peer, p2p.rs) each drive an `io::Endpoint` over their own
//! `UdpDriver` from Python, in `play` (the whole loop without the GIL) or in `poll` and `tick`
//! calls. The pacing of `play`, its input sources, the socket errors, the link conditioner and the
//! counters other threads read while `play` runs are the same for both; what differs (when a tick
//! is due, when the loop ends) stays in each class.

use std::net::SocketAddr;
use std::ops::DerefMut;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use framelock_core::{Frame, Session};
use framelock_net::io::{Conditioner, Endpoint, UdpDriver};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::network;

/// The longest `play` waits in one driver iteration (so it checks for Ctrl-C and the clock).
pub const MAX_POLL: Duration = Duration::from_millis(10);
/// How often `play` lets Python check for signals.
pub const SIGNAL_CHECK: Duration = Duration::from_millis(100);
/// A tick loop that fell behind plays at most this many missed ticks at once.
pub const MAX_CATCH_UP_TICKS: u32 = 8;

/// The state behind a real-time class's mutex: an endpoint, its driver and the ticks played.
pub(crate) trait Live: Send {
    /// One driver iteration: waits up to `wait`, takes what arrived, sends what is due.
    fn run_once(&mut self, wait: Duration) -> PyResult<()>;
    /// One tick with `input`: `(advanced, frame_or_mask)`, `None` while not connected or running.
    fn tick(&mut self, input: &[u8]) -> PyResult<Option<(bool, u64)>>;
    /// One tick with the arena's scripted input (as the CLI's bots play).
    fn tick_scripted(&mut self) -> PyResult<()>;
    /// One tick with the input in `row` of `Source::Rows`, the default input after the last row.
    fn tick_row(&mut self, row: Option<&[u8]>) -> PyResult<()>;
    /// Ticks played so far.
    fn ticks(&self) -> u32;
}

/// A real-time class: its `Live` state behind a mutex, which a call that finds it taken does not
/// wait for (it raises busy, the GIL held), and counters it publishes for other threads.
pub(crate) trait LiveClass: Sync {
    type Inner: Live;
    type Guard<'a>: DerefMut<Target = Self::Inner>
    where
        Self: 'a;
    /// The state, or busy (or closed) at once.
    fn lock(&self) -> PyResult<Self::Guard<'_>>;
    /// The state, waiting for it: for the loop of `play`, which holds no GIL meanwhile.
    fn lock_wait(&self) -> PyResult<Self::Guard<'_>>;
    /// Publishes the counters other threads read without the mutex.
    fn publish(&self, g: &Self::Inner);
}

/// `poll(max_wait)` of both classes: one driver iteration with the GIL released.
pub fn poll<C: LiveClass>(c: &C, py: Python<'_>, max_wait: f64) -> PyResult<()> {
    let wait = seconds(max_wait, "max_wait")?;
    let mut g = c.lock()?;
    let this: &mut C::Inner = &mut g;
    let r = py.detach(move || this.run_once(wait));
    c.publish(&g);
    r
}

/// One tick of `play` with the input `source` gives for it (`first_tick`: the ticks played when
/// `play` began). A callback runs with the mutex released (the guard is given back, taken again).
pub fn tick_from<'a, C: LiveClass>(
    c: &'a C,
    mut g: C::Guard<'a>,
    source: &Source<'_>,
    first_tick: u32,
) -> PyResult<C::Guard<'a>> {
    match *source {
        Source::Scripted => g.tick_scripted()?,
        Source::Rows { data, rows, row_len } => {
            let t = g.ticks().wrapping_sub(first_tick) as usize;
            g.tick_row((t < rows).then(|| &data[t * row_len..(t + 1) * row_len]))?;
        }
        Source::Callback(cb) => {
            drop(g);
            let input = callback_input(cb)?;
            g = c.lock_wait()?;
            g.tick(&input)?;
        }
    }
    Ok(g)
}

/// Lets Python run its pending signal handlers (Ctrl-C) from the loop of `play`, with the mutex
/// released and the counters published; the guard is given back, taken again.
pub fn check_signals<'a, C: LiveClass>(c: &'a C, g: C::Guard<'a>) -> PyResult<C::Guard<'a>> {
    c.publish(&g);
    drop(g);
    crate::signals::check()?;
    c.lock_wait()
}

/// Where `play` takes each tick's input from.
pub enum Source<'a> {
    /// The arena's scripted input (`arena::scripted_input`), as the CLI's bots play.
    Scripted,
    /// Row `t` (`row_len` bytes) for tick `t` of this `play`; what a row holds (one column per
    /// slot, or every local slot's input) is the class's business.
    Rows { data: &'a [u8], rows: usize, row_len: usize },
    /// A Python callable returning the input (called with the GIL and the object unlocked).
    Callback(&'a Py<PyAny>),
}

impl<'a> Source<'a> {
    /// Rows when `data` is given, else the callback when given, else scripted.
    pub fn new(data: Option<&'a [u8]>, rows: usize, row_len: usize, callback: Option<&'a Py<PyAny>>) -> Self {
        match (data, callback) {
            (Some(data), _) => Source::Rows { data, rows, row_len },
            (None, Some(cb)) => Source::Callback(cb),
            (None, None) => Source::Scripted,
        }
    }
}

/// Calls the inputs callable of `play` (the caller holds neither the GIL nor its object's mutex,
/// so that the callable may read the object).
fn callback_input(cb: &Py<PyAny>) -> PyResult<Vec<u8>> {
    Python::attach(|py| {
        let v = cb.call0(py)?;
        v.extract::<Vec<u8>>(py)
            .map_err(|e| PyTypeError::new_err(format!("the inputs callable must return bytes: {e}")))
    })
}

/// A duration argument in seconds (`what` names it): negative is 0, not finite is a `ValueError`.
pub fn seconds(t: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(t.max(0.0))
        .map_err(|_| PyValueError::new_err(format!("{what} must be a finite number of seconds")))
}

/// A link-conditioner probability argument: 0 to 1.
pub fn check_probability(name: &str, v: f64) -> PyResult<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!("{name} must be between 0 and 1, not {v}")))
    }
}

/// The driver on a UDP socket bound to `addr`.
pub fn bind(addr: SocketAddr) -> PyResult<UdpDriver> {
    UdpDriver::bind(addr).map_err(|e| network(format!("cannot bind {addr}: {e}")))
}

/// The seeded link conditioner on the driver's send path, when any of its settings is not zero
/// (`loss`, `duplicate` and `reorder` are probabilities, checked by `check_probability`).
#[allow(clippy::too_many_arguments)]
pub fn condition(
    driver: &mut UdpDriver,
    latency_ms: u64,
    jitter_ms: u64,
    loss: f64,
    duplicate: f64,
    reorder: f64,
    seed: u64,
) {
    if loss > 0.0 || duplicate > 0.0 || reorder > 0.0 || latency_ms > 0 || jitter_ms > 0 {
        driver.condition(Conditioner {
            latency: Duration::from_millis(latency_ms),
            jitter: Duration::from_millis(jitter_ms),
            loss_per_mille: (loss * 1000.0) as u32,
            duplicate_per_mille: (duplicate * 1000.0) as u32,
            reorder_per_mille: (reorder * 1000.0) as u32,
            seed,
        });
    }
}

/// One driver iteration of `E`'s driver (see `Live::run_once`).
pub fn run_once<E: Endpoint>(driver: &mut UdpDriver, ep: &mut E, wait: Duration) -> PyResult<()> {
    driver.run_once(ep, wait).map_err(|e| network(format!("socket: {e}")))
}

/// The socket's address, as the `local_addr` getters give it.
pub fn local_addr(driver: &UdpDriver) -> PyResult<String> {
    driver.local_addr().map(|a| a.to_string()).map_err(|e| network(format!("socket: {e}")))
}

/// The checksum of `frame` once it is final (0 if no longer kept), `None` before: what ends `play`.
pub fn final_checksum(s: &Session, frame: Frame) -> Option<u64> {
    if s.checksummed_until() > frame {
        Some(s.checksum(frame).unwrap_or(0))
    } else {
        None
    }
}

/// The `NetworkError` of a `play` whose last frame was not final in time.
pub fn not_final(frames: Frame, limit: Duration, s: &Session) -> PyErr {
    network(format!(
        "frame {frames} was not final within {:.1} s (at frame {})",
        limit.as_secs_f64(),
        s.checksummed_until()
    ))
}

/// The session's frame counters and the ticks played, published after every call that moves the
/// object and readable without its mutex: another thread can watch a `play` in progress.
#[derive(Debug, Default)]
pub struct Frames {
    current_frame: AtomicU32,
    confirmed_until: AtomicU32,
    checksummed_until: AtomicU32,
    ticks: AtomicU32,
}

impl Frames {
    pub fn publish(&self, s: &Session, ticks: u32) {
        self.current_frame.store(s.current_frame(), Ordering::Relaxed);
        self.confirmed_until.store(s.confirmed_until(), Ordering::Relaxed);
        self.checksummed_until.store(s.checksummed_until(), Ordering::Relaxed);
        self.ticks.store(ticks, Ordering::Relaxed);
    }

    pub fn current_frame(&self) -> Frame {
        self.current_frame.load(Ordering::Relaxed)
    }

    pub fn confirmed_until(&self) -> Frame {
        self.confirmed_until.load(Ordering::Relaxed)
    }

    pub fn checksummed_until(&self) -> Frame {
        self.checksummed_until.load(Ordering::Relaxed)
    }

    pub fn ticks(&self) -> u32 {
        self.ticks.load(Ordering::Relaxed)
    }
}
