//! A room's frame clock at its end and its settings at their limits: typed errors or a documented
//! end, never a hang, an overflow (these run with overflow checks on) or an allocation abort.

use framelock_net::sync::config::{LAST_FRAME, MAX_HISTORY, MAX_INPUT_WINDOW, MAX_SNAPSHOT_SIZE, MAX_SPECTATORS};
use framelock_net::sync::msg::{self, Bundle, MAX_MESSAGE};
use framelock_net::sync::{Room, RoomConfig, RoomConfigError};

fn update(next_bundle: u32, first: u32, inputs: &[&[u8]], checksums: &[(u32, u64)]) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut w = msg::Writer::new(&mut buf);
    let at = msg::begin_update(&mut w, next_bundle, first);
    for i in inputs {
        assert!(msg::put_input(&mut w, i, 64));
    }
    msg::finish_update(&mut w, at, inputs.len() as u8, checksums);
    let n = w.len();
    buf.truncate(n);
    buf
}

#[test]
fn the_frame_clock_ends_at_the_last_frame_and_the_room_says_the_match_is_over() {
    let mut room = Room::new(RoomConfig { slots: 2, tick_rate: 60, ..RoomConfig::default() }).expect("room");
    room.connect(0);
    room.connect(1);
    room.start_at(LAST_FRAME - 50);
    assert_eq!(room.next_close(), LAST_FRAME - 50);
    let spectator = room.connect_spectator().expect("spectator");
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut now = 1_000_000u64;
    let mut bundles = 0;
    // Inputs up to the very last frame number, and past it: the ones past the end are ignored.
    for step in 0..200u32 {
        let first = room.next_close();
        let frames = [&[1u8][..], &[2], &[3], &[4]];
        let n = (u32::MAX - first).min(4) as usize;
        room.handle_update(now, 0, &update(first, first, &frames[..n], &[(LAST_FRAME - 50, 9)])).expect("update");
        room.handle_update(now, 1, &update(first, first, &frames[..n], &[(LAST_FRAME - 50, 9)])).expect("update");
        room.handle_update(now, spectator, &update(first, first, &[], &[])).expect("update");
        room.handle_timeout(now);
        while let Some((_, len)) = room.poll_transmit(&mut buf) {
            let b = Bundle::decode(&buf[..len], 8).expect("a valid bundle");
            assert!(b.first.checked_add(u32::from(b.count)).is_some_and(|end| end <= LAST_FRAME + 1));
            bundles += 1;
        }
        now += 20_000;
        if step == 100 {
            assert!(room.is_over(), "100 ticks of 20 ms at 60 Hz close the last 51 frames");
        }
    }
    assert!(room.is_over());
    assert_eq!(room.next_close(), LAST_FRAME + 1);
    assert_eq!(room.poll_timeout(), None, "no deadline once the match is over: nothing to spin on");
    assert_eq!(room.stats().frames_closed, 51);
    assert!(bundles > 51);
    let last: Vec<_> = room.closed_frame(LAST_FRAME).expect("the last frame is kept").collect();
    assert_eq!(last.len(), 2);
    assert_eq!(room.agreed_checksum(LAST_FRAME - 50), Some(9));
    assert!(room.closed_frame(LAST_FRAME + 1).is_none() && room.closed_frame(u32::MAX).is_none());
    assert!(room.closed_frame(LAST_FRAME - 51).is_none(), "frames before the clock started are not kept");
    // The end of time on the caller's clock is no overflow either.
    room.handle_timeout(u64::MAX);
    assert_eq!(room.next_close(), LAST_FRAME + 1);
    // A room whose clock starts past the end is over at once.
    let mut late = Room::new(RoomConfig::default()).expect("room");
    late.start_at(u32::MAX);
    late.handle_timeout(0);
    late.handle_timeout(u64::MAX);
    assert!(late.is_over() && late.poll_timeout().is_none());
}

