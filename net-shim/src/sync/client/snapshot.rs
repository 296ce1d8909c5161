//! A room client's side of snapshot transfers: providing a snapshot when the relay asks, and, as a
//! joiner behind the room's history, receiving one, loading it (the session restarts at its frame)
//! and checking it once its frame's checksum is computed. Buffers are allocated with the client.

use framelock_core::{Frame, Simulation};

use super::super::msg::{
    self, Chunk, ChunkAck, ChunkSet, SnapshotRequest, ACK_LOADED, ACK_MISMATCH, ACK_RECEIVING, ACK_STOP,
};
use super::RoomClient;

/// Chunks a provider sends per tick (pacing), the most unacknowledged ones, and the ticks before
/// an unacknowledged chunk is sent again.
const CHUNKS_PER_TICK: u8 = 4;
const WINDOW: usize = 32;
const RESEND_TICKS: u32 = 8;
/// A provider whose chunks see no acknowledgement for this many ticks gives up (the relay has
/// moved on to another member).
const GIVE_UP_TICKS: u32 = 300;
/// Ticks a joiner repeats its final verdict on a loaded snapshot (acknowledgements can be lost).
const VERDICT_REPEATS: u8 = 8;

#[derive(Debug, Clone, Copy)]
struct Provide {
    id: u32,
    min_frame: Frame,
    /// The captured snapshot's frame and checksum.
    captured: Option<(Frame, u64)>,
    progress_tick: u32,
}

#[derive(Debug, Clone, Copy)]
struct Receive {
    id: u32,
    frame: Frame,
    len: usize,
    checksum: u64,
}

/// The transfer state of a client.
#[derive(Debug)]
pub(super) struct Join {
    /// The largest snapshot (the session's `max_snapshot_size`): `buf`'s capacity.
    max: usize,
    buf: Vec<u8>,
    /// Joiner: the chunks that arrived. Provider: the chunks the relay acknowledged.
    chunks: ChunkSet,
    sent_at: Vec<u32>,
    provide: Option<Provide>,
    receive: Option<Receive>,
    /// A loaded snapshot waiting for its frame's checksum: (transfer, frame, agreed checksum).
    verify: Option<(u32, Frame, u64)>,
    /// The acknowledgement to send, and how many more times (once per tick).
    ack: Option<(ChunkAck, u8)>,
    ack_tick: Option<u32>,
    /// The latest transfer this client loaded (its chunks are acknowledged, not loaded again).
    loaded: Option<(u32, u16)>,
    /// The loaded snapshot did not check: the state is wrong until another one is loaded.
    bad: bool,
    ticks: u32,
    budget: u8,
}

impl Join {
    pub(super) fn new(max_snapshot: usize) -> Self {
        Join {
            max: max_snapshot,
            buf: Vec::with_capacity(max_snapshot),
            chunks: ChunkSet::new(max_snapshot),
            sent_at: vec![0; msg::chunks(max_snapshot)],
            provide: None,
            receive: None,
            verify: None,
            ack: None,
            ack_tick: None,
            loaded: None,
            bad: false,
            ticks: 0,
            budget: CHUNKS_PER_TICK,
        }
    }
}

impl<S: Simulation> RoomClient<S> {
    /// False while a loaded snapshot is not checked yet or did not check: the client's checksums
    /// are then not the room's business (they would count as desyncs).
    pub(super) fn state_checked(&self) -> bool {
        self.join.verify.is_none() && !self.join.bad
    }

    /// The relay asks this player for a snapshot.
    pub(super) fn on_snapshot_request(&mut self, r: SnapshotRequest) {
        if self.slot.is_none() || self.join.receive.is_some() || self.join.provide.is_some_and(|p| p.id == r.transfer) {
            return;
        }
        let ticks = self.join.ticks;
        self.join.provide =
            Some(Provide { id: r.transfer, min_frame: r.min_frame, captured: None, progress_tick: ticks });
    }

    /// The relay acknowledges chunks this player provided.
    pub(super) fn on_chunk_ack(&mut self, a: ChunkAck) {
        let Some(mut p) = self.join.provide.filter(|p| p.id == a.transfer && p.captured.is_some()) else { return };
        if a.status == ACK_STOP {
            self.join.provide = None;
            return;
        }
        for i in 0..self.join.chunks.total() {
            if a.has(i) && self.join.chunks.insert(i) {
                p.progress_tick = self.join.ticks;
            }
        }
        self.join.provide = if self.join.chunks.complete() {
            self.stats.snapshots_provided += 1;
            None
        } else {
            Some(p)
        };
    }

    /// A chunk of a snapshot for this client (it is behind the room's history).
    pub(super) fn on_chunk(&mut self, c: &Chunk<'_>) {
        if let Some((id, total)) = self.join.loaded.filter(|l| l.0 == c.transfer) {
            // Already loaded: acknowledge everything again (the relay may have missed it).
            if self.join.ack.is_none() {
                let ack = ChunkAck { transfer: id, status: ACK_RECEIVING, until: total, mask: 0 };
                self.join.ack = Some((ack, 1));
            }
            return;
        }
        let len = c.len as usize;
        if len > self.join.max {
            self.stats.malformed += 1;
            return;
        }
        let r = match self.join.receive {
            Some(r) if r.id == c.transfer => r,
            _ => {
                // A new transfer: this client receives (a provider role it had is dropped).
                self.join.provide = None;
                self.join.chunks.reset(msg::chunks(len));
                self.join.buf.clear();
                self.join.buf.resize(len, 0); // within its capacity: no allocation
                let r = Receive { id: c.transfer, frame: c.frame, len, checksum: c.checksum };
                self.join.receive = Some(r);
                r
            }
        };
        if (r.frame, r.len, r.checksum) != (c.frame, len, c.checksum) {
            self.stats.malformed += 1;
            return;
        }
        if self.join.chunks.insert(usize::from(c.index)) {
            let at = usize::from(c.index) * msg::CHUNK;
            self.join.buf[at..at + c.bytes.len()].copy_from_slice(c.bytes);
        }
        self.join.ack = Some((self.join.chunks.ack(r.id, ACK_RECEIVING), 1));
        if self.join.chunks.complete() {
            self.load_snapshot(r);
        }
    }

