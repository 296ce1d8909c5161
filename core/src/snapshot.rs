//! Snapshots: the core-owned ring of byte buffers that simulation states are saved into, and the
//! writer/reader a simulation uses to fill and read them.

use framelock_hash::CopyHasher;

use crate::checksum::SnapshotHash;
use crate::{Frame, SimError};

/// Writes one snapshot into a preallocated buffer owned by the session.
///
/// The buffer never grows: writing past `max_snapshot_size` fails with a [`SimError`] instead of
/// reallocating, so saving stays allocation-free. Integers are written little-endian, whatever the
/// platform, so the same state gives the same bytes (and checksum) everywhere.
#[derive(Debug)]
pub struct SnapshotWriter<'a> {
    /// The snapshot is `buf[start..]` (see [`aligned_buffer`]), at most `buf[start..limit]`.
    buf: &'a mut Vec<u8>,
    start: usize,
    /// `start + max_snapshot_size`: a write checks the buffer's length against it, one compare.
    limit: usize,
    checksum: &'a mut Option<u64>,
    /// A sync-test check copy: the first save's bytes it is compared with as it is written.
    against: &'a [u8],
    /// A check copy still equal to `against[..*matched]`: nothing is stored (see
    /// [`SnapshotWriter::check`]). `None` once the bytes are stored in `buf`.
    matched: Option<&'a mut usize>,
    /// A save whose checksum will be asked for (its frame is final): long writes are hashed as
    /// they are copied (see [`SnapshotRing::writer`]).
    hasher: Option<&'a mut CopyHasher>,
}

/// [`Snapshot::matched`] of a check copy whose bytes are stored in its buffer.
pub(crate) const STORED: usize = usize::MAX;

impl<'a> SnapshotWriter<'a> {
    #[inline]
    pub(crate) fn new(
        buf: &'a mut Vec<u8>,
        start: usize,
        capacity: usize,
        checksum: &'a mut Option<u64>,
        hasher: Option<&'a mut CopyHasher>,
    ) -> Self {
        buf.truncate(start);
        *checksum = None;
        SnapshotWriter { buf, start, limit: start + capacity, checksum, against: &[], matched: None, hasher }
    }

    /// A writer for a sync-test check copy of a state whose first save is `against`: each write is
    /// compared with the bytes at the same place in `against` instead of being copied, and
    /// `*matched` counts the bytes that agreed. Only when a write differs (or the caller asks for
    /// [`SnapshotWriter::buffer`]) is the copy stored in `buf`, from its start, and `*matched` set
    /// to [`STORED`]: a deterministic simulation's check copies cost a comparison, no copy.
    #[inline]
    pub(crate) fn check(
        buf: &'a mut Vec<u8>,
        start: usize,
        capacity: usize,
        checksum: &'a mut Option<u64>,
        against: &'a [u8],
        matched: &'a mut usize,
    ) -> Self {
        *checksum = None;
        *matched = 0;
        SnapshotWriter { buf, start, limit: start + capacity, checksum, against, matched: Some(matched), hasher: None }
    }

