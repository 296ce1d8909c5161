//! One peer of the demo: its session and arena, and its side of the little protocol (see the
//! [module docs](super)).

use std::collections::VecDeque;
use std::rc::Rc;

use framelock_core::arena::{self, Arena, INPUT_SIZE, NEUTRAL_INPUT};
use framelock_core::{Driver, Event, Frame, SessionBuilder, Slot};

use super::{arena_params, session_mode, DemoArgs, DemoError};

/// How many of its latest final checksums a peer repeats in every packet.
const RECENT_CHECKSUMS: usize = 16;

/// What one peer sends another each tick.
#[derive(Debug, Clone)]
pub struct Packet {
    /// The receiver's frames the sender holds without a gap: every frame below this is acknowledged.
    ack: Frame,
    /// The frame of `inputs[0]`: the oldest frame any receiver of this tick's packets misses.
    first_frame: Frame,
    /// The sender's local inputs from `first_frame` on (shared by the packets of one tick).
    inputs: Rc<[[u8; INPUT_SIZE]]>,
    /// The sender's latest final checksums, oldest first.
    checksums: Rc<[(Frame, u64)]>,
}

/// One peer: a session, its arena, and its side of the protocol.
#[derive(Debug)]
pub(super) struct Peer {
    pub(super) slot: Slot,
    pub(super) driver: Driver<Arena>,
    /// Every local input by frame from frame 0 (the input-delay frames hold the neutral input).
    inputs: Vec<[u8; INPUT_SIZE]>,
    /// Per peer: the first of our frames it has not acknowledged.
    acked: Vec<Frame>,
    /// Per peer: how many of its frames we hold without a gap (the next one we need).
    received: Vec<Frame>,
    /// Per peer: checksums of frames below this were already given to the session.
    checksums_fed: Vec<Frame>,
    /// Remote checksums the session could not take (too old, or its queue was full).
    pub(super) checksums_skipped: u64,
    /// Our latest final checksums, oldest first.
    recent: VecDeque<(Frame, u64)>,
    /// Checksums of frames below this went into `recent`.
    recorded_until: Frame,
    /// The first `Event::Desync` the session reported.
    pub(super) first_desync: Option<Event>,
    /// Reached the last frame with its checksum final: no more inputs or advances.
    pub(super) done: bool,
}

impl Peer {
    /// A peer at frame 0. With `record`, its session also hands out every confirmed frame for an
    /// input log (which then must be polled every tick, as the recorder does).
    pub(super) fn new(slot: Slot, args: &DemoArgs, latency_ticks: u32, record: bool) -> Result<Peer, DemoError> {
        let players = usize::from(args.players);
        let params = arena_params(args);
        let mode = session_mode(args);
        // Inputs run ahead of the slowest peer by about a round trip plus the prediction: size the
        // input window and the queue of early remote checksums for that, with room to spare.
        let ahead = 2 * latency_ticks + args.max_prediction + 2 * args.input_delay + 16;
        let session = SessionBuilder::new(players)
            .local_slot(slot)
            .max_input_size(INPUT_SIZE)
            .default_input(&NEUTRAL_INPUT)
            .input_delay(args.input_delay)
            .mode(mode)
            .max_snapshot_size(arena::snapshot_size_bound(&params))
            .frame_arena_size(arena::scratch_size_bound(&params))
            .input_window((128 + ahead).min(1 << 16))
            .early_checksum_capacity((players * ahead as usize).min(1 << 14))
            .record_confirmed(record)
            .build()
            .map_err(|error| DemoError::Session { peer: slot, error })?;
        let arena = Arena::new(params).map_err(DemoError::Sim)?;
        Ok(Peer {
            slot,
            driver: Driver::new(session, arena),
            inputs: vec![NEUTRAL_INPUT; args.input_delay as usize],
            acked: vec![0; players],
            received: vec![0; players],
            checksums_fed: vec![0; players],
            checksums_skipped: 0,
            recent: VecDeque::with_capacity(RECENT_CHECKSUMS + 1),
            recorded_until: 0,
            first_desync: None,
            done: false,
        })
    }

    fn session_error(&self, error: framelock_core::Error) -> DemoError {
        DemoError::Session { peer: self.slot, error }
    }

