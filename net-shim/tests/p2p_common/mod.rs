//! Peer-to-peer matches on a virtual clock: endpoints exchanging datagrams through a seeded lossy
//! link (latency, jitter, loss, duplication, reordering), each ticking at its own phase.
#![allow(dead_code)] // each test binary uses part of it

use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::arena::scripted_input;
use framelock_core::testing::HashSim;
use framelock_core::Frame;
use framelock_net::p2p::{P2pBuilder, P2pEndpoint, P2pEvent};

pub const KEY: [u8; 32] = [0x42; 32];
pub const INPUT: usize = 2;
pub const TICK_RATE: u16 = 60;

#[derive(Debug, Clone, Copy)]
pub struct LinkConfig {
    pub latency_us: u64,
    pub jitter_us: u64,
    pub loss: u32,      // per mille
    pub duplicate: u32, // per mille
    pub reorder: u32,   // per mille: an extra delay of one jitter
}

/// The conditions: 20% loss, 100 ± 30 ms, 5% duplication, 2% reordering.
pub const CHAOS: LinkConfig =
    LinkConfig { latency_us: 100_000, jitter_us: 30_000, loss: 200, duplicate: 50, reorder: 20 };

pub struct Mix(pub u64);
impl Mix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// A datagram in flight: (arrival, sequence), from, to, bytes.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Flight(std::cmp::Reverse<(u64, u64)>, SocketAddr, SocketAddr, Vec<u8>);

/// A delivered datagram: (time, from, to, bytes).
pub type Delivered = (u64, SocketAddr, SocketAddr, Vec<u8>);

pub struct Net {
    pub cfg: LinkConfig,
    rng: Mix,
    queue: BinaryHeap<Flight>,
    seq: u64,
    /// A hash of every datagram sent, with its time, sender and receiver.
    pub traffic: u64,
    pub sent: u64,
    pub bytes: u64,
    /// When set, every delivered datagram is kept here: (time, from, to, bytes).
    pub tap: Option<Vec<Delivered>>,
    /// Datagrams from the first address to the second are lost.
    pub blocked: Vec<(SocketAddr, SocketAddr)>,
}

impl Net {
    pub fn new(cfg: LinkConfig, seed: u64) -> Net {
        Net {
            cfg,
            rng: Mix(seed),
            queue: BinaryHeap::new(),
            seq: 0,
            traffic: 0,
            sent: 0,
            bytes: 0,
            tap: None,
            blocked: Vec::new(),
        }
    }

    pub fn send(&mut self, now: u64, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        self.sent += 1;
        self.bytes += bytes.len() as u64;
        let h = self.traffic.rotate_left(7) ^ now ^ u64::from(from.port()) << 32 ^ u64::from(to.port()) << 48;
        self.traffic = bytes.iter().fold(h, |h, &b| h.wrapping_mul(31) ^ u64::from(b));
        if self.rng.below(1000) < u64::from(self.cfg.loss) || self.blocked.contains(&(from, to)) {
            return;
        }
        let copies = if self.rng.below(1000) < u64::from(self.cfg.duplicate) { 2 } else { 1 };
        for _ in 0..copies {
            let jitter = self.rng.below(2 * self.cfg.jitter_us + 1);
            let mut at = (now + self.cfg.latency_us + jitter).saturating_sub(self.cfg.jitter_us);
            if self.rng.below(1000) < u64::from(self.cfg.reorder) {
                at += self.cfg.jitter_us;
            }
            self.seq += 1;
            self.queue.push(Flight(std::cmp::Reverse((at.max(now + 1), self.seq)), from, to, bytes.to_vec()));
        }
    }

    /// The next datagram due by `now`: (from, to, bytes).
    pub fn poll(&mut self, now: u64) -> Option<(SocketAddr, SocketAddr, Vec<u8>)> {
        if self.queue.peek().is_some_and(|f| (f.0).0 .0 <= now) {
            self.queue.pop().map(|Flight(_, from, to, bytes)| (from, to, bytes))
        } else {
            None
        }
    }
}

pub fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1 + i as u8], 7000 + i as u16))
}

/// One process: an endpoint, its local slots (empty for a spectator), its events.
pub struct Node {
    pub ep: P2pEndpoint<HashSim>,
    pub addr: SocketAddr,
    pub local: Vec<usize>,
    pub alive: bool,
    pub events: Vec<P2pEvent>,
    pub ticks: u32,
    /// The checksum of the target frame, once final.
    pub checksum: Option<u64>,
    /// This process's clock runs at `clock / 1000` of real time (drift).
    pub clock: u64,
    /// The run waits for this node's checksum.
    pub awaited: bool,
}

/// The layout of a match: `players` processes of `slots_each` slots each, and spectators hosted
/// round-robin by the players.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub players: usize,
    pub slots_each: usize,
    pub spectators: usize,
}

impl Layout {
    pub fn slots(&self) -> usize {
        self.players * self.slots_each
    }
}

