//! framelock's peer-to-peer endpoint against GGRS 0.13's `P2PSession`: two peers each, the same
//! trivial state (frame counter + running hash), the same `u32` inputs, over the same kind of
//! conditioned in-memory link (a seeded delay line: latency ± jitter, loss), on a 60 Hz virtual
//! clock. Prints, per system and link: payload bytes sent per frame, frames resimulated per frame,
//! ticks stalled, CPU per frame (thread CPU time of the endpoint or session calls only, the same
//! one measured region per peer and frame for both) and heap allocations per frame.
//!
//! `cargo bench -p framelock-net --bench p2p_vs_ggrs` (a few seconds). Figures: docs/BENCHMARKS.md.
// The counting allocator wraps `System`; it must pause around the harness's own work inside GGRS's
// socket callbacks, which `framelock_testkit::count` cannot.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use framelock_core::checksum64;
use framelock_core::testing::HashSim;
use framelock_net::p2p::{P2pBuilder, P2pEndpoint};
use ggrs::{GgrsError, GgrsRequest, InputStatus, Message, NonBlockingSocket, P2PSession, PlayerType, SessionState};

/// Counts allocations while `ON` (the harness switches it off around its own work).
struct Counting;
static ON: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if ON.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if ON.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TICK_US: u64 = 16_667;
const INPUT_DELAY: u32 = 2;
const MAX_PREDICTION: u32 = 8;
const WARM_UP: u32 = 600;
const FRAMES: u32 = 6_000;

/// The input of `slot` at `frame`: held for a few frames, as a player holds a direction.
fn input(slot: usize, frame: u32) -> u32 {
    let run = 4 + 3 * slot as u32;
    (checksum64(&[(frame / run) as u8, ((frame / run) >> 8) as u8, slot as u8]) & 0xFFFF) as u32
}

#[derive(Clone, Copy)]
struct LinkCfg {
    name: &'static str,
    latency_us: u64,
    jitter_us: u64,
    loss_per_mille: u64,
}

/// A seeded delay line carrying any message type; `send` decides loss and delay per message.
struct Link<T> {
    cfg: LinkCfg,
    state: u64,
    flights: Vec<(u64, u64, usize, T)>,
    seq: u64,
}

impl<T> Link<T> {
    fn new(cfg: LinkCfg, seed: u64) -> Self {
        Link { cfg, state: seed, flights: Vec::with_capacity(4096), seq: 0 }
    }
    fn roll(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn send(&mut self, now: u64, to: usize, msg: T) {
        if self.roll() % 1000 < self.cfg.loss_per_mille {
            return;
        }
        let j = self.roll() % (2 * self.cfg.jitter_us + 1);
        let at = (now + self.cfg.latency_us + j).saturating_sub(self.cfg.jitter_us);
        self.seq += 1;
        self.flights.push((at, self.seq, to, msg));
    }
    fn has_due(&self, now: u64, to: usize) -> bool {
        self.flights.iter().any(|f| f.0 <= now && f.2 == to)
    }
    /// Every message due by `now` for `to`, in arrival order.
    fn take_due(&mut self, now: u64, to: usize, out: &mut Vec<T>) {
        self.flights.sort_by_key(|f| (f.0, f.1));
        let mut i = 0;
        while i < self.flights.len() {
            if self.flights[i].0 <= now && self.flights[i].2 == to {
                out.push(self.flights.remove(i).3);
            } else {
                i += 1;
            }
        }
    }
}

#[derive(Default, Debug, Clone, Copy)]
struct Figures {
    frames: u64,
    resimulated: u64,
    stalls: u64,
    bytes: u64,
    cpu: Duration,
    allocs: u64,
}

/// This thread's CPU time: unlike the wall clock, it does not count the time other processes on
/// a busy machine take from it.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn measured<R>(fig: &mut Figures, f: impl FnOnce() -> R) -> R {
    let t = thread_cpu();
    ON.store(true, Relaxed);
    let r = f();
    ON.store(false, Relaxed);
    fig.cpu += thread_cpu().saturating_sub(t);
    r
}

// ----- framelock ------------------------------------------------------------------------------------

/// `HashSim` with `u32` inputs: the same state as the GGRS side.
fn fl_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1 + i as u8], 7000))
}

