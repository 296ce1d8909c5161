//! Zero heap allocations per room tick and per packet through the whole network stack in steady
//! state: a `Relay` and four `NetClient`s (netcode handshake, encryption, frame sync, rollback
//! sessions of the reference simulation) on a virtual clock, datagrams through a preallocated lossy
//! delay line, counted by a per-thread counting allocator after the connections are up and warm.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::arena::{scripted_input, Arena, ArenaParams, INPUT_SIZE};
use framelock_net::netcode::{ConnectToken, SeededRng, ServerConfig, TokenParams, UserData};
use framelock_net::player::NetClient;
use framelock_net::relay::{Relay, RelayConfig};
use framelock_net::sync::RoomConfig;

#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

const PLAYERS: u8 = 4;
const PROTOCOL: u64 = 0x5151;
const KEY: [u8; 32] = [9; 32];

fn relay_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 40_000))
}

fn player_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 1, i as u8], 50_000))
}

/// A preallocated delay line: 40..60 ms, 5% loss.
struct DelayLine {
    slots: Vec<(u64, SocketAddr, SocketAddr, usize, [u8; 1400])>,
    used: Vec<bool>,
    state: u64,
}

impl DelayLine {
    fn send(&mut self, at: u64, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        if (self.state >> 33) % 20 == 0 || bytes.len() > 1400 {
            return;
        }
        if let Some(i) = self.used.iter().position(|u| !u) {
            self.used[i] = true;
            let s = &mut self.slots[i];
            *s = (at + 40_000 + (self.state >> 40) % 20_000, from, to, bytes.len(), s.4);
            s.4[..bytes.len()].copy_from_slice(bytes);
        }
    }
}

#[test]
fn relay_and_net_clients_allocate_nothing_per_tick_or_packet() {
    framelock_testkit::assert_counting();
    let params = ArenaParams { players: PLAYERS, ..ArenaParams::default() };
    let start = Duration::from_secs(1_800_000_000);
    let mut rng = SeededRng::from_u64(5);
    let mut relay = Relay::new(
        start,
        RelayConfig {
            netcode: ServerConfig::new(PROTOCOL, KEY, 8, relay_addr()),
            room: RoomConfig { slots: PLAYERS, max_input_size: INPUT_SIZE as u8, ..RoomConfig::default() },
            max_rooms: 2,
            room_idle: std::time::Duration::from_secs(30),
            match_frames: 0,
        },
        &mut rng,
    )
    .expect("relay");
    let mut clients: Vec<NetClient<Arena>> = (0..usize::from(PLAYERS))
        .map(|s| {
            let token = ConnectToken::generate(
                &TokenParams {
                    protocol_id: PROTOCOL,
                    client_id: s as u64 + 1,
                    create_timestamp: start.as_secs(),
                    expire_timestamp: start.as_secs() + 600,
                    timeout_seconds: 10,
                    server_addresses: &[relay_addr()],
                    user_data: UserData::for_room_slot(1, s as u8),
                },
                &KEY,
                &mut rng,
            )
            .expect("token");
            let room = common::arena_player(params, s, 12, 3);
            NetClient::new(start, token, room)
        })
        .collect();
    let mut line = DelayLine {
        slots: vec![(0, relay_addr(), relay_addr(), 0, [0; 1400]); 1024],
        used: vec![false; 1024],
        state: 3,
    };
    let mut now_us = start.as_micros() as u64;
    let mut tick = 0u32;
    let mut run = |ticks: u32| {
        for _ in 0..ticks {
            let end = now_us + 1_000_000 / 30;
            while now_us < end {
                let now = Duration::from_micros(now_us);
                for i in 0..line.slots.len() {
                    if line.used[i] && line.slots[i].0 <= now_us {
                        line.used[i] = false;
                        let (_, from, to, len, ref bytes) = line.slots[i];
                        if to == relay_addr() {
                            relay.handle_datagram(now, from, &bytes[..len]);
                        } else if let Some(c) = (0..clients.len()).find(|&c| player_addr(c) == to) {
                            clients[c].handle_datagram(now, from, &bytes[..len]);
                        }
                    }
                }
                if relay.poll_timeout().is_none_or(|t| t <= now) {
                    relay.handle_timeout(now);
                }
                while let Some(t) = relay.poll_transmit() {
                    line.send(now_us, relay_addr(), t.destination, t.contents);
                }
                for (i, c) in clients.iter_mut().enumerate() {
                    if c.poll_timeout().is_none_or(|t| t <= now) {
                        c.handle_timeout(now);
                    }
                    while let Some(t) = c.poll_transmit() {
                        line.send(now_us, player_addr(i), t.destination, t.contents);
                    }
                }
                now_us += 1_000;
            }
            tick += 1;
            let now = Duration::from_micros(now_us);
            for (i, c) in clients.iter_mut().enumerate() {
                c.tick(now, &scripted_input(3, i, tick)).expect("tick");
                while let Some(t) = c.poll_transmit() {
                    line.send(now_us, player_addr(i), t.destination, t.contents);
                }
            }
        }
    };
    run(600);
    let (allocs, reallocs, ()) = framelock_testkit::count(|| run(2_000));
    assert_eq!((allocs, reallocs), (0, 0), "heap allocations after warm-up");
    assert!(clients.iter().all(|c| c.is_connected()));
    let f = 2_400;
    let c0 = clients[0].room().driver().session().checksum(f);
    assert!(c0.is_some() && clients.iter().all(|c| c.room().driver().session().checksum(f) == c0));
}
