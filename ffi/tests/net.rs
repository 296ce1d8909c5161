//! The network client through the C ABI: three clients play a room of a relay on loopback (the
//! relay on its own thread, the clients interleaved on the test's thread, each paced at 120 Hz by
//! framelock_net_client_ticks_due()) until frame 300 is final, and agree on its checksum; two
//! clients over the engine's callbacks do too, and their callbacks are told the right frames (also
//! on every load); a callback client that comes back after the relay's history moved on loads a
//! snapshot through its callbacks; bad tokens, wrong struct sizes and NULL handles are status codes.
#![allow(unsafe_code)] // calling the exported `unsafe extern "C" fn`s is the point of these tests

mod common;

use std::ffi::c_void;
use std::net::SocketAddr;
use std::ptr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use common::net::{config, start_relay, start_relay_with, stats, token, token_for, SEED, TICK_RATE};
use common::ok;
use framelock::framelock_status::*;
use framelock::*;
use framelock_core::arena::{scripted_input, INPUT_SIZE, NEUTRAL_INPUT};

const PLAYERS: u8 = 3;
const FRAME: u32 = 300;

#[test]
fn three_clients_through_a_relay_agree_on_the_checksum() {
    let started = Instant::now();
    let (addr, stop, relay) = start_relay(PLAYERS);
    let tokens: Vec<[u8; 2048]> = (0..PLAYERS).map(|s| token(addr, s, FRAMELOCK_PROTOCOL_ID)).collect();
    let clients: Vec<*mut framelock_net_client> = tokens
        .iter()
        .enumerate()
        .map(|(slot, t)| {
            let cfg = config(t, slot as u32, PLAYERS);
            let mut c = ptr::null_mut();
            // SAFETY: a valid config (the token outlives the call) and out-parameter.
            ok(unsafe { framelock_net_client_new(&cfg, &mut c) });
            c
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ticks = vec![0u32; clients.len()];
    let mut players_seen = false;
    loop {
        assert!(
            Instant::now() < deadline,
            "frame {FRAME} not final in time: {:?}",
            clients.iter().map(|&c| stats(c)).collect::<Vec<_>>()
        );
        play_round(&clients, &mut ticks);
        if clients.iter().all(|&c| stats(c).checksummed_until > FRAME) {
            break;
        }
    }

    let mut sums = Vec::new();
    for &c in &clients {
        let s = stats(c);
        assert_eq!(s.state, FRAMELOCK_NET_STATE_CONNECTED);
        assert!(s.frames_advanced >= u64::from(FRAME), "{s:?}");
        assert!(s.datagrams_in > 0 && s.datagrams_out > 0, "{s:?}");
        assert_eq!(s.desyncs_reported, 0, "{s:?}");
        let mut sum = 0u64;
        let mut frame = 0u32;
        let mut connected = false;
        let mut p = framelock_arena_player::default();
        // SAFETY: a live handle and valid out-parameters.
        unsafe {
            ok(framelock_net_client_checksum(c, FRAME, &mut sum));
            ok(framelock_net_client_current_frame(c, &mut frame));
            ok(framelock_net_client_is_connected(c, &mut connected));
            ok(framelock_net_client_arena_get_player(c, u32::from(PLAYERS) - 1, &mut p));
            assert_eq!(
                framelock_net_client_arena_get_player(c, u32::from(PLAYERS), &mut p),
                FRAMELOCK_ERR_INVALID_ARGUMENT
            );
            assert_eq!(framelock_net_client_checksum(c, frame + 100, &mut sum), FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE);
        }
        players_seen |= p.x_fixed != 0 || p.y_fixed != 0;
        assert!(connected && frame > FRAME);
        sums.push(sum);
    }
    assert!(players_seen);
    assert!(sums.iter().all(|&s| s == sums[0]), "checksums of frame {FRAME} differ: {sums:x?}");

    for &c in &clients {
        let mut state = 0;
        // SAFETY: a live handle, freed once.
        unsafe {
            ok(framelock_net_client_disconnect(c));
            ok(framelock_net_client_state(c, &mut state));
            assert_eq!(state, FRAMELOCK_NET_STATE_DISCONNECTED);
            let mut o = framelock_outcome { advanced: true, ..Default::default() };
            ok(framelock_net_client_tick(c, ptr::null(), 0, &mut o));
            assert!(!o.advanced);
            framelock_net_client_free(c);
        }
    }
    stop.store(true, Relaxed);
    relay.join().expect("relay thread");
    eprintln!("3 clients to frame {FRAME} at {TICK_RATE} Hz in {:?}", started.elapsed());
}

#[test]
fn bad_tokens_configs_and_handles_are_status_codes() {
    let server = SocketAddr::from(([127, 0, 0, 1], 9));
    let good = token(server, 0, FRAMELOCK_PROTOCOL_ID);
    let mut c = ptr::null_mut();
    // SAFETY: every pointer is NULL or valid; the status is what is tested.
    unsafe {
        let st =
            |cfg: &framelock_net_client_config, c: &mut *mut framelock_net_client| framelock_net_client_new(cfg, c);
        // Garbage, short, and another protocol's tokens.
        let garbage = [0x5au8; 2048];
        assert_eq!(st(&config(&garbage, 0, PLAYERS), &mut c), FRAMELOCK_ERR_INVALID_TOKEN);
        assert_eq!(st(&config(&good[..100], 0, PLAYERS), &mut c), FRAMELOCK_ERR_INVALID_TOKEN);
        let other = token(server, 0, 0x1234);
        assert_eq!(st(&config(&other, 0, PLAYERS), &mut c), FRAMELOCK_ERR_INVALID_TOKEN);
        let no_token = framelock_net_client_config { token: ptr::null(), ..config(&good, 0, PLAYERS) };
        assert_eq!(st(&no_token, &mut c), FRAMELOCK_ERR_NULL_ARGUMENT);
        let empty = framelock_net_client_config { token_len: 0, ..config(&good, 0, PLAYERS) };
        assert_eq!(st(&empty, &mut c), FRAMELOCK_ERR_INVALID_TOKEN);
        // Struct sizes, settings.
        let mut cfg = config(&good, 0, PLAYERS);
        cfg.struct_size -= 1;
        assert_eq!(st(&cfg, &mut c), FRAMELOCK_ERR_STRUCT_SIZE);
        let mut cfg = config(&good, 0, PLAYERS);
        cfg.arena.struct_size = 0;
        assert_eq!(st(&cfg, &mut c), FRAMELOCK_ERR_STRUCT_SIZE);
        assert_eq!(st(&config(&good, u32::from(PLAYERS), PLAYERS), &mut c), FRAMELOCK_ERR_INVALID_ARGUMENT);
        assert_eq!(
            st(&framelock_net_client_config { tick_rate: 0, ..config(&good, 0, PLAYERS) }, &mut c),
            FRAMELOCK_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            st(&framelock_net_client_config { loss_per_mille: 1001, ..config(&good, 0, PLAYERS) }, &mut c),
            FRAMELOCK_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            st(&framelock_net_client_config { max_prediction: 0, ..config(&good, 0, PLAYERS) }, &mut c),
            FRAMELOCK_ERR_INVALID_CONFIG
        );
        assert!(c.is_null(), "out_client written on failure");
        assert_eq!(framelock_net_client_new(ptr::null(), &mut c), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_new(&config(&good, 0, PLAYERS), ptr::null_mut()), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_config_init(ptr::null_mut()), FRAMELOCK_ERR_NULL_ARGUMENT);

        // NULL handles.
        let mut n = 0u32;
        let mut b = false;
        let mut i = 0i32;
        let mut u = 0u64;
        let mut p = framelock_arena_player::default();
        let mut s = framelock_net_client_stats::default();
        let null = ptr::null_mut();
        assert_eq!(framelock_net_client_poll(null, 0), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_ticks_due(null, &mut n), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_tick(null, ptr::null(), 0, ptr::null_mut()), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_is_connected(null, &mut b), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_state(null, &mut i), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_disconnect(null), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_get_stats(null, &mut s), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_checksum(null, 0, &mut u), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_current_frame(null, &mut n), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_arena_get_player(null, 0, &mut p), FRAMELOCK_ERR_NULL_ARGUMENT);
        framelock_net_client_free(null);

        // A client of a relay that is not there: it never connects, and ticks simulate nothing.
        ok(framelock_net_client_new(&config(&good, 0, PLAYERS), &mut c));
        ok(framelock_net_client_poll(c, 0));
        ok(framelock_net_client_ticks_due(c, &mut n));
        assert_eq!(n, 0);
        ok(framelock_net_client_state(c, &mut i));
        assert_eq!(i, FRAMELOCK_NET_STATE_SENDING_REQUEST);
        let mut o = framelock_outcome { advanced: true, ..Default::default() };
        ok(framelock_net_client_tick(c, NEUTRAL_INPUT.as_ptr(), NEUTRAL_INPUT.len(), &mut o));
        assert!(!o.advanced && o.frame == 0);
        let long = [0u8; INPUT_SIZE + 1];
        assert_eq!(framelock_net_client_tick(c, long.as_ptr(), long.len(), &mut o), FRAMELOCK_ERR_INPUT_TOO_LONG);
        assert_eq!(framelock_net_client_tick(c, ptr::null(), 1, &mut o), FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_net_client_get_stats(c, &mut s), FRAMELOCK_ERR_STRUCT_SIZE);
        assert_eq!(framelock_net_client_checksum(c, 0, &mut u), FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE);
        assert_eq!(framelock_net_client_state(c, ptr::null_mut()), FRAMELOCK_ERR_NULL_ARGUMENT);
        ok(framelock_net_client_disconnect(c));
        framelock_net_client_free(c);
    }
}

/// The engine's game of the callback test: a frame counter and a hash of every input. Its snapshot
/// holds both, so the load callback can check it is told the frame it restores.
#[derive(Debug, Default)]
struct Game {
    frame: u32,
    hash: u64,
    loads: u64,
    errors: u64,
}

unsafe extern "C" fn game_save(user: *mut c_void, frame: u32, snap: *mut framelock_snapshot) -> i32 {
    // SAFETY: `user` is the test's live `Game`; `snap` the snapshot of this call.
    let g = unsafe { &mut *user.cast::<Game>() };
    if frame != g.frame {
        g.errors += 1;
        return 1;
    }
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&g.frame.to_le_bytes());
    bytes[4..].copy_from_slice(&g.hash.to_le_bytes());
    // SAFETY: as above; 12 readable bytes.
    (unsafe { framelock_snapshot_write(snap, bytes.as_ptr(), bytes.len()) } != FRAMELOCK_OK) as i32
}

unsafe extern "C" fn game_load(user: *mut c_void, frame: u32, data: *const u8, len: usize) -> i32 {
    // SAFETY: `user` is the test's live `Game`; `data` holds `len` bytes during the call.
    let (g, data) = unsafe { (&mut *user.cast::<Game>(), std::slice::from_raw_parts(data, len)) };
    if len != 12 || data[..4] != frame.to_le_bytes() {
        g.errors += 1;
        return 1;
    }
    g.frame = frame;
    g.hash = u64::from_le_bytes(data[4..].try_into().expect("8 bytes"));
    g.loads += 1;
    0
}

unsafe extern "C" fn game_advance(user: *mut c_void, frame: u32, inputs: *const framelock_input, count: usize) -> i32 {
    // SAFETY: `user` is the test's live `Game`; `inputs` holds `count` entries during the call.
    let (g, inputs) = unsafe { (&mut *user.cast::<Game>(), std::slice::from_raw_parts(inputs, count)) };
    if frame != g.frame || count != 2 {
        g.errors += 1;
        return 1;
    }
    for i in inputs {
        // SAFETY: `len` bytes at `bytes` (or none).
        let b = if i.len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(i.bytes, i.len) } };
        for &x in b {
            g.hash = (g.hash ^ u64::from(x)).wrapping_mul(0x100_0000_01b3);
        }
        g.hash = (g.hash ^ u64::from(i.slot)).wrapping_mul(0x100_0000_01b3);
    }
    g.frame += 1;
    0
}

