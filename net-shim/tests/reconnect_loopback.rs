//! Real sockets on loopback: three players play through a relay; one crashes mid-match (its
//! process just stops), its connection times out, and it comes back with a new token and a fresh
//! session, catches up from the room's history, and ends on the same checksum as the others.

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

const PROTOCOL: u64 = 0x4455;
const KEY: [u8; 32] = [6; 32];
const TICK_RATE: u16 = 60;
const PLAYERS: u8 = 3;

fn player(relay: SocketAddr, rng: &mut SeededRng, slot: usize, client_id: u64) -> (UdpDriver, NetClient<Arena>) {
    let driver = UdpDriver::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("socket");
    let now = driver.now();
    let token = ConnectToken::generate(
        &TokenParams {
            protocol_id: PROTOCOL,
            client_id,
            create_timestamp: now.as_secs(),
            expire_timestamp: now.as_secs() + 60,
            timeout_seconds: 1,
            server_addresses: &[relay],
            user_data: UserData::for_room_slot(1, slot as u8),
        },
        &KEY,
        rng,
    )
    .expect("token");
    let params = ArenaParams { players: PLAYERS, seed: 12, ..ArenaParams::default() };
    let room = common::arena_player(params, slot, 16, 2);
    let client = NetClient::new(now, token, room);
    (driver, client)
}

#[test]
fn a_player_who_crashes_comes_back_catches_up_and_agrees() {
    let cfg = RelayConfig {
        netcode: ServerConfig::new(PROTOCOL, KEY, 8, SocketAddr::from(([127, 0, 0, 1], 0))),
        room: RoomConfig {
            slots: PLAYERS,
            tick_rate: TICK_RATE,
            max_input_size: INPUT_SIZE as u8,
            ..RoomConfig::default()
        },
        max_rooms: 2,
        room_idle: std::time::Duration::from_secs(30),
        match_frames: 0,
    };
    let workers = Workers::spawn(cfg, SocketAddr::from(([127, 0, 0, 1], 0)), 1, 3, Vec::new()).expect("relay");
    let relay = workers.local_addr();
    let mut rng = SeededRng::from_u64(2);
    let mut players: Vec<Option<(UdpDriver, NetClient<Arena>)>> =
        (0..usize::from(PLAYERS)).map(|s| Some(player(relay, &mut rng, s, 10 + s as u64))).collect();
    const FRAMES: u32 = 420;
    let period = Duration::from_micros(1_000_000 / u64::from(TICK_RATE));
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut next_tick = Instant::now();
    let mut ticks = 0u32;
    let frame_of_0 = |p: &[Option<(UdpDriver, NetClient<Arena>)>]| {
        p[0].as_ref().map_or(0, |(_, c)| c.room().driver().session().current_frame())
    };
    loop {
        assert!(Instant::now() < deadline, "the room did not reach frame {FRAMES} in time");
        let frame = frame_of_0(&players);
        if (90..200).contains(&frame) && players[1].is_some() {
            players[1] = None; // crashes: no goodbye, its connection times out at the relay
        }
        if frame >= 200 && players[1].is_none() {
            players[1] = Some(player(relay, &mut rng, 1, 99)); // a new process, a new token
        }
        for (driver, client) in players.iter_mut().flatten() {
            driver.run_once(client, Duration::ZERO).expect("io");
        }
        if Instant::now() >= next_tick {
            next_tick += period;
            ticks += 1;
            for (slot, p) in players.iter_mut().enumerate() {
                if let Some((driver, client)) = p {
                    client.tick(driver.now(), &scripted_input(12, slot, ticks)).expect("tick");
                    let now = driver.now();
                    driver.flush(client, now);
                }
            }
        } else {
            std::thread::sleep(Duration::from_micros(300));
        }
        if players.iter().flatten().count() == 3
            && players.iter().flatten().all(|(_, c)| c.room().driver().session().checksummed_until() > FRAMES)
        {
            break;
        }
    }
    let sums: Vec<Option<u64>> =
        players.iter().flatten().map(|(_, c)| c.room().driver().session().checksum(FRAMES)).collect();
    assert!(sums[0].is_some() && sums.iter().all(|c| *c == sums[0]), "{sums:?}");
    let reports = workers.stop().expect("stop");
    assert_eq!(reports[0].connects, 4, "three players and the one who came back");
}