fn framelock(cfg: LinkCfg) -> Figures {
    let mut eps: Vec<P2pEndpoint<HashSim>> = (0..2)
        .map(|p| {
            P2pBuilder::new(2, 4)
                .key([1; 32])
                .rng_seed([p as u8 + 1; 32])
                .local_slot(p)
                .remote_slot(1 - p, fl_addr(1 - p))
                .input_delay(INPUT_DELAY)
                .mode(framelock_core::Mode::Rollback { max_prediction: MAX_PREDICTION })
                .max_snapshot_size(64)
                .frame_arena_size(256)
                .build(Duration::ZERO, HashSim::new(0))
                .expect("endpoint")
        })
        .collect();
    let mut link: Link<Vec<u8>> = Link::new(cfg, 7);
    let mut fig = Figures::default();
    let mut inbox = Vec::with_capacity(256);
    let mut outbox: Vec<(usize, [u8; 1200])> = vec![(0, [0; 1200]); 16];
    let mut now = 0u64;
    let mut start = None;
    loop {
        #[allow(clippy::needless_range_loop)] // `p` also names the peer on the link
        for p in 0..2 {
            let t = Duration::from_micros(now);
            // As a game loop would: wake at the endpoint's deadline (the next frame, in steady
            // state), take what arrived meanwhile, tick, send; while synchronizing, also when a
            // datagram arrives.
            let due = eps[p].poll_timeout().is_some_and(|d| d <= t);
            if !due && (eps[p].is_running() || !link.has_due(now, p)) {
                continue;
            }
            inbox.clear();
            link.take_due(now, p, &mut inbox);
            let mut f = Figures::default();
            let fig_now = if start.is_some() { &mut fig } else { &mut f };
            let ep = &mut eps[p];
            let sent = measured(fig_now, || {
                for d in &inbox {
                    ep.handle_datagram(t, fl_addr(1 - p), d);
                }
                ep.handle_timeout(t);
                if ep.next_tick().is_some_and(|n| n <= t) {
                    let frame = ep.driver().session().current_frame();
                    ep.tick(t, &input(p, frame).to_le_bytes()).expect("tick");
                }
                let mut n = 0;
                while let Some(tx) = ep.poll_transmit() {
                    if let Some(slot) = outbox.get_mut(n) {
                        slot.0 = tx.contents.len();
                        slot.1[..slot.0].copy_from_slice(tx.contents);
                        n += 1;
                    }
                }
                n
            });
            for (len, bytes) in &outbox[..sent] {
                fig_now.bytes += *len as u64;
                link.send(now, 1 - p, bytes[..*len].to_vec());
            }
        }
        let frames = eps[0].driver().session().current_frame();
        if start.is_none() && frames >= WARM_UP {
            start = Some(eps.iter().map(|e| e.driver().session().stats()).collect::<Vec<_>>());
        }
        if frames >= WARM_UP + FRAMES {
            break;
        }
        assert!(now < 1_000_000_000, "stuck at frame {frames}");
        now += 1_000;
    }
    let before = start.unwrap_or_default();
    for (e, b) in eps.iter().zip(before) {
        let s = e.driver().session().stats();
        fig.frames += s.frames_advanced - b.frames_advanced;
        fig.resimulated += s.frames_resimulated - b.frames_resimulated;
        fig.stalls += s.stalls - b.stalls;
    }
    let (a, b) = (eps[0].driver().session(), eps[1].driver().session());
    let f = a.checksummed_until().min(b.checksummed_until()) - 1;
    assert_eq!(a.checksum(f), b.checksum(f), "framelock peers agree");
    fig.allocs = ALLOCS.swap(0, Relaxed);
    fig
}

// ----- GGRS -----------------------------------------------------------------------------------------

#[derive(Debug)]
struct Config;
impl ggrs::Config for Config {
    type Input = u32;
    type InputPredictor = ggrs::PredictRepeatLast;
    type State = Trivial;
    type Address = u8;
}

#[derive(Debug, Clone, Copy, Default)]
struct Trivial {
    frame: u32,
    hash: u64,
}

impl Trivial {
    fn advance(&mut self, inputs: &[(u32, InputStatus)]) {
        let mut h = self.hash ^ u64::from(self.frame).rotate_left(17);
        for (i, status) in inputs {
            let s = match status {
                InputStatus::Disconnected => framelock_core::InputStatus::Disconnected,
                _ => framelock_core::InputStatus::Confirmed,
            };
            h = HashSim::mix_input(h, &i.to_le_bytes(), s);
        }
        self.hash = h;
        self.frame += 1;
    }
    fn checksum(&self) -> u128 {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.frame.to_le_bytes());
        b[4..].copy_from_slice(&self.hash.to_le_bytes());
        u128::from(checksum64(&b))
    }
}

