//! Verifying a log as it streams by: the replay runs as the frames are read, with bounded
//! memory whatever the log's size.

use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Seek};

use super::stream::{LogEvent, LogStream, StreamedKeyframe};
use super::verify::{compare_checksum, feed, keyframe_mismatch, replay_session, NO_CHECKSUM};
use super::VerifyReport;
use crate::{fulfil, Error, Frame, Session, Simulation, SnapshotWriter};

/// Recorded checksums of frames the replay has not reached yet that a streaming replay holds. A
/// writer records a frame's checksum after the frame, so these are at most the current chunk's.
pub const STREAM_PENDING_CHECKSUMS: usize = 1 << 16;
/// Keyframes of frames the replay has not reached yet that a streaming replay holds (hashes only).
const PENDING_KEYFRAMES: usize = 1 << 16;
/// The replay's states (length and hash) at the latest keyframe frames, for keyframes that come
/// after the frames that lead to them (a writer records them once the frame is final).
const STATES_KEPT: usize = 64;

/// A streaming replay: [`Replay`](super::Replay) over a [`LogStream`]. Build with
/// [`LogStream::replay`].
#[derive(Debug)]
pub struct StreamReplay<'s, R> {
    log: &'s mut LogStream<R>,
    ahead: Option<(&'s mut LogStream<R>, u32)>,
    max_snapshot_size: usize,
    frame_arena_size: usize,
}

impl<R: Read> LogStream<R> {
    /// A replay of the rest of this stream (of a stream that has given out nothing yet: the whole
    /// log), with 64 KiB snapshots and a 1 MiB frame arena.
    pub fn replay(&mut self) -> StreamReplay<'_, R> {
        StreamReplay { log: self, ahead: None, max_snapshot_size: 64 * 1024, frame_arena_size: 1 << 20 }
    }
}

/// The replay's state at a frame, as a keyframe is compared with it.
#[derive(Debug, Clone, Copy)]
struct State {
    frame: Frame,
    len: usize,
    hash: u64,
    /// The checksum the session records for it (the simulation's own, or the hash).
    checksum: u64,
}

impl<'s, R: Read> StreamReplay<'s, R> {
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

    /// Takes the checksums and keyframes from `ahead`, a second stream over the same log from its
    /// start, read up to `lag` frames ahead of the replay, instead of from the replayed stream. Then
    /// every checksum and keyframe recorded at most `lag` frames after its frame (where the frames
    /// read when it was read end, minus its frame) is compared exactly as [`Replay::verify`] does,
    /// wherever it is in the file. A caller that read the log once already knows that lag.
    ///
    /// [`Replay::verify`]: super::Replay::verify
    pub fn read_ahead(mut self, ahead: &'s mut LogStream<R>, lag: u32) -> Self {
        self.ahead = Some((ahead, lag));
        self
    }