pub fn builder(layout: Layout, seed: u64) -> P2pBuilder {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    P2pBuilder::new(layout.slots(), INPUT)
        .key(KEY)
        .rng_seed(s)
        .tick_rate(TICK_RATE)
        .simulation_id(0x4841_5348)
        .input_delay(2)
        .disconnect_notify(Duration::from_millis(500))
        .disconnect_timeout(Duration::from_millis(2000))
        .max_snapshot_size(64)
        .frame_arena_size(256)
}

/// Player `p`'s endpoint.
pub fn player(layout: Layout, p: usize, seed: u64) -> P2pEndpoint<HashSim> {
    let mut b = builder(layout, seed.wrapping_mul(1000) + p as u64);
    for q in 0..layout.players {
        for k in 0..layout.slots_each {
            let slot = q * layout.slots_each + k;
            b = if q == p { b.local_slot(slot) } else { b.remote_slot(slot, addr(q)) };
        }
    }
    for s in (0..layout.spectators).filter(|s| s % layout.players == p) {
        b = b.spectator(addr(layout.players + s));
    }
    b.build(Duration::ZERO, HashSim::new(0)).expect("player endpoint")
}

/// Spectator `s`'s endpoint (hosted by player `s % players`).
pub fn spectator(layout: Layout, s: usize, seed: u64) -> P2pEndpoint<HashSim> {
    builder(layout, seed.wrapping_mul(1000) + 500 + s as u64)
        .spectate(addr(s % layout.players))
        .build(Duration::ZERO, HashSim::new(0))
        .expect("spectator endpoint")
}

pub fn nodes(layout: Layout, seed: u64) -> Vec<Node> {
    let mut v = Vec::new();
    for p in 0..layout.players {
        let local = (p * layout.slots_each..(p + 1) * layout.slots_each).collect();
        v.push(Node::new(player(layout, p, seed), addr(p), local));
    }
    for s in 0..layout.spectators {
        v.push(Node::new(spectator(layout, s, seed), addr(layout.players + s), Vec::new()));
    }
    v
}

impl Node {
    pub fn new(ep: P2pEndpoint<HashSim>, addr: SocketAddr, local: Vec<usize>) -> Node {
        Node { ep, addr, local, alive: true, events: Vec::new(), ticks: 0, checksum: None, clock: 1000, awaited: true }
    }
}

/// What a match run hands back.
pub struct Run {
    pub nodes: Vec<Node>,
    pub net: Net,
    pub now: u64,
}

/// Runs `nodes` until every live node has the final checksum of `frames` (or `limit_frames` of
/// virtual time pass). `hook` runs every millisecond before the nodes (to kill, inject, restart).
pub fn run(
    mut nodes: Vec<Node>,
    link: LinkConfig,
    seed: u64,
    frames: Frame,
    mut hook: impl FnMut(u64, &mut Vec<Node>, &mut Net),
) -> Run {
    let mut net = Net::new(link, seed);
    let period = 1_000_000 / u64::from(TICK_RATE);
    let mut phase = Mix(seed ^ 0x5eed);
    let offsets: Vec<u64> = nodes.iter().map(|_| phase.below(period)).collect();
    let limit = (u64::from(frames) * 3 / 2 + 1200) * period;
    let mut now = 0u64;
    let input_seed = seed;
    while now < limit {
        hook(now, &mut nodes, &mut net);
        while let Some((from, to, bytes)) = net.poll(now) {
            if let Some(n) = nodes.iter_mut().find(|n| n.addr == to && n.alive) {
                n.ep.handle_datagram(Duration::from_micros(now * n.clock / 1000), from, &bytes);
            }
            if let Some(tap) = net.tap.as_mut() {
                tap.push((now, from, to, bytes));
            }
        }
        for (k, n) in nodes.iter_mut().enumerate() {
            if !n.alive || now < offsets[k] {
                continue;
            }
            let t = Duration::from_micros(now * n.clock / 1000);
            if n.ep.poll_timeout().is_some_and(|d| d <= t) {
                n.ep.handle_timeout(t);
            }
            if n.ep.next_tick().is_some_and(|d| d <= t) {
                n.ticks += 1;
                let mut input = [0u8; 16];
                for (j, &slot) in n.local.iter().enumerate() {
                    input[j * INPUT..(j + 1) * INPUT].copy_from_slice(&scripted_input(input_seed, slot, n.ticks));
                }
                n.ep.tick(t, &input[..n.local.len() * INPUT]).expect("tick");
            }
            while let Some(e) = n.ep.poll_event() {
                n.events.push(e);
            }
            while let Some(tx) = n.ep.poll_transmit() {
                let (to, bytes) = (tx.destination, tx.contents.to_vec());
                net.send(now, n.addr, to, &bytes);
            }
            if n.checksum.is_none() {
                n.checksum = n.ep.driver().session().checksum(frames);
            }
        }
        let mut awaited = nodes.iter().filter(|n| n.alive && n.awaited).peekable();
        if awaited.peek().is_some() && awaited.all(|n| n.checksum.is_some()) {
            break;
        }
        now += 1_000;
    }
    Run { nodes, net, now }
}

/// The checksums of the live nodes at the target frame.
pub fn checksums(run: &Run) -> Vec<Option<u64>> {
    run.nodes.iter().filter(|n| n.alive && n.awaited).map(|n| n.checksum).collect()
}
