//! `framelock serve --metrics ADDR`: the relay's counters in the Prometheus text format over HTTP
//! (`/metrics`), with a liveness probe (`/healthz`: 200 while the process runs) and a readiness
//! probe (`/readyz`: 200 while the relay opens new rooms, 503 while it drains).
//!
//! The relay loop renders the page about once a second into a shared slot (one short lock, no
//! I/O); a separate thread serves it. A scrape therefore never blocks a tick. The HTTP side is
//! minimal on purpose: one request per connection, a read timeout (idle connections are closed),
//! at most 16 connections served at once (the rest are refused at once).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use framelock_net::io::IoStats;
use framelock_net::netcode::DropReason;
use framelock_net::relay::{Refusal, Relay};

const MAX_CONNECTIONS: usize = 16;
const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The page the HTTP thread serves at `/metrics`, and the readiness it answers `/readyz` with.
#[derive(Clone)]
pub struct Page {
    text: Arc<Mutex<String>>,
    ready: Arc<AtomicBool>,
}

impl Default for Page {
    fn default() -> Self {
        Page { text: Arc::default(), ready: Arc::new(AtomicBool::new(true)) }
    }
}

impl Page {
    /// Replaces the page.
    pub fn set(&self, text: String) {
        if let Ok(mut p) = self.text.lock() {
            *p = text;
        }
    }

    /// Whether `/readyz` says the relay accepts new rooms (200) or not (503, draining).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    fn get(&self) -> String {
        self.text.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// Starts the HTTP thread on `addr`; returns the page to update and the bound address.
pub fn serve(addr: SocketAddr) -> std::io::Result<(Page, SocketAddr)> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    let page = Page::default();
    let served = page.clone();
    let open = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        for stream in listener.incoming().flatten() {
            if open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
                drop(stream); // over the cap: refused
                continue;
            }
            open.fetch_add(1, Ordering::Relaxed);
            let (page, done) = (served.clone(), open.clone());
            let spawned = std::thread::Builder::new().name("metrics-conn".into()).spawn(move || {
                let _ = answer(stream, &page);
                done.fetch_sub(1, Ordering::Relaxed);
            });
            if spawned.is_err() {
                open.fetch_sub(1, Ordering::Relaxed);
            }
        }
    })?;
    Ok((page, bound))
}

fn answer(mut stream: TcpStream, page: &Page) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let mut request = [0u8; 2048];
    let mut n = 0;
    while n < request.len() && !request[..n].windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut request[n..])? {
            0 => return Ok(()),
            k => n += k,
        }
    }
    let request = &request[..n];
    let (status, body) = if request.starts_with(b"GET /metrics ") {
        ("200 OK", page.get())
    } else if request.starts_with(b"GET /healthz ") {
        // Alive: this thread answers while the process runs.
        ("200 OK", "ok\n".to_string())
    } else if request.starts_with(b"GET /readyz ") {
        if page.ready.load(Ordering::Relaxed) {
            ("200 OK", "ready\n".to_string())
        } else {
            ("503 Service Unavailable", "draining\n".to_string())
        }
    } else {
        ("404 Not Found", "not found: try /metrics, /healthz or /readyz\n".to_string())
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Tick-duration histogram buckets, in microseconds.
pub const TICK_BUCKETS_US: [u64; 8] = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/// What the relay loop measures between renders.
#[derive(Debug, Clone, Default)]
pub struct LoopStats {
    /// Tick (one `run_once`) durations: counts per bucket, plus the overflow bucket.
    pub tick_buckets: [u64; 9],
    /// Sum of tick durations in microseconds.
    pub tick_sum_us: u64,
    /// Ticks measured.
    pub ticks: u64,
    /// Worst lateness of `handle_timeout` against the relay's deadline, microseconds.
    pub max_lateness_us: u64,
}

impl LoopStats {
    /// Adds one tick.
    pub fn tick(&mut self, took: Duration) {
        let us = took.as_micros() as u64;
        let i = TICK_BUCKETS_US.iter().position(|&b| us <= b).unwrap_or(TICK_BUCKETS_US.len());
        self.tick_buckets[i] += 1;
        self.tick_sum_us += us;
        self.ticks += 1;
    }
}

/// Everything the metrics page shows, taken from one relay loop; workers' counters add up.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Connected clients.
    pub connections: u64,
    /// Open rooms.
    pub rooms: u64,
    /// Socket counters.
    pub io: IoStats,
    /// Connections made and ended.
    pub connects: u64,
    /// Connections ended.
    pub disconnects: u64,
    /// Packets dropped, by [`DropReason`] in `DropReason::ALL` order.
    pub dropped: Vec<u64>,
    /// Room counters summed over rooms.
    pub late_inputs: u64,
    /// Inputs substituted.
    pub substitutes: u64,
    /// Desyncs found.
    pub desyncs: u64,
    /// Frames closed.
    pub frames_closed: u64,
    /// Updates that did not decode.
    pub malformed: u64,
    /// Loop timing.
    pub looped: LoopStats,
    /// Refused connections by [`Refusal`] in `Refusal::ALL` order.
    pub refused: [u64; 7],
    /// Connections refused because the connection layer was full (`--max-clients`).
    pub refused_server_full: u64,
    /// Rooms opened.
    pub rooms_opened: u64,
    /// Rooms freed.
    pub rooms_closed: u64,
}

