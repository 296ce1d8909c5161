//! Input log throughput: writing and verifying a 1,000,000-frame, 8-slot log, its size, and the
//! share of verification time the format costs with the reference simulation.
//!
//! `cargo bench -p framelock-core --bench replay` prints the table recorded in docs/BENCHMARKS.md.
//! Run as a test (`cargo test --benches`) it checks the same code on 10,000 frames.

use std::hint::black_box;
use std::time::{Duration, Instant};

use framelock_core::arena::{scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::replay::{LogHeader, LogReader, LogStream, LogWriter, LoggedInput, Replay};
use framelock_core::testing::HashSim;

const SLOTS: u8 = 8;

/// A log of `frames` frames; `unchanged` logs the same input forever, else the arena's scripted bots.
/// `first_checksum` is recorded as frame 0's checksum: a log must record one to be verified, and
/// one is enough for verifying to replay every frame, saving every 60th state and hashing it (see
/// [`frame0_checksum`]).
fn write_log(frames: u32, unchanged: bool, first_checksum: u64) -> (Vec<u8>, Duration) {
    let mut h = LogHeader::new(SLOTS, INPUT_SIZE as u16);
    h.simulation = "arena".into();
    h.checksum_interval = 60;
    let start = Instant::now();
    let mut w = LogWriter::new(Vec::with_capacity(frames as usize * 8), h).expect("header");
    let mut buf = [[0u8; INPUT_SIZE]; SLOTS as usize];
    for f in 0..frames {
        for (s, b) in buf.iter_mut().enumerate() {
            *b = if unchanged { [1, 2] } else { scripted_input(5, s, f) };
        }
        let inputs: [LoggedInput<'_>; SLOTS as usize] = core::array::from_fn(|s| LoggedInput::confirmed(&buf[s]));
        w.record_inputs(f, &inputs).expect("record");
        if f == 0 {
            w.record_checksum(0, first_checksum).expect("checksum");
        }
    }
    let bytes = w.finish().expect("finish");
    (bytes, start.elapsed())
}

/// The checksum of frame 0 that `verify` computes with `sim`, learnt from a log recording a wrong one.
/// `bounds`: the snapshot and frame-arena sizes the simulation needs, when not the defaults.
fn frame0_checksum(sim: &mut impl framelock_core::Simulation, bounds: Option<(usize, usize)>) -> u64 {
    let (bytes, _) = write_log(60, false, 0);
    let log = LogReader::parse(&bytes).expect("parse");
    let mut replay = Replay::new(&log);
    if let Some((snapshot, arena)) = bounds {
        replay = replay.max_snapshot_size(snapshot).frame_arena_size(arena);
    }
    match replay.verify(sim, &mut |_| {}) {
        Err(framelock_core::Error::ReplayDiverged { frame: 0, actual, .. }) => actual,
        Ok(_) => 0,
        Err(e) => panic!("probe log: {e}"),
    }
}

/// Decoding every frame: the format's whole cost in a replay.
fn decode_all(log: &LogReader<'_>) -> u64 {
    let mut c = log.cursor();
    let mut sum = 0u64;
    while let Some(f) = c.next_frame().expect("valid") {
        for i in f.inputs() {
            sum = sum.wrapping_add(u64::from(i.bytes.first().copied().unwrap_or(0)));
        }
    }
    sum
}

/// Validating a log streaming: `LogStream` over the bytes (a `BufRead`: each chunk is checked in
/// place, as from a `BufReader` that holds it whole), nothing kept.
fn stream_validate(bytes: &[u8]) -> u32 {
    let mut s = LogStream::from_buf_read(bytes).expect("header");
    s.validate().expect("valid");
    s.frames()
}

/// As [`stream_validate`] through a plain `io::Read` (each chunk copied out of it first).
fn stream_validate_copying(bytes: &[u8]) -> u32 {
    let mut s = LogStream::new(bytes).expect("header");
    s.validate().expect("valid");
    s.frames()
}

/// Decoding every frame streaming (each chunk validated, then its frames given out).
fn stream_decode_all(bytes: &[u8]) -> u64 {
    let mut s = LogStream::from_buf_read(bytes).expect("header");
    let mut sum = 0u64;
    while let Some(f) = s.next_frame().expect("valid") {
        for i in f.inputs() {
            sum = sum.wrapping_add(u64::from(i.bytes.first().copied().unwrap_or(0)));
        }
    }
    sum
}

fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let mut best = Duration::MAX;
    for _ in 0..reps {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        out = Some(v);
    }
    (best, out.expect("at least one repetition"))
}

fn main() {
    // `REPLAY_BENCH_ONLY=parse|stream|stream-copy|write` runs only that validation 50 times (or none;
    // `REPLAY_BENCH_REPS=n`: n times) on the full log, for `perf stat -e task-clock` (CPU time does not
    // depend on the machine's load). More repetitions make the variance of the log's writing, which
    // is subtracted, a smaller part of the figure.
    if let Ok(only) = std::env::var("REPLAY_BENCH_ONLY") {
        let reps: u64 = std::env::var("REPLAY_BENCH_REPS").ok().and_then(|r| r.parse().ok()).unwrap_or(50);
        let (bytes, _) = write_log(1_000_000, false, 0);
        let mut frames = 0u64;
        for _ in 0..reps {
            frames += u64::from(match only.as_str() {
                "stream" => stream_validate(black_box(&bytes)),
                "stream-copy" => stream_validate_copying(black_box(&bytes)),
                "write" => 0, // the cost of making the log, to subtract

                _ => LogReader::parse(black_box(&bytes)).expect("parse").frames(),
            });
        }
        println!("{only}: validated {frames} frames, {} bytes", reps * bytes.len() as u64);
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let (frames, reps) = if full { (1_000_000u32, 3) } else { (10_000, 1) };
    let mb = |bytes: usize| bytes as f64 / 1e6;
    let per_s = |n: f64, d: Duration| n / d.as_secs_f64();

    let c0 = frame0_checksum(&mut HashSim::new(0), None);
    let (write_time, (log_bytes, _)) = best(reps, || write_log(frames, false, c0));
    let (unchanged, _) = write_log(frames, true, c0);
    let log = LogReader::parse(&log_bytes).expect("parse");
    let (parse_time, _) = best(reps, || LogReader::parse(black_box(&log_bytes)).expect("parse").frames());
    let (decode_time, _) = best(reps, || decode_all(black_box(&log)));
    let (stream_parse_time, _) = best(reps, || stream_validate(black_box(&log_bytes)));
    let (stream_decode_time, _) = best(reps, || stream_decode_all(black_box(&log_bytes)));
    let (verify_trivial_stream, _) = best(reps, || {
        let mut sim = HashSim::new(0);
        let mut s = LogStream::from_buf_read(black_box(&log_bytes[..])).expect("header");
        s.replay().verify(&mut sim, &mut |_| {}).expect("verifies")
    });
    let (verify_trivial, _) = best(reps, || {
        let mut sim = HashSim::new(0);
        Replay::new(&log).verify(&mut sim, &mut |_| {}).expect("verifies")
    });
    let params = ArenaParams { players: SLOTS, ..ArenaParams::default() };
    let arena_frames = if full { 200_000 } else { 2_000 };
    let arena_c0 = frame0_checksum(
        &mut Arena::new(params).expect("params"),
        Some((snapshot_size_bound(&params), scratch_size_bound(&params))),
    );
    let arena_log_bytes = write_log(arena_frames, false, arena_c0).0;
    let arena_log = LogReader::parse(&arena_log_bytes).expect("parse");
    let (verify_arena, _) = best(reps.min(2), || {
        let mut arena = Arena::new(params).expect("params");
        Replay::new(&arena_log)
            .max_snapshot_size(snapshot_size_bound(&params))
            .frame_arena_size(scratch_size_bound(&params))
            .verify(&mut arena, &mut |_| {})
            .expect("verifies")
    });
    let (decode_arena, _) = best(reps, || decode_all(black_box(&arena_log)));

    let slot_frames = f64::from(frames) * f64::from(SLOTS);
    let size = |name: &str, bytes: usize| {
        println!("  {name:<26}{:>10.2} MB   {:.3} bytes/slot-frame", mb(bytes), bytes as f64 / slot_frames);
    };
    let rate = |name: &str, d: Duration| {
        let (fps, mbps) = (per_s(f64::from(frames), d), mb(log_bytes.len()) / d.as_secs_f64());
        println!("  {name:<26}{fps:>10.0} frames/s  {mbps:>8.1} MB/s");
    };
    println!("input log, {frames} frames x {SLOTS} slots (scripted bots: inputs change every 3-12 frames)");
    size("size", log_bytes.len());
    size("size, inputs never change", unchanged.len());
    rate("write", write_time);
    rate("parse + validate", parse_time);
    rate("decode every frame", decode_time);
    rate("verify, trivial sim", verify_trivial);
    rate("stream: parse + validate", stream_parse_time);
    rate("stream: decode every frame", stream_decode_time);
    rate("stream: verify, trivial sim", verify_trivial_stream);
    println!("reference simulation, {arena_frames} frames x {SLOTS} players");
    println!("  verify                    {:>10.0} frames/s", per_s(f64::from(arena_frames), verify_arena));
    println!("  decode share of verify    {:>10.2} %", 100.0 * decode_arena.as_secs_f64() / verify_arena.as_secs_f64());
}
