//! Input logs read streaming from a file through the C ABI (framelock_log_stream_*,
//! framelock_log_verify_arena_file): the same frames, inputs, info and verification as the
//! in-memory framelock_log, and the same errors.
#![allow(unsafe_code)] // calling the exported `unsafe extern "C" fn`s is the point of these tests

mod common;

use std::ffi::{CStr, CString};
use std::ptr;

use common::ok;
use framelock::*;
use framelock_core::arena::{self, scripted_input, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::replay::{LogHeader, LogWriter};
use framelock_core::{fulfil, SessionBuilder};

/// A 2-player arena match of `frames` frames with checksums every 20 and keyframes every 100.
fn arena_log(frames: u32) -> Vec<u8> {
    let params = ArenaParams { players: 2, seed: 4, ..ArenaParams::default() };
    let mut sim = Arena::new(params).expect("params");
    let mut h = LogHeader::new(2, INPUT_SIZE as u16);
    h.checksum_interval = 20;
    h.keyframe_interval = 100;
    h.frames_per_chunk = 32;
    h.simulation = arena::SIMULATION_ID.into();
    h.sim_params = arena::encode_params(&params);
    let mut session = SessionBuilder::new(2)
        .local_slot(0)
        .local_slot(1)
        .max_input_size(INPUT_SIZE)
        .max_snapshot_size(arena::snapshot_size_bound(&params))
        .frame_arena_size(arena::scratch_size_bound(&params))
        .checksum_interval(20)
        .record_confirmed(true)
        .build()
        .expect("session");
    let mut w = LogWriter::new(Vec::new(), h).expect("header");
    for f in 0..frames {
        for s in 0..2 {
            session.add_local_input(s, &scripted_input(4, s, f)).expect("input");
        }
        let mut step = session.advance().expect("advance");
        fulfil(&mut step, &mut sim).expect("fulfil");
        drop(step);
        w.record_from(&mut session).expect("record");
    }
    w.finish().expect("finish")
}

fn info() -> framelock_log_info {
    framelock_log_info { struct_size: std::mem::size_of::<framelock_log_info>() as u32, ..Default::default() }
}

fn last_error() -> String {
    // SAFETY: a NUL-terminated string owned by the library.
    unsafe { CStr::from_ptr(framelock_last_error_message()) }.to_string_lossy().into_owned()
}

#[test]
fn a_streamed_log_reads_and_verifies_like_an_opened_one() {
    let dir = std::env::temp_dir().join(format!("framelock-ffi-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("arena.flog");
    let bytes = arena_log(750);
    std::fs::write(&file, &bytes).expect("write");
    let path = CString::new(file.to_str().expect("utf-8")).expect("no NUL");
    // SAFETY: valid locals and handles throughout.
    unsafe {
        let (mut log, mut stream) = (ptr::null_mut(), ptr::null_mut());
        ok(framelock_log_open(path.as_ptr(), &mut log));
        ok(framelock_log_stream_open(path.as_ptr(), &mut stream));
        let mut no_frame = framelock_input::default();
        assert_eq!(
            framelock_log_stream_frame_input(stream, 0, &mut no_frame),
            framelock_status::FRAMELOCK_ERR_WRONG_STATE
        );
        let (mut frames, mut f1, mut f2, mut has1, mut has2) = (0u32, 0, 0, false, false);
        loop {
            ok(framelock_log_next_frame(log, &mut f1, &mut has1));
            ok(framelock_log_stream_next_frame(stream, &mut f2, &mut has2));
            assert_eq!(has1, has2);
            if !has1 {
                break;
            }
            assert_eq!(f1, f2);
            for slot in 0..2 {
                let (mut a, mut b) = (framelock_input::default(), framelock_input::default());
                ok(framelock_log_frame_input(log, slot, &mut a));
                ok(framelock_log_stream_frame_input(stream, slot, &mut b));
                let (a_bytes, b_bytes) =
                    (std::slice::from_raw_parts(a.bytes, a.len), std::slice::from_raw_parts(b.bytes, b.len));
                assert_eq!((a_bytes, a.status, a.slot), (b_bytes, b.status, b.slot), "frame {f1} slot {slot}");
            }
            frames += 1;
        }
        assert_eq!(frames, 750);
        let (mut i1, mut i2) = (info(), info());
        ok(framelock_log_get_info(log, &mut i1));
        ok(framelock_log_stream_get_info(stream, &mut i2));
        assert_eq!(format!("{i1:?}"), format!("{i2:?}"), "after the last frame the stream knows the whole file");
        assert!(i2.keyframes >= 7 && i2.checksums >= 37, "{i2:?}");
        framelock_log_stream_free(stream);

        let (mut r1, mut r2) = (framelock_verify_report::default(), framelock_verify_report::default());
        ok(framelock_log_verify_arena(log, &mut r1));
        ok(framelock_log_verify_arena_file(path.as_ptr(), &mut r2));
        assert_eq!(format!("{r1:?}"), format!("{r2:?}"));
        assert!(r2.checksums_verified >= 37, "{r2:?}");
        framelock_log_free(log);

        // A damaged file: the same status and message as opening it whole.
        let mut bad = bytes.clone();
        let at = bad.len() / 2;
        bad[at] ^= 0x40;
        std::fs::write(&file, &bad).expect("write");
        let st_open = framelock_log_open(path.as_ptr(), &mut log);
        let msg_open = last_error();
        assert_eq!(st_open, framelock_status::FRAMELOCK_ERR_LOG_CORRUPT);
        assert_eq!(framelock_log_verify_arena_file(path.as_ptr(), &mut r2), st_open);
        assert_eq!(last_error(), msg_open);
        ok(framelock_log_stream_open(path.as_ptr(), &mut stream));
        let st = loop {
            let st = framelock_log_stream_next_frame(stream, &mut f2, &mut has2);
            if st != framelock_status::FRAMELOCK_OK || !has2 {
                break st;
            }
        };
        assert_eq!((st, last_error()), (st_open, msg_open), "the error when the damaged chunk is reached");
        framelock_log_stream_free(stream);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn misuse_of_the_streaming_calls_is_an_error_not_a_crash() {
    // SAFETY: NULL and valid pointers only.
    unsafe {
        let mut s = ptr::null_mut();
        let missing = CString::new("/nonexistent/dir/x.flog").expect("no NUL");
        assert_eq!(framelock_log_stream_open(missing.as_ptr(), &mut s), framelock_status::FRAMELOCK_ERR_IO);
        assert_eq!(framelock_log_stream_open(ptr::null(), &mut s), framelock_status::FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(
            framelock_log_stream_open(missing.as_ptr(), ptr::null_mut()),
            framelock_status::FRAMELOCK_ERR_NULL_ARGUMENT
        );
        let (mut f, mut has) = (0, false);
        assert_eq!(
            framelock_log_stream_next_frame(ptr::null_mut(), &mut f, &mut has),
            framelock_status::FRAMELOCK_ERR_NULL_ARGUMENT
        );
        let mut rep = framelock_verify_report::default();
        assert_eq!(framelock_log_verify_arena_file(missing.as_ptr(), &mut rep), framelock_status::FRAMELOCK_ERR_IO);
        assert_eq!(
            framelock_log_verify_file(ptr::null(), ptr::null(), 0, &mut rep),
            framelock_status::FRAMELOCK_ERR_NULL_ARGUMENT
        );
        framelock_log_stream_free(ptr::null_mut());
    }
}
