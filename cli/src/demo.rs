//! `framelock demo`: a whole room of peers in one process, on a virtual clock.
//!
//! Each peer owns one [`Session`](framelock_core::Session) (its own slot is local, every other slot
//! remote) driving its own copy of the reference simulation [`Arena`]. Bots play by
//! [`arena::scripted_input`], and the peers exchange inputs and checksums over the seeded lossy
//! [`Link`]. Nothing reads the wall clock or sleeps: a tick is 1/60 s of virtual time, so a run is
//! as fast as the CPU allows and its output is the same on every run with the same options.
//!
//! The point of the demo is the last line: every peer, having predicted, rolled back and
//! resimulated differently, ends with the same state checksum.
//!
//! The little protocol (until the network crate exists): every tick each peer sends each other peer
//! a [`Packet`] with its acknowledgement of that peer's inputs (the frames it holds without a gap),
//! all its own local inputs from the oldest frame some peer has not acknowledged, so a lost packet
//! never loses an input, and its latest final checksums. Receivers skip what they already hold.
//!
//! A run ends when every peer has simulated `--frames` frames and its checksum of the last one is
//! final; the peers' checksums of every frame are also compared directly, as they become final.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write};
use std::rc::Rc;

use clap::{Args, ValueEnum};
use framelock_core::arena::{self, Arena, ArenaParams, INPUT_SIZE, NEUTRAL_INPUT};
use framelock_core::{Driver, Event, Frame, Mode, SessionBuilder, SimError, Slot, MAX_INPUT_DELAY, MAX_ROLLBACK};

use crate::link::{Link, LinkConfig, Micros};

/// Ticks per second of the virtual clock.
pub const TICK_HZ: u64 = 60;
/// A progress line is printed each time the slowest peer passes a multiple of this.
const PROGRESS_EVERY: Frame = 600;
/// How many of its latest final checksums a peer repeats in every packet.
const RECENT_CHECKSUMS: usize = 16;

/// How the sessions advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Predict missing remote inputs and roll back when a prediction was wrong.
    Rollback,
    /// Simulate a frame only once every input for it has arrived.
    Lockstep,
}

/// Options of `framelock demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Number of peers, one player slot each.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub players: u8,
    /// Frames every peer simulates (60 frames = 1 s of game time).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub frames: u32,
    /// How sessions advance.
    #[arg(long, value_enum, default_value_t = ModeArg::Rollback)]
    pub mode: ModeArg,
    /// Rollback: frames a peer may run ahead of its confirmed inputs.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_ROLLBACK)))]
    pub max_prediction: u32,
    /// Mean one-way delay of a packet, in milliseconds.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub latency_ms: u32,
    /// The delay varies uniformly by up to this much either way, in milliseconds (never below 0).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub jitter_ms: u32,
    /// Fraction of packets lost, 0 to 1.
    #[arg(long, default_value_t = 0.05, value_parser = parse_loss)]
    pub loss: f64,
    /// Seed of the bots' inputs, the arena and the link.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Frames between reading a local input and the frame it is for.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_INPUT_DELAY)))]
    pub input_delay: u32,
}

/// Parses a loss fraction in `0..=1`.
fn parse_loss(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number (expected a fraction like 0.05)"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s} is not a fraction between 0 and 1"))
    }
}

