//! Input logs: round trips, damage of every kind, recording from sessions, verifying and seeking.

use framelock_core::arena::{scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::replay::{
    Completeness, LogHeader, LogReader, LogWriter, LoggedInput, Replay, SessionKind, FLAG_DISCONNECTED,
};
use framelock_core::{Driver, Error, Frame, Mode, SessionBuilder};
use quickcheck::{Arbitrary, Gen, QuickCheck};

#[derive(Debug, Clone)]
struct Recording {
    slots: u8,
    max_input: u16,
    frames_per_chunk: u16,
    first_frame: Frame,
    /// Per frame, per slot: (flags, bytes).
    frames: Vec<Vec<(u8, Vec<u8>)>>,
    checksums: Vec<(Frame, u64)>,
}

impl Arbitrary for Recording {
    fn arbitrary(g: &mut Gen) -> Self {
        let slots = 1 + u8::arbitrary(g) % 12;
        let max_input = u16::arbitrary(g) % 6;
        let n = usize::arbitrary(g) % 700;
        let mut frames = Vec::with_capacity(n);
        let mut prev: Vec<(u8, Vec<u8>)> = vec![(0, Vec::new()); usize::from(slots)];
        for _ in 0..n {
            for p in prev.iter_mut() {
                // Inputs mostly stay, like a player's.
                if u8::arbitrary(g) % 5 == 0 {
                    let len = usize::from(u16::arbitrary(g) % (max_input + 1));
                    *p = (u8::arbitrary(g) % 4, (0..len).map(|_| u8::arbitrary(g)).collect());
                }
            }
            frames.push(prev.clone());
        }
        let first_frame = if bool::arbitrary(g) { 0 } else { u32::arbitrary(g) % 100_000 };
        let mut checksums: Vec<(Frame, u64)> =
            // A checksum names a frame of the log, or the state after its last frame.
            (0..usize::arbitrary(g) % 50).map(|_| (first_frame + u32::arbitrary(g) % (n as u32 + 1), u64::arbitrary(g))).collect();
        checksums.sort_unstable_by_key(|c| c.0);
        checksums.dedup_by_key(|c| c.0);
        Recording { slots, max_input, frames_per_chunk: 1 + u16::arbitrary(g) % 300, first_frame, frames, checksums }
    }
}

fn write(r: &Recording) -> Vec<u8> {
    let mut h = LogHeader::new(r.slots, r.max_input);
    h.frames_per_chunk = r.frames_per_chunk;
    h.first_frame = r.first_frame;
    h.simulation = "none".into();
    let mut w = LogWriter::new(Vec::new(), h).expect("header");
    let mut pending = r.checksums.iter().peekable();
    for (i, f) in r.frames.iter().enumerate() {
        let frame = r.first_frame + i as Frame;
        let inputs: Vec<LoggedInput<'_>> = f.iter().map(|(flags, b)| LoggedInput { flags: *flags, bytes: b }).collect();
        w.record_inputs(frame, &inputs).expect("record");
        while let Some(&&(cf, c)) = pending.peek() {
            if cf > frame {
                break;
            }
            w.record_checksum(cf, c).expect("checksum");
            pending.next();
        }
    }
    for &(cf, c) in pending {
        w.record_checksum(cf, c).expect("checksum");
    }
    w.finish().expect("finish")
}

/// Every frame of a log, decoded.
fn read_all(log: &LogReader<'_>) -> Vec<Vec<(u8, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut c = log.cursor();
    while let Some(f) = c.next_frame().expect("validated") {
        out.push(f.inputs().map(|i| (i.flags, i.bytes.to_vec())).collect());
    }
    out
}

#[test]
fn any_recording_reads_back_identically() {
    fn prop(r: Recording) -> bool {
        let bytes = write(&r);
        let log = LogReader::parse(&bytes).expect("parse");
        let frames = read_all(&log);
        let seek_ok = (0..r.frames.len()).step_by(37).all(|i| {
            let mut c = log.cursor_at(r.first_frame + i as Frame).expect("in the log");
            let f = c.next_frame().expect("decode").expect("frame");
            f.frame() == r.first_frame + i as Frame
                && f.inputs().map(|x| (x.flags, x.bytes.to_vec())).eq(r.frames[i].clone())
        });
        frames == r.frames
            && log.checksums().collect::<Vec<_>>() == r.checksums
            && log.truncation().is_none()
            && log.frames() as usize == r.frames.len()
            && seek_ok
    }
    QuickCheck::new().tests(300).quickcheck(prop as fn(Recording) -> bool);
}

/// A recorded arena match: 4 players, rollback with delayed remote inputs, 1,500 frames, with
/// checksums every 30 frames and keyframes every 250.
fn recorded_match(frames: Frame) -> Vec<u8> {
    let params = ArenaParams { players: 4, seed: 3, ..ArenaParams::default() };
    let session = SessionBuilder::new(4)
        .local_slot(0)
        .max_input_size(INPUT_SIZE)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params))
        .mode(Mode::Rollback { max_prediction: 8 })
        .record_confirmed(true)
        .build()
        .expect("config");
    let mut d = Driver::new(session, Arena::new(params).expect("params"));
    let mut h = LogHeader::new(4, INPUT_SIZE as u16);
    h.session = SessionKind::Rollback(8);
    h.checksum_interval = 30;
    h.keyframe_interval = 250;
    h.simulation = framelock_core::arena::SIMULATION_ID.into();
    h.sim_params = framelock_core::arena::encode_params(&ArenaParams { players: 4, seed: 3, ..ArenaParams::default() });
    h.frames_per_chunk = 100;
    let mut w = LogWriter::new(Vec::new(), h).expect("header");
    for t in 0..frames + 12 {
        let cur = d.session().current_frame();
        d.session_mut().add_local_input(0, &scripted_input(3, 0, cur)).expect("local");
        for s in 1..4usize {
            // Remote inputs arrive 2..=5 frames late; slot 3 leaves at frame 900.
            for f in t.saturating_sub(5)..t.saturating_sub(1) {
                let arrival = f + 2 + (s as u32 + f) % 4;
                if arrival == t && f < frames + 6 && !(s == 3 && f >= 900) {
                    d.session_mut().add_remote_input(s, f, &scripted_input(3, s, f)).expect("remote");
                }
            }
        }
        if t == 905 {
            d.session_mut().disconnect_slot(3, 900).expect("disconnect");
        }
        d.advance().expect("advance");
        w.record_from(d.session_mut()).expect("record");
    }
    w.finish().expect("finish")
}