#[test]
fn two_callback_clients_agree_and_are_told_the_frames() {
    let (addr, stop, relay) = start_relay(2);
    let tokens: Vec<[u8; 2048]> = (0..2).map(|s| token(addr, s, FRAMELOCK_PROTOCOL_ID)).collect();
    let mut games: Vec<Box<Game>> = (0..2).map(|_| Box::default()).collect();
    let clients: Vec<*mut framelock_net_client> = tokens
        .iter()
        .zip(games.iter_mut())
        .enumerate()
        .map(|(slot, (t, g))| callback_client(t, slot as u32, g))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ticks = [0u32; 2];
    while !clients.iter().all(|&c| stats(c).checksummed_until > FRAME) {
        assert!(Instant::now() < deadline, "frame {FRAME} not final in time");
        play_round(&clients, &mut ticks);
    }
    let mut sums = [0u64; 2];
    for (i, &c) in clients.iter().enumerate() {
        let s = stats(c);
        assert_eq!(games[i].errors, 0);
        assert_eq!(games[i].loads, s.rollbacks, "one load per rollback");
        eprintln!("callback client {i}: {} rollbacks, {} loads", s.rollbacks, games[i].loads);
        assert_eq!(s.desyncs_reported, 0);
        let mut p = framelock_arena_player::default();
        // SAFETY: a live handle and valid out-parameters; freed once.
        unsafe {
            ok(framelock_net_client_checksum(c, FRAME, &mut sums[i]));
            assert_eq!(framelock_net_client_arena_get_player(c, 0, &mut p), FRAMELOCK_ERR_WRONG_STATE);
            let long = [0u8; INPUT_SIZE + 1];
            assert_eq!(
                framelock_net_client_tick(c, long.as_ptr(), long.len(), ptr::null_mut()),
                FRAMELOCK_ERR_INPUT_TOO_LONG
            );
            ok(framelock_net_client_disconnect(c));
            framelock_net_client_free(c);
        }
    }
    assert_eq!(sums[0], sums[1]);
    stop.store(true, Relaxed);
    relay.join().expect("relay thread");
}

