//! The cost of a tick through the C ABI against the same tick from Rust (`Driver`), in the same
//! process, on the same simulation: the reference arena, 8 players, rollback (max_prediction 8),
//! slot 0 local and the 7 remote slots' inputs arriving 3 frames late (a rollback of 3 frames on
//! most ticks once the scripted inputs change).
//!
//! `cargo bench -p framelock-ffi --bench tick`
#![allow(unsafe_code)] // calling the exported `unsafe extern "C" fn`s is the point

use std::hint::black_box;
use std::ptr;

use criterion::{criterion_group, criterion_main, Criterion};
use framelock::*;
use framelock_core::arena::{scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::{Driver, Mode, SessionBuilder};

const PLAYERS: u32 = 8;
const LAG: u32 = 3;
const SEED: u64 = 11;

fn ok(st: framelock_status) {
    assert_eq!(st, framelock_status::FRAMELOCK_OK);
}

struct Rust {
    d: Driver<Arena>,
    t: u32,
}

impl Rust {
    fn new() -> Rust {
        let params = ArenaParams { players: PLAYERS as u8, ..ArenaParams::default() };
        let session = SessionBuilder::new(PLAYERS as usize)
            .local_slot(0)
            .max_input_size(INPUT_SIZE)
            .mode(Mode::Rollback { max_prediction: 8 })
            .max_snapshot_size(snapshot_size_bound(&params))
            .frame_arena_size(scratch_size_bound(&params))
            .build()
            .expect("valid config");
        Rust { d: Driver::new(session, Arena::new(params).expect("valid params")), t: 0 }
    }

    fn tick(&mut self) {
        let t = self.t;
        let s = self.d.session_mut();
        s.add_local_input(0, &scripted_input(SEED, 0, t)).expect("local");
        if t >= LAG {
            for slot in 1..PLAYERS as usize {
                s.add_remote_input(slot, t - LAG, &scripted_input(SEED, slot, t - LAG)).expect("remote");
            }
        }
        black_box(self.d.advance().expect("advance"));
        while let Some(e) = self.d.session_mut().poll_event() {
            black_box(e);
        }
        self.t += 1;
    }
}

struct C {
    s: *mut framelock_session,
    a: *mut framelock_arena,
    t: u32,
}

impl C {
    fn new() -> C {
        // SAFETY: valid locals; the handles are freed in Drop.
        unsafe {
            let mut ap = std::mem::zeroed::<framelock_arena_params>();
            ok(framelock_arena_params_init(&mut ap));
            ap.players = PLAYERS;
            let mut snap = 0usize;
            ok(framelock_arena_snapshot_size(&ap, &mut snap));
            let mut cfg = std::mem::zeroed::<framelock_session_config>();
            ok(framelock_session_config_init(&mut cfg));
            cfg.slots = PLAYERS;
            cfg.local_slots = 1;
            cfg.max_input_size = FRAMELOCK_ARENA_INPUT_SIZE;
            cfg.max_snapshot_size = snap;
            let mut s = ptr::null_mut();
            ok(framelock_session_new(&cfg, &mut s));
            let mut a = ptr::null_mut();
            ok(framelock_arena_new(&ap, &mut a));
            C { s, a, t: 0 }
        }
    }

    fn inputs(&mut self) {
        let t = self.t;
        let mut b = [0u8; 2];
        // SAFETY: valid handles and buffers.
        unsafe {
            ok(framelock_arena_scripted_input(SEED, 0, t, b.as_mut_ptr(), 2));
            ok(framelock_session_add_local_input(self.s, 0, b.as_ptr(), 2, ptr::null_mut()));
            if t >= LAG {
                for slot in 1..PLAYERS {
                    ok(framelock_arena_scripted_input(SEED, slot, t - LAG, b.as_mut_ptr(), 2));
                    ok(framelock_session_add_remote_input(self.s, slot, t - LAG, b.as_ptr(), 2));
                }
            }
        }
    }

    fn events(&mut self) {
        let mut e = framelock_event::default();
        loop {
            // SAFETY: valid handle and out-parameter.
            ok(unsafe { framelock_session_poll_event(self.s, &mut e) });
            if e.kind == FRAMELOCK_EVENT_NONE {
                break;
            }
        }
    }

    /// The engine loop of examples/c: every request read and fulfilled through its own call.
    fn tick_by_request(&mut self) {
        self.inputs();
        // SAFETY: valid handles and out-parameters.
        unsafe {
            let mut o = framelock_outcome::default();
            ok(framelock_session_advance(self.s, &mut o));
            let mut n = 0usize;
            ok(framelock_session_request_count(self.s, &mut n));
            for i in 0..n {
                let mut r = framelock_request::default();
                ok(framelock_session_request(self.s, i, &mut r));
                match r.kind {
                    FRAMELOCK_REQUEST_SAVE_STATE => ok(framelock_arena_save(self.a, self.s, r.frame)),
                    FRAMELOCK_REQUEST_LOAD_STATE => ok(framelock_arena_load(self.a, self.s, r.frame)),
                    _ => ok(framelock_arena_advance(self.a, self.s, i)),
                }
            }
            ok(framelock_session_finish_step(self.s));
            black_box(o);
        }
        self.events();
        self.t += 1;
    }

    /// advance + framelock_arena_fulfil: the whole step in one call.
    fn tick_fulfil(&mut self) {
        self.inputs();
        // SAFETY: valid handles and out-parameters.
        unsafe {
            let mut o = framelock_outcome::default();
            ok(framelock_session_advance(self.s, &mut o));
            ok(framelock_arena_fulfil(self.a, self.s));
            black_box(o);
        }
        self.events();
        self.t += 1;
    }
}

impl Drop for C {
    fn drop(&mut self) {
        // SAFETY: created in C::new, freed once.
        unsafe {
            framelock_session_free(self.s);
            framelock_arena_free(self.a);
        }
    }
}

fn ticks(c: &mut Criterion) {
    let mut g = c.benchmark_group("tick_8p_rollback_lag3");
    let mut rust = Rust::new();
    let mut by_request = C::new();
    let mut fulfil = C::new();
    for _ in 0..100 {
        rust.tick();
        by_request.tick_by_request();
        fulfil.tick_fulfil();
    }
    g.bench_function("rust_driver", |b| b.iter(|| rust.tick()));
    g.bench_function("c_abi_by_request", |b| b.iter(|| by_request.tick_by_request()));
    g.bench_function("c_abi_arena_fulfil", |b| b.iter(|| fulfil.tick_fulfil()));
    g.finish();
}

/// The binding's own cost: a one-slot lockstep session over an 8-byte state with nothing to
/// simulate, so the time is the calls (add input, advance, read 2 requests and the inputs, save,
/// finish, poll) and not the game.
fn overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("overhead_1slot_lockstep_8byte_state");
    let mut rust = SessionBuilder::new(1).local_slot(0).max_input_size(1).max_snapshot_size(8).build().expect("valid");
    let mut state = 0u64;
    g.bench_function("rust_session", |b| {
        b.iter(|| {
            rust.add_local_input(0, &[1]).expect("local");
            let mut step = rust.advance().expect("advance");
            for r in step.requests() {
                match *r {
                    framelock_core::Request::SaveState { frame } => {
                        step.save(frame).write_u64(state).expect("fits");
                    }
                    framelock_core::Request::AdvanceFrame { inputs, .. } => {
                        for p in inputs.iter() {
                            state = state.wrapping_add(u64::from(p.bytes[0]));
                        }
                    }
                    framelock_core::Request::LoadState { .. } => {}
                }
            }
            drop(step);
            while let Some(e) = rust.poll_event() {
                black_box(e);
            }
        })
    });
    // SAFETY: valid locals; the handle is freed below.
    let s = unsafe {
        let mut cfg = std::mem::zeroed::<framelock_session_config>();
        ok(framelock_session_config_init(&mut cfg));
        cfg.slots = 1;
        cfg.local_slots = 1;
        cfg.mode = FRAMELOCK_MODE_LOCKSTEP;
        cfg.max_input_size = 1;
        cfg.max_snapshot_size = 8;
        let mut s = ptr::null_mut();
        ok(framelock_session_new(&cfg, &mut s));
        s
    };
    let mut cstate = 0u64;
    g.bench_function("c_abi", |b| {
        b.iter(|| {
            // SAFETY: a valid handle, locals as buffers and out-parameters.
            unsafe {
                ok(framelock_session_add_local_input(s, 0, [1u8].as_ptr(), 1, ptr::null_mut()));
                let mut o = framelock_outcome::default();
                ok(framelock_session_advance(s, &mut o));
                let mut n = 0usize;
                ok(framelock_session_request_count(s, &mut n));
                for i in 0..n {
                    let mut r = framelock_request::default();
                    ok(framelock_session_request(s, i, &mut r));
                    if r.kind == FRAMELOCK_REQUEST_SAVE_STATE {
                        ok(framelock_session_save(s, r.frame, cstate.to_le_bytes().as_ptr(), 8, ptr::null()));
                    } else if r.kind == FRAMELOCK_REQUEST_ADVANCE_FRAME {
                        let mut ins = [framelock_input::default(); 1];
                        let mut k = 0usize;
                        ok(framelock_session_request_inputs(s, i, ins.as_mut_ptr(), 1, &mut k));
                        cstate = cstate.wrapping_add(u64::from(*ins[0].bytes));
                    }
                }
                ok(framelock_session_finish_step(s));
                let mut e = framelock_event::default();
                ok(framelock_session_poll_event(s, &mut e));
                black_box(e);
            }
        })
    });
    g.finish();
    // SAFETY: created above, freed once.
    unsafe { framelock_session_free(s) };
}

criterion_group!(benches, ticks, overhead);
criterion_main!(benches);
