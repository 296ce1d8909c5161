//! Byte-level pieces of the log format: CRC-32, little-endian writing, and a bounds-checked reader
//! whose every error names the byte offset it happened at.

use crate::Error;

/// CRC-32 (IEEE 802.3, the one of zip and PNG) of `bytes`, continuing from `crc` (0 to start): the
/// zlib `crc32(crc, buf, len)` convention, computed by `crc32fast` (table-free SIMD where the CPU
/// has it, the same value everywhere).
#[inline]
pub fn crc32(crc: u32, bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(crc);
    h.update(bytes);
    h.finalize()
}

/// Appends little-endian values to a buffer that was preallocated large enough.
pub(crate) trait Put {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
}

/// Reads a region of the file; `base` is the region's offset in the file, so errors say where.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: u64,
    chunk: Option<u32>,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8], base: u64, chunk: Option<u32>) -> Self {
        Cursor { bytes, pos: 0, base, chunk }
    }

    /// A cursor over `bytes` whose next byte is `bytes[pos]` (`base`: the file offset of `bytes[0]`).
    pub fn at(bytes: &'a [u8], pos: usize, base: u64, chunk: Option<u32>) -> Self {
        Cursor { bytes, pos: pos.min(bytes.len()), base, chunk }
    }

    /// The offset in `bytes` of the next byte.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// All the bytes (not only the ones left).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Moves on by `n` bytes (at most to the end).
    pub fn skip(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.bytes.len());
    }

    /// The file offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn corrupt(&self, what: &'static str) -> Error {
        Error::LogCorrupt { what, byte: self.offset(), chunk: self.chunk }
    }

    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        if n > self.remaining() {
            return Err(self.corrupt(what));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.array::<1>(what)?[0])
    }
    pub fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        self.array(what).map(u16::from_le_bytes)
    }
    pub fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        self.array(what).map(u32::from_le_bytes)
    }
    pub fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        self.array(what).map(u64::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(0, b"123456789"), 0xcbf4_3926);
        let (a, b) = b"123456789".split_at(4);
        assert_eq!(crc32(crc32(0, a), b), 0xcbf4_3926, "streaming");
        assert_eq!(crc32(0, b""), 0);
        // A value of the hand-written table implementation this replaced (zip's CRC-32 of 0..=255).
        let all: Vec<u8> = (0..=255u8).collect();
        assert_eq!(crc32(0, &all), 0x2905_8c73);
    }
}
