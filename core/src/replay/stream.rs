//! Reading a log from any [`io::Read`] in memory bounded independently of the log's size: chunk by
//! chunk, with the same validation as [`LogReader::parse`](super::LogReader::parse) (it is the same
//! code, `chunk.rs`), decoding frames as it goes.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

use super::chunk::{self, FrameState, Frames, HEAD_LEN, MAX_FRAMES_CHUNK_BODY};
use super::codec::Cursor;
use super::consistency::Consistency;
use super::header::MAX_HEADER_LEN;
use super::{Completeness, LogHeader, LoggedFrame, Trailer, CHUNK_END, CHUNK_FRAMES, CHUNK_KEYFRAME, MAGIC};
use crate::{Error, Frame};

/// Checksums the streaming reader remembers to find two different ones for one frame (and to
/// report each recorded checksum once). A writer records a frame's checksum within a few chunks of
/// the frame, so conflicts and copies are always this close; 4,096 entries cost under 200 KiB.
pub const STREAM_CHECKSUM_WINDOW: usize = 4096;
/// Bodies the reader does not hold (keyframes) are read in pieces of this size.
const PIECE: usize = 64 * 1024;

/// One thing a [`LogStream`] read, in file order.
#[derive(Debug)]
pub enum LogEvent<'s> {
    /// A checksum recorded in the frames chunk just read, given before the chunk's frames (each
    /// recorded checksum once: copies are not repeated).
    Checksum {
        /// The frame whose starting state it is the checksum of.
        frame: Frame,
        /// The checksum.
        checksum: u64,
    },
    /// A keyframe chunk (its snapshot is not held: see [`StreamedKeyframe::hash`]).
    Keyframe(StreamedKeyframe),
    /// The next frame.
    Frame(LoggedFrame<'s>),
}

/// A keyframe as the streaming reader saw it go by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamedKeyframe {
    /// The frame whose starting state the snapshot holds.
    pub frame: Frame,
    /// File offset of the snapshot bytes.
    pub offset: u64,
    /// Length of the snapshot in bytes.
    pub len: u32,
    /// XXH3-64 of the snapshot bytes ([`crate::checksum64`] of them), computed while streaming.
    pub hash: u64,
}

/// What a step of the reader produced, without borrowing it.
enum Step {
    Checksum(Frame, u64),
    Keyframe(StreamedKeyframe),
    Frame(Frame),
    End,
}

/// A log read from an [`io::Read`] chunk by chunk, in bounded memory.
///
/// Each chunk is read whole (a frames chunk is at most 4 MiB; keyframe snapshots, up to 1 GiB,
/// are streamed through their CRC and hash and never held), checked against its CRC and
/// validated by the same code as [`LogReader::parse`](super::LogReader::parse) before any of its
/// frames is given out, so every structural error carries the same byte offset and chunk number.
/// The consistency checks (conflicting checksums, checksums and keyframes outside the log) need the
/// whole file: they are reported when the stream ends, so a stream read to its end fails with the
/// same error as `parse` on the same bytes. Conflicting checksums are found when both are among
/// [`STREAM_CHECKSUM_WINDOW`] consecutive ones (the only way a writer records them).
///
/// Memory: the header, one frames chunk, one 64 KiB piece buffer and the checksum window,
/// whatever the log's size. Decoding a frame allocates nothing and the chunk buffers are reused;
/// the checksum window (a B-tree) allocates as recorded checksums come and go.
///
/// ```
/// use framelock_core::replay::{LogEvent, LogHeader, LogStream, LogWriter, LoggedInput};
///
/// let mut w = LogWriter::new(Vec::new(), LogHeader::new(1, 1))?;
/// for frame in 0..10 {
///     w.record_inputs(frame, &[LoggedInput::confirmed(&[frame as u8])])?;
/// }
/// w.record_checksum(10, 0xfeed)?;
/// let bytes = w.finish()?;
/// let mut log = LogStream::new(&bytes[..])?;
/// let mut frames = 0;
/// while let Some(event) = log.next_event()? {
///     if let LogEvent::Frame(f) = event {
///         assert_eq!(f.input(0).bytes, &[f.frame() as u8][..]);
///         frames += 1;
///     }
/// }
/// assert_eq!((frames, log.frames(), log.checksums_seen()), (10, 10, 1));
/// assert!(log.truncation().is_none());
/// # Ok::<(), framelock_core::Error>(())
/// ```
#[derive(Debug)]
pub struct LogStream<R> {
    src: Source<R>,
    /// The offset of the first chunk and the digest of the header's CRC (for `rewind`).
    start: (u64, u32),
    header: LogHeader,
    version: u16,
    /// The number of the next chunk.
    number: u32,
    /// CRC-32 over the CRCs of the header and every chunk read.
    digest: u32,
    end_frame: Frame,
    trailer: Option<Trailer>,
    truncation: Option<Error>,
    finished: bool,
    /// The frames chunk being given out: `body[..body_len]`, or, when `body_in_src`, the first
    /// `body_len` bytes of the source's buffer (not copied yet: see [`LogStream::from_buf_read`]).
    body: Vec<u8>,
    body_len: usize,
    body_in_src: bool,
    /// `state` is not reset for the chunk read last yet.
    state_stale: bool,
    body_base: u64,
    body_chunk: u32,
    pos_in_body: usize,
    frames_left: u16,
    next_frame: Frame,
    /// Its new checksums, given out before its frames.
    sums: Vec<(Frame, u64)>,
    sums_next: usize,
    state: FrameState,
    frames: Frames,
    /// Validation decodes into this, so `state` is untouched until a frame is given out.
    scratch: FrameState,
    piece: Vec<u8>,
    checks: Consistency,
    keyframes: u32,
    lag: u32,
}

