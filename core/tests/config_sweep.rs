//! Every numeric setting of the builder at its edges: 0, 1, its maximum, maximum + 1 and the
//! type's maximum give `Ok` or `InvalidConfig` naming that setting; never a panic, an abort or
//! another error. The maximum itself must build and maximum + 1 must not, so the documented
//! limits are the enforced ones. Frame-counter edges: the log writer at the end of the frames.

use framelock_core::replay::{LogHeader, LogWriter, LoggedInput};
use framelock_core::{Error, Frame, Mode, SessionBuilder};

type Set = fn(u64) -> SessionBuilder;

/// (setting, its maximum, the type's maximum, a builder with only that setting changed)
fn settings() -> Vec<(&'static str, u64, u64, Set)> {
    let (umax, u32max) = (usize::MAX as u64, u64::from(u32::MAX));
    vec![
        ("slots", 64, umax, |v| SessionBuilder::new(v as usize)),
        ("local_slot", 63, umax, |v| SessionBuilder::new(64).local_slot(v as usize)),
        ("max_input_size", 1024, umax, |v| SessionBuilder::new(2).max_input_size(v as usize)),
        ("input_delay", 32, u32max, |v| SessionBuilder::new(2).input_delay(v as u32)),
        ("max_prediction", 64, u32max, |v| {
            SessionBuilder::new(2).mode(Mode::Rollback { max_prediction: v as u32 }).input_window(1 << 16)
        }),
        ("check_distance", 64, u32max, |v| {
            SessionBuilder::new(2).mode(Mode::SyncTest { check_distance: v as u32 }).input_window(1 << 16)
        }),
        ("max_snapshot_size", 1 << 30, umax, |v| SessionBuilder::new(2).max_snapshot_size(v as usize)),
        ("frame_arena_size", 1 << 30, umax, |v| SessionBuilder::new(2).frame_arena_size(v as usize)),
        ("input_window", 1 << 16, u32max, |v| SessionBuilder::new(2).input_window(v as u32)),
        ("checksum_history", 1 << 20, u32max, |v| SessionBuilder::new(2).checksum_history(v as u32)),
        ("checksum_interval", u32max, u32max, |v| SessionBuilder::new(2).checksum_interval(v as u32)),
        ("early_checksum_capacity", 1 << 20, umax, |v| SessionBuilder::new(2).early_checksum_capacity(v as usize)),
        ("event_capacity", 1 << 20, umax, |v| SessionBuilder::new(2).event_capacity(v as usize)),
        ("start_frame", (1 << 31) - 1, u32max, |v| SessionBuilder::new(2).start_frame(v as u32)),
    ]
}

#[test]
fn every_numeric_setting_is_ok_or_names_itself_at_its_edges() {
    for (name, max, type_max, build) in settings() {
        let mut values = vec![0, 1, max, type_max];
        if max < type_max {
            values.push(max + 1);
        }
        for v in values {
            match build(v).build() {
                Ok(_) => assert!(v <= max, "{name} = {v} is above its maximum {max} and was accepted"),
                Err(Error::InvalidConfig { setting, reason }) => {
                    assert_eq!(setting, name, "{name} = {v} was refused naming `{setting}` ({reason})");
                    assert!(v != max, "{name} = {v} is its documented maximum and was refused: {reason}");
                }
                Err(e) => panic!("{name} = {v}: {e}"),
            }
        }
    }
}

#[test]
fn the_input_delay_setter_validates_like_the_builder() {
    let mut s = SessionBuilder::new(2).local_slot(0).build().expect("valid");
    for v in [0, 1, 32] {
        assert_eq!(s.set_input_delay(v), Ok(()));
    }
    for v in [33, u32::MAX] {
        assert!(matches!(s.set_input_delay(v), Err(Error::InvalidConfig { setting: "input_delay", .. })));
    }
}

#[test]
fn the_start_frame_message_states_the_enforced_limit() {
    assert!(SessionBuilder::new(1).start_frame((1 << 31) - 1).build().is_ok());
    let e = SessionBuilder::new(1).start_frame(1 << 31).build().expect_err("refused");
    assert!(e.to_string().contains("2147483647"), "{e}");
}

#[test]
fn a_log_writer_stops_before_the_end_of_the_frames() {
    let mut h = LogHeader::new(1, 1);
    h.first_frame = Frame::MAX;
    assert!(matches!(LogWriter::new(Vec::new(), h.clone()), Err(Error::LogMismatch { .. })));
    // The last frame a log can hold is u32::MAX - 1 (the frame after it is u32::MAX).
    h.first_frame = Frame::MAX - 3;
    let mut w = LogWriter::new(Vec::new(), h).expect("header");
    for f in Frame::MAX - 3..Frame::MAX {
        w.record_inputs(f, &[LoggedInput::confirmed(&[1])]).expect("frame");
        w.record_checksum(f, 7).expect("checksum");
    }
    assert_eq!(w.record_inputs(Frame::MAX, &[LoggedInput::confirmed(&[1])]), Err(Error::FrameOverflow));
    let bytes = w.finish().expect("finish");
    let log = framelock_core::replay::LogReader::parse(&bytes).expect("reads back");
    assert_eq!((log.frames(), log.end_frame()), (3, Frame::MAX));
}
