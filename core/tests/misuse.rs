//! Misuse returns typed errors, never a panic.

use framelock_core::testing::HashSim;
use framelock_core::{Authority, Driver, Error, Mode, SessionBuilder};

fn p2p() -> framelock_core::Session {
    SessionBuilder::new(2)
        .local_slot(0)
        .max_input_size(4)
        .mode(Mode::Rollback { max_prediction: 4 })
        .build()
        .expect("valid")
}

#[test]
fn configuration_is_validated_with_the_setting_named() {
    let cases: Vec<(SessionBuilder, &str)> = vec![
        (SessionBuilder::new(0), "slots"),
        (SessionBuilder::new(65), "slots"),
        (SessionBuilder::new(2).local_slot(2), "local_slot"),
        (SessionBuilder::new(2).local_slot(200), "local_slot"),
        (SessionBuilder::new(2).max_input_size(4096), "max_input_size"),
        (SessionBuilder::new(2).max_input_size(1).default_input(&[1, 2]), "default_input"),
        (SessionBuilder::new(2).input_delay(33), "input_delay"),
        (SessionBuilder::new(2).mode(Mode::Rollback { max_prediction: 0 }), "max_prediction"),
        (SessionBuilder::new(2).mode(Mode::Rollback { max_prediction: 65 }), "max_prediction"),
        (SessionBuilder::new(2).mode(Mode::SyncTest { check_distance: 0 }), "check_distance"),
        (SessionBuilder::new(2).input_window(8), "input_window"),
        (SessionBuilder::new(2).checksum_history(0), "checksum_history"),
        (SessionBuilder::new(2).checksum_interval(0), "checksum_interval"),
        (SessionBuilder::new(2).max_snapshot_size(usize::MAX), "max_snapshot_size"),
        (SessionBuilder::new(2).frame_arena_size(usize::MAX), "frame_arena_size"),
        (SessionBuilder::new(2).event_capacity(0), "event_capacity"),
    ];
    for (builder, setting) in cases {
        match builder.build() {
            Err(Error::InvalidConfig { setting: s, .. }) => assert_eq!(s, setting),
            other => panic!("{setting}: expected InvalidConfig, got {other:?}"),
        }
    }
    assert!(SessionBuilder::new(64).local_slot(63).max_input_size(1024).build().is_ok());
}

#[test]
fn unknown_slot() {
    let mut s = p2p();
    assert_eq!(s.add_local_input(2, &[]), Err(Error::UnknownSlot { slot: 2, slots: 2 }));
    assert_eq!(s.add_remote_input(usize::MAX, 0, &[]), Err(Error::UnknownSlot { slot: usize::MAX, slots: 2 }));
    assert_eq!(s.disconnect_slot(9, 0), Err(Error::UnknownSlot { slot: 9, slots: 2 }));
    assert_eq!(s.add_remote_checksum(9, 0, 0), Err(Error::UnknownSlot { slot: 9, slots: 2 }));
}

#[test]
fn wrong_kind_of_slot() {
    let mut s = p2p();
    assert_eq!(s.add_local_input(1, &[]), Err(Error::WrongSlotKind { slot: 1, is: "remote" }));
    assert_eq!(s.add_remote_input(0, 0, &[]), Err(Error::WrongSlotKind { slot: 0, is: "local" }));
    // Behind a relay the relay confirms local slots too.
    let mut r = SessionBuilder::new(2).local_slot(0).authority(Authority::Relay).build().expect("valid");
    assert_eq!(r.add_remote_input(0, 0, &[1]), Ok(()));
}

#[test]
fn input_too_long() {
    let mut s = p2p();
    assert_eq!(s.add_local_input(0, &[0; 5]), Err(Error::InputTooLong { slot: 0, len: 5, max: 4 }));
    assert_eq!(s.add_remote_input(1, 0, &[0; 5]), Err(Error::InputTooLong { slot: 1, len: 5, max: 4 }));
}

#[test]
fn input_for_a_frame_already_confirmed() {
    let mut s = p2p();
    s.add_remote_input(1, 3, &[1]).expect("first");
    assert_eq!(s.add_remote_input(1, 3, &[1]), Err(Error::AlreadyConfirmed { slot: 1, frame: 3 }));
    // Frames the session has recycled are confirmed too.
    let mut d = Driver::new(p2p(), HashSim::new(0));
    for f in 0..20 {
        d.session_mut().add_local_input(0, &[]).expect("local");
        d.session_mut().add_remote_input(1, f, &[]).expect("remote");
        d.advance().expect("advance");
    }
    assert_eq!(d.session_mut().add_remote_input(1, 2, &[]), Err(Error::AlreadyConfirmed { slot: 1, frame: 2 }));
}

