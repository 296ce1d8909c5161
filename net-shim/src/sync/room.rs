//! The relay's side of a room: a frame clock that closes one frame per tick with every slot's input
//! (or a flagged substitute), bundles sent to every client until acknowledged, time-sync feedback,
//! checksum arbitration, and snapshot transfers for members behind the history. Sans-IO:
//! `handle_update(now, slot, bytes)`, `handle_timeout(now)`, `poll_transmit(buf)`, `poll_timeout()`.

use framelock_core::Frame;

mod snapshot;

pub use super::config::{RoomConfig, RoomConfigError, LAST_FRAME};
use super::msg::{
    self, BundledInput, Chunk, ChunkAck, Kind, MsgError, Update, Writer, FLAG_DISCONNECTED, FLAG_SUBSTITUTED,
};
pub use snapshot::TransferStats;

/// What a room counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoomStats {
    /// Frames closed.
    pub frames_closed: u64,
    /// Inputs that arrived after their frame was closed.
    pub late_inputs: u64,
    /// Inputs of connected slots the relay had to substitute.
    pub substitutes: u64,
    /// Updates dropped because they did not decode.
    pub malformed: u64,
    /// Bundles sent.
    pub bundles_sent: u64,
    /// Frames in which clients' checksums disagreed (each frame once, however often it is reported).
    pub desyncs: u64,
}

#[derive(Debug, Clone, Copy)]
struct Member {
    connected: bool,
    /// The client has every closed frame below this.
    next_bundle: Frame,
    /// The relay has this client's inputs (or closed the frames) below this.
    next_input: Frame,
    lead: i16,
    /// A bundle is due (a frame closed since the last one).
    dirty: bool,
    /// Where the next bundle of this tick's burst starts (a member far behind gets several).
    burst_from: Frame,
    burst_left: u8,
    /// Its acknowledgement is below the history: it waits for a snapshot (and gets no bundles).
    behind: bool,
    /// The frame of the snapshot it loaded: acknowledgements below it predate the load.
    floor: Frame,
    /// A player whose latest judged checksum was the majority: it may provide snapshots.
    trusted: bool,
}

/// Bundles a member that is behind (joining late, coming back) may get per tick.
const MAX_BURST: u8 = 8;

/// One room on the relay.
#[derive(Debug)]
pub struct Room {
    cfg: RoomConfig,
    slots: usize,
    max_input: usize,
    period_us: u64,
    start_us: Option<u64>,
    /// The frame the clock started at (0 unless [`Room::start_at`]).
    clock_base: Frame,
    next_close: Frame,
    members: Vec<Member>,
    /// Inputs received for frames `[next_close, next_close + input_window)`: per row, per slot.
    pending: Vec<u8>,
    pending_len: Vec<u16>,
    /// Closed frames: per row (frame & (history - 1)), per slot.
    closed: Vec<u8>,
    closed_len: Vec<u8>,
    closed_flags: Vec<u8>,
    last: Vec<u8>,
    last_len: Vec<u8>,
    /// Reported checksums per closed-history row and slot (`None`: not reported).
    checksums: Vec<Option<u64>>,
    /// Per closed-history row: the verdict once every connected player reported `(majority,
    /// disagreeing slots)`, so a frame is judged (and a disagreement counted and reported) once,
    /// however often clients repeat their checksums.
    verdicts: Vec<Option<(u64, u64)>>,
    /// The most recent desync findings `(frame, disagreeing slots, majority)`, repeated in bundles.
    desyncs: [(Frame, u64, u64); 4],
    desync_count: usize,
    next_member: usize,
    stats: RoomStats,
    transfer: snapshot::Transfer,
    transfer_stats: TransferStats,
    /// A snapshot request is due to the transfer's provider.
    pending_request: bool,
    /// The latest time the room was given.
    now_us: u64,
}

const NONE: u16 = u16::MAX;

