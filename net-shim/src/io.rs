//! The mio driver: moves datagrams and time between a UDP socket and a sans-IO [`Endpoint`] (a
//! [`Relay`] or a [`NetClient`]); nothing else. One token, the socket; every readiness event is
//! drained until `WouldBlock`, a batch of datagrams per syscall (`recvmmsg`/`sendmmsg` on Linux,
//! see [`crate::mmsg`]). The wait ends at the endpoint's next deadline to within tens of microseconds:
//! a timerfd ([`crate::sys::DeadlineTimer`]) wakes the poll, whose own timeout only has milliseconds.
//!
//! A seeded [`Conditioner`] can sit on the send path (latency, jitter, loss, duplication,
//! reordering) to test over loopback as over a bad network.

use std::collections::BinaryHeap;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use framelock_core::Simulation;
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

use crate::mmsg::{RecvBatch, SendBatch, Sent};
use crate::netcode::Transmit;
use crate::player::NetClient;
use crate::relay::Relay;
use crate::sys::DeadlineTimer;

/// A sans-IO state machine that a driver can run.
pub trait Endpoint {
    /// A datagram arrived.
    fn handle_datagram(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]);
    /// Time passed.
    fn handle_timeout(&mut self, now: Duration);
    /// The next datagram to send.
    fn poll_transmit(&mut self) -> Option<Transmit<'_>>;
    /// The next deadline.
    fn poll_timeout(&self) -> Option<Duration>;
}

impl Endpoint for Relay {
    fn handle_datagram(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]) {
        Relay::handle_datagram(self, now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Duration) {
        Relay::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        Relay::poll_transmit(self)
    }
    fn poll_timeout(&self) -> Option<Duration> {
        Relay::poll_timeout(self)
    }
}

impl<S: Simulation> Endpoint for NetClient<S> {
    fn handle_datagram(&mut self, now: Duration, from: SocketAddr, bytes: &[u8]) {
        NetClient::handle_datagram(self, now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Duration) {
        NetClient::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        NetClient::poll_transmit(self)
    }
    fn poll_timeout(&self) -> Option<Duration> {
        NetClient::poll_timeout(self)
    }
}

/// A seeded link conditioner on the send path. (A test tool: it allocates per delayed datagram.)
#[derive(Debug, Clone)]
pub struct Conditioner {
    /// Mean one-way delay added.
    pub latency: Duration,
    /// The delay varies by up to this much either way.
    pub jitter: Duration,
    /// Fraction of datagrams dropped (0..=1, in per mille units: 0..=1000).
    pub loss_per_mille: u32,
    /// Fraction of datagrams sent twice, per mille.
    pub duplicate_per_mille: u32,
    /// Fraction of datagrams held back by an extra jitter, per mille (reordering).
    pub reorder_per_mille: u32,
    /// The seed of its decisions.
    pub seed: u64,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Delayed(std::cmp::Reverse<(Duration, u64)>, SocketAddr, Vec<u8>);

/// What a driver counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Datagrams dropped because the socket's send buffer was full.
    pub send_dropped: u64,
    /// Datagrams the conditioner dropped on purpose.
    pub conditioner_dropped: u64,
    /// Datagrams the kernel dropped because the socket's receive buffer was full (its drop counter).
    pub kernel_dropped: u64,
}

/// Runs an [`Endpoint`] on a UDP socket.
#[derive(Debug)]
pub struct UdpDriver {
    poll: Poll,
    events: Events,
    socket: UdpSocket,
    recv: RecvBatch,
    send: SendBatch,
    started: Instant,
    unix_at_start: Duration,
    conditioner: Option<(Conditioner, u64, BinaryHeap<Delayed>, u64)>,
    stats: IoStats,
    timer: DeadlineTimer,
    work: Duration,
}

const SOCKET: Token = Token(0);
const TIMER: Token = Token(1);

impl UdpDriver {
    /// Binds a non-blocking UDP socket to `addr`.
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut socket = UdpSocket::bind(addr)?;
        poll.registry().register(&mut socket, SOCKET, Interest::READABLE)?;
        let timer = DeadlineTimer::new(poll.registry(), TIMER)?;
        Ok(UdpDriver {
            poll,
            events: Events::with_capacity(64),
            socket,
            recv: RecvBatch::default(),
            send: SendBatch::default(),
            started: Instant::now(),
            unix_at_start: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default(),
            conditioner: None,
            stats: IoStats::default(),
            timer,
            work: Duration::ZERO,
        })
    }