    /// Restarts the session at the snapshot's frame and loads the snapshot into the simulation.
    fn load_snapshot(&mut self, r: Receive) {
        self.join.receive = None;
        let total = msg::chunks(r.len).min(msg::MAX_CHUNKS) as u16;
        self.join.loaded = Some((r.id, total));
        let loaded = self.driver.session_mut().restart_at(r.frame).is_ok()
            && self.driver.sim_mut().load(&self.join.buf[..r.len]).is_ok();
        if !loaded {
            // Unusable bytes: the provider lied (or the frame is past what a session can start at).
            self.reject_snapshot(r.id, total);
            return;
        }
        self.join.bad = false;
        self.next_bundle = r.frame;
        self.relay_has = self.relay_has.max(r.frame);
        self.restart_local();
        // Feedback from before the load was about inputs for frames long closed.
        self.lead_fresh = false;
        self.ticks_since_adjust = 0;
        self.join.verify = Some((r.id, r.frame, r.checksum));
        let ack = ChunkAck { transfer: r.id, status: ACK_RECEIVING, until: total, mask: 0 };
        self.join.ack = Some((ack, 1));
    }

    fn reject_snapshot(&mut self, id: u32, total: u16) {
        self.stats.snapshots_rejected += 1;
        self.join.bad = true;
        // Not where it claimed to be: behind again, so the relay sends another member's snapshot.
        self.next_bundle = 0;
        self.join.verify = None;
        let ack = ChunkAck { transfer: id, status: ACK_MISMATCH, until: total, mask: 0 };
        self.join.ack = Some((ack, VERDICT_REPEATS));
    }

    /// After each tick: a provider captures its snapshot once its frame is final; a joiner checks
    /// a loaded snapshot once its frame's checksum exists.
    pub(super) fn transfer_tick(&mut self, ticked: bool) {
        if ticked {
            self.join.ticks = self.join.ticks.wrapping_add(1);
            self.join.budget = CHUNKS_PER_TICK;
        }
        if let Some((id, frame, agreed)) = self.join.verify {
            let session = self.driver.session();
            if session.checksummed_until() > frame {
                let total = self.join.loaded.map_or(0, |l| l.1);
                match session.checksum(frame) {
                    Some(c) if c != agreed => self.reject_snapshot(id, total),
                    // Equal, or a mode that never checksums this frame: trust the relay's check.
                    _ => {
                        self.stats.snapshots_loaded += 1;
                        self.join.verify = None;
                        let ack = ChunkAck { transfer: id, status: ACK_LOADED, until: total, mask: 0 };
                        self.join.ack = Some((ack, VERDICT_REPEATS));
                    }
                }
            }
        }
        let Some(mut p) = self.join.provide else { return };
        if self.join.ticks.wrapping_sub(p.progress_tick) > GIVE_UP_TICKS {
            self.join.provide = None;
            return;
        }
        if p.captured.is_none() {
            let session = self.driver.session();
            let until = session.checksummed_until();
            if until == 0 {
                return;
            }
            let f = (until - 1) / self.checksum_interval * self.checksum_interval;
            let (Some(bytes), Some(checksum)) = (session.final_snapshot(f), session.checksum(f)) else { return };
            if f < p.min_frame || bytes.len() > self.join.max {
                return;
            }
            self.join.buf.clear();
            self.join.buf.extend_from_slice(bytes); // within its capacity: no allocation
            self.join.chunks.reset(msg::chunks(bytes.len()));
            self.join.sent_at.fill(0);
            p.captured = Some((f, checksum));
            p.progress_tick = self.join.ticks;
            self.join.provide = Some(p);
        }
    }

    /// Writes the next snapshot-transfer message (an acknowledgement as a joiner, a chunk as a
    /// provider) into `buf` and returns its length; call it after [`RoomClient::poll_transmit`]
    /// until `None`. Chunks are paced (a few per tick) and resent until acknowledged.
    pub fn poll_transfer(&mut self, buf: &mut [u8]) -> Option<usize> {
        if let Some((ack, left)) = self.join.ack.filter(|_| self.join.ack_tick != Some(self.join.ticks)) {
            // At most one acknowledgement per tick; a verdict is repeated on the next ticks.
            self.join.ack = (left > 1).then_some((ack, left - 1));
            self.join.ack_tick = Some(self.join.ticks);
            return Some(ack.encode(buf));
        }
        let p = self.join.provide?;
        let (frame, checksum) = p.captured?;
        if self.join.budget == 0 || buf.len() < msg::CHUNK + 32 {
            return None;
        }
        let chunks = &self.join.chunks;
        let first = (0..chunks.total()).find(|&i| !chunks.has(i))?;
        let ticks = self.join.ticks;
        let i = (first..chunks.total().min(first + WINDOW)).find(|&i| {
            !chunks.has(i) && (self.join.sent_at[i] == 0 || ticks.wrapping_sub(self.join.sent_at[i]) >= RESEND_TICKS)
        })?;
        self.join.sent_at[i] = ticks.max(1);
        self.join.budget -= 1;
        Some(Chunk::encode(buf, p.id, frame, checksum, 0, i as u16, &self.join.buf))
    }
}