impl<R: Read> LogStream<R> {
    /// Reads and validates the header. Errors as [`LogReader::parse`](super::LogReader::parse)
    /// for a bad header, and [`Error::Io`].
    pub fn new(src: R) -> Result<Self, Error> {
        let mut src = Source { inner: src, pos: 0, carry: [0; 3], carry_len: 0, fill: None, consume: None, pending: 0 };
        let mut head = vec![0u8; 16];
        let n = src.read_full(&mut head)?;
        head.truncate(n);
        if n == 16 && head[..8] == MAGIC {
            let len = u32::from_le_bytes([head[12], head[13], head[14], head[15]]);
            if len <= MAX_HEADER_LEN {
                head.resize(16 + len as usize + 4, 0);
                let n = src.read_full(&mut head[16..])?;
                head.truncate(16 + n);
            }
        }
        let (header, end, version) = LogHeader::decode(&head)?;
        let digest = super::crc32(0, &head[end - 4..end]);
        Ok(LogStream {
            src,
            start: (end as u64, digest),
            version,
            number: 0,
            digest,
            end_frame: header.first_frame,
            trailer: None,
            truncation: None,
            finished: false,
            body: Vec::new(),
            body_len: 0,
            body_in_src: false,
            state_stale: false,
            body_base: 0,
            body_chunk: 0,
            pos_in_body: 0,
            frames_left: 0,
            next_frame: header.first_frame,
            sums: Vec::new(),
            sums_next: 0,
            state: FrameState::new(&header),
            frames: Frames::new(&header),
            scratch: FrameState::new(&header),
            piece: Vec::new(),
            checks: Consistency::new(header.first_frame),
            keyframes: 0,
            lag: 0,
            header,
        })
    }

