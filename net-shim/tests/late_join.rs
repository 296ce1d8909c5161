//! Late join and reconnect at any frame: a member that joins or comes back after the room's history
//! ring moved on starts from a snapshot that another member provides and the relay verifies against
//! the room's agreed checksum. Rooms of [`HashSim`] clients (several-chunk states) on a virtual
//! clock with loss; the room's clock and the players' sessions start near the frame of interest
//! instead of simulating every frame before it.

mod common;

use common::{hash_player_at, hash_spectator, Link, World};
use framelock_net::sync::RoomConfig;

const DEFAULT: [u8; 1] = [7];
const PAD: usize = 3_000; // a 3,012-byte state: 3 chunks

fn world(start: u32, hashed: bool, seed: u64) -> World {
    let cfg = RoomConfig {
        slots: 3,
        tick_rate: 60,
        max_input_size: 4,
        default_input: DEFAULT.to_vec(),
        history: 128, // about 2 s at 60 Hz: gone long before the members below come back
        max_snapshot_size: 8 * 1024,
        snapshot_hashed: hashed,
        ..RoomConfig::default()
    };
    let mut w = World::new(cfg, Link::new(30_000, 20_000, 100, seed), seed);
    w.step_us = 2_000;
    w.room.start_at(start);
    for s in 0..3 {
        w.join(s, hash_player_at(3, s, &DEFAULT, start, PAD));
    }
    w
}

fn run_to(w: &mut World, frame: u32) {
    let limit = w.now + 60_000_000;
    while w.room.next_close() < frame {
        assert!(w.now < limit, "the room's clock stalled at {}", w.room.next_close());
        w.step();
    }
}

fn assert_all_agree(w: &mut World, what: &str) {
    let n = w.clients.iter().flatten().count();
    assert!(n >= 2, "{what}: {n} clients");
    let end = w.room.next_close() + 60;
    let end = end - end % 10;
    let limit = w.now + 30_000_000;
    w.run_until_checksummed(end, limit);
    let sums = w.checksums(end);
    if !(sums[0].is_some() && sums.iter().all(|c| *c == sums[0])) {
        for c in w.clients.iter().flatten() {
            let s = c.driver().session();
            eprintln!(
                "cur {} conf {} cs {} {:?}",
                s.current_frame(),
                s.confirmed_until(),
                s.checksummed_until(),
                c.stats()
            );
        }
        eprintln!("room {} {:?} {:?} end {end}", w.room.next_close(), w.room.stats(), w.room.transfer_stats());
    }
    assert!(sums[0].is_some() && sums.iter().all(|c| *c == sums[0]), "{what}: {sums:?}");
    assert_eq!(w.room.stats().desyncs, 0, "{what}");
}

#[test]
fn a_player_returns_at_frame_50000_and_a_spectator_joins_at_frame_100000() {
    // A player leaves and comes back (a new process, its session at frame 0) at frame 50,000.
    let mut w = world(49_600, true, 1);
    run_to(&mut w, 49_700);
    w.leave(1);
    run_to(&mut w, 50_000);
    w.join(1, hash_player_at(3, 1, &DEFAULT, 0, PAD));
    run_to(&mut w, 50_400);
    assert_all_agree(&mut w, "player back at 50,000");
    let t = w.room.transfer_stats();
    assert_eq!((t.delivered, t.rejected), (1, 0), "{t:?}");
    let back = w.clients[1].as_ref().expect("player 1").stats();
    assert_eq!(back.snapshots_loaded, 1, "{back:?}");

    // A spectator joins at frame 100,000 (and a player comes back at the same time).
    let mut w = world(99_700, true, 2);
    run_to(&mut w, 99_800);
    w.leave(2);
    run_to(&mut w, 100_000);
    let spectator = w.spectate(hash_spectator(3, &DEFAULT, PAD));
    w.join(2, hash_player_at(3, 2, &DEFAULT, 0, PAD));
    run_to(&mut w, 100_500);
    assert_all_agree(&mut w, "spectator at 100,000");
    let t = w.room.transfer_stats();
    assert_eq!((t.delivered, t.rejected), (2, 0), "{t:?}");
    let s = w.clients[spectator].as_ref().expect("spectator");
    assert_eq!(s.stats().snapshots_loaded, 1);
    assert!(s.driver().session().current_frame() > 100_400);
}

