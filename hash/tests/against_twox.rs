//! `CopyHasher` against `twox-hash`'s XXH3-64: generated inputs written in generated pieces, with
//! every kernel this machine runs, must hash to exactly `XxHash3_64::oneshot` of the same bytes
//! and leave exactly those bytes in the buffer.

use framelock_hash::{CopyHasher, Kernel, FUSE_MIN};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use twox_hash::XxHash3_64;

/// One write of a generated program.
#[derive(Debug, Clone)]
enum Write {
    /// Through `CopyHasher::extend`.
    Extend(usize),
    /// Appended to the buffer without the hasher (as a snapshot written in place is).
    Plain(usize),
}

impl Arbitrary for Write {
    fn arbitrary(g: &mut Gen) -> Self {
        // Lengths around the boundaries that matter: short (copied only), around `FUSE_MIN`, one or
        // more stripes and blocks (64 and 1024 bytes) and off them by a little.
        let len = match u8::arbitrary(g) % 6 {
            0 => usize::arbitrary(g) % 16,
            1 => FUSE_MIN - 2 + usize::arbitrary(g) % 4,
            2 => 64 * (1 + usize::arbitrary(g) % 40) + usize::arbitrary(g) % 3 - 1,
            3 => 1024 * (1 + usize::arbitrary(g) % 4) + usize::arbitrary(g) % 130 - 65,
            _ => usize::arbitrary(g) % 3000,
        };
        if u8::arbitrary(g) % 5 == 0 {
            Write::Plain(len)
        } else {
            Write::Extend(len)
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        match *self {
            Write::Extend(n) => Box::new(n.shrink().map(Write::Extend).chain([Write::Plain(n)])),
            Write::Plain(n) => Box::new(n.shrink().map(Write::Plain)),
        }
    }
}

fn kernels() -> Vec<Kernel> {
    Kernel::ALL.into_iter().filter(|k| k.available()).collect()
}

/// The bytes of write `w`, different for every position in the input.
fn bytes(seed: u64, at: usize, len: usize) -> Vec<u8> {
    (at..at + len).map(|i| ((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed).rotate_left(29) as u8).collect()
}

/// Runs `writes` into a buffer whose input starts at `from` (bytes before it are not the input),
/// finishing after every write: the hash and the bytes must be `twox-hash`'s and the writes'.
fn run(kernel: Kernel, seed: u64, from: usize, writes: &[Write], capacity: usize) -> Result<(), String> {
    let mut hasher = CopyHasher::with_kernel(kernel).ok_or("kernel unavailable")?;
    let mut buf = Vec::with_capacity(capacity);
    buf.resize(from, 0xAA);
    let mut expect = Vec::new();
    for (i, w) in writes.iter().enumerate() {
        let (len, through) = match *w {
            Write::Extend(n) => (n, true),
            Write::Plain(n) => (n, false),
        };
        let part = bytes(seed, expect.len(), len);
        if through {
            hasher.extend(&mut buf, from, &part);
        } else {
            buf.extend_from_slice(&part);
        }
        expect.extend_from_slice(&part);
        if buf[from..] != expect[..] {
            return Err(format!("{kernel:?}: after write {i} the buffer holds other bytes"));
        }
        let (got, want) = (hasher.finish(&buf[from..]), XxHash3_64::oneshot(&expect));
        if got != want {
            return Err(format!(
                "{kernel:?}: after write {i} ({} bytes, {} accumulated) hash {got:#x}, XXH3-64 {want:#x}",
                expect.len(),
                hasher.hashed()
            ));
        }
        if hasher.hashed() >= expect.len().max(1) || hasher.hashed() % 64 != 0 {
            return Err(format!("{kernel:?}: {} of {} bytes accumulated", hasher.hashed(), expect.len()));
        }
    }
    Ok(())
}

#[test]
fn any_program_of_writes_hashes_to_xxh3_64() {
    fn prop(seed: u64, from: u8, writes: Vec<Write>, roomy: bool) -> TestResult {
        let total: usize = writes
            .iter()
            .map(|w| match *w {
                Write::Extend(n) | Write::Plain(n) => n,
            })
            .sum();
        // With room for everything (the session's case) or with the buffer growing.
        let capacity = if roomy { usize::from(from) + total } else { usize::from(from) };
        for kernel in kernels() {
            if let Err(e) = run(kernel, seed, usize::from(from % 64), &writes, capacity) {
                return TestResult::error(e);
            }
        }
        TestResult::passed()
    }
    QuickCheck::new().tests(500).rng(Gen::new(40)).quickcheck(prop as fn(u64, u8, Vec<Write>, bool) -> TestResult);
}

#[test]
fn every_length_up_to_a_few_blocks_in_one_write_and_in_two() {
    for kernel in kernels() {
        for len in 0..3200usize {
            run(kernel, len as u64, 0, &[Write::Extend(len)], len).expect("one write");
            let cut = len / 3;
            run(kernel, 7, 5, &[Write::Extend(cut), Write::Extend(len - cut)], len + 5).expect("two writes");
        }
    }
}

#[test]
fn a_64_kib_snapshot_in_pieces_like_hash_sim_saves_it() {
    // 4 + 8 bytes of header, then 65,524 bytes: the session bench's save.
    for kernel in kernels() {
        let writes = [Write::Extend(4), Write::Extend(8), Write::Extend(65_524)];
        run(kernel, 3, 0, &writes, 65_536).expect("64 KiB");
    }
}

#[test]
fn reset_starts_a_new_input_and_a_shrunk_buffer_starts_over() {
    for kernel in kernels() {
        let mut h = CopyHasher::with_kernel(kernel).expect("available");
        let mut buf = Vec::with_capacity(8192);
        h.extend(&mut buf, 0, &bytes(1, 0, 5000));
        assert!(h.hashed() > 0, "{kernel:?}: a long write is accumulated");
        // A new input in the same buffer, after reset.
        buf.clear();
        h.reset();
        let second = bytes(2, 0, 3000);
        h.extend(&mut buf, 0, &second);
        assert_eq!(h.finish(&buf), XxHash3_64::oneshot(&second), "{kernel:?}: after reset");
        // Without reset, a buffer shorter than what was accumulated: the hasher starts over.
        buf.clear();
        let third = bytes(3, 0, 700);
        h.extend(&mut buf, 0, &third);
        assert_eq!(h.finish(&buf), XxHash3_64::oneshot(&third), "{kernel:?}: shrunk without reset");
    }
}

#[test]
fn short_inputs_and_a_from_past_the_end_are_plain_xxh3() {
    let mut h = CopyHasher::new();
    let mut buf = vec![1u8; 10];
    // `from` past the end: the input so far is empty.
    h.extend(&mut buf, 99, &[5u8; 300]);
    assert_eq!(buf.len(), 310);
    assert_eq!(h.finish(&buf[10..]), XxHash3_64::oneshot(&[5u8; 300]));
    for len in [0usize, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240] {
        assert_eq!(CopyHasher::new().finish(&vec![9u8; len]), XxHash3_64::oneshot(&vec![9u8; len]), "{len}");
    }
}

/// Where a vector kernel exists, `detect` picks one (the portable kernel hashes in a second pass).
#[test]
fn the_detected_kernel_copies_and_hashes_in_one_pass_where_the_processor_can() {
    let kernel = Kernel::detect();
    assert!(kernel.available(), "{kernel:?}");
    #[cfg(target_arch = "x86_64")]
    assert_eq!(kernel, if std::arch::is_x86_feature_detected!("avx2") { Kernel::Avx2 } else { Kernel::Sse2 });
    #[cfg(target_arch = "aarch64")]
    assert_eq!(kernel, Kernel::Neon);
}