impl Room {
    /// A room with every slot disconnected; its clock starts at the first `handle_timeout`.
    ///
    /// Errors: a [`RoomConfigError`] naming the setting that is out of range.
    pub fn new(cfg: RoomConfig) -> Result<Self, RoomConfigError> {
        cfg.validate()?;
        let slots = usize::from(cfg.slots);
        let max_input = usize::from(cfg.max_input_size);
        let history = cfg.history.max(16).next_power_of_two();
        let window = cfg.input_window;
        let cfg = RoomConfig { history, ..cfg };
        let mut last = vec![0u8; slots * max_input];
        let d = cfg.default_input.len().min(max_input);
        for s in 0..slots {
            last[s * max_input..s * max_input + d].copy_from_slice(&cfg.default_input[..d]);
        }
        Ok(Room {
            period_us: 1_000_000 / u64::from(cfg.tick_rate),
            slots,
            max_input,
            start_us: None,
            clock_base: 0,
            next_close: 0,
            members: vec![
                Member {
                    connected: false,
                    next_bundle: 0,
                    next_input: 0,
                    lead: 0,
                    dirty: false,
                    burst_from: 0,
                    burst_left: 0,
                    behind: false,
                    floor: 0,
                    trusted: false,
                };
                slots + usize::from(cfg.max_spectators)
            ],
            pending: vec![0; window as usize * slots * max_input],
            pending_len: vec![NONE; window as usize * slots],
            closed: vec![0; history as usize * slots * max_input],
            closed_len: vec![0; history as usize * slots],
            closed_flags: vec![0; history as usize * slots],
            last,
            last_len: vec![d as u8; slots],
            checksums: vec![None; history as usize * slots],
            verdicts: vec![None; history as usize],
            desyncs: [(0, 0, 0); 4],
            desync_count: 0,
            next_member: 0,
            stats: RoomStats::default(),
            transfer: snapshot::Transfer::default(),
            transfer_stats: TransferStats::default(),
            pending_request: false,
            now_us: 0,
            cfg,
        })
    }

    /// Starts the frame clock at `frame` instead of 0 (before the first `handle_timeout`; later it
    /// does nothing): for tests of the clock's end, which no one waits 414 days for at 120 Hz. The
    /// frames below it count as closed and are not in the history.
    pub fn start_at(&mut self, frame: Frame) {
        if self.start_us.is_none() && self.stats.frames_closed == 0 {
            self.next_close = frame.min(LAST_FRAME + 1);
            self.clock_base = self.next_close;
            for m in &mut self.members {
                m.next_bundle = self.next_close;
                m.next_input = self.next_close;
                m.burst_from = self.next_close;
            }
        }
    }

    /// True once the room closed [`LAST_FRAME`]: its clock has ended and the match is over (it keeps
    /// resending what clients have not acknowledged, but closes no frame and sets no deadline).
    pub fn is_over(&self) -> bool {
        self.next_close > LAST_FRAME
    }

    /// A client took `slot`: it receives the room's history from the frame its updates acknowledge
    /// on, so a player who joins late or comes back catches up; one whose acknowledgement is below
    /// the oldest frame kept starts from a verified snapshot (see `snapshot`, and
    /// docs/wire-protocol.md). (Slots `0..slots` are players.)
    pub fn connect(&mut self, slot: usize) {
        if slot < self.slots {
            self.admit(slot);
        }
    }

    /// Admits a spectator: it receives bundles like a player and sends no inputs. Returns its member
    /// id (at least `slots`, used like a slot with `handle_update`, `poll_transmit` and
    /// `disconnect`), or `None` when the room is full.
    pub fn connect_spectator(&mut self) -> Option<usize> {
        let id = (self.slots..self.members.len()).find(|&i| !self.members[i].connected)?;
        self.admit(id);
        Some(id)
    }

    fn admit(&mut self, id: usize) {
        if id < self.slots {
            // A new client in the slot: its reports start afresh.
            for row in 0..self.cfg.history as usize {
                self.checksums[row * self.slots + id] = None;
            }
        }
        let (oldest, next_close) = (self.oldest(), self.next_close);
        if let Some(m) = self.members.get_mut(id) {
            *m = Member {
                connected: true,
                next_bundle: oldest,
                next_input: next_close,
                lead: 0,
                dirty: true,
                burst_from: oldest,
                burst_left: MAX_BURST,
                behind: false,
                floor: 0,
                trusted: false,
            };
        }
    }

    /// The client of `slot` (or a spectator) left: a player's input is the default input from the next
    /// frame the room closes, flagged disconnected.
    pub fn disconnect(&mut self, slot: usize) {
        if let Some(m) = self.members.get_mut(slot) {
            m.connected = false;
        }
    }

    /// The frame the room closes next.
    pub fn next_close(&self) -> Frame {
        self.next_close
    }

