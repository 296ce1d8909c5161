//! One hostile or dead client cannot stall a room or break the others: garbage updates, inputs for
//! frames far ahead, acknowledgements from the future and lying checksums are dropped, bounded or
//! outvoted, while the room's clock keeps closing frames and the honest clients agree.

mod common;

use framelock_core::arena::{scripted_input, Arena, ArenaParams, INPUT_SIZE};
use framelock_net::sync::msg::{self, Writer, MAX_MESSAGE};
use framelock_net::sync::{Room, RoomClient, RoomConfig};

const PLAYERS: u8 = 4;
const HOSTILE: usize = 3;
const TICK_US: u64 = 1_000_000 / 30;

fn client(slot: usize, params: ArenaParams) -> RoomClient<Arena> {
    common::arena_player(params, slot, 12, 2)
}

/// A hostile update: `kind` picks the attack.
fn attack(kind: u64, frame: u32, buf: &mut [u8]) -> usize {
    let mut w = Writer::new(buf);
    match kind % 5 {
        // Random garbage.
        0 => {
            let mut x = u64::from(frame).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for _ in 0..(x % 300) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                w.put(&[x as u8]);
            }
        }
        // 255 inputs starting far in the future, and an acknowledgement from the future.
        1 => {
            let at = msg::begin_update(&mut w, u32::MAX, frame + 10_000);
            for _ in 0..255 {
                msg::put_input(&mut w, &[0xff, 0xff], 0);
            }
            msg::finish_update(&mut w, at, 255, &[]);
        }
        // Inputs longer than the room allows.
        2 => {
            let at = msg::begin_update(&mut w, frame, frame);
            msg::put_input(&mut w, &[7; 200], 0);
            msg::finish_update(&mut w, at, 1, &[]);
        }
        // Lying checksums for every recent frame.
        3 => {
            let at = msg::begin_update(&mut w, frame, frame);
            let lies: Vec<(u32, u64)> =
                (0..30).map(|i| (frame.saturating_sub(i * 30) / 30 * 30, 0xdead_beef)).collect();
            msg::finish_update(&mut w, at, 0, &lies);
        }
        // A count that claims more inputs than the message holds.
        _ => {
            let at = msg::begin_update(&mut w, frame, frame);
            msg::put_input(&mut w, &[1, 2], 0);
            msg::finish_update(&mut w, at, 200, &[]);
        }
    }
    w.len()
}

#[test]
fn a_hostile_client_cannot_stall_the_room_or_break_the_others() {
    let params = ArenaParams { players: PLAYERS, seed: 2, ..ArenaParams::default() };
    let mut room = Room::new(RoomConfig {
        slots: PLAYERS,
        max_input_size: INPUT_SIZE as u8,
        default_input: vec![0, 0],
        ..RoomConfig::default()
    })
    .expect("room config");
    let mut honest: Vec<RoomClient<Arena>> = (0..HOSTILE).map(|s| client(s, params)).collect();
    for s in 0..usize::from(PLAYERS) {
        room.connect(s);
    }
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut hostile_buf = vec![0u8; MAX_MESSAGE];
    // Bundles and updates travel with a fixed two-tick delay.
    let mut to_relay: Vec<(u64, usize, Vec<u8>)> = Vec::new();
    let mut to_clients: Vec<(u64, usize, Vec<u8>)> = Vec::new();
    let mut now = 0u64;
    for tick in 0..1_500u32 {
        for (_, slot, bytes) in to_relay.iter().filter(|m| m.0 <= now) {
            let _ = room.handle_update(now, *slot, bytes);
        }
        to_relay.retain(|m| m.0 > now);
        for (_, slot, bytes) in to_clients.iter().filter(|m| m.0 <= now) {
            if *slot < HOSTILE {
                let _ = honest[*slot].handle_bundle(bytes);
            }
        }
        to_clients.retain(|m| m.0 > now);
        room.handle_timeout(now);
        while let Some((slot, len)) = room.poll_transmit(&mut buf) {
            to_clients.push((now + 2 * TICK_US, slot, buf[..len].to_vec()));
        }
        for (s, c) in honest.iter_mut().enumerate() {
            c.catch_up(64).expect("catch up");
            c.tick(&scripted_input(2, s, tick)).expect("tick");
            let len = c.poll_transmit(&mut buf);
            to_relay.push((now + 2 * TICK_US, s, buf[..len].to_vec()));
        }
        // The hostile client floods: ten attacks per tick.
        for k in 0..10 {
            let len = attack(u64::from(tick) * 10 + k, tick, &mut hostile_buf);
            to_relay.push((now + 2 * TICK_US, HOSTILE, hostile_buf[..len].to_vec()));
        }
        now += TICK_US;
    }
    let stats = room.stats();
    // The clock never waited for anyone: one frame per tick.
    assert!(stats.frames_closed >= 1_499, "{stats:?}");
    assert!(stats.malformed > 3_000, "garbage and oversized inputs were dropped and counted: {stats:?}");
    // Its lies never convinced the room: the honest majority's value stands, the liar is named.
    assert!(stats.desyncs > 0, "{stats:?}");
    let f = 1_200;
    let c0 = honest[0].driver().session().checksum(f);
    assert!(c0.is_some() && honest.iter().all(|c| c.driver().session().checksum(f) == c0));
    assert!(honest.iter().all(|c| c.stats().desyncs_reported == 0), "honest clients are never blamed");
}
