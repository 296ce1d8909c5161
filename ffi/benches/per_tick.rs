//! Issue 13's C-ABI case: the library's time per tick for an engine that owns its state.
//!
//! 8 players, rollback (`max_prediction` 8), slot 0 local, the 7 remote slots' inputs arriving
//! 4 frames late, and an engine-owned 232-byte state (a `repr(C)` struct, as a C engine has) that
//! framelock saves, loads and advances through the C ABI. Four loops run in the same process on the
//! same inputs:
//!
//! - **engine_alone**: the same engine work without framelock — the same sequence of saves (a
//!   232-byte copy into the engine's own ring), loads (a copy back) and advances (the same
//!   simulation on the same input bytes), replayed from a recording of what the session asked for.
//! - **rust_driver**: the core from Rust (`Driver` over a `Simulation` doing the same work): the
//!   core's own cost, without the C boundary.
//! - **c_abi_callbacks**: `framelock_session_advance_with` and three `extern "C"` callbacks
//!   (GGPO-style; save through `framelock_snapshot_write`).
//! - **c_abi_callbacks_batched**, **c_abi_by_request_batched**: the same, the 7 remote inputs of
//!   a frame added with one `framelock_session_add_remote_inputs` call instead of 7.
//! - **c_abi_by_request**: the request-by-request loop of `examples/c/minimal.c`
//!   (`framelock_session_request`, `_save`, `_load`, `_request_inputs`, `_finish_step`).
//!
//! Every loop adds the same inputs (slot 0's for this tick, the 7 remote slots' for 4 ticks ago)
//! and polls events. Library time per tick = (loop with framelock) − (engine_alone).
//!
//! After criterion, the bench also times the loops in interleaved blocks (so a noisy neighbour hits
//! every loop alike) and prints the library time per tick directly, with the engine operations per
//! tick of each loop (they must match: same work). `PER_TICK_INTERLEAVED=1` skips criterion.
//!
//! `cargo bench -p framelock-ffi --bench per_tick`
#![allow(unsafe_code)] // calling the exported `unsafe extern "C" fn`s is the point

use core::cell::Cell;
use core::ffi::c_void;
use std::hint::black_box;
use std::ptr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use framelock::*;
use framelock_core::arena::scripted_input;
use framelock_core::{Bump, Driver, FrameInputs, Mode, Request, SessionBuilder, SimError, Simulation, SnapshotWriter};

const PLAYERS: usize = 8;
const LAG: u32 = 4;
const SEED: u64 = 13;
const INPUT: usize = 2;
/// The input table repeats every `PERIOD` frames, so the work per tick is periodic too.
const PERIOD: u32 = 1024;
/// The engine's own ring of saved states (engine_alone): more than max_prediction + 2.
const RING: usize = 16;