impl Counters {
    /// The counters of one relay loop.
    pub fn of(relay: &Relay, io: IoStats, looped: &LoopStats) -> Counters {
        let net = relay.server().stats();
        let mut c = Counters {
            connections: relay.server().num_connected() as u64,
            rooms: relay.room_count() as u64,
            io,
            connects: net.connects,
            disconnects: net.disconnects,
            dropped: DropReason::ALL.iter().map(|&r| net.dropped(r)).collect(),
            looped: looped.clone(),
            ..Counters::default()
        };
        // Freed rooms' counters included: these never go down.
        let s = relay.room_totals();
        c.late_inputs = s.late_inputs;
        c.substitutes = s.substitutes;
        c.desyncs = s.desyncs;
        c.frames_closed = s.frames_closed;
        c.malformed = s.malformed;
        let r = relay.stats();
        c.refused = r.refused;
        c.refused_server_full = net.denied_sent.saturating_sub(r.refused_total());
        c.rooms_opened = r.rooms_opened;
        c.rooms_closed = r.rooms_closed;
        c
    }

    /// Adds another worker's counters.
    pub fn add(&mut self, o: &Counters) {
        self.connections += o.connections;
        self.rooms += o.rooms;
        self.io.datagrams_in += o.io.datagrams_in;
        self.io.datagrams_out += o.io.datagrams_out;
        self.io.bytes_in += o.io.bytes_in;
        self.io.bytes_out += o.io.bytes_out;
        self.io.send_dropped += o.io.send_dropped;
        self.connects += o.connects;
        self.disconnects += o.disconnects;
        self.dropped.resize(self.dropped.len().max(o.dropped.len()), 0);
        for (d, x) in self.dropped.iter_mut().zip(&o.dropped) {
            *d += x;
        }
        self.late_inputs += o.late_inputs;
        self.substitutes += o.substitutes;
        self.desyncs += o.desyncs;
        self.frames_closed += o.frames_closed;
        self.malformed += o.malformed;
        for (r, x) in self.refused.iter_mut().zip(o.refused) {
            *r += x;
        }
        self.refused_server_full += o.refused_server_full;
        self.rooms_opened += o.rooms_opened;
        self.rooms_closed += o.rooms_closed;
        for (b, x) in self.looped.tick_buckets.iter_mut().zip(o.looped.tick_buckets) {
            *b += x;
        }
        self.looped.tick_sum_us += o.looped.tick_sum_us;
        self.looped.ticks += o.looped.ticks;
        self.looped.max_lateness_us = self.looped.max_lateness_us.max(o.looped.max_lateness_us);
    }
}

