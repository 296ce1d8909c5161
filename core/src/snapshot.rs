//! Snapshots: the core-owned ring of byte buffers that simulation states are saved into, and the
//! writer/reader a simulation uses to fill and read them.

use crate::checksum::SnapshotHash;
use crate::{Frame, SimError};

/// Writes one snapshot into a preallocated buffer owned by the session.
///
/// The buffer never grows: writing past `max_snapshot_size` fails with a [`SimError`] instead of
/// reallocating, so saving stays allocation-free. Integers are written little-endian, whatever the
/// platform, so the same state gives the same bytes (and checksum) everywhere.
#[derive(Debug)]
pub struct SnapshotWriter<'a> {
    buf: &'a mut Vec<u8>,
    capacity: usize,
    checksum: &'a mut Option<u64>,
}

impl<'a> SnapshotWriter<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a mut Vec<u8>, capacity: usize, checksum: &'a mut Option<u64>) -> Self {
        buf.clear();
        *checksum = None;
        SnapshotWriter { buf, capacity, checksum }
    }

    /// Appends raw bytes.
    #[inline]
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), SimError> {
        if self.buf.len() + bytes.len() > self.capacity {
            return Err(SimError::new("snapshot exceeds max_snapshot_size"));
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// Appends a `u8`.
    #[inline]
    pub fn write_u8(&mut self, v: u8) -> Result<(), SimError> {
        self.write(&[v])
    }
    /// Appends a little-endian `u16`.
    #[inline]
    pub fn write_u16(&mut self, v: u16) -> Result<(), SimError> {
        self.write(&v.to_le_bytes())
    }
    /// Appends a little-endian `u32`.
    #[inline]
    pub fn write_u32(&mut self, v: u32) -> Result<(), SimError> {
        self.write(&v.to_le_bytes())
    }
    /// Appends a little-endian `u64`.
    #[inline]
    pub fn write_u64(&mut self, v: u64) -> Result<(), SimError> {
        self.write(&v.to_le_bytes())
    }
    /// Appends a little-endian `i32`.
    #[inline]
    pub fn write_i32(&mut self, v: i32) -> Result<(), SimError> {
        self.write(&v.to_le_bytes())
    }
    /// Appends a little-endian `i64`.
    #[inline]
    pub fn write_i64(&mut self, v: i64) -> Result<(), SimError> {
        self.write(&v.to_le_bytes())
    }

    /// Sets the snapshot's length to `len` bytes (zero-filling new bytes) and returns the whole
    /// buffer to write into directly; for callers that serialize in place (C engines, memcpy of a
    /// plain struct). Fails when `len` exceeds `max_snapshot_size`.
    #[inline]
    pub fn buffer(&mut self, len: usize) -> Result<&mut [u8], SimError> {
        if len > self.capacity {
            return Err(SimError::new("snapshot exceeds max_snapshot_size"));
        }
        self.buf.resize(len, 0);
        Ok(&mut self.buf[..])
    }

    /// The number of bytes written so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing was written yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The capacity of the buffer (`max_snapshot_size`).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Uses the simulation's own checksum for this snapshot instead of the core's hash of its bytes.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u64) {
        *self.checksum = Some(checksum);
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

/// One saved state in the ring.
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// The frame whose starting state this is; `None` when the slot holds nothing.
    pub frame: Option<Frame>,
    pub bytes: Vec<u8>,
    /// The simulation's own checksum, when it gave one.
    pub own_checksum: Option<u64>,
    /// The checksum, computed when the step that saved it finished.
    pub checksum: u64,
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
            .map(|_| Snapshot { frame: None, bytes: Vec::with_capacity(capacity), own_checksum: None, checksum: 0 })
            .collect();
        SnapshotRing { slots, capacity, hash }
    }

    #[inline]
    fn index(&self, frame: Frame) -> usize {
        frame as usize & (self.slots.len().wrapping_sub(1))
    }

    /// The buffer that a save of `frame` writes into (it forgets whatever it held).
    #[inline]
    pub fn writer(&mut self, frame: Frame) -> SnapshotWriter<'_> {
        let capacity = self.capacity;
        let i = self.index(frame);
        let s = &mut self.slots[i];
        s.frame = Some(frame);
        SnapshotWriter::new(&mut s.bytes, capacity, &mut s.own_checksum)
    }

    /// Computes the checksum of the snapshot of `frame` (after its writer is done) and returns it.
    #[inline]
    pub fn seal(&mut self, frame: Frame) -> Option<u64> {
        let i = self.index(frame);
        let s = self.slots.get_mut(i)?;
        if s.frame != Some(frame) {
            return None;
        }
        // One pass over the saved bytes, right after the step that wrote them.
        let hash = self.hash;
        s.checksum = s.own_checksum.unwrap_or_else(|| hash.of(&s.bytes));
        Some(s.checksum)
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
