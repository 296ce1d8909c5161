//! The streaming reader (`LogStream`) against the in-memory one (`LogReader`): the same frames,
//! checksums, keyframes, completeness and errors on arbitrary and damaged logs, and the same
//! verification results when replaying.

#[path = "../../fuzz/fuzz_targets/log_reader_fixed_crc_body.rs"]
mod fixed_crc;

use fixed_crc::fix_crcs;
use fixed_crc::raw::{read_parsed, stream_agrees};
use framelock_core::arena::{self, scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams};
use framelock_core::replay::{LogHeader, LogReader, LogStream, LogWriter, LoggedInput, Replay, VerifyReport};
use framelock_core::testing::HashSim;
use framelock_core::{Error, Frame, Simulation};

use quickcheck::{Arbitrary, Gen, QuickCheck};

// Counts allocations per thread, only inside `framelock_testkit::count` (the other tests run as
// usual).
#[global_allocator]
static GLOBAL: framelock_testkit::Counting = framelock_testkit::Counting;

/// A log written by the writer from arbitrary calls (checksums of any frame in any order, copies
/// and conflicts, keyframes inside and outside the log, finished or not), then damaged.
#[derive(Debug, Clone)]
struct Damaged {
    bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
enum Call {
    Frame,
    Checksum(u32, u64),
    Keyframe(u32, u8),
}

impl Arbitrary for Damaged {
    fn arbitrary(g: &mut Gen) -> Self {
        let slots = 1 + u8::arbitrary(g) % 10;
        let max_input = u16::arbitrary(g) % 5;
        let mut h = LogHeader::new(slots, max_input);
        h.frames_per_chunk = 1 + u16::arbitrary(g) % 40;
        h.first_frame = u32::arbitrary(g) % 3;
        let mut out = Vec::new();
        let mut w = LogWriter::new(&mut out, h.clone()).expect("header");
        let mut inputs: Vec<(u8, Vec<u8>)> = vec![(0, Vec::new()); usize::from(slots)];
        let calls = usize::arbitrary(g) % 300;
        for _ in 0..calls {
            let call = match u8::arbitrary(g) % 10 {
                0 => Call::Checksum(u32::arbitrary(g) % 320, u64::arbitrary(g) % 3),
                1 if bool::arbitrary(g) => Call::Keyframe(u32::arbitrary(g) % 320, u8::arbitrary(g)),
                _ => Call::Frame,
            };
            match call {
                Call::Frame => {
                    for i in inputs.iter_mut() {
                        if u8::arbitrary(g) % 4 == 0 {
                            let len = usize::from(u16::arbitrary(g) % (max_input + 1));
                            *i = (u8::arbitrary(g) % 4, (0..len).map(|_| u8::arbitrary(g)).collect());
                        }
                    }
                    let logged: Vec<_> = inputs.iter().map(|(f, b)| LoggedInput { flags: *f, bytes: b }).collect();
                    let frame = w.next_frame();
                    w.record_inputs(frame, &logged).expect("frame");
                }
                Call::Checksum(f, c) => w.record_checksum(h.first_frame + f, c).expect("checksum"),
                Call::Keyframe(f, len) => {
                    let snapshot: Vec<u8> = (0..len).map(|i| i ^ len).collect();
                    w.record_keyframe(f, &snapshot).expect("keyframe");
                }
            }
        }
        if bool::arbitrary(g) {
            w.finish().expect("finish");
        } else {
            drop(w); // never finished: whole chunks, no end chunk
        }
        let mut bytes = out;
        match u8::arbitrary(g) % 6 {
            0 => {}
            1 => {
                let cut = usize::arbitrary(g) % (bytes.len() + 1);
                bytes.truncate(cut);
            }
            2 if !bytes.is_empty() => {
                let at = usize::arbitrary(g) % bytes.len();
                bytes[at] ^= 1 << (u8::arbitrary(g) % 8);
            }
            3 if !bytes.is_empty() => {
                // A flipped bit behind fixed CRCs reaches the field decoders and the consistency checks.
                let at = usize::arbitrary(g) % bytes.len();
                bytes[at] ^= 1 << (u8::arbitrary(g) % 8);
                bytes = fix_crcs(&bytes);
            }
            4 => {
                // Two logs concatenated, or a log and a piece of itself.
                let n = usize::arbitrary(g) % (bytes.len() + 1);
                let tail = bytes[bytes.len() - n..].to_vec();
                bytes.extend_from_slice(&tail);
            }
            _ => {
                let n = usize::arbitrary(g) % (bytes.len() + 1);
                bytes.drain(..n.min(bytes.len()));
            }
        }
        Damaged { bytes }
    }
}

#[test]
fn the_streaming_reader_agrees_with_the_in_memory_one_on_any_log() {
    fn prop(d: Damaged) -> bool {
        stream_agrees(&d.bytes);
        true
    }
    QuickCheck::new().tests(2_000).quickcheck(prop as fn(Damaged) -> bool);
}

#[test]
fn errors_come_from_the_same_place() {
    // Spot checks that the property test above meets each kind of error (not only success).
    let mut h = LogHeader::new(2, 2);
    h.frames_per_chunk = 4;
    let mut w = LogWriter::new(Vec::new(), h).expect("header");
    for f in 0..20 {
        w.record_inputs(f, &[LoggedInput::confirmed(&[f as u8]), LoggedInput::confirmed(&[])]).expect("frame");
    }
    w.record_checksum(3, 1).expect("checksum");
    w.record_checksum(3, 2).expect("conflict");
    let conflict = w.finish().expect("finish");
    let e = read_parsed(&conflict).expect_err("conflict");
    assert!(matches!(e, Error::LogInconsistent { frame: 3, .. }), "{e:?}");
    stream_agrees(&conflict);
    let mut crc = conflict.clone();
    let last = crc.len() - 30;
    crc[last] ^= 0x10;
    assert!(matches!(read_parsed(&crc), Err(Error::LogChunkCrc { .. })));
    stream_agrees(&crc);
    let cut = &conflict[..conflict.len() - 7];
    assert!(matches!(read_parsed(cut), Err(Error::LogInconsistent { .. })), "consistency is checked on a cut log too");
    stream_agrees(cut);
    for n in 0..conflict.len() {
        stream_agrees(&conflict[..n]);
    }
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).expect("golden log")
}

