//! XXH3-64 of the bytes appended to a buffer, taken while they are copied in.
//!
//! framelock saves a state by copying it into a snapshot buffer and, once the frame is final,
//! hashes the snapshot: two passes over the same bytes, the second as long as the first.
//! [`CopyHasher::extend`] does both in one: each 64-byte stripe is stored into the buffer and mixed
//! into XXH3's accumulators while it is in a register, so the hash's arithmetic runs under the
//! copy's memory traffic (64 KiB on the benchmark machine: copy about 1.16 µs, hash 1.14 µs, both in
//! one pass about 1.24 µs; docs/BENCHMARKS.md, issue 13's tenth pass).
//!
//! The result is **XXH3-64 with seed 0**, bit for bit what `twox_hash::XxHash3_64::oneshot` (or
//! any XXH3 implementation) returns for the same bytes, however they were split into writes: the
//! tests check it against `twox-hash` on generated inputs and splits, with every kernel this
//! machine can run. Inputs of up to 240 bytes, and inputs nothing was accumulated for while they
//! were written, are hashed by `twox-hash` itself when finished.
//!
//! Kernels, all giving the same values: on x86-64, AVX2 when the processor has it (detected when
//! the program runs), else SSE2 (every x86-64 processor); NEON on AArch64; elsewhere a portable one
//! that copies first and hashes after (two passes).
//!
//! # Quick start
//!
//! ```
//! use framelock_hash::CopyHasher;
//!
//! let mut buf = Vec::with_capacity(4096);
//! let mut hasher = CopyHasher::new();
//! hasher.extend(&mut buf, 0, &[7u8; 1000]); // copied and hashed in one pass
//! hasher.extend(&mut buf, 0, b"more bytes"); // short writes are only copied
//! assert_eq!(hasher.finish(&buf), twox_hash::XxHash3_64::oneshot(&buf));
//! ```

// The vector kernels load and store through raw pointers (`avx2.rs`, `sse2.rs`, `neon.rs`), and
// `extend` sets the length of the buffer such a kernel filled; everything else is safe code.
#![allow(unsafe_code)]
#![warn(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "aarch64")]
mod neon;
mod portable;
#[cfg(target_arch = "x86_64")]
mod sse2;

/// XXH3's default secret (`kSecret` of the specification).
const SECRET: [u8; 192] = [
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c, 0xde, 0xd4, 0x6d,
    0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f, 0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0,
    0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21, 0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0,
    0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c, 0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b,
    0x1b, 0x53, 0x2e, 0xa3, 0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac,
    0xd8, 0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d, 0x8a, 0x51,
    0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64, 0xea, 0xc5, 0xac, 0x83, 0x34,
    0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb, 0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49,
    0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e, 0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8,
    0xd1, 0x7a, 0xd0, 0x31, 0xce, 0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b,
    0x40, 0x7e,
];

const PRIME32_1: u64 = 0x9E37_79B1;
const PRIME32_2: u64 = 0x85EB_CA77;
const PRIME32_3: u64 = 0xC2B2_AE3D;
const PRIME64_1: u64 = 0x9E37_79B1_85EB_CA87;
const PRIME64_2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const PRIME64_3: u64 = 0x1656_67B1_9E37_79F9;
const PRIME64_4: u64 = 0x85EB_CA77_C2B2_AE63;
const PRIME64_5: u64 = 0x27D4_EB2F_1656_67C5;

/// XXH3's accumulators before the first stripe.
const INIT_ACC: [u64; 8] = [PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME32_2, PRIME64_5, PRIME32_1];

/// Bytes per stripe; stripes per block (then the accumulators are scrambled) with the default secret.
const STRIPE: usize = 64;
const STRIPES_PER_BLOCK: usize = (SECRET.len() - STRIPE) / 8;

/// Where the secret's scramble key, last-stripe key and merge key start.
const SCRAMBLE_KEY: usize = SECRET.len() - STRIPE;
const LAST_STRIPE_KEY: usize = SECRET.len() - STRIPE - 7;
const MERGE_KEY: usize = 11;

/// Longer inputs are hashed with the stripe loop; up to this length XXH3 uses other formulas (and
/// `finish` hands them to `twox-hash`).
const MIDSIZE_MAX: usize = 240;

/// Writes shorter than this are only copied: their stripes are accumulated from the buffer by the
/// next long write or by [`CopyHasher::finish`].
pub const FUSE_MIN: usize = 256;

/// The code that accumulates stripes. Every kernel gives the same values; the vector ones copy
/// and accumulate each stripe in one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Safe Rust, any platform: copies, then accumulates from the copy.
    Portable,
    /// x86-64 with SSE2 (every x86-64 processor): four 128-bit lanes per stripe.
    Sse2,
    /// x86-64 with AVX2: two 256-bit lanes per stripe.
    Avx2,
    /// AArch64 with NEON (every AArch64 processor): four 128-bit lanes per stripe.
    Neon,
}