/// Why a demo run failed.
#[derive(Debug)]
pub enum DemoError {
    /// A session call failed on a peer.
    Session {
        /// The peer.
        peer: Slot,
        /// What failed.
        error: framelock_core::Error,
    },
    /// The simulation could not be created.
    Sim(SimError),
    /// Writing the report failed.
    Io(io::Error),
    /// A peer's local input did not land on the frame it was made for (a bug somewhere).
    InputMisplaced {
        /// The peer.
        peer: Slot,
        /// The frame the input was made for (or the next frame of the peer's input log).
        expected: Frame,
        /// The frame the session put it on.
        got: Frame,
    },
    /// The run finished, but the peers did not agree (or did not finish).
    Failed(String),
}

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemoError::Session { peer, error } => write!(f, "peer {peer}: {error}"),
            DemoError::Sim(e) => write!(f, "cannot create the arena: {e}"),
            DemoError::Io(e) => write!(f, "cannot write the report: {e}"),
            DemoError::InputMisplaced { peer, expected, got } => {
                write!(f, "peer {peer}: the input made for frame {expected} landed on frame {got}")
            }
            DemoError::Failed(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for DemoError {}

impl From<io::Error> for DemoError {
    fn from(e: io::Error) -> Self {
        DemoError::Io(e)
    }
}

/// What one peer sends another each tick.
#[derive(Debug, Clone)]
pub struct Packet {
    /// The receiver's frames the sender holds without a gap: every frame below this is acknowledged.
    ack: Frame,
    /// The frame of `inputs[0]`: the oldest frame any receiver of this tick's packets misses.
    first_frame: Frame,
    /// The sender's local inputs from `first_frame` on (shared by the packets of one tick).
    inputs: Rc<[[u8; INPUT_SIZE]]>,
    /// The sender's latest final checksums, oldest first.
    checksums: Rc<[(Frame, u64)]>,
}

/// One peer: a session, its arena, and its side of the protocol.
#[derive(Debug)]
struct Peer {
    slot: Slot,
    driver: Driver<Arena>,
    /// Every local input by frame from frame 0 (the input-delay frames hold the neutral input).
    inputs: Vec<[u8; INPUT_SIZE]>,
    /// Per peer: the first of our frames it has not acknowledged.
    acked: Vec<Frame>,
    /// Per peer: how many of its frames we hold without a gap (the next one we need).
    received: Vec<Frame>,
    /// Per peer: checksums of frames below this were already given to the session.
    checksums_fed: Vec<Frame>,
    /// Remote checksums the session could not take (too old, or its queue was full).
    checksums_skipped: u64,
    /// Our latest final checksums, oldest first.
    recent: VecDeque<(Frame, u64)>,
    /// Checksums of frames below this went into `recent`.
    recorded_until: Frame,
    /// The first `Event::Desync` the session reported.
    first_desync: Option<Event>,
    /// Reached the last frame with its checksum final: no more inputs or advances.
    done: bool,
}

impl Peer {
    fn new(slot: Slot, args: &DemoArgs, latency_ticks: u32) -> Result<Peer, DemoError> {
        let players = usize::from(args.players);
        let params = ArenaParams { players: args.players, seed: args.seed, ..ArenaParams::default() };
        let mode = match args.mode {
            ModeArg::Rollback => Mode::Rollback { max_prediction: args.max_prediction },
            ModeArg::Lockstep => Mode::Lockstep,
        };
        // Inputs run ahead of the slowest peer by about a round trip plus the prediction: size the
        // input window and the queue of early remote checksums for that, with room to spare.
        let ahead = 2 * latency_ticks + args.max_prediction + 2 * args.input_delay + 16;
        let session = SessionBuilder::new(players)
            .local_slot(slot)
            .max_input_size(INPUT_SIZE)
            .default_input(&NEUTRAL_INPUT)
            .input_delay(args.input_delay)
            .mode(mode)
            .max_snapshot_size(arena::snapshot_size_bound(&params))
            .frame_arena_size(arena::scratch_size_bound(&params))
            .input_window((128 + ahead).min(1 << 16))
            .early_checksum_capacity((players * ahead as usize).min(1 << 14))
            .build()
            .map_err(|error| DemoError::Session { peer: slot, error })?;
        let arena = Arena::new(params).map_err(DemoError::Sim)?;
        Ok(Peer {
            slot,
            driver: Driver::new(session, arena),
            inputs: vec![NEUTRAL_INPUT; args.input_delay as usize],
            acked: vec![0; players],
            received: vec![0; players],
            checksums_fed: vec![0; players],
            checksums_skipped: 0,
            recent: VecDeque::with_capacity(RECENT_CHECKSUMS + 1),
            recorded_until: 0,
            first_desync: None,
            done: false,
        })
    }

    fn session_error(&self, error: framelock_core::Error) -> DemoError {
        DemoError::Session { peer: self.slot, error }
    }

    /// Takes in a packet from peer `from`: its acknowledgement, the inputs we miss, new checksums.
    fn receive(&mut self, from: Slot, packet: &Packet, frames: Frame) -> Result<(), DemoError> {
        use framelock_core::Error as E;
        self.acked[from] = self.acked[from].max(packet.ack);
        let session = self.driver.session_mut();
        // The packet starts at the oldest frame any receiver misses: skip what we already hold.
        let next = self.received[from];
        let missing = next.checked_sub(packet.first_frame).and_then(|skip| packet.inputs.get(skip as usize..));
        for (frame, input) in (next..).zip(missing.unwrap_or_default()) {
            match session.add_remote_input(from, frame, input) {
                Ok(()) | Err(E::AlreadyConfirmed { .. }) => self.received[from] = frame + 1,
                // Too far ahead of us for now; it stays unacknowledged, so it comes again.
                Err(E::BeyondWindow { .. }) => break,
                Err(error) => return Err(DemoError::Session { peer: self.slot, error }),
            }
        }
        for &(frame, checksum) in packet.checksums.iter() {
            if frame < self.checksums_fed[from] || frame >= frames {
                continue;
            }
            self.checksums_fed[from] = frame + 1;
            match session.add_remote_checksum(from, frame, checksum) {
                Ok(()) => {}
                Err(E::ChecksumUnavailable { .. } | E::ChecksumQueueFull { .. }) => self.checksums_skipped += 1,
                Err(error) => return Err(DemoError::Session { peer: self.slot, error }),
            }
        }
        Ok(())
    }

    /// Adds this tick's bot input and advances (unless the peer is done), then notes events and
    /// new final checksums.
    fn tick(&mut self, seed: u64, frames: Frame) -> Result<(), DemoError> {
        // Remote checksums compared on receipt may have raised a desync even while not advancing.
        self.poll_events();
        let session = self.driver.session_mut();
        // At the finish line a peer stops playing, and holds until the inputs up to its last frame
        // are all in; then one more advance applies the last corrections and makes the checksum
        // of frame `frames - 1` final (so a rollback peer ends one frame past `frames`).
        if self.done || (session.current_frame() >= frames && session.confirmed_until() < frames.saturating_sub(1)) {
            return Ok(());
        }
        let target = session.current_frame() + session.input_delay();
        let input = arena::scripted_input(seed, self.slot, target);
        match session.add_local_input(self.slot, &input) {
            Ok(Some(frame)) if frame == target && frame as usize == self.inputs.len() => self.inputs.push(input),
            Ok(Some(got)) => {
                let expected = if got == target { self.inputs.len() as Frame } else { target };
                return Err(DemoError::InputMisplaced { peer: self.slot, expected, got });
            }
            Ok(None) => {} // still waiting on the frame the previous input went to (a stall)
            Err(e) => return Err(self.session_error(e)),
        }
        self.driver.advance().map_err(|e| self.session_error(e))?;
        self.poll_events();
        let session = self.driver.session_mut();
        let until = session.checksummed_until().min(frames);
        while self.recorded_until < until {
            if let Some(c) = session.checksum(self.recorded_until) {
                if self.recent.len() == RECENT_CHECKSUMS {
                    self.recent.pop_front();
                }
                self.recent.push_back((self.recorded_until, c));
            }
            self.recorded_until += 1;
        }
        self.done = session.current_frame() >= frames && session.checksummed_until() >= frames;
        Ok(())
    }

    /// Keeps the first desync the session reported (the session counts them all in its stats).
    fn poll_events(&mut self) {
        while let Some(event) = self.driver.session_mut().poll_event() {
            if matches!(event, Event::Desync { .. }) && self.first_desync.is_none() {
                self.first_desync = Some(event);
            }
        }
    }

    /// The packet for peer `to`.
    fn packet_for(&self, to: Slot, shared: &Shared) -> Packet {
        Packet {
            ack: self.received[to],
            first_frame: shared.first_frame,
            inputs: Rc::clone(&shared.inputs),
            checksums: Rc::clone(&shared.checksums),
        }
    }

    /// What this tick's packets to every peer have in common: the inputs from the oldest frame any
    /// peer has not acknowledged, and the latest checksums. Built once, shared by all packets.
    ///
    /// The span is bounded without a cap: a peer cannot run further ahead of another than its
    /// input window (plus the input delay) before it needs that peer's inputs, and a peer whose
    /// acknowledgements were lost is still sent everything it may miss.
    fn shared(&self, players: usize) -> Shared {
        let len = self.inputs.len();
        let first = (0..players).filter(|&p| p != self.slot).map(|p| self.acked[p] as usize).min().unwrap_or(len);
        let first = first.min(len);
        Shared {
            first_frame: first as Frame,
            inputs: self.inputs[first..].into(),
            checksums: self.recent.iter().copied().collect(),
        }
    }
}

/// The part of a peer's packets that is the same for every receiver.
#[derive(Debug)]
struct Shared {
    first_frame: Frame,
    inputs: Rc<[[u8; INPUT_SIZE]]>,
    checksums: Rc<[(Frame, u64)]>,
}

/// Counters summed over all peers, for the progress lines.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    rollbacks: u64,
    resimulated: u64,
    stalls: u64,
}

