//! The load tool's clients: many cheap bots in one thread, each a netcode client on its own UDP
//! socket that plays the frame-sync protocol without a simulation. A bot answers every bundle with an
//! update (its inputs a few frames ahead of the room's clock, its acknowledgement and its last
//! checksums), and its "checksum" of a frame is a running hash of every bundled input up to that
//! frame: the bots of a room agree exactly when the relay sent them the same inputs.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use framelock_net::netcode::{Client, ConnectToken, SeededRng, TokenParams, UserData};
use framelock_net::sync::msg::{self, Bundle, Writer};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

use crate::net::PROTOCOL_ID;

/// Frames ahead of the room's clock that a bot sends its inputs.
const LEAD: u32 = 3;
/// A bot reports the checksum of every frame that is a multiple of this.
const CHECKSUM_INTERVAL: u32 = 30;
/// Bytes per input (the reference arena's size).
pub const INPUT_BYTES: usize = 2;

struct Bot {
    socket: UdpSocket,
    client: Option<Client>,
    token: Option<ConnectToken>,
    s: BotSync,
    /// Echo phase: replies received.
    echoed: u64,
}

/// A bot's frame-sync state.
struct BotSync {
    slot: usize,
    /// Every closed frame below this was received.
    next_bundle: u32,
    /// The relay has this bot's inputs below this.
    relay_has: u32,
    /// Inputs exist for frames below this.
    local_end: u32,
    hash: u64,
    /// The last reported checksums `(frame, hash)` (frame 0: none yet).
    sums: [(u32, u64); 4],
}

/// What the bots counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct BotCounts {
    /// Datagrams sent.
    pub sent: u64,
    /// Datagrams received.
    pub received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Datagrams the bots' sockets refused to send.
    pub send_errors: u64,
    /// Bundles that did not decode.
    pub bad_bundles: u64,
    /// Desync reports naming a bot.
    pub desyncs_reported: u64,
}

/// Every bot of a load run.
pub struct Bots {
    poll: Poll,
    events: Events,
    bots: Vec<Bot>,
    room_size: usize,
    base: Duration,
    started: Instant,
    buf: Vec<u8>,
    recv: Vec<u8>,
    counts: BotCounts,
    next_timers: Instant,
    next_wave: Instant,
    activated: usize,
}

