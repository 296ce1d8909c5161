//! What the relay closes is exactly what every client simulates: the frames before a client's first
//! input (its input delay) and each disagreement reported once. Rooms of [`HashSim`] clients, whose
//! state hashes every input's length, bytes and status, on a virtual clock with loss.

mod common;

use common::{hash_player, Link, World};
use framelock_net::sync::RoomConfig;

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
