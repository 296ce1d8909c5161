//! Session configuration: the builder, the modes, the authority and the pluggable predictor.

use crate::checksum::SnapshotHash;
use crate::session::Session;
use crate::{Error, Frame, Slot, SlotMask};

/// How a session advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Simulate a frame only when every active slot's input for it is confirmed.
    Lockstep,
    /// Predict missing inputs, and load and resimulate from the first misprediction.
    Rollback {
        /// How many frames past the last fully confirmed frame may be simulated on predictions.
        max_prediction: u32,
    },
    /// Roll back `check_distance` frames on every advance and compare the checksums of the two runs.
    SyncTest {
        /// How many frames each advance resimulates.
        check_distance: u32,
    },
}

/// Who confirms a local input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// Peer to peer: a local input is confirmed the moment it is added.
    PeerToPeer,
    /// Behind a relay: a local input is a proposal (used as the prediction for its slot) until the
    /// relay confirms the frame with [`Session::add_remote_input`], possibly with a substitute.
    Relay,
}

/// Guesses a missing input. The default, [`RepeatLast`], repeats the slot's last confirmed input.
///
/// A prediction only decides how often the session rolls back, never the result: every frame is
/// simulated again with its confirmed inputs before its checksum counts.
pub trait Predictor: Send {
    /// Writes the guess for `slot` at `frame` into `out` (`max_input_size` bytes) and returns its
    /// length (clamped to `out.len()`). `last_confirmed` is the slot's last confirmed input, or the
    /// configured default input when none arrived yet.
    fn predict(&self, slot: Slot, frame: Frame, last_confirmed: &[u8], out: &mut [u8]) -> usize;
}

/// The default predictor: the input stays what it last was.
#[derive(Debug, Clone, Copy, Default)]
pub struct RepeatLast;

impl Predictor for RepeatLast {
    fn predict(&self, _slot: Slot, _frame: Frame, last_confirmed: &[u8], out: &mut [u8]) -> usize {
        let n = last_confirmed.len().min(out.len());
        out[..n].copy_from_slice(&last_confirmed[..n]);
        n
    }
}

/// The most slots a session can have (a [`SlotMask`] holds them all).
pub const MAX_SLOTS: usize = 64;
/// The largest `max_input_size`.
pub const MAX_INPUT_SIZE: usize = 1024;
/// The largest input delay.
pub const MAX_INPUT_DELAY: u32 = 32;
/// The largest `max_prediction` and `check_distance`.
pub const MAX_ROLLBACK: u32 = 64;

/// Validated limits of a session.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub slots: usize,
    pub local: SlotMask,
    pub max_input_size: usize,
    pub input_delay: u32,
    pub mode: Mode,
    pub authority: Authority,
    pub max_snapshot_size: usize,
    pub default_input: Vec<u8>,
    pub frame_arena_size: usize,
    pub input_window: u32,
    pub checksum_history: u32,
    pub checksum_interval: u32,
    pub early_checksums: usize,
    pub event_queue: usize,
    pub record_confirmed: bool,
    pub start_frame: Frame,
    /// The hash of snapshots without the simulation's own checksum (XXH3-64; the old one only to
    /// replay logs of format 1 and 2).
    pub snapshot_hash: SnapshotHash,
}

/// Builds a [`Session`]; every setting is checked by [`SessionBuilder::build`].
///
/// ```
/// use framelock_core::{Mode, SessionBuilder};
/// let session = SessionBuilder::new(2)
///     .local_slot(0)
///     .max_input_size(2)
///     .mode(Mode::Rollback { max_prediction: 8 })
///     .max_snapshot_size(4096)
///     .build()?;
/// assert_eq!(session.current_frame(), 0);
/// # Ok::<(), framelock_core::Error>(())
/// ```
pub struct SessionBuilder {
    limits: Limits,
    predictor: Option<Box<dyn Predictor>>,
    bad_local: bool,
}