    /// The next checksum, keyframe or frame, or `None` at the end of the log (or at a cut: see
    /// [`LogStream::truncation`]).
    ///
    /// Errors: as [`LogReader::parse`](super::LogReader::parse), each when the reader gets to it
    /// (the consistency errors at the end); [`Error::Io`]. After an error the stream is unusable.
    pub fn next_event(&mut self) -> Result<Option<LogEvent<'_>>, Error> {
        Ok(match self.step(false)? {
            Step::Checksum(frame, checksum) => Some(LogEvent::Checksum { frame, checksum }),
            Step::Keyframe(k) => Some(LogEvent::Keyframe(k)),
            Step::Frame(frame) => Some(LogEvent::Frame(LoggedFrame { frame, state: &self.state })),
            Step::End => None,
        })
    }

    /// The next frame (checksums and keyframes are passed over), or `None` at the end.
    ///
    /// Errors: as [`LogStream::next_event`].
    pub fn next_frame(&mut self) -> Result<Option<LoggedFrame<'_>>, Error> {
        match self.step(true)? {
            Step::Frame(frame) => Ok(Some(LoggedFrame { frame, state: &self.state })),
            _ => Ok(None),
        }
    }

    /// Passes over the rest of the current frames chunk's frames (they were validated when the
    /// chunk was read): for a reader that wants the checksums and keyframes, not the frames.
    pub fn skip_chunk_frames(&mut self) {
        self.frames_left = 0;
    }

    /// Reads on until the frame [`LogStream::next_frame`] gives out next is `frame`: the chunks
    /// before the one that holds it are validated (as always) and passed over, their checksums and
    /// keyframes too; in that chunk, the frames before `frame` are decoded and passed over.
    ///
    /// Errors: [`Error::LogMismatch`] when the stream is already past `frame` (see
    /// [`LogStream::seek_frame`] to go back) or the log ends before it; as
    /// [`LogStream::next_event`].
    pub fn skip_to(&mut self, frame: Frame) -> Result<(), Error> {
        if frame < self.upcoming() {
            return Err(Error::LogMismatch { what: "the stream is past that frame" });
        }
        loop {
            if self.frames_left > 0 && frame - self.next_frame < u32::from(self.frames_left) {
                // Checksums not given out yet belong to this chunk: they stay to be given out.
                while self.next_frame < frame {
                    self.step(true)?;
                }
                return Ok(());
            }
            self.frames_left = 0;
            self.sums_next = self.sums.len();
            if self.finished {
                return Err(Error::LogMismatch { what: "the log does not hold that frame" });
            }
            self.read_chunk()?;
        }
    }

    /// The frame [`LogStream::next_frame`] would give out next, if there is one.
    fn upcoming(&self) -> Frame {
        if self.frames_left > 0 {
            self.next_frame
        } else {
            self.end_frame
        }
    }

    /// Reads the rest of the log, validating it; the frames are decoded once and not kept.
    ///
    /// Errors: as [`LogStream::next_event`].
    pub fn validate(&mut self) -> Result<(), Error> {
        // Reading a chunk validates (decodes) every frame of it; giving them out again is wasted.
        while !self.finished {
            self.frames_left = 0;
            self.sums_next = self.sums.len();
            self.read_chunk()?;
        }
        self.frames_left = 0;
        Ok(())
    }

    fn step(&mut self, frames_only: bool) -> Result<Step, Error> {
        loop {
            if let Some(&(f, c)) = self.sums.get(self.sums_next) {
                self.sums_next += 1;
                if !frames_only {
                    return Ok(Step::Checksum(f, c));
                }
                continue;
            }
            if self.frames_left > 0 {
                if self.state_stale {
                    self.open_chunk()?;
                }
                let body = &self.body[..self.body_len];
                let mut c = Cursor::at(body, self.pos_in_body, self.body_base, Some(self.body_chunk));
                self.state.next_frame(&self.frames, &mut c, &self.header)?;
                self.pos_in_body = c.pos();
                self.frames_left -= 1;
                let frame = self.next_frame;
                self.next_frame += 1;
                return Ok(Step::Frame(frame));
            }
            if self.finished {
                return Ok(Step::End);
            }
            if let Some(k) = self.read_chunk()? {
                if !frames_only {
                    return Ok(Step::Keyframe(k));
                }
            }
        }
    }

    /// Reads the next chunk: a frames chunk becomes the one given out, a keyframe is returned, and
    /// the end of the log (or a cut) runs the consistency checks.
    fn read_chunk(&mut self) -> Result<Option<StreamedKeyframe>, Error> {
        let (at, number) = (self.src.pos, self.number);
        let mut head = [0u8; 8];
        let n = self.src.read_full(&mut head[..HEAD_LEN])?;
        if self.trailer.is_some() {
            return if n > 0 { Err(chunk::after_end(at, number)) } else { self.end(None) };
        }
        if n == 0 {
            // Cut between two chunks: without its end chunk a format-2 log is not whole.
            let cut = (self.version >= 2).then_some(Error::LogTruncated { byte: at, chunk: Some(number) });
            return self.end(cut);
        }
        if n == HEAD_LEN && head[..HEAD_LEN] == MAGIC[..HEAD_LEN] {
            let m = self.src.read_full(&mut head[HEAD_LEN..])?;
            chunk::concatenated(&head[..HEAD_LEN + m], at, number)?;
            self.src.unread(&head[HEAD_LEN..HEAD_LEN + m]);
        }
        if n < HEAD_LEN {
            return self.end(Some(Error::LogTruncated { byte: self.src.pos, chunk: Some(number) }));
        }
        let mut h = [0u8; HEAD_LEN];
        h.copy_from_slice(&head[..HEAD_LEN]);
        let body_len = chunk::body_len(&h, at, number)?;
        let held = match h[0] {
            CHUNK_FRAMES => body_len <= MAX_FRAMES_CHUNK_BODY,
            CHUNK_END => self.version >= 2 && body_len <= 64,
            _ => false,
        };
        if held {
            let len = body_len as usize;
            // Validated where it is when the source's buffer holds the whole chunk (body and CRC);
            // otherwise copied out into a buffer that only grows (to at most 4 MiB) and is reused:
            // no allocation per chunk either way.
            let in_place = self.src.take_in_place(len + 4);
            if !in_place {
                if self.body.len() < len + 4 {
                    self.body.resize(len + 4, 0);
                }
                if self.src.read_full(&mut self.body[..len + 4])? < len + 4 {
                    return self.end(Some(Error::LogTruncated { byte: self.src.pos, chunk: Some(number) }));
                }
            }
            self.body_in_src = in_place && h[0] == CHUNK_FRAMES;
            self.body_len = len;
            let bytes = if in_place { self.src.held()? } else { &self.body[..len + 4] };
            let (body_bytes, crc_bytes) = bytes.split_at(len);
            // The stored CRC is loaded after the body went through the CRC (a cold cache line before).
            let crc = super::crc32(super::crc32(0, &h), body_bytes);
            let mut stored = [0u8; 4];
            stored.copy_from_slice(crc_bytes);
            if crc != u32::from_le_bytes(stored) {
                return Err(Error::LogChunkCrc { chunk: number, byte: at });
            }
            let mut body = Cursor::new(body_bytes, at + HEAD_LEN as u64, Some(number));
            if h[0] == CHUNK_FRAMES {
                let f = chunk::frames_body(&mut body, &self.header, self.end_frame, &mut self.scratch)?;
                self.sums.clear();
                self.sums_next = 0;
                for (frame, c) in chunk::checksums(f.checksums) {
                    self.lag = self.lag.max(f.end().saturating_sub(frame));
                    if self.checks.checksum(frame, c) {
                        self.sums.push((frame, c));
                    }
                }
                self.end_frame = f.end();
                self.next_frame = f.first;
                self.frames_left = f.count;
                self.pos_in_body = f.frames_at;
                self.body_base = at + HEAD_LEN as u64;
                self.body_chunk = number;
                // The per-slot state is reset when the chunk's first frame is given out: a reader
                // that only validates never pays for it.
                self.state_stale = true;
            } else {
                let frames = self.end_frame - self.header.first_frame;
                self.trailer = Some(chunk::trailer(&mut body, frames, self.end_frame, number, self.digest)?);
            }
            self.chunk_done(stored);
            return Ok(None);
        }
        // Not held: streamed through its CRC (and, for a keyframe, the snapshot's hash).
        let mut prefix = [0u8; 20];
        let mut prefix_len = 0;
        let mut crc = super::crc32(0, &h);
        // XXH3-64 with seed 0 over a stack buffer (the allocating `XxHash3_64::new` is not needed).
        let mut hash = twox_hash::xxhash3_64::RawHasher::new(twox_hash::xxhash3_64::SecretBuffer::default());
        if self.piece.is_empty() {
            self.piece = vec![0; PIECE];
        }
        let mut done = 0usize;
        while done < body_len as usize {
            let want = (body_len as usize - done).min(PIECE);
            let got = self.src.read_full(&mut self.piece[..want])?;
            let piece = &self.piece[..got];
            crc = super::crc32(crc, piece);
            let keep = (prefix.len() - prefix_len).min(got);
            prefix[prefix_len..prefix_len + keep].copy_from_slice(&piece[..keep]);
            prefix_len += keep;
            if h[0] == CHUNK_KEYFRAME {
                // The snapshot starts after the keyframe's 4-byte frame number.
                std::hash::Hasher::write(&mut hash, &piece[4usize.saturating_sub(done).min(got)..]);
            }
            done += got;
            if got < want {
                return self.end(Some(Error::LogTruncated { byte: self.src.pos, chunk: Some(number) }));
            }
        }
        let Some(stored) = self.read_crc(crc, at, number)? else {
            return self.end(Some(Error::LogTruncated { byte: self.src.pos, chunk: Some(number) }));
        };
        let mut body = Cursor::new(&prefix[..prefix_len], at + HEAD_LEN as u64, Some(number));
        let keyframe = match h[0] {
            CHUNK_FRAMES => return Err(chunk::frames_too_long(at, number)),
            CHUNK_KEYFRAME => {
                let frame = chunk::keyframe_frame(&mut body)?;
                self.lag = self.lag.max(self.end_frame.saturating_sub(frame));
                self.checks.keyframe(frame, self.end_frame);
                self.keyframes += 1;
                StreamedKeyframe {
                    frame,
                    offset: body.offset(),
                    len: body_len - 4,
                    hash: std::hash::Hasher::finish(&hash),
                }
            }
            CHUNK_END if self.version >= 2 => {
                // Over 64 bytes: the four fields, then bytes where the chunk should end.
                body.take(16, "end chunk fields")?;
                return Err(body.corrupt("bytes after the end chunk's last field"));
            }
            _ => return Err(chunk::unknown_kind(at, number)),
        };
        self.chunk_done(stored);
        Ok(Some(keyframe))
    }

    /// Before the first frame of a frames chunk is given out: every slot back to the default
    /// input, and the chunk copied out of the source's buffer if it was read in place.
    fn open_chunk(&mut self) -> Result<(), Error> {
        self.state.reset(&self.header);
        self.state_stale = false;
        if self.body_in_src {
            self.copy_held()?;
        }
        Ok(())
    }

    /// Copies the frames chunk being given out from the source's buffer into `body`: only a reader
    /// that wants the frames pays for the copy.
    fn copy_held(&mut self) -> Result<(), Error> {
        let len = self.body_len;
        if self.body.len() < len {
            self.body.resize(len, 0);
        }
        let held = self.src.held()?;
        self.body[..len].copy_from_slice(&held[..len]);
        self.body_in_src = false;
        Ok(())
    }

    /// Reads a chunk's CRC and compares it (`None`: the file ends inside it).
    fn read_crc(&mut self, crc: u32, at: u64, number: u32) -> Result<Option<[u8; 4]>, Error> {
        let mut stored = [0u8; 4];
        if self.src.read_full(&mut stored)? < 4 {
            return Ok(None);
        }
        if crc != u32::from_le_bytes(stored) {
            return Err(Error::LogChunkCrc { chunk: number, byte: at });
        }
        Ok(Some(stored))
    }

    /// A chunk was read whole and is valid: it counts for the next chunk's number and the digest.
    fn chunk_done(&mut self, crc: [u8; 4]) {
        self.digest = super::crc32(self.digest, &crc);
        self.number += 1;
    }

    /// The end of the log (or a cut): the checks that needed the whole file.
    fn end(&mut self, cut: Option<Error>) -> Result<Option<StreamedKeyframe>, Error> {
        self.finished = true;
        self.truncation = cut;
        self.checks.finish(self.end_frame)?;
        Ok(None)
    }
}

