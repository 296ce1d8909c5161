//! Test support shared by framelock's crates.
//!
//! [`Counting`] is the global allocator of every zero-allocation test binary: it forwards to the
//! system allocator, counts allocations and reallocations of the threads that asked for counting
//! (so the test harness and tests running in parallel do not leak into each other's figures), and
//! keeps a process-wide count of live heap bytes (for leak checks).
//!
//! ```
//! // In a test binary:
//! // #[global_allocator]
//! // static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;
//! let (allocs, reallocs, v) = framelock_testkit::count(|| vec![1u8, 2, 3]);
//! // Without the global allocator installed (as in this doctest) nothing is counted.
//! assert_eq!((allocs, reallocs, v.len()), (0, 0, 3));
//! ```
#![deny(missing_docs)]
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition; it only forwards to System.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static REALLOCS: Cell<u64> = const { Cell::new(0) };
}

static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

fn bump(counter: &'static std::thread::LocalKey<Cell<u64>>) {
    // `try_with`: the allocator may run while a thread's locals are being torn down.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = counter.try_with(|c| c.set(c.get() + 1));
    }
}

/// The counting allocator: install it with `#[global_allocator]` in a test binary.
#[derive(Debug, Clone, Copy)]
pub struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees hold; the bookkeeping touches only thread-locals and an atomic and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(&ALLOCS);
        LIVE_BYTES.fetch_add(layout.size() as i64, Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(&ALLOCS);
        LIVE_BYTES.fetch_add(layout.size() as i64, Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(&REALLOCS);
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Relaxed);
        // SAFETY: as above; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` with counting switched on for this thread; returns the allocations and reallocations
/// it made, and its result.
pub fn count<R>(f: impl FnOnce() -> R) -> (u64, u64, R) {
    let (a0, r0) = (ALLOCS.with(Cell::get), REALLOCS.with(Cell::get));
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    (ALLOCS.with(Cell::get) - a0, REALLOCS.with(Cell::get) - r0, out)
}

/// Panics unless [`Counting`] is this binary's global allocator: without it every count is zero, and
/// a zero-allocation test would pass whatever the code does.
pub fn assert_counting() {
    // The box itself goes through `black_box`: an optimized build elides an allocation whose
    // pointer it can see never escapes.
    let (allocs, _, b) = count(|| std::hint::black_box(Box::new(7u64)));
    assert!(allocs > 0 && *b == 7, "install framelock_testkit::Counting as the #[global_allocator]");
}

/// Heap bytes allocated and not yet freed by the whole process.
pub fn live_bytes() -> i64 {
    LIVE_BYTES.load(Relaxed)
}

/// Replays every file of the committed fuzz corpus `fuzz/corpus/<target>/` through `run` (a fuzz
/// target's body), in file-name order, and panics naming the first file that makes it panic, or
/// when the corpus holds fewer than `min_files` files (it must be committed).
pub fn replay_corpus(target: &str, min_files: usize, run: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path())
        .collect();
    files.sort();
    assert!(files.len() >= min_files, "the {target} corpus is committed ({} files)", files.len());
    for path in files {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} makes the {target} target panic", path.display());
    }
}
