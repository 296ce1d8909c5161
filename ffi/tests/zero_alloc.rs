//! A tick through the C ABI allocates nothing: adding inputs, advancing (with rollbacks), every
//! request fulfilled through the exported functions, events, statistics, even an error with its
//! message, and a failed step undone and redone — counted by a global allocator, after a warm-up;
//! and so do a network client's polls (receiving datagrams) and ticks (with rollbacks) against a
//! loopback relay.
//!
//! Its own test binary with `framelock_testkit::Counting` as global allocator: counting is per
//! thread and only while a test switched it on.
#![allow(unsafe_code)] // calls of the exported functions

mod common;

use std::ptr;

use common::net::{config, start_relay, stats, token, SEED};
use common::{ok, Rig, LAG};
use framelock::*;

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

/// Allocations and reallocations `f` makes on this thread.
fn count(f: impl FnOnce()) -> u64 {
    framelock_testkit::assert_counting();
    let (allocs, reallocs, ()) = framelock_testkit::count(f);
    allocs + reallocs
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
    rig.batch_remote = true;
    let n = count(|| {
        for _ in 0..3000 {
            rig.tick_by_request(false);
        }
    });
    assert_eq!(n, 0, "allocations in 3,000 ticks with the remote input added as a batch");
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
            let e = framelock_input { bytes: b.as_ptr(), len: 2, slot: 1, status: FRAMELOCK_INPUT_CONFIRMED };
            // SAFETY: valid handle and one entry; its frame is already confirmed.
            let st = unsafe { framelock_session_add_remote_inputs(rig.session, t - LAG - 5, &e, 1) };
            assert_eq!(st, framelock_status::FRAMELOCK_ERR_ALREADY_CONFIRMED);
            // SAFETY: NULL out-parameter: an error, not a crash.
            let st = unsafe { framelock_session_advance(rig.session, ptr::null_mut()) };
            assert_eq!(st, framelock_status::FRAMELOCK_ERR_NULL_ARGUMENT);
            let _ = framelock_last_error_message();
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn a_network_client_tick_and_poll_allocate_nothing() {
    // The relay runs on its own thread: only the clients' work, on this thread, is counted.
    let (addr, stop, relay) = start_relay(2);
    let tokens: Vec<[u8; 2048]> = (0..2).map(|s| token(addr, s, FRAMELOCK_PROTOCOL_ID)).collect();
    let clients: Vec<*mut framelock_net_client> = tokens
        .iter()
        .enumerate()
        .map(|(slot, t)| {
            let mut c = ptr::null_mut();
            // SAFETY: a valid config (the token outlives the call) and out-parameter.
            ok(unsafe { framelock_net_client_new(&config(t, slot as u32, 2), &mut c) });
            c
        })
        .collect();
    let mut ticks = [0u32; 2];
    let mut play = |until: u32| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !clients.iter().all(|&c| stats(c).checksummed_until > until) {
            assert!(std::time::Instant::now() < deadline, "frame {until} not final in time");
            for (i, &c) in clients.iter().enumerate() {
                // SAFETY: live handles used by this thread only; valid out-parameters.
                unsafe {
                    ok(framelock_net_client_poll(c, 1));
                    let mut due = 0;
                    ok(framelock_net_client_ticks_due(c, &mut due));
                    for _ in 0..due {
                        ticks[i] += 1;
                        let input = framelock_core::arena::scripted_input(SEED, i, ticks[i]);
                        ok(framelock_net_client_tick(c, input.as_ptr(), input.len(), ptr::null_mut()));
                    }
                }
            }
        }
    };
    play(60);
    let before = clients.iter().map(|&c| stats(c).rollbacks).sum::<u64>();
    let n = count(|| play(240));
    let after = clients.iter().map(|&c| stats(c).rollbacks).sum::<u64>();
    assert_eq!(n, 0, "allocations while two clients played 180 frames (poll, ticks_due, tick, get_stats)");
    eprintln!("zero-alloc net: {} rollbacks while counting", after - before);
    for c in clients {
        // SAFETY: a live handle, freed once.
        unsafe {
            ok(framelock_net_client_disconnect(c));
            framelock_net_client_free(c);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    relay.join().expect("relay thread");
}

#[test]
fn a_failed_step_and_its_undo_allocate_nothing() {
    let mut rig = Rig::new(FRAMELOCK_MODE_SYNC_TEST);
    for _ in 0..100 {
        rig.tick_by_request(true);
    }
    let n = count(|| {
        for i in 0..400 {
            rig.inputs(true);
            // SAFETY: valid handles and out-parameters.
            unsafe {
                let mut o = framelock_outcome::default();
                ok(framelock_session_advance(rig.session, &mut o));
                let mut n = 0usize;
                ok(framelock_session_request_count(rig.session, &mut n));
                // Every other step: the requests before the last done, the last one "fails" (the
                // next step reloads); else the first one fails (nothing to reload).
                let failed = if i % 2 == 0 { n - 1 } else { 0 };
                for k in 0..failed {
                    let mut r = framelock_request::default();
                    ok(framelock_session_request(rig.session, k, &mut r));
                    match r.kind {
                        FRAMELOCK_REQUEST_SAVE_STATE => ok(framelock_arena_save(rig.arena, rig.session, r.frame)),
                        FRAMELOCK_REQUEST_LOAD_STATE => ok(framelock_arena_load(rig.arena, rig.session, r.frame)),
                        _ => ok(framelock_arena_advance(rig.arena, rig.session, k)),
                    }
                }
                ok(framelock_session_abort_step(rig.session, failed));
            }
            rig.tick_by_request(true);
        }
    });
    assert_eq!(n, 0, "allocations in 400 failed and redone steps");
}
