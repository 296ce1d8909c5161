//! A relay on several workers sharing one UDP port: one mio loop per worker, each socket bound to the
//! port with `SO_REUSEPORT`, and every room living on exactly one worker (`room id % workers`).
//!
//! The kernel spreads datagrams over the workers' sockets by address, so a room's players can reach
//! different workers. Each worker therefore routes what it receives: a connection request is sent to
//! the worker that owns the room named in its (decrypted) connect token, and the client's address is
//! remembered; later datagrams from that address follow. Forwarded datagrams go through a bounded,
//! preallocated inbox per worker (full: dropped and counted — the protocols resend); the owner answers
//! from its own socket, which has the same port.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arrayvec::ArrayVec;
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use parking_lot::Mutex;

use crate::io::IoStats;
use crate::mmsg::{RecvBatch, SendBatch, Sent};
use crate::netcode::{packet, PrivateConnectToken, SeededRng, MAX_PACKET_BYTES};
use crate::relay::{Relay, RelayConfig};

const SOCKET: Token = Token(0);
const WAKER: Token = Token(1);
const TIMER: Token = Token(2);
/// Datagrams a worker's inbox holds.
const INBOX: usize = 4096;

/// What a worker did, returned when the pool stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// The worker's index.
    pub worker: usize,
    /// The rooms it hosted.
    pub rooms: Vec<u64>,
    /// Connections it accepted.
    pub connects: u64,
    /// Datagrams it received and passed to another worker.
    pub forwarded: u64,
    /// Datagrams it received from other workers.
    pub received_forwarded: u64,
    /// Datagrams dropped because an inbox was full.
    pub inbox_dropped: u64,
    /// Addresses it could not remember (its routing table was full).
    pub routes_full: u64,
}

/// Runs on a worker's thread after every loop iteration and once when it stops: where an
/// application records its rooms or publishes metrics (a worker's relay is never shared).
pub trait WorkerHook: Send {
    /// After an iteration: the worker's relay, its socket counters, how long the iteration worked (its
    /// wait for datagrams or the next deadline excluded).
    fn after_iteration(&mut self, relay: &Relay, io: &IoStats, took: Duration);
    /// When the worker stops, after it told its clients goodbye.
    fn finish(&mut self, relay: &Relay);
}

/// A datagram passed to the worker that owns its sender. Its bytes are an `ArrayVec`: copied in
/// without first zeroing the 1,200-byte array, and read back as a slice with no length beside it.
struct Forwarded {
    from: SocketAddr,
    bytes: ArrayVec<u8, MAX_PACKET_BYTES>,
}

/// A worker's bounded inbox and the waker of its loop.
struct Inbox {
    queue: Mutex<VecDeque<Forwarded>>,
    waker: Waker,
}

/// Running workers.
#[derive(Debug)]
pub struct Workers {
    addr: SocketAddr,
    public: Vec<SocketAddr>,
    stop: Arc<AtomicBool>,
    drain: Arc<AtomicBool>,
    threads: Vec<JoinHandle<io::Result<WorkerReport>>>,
    wakers: Vec<Arc<InboxHandle>>,
}

/// The part of an inbox the pool keeps to wake its worker.
pub struct InboxHandle(Arc<Inbox>);

impl std::fmt::Debug for InboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InboxHandle")
    }
}

/// Socket settings of a worker pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerOptions {
    /// Receive and send buffer of each worker's socket in bytes (`None`: the system default). A larger
    /// receive buffer absorbs bursts (thousands of clients answering the same tick) without kernel drops.
    pub socket_buffer: Option<usize>,
}

fn bind_shared(addr: SocketAddr, opts: WorkerOptions) -> io::Result<std::net::UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::DGRAM, None)?;
    if addr.is_ipv6() {
        // `[::]:P` serves IPv4 clients too (as mapped addresses), whatever the system default.
        socket.set_only_v6(false)?;
    }
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    #[cfg(unix)]
    if let Some(bytes) = opts.socket_buffer {
        use std::os::fd::AsRawFd;
        crate::sys::set_socket_buffers(socket.as_raw_fd(), bytes)?;
    }
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// The addresses a relay bound to `bound` is public at, from those configured: a configured address
/// with port 0 takes the bound port; none configured means the bound address, which must then not
/// be a wildcard (`0.0.0.0`, `::`): clients cannot connect to a wildcard, and connect tokens must
/// name an address the relay accepts.
pub fn public_addresses(configured: &[SocketAddr], bound: SocketAddr) -> io::Result<Vec<SocketAddr>> {
    if configured.is_empty() {
        if bound.ip().is_unspecified() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{bound} is a wildcard address: name the address clients reach the relay at (--public-address)"
                ),
            ));
        }
        return Ok(vec![bound]);
    }
    if let Some(a) = configured.iter().find(|a| a.ip().is_unspecified()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{a} is a wildcard: a public address is one clients can send to"),
        ));
    }
    Ok(configured.iter().map(|a| if a.port() == 0 { SocketAddr::new(a.ip(), bound.port()) } else { *a }).collect())
}

