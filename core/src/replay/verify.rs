//! Replaying a log through a lockstep session: verifying its checksums, and seeking.

use super::{LogReader, LoggedInput, FLAG_DISCONNECTED, FLAG_SUBSTITUTED};
use crate::{fulfil, Error, Frame, Session, SessionBuilder, Simulation};

/// Checksums a replaying session keeps (see [`Replay::session`]).
const REPLAY_CHECKSUM_HISTORY: u32 = 256;

/// What a verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    /// Frames replayed.
    pub frames: u32,
    /// Recorded checksums that matched the replay.
    pub checksums_verified: u32,
    /// Recorded checksums the replay could not compare (beyond the last frame, or off the log's
    /// checksum interval).
    pub checksums_unchecked: u32,
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
        let h = self.log.header();
        // The replay compares each recorded checksum right after the advance that made it final, so
        // the session only needs the newest few: a fixed history works for every interval the
        // format allows (1..=u32::MAX), where one scaled by the interval overflowed or was refused.
        let interval = h.checksum_interval.max(1);
        SessionBuilder::new(usize::from(h.slots))
            .max_input_size(usize::from(h.max_input_size))
            .default_input(&h.default_input)
            .max_snapshot_size(self.max_snapshot_size)
            .frame_arena_size(self.frame_arena_size)
            .checksum_interval(interval)
            .checksum_history(REPLAY_CHECKSUM_HISTORY)
            .start_frame(start)
            .build()
    }

    /// Replays every frame into `sim`, which must be in the state of the log's first frame (a new
    /// simulation with the log's parameters), and compares every recorded checksum. `progress` is
    /// called with the number of frames replayed every 4,096 frames.
    ///
    /// Errors: [`Error::ReplayDiverged`] at the first recorded checksum that differs; errors of the
    /// simulation; [`Error::LogMismatch`] if the log's frames do not fit a session.
    pub fn verify<S: Simulation>(&self, sim: &mut S, progress: &mut dyn FnMut(u32)) -> Result<VerifyReport, Error> {
        let first = self.log.header().first_frame;
        let mut session = self.session(first)?;
        let recorded: Vec<(Frame, u64)> = self.log.checksums().collect();
        let mut next_check = 0;
        let mut report = VerifyReport { frames: 0, checksums_verified: 0, checksums_unchecked: 0, last_checksum: None };
        let mut cursor = self.log.cursor();
        while let Some(frame) = cursor.next_frame()? {
            for (slot, input) in frame.inputs().enumerate() {
                feed(&mut session, slot, frame.frame(), input)?;
            }
            let mut step = session.advance()?;
            fulfil(&mut step, sim)?;
            drop(step);
            report.frames += 1;
            if report.frames % 4096 == 0 {
                progress(report.frames);
            }
            let done = session.checksummed_until();
            while next_check < recorded.len() && recorded[next_check].0 < done {
                let (f, expected) = recorded[next_check];
                next_check += 1;
                match session.checksum(f) {
                    Some(actual) if actual != expected => {
                        return Err(Error::ReplayDiverged { frame: f, expected, actual })
                    }
                    Some(actual) => {
                        report.checksums_verified += 1;
                        report.last_checksum = Some((f, actual));
                    }
                    None => report.checksums_unchecked += 1,
                }
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

fn feed(session: &mut Session, slot: usize, frame: Frame, input: LoggedInput<'_>) -> Result<(), Error> {
    if input.flags & FLAG_DISCONNECTED != 0 {
        session.add_disconnected_input(slot, frame, input.bytes)
    } else if input.flags & FLAG_SUBSTITUTED != 0 {
        session.add_substituted_input(slot, frame, input.bytes)
    } else {
        session.add_remote_input(slot, frame, input.bytes)
    }
}