impl core::fmt::Debug for SessionBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionBuilder").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl SessionBuilder {
    /// A builder for a session of `slots` player slots (1..=64), all remote until marked local,
    /// lockstep, peer to peer, 8-byte inputs and 64 KiB snapshots.
    pub fn new(slots: usize) -> Self {
        SessionBuilder {
            limits: Limits {
                slots,
                local: 0,
                max_input_size: 8,
                input_delay: 0,
                mode: Mode::Lockstep,
                authority: Authority::PeerToPeer,
                max_snapshot_size: 64 * 1024,
                default_input: Vec::new(),
                frame_arena_size: 1 << 20,
                input_window: 128,
                checksum_history: 1024,
                checksum_interval: 1,
                early_checksums: 256,
                event_queue: 256,
                record_confirmed: false,
                start_frame: 0,
                snapshot_hash: SnapshotHash::Xxh3,
            },
            predictor: None,
            bad_local: false,
        }
    }

    /// The hash of snapshots the simulation gives no checksum for: the replay of a format-1 or
    /// format-2 log uses the hash those logs were recorded with.
    pub(crate) fn snapshot_hash(mut self, hash: SnapshotHash) -> Self {
        self.limits.snapshot_hash = hash;
        self
    }

    /// Marks `slot` as local: this process adds its inputs with [`Session::add_local_input`].
    pub fn local_slot(mut self, slot: Slot) -> Self {
        match 1u64.checked_shl(slot as u32) {
            Some(bit) if slot < MAX_SLOTS => self.limits.local |= bit,
            _ => self.bad_local = true,
        }
        self
    }

    /// Marks every slot in `mask` as local.
    pub fn local_slots(mut self, mask: SlotMask) -> Self {
        self.limits.local |= mask;
        self
    }

    /// The largest input in bytes (0..=1024; default 8).
    pub fn max_input_size(mut self, bytes: usize) -> Self {
        self.limits.max_input_size = bytes;
        self
    }

    /// Frames between adding a local input and the frame it is for (0..=32; default 0). It can be
    /// changed later with [`Session::set_input_delay`].
    pub fn input_delay(mut self, frames: u32) -> Self {
        self.limits.input_delay = frames;
        self
    }

    /// Lockstep (default), rollback or sync test.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.limits.mode = mode;
        self
    }

    /// Peer to peer (default) or relay.
    pub fn authority(mut self, authority: Authority) -> Self {
        self.limits.authority = authority;
        self
    }

    /// The capacity of each snapshot buffer in bytes (default 64 KiB; at most 1 GiB).
    pub fn max_snapshot_size(mut self, bytes: usize) -> Self {
        self.limits.max_snapshot_size = bytes;
        self
    }

    /// The input of a disconnected slot, and the prediction before any input arrived (default: empty).
    pub fn default_input(mut self, bytes: &[u8]) -> Self {
        self.limits.default_input = bytes.to_vec();
        self
    }

    /// Replaces the [`RepeatLast`] predictor.
    pub fn predictor(mut self, predictor: impl Predictor + 'static) -> Self {
        self.predictor = Some(Box::new(predictor));
        self
    }

    /// The cap of the simulation's per-frame scratch arena in bytes (default 1 MiB; at most 1 GiB),
    /// rounded up to the allocator's chunk size. It is allocated once and never grows; a frame that
    /// needs more fails with [`Error::ArenaExhausted`].
    pub fn frame_arena_size(mut self, bytes: usize) -> Self {
        self.limits.frame_arena_size = bytes;
        self
    }

    /// How many frames of input the session holds, from the oldest unconfirmed frame (default 128).
    /// Inputs further ahead are refused with [`Error::BeyondWindow`].
    pub fn input_window(mut self, frames: u32) -> Self {
        self.limits.input_window = frames;
        self
    }

    /// How many confirmed frames' checksums are kept for late remote checksums (default 1024).
    pub fn checksum_history(mut self, frames: u32) -> Self {
        self.limits.checksum_history = frames;
        self
    }

    /// In lockstep, save (and checksum) only frames that are multiples of this (default 1: every
    /// frame). Rollback and sync test save every frame regardless.
    pub fn checksum_interval(mut self, frames: u32) -> Self {
        self.limits.checksum_interval = frames;
        self
    }

    /// How many remote checksums of frames not yet confirmed locally can wait (default 256).
    pub fn early_checksum_capacity(mut self, entries: usize) -> Self {
        self.limits.early_checksums = entries;
        self
    }

    /// How many events wait for [`Session::poll_event`] before the oldest are dropped and counted
    /// (default 256).
    pub fn event_capacity(mut self, events: usize) -> Self {
        self.limits.event_queue = events;
        self
    }

    /// Keeps confirmed frames until [`Session::poll_confirmed`] hands them out (for input logs).
    /// While they are not polled, the input window cannot move past them.
    pub fn record_confirmed(mut self, on: bool) -> Self {
        self.limits.record_confirmed = on;
        self
    }

    /// The first frame the session simulates (default 0). A session that starts later runs from a
    /// state the caller loaded itself: a replay seeking to a keyframe, a late joiner given a snapshot.
    pub fn start_frame(mut self, frame: Frame) -> Self {
        self.limits.start_frame = frame;
        self
    }

    fn check(&self) -> Result<(), Error> {
        let l = &self.limits;
        let bad = |setting, reason| Err(Error::InvalidConfig { setting, reason });
        if l.slots == 0 || l.slots > MAX_SLOTS {
            return bad("slots", "must be 1..=64");
        }
        if self.bad_local || (l.slots < 64 && l.local >> l.slots != 0) {
            return bad("local_slot", "names a slot that does not exist");
        }
        if l.max_input_size > MAX_INPUT_SIZE {
            return bad("max_input_size", "must be at most 1024");
        }
        if l.default_input.len() > l.max_input_size {
            return bad("default_input", "is longer than max_input_size");
        }
        if l.input_delay > MAX_INPUT_DELAY {
            return bad("input_delay", "must be at most 32");
        }
        match l.mode {
            Mode::Rollback { max_prediction } if !(1..=MAX_ROLLBACK).contains(&max_prediction) => {
                return bad("max_prediction", "must be 1..=64 (use Mode::Lockstep for 0)");
            }
            Mode::SyncTest { check_distance } if !(1..=MAX_ROLLBACK).contains(&check_distance) => {
                return bad("check_distance", "must be 1..=64");
            }
            _ => {}
        }
        if l.max_snapshot_size > 1 << 30 {
            return bad("max_snapshot_size", "must be at most 1 GiB");
        }
        if l.frame_arena_size > 1 << 30 {
            return bad("frame_arena_size", "must be at most 1 GiB");
        }
        if l.input_window > 1 << 16 || l.input_window < self.min_window() {
            return bad(
                "input_window",
                "must cover max_prediction (or check_distance) + 2 * 32 + 2 frames, and be at most 65536",
            );
        }
        if l.checksum_history == 0 || l.checksum_history > 1 << 20 {
            return bad("checksum_history", "must be 1..=1048576");
        }
        if l.start_frame > Frame::MAX / 2 {
            return bad("start_frame", "must leave room for the frame counter (at most 2^31 - 1 = 2147483647)");
        }
        if l.checksum_interval == 0 {
            return bad("checksum_interval", "must be at least 1");
        }
        if l.early_checksums > 1 << 20 {
            return bad("early_checksum_capacity", "must be at most 1048576");
        }
        if l.event_queue == 0 || l.event_queue > 1 << 20 {
            return bad("event_capacity", "must be 1..=1048576");
        }
        Ok(())
    }

    fn min_window(&self) -> u32 {
        let depth = match self.limits.mode {
            Mode::Lockstep => 0,
            Mode::Rollback { max_prediction: d } | Mode::SyncTest { check_distance: d } => d,
        };
        depth + 2 * MAX_INPUT_DELAY + 2
    }

    /// Checks every setting and allocates everything the session will ever use.
    pub fn build(self) -> Result<Session, Error> {
        self.check()?;
        Ok(Session::new(self.limits, self.predictor))
    }
}

