//! Peer to peer through the C ABI: two endpoints on loopback sockets (interleaved on the test's
//! thread, paced by framelock_p2p_ticks_due()) synchronize, play the arena until frame 240 is
//! final and agree on its checksum; two endpoints over the engine's callbacks agree too; settings
//! that differ are a CONFIG_MISMATCH event naming the setting; a spectator sees the same match; a
//! peer disconnected by hand goes at one frame; misuse (NULL, wrong struct sizes, bad addresses,
//! inputs for the wrong slot, re-entry from a callback, a second thread) is a status code.
#![allow(unsafe_code)] // calling the exported `unsafe extern "C" fn`s is the point of these tests

mod common;

use std::ffi::{c_void, CStr, CString};
use std::net::UdpSocket;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::ok;
use common::p2p::{each_event, poll_and_tick};
use framelock::framelock_status::*;
use framelock::*;

const FRAME: u32 = 240;
const SEED: u64 = 5;

/// Two free loopback ports (bound and released: another process could take them, unlikely).
fn ports() -> [u16; 2] {
    let a = UdpSocket::bind("127.0.0.1:0").expect("loopback");
    let b = UdpSocket::bind("127.0.0.1:0").expect("loopback");
    [a.local_addr().expect("loopback").port(), b.local_addr().expect("loopback").port()]
}

/// A config for `slot` of 2 listening on `ports[slot]`, the other slot at the other port. The
/// returned strings back the config's pointers.
fn config(slot: usize, ports: [u16; 2]) -> (framelock_p2p_config, Vec<CString>, Box<[*const std::ffi::c_char; 1]>) {
    // SAFETY: a writable config.
    let mut cfg = unsafe { std::mem::zeroed::<framelock_p2p_config>() };
    ok(unsafe { framelock_p2p_config_init(&mut cfg) });
    let listen = CString::new(format!("127.0.0.1:{}", ports[slot])).expect("no NUL");
    let peer = CString::new(format!("{}=127.0.0.1:{}", 1 - slot, ports[1 - slot])).expect("no NUL");
    let peers = Box::new([peer.as_ptr()]);
    cfg.key = [0x5a; 32];
    cfg.rng_seed = [slot as u8 + 1; 32];
    cfg.listen = listen.as_ptr();
    cfg.local_slots = 1 << slot;
    cfg.peers = peers.as_ptr();
    cfg.peer_count = 1;
    cfg.tick_rate = 120;
    cfg.arena.seed = SEED;
    (cfg, vec![listen, peer], peers)
}

/// Two arena endpoints, slot 0 and 1, on `ports` (`config`).
fn arena_endpoints(ports: [u16; 2]) -> [*mut framelock_p2p; 2] {
    [0, 1].map(|slot| {
        let (cfg, _strings, _peers) = config(slot, ports);
        let mut p = ptr::null_mut();
        // SAFETY: a valid config (its strings live through the call) and out-parameter.
        ok(unsafe { framelock_p2p_new(&cfg, &mut p) });
        p
    })
}

fn stats(p: *mut framelock_p2p) -> framelock_p2p_stats {
    let mut s =
        framelock_p2p_stats { struct_size: std::mem::size_of::<framelock_p2p_stats>() as u32, ..Default::default() };
    // SAFETY: a live handle, a valid out-parameter.
    ok(unsafe { framelock_p2p_get_stats(p, &mut s) });
    s
}

/// Plays both endpoints until FRAME is final at both; `input` gives a slot's input at a tick.
/// Returns the events each saw.
fn play(eps: [*mut framelock_p2p; 2], input: &dyn Fn(usize, u32) -> Vec<u8>) -> [Vec<framelock_p2p_event>; 2] {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut events: [Vec<framelock_p2p_event>; 2] = Default::default();
    let mut ticks = [0u32; 2];
    while !eps.iter().all(|&p| stats(p).checksummed_until > FRAME) {
        assert!(Instant::now() < deadline, "not final in time: {:?} {:?}", stats(eps[0]), stats(eps[1]));
        for (slot, &p) in eps.iter().enumerate() {
            poll_and_tick(p, Some(slot), &mut ticks[slot], |t| input(slot, t));
            each_event(p, |e| events[slot].push(e));
        }
    }
    events
}