impl<R: BufRead> LogStream<R> {
    /// As [`LogStream::new`], for a source with its own buffer (a `BufReader`, a byte slice): a
    /// chunk that is whole in the source's buffer is checked and validated where it is, not copied
    /// out first (the copy is a tenth of the time of [`LogStream::validate`]); a chunk that is not
    /// is read as by [`LogStream::new`]. The frames of a chunk are copied out only when a frame of
    /// it is asked for. A `BufReader` with room for a few chunks (256 KiB or more: a writer's
    /// chunks are under 140 KiB) holds most of them whole.
    ///
    /// Errors: as [`LogStream::new`].
    pub fn from_buf_read(src: R) -> Result<Self, Error> {
        let mut s = Self::new(src)?;
        s.src.fill = Some(R::fill_buf);
        s.src.consume = Some(R::consume);
        Ok(s)
    }
}

impl<R: Read + Seek> LogStream<R> {
    /// Goes back to the first chunk, as if the stream had just been opened (the header is kept).
    ///
    /// Errors: [`Error::Io`].
    pub fn rewind(&mut self) -> Result<(), Error> {
        let (at, digest) = self.start;
        self.src.seek(at)?;
        self.body_in_src = false;
        self.number = 0;
        self.digest = digest;
        self.end_frame = self.header.first_frame;
        self.next_frame = self.header.first_frame;
        (self.trailer, self.truncation, self.finished) = (None, None, false);
        (self.frames_left, self.keyframes, self.lag) = (0, 0, 0);
        self.sums.clear();
        self.sums_next = 0;
        self.checks = Consistency::new(self.header.first_frame);
        Ok(())
    }

