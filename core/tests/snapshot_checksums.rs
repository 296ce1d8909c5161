//! A frame's checksum is XXH3-64 of the bytes its final snapshot holds, however the simulation
//! wrote them: in long and short pieces (the session hashes long ones while it copies them in),
//! through `SnapshotWriter::buffer` (which may change bytes already hashed), in states whose size
//! changes from frame to frame, with rollbacks resaving frames and in lockstep.

mod support;

use framelock_core::{checksum64, Bump, Driver, FrameInputs, Mode, SimError, Simulation, SnapshotReader};
use framelock_core::{SessionBuilder, SnapshotWriter};
use quickcheck::{Arbitrary, Gen, QuickCheck};
use support::Mix;

/// Piece lengths around the session's fusing threshold (256) and the hash's stripe (64) and block
/// (1024) sizes.
const PIECES: [usize; 12] = [1, 3, 8, 31, 64, 200, 255, 256, 257, 511, 1024, 4000];
const MAX_STATE: usize = 6000;

/// A state of changing size, saved as its running hash then its bytes, in pieces whose lengths
/// depend on the state; some saves write a wrong hash first and correct it through `buffer`.
#[derive(Debug, Clone, Default)]
struct PieceSim {
    hash: u64,
    bytes: Vec<u8>,
}

impl Simulation for PieceSim {
    fn advance(&mut self, inputs: FrameInputs<'_>, _scratch: &Bump) -> Result<(), SimError> {
        // The walk and the lookup by slot agree, on confirmed and on predicted frames.
        assert!(inputs.iter().eq((0..inputs.len()).filter_map(|s| inputs.get(s))), "frame {}", inputs.frame());
        let mut h = self.hash ^ u64::from(inputs.frame()).rotate_left(17);
        for p in inputs.iter() {
            h = Mix(h ^ p.bytes.iter().fold(p.bytes.len() as u64, |a, &b| a << 8 | u64::from(b))).next();
        }
        self.hash = h;
        if h % 8 == 0 {
            self.bytes.resize((h >> 8) as usize % MAX_STATE, (h >> 16) as u8);
        }
        if !self.bytes.is_empty() {
            let len = self.bytes.len();
            self.bytes[(h >> 24) as usize % len] ^= h as u8;
            self.bytes[(h >> 40) as usize % len] = (h >> 56) as u8;
        }
        Ok(())
    }

    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        let mut pick = Mix(self.hash);
        let patch_at = (self.hash % 4 == 0).then(|| pick.below(6) as usize);
        out.write_u64(if patch_at.is_some() { !self.hash } else { self.hash })?;
        let correct = |out: &mut SnapshotWriter<'_>| -> Result<(), SimError> {
            let len = out.len();
            out.buffer(len)?[..8].copy_from_slice(&self.hash.to_le_bytes());
            Ok(())
        };
        let (mut at, mut piece) = (0, 0);
        while at < self.bytes.len() {
            if patch_at == Some(piece) {
                correct(out)?;
            }
            let n = PIECES[pick.below(PIECES.len() as u64) as usize].min(self.bytes.len() - at);
            out.write(&self.bytes[at..at + n])?;
            (at, piece) = (at + n, piece + 1);
        }
        if patch_at.is_some_and(|p| p >= piece) {
            correct(out)?;
        }
        Ok(())
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        let mut r = SnapshotReader::new(snapshot);
        self.hash = r.read_u64()?;
        self.bytes.clear();
        self.bytes.extend_from_slice(r.read(r.remaining())?);
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Scenario {
    slots: usize,
    frames: u32,
    /// `None`: lockstep.
    max_prediction: Option<u32>,
    max_delay: u32,
    seed: u64,
}