/// A callback client for `slot` of a room of 2 whose game is `g`.
fn callback_client(token: &[u8], slot: u32, g: &mut Game) -> *mut framelock_net_client {
    let cfg = framelock_net_client_config {
        players: 2,
        max_input_size: INPUT_SIZE as u32,
        max_snapshot_size: 12,
        ..config(token, slot, 2)
    };
    let cb = framelock_callbacks {
        struct_size: std::mem::size_of::<framelock_callbacks>() as u32,
        user: ptr::from_mut::<Game>(g).cast(),
        save_state: Some(game_save),
        load_state: Some(game_load),
        advance_frame: Some(game_advance),
    };
    let mut c = ptr::null_mut();
    // SAFETY: valid config, callbacks (the game outlives the client) and out-parameter.
    ok(unsafe { framelock_net_client_new_with_callbacks(&cfg, &cb, &mut c) });
    c
}

/// Polls and ticks every live client once (ticks due at the room's rate), with the scripted inputs;
/// the outcome goes to an out-parameter (the NULL one is zero_alloc.rs's).
fn play_round(clients: &[*mut framelock_net_client], ticks: &mut [u32]) {
    for (i, &c) in clients.iter().enumerate() {
        if c.is_null() {
            continue;
        }
        // SAFETY: live handles used by this thread only; valid out-parameters.
        unsafe {
            ok(framelock_net_client_poll(c, 0));
            let mut due = 0;
            ok(framelock_net_client_ticks_due(c, &mut due));
            for _ in 0..due {
                ticks[i] += 1;
                let input = scripted_input(SEED, i, ticks[i]);
                let mut o = framelock_outcome::default();
                ok(framelock_net_client_tick(c, input.as_ptr(), input.len(), &mut o));
            }
        }
    }
    std::thread::sleep(Duration::from_micros(500));
}

