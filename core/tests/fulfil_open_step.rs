//! `Session::fulfil_open_step` (what the C ABI's callbacks use) against the request list of the
//! same step: the same requests, in the same order, each told its frame; a failure names the
//! index `abort_step` takes.

use framelock_core::{Bump, Error, Frame, FrameInputs, Fulfil, Mode, Request, Session, SessionBuilder, SimError};
use framelock_core::{SnapshotReader, SnapshotWriter};

/// A state fulfilling requests told their frames, noting each as (kind, frame).
#[derive(Default)]
struct Noting {
    seen: Vec<(char, Frame)>,
    fail_at: Option<usize>,
    state: u64,
}

impl Noting {
    fn note(&mut self, kind: char, frame: Frame) -> Result<(), SimError> {
        self.seen.push((kind, frame));
        if self.fail_at == Some(self.seen.len() - 1) {
            return Err(SimError::new("asked to fail"));
        }
        Ok(())
    }
}

impl Fulfil for Noting {
    fn save(&mut self, frame: Frame, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        self.note('S', frame)?;
        out.write_u64(self.state)
    }
    fn load(&mut self, frame: Frame, snapshot: &[u8]) -> Result<(), SimError> {
        self.note('L', frame)?;
        self.state = SnapshotReader::new(snapshot).read_u64()?;
        Ok(())
    }
    fn advance(&mut self, inputs: FrameInputs<'_>, _scratch: &Bump) -> Result<(), SimError> {
        self.note('A', inputs.frame())?;
        for p in inputs.iter() {
            for &b in p.bytes {
                self.state = self.state.wrapping_mul(31).wrapping_add(u64::from(b));
            }
        }
        Ok(())
    }
}

fn listed(s: &Session) -> Vec<(char, Frame)> {
    (0..s.step_len())
        .filter_map(|i| s.step_request(i))
        .map(|r| match r {
            Request::SaveState { frame } => ('S', frame),
            Request::LoadState { frame } => ('L', frame),
            Request::AdvanceFrame { frame, .. } => ('A', frame),
        })
        .collect()
}

/// Two slots: slot 1 remote, except in a sync test (every slot local there).
fn session(mode: Mode) -> Session {
    let local = if matches!(mode, Mode::SyncTest { .. }) { 0b11 } else { 0b01 };
    SessionBuilder::new(2).local_slots(local).max_input_size(1).max_snapshot_size(8).mode(mode).build().expect("config")
}

/// This tick's inputs: the local ones now; a remote one 3 frames late (rollbacks), except in
/// lockstep, where it arrives for the current frame.
fn add_inputs(s: &mut Session, lockstep: bool) {
    let f = s.current_frame();
    s.add_local_input(0, &[f as u8]).expect("local");
    if s.local_slots() == 0b11 {
        s.add_local_input(1, &[(f * 7) as u8]).expect("local");
        return;
    }
    let r = if lockstep { Some(f) } else { f.checked_sub(3) };
    if let Some(r) = r {
        s.add_remote_input(1, r, &[(r * 7) as u8]).expect("remote");
    }
}

#[test]
fn the_same_requests_in_the_same_order_in_every_mode() {
    for mode in [Mode::Lockstep, Mode::Rollback { max_prediction: 8 }, Mode::SyncTest { check_distance: 3 }] {
        let mut s = session(mode);
        let mut n = Noting::default();
        let mut total = 0;
        for _ in 0..60 {
            add_inputs(&mut s, mode == Mode::Lockstep);
            s.begin_step().expect("plan");
            let want = listed(&s);
            n.seen.clear();
            s.fulfil_open_step(&mut n).expect("fulfil");
            assert_eq!(n.seen, want, "{mode:?} at frame {}", s.current_frame());
            total += want.len();
            s.finish_step();
        }
        assert!(total > 60, "{mode:?}: {total} requests");
        assert_eq!(s.poll_event(), None, "{mode:?}: deterministic, nothing to report");
    }
}

#[test]
fn a_failure_names_the_request_abort_step_takes() {
    for mode in [Mode::Rollback { max_prediction: 8 }, Mode::SyncTest { check_distance: 3 }] {
        for fail_at in 0..6 {
            let mut s = session(mode);
            let mut n = Noting::default();
            for _ in 0..12 {
                add_inputs(&mut s, false);
                s.begin_step().expect("plan");
                s.fulfil_open_step(&mut n).expect("fulfil");
                s.finish_step();
            }
            add_inputs(&mut s, false);
            s.begin_step().expect("plan");
            let want = listed(&s);
            let before = s.current_frame();
            n.seen.clear();
            n.fail_at = Some(fail_at);
            let Err((i, e)) = s.fulfil_open_step(&mut n) else { panic!("{mode:?}: request {fail_at} did not fail") };
            assert_eq!(i, fail_at.min(want.len()), "{mode:?}");
            assert_eq!(e, Error::Simulation { frame: want[i].1, reason: "asked to fail" }, "{mode:?}");
            assert_eq!(n.seen, want[..=i], "{mode:?}: the requests up to the failed one, in order");
            s.abort_step(i).expect("abort");
            assert_eq!(s.current_frame(), before - 1, "{mode:?}: the step is undone");
        }
    }
    let mut s = session(Mode::Lockstep);
    assert_eq!(s.fulfil_open_step(&mut Noting::default()), Err((0, Error::NoOpenStep)));
}

#[test]
fn an_unlisted_step_is_fulfilled_alike_and_lists_nothing() {
    for mode in [Mode::Lockstep, Mode::Rollback { max_prediction: 8 }, Mode::SyncTest { check_distance: 3 }] {
        let (mut listed_s, mut unlisted) = (session(mode), session(mode));
        let (mut a, mut b) = (Noting::default(), Noting::default());
        for _ in 0..60 {
            add_inputs(&mut listed_s, mode == Mode::Lockstep);
            add_inputs(&mut unlisted, mode == Mode::Lockstep);
            let outcome = listed_s.begin_step().expect("plan");
            assert_eq!(unlisted.begin_step_unlisted().expect("plan"), outcome, "{mode:?}");
            assert_eq!((unlisted.step_len(), unlisted.step_request(0).is_none()), (0, true), "{mode:?}");
            listed_s.fulfil_open_step(&mut a).expect("fulfil");
            unlisted.fulfil_open_step(&mut b).expect("fulfil");
            listed_s.finish_step();
            unlisted.finish_step();
        }
        assert_eq!((a.seen, a.state), (b.seen, b.state), "{mode:?}");
        let f = listed_s.checksummed_until() - 1;
        assert_eq!(unlisted.checksum(f), listed_s.checksum(f), "{mode:?}");
    }
}
