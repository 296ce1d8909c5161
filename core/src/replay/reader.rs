//! Reading a log: the whole file is validated once (every chunk's CRC and every frame's encoding),
//! indexed, and then decoded on demand by cursors.

use super::chunk::{self, FrameState, Frames, HEAD_LEN, MAX_FRAMES_CHUNK_BODY};
use super::codec::Cursor;
use super::{Keyframe, LogHeader, LoggedInput, CHUNK_END, CHUNK_FRAMES, CHUNK_KEYFRAME};
use crate::{Error, Frame};

/// Where one frames chunk is and what it holds.
#[derive(Debug, Clone, Copy)]
struct FramesChunk {
    /// The chunk's number in the file, counted from 0.
    number: u32,
    /// File offset of the body.
    body: usize,
    first: Frame,
    count: u16,
}

/// Whether a log proves that it is whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completeness {
    /// Format 2 or later, ending with its end chunk: every frame the writer wrote is there, and
    /// nothing else.
    Complete,
    /// Format 1 has no end chunk: the log reads as whole chunks, but a cut between two chunks
    /// cannot be told from the end.
    NoTrailer,
    /// The file ends inside a chunk, or (format 2) before its end chunk: the whole chunks before
    /// the cut are readable. Holds [`Error::LogTruncated`].
    Truncated(Error),
}

impl Completeness {
    /// What a reader that met `truncation` (or not) and read `trailer` (or not) can say.
    pub(crate) fn of(truncation: Option<Error>, trailer: Option<Trailer>) -> Self {
        match (truncation, trailer) {
            (Some(e), _) => Completeness::Truncated(e),
            (None, Some(_)) => Completeness::Complete,
            (None, None) => Completeness::NoTrailer,
        }
    }
}

/// What a format-2 log's end chunk says about the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    /// The number of frames in the log.
    pub frames: u32,
    /// The frame after the last one.
    pub end_frame: Frame,
    /// The number of chunks before the end chunk.
    pub chunks: u32,
    /// CRC-32 of the CRCs (little-endian) of the header and of every chunk before the end chunk.
    pub digest: u32,
}

/// A validated, indexed input log over the bytes of a file.
///
/// Parsing never trusts a length field: every length is checked against the bytes that are there
/// before it is used, nothing is allocated because a field says so, and no input can make it panic.
/// A file cut short parses up to its last whole chunk, and says where it was cut in
/// [`LogReader::truncation`]; a format-2 file proves it is whole with its end chunk
/// ([`LogReader::completeness`]).
///
/// Besides each chunk's encoding, parsing checks that the parts agree: no two different checksums
/// for one frame, no checksum or keyframe for a frame outside the log, nothing after the end chunk.
#[derive(Debug)]
pub struct LogReader<'a> {
    bytes: &'a [u8],
    header: LogHeader,
    version: u16,
    chunks: Vec<FramesChunk>,
    checksums: Vec<(Frame, u64)>,
    keyframes: Vec<Keyframe>,
    end_frame: Frame,
    truncation: Option<Error>,
    trailer: Option<Trailer>,
}

