//! A player's side of a room: a core session under relay authority, fed by the relay's bundles,
//! sending its inputs (redundantly, until acknowledged) and checksums, and keeping its inputs
//! early enough with the relay's time-sync feedback. Sans-IO: `handle_bundle(bytes)`,
//! `tick(input)`, `poll_transmit(buf)`.

use framelock_core::{Driver, Error, Frame, Outcome, Simulation};

use super::msg::{
    self, Bundle, Chunk, ChunkAck, Kind, MsgError, SnapshotRequest, Writer, FLAG_DISCONNECTED, FLAG_SUBSTITUTED,
};

mod snapshot;

/// Inputs kept for resending: a power of two, more than any input delay plus round trip in frames.
const SENT_RING: u32 = 256;
/// The time-sync target: inputs should reach the relay at least this many frames before it closes
/// them. A client that is late raises its input delay by the whole deficit; one that is early by
/// more than two frames lowers it by one.
const TARGET_LEAD: i16 = 2;
/// Ticks between two input-delay adjustments, so one adjustment is seen before the next.
const ADJUST_EVERY: u32 = 8;
/// Final checksums repeated in every update.
const CHECKSUMS_SENT: usize = 4;

/// What a room client counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Bundles dropped because they did not decode.
    pub malformed: u64,
    /// Bundles ignored because they did not continue the frames already received (a resend fixes it).
    pub out_of_order: u64,
    /// Frames the relay reported this client's slot disagreeing on (each frame once, although the
    /// relay repeats its recent reports in every bundle).
    pub desyncs_reported: u64,
    /// Input-delay changes made for time sync.
    pub delay_changes: u64,
    /// Snapshots this client loaded (joining behind the room's history) and found matching.
    pub snapshots_loaded: u64,
    /// Snapshots it loaded and found wrong, or could not load (reported to the relay).
    pub snapshots_rejected: u64,
    /// Snapshots it provided for another member, to the relay's last acknowledgement.
    pub snapshots_provided: u64,
}

/// A room client driving a simulation `S` through a relay-authority session.
#[derive(Debug)]
pub struct RoomClient<S> {
    driver: Driver<S>,
    /// The player's slot; `None` for a spectator.
    slot: Option<usize>,
    max_input: usize,
    /// Every bundled frame below this was added to the session.
    next_bundle: Frame,
    /// The relay has this client's inputs below this.
    relay_has: Frame,
    /// Local inputs by frame, for resending: `sent[f % SENT_RING]`.
    sent: Vec<u8>,
    sent_len: Vec<u8>,
    /// The frame after the newest local input.
    local_end: Frame,
    lead: i16,
    /// A bundle brought time-sync feedback since the last adjustment.
    lead_fresh: bool,
    ticks_since_adjust: u32,
    checksum_interval: u32,
    /// The frames of the latest desync reports counted (the relay repeats its 4 most recent).
    desyncs_seen: [Option<Frame>; 8],
    desyncs_seen_next: usize,
    join: snapshot::Join,
    stats: ClientStats,
}

impl<S: Simulation> RoomClient<S> {
    /// A client for `slot`, over a session built with `Authority::Relay` and `slot` local.
    /// `checksum_interval`: every this many frames a final checksum is reported to the relay.
    pub fn new(driver: Driver<S>, slot: usize, checksum_interval: u32) -> Self {
        Self::with_slot(driver, Some(slot), checksum_interval)
    }

    /// A spectator: its session (relay authority, every slot remote; lockstep suits it) follows the
    /// room's bundles and sends only acknowledgements.
    pub fn spectator(driver: Driver<S>) -> Self {
        Self::with_slot(driver, None, u32::MAX)
    }

    fn with_slot(driver: Driver<S>, slot: Option<usize>, checksum_interval: u32) -> Self {
        let max_input = driver.session().max_input_size().min(255);
        let mut client = RoomClient {
            slot,
            max_input,
            // A session that starts later (`start_frame`) has every frame below it.
            next_bundle: driver.session().current_frame(),
            relay_has: 0,
            sent: vec![0; SENT_RING as usize * max_input],
            sent_len: vec![0; SENT_RING as usize],
            local_end: 0,
            lead: 0,
            lead_fresh: false,
            ticks_since_adjust: 0,
            checksum_interval: checksum_interval.max(1),
            desyncs_seen: [None; 8],
            desyncs_seen_next: 0,
            join: snapshot::Join::new(driver.session().max_snapshot_size()),
            stats: ClientStats::default(),
            driver,
        };
        client.restart_local();
        client
    }

