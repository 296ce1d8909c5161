//! Hostile input logs: headers at the edges of what the format allows, edits that keep the CRCs
//! valid, truncation and concatenation. Each must replay, or fail with a typed error naming what
//! and where; never a panic (this file runs with overflow checks on, as every test profile does).

#[path = "../../fuzz/fuzz_targets/log_reader_body.rs"]
mod log_reader;

use framelock_core::replay::{Completeness, LogHeader, LogReader, LogWriter, LoggedInput, Replay};
use framelock_core::testing::HashSim;
use framelock_core::{Driver, Error, Frame, SessionBuilder};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

/// A 2-slot lockstep match of `frames` frames on [`HashSim`], recorded with the session's own
/// checksums every `interval` frames.
fn hash_match(frames: Frame, interval: u32) -> Vec<u8> {
    let session = SessionBuilder::new(2)
        .max_input_size(2)
        .checksum_interval(interval)
        .record_confirmed(true)
        .build()
        .expect("config");
    let mut d = Driver::new(session, HashSim::new(4));
    let mut h = LogHeader::new(2, 2);
    h.checksum_interval = interval;
    h.frames_per_chunk = 16;
    let mut w = LogWriter::new(Vec::new(), h).expect("header");
    for f in 0..frames {
        for s in 0..2 {
            d.session_mut().add_remote_input(s, f, &[(f % 7) as u8, s as u8]).expect("input");
        }
        d.advance().expect("advance");
        w.record_from(d.session_mut()).expect("record");
    }
    w.finish().expect("finish")
}

fn verify(bytes: &[u8]) -> Result<framelock_core::replay::VerifyReport, Error> {
    let log = LogReader::parse(bytes)?;
    Replay::new(&log).verify(&mut HashSim::new(4), &mut |_| {})
}

/// Issue 14's reproducer: a header-only log with a checksum interval of 3,355,443,230 made the
/// replay's checksum history `4 * interval` overflow (a panic with overflow checks, a 4-frame
/// history without). Its header also has two bytes after its last field: that is now corruption.
/// Without them (CRC fixed) it parses, and verifying it fails before replaying: no checksum.
#[test]
fn a_huge_checksum_interval_does_not_overflow() {
    let bytes = hex(concat!(
        "464c4f470d0a1a0a010000002d0000000402003c0001080000001e0000c800000000640000000000000000",
        "000000000000000f2524a501030000000000d1d049dd"
    ));
    log_reader::run(&bytes);
    assert_eq!(
        LogReader::parse(&bytes).err(),
        Some(Error::LogCorrupt { what: "bytes after the header's last field", byte: 59, chunk: None })
    );
    let mut exact = bytes[..59].to_vec();
    exact[12..16].copy_from_slice(&43u32.to_le_bytes());
    let crc = framelock_core::replay::crc32(0, &exact);
    exact.extend_from_slice(&crc.to_le_bytes());
    log_reader::run(&exact);
    let log = LogReader::parse(&exact).expect("parses");
    assert_eq!(log.header().checksum_interval, 3_355_443_230);
    assert!(matches!(
        Replay::new(&log).verify(&mut HashSim::new(0), &mut |_| {}),
        Err(Error::LogMismatch { what: "the log records no checksum, so there is nothing to verify" })
    ));
}

/// Every checksum interval the format allows replays, from 1 to `u32::MAX` (the old code refused
/// everything above 262,144 with a misleading `checksum_history` error).
#[test]
fn every_valid_checksum_interval_replays() {
    for interval in [1, 7, 64, 65, 262_144, 262_145, 1 << 30, (1 << 30) + 1, u32::MAX - 1, u32::MAX] {
        let bytes = hash_match(200, interval);
        let report = verify(&bytes).unwrap_or_else(|e| panic!("interval {interval}: {e}"));
        assert_eq!(report.frames, 200, "interval {interval}");
        let expected = 200u32.div_ceil(interval);
        assert_eq!(report.checksums_verified, expected, "interval {interval}");
    }
}

/// Every prefix of a format-2 log, cut at any byte (chunk boundaries included), is refused or
/// reported as truncated: none passes for a whole, shorter log.
#[test]
fn no_truncation_passes_for_a_whole_log() {
    let bytes = hash_match(100, 5);
    let whole = LogReader::parse(&bytes).expect("parses");
    assert_eq!(whole.completeness(), Completeness::Complete);
    for cut in 0..bytes.len() {
        if let Ok(log) = LogReader::parse(&bytes[..cut]) {
            assert!(matches!(log.completeness(), Completeness::Truncated(Error::LogTruncated { .. })), "cut at {cut}");
            assert!(log.trailer().is_none());
        }
    }
}

