//! What the in-memory reader ([`LogReader`](super::LogReader)) and the streaming reader
//! ([`LogStream`](super::LogStream)) share: the checks of a chunk's head, the decoding and
//! validation of each kind of chunk body, and the per-slot state that frames decode into. One
//! parser, two ways of getting the bytes to it.

use super::codec::Cursor;
use super::{LogHeader, Trailer, FLAG_DISCONNECTED, FLAG_SUBSTITUTED, MAGIC, MAX_CHUNK_BODY};
use crate::{Error, Frame};

/// The largest frames chunk body a reader accepts. The writer closes a chunk at 64 KiB plus one
/// frame (at most 65,736 bytes) and 512 checksums, so its chunks stay under 140 KiB; the limit
/// bounds what the streaming reader holds at once.
pub const MAX_FRAMES_CHUNK_BODY: u32 = 4 << 20;

/// The head of a chunk: kind byte and body length (5 bytes).
pub(crate) const HEAD_LEN: usize = 5;

/// A chunk position where another log's magic begins (`rest`: the bytes from there on, at least
/// the 8 of the magic when it is one).
pub(crate) fn concatenated(rest: &[u8], at: u64, number: u32) -> Result<(), Error> {
    if rest.starts_with(&MAGIC) {
        // Format 1 has no end chunk; a second header where a chunk should be is still a
        // concatenation, not a chunk of unknown kind or a truncation.
        return Err(Error::LogCorrupt {
            what: "another log begins here (two logs concatenated?)",
            byte: at,
            chunk: Some(number),
        });
    }
    Ok(())
}

/// The body length of a chunk head, refused over [`MAX_CHUNK_BODY`] before anything is read.
pub(crate) fn body_len(head: &[u8; HEAD_LEN], at: u64, number: u32) -> Result<u32, Error> {
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    if len > MAX_CHUNK_BODY {
        return Err(Error::LogCorrupt { what: "chunk length over 1 GiB", byte: at + 1, chunk: Some(number) });
    }
    Ok(len)
}

/// The error for bytes after the end chunk.
pub(crate) fn after_end(at: u64, number: u32) -> Error {
    Error::LogCorrupt { what: "bytes after the end chunk (two logs concatenated?)", byte: at, chunk: Some(number) }
}

/// The error for a chunk whose kind this reader does not know (kind 3 before format 2 too).
pub(crate) fn unknown_kind(at: u64, number: u32) -> Error {
    Error::LogCorrupt { what: "unknown chunk kind", byte: at, chunk: Some(number) }
}

/// The error for a frames chunk over [`MAX_FRAMES_CHUNK_BODY`] (reported after its CRC matched).
pub(crate) fn frames_too_long(at: u64, number: u32) -> Error {
    Error::LogCorrupt { what: "frames chunk over 4 MiB", byte: at + 1, chunk: Some(number) }
}

/// A validated frames chunk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FramesBody<'b> {
    pub first: Frame,
    pub count: u16,
    /// Offset in the body of the first frame.
    pub frames_at: usize,
    /// The checksum list, 12 bytes each.
    pub checksums: &'b [u8],
}

impl FramesBody<'_> {
    /// The frame after the chunk's last.
    pub fn end(&self) -> Frame {
        self.first + u32::from(self.count)
    }
}

/// The `(frame, checksum)` pairs of a checksum list (12 bytes each, little-endian).
pub(crate) fn checksums(list: &[u8]) -> impl ExactSizeIterator<Item = (Frame, u64)> + '_ {
    list.chunks_exact(12).map(|c| {
        let mut f = [0u8; 4];
        let mut s = [0u8; 8];
        f.copy_from_slice(&c[..4]);
        s.copy_from_slice(&c[4..]);
        (u32::from_le_bytes(f), u64::from_le_bytes(s))
    })
}

