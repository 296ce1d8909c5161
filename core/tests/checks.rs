//! Sync test, desync detection, relay authority, input delay and the confirmed-frame tap.

mod support;

use std::cell::Cell;

use framelock_core::testing::HashSim;
use framelock_core::{
    Authority, Bump, Driver, Event, FrameInputs, InputStatus, Mode, Request, SessionBuilder, SimError, Simulation,
    SnapshotWriter,
};

/// A simulation that is deterministic until `breaks_at`, where it starts mixing in a value that is
/// not part of its saved state (like reading a global or a clock).
struct Leaky {
    inner: HashSim,
    breaks_at: u32,
    hidden: Cell<u64>,
}

impl Simulation for Leaky {
    fn advance(&mut self, inputs: FrameInputs<'_>, scratch: &Bump) -> Result<(), SimError> {
        self.inner.advance(inputs, scratch)?;
        if self.inner.frame >= self.breaks_at {
            self.hidden.set(self.hidden.get() + 1);
            self.inner.hash ^= self.hidden.get();
        }
        Ok(())
    }
    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        self.inner.save(out)
    }
    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        self.inner.load(snapshot)
    }
}

fn sync_test(check_distance: u32) -> framelock_core::Session {
    SessionBuilder::new(2)
        .local_slots(0b11)
        .max_input_size(2)
        .mode(Mode::SyncTest { check_distance })
        .build()
        .expect("valid")
}

#[test]
fn sync_test_of_a_deterministic_state_finds_nothing() {
    let mut d = Driver::new(sync_test(7), HashSim::new(100));
    for f in 0..2_000u32 {
        d.session_mut().add_local_input(0, &[f as u8]).expect("input");
        d.session_mut().add_local_input(1, &[(f / 3) as u8, 1]).expect("input");
        d.advance().expect("advance");
    }
    let stats = d.session().stats();
    assert_eq!(stats.desyncs, 0);
    assert_eq!(stats.frames_resimulated, 7 * (2_000 - 7) + (1..7).sum::<u64>());
    assert_eq!(d.session_mut().poll_event(), None);
    assert!(d.session().sync_test_evidence().is_none());
}

#[test]
fn sync_test_catches_a_non_deterministic_state_within_check_distance() {
    // Pad 0: a 12-byte snapshot, compared inline; pad 16: 28 bytes, compared as slices.
    for (check_distance, pad) in [1, 2, 5, 8].into_iter().flat_map(|d| [(d, 0), (d, 16)]) {
        let leaky = Leaky { inner: HashSim::new(pad), breaks_at: 50, hidden: Cell::new(0) };
        let mut d = Driver::new(sync_test(check_distance), leaky);
        let mut caught = None;
        for f in 0..200u32 {
            d.session_mut().add_local_input(0, &[f as u8]).expect("input");
            d.session_mut().add_local_input(1, &[]).expect("input");
            d.advance().expect("advance");
            if let Some(Event::SyncTestMismatch { frame, first, second }) = d.session_mut().poll_event() {
                assert_ne!(first, second);
                caught = Some((f, frame));
                break;
            }
        }
        let (at_tick, frame) = caught.expect("mismatch reported");
        assert!(frame >= 50, "the state first differs after frame 49 is simulated, got {frame}");
        assert!(at_tick <= 50 + check_distance, "caught at tick {at_tick} (distance {check_distance})");
        let ev = d.session().sync_test_evidence().expect("snapshots kept");
        assert_eq!(ev.frame, frame);
        assert_eq!(ev.first.len(), ev.second.len());
        assert_ne!(ev.first, ev.second, "the two snapshots differ");
        assert_eq!(ev.first[..4], ev.second[..4], "same frame counter");
    }
}

