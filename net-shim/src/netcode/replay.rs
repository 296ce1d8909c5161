//! The replay protection window.

use super::REPLAY_BUFFER_SIZE;

const EMPTY: u64 = u64::MAX;

/// Remembers the last [`REPLAY_BUFFER_SIZE`] sequence numbers received; rejects repeats and anything older.
///
/// Use [`ReplayProtection::already_received`] before decryption and [`ReplayProtection::advance`] after it
/// succeeded, as the standard orders.
#[derive(Clone)]
pub struct ReplayProtection {
    most_recent: u64,
    received: [u64; REPLAY_BUFFER_SIZE],
}

impl std::fmt::Debug for ReplayProtection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayProtection").field("most_recent", &self.most_recent).finish_non_exhaustive()
    }
}

impl Default for ReplayProtection {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayProtection {
    /// An empty window.
    pub fn new() -> Self {
        Self { most_recent: 0, received: [EMPTY; REPLAY_BUFFER_SIZE] }
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// True if `sequence` was already received or is too old to tell.
    pub fn already_received(&self, sequence: u64) -> bool {
        if sequence == EMPTY || sequence.saturating_add(REPLAY_BUFFER_SIZE as u64) <= self.most_recent {
            return true;
        }
        let entry = self.received[(sequence % REPLAY_BUFFER_SIZE as u64) as usize];
        entry != EMPTY && entry >= sequence
    }

    /// Records `sequence` as received (call only after the packet decrypted).
    pub fn advance(&mut self, sequence: u64) {
        if sequence > self.most_recent {
            self.most_recent = sequence;
        }
        self.received[(sequence % REPLAY_BUFFER_SIZE as u64) as usize] = sequence;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window() {
        let mut r = ReplayProtection::new();
        for s in 0..1000u64 {
            assert!(!r.already_received(s));
            r.advance(s);
            assert!(r.already_received(s));
        }
        assert!(r.already_received(999 - 256));
        assert!(r.already_received(500));
        assert!(!r.already_received(1005));
        r.advance(1005);
        assert!(!r.already_received(1001), "gaps inside the window stay open");
        assert!(r.already_received(1005));
        assert!(r.already_received(u64::MAX));
        let high = 1u64 << 62;
        assert!(!r.already_received(high));
        r.advance(high);
        assert!(r.already_received(1006));
        r.reset();
        assert!(!r.already_received(3));
    }
}
