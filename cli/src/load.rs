//! `framelock load`: many clients against a relay in one process, beside a raw `recvmmsg`/`sendmmsg`
//! UDP echo with the same packet sizes and rate, measured in the same run.
//!
//! Phases: the bots connect (in waves) and play; after a warm-up the relay's counters are sampled,
//! again after `--seconds`; the bots leave, the relay stops, and the echo runs for as long with the
//! same number of clients, rate and datagram sizes (the relay phase's averages in each direction).
//! CPU is each server thread's own `getrusage(RUSAGE_THREAD)` (or, for `--relay ADDR`, the relay
//! process's from `/proc/PID/stat` when `--relay-pid` is given).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use framelock_core::arena;
use framelock_net::histogram::Histogram;
use framelock_net::io::IoStats;
use framelock_net::mmsg::{RecvBatch, SendBatch, Sent};
use framelock_net::netcode::ServerConfig;
use framelock_net::relay::{Relay, RelayConfig};
use framelock_net::sync::RoomConfig;
use framelock_net::workers::{WorkerHook, WorkerOptions, Workers};

use crate::load_bots::{Bots, INPUT_BYTES};
use crate::net::{NetError, PROTOCOL_ID};

/// `framelock load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Clients (bots) in the process.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Players per room.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub room_size: u8,
    /// Frames per second of every room.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=120))]
    pub tick_rate: u16,
    /// A running relay (`framelock serve`) instead of one started in this process; needs --key-file.
    #[arg(long)]
    pub relay: Option<SocketAddr>,
    /// The relay's key file (with --relay).
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// With --relay on this machine: its process id, to read its CPU time.
    #[arg(long)]
    pub relay_pid: Option<u32>,
    /// Seconds measured (each of the relay and the echo phases).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Seconds of play before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Workers of the in-process relay.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub workers: u16,
    /// Clients that start connecting per 10 ms.
    #[arg(long, default_value_t = 100)]
    pub wave: usize,
    /// Receive/send buffer in bytes of the in-process relay's sockets and of the echo's (the same, so
    /// that both absorb a tick's burst alike).
    #[arg(long, default_value_t = 4 << 20)]
    pub socket_buffer: usize,
}

/// What a server thread measured at one instant.
#[derive(Debug, Clone, Default)]
struct Sample {
    cpu: Duration,
    io: IoStats,
    netcode_dropped: u64,
    substitutes: u64,
    late_inputs: u64,
    desyncs: u64,
    frames_closed: u64,
    connected: u64,
    rooms: u64,
    lateness: Histogram,
    work: Histogram,
}

impl Sample {
    fn add(&mut self, o: &Sample) {
        self.cpu += o.cpu;
        self.io.datagrams_in += o.io.datagrams_in;
        self.io.datagrams_out += o.io.datagrams_out;
        self.io.bytes_in += o.io.bytes_in;
        self.io.bytes_out += o.io.bytes_out;
        self.io.send_dropped += o.io.send_dropped;
        self.netcode_dropped += o.netcode_dropped;
        self.substitutes += o.substitutes;
        self.late_inputs += o.late_inputs;
        self.desyncs += o.desyncs;
        self.frames_closed += o.frames_closed;
        self.connected += o.connected;
        self.rooms += o.rooms;
        self.lateness.add(&o.lateness);
        self.work.add(&o.work);
    }
}

/// Asks server threads for a sample and collects them.
#[derive(Default)]
struct Probe {
    want: AtomicU64,
    samples: Mutex<Vec<(u64, Sample)>>,
}

impl Probe {
    fn new(threads: usize) -> Arc<Probe> {
        Arc::new(Probe { want: AtomicU64::new(0), samples: Mutex::new(vec![(0, Sample::default()); threads]) })
    }