fn peer_pair() -> (Driver<HashSim>, Driver<HashSim>) {
    let a = SessionBuilder::new(2).local_slot(0).max_input_size(2).mode(Mode::Rollback { max_prediction: 8 });
    let b = SessionBuilder::new(2).local_slot(1).max_input_size(2).mode(Mode::Rollback { max_prediction: 8 });
    (Driver::new(a.build().expect("a"), HashSim::new(8)), Driver::new(b.build().expect("b"), HashSim::new(8)))
}

/// Two peers exchanging inputs with a 3-frame delay; returns both after `frames` ticks.
fn play(frames: u32, corrupt_b_at: Option<u32>) -> (Driver<HashSim>, Driver<HashSim>) {
    let (mut a, mut b) = peer_pair();
    let mut in_flight: Vec<(u32, usize, u32, Vec<u8>)> = Vec::new();
    for t in 0..frames {
        let ia = [(t / 4) as u8];
        let ib = [(t / 6) as u8, 7];
        let fa = a.session_mut().add_local_input(0, &ia).expect("a").expect("queued");
        let fb = b.session_mut().add_local_input(1, &ib).expect("b").expect("queued");
        in_flight.push((t + 3, 0, fa, ia.to_vec()));
        in_flight.push((t + 3, 1, fb, ib.to_vec()));
        for (_, slot, frame, bytes) in in_flight.iter().filter(|m| m.0 == t) {
            let to = if *slot == 0 { &mut b } else { &mut a };
            to.session_mut().add_remote_input(*slot, *frame, bytes).expect("deliver");
        }
        in_flight.retain(|m| m.0 > t);
        if corrupt_b_at == Some(t) {
            b.sim_mut().hash ^= 1; // a bug in b's simulation
        }
        a.advance().expect("a");
        b.advance().expect("b");
    }
    (a, b)
}

#[test]
fn peers_agree_and_a_divergence_is_reported_at_its_first_frame() {
    let (mut a, b) = play(300, None);
    let until = a.session().checksummed_until().min(b.session().checksummed_until());
    assert!(until > 280);
    for f in 0..until {
        let cb = b.session().checksum(f).expect("b");
        a.session_mut().add_remote_checksum(1, f, cb).expect("compare");
    }
    assert_eq!(a.session().stats().checksums_compared, u64::from(until));
    assert_eq!(a.session_mut().poll_event(), None);

    let (mut a, b) = play(300, Some(100));
    // Late checksums (sent long after the fact) are still compared, in any order.
    for f in (0..until).rev() {
        a.session_mut().add_remote_checksum(1, f, b.session().checksum(f).expect("b")).expect("compare");
    }
    let mut desyncs = Vec::new();
    while let Some(e) = a.session_mut().poll_event() {
        if let Event::Desync { frame, slot, local, remote } = e {
            assert_eq!(slot, 1);
            assert_ne!(local, remote);
            desyncs.push(frame);
        }
    }
    // b's state went wrong while simulating frame 100 (or the frame it was resimulating), so the
    // first state that differs is at most 101 frames in, and every later one differs too.
    let first = *desyncs.iter().min().expect("desync found");
    assert!((95..=101).contains(&first), "first divergent frame {first}");
    assert_eq!(desyncs.len() as u32, until - first);
}

#[test]
fn early_remote_checksums_wait_for_their_frame() {
    let (_, b) = play(200, None);
    let cs = b.session().checksum(150).expect("b");
    let (mut a2, _) = play(100, None);
    // a2 is only at frame 100: the checksum of 150 waits, then is compared when 150 is final.
    a2.session_mut().add_remote_checksum(1, 150, cs ^ 1).expect("queued");
    assert_eq!(a2.session().stats().checksums_compared, 0);
    for t in 100..200u32 {
        // Keep a2 going, fed the inputs b would have sent.
        a2.session_mut().add_local_input(0, &[(t / 4) as u8]).expect("a2");
        let fr = t.saturating_sub(3);
        if fr >= 97 {
            a2.session_mut().add_remote_input(1, fr, &[(fr / 6) as u8, 7]).expect("remote");
        }
        a2.advance().expect("a2");
    }
    assert_eq!(a2.session().stats().checksums_compared, 1);
    assert!(matches!(a2.session_mut().poll_event(), Some(Event::Desync { frame: 150, slot: 1, .. })));
}

