//! 1,000 connect/disconnect cycles against a relay on real loopback sockets: every cycle opens a
//! socket, connects through the handshake, leaves, and is dropped. Afterwards the open file
//! descriptors and the live heap bytes are back at their baseline: nothing leaks per connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use framelock_core::arena::{scratch_size_bound, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::{Authority, Driver, SessionBuilder};
use framelock_net::io::UdpDriver;
use framelock_net::netcode::{ConnectToken, SeededRng, ServerConfig, TokenParams, UserData};
use framelock_net::player::NetClient;
use framelock_net::relay::{Relay, RelayConfig, SPECTATOR};
use framelock_net::sync::{RoomClient, RoomConfig};

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

const PROTOCOL: u64 = 0x77;
const KEY: [u8; 32] = [3; 32];

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn cycle(relay: SocketAddr, rng: &mut SeededRng, id: u64, connected: &AtomicUsize) {
    let mut driver = UdpDriver::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("socket");
    let now = driver.now();
    let token = ConnectToken::generate(
        &TokenParams {
            protocol_id: PROTOCOL,
            client_id: id,
            create_timestamp: now.as_secs(),
            expire_timestamp: now.as_secs() + 60,
            timeout_seconds: 5,
            server_addresses: &[relay],
            user_data: UserData::for_room_slot(1, SPECTATOR),
        },
        &KEY,
        rng,
    )
    .expect("token");
    let params = ArenaParams { players: 2, ..ArenaParams::default() };
    let session = SessionBuilder::new(2)
        .authority(Authority::Relay)
        .max_input_size(INPUT_SIZE)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params))
        .build()
        .expect("session");
    let room = RoomClient::spectator(Driver::new(session, Arena::new(params).expect("params")));
    let mut client = NetClient::new(now, token, room);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !client.is_connected() {
        assert!(Instant::now() < deadline, "cycle {id}: no connection ({:?})", client.connection().state());
        driver.run_once(&mut client, Duration::from_millis(1)).expect("io");
    }
    let now = driver.now();
    client.disconnect(now);
    driver.flush(&mut client, now);
    // Wait until the relay let the connection go, so the next cycle finds a free place.
    while connected.load(Relaxed) > 0 {
        assert!(Instant::now() < deadline, "cycle {id}: the relay kept the connection");
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn a_thousand_connect_disconnect_cycles_leave_no_trace() {
    let mut driver = UdpDriver::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("relay socket");
    let addr = driver.local_addr().expect("address");
    let mut rng = SeededRng::from_u64(21);
    let cfg = RelayConfig {
        netcode: ServerConfig::new(PROTOCOL, KEY, 4, addr),
        room: RoomConfig { slots: 2, max_input_size: INPUT_SIZE as u8, max_spectators: 4, ..RoomConfig::default() },
        max_rooms: 1,
        room_idle: std::time::Duration::from_secs(30),
        match_frames: 0,
    };
    let mut relay = Relay::new(driver.now(), cfg, &mut rng).expect("relay");
    let stop = Arc::new(AtomicBool::new(false));
    let connected = Arc::new(AtomicUsize::new(0));
    let (stop2, connected2) = (stop.clone(), connected.clone());
    let relay_thread = std::thread::spawn(move || {
        while !stop2.load(Relaxed) {
            driver.run_once(&mut relay, Duration::from_millis(1)).expect("relay io");
            connected2.store(relay.server().num_connected(), Relaxed);
        }
        relay.server().stats().connects
    });

    for id in 0..20 {
        cycle(addr, &mut rng, id, &connected);
    }
    let (fds, bytes) = (open_fds(), framelock_testkit::live_bytes());
    for id in 20..1_020 {
        cycle(addr, &mut rng, id, &connected);
    }
    let (fds_after, bytes_after) = (open_fds(), framelock_testkit::live_bytes());
    stop.store(true, Relaxed);
    let connects = relay_thread.join().expect("relay thread");
    assert_eq!(connects, 1_020);
    assert_eq!(fds_after, fds, "file descriptors leaked");
    // The relay's room keeps growing only by its frame clock's fixed rings; allow a little slack
    // for allocator rounding, nothing proportional to the 1,000 connections.
    assert!(bytes_after - bytes < 64 * 1024, "live heap grew by {} bytes over 1,000 connections", bytes_after - bytes);
}