    /// Appends raw bytes.
    #[inline]
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), SimError> {
        // Writing nothing (an empty part of a state) changes nothing, whatever the mode.
        if bytes.is_empty() {
            return Ok(());
        }
        if let Some(m) = &mut self.matched {
            let at = **m;
            if self.against.get(at..at + bytes.len()).is_some_and(|a| same_bytes(a, bytes)) {
                **m = at + bytes.len();
                return Ok(());
            }
            self.store_check_copy();
        }
        if self.buf.len() + bytes.len() > self.limit {
            return Err(SimError::new("snapshot exceeds max_snapshot_size"));
        }
        match self.hasher.as_deref_mut() {
            Some(h) => h.extend(self.buf, self.start, bytes),
            None => self.buf.extend_from_slice(bytes),
        }
        Ok(())
    }

    /// A check copy that differs from the first save (or is written in place): stores the part
    /// written so far, which equals the first save's, and stores the rest as it comes.
    #[cold]
    fn store_check_copy(&mut self) {
        if let Some(m) = self.matched.take() {
            self.buf.truncate(self.start);
            self.buf.extend_from_slice(&self.against[..*m]);
            *m = STORED;
        }
    }

    /// Appends `N` bytes: with the length a constant, the comparison of a check copy and the copy
    /// of a first save are a few moves, not `memcmp`/`memcpy` calls.
    #[inline]
    fn write_array<const N: usize>(&mut self, bytes: [u8; N]) -> Result<(), SimError> {
        if let Some(m) = &mut self.matched {
            let at = **m;
            if self.against.get(at..at + N).is_some_and(|a| a == bytes) {
                **m = at + N;
                return Ok(());
            }
            self.store_check_copy();
        }
        if self.buf.len() + N > self.limit {
            return Err(SimError::new("snapshot exceeds max_snapshot_size"));
        }
        self.buf.extend_from_slice(&bytes);
        Ok(())
    }

    /// Appends a `u8`.
    #[inline]
    pub fn write_u8(&mut self, v: u8) -> Result<(), SimError> {
        self.write_array([v])
    }
    /// Appends a little-endian `u16`.
    #[inline]
    pub fn write_u16(&mut self, v: u16) -> Result<(), SimError> {
        self.write_array(v.to_le_bytes())
    }
    /// Appends a little-endian `u32`.
    #[inline]
    pub fn write_u32(&mut self, v: u32) -> Result<(), SimError> {
        self.write_array(v.to_le_bytes())
    }
    /// Appends a little-endian `u64`.
    #[inline]
    pub fn write_u64(&mut self, v: u64) -> Result<(), SimError> {
        self.write_array(v.to_le_bytes())
    }
    /// Appends a little-endian `i32`.
    #[inline]
    pub fn write_i32(&mut self, v: i32) -> Result<(), SimError> {
        self.write_array(v.to_le_bytes())
    }
    /// Appends a little-endian `i64`.
    #[inline]
    pub fn write_i64(&mut self, v: i64) -> Result<(), SimError> {
        self.write_array(v.to_le_bytes())
    }

    /// Sets the snapshot's length to `len` bytes (zero-filling new bytes) and returns the whole
    /// buffer to write into directly; for callers that serialize in place (C engines, memcpy of a
    /// plain struct). Fails when `len` exceeds `max_snapshot_size`.
    #[inline]
    pub fn buffer(&mut self, len: usize) -> Result<&mut [u8], SimError> {
        if len > self.capacity() {
            return Err(SimError::new("snapshot exceeds max_snapshot_size"));
        }
        self.store_check_copy();
        // The caller may change any byte, also those already hashed.
        self.stop_hashing();
        self.buf.resize(self.start + len, 0);
        Ok(&mut self.buf[self.start..])
    }

    /// The number of bytes written so far.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.matched {
            Some(m) => **m,
            None => self.buf.len() - self.start,
        }
    }

    /// True when nothing was written yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity of the buffer (`max_snapshot_size`).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.limit - self.start
    }

    /// Uses the simulation's own checksum for this snapshot instead of the core's hash of its bytes.
    ///
    /// Call it before the writes where you can: a final frame's save is hashed as it is copied in
    /// (see `docs/sessions.md`), and from this call on it no longer is.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u64) {
        *self.checksum = Some(checksum);
        self.stop_hashing();
    }

    /// No more hashing while copying: the hash is then taken of the bytes as they are when it is
    /// asked for. The hasher is reset, not only dropped, so that what it accumulated cannot outlive
    /// a later change to those bytes (through `buffer`, with the hasher no longer here to reset).
    fn stop_hashing(&mut self) {
        if let Some(h) = self.hasher.take() {
            h.reset();
        }
    }
}

