//! A failed step leaves session and game consistent (issue 11): when the engine's save, load or
//! advance fails, the session does not count the frame, and the next advance asks for it again
//! (loading a saved state first when the game's state is unknown). Checked for every mode, with
//! only local players and with a remote peer, through callbacks and through pulled requests: the
//! run with failures ends with the same checksums as the run without.
#![allow(unsafe_code)]

mod common;

use std::ffi::{c_void, CStr};
use std::ptr;

use common::ok;
use framelock::framelock_status::*;
use framelock::*;

const FRAMES: u32 = 60;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    None,
    Save(u32),
    Load(u32),
    Advance(u32),
}

/// A C-style game whose callbacks fail once where told, leaving garbage behind as a half-done
/// save, load or advance would.
#[derive(Debug)]
struct Game {
    frame: u32,
    acc: [u64; 2],
    fault: Fault,
    loads: u32,
    failures: u32,
}

impl Game {
    fn new(fault: Fault) -> Game {
        Game { frame: 0, acc: [1, 2], fault, loads: 0, failures: 0 }
    }
    fn bytes(&self) -> [u8; 20] {
        let mut b = [0u8; 20];
        b[..4].copy_from_slice(&self.frame.to_le_bytes());
        b[4..12].copy_from_slice(&self.acc[0].to_le_bytes());
        b[12..].copy_from_slice(&self.acc[1].to_le_bytes());
        b
    }
    fn fail(&mut self) -> i32 {
        self.fault = Fault::None;
        self.failures += 1;
        // A half-done operation: the state is garbage now.
        self.frame = self.frame.wrapping_add(1000);
        self.acc = [0xdead, 0xbeef];
        1
    }
    fn save(&mut self, frame: u32) -> Result<[u8; 20], ()> {
        assert_eq!(frame, self.frame, "asked to save another frame than the game holds");
        if self.fault == Fault::Save(frame) {
            self.fault = Fault::None;
            self.failures += 1;
            return Err(()); // a failed save leaves the game as it was
        }
        Ok(self.bytes())
    }
    fn load(&mut self, frame: u32, b: &[u8]) -> i32 {
        self.loads += 1;
        if matches!(self.fault, Fault::Load(f) if frame >= f) {
            return self.fail();
        }
        self.frame = u32::from_le_bytes(b[..4].try_into().expect("4"));
        self.acc[0] = u64::from_le_bytes(b[4..12].try_into().expect("8"));
        self.acc[1] = u64::from_le_bytes(b[12..20].try_into().expect("8"));
        assert_eq!(self.frame, frame);
        0
    }
    fn advance(&mut self, frame: u32, ins: &[framelock_input]) -> i32 {
        assert_eq!(frame, self.frame, "asked to advance another frame than the game holds");
        if self.fault == Fault::Advance(frame) {
            return self.fail();
        }
        for i in ins {
            // SAFETY: `bytes` holds `len` bytes during the call.
            let b = if i.len > 0 { unsafe { *i.bytes } } else { 0 };
            let a = &mut self.acc[i.slot as usize];
            *a = a.wrapping_mul(31).wrapping_add(u64::from(b) + u64::from(frame));
        }
        self.frame += 1;
        0
    }
}

unsafe extern "C" fn cb_save(user: *mut c_void, frame: u32, snap: *mut framelock_snapshot) -> i32 {
    // SAFETY: `user` is the Game of the callbacks struct; `snap` is valid during the call.
    let g = unsafe { &mut *(user as *mut Game) };
    match g.save(frame) {
        Ok(b) => (unsafe { framelock_snapshot_write(snap, b.as_ptr(), b.len()) } != FRAMELOCK_OK) as i32,
        Err(()) => {
            // SAFETY: as above; half a snapshot, then the failure.
            unsafe { framelock_snapshot_write(snap, [7u8; 5].as_ptr(), 5) };
            1
        }
    }
}

unsafe extern "C" fn cb_load(user: *mut c_void, frame: u32, data: *const u8, len: usize) -> i32 {
    // SAFETY: `user` is the Game; `data` holds `len` bytes during the call.
    let (g, b) = unsafe { (&mut *(user as *mut Game), std::slice::from_raw_parts(data, len)) };
    g.load(frame, b)
}