#[test]
fn a_forged_snapshot_is_detected_by_the_relay_and_not_used() {
    let mut w = world(1_000, true, 3);
    w.forger = Some(0); // asked first
    run_to(&mut w, 1_100);
    w.leave(2);
    run_to(&mut w, 1_400);
    w.join(2, hash_player_at(3, 2, &DEFAULT, 0, PAD));
    run_to(&mut w, 1_800);
    assert_all_agree(&mut w, "forged by slot 0");
    let t = w.room.transfer_stats();
    assert!(t.rejected >= 1 && t.skipped >= 1 && t.delivered == 1, "{t:?}");
    let joiner = w.clients[2].as_ref().expect("joiner").stats();
    assert_eq!((joiner.snapshots_loaded, joiner.snapshots_rejected), (1, 0), "the forgery never reached it");
}

#[test]
fn a_forged_snapshot_the_relay_cannot_check_is_caught_by_the_joiner() {
    // Simulations that checksum themselves: the relay can only compare the claimed checksum, so a
    // provider that claims the agreed one gets through to the joiner, which checks after loading.
    let mut w = world(1_000, false, 4);
    w.forger = Some(0);
    run_to(&mut w, 1_100);
    w.leave(2);
    run_to(&mut w, 1_400);
    w.join(2, hash_player_at(3, 2, &DEFAULT, 0, PAD));
    run_to(&mut w, 1_900);
    assert_all_agree(&mut w, "forged bytes, honest-looking checksum");
    let t = w.room.transfer_stats();
    assert!(t.rejected >= 1 && t.delivered == 1, "{t:?}");
    let joiner = w.clients[2].as_ref().expect("joiner").stats();
    assert_eq!((joiner.snapshots_loaded, joiner.snapshots_rejected), (1, 1), "{joiner:?}");
}

#[test]
fn a_provider_that_stalls_or_leaves_is_skipped_and_the_room_never_waits() {
    // Slot 0, asked first, never sends its chunks: skipped after 2 s, slot 1 provides.
    let mut w = world(5_000, true, 5);
    w.staller = Some(0);
    run_to(&mut w, 5_100);
    w.leave(2);
    run_to(&mut w, 5_400);
    w.join(2, hash_player_at(3, 2, &DEFAULT, 0, PAD));
    let closed = w.room.stats().frames_closed;
    run_to(&mut w, 5_800);
    assert_eq!(w.room.stats().frames_closed - closed, 400, "the clock kept its pace");
    assert_all_agree(&mut w, "slot 0 stalls");
    let t = w.room.transfer_stats();
    assert!(t.skipped >= 1 && t.delivered == 1 && t.rejected == 0, "{t:?}");

    // The provider leaves as soon as it was asked: another one provides.
    let mut w = world(5_000, true, 6);
    run_to(&mut w, 5_100);
    w.leave(2);
    run_to(&mut w, 5_400);
    w.join(2, hash_player_at(3, 2, &DEFAULT, 0, PAD));
    while w.room.transfer_stats().started == 0 {
        w.step();
    }
    w.leave(0);
    run_to(&mut w, 5_800);
    assert_all_agree(&mut w, "slot 0 left");
    let t = w.room.transfer_stats();
    assert!(t.delivered == 1, "{t:?}");
}

#[test]
fn a_joiner_that_caught_up_keeps_a_short_input_delay() {
    let mut w = world(3_000, true, 7);
    run_to(&mut w, 3_100);
    w.leave(1);
    run_to(&mut w, 3_400);
    w.join(1, hash_player_at(3, 1, &DEFAULT, 0, PAD));
    run_to(&mut w, 3_800);
    assert_all_agree(&mut w, "joiner");
    let s = w.clients[1].as_ref().expect("joiner").driver().session();
    // The link is 30..50 ms (2..3 frames at 60 Hz). A joiner's frames follow the relay's
    // confirmations (it catches up to them, it does not run ahead of them as the players who
    // started with the room do), so its inputs need a few frames more than theirs; but not the
    // maximum of 32 that the late inputs of its catch-up, or stale feedback, would push it to.
    assert!(s.input_delay() <= 12, "input delay {} after catching up", s.input_delay());
}
