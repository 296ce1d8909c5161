//! The relay's side of a snapshot transfer: a member that joins or comes back after the room's
//! history moved on starts from a verified snapshot of a recent agreed frame.
//!
//! One transfer at a time per room: the relay asks a trusted player (one whose latest reported
//! checksum was the room's majority) for a snapshot, collects its chunks (acknowledging them), checks
//! it against the room's agreed checksum of its frame, and streams it to the joiner (paced, resent
//! until acknowledged). A provider that lies, stalls or leaves is skipped and another asked; the
//! room's clock never waits for any of it. See docs/wire-protocol.md.

use framelock_core::{checksum64, Frame};

use super::super::msg::{self, Chunk, ChunkAck, ChunkSet, SnapshotRequest, ACK_LOADED, ACK_MISMATCH, CHUNK_VERIFIED};
use super::{Room, MAX_BURST};

/// A provider that sends nothing new for this long is skipped.
const STALL_US: u64 = 2_000_000;
/// How long a collected snapshot may wait for the room to agree on its frame.
const VERIFY_US: u64 = 3_000_000;
/// How long a joiner may take to load and check a delivered snapshot.
const LOAD_US: u64 = 5_000_000;
/// The request is repeated this often until the provider answers (requests can be lost).
const REQUEST_EVERY_US: u64 = 250_000;
/// A chunk not acknowledged this long after it was sent is sent again.
const RESEND_US: u64 = 200_000;
/// Chunks sent to a joiner per frame the room closes (pacing), and the most unacknowledged ones.
const CHUNKS_PER_TICK: u8 = 4;
const WINDOW: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The request went to `provider`; no chunk arrived yet.
    Asking,
    /// Chunks are arriving from `provider`.
    Collecting,
    /// Every chunk arrived; waiting for the room to agree on the frame's checksum.
    Verifying,
    /// Streaming to the joiner.
    Delivering,
    /// The joiner has every chunk; waiting for it to load and check it.
    Loading,
}

#[derive(Debug, Clone, Copy)]
struct Active {
    id: u32,
    joiner: usize,
    provider: Option<usize>,
    /// Players skipped in this transfer.
    failed: u64,
    phase: Phase,
    /// The last progress (or the phase's start).
    since_us: u64,
    request_at: u64,
    frame: Frame,
    len: usize,
    /// The provider's checksum of `frame`.
    claimed: u64,
    /// The room's agreed checksum of `frame` (once verified).
    agreed: u64,
    flags: u8,
    ack_due: bool,
    budget: u8,
}

/// The transfer state of a room; its buffers are allocated at the room's first transfer and reused.
#[derive(Debug, Default)]
pub(super) struct Transfer {
    next_id: u32,
    last_joiner: usize,
    active: Option<Active>,
    buf: Vec<u8>,
    got: Option<ChunkSet>,
    acked: Option<ChunkSet>,
    sent_at: Vec<u64>,
}

/// What snapshot transfers counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// Transfers started (a member behind the history).
    pub started: u64,
    /// Snapshots a joiner loaded and found matching the agreed checksum.
    pub delivered: u64,
    /// Snapshots found forged or wrong (by the relay, or by the joiner after loading).
    pub rejected: u64,
    /// Providers skipped because they stalled, left or sent something unusable.
    pub skipped: u64,
}

impl Room {
    /// True while `member` is the joiner of the running transfer.
    pub(super) fn is_joining(&self, member: usize) -> bool {
        self.transfer.active.is_some_and(|a| a.joiner == member)
    }

    /// Advances the transfer: starts one for a member behind the history, times out stalls,
    /// verifies a collected snapshot. Called on every `handle_timeout`.
    pub(super) fn transfer_tick(&mut self, now: u64, closed: bool) {
        if self.cfg.max_snapshot_size == 0 {
            return;
        }
        let Some(mut a) = self.transfer.active else {
            self.start_transfer(now);
            return;
        };
        if closed {
            a.budget = CHUNKS_PER_TICK;
        }
        let joiner = self.members[a.joiner];
        let frame_gone = matches!(a.phase, Phase::Verifying | Phase::Delivering) && a.frame < self.oldest();
        if !joiner.connected || (!joiner.behind && a.phase != Phase::Loading) {
            self.transfer.active = None;
            return;
        }
        if frame_gone {
            // The room moved past the snapshot before the joiner got it: ask again (no one's fault).
            a.phase = Phase::Asking;
            a.provider = None;
            self.transfer.active = Some(a);
            self.next_provider(now);
            return;
        }
        let provider_gone = a.provider.is_none_or(|p| !self.members[p].connected);
        match a.phase {
            Phase::Asking | Phase::Collecting if provider_gone || now.saturating_sub(a.since_us) > STALL_US => {
                self.transfer.active = Some(a);
                self.skip_provider(now);
                return;
            }
            Phase::Asking if now.saturating_sub(a.request_at) >= REQUEST_EVERY_US => {
                a.request_at = now;
                self.pending_request = true;
            }
            Phase::Verifying => {
                self.transfer.active = Some(a);
                if let Some(agreed) = self.agreed_checksum(a.frame) {
                    self.verify(now, agreed);
                } else if now.saturating_sub(a.since_us) > VERIFY_US {
                    self.skip_provider(now);
                }
                return;
            }
            Phase::Delivering if now.saturating_sub(a.since_us) > STALL_US => {
                // The joiner stopped acknowledging: start over later.
                self.transfer.active = None;
                return;
            }
            Phase::Loading if now.saturating_sub(a.since_us) > LOAD_US => {
                self.transfer.active = None;
                return;
            }
            _ => {}
        }
        self.transfer.active = Some(a);
    }