// ----- the engine: a 232-byte state and its simulation ----------------------------------------------

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Player {
    x: i32,
    y: i32,
    vx: i32,
    vy: i32,
    hp: i32,
    score: i32,
    cooldown: i32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct State {
    frame: u32,
    rng: u32,
    players: [Player; PLAYERS],
}

const STATE_SIZE: usize = core::mem::size_of::<State>();
const _: () = assert!(STATE_SIZE == 232);

const FIELD: i32 = 1 << 16;

impl State {
    fn new() -> State {
        let mut g = State { frame: 0, rng: 0x9e37_79b9, ..State::default() };
        for (i, p) in g.players.iter_mut().enumerate() {
            p.x = (i as i32 + 1) * FIELD / 10;
            p.y = FIELD / 2;
            p.hp = 100;
        }
        g
    }

    fn bytes(&self) -> &[u8; STATE_SIZE] {
        // SAFETY: `State` is `repr(C)` plain integers without padding (asserted size 232 = 2×4 +
        // 8×7×4), so every byte is initialized.
        unsafe { &*(self as *const State).cast::<[u8; STATE_SIZE]>() }
    }

    fn set_bytes(&mut self, b: &[u8]) -> bool {
        if b.len() != STATE_SIZE {
            return false;
        }
        // SAFETY: every bit pattern is a valid `State` (plain integers); lengths checked.
        unsafe { ptr::copy_nonoverlapping(b.as_ptr(), (self as *mut State).cast::<u8>(), STATE_SIZE) };
        true
    }

    /// One frame: each player's buttons accelerate it, fire scores when the cooldown allows.
    #[inline(always)]
    fn simulate(&mut self, input: impl Fn(usize) -> [u8; INPUT]) {
        for i in 0..PLAYERS {
            let [b, aim] = input(i);
            let p = &mut self.players[i];
            let ax = i32::from(b & 1) - i32::from((b >> 2) & 1);
            let ay = i32::from((b >> 1) & 1) - i32::from((b >> 3) & 1);
            p.vx = (p.vx + ax * 64) * 15 / 16;
            p.vy = (p.vy + ay * 64) * 15 / 16;
            p.x = (p.x + p.vx).clamp(0, FIELD);
            p.y = (p.y + p.vy).clamp(0, FIELD);
            if b & 0x10 != 0 && p.cooldown == 0 {
                p.cooldown = 8;
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 17;
                self.rng ^= self.rng << 5;
                p.score += i32::from(aim & 7) + (self.rng & 1) as i32;
            } else {
                p.cooldown = (p.cooldown - 1).max(0);
            }
        }
        self.frame = self.frame.wrapping_add(1);
    }
}

/// The input of `slot` for `frame`: a table lookup, the same in every loop.
struct Inputs(Vec<[[u8; INPUT]; PLAYERS]>);

impl Inputs {
    fn new() -> Inputs {
        Inputs((0..PERIOD).map(|f| core::array::from_fn(|slot| scripted_input(SEED, slot, f))).collect())
    }

    #[inline(always)]
    fn get(&self, slot: usize, frame: u32) -> [u8; INPUT] {
        self.0[(frame % PERIOD) as usize][slot]
    }
}

/// Engine operations done, to check every loop does the same work.
#[derive(Debug, Default, Clone, Copy)]
struct Ops {
    ticks: u64,
    saves: u64,
    loads: u64,
    advances: u64,
}

impl Ops {
    fn per_tick(&self) -> String {
        let t = self.ticks.max(1) as f64;
        format!(
            "{:.3} saves, {:.3} loads, {:.3} advances per tick over {} ticks",
            self.saves as f64 / t,
            self.loads as f64 / t,
            self.advances as f64 / t,
            self.ticks
        )
    }
}

fn ok(st: framelock_status) {
    assert_eq!(st, framelock_status::FRAMELOCK_OK);
}

// ----- engine_alone: the recorded work without framelock ---------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Op {
    Save(u32),
    Load(u32),
    Advance(u32),
}

struct Alone {
    g: State,
    ring: [State; RING],
    inputs: Inputs,
    /// The requests of ticks `PERIOD..2 * PERIOD` of a session (one period after the start).
    ops: Vec<Op>,
    /// `ops[tick_start[i]..tick_start[i + 1]]` are tick `PERIOD + i`'s.
    tick_start: Vec<usize>,
    i: usize,
    n: Ops,
}

impl Alone {
    fn new() -> Alone {
        // Record the requests the session makes, from Rust (the same core as behind the C ABI).
        let mut d = rust_driver();
        let mut ops = Vec::new();
        let mut tick_start = Vec::new();
        let inputs = Inputs::new();
        for t in 0..2 * PERIOD {
            add_inputs_rust(d.session_mut(), &inputs, t);
            let record = t >= PERIOD;
            if record {
                tick_start.push(ops.len());
            }
            let (session, sim) = split(&mut d);
            let mut step = session.advance().expect("advance");
            if record {
                ops.extend(step.requests().iter().map(|r| match *r {
                    Request::SaveState { frame } => Op::Save(frame),
                    Request::LoadState { frame } => Op::Load(frame),
                    Request::AdvanceFrame { frame, .. } => Op::Advance(frame),
                }));
            }
            framelock_core::fulfil(&mut step, sim).expect("fulfil");
            drop(step);
            while d.session_mut().poll_event().is_some() {}
        }
        tick_start.push(ops.len());
        Alone { g: State::new(), ring: [State::default(); RING], inputs, ops, tick_start, i: 0, n: Ops::default() }
    }

