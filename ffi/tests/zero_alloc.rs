//! A tick through the C ABI allocates nothing: adding inputs, advancing (with rollbacks), every
//! request fulfilled through the exported functions, events, statistics, and even an error with
//! its message — counted by a global allocator, after a warm-up.
//!
//! Its own test binary, so that its global allocator sees only this file's work; counting is per
//! thread and only while a test switched it on.
#![allow(unsafe_code)] // a GlobalAlloc impl, and calls of the exported functions

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr;

use common::{Rig, LAG};
use framelock::*;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every method forwards to `System` with the same arguments; counting does not touch the
// memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(Cell::get) - before
}

#[test]
fn a_rollback_tick_through_the_c_abi_allocates_nothing() {
    let mut rig = Rig::new(FRAMELOCK_MODE_ROLLBACK);
    for _ in 0..200 {
        rig.tick_by_request(false);
    }
    let n = count(|| {
        for _ in 0..3000 {
            rig.tick_by_request(false);
            rig.stats();
        }
    });
    assert_eq!(n, 0, "allocations in 3,000 ticks fulfilled request by request");
    let n = count(|| {
        for _ in 0..3000 {
            rig.tick_fulfil(false);
        }
    });
    assert_eq!(n, 0, "allocations in 3,000 ticks fulfilled by framelock_arena_fulfil");
    assert!(rig.stats().rollbacks > 100, "the remote input arrives late: the ticks include rollbacks");
}

#[test]
fn a_sync_test_tick_through_the_c_abi_allocates_nothing() {
    let mut rig = Rig::new(FRAMELOCK_MODE_SYNC_TEST);
    for _ in 0..100 {
        rig.tick_by_request(true);
    }
    let n = count(|| {
        for _ in 0..2000 {
            rig.tick_by_request(true);
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn an_error_and_its_message_allocate_nothing() {
    let mut rig = Rig::new(FRAMELOCK_MODE_ROLLBACK);
    for _ in 0..50 {
        rig.tick_by_request(false);
    }
    let t = rig.tick;
    let b = [0u8; 2];
    let n = count(|| {
        for _ in 0..100 {
            // SAFETY: valid handle and buffer; the frame is already confirmed.
            let st = unsafe { framelock_session_add_remote_input(rig.session, 1, t - LAG - 5, b.as_ptr(), 2) };
            assert_eq!(st, framelock_status::FRAMELOCK_ERR_ALREADY_CONFIRMED);
            // SAFETY: NULL out-parameter: an error, not a crash.
            let st = unsafe { framelock_session_advance(rig.session, ptr::null_mut()) };
            assert_eq!(st, framelock_status::FRAMELOCK_ERR_NULL_ARGUMENT);
            let _ = framelock_last_error_message();
        }
    });
    assert_eq!(n, 0);
}