    /// Samples every thread (they answer within one loop iteration); summed.
    fn sample(&self) -> Result<Sample, NetError> {
        let want = self.want.fetch_add(1, Ordering::SeqCst) + 1;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(s) = self.samples.lock() {
                if s.iter().all(|(seq, _)| *seq >= want) {
                    let mut total = Sample::default();
                    s.iter().for_each(|(_, x)| total.add(x));
                    return Ok(total);
                }
            }
            if Instant::now() > deadline {
                return Err(NetError("a server thread did not answer a sample request".into()));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn answer(&self, index: usize, seen: &mut u64, sample: impl FnOnce() -> Sample) {
        let want = self.want.load(Ordering::SeqCst);
        if want != *seen {
            *seen = want;
            let s = sample();
            if let Ok(mut v) = self.samples.lock() {
                v[index] = (want, s);
            }
        }
    }
}

/// Runs on each relay worker: the loop's work time per iteration, and samples.
struct LoadHook {
    probe: Arc<Probe>,
    index: usize,
    seen: u64,
    work: Histogram,
}

impl WorkerHook for LoadHook {
    fn after_iteration(&mut self, relay: &Relay, io: &IoStats, took: Duration) {
        self.work.record(took);
        let work = &self.work;
        self.probe.answer(self.index, &mut self.seen, || {
            let mut s = Sample {
                cpu: framelock_net::sys::thread_cpu_time().unwrap_or_default(),
                io: *io,
                netcode_dropped: relay.server().stats().dropped_total(),
                connected: relay.server().num_connected() as u64,
                lateness: relay.lateness().clone(),
                work: work.clone(),
                ..Sample::default()
            };
            for (_, room) in relay.rooms() {
                let r = room.stats();
                s.rooms += 1;
                s.substitutes += r.substitutes;
                s.late_inputs += r.late_inputs;
                s.desyncs += r.desyncs;
                s.frames_closed += r.frames_closed;
            }
            s
        });
    }

    fn finish(&mut self, _relay: &Relay) {}
}

/// The kernel's receive drops of every UDP socket bound to `port` (`/proc/net/udp`, `udp6`).
fn kernel_drops_on_port(port: u16) -> Option<u64> {
    let mut total = None;
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port =
                fields.get(1).and_then(|a| a.rsplit(':').next()).and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                let drops = fields.last().and_then(|d| d.parse::<u64>().ok()).unwrap_or(0);
                total = Some(total.unwrap_or(0) + drops);
            }
        }
    }
    total
}