fn arena_replay<'l>(log: &'l LogReader<'l>) -> (Replay<'l>, Arena) {
    let params = ArenaParams { players: 4, seed: 3, ..ArenaParams::default() };
    let replay =
        Replay::new(log).max_snapshot_size(snapshot_size_bound(&params)).frame_arena_size(scratch_size_bound(&params));
    (replay, Arena::new(params).expect("params"))
}

#[test]
fn a_recorded_rollback_match_verifies_and_seeks() {
    let bytes = recorded_match(1_500);
    let log = LogReader::parse(&bytes).expect("parse");
    assert!(log.frames() >= 1_500, "{} frames", log.frames());
    assert_eq!(log.keyframes().iter().map(|k| k.frame).collect::<Vec<_>>(), vec![0, 250, 500, 750, 1000, 1250, 1500]);
    assert!(log.checksums().len() >= 50);
    // Slot 3 is disconnected from frame 900 on, and the log says so.
    let mut c = log.cursor_at(899).expect("frame 899");
    assert_eq!(c.next_frame().expect("decode").expect("899").input(3).flags, 0);
    assert_eq!(c.next_frame().expect("decode").expect("900").input(3).flags, FLAG_DISCONNECTED);

    let (replay, mut arena) = arena_replay(&log);
    let report = replay.verify(&mut arena, &mut |_| {}).expect("verifies");
    assert_eq!(report.frames, log.frames());
    assert!(report.checksums_verified >= 50);

    // Seeking to any frame gives the state a straight replay has there.
    for target in [0, 1, 249, 250, 251, 777, 1_499] {
        let (replay, mut seeked) = arena_replay(&log);
        let from = replay.seek(&mut seeked, target).expect("seek");
        assert_eq!(from, target / 250 * 250, "started from the keyframe");
        assert_eq!(seeked.frame(), target);
        let (_, straight) = arena_replay(&log);
        let mut c = log.cursor();
        let mut d = Driver::new(
            SessionBuilder::new(4)
                .max_input_size(INPUT_SIZE)
                .max_snapshot_size(snapshot_size_bound(straight.params()))
                .frame_arena_size(scratch_size_bound(straight.params()))
                .build()
                .expect("s"),
            straight,
        );
        while d.sim().frame() < target {
            let f = c.next_frame().expect("decode").expect("frame");
            for (s, i) in f.inputs().enumerate() {
                if i.flags & FLAG_DISCONNECTED != 0 {
                    d.session_mut().add_disconnected_input(s, f.frame(), i.bytes).expect("input");
                } else {
                    d.session_mut().add_remote_input(s, f.frame(), i.bytes).expect("input");
                }
            }
            d.advance().expect("advance");
        }
        assert_eq!(d.sim().players(), seeked.players(), "frame {target}");
        assert_eq!(d.sim().projectiles(), seeked.projectiles(), "frame {target}");
    }
}