    /// Sets the socket's receive and send buffers (see [`crate::sys::set_socket_buffers`]); returns the
    /// receive buffer granted.
    #[cfg(unix)]
    pub fn set_socket_buffers(&self, bytes: usize) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        crate::sys::set_socket_buffers(self.socket.as_raw_fd(), bytes)
    }

    /// How long the last [`Self::run_once`] worked, its wait for datagrams or the deadline excluded.
    pub fn last_work(&self) -> Duration {
        self.work
    }

    /// Puts a link conditioner on the send path.
    pub fn condition(&mut self, c: Conditioner) {
        let seed = c.seed;
        self.conditioner = Some((c, seed, BinaryHeap::new(), 0));
    }

    /// The socket's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The driver's clock: Unix time (connect tokens expire in Unix seconds), advancing monotonically.
    pub fn now(&self) -> Duration {
        self.unix_at_start + self.started.elapsed()
    }

    /// Datagrams the conditioner still holds back.
    pub fn delayed(&self) -> usize {
        self.conditioner.as_ref().map_or(0, |c| c.2.len())
    }

    /// What it counted (with the socket's kernel drop counter, read now).
    pub fn stats(&self) -> IoStats {
        let mut s = self.stats;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            s.kernel_dropped = crate::sys::socket_drops(self.socket.as_raw_fd()).unwrap_or(0);
        }
        s
    }

    /// Waits for a datagram or the endpoint's next deadline (at most `max_wait`), then feeds every
    /// datagram that arrived, the time, and sends everything the endpoint has to send.
    pub fn run_once<E: Endpoint>(&mut self, ep: &mut E, max_wait: Duration) -> io::Result<()> {
        let now = self.now();
        let mut deadline = ep.poll_timeout();
        if let Some(Some(Delayed(std::cmp::Reverse((due, _)), ..))) = self.conditioner.as_ref().map(|c| c.2.peek()) {
            deadline = Some(deadline.map_or(*due, |d| d.min(*due)));
        }
        let wait = self.timer.wait(now, deadline, max_wait)?;
        match self.poll.poll(&mut self.events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let woke = Instant::now();
        // One socket: readiness means "read until WouldBlock", whatever the events say; a batch of
        // datagrams per syscall.
        loop {
            let n = match self.recv.recv(&self.socket) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // ICMP errors (a peer's port closed) surface here on some systems: not fatal.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            };
            let now = self.now();
            for i in 0..n {
                if let Some((from, bytes)) = self.recv.get(i) {
                    self.stats.datagrams_in += 1;
                    self.stats.bytes_in += bytes.len() as u64;
                    ep.handle_datagram(now, from, bytes);
                }
            }
        }
        let now = self.now();
        ep.handle_timeout(now);
        self.flush(ep, now);
        self.work = woke.elapsed();
        Ok(())
    }

    /// Sends everything the endpoint has to send (and what the conditioner holds that is due), in
    /// batches.
    pub fn flush<E: Endpoint>(&mut self, ep: &mut E, now: Duration) {
        let mut sent = Sent::default();
        while let Some(t) = ep.poll_transmit() {
            match self.conditioner.as_mut() {
                None => self.send.push(&self.socket, t.destination, t.contents, &mut sent),
                Some((c, state, queue, seq)) => {
                    let mut roll = |n: u64| {
                        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                        let mut z = *state;
                        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                        (z ^ (z >> 31)) % n.max(1)
                    };
                    if roll(1000) < u64::from(c.loss_per_mille) {
                        self.stats.conditioner_dropped += 1;
                        continue;
                    }
                    let copies = if roll(1000) < u64::from(c.duplicate_per_mille) { 2 } else { 1 };
                    for _ in 0..copies {
                        let jitter = c.jitter.as_micros() as u64;
                        let mut delay = c.latency.as_micros() as u64 + roll(2 * jitter + 1);
                        delay = delay.saturating_sub(jitter);
                        if roll(1000) < u64::from(c.reorder_per_mille) {
                            delay += jitter;
                        }
                        *seq += 1;
                        let due = now + Duration::from_micros(delay);
                        queue.push(Delayed(std::cmp::Reverse((due, *seq)), t.destination, t.contents.to_vec()));
                    }
                }
            }
        }
        if let Some((_, _, queue, _)) = self.conditioner.as_mut() {
            while queue.peek().is_some_and(|d| (d.0).0 .0 <= now) {
                if let Some(Delayed(_, to, bytes)) = queue.pop() {
                    self.send.push(&self.socket, to, &bytes, &mut sent);
                }
            }
        }
        self.send.flush(&self.socket, &mut sent);
        // UDP may drop: a full send buffer drops the datagram (the protocols resend), counted.
        self.stats.datagrams_out += sent.datagrams;
        self.stats.bytes_out += sent.bytes;
        self.stats.send_dropped += sent.dropped;
    }
}