fn totals(peers: &[Peer]) -> Totals {
    peers.iter().map(|p| p.driver.session().stats()).fold(Totals::default(), |t, s| Totals {
        rollbacks: t.rollbacks + s.rollbacks,
        resimulated: t.resimulated + s.frames_resimulated,
        stalls: t.stalls + s.stalls,
    })
}

/// The virtual time at the start of `tick`.
fn tick_time(tick: u64) -> Micros {
    tick * 1_000_000 / TICK_HZ
}

/// Compares every peer's checksum of frames `from..until` with each other.
#[derive(Debug, Default)]
struct CrossCheck {
    /// Frames below this were compared.
    until: Frame,
    /// Frames whose checksums all peers still held and compared.
    compared: u64,
    /// The first frame where two peers' checksums differ.
    first_mismatch: Option<Frame>,
}

impl CrossCheck {
    fn run(&mut self, peers: &[Peer], frames: Frame) {
        let common = peers.iter().map(|p| p.driver.session().checksummed_until()).min().unwrap_or(0).min(frames);
        while self.until < common {
            let f = self.until;
            let mut sums = peers.iter().map(|p| p.driver.session().checksum(f));
            if let Some(Some(first)) = sums.next() {
                let mut all = true;
                for s in sums {
                    match s {
                        Some(c) if c == first => {}
                        Some(_) => {
                            self.first_mismatch.get_or_insert(f);
                        }
                        None => all = false,
                    }
                }
                if all {
                    self.compared += 1;
                }
            }
            self.until += 1;
        }
    }
}

