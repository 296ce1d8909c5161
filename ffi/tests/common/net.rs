//! A relay on loopback and connect tokens, for the network client tests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use framelock::*;
use framelock_core::arena::{INPUT_SIZE, NEUTRAL_INPUT};
use framelock_net::io::UdpDriver;
use framelock_net::netcode::{ConnectToken, SeededRng, ServerConfig, TokenParams, UserData};
use framelock_net::relay::{Relay, RelayConfig};
use framelock_net::sync::RoomConfig;

use super::ok;

pub const KEY: [u8; 32] = [9; 32];
pub const TICK_RATE: u16 = 120;
pub const SEED: u64 = 5;
pub const ROOM: u64 = 11;

/// A relay on 127.0.0.1:0 for rooms of `players`, running on its own thread until the returned flag
/// is set.
pub fn start_relay(players: u8) -> (SocketAddr, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    start_relay_with(players, RoomConfig::default().history)
}

/// [`start_relay`] with rooms that keep `history` closed frames.
pub fn start_relay_with(players: u8, history: u32) -> (SocketAddr, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let mut driver = UdpDriver::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("relay socket");
    let addr = driver.local_addr().expect("address");
    let cfg = RelayConfig {
        netcode: ServerConfig::new(FRAMELOCK_PROTOCOL_ID, KEY, 8, addr),
        room: RoomConfig {
            slots: players,
            tick_rate: TICK_RATE,
            max_input_size: INPUT_SIZE as u8,
            default_input: NEUTRAL_INPUT.to_vec(),
            history,
            ..RoomConfig::default()
        },
        max_rooms: 2,
        room_idle: std::time::Duration::from_secs(30),
        match_frames: 0,
    };
    let mut relay = Relay::new(driver.now(), cfg, &mut SeededRng::from_u64(3)).expect("relay");
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::spawn(move || {
        while !stop2.load(Relaxed) {
            driver.run_once(&mut relay, Duration::from_millis(1)).expect("relay io");
        }
    });
    (addr, stop, thread)
}

/// A connect token for `slot` of ROOM on the relay at `server`.
pub fn token(server: SocketAddr, slot: u8, protocol_id: u64) -> [u8; 2048] {
    token_for(server, slot, 100 + u64::from(slot), protocol_id)
}

/// [`token`] for client `client_id` (a client that comes back needs a new token).
pub fn token_for(server: SocketAddr, slot: u8, client_id: u64, protocol_id: u64) -> [u8; 2048] {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    ConnectToken::generate(
        &TokenParams {
            protocol_id,
            client_id,
            create_timestamp: now,
            expire_timestamp: now + 60,
            timeout_seconds: 5,
            server_addresses: &[server],
            user_data: UserData::for_room_slot(ROOM, slot),
        },
        &KEY,
        &mut SeededRng::from_u64(client_id),
    )
    .expect("token")
    .to_bytes()
}

/// A config for `slot` of a room of `players` at TICK_RATE with `token`.
pub fn config(token: &[u8], slot: u32, players: u8) -> framelock_net_client_config {
    let mut cfg = std::mem::MaybeUninit::uninit();
    // SAFETY: a writable out-parameter; FRAMELOCK_OK means it was written.
    let cfg = unsafe {
        ok(framelock_net_client_config_init(cfg.as_mut_ptr()));
        cfg.assume_init()
    };
    framelock_net_client_config {
        token: token.as_ptr(),
        token_len: token.len(),
        slot,
        players: u32::from(players),
        tick_rate: u32::from(TICK_RATE),
        arena: framelock_arena_params { seed: SEED, ..cfg.arena },
        ..cfg
    }
}

/// The client's stats.
pub fn stats(c: *const framelock_net_client) -> framelock_net_client_stats {
    let mut s = framelock_net_client_stats {
        struct_size: std::mem::size_of::<framelock_net_client_stats>() as u32,
        ..Default::default()
    };
    // SAFETY: a live handle and a writable struct.
    ok(unsafe { framelock_net_client_get_stats(c, &mut s) });
    s
}