    /// As [`Replay::verify`](super::Replay::verify), reading the log as it replays. Keyframes are
    /// compared by length and XXH3-64 hash with the replay's state at their frame (a keyframe
    /// recorded more than 64 keyframe intervals after its frame cannot be compared and is an
    /// error); a recorded checksum is compared once the replay's is final, as in `Replay::verify`.
    ///
    /// A problem of the replay (a divergence, a keyframe that differs, an error of the simulation)
    /// stops the replay, but the rest of the log is still read and validated: an error of the file
    /// itself wins, so the result is the one `Replay::verify` gives after `LogReader::parse`.
    ///
    /// Errors: as [`LogStream::next_event`] and [`Replay::verify`](super::Replay::verify);
    /// [`Error::LogMismatch`] when more than [`STREAM_PENDING_CHECKSUMS`] checksums or 65,536
    /// keyframes are recorded ahead of the frames.
    pub fn verify<S: Simulation>(self, sim: &mut S, progress: &mut dyn FnMut(u32)) -> Result<VerifyReport, Error> {
        let header = self.log.header().clone();
        let sizes = (self.max_snapshot_size, self.frame_arena_size);
        let mut session = match replay_session(&header, self.log.format_version(), sizes, header.first_frame) {
            Ok(session) => session,
            Err(e) => {
                // Errors of the file itself, then a log without checksums, win over the session's
                // (the order `Replay::verify` gives after `LogReader::parse`): read the rest first.
                while self.log.next_event()?.is_some() {}
                if self.log.checksums_seen() == 0 {
                    return Err(NO_CHECKSUM);
                }
                return Err(e);
            }
        };
        let mut check = Check {
            pending: BTreeMap::new(),
            keyframes: Vec::new(),
            states: VecDeque::with_capacity(STATES_KEPT),
            buf: Vec::new(),
            hasher: framelock_hash::CopyHasher::new(),
            capacity: self.max_snapshot_size,
            interval: header.keyframe_interval,
            at: header.first_frame,
            reached: false,
        };
        let mut report = VerifyReport {
            frames: 0,
            checksums_verified: 0,
            checksums_unchecked: 0,
            keyframes_verified: 0,
            last_checksum: None,
        };
        let mut ahead = self.ahead;
        let mut failed = match ahead.as_mut() {
            Some((a, lag)) => check.pump(a, header.first_frame.saturating_add(*lag), &session, &mut report),
            None => Ok(()),
        };
        if failed.is_ok() {
            failed = check.reached(sim, header.first_frame, true, &mut report);
        }
        let mut failed = failed.err();
        while let Some(event) = self.log.next_event()? {
            if failed.is_some() {
                continue; // only validating the rest now
            }
            let result = match event {
                LogEvent::Checksum { .. } | LogEvent::Keyframe(_) if ahead.is_some() => Ok(()),
                LogEvent::Checksum { frame, checksum } => check.checksum(&session, frame, checksum, &mut report),
                LogEvent::Keyframe(k) => {
                    let recorded = self.log.recent_checksum(k.frame);
                    check.keyframe(sim, k, recorded, &mut report)
                }
                LogEvent::Frame(frame) => {
                    let f = frame.frame();
                    let step = frame.inputs().enumerate().try_for_each(|(s, i)| feed(&mut session, s, f, i));
                    step.and_then(|()| advance(&mut session, sim))
                        .and_then(|()| {
                            report.frames += 1;
                            if report.frames % 4096 == 0 {
                                progress(report.frames);
                            }
                            match ahead.as_mut() {
                                Some((a, lag)) => check.pump(a, (f + 1).saturating_add(*lag), &session, &mut report),
                                None => Ok(()),
                            }
                        })
                        .and_then(|()| check.reached(sim, f + 1, false, &mut report))
                        .and_then(|()| check.drain(&session, &mut report))
                }
            };
            failed = result.err();
        }
        if self.log.checksums_seen() == 0 {
            return Err(NO_CHECKSUM);
        }
        if let Some(e) = failed {
            return Err(e);
        }
        report.checksums_unchecked += check.pending.len() as u32;
        progress(report.frames);
        Ok(report)
    }
}

