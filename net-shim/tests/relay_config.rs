//! Every numeric setting of `RelayConfig` at 0, 1, its maximum, maximum + 1 and its type's maximum:
//! `validate` and `Relay::new` give `Ok` or the typed error naming that setting, never a panic, and
//! a relay built with an accepted value runs.

use std::net::SocketAddr;
use std::time::Duration;

use framelock_net::netcode::{SeededRng, ServerConfig};
use framelock_net::relay::{
    room_bytes, Relay, RelayConfig, RelayConfigError, MAX_MATCH_FRAMES, MAX_ROOMS, MAX_ROOM_IDLE,
};
use framelock_net::sync::RoomConfig;

fn base() -> RelayConfig {
    let addr = SocketAddr::from(([127, 0, 0, 1], 40_000));
    RelayConfig::new(ServerConfig::new(1, [1; 32], 4, addr), RoomConfig::default())
}

/// Checks one value: `Ok` exactly when `valid`, else the error naming `setting`; an accepted
/// configuration builds a relay that runs a few timeouts.
fn check(setting: &str, cfg: RelayConfig, valid: bool) {
    match cfg.validate() {
        Ok(()) => assert!(valid, "{setting}: {cfg:?} accepted"),
        Err(RelayConfigError::OutOfRange { setting: named, .. }) => {
            assert!(!valid, "{setting}: {cfg:?} refused");
            assert_eq!(named, setting);
        }
        Err(e) => panic!("{setting}: {e}"),
    }
    let now = Duration::from_secs(1_800_000_000);
    match Relay::new(now, cfg, &mut SeededRng::from_u64(1)) {
        Ok(mut relay) => {
            assert!(valid);
            for ms in [0u64, 1, 1_000, 100_000] {
                relay.handle_timeout(now + Duration::from_millis(ms));
            }
        }
        Err(e) => {
            assert!(!valid);
            assert!(e.to_string().contains(setting), "{e}");
        }
    }
}

#[test]
fn every_numeric_setting_is_ok_or_the_error_that_names_it() {
    for (v, valid) in [(0, false), (1, true), (64, true), (65, false), (u8::MAX, false)] {
        check("room.slots", RelayConfig { room: RoomConfig { slots: v, ..RoomConfig::default() }, ..base() }, valid);
    }
    for (v, valid) in [(0, false), (1, true), (MAX_ROOMS, true), (MAX_ROOMS + 1, false), (usize::MAX, false)] {
        check("max_rooms", RelayConfig { max_rooms: v, ..base() }, valid);
    }
    let max = MAX_ROOM_IDLE;
    for (v, valid) in [
        (Duration::ZERO, true),
        (Duration::from_secs(1), true),
        (max, true),
        (max + Duration::from_nanos(1), false),
        (max + Duration::from_secs(1), false),
        (Duration::MAX, false),
    ] {
        check("room_idle", RelayConfig { room_idle: v, ..base() }, valid);
    }
    let max = MAX_MATCH_FRAMES;
    for (v, valid) in [(0, true), (1, true), (max, true), (max + 1, false), (u32::MAX, false)] {
        check("match_frames", RelayConfig { match_frames: v, ..base() }, valid);
    }
}

#[test]
fn the_per_room_memory_arithmetic_of_docs_deploy_md() {
    // `serve`'s arena rooms: 4 slots, 2-byte inputs, the default history, window and spectators.
    let arena = RoomConfig { slots: 4, max_input_size: 2, default_input: vec![0, 0], ..RoomConfig::default() };
    assert_eq!(room_bytes(&arena), 4_096 * 4 * 20 + 64 * 4 * 4 + 12 * 48 + 1_038);
    assert_eq!(room_bytes(&arena), 330_318);
}

/// The room settings are checked when the relay starts, not when the first client connects (a relay
/// that could not open any room would otherwise deny every client, blaming spectator places).
#[test]
fn room_settings_are_checked_before_the_relay_starts() {
    for (setting, room) in [
        ("history", RoomConfig { history: 0, ..RoomConfig::default() }),
        ("input_window", RoomConfig { input_window: u32::MAX, ..RoomConfig::default() }),
    ] {
        let cfg = RelayConfig { room, ..base() };
        match cfg.validate() {
            Err(RelayConfigError::Room(e)) => assert_eq!(e.setting, setting),
            other => panic!("{setting}: {other:?}"),
        }
        let err = Relay::new(Duration::from_secs(1), cfg, &mut SeededRng::from_u64(1)).expect_err(setting);
        assert!(err.to_string().contains(setting), "{err}");
    }
}