    /// Every slot's input of a closed frame still in the history (for recording the room as an input
    /// log: `LogWriter::record_inputs` with flags 1 = disconnected, 2 = substituted, as in the log format).
    pub fn closed_frame(&self, frame: Frame) -> Option<impl ExactSizeIterator<Item = BundledInput<'_>> + '_> {
        if frame >= self.next_close || frame < self.oldest() {
            return None;
        }
        let row = self.closed_row(frame);
        Some((0..self.slots).map(move |s| {
            let i = row + s;
            let p = i * self.max_input;
            BundledInput { flags: self.closed_flags[i], bytes: &self.closed[p..p + usize::from(self.closed_len[i])] }
        }))
    }

    /// The checksum every connected client reported for `frame`, once they all did and agree.
    pub fn agreed_checksum(&self, frame: Frame) -> Option<u64> {
        if frame >= self.next_close || frame < self.oldest() {
            return None;
        }
        let row = self.closed_row(frame);
        if let Some((c, mask)) = self.verdicts[row / self.slots] {
            return (mask == 0).then_some(c);
        }
        let mut agreed = None;
        for s in (0..self.slots).filter(|&s| self.members[s].connected && !self.members[s].behind) {
            let c = self.checksums[row + s]?;
            if agreed.is_some_and(|a| a != c) {
                return None;
            }
            agreed = Some(c);
        }
        agreed
    }

    /// What the room counted.
    pub fn stats(&self) -> RoomStats {
        self.stats
    }

    /// What the room's snapshot transfers counted.
    pub fn transfer_stats(&self) -> TransferStats {
        self.transfer_stats
    }

    /// The oldest closed frame the history holds.
    fn oldest(&self) -> Frame {
        self.next_close.saturating_sub(self.cfg.history).max(self.clock_base)
    }

    fn pending_row(&self, frame: Frame) -> usize {
        (frame % self.cfg.input_window) as usize * self.slots
    }

    fn closed_row(&self, frame: Frame) -> usize {
        (frame & (self.cfg.history - 1)) as usize * self.slots
    }