/// A callback client that comes back after the relay's history (64 frames, about half a second at
/// 120 Hz) moved on starts from a snapshot the other client's engine saved: its load callback gets
/// the engine's bytes and the frame, and the two agree afterwards.
#[test]
fn a_callback_client_behind_the_history_loads_a_snapshot_through_its_callbacks() {
    let (addr, stop, relay) = start_relay_with(2, 64);
    let mut games: Vec<Box<Game>> = (0..2).map(|_| Box::default()).collect();
    let first: Vec<[u8; 2048]> = (0..2).map(|s| token(addr, s, FRAMELOCK_PROTOCOL_ID)).collect();
    let mut clients: Vec<*mut framelock_net_client> =
        (0..2).map(|s| callback_client(&first[s], s as u32, &mut games[s])).collect();
    let mut ticks = [0u32; 2];
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats(clients[1]).checksummed_until < 120 {
        assert!(Instant::now() < deadline, "the room did not start");
        play_round(&clients, &mut ticks);
    }
    // Client 1 leaves; client 0 plays on alone past the history.
    // SAFETY: a live handle, freed once.
    unsafe {
        ok(framelock_net_client_disconnect(clients[1]));
        framelock_net_client_free(clients[1]);
    }
    clients[1] = ptr::null_mut();
    let back_at = stats(clients[0]).current_frame + 200;
    while stats(clients[0]).current_frame < back_at {
        assert!(Instant::now() < deadline, "client 0 stalled alone");
        play_round(&clients, &mut ticks);
    }
    // It comes back as a new process: a new game at frame 0 and a new token.
    *games[1] = Game::default();
    let again = token_for(addr, 1, 201, FRAMELOCK_PROTOCOL_ID);
    clients[1] = callback_client(&again, 1, &mut games[1]);
    let target = back_at + 240;
    while !clients.iter().all(|&c| stats(c).checksummed_until > target) {
        assert!(Instant::now() < deadline, "frame {target} not final in time");
        play_round(&clients, &mut ticks);
    }
    let mut sums = [0u64; 2];
    for (i, &c) in clients.iter().enumerate() {
        assert_eq!(games[i].errors, 0, "client {i}: a callback was told a wrong frame");
        // SAFETY: a live handle and valid out-parameters; freed once.
        unsafe {
            ok(framelock_net_client_checksum(c, target, &mut sums[i]));
            ok(framelock_net_client_disconnect(c));
            framelock_net_client_free(c);
        }
    }
    assert_eq!(sums[0], sums[1]);
    // A game that started at frame 0 is past the history's start only through a loaded snapshot.
    assert!(games[1].loads >= 1, "the returning engine loaded the snapshot");
    assert!(games[1].frame > target, "{} {}", games[1].frame, target);
    stop.store(true, Relaxed);
    relay.join().expect("relay thread");
}
