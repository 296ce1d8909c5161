// The body of the `keyframe_load` fuzz target, shared with `core/tests/fuzz_corpus.rs`: untrusted
// snapshot bytes as the reference simulation loads them, directly and as a log's keyframe that a
// replay seeks from and verifies.

#![allow(dead_code)]

use framelock_core::arena::{self, scratch_size_bound, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::replay::{LogHeader, LogReader, LogWriter, LoggedInput, Replay};
use framelock_core::{Driver, SessionBuilder, Simulation};

/// The first byte picks small params (a fuzzer cannot learn a 16-byte encoding quickly, and large
/// worlds make executions slow; 255: the golden logs' params); the rest is the snapshot.
pub fn run(data: &[u8]) {
    let Some((&pick, snapshot)) = data.split_first() else { return };
    let params = if pick == 255 {
        // The params of the committed golden logs, whose keyframes seed the corpus.
        ArenaParams { players: 4, seed: 3, ..ArenaParams::default() }
    } else {
        ArenaParams {
            players: 1 + pick % 4,
            max_projectiles: u16::from(pick >> 2 & 7) * 4,
            seed: u64::from(pick),
            ..ArenaParams::default()
        }
    };
    let Ok(mut sim) = Arena::new(params) else { return };
    if sim.load(snapshot).is_ok() {
        let frame = sim.frame();
        // A loaded state must simulate: run it a few frames through a session from its frame.
        if let Ok(session) = SessionBuilder::new(usize::from(params.players))
            .max_input_size(INPUT_SIZE)
            .max_snapshot_size(snapshot_size_bound(&params))
            .frame_arena_size(scratch_size_bound(&params))
            .start_frame(frame)
            .build()
        {
            let mut d = Driver::new(session, sim);
            for f in frame..frame.saturating_add(3) {
                for s in 0..usize::from(params.players) {
                    let _ = d.session_mut().add_remote_input(s, f, &[f as u8 & 0x1f, 0]);
                }
                if d.advance().is_err() {
                    break;
                }
            }
        }
    }
    // The same bytes as the keyframe of a log: seeking loads it, verifying checks it.
    let mut h = LogHeader::new(params.players, INPUT_SIZE as u16);
    h.simulation = arena::SIMULATION_ID.into();
    h.sim_params = arena::encode_params(&params);
    h.checksum_interval = 1;
    let Ok(mut w) = LogWriter::new(Vec::new(), h) else { return };
    let inputs = vec![LoggedInput::confirmed(&[0, 0]); usize::from(params.players)];
    if w.record_keyframe(0, snapshot).is_err() {
        return;
    }
    for f in 0..4 {
        if w.record_inputs(f, &inputs).is_err() || w.record_checksum(f, u64::from(f)).is_err() {
            return;
        }
    }
    let Ok(bytes) = w.finish() else { return };
    let Ok(log) = LogReader::parse(&bytes) else { return };
    let replay =
        Replay::new(&log).max_snapshot_size(snapshot_size_bound(&params)).frame_arena_size(scratch_size_bound(&params));
    if let Ok(mut sim) = Arena::new(params) {
        let _ = replay.seek(&mut sim, 3);
    }
    if let Ok(mut sim) = Arena::new(params) {
        let _ = replay.verify(&mut sim, &mut |_| {});
    }
}