    fn tick(&mut self) {
        let t = PERIOD + self.i as u32;
        let (a, b) = (self.tick_start[self.i], self.tick_start[self.i + 1]);
        for k in a..b {
            match self.ops[k] {
                Op::Save(f) => {
                    self.ring[f as usize % RING] = self.g;
                    self.n.saves += 1;
                }
                Op::Load(f) => {
                    self.g = self.ring[f as usize % RING];
                    self.n.loads += 1;
                }
                Op::Advance(f) => {
                    // Slot 0's own input; the remote slots' confirmed input, or the last one
                    // confirmed (what the session predicts) for frames not confirmed yet.
                    let confirmed = t - LAG;
                    let inputs = &self.inputs;
                    self.g.simulate(|s| if s == 0 { inputs.get(0, f) } else { inputs.get(s, f.min(confirmed)) });
                    self.n.advances += 1;
                }
            }
        }
        black_box(&self.g);
        self.n.ticks += 1;
        self.i = (self.i + 1) % PERIOD as usize;
    }
}

// ----- rust_driver: the core from Rust ----------------------------------------------------------------

struct RustSim {
    g: State,
    n: Ops,
    /// `Simulation::save` takes `&self`.
    saves: Cell<u64>,
}

impl Simulation for RustSim {
    fn advance(&mut self, inputs: FrameInputs<'_>, _scratch: &Bump) -> Result<(), SimError> {
        let row = inputs.iter();
        let mut b = [[0u8; INPUT]; PLAYERS];
        for p in row {
            // Empty: the default input (predicted before any input of the slot arrived).
            match *p.bytes {
                [] => {}
                [x, y] => b[p.slot] = [x, y],
                _ => return Err(SimError::new("input size")),
            }
        }
        self.g.simulate(|s| b[s]);
        self.n.advances += 1;
        Ok(())
    }

    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        self.saves.set(self.saves.get() + 1);
        out.write(self.g.bytes()).map_err(|_| SimError::new("snapshot too large"))
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        self.n.loads += 1;
        if self.g.set_bytes(snapshot) {
            Ok(())
        } else {
            Err(SimError::new("snapshot size"))
        }
    }
}

fn rust_driver() -> Driver<RustSim> {
    let session = SessionBuilder::new(PLAYERS)
        .local_slot(0)
        .max_input_size(INPUT)
        .mode(Mode::Rollback { max_prediction: 8 })
        .max_snapshot_size(STATE_SIZE)
        .build()
        .expect("valid config");
    Driver::new(session, RustSim { g: State::new(), n: Ops::default(), saves: Cell::new(0) })
}

fn split(d: &mut Driver<RustSim>) -> (&mut framelock_core::Session, &mut RustSim) {
    // `Driver` hands out one half at a time; the recording needs the step and the simulation.
    let d: *mut Driver<RustSim> = d;
    // SAFETY: the session and the simulation are distinct fields of the driver, and neither
    // accessor touches the other; the two references do not alias.
    unsafe { ((*d).session_mut(), (*d).sim_mut()) }
}

fn add_inputs_rust(s: &mut framelock_core::Session, inputs: &Inputs, t: u32) {
    s.add_local_input(0, &inputs.get(0, t)).expect("local");
    if t >= LAG {
        for slot in 1..PLAYERS {
            s.add_remote_input(slot, t - LAG, &inputs.get(slot, t - LAG)).expect("remote");
        }
    }
}