fn arena_for(h: &LogHeader) -> (Arena, usize, usize) {
    let params = arena::decode_params(&h.sim_params).expect("arena params");
    (Arena::new(params).expect("params"), snapshot_size_bound(&params), scratch_size_bound(&params))
}

/// Verifies with both readers; both results must be equal.
fn verify_both(bytes: &[u8]) -> Result<VerifyReport, Error> {
    let in_memory = LogReader::parse(bytes).and_then(|log| {
        let (mut sim, snap, scratch) = arena_for(log.header());
        Replay::new(&log).max_snapshot_size(snap).frame_arena_size(scratch).verify(&mut sim, &mut |_| {})
    });
    let streamed = LogStream::new(bytes).and_then(|mut log| {
        let (mut sim, snap, scratch) = arena_for(log.header());
        log.replay().max_snapshot_size(snap).frame_arena_size(scratch).verify(&mut sim, &mut |_| {})
    });
    assert_eq!(in_memory, streamed, "Replay::verify and the streaming replay disagree");
    let lag = annotation_lag(bytes);
    let read_ahead = LogStream::new(bytes).and_then(|mut log| {
        let mut ahead = LogStream::new(bytes)?;
        let (mut sim, snap, scratch) = arena_for(log.header());
        let replay = log.replay().read_ahead(&mut ahead, lag);
        replay.max_snapshot_size(snap).frame_arena_size(scratch).verify(&mut sim, &mut |_| {})
    });
    assert_eq!(streamed, read_ahead, "reading ahead changes nothing for a writer's log");
    streamed
}

/// How far after its frame a checksum or keyframe is recorded at most (0 for an unreadable log).
fn annotation_lag(bytes: &[u8]) -> u32 {
    let Ok(mut s) = LogStream::new(bytes) else { return 0 };
    let _ = s.validate();
    s.max_lag()
}

