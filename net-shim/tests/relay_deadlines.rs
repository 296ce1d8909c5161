//! The relay's deadline structure on a virtual clock: 32 rooms whose clocks started at different
//! times, driven only at `poll_timeout()`. Every room closes exactly its frames, every close happens at
//! its deadline (zero lateness), and the relay never asks to be woken in the past or more often than
//! its rooms' frames and its connections' keep-alives need.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use framelock_net::netcode::{Client, ConnectToken, SeededRng, ServerConfig, TokenParams, UserData};
use framelock_net::relay::{Relay, RelayConfig};
use framelock_net::sync::RoomConfig;

const ROOMS: usize = 32;
const KEY: [u8; 32] = [4; 32];
const PROTOCOL: u64 = 77;

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 2, i as u8], 5_000))
}

#[test]
fn rooms_tick_exactly_at_their_deadlines() {
    let relay_addr = SocketAddr::from(([10, 0, 0, 1], 1));
    let mut now = Duration::from_secs(1_800_000_000);
    let mut rng = SeededRng::from_u64(3);
    let room = RoomConfig { slots: 1, tick_rate: 30, max_input_size: 2, ..RoomConfig::default() };
    let cfg =
        RelayConfig { max_rooms: ROOMS, ..RelayConfig::new(ServerConfig::new(PROTOCOL, KEY, 64, relay_addr), room) };
    let mut relay = Relay::new(now, cfg, &mut rng).unwrap();
    let mut clients: Vec<Client> = (0..ROOMS)
        .map(|i| {
            let token = ConnectToken::generate(
                &TokenParams {
                    protocol_id: PROTOCOL,
                    client_id: i as u64 + 1,
                    create_timestamp: now.as_secs(),
                    expire_timestamp: now.as_secs() + 600,
                    timeout_seconds: 30,
                    server_addresses: &[relay_addr],
                    user_data: UserData::for_room_slot(100 + i as u64, 0),
                },
                &KEY,
                &mut rng,
            )
            .unwrap();
            Client::new(now, token)
        })
        .collect();
    let deliver = |relay: &mut Relay, clients: &mut [Client], now: Duration| {
        while let Some(t) = relay.poll_transmit() {
            let (dest, bytes) = (t.destination, t.contents.to_vec());
            if let Some(i) = (0..ROOMS).find(|&i| addr(i) == dest) {
                clients[i].handle_packet(now, relay_addr, &bytes);
                while clients[i].poll_payload().is_some() {}
            }
        }
    };
    // The clients connect one after the other, 7 ms apart: the rooms' clocks start at different times.
    for step in 0..(ROOMS + 20) {
        now += Duration::from_millis(7);
        for (i, c) in clients.iter_mut().enumerate().take(step + 1) {
            c.handle_timeout(now);
            while let Some(t) = c.poll_transmit() {
                relay.handle_datagram(now, addr(i), t.contents);
            }
        }
        relay.handle_timeout(now);
        deliver(&mut relay, &mut clients, now);
    }
    assert!(clients.iter().all(Client::is_connected));
    assert_eq!(relay.rooms().count(), ROOMS);
    let closed_before: Vec<u64> = relay.rooms().map(|(_, r)| r.stats().frames_closed).collect();
    let late_before = relay.lateness().clone();
    // One virtual second, woken only at the relay's deadlines.
    let end = now + Duration::from_secs(1);
    let mut wakeups = 0;
    loop {
        let t = relay.poll_timeout().expect("rooms have deadlines");
        assert!(t >= now, "a deadline in the past after handle_timeout: {t:?} < {now:?}");
        if t > end {
            break;
        }
        now = t;
        relay.handle_timeout(now);
        deliver(&mut relay, &mut clients, now);
        wakeups += 1;
    }
    for ((_, room), before) in relay.rooms().zip(closed_before) {
        let closed = room.stats().frames_closed - before;
        assert!((29..=31).contains(&closed), "a room closed {closed} frames in a second at 30 Hz");
    }
    let late = relay.lateness().since(&late_before);
    assert!(late.count() >= (ROOMS * 29) as u64, "{late:?}");
    assert_eq!(late.max_us(), 0, "every frame closed at its deadline: {late:?}");
    // 32 rooms × 30 frames, plus the connections' keep-alive deadlines (10 per second each, some shared).
    assert!(wakeups <= ROOMS * 31 + ROOMS * 11, "{wakeups} wake-ups");
}
