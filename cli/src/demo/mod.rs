//! `framelock demo`: a whole room of peers in one process, on a virtual clock.
//!
//! Each peer owns one [`Session`](framelock_core::Session) (its own slot is local, every other slot
//! remote) driving its own copy of the reference simulation
//! [`Arena`](framelock_core::arena::Arena). Bots play by
//! [`scripted_input`](framelock_core::arena::scripted_input), and the peers exchange inputs and
//! checksums over the seeded lossy [`Link`]. Nothing reads the wall clock or sleeps: a tick is
//! 1/60 s of virtual time, so a run is as fast as the CPU allows and its output is the same on
//! every run with the same options (the input log of `--record` holds its creation time).
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
//!
//! With `--record FILE`, peer 0's session also writes every confirmed frame to an input log (see
//! [`crate::record`]) that `framelock replay verify FILE` replays.

mod net;
mod p2p;
mod peer;
mod report;

use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use framelock_core::arena::ArenaParams;
use framelock_core::{Frame, Mode, SimError, Slot, MAX_INPUT_DELAY, MAX_ROLLBACK};

use crate::link::{Link, LinkConfig, Micros};
use crate::record::{self, RecordError, Recorder};
use peer::{Packet, Peer};
use report::{report, totals, CrossCheck};

/// Ticks per second of the virtual clock.
pub const TICK_HZ: u64 = 60;
/// A progress line is printed each time the slowest peer passes a multiple of this.
const PROGRESS_EVERY: Frame = 600;

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
    /// Frames every peer simulates (default: 1,200 over the network — 10 s at 120 Hz — and 3,600
    /// in process).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub frames: Option<u32>,
    /// How sessions advance (in process; the network bots play rollback).
    #[arg(long, value_enum, default_value_t = ModeArg::Rollback)]
    pub mode: ModeArg,
    /// Rollback, in process: frames a peer may run ahead of its confirmed inputs.
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
    /// In process: frames between reading a local input and the frame it is for (the network bots
    /// adjust theirs to the relay's time sync).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_INPUT_DELAY)))]
    pub input_delay: u32,
    /// Record peer 0's confirmed inputs (with a checksum every 60 frames and a keyframe every 600)
    /// to this input log; check it with `framelock replay verify FILE`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Run every peer in this process on a virtual clock over a simulated lossy link (fast and
    /// deterministic) instead of the default: a relay (`framelock serve`) and one bot (`framelock
    /// bot`) per player over real UDP sockets on loopback, in real time, through the link conditioner
    /// (--latency-ms, --jitter-ms, --loss), the relay recording the room.
    #[arg(long)]
    pub in_process: bool,
    /// Peer to peer, no relay: two `framelock p2p` players and a spectator over loopback in real
    /// time through the link conditioner (--players is ignored).
    #[arg(long, conflicts_with = "in_process")]
    pub p2p: bool,
    /// Over the network: the room's frames per second (the match takes frames / tick rate seconds).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u16).range(1..=120))]
    pub tick_rate: u16,
}

impl DemoArgs {
    /// The frames to play: `--frames`, or the mode's default.
    pub fn frames(&self) -> u32 {
        self.frames.unwrap_or(if self.in_process { 3_600 } else { 1_200 })
    }
}

/// The arena every peer plays.
fn arena_params(args: &DemoArgs) -> ArenaParams {
    ArenaParams { players: args.players, seed: args.seed, ..ArenaParams::default() }
}

/// How every peer's session advances.
fn session_mode(args: &DemoArgs) -> Mode {
    match args.mode {
        ModeArg::Rollback => Mode::Rollback { max_prediction: args.max_prediction },
        ModeArg::Lockstep => Mode::Lockstep,
    }
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
    /// Recording the input log failed.
    Record(RecordError),
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
            DemoError::Record(e) => write!(f, "{e}"),
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

impl From<RecordError> for DemoError {
    fn from(e: RecordError) -> Self {
        DemoError::Record(e)
    }
}

/// The virtual time at the start of `tick`.
fn tick_time(tick: u64) -> Micros {
    tick * 1_000_000 / TICK_HZ
}

/// Runs the demo, writing the report to `out`. Returns an error when the peers disagree, a
/// session reported a desync, or the run did not finish within its tick limit.
pub fn run(args: &DemoArgs, out: &mut impl Write) -> Result<(), DemoError> {
    if args.p2p {
        return p2p::run(args, out);
    }
    if !args.in_process {
        return net::run(args, out);
    }
    let players = usize::from(args.players);
    let frames = args.frames();
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

    let mut peers = (0..players)
        .map(|slot| Peer::new(slot, args, latency_ticks, slot == 0 && args.record.is_some()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut recorder = match &args.record {
        Some(path) => {
            Some(Recorder::create(path, record::arena_header(&arena_params(args), session_mode(args)), frames)?)
        }
        None => None,
    };
    // The link's randomness is seeded apart from the bots' so the two streams do not correlate.
    let mut link: Link<Packet> = Link::new(LinkConfig { latency, jitter, loss: args.loss }, args.seed ^ 0x6c69_6e6b);
    let mut check = CrossCheck::default();
    let mut next_progress = PROGRESS_EVERY;
    // Generous: heavy loss slows lockstep a lot; the limit only guarantees the run ends.
    let max_ticks = u64::from(frames) * 30 + 10 * 60 * TICK_HZ + 4 * worst_delay_ticks;
    let mut tick = 0;

    // A recording also waits for the recorder to have every frame: peer 0 may finish before the
    // other peers' inputs for its last frames have reached it.
    while tick < max_ticks && !(peers.iter().all(|p| p.done) && recorder.as_ref().is_none_or(Recorder::complete)) {
        let now = tick_time(tick);
        while let Some(d) = link.poll(now) {
            peers[d.to].receive(d.from, &d.payload, frames)?;
        }
        for peer in &mut peers {
            peer.tick(args.seed, frames)?;
        }
        if let (Some(recorder), Some(peer)) = (&mut recorder, peers.first_mut()) {
            recorder.record(peer.driver.session_mut())?;
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

    let recording = recorder.map(Recorder::finish).transpose()?;
    let verdict = report(out, &peers, &check, &link, args, tick);
    if let Some(r) = recording {
        let per_frame = if r.frames == 0 { 0.0 } else { r.bytes as f64 / f64::from(r.frames) };
        writeln!(
            out,
            "recorded {}: {} frames, {} bytes ({per_frame:.1} bytes/frame)",
            r.path.display(),
            r.frames,
            r.bytes
        )?;
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(players: u8, frames: u32, mode: ModeArg, loss: f64) -> DemoArgs {
        DemoArgs {
            players,
            frames: Some(frames),
            mode,
            max_prediction: 8,
            latency_ms: 80,
            jitter_ms: 20,
            loss,
            seed: 3,
            input_delay: 2,
            record: None,
            in_process: true,
            p2p: false,
            tick_rate: 120,
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