impl Workers {
    /// Binds `workers` sockets to `listen` (port 0 picks one port for all) and starts one relay loop
    /// per worker. `cfg.netcode.public_addresses` goes through [`public_addresses`] with the bound
    /// address.
    /// `hooks[i]`, when given, runs on worker `i`.
    pub fn spawn(
        cfg: RelayConfig,
        listen: SocketAddr,
        workers: usize,
        seed: u64,
        hooks: Vec<Box<dyn WorkerHook>>,
    ) -> io::Result<Workers> {
        Self::spawn_with(cfg, listen, workers, seed, hooks, WorkerOptions::default())
    }

    /// [`Workers::spawn`] with socket settings.
    pub fn spawn_with(
        cfg: RelayConfig,
        listen: SocketAddr,
        workers: usize,
        seed: u64,
        mut hooks: Vec<Box<dyn WorkerHook>>,
        opts: WorkerOptions,
    ) -> io::Result<Workers> {
        let workers = workers.clamp(1, 64);
        let first = bind_shared(listen, opts)?;
        let addr = first.local_addr()?;
        let public = public_addresses(&cfg.netcode.public_addresses, addr)?;
        let mut sockets = vec![first];
        for _ in 1..workers {
            sockets.push(bind_shared(addr, opts)?);
        }
        let mut polls = Vec::new();
        let mut inboxes = Vec::new();
        for _ in 0..workers {
            let poll = Poll::new()?;
            let waker = Waker::new(poll.registry(), WAKER)?;
            inboxes.push(Arc::new(Inbox { queue: Mutex::new(VecDeque::with_capacity(INBOX)), waker }));
            polls.push(poll);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let drain = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        hooks.truncate(workers);
        let mut hooks = hooks.into_iter();
        for (i, (poll, socket)) in polls.into_iter().zip(sockets).enumerate() {
            let mut cfg = cfg.clone();
            cfg.netcode.public_addresses = public.clone();
            let (stop, drain, inboxes, hook) = (stop.clone(), drain.clone(), inboxes.clone(), hooks.next());
            let thread = std::thread::Builder::new().name(format!("relay-worker-{i}")).spawn(move || {
                let flags = Flags { stop: &stop, drain: &drain };
                run_worker(i, poll, UdpSocket::from_std(socket), cfg, inboxes, flags, seed, hook)
            })?;
            threads.push(thread);
        }
        let wakers = inboxes.into_iter().map(|i| Arc::new(InboxHandle(i))).collect();
        Ok(Workers { addr, public, stop, drain, threads, wakers })
    }

    /// The port every worker listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The addresses the relay accepts connect tokens for.
    pub fn public(&self) -> &[SocketAddr] {
        &self.public
    }

    /// Every worker's relay drains ([`Relay::drain`]): no new rooms. Then wait until the rooms
    /// are gone (the hook sees `Relay::room_count`) and [`Workers::stop`].
    pub fn drain(&self) {
        self.drain.store(true, Ordering::Relaxed);
        for w in &self.wakers {
            let _ = w.0.waker.wake();
        }
    }

    /// Stops every worker (each tells its clients goodbye) and returns their reports.
    pub fn stop(self) -> io::Result<Vec<WorkerReport>> {
        self.stop.store(true, Ordering::Relaxed);
        for w in &self.wakers {
            let _ = w.0.waker.wake();
        }
        let mut reports = Vec::new();
        for t in self.threads {
            reports.push(t.join().map_err(|_| io::Error::other("a relay worker panicked"))??);
        }
        Ok(reports)
    }
}

fn unix_now(base: Duration, started: Instant) -> Duration {
    base + started.elapsed()
}

/// The worker that owns the room a connection request's token names, if it decrypts.
fn owner_of_request(data: &[u8], cfg: &RelayConfig, now: Duration, workers: usize) -> Option<usize> {
    let request = packet::decode_request(data, cfg.netcode.protocol_id, now.as_secs()).ok()?;
    let mut private = *request.private_data;
    let token = PrivateConnectToken::decrypt(
        &mut private,
        cfg.netcode.protocol_id,
        request.expire_timestamp,
        request.nonce,
        &cfg.netcode.private_key,
    )
    .ok()?;
    let (room, _) = token.user_data.room_slot()?;
    Some((room % workers as u64) as usize)
}

/// What the pool tells its workers.
struct Flags<'a> {
    stop: &'a AtomicBool,
    drain: &'a AtomicBool,
}

