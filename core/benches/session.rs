//! `cargo bench -p framelock-core --bench session`
//!
//! Frames per second and heap allocations per frame of framelock sessions, side by side with GGRS
//! 0.13 on the same trivial state and the same rollback pattern. Criterion measures every case
//! (per-tick time, statistically); then a timed loop per case (best of 7 repetitions, after a
//! warm-up) and a separate 10,000-tick run under a counting global allocator produce the summary
//! table printed at the end. See docs/BENCHMARKS.md.
//!
//! Cases (framelock: 2 slots, 4-byte inputs, `testing::HashSim`; GGRS: `u32` inputs, the same
//! state and hash):
//! - lockstep: session overhead alone (framelock lockstep saves and checksums every frame);
//!   GGRS: two P2P sessions in lockstep mode (prediction window 0, input delay 1) over an
//!   in-memory socket;
//! - rollback, 8 frames every frame: the remote input for `frame - 8` arrives each tick and always
//!   differs from the prediction; GGRS: two P2P sessions whose messages take 8 ticks;
//! - sync test, check distance 8, on both;
//! - save + load of a 64 KiB state through a session, against two plain 64 KiB `copy_from_slice`;
//! - the reference simulation (`arena`) in lockstep at 8 and 64 players.

// The counting allocator needs `unsafe impl GlobalAlloc` (the workspace denies unsafe code; the
// library itself keeps `#![forbid(unsafe_code)]`). It only forwards to `std::alloc::System`.
#![allow(unsafe_code)]

mod support;

use std::time::Duration;

use criterion::{Criterion, Throughput};
use fl::CHECK_DISTANCE;
use support::{framelock_cases as fl, ggrs_cases as gg, measure, measure_pair, Budget, Case, Figures};

#[global_allocator]
static ALLOC: support::alloc::Counting = support::alloc::Counting;

/// Runs one case under criterion: one iteration is one tick (`frames_per_tick` new frames).
fn bench_case<C: Case>(c: &mut Criterion, group: &str, name: &str, frames_per_tick: u64, mut case: C) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(frames_per_tick));
    g.bench_function(name, |b| b.iter(|| case.tick()));
    g.finish();
}

fn criterion_benches(c: &mut Criterion) {
    bench_case(c, "lockstep", "framelock", 1, fl::Lockstep::new());
    bench_case(c, "lockstep", "ggrs_p2p", 2, gg::P2P::lockstep());
    bench_case(c, "rollback8", "framelock", 1, fl::Rollback::trivial());
    bench_case(c, "rollback8", "ggrs_p2p", 2, gg::P2P::rollback());
    bench_case(c, "synctest8", "framelock", 1, fl::SyncTest::new());
    bench_case(c, "synctest8", "ggrs", 1, gg::SyncTest::new());
    bench_case(c, "save_load_64k", "framelock_hashsim", 1, fl::save_load_hashsim());
    bench_case(c, "save_load_64k", "framelock_own_checksum", 1, fl::save_load_blob());
    bench_case(c, "save_load_64k", "memcpy", 1, fl::Memcpy::new());
    bench_case(c, "arena", "players_8", 1, fl::ArenaLockstep::new(8));
    bench_case(c, "arena", "players_64", 1, fl::ArenaLockstep::new(64));
}

