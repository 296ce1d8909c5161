//! Reading a log: the whole file is validated once (every chunk's CRC and every frame's encoding),
//! indexed, and then decoded on demand by cursors.

use super::codec::Cursor;
use super::{Keyframe, LogHeader, LoggedInput, CHUNK_END, CHUNK_FRAMES, CHUNK_KEYFRAME, MAX_CHUNK_BODY};
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
        while off < bytes.len() {
            let at = off as u64;
            if log.trailer.is_some() {
                return Err(Error::LogCorrupt {
                    what: "bytes after the end chunk (two logs concatenated?)",
                    byte: at,
                    chunk: Some(number),
                });
            }
            if bytes[off..].starts_with(&super::MAGIC) {
                // Format 1 has no end chunk; a second header where a chunk should be is still a
                // concatenation, not a chunk of unknown kind or a truncation.
                return Err(Error::LogCorrupt {
                    what: "another log begins here (two logs concatenated?)",
                    byte: at,
                    chunk: Some(number),
                });
            }
            let left = bytes.len() - off;
            let body_len = if left >= 5 {
                u32::from_le_bytes([bytes[off + 1], bytes[off + 2], bytes[off + 3], bytes[off + 4]])
            } else {
                0
            };
            if body_len > MAX_CHUNK_BODY {
                return Err(Error::LogCorrupt { what: "chunk length over 1 GiB", byte: at + 1, chunk: Some(number) });
            }
            if left < 5 || left - 5 < body_len as usize + 4 {
                log.truncation = Some(Error::LogTruncated { byte: bytes.len() as u64, chunk: Some(number) });
                break;
            }
            let end = off + 5 + body_len as usize;
            let crc_bytes = [bytes[end], bytes[end + 1], bytes[end + 2], bytes[end + 3]];
            if super::crc32(0, &bytes[off..end]) != u32::from_le_bytes(crc_bytes) {
                return Err(Error::LogChunkCrc { chunk: number, byte: at });
            }
            let mut body = Cursor::new(&bytes[off + 5..end], at + 5, Some(number));
            match bytes[off] {
                CHUNK_FRAMES => log.index_frames(&mut body, number, off + 5)?,
                CHUNK_KEYFRAME => {
                    let frame = body.u32("keyframe frame")?;
                    let len = body.remaining() as u32;
                    log.keyframes.push(Keyframe { frame, offset: body.offset(), len });
                }
                CHUNK_END if version >= 2 => log.trailer = Some(log.read_trailer(&mut body, number, digest)?),
                _ => return Err(Error::LogCorrupt { what: "unknown chunk kind", byte: at, chunk: Some(number) }),
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

    /// The end chunk: it must describe exactly the file before it.
    fn read_trailer(&self, body: &mut Cursor<'_>, number: u32, digest: u32) -> Result<Trailer, Error> {
        let at = body.clone();
        let t = Trailer {
            frames: body.u32("end chunk frame count")?,
            end_frame: body.u32("end chunk end frame")?,
            chunks: body.u32("end chunk chunk count")?,
            digest: body.u32("end chunk digest")?,
        };
        if body.remaining() != 0 {
            return Err(body.corrupt("bytes after the end chunk's last field"));
        }
        if t.frames != self.frames() || t.end_frame != self.end_frame {
            return Err(at.corrupt("the end chunk's frame count does not match the frames in the file"));
        }
        if t.chunks != number {
            return Err(at.corrupt("the end chunk's chunk count does not match the chunks in the file"));
        }
        if t.digest != digest {
            return Err(at.corrupt("the end chunk's digest does not match the chunks in the file"));
        }
        Ok(t)
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

    /// Decodes a frames chunk once to validate it, and indexes it.
    fn index_frames(&mut self, body: &mut Cursor<'_>, number: u32, body_at: usize) -> Result<(), Error> {
        let start = body.clone();
        let first = body.u32("first frame")?;
        let count = body.u16("frame count")?;
        if first != self.end_frame {
            return Err(start.corrupt("frames out of order"));
        }
        let mut scratch = FrameState::new(&self.header);
        for _ in 0..count {
            scratch.decode_frame(body, &self.header)?;
        }
        let n = body.u16("checksum count")?;
        if body.remaining() != usize::from(n) * 12 {
            return Err(body.corrupt("checksum list length does not match the chunk length"));
        }
        for _ in 0..n {
            let f = body.u32("checksum frame")?;
            let c = body.u64("checksum")?;
            self.checksums.push((f, c));
        }
        self.end_frame = first.checked_add(u32::from(count)).ok_or_else(|| start.corrupt("frame number overflows"))?;
        if count > 0 {
            self.chunks.push(FramesChunk { number, body: body_at, first, count });
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
        match (self.truncation, self.trailer) {
            (Some(e), _) => Completeness::Truncated(e),
            (None, Some(_)) => Completeness::Complete,
            (None, None) => Completeness::NoTrailer,
        }
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

/// Every slot's current input while decoding a chunk.
#[derive(Debug, Clone)]
struct FrameState {
    bytes: Vec<u8>,
    lens: Vec<u16>,
    flags: Vec<u8>,
    max_input: usize,
}

impl FrameState {
    fn new(h: &LogHeader) -> Self {
        let slots = usize::from(h.slots);
        let max_input = usize::from(h.max_input_size);
        let mut s =
            FrameState { bytes: vec![0; slots * max_input], lens: vec![0; slots], flags: vec![0; slots], max_input };
        s.reset(h);
        s
    }

    /// Every chunk starts from the default input in every slot.
    fn reset(&mut self, h: &LogHeader) {
        for slot in 0..self.lens.len() {
            let p = slot * self.max_input;
            self.bytes[p..p + h.default_input.len()].copy_from_slice(&h.default_input);
            self.lens[slot] = h.default_input.len() as u16;
            self.flags[slot] = 0;
        }
    }

    fn decode_frame(&mut self, c: &mut Cursor<'_>, h: &LogHeader) -> Result<(), Error> {
        let slots = usize::from(h.slots);
        let at = c.clone();
        let mask = c.take(h.mask_len(), "changed-slot mask")?;
        if slots % 8 != 0 && mask[mask.len() - 1] >> (slots % 8) != 0 {
            return Err(at.corrupt("changed-slot mask names a slot that does not exist"));
        }
        for slot in 0..slots {
            if mask[slot / 8] >> (slot % 8) & 1 == 0 {
                continue;
            }
            let at = c.clone();
            let flags = c.u8("input flags")?;
            if flags & !(super::FLAG_DISCONNECTED | super::FLAG_SUBSTITUTED) != 0 {
                return Err(at.corrupt("unknown input flags"));
            }
            let len = c.u16("input length")?;
            if usize::from(len) > self.max_input {
                return Err(at.corrupt("input longer than max_input_size"));
            }
            let bytes = c.take(len.into(), "input bytes")?;
            let p = slot * self.max_input;
            self.bytes[p..p + bytes.len()].copy_from_slice(bytes);
            self.lens[slot] = len;
            self.flags[slot] = flags;
        }
        Ok(())
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
        self.state.decode_frame(body, &self.log.header)?;
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

/// Frames chunk bodies are never longer than this (the writer's budget is far below it); it only
/// bounds the slice a cursor reads from, the chunk was validated when the log was parsed.
const CHUNK_SPAN_MAX: usize = MAX_CHUNK_BODY as usize;

/// One decoded frame: every slot's input and flags.
#[derive(Debug, Clone, Copy)]
pub struct LoggedFrame<'c> {
    frame: Frame,
    state: &'c FrameState,
}

impl<'c> LoggedFrame<'c> {
    /// The frame number.
    pub fn frame(&self) -> Frame {
        self.frame
    }

    /// The number of slots.
    pub fn slots(&self) -> usize {
        self.state.lens.len()
    }

    /// The input of `slot` (an empty, plain input for a slot that does not exist).
    pub fn input(&self, slot: usize) -> LoggedInput<'c> {
        let Some(&len) = self.state.lens.get(slot) else { return LoggedInput::confirmed(&[]) };
        let p = slot * self.state.max_input;
        LoggedInput { flags: self.state.flags[slot], bytes: &self.state.bytes[p..p + usize::from(len)] }
    }

    /// Every slot's input in slot order.
    pub fn inputs(&self) -> impl ExactSizeIterator<Item = LoggedInput<'c>> + 'c {
        let this = *self;
        (0..self.slots()).map(move |s| this.input(s))
    }
}