fn checksum(p: *mut framelock_p2p, frame: u32) -> u64 {
    let mut c = 0;
    // SAFETY: a live handle, a valid out-parameter.
    ok(unsafe { framelock_p2p_checksum(p, frame, &mut c) });
    c
}

fn arena_input(slot: usize, tick: u32) -> Vec<u8> {
    let mut b = [0u8; FRAMELOCK_ARENA_INPUT_SIZE as usize];
    // SAFETY: a buffer of the size given.
    ok(unsafe { framelock_arena_scripted_input(SEED, slot as u32, tick, b.as_mut_ptr(), b.len()) });
    b.to_vec()
}

#[test]
fn two_arena_endpoints_over_loopback_agree() {
    let ports = ports();
    let eps = arena_endpoints(ports);
    let events = play(eps, &arena_input);
    assert_eq!(checksum(eps[0], FRAME), checksum(eps[1], FRAME));
    assert_ne!(checksum(eps[0], FRAME), checksum(eps[0], FRAME - 100), "the state changes");
    for (slot, ev) in events.iter().enumerate() {
        let kinds: Vec<u32> = ev.iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&FRAMELOCK_P2P_EVENT_SYNCHRONIZED), "{slot}: {kinds:?}");
        assert!(kinds.contains(&FRAMELOCK_P2P_EVENT_RUNNING), "{slot}: {kinds:?}");
        assert!(!kinds.contains(&FRAMELOCK_P2P_EVENT_DESYNC), "{slot}: {kinds:?}");
        let s = stats(eps[slot]);
        assert!(s.running && s.peers == 1 && s.frames_advanced > u64::from(FRAME), "{s:?}");
        assert_eq!(s.dropped_unauthenticated + s.dropped_unknown_address, 0, "{s:?}");
        let mut n = 0;
        let mut ps = framelock_p2p_peer_stats {
            struct_size: std::mem::size_of::<framelock_p2p_peer_stats>() as u32,
            // SAFETY: an all-zero peer stats struct is valid.
            ..unsafe { std::mem::zeroed() }
        };
        // SAFETY: a live handle, valid out-parameters.
        unsafe {
            ok(framelock_p2p_peer_count(eps[slot], &mut n));
            ok(framelock_p2p_get_peer_stats(eps[slot], 0, &mut ps));
        }
        assert_eq!(n, 1);
        // SAFETY: the library NUL-terminates the address.
        let a = unsafe { CStr::from_ptr(ps.address.as_ptr()) }.to_str().expect("UTF-8").to_string();
        assert_eq!(a, format!("127.0.0.1:{}", ports[1 - slot]));
        assert!(ps.packets_received > 100 && ps.bytes_sent > 0 && !ps.disconnected, "{ps:?}");
        assert!(ps.acknowledged > FRAME, "{ps:?}");
        let mut player = framelock_arena_player::default();
        // SAFETY: as above.
        ok(unsafe { framelock_p2p_arena_get_player(eps[slot], 1, &mut player) });
    }
    // SAFETY: handles from framelock_p2p_new(), freed once.
    unsafe { eps.iter().for_each(|&p| framelock_p2p_free(p)) };
}

/// The engine's game: a running hash of every input, and what the callbacks were told.
#[derive(Default)]
struct Game {
    state: u64,
    frame: u32,
    bad_frames: u32,
    loads: u32,
    /// Set: the advance callback calls back into its own endpoint and records the status.
    me: Option<*mut framelock_p2p>,
    reentry: Option<framelock_status>,
    /// Set: the next advance callback waits (up to 5 s) until another thread probed the endpoint.
    block: bool,
}

/// The blocking advance callback is running / the other thread's call returned.
static INSIDE: AtomicBool = AtomicBool::new(false);
static PROBED: AtomicBool = AtomicBool::new(false);