struct Rust {
    d: Driver<RustSim>,
    inputs: Inputs,
    t: u32,
}

impl Rust {
    fn tick(&mut self) {
        let t = self.t;
        add_inputs_rust(self.d.session_mut(), &self.inputs, t);
        black_box(self.d.advance().expect("advance"));
        while let Some(e) = self.d.session_mut().poll_event() {
            black_box(e);
        }
        self.d.sim_mut().n.ticks += 1;
        self.t += 1;
    }
}

// ----- the C engine: callbacks and the request loop ---------------------------------------------------

struct Engine {
    g: State,
    n: Ops,
}

unsafe extern "C" fn on_save(user: *mut c_void, _frame: u32, snapshot: *mut framelock_snapshot) -> i32 {
    // SAFETY: `user` is the `Engine` the bench passed in the callbacks struct.
    let e = unsafe { &mut *user.cast::<Engine>() };
    e.n.saves += 1;
    // SAFETY: the snapshot of the running callback and 232 readable bytes.
    unsafe { framelock_snapshot_write(snapshot, e.g.bytes().as_ptr(), STATE_SIZE) as i32 }
}

unsafe extern "C" fn on_load(user: *mut c_void, _frame: u32, data: *const u8, len: usize) -> i32 {
    // SAFETY: as in `on_save`; `data` holds `len` bytes during the call.
    let (e, b) = unsafe { (&mut *user.cast::<Engine>(), core::slice::from_raw_parts(data, len)) };
    e.n.loads += 1;
    i32::from(!e.g.set_bytes(b))
}

/// The engine's advance over the C ABI's input array (one entry per slot, in slot order).
fn advance_c(g: &mut State, ins: &[framelock_input]) -> i32 {
    // Empty: the default input (predicted before any input of the slot arrived).
    if ins.len() != PLAYERS || ins.iter().any(|i| i.len != INPUT && i.len != 0) {
        return 1;
    }
    // SAFETY: each entry's `bytes` points to `len` (2) bytes valid during the call.
    g.simulate(|s| if ins[s].len == 0 { [0; INPUT] } else { unsafe { [*ins[s].bytes, *ins[s].bytes.add(1)] } });
    0
}

unsafe extern "C" fn on_advance(user: *mut c_void, _frame: u32, inputs: *const framelock_input, count: usize) -> i32 {
    // SAFETY: as in `on_save`; `inputs` holds `count` entries during the call.
    let (e, ins) = unsafe { (&mut *user.cast::<Engine>(), core::slice::from_raw_parts(inputs, count)) };
    e.n.advances += 1;
    advance_c(&mut e.g, ins)
}

struct C {
    s: *mut framelock_session,
    /// Boxed: the callbacks hold its address.
    e: Box<Engine>,
    cb: framelock_callbacks,
    inputs: Inputs,
    t: u32,
    /// The remote inputs of a frame in one framelock_session_add_remote_inputs() call.
    batch: bool,
}

impl C {
    fn new(batch: bool) -> C {
        let mut e = Box::new(Engine { g: State::new(), n: Ops::default() });
        // SAFETY: valid locals; the handle is freed in Drop.
        unsafe {
            let mut cfg = std::mem::zeroed::<framelock_session_config>();
            ok(framelock_session_config_init(&mut cfg));
            cfg.slots = PLAYERS as u32;
            cfg.local_slots = 1;
            cfg.mode = FRAMELOCK_MODE_ROLLBACK;
            cfg.max_prediction = 8;
            cfg.max_input_size = INPUT as u32;
            cfg.max_snapshot_size = STATE_SIZE;
            let mut s = ptr::null_mut();
            ok(framelock_session_new(&cfg, &mut s));
            let cb = framelock_callbacks {
                struct_size: core::mem::size_of::<framelock_callbacks>() as u32,
                user: (&mut *e as *mut Engine).cast(),
                save_state: Some(on_save),
                load_state: Some(on_load),
                advance_frame: Some(on_advance),
            };
            C { s, e, cb, inputs: Inputs::new(), t: 0, batch }
        }
    }

