//! Hostile input logs: headers at the edges of what the format allows, edits that keep the CRCs
//! valid, truncation and concatenation. Each must replay, or fail with a typed error naming what
//! and where; never a panic (this file runs with overflow checks on, as every test profile does).

#[path = "../../fuzz/fuzz_targets/log_reader_body.rs"]
mod log_reader;

use framelock_core::replay::{LogHeader, LogReader, LogWriter, Replay};
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