#[test]
fn a_room_clock_at_u64_microseconds_does_not_overflow() {
    let mut room = Room::new(RoomConfig { tick_rate: 1, ..RoomConfig::default() }).expect("room");
    room.start_at(LAST_FRAME - 2);
    room.handle_timeout(u64::MAX - 10_000_000);
    assert!(!room.is_over());
    room.handle_timeout(u64::MAX);
    assert!(room.is_over());
    assert_eq!(room.poll_timeout(), None);
}

/// Every numeric setting at 0, 1, its maximum, maximum + 1 and its type's maximum: `Ok` (and a room
/// that runs) or the error naming that setting.
#[test]
fn every_numeric_setting_is_validated_with_an_error_naming_it() {
    fn check(name: &'static str, cfg: RoomConfig, expect_ok: Option<bool>) {
        match Room::new(cfg.clone()) {
            Ok(mut room) => {
                assert_ne!(expect_ok, Some(false), "{name}: {cfg:?} accepted");
                room.connect(0);
                room.handle_timeout(0);
                room.handle_timeout(10_000_000);
                let mut buf = vec![0u8; MAX_MESSAGE];
                while room.poll_transmit(&mut buf).is_some() {}
            }
            Err(RoomConfigError { setting, .. }) => {
                assert_eq!(setting, name, "{cfg:?}");
                assert_ne!(expect_ok, Some(true), "{name}: {cfg:?} refused");
            }
        }
    }
    let d = RoomConfig::default;
    for v in [0u8, 1, 64, 65, u8::MAX] {
        check("slots", RoomConfig { slots: v, ..d() }, Some((1..=64).contains(&v)));
    }
    for v in [0u16, 1, 120, 121, u16::MAX] {
        check("tick_rate", RoomConfig { tick_rate: v, ..d() }, Some((1..=120).contains(&v)));
    }
    // The largest input for 2 slots, then for 64.
    for (slots, max) in [(2u8, 255u8), (64, 15)] {
        for v in [0u8, 1, max, max.saturating_add(1), u8::MAX] {
            let history = 1024;
            check("max_input_size", RoomConfig { slots, max_input_size: v, history, ..d() }, None);
        }
        check("max_input_size", RoomConfig { slots, max_input_size: max, ..d() }, Some(true));
    }
    check("max_input_size", RoomConfig { slots: 64, max_input_size: 16, ..d() }, Some(false));
    for v in [0u32, 1, MAX_HISTORY, MAX_HISTORY + 1, u32::MAX] {
        check("history", RoomConfig { history: v, ..d() }, Some((1..=MAX_HISTORY).contains(&v)));
    }
    check("history", RoomConfig { history: MAX_HISTORY, slots: 16, max_input_size: 66, ..d() }, Some(false));
    check("history", RoomConfig { history: MAX_HISTORY, slots: 64, max_input_size: 0, ..d() }, Some(false));
    check("history", RoomConfig { history: MAX_HISTORY / 64, slots: 64, max_input_size: 15, ..d() }, Some(true));
    for v in [0u32, 1, MAX_INPUT_WINDOW, MAX_INPUT_WINDOW + 1, u32::MAX] {
        check("input_window", RoomConfig { input_window: v, ..d() }, Some((1..=MAX_INPUT_WINDOW).contains(&v)));
    }
    for v in [0u16, 1, MAX_SPECTATORS, MAX_SPECTATORS + 1, u16::MAX] {
        check("max_spectators", RoomConfig { max_spectators: v, ..d() }, Some(v <= MAX_SPECTATORS));
    }
    for v in [0u32, 1, MAX_SNAPSHOT_SIZE, MAX_SNAPSHOT_SIZE + 1, u32::MAX] {
        let ok = v <= MAX_SNAPSHOT_SIZE;
        check("max_snapshot_size", RoomConfig { max_snapshot_size: v, ..d() }, Some(ok));
    }
    check("default_input", RoomConfig { max_input_size: 2, default_input: vec![0; 3], ..d() }, Some(false));
}
