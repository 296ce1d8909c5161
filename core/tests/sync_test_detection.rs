//! The sync test reports a mismatch for exactly the check copies that differ from the first save,
//! whatever the flaw: a value kept outside the snapshot, a save of the wrong length, a state
//! written in place, the simulation's own checksums. A reference fulfils the same requests by
//! hand, keeps every frame's first save and compares each later save of that frame with it; the
//! session must report the same frames, in the same steps, with the same checksums. Check copies
//! are compared while they are written (nothing stored when equal), so this pins down that the
//! cheaper comparison detects everything the stored comparison did.

use std::cell::Cell;
use std::collections::HashMap;

use framelock_core::testing::HashSim;
use framelock_core::{checksum64, Bump, Event, FrameInputs, Mode, Request, SessionBuilder, SimError, Simulation};
use framelock_core::{SnapshotReader, SnapshotWriter};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Flaw {
    /// From frame 40 a hidden counter (not saved) is mixed into the state.
    Hidden,
    /// Every 7th save leaves out its last byte (a check copy that is a prefix of the first save).
    Short,
    /// Every 5th save appends a byte.
    Long,
    /// The state is written in place (`SnapshotWriter::buffer`); every 6th save flips a byte.
    InPlace,
    /// The simulation sets its own checksum; every 4th save's is off by one (the bytes agree).
    OwnChecksum,
    /// Every 2nd save sets its own checksum (the others are hashed by the core); every 3rd flips
    /// a byte.
    MixedOwn,
    /// No flaw.
    None,
}

struct Flawed {
    sim: HashSim,
    flaw: Flaw,
    hidden: Cell<u64>,
    saves: Cell<u32>,
}

impl Flawed {
    /// What the `n`-th save writes: its bytes and its own checksum.
    fn image(&self, n: u32) -> (Vec<u8>, Option<u64>) {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&self.sim.frame.to_le_bytes());
        bytes.extend_from_slice(&self.sim.hash.to_le_bytes());
        bytes.extend_from_slice(&[7; 9]);
        match self.flaw {
            Flaw::Short if n % 7 == 0 => {
                bytes.pop();
            }
            Flaw::Long if n % 5 == 0 => bytes.push(1),
            Flaw::InPlace if n % 6 == 0 => bytes[3] ^= 0x10,
            Flaw::MixedOwn if n % 3 == 0 => bytes[3] ^= 0x10,
            _ => {}
        }
        let own = match self.flaw {
            Flaw::OwnChecksum => Some(self.sim.hash ^ u64::from(n % 4 == 0)),
            Flaw::MixedOwn if n % 2 == 1 => Some(self.sim.hash),
            _ => None,
        };
        (bytes, own)
    }
}

impl Simulation for Flawed {
    fn advance(&mut self, inputs: FrameInputs<'_>, scratch: &Bump) -> Result<(), SimError> {
        self.sim.advance(inputs, scratch)?;
        if self.flaw == Flaw::Hidden && self.sim.frame >= 40 {
            self.hidden.set(self.hidden.get() + 1);
            self.sim.hash ^= self.hidden.get() % 3;
        }
        Ok(())
    }

    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        let n = self.saves.get() + 1;
        self.saves.set(n);
        let (bytes, own) = self.image(n);
        if self.flaw == Flaw::InPlace {
            out.buffer(bytes.len())?.copy_from_slice(&bytes);
            return Ok(());
        }
        // Written in pieces, as a simulation writing field by field does.
        let (a, rest) = bytes.split_at(4.min(bytes.len()));
        let (b, c) = rest.split_at(8.min(rest.len()));
        out.write(a)?;
        out.write(b)?;
        out.write(c)?;
        if let Some(sum) = own {
            out.set_checksum(sum);
        }
        Ok(())
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        let mut r = SnapshotReader::new(snapshot);
        self.sim.frame = r.read_u32()?;
        self.sim.hash = r.read_u64()?;
        Ok(())
    }
}

/// Runs a sync test with `flaw` for 150 frames; returns per step the session's mismatch events and
/// the reference's (frame, first checksum, second checksum).
#[allow(clippy::type_complexity)]
fn run(flaw: Flaw, check_distance: u32) -> (Vec<Vec<(u32, u64, u64)>>, Vec<Vec<(u32, u64, u64)>>) {
    let mut session = SessionBuilder::new(2)
        .local_slots(0b11)
        .max_input_size(2)
        .max_snapshot_size(64)
        .mode(Mode::SyncTest { check_distance })
        .build()
        .expect("valid");
    let mut sim = Flawed { sim: HashSim::new(0), flaw, hidden: Cell::new(0), saves: Cell::new(0) };
    // The reference: every frame's first save (bytes and checksum, as the session defines it).
    let mut first: HashMap<u32, (Vec<u8>, u64, bool)> = HashMap::new();
    let (mut got, mut want) = (Vec::new(), Vec::new());
    for f in 0..150u32 {
        session.add_local_input(0, &[f as u8]).expect("input");
        session.add_local_input(1, &[(f / 3) as u8, 1]).expect("input");
        let mut expected = Vec::new();
        {
            let mut step = session.advance().expect("advance");
            for request in step.requests() {
                match *request {
                    Request::SaveState { frame } => {
                        sim.save(&mut step.save(frame)).expect("save");
                        let (bytes, own) = sim.image(sim.saves.get());
                        let sum = own.unwrap_or_else(|| checksum64(&bytes));
                        match first.get(&frame) {
                            None => {
                                first.insert(frame, (bytes, sum, own.is_some()));
                            }
                            Some((first_bytes, first_sum, first_own)) => {
                                // With an own checksum on either save the checksums decide; else the bytes.
                                let differs =
                                    if own.is_some() || *first_own { *first_sum != sum } else { *first_bytes != bytes };
                                if differs {
                                    expected.push((frame, *first_sum, sum));
                                }
                            }
                        }
                    }
                    Request::LoadState { frame } => {
                        let bytes = step.load(frame).expect("held");
                        sim.load(bytes).expect("load");
                    }
                    Request::AdvanceFrame { inputs, .. } => sim.advance(inputs, step.frame_arena()).expect("advance"),
                }
            }
        }
        let mut events = Vec::new();
        while let Some(e) = session.poll_event() {
            if let Event::SyncTestMismatch { frame, first, second } = e {
                events.push((frame, first, second));
            }
        }
        got.push(events);
        want.push(expected);
    }
    (got, want)
}

#[test]
fn every_differing_check_copy_is_reported_in_its_step() {
    for flaw in [Flaw::Hidden, Flaw::Short, Flaw::Long, Flaw::InPlace, Flaw::OwnChecksum, Flaw::MixedOwn, Flaw::None] {
        for d in [1, 2, 7, 8] {
            let (got, want) = run(flaw, d);
            let found: usize = want.iter().map(Vec::len).sum();
            if flaw == Flaw::None {
                assert_eq!(found, 0);
            } else {
                assert!(found > 0, "{flaw:?} d={d}: the reference finds the flaw");
            }
            for (step, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "{flaw:?}, check distance {d}, step {step}");
            }
        }
    }
}
