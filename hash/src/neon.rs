//! The accumulation with NEON (every AArch64 processor has it): each stripe is four 128-bit
//! lanes, loaded once, optionally stored to the destination, and mixed into the accumulators (the
//! specification's `XXH3_accumulate_512` and `XXH3_scrambleAcc`, as its NEON code does them:
//! `vmull_u32` of each 64-bit lane's halves).
//!
//! Checked against `twox-hash` by `hash/tests/against_twox.rs` when the tests run on AArch64
//! under `qemu-aarch64` (`scripts/test-cross`, part of `./scripts/test`); not timed on ARM hardware
//! yet.

use std::arch::aarch64::*;

use crate::{PRIME32_1, SCRAMBLE_KEY, SECRET, STRIPE, STRIPES_PER_BLOCK};

/// Accumulates `src` (whole stripes; its first is the input's stripe number `first`), scrambling
/// after each block's last stripe; with `COPY`, also stores every stripe to `dst`.
///
/// # Safety
/// The processor must support NEON. With `COPY`, `dst` must be valid for writes of `src.len()`
/// bytes (any alignment) and not overlap `src`.
#[target_feature(enable = "neon")]
pub(crate) unsafe fn accumulate<const COPY: bool>(acc: &mut [u64; 8], dst: *mut u8, src: &[u8], first: usize) {
    let stripes = src.len() / STRIPE;
    let key = SECRET.as_ptr();
    // SAFETY: every load reads inside `src` (stripe `i < stripes`), `acc` or `SECRET` (offsets up
    // to 8 * 15 + 48 + 16 = 184 and `SCRAMBLE_KEY` + 64 = 192); every store writes inside `acc` or
    // `dst[..src.len()]` (the caller's contract); the intrinsics need NEON, which the caller
    // guarantees. NEON's loads and stores of bytes have no alignment requirement.
    unsafe {
        let mut a = [vdupq_n_u64(0); 4];
        for (j, lane) in a.iter_mut().enumerate() {
            *lane = vld1q_u64(acc.as_ptr().add(2 * j));
        }
        let mut n = first % STRIPES_PER_BLOCK;
        for i in 0..stripes {
            let p = src.as_ptr().add(STRIPE * i);
            for (j, lane) in a.iter_mut().enumerate() {
                let d = vld1q_u8(p.add(16 * j));
                if COPY {
                    vst1q_u8(dst.add(STRIPE * i + 16 * j), d);
                }
                let k = vld1q_u8(key.add(8 * n + 16 * j));
                *lane = accumulate_lane(*lane, vreinterpretq_u64_u8(d), vreinterpretq_u64_u8(k));
            }
            n += 1;
            if n == STRIPES_PER_BLOCK {
                n = 0;
                for (j, lane) in a.iter_mut().enumerate() {
                    let k = vreinterpretq_u64_u8(vld1q_u8(key.add(SCRAMBLE_KEY + 16 * j)));
                    *lane = scramble(*lane, k);
                }
            }
        }
        for (j, lane) in a.iter().enumerate() {
            vst1q_u64(acc.as_mut_ptr().add(2 * j), *lane);
        }
    }
}

/// Two accumulators and 16 bytes of a stripe: `acc[i ^ 1] += data[i]`,
/// `acc[i] += lo32(data[i] ^ key[i]) * hi32(data[i] ^ key[i])`.
#[inline]
#[target_feature(enable = "neon")]
fn accumulate_lane(acc: uint64x2_t, data: uint64x2_t, key: uint64x2_t) -> uint64x2_t {
    let keyed = veorq_u64(data, key);
    let product = vmull_u32(vmovn_u64(keyed), vshrn_n_u64::<32>(keyed));
    let swapped = vextq_u64::<1>(data, data);
    vaddq_u64(product, vaddq_u64(acc, swapped))
}

/// `acc = (acc ^ (acc >> 47) ^ key) * PRIME32_1` on two 64-bit lanes.
#[inline]
#[target_feature(enable = "neon")]
fn scramble(acc: uint64x2_t, key: uint64x2_t) -> uint64x2_t {
    let keyed = veorq_u64(veorq_u64(acc, vshrq_n_u64::<47>(acc)), key);
    let prime = vdup_n_u32(PRIME32_1 as u32);
    let lo = vmull_u32(vmovn_u64(keyed), prime);
    let hi = vmull_u32(vshrn_n_u64::<32>(keyed), prime);
    vaddq_u64(lo, vshlq_n_u64::<32>(hi))
}