impl<R: Read + Seek> StreamReplay<'_, R> {
    /// As [`Replay::seek`](super::Replay::seek), over a seekable stream in bounded memory: one
    /// pass over the whole log (from its start) finds the latest keyframe at or before `frame`
    /// (keyframes can be anywhere in the file), its snapshot is read and loaded into `sim`, and the
    /// frames from there to `frame` are replayed. Returns the frame replaying started from.
    ///
    /// Errors: as `Replay::seek` and [`LogStream::next_event`]; [`Error::LogMismatch`] when that
    /// keyframe is larger than [`StreamReplay::max_snapshot_size`] (no state the simulation saves).
    pub fn seek<S: Simulation>(self, sim: &mut S, frame: Frame) -> Result<Frame, Error> {
        let log = self.log;
        log.rewind()?;
        let mut best: Option<StreamedKeyframe> = None;
        while let Some(event) = log.next_event()? {
            match event {
                LogEvent::Frame(_) => log.skip_chunk_frames(),
                // The latest in frame order, and of equal frames the last in the file (as the
                // stable sort of `LogReader` gives).
                LogEvent::Keyframe(k) if k.frame <= frame && best.is_none_or(|b| k.frame >= b.frame) => best = Some(k),
                _ => {}
            }
        }
        let header = log.header().clone();
        if frame < header.first_frame || frame > log.end_frame() {
            return Err(Error::LogMismatch { what: "the log does not hold that frame" });
        }
        let start = match best {
            Some(k) => {
                if k.len as usize > self.max_snapshot_size {
                    return Err(Error::LogMismatch { what: "a keyframe larger than the replay's snapshot size" });
                }
                let mut snapshot = vec![0; k.len as usize];
                log.read_at(k.offset, &mut snapshot)?;
                sim.load(&snapshot).map_err(|e| Error::Simulation { frame: k.frame, reason: e.reason })?;
                k.frame
            }
            None => header.first_frame,
        };
        if start == frame {
            return Ok(start);
        }
        let sizes = (self.max_snapshot_size, self.frame_arena_size);
        let mut session = replay_session(&header, log.format_version(), sizes, start)?;
        log.rewind()?;
        log.skip_to(start)?;
        while let Some(f) = log.next_frame()? {
            if f.frame() >= frame {
                break;
            }
            let n = f.frame();
            f.inputs().enumerate().try_for_each(|(s, i)| feed(&mut session, s, n, i))?;
            advance(&mut session, sim)?;
        }
        Ok(start)
    }
}

fn advance<S: Simulation>(session: &mut Session, sim: &mut S) -> Result<(), Error> {
    let mut step = session.advance()?;
    fulfil(&mut step, sim)
}

/// What the streaming replay holds to compare checksums and keyframes that are not where the
/// replay is.
struct Check {
    /// Recorded checksums of frames whose replayed checksum is not final yet.
    pending: BTreeMap<Frame, u64>,
    /// Keyframes of frames the replay has not reached.
    keyframes: Vec<StreamedKeyframe>,
    /// The replay's latest states at keyframe frames.
    states: VecDeque<State>,
    buf: Vec<u8>,
    /// Every state saved here is hashed: as it is copied in.
    hasher: framelock_hash::CopyHasher,
    capacity: usize,
    interval: u32,
    /// The frame whose starting state the simulation holds.
    at: Frame,
    /// Whether the keyframes of `at` were compared (then one of `at` that comes now is too late).
    reached: bool,
}

impl Check {
    fn checksum(&mut self, session: &Session, frame: Frame, c: u64, report: &mut VerifyReport) -> Result<(), Error> {
        if frame < session.checksummed_until() {
            return compare_checksum(session, frame, c, report);
        }
        if self.pending.len() >= STREAM_PENDING_CHECKSUMS {
            return Err(Error::LogMismatch {
                what: "more than 65,536 checksums recorded ahead of their frames (a streaming replay's limit)",
            });
        }
        self.pending.insert(frame, c);
        Ok(())
    }

    /// Reads the checksums and keyframes of `ahead` until its frames pass `until`.
    fn pump<R: Read>(
        &mut self,
        ahead: &mut LogStream<R>,
        until: Frame,
        session: &Session,
        report: &mut VerifyReport,
    ) -> Result<(), Error> {
        while !ahead.is_finished() && ahead.end_frame() <= until {
            match ahead.next_event()? {
                Some(LogEvent::Frame(_)) => ahead.skip_chunk_frames(),
                Some(LogEvent::Checksum { frame, checksum }) => self.checksum(session, frame, checksum, report)?,
                Some(LogEvent::Keyframe(k)) => {
                    if k.frame < self.at || (k.frame == self.at && self.reached) {
                        // Its frame was replayed without it: the lag given was too small.
                        return Err(Error::LogInconsistent {
                            what: "a keyframe recorded further after its frame than the read-ahead",
                            frame: k.frame,
                        });
                    }
                    self.keyframes_ahead(k)?;
                }
                None => {}
            }
        }
        Ok(())
    }

