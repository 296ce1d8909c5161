//! `framelock serve --metrics ADDR`: the relay's counters in the Prometheus text format over HTTP.
//!
//! The relay loop renders the page about once a second into a shared slot (one short lock, no
//! I/O); a separate thread serves it. A scrape therefore never blocks a tick. The HTTP side is
//! minimal on purpose: one request per connection, a read timeout (idle connections are closed),
//! at most 16 connections served at once (the rest are refused at once).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use framelock_net::io::IoStats;
use framelock_net::netcode::DropReason;
use framelock_net::relay::Relay;

const MAX_CONNECTIONS: usize = 16;
const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The page the HTTP thread serves.
#[derive(Clone, Default)]
pub struct Page(Arc<Mutex<String>>);

impl Page {
    /// Replaces the page.
    pub fn set(&self, text: String) {
        if let Ok(mut p) = self.0.lock() {
            *p = text;
        }
    }

    fn get(&self) -> String {
        self.0.lock().map(|p| p.clone()).unwrap_or_default()
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
    let (status, body) = if request[..n].starts_with(b"GET /metrics ") {
        ("200 OK", page.get())
    } else {
        ("404 Not Found", "not found: try /metrics\n".to_string())
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
#[derive(Debug, Default)]
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

/// Renders every metric.
pub fn render(relay: &Relay, io: IoStats, looped: &LoopStats, allocations: u64) -> String {
    let mut out = String::with_capacity(4096);
    let net = relay.server().stats();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    };
    metric("framelock_connections", "gauge", "Connected clients.", relay.server().num_connected() as u64);
    metric("framelock_rooms", "gauge", "Open rooms.", relay.rooms().count() as u64);
    metric("framelock_datagrams_received_total", "counter", "UDP datagrams received.", io.datagrams_in);
    metric("framelock_datagrams_sent_total", "counter", "UDP datagrams sent.", io.datagrams_out);
    metric("framelock_bytes_received_total", "counter", "UDP bytes received.", io.bytes_in);
    metric("framelock_bytes_sent_total", "counter", "UDP bytes sent.", io.bytes_out);
    metric("framelock_send_dropped_total", "counter", "Datagrams dropped by a full socket buffer.", io.send_dropped);
    metric("framelock_connects_total", "counter", "Connections made.", net.connects);
    metric("framelock_disconnects_total", "counter", "Connections ended.", net.disconnects);
    let rooms = relay.rooms().map(|(_, r)| r.stats());
    let (mut late, mut subs, mut desyncs, mut closed, mut malformed) = (0, 0, 0, 0, 0);
    for s in rooms {
        late += s.late_inputs;
        subs += s.substitutes;
        desyncs += s.desyncs;
        closed += s.frames_closed;
        malformed += s.malformed;
    }
    metric("framelock_late_inputs_total", "counter", "Inputs that arrived after their frame closed.", late);
    metric("framelock_substitutes_total", "counter", "Inputs the relay substituted.", subs);
    metric("framelock_desyncs_total", "counter", "Frames whose players' checksums disagreed.", desyncs);
    metric("framelock_frames_closed_total", "counter", "Frames closed by all rooms.", closed);
    metric("framelock_malformed_updates_total", "counter", "Frame-sync updates that did not decode.", malformed);
    metric("framelock_heap_allocations_total", "counter", "Heap allocations of the process.", allocations);
    metric(
        "framelock_tick_lateness_max_microseconds",
        "gauge",
        "Worst lateness of a room tick.",
        looped.max_lateness_us,
    );
    let _ = writeln!(out, "# HELP framelock_dropped_packets_total Packets dropped, by reason.");
    let _ = writeln!(out, "# TYPE framelock_dropped_packets_total counter");
    for &reason in DropReason::ALL {
        let _ = writeln!(out, "framelock_dropped_packets_total{{reason=\"{reason:?}\"}} {}", net.dropped(reason));
    }
    let _ = writeln!(out, "# HELP framelock_tick_duration_microseconds Duration of one relay loop iteration.");
    let _ = writeln!(out, "# TYPE framelock_tick_duration_microseconds histogram");
    let mut cumulative = 0;
    for (i, &b) in TICK_BUCKETS_US.iter().enumerate() {
        cumulative += looped.tick_buckets[i];
        let _ = writeln!(out, "framelock_tick_duration_microseconds_bucket{{le=\"{b}\"}} {cumulative}");
    }
    cumulative += looped.tick_buckets[TICK_BUCKETS_US.len()];
    let _ = writeln!(out, "framelock_tick_duration_microseconds_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "framelock_tick_duration_microseconds_sum {}", looped.tick_sum_us);
    let _ = writeln!(out, "framelock_tick_duration_microseconds_count {}", looped.ticks);
    out
}