#[test]
fn concatenated_logs_and_bytes_after_the_end_are_corrupt() {
    let bytes = hash_match(50, 5);
    let mut twice = bytes.clone();
    twice.extend_from_slice(&bytes);
    assert!(matches!(
        LogReader::parse(&twice),
        Err(Error::LogCorrupt { what: "bytes after the end chunk (two logs concatenated?)", .. })
    ));
    let v1 = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/golden-arena.flog")).expect("v1 log");
    let mut v1_twice = v1.clone();
    v1_twice.extend_from_slice(&v1);
    assert!(matches!(
        LogReader::parse(&v1_twice),
        Err(Error::LogCorrupt { what: "another log begins here (two logs concatenated?)", .. })
    ));
    let mut one_more = bytes.clone();
    one_more.push(0);
    assert!(LogReader::parse(&one_more).is_err());
}

/// Writes the 2-slot frames of `frames` frames, then calls `edit` before finishing.
fn edited(frames: Frame, edit: impl FnOnce(&mut LogWriter<Vec<u8>>)) -> Vec<u8> {
    let mut w = LogWriter::new(Vec::new(), LogHeader::new(2, 2)).expect("header");
    for f in 0..frames {
        w.record_inputs(f, &[LoggedInput::confirmed(&[1]), LoggedInput::confirmed(&[])]).expect("frame");
    }
    edit(&mut w);
    w.finish().expect("finish")
}

#[test]
fn contradicting_parts_are_corrupt_and_name_the_frame() {
    let dup = edited(20, |w| {
        w.record_checksum(5, 1).expect("c");
        w.record_checksum(5, 1).expect("a harmless copy");
        w.record_checksum(10, 1).expect("c");
        w.record_checksum(10, 2).expect("c");
    });
    assert_eq!(
        LogReader::parse(&dup).err(),
        Some(Error::LogInconsistent { what: "two different checksums recorded for one frame", frame: 10 })
    );
    let past = edited(20, |w| w.record_checksum(21, 1).expect("c"));
    assert_eq!(
        LogReader::parse(&past).err(),
        Some(Error::LogInconsistent { what: "a checksum recorded for a frame the log does not hold", frame: 21 })
    );
    let at_end = edited(20, |w| w.record_checksum(20, 1).expect("the state after the last frame"));
    assert!(LogReader::parse(&at_end).is_ok());
    let key = edited(20, |w| w.record_keyframe(30, &[1]).expect("k"));
    assert_eq!(
        LogReader::parse(&key).err(),
        Some(Error::LogInconsistent { what: "a keyframe for a frame the log does not hold", frame: 30 })
    );
}

#[test]
fn trailing_header_bytes_are_corrupt() {
    let bytes = edited(3, |_| {});
    let header_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let mut longer = bytes[..16 + header_len].to_vec();
    longer[12..16].copy_from_slice(&(header_len as u32 + 1).to_le_bytes());
    longer.push(0);
    let crc = framelock_core::replay::crc32(0, &longer);
    longer.extend_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        LogReader::parse(&longer),
        Err(Error::LogCorrupt { what: "bytes after the header's last field", chunk: None, .. })
    ));
}

/// A keyframe is checked against the replay's state at its frame; a forged one names its frame.
#[test]
fn keyframes_are_verified() {
    let good = hash_match(40, 1);
    let log = LogReader::parse(&good).expect("parse");
    // Record the true state at frame 20 as a keyframe, and a forged one at frame 30.
    let mut state = HashSim::new(4);
    Replay::new(&log).seek(&mut state, 20).expect("seek");
    let snapshot = {
        // The state at the start of frame 20 as the session saves it: advance one frame from there.
        let mut again =
            Driver::new(SessionBuilder::new(2).max_input_size(2).start_frame(20).build().expect("session"), state);
        for s in 0..2 {
            again.session_mut().add_remote_input(s, 20, &[0, 0]).expect("input");
        }
        again.advance().expect("advance");
        again.session().final_snapshot(20).expect("snapshot of frame 20").to_vec()
    };
    let rewrite = |keyframes: &[(Frame, &[u8])]| {
        let mut w = LogWriter::new(Vec::new(), log.header().clone()).expect("header");
        let mut c = log.cursor();
        while let Some(f) = c.next_frame().expect("decode") {
            let inputs: Vec<LoggedInput<'_>> = f.inputs().collect();
            w.record_inputs(f.frame(), &inputs).expect("record");
        }
        for (f, cs) in log.checksums() {
            w.record_checksum(f, cs).expect("checksum");
        }
        for &(f, k) in keyframes {
            w.record_keyframe(f, k).expect("keyframe");
        }
        w.finish().expect("finish")
    };
    let ok = rewrite(&[(20, &snapshot)]);
    let ok = LogReader::parse(&ok).expect("parse");
    let report = Replay::new(&ok).verify(&mut HashSim::new(4), &mut |_| {}).expect("verifies");
    assert_eq!(report.keyframes_verified, 1);
    let mut forged = snapshot.clone();
    forged[5] ^= 1;
    let bad = rewrite(&[(20, &snapshot), (30, &forged)]);
    let bad = LogReader::parse(&bad).expect("parse");
    assert_eq!(
        Replay::new(&bad).verify(&mut HashSim::new(4), &mut |_| {}).err(),
        Some(Error::LogInconsistent { what: "the keyframe is not the replay's state at its frame", frame: 30 })
    );
}
