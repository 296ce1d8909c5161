//! Misuse from two threads (issue 11): one thread plays a session through the C ABI while another
//! calls into the same session; every collision is FRAMELOCK_ERR_BUSY (the player retries), never
//! another error or a panic, and the match ends at the checksum of an undisturbed one. The same
//! test in C runs under AddressSanitizer and ThreadSanitizer (`tests/c/threads.c`). And a callback
//! that calls its own session gets FRAMELOCK_ERR_REENTRANT.
#![allow(unsafe_code)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use common::Rig;
use framelock::framelock_status::*;
use framelock::*;

/// The session pointer, handed to the intruder thread (which misuses it on purpose).
#[derive(Clone, Copy)]
struct Shared(*mut framelock_session);
// SAFETY: the library checks every call on the session with its own claim; that is under test.
unsafe impl Send for Shared {}

#[test]
fn a_second_thread_gets_busy_and_changes_nothing() {
    const TICKS: u32 = 1500;
    let mut quiet = Rig::new(FRAMELOCK_MODE_ROLLBACK);
    for _ in 0..TICKS {
        quiet.tick_fulfil(false);
    }
    let want = quiet.checksum(TICKS - 20);

    let mut rig = Rig::new(FRAMELOCK_MODE_ROLLBACK);
    let shared = Shared(rig.session);
    let done = Arc::new(AtomicBool::new(false));
    let (busy, other) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let intruder = {
        let (done, busy, other) = (done.clone(), busy.clone(), other.clone());
        std::thread::spawn(move || {
            let s = shared;
            while !done.load(Ordering::Relaxed) {
                let mut info = framelock_session_info {
                    struct_size: std::mem::size_of::<framelock_session_info>() as u32,
                    ..Default::default()
                };
                let mut n = 0usize;
                // SAFETY: a live session (freed only after this thread is joined), local outs.
                let sts = unsafe {
                    [
                        framelock_session_get_info(s.0, &mut info),
                        framelock_session_request_count(s.0, &mut n),
                        framelock_session_set_input_delay(s.0, 0),
                    ]
                };
                for st in sts {
                    match st {
                        FRAMELOCK_OK => {}
                        FRAMELOCK_ERR_BUSY => {
                            busy.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            other.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        })
    };
    // The player: the rig's tick, each call retried while the intruder holds the session.
    let mut player_busy = 0u64;
    for _ in 0..TICKS {
        let t = rig.tick;
        let mut b = [0u8; 2];
        // SAFETY: live handles, local buffers.
        unsafe {
            let retry = |f: &mut dyn FnMut() -> framelock_status, busy: &mut u64| loop {
                match f() {
                    FRAMELOCK_ERR_BUSY => *busy += 1,
                    st => break st,
                }
            };
            framelock_arena_scripted_input(common::SEED, 0, t, b.as_mut_ptr(), 2);
            let st = retry(
                &mut || framelock_session_add_local_input(rig.session, 0, b.as_ptr(), 2, std::ptr::null_mut()),
                &mut player_busy,
            );
            assert_eq!(st, FRAMELOCK_OK);
            if t >= common::LAG {
                let mut r = [0u8; 2];
                framelock_arena_scripted_input(common::SEED, 1, t - common::LAG, r.as_mut_ptr(), 2);
                let st = retry(
                    &mut || framelock_session_add_remote_input(rig.session, 1, t - common::LAG, r.as_ptr(), 2),
                    &mut player_busy,
                );
                assert_eq!(st, FRAMELOCK_OK);
            }
            let mut o = framelock_outcome::default();
            assert_eq!(retry(&mut || framelock_session_advance(rig.session, &mut o), &mut player_busy), FRAMELOCK_OK);
            assert_eq!(retry(&mut || framelock_arena_fulfil(rig.arena, rig.session), &mut player_busy), FRAMELOCK_OK);
        }
        rig.tick += 1;
    }
    done.store(true, Ordering::Relaxed);
    intruder.join().expect("the intruder thread");
    assert_eq!(other.load(Ordering::Relaxed), 0, "errors other than BUSY");
    assert_eq!(rig.checksum(TICKS - 20), want, "the intruder changed the match");
    eprintln!("threads: {} BUSY for the intruder, {player_busy} for the player", busy.load(Ordering::Relaxed));
}

static REENTRANT_SEEN: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn reenter_advance(
    user: *mut std::ffi::c_void,
    _frame: u32,
    _inputs: *const framelock_input,
    _n: usize,
) -> i32 {
    let s = user as *mut framelock_session;
    let b = [0u8; 2];
    let mut o = framelock_outcome::default();
    // SAFETY: `s` is the session running this callback: every call into it must be refused.
    unsafe {
        if framelock_session_add_local_input(s, 0, b.as_ptr(), 2, std::ptr::null_mut()) == FRAMELOCK_ERR_REENTRANT
            && framelock_session_advance(s, &mut o) == FRAMELOCK_ERR_REENTRANT
        {
            REENTRANT_SEEN.fetch_add(1, Ordering::Relaxed);
        }
        framelock_session_free(s); // ignored from inside a callback
    }
    0
}

unsafe extern "C" fn small_save(_user: *mut std::ffi::c_void, _frame: u32, snap: *mut framelock_snapshot) -> i32 {
    // SAFETY: the snapshot of the running callback.
    (unsafe { framelock_snapshot_write(snap, [1u8; 4].as_ptr(), 4) } != FRAMELOCK_OK) as i32
}

unsafe extern "C" fn no_load(_user: *mut std::ffi::c_void, _frame: u32, _data: *const u8, _len: usize) -> i32 {
    0
}

#[test]
fn a_callback_calling_its_own_session_gets_reentrant() {
    let rig = Rig::new(FRAMELOCK_MODE_ROLLBACK);
    let cb = framelock_callbacks {
        struct_size: std::mem::size_of::<framelock_callbacks>() as u32,
        user: rig.session.cast(),
        save_state: Some(small_save),
        load_state: Some(no_load),
        advance_frame: Some(reenter_advance),
    };
    // SAFETY: a live session, local buffers and callbacks.
    unsafe {
        let b = [0u8; 2];
        assert_eq!(
            framelock_session_add_local_input(rig.session, 0, b.as_ptr(), 2, std::ptr::null_mut()),
            FRAMELOCK_OK
        );
        let mut o = framelock_outcome::default();
        assert_eq!(framelock_session_advance_with(rig.session, &cb, &mut o), FRAMELOCK_OK);
        assert!(o.advanced);
        assert_eq!(REENTRANT_SEEN.load(Ordering::Relaxed), 1);
    }
    let stats = rig.stats(); // the session is alive: the free from the callback was ignored
    assert_eq!(stats.frames_advanced, 1);
}
