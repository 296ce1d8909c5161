//! A relay on two workers sharing one port: players of two rooms connect from their own sockets
//! (the kernel spreads them over the workers by address), every room lives on the worker it belongs
//! to, and each room's players agree.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use framelock_core::arena::{scripted_input, Arena, ArenaParams, INPUT_SIZE};
use framelock_net::io::UdpDriver;
use framelock_net::netcode::{ConnectToken, SeededRng, ServerConfig, TokenParams, UserData};
use framelock_net::player::NetClient;
use framelock_net::relay::RelayConfig;
use framelock_net::sync::RoomConfig;
use framelock_net::workers::Workers;

const PROTOCOL: u64 = 0x2233;
const KEY: [u8; 32] = [5; 32];
const TICK_RATE: u16 = 60;

#[test]
fn rooms_live_on_their_worker_and_players_agree() {
    let cfg = RelayConfig {
        netcode: ServerConfig::new(PROTOCOL, KEY, 16, SocketAddr::from(([127, 0, 0, 1], 0))),
        room: RoomConfig { slots: 2, tick_rate: TICK_RATE, max_input_size: INPUT_SIZE as u8, ..RoomConfig::default() },
        max_rooms: 8,
        room_idle: std::time::Duration::from_secs(30),
        match_frames: 0,
    };
    let workers = Workers::spawn(cfg, SocketAddr::from(([127, 0, 0, 1], 0)), 2, 1, Vec::new()).expect("workers");
    let relay = workers.local_addr();
    let mut rng = SeededRng::from_u64(8);
    let params = ArenaParams { players: 2, seed: 4, ..ArenaParams::default() };
    // Rooms 10 and 11, two players each; eight sockets would spread over both workers either way.
    let mut players: Vec<(u64, usize, UdpDriver, NetClient<Arena>)> = Vec::new();
    for room in [10u64, 11] {
        for slot in 0..2usize {
            let driver = UdpDriver::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("socket");
            let now = driver.now();
            let token = ConnectToken::generate(
                &TokenParams {
                    protocol_id: PROTOCOL,
                    client_id: room * 100 + slot as u64,
                    create_timestamp: now.as_secs(),
                    expire_timestamp: now.as_secs() + 60,
                    timeout_seconds: 5,
                    server_addresses: &[relay],
                    user_data: UserData::for_room_slot(room, slot as u8),
                },
                &KEY,
                &mut rng,
            )
            .expect("token");
            let player = common::arena_player(params, slot, 16, 2);
            let client = NetClient::new(now, token, player);
            players.push((room, slot, driver, client));
        }
    }
    const FRAMES: u32 = 180;
    let period = Duration::from_micros(1_000_000 / u64::from(TICK_RATE));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut next_tick = players[0].2.now();
    let mut ticks = 0u32;
    while !players.iter().all(|p| p.3.room().driver().session().checksummed_until() > FRAMES) {
        assert!(Instant::now() < deadline, "the rooms did not reach frame {FRAMES} in time");
        for (_, _, driver, client) in players.iter_mut() {
            driver.run_once(client, Duration::ZERO).expect("io");
        }
        let now = players[0].2.now();
        if now >= next_tick {
            next_tick += period;
            ticks += 1;
            for (room, slot, driver, client) in players.iter_mut() {
                client.tick(driver.now(), &scripted_input(*room, *slot, ticks)).expect("tick");
                let now = driver.now();
                driver.flush(client, now);
            }
        } else {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    for room in [10u64, 11] {
        let sums: Vec<Option<u64>> =
            players.iter().filter(|p| p.0 == room).map(|p| p.3.room().driver().session().checksum(FRAMES)).collect();
        assert!(sums[0].is_some() && sums.iter().all(|c| *c == sums[0]), "room {room}: {sums:?}");
    }
    let reports = workers.stop().expect("workers stop");
    // Room 10 on worker 0, room 11 on worker 1: `room % workers`, whichever socket each player hit.
    assert_eq!(reports[0].rooms, vec![10]);
    assert_eq!(reports[1].rooms, vec![11]);
    assert_eq!(reports.iter().map(|r| r.connects).sum::<u64>(), 4);
    let forwarded: u64 = reports.iter().map(|r| r.forwarded).sum();
    let received: u64 = reports.iter().map(|r| r.received_forwarded).sum();
    // Datagrams still in an inbox when the pool stopped are the only ones not handled.
    assert!(received <= forwarded && forwarded - received <= 8, "{reports:?}");
    assert_eq!(reports.iter().map(|r| r.inbox_dropped).sum::<u64>(), 0);
}