impl<'a> LogReader<'a> {
    /// Validates and indexes a whole log.
    ///
    /// Errors: [`Error::LogCorrupt`] (bad magic, bad field, frames out of order, bytes after the end
    /// chunk, an end chunk that does not match the file: with byte offset and chunk),
    /// [`Error::LogChunkCrc`], [`Error::LogInconsistent`] (conflicting checksums, a checksum or
    /// keyframe outside the log: with the frame), [`Error::LogUnsupportedVersion`],
    /// [`Error::LogTruncated`] when even the header is incomplete.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let (header, mut off, version) = LogHeader::decode(bytes)?;
        let mut log = LogReader {
            bytes,
            end_frame: header.first_frame,
            header,
            version,
            chunks: Vec::new(),
            checksums: Vec::new(),
            keyframes: Vec::new(),
            truncation: None,
            trailer: None,
        };
        // The digest the end chunk must carry: CRC-32 over the header's and every chunk's CRC.
        let mut digest = super::crc32(0, &bytes[off - 4..off]);
        let mut number = 0u32;
        let mut scratch = FrameState::new(&log.header);
        while off < bytes.len() {
            let at = off as u64;
            if log.trailer.is_some() {
                return Err(chunk::after_end(at, number));
            }
            chunk::concatenated(&bytes[off..], at, number)?;
            let Some(head) = bytes.get(off..off + HEAD_LEN) else {
                log.truncation = Some(Error::LogTruncated { byte: bytes.len() as u64, chunk: Some(number) });
                break;
            };
            let mut h = [0u8; HEAD_LEN];
            h.copy_from_slice(head);
            let body_len = chunk::body_len(&h, at, number)?;
            let end = off + HEAD_LEN + body_len as usize;
            let Some(crc_bytes) = bytes.get(end..end + 4) else {
                log.truncation = Some(Error::LogTruncated { byte: bytes.len() as u64, chunk: Some(number) });
                break;
            };
            let crc_bytes = [crc_bytes[0], crc_bytes[1], crc_bytes[2], crc_bytes[3]];
            if super::crc32(0, &bytes[off..end]) != u32::from_le_bytes(crc_bytes) {
                return Err(Error::LogChunkCrc { chunk: number, byte: at });
            }
            let mut body = Cursor::new(&bytes[off + HEAD_LEN..end], at + HEAD_LEN as u64, Some(number));
            match h[0] {
                CHUNK_FRAMES if body_len > MAX_FRAMES_CHUNK_BODY => return Err(chunk::frames_too_long(at, number)),
                CHUNK_FRAMES => {
                    let f = chunk::frames_body(&mut body, &log.header, log.end_frame, &mut scratch)?;
                    log.checksums.extend(chunk::checksums(f.checksums));
                    log.end_frame = f.end();
                    if f.count > 0 {
                        log.chunks.push(FramesChunk { number, body: off + HEAD_LEN, first: f.first, count: f.count });
                    }
                }
                CHUNK_KEYFRAME => {
                    let frame = chunk::keyframe_frame(&mut body)?;
                    let len = body.remaining() as u32;
                    log.keyframes.push(Keyframe { frame, offset: body.offset(), len });
                }
                CHUNK_END if version >= 2 => {
                    let t = chunk::trailer(&mut body, log.frames(), log.end_frame, number, digest)?;
                    log.trailer = Some(t);
                }
                _ => return Err(chunk::unknown_kind(at, number)),
            }
            digest = super::crc32(digest, &crc_bytes);
            off = end + 4;
            number += 1;
        }
        if version >= 2 && log.trailer.is_none() && log.truncation.is_none() {
            // Cut between two chunks: without its end chunk a format-2 log is not whole.
            log.truncation = Some(Error::LogTruncated { byte: bytes.len() as u64, chunk: Some(number) });
        }
        log.check_consistency()?;
        Ok(log)
    }

    /// Checksums and keyframes must name frames of the log, and one frame has one checksum.
    fn check_consistency(&mut self) -> Result<(), Error> {
        let (first, end) = (self.header.first_frame, self.end_frame);
        // A stable sort keeps each frame's checksums in file order (the first one is reported).
        self.checksums.sort_by_key(|&(f, _)| f);
        for w in self.checksums.windows(2) {
            if w[0].0 == w[1].0 && w[0].1 != w[1].1 {
                return Err(Error::LogInconsistent {
                    what: "two different checksums recorded for one frame",
                    frame: w[0].0,
                });
            }
        }
        self.checksums.dedup();
        if let Some(&(f, _)) = self.checksums.iter().find(|&&(f, _)| f < first || f > end) {
            return Err(Error::LogInconsistent {
                what: "a checksum recorded for a frame the log does not hold",
                frame: f,
            });
        }
        self.keyframes.sort_by_key(|k| k.frame);
        if let Some(k) = self.keyframes.iter().find(|k| k.frame < first || k.frame > end) {
            return Err(Error::LogInconsistent {
                what: "a keyframe for a frame the log does not hold",
                frame: k.frame,
            });
        }
        Ok(())
    }

    /// The header.
    pub fn header(&self) -> &LogHeader {
        &self.header
    }

    /// The number of frames in the log.
    pub fn frames(&self) -> u32 {
        self.end_frame - self.header.first_frame
    }

    /// The frame after the last one in the log.
    pub fn end_frame(&self) -> Frame {
        self.end_frame
    }

    /// Recorded checksums `(frame, checksum)`, by frame.
    pub fn checksums(&self) -> impl ExactSizeIterator<Item = (Frame, u64)> + '_ {
        self.checksums.iter().copied()
    }

    /// Recorded keyframes, by frame.
    pub fn keyframes(&self) -> &[Keyframe] {
        &self.keyframes
    }

    /// The snapshot bytes of a keyframe.
    pub fn keyframe_bytes(&self, k: &Keyframe) -> &'a [u8] {
        let start = (k.offset as usize).min(self.bytes.len());
        let end = start.saturating_add(k.len as usize).min(self.bytes.len());
        &self.bytes[start..end]
    }

    /// The latest keyframe at or before `frame`.
    pub fn keyframe_at_or_before(&self, frame: Frame) -> Option<Keyframe> {
        self.keyframes.iter().rev().find(|k| k.frame <= frame).copied()
    }

    /// `Some(Error::LogTruncated { .. })` when the file ends inside a chunk or, in format 2 and
    /// later, before its end chunk (even exactly between two chunks).
    pub fn truncation(&self) -> Option<Error> {
        self.truncation
    }

    /// Whether the log proves it is whole: [`Completeness::Complete`] (format 2 with its end
    /// chunk), [`Completeness::NoTrailer`] (format 1, whole chunks) or [`Completeness::Truncated`].
    pub fn completeness(&self) -> Completeness {
        Completeness::of(self.truncation, self.trailer)
    }

    /// The end chunk of a whole format-2 log.
    pub fn trailer(&self) -> Option<Trailer> {
        self.trailer
    }

    /// The format version the file was written with.
    pub fn format_version(&self) -> u16 {
        self.version
    }

    /// The size of the file in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// A cursor over every frame from the first.
    pub fn cursor(&self) -> FrameCursor<'_> {
        FrameCursor {
            log: self,
            chunk: 0,
            left_in_chunk: 0,
            body: None,
            frame: self.header.first_frame,
            state: FrameState::new(&self.header),
            frames: Frames::new(&self.header),
        }
    }

    /// A cursor whose next frame is `frame` (decoding starts at the chunk that holds it).
    ///
    /// Errors: [`Error::LogMismatch`] when the log does not hold `frame`.
    pub fn cursor_at(&self, frame: Frame) -> Result<FrameCursor<'_>, Error> {
        if frame < self.header.first_frame || frame >= self.end_frame {
            return Err(Error::LogMismatch { what: "the log does not hold that frame" });
        }
        let chunk = self.chunks.partition_point(|c| c.first + u32::from(c.count) <= frame);
        let mut cursor = self.cursor();
        cursor.chunk = chunk;
        cursor.frame = self.chunks.get(chunk).map_or(self.end_frame, |c| c.first);
        while cursor.frame < frame {
            cursor.next_frame()?;
        }
        Ok(cursor)
    }
}