    /// Reads `buf.len()` bytes at file offset `at` (a keyframe's snapshot); the stream must be
    /// rewound before it is read on.
    pub(crate) fn read_at(&mut self, at: u64, buf: &mut [u8]) -> Result<(), Error> {
        if self.body_in_src {
            // The frames not given out yet are in the buffer the seek discards.
            self.copy_held()?;
        }
        self.src.seek(at)?;
        if self.src.read_full(buf)? < buf.len() {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        Ok(())
    }

    /// A cursor at any frame, in bounded memory: [`LogStream::rewind`] when the stream is past
    /// `frame`, then [`LogStream::skip_to`]. Reads (and validates) the log from its start up to the
    /// chunk that holds `frame`: there is no index.
    ///
    /// Errors: as [`LogStream::skip_to`].
    pub fn seek_frame(&mut self, frame: Frame) -> Result<(), Error> {
        if frame < self.upcoming() {
            self.rewind()?;
        }
        self.skip_to(frame)
    }
}

impl<R> LogStream<R> {
    /// The header.
    pub fn header(&self) -> &LogHeader {
        &self.header
    }

    /// The format version the file was written with.
    pub fn format_version(&self) -> u16 {
        self.version
    }

    /// The frames read so far (validated; when the stream has ended, every frame of the log).
    pub fn frames(&self) -> u32 {
        self.end_frame - self.header.first_frame
    }

