//! Replaying a log through a lockstep session: verifying its checksums, and seeking.

use super::{LogReader, LoggedInput, FLAG_DISCONNECTED, FLAG_SUBSTITUTED};
use crate::{fulfil, Error, Frame, Session, SessionBuilder, Simulation, SnapshotWriter};

/// Checksums a replaying session keeps (see [`replay_session`]).
const REPLAY_CHECKSUM_HISTORY: u32 = 256;

/// A log with no recorded checksum: there is nothing to verify (both replays, before anything
/// else the replay itself could report).
pub(crate) const NO_CHECKSUM: Error =
    Error::LogMismatch { what: "the log records no checksum, so there is nothing to verify" };

/// The lockstep session a replay runs in (`sizes`: snapshot capacity and frame arena).
pub(crate) fn replay_session(
    h: &super::LogHeader,
    format_version: u16,
    sizes: (usize, usize),
    start: Frame,
) -> Result<Session, Error> {
    // The replay compares each recorded checksum right after the advance that made it final, so
    // the session only needs the newest few: a fixed history works for every interval the
    // format allows (1..=u32::MAX), where one scaled by the interval overflowed or was refused.
    let interval = h.checksum_interval.max(1);
    SessionBuilder::new(usize::from(h.slots))
        .max_input_size(usize::from(h.max_input_size))
        .default_input(&h.default_input)
        .max_snapshot_size(sizes.0)
        .frame_arena_size(sizes.1)
        .checksum_interval(interval)
        .checksum_history(REPLAY_CHECKSUM_HISTORY)
        .start_frame(start)
        .snapshot_hash(snapshot_hash(format_version))
        .build()
}

/// Compares a recorded checksum with the replay's, once the replay's is final.
pub(crate) fn compare_checksum(
    session: &Session,
    frame: Frame,
    expected: u64,
    report: &mut VerifyReport,
) -> Result<(), Error> {
    match session.checksum(frame) {
        Some(actual) if actual != expected => Err(Error::ReplayDiverged { frame, expected, actual }),
        Some(actual) => {
            report.checksums_verified += 1;
            report.last_checksum = Some((frame, actual));
            Ok(())
        }
        None => {
            report.checksums_unchecked += 1;
            Ok(())
        }
    }
}

/// A keyframe that is not the replay's state at its frame. Which is wrong, the replay or the
/// keyframe? The recorded checksum of the frame, when there is one, decides: a replay that differs
/// from it diverged.
pub(crate) fn keyframe_mismatch(frame: Frame, actual: u64, recorded: Option<u64>) -> Error {
    match recorded {
        Some(expected) if expected != actual => Error::ReplayDiverged { frame, expected, actual },
        _ => Error::LogInconsistent { what: "the keyframe is not the replay's state at its frame", frame },
    }
}

/// What a verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    /// Frames replayed.
    pub frames: u32,
    /// Recorded checksums that matched the replay.
    pub checksums_verified: u32,
    /// Recorded checksums the replay could not compare (of the state after the last frame, or off
    /// the log's checksum interval).
    pub checksums_unchecked: u32,
    /// Keyframes found equal to the replay's state at their frame.
    pub keyframes_verified: u32,
    /// The checksum of the last frame's starting state, when the replay computed one.
    pub last_checksum: Option<(Frame, u64)>,
}

/// Replays a log. Build with [`Replay::new`], size the session for the simulation, then
/// [`Replay::verify`] or [`Replay::seek`].
///
/// A divergence is always an error ([`Error::ReplayDiverged`] with the first divergent frame and
/// both checksums): there is no option that turns it into a warning.
#[derive(Debug, Clone, Copy)]
pub struct Replay<'l> {
    log: &'l LogReader<'l>,
    max_snapshot_size: usize,
    frame_arena_size: usize,
}

impl<'l> Replay<'l> {
    /// A replay of `log` with 64 KiB snapshots and a 1 MiB frame arena.
    pub fn new(log: &'l LogReader<'l>) -> Self {
        Replay { log, max_snapshot_size: 64 * 1024, frame_arena_size: 1 << 20 }
    }

    /// The snapshot capacity the simulation needs.
    pub fn max_snapshot_size(mut self, bytes: usize) -> Self {
        self.max_snapshot_size = bytes;
        self
    }

    /// The frame arena the simulation needs.
    pub fn frame_arena_size(mut self, bytes: usize) -> Self {
        self.frame_arena_size = bytes;
        self
    }

    fn session(&self, start: Frame) -> Result<Session, Error> {
        let sizes = (self.max_snapshot_size, self.frame_arena_size);
        replay_session(self.log.header(), self.log.format_version(), sizes, start)
    }

