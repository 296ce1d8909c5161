//! The accumulation with SSE2, which every x86-64 processor has: each stripe is four 128-bit
//! lanes, loaded once, optionally stored to the destination, and mixed into the accumulators (the
//! specification's `XXH3_accumulate_512` and `XXH3_scrambleAcc` for SSE2). For processors without
//! AVX2 (older consoles' and laptops' cores); `avx2.rs` is the same with two 256-bit lanes.

use std::arch::x86_64::*;

use crate::{PRIME32_1, SCRAMBLE_KEY, SECRET, STRIPE, STRIPES_PER_BLOCK};

/// How far ahead of the stripe being read the source is prefetched (as in `avx2.rs`).
const PREFETCH: usize = 512;

/// Accumulates `src` (whole stripes; its first is the input's stripe number `first`), scrambling
/// after each block's last stripe; with `COPY`, also stores every stripe to `dst`.
///
/// # Safety
/// With `COPY`, `dst` must be valid for writes of `src.len()` bytes (any alignment) and not overlap
/// `src`. (SSE2 is part of x86-64: the processor always has it.)
#[target_feature(enable = "sse2")]
pub(crate) unsafe fn accumulate<const COPY: bool>(acc: &mut [u64; 8], dst: *mut u8, src: &[u8], first: usize) {
    let stripes = src.len() / STRIPE;
    let key = SECRET.as_ptr();
    // SAFETY: every load reads inside `src` (stripe `i < stripes`), `acc` or `SECRET` (offsets up
    // to 8 * 15 + 48 + 16 = 184 and `SCRAMBLE_KEY` + 64 = 192); every store writes inside `acc` or
    // `dst[..src.len()]` (the caller's contract); prefetches do not access memory (their address
    // is computed with `wrapping_add`, so it may lie past the end).
    unsafe {
        let mut a = [_mm_setzero_si128(); 4];
        for (j, lane) in a.iter_mut().enumerate() {
            *lane = _mm_loadu_si128(acc.as_ptr().add(2 * j).cast::<__m128i>());
        }
        let prime = _mm_set1_epi32(PRIME32_1 as i32);
        let mut n = first % STRIPES_PER_BLOCK;
        for i in 0..stripes {
            let p = src.as_ptr().add(STRIPE * i);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(PREFETCH).cast::<i8>());
            for (j, lane) in a.iter_mut().enumerate() {
                let d = _mm_loadu_si128(p.add(16 * j).cast::<__m128i>());
                if COPY {
                    _mm_storeu_si128(dst.add(STRIPE * i + 16 * j).cast::<__m128i>(), d);
                }
                *lane = accumulate_lane(*lane, d, _mm_loadu_si128(key.add(8 * n + 16 * j).cast::<__m128i>()));
            }
            n += 1;
            if n == STRIPES_PER_BLOCK {
                n = 0;
                for (j, lane) in a.iter_mut().enumerate() {
                    let k = _mm_loadu_si128(key.add(SCRAMBLE_KEY + 16 * j).cast::<__m128i>());
                    *lane = scramble(*lane, k, prime);
                }
            }
        }
        for (j, lane) in a.iter().enumerate() {
            _mm_storeu_si128(acc.as_mut_ptr().add(2 * j).cast::<__m128i>(), *lane);
        }
    }
}

/// Two accumulators and 16 bytes of a stripe: `acc[i ^ 1] += data[i]`,
/// `acc[i] += lo32(data[i] ^ key[i]) * hi32(data[i] ^ key[i])`.
#[inline]
#[target_feature(enable = "sse2")]
fn accumulate_lane(acc: __m128i, data: __m128i, key: __m128i) -> __m128i {
    let keyed = _mm_xor_si128(data, key);
    let keyed_hi = _mm_shuffle_epi32::<0b00_11_00_01>(keyed);
    let product = _mm_mul_epu32(keyed, keyed_hi);
    let swapped = _mm_shuffle_epi32::<0b01_00_11_10>(data);
    _mm_add_epi64(product, _mm_add_epi64(acc, swapped))
}

/// `acc = (acc ^ (acc >> 47) ^ key) * PRIME32_1` on two 64-bit lanes.
#[inline]
#[target_feature(enable = "sse2")]
fn scramble(acc: __m128i, key: __m128i, prime: __m128i) -> __m128i {
    let keyed = _mm_xor_si128(_mm_xor_si128(acc, _mm_srli_epi64::<47>(acc)), key);
    let hi = _mm_shuffle_epi32::<0b00_11_00_01>(keyed);
    let lo = _mm_mul_epu32(keyed, prime);
    let hi = _mm_mul_epu32(hi, prime);
    _mm_add_epi64(lo, _mm_slli_epi64::<32>(hi))
}