fn mix(mut h: u64, x: u64) -> u64 {
    h ^= x.wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_add(h << 6).wrapping_add(h >> 2);
    h = (h ^ (h >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 29)
}

/// The scripted input of `slot` at `frame`.
fn input(frame: u32, slot: usize) -> [u8; INPUT_BYTES] {
    [(frame.wrapping_mul(7) as u8) ^ slot as u8, (frame >> 8) as u8]
}

impl Bots {
    /// `n` bots in rooms of `room_size` (room `first_room + i / room_size`, slot `i % room_size`),
    /// with tokens for the relay at `relay` signed with `key`. Nothing is sent yet.
    pub fn new(n: usize, room_size: usize, relay: SocketAddr, key: &[u8; 32], first_room: u64) -> io::Result<Bots> {
        let poll = Poll::new()?;
        let base = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut rng = SeededRng::from_seed(crate::net::os_random_32());
        let bind: SocketAddr =
            if relay.is_ipv6() { SocketAddr::from(([0u16; 8], 0)) } else { SocketAddr::from(([127, 0, 0, 1], 0)) };
        let mut bots = Vec::with_capacity(n);
        for i in 0..n {
            let mut socket = UdpSocket::bind(bind)?;
            poll.registry().register(&mut socket, Token(i), Interest::READABLE)?;
            let token = ConnectToken::generate(
                &TokenParams {
                    protocol_id: PROTOCOL_ID,
                    client_id: 1 + i as u64,
                    create_timestamp: base.as_secs(),
                    expire_timestamp: base.as_secs() + 3600,
                    timeout_seconds: 10,
                    server_addresses: &[relay],
                    user_data: UserData::for_room_slot(first_room + (i / room_size) as u64, (i % room_size) as u8),
                },
                key,
                &mut rng,
            )
            .map_err(|e| io::Error::other(format!("token: {e:?}")))?;
            bots.push(Bot {
                socket,
                client: None,
                token: Some(token),
                s: BotSync {
                    slot: i % room_size,
                    next_bundle: 0,
                    relay_has: 0,
                    local_end: 0,
                    hash: 0,
                    sums: [(0, 0); 4],
                },
                echoed: 0,
            });
        }
        Ok(Bots {
            poll,
            events: Events::with_capacity(1024),
            bots,
            room_size,
            base,
            started: Instant::now(),
            buf: vec![0; msg::MAX_MESSAGE],
            recv: vec![0; 2048],
            counts: BotCounts::default(),
            next_timers: Instant::now(),
            next_wave: Instant::now(),
            activated: 0,
        })
    }

    fn now(&self) -> Duration {
        self.base + self.started.elapsed()
    }

    /// Counters so far.
    pub fn counts(&self) -> BotCounts {
        self.counts
    }

    /// Bots connected to the relay.
    pub fn connected(&self) -> usize {
        self.bots.iter().filter(|b| b.client.as_ref().is_some_and(Client::is_connected)).count()
    }

    /// Bots whose connection failed (denied, timed out, ...).
    pub fn failed(&self) -> usize {
        self.bots.iter().filter(|b| b.client.as_ref().is_some_and(|c| c.state().is_error())).count()
    }

    /// Kernel receive drops summed over the bots' sockets.
    pub fn kernel_drops(&self) -> u64 {
        use std::os::fd::AsRawFd;
        self.bots.iter().filter_map(|b| framelock_net::sys::socket_drops(b.socket.as_raw_fd())).sum()
    }

    /// Plays against the relay until `until`: connects bots in waves of `wave` per 10 ms, answers
    /// bundles, runs the clients' timers.
    pub fn run_relay(&mut self, until: Instant, wave: usize) -> io::Result<()> {
        while Instant::now() < until {
            if self.activated < self.bots.len() && Instant::now() >= self.next_wave {
                self.next_wave = Instant::now() + Duration::from_millis(10);
                let now = self.now();
                let end = (self.activated + wave).min(self.bots.len());
                for b in &mut self.bots[self.activated..end] {
                    if let Some(t) = b.token.take() {
                        b.client = Some(Client::new(now, t));
                    }
                }
                self.activated = end;
            }
            match self.poll.poll(&mut self.events, Some(Duration::from_millis(2))) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            let now = self.now();
            for ev in self.events.iter() {
                let Some(b) = self.bots.get_mut(ev.token().0) else { continue };
                let got = drain(b, &mut self.recv, now, &mut self.counts, self.room_size);
                if got {
                    answer(b, &mut self.buf, now);
                }
                transmit(b, &mut self.counts);
            }
            if Instant::now() >= self.next_timers {
                self.next_timers = Instant::now() + Duration::from_millis(10);
                for b in &mut self.bots {
                    if let Some(c) = b.client.as_mut() {
                        c.handle_timeout(now);
                    }
                    transmit(b, &mut self.counts);
                }
            }
        }
        Ok(())
    }

    /// Says goodbye to the relay (netcode's redundant disconnect).
    pub fn disconnect(&mut self) {
        let now = self.now();
        for b in &mut self.bots {
            if let Some(c) = b.client.as_mut() {
                c.disconnect(now);
            }
            transmit(b, &mut self.counts);
        }
    }

    /// Rooms whose bots agree on their latest common checksum, and rooms compared.
    pub fn rooms_agreeing(&self) -> (usize, usize) {
        let (mut agree, mut rooms) = (0, 0);
        for room in self.bots.chunks(self.room_size) {
            rooms += 1;
            // The latest checksum frame every bot of the room reported.
            let latest = room.iter().map(|b| b.s.sums.iter().map(|s| s.0).max().unwrap_or(0)).min();
            let Some(frame) = latest.filter(|&f| f > 0) else { continue };
            let mut sums = room.iter().map(|b| b.s.sums.iter().find(|s| s.0 == frame).map(|s| s.1));
            let first = sums.next().flatten();
            if first.is_some() && sums.all(|s| s == first) {
                agree += 1;
            }
        }
        (agree, rooms)
    }

    /// The echo baseline: every bot sends one `len`-byte datagram per period to `echo` until
    /// `until`, and counts the replies.
    pub fn run_echo(&mut self, echo: SocketAddr, len: usize, period: Duration, until: Instant) -> io::Result<()> {
        let payload = vec![0x5au8; len.max(1)];
        let mut next_tick = Instant::now();
        while Instant::now() < until {
            if Instant::now() >= next_tick {
                next_tick += period;
                for b in &mut self.bots {
                    match b.socket.send_to(&payload, echo) {
                        Ok(_) => self.counts.sent += 1,
                        Err(_) => self.counts.send_errors += 1,
                    }
                }
            }
            let wait = next_tick.saturating_duration_since(Instant::now()).min(Duration::from_millis(2));
            match self.poll.poll(&mut self.events, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            for ev in self.events.iter() {
                let Some(b) = self.bots.get_mut(ev.token().0) else { continue };
                while b.socket.recv_from(&mut self.recv).is_ok() {
                    b.echoed += 1;
                    self.counts.received += 1;
                }
            }
        }
        Ok(())
    }
}

/// Reads every waiting datagram of a bot; true if a bundle arrived.
fn drain(b: &mut Bot, recv: &mut [u8], now: Duration, counts: &mut BotCounts, room_size: usize) -> bool {
    let mut bundle = false;
    loop {
        let (n, from) = match b.socket.recv_from(recv) {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        counts.received += 1;
        counts.bytes_received += n as u64;
        let Some(c) = b.client.as_mut() else { continue };
        c.handle_packet(now, from, &recv[..n]);
        while let Some(p) = c.poll_payload() {
            match Bundle::decode(p, INPUT_BYTES) {
                Ok(bd) => {
                    bundle = true;
                    take_bundle(&mut b.s, &bd, counts, room_size);
                }
                Err(_) => counts.bad_bundles += 1,
            }
        }
    }
    bundle
}

fn take_bundle(bot: &mut BotSync, b: &Bundle<'_>, counts: &mut BotCounts, room_size: usize) {
    bot.relay_has = bot.relay_has.max(b.next_input);
    for (_, mask, _) in b.desyncs() {
        if mask >> bot.slot & 1 == 1 {
            counts.desyncs_reported += 1;
        }
    }
    if b.first > bot.next_bundle || usize::from(b.slots) != room_size {
        return;
    }
    for (frame, s, input) in b.inputs() {
        if frame < bot.next_bundle {
            continue;
        }
        let mut x = u64::from(frame) << 16 | (s as u64) << 8 | u64::from(input.flags);
        for &byte in input.bytes {
            x = x << 8 | u64::from(byte);
        }
        bot.hash = mix(bot.hash, x);
        if s + 1 == room_size {
            bot.next_bundle = frame + 1;
            if frame % CHECKSUM_INTERVAL == 0 && frame > 0 {
                bot.sums[(frame / CHECKSUM_INTERVAL) as usize % 4] = (frame, bot.hash);
            }
        }
    }
}

/// Sends the bot's update: inputs up to `LEAD` frames past the room's clock, the acknowledgement and
/// the last checksums.
fn answer(bot: &mut Bot, buf: &mut [u8], now: Duration) {
    let Some(c) = bot.client.as_mut() else { return };
    let b = &mut bot.s;
    b.local_end = b.local_end.max(b.next_bundle + LEAD);
    let first = b.relay_has.max(b.local_end.saturating_sub(16));
    let mut w = Writer::new(buf);
    let count_at = msg::begin_update(&mut w, b.next_bundle, first);
    let mut count = 0u8;
    for f in first..b.local_end {
        if !msg::put_input(&mut w, &input(f, b.slot), 1 + 12 * 4) {
            break;
        }
        count += 1;
    }
    let mut sums = [(0u32, 0u64); 4];
    let mut n = 0;
    for &s in b.sums.iter().filter(|s| s.0 > 0) {
        sums[n] = s;
        n += 1;
    }
    msg::finish_update(&mut w, count_at, count, &sums[..n]);
    let len = w.len();
    let _ = c.send_payload(now, &buf[..len]);
}

fn transmit(b: &mut Bot, counts: &mut BotCounts) {
    let Some(c) = b.client.as_mut() else { return };
    while let Some(t) = c.poll_transmit() {
        match b.socket.send_to(t.contents, t.destination) {
            Ok(n) => {
                counts.sent += 1;
                counts.bytes_sent += n as u64;
            }
            Err(_) => counts.send_errors += 1,
        }
    }
}
