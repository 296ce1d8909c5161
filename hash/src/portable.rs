//! The accumulation in safe, portable Rust (the specification's scalar code).

use crate::{secret64, PRIME32_1, SCRAMBLE_KEY, STRIPE, STRIPES_PER_BLOCK};

/// Accumulates `data` (whole stripes), whose first stripe is the input's stripe number `first`,
/// scrambling after each block's last stripe.
pub(crate) fn accumulate(acc: &mut [u64; 8], data: &[u8], first: usize) {
    for (i, stripe) in data.chunks_exact(STRIPE).enumerate() {
        let n = (first + i) % STRIPES_PER_BLOCK;
        accumulate_512(acc, stripe, 8 * n);
        if n == STRIPES_PER_BLOCK - 1 {
            scramble(acc);
        }
    }
}

/// One stripe (64 bytes) with the secret from `key` on (`XXH3_accumulate_512`).
#[inline(always)]
pub(crate) fn accumulate_512(acc: &mut [u64; 8], stripe: &[u8], key: usize) {
    for i in 0..8 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&stripe[8 * i..8 * i + 8]);
        let value = u64::from_le_bytes(b);
        let keyed = value ^ secret64(key + 8 * i);
        acc[i ^ 1] = acc[i ^ 1].wrapping_add(value);
        acc[i] = acc[i].wrapping_add((keyed & 0xffff_ffff).wrapping_mul(keyed >> 32));
    }
}

/// `XXH3_scrambleAcc`.
fn scramble(acc: &mut [u64; 8]) {
    for (i, a) in acc.iter_mut().enumerate() {
        let x = *a ^ (*a >> 47) ^ secret64(SCRAMBLE_KEY + 8 * i);
        *a = x.wrapping_mul(PRIME32_1);
    }
}