fn fps(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn allocs(f: &Figures) -> String {
    format!("{:.3}", f.allocs_per_frame)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    // `cargo bench` passes `--bench`; `cargo test --benches` (or `-- --test`) only checks that it runs.
    let bench_mode = has("--bench") && !has("--test");
    let budget = if bench_mode { Budget::FULL } else { Budget::QUICK };

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .without_plots()
        .configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    if has("--list") || args.iter().any(|a| a.starts_with("--profile-time")) {
        return;
    }

    // The side-by-side summary: every case measured again in this process with its own timed loop.
    eprintln!("measuring the summary table ...");
    let m = |name: &str, f: Figures| {
        eprintln!("  {name}: {} frames/s, {} allocs/frame", fps(f.frames_per_s), allocs(&f));
        f
    };
    let pair =
        |name: &str, (f, g): (Figures, Figures)| (m(&format!("framelock {name}"), f), m(&format!("GGRS {name}"), g));
    let (fl_lock, gg_lock) = pair("lockstep", measure_pair(fl::Lockstep::new(), gg::P2P::lockstep(), budget));
    let (fl_roll, gg_roll) = pair("rollback8", measure_pair(fl::Rollback::trivial(), gg::P2P::rollback(), budget));
    let (fl_sync, gg_sync) = pair("synctest8", measure_pair(fl::SyncTest::new(), gg::SyncTest::new(), budget));
    // The state's own share of a sync-test frame: 9 advances on both sides; framelock checksums 9
    // saved snapshots, the GGRS fulfilment 8 (GGRS asks for 8 saves per frame).
    let (work_fl, work_gg) = measure_pair(
        gg::StateWork::new(CHECK_DISTANCE + 1, CHECK_DISTANCE + 1),
        gg::StateWork::new(CHECK_DISTANCE + 1, CHECK_DISTANCE),
        budget,
    );
    let work_fl = m("state work of a framelock sync-test frame (no session)", work_fl);
    let work_gg = m("state work of a GGRS sync-test frame (no session)", work_gg);
    let (fl_big, memcpy) = measure_pair(fl::save_load_hashsim(), fl::Memcpy::new(), budget);
    let fl_big = m("framelock save+load 64 KiB (HashSim)", fl_big);
    let (fl_blob, memcpy2) = measure_pair(fl::save_load_blob(), fl::Memcpy::new(), budget);
    let fl_blob = m("framelock save+load 64 KiB (own checksum)", fl_blob);
    let memcpy = m("memcpy 2 x 64 KiB", if memcpy2.frames_per_s > memcpy.frames_per_s { memcpy2 } else { memcpy });
    let arena8 = m("arena 8 players", measure(fl::ArenaLockstep::new(8), budget));
    let arena64 = m("arena 64 players", measure(fl::ArenaLockstep::new(64), budget));

    println!();
    println!(
        "=== framelock vs GGRS 0.13 (same process; frames/s = new frames per second per session, best of {} reps) ===",
        budget.reps
    );
    println!(
        "{:<34} {:>14} {:>13} {:>10} | {:>14} {:>13} {:>10} | {:>7} | target",
        "case", "framelock f/s", "allocs/frame", "resim/f", "GGRS f/s", "allocs/frame", "resim/f", "ratio"
    );
    let rows = [
        ("lockstep, trivial state", &fl_lock, &gg_lock, "GGRS P2P lockstep"),
        ("rollback 8 frames every frame", &fl_roll, &gg_roll, "GGRS P2P, 8-tick socket"),
        ("sync test, check distance 8", &fl_sync, &gg_sync, "GGRS sync test"),
    ];
    for (name, f, g, _) in rows {
        let ratio = f.frames_per_s / g.frames_per_s;
        let met = ratio >= 5.0 && f.allocs_per_frame == 0.0;
        println!(
            "{:<34} {:>14} {:>13} {:>10.2} | {:>14} {:>13} {:>10.2} | {:>6.1}x | {}",
            name,
            fps(f.frames_per_s),
            allocs(f),
            f.resim_per_frame,
            fps(g.frames_per_s),
            allocs(g),
            g.resim_per_frame,
            ratio,
            if met { "met (>=5x, 0 allocs)" } else { "NOT met" }
        );
    }
    let ns = |f: &Figures| 1e9 / f.frames_per_s;
    let (wf, wg, fs, gs) = (ns(&work_fl), ns(&work_gg), ns(&fl_sync), ns(&gg_sync));
    println!(
        "sync test: the state's own work alone (no session) is {wf:.0} ns per frame for framelock's pattern \
         ({n} advances + {n} snapshot checksums) and {wg:.0} ns for GGRS's ({n} advances + {} checksums);",
        CHECK_DISTANCE,
        n = CHECK_DISTANCE + 1
    );
    println!(
        "  framelock {fs:.0} ns/frame, GGRS {gs:.0} ns/frame; without the state's work: {:.0} ns vs {:.0} ns = {:.1}x",
        fs - wf,
        gs - wg,
        (gs - wg) / (fs - wf)
    );
    println!();
    println!("{:<44} {:>14} {:>13} {:>12}", "framelock only", "frames/s", "allocs/frame", "vs memcpy");
    let solo = [
        ("save+load 64 KiB, HashSim (core hashes it)", &fl_big),
        ("save+load 64 KiB, own checksum (no hash)", &fl_blob),
        ("plain memcpy 2 x 64 KiB (baseline)", &memcpy),
        ("reference simulation, 8 players, lockstep", &arena8),
        ("reference simulation, 64 players, lockstep", &arena64),
    ];
    for (i, (name, f)) in solo.iter().enumerate() {
        let vs = if i < 3 { format!("{:.2}x", f.frames_per_s / memcpy.frames_per_s) } else { String::new() };
        println!("{:<44} {:>14} {:>13} {:>12}", name, fps(f.frames_per_s), allocs(f), vs);
    }
    println!();
    println!("details (allocation runs):");
    let all = [
        ("framelock lockstep", &fl_lock),
        ("GGRS P2P lockstep", &gg_lock),
        ("framelock rollback8", &fl_roll),
        ("GGRS P2P rollback8", &gg_roll),
        ("framelock synctest8", &fl_sync),
        ("GGRS synctest8", &gg_sync),
        ("framelock 64 KiB HashSim", &fl_big),
        ("framelock 64 KiB own checksum", &fl_blob),
        ("memcpy", &memcpy),
        ("state work, framelock sync test", &work_fl),
        ("state work, GGRS sync test", &work_gg),
        ("arena 8", &arena8),
        ("arena 64", &arena64),
    ];
    for (name, f) in all {
        println!(
            "  {:<32} {} ticks / {} frames, {:.1} heap bytes/frame; {}",
            name, f.alloc_ticks, f.alloc_frames, f.bytes_per_frame, f.detail
        );
    }
}
