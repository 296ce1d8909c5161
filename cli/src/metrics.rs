//! `framelock serve --metrics ADDR`: the relay's counters in the Prometheus text format over HTTP
//! (`/metrics`), with a liveness probe (`/healthz`: 200 while the process runs) and a readiness
//! probe (`/readyz`: 200 while the relay opens new rooms, 503 while it drains).
//!
//! The relay loop renders the page about once a second into a shared slot (one short lock, no
//! I/O); a separate thread serves it. A scrape therefore never blocks a tick. The HTTP side is
//! minimal on purpose: one request per connection, a read timeout (idle connections are closed),
//! at most 16 connections served at once (the rest are refused at once).
//!
//! ## Why the text format and the listener are written here (issue 13)
//!
//! A maintained crate was evaluated for the exposition: `prometheus-client`, the Prometheus
//! project's Rust client. It is kept out, for three reasons. Its metrics are live objects updated
//! where events happen (a counter is an atomic, a histogram takes a lock and adds an `f64` per
//! observation, a labelled family allocates a label set on first use), whereas the relay's counters
//! and log2 histograms are its own plain fields, read once a second; feeding the crate would mean
//! either a second set of counters updated on the tick path, or a custom collector that hands it
//! the values we already hold, leaving it only these ~100 lines of formatting. It writes OpenMetrics
//! (`# EOF`, its own `_total` suffixing, another content type) where this page is the Prometheus
//! 0.0.4 text that `docs/deploy.md`, the probes and existing scrape configs use. And it adds a derive
//! macro and number-formatting crates for that. Scrapes already stay off the tick thread (the loop
//! renders into a shared page about once a second, one short lock; a separate thread answers HTTP),
//! and the ticks in between allocate nothing. The HTTP side is ~80 lines and tested by the serve
//! tests (`cli/tests/net.rs`); the text is checked line by line against the format's rules by
//! `the_page_is_valid_prometheus_text` below.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use framelock_net::histogram::Histogram;
use framelock_net::io::IoStats;
use framelock_net::netcode::DropReason;
use framelock_net::relay::{Refusal, Relay};
use parking_lot::Mutex;

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
        // parking_lot: no poisoning, so a panicked holder cannot make the page stale for good.
        *self.text.lock() = text;
    }

    /// Whether `/readyz` says the relay accepts new rooms (200) or not (503, draining).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    fn get(&self) -> String {
        self.text.lock().clone()
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

/// Histogram bucket bounds on the page, in microseconds (each the exact upper bound of one of the
/// [`Histogram`]'s buckets, so the cumulative counts are exact).
pub const BUCKETS_US: [u64; 12] = [31, 63, 127, 255, 511, 1_023, 2_047, 4_095, 8_191, 16_383, 65_535, 262_143];

/// What a relay loop measures.
#[derive(Debug, Clone, Default)]
pub struct LoopStats {
    /// Work time of each loop iteration, its wait for datagrams or the next deadline excluded.
    pub work: Histogram,
}

