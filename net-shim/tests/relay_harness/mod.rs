//! The relay tests' harness: a relay and arena clients of 2-slot rooms on a virtual clock over a
//! perfect link.
#![allow(dead_code)] // each test binary uses part of it

use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::arena::{scripted_input, Arena, ArenaParams, INPUT_SIZE, NEUTRAL_INPUT};
use framelock_net::netcode::{ConnectToken, SeededRng, ServerConfig, TokenParams, UserData};
use framelock_net::player::NetClient;
use framelock_net::relay::{Relay, RelayConfig, SPECTATOR};
use framelock_net::sync::RoomConfig;

use crate::common;

pub const PROTOCOL: u64 = 0x7007;
pub const KEY: [u8; 32] = [3; 32];
pub const START: Duration = Duration::from_secs(1_800_000_000);
pub const TICK: Duration = Duration::from_micros(1_000_000 / 30);

pub fn relay_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 40_000))
}

pub fn client_addr(i: u32) -> SocketAddr {
    SocketAddr::from(([10, 1, (i >> 8) as u8, i as u8], 50_000))
}

pub fn config(max_rooms: usize, history: u32) -> RelayConfig {
    RelayConfig {
        max_rooms,
        room_idle: Duration::from_secs(2),
        ..RelayConfig::new(
            ServerConfig::new(PROTOCOL, KEY, 128, relay_addr()),
            RoomConfig {
                slots: 2,
                max_input_size: INPUT_SIZE as u8,
                default_input: NEUTRAL_INPUT.to_vec(),
                history,
                max_spectators: 1,
                ..RoomConfig::default()
            },
        )
    }
}

pub fn token(rng: &mut SeededRng, now: Duration, client_id: u64, room: u64, slot: u8) -> ConnectToken {
    ConnectToken::generate(
        &TokenParams {
            protocol_id: PROTOCOL,
            client_id,
            create_timestamp: now.as_secs(),
            expire_timestamp: now.as_secs() + 300,
            timeout_seconds: 5,
            server_addresses: &[relay_addr()],
            user_data: UserData::for_room_slot(room, slot),
        },
        &KEY,
        rng,
    )
    .expect("token")
}

/// A client of a 2-slot arena room (a spectator for [`SPECTATOR`]).
pub struct Peer {
    pub addr: SocketAddr,
    pub slot: u8,
    pub net: NetClient<Arena>,
    pub ticks: u32,
}

pub fn peer(rng: &mut SeededRng, now: Duration, id: u32, room: u64, slot: u8) -> Peer {
    let params = ArenaParams { players: 2, seed: room, ..ArenaParams::default() };
    // A spectator's token is refused or accepted before it plays, so a player's client will do.
    let player = common::arena_player(params, usize::from(slot.min(1)), 8, 1);
    let net = NetClient::new(now, token(rng, now, u64::from(id), room, slot), player);
    Peer { addr: client_addr(id), slot, net, ticks: 0 }
}

/// Runs the relay and `peers` for `dur` in 1 ms steps over a perfect link; players tick at 30 Hz.
pub fn run(relay: &mut Relay, peers: &mut [Peer], now: &mut Duration, dur: Duration) {
    let end = *now + dur;
    let mut next_tick = *now;
    while *now < end {
        let tick = *now >= next_tick;
        if tick {
            next_tick += TICK;
        }
        for p in peers.iter_mut() {
            p.net.handle_timeout(*now);
            if tick && p.slot != SPECTATOR && p.net.is_connected() {
                p.ticks += 1;
                let input = scripted_input(1, usize::from(p.slot), p.ticks);
                p.net.tick(*now, &input).expect("tick");
            }
            while let Some(t) = p.net.poll_transmit() {
                relay.handle_datagram(*now, p.addr, t.contents);
            }
        }
        relay.handle_timeout(*now);
        while let Some(t) = relay.poll_transmit() {
            if let Some(p) = peers.iter_mut().find(|p| p.addr == t.destination) {
                p.net.handle_datagram(*now, relay_addr(), t.contents);
            }
        }
        *now += Duration::from_millis(1);
    }
}

pub fn leave(relay: &mut Relay, peers: &mut [Peer], now: Duration) {
    for p in peers.iter_mut() {
        p.net.disconnect(now);
        while let Some(t) = p.net.poll_transmit() {
            relay.handle_datagram(now, p.addr, t.contents);
        }
    }
}
