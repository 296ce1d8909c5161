//! Rollback equivalence: whatever order and delay inputs arrive in, a rollback session ends with the
//! same per-frame checksums as a lockstep session fed the same confirmed inputs.

mod support;

use framelock_core::testing::HashSim;
use framelock_core::{Driver, Error, Frame};
use quickcheck::{Arbitrary, Gen, QuickCheck};
use support::{lockstep_reference, rollback_builder, Mix};

#[derive(Debug, Clone)]
struct Scenario {
    slots: usize,
    frames: u32,
    max_prediction: u32,
    /// Largest arrival delay in frames (above `max_prediction` the session stalls at its limit).
    max_delay: u32,
    /// How often inputs change (1 = every frame): low values mean many mispredictions.
    change_every: u32,
    disconnect: Option<(usize, Frame)>,
    seed: u64,
}

impl Arbitrary for Scenario {
    fn arbitrary(g: &mut Gen) -> Self {
        let slots = 2 + usize::arbitrary(g) % 4;
        let frames = 20 + u32::arbitrary(g) % 250;
        let max_prediction = 1 + u32::arbitrary(g) % 10;
        let disconnect =
            bool::arbitrary(g).then(|| (1 + usize::arbitrary(g) % (slots - 1), u32::arbitrary(g) % frames));
        Scenario {
            slots,
            frames,
            max_prediction,
            max_delay: u32::arbitrary(g) % 16,
            change_every: 1 + u32::arbitrary(g) % 6,
            disconnect,
            seed: u64::arbitrary(g),
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let mut v = Vec::new();
        if self.frames > 20 {
            v.push(Scenario { frames: self.frames / 2, disconnect: None, ..self.clone() });
        }
        if self.disconnect.is_some() {
            v.push(Scenario { disconnect: None, ..self.clone() });
        }
        if self.max_delay > 0 {
            v.push(Scenario { max_delay: self.max_delay / 2, ..self.clone() });
        }
        Box::new(v.into_iter())
    }
}

/// Runs the scenario; returns (rollback checksums, lockstep checksums, rollbacks performed).
fn run(sc: &Scenario) -> (Vec<Option<u64>>, Vec<u64>, u64) {
    let mut rng = Mix(sc.seed);
    let inputs: Vec<Vec<Vec<u8>>> = (0..sc.slots)
        .map(|s| {
            (0..sc.frames + 100)
                .map(|f| {
                    let epoch = u64::from(f / sc.change_every);
                    let v = Mix(sc.seed ^ (s as u64) << 40 ^ epoch).next();
                    // Short alphabet and varying lengths: some predictions right, some wrong.
                    let len = (v % 3) as usize;
                    (0..len).map(|i| (v >> (8 + i * 8)) as u8 % 3).collect()
                })
                .collect()
        })
        .collect();
    // Arrival tick of every remote input; delivered in a random order within the tick.
    let mut pending: Vec<(u64, usize, Frame)> = Vec::new();
    for s in 1..sc.slots {
        for f in 0..sc.frames + 20 {
            if sc.disconnect.is_some_and(|(ds, df)| ds == s && f >= df) {
                continue; // the player left: its later inputs never arrive
            }
            let arrival = u64::from(f) + rng.below(u64::from(sc.max_delay) + 1);
            pending.push((arrival, s, f));
        }
    }
    let mut order: Vec<u64> = (0..pending.len()).map(|_| rng.next()).collect();
    let mut idx: Vec<usize> = (0..pending.len()).collect();
    idx.sort_by_key(|&i| (pending[i].0, order[i]));
    order.clear();

    let session = rollback_builder(sc.slots, sc.max_prediction).build().expect("config");
    let mut d = Driver::new(session, HashSim::new(8));
    let mut next = 0;
    let mut disconnected = false;
    let mut tick = 0u64;
    while d.session().current_frame() < sc.frames || next < idx.len() {
        tick += 1;
        assert!(tick < u64::from(sc.frames) * 4 + 1000, "scenario must finish: {sc:?}");
        while next < idx.len() && pending[idx[next]].0 <= tick {
            let (_, s, f) = pending[idx[next]];
            next += 1;
            match d.session_mut().add_remote_input(s, f, &inputs[s][f as usize]) {
                Ok(()) => {}
                Err(Error::BeyondWindow { .. }) => unreachable!("window 128 covers max delay"),
                Err(e) => panic!("{e} in {sc:?}"),
            }
        }
        if let Some((ds, df)) = sc.disconnect {
            // Disconnect once every input of the slot before the disconnect frame arrived.
            if !disconnected && (0..df).all(|f| d.session().waiting_for(f) >> ds & 1 == 0) {
                d.session_mut().disconnect_slot(ds, df).expect("disconnect");
                disconnected = true;
            }
        }
        let target = d.session().current_frame() + d.session().input_delay();
        d.session_mut().add_local_input(0, &inputs[0][target as usize]).expect("local input");
        d.advance().expect("advance");
    }
    // Let every frame become final.
    for _ in 0..sc.max_prediction + 2 {
        let target = d.session().current_frame();
        d.session_mut().add_local_input(0, &inputs[0][target as usize]).expect("local input");
        d.advance().expect("advance");
    }
    let rb = support::all_checksums(d.session(), sc.frames);
    let disconnect = if disconnected { sc.disconnect } else { None };
    let ls = lockstep_reference(&inputs, sc.frames, disconnect);
    (rb, ls, d.session().stats().rollbacks)
}

#[test]
fn rollback_matches_lockstep_for_any_arrival_order() {
    fn prop(sc: Scenario) -> bool {
        let (rb, ls, _) = run(&sc);
        rb.iter().zip(&ls).all(|(r, l)| *r == Some(*l))
    }
    QuickCheck::new().tests(150).quickcheck(prop as fn(Scenario) -> bool);
}

#[test]
fn a_typical_scenario_really_rolls_back_and_stalls_at_the_limit() {
    let sc = Scenario {
        slots: 4,
        frames: 400,
        max_prediction: 4,
        max_delay: 9,
        change_every: 2,
        disconnect: Some((2, 150)),
        seed: 7,
    };
    let (rb, ls, rollbacks) = run(&sc);
    assert!(rollbacks > 50, "only {rollbacks} rollbacks");
    assert_eq!(rb.iter().map(|c| c.expect("final")).collect::<Vec<_>>(), ls);
}

/// The built-in `RepeatLast` reads a slot's last confirmed input in place instead of storing a
/// guess per frame, so when that input changes under frames already simulated the session must
/// keep what each frame saw. An early input closes a gap (frame 1's `[7]` becomes the last input
/// while frames 2-3 saw `[]`): frame 2's input `[7]` must be found wrong for frame 2, which a
/// comparison with the last input would miss. With frame 2's input `[]` instead (right for it),
/// the last input changes again, back to `[]`, while frames 4-5 saw `[7]`: frame 4's input `[]`
/// must be found wrong for frame 4.
#[test]
fn a_guess_read_in_place_is_kept_when_the_last_input_changes_under_it() {
    let frames = 30u32;
    // Tick at which each of slot 1's inputs arrives (a tick adds it before advancing).
    let arrival = |f: u32| match f {
        1 => 1,
        0 => 5,
        2 => 7,
        3 | 4 => 8,
        f => f + 4,
    };
    for frame_2 in [vec![7u8], vec![]] {
        let slot_1 = |f: u32| match f {
            1 => vec![7],
            2 => frame_2.clone(),
            _ => vec![],
        };
        let inputs: Vec<Vec<Vec<u8>>> =
            vec![(0..frames + 20).map(|f| vec![f as u8]).collect(), (0..frames + 20).map(slot_1).collect()];
        let session = rollback_builder(2, 8).build().expect("config");
        let mut d = Driver::new(session, HashSim::new(8));
        for tick in 1..=frames + 12 {
            for f in (0..frames + 12).filter(|&f| arrival(f) == tick) {
                d.session_mut().add_remote_input(1, f, &inputs[1][f as usize]).expect("remote input");
            }
            let target = d.session().current_frame() + d.session().input_delay();
            d.session_mut().add_local_input(0, &inputs[0][target as usize]).expect("local input");
            d.advance().expect("advance");
        }
        let rb = support::all_checksums(d.session(), frames);
        let ls = lockstep_reference(&inputs, frames, None);
        assert_eq!(rb.iter().map(|c| c.expect("final")).collect::<Vec<_>>(), ls, "frame 2's input {frame_2:?}");
        assert!(d.session().stats().rollbacks >= 1, "a frame was simulated on a wrong guess");
    }
}