#[test]
fn a_keyframe_far_from_its_frame_needs_the_read_ahead() {
    // A keyframe of frame 10 written at the end of a 600-frame log: the plain streaming replay no
    // longer has that state; with a second stream reading ahead by the lag it compares it.
    let bytes = arena_log(600, 0, None);
    let log = LogReader::parse(&bytes).expect("parse");
    let mut w = LogWriter::new(Vec::new(), log.header().clone()).expect("header");
    let mut c = log.cursor();
    while let Some(f) = c.next_frame().expect("frame") {
        w.record_inputs(f.frame(), &f.inputs().collect::<Vec<_>>()).expect("record");
    }
    for (f, sum) in log.checksums() {
        w.record_checksum(f, sum).expect("checksum");
    }
    w.record_keyframe(10, &[1, 2, 3]).expect("keyframe");
    let bytes = w.finish().expect("finish");
    let lag = annotation_lag(&bytes);
    assert!(lag >= 590, "{lag}");
    let plain = LogStream::new(&bytes[..]).and_then(|mut s| {
        let (mut sim, snap, scratch) = arena_for(s.header());
        s.replay().max_snapshot_size(snap).frame_arena_size(scratch).verify(&mut sim, &mut |_| {})
    });
    assert!(
        matches!(plain, Err(Error::LogInconsistent { frame: 10, what }) if what.contains("too long after")),
        "{plain:?}"
    );
    // A read-ahead shorter than the lag cannot compare it either, and says so.
    let short = LogStream::new(&bytes[..]).and_then(|mut s| {
        let mut ahead = LogStream::new(&bytes[..])?;
        let (mut sim, snap, scratch) = arena_for(s.header());
        let replay = s.replay().read_ahead(&mut ahead, 5).max_snapshot_size(snap).frame_arena_size(scratch);
        replay.verify(&mut sim, &mut |_| {})
    });
    assert!(
        matches!(short, Err(Error::LogInconsistent { frame: 10, what }) if what.contains("than the read-ahead")),
        "{short:?}"
    );
    // The in-memory replay and the read-ahead one both find that it is not the state at frame 10.
    let e = verify_both_ahead(&bytes).expect_err("not the state");
    assert!(
        matches!(e, Error::LogInconsistent { frame: 10, what } if what.contains("not the replay's state")),
        "{e:?}"
    );
}

/// `verify_both` without the plain streaming replay (for logs it cannot verify).
fn verify_both_ahead(bytes: &[u8]) -> Result<VerifyReport, Error> {
    let in_memory = LogReader::parse(bytes).and_then(|log| {
        let (mut sim, snap, scratch) = arena_for(log.header());
        Replay::new(&log).max_snapshot_size(snap).frame_arena_size(scratch).verify(&mut sim, &mut |_| {})
    });
    let read_ahead = LogStream::new(bytes).and_then(|mut log| {
        let mut ahead = LogStream::new(bytes)?;
        let (mut sim, snap, scratch) = arena_for(log.header());
        let replay = log.replay().read_ahead(&mut ahead, annotation_lag(bytes));
        replay.max_snapshot_size(snap).frame_arena_size(scratch).verify(&mut sim, &mut |_| {})
    });
    assert_eq!(in_memory, read_ahead);
    read_ahead
}

#[test]
fn golden_logs_of_every_format_verify_the_same_streaming() {
    for name in ["golden-arena.flog", "golden-arena-v2.flog", "golden-arena-v3.flog"] {
        let report = verify_both(&golden(name)).expect(name);
        assert!(report.checksums_verified > 0, "{name}: {report:?}");
    }
}

