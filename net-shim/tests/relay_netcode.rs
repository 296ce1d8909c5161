//! A relay and its players through the real connection layer (tokens, handshake, encryption) on a
//! virtual clock over a seeded lossy link: everyone connects, plays, and agrees; a player who drops
//! comes back with a new token and catches up; a spectator follows.

use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::Duration;

use framelock_core::arena::{scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::{Authority, Driver, Mode, SessionBuilder};
use framelock_net::netcode::{ConnectToken, SeededRng, ServerConfig, TokenParams, UserData};
use framelock_net::player::NetClient;
use framelock_net::relay::{Relay, RelayConfig, SPECTATOR};
use framelock_net::sync::{RoomClient, RoomConfig};

const PROTOCOL: u64 = 0xf7a3_e10c;
const KEY: [u8; 32] = [42; 32];
const ROOM: u64 = 77;
const TICK_US: u64 = 1_000_000 / 30;

fn relay_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 40_000))
}

fn player_addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 1, i as u8], 50_000))
}

struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Datagrams in flight: (arrival, sequence), from, to, bytes.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Flight(std::cmp::Reverse<(u64, u64)>, SocketAddr, SocketAddr, Vec<u8>);

struct Link {
    rng: Mix,
    queue: BinaryHeap<Flight>,
    seq: u64,
}

impl Link {
    /// 80 ± 20 ms, 10% loss, 3% duplicates.
    fn send(&mut self, now: u64, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        if self.rng.next() % 100 < 10 {
            return;
        }
        let copies = if self.rng.next() % 100 < 3 { 2 } else { 1 };
        for _ in 0..copies {
            let at = now + 60_000 + self.rng.next() % 40_000;
            self.seq += 1;
            self.queue.push(Flight(std::cmp::Reverse((at, self.seq)), from, to, bytes.to_vec()));
        }
    }
}

fn token(rng: &mut SeededRng, now: Duration, client_id: u64, slot: u8) -> ConnectToken {
    ConnectToken::generate(
        &TokenParams {
            protocol_id: PROTOCOL,
            client_id,
            create_timestamp: now.as_secs(),
            expire_timestamp: now.as_secs() + 300,
            timeout_seconds: 5,
            server_addresses: &[relay_addr()],
            user_data: UserData::for_room_slot(ROOM, slot),
        },
        &KEY,
        rng,
    )
    .expect("token")
}

fn room_client(players: u8, slot: Option<usize>, params: ArenaParams) -> RoomClient<Arena> {
    let mut b = SessionBuilder::new(usize::from(players))
        .authority(Authority::Relay)
        .max_input_size(INPUT_SIZE)
        .default_input(&[0, 0])
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params));
    b = match slot {
        Some(s) => b.local_slot(s).mode(Mode::Rollback { max_prediction: 12 }).input_delay(2),
        None => b.input_window(1024),
    };
    let driver = Driver::new(b.build().expect("session"), Arena::new(params).expect("params"));
    match slot {
        Some(s) => RoomClient::new(driver, s, 30),
        None => RoomClient::spectator(driver),
    }
}

#[test]
fn players_connect_play_drop_come_back_and_agree() {
    let relay = run(4_096);
    let room = relay.room(ROOM).expect("room");
    assert_eq!(room.transfer_stats().started, 0, "the history holds every frame: no snapshot needed");
}

/// With a history of 128 frames (4 s at 30 Hz), the returning player and the spectator are behind
/// it: each starts from a snapshot another player provides through the relay.
#[test]
fn players_and_spectators_behind_the_history_start_from_verified_snapshots() {
    let relay = run(128);
    let t = relay.room(ROOM).expect("room").transfer_stats();
    assert_eq!((t.delivered, t.rejected), (2, 0), "{t:?}");
}