impl Kernel {
    /// Every kernel, whether this processor runs it or not (see [`available`](Kernel::available)).
    pub const ALL: [Kernel; 4] = [Kernel::Portable, Kernel::Sse2, Kernel::Avx2, Kernel::Neon];

    /// The fastest kernel this processor runs.
    pub fn detect() -> Kernel {
        [Kernel::Avx2, Kernel::Sse2, Kernel::Neon].into_iter().find(|k| k.available()).unwrap_or(Kernel::Portable)
    }

    /// Whether this processor runs the kernel.
    pub fn available(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Sse2 => std::arch::is_x86_feature_detected!("sse2"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)] // every kernel has an arm on some architecture
            _ => false,
        }
    }
}

/// Accumulates `src` (whole stripes, the first the input's stripe number `first`) with a vector
/// `kernel`, and with `COPY` stores it to `dst` in the same pass; does nothing and returns `false`
/// for the portable kernel.
///
/// # Safety
/// The processor must run `kernel` (an available kernel: [`Kernel::available`]). With `COPY`,
/// `dst` must be valid for writes of `src.len()` bytes and not overlap `src`.
#[inline]
unsafe fn vector_accumulate<const COPY: bool>(
    kernel: Kernel,
    acc: &mut [u64; 8],
    dst: *mut u8,
    src: &[u8],
    first: usize,
) -> bool {
    // SAFETY (each arm): the caller's contract is each kernel's.
    match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => {
            unsafe { avx2::accumulate::<COPY>(acc, dst, src, first) };
            true
        }
        #[cfg(target_arch = "x86_64")]
        Kernel::Sse2 => {
            unsafe { sse2::accumulate::<COPY>(acc, dst, src, first) };
            true
        }
        #[cfg(target_arch = "aarch64")]
        Kernel::Neon => {
            unsafe { neon::accumulate::<COPY>(acc, dst, src, first) };
            true
        }
        _ => {
            // No vector kernel for this processor (every argument unused there).
            let _ = (acc, dst, src, first);
            false
        }
    }
}

/// XXH3-64 (seed 0) of an input that is appended to a buffer in pieces, accumulated as the
/// pieces are copied in (see the crate's documentation).
///
/// The input is `buf[from..]` of the buffer given to [`extend`](CopyHasher::extend); the bytes
/// accumulated so far must not change before [`finish`](CopyHasher::finish) (appending more is
/// fine, through `extend` or not). [`reset`](CopyHasher::reset) starts a new input.
#[derive(Debug, Clone)]
pub struct CopyHasher {
    acc: [u64; 8],
    /// The input's first `hashed` bytes are accumulated: whole stripes, always fewer bytes than the
    /// input holds (XXH3 treats the stripe that ends the input differently, so a stripe is taken
    /// only once a byte after it is known).
    hashed: usize,
    kernel: Kernel,
}

impl Default for CopyHasher {
    fn default() -> Self {
        CopyHasher::new()
    }
}

impl CopyHasher {
    /// A hasher with the fastest kernel this processor runs.
    pub fn new() -> Self {
        CopyHasher { acc: INIT_ACC, hashed: 0, kernel: Kernel::detect() }
    }

    /// A hasher with `kernel`, if this processor runs it.
    pub fn with_kernel(kernel: Kernel) -> Option<Self> {
        kernel.available().then_some(CopyHasher { acc: INIT_ACC, hashed: 0, kernel })
    }

    /// The kernel in use.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Forgets the input: the next `extend` starts a new one.
    #[inline]
    pub fn reset(&mut self) {
        self.hashed = 0;
    }

    /// How many bytes of the input are accumulated (the rest is hashed by `finish`).
    pub fn hashed(&self) -> usize {
        self.hashed
    }

    /// Appends `src` to `buf`, whose bytes from `from` on are the input so far. A write of at least
    /// [`FUSE_MIN`] bytes is copied and accumulated in one pass (with the input's stripes before it
    /// that are not accumulated yet); a shorter one is only copied. `buf` grows like
    /// `Vec::extend_from_slice` (not at all when its capacity suffices).
    ///
    /// A `from` past the buffer's end counts as an empty input so far.
    #[inline]
    pub fn extend(&mut self, buf: &mut Vec<u8>, from: usize, src: &[u8]) {
        if src.len() < FUSE_MIN {
            buf.extend_from_slice(src);
        } else {
            self.extend_long(buf, from, src);
        }
    }