/// The virtual clock, the link and the byte count the GGRS sockets share.
struct Shared {
    now: Cell<u64>,
    link: RefCell<Link<(u8, Message)>>,
    instant: Cell<bool>,
    bytes: Cell<u64>,
    counting: Cell<bool>,
}

struct MemSocket {
    me: u8,
    shared: Rc<Shared>,
}

impl NonBlockingSocket<u8> for MemSocket {
    fn send_to(&mut self, msg: &Message, addr: &u8) {
        // What GGRS's UdpNonBlockingSocket puts on the wire: the message, bincode-encoded.
        let len = bincode::serialized_size(msg).unwrap_or(0);
        let was = ON.swap(false, Relaxed);
        if self.shared.counting.get() {
            self.shared.bytes.set(self.shared.bytes.get() + len);
        }
        // The encoding is the real socket's work (and allocation): counted.
        ON.store(was, Relaxed);
        let encoded = bincode::serialize(msg).unwrap_or_default();
        ON.store(false, Relaxed);
        drop(encoded);
        let now = self.shared.now.get();
        let mut link = self.shared.link.borrow_mut();
        if self.shared.instant.get() {
            link.flights.push((now, 0, usize::from(*addr), (self.me, msg.clone())));
        } else {
            link.send(now, usize::from(*addr), (self.me, msg.clone()));
        }
        ON.store(was, Relaxed);
    }
    fn receive_all_messages(&mut self) -> Vec<(u8, Message)> {
        let was = ON.swap(false, Relaxed);
        let mut out = Vec::new();
        self.shared.link.borrow_mut().take_due(self.shared.now.get(), usize::from(self.me), &mut out);
        ON.store(was, Relaxed);
        out
    }
}