fn run(history: u32) -> Relay {
    const PLAYERS: u8 = 4;
    const FRAMES: u32 = 1_200;
    let params = ArenaParams { players: PLAYERS, seed: 5, ..ArenaParams::default() };
    let start = Duration::from_secs(1_800_000_000);
    let mut rng = SeededRng::from_u64(11);
    let mut relay = Relay::new(
        start,
        RelayConfig {
            netcode: ServerConfig::new(PROTOCOL, KEY, 16, relay_addr()),
            room: RoomConfig {
                slots: PLAYERS,
                max_input_size: INPUT_SIZE as u8,
                default_input: vec![0, 0],
                history,
                ..RoomConfig::default()
            },
            max_rooms: 4,
            room_idle: std::time::Duration::from_secs(30),
            match_frames: 0,
        },
        &mut rng,
    )
    .expect("relay");
    // Peers 0..PLAYERS are players; the last is a spectator that joins later.
    let mut peers: Vec<Option<NetClient<Arena>>> = (0..usize::from(PLAYERS))
        .map(|s| {
            Some(NetClient::new(
                start,
                token(&mut rng, start, s as u64, s as u8),
                room_client(PLAYERS, Some(s), params),
            ))
        })
        .collect();
    peers.push(None);
    let spectator = peers.len() - 1;
    let mut link = Link { rng: Mix(3), queue: BinaryHeap::new(), seq: 0 };
    let mut ticks = vec![0u32; peers.len()];
    let mut next_tick = start.as_micros() as u64;
    let mut now_us = start.as_micros() as u64;
    let end = now_us + u64::from(FRAMES + 900) * TICK_US;
    let mut dropped_at = None;
    while now_us < end {
        let now = Duration::from_micros(now_us);
        while link.queue.peek().is_some_and(|f| (f.0).0 .0 <= now_us) {
            let Some(Flight(_, from, to, bytes)) = link.queue.pop() else { break };
            if to == relay_addr() {
                relay.handle_datagram(now, from, &bytes);
            } else if let Some(Some(p)) = (0..peers.len()).find(|&i| player_addr(i) == to).map(|i| &mut peers[i]) {
                p.handle_datagram(now, relay_addr(), &bytes);
            }
        }
        if relay.poll_timeout().is_none_or(|t| t <= now) {
            relay.handle_timeout(now);
        }
        while let Some(t) = relay.poll_transmit() {
            link.send(now_us, relay_addr(), t.destination, t.contents);
        }
        let frame = relay.room(ROOM).map_or(0, |r| r.next_close());
        // Player 2 drops at frame 300 (no goodbye: it times out) and comes back at 500 with a new token.
        if frame >= 300 && dropped_at.is_none() {
            peers[2] = None;
            dropped_at = Some(frame);
        }
        if frame >= 500 && peers[2].is_none() {
            peers[2] = Some(NetClient::new(now, token(&mut rng, now, 102, 2), room_client(PLAYERS, Some(2), params)));
        }
        if frame >= 600 && peers[spectator].is_none() {
            peers[spectator] =
                Some(NetClient::new(now, token(&mut rng, now, 900, SPECTATOR), room_client(PLAYERS, None, params)));
        }
        let tick = now_us >= next_tick;
        if tick {
            next_tick += TICK_US;
        }
        for (i, p) in peers.iter_mut().enumerate() {
            let Some(p) = p else { continue };
            p.handle_timeout(now);
            if tick {
                ticks[i] += 1;
                p.tick(now, &scripted_input(5, i, ticks[i])).expect("tick");
            }
            while let Some(t) = p.poll_transmit() {
                link.send(now_us, player_addr(i), t.destination, t.contents);
            }
        }
        if peers.iter().flatten().all(|p| p.room().driver().session().checksummed_until() > FRAMES) {
            break;
        }
        now_us += 1_000;
    }
    let checksums: Vec<Option<u64>> =
        peers.iter().flatten().map(|p| p.room().driver().session().checksum(FRAMES)).collect();
    assert_eq!(checksums.len(), usize::from(PLAYERS) + 1);
    assert!(checksums[0].is_some() && checksums.iter().all(|c| *c == checksums[0]), "{checksums:?}");
    let room = relay.room(ROOM).expect("room");
    assert_eq!(room.stats().desyncs, 0);
    assert_eq!(relay.stats().refused_total(), 0);
    let net = relay.server().stats();
    // Only duplicates (replay protection) and the dead connection's stragglers are dropped.
    assert!(net.dropped_total() < net.packets_received / 10, "{net:?}");
    assert!(net.connects >= 6 && net.disconnects >= 1, "{net:?}");
    relay
}