/// Decodes frames in order. Reuses its buffers: reading a frame allocates nothing.
#[derive(Debug)]
pub struct FrameCursor<'r> {
    log: &'r LogReader<'r>,
    chunk: usize,
    left_in_chunk: u16,
    body: Option<Cursor<'r>>,
    frame: Frame,
    state: FrameState,
    frames: Frames,
}

impl<'r> FrameCursor<'r> {
    /// The next frame, or `None` after the last.
    pub fn next_frame(&mut self) -> Result<Option<LoggedFrame<'_>>, Error> {
        if self.left_in_chunk == 0 {
            let Some(c) = self.log.chunks.get(self.chunk) else { return Ok(None) };
            let bytes = self.log.bytes;
            let end = bytes.len().min(c.body + 6 + CHUNK_SPAN_MAX);
            let mut body = Cursor::new(&bytes[c.body.min(end)..end], c.body as u64, Some(c.number));
            body.take(6, "chunk frame range")?;
            self.body = Some(body);
            self.left_in_chunk = c.count;
            self.frame = c.first;
            self.chunk += 1;
            self.state.reset(&self.log.header);
        }
        let Some(body) = self.body.as_mut() else { return Ok(None) };
        self.state.next_frame(&self.frames, body, &self.log.header)?;
        self.left_in_chunk -= 1;
        let frame = self.frame;
        self.frame += 1;
        Ok(Some(LoggedFrame { frame, state: &self.state }))
    }

    /// The frame `next_frame` returns next.
    pub fn position(&self) -> Frame {
        self.frame
    }
}

/// Frames chunk bodies are never longer than this; it only bounds the slice a cursor reads from,
/// the chunk was validated when the log was parsed.
const CHUNK_SPAN_MAX: usize = MAX_FRAMES_CHUNK_BODY as usize;

/// One decoded frame: every slot's input and flags.
#[derive(Debug, Clone, Copy)]
pub struct LoggedFrame<'c> {
    pub(crate) frame: Frame,
    pub(crate) state: &'c FrameState,
}

impl<'c> LoggedFrame<'c> {
    /// The frame number.
    #[inline]
    pub fn frame(&self) -> Frame {
        self.frame
    }

    /// The number of slots.
    #[inline]
    pub fn slots(&self) -> usize {
        self.state.lens.len()
    }

    /// The input of `slot` (an empty, plain input for a slot that does not exist).
    #[inline]
    pub fn input(&self, slot: usize) -> LoggedInput<'c> {
        let Some(&len) = self.state.lens.get(slot) else { return LoggedInput::confirmed(&[]) };
        let p = slot * self.state.max_input;
        LoggedInput { flags: self.state.flags[slot], bytes: &self.state.bytes[p..p + usize::from(len)] }
    }

    /// Every slot's input in slot order.
    #[inline]
    pub fn inputs(&self) -> impl ExactSizeIterator<Item = LoggedInput<'c>> + 'c {
        let this = *self;
        (0..self.slots()).map(move |s| this.input(s))
    }
}