/// Reads a snapshot back; every read is bounds-checked and fails with a [`SimError`] on truncation.
#[derive(Debug, Clone)]
pub struct SnapshotReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> SnapshotReader<'a> {
    /// A reader over `bytes`, positioned at the start.
    pub fn new(bytes: &'a [u8]) -> Self {
        SnapshotReader { bytes, pos: 0 }
    }

    /// Takes the next `n` bytes.
    #[inline]
    pub fn read(&mut self, n: usize) -> Result<&'a [u8], SimError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(SimError::new("snapshot truncated")),
        }
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], SimError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.read(N)?);
        Ok(a)
    }

    /// Reads a `u8`.
    #[inline]
    pub fn read_u8(&mut self) -> Result<u8, SimError> {
        Ok(self.array::<1>()?[0])
    }
    /// Reads a little-endian `u16`.
    #[inline]
    pub fn read_u16(&mut self) -> Result<u16, SimError> {
        self.array().map(u16::from_le_bytes)
    }
    /// Reads a little-endian `u32`.
    #[inline]
    pub fn read_u32(&mut self) -> Result<u32, SimError> {
        self.array().map(u32::from_le_bytes)
    }
    /// Reads a little-endian `u64`.
    #[inline]
    pub fn read_u64(&mut self) -> Result<u64, SimError> {
        self.array().map(u64::from_le_bytes)
    }
    /// Reads a little-endian `i32`.
    #[inline]
    pub fn read_i32(&mut self) -> Result<i32, SimError> {
        self.array().map(i32::from_le_bytes)
    }
    /// Reads a little-endian `i64`.
    #[inline]
    pub fn read_i64(&mut self) -> Result<i64, SimError> {
        self.array().map(i64::from_le_bytes)
    }

    /// Bytes not read yet.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }
}

/// A buffer for snapshots of up to `capacity` bytes whose first byte is on a 64-byte boundary (a
/// cache line): the snapshot is `buf[start..]`, after `start` unused bytes. The buffer never
/// reallocates (its capacity covers `start + capacity`), so the snapshot stays where it starts.
/// Why: a large copy runs up to a fifth slower between addresses that differ modulo 64 (the
/// session bench's row "memcpy 2 x 64 KiB, one side 16 B off 64 B": 0.80-0.87x the aligned copy,
/// docs/BENCHMARKS.md), and buffers allocated one after the other land 16 bytes apart modulo 64;
/// aligned, every snapshot copies alike, and at full speed against a state that is aligned too.
pub(crate) fn aligned_buffer(capacity: usize) -> (Vec<u8>, usize) {
    let mut buf: Vec<u8> = Vec::with_capacity(capacity.saturating_add(63));
    // `align_offset` may answer "cannot" (`usize::MAX`); then the buffer is used as it is.
    let start = buf.as_ptr().align_offset(64);
    let start = if start < 64 { start } else { 0 };
    buf.resize(start, 0);
    (buf, start)
}

/// One saved state in the ring.
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// The frame whose starting state this is; `None` when the slot holds nothing.
    pub frame: Option<Frame>,
    /// The snapshot is `buf[start..]` (see [`aligned_buffer`]).
    buf: Vec<u8>,
    start: usize,
    /// The simulation's own checksum, when it gave one.
    pub own_checksum: Option<u64>,
    /// The checksum, computed the first time it is asked for (see [`SnapshotRing::checksum`]);
    /// `None` until then and again after each new save into the slot.
    checksum: Option<u64>,
    /// The part of the checksum taken while a save of a final frame was copied in.
    hasher: CopyHasher,
    /// A sync-test check copy: how many bytes of it equal the first save's (its bytes are then not
    /// stored), or [`STORED`] when they are.
    pub matched: usize,
}

impl Snapshot {
    /// The saved bytes.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or(&[])
    }
}

/// A ring of snapshot buffers, all allocated at configuration with `max_snapshot_size` capacity.
#[derive(Debug)]
pub(crate) struct SnapshotRing {
    slots: Vec<Snapshot>,
    capacity: usize,
    hash: SnapshotHash,
}

impl SnapshotRing {
    /// A ring of at least `len` buffers (rounded up to a power of two, so indexing is a mask).
    pub fn new(len: usize, capacity: usize, hash: SnapshotHash) -> Self {
        let len = if len == 0 { 0 } else { len.next_power_of_two() };
        let slots = (0..len)
            .map(|_| {
                let (buf, start) = aligned_buffer(capacity);
                Snapshot {
                    frame: None,
                    buf,
                    start,
                    own_checksum: None,
                    checksum: None,
                    hasher: CopyHasher::new(),
                    matched: STORED,
                }
            })
            .collect();
        SnapshotRing { slots, capacity, hash }
    }

