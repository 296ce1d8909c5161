//! Room lifecycle and admission on the sans-IO relay, on a virtual clock with a perfect link:
//! refusals are connection-denied packets counted by reason (never connect-then-disconnect), and
//! rooms open on demand and are freed when empty or when their match ends.

mod common;
mod relay_harness;

use std::time::Duration;

use framelock_net::netcode::{ClientState, SeededRng};
use framelock_net::relay::{Refusal, Relay, SPECTATOR};
use relay_harness::{config, leave, peer, run, START};

#[test]
fn refusals_are_denials_counted_by_reason() {
    let mut rng = SeededRng::from_u64(1);
    let mut now = START;
    let mut relay = Relay::new(now, config(2, 64), &mut rng).expect("relay");
    let mut peers =
        vec![peer(&mut rng, now, 1, 10, 0), peer(&mut rng, now, 2, 10, SPECTATOR), peer(&mut rng, now, 3, 11, 1)];
    run(&mut relay, &mut peers, &mut now, Duration::from_millis(500));
    assert!(peers.iter().all(|p| p.net.is_connected()));
    assert_eq!((relay.room_count(), relay.stats().refused_total()), (2, 0));
    let connects = relay.server().stats().connects;

    // Each of these is answered with a denial: the client ends in `ConnectionDenied` without ever
    // being connected, and the relay counts the reason.
    let cases = [
        (10, 0, Refusal::SlotTaken),
        (10, SPECTATOR, Refusal::SpectatorsFull),
        (10, 2, Refusal::BadSlot),
        (12, 0, Refusal::NoRoomLeft),
    ];
    for (i, &(room, slot, reason)) in cases.iter().enumerate() {
        let mut refused = vec![peer(&mut rng, now, 100 + i as u32, room, slot)];
        let mut ever_connected = false;
        for _ in 0..50 {
            run(&mut relay, &mut refused, &mut now, Duration::from_millis(10));
            ever_connected |= refused[0].net.is_connected();
        }
        assert_eq!(refused[0].net.connection().state(), ClientState::ConnectionDenied, "{reason:?}");
        assert!(!ever_connected, "{reason:?}");
        assert!(relay.stats().refused_for(reason) >= 1, "{reason:?}: {:?}", relay.stats());
    }
    assert_eq!(relay.server().stats().connects, connects, "no refused client was ever connected");

    // Draining: a connection that would open a room is refused.
    relay.drain();
    let mut late = vec![peer(&mut rng, now, 200, 13, 0)];
    run(&mut relay, &mut late, &mut now, Duration::from_millis(300));
    assert_eq!(late[0].net.connection().state(), ClientState::ConnectionDenied);
    assert!(relay.stats().refused_for(Refusal::Draining) >= 1);
    assert!(relay.stats().refused_for(Refusal::NoRoomInToken) == 0);
    assert!(peers.iter().all(|p| p.net.is_connected()));
}

#[test]
fn a_room_is_freed_when_empty_or_when_its_match_ends_and_its_id_is_reused() {
    let mut rng = SeededRng::from_u64(2);
    let mut now = START;
    let mut cfg = config(4, 64);
    cfg.match_frames = 60;
    cfg.room_idle = Duration::from_secs(1);
    let mut relay = Relay::new(now, cfg, &mut rng).expect("relay");

    // A match of 60 frames: the relay closes it, says goodbye after the grace, frees the room.
    let mut peers = vec![peer(&mut rng, now, 1, 7, 0), peer(&mut rng, now, 2, 7, 1)];
    run(&mut relay, &mut peers, &mut now, Duration::from_millis(300));
    assert_eq!(relay.room_count(), 1);
    let mut closed = None;
    for _ in 0..5_000 {
        run(&mut relay, &mut peers, &mut now, Duration::from_millis(1));
        if let Some(c) = relay.closed_rooms().first() {
            closed = Some((c.id, c.match_end, c.room.next_close()));
            break;
        }
    }
    let (id, end, closed_frames) = closed.expect("the room was freed after its match");
    assert_eq!((id, end), (7, Some(60)));
    assert!(closed_frames >= 60, "{closed_frames}");
    assert_eq!(relay.room_count(), 0);
    run(&mut relay, &mut peers, &mut now, Duration::from_millis(50));
    // The relay said goodbye: the players are disconnected (not timed out).
    for p in &peers {
        assert_eq!(p.net.connection().state(), ClientState::Disconnected);
        assert!(p.net.room().driver().session().checksummed_until() > 0);
    }
    assert!(relay.closed_rooms().is_empty(), "dropped at the next handle_timeout");

    // The same id opens a new room; a player who leaves frees it after `room_idle` (1 s), long
    // before its match would end.
    let mut again = vec![peer(&mut rng, now, 3, 7, 0)];
    run(&mut relay, &mut again, &mut now, Duration::from_millis(200));
    assert!(again[0].net.is_connected());
    assert!(relay.room(7).is_some_and(|r| r.next_close() < 60));
    leave(&mut relay, &mut again, now);
    run(&mut relay, &mut again, &mut now, Duration::from_millis(900));
    assert_eq!(relay.room_count(), 1, "still within room_idle");
    run(&mut relay, &mut again, &mut now, Duration::from_millis(200));
    assert_eq!(relay.room_count(), 0);
    assert_eq!(relay.stats().closed_rooms.frames_closed / 10, (60 + 2 * 30 + 39) / 10, "{:?}", relay.stats());
    let s = relay.stats();
    assert_eq!((s.rooms_opened, s.rooms_closed, s.refused_total()), (2, 2, 0));
    assert!(relay.room_totals().frames_closed >= 60);
}
