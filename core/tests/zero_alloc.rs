//! Zero heap allocations per tick, proven with a counting global allocator: after a warm-up, adding
//! inputs, advancing (with rollbacks and resimulation), checksums, events and recording the input
//! log allocate nothing, over more than 10,000 frames of the reference simulation with 8 slots, in
//! every mode.
//!
//! This file is its own test binary with `framelock_testkit::Counting` as its global allocator: it
//! counts per thread and only while a test switched counting on.
use framelock_core::arena::{scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::replay::{LogHeader, LogWriter};
use framelock_core::testing::HashSim;
use framelock_core::{fulfil, Driver, Error, Event, Frame, Mode, Request, SessionBuilder};
use framelock_testkit::count;

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

/// Runs `run` for the warm-up frames, then for the rest while counting, and asserts that the
/// counted part allocated and reallocated nothing.
fn assert_allocation_free_after_warm_up(mut run: impl FnMut(u32) -> Result<(), Error>) {
    framelock_testkit::assert_counting();
    run(WARM_UP).expect("warm-up");
    let (allocs, reallocs, result) = count(|| run(FRAMES - WARM_UP));
    result.expect("run");
    assert_eq!((allocs, reallocs), (0, 0), "heap allocations / reallocations after warm-up");
}

const SLOTS: usize = 8;
const WARM_UP: u32 = 500;
const FRAMES: u32 = 10_500;
const SEED: u64 = 99;

fn params() -> ArenaParams {
    ArenaParams { players: SLOTS as u8, ..ArenaParams::default() }
}

fn builder(mode: Mode) -> SessionBuilder {
    let p = params();
    SessionBuilder::new(SLOTS)
        .max_input_size(INPUT_SIZE)
        .max_snapshot_size(snapshot_size_bound(&p))
        .frame_arena_size(scratch_size_bound(&p))
        .mode(mode)
}

/// SplitMix64 for arrival delays, fixed by seed.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Every remote input `(arrival tick, slot, frame)`, sorted by arrival, made before counting starts.
fn schedule(remote: core::ops::Range<usize>, max_delay: u64, skip: Option<(usize, Frame)>) -> Vec<(u64, usize, Frame)> {
    let mut v = Vec::new();
    for s in remote {
        for f in 0..FRAMES + 200 {
            if skip.is_some_and(|(ds, df)| s == ds && f >= df) {
                continue;
            }
            let delay = mix(u64::from(f) << 8 | s as u64) % (max_delay + 1);
            v.push((u64::from(f) + delay, s, f));
        }
    }
    v.sort_unstable();
    v
}

#[test]
fn rollback_with_delays_and_a_disconnect_allocates_nothing_per_tick() {
    const MAX_PREDICTION: u32 = 8;
    const LEAVER: (usize, Frame) = (5, 5_000);
    let reference = lockstep_checksums(FRAMES + 100, Some(LEAVER));
    let mut session = builder(Mode::Rollback { max_prediction: MAX_PREDICTION })
        .local_slot(0)
        .record_confirmed(true)
        .build()
        .expect("config");
    // The match is recorded as it goes: the log writer must not allocate per frame either.
    let mut header = LogHeader::new(SLOTS as u8, INPUT_SIZE as u16);
    header.checksum_interval = 30;
    header.keyframe_interval = 600;
    let mut log = LogWriter::new(std::io::sink(), header).expect("log header");
    let mut arena = Arena::new(params()).expect("params");
    let arrivals = schedule(1..SLOTS, u64::from(MAX_PREDICTION) + 2, Some(LEAVER));
    let mut next = 0;
    let mut disconnected = false;
    let mut rollback_lengths = [0u64; MAX_PREDICTION as usize + 1];
    let mut desync_events = 0;
    let mut corrupted = false;
    let mut tick = 0u64;
    assert_allocation_free_after_warm_up(|frames| {
        let end = session.current_frame() + frames;
        while session.current_frame() < end {
            tick += 1;
            while next < arrivals.len() && arrivals[next].0 <= tick {
                let (_, s, f) = arrivals[next];
                session.add_remote_input(s, f, &scripted_input(SEED, s, f))?;
                next += 1;
            }
            // The leaver's last input arrived: the others learn it left (its later inputs never come).
            if !disconnected
                && session.confirmed_until() >= LEAVER.1
                && session.waiting_for(LEAVER.1 - 1) >> LEAVER.0 & 1 == 0
            {
                session.disconnect_slot(LEAVER.0, LEAVER.1)?;
                disconnected = true;
            }
            let target = session.current_frame() + session.input_delay();
            session.add_local_input(0, &scripted_input(SEED, 0, target))?;
            let mut step = session.advance()?;
            if let Some(Request::LoadState { .. }) = step.requests().first() {
                let advances = step.requests().iter().filter(|r| matches!(r, Request::AdvanceFrame { .. })).count();
                let resimulated = advances - usize::from(!step.outcome().stalled());
                rollback_lengths[resimulated.min(rollback_lengths.len() - 1)] += 1;
            }
            fulfil(&mut step, &mut arena)?;
            drop(step);
            log.record_from(&mut session)?;
            // Checksums: slot 1 echoes ours once final (equal, except once); slot 2 sends the lockstep
            // reference's 8 frames before ours is final (it waits in the early queue).
            let until = session.checksummed_until();
            if until > 0 && until % 16 == 0 {
                let f = until - 1;
                let c = session.checksum(f).expect("final checksum");
                let corrupt = f >= 6_000 && !corrupted;
                corrupted |= corrupt;
                session.add_remote_checksum(1, f, c ^ u64::from(corrupt))?;
                session.add_remote_checksum(2, f + 8, reference[f as usize + 8])?;
            }
            while let Some(e) = session.poll_event() {
                if matches!(e, Event::Desync { .. }) {
                    desync_events += 1;
                }
            }
        }
        Ok(())
    });
    assert!(disconnected);
    let stats = session.stats();
    assert!(stats.rollbacks > 1_000, "{stats:?}");
    for (len, n) in rollback_lengths.iter().enumerate().skip(1).take(MAX_PREDICTION as usize) {
        assert!(*n > 0, "no rollback of {len} frames: {rollback_lengths:?}");
    }
    assert!(stats.stalls > 0, "the prediction limit was reached: {stats:?}");
    assert_eq!(desync_events, 1, "only the one wrong checksum");
    assert!(stats.checksums_compared > 1_000, "{stats:?}");
    assert!(log.next_frame() > FRAMES - 20, "the log kept up: {}", log.next_frame());
}

/// The checksum of every frame of the scripted match, from a lockstep session (not counted).
fn lockstep_checksums(frames: u32, leaver: Option<(usize, Frame)>) -> Vec<u64> {
    let mut d = Driver::new(builder(Mode::Lockstep).build().expect("config"), Arena::new(params()).expect("params"));
    if let Some((s, f)) = leaver {
        d.session_mut().disconnect_slot(s, f).expect("disconnect");
    }
    let mut out = Vec::with_capacity(frames as usize);
    for f in 0..=frames {
        for s in 0..SLOTS {
            if !leaver.is_some_and(|(ls, lf)| s == ls && f >= lf) {
                d.session_mut().add_remote_input(s, f, &scripted_input(SEED, s, f)).expect("input");
            }
        }
        assert!(!d.advance().expect("advance").stalled());
        if f > 0 {
            out.push(d.session().checksum(f - 1).expect("checksum"));
        }
    }
    out
}

#[test]
fn lockstep_with_delays_allocates_nothing_per_tick() {
    let mut d = Driver::new(
        builder(Mode::Lockstep).local_slot(0).build().expect("config"),
        Arena::new(params()).expect("params"),
    );
    let arrivals = schedule(1..SLOTS, 6, None);
    let mut next = 0;
    let mut tick = 0u64;
    assert_allocation_free_after_warm_up(|frames| {
        let end = d.session().current_frame() + frames;
        while d.session().current_frame() < end {
            tick += 1;
            while next < arrivals.len() && arrivals[next].0 <= tick {
                let (_, s, f) = arrivals[next];
                d.session_mut().add_remote_input(s, f, &scripted_input(SEED, s, f))?;
                next += 1;
            }
            let target = d.session().current_frame() + d.session().input_delay();
            d.session_mut().add_local_input(0, &scripted_input(SEED, 0, target))?;
            d.advance()?;
        }
        Ok(())
    });
    assert!(d.session().stats().stalls > 0, "lockstep waited for late inputs");
}

#[test]
fn sync_test_allocates_nothing_per_tick() {
    let mut d = Driver::new(
        builder(Mode::SyncTest { check_distance: 8 }).local_slots((1 << SLOTS) - 1).build().expect("config"),
        Arena::new(params()).expect("params"),
    );
    assert_allocation_free_after_warm_up(|frames| {
        for _ in 0..frames {
            let f = d.session().current_frame();
            for s in 0..SLOTS {
                d.session_mut().add_local_input(s, &scripted_input(SEED, s, f))?;
            }
            d.advance()?;
        }
        Ok(())
    });
    let stats = d.session().stats();
    assert_eq!(stats.desyncs, 0, "the reference simulation is deterministic");
    assert_eq!(stats.frames_resimulated, 8 * (u64::from(FRAMES) - 8) + (1..8).sum::<u64>());
}

/// A 4 KiB state saved in one write: a final frame's save is hashed as it is copied in
/// (framelock-hash), into the preallocated snapshot buffer.
#[test]
fn large_saves_hashed_while_copied_allocate_nothing_per_tick() {
    let sim = HashSim::new(4096);
    let session = SessionBuilder::new(2)
        .local_slot(0)
        .max_input_size(4)
        .max_snapshot_size(sim.snapshot_size())
        .mode(Mode::Rollback { max_prediction: 4 })
        .build()
        .expect("config");
    let mut d = Driver::new(session, sim);
    let mut next = 0u32;
    assert_allocation_free_after_warm_up(|frames| {
        for _ in 0..frames {
            let f = d.session().current_frame();
            d.session_mut().add_local_input(0, &f.to_le_bytes())?;
            // Slot 1's inputs arrive 2 frames late and change every frame: a rollback each tick.
            while next + 2 <= f {
                d.session_mut().add_remote_input(1, next, &(next * 7).to_le_bytes())?;
                next += 1;
            }
            d.advance()?;
        }
        Ok(())
    });
    let s = d.session();
    assert!(s.stats().rollbacks > 9_000, "{} rollbacks", s.stats().rollbacks);
    let f = s.checksummed_until() - 1;
    let snapshot = s.final_snapshot(f).expect("the last final snapshot is held");
    assert_eq!(s.checksum(f), Some(framelock_core::checksum64(snapshot)));
}

#[test]
fn the_counter_sees_allocations_and_reallocations() {
    let (allocs, reallocs, v) = count(|| {
        let mut v: Vec<u8> = Vec::with_capacity(1);
        v.extend_from_slice(&[1, 2, 3]);
        v
    });
    assert_eq!((allocs, reallocs, v.len()), (1, 1, 3));
}