    /// Takes a client's update: inputs, acknowledgement, checksums. A malformed one is dropped and counted.
    /// Snapshot-transfer messages (chunks from a provider, acknowledgements from a joiner) arrive
    /// here too.
    pub fn handle_update(&mut self, now_us: u64, slot: usize, bytes: &[u8]) -> Result<(), MsgError> {
        let Some(m) = self.members.get(slot).copied().filter(|m| m.connected) else { return Ok(()) };
        self.now_us = self.now_us.max(now_us);
        let other = match msg::kind(bytes) {
            Some(Kind::Update) => None,
            Some(Kind::Chunk) => Some(Chunk::decode(bytes).map(|c| self.on_chunk(now_us, slot, &c))),
            Some(Kind::ChunkAck) => Some(ChunkAck::decode(bytes).map(|a| self.on_ack(now_us, slot, &a))),
            // A relay's message sent back, or an unknown tag.
            _ => Some(Err(MsgError::Malformed)),
        };
        if let Some(r) = other {
            if r.is_err() {
                self.stats.malformed += 1;
            }
            return r;
        }
        let u = match Update::decode(bytes, self.max_input) {
            Ok(u) => u,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        let mut member = m;
        let acked = u.next_bundle.min(self.next_close);
        if acked < member.floor {
            // Sent before it loaded its snapshot: stale.
        } else if acked < self.oldest() && self.cfg.max_snapshot_size > 0 {
            // The history moved on past it: it needs a snapshot (see `snapshot`).
            member.behind = true;
            member.next_bundle = acked;
        } else if member.behind && !self.is_joining(slot) {
            member.behind = false;
            member.next_bundle = acked.max(self.oldest());
        } else if !member.behind {
            member.next_bundle = member.next_bundle.max(acked);
        }
        if slot >= self.slots {
            self.members[slot] = member; // a spectator only acknowledges
            return Ok(());
        }
        let mut newest = None;
        for (frame, input) in u.inputs() {
            if frame < self.next_close {
                if frame >= member.next_input {
                    self.stats.late_inputs += 1;
                }
                continue;
            }
            if frame - self.next_close >= self.cfg.input_window || frame > LAST_FRAME {
                break;
            }
            newest = Some(frame);
            let i = self.pending_row(frame) + slot;
            if self.pending_len[i] == NONE {
                let p = i * self.max_input;
                self.pending[p..p + input.len()].copy_from_slice(input);
                self.pending_len[i] = input.len() as u16;
            }
        }
        if let Some(f) = newest {
            member.lead = (i64::from(f) - i64::from(self.next_close)).clamp(-1000, 1000) as i16;
        } else if u.count > 0 && u.first.saturating_add(u32::from(u.count)) <= self.next_close {
            // Everything it sent was late: tell it by how much.
            let newest = u.first + u32::from(u.count) - 1;
            member.lead = (i64::from(newest) - i64::from(self.next_close)).clamp(-1000, 1000) as i16;
        }
        let mut n = member.next_input.max(self.next_close);
        while n <= LAST_FRAME
            && n - self.next_close < self.cfg.input_window
            && self.pending_len[self.pending_row(n) + slot] != NONE
        {
            n += 1;
        }
        member.next_input = n;
        self.members[slot] = member;
        for (frame, checksum) in u.checksums() {
            if frame < self.next_close && frame >= self.oldest() {
                let i = self.closed_row(frame) + slot;
                if self.checksums[i].is_none() {
                    self.checksums[i] = Some(checksum);
                    self.arbitrate(frame, slot);
                }
            }
        }
        Ok(())
    }

    /// Compares the checksums reported for `frame` once every connected slot reported one, once: a
    /// frame gets one verdict, and a disagreement is counted and reported once. A report that comes
    /// after the verdict (a client that joined since) is held against the verdict's majority: it
    /// joins the frame's disagreeing slots without counting the frame again.
    fn arbitrate(&mut self, frame: Frame, slot: usize) {
        let row = self.closed_row(frame);
        let vrow = row / self.slots;
        if let Some((majority, mask)) = self.verdicts[vrow] {
            self.members[slot].trusted = self.checksums[row + slot] == Some(majority);
            if self.checksums[row + slot].is_some_and(|c| c != majority) && mask >> slot & 1 == 0 {
                self.verdicts[vrow] = Some((majority, mask | 1 << slot));
                self.report(frame, majority, mask | 1 << slot, mask == 0);
            }
            return;
        }
        let mut reported = [0u64; 64];
        let mut n = 0;
        for s in 0..self.slots {
            if self.members[s].connected && !self.members[s].behind {
                match self.checksums[row + s] {
                    Some(c) => {
                        reported[n] = c;
                        n += 1;
                    }
                    None => return,
                }
            }
        }
        if n == 0 {
            return;
        }
        // The majority value (ties: the smallest slot's value wins; deterministic).
        let majority =
            (0..n).max_by_key(|&i| (reported[..n].iter().filter(|&&c| c == reported[i]).count(), usize::MAX - i));
        let Some(majority) = majority.map(|i| reported[i]) else { return };
        let mut mask = 0u64;
        for s in 0..self.slots {
            if let Some(c) = self.checksums[row + s] {
                if c != majority {
                    mask |= 1 << s;
                }
                // With a single player there is nothing to compare: it is trusted alone.
                self.members[s].trusted = c == majority;
            }
        }
        self.verdicts[vrow] = Some((majority, mask));
        if mask != 0 {
            self.report(frame, majority, mask, true);
        }
    }

    /// Records a disagreement on `frame` for the bundles (updating the frame's report when it is
    /// still among the recent ones); `new` counts it.
    fn report(&mut self, frame: Frame, majority: u64, mask: u64, new: bool) {
        if new {
            self.stats.desyncs += 1;
        }
        let recent = self.desync_count.min(self.desyncs.len());
        if let Some(d) = self.desyncs[..recent].iter_mut().find(|d| d.0 == frame) {
            *d = (frame, mask, majority);
        } else {
            self.desyncs[self.desync_count % self.desyncs.len()] = (frame, mask, majority);
            self.desync_count += 1;
        }
    }

    /// When `handle_timeout` must be called next (microseconds, the caller's clock); `None` before
    /// the clock started and once the match is over ([`Room::is_over`]).
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.is_over() {
            return None;
        }
        self.start_us.map(|s| self.close_time(s, self.next_close))
    }

    /// When frame `frame` closes, for a clock started at `start` (in u64 microseconds: 2^32 frames
    /// at 1 s each is far inside it, so no overflow).
    fn close_time(&self, start: u64, frame: Frame) -> u64 {
        start.saturating_add((u64::from(frame - self.clock_base) + 1) * self.period_us)
    }