    fn inputs(&mut self) {
        let t = self.t;
        // SAFETY: a valid handle and buffers.
        unsafe {
            let b = self.inputs.get(0, t);
            ok(framelock_session_add_local_input(self.s, 0, b.as_ptr(), INPUT, ptr::null_mut()));
            if t >= LAG && self.batch {
                let row = &self.inputs.0[((t - LAG) % PERIOD) as usize];
                let batch: [framelock_input; PLAYERS - 1] = core::array::from_fn(|k| framelock_input {
                    bytes: row[k + 1].as_ptr(),
                    len: INPUT,
                    slot: k as u32 + 1,
                    status: FRAMELOCK_INPUT_CONFIRMED,
                });
                ok(framelock_session_add_remote_inputs(self.s, t - LAG, batch.as_ptr(), batch.len()));
            } else if t >= LAG {
                for slot in 1..PLAYERS {
                    let b = self.inputs.get(slot, t - LAG);
                    ok(framelock_session_add_remote_input(self.s, slot as u32, t - LAG, b.as_ptr(), INPUT));
                }
            }
        }
    }

    fn events(&mut self) {
        let mut e = framelock_event::default();
        loop {
            // SAFETY: a valid handle and out-parameter.
            ok(unsafe { framelock_session_poll_event(self.s, &mut e) });
            if e.kind == FRAMELOCK_EVENT_NONE {
                break;
            }
        }
    }

    fn tick_callbacks(&mut self) {
        self.inputs();
        let mut o = framelock_outcome::default();
        // SAFETY: a valid handle, callbacks whose `user` is the boxed engine, an out-parameter.
        ok(unsafe { framelock_session_advance_with(self.s, &self.cb, &mut o) });
        black_box(o);
        self.events();
        self.e.n.ticks += 1;
        self.t += 1;
    }

    fn tick_by_request(&mut self) {
        self.inputs();
        let g = &mut self.e.g;
        let n = &mut self.e.n;
        // SAFETY: a valid handle, locals as buffers and out-parameters; the pointers the session
        // hands out are used before the next call on it.
        unsafe {
            let mut o = framelock_outcome::default();
            ok(framelock_session_advance(self.s, &mut o));
            let mut count = 0usize;
            ok(framelock_session_request_count(self.s, &mut count));
            let mut ins = [framelock_input::default(); PLAYERS];
            for i in 0..count {
                let mut r = framelock_request::default();
                ok(framelock_session_request(self.s, i, &mut r));
                match r.kind {
                    FRAMELOCK_REQUEST_SAVE_STATE => {
                        ok(framelock_session_save(self.s, r.frame, g.bytes().as_ptr(), STATE_SIZE, ptr::null()));
                        n.saves += 1;
                    }
                    FRAMELOCK_REQUEST_LOAD_STATE => {
                        let (mut data, mut len) = (ptr::null(), 0usize);
                        ok(framelock_session_load(self.s, r.frame, &mut data, &mut len));
                        assert!(g.set_bytes(core::slice::from_raw_parts(data, len)));
                        n.loads += 1;
                    }
                    _ => {
                        let mut k = 0usize;
                        ok(framelock_session_request_inputs(self.s, i, ins.as_mut_ptr(), PLAYERS, &mut k));
                        assert_eq!(advance_c(g, &ins[..k]), 0);
                        n.advances += 1;
                    }
                }
            }
            ok(framelock_session_finish_step(self.s));
            black_box(o);
        }
        self.events();
        self.e.n.ticks += 1;
        self.t += 1;
    }
}

impl Drop for C {
    fn drop(&mut self) {
        // SAFETY: created in C::new, freed once.
        unsafe { framelock_session_free(self.s) };
    }
}