#[test]
fn a_wrong_checksum_is_reported_at_its_frame() {
    let bytes = recorded_match(400);
    let log = LogReader::parse(&bytes).expect("parse");
    // Rewrite the log with the checksum of frame 210 off by one.
    let mut h = log.header().clone();
    h.frames_per_chunk = 64;
    let mut w = LogWriter::new(Vec::new(), h).expect("header");
    let mut c = log.cursor();
    while let Some(f) = c.next_frame().expect("decode") {
        let inputs: Vec<LoggedInput<'_>> = f.inputs().collect();
        w.record_inputs(f.frame(), &inputs).expect("record");
    }
    for (f, cs) in log.checksums() {
        w.record_checksum(f, if f == 210 { cs ^ 1 } else { cs }).expect("checksum");
    }
    let forged = w.finish().expect("finish");
    let forged = LogReader::parse(&forged).expect("parse");
    let (replay, mut arena) = arena_replay(&forged);
    match replay.verify(&mut arena, &mut |_| {}) {
        Err(Error::ReplayDiverged { frame: 210, expected, actual }) => assert_eq!(expected ^ 1, actual),
        other => panic!("expected a divergence at 210, got {other:?}"),
    }
}

#[test]
fn every_truncation_reads_a_clean_prefix_or_fails_cleanly() {
    let bytes = recorded_match(300);
    let full = LogReader::parse(&bytes).expect("parse");
    let all = read_all(&full);
    let header_end = 16 + u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize + 4;
    for cut in 0..bytes.len() {
        match LogReader::parse(&bytes[..cut]) {
            Ok(log) => {
                let prefix = read_all(&log);
                assert!(prefix.len() <= all.len());
                assert_eq!(prefix[..], all[..prefix.len()], "cut at {cut}");
                assert!(cut >= header_end);
                // Cut exactly between chunks it is a shorter log; anywhere else it says where.
                if let Some(Error::LogTruncated { byte, chunk }) = log.truncation() {
                    assert_eq!((byte, chunk.is_some()), (cut as u64, true));
                }
            }
            Err(Error::LogTruncated { byte, chunk: None }) => assert!(cut < header_end && byte == cut as u64),
            Err(e) => panic!("cut at {cut}: {e}"),
        }
    }
}

#[test]
fn every_single_bit_flip_is_caught() {
    let bytes = recorded_match(120);
    let mut caught = 0;
    for bit in 0..bytes.len() * 8 {
        let mut b = bytes.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        let verdict = match LogReader::parse(&b) {
            Err(_) => "rejected",
            Ok(log) if log.truncation().is_some() => "truncated",
            Ok(log) => {
                let (replay, mut arena) = arena_replay(&log);
                match replay.verify(&mut arena, &mut |_| {}) {
                    Ok(_) => panic!("bit {bit} (byte {}) flipped and the log still verifies", bit / 8),
                    Err(_) => "diverged",
                }
            }
        };
        assert!(["rejected", "truncated", "diverged"].contains(&verdict));
        caught += 1;
    }
    assert_eq!(caught, bytes.len() * 8);
}