/// Decodes a frames chunk body once to validate it: it must start at `expected_first` (the frame
/// after the previous chunk's last), every frame must decode, and the checksum list must fill the
/// rest exactly.
pub(crate) fn frames_body<'b>(
    body: &mut Cursor<'b>,
    header: &LogHeader,
    expected_first: Frame,
    scratch: &mut FrameState,
) -> Result<FramesBody<'b>, Error> {
    let start = body.clone();
    let first = body.u32("first frame")?;
    let count = body.u16("frame count")?;
    if first != expected_first {
        return Err(start.corrupt("frames out of order"));
    }
    let frames_at = start.remaining() - body.remaining();
    let frames = Frames::new(header);
    let mut pos = body.pos();
    for _ in 0..count {
        match frames.walk::<false>(body.bytes(), pos, None) {
            Some(next) => pos = next,
            // The fast walk only says that something is wrong; the precise decoder says what and
            // where (and must fail too).
            None => {
                let mut at = body.clone();
                at.skip(pos - body.pos());
                scratch.reset(header);
                scratch.decode_frame(&mut at, header)?;
                return Err(at.corrupt("frame encoding"));
            }
        }
    }
    body.skip(pos - body.pos());
    let n = body.u16("checksum count")?;
    if body.remaining() != usize::from(n) * 12 {
        return Err(body.corrupt("checksum list length does not match the chunk length"));
    }
    let checksums = body.take(usize::from(n) * 12, "checksums")?;
    first.checked_add(u32::from(count)).ok_or_else(|| start.corrupt("frame number overflows"))?;
    Ok(FramesBody { first, count, frames_at, checksums })
}

/// The frame of a keyframe chunk: its first 4 bytes (`prefix` holds at least those when the body
/// has them).
pub(crate) fn keyframe_frame(prefix: &mut Cursor<'_>) -> Result<Frame, Error> {
    prefix.u32("keyframe frame")
}