    /// The frame after the last frame read so far.
    pub fn end_frame(&self) -> Frame {
        self.end_frame
    }

    /// The distinct checksums read so far.
    pub fn checksums_seen(&self) -> u64 {
        self.checks.distinct
    }

    /// The checksum of the lowest and of the highest frame read so far.
    pub fn checksum_range(&self) -> Option<((Frame, u64), (Frame, u64))> {
        self.checks.lowest.zip(self.checks.highest)
    }

    /// The keyframes read so far.
    pub fn keyframes_seen(&self) -> u32 {
        self.keyframes
    }

    /// How many frames after its frame a checksum or keyframe was read at most so far: the end of
    /// the frames read when it was read, minus its frame. After a first pass over a log, the
    /// read-ahead that a second pass needs ([`StreamReplay::read_ahead`](super::StreamReplay::read_ahead)).
    pub fn max_lag(&self) -> u32 {
        self.lag
    }

    /// The bytes read so far (when the stream has ended, the size of the file).
    pub fn bytes_read(&self) -> u64 {
        self.src.pos
    }

    /// Whether the end of the log (or a cut) was reached.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// As [`LogReader::truncation`](super::LogReader::truncation), once the stream has ended.
    pub fn truncation(&self) -> Option<Error> {
        self.truncation
    }

