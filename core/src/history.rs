//! Checksums of confirmed frames, and remote checksums waiting for their frame to be confirmed.

use crate::{Frame, Slot};

/// A ring of `(frame, checksum)` indexed by frame; gaps (frames never checksummed) are allowed.
#[derive(Debug)]
pub(crate) struct ChecksumHistory {
    ring: Vec<Option<(Frame, u64)>>,
}

impl ChecksumHistory {
    /// At least `len` entries, rounded up to a power of two so indexing is a mask.
    pub fn new(len: u32) -> Self {
        ChecksumHistory { ring: vec![None; len.next_power_of_two() as usize] }
    }

    fn index(&self, frame: Frame) -> usize {
        frame as usize & (self.ring.len() - 1)
    }

    pub fn push(&mut self, frame: Frame, checksum: u64) {
        let i = self.index(frame);
        self.ring[i] = Some((frame, checksum));
    }

    pub fn get(&self, frame: Frame) -> Option<u64> {
        match self.ring[self.index(frame)] {
            Some((f, c)) if f == frame => Some(c),
            _ => None,
        }
    }
}

/// A remote checksum received before the local checksum of its frame existed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EarlyChecksum {
    pub frame: Frame,
    pub slot: Slot,
    pub checksum: u64,
}