unsafe extern "C" fn cb_advance(user: *mut c_void, frame: u32, inputs: *const framelock_input, n: usize) -> i32 {
    // SAFETY: `user` is the Game; `inputs` holds `n` entries during the call.
    let (g, ins) = unsafe { (&mut *(user as *mut Game), std::slice::from_raw_parts(inputs, n)) };
    g.advance(frame, ins)
}

fn callbacks(g: &mut Game) -> framelock_callbacks {
    framelock_callbacks {
        struct_size: std::mem::size_of::<framelock_callbacks>() as u32,
        user: g as *mut Game as *mut c_void,
        save_state: Some(cb_save),
        load_state: Some(cb_load),
        advance_frame: Some(cb_advance),
    }
}

fn message() -> String {
    // SAFETY: a NUL-terminated string owned by the library.
    unsafe { CStr::from_ptr(framelock_last_error_message()) }.to_string_lossy().into_owned()
}

fn session(mode: u32, local: u64, interval: u32) -> *mut framelock_session {
    // SAFETY: valid locals.
    unsafe {
        let mut cfg = std::mem::zeroed::<framelock_session_config>();
        ok(framelock_session_config_init(&mut cfg));
        cfg.mode = mode;
        cfg.local_slots = local;
        cfg.max_input_size = 1;
        cfg.max_snapshot_size = 20;
        cfg.checksum_interval = interval;
        let mut s = ptr::null_mut();
        ok(framelock_session_new(&cfg, &mut s));
        s
    }
}

fn input(slot: u32, frame: u32) -> u8 {
    ((frame * 7 + slot * 3) % 5) as u8
}

fn current_frame(s: *mut framelock_session) -> u32 {
    let mut info = framelock_session_info {
        struct_size: std::mem::size_of::<framelock_session_info>() as u32,
        ..Default::default()
    };
    // SAFETY: a live session and a local out-struct.
    ok(unsafe { framelock_session_get_info(s, &mut info) });
    info.current_frame
}

/// How the engine fulfils a step.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fulfil {
    Callbacks,
    Pulled,
}

/// One step, fulfilled as `how` says; Err(status) when the game failed (the step was aborted).
fn step(s: *mut framelock_session, g: &mut Game, how: Fulfil) -> Result<(), framelock_status> {
    // SAFETY: a live session, locals, and pointers the session hands out used during the step.
    unsafe {
        let mut o = framelock_outcome::default();
        if how == Fulfil::Callbacks {
            let cb = callbacks(g);
            let st = framelock_session_advance_with(s, &cb, &mut o);
            return if st == FRAMELOCK_OK { Ok(()) } else { Err(st) };
        }
        ok(framelock_session_advance(s, &mut o));
        let mut n = 0usize;
        ok(framelock_session_request_count(s, &mut n));
        for i in 0..n {
            let mut r = framelock_request::default();
            ok(framelock_session_request(s, i, &mut r));
            let failed = match r.kind {
                FRAMELOCK_REQUEST_SAVE_STATE => match g.save(r.frame) {
                    Ok(b) => {
                        ok(framelock_session_save(s, r.frame, b.as_ptr(), b.len(), ptr::null()));
                        false
                    }
                    Err(()) => true,
                },
                FRAMELOCK_REQUEST_LOAD_STATE => {
                    let (mut p, mut len) = (ptr::null(), 0usize);
                    ok(framelock_session_load(s, r.frame, &mut p, &mut len));
                    g.load(r.frame, std::slice::from_raw_parts(p, len)) != 0
                }
                _ => {
                    let mut ins = [framelock_input::default(); 2];
                    let mut count = 0usize;
                    ok(framelock_session_request_inputs(s, i, ins.as_mut_ptr(), 2, &mut count));
                    g.advance(r.frame, &ins[..count]) != 0
                }
            };
            if failed {
                ok(framelock_session_abort_step(s, i));
                return Err(FRAMELOCK_ERR_SIMULATION);
            }
        }
        ok(framelock_session_finish_step(s));
        Ok(())
    }
}