    #[inline]
    fn index(&self, frame: Frame) -> usize {
        frame as usize & (self.slots.len().wrapping_sub(1))
    }

    /// The buffer that a save of `frame` writes into (it forgets whatever it held).
    ///
    /// `final_frame`: the frame's checksum will be asked for (see [`SnapshotRing::checksum`]), so
    /// the writer hashes long writes while it copies them, which costs little more than the copy
    /// (the hash's arithmetic runs under the copy's loads and stores), where hashing the snapshot
    /// afterwards reads it all again. Saves of predicted frames, mostly overwritten before anyone
    /// asks, are only copied.
    #[inline]
    pub fn writer(&mut self, frame: Frame, final_frame: bool) -> SnapshotWriter<'_> {
        let capacity = self.capacity;
        let fuse = final_frame && self.hash == SnapshotHash::Xxh3;
        let i = self.index(frame);
        let s = &mut self.slots[i];
        s.frame = Some(frame);
        s.checksum = None;
        s.hasher.reset();
        let hasher = if fuse { Some(&mut s.hasher) } else { None };
        SnapshotWriter::new(&mut s.buf, s.start, capacity, &mut s.own_checksum, hasher)
    }

    /// The buffer of `frame`'s slot, which a check copy that differs is stored into (see
    /// [`SnapshotWriter::check`]); the slot now holds `frame`.
    #[inline]
    pub fn claim(&mut self, frame: Frame) -> (&mut Vec<u8>, usize) {
        let i = self.index(frame);
        let s = &mut self.slots[i];
        s.frame = Some(frame);
        (&mut s.buf, s.start)
    }

    /// Records, for a check copy of `frame` when its step resolves it, how many bytes matched (or
    /// [`STORED`]) and its own checksum.
    #[inline]
    pub fn note_check(&mut self, frame: Frame, matched: usize, own_checksum: Option<u64>) {
        let i = self.index(frame);
        if let Some(s) = self.slots.get_mut(i).filter(|s| s.frame == Some(frame)) {
            s.matched = matched;
            s.own_checksum = own_checksum;
        }
    }

    /// The core's checksum of `bytes` (the ring's hash).
    #[inline]
    pub fn hash_of(&self, bytes: &[u8]) -> u64 {
        self.hash.of(bytes)
    }

    /// The checksum of the snapshot of `frame` (after its writer is done): the simulation's own, or
    /// the ring's hash of the bytes, computed on the first call after the save and kept. Lazy
    /// because most saves never need one: a rollback saves frames simulated on predicted inputs,
    /// and those snapshots are overwritten by the resimulation or recycled before the frame is
    /// final; only final frames (the checksum history) and sync-test mismatches ask.
    #[inline]
    pub fn checksum(&mut self, frame: Frame) -> Option<u64> {
        let i = self.index(frame);
        let hash = self.hash;
        let s = self.slots.get_mut(i).filter(|s| s.frame == Some(frame))?;
        if s.checksum.is_none() {
            s.checksum = Some(s.own_checksum.unwrap_or_else(|| hash.of_copied(&s.hasher, s.bytes())));
        }
        s.checksum
    }

    #[inline]
    pub fn get(&self, frame: Frame) -> Option<&Snapshot> {
        let s = self.slots.get(self.index(frame))?;
        (s.frame == Some(frame)).then_some(s)
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// `a == b`, with snapshots of 8 to 16 bytes compared as two fixed 8-byte words each (the
/// first and the last 8 bytes, overlapping) and shorter ones byte by byte: a library `memcmp`
/// call costs more than comparing a small state.
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n > 16 {
        return a == b;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], at: usize| s.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok());
    word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8)
}

#[cfg(test)]
mod tests {
    use framelock_hash::CopyHasher;

    use super::{SnapshotRing, SnapshotWriter};
    use crate::checksum::{checksum64, SnapshotHash};