    /// Local inputs start at the session's current frame: the frames of its input delay hold the
    /// session's default input, which is what the session proposed for them, so the relay closes
    /// them with exactly that (not with empty inputs that a simulation could tell apart).
    fn restart_local(&mut self) {
        let session = self.driver.session();
        let start = session.current_frame();
        self.local_end = start;
        if self.slot.is_none() {
            return;
        }
        let mut default = [0u8; 255];
        let d = session.default_input().len().min(self.max_input);
        default[..d].copy_from_slice(&session.default_input()[..d]);
        // The delay is at most 32 frames, well inside the resend ring.
        let delay = session.input_delay().min(SENT_RING - 1);
        for f in start..start.saturating_add(delay) {
            let i = (f % SENT_RING) as usize;
            self.sent[i * self.max_input..i * self.max_input + d].copy_from_slice(&default[..d]);
            self.sent_len[i] = d as u8;
            self.local_end = f + 1;
        }
    }

    /// The session and simulation.
    pub fn driver(&self) -> &Driver<S> {
        &self.driver
    }

    /// What the client counted.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// Takes a bundle from the relay.
    ///
    /// Every message from the relay arrives here: bundles, and the snapshot-transfer messages (a
    /// request to provide one, chunks of one for this client, acknowledgements of chunks sent).
    pub fn handle_bundle(&mut self, bytes: &[u8]) -> Result<(), MsgError> {
        let other = match msg::kind(bytes) {
            Some(Kind::Bundle) => None,
            Some(Kind::SnapshotRequest) => Some(SnapshotRequest::decode(bytes).map(|r| self.on_snapshot_request(r))),
            Some(Kind::Chunk) => Some(Chunk::decode(bytes).map(|c| self.on_chunk(&c))),
            Some(Kind::ChunkAck) => Some(ChunkAck::decode(bytes).map(|a| self.on_chunk_ack(a))),
            _ => Some(Err(MsgError::Malformed)),
        };
        if let Some(r) = other {
            if r.is_err() {
                self.stats.malformed += 1;
            }
            return r;
        }
        let b = match Bundle::decode(bytes, self.max_input) {
            Ok(b) => b,
            Err(e) => {
                self.stats.malformed += 1;
                return Err(e);
            }
        };
        self.relay_has = self.relay_has.max(b.next_input);
        self.lead = b.lead;
        self.lead_fresh = true;
        for (frame, mask, _) in b.desyncs() {
            if self.slot.is_some_and(|s| mask >> s & 1 == 1) && !self.desyncs_seen.contains(&Some(frame)) {
                self.desyncs_seen[self.desyncs_seen_next] = Some(frame);
                self.desyncs_seen_next = (self.desyncs_seen_next + 1) % self.desyncs_seen.len();
                self.stats.desyncs_reported += 1;
            }
        }
        if b.first > self.next_bundle {
            self.stats.out_of_order += 1;
            return Ok(());
        }
        let slots = usize::from(b.slots);
        let session = self.driver.session_mut();
        for (frame, slot, input) in b.inputs() {
            if frame < self.next_bundle {
                continue;
            }
            let added = if input.flags & FLAG_DISCONNECTED != 0 {
                session.add_disconnected_input(slot, frame, input.bytes)
            } else if input.flags & FLAG_SUBSTITUTED != 0 {
                session.add_substituted_input(slot, frame, input.bytes)
            } else {
                session.add_remote_input(slot, frame, input.bytes)
            };
            match added {
                Ok(()) | Err(Error::AlreadyConfirmed { .. }) => {}
                // Past the session's input window: the rest comes again once it moved on.
                Err(Error::BeyondWindow { .. }) => return Ok(()),
                Err(_) => {
                    self.stats.malformed += 1;
                    return Err(MsgError::Malformed);
                }
            }
            if slot + 1 == slots {
                self.next_bundle = frame + 1;
            }
        }
        Ok(())
    }

    /// One tick: adjusts the input delay to the relay's feedback, adds the local input and advances.
    /// A spectator ignores `input`.
    pub fn tick(&mut self, input: &[u8]) -> Result<Outcome, Error> {
        let outcome = self.tick_inner(input);
        self.transfer_tick(true);
        outcome
    }