    /// As [`LogReader::completeness`](super::LogReader::completeness), once the stream has ended.
    pub fn completeness(&self) -> Completeness {
        Completeness::of(self.truncation, self.trailer)
    }

    /// The end chunk of a whole format-2 log, once read.
    pub fn trailer(&self) -> Option<Trailer> {
        self.trailer
    }

    /// The recorded checksum of `frame`, if it is among the recent ones the reader remembers.
    pub(crate) fn recent_checksum(&self, frame: Frame) -> Option<u64> {
        self.checks.recent.get(&frame).copied()
    }
}

/// `BufRead::fill_buf` of a source.
type FillBuf<R> = for<'a> fn(&'a mut R) -> io::Result<&'a [u8]>;

/// The reader with its file offset, and up to 3 bytes given back (after looking for a magic).
#[derive(Debug)]
struct Source<R> {
    inner: R,
    /// The offset of the next byte to read (after the `pending` ones).
    pos: u64,
    carry: [u8; 3],
    carry_len: usize,
    /// `R::fill_buf` and `R::consume` when `R` is [`BufRead`] ([`LogStream::from_buf_read`]): the
    /// same parser then reads chunks in place, without a second type or a copy of the walk.
    fill: Option<FillBuf<R>>,
    consume: Option<fn(&mut R, usize)>,
    /// The first bytes of the source's buffer that were read in place and are consumed on the
    /// next read.
    pending: usize,
}

impl<R> Source<R> {
    /// Consumes the bytes read in place.
    fn settle(&mut self) {
        if self.pending > 0 {
            if let Some(consume) = self.consume {
                consume(&mut self.inner, self.pending);
            }
            self.pending = 0;
        }
    }

    /// Reads the next `n` bytes in place if the source's buffer holds them all (and no byte was
    /// given back): they are then [`Source::held`] until the next read.
    fn take_in_place(&mut self, n: usize) -> bool {
        self.settle();
        let Some(fill) = self.fill else { return false };
        if self.carry_len > 0 || !matches!(fill(&mut self.inner), Ok(b) if b.len() >= n) {
            // An error here (even a real one) is left to the copying read, which reports it.
            return false;
        }
        self.pending = n;
        self.pos += n as u64;
        true
    }

    /// The bytes read in place.
    fn held(&mut self) -> Result<&[u8], Error> {
        let n = self.pending;
        let fill = self.fill.ok_or(Error::LogMismatch { what: "no bytes are held" })?;
        match fill(&mut self.inner)?.get(..n) {
            Some(b) => Ok(b),
            // A `BufRead` whose buffer changed without a read: not one the reader can trust.
            None => Err(io::Error::other("the reader's buffer changed between two reads").into()),
        }
    }
}

impl<R: Seek> Source<R> {
    /// Goes to file offset `at` (the source's buffer, and what was held in it, is dropped).
    fn seek(&mut self, at: u64) -> Result<(), Error> {
        self.inner.seek(SeekFrom::Start(at))?;
        (self.pos, self.carry_len, self.pending) = (at, 0, 0);
        Ok(())
    }
}

impl<R: Read> Source<R> {
    /// Reads until `buf` is full or the input ends; the number of bytes read.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut n = 0;
        while n < buf.len() {
            match self.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(n)
    }

    fn unread(&mut self, bytes: &[u8]) {
        debug_assert!(self.carry_len == 0 && bytes.len() <= self.carry.len());
        let n = bytes.len().min(self.carry.len());
        self.carry[..n].copy_from_slice(&bytes[..n]);
        self.carry_len = n;
        self.pos -= n as u64;
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.settle();
        let n = if self.carry_len > 0 {
            let n = self.carry_len.min(buf.len());
            buf[..n].copy_from_slice(&self.carry[..n]);
            self.carry.copy_within(n..self.carry_len, 0);
            self.carry_len -= n;
            n
        } else {
            self.inner.read(buf)?
        };
        self.pos += n as u64;
        Ok(n)
    }
}
