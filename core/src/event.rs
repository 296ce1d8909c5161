//! Events a session reports asynchronously, and the bounded queue that holds them.

use std::collections::VecDeque;

use crate::{Frame, Slot};

/// Something the caller should know about, returned by [`Session::poll_event`](crate::Session::poll_event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A remote checksum of a confirmed frame differs from the local one: the simulations diverged
    /// at or before `frame` (the first such frame reported is the first divergent one compared).
    Desync {
        /// The frame whose starting state differs.
        frame: Frame,
        /// The slot whose peer sent the checksum.
        slot: Slot,
        /// The local checksum.
        local: u64,
        /// The remote checksum.
        remote: u64,
    },
    /// Sync test: resimulating gave a different state than the first run. Both snapshots are kept,
    /// see [`Session::sync_test_evidence`](crate::Session::sync_test_evidence).
    SyncTestMismatch {
        /// The frame whose starting state differs.
        frame: Frame,
        /// The checksum of the first run.
        first: u64,
        /// The checksum of the resimulation.
        second: u64,
    },
    /// A slot was disconnected; from `frame` on its input is the default input.
    SlotDisconnected {
        /// The slot.
        slot: Slot,
        /// The first frame without its input.
        frame: Frame,
    },
    /// A remote checksum that waited for its frame could not be compared: no local checksum of that
    /// frame was recorded (a lockstep `checksum_interval` that skips it).
    ChecksumNotCompared {
        /// The frame of the remote checksum.
        frame: Frame,
        /// The slot that sent it.
        slot: Slot,
    },
}

/// A preallocated FIFO of events; when full, the oldest is dropped and counted.
#[derive(Debug)]
pub(crate) struct EventQueue {
    q: VecDeque<Event>,
    cap: usize,
    pub dropped: u64,
}

impl EventQueue {
    pub fn new(cap: usize) -> Self {
        EventQueue { q: VecDeque::with_capacity(cap), cap, dropped: 0 }
    }

    pub fn push(&mut self, e: Event) {
        if self.q.len() == self.cap {
            self.q.pop_front();
            self.dropped += 1;
        }
        self.q.push_back(e);
    }

    pub fn pop(&mut self) -> Option<Event> {
        self.q.pop_front()
    }
}