    fn keyframes_ahead(&mut self, k: StreamedKeyframe) -> Result<(), Error> {
        if self.keyframes.len() >= PENDING_KEYFRAMES {
            return Err(Error::LogMismatch {
                what: "more than 65,536 keyframes recorded ahead of their frames (a streaming replay's limit)",
            });
        }
        self.keyframes.push(k);
        Ok(())
    }

    /// Compares the recorded checksums the replay has made final.
    fn drain(&mut self, session: &Session, report: &mut VerifyReport) -> Result<(), Error> {
        let done = session.checksummed_until();
        while let Some(entry) = self.pending.first_entry().filter(|e| *e.key() < done) {
            let (f, expected) = entry.remove_entry();
            compare_checksum(session, f, expected, report)?;
        }
        Ok(())
    }

    fn keyframe<S: Simulation>(
        &mut self,
        sim: &S,
        k: StreamedKeyframe,
        recorded: Option<u64>,
        report: &mut VerifyReport,
    ) -> Result<(), Error> {
        if k.frame > self.at {
            return self.keyframes_ahead(k);
        }
        let state = if k.frame == self.at {
            self.save(sim)?
        } else {
            match self.states.iter().find(|s| s.frame == k.frame) {
                Some(&s) => s,
                None => {
                    return Err(Error::LogInconsistent {
                        what: "a keyframe recorded too long after its frame for a streaming replay",
                        frame: k.frame,
                    })
                }
            }
        };
        compare(state, k, recorded, report)
    }

    /// The simulation now holds the state at the start of `frame`: keep it if a keyframe may name
    /// it, and compare the keyframes that were waiting for it.
    fn reached<S: Simulation>(
        &mut self,
        sim: &S,
        frame: Frame,
        first: bool,
        report: &mut VerifyReport,
    ) -> Result<(), Error> {
        self.at = frame;
        self.reached = true;
        let on_interval = first || (self.interval > 0 && frame % self.interval == 0);
        let waiting = self.keyframes.iter().any(|k| k.frame == frame);
        if !on_interval && !waiting {
            return Ok(());
        }
        let state = self.save(sim)?;
        if on_interval {
            if self.states.len() == STATES_KEPT {
                self.states.pop_front();
            }
            self.states.push_back(state);
        }
        while let Some(i) = self.keyframes.iter().position(|k| k.frame == frame) {
            let k = self.keyframes.swap_remove(i);
            // The recorded checksum of the frame is still waiting to be compared (that happens
            // after the keyframes, as in `Replay::verify`).
            compare(state, k, self.pending.get(&frame).copied(), report)?;
        }
        Ok(())
    }

    fn save<S: Simulation>(&mut self, sim: &S) -> Result<State, Error> {
        let mut own = None;
        self.hasher.reset();
        let mut w = SnapshotWriter::new(&mut self.buf, 0, self.capacity, &mut own, Some(&mut self.hasher));
        sim.save(&mut w).map_err(|e| Error::Simulation { frame: self.at, reason: e.reason })?;
        let hash = self.hasher.finish(&self.buf);
        Ok(State { frame: self.at, len: self.buf.len(), hash, checksum: own.unwrap_or(hash) })
    }
}

fn compare(state: State, k: StreamedKeyframe, recorded: Option<u64>, report: &mut VerifyReport) -> Result<(), Error> {
    if state.len != k.len as usize || state.hash != k.hash {
        return Err(keyframe_mismatch(k.frame, state.checksum, recorded));
    }
    report.keyframes_verified += 1;
    Ok(())
}