impl LoopStats {
    /// Adds one iteration's work time.
    pub fn tick(&mut self, took: Duration) {
        self.work.record(took);
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
    /// Packets dropped, by [`DropReason`] in `DropReason::ALL` order. A plain array, not a `Vec` (nor
    /// an `ArrayVec`): it always holds one count per reason, so publishing allocates nothing for it
    /// and adding workers up needs no resizing.
    pub dropped: [u64; DropReason::COUNT],
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
    /// Frame-close lateness against the rooms' deadlines.
    pub lateness: Histogram,
    /// Each worker's (lateness, work) histograms once workers were added up (empty for one loop).
    pub per_worker: Vec<(Histogram, Histogram)>,
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
            dropped: core::array::from_fn(|i| net.dropped(DropReason::ALL[i])),
            looped: looped.clone(),
            lateness: relay.lateness().clone(),
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
        self.io.kernel_dropped += o.io.kernel_dropped;
        self.connects += o.connects;
        self.disconnects += o.disconnects;
        for (d, x) in self.dropped.iter_mut().zip(o.dropped) {
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
        self.looped.work.add(&o.looped.work);
        self.lateness.add(&o.lateness);
        if o.per_worker.is_empty() {
            self.per_worker.push((o.lateness.clone(), o.looped.work.clone()));
        } else {
            self.per_worker.extend(o.per_worker.iter().cloned());
        }
    }
}

/// Writes a Prometheus histogram (cumulative counts at [`BUCKETS_US`]).
fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    let buckets = h.buckets();
    let mut cumulative = 0;
    let mut next = 0;
    for &le in &BUCKETS_US {
        while next < buckets.len() && framelock_net::histogram::bucket_upper_us(next) <= le {
            cumulative += buckets[next];
            next += 1;
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count());
    let _ = writeln!(out, "{name}_sum {}", h.sum_us());
    let _ = writeln!(out, "{name}_count {}", h.count());
}

/// Writes p50 and p99 gauges of each worker's histogram and of their sum.
fn quantiles<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    all: &Histogram,
    workers: impl Iterator<Item = &'a Histogram>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    let mut line = |worker: &str, h: &Histogram| {
        for (q, p) in [("0.5", 50.0), ("0.99", 99.0)] {
            let _ = writeln!(out, "{name}{{worker=\"{worker}\",quantile=\"{q}\"}} {}", h.percentile(p));
        }
    };
    line("all", all);
    for (i, h) in workers.enumerate() {
        line(&i.to_string(), h);
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
        "framelock_kernel_receive_drops_total",
        "counter",
        "Datagrams the kernel dropped because a relay socket's receive buffer was full.",
        c.io.kernel_dropped,
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
    for (reason, n) in DropReason::ALL.iter().zip(c.dropped) {
        let _ = writeln!(out, "framelock_dropped_packets_total{{reason=\"{reason:?}\"}} {n}");
    }
    histogram(
        &mut out,
        "framelock_tick_duration_microseconds",
        "Work time of one relay loop iteration (its wait excluded), all workers.",
        &c.looped.work,
    );
    histogram(
        &mut out,
        "framelock_frame_close_lateness_microseconds",
        "How late a room's frame closed against its deadline, all workers.",
        &c.lateness,
    );
    let one = [(c.lateness.clone(), c.looped.work.clone())];
    let workers = if c.per_worker.is_empty() { &one[..] } else { &c.per_worker[..] };
    quantiles(
        &mut out,
        "framelock_frame_close_lateness_quantile_microseconds",
        "Frame-close lateness p50 and p99 since start, per worker and all.",
        &c.lateness,
        workers.iter().map(|w| &w.0),
    );
    quantiles(
        &mut out,
        "framelock_tick_duration_quantile_microseconds",
        "Loop iteration work time p50 and p99 since start, per worker and all.",
        &c.looped.work,
        workers.iter().map(|w| &w.1),
    );
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    fn is_name(s: &str, colon: bool) -> bool {
        let mut c = s.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || (colon && f == ':'))
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || (colon && x == ':'))
    }

    type Labels = Vec<(String, String)>;

    /// What a histogram's lines said so far.
    #[derive(Default)]
    struct Hist {
        last_le: Option<f64>,
        last_count: f64,
        inf: Option<f64>,
        count: Option<f64>,
        sum: bool,
    }

    /// `name{a="x",b="y"}` → the name and its labels (values unescaped), checking the syntax.
    fn series(s: &str) -> Result<(&str, Labels), String> {
        let Some(open) = s.find('{') else {
            return if is_name(s, true) { Ok((s, Vec::new())) } else { Err(format!("bad metric name {s:?}")) };
        };
        let name = &s[..open];
        if !is_name(name, true) {
            return Err(format!("bad metric name {name:?}"));
        }
        let body = s[open + 1..].strip_suffix('}').ok_or(format!("unclosed labels in {s:?}"))?;
        let mut labels = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let eq = rest.find("=\"").ok_or(format!("bad label in {s:?}"))?;
            let key = &rest[..eq];
            if !is_name(key, false) || key.starts_with("__") {
                return Err(format!("bad label name {key:?}"));
            }
            let mut value = String::new();
            let mut chars = rest[eq + 2..].char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        _ => return Err(format!("bad escape in {s:?}")),
                    },
                    Some((_, '\n')) | None => return Err(format!("unterminated label value in {s:?}")),
                    Some((_, c)) => value.push(c),
                }
            };
            labels.push((key.to_string(), value));
            rest = &rest[eq + 2 + end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
        Ok((name, labels))
    }

    fn number(v: &str) -> Result<f64, String> {
        match v {
            "+Inf" => Ok(f64::INFINITY),
            "-Inf" => Ok(f64::NEG_INFINITY),
            "NaN" => Ok(f64::NAN),
            _ => v.parse::<f64>().map_err(|_| format!("bad value {v:?}")),
        }
    }

    /// Checks a page against the Prometheus text format 0.0.4 and the rules a scraper relies on:
    /// names and labels well formed, one `# TYPE` per family before its samples, a family's samples
    /// together, no series twice, every histogram with `_bucket{le}` lines in increasing `le` order,
    /// cumulative, ending at `+Inf` equal to `_count`, and a `_sum`; plus OpenMetrics' rule that a
    /// counter's samples end in `_total`.
    fn check_exposition(page: &str) -> Result<usize, String> {
        if !page.ends_with('\n') {
            return Err("the page does not end with a newline".into());
        }
        let mut types: HashMap<String, String> = HashMap::new();
        let mut helps = HashSet::new();
        let mut done: HashSet<String> = HashSet::new();
        let mut current: Option<String> = None;
        let mut seen = HashSet::new();
        let mut hist: HashMap<String, Hist> = HashMap::new();
        let mut samples = 0;
        for line in page.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let (kw, name, arg) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                if !is_name(name, true) {
                    return Err(format!("bad name in {line:?}"));
                }
                match kw {
                    Some("HELP") if !helps.insert(name.to_string()) => return Err(format!("second HELP for {name}")),
                    Some("HELP") => {}
                    Some("TYPE") => {
                        if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&arg) {
                            return Err(format!("unknown type in {line:?}"));
                        }
                        if types.insert(name.to_string(), arg.to_string()).is_some() {
                            return Err(format!("second TYPE for {name}"));
                        }
                    }
                    _ => {}
                }
                continue;
            }
            let (s, value) = line.rsplit_once(' ').ok_or(format!("no value in {line:?}"))?;
            let value = number(value)?;
            let (name, labels) = series(s)?;
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    name.strip_suffix(suffix).filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
                })
                .unwrap_or(name);
            let kind = types.get(family).ok_or(format!("{name}: sample before its # TYPE"))?;
            if current.as_deref() != Some(family) {
                if done.contains(family) {
                    return Err(format!("{family}: its samples are split"));
                }
                if let Some(c) = current.replace(family.to_string()) {
                    done.insert(c);
                }
            }
            if !seen.insert(s.to_string()) {
                return Err(format!("{s}: twice"));
            }
            if kind == "counter" && !name.ends_with("_total") {
                return Err(format!("counter {name} not named _total"));
            }
            if kind == "histogram" {
                let h = hist.entry(family.to_string()).or_default();
                if name.ends_with("_bucket") {
                    let le = labels.iter().find(|(k, _)| k == "le").ok_or(format!("{s}: bucket without le"))?;
                    let le = number(&le.1)?;
                    if h.last_le.is_some_and(|l| le <= l) || value < h.last_count || h.inf.is_some() {
                        return Err(format!("{s}: buckets out of order or not cumulative"));
                    }
                    (h.last_le, h.last_count) = (Some(le), value);
                    if le == f64::INFINITY {
                        h.inf = Some(value);
                    }
                } else if name.ends_with("_count") {
                    h.count = Some(value);
                } else {
                    h.sum = true;
                }
            }
            samples += 1;
        }
        for (name, h) in hist {
            if h.inf.is_none() || h.inf != h.count || !h.sum {
                return Err(format!("{name}: needs a +Inf bucket equal to _count, and a _sum"));
            }
        }
        Ok(samples)
    }

    #[test]
    fn the_page_is_valid_prometheus_text() {
        let mut total = Counters::default();
        let mut a = worker(&[10, 20, 30, 2_000, 300_000], &[100, 70_000]);
        a.dropped = [3; DropReason::COUNT];
        a.refused = [1, 2, 3, 4, 5, 6, 7];
        total.add(&a);
        total.add(&worker(&[500; 10], &[40, 50]));
        let page = render(&total, 42);
        let samples = check_exposition(&page).unwrap_or_else(|e| panic!("{e} in\n{page}"));
        assert!(samples > 60, "{samples} samples");
        // An empty relay (no worker added) renders a valid page too.
        check_exposition(&render(&Counters::default(), 0)).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn the_format_check_rejects_what_a_scraper_would() {
        let good = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";
        assert_eq!(check_exposition(good), Ok(4));
        for (bad, why) in [
            ("x 1\n", "no TYPE"),
            ("# TYPE x_total counter\nx_total 1", "no final newline"),
            ("# TYPE x counter\nx 1\n", "counter without _total"),
            ("# TYPE x gauge\nx{a=\"1} 1\n", "unterminated label"),
            ("# TYPE x gauge\nx{__a=\"1\"} 1\n", "reserved label name"),
            ("# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx{a=\"b\"} 2\n", "split family"),
            ("# TYPE x gauge\nx 1\nx 2\n", "series twice"),
            (
                "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 3\nh_count 1\n",
                "not cumulative",
            ),
            ("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 3\nh_count 1\n", "no +Inf"),
            ("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 1\n", "+Inf != count"),
            ("# TYPE x gauge\nx one\n", "bad value"),
        ] {
            assert!(check_exposition(bad).is_err(), "accepted ({why}): {bad:?}");
        }
    }

    fn worker(lateness_us: &[u64], work_us: &[u64]) -> Counters {
        let mut c = Counters::default();
        lateness_us.iter().for_each(|&v| c.lateness.record_us(v));
        work_us.iter().for_each(|&v| c.looped.work.record_us(v));
        c
    }

    #[test]
    fn histograms_per_worker_and_summed() {
        let mut total = Counters::default();
        total.add(&worker(&[10, 20, 30, 2_000], &[100]));
        total.add(&worker(&[500; 10], &[40, 50]));
        let page = render(&total, 0);
        // Cumulative buckets over both workers: 3 values <= 31 us, 13 <= 511, 14 in all.
        for line in [
            "framelock_frame_close_lateness_microseconds_bucket{le=\"31\"} 3",
            "framelock_frame_close_lateness_microseconds_bucket{le=\"511\"} 13",
            "framelock_frame_close_lateness_microseconds_bucket{le=\"+Inf\"} 14",
            "framelock_frame_close_lateness_microseconds_count 14",
            "framelock_tick_duration_microseconds_count 3",
            "framelock_frame_close_lateness_quantile_microseconds{worker=\"1\",quantile=\"0.5\"} 500",
            "framelock_frame_close_lateness_quantile_microseconds{worker=\"0\",quantile=\"0.99\"} 2000",
            "framelock_frame_close_lateness_quantile_microseconds{worker=\"all\",quantile=\"0.99\"} 2000",
            "framelock_tick_duration_quantile_microseconds{worker=\"0\",quantile=\"0.5\"} 100",
        ] {
            assert!(page.contains(line), "missing {line} in\n{page}");
        }
        assert!(!page.contains("worker=\"2\""));
    }
}