    fn start_transfer(&mut self, now: u64) {
        // Round robin from the member after the last joiner, so a joiner whose transfers keep
        // failing (or that claims they do) cannot starve the others.
        let n = self.members.len();
        let from = self.transfer.last_joiner + 1;
        let Some(joiner) =
            (0..n).map(|k| (from + k) % n).find(|&m| self.members[m].connected && self.members[m].behind)
        else {
            return;
        };
        self.transfer.last_joiner = joiner;
        let cap = self.cfg.max_snapshot_size as usize;
        if self.transfer.got.is_none() {
            // Allocated once, at the room's first transfer, and reused by every later one.
            self.transfer.buf = Vec::with_capacity(cap);
            self.transfer.got = Some(ChunkSet::new(cap));
            self.transfer.acked = Some(ChunkSet::new(cap));
            self.transfer.sent_at = vec![0; msg::chunks(cap)];
        }
        self.transfer.next_id = self.transfer.next_id.wrapping_add(1);
        self.transfer.active = Some(Active {
            id: self.transfer.next_id,
            joiner,
            provider: None,
            failed: 0,
            phase: Phase::Asking,
            since_us: now,
            request_at: now,
            frame: 0,
            len: 0,
            claimed: 0,
            agreed: 0,
            flags: 0,
            ack_due: false,
            budget: CHUNKS_PER_TICK,
        });
        self.transfer_stats.started += 1;
        self.next_provider(now);
    }

    /// Skips the current provider (counted) and asks the next one.
    fn skip_provider(&mut self, now: u64) {
        if let Some(a) = &mut self.transfer.active {
            if let Some(p) = a.provider.take() {
                a.failed |= 1 << p;
                self.transfer_stats.skipped += 1;
            }
        }
        self.next_provider(now);
    }

    /// Asks a trusted player that was not skipped yet; when none is left, every player is given
    /// another chance (after a pause: the request repeats only every `REQUEST_EVERY_US`).
    fn next_provider(&mut self, now: u64) {
        let Some(mut a) = self.transfer.active else { return };
        let eligible = |room: &Room, s: usize, failed: u64| {
            let m = room.members[s];
            s != a.joiner && m.connected && !m.behind && m.trusted && failed >> s & 1 == 0
        };
        let mut pick = (0..self.slots).find(|&s| eligible(self, s, a.failed));
        if pick.is_none() && a.failed != 0 {
            a.failed = 0;
            pick = (0..self.slots).find(|&s| eligible(self, s, 0));
        }
        a.provider = pick;
        // Each provider gets its own transfer id: chunks from one skipped earlier, and a joiner's
        // acknowledgements of an earlier snapshot, no longer count.
        self.transfer.next_id = self.transfer.next_id.wrapping_add(1);
        a.id = self.transfer.next_id;
        a.phase = Phase::Asking;
        a.since_us = now;
        a.request_at = now;
        a.ack_due = false;
        self.pending_request = pick.is_some();
        self.transfer.active = Some(a);
    }

    /// A chunk from a provider.
    pub(super) fn on_chunk(&mut self, now: u64, from: usize, c: &Chunk<'_>) {
        let Some(mut a) = self.transfer.active else { return };
        if a.id != c.transfer || a.provider != Some(from) || !matches!(a.phase, Phase::Asking | Phase::Collecting) {
            return;
        }
        let len = c.len as usize;
        if a.phase == Phase::Asking {
            let fits = len <= self.cfg.max_snapshot_size as usize;
            if !fits || c.frame >= self.next_close || c.frame < self.oldest() {
                self.skip_provider(now);
                return;
            }
            let Some(got) = &mut self.transfer.got else { return };
            got.reset(msg::chunks(len));
            self.transfer.buf.clear();
            self.transfer.buf.resize(len, 0); // within the capacity allocated at the first transfer
            a = Active { phase: Phase::Collecting, frame: c.frame, len, claimed: c.checksum, ..a };
        } else if (c.frame, len, c.checksum) != (a.frame, a.len, a.claimed) {
            return;
        }
        let Some(got) = &mut self.transfer.got else { return };
        if got.insert(usize::from(c.index)) {
            let at = usize::from(c.index) * msg::CHUNK;
            self.transfer.buf[at..at + c.bytes.len()].copy_from_slice(c.bytes);
            a.since_us = now;
        }
        a.ack_due = true;
        if got.complete() {
            a.phase = Phase::Verifying;
            a.since_us = now;
        }
        self.transfer.active = Some(a);
        if a.phase == Phase::Verifying {
            if let Some(agreed) = self.agreed_checksum(a.frame) {
                self.verify(now, agreed);
            }
        }
    }