#[allow(clippy::too_many_arguments)]
fn run_worker(
    me: usize,
    mut poll: Poll,
    mut socket: UdpSocket,
    cfg: RelayConfig,
    inboxes: Vec<Arc<Inbox>>,
    flags: Flags<'_>,
    seed: u64,
    mut hook: Option<Box<dyn WorkerHook>>,
) -> io::Result<WorkerReport> {
    poll.registry().register(&mut socket, SOCKET, Interest::READABLE)?;
    let (base, started) = (SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default(), Instant::now());
    let mut rng = SeededRng::from_u64(seed ^ (me as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let routes_cap = cfg.netcode.max_clients * 4;
    let mut relay = Relay::new(unix_now(base, started), cfg.clone(), &mut rng)
        .map_err(|e| io::Error::other(format!("relay: {e:?}")))?;
    let workers = inboxes.len();
    let mut routes: HashMap<SocketAddr, (usize, Duration)> = HashMap::with_capacity(routes_cap);
    let mut events = Events::with_capacity(64);
    let (mut recv, mut send) = (RecvBatch::default(), SendBatch::default());
    let mut report = WorkerReport { worker: me, ..WorkerReport::default() };
    let mut local: VecDeque<Forwarded> = VecDeque::with_capacity(INBOX);
    let mut io = IoStats::default();
    let mut timer = crate::sys::DeadlineTimer::new(poll.registry(), TIMER)?;
    let mut last_drop_check = Instant::now();
    while !flags.stop.load(Ordering::Relaxed) {
        if flags.drain.load(Ordering::Relaxed) && !relay.is_draining() {
            relay.drain();
        }
        let now = unix_now(base, started);
        let wait = timer.wait(now, relay.poll_timeout(), Duration::from_millis(50))?;
        match poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let iteration = Instant::now();
        loop {
            let got = match recv.recv(&socket) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionRefused) => continue,
                Err(e) => return Err(e),
            };
            let now = unix_now(base, started);
            for i in 0..got {
                let Some((from, data)) = recv.get(i) else { continue };
                let n = data.len();
                io.datagrams_in += 1;
                io.bytes_in += n as u64;
                let owner = match routes.get_mut(&from) {
                    Some((w, seen)) => {
                        *seen = now;
                        *w
                    }
                    None => {
                        match (data.first() == Some(&0)).then(|| owner_of_request(data, &cfg, now, workers)).flatten() {
                            Some(w) => {
                                if routes.len() >= routes_cap {
                                    routes.retain(|_, (_, seen)| now.saturating_sub(*seen) < Duration::from_secs(30));
                                }
                                if routes.len() < routes_cap {
                                    routes.insert(from, (w, now));
                                } else {
                                    report.routes_full += 1;
                                }
                                w
                            }
                            None => me,
                        }
                    }
                };
                if owner == me || n > MAX_PACKET_BYTES {
                    relay.handle_datagram(now, from, data);
                    continue;
                }
                let inbox = &inboxes[owner];
                let pushed = {
                    let mut q = inbox.queue.lock();
                    if q.len() < INBOX {
                        let mut bytes = ArrayVec::new();
                        // `n <= MAX_PACKET_BYTES` (checked above), so this always fits.
                        let fits = bytes.try_extend_from_slice(data).is_ok();
                        if fits {
                            q.push_back(Forwarded { from, bytes });
                        }
                        fits
                    } else {
                        false
                    }
                };
                if pushed {
                    report.forwarded += 1;
                    let _ = inbox.waker.wake();
                } else {
                    report.inbox_dropped += 1;
                }
            }
        }
        // What other workers passed on: swap it out under the lock, handle it outside.
        std::mem::swap(&mut *inboxes[me].queue.lock(), &mut local);
        let now = unix_now(base, started);
        while let Some(f) = local.pop_front() {
            report.received_forwarded += 1;
            relay.handle_datagram(now, f.from, &f.bytes);
        }
        relay.handle_timeout(now);
        let mut sent = Sent::default();
        while let Some(t) = relay.poll_transmit() {
            send.push(&socket, t.destination, t.contents, &mut sent);
        }
        // UDP may drop: a full send buffer loses the datagram (counted); the protocols resend.
        send.flush(&socket, &mut sent);
        io.datagrams_out += sent.datagrams;
        io.bytes_out += sent.bytes;
        io.send_dropped += sent.dropped;
        #[cfg(unix)]
        if iteration.duration_since(last_drop_check) >= Duration::from_millis(100) {
            use std::os::fd::AsRawFd;
            last_drop_check = iteration;
            io.kernel_dropped = crate::sys::socket_drops(socket.as_raw_fd()).unwrap_or(io.kernel_dropped);
        }
        if let Some(h) = hook.as_mut() {
            h.after_iteration(&relay, &io, iteration.elapsed());
        }
    }
    let now = unix_now(base, started);
    relay.disconnect_all(now);
    let mut sent = Sent::default();
    while let Some(t) = relay.poll_transmit() {
        send.push(&socket, t.destination, t.contents, &mut sent);
    }
    send.flush(&socket, &mut sent);
    if let Some(h) = hook.as_mut() {
        h.finish(&relay);
    }
    report.connects = relay.server().stats().connects;
    report.rooms = relay.rooms().map(|(id, _)| id).collect();
    Ok(report)
}