unsafe extern "C" fn game_save(user: *mut c_void, frame: u32, snap: *mut framelock_snapshot) -> i32 {
    // SAFETY: `user` is the test's Game, alive for the endpoint's life.
    let g = unsafe { &mut *user.cast::<Game>() };
    g.bad_frames += u32::from(frame != g.frame);
    let bytes = g.state.to_le_bytes();
    // SAFETY: the library's snapshot writer, valid during this call.
    (unsafe { framelock_snapshot_write(snap, bytes.as_ptr(), bytes.len()) } != FRAMELOCK_OK) as i32
}

unsafe extern "C" fn game_load(user: *mut c_void, frame: u32, data: *const u8, len: usize) -> i32 {
    // SAFETY: as in game_save; `len` readable bytes at `data`.
    let (g, d) = unsafe { (&mut *user.cast::<Game>(), std::slice::from_raw_parts(data, len)) };
    let Ok(b) = <[u8; 8]>::try_from(d) else { return 1 };
    g.state = u64::from_le_bytes(b);
    g.frame = frame;
    g.loads += 1;
    0
}

unsafe extern "C" fn game_advance(user: *mut c_void, frame: u32, inputs: *const framelock_input, n: usize) -> i32 {
    // SAFETY: as in game_save; `n` inputs valid during the call.
    let (g, inputs) = unsafe { (&mut *user.cast::<Game>(), std::slice::from_raw_parts(inputs, n)) };
    g.bad_frames += u32::from(frame != g.frame);
    for i in inputs {
        // SAFETY: each input's bytes are valid during the call.
        for &b in unsafe { std::slice::from_raw_parts(i.bytes, i.len) } {
            g.state = g.state.wrapping_mul(0x100_0000_01b3) ^ u64::from(b);
        }
    }
    g.frame = frame + 1;
    if std::mem::take(&mut g.block) {
        INSIDE.store(true, SeqCst);
        let until = Instant::now() + Duration::from_secs(5);
        while !PROBED.load(SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    if let Some(me) = g.me.take() {
        let mut s = 0;
        // SAFETY: the endpoint running this callback (re-entry is refused, not performed).
        g.reentry = Some(unsafe { framelock_p2p_peer_count(me, &mut s) });
    }
    0
}

fn callbacks(g: &mut Game) -> framelock_callbacks {
    framelock_callbacks {
        struct_size: std::mem::size_of::<framelock_callbacks>() as u32,
        user: ptr::from_mut::<Game>(g).cast(),
        save_state: Some(game_save),
        load_state: Some(game_load),
        advance_frame: Some(game_advance),
    }
}

#[test]
fn two_callback_endpoints_agree_and_reentry_and_a_second_thread_are_refused() {
    let ports = ports();
    let mut games = [Game::default(), Game::default()];
    let eps: Vec<*mut framelock_p2p> = games
        .iter_mut()
        .enumerate()
        .map(|(slot, g)| {
            let (mut cfg, _strings, _peers) = config(slot, ports);
            cfg.input_size = 3;
            cfg.max_snapshot_size = 8;
            cfg.simulation_id = 99;
            let cb = callbacks(g);
            let mut p = ptr::null_mut();
            // SAFETY: valid config, callbacks (the games outlive the endpoints) and out-parameter.
            ok(unsafe { framelock_p2p_new_with_callbacks(&cfg, &cb, &mut p) });
            p
        })
        .collect();
    games[0].me = Some(eps[0]);
    games[1].block = true;
    // Another thread calls endpoint 1 while its advance callback runs on this one: BUSY.
    let target = eps[1] as usize;
    let prober = std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(20);
        while !INSIDE.load(SeqCst) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut n = 0;
        // SAFETY: the endpoint is alive (freed only after this thread is joined); the claim makes
        // the concurrent call safe: it is refused without touching the state.
        let st = unsafe { framelock_p2p_peer_count(target as *mut framelock_p2p, &mut n) };
        PROBED.store(true, SeqCst);
        st
    });
    // Inputs shorter than input_size are padded; slot 1 changes input often (rollbacks at slot 0).
    play([eps[0], eps[1]], &|slot, tick| if slot == 0 { vec![tick as u8] } else { vec![(tick / 3) as u8, 7, 1] });
    assert_eq!(checksum(eps[0], FRAME), checksum(eps[1], FRAME));
    assert_eq!(games[0].reentry, Some(FRAMELOCK_ERR_REENTRANT));
    assert_eq!(prober.join().expect("the prober"), FRAMELOCK_ERR_BUSY, "a second thread is refused");
    for (g, &p) in games.iter().zip(&eps) {
        assert_eq!(g.bad_frames, 0, "the callbacks were told the right frames");
        assert!(stats(p).frames_resimulated == 0 || g.loads > 0);
    }
    // SAFETY: handles from framelock_p2p_new_with_callbacks(), freed once (before the games).
    unsafe { eps.iter().for_each(|&p| framelock_p2p_free(p)) };
}