/// Runs one or two peers to FRAMES and returns every final checksum of peer 0 and the games.
fn run(mode: u32, two_peers: bool, fault: Fault, how: Fulfil) -> (Vec<u64>, Vec<Game>) {
    let lag = 3;
    let peers: usize = if two_peers { 2 } else { 1 };
    let sessions: Vec<_> = (0..peers).map(|p| session(mode, if two_peers { 1 << p } else { 0b11 }, 1)).collect();
    let mut games: Vec<Game> = (0..peers).map(|p| Game::new(if p == 0 { fault } else { Fault::None })).collect();
    // Inputs each peer sent: (frame, byte), delivered `lag` ticks later.
    let mut sent: Vec<Vec<(u32, u8, u32)>> = vec![Vec::new(); peers];
    let mut failures = 0;
    let mut tick = 0u32;
    while (0..peers).any(|p| current_frame(sessions[p]) < FRAMES) {
        assert!(tick < FRAMES * 10, "no progress");
        for p in 0..peers {
            let s = sessions[p];
            // The pad is read per frame (not per tick), so that a run that redoes a frame sees the
            // same inputs as one that does not.
            let frame = current_frame(s);
            // SAFETY: live sessions and local buffers.
            unsafe {
                let slots: &[u32] = if two_peers { &[p as u32] } else { &[0, 1] };
                for &slot in slots {
                    let b = [input(slot, frame)];
                    let mut f = 0u32;
                    ok(framelock_session_add_local_input(s, slot, b.as_ptr(), 1, &mut f));
                    if f != FRAMELOCK_NO_FRAME {
                        sent[p].push((f, b[0], tick));
                    }
                }
                if two_peers {
                    let other = 1 - p;
                    for &(f, b, at) in &sent[other] {
                        if at + lag == tick {
                            ok(framelock_session_add_remote_input(s, other as u32, f, [b].as_ptr(), 1));
                        }
                    }
                }
            }
            let before = current_frame(s);
            if let Err(st) = step(s, &mut games[p], how) {
                assert_eq!(st, FRAMELOCK_ERR_SIMULATION, "{}", message());
                if how == Fulfil::Callbacks {
                    let m = message();
                    assert!(m.contains("again"), "the message says what happens next: {m}");
                }
                // The frame that failed is not counted: the next advance asks for it again.
                assert_eq!(current_frame(s), before, "a failed step must not count its frame");
                failures += 1;
            }
        }
        tick += 1;
    }
    assert_eq!(failures, games[0].failures, "{fault:?}: every failure was reported");
    assert_eq!(games[0].failures, u32::from(fault != Fault::None), "the fault fired once: {fault:?}");
    // Exchange checksums: no desync between the peers.
    let mut sums = Vec::new();
    for f in 0..FRAMES - lag - 2 {
        let mut c = [0u64; 2];
        for p in 0..peers {
            // SAFETY: live sessions, local out-parameters.
            ok(unsafe { framelock_session_checksum(sessions[p], f, &mut c[p]) });
        }
        if two_peers {
            assert_eq!(c[0], c[1], "frame {f}: the peers disagree");
        }
        sums.push(c[0]);
    }
    for s in sessions {
        // SAFETY: each session freed once.
        unsafe { framelock_session_free(s) };
    }
    (sums, games)
}

fn check(mode: u32, two_peers: bool, faults: &[Fault], how: Fulfil) {
    let (want, clean) = run(mode, two_peers, Fault::None, how);
    for &fault in faults {
        let (got, games) = run(mode, two_peers, fault, how);
        assert_eq!(got, want, "{fault:?} ({how:?}, two peers: {two_peers}): other checksums than without failures");
        // With a remote peer the last frames are predictions, which depend on what arrived when.
        for (g, c) in games.iter().zip(&clean).filter(|_| !two_peers) {
            assert_eq!((g.frame, g.acc), (c.frame, c.acc), "{fault:?} ({how:?}): the game ends elsewhere");
        }
    }
}

#[test]
fn rollback_with_only_local_players_redoes_a_failed_frame() {
    for how in [Fulfil::Callbacks, Fulfil::Pulled] {
        check(
            FRAMELOCK_MODE_ROLLBACK,
            false,
            &[Fault::Advance(0), Fault::Advance(17), Fault::Save(0), Fault::Save(9)],
            how,
        );
    }
}

#[test]
fn rollback_with_a_remote_peer_redoes_a_failed_frame() {
    for how in [Fulfil::Callbacks, Fulfil::Pulled] {
        check(
            FRAMELOCK_MODE_ROLLBACK,
            true,
            &[Fault::Advance(12), Fault::Advance(30), Fault::Save(20), Fault::Load(10), Fault::Load(40)],
            how,
        );
    }
}