    /// Closes every frame whose time has come, up to [`LAST_FRAME`]: there the clock ends and the
    /// match is over ([`Room::is_over`]); later calls close nothing.
    pub fn handle_timeout(&mut self, now_us: u64) {
        let start = *self.start_us.get_or_insert(now_us);
        self.now_us = self.now_us.max(now_us);
        let mut closed = false;
        while !self.is_over() && now_us >= self.close_time(start, self.next_close) {
            self.close_frame();
            closed = true;
        }
        self.transfer_tick(now_us, closed);
    }

    fn close_frame(&mut self) {
        let f = self.next_close;
        let (prow, crow) = (self.pending_row(f), self.closed_row(f));
        for s in 0..self.slots {
            let (pi, ci) = (prow + s, crow + s);
            let (src, len, flags): (&[u8], usize, u8) = if !self.members[s].connected {
                (&self.cfg.default_input, self.cfg.default_input.len().min(self.max_input), FLAG_DISCONNECTED)
            } else if self.pending_len[pi] != NONE {
                let len = usize::from(self.pending_len[pi]);
                let p = pi * self.max_input;
                self.last[s * self.max_input..s * self.max_input + len].copy_from_slice(&self.pending[p..p + len]);
                self.last_len[s] = len as u8;
                (&self.last[s * self.max_input..], len, 0)
            } else {
                self.stats.substitutes += 1;
                (&self.last[s * self.max_input..], usize::from(self.last_len[s]), FLAG_SUBSTITUTED)
            };
            let c = ci * self.max_input;
            self.closed[c..c + len].copy_from_slice(&src[..len]);
            self.closed_len[ci] = len as u8;
            self.closed_flags[ci] = flags;
            self.pending_len[pi] = NONE;
            self.checksums[ci] = None;
        }
        self.verdicts[crow / self.slots] = None;
        self.next_close += 1;
        self.stats.frames_closed += 1;
        for m in self.members.iter_mut().filter(|m| m.connected) {
            m.next_input = m.next_input.max(self.next_close);
            m.dirty = true;
            m.burst_from = m.next_bundle;
            m.burst_left = MAX_BURST;
        }
    }

    /// Writes the next due bundle into `buf` (at least [`msg::MAX_MESSAGE`] bytes) and returns the
    /// slot to send it to and its length.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> Option<(usize, usize)> {
        let n = self.members.len();
        for k in 0..n {
            let slot = (self.next_member + k) % n;
            let m = self.members[slot];
            if !(m.connected && m.dirty) {
                continue;
            }
            if m.behind {
                // Bundles cannot help a member behind the history; the snapshot transfer does.
                self.members[slot].dirty = false;
                continue;
            }
            let (len, end) = self.write_bundle(slot, buf);
            let m = &mut self.members[slot];
            m.burst_left -= 1;
            // Behind by more than a packet holds: the next bundle of the burst continues from `end`.
            m.dirty = end < self.next_close && m.burst_left > 0;
            m.burst_from = end;
            if !m.dirty {
                self.next_member = slot + 1;
            }
            self.stats.bundles_sent += 1;
            return Some((slot, len));
        }
        self.poll_transfer(buf)
    }

    /// Writes a bundle for `slot`; returns its length and the frame after its last.
    fn write_bundle(&self, slot: usize, buf: &mut [u8]) -> (usize, Frame) {
        let m = self.members[slot];
        let cap = buf.len().min(msg::MAX_MESSAGE);
        let mut w = Writer::new(&mut buf[..cap]);
        let oldest = self.oldest();
        let first = m.burst_from.max(m.next_bundle).max(oldest);
        let count_at = msg::begin_bundle(&mut w, m.next_input, m.lead, self.slots as u8, first);
        let desyncs = &self.desyncs[..self.desync_count.min(4)];
        let reserve = 1 + 20 * desyncs.len();
        let mut count = 0u8;
        let mut f = first;
        while f < self.next_close && count < u8::MAX {
            let row = self.closed_row(f);
            let inputs = (0..self.slots).map(|s| {
                let i = row + s;
                let p = i * self.max_input;
                BundledInput {
                    flags: self.closed_flags[i],
                    bytes: &self.closed[p..p + usize::from(self.closed_len[i])],
                }
            });
            if !msg::put_frame(&mut w, inputs, reserve) {
                break;
            }
            count += 1;
            f += 1;
        }
        msg::finish_bundle(&mut w, count_at, count, desyncs);
        (w.len(), f)
    }
}