// ----- the bench --------------------------------------------------------------------------------------

struct Loops {
    alone: Alone,
    rust: Rust,
    callbacks: C,
    by_request: C,
    callbacks_batched: C,
    by_request_batched: C,
}

impl Loops {
    fn new() -> Loops {
        let mut l = Loops {
            alone: Alone::new(),
            rust: Rust { d: rust_driver(), inputs: Inputs::new(), t: 0 },
            callbacks: C::new(false),
            by_request: C::new(false),
            callbacks_batched: C::new(true),
            by_request_batched: C::new(true),
        };
        // One period in, where the recording of engine_alone starts.
        for _ in 0..PERIOD {
            l.rust.tick();
            l.callbacks.tick_callbacks();
            l.by_request.tick_by_request();
            l.callbacks_batched.tick_callbacks();
            l.by_request_batched.tick_by_request();
        }
        // The same frames were simulated on the same inputs: the three states agree.
        assert_eq!(l.rust.d.sim().g, l.callbacks.e.g);
        assert_eq!(l.rust.d.sim().g, l.by_request.e.g);
        assert_eq!(l.rust.d.sim().g, l.callbacks_batched.e.g);
        assert_eq!(l.rust.d.sim().g, l.by_request_batched.e.g);
        l.reset_counts();
        l
    }

    fn reset_counts(&mut self) {
        self.alone.n = Ops::default();
        self.rust.d.sim_mut().n = Ops::default();
        self.rust.d.sim().saves.set(0);
        self.callbacks.e.n = Ops::default();
        self.by_request.e.n = Ops::default();
        self.callbacks_batched.e.n = Ops::default();
        self.by_request_batched.e.n = Ops::default();
    }
}

fn per_tick(c: &mut Criterion) {
    let mut l = Loops::new();
    let mut g = c.benchmark_group("c_abi_tick_8p_rollback_lag4_232B");
    g.bench_function("engine_alone", |b| b.iter(|| l.alone.tick()));
    g.bench_function("rust_driver", |b| b.iter(|| l.rust.tick()));
    g.bench_function("c_abi_callbacks", |b| b.iter(|| l.callbacks.tick_callbacks()));
    g.bench_function("c_abi_by_request", |b| b.iter(|| l.by_request.tick_by_request()));
    g.bench_function("c_abi_callbacks_batched", |b| b.iter(|| l.callbacks_batched.tick_callbacks()));
    g.bench_function("c_abi_by_request_batched", |b| b.iter(|| l.by_request_batched.tick_by_request()));
    g.finish();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs each bench once as a smoke
    // test, unoptimized, where timing blocks would only cost the suite time.
    if std::env::args().any(|a| a == "--bench") {
        interleaved(&mut l);
    }
}