#[test]
fn lockstep_redoes_a_failed_frame() {
    for how in [Fulfil::Callbacks, Fulfil::Pulled] {
        check(FRAMELOCK_MODE_LOCKSTEP, false, &[Fault::Advance(0), Fault::Advance(21), Fault::Save(5)], how);
        check(FRAMELOCK_MODE_LOCKSTEP, true, &[Fault::Advance(21), Fault::Save(5)], how);
    }
}

#[test]
fn sync_test_redoes_a_failed_frame() {
    for how in [Fulfil::Callbacks, Fulfil::Pulled] {
        check(
            FRAMELOCK_MODE_SYNC_TEST,
            false,
            &[Fault::Advance(0), Fault::Advance(13), Fault::Save(0), Fault::Save(8), Fault::Load(5), Fault::Load(30)],
            how,
        );
    }
}

#[test]
fn a_failure_with_nothing_to_reload_puts_the_session_in_the_failed_state() {
    // Lockstep saving every 4th frame: frame 6's advance fails, frame 4's snapshot is held but not
    // the inputs after it. The session refuses further steps with a dedicated status.
    let s = session(FRAMELOCK_MODE_LOCKSTEP, 0b11, 4);
    let mut g = Game::new(Fault::Advance(6));
    for tick in 0..7 {
        // SAFETY: a live session and local buffers.
        unsafe {
            for slot in 0..2 {
                ok(framelock_session_add_local_input(s, slot, [input(slot, tick)].as_ptr(), 1, ptr::null_mut()));
            }
        }
        let r = step(s, &mut g, Fulfil::Callbacks);
        assert_eq!(r.is_err(), tick == 6, "tick {tick}");
        if tick == 6 {
            assert_eq!(r, Err(FRAMELOCK_ERR_SESSION_FAILED), "{}", message());
        }
    }
    // SAFETY: a live session, local out-parameters.
    unsafe {
        let mut o = framelock_outcome::default();
        assert_eq!(framelock_session_advance(s, &mut o), FRAMELOCK_ERR_SESSION_FAILED);
        assert!(message().contains("failed"), "{}", message());
        assert_eq!(
            framelock_session_add_local_input(s, 0, [1u8].as_ptr(), 1, ptr::null_mut()),
            FRAMELOCK_ERR_SESSION_FAILED
        );
        // Observation still works.
        assert_eq!(current_frame(s), 6);
        framelock_session_free(s);
    }
}

/// Any one failure (kind, frame), in any mode, with or without a remote peer, through callbacks or
/// pulled requests: the run ends with the checksums of the run without it.
#[test]
fn any_single_failure_is_redone() {
    use quickcheck::{Gen, QuickCheck, TestResult};
    fn prop(mode: u8, two_peers: bool, pulled: bool, kind: u8, frame: u8) -> TestResult {
        let mode = [FRAMELOCK_MODE_LOCKSTEP, FRAMELOCK_MODE_ROLLBACK, FRAMELOCK_MODE_SYNC_TEST][usize::from(mode % 3)];
        let frame = u32::from(frame) % 50;
        let fault = match kind % 3 {
            0 => Fault::Save(frame),
            1 => Fault::Load(frame),
            _ => Fault::Advance(frame),
        };
        // Sync tests are local; lockstep and local-only rollback never load.
        let loads = mode == FRAMELOCK_MODE_SYNC_TEST || (mode == FRAMELOCK_MODE_ROLLBACK && two_peers);
        let two_peers = two_peers && mode != FRAMELOCK_MODE_SYNC_TEST;
        if matches!(fault, Fault::Load(_)) && !loads {
            return TestResult::discard();
        }
        let how = if pulled { Fulfil::Pulled } else { Fulfil::Callbacks };
        let (want, clean) = run(mode, two_peers, Fault::None, how);
        let (got, games) = run(mode, two_peers, fault, how);
        let same_end = two_peers || games.iter().zip(&clean).all(|(g, c)| (g.frame, g.acc) == (c.frame, c.acc));
        TestResult::from_bool(got == want && same_end)
    }
    QuickCheck::new().tests(60).rng(Gen::new(100)).quickcheck(prop as fn(u8, bool, bool, u8, u8) -> TestResult);
}