/// The 1-minute load average (`/proc/loadavg`), as text.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// A process's CPU time from `/proc/PID/stat` (utime + stime, clock ticks of 10 ms).
fn process_cpu(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// The echo baseline's server: one thread, `recvmmsg`/`sendmmsg` batches, a reply of `reply_len`
/// bytes to every datagram.
fn spawn_echo(
    reply_len: usize,
    socket_buffer: usize,
    probe: Arc<Probe>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<(SocketAddr, std::thread::JoinHandle<std::io::Result<()>>)> {
    let mut socket = mio::net::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = socket.local_addr()?;
    {
        use std::os::fd::AsRawFd;
        framelock_net::sys::set_socket_buffers(socket.as_raw_fd(), socket_buffer)?;
    }
    let handle = std::thread::Builder::new().name("echo".into()).spawn(move || {
        let mut poll = mio::Poll::new()?;
        poll.registry().register(&mut socket, mio::Token(0), mio::Interest::READABLE)?;
        let mut events = mio::Events::with_capacity(16);
        let (mut recv, mut send) = (RecvBatch::default(), SendBatch::default());
        let reply = vec![0xa5u8; reply_len.max(1)];
        let mut io = IoStats::default();
        let mut seen = 0;
        while !stop.load(Ordering::Relaxed) {
            match poll.poll(&mut events, Some(Duration::from_millis(20))) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            let mut sent = Sent::default();
            loop {
                let n = match recv.recv(&socket) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                    Err(e) => return Err(e),
                };
                for i in 0..n {
                    if let Some((from, bytes)) = recv.get(i) {
                        io.datagrams_in += 1;
                        io.bytes_in += bytes.len() as u64;
                        send.push(&socket, from, &reply, &mut sent);
                    }
                }
            }
            send.flush(&socket, &mut sent);
            io.datagrams_out += sent.datagrams;
            io.bytes_out += sent.bytes;
            io.send_dropped += sent.dropped;
            probe.answer(0, &mut seen, || Sample {
                cpu: framelock_net::sys::thread_cpu_time().unwrap_or_default(),
                io,
                ..Sample::default()
            });
        }
        Ok(())
    })?;
    Ok((addr, handle))
}

fn per_datagram(cpu: Duration, io: &IoStats) -> f64 {
    let n = io.datagrams_in + io.datagrams_out;
    if n == 0 {
        return 0.0;
    }
    cpu.as_secs_f64() * 1e6 / n as f64
}

fn diff_io(a: &IoStats, b: &IoStats) -> IoStats {
    IoStats {
        datagrams_in: b.datagrams_in - a.datagrams_in,
        datagrams_out: b.datagrams_out - a.datagrams_out,
        bytes_in: b.bytes_in - a.bytes_in,
        bytes_out: b.bytes_out - a.bytes_out,
        send_dropped: b.send_dropped - a.send_dropped,
        conditioner_dropped: 0,
        kernel_dropped: b.kernel_dropped.saturating_sub(a.kernel_dropped),
    }
}

/// Runs the load and prints the figures.
pub fn run(args: &LoadArgs) -> Result<(), NetError> {
    let fail = |e: std::io::Error| NetError(format!("load: {e}"));
    if args.clients == 0 {
        return Err(NetError("--clients must be at least 1".into()));
    }
    let room_size = usize::from(args.room_size);
    let period = Duration::from_micros(1_000_000 / u64::from(args.tick_rate));
    let workers = usize::from(args.workers);
    // The relay: in this process, or given.
    let (relay_addr, key, pool, probe) = match args.relay {
        Some(addr) => {
            let Some(path) = &args.key_file else { return Err(NetError("--relay needs --key-file".into())) };
            (addr, crate::net::read_key(path)?, None, None)
        }
        None => {
            let key = crate::net::os_random_32();
            let listen = SocketAddr::from(([127, 0, 0, 1], 0));
            // Room `id` lives on worker `id % workers`: a worker hosts at most ceil(rooms / workers) rooms.
            let max_clients = (args.clients.div_ceil(room_size).div_ceil(workers) * room_size).max(1);
            let netcode = ServerConfig::new(PROTOCOL_ID, key, max_clients, listen);
            let room = RoomConfig {
                slots: args.room_size,
                tick_rate: args.tick_rate,
                max_input_size: INPUT_BYTES as u8,
                default_input: arena::NEUTRAL_INPUT.to_vec(),
                ..RoomConfig::default()
            };
            let cfg = RelayConfig { max_rooms: args.clients.div_ceil(room_size), ..RelayConfig::new(netcode, room) };
            let probe = Probe::new(workers);
            let hooks: Vec<Box<dyn WorkerHook>> = (0..workers)
                .map(|index| {
                    Box::new(LoadHook { probe: probe.clone(), index, seen: 0, work: Histogram::default() })
                        as Box<dyn WorkerHook>
                })
                .collect();
            let seed = u64::from_le_bytes(key[..8].try_into().unwrap_or([0; 8]));
            let opts = WorkerOptions { socket_buffer: Some(args.socket_buffer) };
            let pool = Workers::spawn_with(cfg, listen, workers, seed, hooks, opts).map_err(fail)?;
            (pool.local_addr(), key, Some(pool), Some(probe))
        }
    };
    let rooms = args.clients.div_ceil(room_size);
    println!(
        "load: {} clients in {rooms} rooms of {room_size} at {} Hz against {}{}",
        args.clients,
        args.tick_rate,
        relay_addr,
        if pool.is_some() { format!(" (in-process relay, {workers} worker(s))") } else { String::new() }
    );
    let mut bots = Bots::new(args.clients, room_size, relay_addr, &key, 1).map_err(fail)?;
    // Connect and warm up.
    let connect_deadline = Instant::now() + Duration::from_secs(30);
    while bots.connected() + bots.failed() < args.clients && Instant::now() < connect_deadline {
        bots.run_relay(Instant::now() + Duration::from_millis(100), args.wave).map_err(fail)?;
    }
    println!(
        "connected: {}/{} in {:.1} s (failed {})",
        bots.connected(),
        args.clients,
        (connect_deadline - Duration::from_secs(30)).elapsed().as_secs_f64(),
        bots.failed()
    );

    bots.run_relay(Instant::now() + Duration::from_secs(args.warmup), args.wave).map_err(fail)?;
    // Measure the relay.
    let kport = relay_addr.port();
    let (k0, b0, c0) = (kernel_drops_on_port(kport), bots.counts(), args.relay_pid.and_then(process_cpu));
    let bk0 = bots.kernel_drops();
    let (bots_cpu0, load0) = (framelock_net::sys::thread_cpu_time().unwrap_or_default(), load_average());
    let s0 = match &probe {
        Some(p) => Some(p.sample()?),
        None => None,
    };
    let t0 = Instant::now();
    bots.run_relay(t0 + Duration::from_secs(args.seconds), args.wave).map_err(fail)?;
    let s1 = match &probe {
        Some(p) => Some(p.sample()?),
        None => None,
    };
    let elapsed = t0.elapsed();
    let (k1, b1, c1) = (kernel_drops_on_port(kport), bots.counts(), args.relay_pid.and_then(process_cpu));
    let bk1 = bots.kernel_drops();
    let (bots_cpu, load1) =
        (framelock_net::sys::thread_cpu_time().unwrap_or_default().saturating_sub(bots_cpu0), load_average());
    let connected_end = bots.connected();
    let (agree, compared) = bots.rooms_agreeing();
    bots.disconnect();
    if let Some(pool) = pool {
        pool.stop().map_err(fail)?;
    }
    // What the relay did in the window.
    let bot_sent = b1.sent - b0.sent;
    let bot_received = b1.received - b0.received;
    let (relay_cpu, relay_io, window) = match (&s0, &s1) {
        (Some(a), Some(b)) => (Some(b.cpu - a.cpu), diff_io(&a.io, &b.io), Some((a, b))),
        _ => (
            c0.zip(c1).map(|(a, b)| b.saturating_sub(a)),
            IoStats {
                datagrams_in: bot_sent,
                datagrams_out: bot_received,
                bytes_in: b1.bytes_sent - b0.bytes_sent,
                bytes_out: b1.bytes_received - b0.bytes_received,
                ..IoStats::default()
            },
            None,
        ),
    };
    let in_len = relay_io.bytes_in.checked_div(relay_io.datagrams_in).unwrap_or(40);
    let out_len = relay_io.bytes_out.checked_div(relay_io.datagrams_out).unwrap_or(60);
    // The echo baseline, same clients, rate and sizes.
    let echo_probe = Probe::new(1);
    let stop = Arc::new(AtomicBool::new(false));
    let (echo_addr, echo_thread) =
        spawn_echo(out_len as usize, args.socket_buffer, echo_probe.clone(), stop.clone()).map_err(fail)?;
    bots.run_echo(echo_addr, in_len as usize, period, Instant::now() + Duration::from_secs(1)).map_err(fail)?;
    let e0 = echo_probe.sample()?;
    let ek0 = kernel_drops_on_port(echo_addr.port());
    bots.run_echo(echo_addr, in_len as usize, period, Instant::now() + elapsed).map_err(fail)?;
    let e1 = echo_probe.sample()?;
    let ek1 = kernel_drops_on_port(echo_addr.port());
    stop.store(true, Ordering::Relaxed);
    let _ = echo_thread.join();
    let echo_io = diff_io(&e0.io, &e1.io);
    let echo_cpu = e1.cpu - e0.cpu;

    // The report.
    let secs = elapsed.as_secs_f64();
    println!("measured {secs:.1} s after {} s of warm-up; {connected_end} clients connected at the end", args.warmup);
    println!(
        "machine: {} CPUs, 1-minute load average {load0} at the start of the window and {load1} at its end; the clients' thread used {:.3} s of CPU",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        bots_cpu.as_secs_f64()
    );
    let relay_us = relay_cpu.map(|c| per_datagram(c, &relay_io));
    let echo_us = per_datagram(echo_cpu, &echo_io);
    println!(
        "relay: {} datagrams in, {} out ({:.0}/s; {in_len} B in, {out_len} B out on average); CPU {}",
        relay_io.datagrams_in,
        relay_io.datagrams_out,
        (relay_io.datagrams_in + relay_io.datagrams_out) as f64 / secs,
        match (relay_cpu, relay_us) {
            (Some(c), Some(us)) => format!("{:.3} s = {us:.2} us per datagram", c.as_secs_f64()),
            _ => "unknown (give --relay-pid)".into(),
        }
    );
    println!(
        "echo:  {} datagrams in, {} out ({:.0}/s); CPU {:.3} s = {echo_us:.2} us per datagram",
        echo_io.datagrams_in,
        echo_io.datagrams_out,
        (echo_io.datagrams_in + echo_io.datagrams_out) as f64 / secs,
        echo_cpu.as_secs_f64()
    );
    if let Some(us) = relay_us.filter(|_| echo_us > 0.0) {
        println!("relay CPU per datagram / echo's: {:.2}x", us / echo_us);
    }
    let kdrops = k0.zip(k1).map(|(a, b)| b.saturating_sub(a));
    let fmt_opt = |x: Option<u64>| x.map_or("unknown".to_string(), |v| v.to_string());
    match window {
        Some((a, b)) => {
            let late = b.lateness.since(&a.lateness);
            println!(
                "frame-close lateness: p50 {} us, p99 {} us, max <= {} us ({} closes)",
                late.percentile(50.0),
                late.percentile(99.0),
                late.max_us(),
                late.count()
            );
            let work = b.work.since(&a.work);
            println!(
                "relay loop work per iteration (wait excluded): p50 {} us, p99 {} us ({} iterations)",
                work.percentile(50.0),
                work.percentile(99.0),
                work.count()
            );
            println!(
                "drops: relay netcode {}, relay send {}, kernel (relay socket) {}, kernel (clients) {}, kernel (echo) {}, echo send {}",
                b.netcode_dropped - a.netcode_dropped,
                relay_io.send_dropped,
                fmt_opt(kdrops),
                bk1.saturating_sub(bk0),
                fmt_opt(ek0.zip(ek1).map(|(a, b)| b.saturating_sub(a))),
                echo_io.send_dropped,
            );
            println!(
                "substitutes: {} (late inputs {}), frames closed {}, rooms open {}",
                b.substitutes - a.substitutes,
                b.late_inputs - a.late_inputs,
                b.frames_closed - a.frames_closed,
                b.rooms
            );
            println!(
                "rooms agreeing: {agree}/{compared}; desyncs found by the relay {}; reported to clients {}",
                b.desyncs - a.desyncs,
                b1.desyncs_reported
            );
        }
        None => {
            println!(
                "drops: kernel (relay socket) {}, kernel (clients) {}, client sends refused {}",
                fmt_opt(kdrops),
                bk1.saturating_sub(bk0),
                b1.send_errors - b0.send_errors
            );
            println!("rooms agreeing: {agree}/{compared}; desyncs reported to clients {}", b1.desyncs_reported);
            println!("(frame-close lateness and substitutes: see the relay's metrics page)");
        }
    }
    Ok(())
}