/// The end chunk: it must describe exactly the file before it (`frames`, `end_frame`: what the
/// chunks before it hold; `number`: its own chunk number; `digest`: of every CRC before it).
pub(crate) fn trailer(
    body: &mut Cursor<'_>,
    frames: u32,
    end_frame: Frame,
    number: u32,
    digest: u32,
) -> Result<Trailer, Error> {
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
    if t.frames != frames || t.end_frame != end_frame {
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

/// The frame layout of a log, for the fast walk over its frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frames {
    slots: usize,
    mask_len: usize,
    /// Bits of the last mask byte that name slots that do not exist.
    spare_bits: u8,
    max_input: usize,
}

impl Frames {
    pub fn new(h: &LogHeader) -> Self {
        let slots = usize::from(h.slots);
        let spare_bits = if slots % 8 == 0 { 0 } else { 0xffu8 << (slots % 8) };
        Frames { slots, mask_len: h.mask_len(), spare_bits, max_input: usize::from(h.max_input_size) }
    }

    /// Walks one frame from `bytes[pos]`: `Some(offset after it)`, or `None` when it is malformed
    /// (then [`FrameState::decode_frame`] says how). With `STORE`, every changed slot's input goes
    /// into `state`. One bounds check per field and no error values on the way: this is the
    /// validation and decoding loop of every reader.
    #[inline(always)]
    pub fn walk<const STORE: bool>(
        &self,
        bytes: &[u8],
        mut pos: usize,
        mut state: Option<&mut FrameState>,
    ) -> Option<usize> {
        let mask = bytes.get(pos..pos + self.mask_len)?;
        if mask[self.mask_len - 1] & self.spare_bits != 0 {
            return None;
        }
        pos += self.mask_len;
        for (i, &m) in mask.iter().enumerate() {
            let mut bits = m;
            while bits != 0 {
                let slot = i * 8 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                pos = self.input::<STORE>(bytes, pos, slot, state.as_deref_mut())?;
            }
        }
        debug_assert!(self.slots <= self.mask_len * 8);
        Some(pos)
    }

    /// One changed slot's flags, length and bytes at `bytes[pos]`; the offset after them.
    #[inline(always)]
    fn input<const STORE: bool>(
        &self,
        bytes: &[u8],
        pos: usize,
        slot: usize,
        state: Option<&mut FrameState>,
    ) -> Option<usize> {
        let rest = bytes.get(pos..)?;
        let [flags, l0, l1, ..] = *rest else { return None };
        let len = usize::from(u16::from_le_bytes([l0, l1]));
        if flags & !(FLAG_DISCONNECTED | FLAG_SUBSTITUTED) != 0 || len > self.max_input {
            return None;
        }
        let input = rest.get(3..3 + len)?;
        if STORE {
            if let Some(st) = state {
                st.set(slot, flags, input);
            }
        }
        Some(pos + 3 + len)
    }
}

/// Every slot's current input while decoding a chunk.
#[derive(Debug, Clone)]
pub(crate) struct FrameState {
    pub bytes: Vec<u8>,
    pub lens: Vec<u16>,
    pub flags: Vec<u8>,
    pub max_input: usize,
}

impl FrameState {
    pub fn new(h: &LogHeader) -> Self {
        let slots = usize::from(h.slots);
        let max_input = usize::from(h.max_input_size);
        let mut s =
            FrameState { bytes: vec![0; slots * max_input], lens: vec![0; slots], flags: vec![0; slots], max_input };
        s.reset(h);
        s
    }

    /// Every chunk starts from the default input in every slot.
    pub fn reset(&mut self, h: &LogHeader) {
        let d = &h.default_input;
        for slot in 0..self.lens.len() {
            let p = slot * self.max_input;
            self.bytes[p..p + d.len()].copy_from_slice(d);
        }
        self.lens.fill(d.len() as u16);
        self.flags.fill(0);
    }

    /// One slot's input (`input.len()` is at most `max_input`, checked by the caller).
    #[inline(always)]
    fn set(&mut self, slot: usize, flags: u8, input: &[u8]) {
        let p = slot * self.max_input;
        if let Some(dst) = self.bytes.get_mut(p..p + input.len()) {
            // Small inputs (a game's are a few bytes) copy without a library call.
            if input.len() <= 16 {
                for (d, s) in dst.iter_mut().zip(input) {
                    *d = *s;
                }
            } else {
                dst.copy_from_slice(input);
            }
        }
        if let (Some(l), Some(f)) = (self.lens.get_mut(slot), self.flags.get_mut(slot)) {
            *l = input.len() as u16;
            *f = flags;
        }
    }

    /// Decodes one frame from a validated chunk (the fast walk; the precise decoder on the error
    /// path, which a validated chunk never takes).
    #[inline]
    pub fn next_frame(&mut self, frames: &Frames, c: &mut Cursor<'_>, h: &LogHeader) -> Result<(), Error> {
        match frames.walk::<true>(c.bytes(), c.pos(), Some(self)) {
            Some(next) => {
                c.skip(next - c.pos());
                Ok(())
            }
            None => self.decode_frame(c, h),
        }
    }

    /// Decodes one frame field by field, with an error that says which field is wrong and where:
    /// the changed-slot mask, then each changed slot's flags, length and bytes.
    pub fn decode_frame(&mut self, c: &mut Cursor<'_>, h: &LogHeader) -> Result<(), Error> {
        let slots = usize::from(h.slots);
        let at = c.clone();
        let mask = c.take(h.mask_len(), "changed-slot mask")?;
        if slots % 8 != 0 && mask[mask.len() - 1] >> (slots % 8) != 0 {
            return Err(at.corrupt("changed-slot mask names a slot that does not exist"));
        }
        for (i, &m) in mask.iter().enumerate() {
            let mut bits = m;
            while bits != 0 {
                let slot = i * 8 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                self.decode_input(c, slot)?;
            }
        }
        Ok(())
    }

    #[inline]
    fn decode_input(&mut self, c: &mut Cursor<'_>, slot: usize) -> Result<(), Error> {
        let at = c.clone();
        let bad_flags = |flags: u8| flags & !(FLAG_DISCONNECTED | FLAG_SUBSTITUTED) != 0;
        let (flags, len) = if c.remaining() >= 3 {
            // One bounds check for flags and length (the common case).
            let [flags, l0, l1] = c.array::<3>("input flags")?;
            (flags, u16::from_le_bytes([l0, l1]))
        } else {
            // Near the end of the body: report exactly which field is cut.
            let flags = c.u8("input flags")?;
            if bad_flags(flags) {
                return Err(at.corrupt("unknown input flags"));
            }
            (flags, c.u16("input length")?)
        };
        if bad_flags(flags) {
            return Err(at.corrupt("unknown input flags"));
        }
        if usize::from(len) > self.max_input {
            return Err(at.corrupt("input longer than max_input_size"));
        }
        let bytes = c.take(len.into(), "input bytes")?;
        let p = slot * self.max_input;
        self.bytes[p..p + bytes.len()].copy_from_slice(bytes);
        self.lens[slot] = len;
        self.flags[slot] = flags;
        Ok(())
    }
}