impl Arbitrary for Scenario {
    fn arbitrary(g: &mut Gen) -> Self {
        Scenario {
            slots: 2 + usize::arbitrary(g) % 3,
            frames: 20 + u32::arbitrary(g) % 150,
            max_prediction: bool::arbitrary(g).then(|| 1 + u32::arbitrary(g) % 8),
            max_delay: u32::arbitrary(g) % 10,
            seed: u64::arbitrary(g),
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let mut v = Vec::new();
        if self.frames > 20 {
            v.push(Scenario { frames: self.frames / 2, ..self.clone() });
        }
        if self.max_delay > 0 {
            v.push(Scenario { max_delay: self.max_delay / 2, ..self.clone() });
        }
        Box::new(v.into_iter())
    }
}

/// Runs the scenario, checking every final checksum against the bytes of its frame's snapshot
/// while the session still holds it; returns how many were checked, how many of those were of
/// snapshots over 1 KiB, and how many rollbacks ran.
fn run(sc: &Scenario) -> (u32, u32, u64) {
    let input = |s: usize, f: u32| [(Mix(sc.seed ^ (s as u64) << 40 ^ u64::from(f / 3)).next() % 3) as u8];
    let mut rng = Mix(sc.seed);
    let mut pending: Vec<(u64, usize, u32)> = (1..sc.slots)
        .flat_map(|s| (0..sc.frames + 20).map(move |f| (s, f)))
        .map(|(s, f)| (u64::from(f) + rng.below(u64::from(sc.max_delay) + 1), s, f))
        .collect();
    pending.sort_unstable();
    let mode = match sc.max_prediction {
        Some(max_prediction) => Mode::Rollback { max_prediction },
        None => Mode::Lockstep,
    };
    let session = SessionBuilder::new(sc.slots)
        .local_slot(0)
        .max_input_size(1)
        .max_snapshot_size(8 + MAX_STATE)
        .mode(mode)
        .build()
        .expect("config");
    let mut d = Driver::new(session, PieceSim::default());
    let (mut next, mut checked, mut verified, mut large) = (0, 0, 0, 0);
    let mut tick = 0;
    while d.session().current_frame() < sc.frames + 10 {
        tick += 1;
        assert!(tick < u64::from(sc.frames) * 3 + 100, "scenario must finish: {sc:?}");
        while next < pending.len() && pending[next].0 <= tick {
            let (_, s, f) = pending[next];
            d.session_mut().add_remote_input(s, f, &input(s, f)).expect("remote input");
            next += 1;
        }
        let target = d.session().current_frame() + d.session().input_delay();
        d.session_mut().add_local_input(0, &input(0, target)).expect("local input");
        d.advance().expect("advance");
        let s = d.session();
        for f in checked..s.checksummed_until() {
            if let Some(bytes) = s.final_snapshot(f) {
                assert_eq!(s.checksum(f), Some(checksum64(bytes)), "frame {f} ({} bytes) in {sc:?}", bytes.len());
                verified += 1;
                large += u32::from(bytes.len() > 1024);
            }
        }
        checked = s.checksummed_until();
    }
    assert!(checked >= sc.frames, "every frame became final: {checked} of {} in {sc:?}", sc.frames);
    (verified, large, d.session().stats().rollbacks)
}

#[test]
fn a_checksum_is_of_the_final_snapshots_bytes_however_they_were_written() {
    fn prop(sc: Scenario) -> bool {
        let (verified, _, _) = run(&sc);
        verified >= sc.frames
    }
    QuickCheck::new().tests(60).quickcheck(prop as fn(Scenario) -> bool);
}

#[test]
fn a_typical_scenario_checks_large_states_resaved_by_rollbacks() {
    let sc = Scenario { slots: 3, frames: 300, max_prediction: Some(6), max_delay: 8, seed: 11 };
    let (verified, large, rollbacks) = run(&sc);
    assert!(
        verified >= 300 && large >= 200 && rollbacks > 20,
        "{verified} checksums checked ({large} of snapshots over 1 KiB), {rollbacks} rollbacks"
    );
}
