//! Golden checksums of the reference simulation: a fixed seed and a fixed input script must give the
//! committed checksums at frames 1,000 and 10,000, in every mode. A change to the simulation, the
//! snapshot layout or the checksum function shows up here; changing the committed values is a
//! deliberate act (run with `FRAMELOCK_BLESS=1` and say why in the commit).

use framelock_core::arena::{scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::{Driver, Mode, SessionBuilder};

const GOLDEN: &str = include_str!("../../tests/data/arena-golden.txt");
const GOLDEN_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/arena-golden.txt");

struct Case {
    players: u8,
    projectiles: u16,
    seed: u64,
}

const CASES: [Case; 2] =
    [Case { players: 8, projectiles: 1024, seed: 7 }, Case { players: 64, projectiles: 4096, seed: 11 }];
const FRAMES: [u32; 2] = [1_000, 10_000];

fn key(c: &Case, frame: u32) -> String {
    format!("arena players={} projectiles={} seed={} frame={}", c.players, c.projectiles, c.seed, frame)
}

/// Runs a case in `mode` with every slot local, returning the checksums at `FRAMES`.
fn run(c: &Case, mode: Mode) -> Vec<u64> {
    let params =
        ArenaParams { players: c.players, max_projectiles: c.projectiles, seed: c.seed, ..ArenaParams::default() };
    let slots = usize::from(c.players);
    let session = SessionBuilder::new(slots)
        .local_slots(u64::MAX >> (64 - slots))
        .max_input_size(INPUT_SIZE)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params))
        .mode(mode)
        .build()
        .expect("config");
    let mut d = Driver::new(session, Arena::new(params).expect("params"));
    let mut out = Vec::new();
    for f in 0..=FRAMES[FRAMES.len() - 1] {
        for s in 0..slots {
            d.session_mut().add_local_input(s, &scripted_input(c.seed, s, f)).expect("input");
        }
        d.advance().expect("advance");
        if FRAMES.contains(&f) {
            out.push(d.session().checksum(f).expect("frame f is final once simulated"));
        }
    }
    assert_eq!(d.session().stats().desyncs, 0);
    out
}

fn committed(k: &str) -> Option<u64> {
    GOLDEN.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(" checksum=0x")?;
        (name == k).then(|| u64::from_str_radix(value.trim(), 16).ok()).flatten()
    })
}

#[test]
fn reference_simulation_matches_committed_checksums() {
    let mut lines = Vec::new();
    let mut wrong = Vec::new();
    for c in &CASES {
        let got = run(c, Mode::Lockstep);
        for (&frame, &checksum) in FRAMES.iter().zip(&got) {
            let k = key(c, frame);
            if committed(&k) != Some(checksum) {
                wrong.push(format!("{k}: committed {:x?}, computed {checksum:#018x}", committed(&k)));
            }
            lines.push(format!("{k} checksum={checksum:#018x}"));
        }
    }
    if std::env::var_os("FRAMELOCK_BLESS").is_some() {
        std::fs::write(GOLDEN_PATH, lines.join("\n") + "\n").expect("write golden file");
        return;
    }
    assert!(wrong.is_empty(), "golden checksums differ (FRAMELOCK_BLESS=1 rewrites them):\n{}", wrong.join("\n"));
}

#[test]
fn rollback_and_sync_test_sessions_reach_the_same_checksums() {
    let c = &CASES[0];
    let lockstep = run(c, Mode::Lockstep);
    assert_eq!(run(c, Mode::SyncTest { check_distance: 6 }), lockstep);
    assert_eq!(run(c, Mode::Rollback { max_prediction: 8 }), lockstep);
}