/// An arena match recorded with checksums every 10 frames and keyframes every 50, the recording
/// session's inputs changing every frame; `sabotage` changes the state at one frame.
fn arena_log(frames: Frame, keyframe_interval: u32, sabotage: Option<Frame>) -> Vec<u8> {
    let params = ArenaParams { players: 2, seed: 9, ..ArenaParams::default() };
    let mut sim = Arena::new(params).expect("params");
    let mut h = LogHeader::new(2, framelock_core::arena::INPUT_SIZE as u16);
    h.checksum_interval = 10;
    h.keyframe_interval = keyframe_interval;
    h.frames_per_chunk = 16;
    h.simulation = arena::SIMULATION_ID.into();
    h.sim_params = arena::encode_params(&params);
    let mut session = framelock_core::SessionBuilder::new(2)
        .local_slot(0)
        .local_slot(1)
        .max_input_size(framelock_core::arena::INPUT_SIZE)
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params))
        .checksum_interval(10)
        .record_confirmed(true)
        .build()
        .expect("session");
    let mut w = LogWriter::new(Vec::new(), h).expect("header");
    for f in 0..frames {
        for s in 0..2 {
            session.add_local_input(s, &scripted_input(9, s, f)).expect("input");
        }
        let mut step = session.advance().expect("advance");
        framelock_core::fulfil(&mut step, &mut sim).expect("fulfil");
        drop(step);
        w.record_from(&mut session).expect("record");
        if sabotage == Some(f) {
            // A state the recording never had at this frame: an older one, loaded back.
            let older = (0..f).rev().find_map(|g| session.final_snapshot(g)).expect("a final snapshot");
            sim.load(older).expect("load");
        }
    }
    w.finish().expect("finish")
}

#[test]
fn recorded_matches_with_keyframes_verify_the_same_streaming() {
    let bytes = arena_log(700, 50, None);
    let log = LogReader::parse(&bytes).expect("parse");
    assert!(log.keyframes().len() >= 10, "{} keyframes", log.keyframes().len());
    let report = verify_both(&bytes).expect("verifies");
    assert_eq!(report.keyframes_verified as usize, log.keyframes().len(), "every keyframe compared");
    assert!(report.checksums_verified >= 60, "{report:?}");
}

#[test]
fn a_diverging_replay_fails_the_same_streaming() {
    // Recorded with a state the replay cannot have from frame 333 on: the first checksum or
    // keyframe after it differs, in both readers, with the same frame and values.
    let bytes = arena_log(600, 50, Some(333));
    let e = verify_both(&bytes).expect_err("diverges");
    assert!(matches!(e, Error::ReplayDiverged { frame: 340, .. }), "{e:?}");
}

#[test]
fn a_hash_simulation_replays_any_log_the_same() {
    // HashSim cannot match recorded checksums: both readers fail alike (or verify alike when the
    // log's checksums happen to be HashSim's own), on logs from the property generator. The
    // streaming replay reading ahead by the log's lag gives exactly `Replay::verify`'s result; the
    // plain one too, except for its documented limit: a keyframe read after the replay passed its
    // frame (the generator records keyframes of any earlier frame) is an error of its own.
    let mut g = Gen::new(100);
    for _ in 0..200 {
        let d = Damaged::arbitrary(&mut g);
        let bytes = &d.bytes[..];
        let a = LogReader::parse(bytes).and_then(|log| Replay::new(&log).verify(&mut HashSim::new(0), &mut |_| {}));
        let lag = annotation_lag(bytes);
        let ahead = LogStream::new(bytes).and_then(|mut s| {
            let mut ahead = LogStream::new(bytes)?;
            s.replay().read_ahead(&mut ahead, lag).verify(&mut HashSim::new(0), &mut |_| {})
        });
        assert_eq!(a, ahead, "read ahead by {lag} frames: {bytes:?}");
        let b = LogStream::new(bytes).and_then(|mut s| s.replay().verify(&mut HashSim::new(0), &mut |_| {}));
        match b {
            Err(Error::LogInconsistent { what, .. }) if what.contains("too long after") => {
                assert!(lag > 0, "a keyframe read late in a log with no lag: {bytes:?}")
            }
            b => assert_eq!(a, b, "{bytes:?}"),
        }
    }
}