    fn tick_inner(&mut self, input: &[u8]) -> Result<Outcome, Error> {
        let Some(slot) = self.slot else { return self.driver.advance() };
        self.ticks_since_adjust += 1;
        let s = self.driver.session();
        // Still simulating frames the relay already confirmed (joined late, came back, loaded a
        // snapshot): its inputs are late because it is behind, not because its delay is short.
        let catching_up = s.confirmed_until() > s.current_frame().saturating_add(1);
        if catching_up {
            self.ticks_since_adjust = 0;
        }
        // Only on feedback about inputs sent since (a member behind the history gets no bundles).
        if self.ticks_since_adjust >= ADJUST_EVERY && self.lead_fresh {
            self.lead_fresh = false;
            let delay = self.driver.session().input_delay();
            let new = if self.lead < TARGET_LEAD {
                // Late: make up the whole deficit at once (inputs are being substituted meanwhile).
                let deficit = u32::try_from(TARGET_LEAD - self.lead).unwrap_or(1);
                (delay + deficit).min(framelock_core::MAX_INPUT_DELAY)
            } else if self.lead > TARGET_LEAD + 2 && delay > 0 {
                // Early: come down one frame at a time (too early only costs latency).
                delay - 1
            } else {
                delay
            };
            if new != delay {
                self.driver.session_mut().set_input_delay(new)?;
                self.stats.delay_changes += 1;
                self.ticks_since_adjust = 0;
            }
        }
        let input = &input[..input.len().min(self.max_input)];
        if let Some(frame) = self.driver.session_mut().add_local_input(slot, input)? {
            // Frames a raised delay skipped repeat the previous input, as the session did.
            while self.local_end < frame {
                let prev = self.local_end.wrapping_sub(1) % SENT_RING;
                let (pl, cur) = (self.sent_len[prev as usize], self.local_end % SENT_RING);
                let (p, c) = (prev as usize * self.max_input, cur as usize * self.max_input);
                self.sent.copy_within(p..p + usize::from(pl), c);
                self.sent_len[cur as usize] = pl;
                self.local_end += 1;
            }
            let i = (frame % SENT_RING) as usize;
            self.sent[i * self.max_input..i * self.max_input + input.len()].copy_from_slice(input);
            self.sent_len[i] = input.len() as u8;
            self.local_end = frame + 1;
        }
        self.driver.advance()
    }

    /// Simulates up to `max_frames` frames that the relay already confirmed, without local input: a
    /// client that joined late, came back, or spectates catches up with the room this way before its
    /// regular ticks. Returns the frames simulated.
    pub fn catch_up(&mut self, max_frames: u32) -> Result<u32, Error> {
        let mut n = 0;
        while n < max_frames {
            let s = self.driver.session();
            if s.current_frame() + 1 >= s.confirmed_until() {
                break;
            }
            self.driver.advance()?;
            n += 1;
        }
        if n > 0 {
            self.transfer_tick(false);
        }
        Ok(n)
    }

    /// Writes the update to send now (inputs the relay lacks, the acknowledgement, recent checksums)
    /// into `buf` and returns its length.
    pub fn poll_transmit(&mut self, buf: &mut [u8]) -> usize {
        let cap = buf.len().min(msg::MAX_MESSAGE);
        let mut w = Writer::new(&mut buf[..cap]);
        let first = self.relay_has.max(self.local_end.saturating_sub(SENT_RING - 1));
        let count_at = msg::begin_update(&mut w, self.next_bundle, first);
        let mut checksums = [(0u32, 0u64); CHECKSUMS_SENT];
        let mut n = 0;
        let n_max = if self.slot.is_some() && self.state_checked() { CHECKSUMS_SENT } else { 0 };
        let session = self.driver.session();
        let until = session.checksummed_until();
        let mut f = until.saturating_sub(1) / self.checksum_interval * self.checksum_interval;
        while n < n_max && until > 0 {
            if let Some(c) = session.checksum(f) {
                checksums[n] = (f, c);
                n += 1;
            }
            if f < self.checksum_interval {
                break;
            }
            f -= self.checksum_interval;
        }
        let reserve = 1 + 12 * n;
        let mut count = 0u8;
        let mut f = first;
        while f < self.local_end && count < u8::MAX {
            let i = (f % SENT_RING) as usize;
            let input = &self.sent[i * self.max_input..i * self.max_input + usize::from(self.sent_len[i])];
            if !msg::put_input(&mut w, input, reserve) {
                break;
            }
            count += 1;
            f += 1;
        }
        msg::finish_update(&mut w, count_at, count, &checksums[..n]);
        w.len()
    }
}
