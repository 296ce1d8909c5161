//! The consistency checks of [`LogReader::parse`](super::LogReader::parse) (conflicting
//! checksums, checksums and keyframes outside the log) for a reader that sees the file once, in
//! order, in bounded memory.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound::{Excluded, Unbounded};

use super::STREAM_CHECKSUM_WINDOW;
use crate::{Error, Frame};

/// Keyframe frames ahead of the frames read so far that the reader remembers (to report a
/// keyframe for a frame the log does not hold); a writer never records one ahead.
const KEYFRAMES_AHEAD: usize = 4096;

/// The consistency checks of [`LogReader::parse`](super::LogReader::parse), in bounded memory.
#[derive(Debug)]
pub(crate) struct Consistency {
    first: Frame,
    pub recent: BTreeMap<Frame, u64>,
    pub distinct: u64,
    pub lowest: Option<(Frame, u64)>,
    pub highest: Option<(Frame, u64)>,
    /// The lowest frame with two different checksums.
    conflict: Option<Frame>,
    keyframe_below: Option<Frame>,
    keyframes_ahead: BTreeSet<Frame>,
    keyframe_max: Option<Frame>,
}

impl Consistency {
    pub fn new(first: Frame) -> Self {
        Consistency {
            first,
            recent: BTreeMap::new(),
            distinct: 0,
            lowest: None,
            highest: None,
            conflict: None,
            keyframe_below: None,
            keyframes_ahead: BTreeSet::new(),
            keyframe_max: None,
        }
    }

    /// Takes a recorded checksum; `true` when it is not a copy of one already seen.
    pub fn checksum(&mut self, f: Frame, c: u64) -> bool {
        match self.recent.get(&f) {
            Some(&seen) if seen == c => return false,
            Some(_) => {
                self.conflict = Some(self.conflict.map_or(f, |x| x.min(f)));
                return false;
            }
            None => {}
        }
        self.recent.insert(f, c);
        if self.recent.len() > STREAM_CHECKSUM_WINDOW {
            self.recent.pop_first();
        }
        self.distinct += 1;
        if self.lowest.is_none_or(|(l, _)| f < l) {
            self.lowest = Some((f, c));
        }
        if self.highest.is_none_or(|(h, _)| f > h) {
            self.highest = Some((f, c));
        }
        true
    }

    pub fn keyframe(&mut self, f: Frame, end_frame: Frame) {
        if f < self.first {
            self.keyframe_below = Some(self.keyframe_below.map_or(f, |x| x.min(f)));
        }
        if f > end_frame && self.keyframes_ahead.len() < KEYFRAMES_AHEAD {
            self.keyframes_ahead.insert(f);
        }
        self.keyframe_max = Some(self.keyframe_max.map_or(f, |x| x.max(f)));
    }

    /// The first error of `LogReader::check_consistency`'s order, with the log's last frame known.
    pub fn finish(&self, end: Frame) -> Result<(), Error> {
        if let Some(frame) = self.conflict {
            return Err(Error::LogInconsistent { what: "two different checksums recorded for one frame", frame });
        }
        let outside = |what, frame| Err(Error::LogInconsistent { what, frame });
        let past = self.recent.range((Excluded(end), Unbounded)).next().map(|(&f, _)| f);
        let past = past.or(self.highest.map(|(f, _)| f).filter(|&f| f > end));
        if let Some(frame) = self.lowest.map(|(f, _)| f).filter(|&f| f < self.first).or(past) {
            return outside("a checksum recorded for a frame the log does not hold", frame);
        }
        let past = self.keyframes_ahead.range((Excluded(end), Unbounded)).next().copied();
        let past = past.or(self.keyframe_max.filter(|&f| f > end));
        if let Some(frame) = self.keyframe_below.or(past) {
            return outside("a keyframe for a frame the log does not hold", frame);
        }
        Ok(())
    }
}
