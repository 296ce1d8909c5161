//! Shared pieces of the integration tests: a tiny deterministic RNG and scenario plumbing.
#![allow(dead_code)]

use framelock_core::testing::HashSim;
use framelock_core::{Driver, Error, Frame, Mode, Session, SessionBuilder};

/// SplitMix64: the tests' own randomness, independent of the crate's `Rng`.
#[derive(Debug, Clone)]
pub struct Mix(pub u64);

impl Mix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// A lockstep session over `slots` remote slots, fed every input of `inputs[slot][frame]` up front
/// (with slot `disconnect.0` disconnected from frame `disconnect.1`), advanced `frames` times.
/// Returns the checksum of every frame `0..frames`.
pub fn lockstep_reference(inputs: &[Vec<Vec<u8>>], frames: u32, disconnect: Option<(usize, Frame)>) -> Vec<u64> {
    let slots = inputs.len();
    let session = SessionBuilder::new(slots).max_input_size(8).input_window(frames + 200).build().expect("config");
    let mut d = Driver::new(session, HashSim::new(8));
    if let Some((slot, at)) = disconnect {
        d.session_mut().disconnect_slot(slot, at).expect("disconnect");
    }
    for (s, per_frame) in inputs.iter().enumerate() {
        for (f, bytes) in per_frame.iter().enumerate() {
            match d.session_mut().add_remote_input(s, f as Frame, bytes) {
                Ok(()) | Err(Error::AlreadyConfirmed { .. }) => {}
                Err(e) => panic!("reference input: {e}"),
            }
        }
    }
    for _ in 0..frames {
        assert!(!d.advance().expect("advance").stalled());
    }
    d.advance().expect("advance once more so the last frame is checksummed");
    (0..frames).map(|f| d.session().checksum(f).expect("lockstep checksums every frame")).collect()
}

pub fn rollback_builder(slots: usize, max_prediction: u32) -> SessionBuilder {
    SessionBuilder::new(slots).local_slot(0).max_input_size(8).mode(Mode::Rollback { max_prediction })
}

pub fn all_checksums(s: &Session, frames: u32) -> Vec<Option<u64>> {
    (0..frames).map(|f| s.checksum(f)).collect()
}
