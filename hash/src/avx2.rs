//! The accumulation with AVX2: each stripe is two 256-bit lanes, loaded once, optionally stored
//! to the destination, and mixed into the accumulators (the specification's `XXH3_accumulate_512`
//! and `XXH3_scrambleAcc` for AVX2).

use std::arch::x86_64::*;

use crate::{PRIME32_1, SCRAMBLE_KEY, SECRET, STRIPE, STRIPES_PER_BLOCK};

/// How far ahead of the stripe being read the source is prefetched: 64 KiB in 1.71–1.72 µs instead
/// of 1.82–2.0 µs on the benchmark machine.
const PREFETCH: usize = 512;

/// Accumulates `src` (whole stripes; its first is the input's stripe number `first`), scrambling
/// after each block's last stripe; with `COPY`, also stores every stripe to `dst`.
///
/// # Safety
/// The processor must support AVX2. With `COPY`, `dst` must be valid for writes of `src.len()`
/// bytes (any alignment) and not overlap `src`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn accumulate<const COPY: bool>(acc: &mut [u64; 8], dst: *mut u8, src: &[u8], first: usize) {
    let stripes = src.len() / STRIPE;
    let key = SECRET.as_ptr();
    // SAFETY: every load reads inside `src` (stripe `i < stripes`) or `SECRET` (offsets up to
    // 8 * 15 + 32 + 32 = 184 and `SCRAMBLE_KEY` + 64 = 192); every store writes inside
    // `dst[..src.len()]` (the caller's contract); prefetches do not access memory (their address is
    // computed with `wrapping_add`, so it may lie past the end); the intrinsics need AVX2, which the
    // caller guarantees.
    unsafe {
        let mut a0 = _mm256_loadu_si256(acc.as_ptr().cast::<__m256i>());
        let mut a1 = _mm256_loadu_si256(acc.as_ptr().add(4).cast::<__m256i>());
        let prime = _mm256_set1_epi32(PRIME32_1 as i32);
        let mut n = first % STRIPES_PER_BLOCK;
        for i in 0..stripes {
            let p = src.as_ptr().add(STRIPE * i);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(PREFETCH).cast::<i8>());
            let d0 = _mm256_loadu_si256(p.cast::<__m256i>());
            let d1 = _mm256_loadu_si256(p.add(32).cast::<__m256i>());
            if COPY {
                _mm256_storeu_si256(dst.add(STRIPE * i).cast::<__m256i>(), d0);
                _mm256_storeu_si256(dst.add(STRIPE * i + 32).cast::<__m256i>(), d1);
            }
            a0 = lane(a0, d0, _mm256_loadu_si256(key.add(8 * n).cast::<__m256i>()));
            a1 = lane(a1, d1, _mm256_loadu_si256(key.add(8 * n + 32).cast::<__m256i>()));
            n += 1;
            if n == STRIPES_PER_BLOCK {
                n = 0;
                a0 = scramble(a0, _mm256_loadu_si256(key.add(SCRAMBLE_KEY).cast::<__m256i>()), prime);
                a1 = scramble(a1, _mm256_loadu_si256(key.add(SCRAMBLE_KEY + 32).cast::<__m256i>()), prime);
            }
        }
        _mm256_storeu_si256(acc.as_mut_ptr().cast::<__m256i>(), a0);
        _mm256_storeu_si256(acc.as_mut_ptr().add(4).cast::<__m256i>(), a1);
    }
}

/// Four accumulators and 32 bytes of a stripe: `acc[i ^ 1] += data[i]`,
/// `acc[i] += lo32(data[i] ^ key[i]) * hi32(data[i] ^ key[i])`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn lane(acc: __m256i, data: __m256i, key: __m256i) -> __m256i {
    let keyed = _mm256_xor_si256(data, key);
    let keyed_hi = _mm256_shuffle_epi32::<0b00_11_00_01>(keyed);
    let product = _mm256_mul_epu32(keyed, keyed_hi);
    let swapped = _mm256_shuffle_epi32::<0b01_00_11_10>(data);
    _mm256_add_epi64(product, _mm256_add_epi64(acc, swapped))
}

/// `acc = (acc ^ (acc >> 47) ^ key) * PRIME32_1` on four 64-bit lanes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn scramble(acc: __m256i, key: __m256i, prime: __m256i) -> __m256i {
    let keyed = _mm256_xor_si256(_mm256_xor_si256(acc, _mm256_srli_epi64::<47>(acc)), key);
    let hi = _mm256_shuffle_epi32::<0b00_11_00_01>(keyed);
    let lo = _mm256_mul_epu32(keyed, prime);
    let hi = _mm256_mul_epu32(hi, prime);
    _mm256_add_epi64(lo, _mm256_slli_epi64::<32>(hi))
}