#[test]
fn a_file_error_wins_over_a_first_frame_no_session_can_start_at() {
    // A first frame past 2^31 cannot start a session. The in-memory reader finds a damaged chunk
    // while parsing, before any session is built; the streaming replay must read on and report
    // that same error, not the session's (found by the property test above, about 1 run in 30).
    let mut h = LogHeader::new(2, 1);
    h.first_frame = 3_000_000_000;
    let mut w = LogWriter::new(Vec::new(), h.clone()).expect("header");
    for _ in 0..3 {
        let frame = w.next_frame();
        let inputs = [LoggedInput { flags: 0, bytes: &[1] }, LoggedInput { flags: 0, bytes: &[2] }];
        w.record_inputs(frame, &inputs).expect("frame");
    }
    w.record_checksum(h.first_frame, 7).expect("checksum");
    let valid = w.finish().expect("finish");
    let run = |bytes: &[u8]| {
        let a = LogReader::parse(bytes).and_then(|log| Replay::new(&log).verify(&mut HashSim::new(0), &mut |_| {}));
        let b = LogStream::new(bytes).and_then(|mut s| s.replay().verify(&mut HashSim::new(0), &mut |_| {}));
        assert_eq!(a, b, "the two readers disagree");
        a
    };
    assert!(matches!(run(&valid), Err(Error::InvalidConfig { setting: "start_frame", .. })), "{:?}", run(&valid));
    let empty = LogWriter::new(Vec::new(), h).expect("header").finish().expect("finish");
    let mut damaged = valid.clone();
    damaged[empty.len() - 25 + 6] ^= 0x40; // inside the first frames chunk: its CRC no longer matches
    assert!(matches!(run(&damaged), Err(Error::LogChunkCrc { chunk: 0, .. })), "{:?}", run(&damaged));
}

#[test]
fn a_frames_chunk_over_4_mib_is_refused_by_both_readers() {
    // The limit that bounds what the streaming reader holds is a rule of the format: a CRC-valid
    // frames chunk one byte over it is an error for the in-memory reader too, at its length field.
    let empty = LogWriter::new(Vec::new(), LogHeader::new(1, 1)).expect("header").finish().expect("finish");
    let header_len = empty.len() - 25; // the end chunk is 25 bytes
    let mut bytes = empty[..header_len].to_vec();
    let len = framelock_core::replay::MAX_FRAMES_CHUNK_BODY + 1;
    bytes.push(1);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.resize(bytes.len() + len as usize, 0);
    let crc = framelock_core::replay::crc32(0, &bytes[header_len..]);
    bytes.extend_from_slice(&crc.to_le_bytes());
    let e = read_parsed(&bytes).expect_err("too long");
    assert_eq!(e, Error::LogCorrupt { what: "frames chunk over 4 MiB", byte: header_len as u64 + 1, chunk: Some(0) });
    stream_agrees(&bytes);
    // One byte less is a chunk like any other (here: a malformed one, for the field decoder).
    let mut at_limit = empty[..header_len].to_vec();
    at_limit.push(1);
    at_limit.extend_from_slice(&(len - 1).to_le_bytes());
    at_limit.resize(at_limit.len() + len as usize - 1, 0);
    let crc = framelock_core::replay::crc32(0, &at_limit[header_len..]);
    at_limit.extend_from_slice(&crc.to_le_bytes());
    assert!(matches!(read_parsed(&at_limit), Err(Error::LogCorrupt { what, .. }) if what != "frames chunk over 4 MiB"));
    stream_agrees(&at_limit);
}

/// A decoded frame: its number and every slot's `(flags, bytes)`.
type Decoded = (Frame, Vec<(u8, Vec<u8>)>);

/// `(frame, inputs)` of the next frame of a cursor or stream, for comparing.
fn frame_of(f: Option<framelock_core::replay::LoggedFrame<'_>>) -> Option<Decoded> {
    f.map(|f| (f.frame(), f.inputs().map(|i| (i.flags, i.bytes.to_vec())).collect()))
}