    fn extend_long(&mut self, buf: &mut Vec<u8>, from: usize, src: &[u8]) {
        let from = from.min(buf.len());
        // Bring the input to a stripe boundary, then take the stripes written before this call:
        // each has a byte after it now (`src` is longer than the head).
        let have = buf.len() - from;
        let head = (STRIPE - have % STRIPE) % STRIPE;
        let (head, rest) = src.split_at(head);
        buf.extend_from_slice(head);
        if self.hashed > have {
            // Not the input the accumulators hold (`reset` was not called): start over.
            self.hashed = 0;
        }
        self.accumulate(&buf[from..]);
        // Copy and accumulate every whole stripe of the rest but one that would end the input.
        let fused = (rest.len() - 1) / STRIPE * STRIPE;
        let (body, tail) = rest.split_at(fused);
        self.copy_accumulate(buf, body);
        buf.extend_from_slice(tail);
    }

    /// Accumulates the stripes of `input` (a stripe-aligned length) from `self.hashed` on.
    fn accumulate(&mut self, input: &[u8]) {
        let end = input.len() / STRIPE * STRIPE;
        let Some(data) = input.get(self.hashed..end).filter(|d| !d.is_empty()) else { return };
        if self.hashed == 0 {
            self.acc = INIT_ACC;
        }
        accumulate_with(self.kernel, &mut self.acc, data, self.hashed / STRIPE);
        self.hashed = end;
    }

    /// Appends `body` (whole stripes) to `buf` and accumulates it; the input so far is stripe-aligned
    /// and accumulated.
    fn copy_accumulate(&mut self, buf: &mut Vec<u8>, body: &[u8]) {
        if body.is_empty() {
            return;
        }
        if self.hashed == 0 {
            self.acc = INIT_ACC;
        }
        let first = self.hashed / STRIPE;
        buf.reserve(body.len());
        let dst = buf.spare_capacity_mut();
        debug_assert!(dst.len() >= body.len());
        // SAFETY: a hasher's kernel is available (`with_kernel`, `Kernel::detect`); `dst` has room
        // for `body.len()` bytes (reserved above), a separate allocation from `body`, and a vector
        // kernel writes every one of them before `set_len` exposes them.
        if unsafe { vector_accumulate::<true>(self.kernel, &mut self.acc, dst.as_mut_ptr().cast::<u8>(), body, first) }
        {
            // SAFETY: the kernel wrote all `body.len()` bytes after the old length (above).
            unsafe { buf.set_len(buf.len() + body.len()) };
        } else {
            let at = buf.len();
            buf.extend_from_slice(body);
            portable::accumulate(&mut self.acc, &buf[at..], first);
        }
        self.hashed += body.len();
    }

    /// XXH3-64 (seed 0) of `input`, which must begin with the bytes accumulated so far (for the
    /// buffer given to `extend`: `&buf[from..]`). The hasher is unchanged: asking again gives the
    /// same answer.
    pub fn finish(&self, input: &[u8]) -> u64 {
        let len = input.len();
        if len <= MIDSIZE_MAX || self.hashed == 0 || self.hashed >= len {
            return twox_hash::XxHash3_64::oneshot(input);
        }
        let mut acc = self.acc;
        // The stripes before the last byte not accumulated yet, then the input's last 64 bytes
        // with their own key (the specification's `XXH3_hashLong_internal_loop`).
        let end = (len - 1) / STRIPE * STRIPE;
        if let Some(data) = input.get(self.hashed..end) {
            accumulate_with(self.kernel, &mut acc, data, self.hashed / STRIPE);
        }
        portable::accumulate_512(&mut acc, &input[len - STRIPE..], LAST_STRIPE_KEY);
        merge(&acc, (len as u64).wrapping_mul(PRIME64_1))
    }
}

/// Accumulates `data` (whole stripes, the first the input's stripe number `first`) with `kernel`,
/// which must be available (every hasher's is).
#[inline]
fn accumulate_with(kernel: Kernel, acc: &mut [u64; 8], data: &[u8], first: usize) {
    // SAFETY: `kernel` is available (the caller's); no destination, so nothing is written.
    if !unsafe { vector_accumulate::<false>(kernel, acc, std::ptr::null_mut(), data, first) } {
        portable::accumulate(acc, data, first);
    }
}

/// The little-endian `u64` at `at` of the secret.
#[inline(always)]
fn secret64(at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&SECRET[at..at + 8]);
    u64::from_le_bytes(b)
}

/// XXH3's `mergeAccs` and `avalanche`.
fn merge(acc: &[u64; 8], start: u64) -> u64 {
    let mul_fold = |a: u64, b: u64| {
        let p = u128::from(a) * u128::from(b);
        (p as u64) ^ ((p >> 64) as u64)
    };
    let mut r = start;
    for i in 0..4 {
        let key = MERGE_KEY + 16 * i;
        r = r.wrapping_add(mul_fold(acc[2 * i] ^ secret64(key), acc[2 * i + 1] ^ secret64(key + 8)));
    }
    r ^= r >> 37;
    r = r.wrapping_mul(0x1656_6791_9E37_79F9);
    r ^ (r >> 32)
}