    /// Replays every frame into `sim`, which must be in the state of the log's first frame (a new
    /// simulation with the log's parameters), compares every recorded checksum, and checks every
    /// keyframe against the replay's state at its frame (byte for byte, as `sim` saves it).
    /// `progress` is called with the number of frames replayed every 4,096 frames.
    ///
    /// Errors, before replaying: [`Error::LogMismatch`] when the log records no checksum (there
    /// would be nothing to verify) or its frames do not fit a session. While replaying:
    /// [`Error::ReplayDiverged`] at the first recorded checksum that differs;
    /// [`Error::LogInconsistent`] naming the frame of a keyframe that is not the replay's state;
    /// errors of the simulation.
    pub fn verify<S: Simulation>(&self, sim: &mut S, progress: &mut dyn FnMut(u32)) -> Result<VerifyReport, Error> {
        if self.log.checksums().len() == 0 {
            return Err(NO_CHECKSUM);
        }
        let first = self.log.header().first_frame;
        let mut session = self.session(first)?;
        let recorded: Vec<(Frame, u64)> = self.log.checksums().collect();
        let mut next_check = 0;
        let mut report = VerifyReport {
            frames: 0,
            checksums_verified: 0,
            checksums_unchecked: 0,
            keyframes_verified: 0,
            last_checksum: None,
        };
        let mut keyframes = KeyframeCheck::new(self.log, &recorded, self.max_snapshot_size);
        keyframes.check(sim, first, &mut report)?;
        let mut cursor = self.log.cursor();
        while let Some(frame) = cursor.next_frame()? {
            for (slot, input) in frame.inputs().enumerate() {
                feed(&mut session, slot, frame.frame(), input)?;
            }
            let mut step = session.advance()?;
            fulfil(&mut step, sim)?;
            drop(step);
            report.frames += 1;
            keyframes.check(sim, frame.frame() + 1, &mut report)?;
            if report.frames % 4096 == 0 {
                progress(report.frames);
            }
            let done = session.checksummed_until();
            while next_check < recorded.len() && recorded[next_check].0 < done {
                let (f, expected) = recorded[next_check];
                next_check += 1;
                compare_checksum(&session, f, expected, &mut report)?;
            }
        }
        report.checksums_unchecked += (recorded.len() - next_check) as u32;
        progress(report.frames);
        Ok(report)
    }

    /// Puts `sim` into the state at the start of `frame`: loads the latest keyframe at or before it
    /// (if the log has one) and replays the frames from there. Without a keyframe, `sim` must be in
    /// the state of the log's first frame. Returns the frame replaying started from.
    ///
    /// Errors: [`Error::LogMismatch`] when `frame` is not in the log (the frame after the last one
    /// is); errors of the simulation.
    pub fn seek<S: Simulation>(&self, sim: &mut S, frame: Frame) -> Result<Frame, Error> {
        let h = self.log.header();
        if frame < h.first_frame || frame > self.log.end_frame() {
            return Err(Error::LogMismatch { what: "the log does not hold that frame" });
        }
        let start = match self.log.keyframe_at_or_before(frame) {
            Some(k) => {
                sim.load(self.log.keyframe_bytes(&k))
                    .map_err(|e| Error::Simulation { frame: k.frame, reason: e.reason })?;
                k.frame
            }
            None => h.first_frame,
        };
        if start == frame {
            return Ok(start);
        }
        let mut session = self.session(start)?;
        let mut cursor = self.log.cursor_at(start)?;
        while let Some(f) = cursor.next_frame()? {
            if f.frame() >= frame {
                break;
            }
            for (slot, input) in f.inputs().enumerate() {
                feed(&mut session, slot, f.frame(), input)?;
            }
            let mut step = session.advance()?;
            fulfil(&mut step, sim)?;
        }
        Ok(start)
    }
}

/// Compares the log's keyframes with the replay's state as it reaches their frames.
struct KeyframeCheck<'l, 'r> {
    log: &'l LogReader<'l>,
    recorded: &'r [(Frame, u64)],
    next: usize,
    buf: Vec<u8>,
    capacity: usize,
}

impl<'l, 'r> KeyframeCheck<'l, 'r> {
    fn new(log: &'l LogReader<'l>, recorded: &'r [(Frame, u64)], capacity: usize) -> Self {
        // The buffer is only allocated when there is a keyframe to compare.
        let buf = if log.keyframes().is_empty() { Vec::new() } else { Vec::with_capacity(capacity) };
        KeyframeCheck { log, recorded, next: 0, buf, capacity }
    }

    /// `sim` holds the state at the start of `frame`: check the keyframes of that frame.
    fn check<S: Simulation>(&mut self, sim: &S, frame: Frame, report: &mut VerifyReport) -> Result<(), Error> {
        let keyframes = self.log.keyframes();
        while let Some(k) = keyframes.get(self.next).filter(|k| k.frame <= frame) {
            self.next += 1;
            if k.frame < frame {
                continue; // unreachable: the reader keeps keyframes within the log's frames
            }
            let mut own = None;
            // Compared byte for byte; hashed only on a mismatch.
            let mut w = SnapshotWriter::new(&mut self.buf, 0, self.capacity, &mut own, None);
            sim.save(&mut w).map_err(|e| Error::Simulation { frame, reason: e.reason })?;
            if self.buf[..] != *self.log.keyframe_bytes(k) {
                let actual = own.unwrap_or_else(|| crate::checksum64(&self.buf));
                let recorded = self.recorded.binary_search_by_key(&frame, |&(f, _)| f).ok();
                return Err(keyframe_mismatch(frame, actual, recorded.map(|i| self.recorded[i].1)));
            }
            report.keyframes_verified += 1;
        }
        Ok(())
    }
}

pub(crate) fn feed(session: &mut Session, slot: usize, frame: Frame, input: LoggedInput<'_>) -> Result<(), Error> {
    if input.flags & FLAG_DISCONNECTED != 0 {
        session.add_disconnected_input(slot, frame, input.bytes)
    } else if input.flags & FLAG_SUBSTITUTED != 0 {
        session.add_substituted_input(slot, frame, input.bytes)
    } else {
        session.add_remote_input(slot, frame, input.bytes)
    }
}

/// The snapshot hash a log's checksums were recorded with: XXH3-64 from format 3 on, the older
/// hash before (so logs of format 1 and 2 still verify).
fn snapshot_hash(format_version: u16) -> crate::checksum::SnapshotHash {
    if format_version >= super::XXH3_SINCE_VERSION {
        crate::checksum::SnapshotHash::Xxh3
    } else {
        crate::checksum::SnapshotHash::V1
    }
}