#[test]
fn input_beyond_the_window() {
    let mut s = SessionBuilder::new(2).local_slot(0).input_window(66).build().expect("valid");
    assert_eq!(s.add_remote_input(1, 65, &[]), Ok(()));
    assert_eq!(s.add_remote_input(1, 66, &[]), Err(Error::BeyondWindow { slot: 1, frame: 66, newest: 65 }));
    assert_eq!(s.add_remote_input(1, u32::MAX, &[]), Err(Error::BeyondWindow { slot: 1, frame: u32::MAX, newest: 65 }));
}

#[test]
fn advance_with_missing_local_input() {
    let mut s = p2p();
    assert_eq!(s.advance().err(), Some(Error::MissingLocalInput { slot: 0, frame: 0 }));
    // With an input delay the first frames hold the default input, so the first advances need none.
    let mut s = SessionBuilder::new(1).local_slot(0).input_delay(2).build().expect("valid");
    assert!(s.advance().is_ok());
    assert!(s.advance().is_ok());
    assert_eq!(s.advance().err(), Some(Error::MissingLocalInput { slot: 0, frame: 2 }));
}

#[test]
fn lockstep_waits_and_names_the_slots() {
    let mut s = SessionBuilder::new(3).local_slot(0).build().expect("valid");
    s.add_local_input(0, &[]).expect("local");
    s.add_remote_input(2, 0, &[]).expect("remote");
    let step = s.advance().expect("advance");
    assert_eq!(step.outcome(), framelock_core::Outcome::Stalled { waiting_for: 0b010 });
    assert!(step.requests().is_empty());
}

#[test]
fn invalid_disconnects() {
    let mut s = p2p();
    s.add_remote_input(1, 0, &[]).expect("remote");
    s.add_remote_input(1, 1, &[]).expect("remote");
    assert_eq!(s.disconnect_slot(1, 1), Err(Error::InvalidDisconnect { slot: 1, frame: 1, earliest: 2 }));
    assert_eq!(s.disconnect_slot(1, 2), Ok(()));
    assert_eq!(s.disconnect_slot(1, 5), Err(Error::InvalidDisconnect { slot: 1, frame: 5, earliest: 2 }));
    assert_eq!(s.add_remote_input(1, 3, &[]), Err(Error::AlreadyConfirmed { slot: 1, frame: 3 }));
    assert_eq!(s.poll_event(), Some(framelock_core::Event::SlotDisconnected { slot: 1, frame: 2 }));
}

#[test]
fn remote_checksums_out_of_range() {
    let mut s = SessionBuilder::new(1).checksum_history(4).early_checksum_capacity(2).build().expect("valid");
    assert_eq!(s.add_remote_checksum(0, 100, 1), Ok(()));
    assert_eq!(s.add_remote_checksum(0, 101, 1), Ok(()));
    assert_eq!(s.add_remote_checksum(0, 102, 1), Err(Error::ChecksumQueueFull { capacity: 2 }));
    let mut d = Driver::new(SessionBuilder::new(1).checksum_history(4).build().expect("valid"), HashSim::new(0));
    for f in 0..10 {
        d.session_mut().add_remote_input(0, f, &[]).expect("remote");
        d.advance().expect("advance");
    }
    assert_eq!(d.session_mut().add_remote_checksum(0, 1, 0), Err(Error::ChecksumUnavailable { frame: 1, slot: 0 }));
}

#[test]
fn snapshot_overflow_is_a_simulation_error() {
    let s = SessionBuilder::new(1).local_slot(0).max_snapshot_size(8).build().expect("valid");
    let mut d = Driver::new(s, HashSim::new(64));
    d.session_mut().add_local_input(0, &[]).expect("local");
    assert!(matches!(d.advance(), Err(Error::Simulation { frame: 0, .. })));
}

#[test]
fn errors_have_messages_that_say_what_and_where() {
    let e = Error::BeyondWindow { slot: 3, frame: 900, newest: 227 };
    assert_eq!(
        e.to_string(),
        "input for slot 3 at frame 900 is beyond the input window: the newest frame accepted now is 227"
    );
}