#[cfg(test)]
mod frame_end_tests {
    //! The frame counter at its end, run directly: a session built (past the builder's start-frame
    //! limit, which only this test may do) a few frames before `u32::MAX`.

    use super::*;
    use crate::testing::HashSim;
    use crate::{Driver, Error};

    fn near_the_end(builder: SessionBuilder, start: Frame) -> Session {
        builder.check().expect("valid settings");
        let mut limits = builder.limits;
        limits.start_frame = start;
        Session::new(limits, None)
    }

    #[test]
    fn the_frame_counter_ends_with_a_typed_error_and_nothing_wraps() {
        let modes = [Mode::Lockstep, Mode::Rollback { max_prediction: 8 }, Mode::SyncTest { check_distance: 3 }];
        for mode in modes {
            let builder = SessionBuilder::new(2).local_slot(0).max_input_size(1).input_delay(2).mode(mode);
            let mut d = Driver::new(near_the_end(builder, Frame::MAX - 40), HashSim::new(0));
            let end = loop {
                let cur = d.session().current_frame();
                match d.session_mut().add_local_input(0, &[1]) {
                    Ok(_) | Err(Error::FrameOverflow) => {}
                    Err(e) => panic!("{mode:?}: local input at {cur}: {e}"),
                }
                match d.session_mut().add_remote_input(1, cur, &[2]) {
                    Ok(()) | Err(Error::AlreadyConfirmed { .. } | Error::FrameOverflow) => {}
                    Err(e) => panic!("{mode:?}: remote input at {cur}: {e}"),
                }
                match d.advance() {
                    Ok(_) => {}
                    Err(Error::FrameOverflow) => break cur,
                    Err(e) => panic!("{mode:?}: advance at {cur}: {e}"),
                }
            };
            assert_eq!(end, crate::input::LAST_FRAME + 1, "{mode:?}");
            assert_eq!(d.session().current_frame(), end);
            // Frames past the last one the session can simulate are refused, typed.
            for frame in [Frame::MAX - 1, Frame::MAX] {
                assert_eq!(d.session_mut().add_remote_input(1, frame, &[3]), Err(Error::FrameOverflow), "{mode:?}");
                assert_eq!(d.session_mut().add_substituted_input(1, frame, &[3]), Err(Error::FrameOverflow));
            }
            assert_eq!(d.session_mut().add_local_input(0, &[1]), Err(Error::FrameOverflow));
            assert_eq!(d.advance().err(), Some(Error::FrameOverflow), "stays at the end");
            let until = d.session().confirmed_until();
            assert!(until >= Frame::MAX - 40 && until <= end, "{mode:?}: confirmed_until {until} wrapped");
            // Sync test checksums the state after its last frame too (`end`'s starting state).
            let checked = d.session().checksummed_until();
            assert!(checked > Frame::MAX - 40 && checked <= end + 1, "{mode:?}: checksummed_until {checked}");
            // A disconnect at the very end does not walk past it either.
            assert!(d.session_mut().disconnect_slot(1, Frame::MAX).is_ok());
            assert!(d.session().confirmed_until() <= end + 1);
        }
    }

    #[test]
    fn the_input_store_never_counts_past_the_last_frame() {
        // The store alone, its window reaching `u32::MAX`: confirming every frame up to the end
        // must not wrap `next_unconfirmed` (it used to become 0 and `confirmed_until` with it).
        let mut store = crate::input::InputStore::new(1, 1, 8, &[], Frame::MAX - 7, true);
        for f in Frame::MAX - 7..=Frame::MAX {
            store.put_ahead(0, f, &[1], crate::input::CellState::Confirmed, crate::InputStatus::Confirmed);
        }
        assert_eq!(store.confirmed_until(), Frame::MAX);
        assert_eq!(store.disconnect(0, Frame::MAX - 1, Frame::MAX - 7), None);
    }
}