    /// Takes in a packet from peer `from`: its acknowledgement, the inputs we miss, new checksums.
    pub(super) fn receive(&mut self, from: Slot, packet: &Packet, frames: Frame) -> Result<(), DemoError> {
        use framelock_core::Error as E;
        self.acked[from] = self.acked[from].max(packet.ack);
        let session = self.driver.session_mut();
        // The packet starts at the oldest frame any receiver misses: skip what we already hold.
        let next = self.received[from];
        let missing = next.checked_sub(packet.first_frame).and_then(|skip| packet.inputs.get(skip as usize..));
        for (frame, input) in (next..).zip(missing.unwrap_or_default()) {
            match session.add_remote_input(from, frame, input) {
                Ok(()) | Err(E::AlreadyConfirmed { .. }) => self.received[from] = frame + 1,
                // Too far ahead of us for now; it stays unacknowledged, so it comes again.
                Err(E::BeyondWindow { .. }) => break,
                Err(error) => return Err(DemoError::Session { peer: self.slot, error }),
            }
        }
        for &(frame, checksum) in packet.checksums.iter() {
            if frame < self.checksums_fed[from] || frame >= frames {
                continue;
            }
            self.checksums_fed[from] = frame + 1;
            match session.add_remote_checksum(from, frame, checksum) {
                Ok(()) => {}
                Err(E::ChecksumUnavailable { .. } | E::ChecksumQueueFull { .. }) => self.checksums_skipped += 1,
                Err(error) => return Err(DemoError::Session { peer: self.slot, error }),
            }
        }
        Ok(())
    }

    /// Adds this tick's bot input and advances (unless the peer is done), then notes events and
    /// new final checksums.
    pub(super) fn tick(&mut self, seed: u64, frames: Frame) -> Result<(), DemoError> {
        // Remote checksums compared on receipt may have raised a desync even while not advancing.
        self.poll_events();
        let session = self.driver.session_mut();
        // At the finish line a peer stops playing, and holds until the inputs up to its last frame
        // are all in; then one more advance applies the last corrections and makes the checksum
        // of frame `frames - 1` final (so a rollback peer ends one frame past `frames`).
        if self.done || (session.current_frame() >= frames && session.confirmed_until() < frames.saturating_sub(1)) {
            return Ok(());
        }
        let target = session.current_frame() + session.input_delay();
        let input = arena::scripted_input(seed, self.slot, target);
        match session.add_local_input(self.slot, &input) {
            Ok(Some(frame)) if frame == target && frame as usize == self.inputs.len() => self.inputs.push(input),
            Ok(Some(got)) => {
                let expected = if got == target { self.inputs.len() as Frame } else { target };
                return Err(DemoError::InputMisplaced { peer: self.slot, expected, got });
            }
            Ok(None) => {} // still waiting on the frame the previous input went to (a stall)
            Err(e) => return Err(self.session_error(e)),
        }
        self.driver.advance().map_err(|e| self.session_error(e))?;
        self.poll_events();
        let session = self.driver.session_mut();
        let until = session.checksummed_until().min(frames);
        while self.recorded_until < until {
            if let Some(c) = session.checksum(self.recorded_until) {
                if self.recent.len() == RECENT_CHECKSUMS {
                    self.recent.pop_front();
                }
                self.recent.push_back((self.recorded_until, c));
            }
            self.recorded_until += 1;
        }
        self.done = session.current_frame() >= frames && session.checksummed_until() >= frames;
        Ok(())
    }

    /// Keeps the first desync the session reported (the session counts them all in its stats).
    fn poll_events(&mut self) {
        while let Some(event) = self.driver.session_mut().poll_event() {
            if matches!(event, Event::Desync { .. }) && self.first_desync.is_none() {
                self.first_desync = Some(event);
            }
        }
    }

    /// The packet for peer `to`.
    pub(super) fn packet_for(&self, to: Slot, shared: &Shared) -> Packet {
        Packet {
            ack: self.received[to],
            first_frame: shared.first_frame,
            inputs: Rc::clone(&shared.inputs),
            checksums: Rc::clone(&shared.checksums),
        }
    }

    /// What this tick's packets to every peer have in common: the inputs from the oldest frame any
    /// peer has not acknowledged, and the latest checksums. Built once, shared by all packets.
    ///
    /// The span is bounded without a cap: a peer cannot run further ahead of another than its
    /// input window (plus the input delay) before it needs that peer's inputs, and a peer whose
    /// acknowledgements were lost is still sent everything it may miss.
    pub(super) fn shared(&self, players: usize) -> Shared {
        let len = self.inputs.len();
        let first = (0..players).filter(|&p| p != self.slot).map(|p| self.acked[p] as usize).min().unwrap_or(len);
        let first = first.min(len);
        Shared {
            first_frame: first as Frame,
            inputs: self.inputs[first..].into(),
            checksums: self.recent.iter().copied().collect(),
        }
    }
}

/// The part of a peer's packets that is the same for every receiver.
#[derive(Debug)]
pub(super) struct Shared {
    first_frame: Frame,
    inputs: Rc<[[u8; INPUT_SIZE]]>,
    checksums: Rc<[(Frame, u64)]>,
}