/// Runs the demo, writing the report to `out`. Returns an error when the peers disagree, a
/// session reported a desync, or the run did not finish within its tick limit.
pub fn run(args: &DemoArgs, out: &mut impl Write) -> Result<(), DemoError> {
    let players = usize::from(args.players);
    let frames = args.frames;
    let latency = u64::from(args.latency_ms) * 1000;
    let jitter = u64::from(args.jitter_ms) * 1000;
    let worst_delay_ticks = ((latency + jitter) * TICK_HZ).div_ceil(1_000_000);
    let latency_ticks = u32::try_from(worst_delay_ticks).unwrap_or(u32::MAX).min(1 << 12);

    let mode = match args.mode {
        ModeArg::Rollback => format!("rollback (max prediction {})", args.max_prediction),
        ModeArg::Lockstep => "lockstep".to_string(),
    };
    writeln!(
        out,
        "framelock demo: {players} peers x {frames} frames, {mode}, input delay {}, latency {}±{} ms, loss {}%, seed {}",
        args.input_delay,
        args.latency_ms,
        args.jitter_ms,
        (args.loss * 1000.0).round() / 10.0,
        args.seed
    )?;

    let mut peers = (0..players).map(|slot| Peer::new(slot, args, latency_ticks)).collect::<Result<Vec<_>, _>>()?;
    // The link's randomness is seeded apart from the bots' so the two streams do not correlate.
    let mut link: Link<Packet> = Link::new(LinkConfig { latency, jitter, loss: args.loss }, args.seed ^ 0x6c69_6e6b);
    let mut check = CrossCheck::default();
    let mut next_progress = PROGRESS_EVERY;
    // Generous: heavy loss slows lockstep a lot; the limit only guarantees the run ends.
    let max_ticks = u64::from(frames) * 30 + 10 * 60 * TICK_HZ + 4 * worst_delay_ticks;
    let mut tick = 0;

    while tick < max_ticks && !peers.iter().all(|p| p.done) {
        let now = tick_time(tick);
        while let Some(d) = link.poll(now) {
            peers[d.to].receive(d.from, &d.payload, frames)?;
        }
        for peer in &mut peers {
            peer.tick(args.seed, frames)?;
        }
        for peer in &peers {
            let shared = peer.shared(players);
            for to in (0..players).filter(|&to| to != peer.slot) {
                link.send(now, peer.slot, to, peer.packet_for(to, &shared));
            }
        }
        check.run(&peers, frames);

        let slowest = peers.iter().map(|p| p.driver.session().current_frame()).min().unwrap_or(0);
        while next_progress <= slowest.min(frames) {
            let t = totals(&peers);
            let l = link.stats();
            writeln!(
                out,
                "frame {next_progress:>7} | rollbacks {:>6} | resimulated {:>7} | packets {:>7} sent {:>6} lost | stalls {:>5}",
                t.rollbacks, t.resimulated, l.sent, l.lost, t.stalls
            )?;
            next_progress = next_progress.saturating_add(PROGRESS_EVERY);
        }
        tick += 1;
    }

    report(out, &peers, &check, &link, args, tick)
}