#[test]
fn a_seekable_stream_jumps_to_any_frame_like_cursor_at() {
    fn prop(d: Damaged, picks: Vec<u32>) -> bool {
        let Ok(log) = LogReader::parse(&d.bytes) else { return true };
        if log.frames() == 0 {
            return true;
        }
        let mut s = LogStream::new(std::io::Cursor::new(&d.bytes[..])).expect("header");
        let first = log.header().first_frame;
        for p in picks.iter().take(6) {
            let target = first + p % log.frames();
            s.seek_frame(target).expect("a frame of the log");
            let expected = frame_of(log.cursor_at(target).expect("cursor").next_frame().expect("decode"));
            assert_eq!(frame_of(s.next_frame().expect("decode")), expected, "frame {target}");
        }
        // After any jumps, reading on to the end ends as a fresh stream does.
        while s.next_frame().expect("valid").is_some() {}
        assert_eq!((s.completeness(), s.end_frame()), (log.completeness(), log.end_frame()));
        // Going forward needs no Seek.
        let mut forward = LogStream::new(&d.bytes[..]).expect("header");
        let last = log.end_frame() - 1;
        forward.skip_to(last).expect("the last frame");
        assert_eq!(frame_of(forward.next_frame().expect("decode")).map(|f| f.0), Some(last));
        assert!(matches!(forward.skip_to(first), Err(Error::LogMismatch { .. })), "no going back without Seek");
        assert!(matches!(forward.skip_to(log.end_frame()), Err(Error::LogMismatch { .. })));
        true
    }
    QuickCheck::new().tests(300).quickcheck(prop as fn(Damaged, Vec<u32>) -> bool);
}

#[test]
fn a_seekable_stream_seeks_a_replay_like_replay_seek() {
    // Keyframes every 50 frames, written after the frames that lead to them.
    let bytes = arena_log(400, 50, None);
    let log = LogReader::parse(&bytes).expect("parse");
    for target in [0, 1, 49, 50, 51, 222, 399, 400] {
        let (mut a, snap, scratch) = arena_for(log.header());
        let from_a = Replay::new(&log).max_snapshot_size(snap).frame_arena_size(scratch).seek(&mut a, target);
        let (mut b, _, _) = arena_for(log.header());
        let mut s = LogStream::new(std::io::Cursor::new(&bytes[..])).expect("header");
        // Read some of it first: seeking starts over from the top whatever was read.
        let _ = s.next_frame().expect("frame");
        let from_b = s.replay().max_snapshot_size(snap).frame_arena_size(scratch).seek(&mut b, target);
        assert_eq!(from_a, from_b, "frame {target}");
        let keyframe = log.keyframe_at_or_before(target).expect("a keyframe at 0").frame;
        assert_eq!(from_b.expect("seeks"), keyframe, "from the latest keyframe");
        assert!(target - keyframe < 50 || target == 400, "keyframes every 50 frames");
        assert_eq!((a.frame(), format!("{a:?}")), (b.frame(), format!("{b:?}")), "the same state at {target}");
    }
    let (mut b, snap, scratch) = arena_for(log.header());
    let mut s = LogStream::new(std::io::Cursor::new(&bytes[..])).expect("header");
    let past = s.replay().max_snapshot_size(snap).frame_arena_size(scratch).seek(&mut b, 401);
    assert!(matches!(past, Err(Error::LogMismatch { .. })), "{past:?}");
}

#[test]
fn reading_frames_streaming_allocates_nothing_once_warm() {
    // Inputs of one size that change every frame: every chunk has the same length, so after the
    // first chunk the reader's buffers are as large as they will get.
    let mut h = LogHeader::new(4, 8);
    h.frames_per_chunk = 64;
    let mut w = LogWriter::new(Vec::new(), h).expect("header");
    for f in 0..10_000u32 {
        let b = f.to_le_bytes();
        w.record_inputs(f, &[LoggedInput::confirmed(&b); 4]).expect("frame");
    }
    let bytes = w.finish().expect("finish");
    framelock_testkit::assert_counting();
    for in_place in [false, true] {
        let s = if in_place { LogStream::from_buf_read(&bytes[..]) } else { LogStream::new(&bytes[..]) };
        let mut s = s.expect("header");
        for _ in 0..100 {
            s.next_frame().expect("frame").expect("a frame");
        }
        let (allocs, reallocs, frames) = framelock_testkit::count(|| {
            let mut n = 0u32;
            while let Some(f) = s.next_frame().expect("frame") {
                n += u32::from(f.input(3).bytes[0] == f.frame() as u8);
            }
            n
        });
        assert_eq!(frames, 9_900, "every frame decoded right (in place: {in_place})");
        assert_eq!((allocs, reallocs), (0, 0), "decoding 9,900 frames over about 155 chunks (in place: {in_place})");
    }
}