/// Renders every metric.
pub fn render(c: &Counters, allocations: u64) -> String {
    let mut out = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    };
    metric("framelock_connections", "gauge", "Connected clients.", c.connections);
    metric("framelock_rooms", "gauge", "Open rooms.", c.rooms);
    metric("framelock_datagrams_received_total", "counter", "UDP datagrams received.", c.io.datagrams_in);
    metric("framelock_datagrams_sent_total", "counter", "UDP datagrams sent.", c.io.datagrams_out);
    metric("framelock_bytes_received_total", "counter", "UDP bytes received.", c.io.bytes_in);
    metric("framelock_bytes_sent_total", "counter", "UDP bytes sent.", c.io.bytes_out);
    metric("framelock_send_dropped_total", "counter", "Datagrams dropped by a full socket buffer.", c.io.send_dropped);
    metric("framelock_connects_total", "counter", "Connections made.", c.connects);
    metric("framelock_disconnects_total", "counter", "Connections ended.", c.disconnects);
    metric("framelock_late_inputs_total", "counter", "Inputs that arrived after their frame closed.", c.late_inputs);
    metric("framelock_substitutes_total", "counter", "Inputs the relay substituted.", c.substitutes);
    metric("framelock_desyncs_total", "counter", "Frames whose players' checksums disagreed.", c.desyncs);
    metric("framelock_frames_closed_total", "counter", "Frames closed by all rooms.", c.frames_closed);
    metric("framelock_malformed_updates_total", "counter", "Frame-sync updates that did not decode.", c.malformed);
    metric("framelock_heap_allocations_total", "counter", "Heap allocations of the process.", allocations);
    metric(
        "framelock_tick_lateness_max_microseconds",
        "gauge",
        "Worst lateness of a room tick.",
        c.looped.max_lateness_us,
    );
    metric("framelock_rooms_opened_total", "counter", "Rooms opened.", c.rooms_opened);
    metric("framelock_rooms_closed_total", "counter", "Rooms freed (empty, or their match ended).", c.rooms_closed);
    let _ = writeln!(out, "# HELP framelock_refused_connections_total Connections refused with a denial, by reason.");
    let _ = writeln!(out, "# TYPE framelock_refused_connections_total counter");
    for (reason, n) in Refusal::ALL.iter().zip(c.refused) {
        let _ = writeln!(out, "framelock_refused_connections_total{{reason=\"{}\"}} {n}", reason.name());
    }
    let _ = writeln!(out, "framelock_refused_connections_total{{reason=\"server_full\"}} {}", c.refused_server_full);
    let _ = writeln!(out, "# HELP framelock_dropped_packets_total Packets dropped, by reason.");
    let _ = writeln!(out, "# TYPE framelock_dropped_packets_total counter");
    for (reason, n) in DropReason::ALL.iter().zip(c.dropped.iter().chain(std::iter::repeat(&0))) {
        let _ = writeln!(out, "framelock_dropped_packets_total{{reason=\"{reason:?}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP framelock_tick_duration_microseconds Duration of one relay loop iteration.");
    let _ = writeln!(out, "# TYPE framelock_tick_duration_microseconds histogram");
    let mut cumulative = 0;
    for (i, &b) in TICK_BUCKETS_US.iter().enumerate() {
        cumulative += c.looped.tick_buckets[i];
        let _ = writeln!(out, "framelock_tick_duration_microseconds_bucket{{le=\"{b}\"}} {cumulative}");
    }
    cumulative += c.looped.tick_buckets[TICK_BUCKETS_US.len()];
    let _ = writeln!(out, "framelock_tick_duration_microseconds_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "framelock_tick_duration_microseconds_sum {}", c.looped.tick_sum_us);
    let _ = writeln!(out, "framelock_tick_duration_microseconds_count {}", c.looped.ticks);
    out
}