/// Prints the per-peer table and the agreement line; fails unless every peer agrees.
fn report(
    out: &mut impl Write,
    peers: &[Peer],
    check: &CrossCheck,
    link: &Link<Packet>,
    args: &DemoArgs,
    ticks: u64,
) -> Result<(), DemoError> {
    writeln!(out)?;
    writeln!(out, "peer   frames  rollbacks  max rollback  resimulated  stalls  checksums checked  desyncs")?;
    for p in peers {
        let s = p.driver.session().stats();
        writeln!(
            out,
            "{:>4}  {:>7}  {:>9}  {:>12}  {:>11}  {:>6}  {:>17}  {:>7}",
            p.slot,
            p.driver.session().current_frame(),
            s.rollbacks,
            s.max_rollback,
            s.frames_resimulated,
            s.stalls,
            s.checksums_compared,
            s.desyncs
        )?;
    }
    let l = link.stats();
    let lost_pct = if l.sent == 0 { 0.0 } else { l.lost as f64 * 100.0 / l.sent as f64 };
    writeln!(
        out,
        "{} ticks ({:.1} s virtual), packets {} sent, {} lost ({lost_pct:.1}%), {} in flight at the end",
        ticks,
        ticks as f64 / TICK_HZ as f64,
        l.sent,
        l.lost,
        link.in_flight()
    )?;

    let mut failures = Vec::new();
    let n = peers.len();
    let common = peers.iter().map(|p| p.driver.session().checksummed_until()).min().unwrap_or(0).min(args.frames);
    match common.checked_sub(1) {
        None => {
            writeln!(out, "checksums: no frame is final on every peer")?;
            failures.push("no checksum to compare".to_string());
        }
        Some(frame) => {
            // Group the peers' checksums and report the largest group.
            let sums: Vec<Option<u64>> = peers.iter().map(|p| p.driver.session().checksum(frame)).collect();
            let (value, agree) = sums
                .iter()
                .map(|s| (*s, sums.iter().filter(|t| *t == s).count()))
                .max_by_key(|&(_, count)| count)
                .unwrap_or((None, 0));
            let verdict = if agree == n && value.is_some() { "agree" } else { "DISAGREE" };
            let value = value.map_or_else(|| "none".to_string(), |v| format!("{v:#018x}"));
            writeln!(out, "checksums {verdict}: {agree}/{n} peers at frame {frame} = {value}")?;
            if verdict != "agree" {
                failures.push(format!("checksums disagree at frame {frame}: {agree}/{n} peers agree"));
            }
        }
    }
    let remote: u64 = peers.iter().map(|p| p.driver.session().stats().checksums_compared).sum();
    let skipped: u64 = peers.iter().map(|p| p.checksums_skipped).sum();
    writeln!(
        out,
        "compared across peers: {} frames on all {n} peers; sessions compared {remote} remote checksums ({skipped} skipped)",
        check.compared
    )?;

    if let Some(f) = check.first_mismatch {
        failures.push(format!("peers' checksums first differ at frame {f}"));
    }
    for p in peers {
        if let Some(Event::Desync { frame, slot, local, remote }) = p.first_desync {
            failures.push(format!(
                "peer {} detected a desync with peer {slot} at frame {frame} (local {local:#018x}, remote {remote:#018x})",
                p.slot
            ));
        }
    }
    let desyncs: u64 = peers.iter().map(|p| p.driver.session().stats().desyncs).sum();
    if desyncs > 0 && peers.iter().all(|p| p.first_desync.is_none()) {
        failures.push(format!("sessions counted {desyncs} desyncs"));
    }
    if !peers.iter().all(|p| p.done) {
        let behind: Vec<String> = peers
            .iter()
            .filter(|p| !p.done)
            .map(|p| format!("peer {} at frame {}", p.slot, p.driver.session().current_frame()))
            .collect();
        failures.push(format!("did not finish within {ticks} ticks: {}", behind.join(", ")));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(DemoError::Failed(failures.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(players: u8, frames: u32, mode: ModeArg, loss: f64) -> DemoArgs {
        DemoArgs {
            players,
            frames,
            mode,
            max_prediction: 8,
            latency_ms: 80,
            jitter_ms: 20,
            loss,
            seed: 3,
            input_delay: 2,
        }
    }

    fn run_to_string(a: &DemoArgs) -> (Result<(), DemoError>, String) {
        let mut out = Vec::new();
        let r = run(a, &mut out);
        (r, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn deterministic_output() {
        let a = args(3, 300, ModeArg::Rollback, 0.1);
        let (r1, o1) = run_to_string(&a);
        let (r2, o2) = run_to_string(&a);
        assert!(r1.is_ok() && r2.is_ok(), "{o1}");
        assert_eq!(o1, o2);
        assert!(o1.contains("checksums agree: 3/3 peers at frame 299 = 0x"), "{o1}");
    }

    #[test]
    fn one_player_and_no_delay() {
        let mut a = args(1, 100, ModeArg::Rollback, 0.0);
        a.input_delay = 0;
        let (r, o) = run_to_string(&a);
        assert!(r.is_ok(), "{o}");
        assert!(o.contains("checksums agree: 1/1 peers at frame 99"), "{o}");
    }

    #[test]
    fn total_loss_ends_with_an_error() {
        let a = args(2, 60, ModeArg::Lockstep, 1.0);
        let (r, o) = run_to_string(&a);
        let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("did not finish"), "{msg}\n{o}");
    }

    #[test]
    fn loss_parser() {
        assert_eq!(parse_loss("0.25"), Ok(0.25));
        assert_eq!(parse_loss("1"), Ok(1.0));
        assert!(parse_loss("1.5").is_err());
        assert!(parse_loss("-0.1").is_err());
        assert!(parse_loss("NaN").is_err());
        assert!(parse_loss("lots").is_err());
    }
}
