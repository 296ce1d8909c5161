//! What the relay closes is exactly what every client simulates: the frames before a client's first
//! input (its input delay) and each disagreement reported once. Rooms of [`HashSim`] clients, whose
//! state hashes every input's length, bytes and status, on a virtual clock with loss.

mod common;

use common::{hash_player, Link, World};
use framelock_core::testing::HashSim;
use framelock_core::Driver;
use framelock_net::sync::msg::{self, MAX_MESSAGE};
use framelock_net::sync::{Room, RoomClient, RoomConfig};

const DEFAULT: [u8; 1] = [7];

fn room_config(slots: u8) -> RoomConfig {
    RoomConfig {
        slots,
        tick_rate: 60,
        max_input_size: 4,
        default_input: DEFAULT.to_vec(),
        history: 1024,
        ..RoomConfig::default()
    }
}

#[test]
fn frames_before_the_first_input_agree_at_input_delays_0_to_8() {
    for delay in 0..=8 {
        let mut w = World::new(room_config(3), Link::new(20_000, 10_000, 50, delay.into()), u64::from(delay));
        for s in 0..3 {
            // Different delays per client too: each one's first frames are its own default input.
            w.join(s, hash_player(3, s, delay + s as u32 % 2, &DEFAULT, 10));
        }
        w.run_until_checksummed(200, 20_000_000);
        let sums = w.checksums(200);
        assert!(sums[0].is_some() && sums.iter().all(|c| *c == sums[0]), "input delay {delay}: {sums:?}");
        // Frame 0 already: the first frames hold the default input on every client.
        let first = w.checksums(1);
        assert!(first[0].is_some() && first.iter().all(|c| *c == first[0]), "input delay {delay}: {first:?}");
        assert_eq!(w.room.stats().desyncs, 0, "input delay {delay}");
        // And the relay closed those frames with exactly the default input the sessions proposed.
        for s in 0..3 {
            for f in 0..delay + s as u32 % 2 {
                let input = w.room.closed_frame(f).expect("in the history").nth(s).expect("slot");
                assert_eq!(input.bytes, DEFAULT, "input delay {delay}, slot {s}, frame {f}");
            }
        }
    }
}

fn update(next_bundle: u32, checksums: &[(u32, u64)]) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut w = msg::Writer::new(&mut buf);
    let at = msg::begin_update(&mut w, next_bundle, next_bundle);
    msg::finish_update(&mut w, at, 0, checksums);
    let n = w.len();
    buf.truncate(n);
    buf
}

#[test]
fn one_disagreement_on_one_frame_is_one_desync_and_one_report() {
    let mut room = Room::new(room_config(3)).expect("room config");
    for s in 0..3 {
        room.connect(s);
    }
    let mut now = 0;
    while room.next_close() < 20 {
        room.handle_timeout(now);
        now += 1_000;
    }
    let mut client = hash_player(3, 2, 0, &DEFAULT, 10);
    let mut buf = vec![0u8; MAX_MESSAGE];
    // Clients repeat their latest checksums in every update: 100 times each here.
    for _ in 0..100 {
        for (s, c) in [(0, 0xA), (1, 0xA), (2, 0xB)] {
            room.handle_update(now, s, &update(0, &[(10, c)])).expect("update");
        }
        room.handle_timeout(now);
        now += 20_000;
        while let Some((member, len)) = room.poll_transmit(&mut buf) {
            if member == 2 {
                client.handle_bundle(&buf[..len]).expect("bundle");
            }
        }
    }
    assert_eq!(room.stats().desyncs, 1);
    assert_eq!(room.agreed_checksum(10), None, "a frame in dispute has no agreed checksum");
    assert_eq!(client.stats().desyncs_reported, 1, "the relay repeats its report; the client counts it once");
    // Slot 1 comes back with a new client that disagrees too: the same frame, still one desync.
    room.disconnect(1);
    room.connect(1);
    room.handle_update(now, 1, &update(0, &[(10, 0xC)])).expect("update");
    assert_eq!(room.stats().desyncs, 1);
    // Every slot agreeing on another frame: its agreed checksum, no desync.
    for s in 0..3 {
        room.handle_update(now, s, &update(0, &[(11, 0xD)])).expect("update");
    }
    assert_eq!((room.agreed_checksum(11), room.stats().desyncs), (Some(0xD), 1));
}

#[test]
fn a_client_that_differs_on_every_checksum_is_counted_once_per_frame() {
    let mut w = World::new(room_config(3), Link::new(20_000, 10_000, 50, 3), 3);
    for s in 0..3 {
        w.join(s, hash_player(3, s, 2, &DEFAULT, 10));
    }
    // Client 2's state differs from frame 0 on (one byte of padding): every checksum it reports disagrees.
    let session = common::hash_session(3, 2, 2, &DEFAULT);
    w.clients[2] = Some(RoomClient::new(Driver::new(session, HashSim::new(1)), 2, 10));
    w.run_until_checksummed(300, 30_000_000);
    let desyncs = w.room.stats().desyncs;
    // Reported checksums are those of frames 0, 10, ..., 300 at most (the first may predate the
    // relay's history of reports, the last may not be judged yet).
    assert!((25..=31).contains(&desyncs), "{desyncs} desyncs for 31 checksummed frames");
    let reported = w.clients[2].as_ref().expect("client").stats().desyncs_reported;
    assert!(reported <= desyncs && reported + 4 >= desyncs, "client 2 told of {reported} of {desyncs}");
    assert_eq!(w.clients[0].as_ref().expect("client").stats().desyncs_reported, 0);
}