#[test]
fn garbage_is_rejected_with_where() {
    assert!(matches!(LogReader::parse(b""), Err(Error::LogTruncated { byte: 0, chunk: None })));
    assert!(matches!(LogReader::parse(b"FLO"), Err(Error::LogTruncated { byte: 3, chunk: None })));
    assert!(matches!(LogReader::parse(b"PK\x03\x04 not a log"), Err(Error::LogCorrupt { byte: 0, .. })));
    let mut future = recorded_match(10);
    future[10..12].copy_from_slice(&9u16.to_le_bytes()); // needs a reader of version 9
    assert_eq!(
        LogReader::parse(&future).err(),
        Some(Error::LogUnsupportedVersion { version: 3, min_reader: 9, supported: 3 })
    );
    let e = Error::LogChunkCrc { chunk: 3, byte: 4096 };
    assert_eq!(e.to_string(), "input log is corrupt: chunk 3 (at byte 4096) fails its CRC");
}

/// Verifies a committed log against its committed summary.
fn check_golden(log_name: &str, expected_name: &str, bless: bool) -> LogReader<'static> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data");
    let (log_path, expected_path) = (format!("{dir}/{log_name}"), format!("{dir}/{expected_name}"));
    if bless {
        std::fs::write(&log_path, recorded_match(600)).expect("write golden log");
    }
    let bytes: &'static [u8] = std::fs::read(&log_path).expect("golden log").leak();
    let log = LogReader::parse(bytes).expect("the golden log parses");
    let (replay, mut arena) = arena_replay(&log);
    let report = replay.verify(&mut arena, &mut |_| {}).expect("the golden log verifies");
    assert_eq!(report.keyframes_verified as usize, log.keyframes().len(), "every keyframe is checked");
    let (last_frame, last) = report.last_checksum.expect("checksums");
    let summary = format!(
        "frames={}\nchecksums_verified={}\nlast_checksum={last_frame}:{last:#018x}\nsize={}\n",
        report.frames,
        report.checksums_verified,
        bytes.len()
    );
    if bless {
        std::fs::write(&expected_path, &summary).expect("write expectations");
    }
    assert_eq!(summary, std::fs::read_to_string(&expected_path).expect("expectations"));
    log
}

/// Logs committed to the repository: a change to the format or to the reference simulation that
/// breaks old logs fails here. The format-1 and format-2 logs were written by their writers and can
/// never be rewritten (they record the pre-XXH3 checksum, which their replay still uses);
/// `FRAMELOCK_BLESS=1` rewrites the current-format one (a deliberate act: say why).
#[test]
fn the_committed_golden_logs_still_verify() {
    let v1 = check_golden("golden-arena.flog", "golden-arena.expected", false);
    assert_eq!((v1.format_version(), v1.completeness()), (1, Completeness::NoTrailer));
    let v2 = check_golden("golden-arena-v2.flog", "golden-arena-v2.expected", false);
    assert_eq!((v2.format_version(), v2.completeness()), (2, Completeness::Complete));
    assert_eq!(v2.trailer().map(|t| (t.frames, t.end_frame)), Some((v2.frames(), v2.end_frame())));
    let bless = std::env::var_os("FRAMELOCK_BLESS").is_some();
    let v3 = check_golden("golden-arena-v3.flog", "golden-arena-v3.expected", bless);
    assert_eq!((v3.format_version(), v3.completeness()), (3, Completeness::Complete));
    // The same match recorded with either hash: the same frames checksummed, different values.
    assert_eq!(v2.frames(), v3.frames());
    let (c2, c3): (Vec<_>, Vec<_>) = (v2.checksums().collect(), v3.checksums().collect());
    assert_eq!(c2.iter().map(|c| c.0).collect::<Vec<_>>(), c3.iter().map(|c| c.0).collect::<Vec<_>>());
    assert!(c2.iter().zip(&c3).all(|(a, b)| a.1 != b.1), "format 3 records XXH3-64 checksums");
}