#[test]
fn relay_proposals_predict_local_inputs_and_substitutes_are_flagged() {
    let s = SessionBuilder::new(2)
        .local_slot(0)
        .authority(Authority::Relay)
        .max_input_size(1)
        .mode(Mode::Rollback { max_prediction: 4 })
        .build()
        .expect("valid");
    let mut s = s;
    s.add_local_input(0, &[5]).expect("proposal");
    {
        let step = s.advance().expect("advance");
        let Request::AdvanceFrame { inputs, .. } = step.requests()[1] else { panic!("advance expected") };
        let mine = inputs.get(0).expect("slot 0");
        assert_eq!((mine.bytes, mine.status), (&[5u8][..], InputStatus::Predicted));
    }
    // The relay closed frame 0 with a substitute for slot 0 and slot 1's real input.
    s.add_substituted_input(0, 0, &[0]).expect("confirm");
    s.add_remote_input(1, 0, &[]).expect("confirm");
    s.add_local_input(0, &[6]).expect("proposal");
    let step = s.advance().expect("advance");
    let kinds: Vec<_> = step.requests().iter().map(|r| matches!(r, Request::LoadState { frame: 0 })).collect();
    assert!(kinds[0], "rolled back to frame 0");
    let Request::AdvanceFrame { inputs, .. } = step.requests()[1] else { panic!("advance expected") };
    let mine = inputs.get(0).expect("slot 0");
    assert_eq!((mine.bytes, mine.status), (&[0u8][..], InputStatus::Substituted));
    // Walked in order too (a frame whose inputs are all confirmed is read without per-slot checks).
    let seen: Vec<_> = inputs.iter().map(|p| (p.slot, p.bytes, p.status)).collect();
    assert_eq!(seen, [(0, &[0u8][..], InputStatus::Substituted), (1, &[][..], InputStatus::Confirmed)]);
}

#[test]
fn lockstep_waits_for_relay_confirmation_of_local_inputs() {
    let mut s = SessionBuilder::new(1).local_slot(0).authority(Authority::Relay).build().expect("valid");
    s.add_local_input(0, &[1]).expect("proposal");
    assert!(s.advance().expect("advance").outcome().stalled());
    s.add_remote_input(0, 0, &[1]).expect("confirmed by the relay");
    assert!(!s.advance().expect("advance").outcome().stalled());
}

#[test]
fn raising_the_delay_repeats_the_last_input_and_lowering_it_drops_inputs() {
    let mut d = Driver::new(
        SessionBuilder::new(1).local_slot(0).record_confirmed(true).build().expect("valid"),
        HashSim::new(0),
    );
    assert_eq!(d.session_mut().add_local_input(0, &[1]), Ok(Some(0)));
    d.advance().expect("advance");
    d.session_mut().set_input_delay(3).expect("delay");
    assert_eq!(d.session_mut().add_local_input(0, &[2]), Ok(Some(4)));
    for _ in 0..3 {
        d.advance().expect("advance");
    }
    d.session_mut().set_input_delay(0).expect("delay");
    // Frames 1..=4 are queued already: the inputs for 4 (now) and the next ones are dropped until
    // the frames catch up with the queue.
    assert_eq!(d.session_mut().add_local_input(0, &[3]), Ok(None));
    d.advance().expect("advance");
    assert_eq!(d.session_mut().add_local_input(0, &[4]), Ok(Some(5)));
    d.advance().expect("advance");
    let mut seen = Vec::new();
    while let Some(inputs) = d.session_mut().poll_confirmed() {
        let p = inputs.get(0).expect("slot 0");
        seen.push((inputs.frame(), p.bytes.to_vec()));
    }
    let want: Vec<(u32, Vec<u8>)> =
        vec![(0, vec![1]), (1, vec![1]), (2, vec![1]), (3, vec![1]), (4, vec![2]), (5, vec![4])];
    assert_eq!(seen, want);
}