/// Times the four loops in alternating blocks of one input period each (so every block does the
/// same work, and a noisy neighbour hits every loop alike) and prints the library time per tick
/// (loop − engine_alone): from the fastest block of each loop (the one least disturbed by other
/// processes) and as the median over rounds of (loop − engine_alone) in the same round.
fn interleaved(l: &mut Loops) {
    const ROUNDS: usize = 61;
    const BLOCK: u32 = PERIOD;
    l.reset_counts();
    let mut ns: [Vec<f64>; 6] = Default::default();
    for _ in 0..ROUNDS {
        let time = |f: &mut dyn FnMut()| {
            let t0 = Instant::now();
            for _ in 0..BLOCK {
                f();
            }
            let d: Duration = t0.elapsed();
            d.as_nanos() as f64 / f64::from(BLOCK)
        };
        ns[0].push(time(&mut || l.alone.tick()));
        ns[1].push(time(&mut || l.rust.tick()));
        ns[2].push(time(&mut || l.callbacks.tick_callbacks()));
        ns[3].push(time(&mut || l.by_request.tick_by_request()));
        ns[4].push(time(&mut || l.callbacks_batched.tick_callbacks()));
        ns[5].push(time(&mut || l.by_request_batched.tick_by_request()));
    }
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let alone = sorted(&ns[0]);
    println!("\ninterleaved: {ROUNDS} rounds of {BLOCK} ticks per loop; ns per tick");
    println!(
        "  {:<24} {:>8} {:>8}   library time per tick: min − min, median of per-round differences",
        "", "min", "median"
    );
    println!("  {:<24} {:>8.0} {:>8.0}", "engine_alone", alone[0], alone[ROUNDS / 2]);
    let names = [
        "engine_alone",
        "rust_driver",
        "c_abi_callbacks",
        "c_abi_by_request",
        "c_abi_callbacks_batched",
        "c_abi_by_request_batched",
    ];
    for (k, name) in names.iter().enumerate().skip(1) {
        let t = sorted(&ns[k]);
        let diff: Vec<f64> = ns[k].iter().zip(&ns[0]).map(|(a, b)| a - b).collect();
        let diff = sorted(&diff);
        println!(
            "  {name:<24} {:>8.0} {:>8.0}   {:>5.0} ns, {:>5.0} ns",
            t[0],
            t[ROUNDS / 2],
            t[0] - alone[0],
            diff[ROUNDS / 2]
        );
    }
    let saves = l.rust.d.sim().saves.get();
    l.rust.d.sim_mut().n.saves = saves;
    println!("engine work per tick (must agree):");
    println!("  engine_alone      {}", l.alone.n.per_tick());
    println!("  rust_driver       {}", l.rust.d.sim().n.per_tick());
    println!("  c_abi_callbacks   {}", l.callbacks.e.n.per_tick());
    println!("  c_abi_by_request  {}", l.by_request.e.n.per_tick());
    println!("  c_abi_callbacks_batched   {}", l.callbacks_batched.e.n.per_tick());
    println!("  c_abi_by_request_batched  {}", l.by_request_batched.e.n.per_tick());
}

// For callgrind/perf: `PER_TICK_PROFILE=N` runs each loop N ticks in its own function (so
// `--toggle-collect=per_tick::profile_*` or a perf report splits them) and skips criterion.
#[inline(never)]
fn profile_engine_alone(l: &mut Loops, n: u32) {
    (0..n).for_each(|_| l.alone.tick());
}
#[inline(never)]
fn profile_rust_driver(l: &mut Loops, n: u32) {
    (0..n).for_each(|_| l.rust.tick());
}
#[inline(never)]
fn profile_c_abi_callbacks(l: &mut Loops, n: u32) {
    (0..n).for_each(|_| l.callbacks.tick_callbacks());
}
#[inline(never)]
fn profile_c_abi_by_request(l: &mut Loops, n: u32) {
    (0..n).for_each(|_| l.by_request.tick_by_request());
}
#[inline(never)]
fn profile_c_abi_callbacks_batched(l: &mut Loops, n: u32) {
    (0..n).for_each(|_| l.callbacks_batched.tick_callbacks());
}
#[inline(never)]
fn profile_c_abi_by_request_batched(l: &mut Loops, n: u32) {
    (0..n).for_each(|_| l.by_request_batched.tick_by_request());
}

criterion_group!(benches, per_tick);

fn main() {
    if let Some(n) = std::env::var("PER_TICK_PROFILE").ok().and_then(|v| v.parse::<u32>().ok()) {
        let mut l = Loops::new();
        profile_engine_alone(&mut l, n);
        profile_rust_driver(&mut l, n);
        profile_c_abi_callbacks(&mut l, n);
        profile_c_abi_by_request(&mut l, n);
        profile_c_abi_callbacks_batched(&mut l, n);
        profile_c_abi_by_request_batched(&mut l, n);
        return;
    }
    if std::env::var_os("PER_TICK_INTERLEAVED").is_some() {
        interleaved(&mut Loops::new());
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
