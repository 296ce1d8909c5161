//! A 64 KiB save hashed while it is copied, with every kernel this machine runs, beside the copy
//! alone (`extend_from_slice`, the memcpy a save without a checksum is) and the copy followed by
//! `twox-hash`'s XXH3-64 of the copy (the two passes the fused kernels replace), in one run.
//!
//! `cargo bench -p framelock-hash --bench copy_hash` prints criterion's times and throughputs
//! (docs/BENCHMARKS.md records them); run as a test (`cargo test --benches`) it checks each case
//! once.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use framelock_hash::{CopyHasher, Kernel};
use twox_hash::XxHash3_64;

const SIZE: usize = 64 * 1024;

fn copy_hash(c: &mut Criterion) {
    let src: Vec<u8> = (0..SIZE).map(|i| (i as u32).wrapping_mul(0x9e37_79b9).rotate_left(7) as u8).collect();
    let mut buf: Vec<u8> = Vec::with_capacity(SIZE);
    let mut g = c.benchmark_group("save_64KiB");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function("copy only", |b| {
        b.iter(|| {
            buf.clear();
            buf.extend_from_slice(black_box(&src));
            black_box(&buf);
        })
    });
    g.bench_function("copy, then twox-hash", |b| {
        b.iter(|| {
            buf.clear();
            buf.extend_from_slice(black_box(&src));
            black_box(XxHash3_64::oneshot(&buf))
        })
    });
    for kernel in Kernel::ALL.into_iter().filter(|k| k.available()) {
        let mut hasher = CopyHasher::with_kernel(kernel).expect("available");
        let expect = XxHash3_64::oneshot(&src);
        g.bench_function(format!("{kernel:?} copy hashing"), |b| {
            b.iter(|| {
                buf.clear();
                hasher.reset();
                hasher.extend(&mut buf, 0, black_box(&src));
                black_box(hasher.finish(&buf))
            })
        });
        assert_eq!(hasher.finish(&buf), expect, "{kernel:?}");
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .without_plots();
    targets = copy_hash
}
criterion_main!(benches);