#[test]
fn lockstep_checksum_interval_saves_only_those_frames() {
    let mut d = Driver::new(
        SessionBuilder::new(1).local_slot(0).checksum_interval(10).build().expect("valid"),
        HashSim::new(0),
    );
    let mut saves = 0;
    for _ in 0..100 {
        d.session_mut().add_local_input(0, &[]).expect("input");
        let mut step = d.session_mut().advance().expect("advance");
        saves += step.requests().iter().filter(|r| matches!(r, Request::SaveState { .. })).count();
        framelock_core::fulfil(&mut step, &mut HashSim::new(0)).expect("fulfil");
    }
    assert_eq!(saves, 10);
    assert!(d.session().checksum(90).is_some());
    assert!(d.session().checksum(91).is_none());
}

#[test]
fn a_session_can_start_at_a_later_frame_from_a_loaded_state() {
    // Run 0..100 in one session, then continue from a snapshot of state 50 in a session starting at 50.
    let feed = |f: u32| [(f / 5) as u8];
    let mut whole = Driver::new(SessionBuilder::new(1).local_slot(0).build().expect("valid"), HashSim::new(4));
    let mut at_50 = None;
    for f in 0..100u32 {
        if f == 50 {
            at_50 = Some(whole.sim().clone());
        }
        whole.session_mut().add_local_input(0, &feed(f)).expect("input");
        whole.advance().expect("advance");
    }
    for mode in [Mode::Lockstep, Mode::Rollback { max_prediction: 4 }, Mode::SyncTest { check_distance: 3 }] {
        let s = SessionBuilder::new(1).local_slot(0).mode(mode).start_frame(50).build().expect("valid");
        let mut later = Driver::new(s, at_50.clone().expect("state 50"));
        assert_eq!(later.session().current_frame(), 50);
        for f in 50..100u32 {
            later.session_mut().add_local_input(0, &feed(f)).expect("input");
            later.advance().expect("advance");
        }
        assert_eq!(later.sim(), whole.sim(), "{mode:?}");
        assert_eq!(later.session().checksum(99), whole.session().checksum(99), "{mode:?}");
        assert_eq!(later.session().stats().desyncs, 0);
    }
}

#[test]
fn a_step_kept_in_the_session_matches_a_borrowed_step() {
    // The C and Python path (begin_step + step_* calls) against the Rust path (advance + Step).
    for mode in [Mode::Lockstep, Mode::Rollback { max_prediction: 6 }, Mode::SyncTest { check_distance: 4 }] {
        let build = || SessionBuilder::new(2).local_slots(0b01).max_input_size(2).mode(mode).build().expect("valid");
        let mut rust = Driver::new(build(), HashSim::new(3));
        let (mut session, mut sim) = (build(), HashSim::new(3));
        let mut by_hand = (build(), HashSim::new(3));
        let scratch = Bump::new();
        for t in 0..300u32 {
            let remote = t.checked_sub(3);
            for s in [&mut session, rust.session_mut(), &mut by_hand.0] {
                s.add_local_input(0, &[(t / 4) as u8]).expect("local");
                if let Some(r) = remote {
                    s.add_remote_input(1, r, &[(r / 7) as u8]).expect("remote");
                }
            }
            rust.advance().expect("rust");
            session.begin_step().expect("begin");
            session.fulfil_step(&mut sim).expect("fulfil");
            // By hand, as C does: request by request through the session.
            let (s, sim) = (&mut by_hand.0, &mut by_hand.1);
            s.begin_step().expect("begin");
            for i in 0..s.step_len() {
                match s.step_request(i).expect("request") {
                    Request::SaveState { frame } => sim.save(&mut s.step_save(frame).expect("save")).expect("save"),
                    Request::LoadState { frame } => {
                        let bytes = s.step_load(frame).expect("load").to_vec();
                        sim.load(&bytes).expect("load")
                    }
                    Request::AdvanceFrame { inputs, .. } => sim.advance(inputs, &scratch).expect("advance"),
                }
            }
            s.finish_step();
        }
        assert_eq!(&sim, rust.sim(), "{mode:?}");
        assert_eq!(&by_hand.1, rust.sim(), "{mode:?}");
        assert_eq!(session.checksum(290), rust.session().checksum(290), "{mode:?}");
        assert_eq!(by_hand.0.checksum(290), rust.session().checksum(290), "{mode:?}");
        assert_eq!(session.stats(), rust.session().stats());
    }
}

