//! Deadlines of many items (connections, pending handshakes, rooms) in a binary heap with lazy
//! updates, so that finding what is due costs O(log n) per due item instead of a scan of every item.
//!
//! Each item has at most one *live* entry: the time it is scheduled at. Invariant the owner keeps: an
//! item's live time is never later than its real deadline. Deadlines that move later (a packet arrived,
//! a keep-alive went out) need no update: the entry fires early, the owner sees nothing is due and
//! schedules the real deadline. A deadline that moves earlier is scheduled again; the older entry
//! becomes stale and is skipped when popped. The heap is preallocated for twice the items and compacted
//! (rebuilt from the live times, no allocation) when stale entries fill it, so it never grows.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

/// Deadlines of items `0..n`.
#[derive(Debug)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Duration, u32)>>,
    at: Vec<Option<Duration>>,
}

impl Timers {
    /// Room for items `0..n` (at most `u32::MAX`).
    pub fn new(n: usize) -> Self {
        Timers { heap: BinaryHeap::with_capacity(2 * n + 1), at: vec![None; n] }
    }

    /// Makes `id` due at `t` unless it is already scheduled at or before `t`.
    pub fn schedule(&mut self, id: usize, t: Duration) {
        let Some(at) = self.at.get_mut(id) else { return };
        if at.is_some_and(|a| a <= t) {
            return;
        }
        *at = Some(t);
        if self.heap.len() == self.heap.capacity() {
            self.compact();
        }
        self.heap.push(Reverse((t, id as u32)));
    }

    /// Forgets `id`'s deadline (its heap entry becomes stale).
    pub fn cancel(&mut self, id: usize) {
        if let Some(at) = self.at.get_mut(id) {
            *at = None;
        }
    }

    /// The earliest entry (it may be stale: then the caller wakes early and finds nothing due).
    pub fn next(&self) -> Option<Duration> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// The next item due at `now`, unscheduled: the caller handles it and schedules its next deadline.
    pub fn pop_due(&mut self, now: Duration) -> Option<usize> {
        while let Some(&Reverse((t, id))) = self.heap.peek() {
            if t > now {
                return None;
            }
            self.heap.pop();
            let id = id as usize;
            if self.at[id] == Some(t) {
                self.at[id] = None;
                return Some(id);
            }
        }
        None
    }

    fn compact(&mut self) {
        self.heap.clear(); // keeps its capacity
        for (id, at) in self.at.iter().enumerate() {
            if let Some(t) = at {
                self.heap.push(Reverse((*t, id as u32)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn pops_in_order_skipping_stale_and_cancelled() {
        let mut t = Timers::new(4);
        t.schedule(0, ms(30));
        t.schedule(1, ms(10));
        t.schedule(2, ms(20));
        t.schedule(0, ms(5)); // earlier: rescheduled, the 30 ms entry goes stale
        t.schedule(2, ms(25)); // later: ignored (the 20 ms entry stays live)
        t.cancel(1);
        assert_eq!(t.next(), Some(ms(5)));
        assert_eq!(t.pop_due(ms(100)), Some(0));
        assert_eq!(t.pop_due(ms(100)), Some(2));
        assert_eq!(t.pop_due(ms(100)), None);
        assert_eq!(t.next(), None);
    }

    #[test]
    fn never_grows_its_heap() {
        let mut t = Timers::new(3);
        let cap = t.heap.capacity();
        for i in 0..10_000u64 {
            t.schedule((i % 3) as usize, ms(1_000_000 - i)); // always earlier: a stale entry each time
        }
        assert_eq!(t.heap.capacity(), cap);
        let mut due = Vec::new();
        while let Some(id) = t.pop_due(ms(u64::MAX / 2)) {
            due.push(id);
        }
        due.sort_unstable();
        assert_eq!(due, [0, 1, 2]);
    }
}
