//! Helpers shared by the Rust-side tests of the C ABI: a two-player arena session driven through
//! the exported functions exactly as a C engine would.
#![allow(dead_code, unsafe_code)]

use std::ffi::CStr;
use std::ptr;

use framelock::*;

pub mod net;
pub mod p2p;

/// Panics with the library's message unless `st` is FRAMELOCK_OK.
pub fn ok(st: framelock_status) {
    if st != framelock_status::FRAMELOCK_OK {
        // SAFETY: the message is a NUL-terminated string owned by the library.
        let msg = unsafe { CStr::from_ptr(framelock_last_error_message()) };
        panic!("{st:?}: {}", msg.to_string_lossy());
    }
}

pub const LAG: u32 = 3;
pub const SEED: u64 = 7;

/// A rollback session for 2 arena players (slot 0 local, slot 1 remote) and its arena.
pub struct Rig {
    pub session: *mut framelock_session,
    pub arena: *mut framelock_arena,
    pub tick: u32,
    /// Add the remote input with framelock_session_add_remote_inputs() (a batch of one).
    pub batch_remote: bool,
}

impl Rig {
    pub fn new(mode: u32) -> Rig {
        // SAFETY: every pointer passed is a valid local or a handle created here.
        unsafe {
            let mut ap = std::mem::zeroed::<framelock_arena_params>();
            ok(framelock_arena_params_init(&mut ap));
            ap.players = 2;
            let mut snap = 0usize;
            ok(framelock_arena_snapshot_size(&ap, &mut snap));
            let mut cfg = std::mem::zeroed::<framelock_session_config>();
            ok(framelock_session_config_init(&mut cfg));
            cfg.mode = mode;
            cfg.max_input_size = FRAMELOCK_ARENA_INPUT_SIZE;
            cfg.max_snapshot_size = snap;
            if mode == FRAMELOCK_MODE_SYNC_TEST {
                cfg.local_slots = 0b11;
            }
            let mut session = ptr::null_mut();
            ok(framelock_session_new(&cfg, &mut session));
            let mut arena = ptr::null_mut();
            ok(framelock_arena_new(&ap, &mut arena));
            Rig { session, arena, tick: 0, batch_remote: false }
        }
    }

    /// Adds this tick's inputs: the local one, and the remote one LAG frames late.
    pub fn inputs(&mut self, both_local: bool) {
        let t = self.tick;
        let mut b = [0u8; 2];
        // SAFETY: valid handles and buffers.
        unsafe {
            ok(framelock_arena_scripted_input(SEED, 0, t, b.as_mut_ptr(), 2));
            ok(framelock_session_add_local_input(self.session, 0, b.as_ptr(), 2, ptr::null_mut()));
            if both_local {
                ok(framelock_arena_scripted_input(SEED, 1, t, b.as_mut_ptr(), 2));
                ok(framelock_session_add_local_input(self.session, 1, b.as_ptr(), 2, ptr::null_mut()));
            } else if t >= LAG {
                ok(framelock_arena_scripted_input(SEED, 1, t - LAG, b.as_mut_ptr(), 2));
                if self.batch_remote {
                    let e = framelock_input { bytes: b.as_ptr(), len: 2, slot: 1, status: FRAMELOCK_INPUT_CONFIRMED };
                    ok(framelock_session_add_remote_inputs(self.session, t - LAG, &e, 1));
                } else {
                    ok(framelock_session_add_remote_input(self.session, 1, t - LAG, b.as_ptr(), 2));
                }
            }
        }
    }

    /// One tick, the requests fulfilled one by one through the C ABI (as a C engine loop does).
    pub fn tick_by_request(&mut self, both_local: bool) {
        self.inputs(both_local);
        // SAFETY: valid handles and out-parameters.
        unsafe {
            let mut o = framelock_outcome::default();
            ok(framelock_session_advance(self.session, &mut o));
            let mut n = 0usize;
            ok(framelock_session_request_count(self.session, &mut n));
            for i in 0..n {
                let mut r = framelock_request::default();
                ok(framelock_session_request(self.session, i, &mut r));
                match r.kind {
                    FRAMELOCK_REQUEST_SAVE_STATE => ok(framelock_arena_save(self.arena, self.session, r.frame)),
                    FRAMELOCK_REQUEST_LOAD_STATE => ok(framelock_arena_load(self.arena, self.session, r.frame)),
                    _ => ok(framelock_arena_advance(self.arena, self.session, i)),
                }
            }
            ok(framelock_session_finish_step(self.session));
            let mut e = framelock_event::default();
            ok(framelock_session_poll_event(self.session, &mut e));
            assert_eq!(e.kind, FRAMELOCK_EVENT_NONE, "unexpected event {e:?}");
        }
        self.tick += 1;
    }

    /// One tick, the step fulfilled by the arena in one call.
    pub fn tick_fulfil(&mut self, both_local: bool) {
        self.inputs(both_local);
        // SAFETY: valid handles and out-parameters.
        unsafe {
            let mut o = framelock_outcome::default();
            ok(framelock_session_advance(self.session, &mut o));
            ok(framelock_arena_fulfil(self.arena, self.session));
        }
        self.tick += 1;
    }

    pub fn checksum(&self, frame: u32) -> u64 {
        let mut c = 0;
        // SAFETY: valid handle and out-parameter.
        ok(unsafe { framelock_session_checksum(self.session, frame, &mut c) });
        c
    }

    pub fn stats(&self) -> framelock_stats {
        let mut s =
            framelock_stats { struct_size: std::mem::size_of::<framelock_stats>() as u32, ..Default::default() };
        // SAFETY: valid handle and out-parameter.
        ok(unsafe { framelock_session_get_stats(self.session, &mut s) });
        s
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // SAFETY: the handles were created by Rig::new and are freed once.
        unsafe {
            framelock_session_free(self.session);
            framelock_arena_free(self.arena);
        }
    }
}