/// Knows every slot's future input: with it a rollback session never mispredicts.
struct Oracle;

impl framelock_core::Predictor for Oracle {
    fn predict(&self, slot: usize, frame: u32, _last: &[u8], out: &mut [u8]) -> usize {
        out[0] = oracle_input(slot, frame);
        1
    }
}

fn oracle_input(slot: usize, frame: u32) -> u8 {
    (frame / 3) as u8 ^ slot as u8
}

#[test]
fn the_predictor_is_pluggable() {
    let run = |oracle: bool| {
        let mut b = SessionBuilder::new(2).local_slot(0).max_input_size(1).mode(Mode::Rollback { max_prediction: 8 });
        if oracle {
            b = b.predictor(Oracle);
        }
        let mut d = Driver::new(b.build().expect("valid"), HashSim::new(0));
        for t in 0..200u32 {
            d.session_mut().add_local_input(0, &[oracle_input(0, t)]).expect("local");
            if let Some(r) = t.checked_sub(5) {
                d.session_mut().add_remote_input(1, r, &[oracle_input(1, r)]).expect("remote");
            }
            d.advance().expect("advance");
        }
        (d.session().stats().rollbacks, d.session().checksum(190))
    };
    let (repeat_last, a) = run(false);
    let (oracle, b) = run(true);
    assert!(repeat_last > 50, "{repeat_last}");
    assert_eq!(oracle, 0, "a perfect predictor never rolls back");
    assert_eq!(a, b, "the prediction never changes the result");
}

/// A state that supplies its own checksum, and allocates a configurable amount of frame arena.
struct Greedy {
    frame: u32,
    scratch_bytes: usize,
}

impl Simulation for Greedy {
    fn advance(&mut self, _inputs: FrameInputs<'_>, scratch: &Bump) -> Result<(), SimError> {
        scratch.try_alloc_slice_fill_copy(self.scratch_bytes, 0u8).map_err(|_| SimError::SCRATCH_EXHAUSTED)?;
        self.frame += 1;
        Ok(())
    }
    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        out.write_u32(self.frame)?;
        out.set_checksum(0xc0de_0000 + u64::from(self.frame));
        Ok(())
    }
    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        self.frame = framelock_core::SnapshotReader::new(snapshot).read_u32()?;
        Ok(())
    }
}

#[test]
fn own_checksums_are_used_and_the_frame_arena_is_capped() {
    let build = || SessionBuilder::new(1).local_slot(0).frame_arena_size(4096).build().expect("valid");
    let mut d = Driver::new(build(), Greedy { frame: 0, scratch_bytes: 3000 });
    for _ in 0..10 {
        d.session_mut().add_local_input(0, &[]).expect("input");
        d.advance().expect("3000 bytes fit a 4096-byte arena, every frame (it is reset)");
    }
    assert_eq!(d.session().checksum(7), Some(0xc0de_0007));
    d.sim_mut().scratch_bytes = 64 * 1024;
    d.session_mut().add_local_input(0, &[]).expect("input");
    match d.advance() {
        // The cap is the requested size rounded up to the allocator's chunk size.
        Err(framelock_core::Error::ArenaExhausted { arena: "scratch", cap }) => assert!((4096..16_384).contains(&cap)),
        other => panic!("expected the frame arena to run out, got {other:?}"),
    }
}