    /// The streaming replay hashes every save through the writer's hasher, also one with the
    /// simulation's own checksum: bytes changed through `buffer` after `set_checksum` must not
    /// leave stripes hashed before them in the result.
    #[test]
    fn a_hasher_finishes_with_the_bytes_as_left_whatever_the_writer_was_told() {
        for own_first in [false, true] {
            let (mut buf, mut own, mut hasher) = (Vec::with_capacity(2048), None, CopyHasher::new());
            let mut w = SnapshotWriter::new(&mut buf, 0, 2048, &mut own, Some(&mut hasher));
            if own_first {
                w.set_checksum(1);
            }
            w.write(&[3; 700]).expect("fits");
            w.set_checksum(2);
            w.buffer(900).expect("fits")[5] = 9;
            w.write(&[4; 300]).expect("fits");
            assert_eq!((own, hasher.finish(&buf)), (Some(2), checksum64(&buf)), "own checksum first: {own_first}");
        }
    }

    #[test]
    fn a_checksum_is_of_the_bytes_saved_last_for_its_frame() {
        let mut ring = SnapshotRing::new(2, 1024, SnapshotHash::Xxh3);
        ring.writer(3, true).write(b"predicted").expect("fits");
        assert_eq!(ring.checksum(3), Some(checksum64(b"predicted")));
        // The frame saved again (a rollback's resimulation): the kept checksum is not reused.
        ring.writer(3, true).write(b"corrected").expect("fits");
        assert_eq!(ring.checksum(3), Some(checksum64(b"corrected")));
        assert_eq!(ring.checksum(3), Some(checksum64(b"corrected")), "asked twice, the same");
        // The simulation's own checksum wins, and a new save forgets it.
        let mut w = ring.writer(4, true);
        w.write(b"x").expect("fits");
        w.set_checksum(7);
        assert_eq!(ring.checksum(4), Some(7));
        ring.writer(4, true).write(b"own checksum gone").expect("fits");
        assert_eq!(ring.checksum(4), Some(checksum64(b"own checksum gone")));
        // Set before long writes (which it stops hashing), and forgotten by the next save.
        let mut w = ring.writer(4, true);
        w.set_checksum(9);
        w.write(&[5; 600]).expect("fits");
        assert_eq!(ring.checksum(4), Some(9));
        let mut w = ring.writer(4, true);
        w.write(&[6; 400]).expect("fits");
        w.write(&[7; 300]).expect("fits");
        assert_eq!(ring.checksum(4), Some(checksum64(&[[6; 400].as_slice(), &[7; 300]].concat())));
        // A recycled slot answers only for its new frame (5 takes 3's slot in a ring of 2).
        ring.writer(5, false).write(b"five").expect("fits");
        assert_eq!((ring.checksum(3), ring.checksum(5)), (None, Some(checksum64(b"five"))));
    }

    #[test]
    fn snapshots_start_on_a_cache_line_and_stay_there_up_to_capacity() {
        for capacity in [0usize, 1, 12, 63, 64, 65, 4096, 65_536] {
            let mut ring = SnapshotRing::new(4, capacity, SnapshotHash::Xxh3);
            for frame in 0..4u32 {
                let mut w = ring.writer(frame, frame % 2 == 0);
                // Written in pieces, then past the capacity (refused): the buffer never moves.
                let piece = vec![frame as u8 + 1; capacity.div_ceil(3)];
                for _ in 0..3 {
                    let room = w.capacity() - w.len();
                    w.write(&piece[..piece.len().min(room)]).expect("fits");
                }
                assert_eq!(w.len(), capacity);
                assert!(w.write(&[0]).is_err(), "capacity {capacity}: one byte more is refused");
                let at = w.buffer(capacity).expect("in place").as_ptr();
                let s = ring.get(frame).expect("saved");
                assert_eq!(s.bytes().as_ptr(), at, "capacity {capacity}: the buffer moved");
                assert_eq!(s.bytes().len(), capacity);
                assert!(s.bytes().iter().all(|&b| b == frame as u8 + 1), "capacity {capacity}: bytes kept");
                if capacity > 0 {
                    assert_eq!(at as usize % 64, 0, "capacity {capacity}, frame {frame}: not on a 64-byte boundary");
                }
            }
        }
    }
}