    /// Checks the collected snapshot against the room's agreed checksum of its frame.
    fn verify(&mut self, now: u64, agreed: u64) {
        let Some(mut a) = self.transfer.active else { return };
        let bytes_match = checksum64(&self.transfer.buf[..a.len]) == agreed;
        let flags = if bytes_match {
            CHUNK_VERIFIED
        } else if !self.cfg.snapshot_hashed && a.claimed == agreed {
            0 // the simulation checksums itself: the joiner checks after loading
        } else {
            self.transfer_stats.rejected += 1;
            self.skip_provider(now);
            return;
        };
        let Some(acked) = &mut self.transfer.acked else { return };
        acked.reset(msg::chunks(a.len));
        self.transfer.sent_at.fill(0);
        a = Active { phase: Phase::Delivering, agreed, flags, since_us: now, ..a };
        self.transfer.active = Some(a);
    }

    /// An acknowledgement from the joiner.
    pub(super) fn on_ack(&mut self, now: u64, from: usize, ack: &ChunkAck) {
        let Some(mut a) = self.transfer.active else { return };
        if a.id != ack.transfer || a.joiner != from || !matches!(a.phase, Phase::Delivering | Phase::Loading) {
            return;
        }
        let Some(acked) = &mut self.transfer.acked else { return };
        for i in 0..acked.total() {
            if ack.has(i) && acked.insert(i) {
                a.since_us = now;
            }
        }
        if a.phase == Phase::Delivering && (acked.complete() || ack.status != msg::ACK_RECEIVING) {
            // The joiner has it: it gets bundles from the snapshot's frame on.
            a.phase = Phase::Loading;
            a.since_us = now;
            let m = &mut self.members[from];
            m.behind = false;
            m.floor = a.frame;
            m.next_bundle = a.frame;
            m.burst_from = a.frame;
            m.burst_left = MAX_BURST;
            m.dirty = true;
        }
        self.transfer.active = Some(a);
        match ack.status {
            ACK_LOADED => {
                self.transfer_stats.delivered += 1;
                self.transfer.active = None;
            }
            ACK_MISMATCH => {
                // The joiner loaded it and its state does not check: the provider lied. Another
                // provider is asked, but the next behind member comes first.
                self.transfer_stats.rejected += 1;
                let m = &mut self.members[from];
                m.behind = true;
                m.floor = 0;
                m.next_bundle = 0;
                self.skip_provider(now);
                if (0..self.members.len()).any(|i| i != from && self.members[i].connected && self.members[i].behind) {
                    self.transfer.active = None;
                }
            }
            _ => {}
        }
    }

    /// Writes the next transfer message due (a request or an acknowledgement to the provider, a
    /// chunk to the joiner) into `buf`; returns the member to send it to and its length.
    pub(super) fn poll_transfer(&mut self, buf: &mut [u8]) -> Option<(usize, usize)> {
        let mut a = self.transfer.active?;
        if self.pending_request {
            self.pending_request = false;
            let p = a.provider?;
            let r = SnapshotRequest { transfer: a.id, min_frame: self.oldest() };
            return Some((p, r.encode(buf)));
        }
        if a.ack_due {
            a.ack_due = false;
            self.transfer.active = Some(a);
            let p = a.provider?;
            let got = self.transfer.got.as_ref()?;
            return Some((p, got.ack(a.id, msg::ACK_RECEIVING).encode(buf)));
        }
        if a.phase != Phase::Delivering || a.budget == 0 {
            return None;
        }
        let acked = self.transfer.acked.as_ref()?;
        let first = (0..acked.total()).find(|&i| !acked.has(i))?;
        let now = self.now_us;
        let i = (first..acked.total().min(first + WINDOW)).find(|&i| {
            !acked.has(i) && (self.transfer.sent_at[i] == 0 || now >= self.transfer.sent_at[i] + RESEND_US)
        })?;
        self.transfer.sent_at[i] = now.max(1);
        a.budget -= 1;
        self.transfer.active = Some(a);
        let snapshot = &self.transfer.buf[..a.len];
        Some((a.joiner, Chunk::encode(buf, a.id, a.frame, a.agreed, a.flags, i as u16, snapshot)))
    }
}
