//! What a session records once a step is fulfilled: snapshot checksums, sync-test comparisons,
//! the checksum history, remote checksums waiting for their frame, events and statistics.
//!
//! It is the part of the session a [`Step`](crate::Step) borrows mutably, so that dropping the
//! step can finish it at once: checksums and events are up to date as soon as the step is gone.

use arrayvec::ArrayVec;

use crate::config::MAX_ROLLBACK;
use crate::event::{Event, EventQueue};
use crate::history::{ChecksumHistory, EarlyChecksum};
use crate::session::SessionStats;
use crate::snapshot::{same_bytes, SnapshotRing, STORED};
use crate::{Error, Frame, Slot, SnapshotWriter};

/// A length no check copy matches (not [`STORED`] either): a check copy expecting it is always a suspect.
const NEVER: usize = usize::MAX - 1;

/// The two snapshots of the first sync-test mismatch. `Vec`s: their size is the configured
/// `max_snapshot_size`, known only at run time (allocated once at build).
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
    /// A `Vec` with the configured capacity (`early_checksums`, a run-time setting), never grown.
    pub early: Vec<EarlyChecksum>,
    pub events: EventQueue,
    pub stats: SessionStats,
    /// `Some(confirmed_until at planning)` while a step is open.
    pub open: Option<Frame>,
    /// The newest frame saved into the primary ring.
    pub primary_top: Option<Frame>,
    pub checksummed_until: Frame,
    /// Sync test: a save of a frame below `fresh_from` (saved by an earlier step) is a check copy.
    pub sync_test: bool,
    pub fresh_from: Frame,
    /// Sync test: the check copy being written (its frame and the length it must match), resolved
    /// when the next save starts or the step finishes; the writer counts matched bytes into
    /// `matched` and puts an own checksum into `own`.
    pub pending: Option<(Frame, usize)>,
    pub matched: usize,
    pub own: Option<u64>,
    /// Check copies that may differ (stored, shorter, or with own checksums), compared by
    /// checksum when the step finishes. At most one per frame of the check distance.
    pub suspects: ArrayVec<Frame, { MAX_ROLLBACK as usize }>,
}

impl Ledger {
    /// The buffer a save of `frame` in the open step goes to.
    #[inline]
    pub fn writer(&mut self, frame: Frame) -> SnapshotWriter<'_> {
        self.resolve_check();
        if self.sync_test && frame < self.fresh_from {
            // A check copy: compared with the first save as it is written (nothing stored while it
            // agrees). A first save with its own checksum is compared by checksum: always resolved
            // as a suspect.
            let (against, expect) = match self.snapshots.get(frame) {
                Some(s) => (s.bytes(), if s.own_checksum.is_some() { NEVER } else { s.bytes().len() }),
                None => (&[][..], NEVER),
            };
            self.pending = Some((frame, expect));
            let (buf, start) = self.checks.claim(frame);
            SnapshotWriter::check(buf, start, self.snapshots.capacity(), &mut self.own, against, &mut self.matched)
        } else {
            // Final: saved at or below the frame the inputs were confirmed until at planning.
            let final_frame = self.open.is_some_and(|c| frame <= c);
            self.snapshots.writer(frame, final_frame)
        }
    }

    /// The last check copy is done: equal to the first save (the common case, nothing to record),
    /// or a suspect for `finish_step`.
    #[inline]
    fn resolve_check(&mut self) {
        if let Some((frame, expect)) = self.pending.take() {
            if self.matched != expect || self.own.is_some() {
                self.checks.note_check(frame, self.matched, self.own);
                if !self.suspects.contains(&frame) {
                    // Full only when a caller saves check copies the step did not ask for.
                    let _ = self.suspects.try_push(frame);
                }
            }
        }
    }

    /// The saved state of `frame`, for a load.
    #[inline]
    pub fn load(&self, frame: Frame) -> Result<&[u8], Error> {
        self.snapshots.get(frame).map(|s| s.bytes()).ok_or(Error::NoSuchSnapshot { frame })
    }

    /// Records the primary saves planned for the open step: the frames `from..end` (none when
    /// `from >= end`).
    #[inline]
    pub fn plan_saves(&mut self, from: Frame, end: Frame) {
        if from < end {
            self.primary_top = Some(end - 1);
        }
    }

    /// Forgets the check copies of an abandoned step; a new step starts with none.
    #[inline]
    pub fn clear_checks(&mut self) {
        self.pending = None;
        self.suspects.clear();
    }

    /// Seals the snapshots the open step saved, compares sync-test checks, records the checksums of
    /// frames that became final and matches waiting remote checksums against them.
    pub fn finish_step(&mut self) {
        let Some(confirmed_until) = self.open.take() else { return };
        self.resolve_check();
        if !self.suspects.is_empty() {
            for i in 0..self.suspects.len() {
                let frame = self.suspects[i];
                self.check_sync(frame);
            }
            self.suspects.clear();
        }
        let Some(top) = self.primary_top else { return };
        let last = confirmed_until.min(top);
        while self.checksummed_until <= last {
            let f = self.checksummed_until;
            if let Some(c) = self.snapshots.checksum(f) {
                self.history.push(f, c);
            }
            self.checksummed_until += 1;
        }
        if !self.early.is_empty() {
            self.match_early();
        }
    }

    /// A suspect check copy: equal bytes still pass without a hash when neither save has its own
    /// checksum.
    #[cold]
    fn check_sync(&mut self, frame: Frame) {
        let (Some(first), Some(check)) = (self.snapshots.get(frame), self.checks.get(frame)) else { return };
        let own = first.own_checksum.is_some() || check.own_checksum.is_some();
        if !own {
            let same = if check.matched == STORED {
                same_bytes(first.bytes(), check.bytes())
            } else {
                check.matched == first.bytes().len()
            };
            if same {
                return;
            }
        }
        self.sync_mismatch(frame);
    }

    /// A check copy that may differ: hashed (or its own checksum) and compared by checksum.
    fn sync_mismatch(&mut self, frame: Frame) {
        let Some(first_sum) = self.snapshots.checksum(frame) else { return };
        let (Some(first), Some(check)) = (self.snapshots.get(frame), self.checks.get(frame)) else { return };
        // A copy compared as it was written holds the first save's bytes up to where it stopped.
        let bytes =
            if check.matched == STORED { check.bytes() } else { first.bytes().get(..check.matched).unwrap_or(&[]) };
        let second = check.own_checksum.unwrap_or_else(|| self.checks.hash_of(bytes));
        if first_sum == second {
            return;
        }
        self.stats.desyncs += 1;
        self.events.push(Event::SyncTestMismatch { frame, first: first_sum, second });
        if self.evidence.frame.is_none() {
            self.evidence.frame = Some(frame);
            self.evidence.first.clear();
            self.evidence.first.extend_from_slice(first.bytes());
            self.evidence.second.clear();
            self.evidence.second.extend_from_slice(bytes);
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

#[cfg(test)]
mod tests {
    use crate::snapshot::same_bytes;

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