#[test]
fn a_setting_that_differs_is_a_config_mismatch_event() {
    let ports = ports();
    let eps = [0, 1].map(|slot| {
        let (mut cfg, _strings, _peers) = config(slot, ports);
        cfg.tick_rate = if slot == 0 { 60 } else { 30 };
        let mut p = ptr::null_mut();
        // SAFETY: as above.
        ok(unsafe { framelock_p2p_new(&cfg, &mut p) });
        p
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = None;
    while seen.is_none() && Instant::now() < deadline {
        for &p in &eps {
            let mut e = framelock_p2p_event::default();
            // SAFETY: live handles, valid out-parameters.
            unsafe {
                ok(framelock_p2p_poll(p, 2));
                ok(framelock_p2p_poll_event(p, &mut e));
            }
            if e.kind == FRAMELOCK_P2P_EVENT_CONFIG_MISMATCH {
                // SAFETY: a static NUL-terminated string.
                seen = Some((
                    unsafe { CStr::from_ptr(e.setting) }.to_str().expect("UTF-8").to_string(),
                    e.local,
                    e.remote,
                ));
            }
        }
    }
    let (setting, local, remote) = seen.expect("a CONFIG_MISMATCH event");
    assert_eq!(setting, "tick_rate");
    assert!((local, remote) == (60, 30) || (local, remote) == (30, 60), "{local} {remote}");
    assert!(eps.iter().all(|&p| !stats(p).running));
    // SAFETY: freed once.
    unsafe { eps.iter().for_each(|&p| framelock_p2p_free(p)) };
}

#[test]
fn misuse_is_a_status_code() {
    let ports = ports();
    let (cfg, _strings, _peers) = config(0, ports);
    let mut p = ptr::null_mut();
    // SAFETY: every pointer is valid or deliberately NULL; the library checks each.
    unsafe {
        assert_eq!(framelock_p2p_config_init(ptr::null_mut()), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_p2p_new(ptr::null(), &mut p), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_p2p_new(&cfg, ptr::null_mut()), FRAMELOCK_ERR_NULL_ARGUMENT);
        let bad = framelock_p2p_config { struct_size: 4, ..cfg };
        assert_eq!(framelock_p2p_new(&bad, &mut p), FRAMELOCK_ERR_STRUCT_SIZE);
        let bad = framelock_p2p_config { key: [0; 32], ..cfg };
        assert_eq!(framelock_p2p_new(&bad, &mut p), FRAMELOCK_ERR_INVALID_ARGUMENT);
        let junk = CString::new("1=nowhere").expect("no NUL");
        let junk_list = [junk.as_ptr()];
        let bad = framelock_p2p_config { peers: junk_list.as_ptr(), ..cfg };
        assert_eq!(framelock_p2p_new(&bad, &mut p), FRAMELOCK_ERR_INVALID_ARGUMENT);
        let bad = framelock_p2p_config { peers: ptr::null(), ..cfg };
        assert_eq!(framelock_p2p_new(&bad, &mut p), FRAMELOCK_ERR_NULL_ARGUMENT);
        // Slot 1 is neither local nor remote.
        let bad = framelock_p2p_config { peer_count: 0, ..cfg };
        assert_eq!(framelock_p2p_new(&bad, &mut p), FRAMELOCK_ERR_INVALID_CONFIG);
        let bad = framelock_p2p_config { tick_rate: 0, ..cfg };
        assert_eq!(framelock_p2p_new(&bad, &mut p), FRAMELOCK_ERR_INVALID_ARGUMENT);
        assert!(p.is_null(), "out-parameters are written only on success");
        assert_eq!(framelock_p2p_new_with_callbacks(&cfg, ptr::null(), &mut p), FRAMELOCK_ERR_NULL_ARGUMENT);

        ok(framelock_p2p_new(&cfg, &mut p));
        let mut n = 0u32;
        let mut o = framelock_outcome { advanced: true, frame: 9, waiting_for: 0 };
        assert_eq!(framelock_p2p_poll(ptr::null_mut(), 0), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_p2p_ticks_due(p, ptr::null_mut()), FRAMELOCK_ERR_NULL_ARGUMENT);
        ok(framelock_p2p_ticks_due(p, &mut n));
        assert_eq!(n, 0, "nothing is due before the peer is synchronized");
        let i = [1u8, 2, 3];
        assert_eq!(framelock_p2p_add_local_input(p, 1, i.as_ptr(), 2), FRAMELOCK_ERR_WRONG_SLOT_KIND);
        assert_eq!(framelock_p2p_add_local_input(p, 0, i.as_ptr(), 3), FRAMELOCK_ERR_INPUT_TOO_LONG);
        assert_eq!(framelock_p2p_add_local_input(p, 0, ptr::null(), 2), FRAMELOCK_ERR_NULL_ARGUMENT);
        // Not running: the tick plays nothing.
        ok(framelock_p2p_tick(p, &mut o));
        assert!(!o.advanced && o.frame == 0);
        let mut ps: framelock_p2p_peer_stats = std::mem::zeroed();
        assert_eq!(framelock_p2p_get_peer_stats(p, 0, &mut ps), FRAMELOCK_ERR_STRUCT_SIZE);
        ps.struct_size = std::mem::size_of::<framelock_p2p_peer_stats>() as u32;
        assert_eq!(framelock_p2p_get_peer_stats(p, 1, &mut ps), FRAMELOCK_ERR_INVALID_ARGUMENT);
        let mut c = 0;
        assert_eq!(framelock_p2p_checksum(p, 10, &mut c), FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE);
        let mut port = 0;
        ok(framelock_p2p_local_port(p, &mut port));
        assert_eq!(port, ports[0]);
        // The port is taken: a second endpoint on it cannot bind.
        let mut q = ptr::null_mut();
        assert_eq!(framelock_p2p_new(&cfg, &mut q), FRAMELOCK_ERR_IO);
        framelock_p2p_free(p);
        framelock_p2p_free(ptr::null_mut());
    }
}

#[test]
fn a_spectator_hosted_by_a_player_sees_the_same_match() {
    let sock: Vec<UdpSocket> = (0..3).map(|_| UdpSocket::bind("127.0.0.1:0").expect("loopback")).collect();
    let port: Vec<u16> = sock.iter().map(|s| s.local_addr().expect("loopback").port()).collect();
    drop(sock);
    let spectator_addr = CString::new(format!("127.0.0.1:{}", port[2])).expect("no NUL");
    let host_addr = CString::new(format!("127.0.0.1:{}", port[0])).expect("no NUL");
    let spectators = [spectator_addr.as_ptr()];
    let mut eps = Vec::new();
    for slot in 0..2 {
        let (mut cfg, _strings, _peers) = config(slot, [port[0], port[1]]);
        if slot == 0 {
            cfg.spectators = spectators.as_ptr();
            cfg.spectator_count = 1;
        }
        let mut p = ptr::null_mut();
        // SAFETY: a valid config (its strings live through the call) and out-parameter.
        ok(unsafe { framelock_p2p_new(&cfg, &mut p) });
        eps.push(p);
    }
    let (mut cfg, _strings, _peers) = config(0, [port[2], port[1]]);
    cfg.local_slots = 0;
    cfg.peers = ptr::null();
    cfg.peer_count = 0;
    cfg.spectate = host_addr.as_ptr();
    let mut spectator = ptr::null_mut();
    // SAFETY: as above.
    ok(unsafe { framelock_p2p_new(&cfg, &mut spectator) });

    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut ticks, mut spectator_ticks) = ([0u32; 2], 0);
    while stats(spectator).checksummed_until <= FRAME || eps.iter().any(|&p| stats(p).checksummed_until <= FRAME) {
        assert!(Instant::now() < deadline, "not final in time: spectator {:?}", stats(spectator));
        for (slot, &p) in eps.iter().enumerate() {
            poll_and_tick(p, Some(slot), &mut ticks[slot], |t| arena_input(slot, t));
        }
        poll_and_tick(spectator, None, &mut spectator_ticks, |_| []);
    }
    let c = checksum(spectator, FRAME);
    assert_eq!(c, checksum(eps[0], FRAME));
    assert_eq!(c, checksum(eps[1], FRAME));
    let s = stats(eps[0]);
    assert_eq!(s.peers, 2, "slot 1 and the spectator");
    let mut ps: framelock_p2p_peer_stats = {
        // SAFETY: an all-zero peer stats struct is valid.
        unsafe { std::mem::zeroed() }
    };
    ps.struct_size = std::mem::size_of::<framelock_p2p_peer_stats>() as u32;
    // SAFETY: a live handle, a valid out-parameter.
    ok(unsafe { framelock_p2p_get_peer_stats(eps[0], 1, &mut ps) });
    assert!(ps.acknowledged > 0 && ps.packets_received > 0, "the spectator acknowledges frames: {ps:?}");
    // SAFETY: freed once.
    unsafe {
        eps.iter().for_each(|&p| framelock_p2p_free(p));
        framelock_p2p_free(spectator);
    }
}

#[test]
fn a_peer_disconnected_by_hand_is_disconnected_at_a_frame_and_the_match_goes_on() {
    let ports = ports();
    let eps = arena_endpoints(ports);
    // SAFETY: live handles.
    assert_eq!(unsafe { framelock_p2p_disconnect_peer(eps[0], 0) }, FRAMELOCK_ERR_WRONG_STATE, "not running yet");
    play(eps, &arena_input);
    // SAFETY: live handles.
    unsafe {
        assert_eq!(framelock_p2p_disconnect_peer(eps[0], 1), FRAMELOCK_ERR_INVALID_ARGUMENT);
        ok(framelock_p2p_disconnect_peer(eps[0], 0));
    }
    // Slot 0 plays on alone: slot 1 is never polled again.
    let start = stats(eps[0]).checksummed_until;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut disconnected = None;
    let mut tick = 10_000;
    while stats(eps[0]).checksummed_until < start + 120 {
        assert!(Instant::now() < deadline, "slot 0 does not go on: {:?}", stats(eps[0]));
        poll_and_tick(eps[0], Some(0), &mut tick, |t| arena_input(0, t));
        each_event(eps[0], |e| {
            if e.kind == FRAMELOCK_P2P_EVENT_DISCONNECTED {
                disconnected = Some((e.slot, e.frame));
            }
        });
    }
    let (slot, frame) = disconnected.expect("a DISCONNECTED event");
    assert_eq!(slot, 1);
    assert!(frame > FRAME && frame <= start + 16, "disconnected at frame {frame}, checksummed until {start}");
    let mut ps: framelock_p2p_peer_stats = {
        // SAFETY: an all-zero peer stats struct is valid.
        unsafe { std::mem::zeroed() }
    };
    ps.struct_size = std::mem::size_of::<framelock_p2p_peer_stats>() as u32;
    // SAFETY: a live handle, a valid out-parameter.
    ok(unsafe { framelock_p2p_get_peer_stats(eps[0], 0, &mut ps) });
    assert!(ps.disconnected);
    // SAFETY: freed once.
    unsafe { eps.iter().for_each(|&p| framelock_p2p_free(p)) };
}
