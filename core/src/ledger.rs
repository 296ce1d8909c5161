//! What a session records once a step is fulfilled: snapshot checksums, sync-test comparisons,
//! the checksum history, remote checksums waiting for their frame, events and statistics.
//!
//! It is the part of the session a [`Step`](crate::Step) borrows mutably, so that dropping the
//! step can finish it at once: checksums and events are up to date as soon as the step is gone.

use crate::event::{Event, EventQueue};
use crate::history::{ChecksumHistory, EarlyChecksum};
use crate::session::SessionStats;
use crate::snapshot::SnapshotRing;
use crate::step::Op;
use crate::{Error, Frame, Slot, SnapshotWriter};

#[derive(Debug)]
pub(crate) struct Evidence {
    pub frame: Option<Frame>,
    pub first: Vec<u8>,
    pub second: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Ledger {
    pub snapshots: SnapshotRing,
    /// Sync test: the resimulation's copies, compared with `snapshots`.
    pub checks: SnapshotRing,
    pub evidence: Evidence,
    pub history: ChecksumHistory,
    pub early: Vec<EarlyChecksum>,
    pub events: EventQueue,
    pub stats: SessionStats,
    /// The planned operations of the open step.
    pub ops: Vec<Op>,
    /// `Some(confirmed_until at planning)` while a step is open.
    pub open: Option<Frame>,
    /// The newest frame saved into the primary ring.
    pub primary_top: Option<Frame>,
    pub checksummed_until: Frame,
    /// Sync test: a save of a frame below `fresh_from` (saved by an earlier step) is a check copy.
    pub sync_test: bool,
    pub fresh_from: Frame,
}

impl Ledger {
    /// The buffer a save of `frame` in the open step goes to.
    #[inline]
    pub fn writer(&mut self, frame: Frame) -> SnapshotWriter<'_> {
        if self.sync_test && frame < self.fresh_from {
            self.checks.writer(frame)
        } else {
            self.snapshots.writer(frame)
        }
    }

    /// The saved state of `frame`, for a load.
    #[inline]
    pub fn load(&self, frame: Frame) -> Result<&[u8], Error> {
        self.snapshots.get(frame).map(|s| s.bytes.as_slice()).ok_or(Error::NoSuchSnapshot { frame })
    }

    /// Seals the snapshots the open step saved, compares sync-test checks, records the checksums of
    /// frames that became final and matches waiting remote checksums against them.
    pub fn finish_step(&mut self) {
        let Some(confirmed_until) = self.open.take() else { return };
        for i in 0..self.ops.len() {
            match self.ops[i] {
                Op::Save { frame, check: false } => {
                    self.snapshots.seal(frame);
                }
                Op::Save { frame, check: true } => self.check_sync(frame),
                _ => {}
            }
        }
        let Some(top) = self.primary_top else { return };
        let last = confirmed_until.min(top);
        while self.checksummed_until <= last {
            let f = self.checksummed_until;
            if let Some(s) = self.snapshots.get(f) {
                self.history.push(f, s.checksum);
            }
            self.checksummed_until += 1;
        }
        if !self.early.is_empty() {
            self.match_early();
        }
    }

    fn check_sync(&mut self, frame: Frame) {
        let (Some(first), Some(check)) = (self.snapshots.get(frame), self.checks.get(frame)) else { return };
        // Without the simulation's own checksums, equal bytes mean equal checksums: comparing the
        // bytes costs less than hashing them, so a check copy is hashed only when it differs.
        if first.own_checksum.is_none() && check.own_checksum.is_none() && same_bytes(&first.bytes, &check.bytes) {
            return;
        }
        let (Some(second), Some(first)) = (self.checks.seal(frame), self.snapshots.get(frame)) else { return };
        if first.checksum == second {
            return;
        }
        self.stats.desyncs += 1;
        self.events.push(Event::SyncTestMismatch { frame, first: first.checksum, second });
        if self.evidence.frame.is_none() {
            if let Some(check) = self.checks.get(frame) {
                self.evidence.frame = Some(frame);
                self.evidence.first.clear();
                self.evidence.first.extend_from_slice(&first.bytes);
                self.evidence.second.clear();
                self.evidence.second.extend_from_slice(&check.bytes);
            }
        }
    }

    fn match_early(&mut self) {
        let until = self.checksummed_until;
        let mut i = 0;
        while i < self.early.len() {
            let e = self.early[i];
            if e.frame >= until {
                i += 1;
                continue;
            }
            self.early.remove(i);
            match self.history.get(e.frame) {
                Some(local) => self.compare(e.frame, e.slot, local, e.checksum),
                None => self.events.push(Event::ChecksumNotCompared { frame: e.frame, slot: e.slot }),
            }
        }
    }

    pub fn compare(&mut self, frame: Frame, slot: Slot, local: u64, remote: u64) {
        self.stats.checksums_compared += 1;
        if local != remote {
            self.stats.desyncs += 1;
            self.events.push(Event::Desync { frame, slot, local, remote });
        }
    }
}

/// `a == b`, with snapshots of 8 to 16 bytes compared as two fixed 8-byte words each (the
/// first and the last 8 bytes, overlapping) and shorter ones byte by byte: a library `memcmp`
/// call costs more than comparing a small state.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n > 16 {
        return a == b;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], at: usize| s.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok());
    word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8)
}

#[cfg(test)]
mod tests {
    use super::same_bytes;

    #[test]
    fn same_bytes_is_slice_equality() {
        let data: Vec<u8> = (0..40u8).collect();
        for n in 0..40 {
            for m in [n, n + 1] {
                let a = &data[..n];
                let mut b = data[..m.min(40)].to_vec();
                assert_eq!(same_bytes(a, &b), a == &b[..], "{n} {m}");
                if let Some(x) = b.get_mut(n.saturating_sub(1)) {
                    *x ^= 0x80;
                    assert_eq!(same_bytes(a, &b), a == &b[..], "{n} {m} flipped");
                }
            }
        }
    }
}