/// Errors: the session stopped advancing for 60 s of virtual time (it happens on lossy links).
fn ggrs_run(cfg: LinkCfg) -> Result<Figures, String> {
    let shared = Rc::new(Shared {
        now: Cell::new(0),
        link: RefCell::new(Link::new(cfg, 7)),
        instant: Cell::new(true),
        bytes: Cell::new(0),
        counting: Cell::new(false),
    });
    let mut peers: Vec<(P2PSession<Config>, Trivial)> = (0..2u8)
        .map(|me| {
            let other = 1 - me;
            let s = ggrs::SessionBuilder::<Config>::new()
                .with_num_players(2)
                .expect("2 players")
                .with_max_prediction_window(MAX_PREDICTION as usize)
                .with_input_delay(INPUT_DELAY as usize)
                .add_player(PlayerType::Local, usize::from(me))
                .expect("local")
                .add_player(PlayerType::Remote(other), usize::from(other))
                .expect("remote")
                .start_p2p_session(MemSocket { me, shared: shared.clone() })
                .expect("session");
            (s, Trivial::default())
        })
        .collect();
    // Synchronize over an instant, lossless link (GGRS's sync retries run on the wall clock).
    let mut spins = 0;
    while peers.iter().any(|p| p.0.current_state() != SessionState::Running) {
        for p in &mut peers {
            p.0.poll_remote_clients();
        }
        shared.now.set(shared.now.get() + 1);
        spins += 1;
        assert!(spins < 100_000, "GGRS did not synchronize");
    }
    shared.instant.set(false);
    let mut fig = Figures::default();
    let mut advances = [0u64; 2];
    let mut log: Vec<String> = Vec::new();
    let mut last_frame = (0u32, 0u64);
    let mut now = 0u64;
    let mut next_tick = [0u64, 7_000];
    // (frames, frames resimulated) of both peers when the measurement started.
    let mut start: Option<(u64, u64)> = None;
    let totals = |peers: &[(P2PSession<Config>, Trivial)], advances: &[u64; 2]| {
        let frames: u64 = peers.iter().map(|p| p.0.current_frame() as u64).sum();
        (frames, advances[0] + advances[1] - frames)
    };
    loop {
        shared.now.set(now);
        for (p, (session, state)) in peers.iter_mut().enumerate() {
            let counting = start.is_some();
            shared.counting.set(counting);
            let mut scratch = Figures::default();
            let fig_now = if counting { &mut fig } else { &mut scratch };
            if now < next_tick[p] {
                continue;
            }
            next_tick[p] += TICK_US;
            let f = session.current_frame() as u32;
            let result = measured(fig_now, || {
                session.add_local_input(p, input(p, f)).expect("input");
                let r = session.advance_frame();
                let mut n = 0;
                if let Ok(requests) = r.as_ref() {
                    for request in requests {
                        match request {
                            GgrsRequest::SaveGameState { cell, frame } => {
                                cell.save(*frame, Some(*state), Some(state.checksum()))
                            }
                            GgrsRequest::LoadGameState { cell, .. } => *state = cell.load().unwrap_or_default(),
                            GgrsRequest::AdvanceFrame { inputs } => {
                                state.advance(inputs);
                                n += 1;
                            }
                        }
                    }
                }
                for e in session.events() {
                    let was = ON.swap(false, Relaxed);
                    log.push(format!("peer {p} at {now} us: {e:?}"));
                    ON.store(was, Relaxed);
                }
                r.map(|_| n)
            });
            match result {
                Ok(n) => advances[p] += n,
                Err(GgrsError::PredictionThreshold) => {}
                Err(e) => panic!("GGRS: {e}"),
            }
            if counting && session.current_frame() as u32 == f {
                fig.stalls += 1;
            }
        }
        let frames = peers[0].0.current_frame() as u32;
        if start.is_none() && frames >= WARM_UP {
            start = Some(totals(&peers, &advances));
        }
        if frames >= WARM_UP + FRAMES {
            break;
        }
        if frames != last_frame.0 {
            last_frame = (frames, now);
        } else if now > last_frame.1 + 100_000 {
            // GGRS's resend and keep-alive timers run on the wall clock: while it is stalled, let
            // virtual time pass no faster than real time, as it would in a game.
            std::thread::sleep(Duration::from_millis(1));
        }
        if now > last_frame.1 + 20_000_000 {
            return Err(format!(
                "stopped advancing at frame {frames} (state {:?}, network stats {:?}, last events {:?})",
                peers[0].0.current_state(),
                peers[0].0.network_stats(1),
                &log[log.len().saturating_sub(4)..]
            ));
        }
        now += 1_000;
    }
    let (f0, r0) = start.unwrap_or_default();
    let (f1, r1) = totals(&peers, &advances);
    fig.frames = f1 - f0;
    fig.resimulated = r1 - r0;
    assert!(peers[0].1.frame.min(peers[1].1.frame) > 0);
    fig.bytes = shared.bytes.get();
    fig.allocs = ALLOCS.swap(0, Relaxed);
    Ok(fig)
}

fn main() {
    // `cargo test --benches` runs this as a smoke test: a short run.
    let quick = std::env::args().any(|a| a == "--test" || a == "--bench") && std::env::args().all(|a| a != "--bench");
    let links = [
        LinkCfg { name: "50±10 ms, 5% loss", latency_us: 50_000, jitter_us: 10_000, loss_per_mille: 50 },
        LinkCfg { name: "100±30 ms, 20% loss", latency_us: 100_000, jitter_us: 30_000, loss_per_mille: 200 },
    ];
    println!("two peers, 60 Hz, input delay {INPUT_DELAY}, max prediction {MAX_PREDICTION}, {FRAMES} frames measured per peer after {WARM_UP}");
    println!("| link | system | payload bytes sent / frame | frames resimulated / frame | ticks stalled / frame | CPU µs / frame | allocations / frame |");
    println!("|---|---|---|---|---|---|---|");
    for cfg in links.iter().take(if quick { 1 } else { 2 }) {
        for (name, fig) in [("framelock p2p", Ok(framelock(*cfg))), ("GGRS 0.13 P2PSession", ggrs_run(*cfg))] {
            let fig = match fig {
                Ok(fig) => fig,
                Err(e) => {
                    ALLOCS.store(0, Relaxed);
                    println!("| {} | {name} | {e} | | | | |", cfg.name);
                    continue;
                }
            };
            let per = |v: u64| v as f64 / fig.frames.max(1) as f64;
            println!(
                "| {} | {name} | {:.1} | {:.2} | {:.3} | {:.2} | {:.2} |",
                cfg.name,
                per(fig.bytes),
                per(fig.resimulated),
                per(fig.stalls),
                fig.cpu.as_secs_f64() * 1e6 / fig.frames.max(1) as f64,
                per(fig.allocs)
            );
        }
    }
}
