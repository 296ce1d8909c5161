//! The C ABI called from Rust: the same match through the C ABI and through `Driver` gives the
//! same checksums; callbacks; input logs round trip; errors are status codes with messages.
#![allow(unsafe_code)] // calling the exported `unsafe extern "C" fn`s is the point of these tests

mod common;

use std::ffi::{c_void, CStr, CString};
use std::ptr;

use common::{ok, Rig, LAG, SEED};
use framelock::*;
use framelock_core::arena::{scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE};
use framelock_core::{Driver, Mode, SessionBuilder};

fn driver_checksums(frames: u32) -> Vec<u64> {
    let params = ArenaParams { players: 2, ..ArenaParams::default() };
    let session = SessionBuilder::new(2)
        .local_slot(0)
        .max_input_size(INPUT_SIZE)
        .mode(Mode::Rollback { max_prediction: 8 })
        .max_snapshot_size(snapshot_size_bound(&params))
        .frame_arena_size(scratch_size_bound(&params))
        .build()
        .expect("valid");
    let mut d = Driver::new(session, Arena::new(params).expect("valid"));
    for t in 0..frames {
        d.session_mut().add_local_input(0, &scripted_input(SEED, 0, t)).expect("local");
        if t >= LAG {
            d.session_mut().add_remote_input(1, t - LAG, &scripted_input(SEED, 1, t - LAG)).expect("remote");
        }
        d.advance().expect("advance");
    }
    (0..frames - 10).map(|f| d.session().checksum(f).expect("final")).collect()
}

#[test]
fn the_c_abi_and_the_driver_agree() {
    let want = driver_checksums(300);
    let mut by_request = Rig::new(FRAMELOCK_MODE_ROLLBACK);
    let mut fulfil = Rig::new(FRAMELOCK_MODE_ROLLBACK);
    for _ in 0..300 {
        by_request.tick_by_request(false);
        fulfil.tick_fulfil(false);
    }
    for (f, &c) in want.iter().enumerate() {
        assert_eq!(by_request.checksum(f as u32), c, "frame {f}");
        assert_eq!(fulfil.checksum(f as u32), c, "frame {f}");
    }
    assert!(by_request.stats().rollbacks > 0);
}

#[test]
fn sync_test_through_the_c_abi_finds_no_mismatch() {
    let mut rig = Rig::new(FRAMELOCK_MODE_SYNC_TEST);
    for _ in 0..200 {
        rig.tick_by_request(true);
    }
    let s = rig.stats();
    assert_eq!(s.desyncs, 0);
    assert!(s.frames_resimulated > 0);
}

/// A C-style game: one i64 per slot, saved as 16 bytes.
#[derive(Default)]
struct Counter {
    frame: u32,
    v: [i64; 2],
    saves: u32,
}

unsafe extern "C" fn save(user: *mut c_void, frame: u32, snap: *mut framelock_snapshot) -> i32 {
    // SAFETY: `user` is the Counter passed in the callbacks struct.
    let g = unsafe { &mut *(user as *mut Counter) };
    assert_eq!(frame, g.frame);
    g.saves += 1;
    let mut bytes = [0u8; 20];
    bytes[..4].copy_from_slice(&g.frame.to_le_bytes());
    bytes[4..12].copy_from_slice(&g.v[0].to_le_bytes());
    bytes[12..].copy_from_slice(&g.v[1].to_le_bytes());
    // SAFETY: `snap` is valid during the callback.
    (unsafe { framelock_snapshot_write(snap, bytes.as_ptr(), bytes.len()) } != framelock_status::FRAMELOCK_OK) as i32
}

unsafe extern "C" fn load(user: *mut c_void, frame: u32, data: *const u8, len: usize) -> i32 {
    // SAFETY: `user` is the Counter; `data` holds `len` bytes during the call.
    let (g, b) = unsafe { (&mut *(user as *mut Counter), std::slice::from_raw_parts(data, len)) };
    g.frame = u32::from_le_bytes(b[..4].try_into().expect("4"));
    g.v[0] = i64::from_le_bytes(b[4..12].try_into().expect("8"));
    g.v[1] = i64::from_le_bytes(b[12..20].try_into().expect("8"));
    assert_eq!(g.frame, frame);
    0
}

unsafe extern "C" fn advance(user: *mut c_void, frame: u32, inputs: *const framelock_input, n: usize) -> i32 {
    // SAFETY: `user` is the Counter; `inputs` holds `n` entries during the call.
    let (g, ins) = unsafe { (&mut *(user as *mut Counter), std::slice::from_raw_parts(inputs, n)) };
    assert_eq!(frame, g.frame);
    for i in ins {
        let b = if i.len > 0 { unsafe { *i.bytes } } else { 0 };
        g.v[i.slot as usize] += i64::from(b) * i64::from(frame % 7 + 1);
    }
    g.frame += 1;
    0
}

fn callbacks(g: &mut Counter) -> framelock_callbacks {
    framelock_callbacks {
        struct_size: std::mem::size_of::<framelock_callbacks>() as u32,
        user: g as *mut Counter as *mut c_void,
        save_state: Some(save),
        load_state: Some(load),
        advance_frame: Some(advance),
    }
}

#[test]
fn callbacks_record_and_verify_a_log() {
    let dir = std::env::temp_dir().join(format!("framelock-ffi-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let path = CString::new(dir.join("counter.flog").to_str().expect("utf-8")).expect("no NUL");
    // SAFETY: valid locals and handles throughout.
    unsafe {
        let mut cfg = std::mem::zeroed::<framelock_session_config>();
        ok(framelock_session_config_init(&mut cfg));
        cfg.max_input_size = 1;
        cfg.max_snapshot_size = 20;
        cfg.record_confirmed = true;
        let mut s = ptr::null_mut();
        ok(framelock_session_new(&cfg, &mut s));
        let mut lc = std::mem::zeroed::<framelock_log_config>();
        ok(framelock_log_config_init(&mut lc));
        lc.max_input_size = 1;
        lc.checksum_interval = 10;
        lc.keyframe_interval = 50;
        let mut w = ptr::null_mut();
        ok(framelock_log_writer_new(&lc, path.as_ptr(), &mut w));
        let mut g = Counter::default();
        let cb = callbacks(&mut g);
        for t in 0..200u32 {
            let b = [(t / 9 % 4) as u8];
            ok(framelock_session_add_local_input(s, 0, b.as_ptr(), 1, ptr::null_mut()));
            if t >= 2 {
                let r = [((t - 2) / 5 % 3) as u8];
                ok(framelock_session_add_remote_input(s, 1, t - 2, r.as_ptr(), 1));
            }
            let mut o = framelock_outcome::default();
            ok(framelock_session_advance_with(s, &cb, &mut o));
            assert!(o.advanced);
            ok(framelock_log_writer_record_session(w, s));
        }
        ok(framelock_log_writer_finish(w));
        framelock_log_writer_free(w);
        let mut stats =
            framelock_stats { struct_size: std::mem::size_of::<framelock_stats>() as u32, ..Default::default() };
        ok(framelock_session_get_stats(s, &mut stats));
        assert!(stats.rollbacks > 0, "the remote input changes: predictions fail");
        framelock_session_free(s);

        let mut log = ptr::null_mut();
        ok(framelock_log_open(path.as_ptr(), &mut log));
        let mut info =
            framelock_log_info { struct_size: std::mem::size_of::<framelock_log_info>() as u32, ..Default::default() };
        ok(framelock_log_get_info(log, &mut info));
        assert_eq!(info.frames, 198, "frames 0..198 are confirmed");
        assert!(info.keyframes > 0);
        let mut fresh = Counter::default();
        let cb2 = callbacks(&mut fresh);
        let mut rep = framelock_verify_report::default();
        ok(framelock_log_verify(log, &cb2, 20, &mut rep));
        assert_eq!(rep.frames, 198);
        assert!(rep.checksums_verified >= 19, "{rep:?}");
        // Streaming from the file gives the same report (keyframes included).
        let mut streamed = Counter::default();
        let cb_file = callbacks(&mut streamed);
        let mut rep_file = framelock_verify_report::default();
        ok(framelock_log_verify_file(path.as_ptr(), &cb_file, 20, &mut rep_file));
        assert_eq!(format!("{rep_file:?}"), format!("{rep:?}"));
        // Seek to frame 120 from the keyframe at 100.
        let mut seeker = Counter::default();
        let cb3 = callbacks(&mut seeker);
        let mut from = 0;
        ok(framelock_log_seek(log, &cb3, 20, 120, &mut from));
        assert_eq!((from, seeker.frame), (100, 120));
        // A game that diverges is caught at the first recorded checksum.
        let mut wrong = Counter { v: [1, 0], ..Counter::default() };
        let cb4 = callbacks(&mut wrong);
        let st = framelock_log_verify(log, &cb4, 20, &mut rep);
        assert_eq!(st, framelock_status::FRAMELOCK_ERR_REPLAY_DIVERGED);
        let msg = CStr::from_ptr(framelock_last_error_message()).to_string_lossy().into_owned();
        assert!(msg.contains("frame 0"), "{msg}");
        let mut wrong = Counter { v: [1, 0], ..Counter::default() };
        let cb5 = callbacks(&mut wrong);
        let st = framelock_log_verify_file(path.as_ptr(), &cb5, 20, &mut rep);
        assert_eq!(st, framelock_status::FRAMELOCK_ERR_REPLAY_DIVERGED);
        let streamed_msg = CStr::from_ptr(framelock_last_error_message()).to_string_lossy().into_owned();
        assert_eq!(streamed_msg, msg, "the same divergence, streaming");
        framelock_log_free(log);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn errors_are_status_codes_with_messages() {
    // SAFETY: NULL and valid pointers only; the point is that none of this crashes.
    unsafe {
        let mut o = framelock_outcome::default();
        assert_eq!(framelock_session_advance(ptr::null_mut(), &mut o), framelock_status::FRAMELOCK_ERR_NULL_ARGUMENT);
        assert_eq!(framelock_last_error_status(), framelock_status::FRAMELOCK_ERR_NULL_ARGUMENT);
        let msg = CStr::from_ptr(framelock_last_error_message()).to_str().expect("utf-8");
        assert_eq!(msg, "argument `session` is NULL");
        assert_eq!(CStr::from_ptr(framelock_status_name(7114)).to_str(), Ok("FRAMELOCK_ERR_NO_OPEN_STEP"));
        framelock_clear_last_error();
        assert_eq!(CStr::from_ptr(framelock_last_error_message()).to_bytes(), b"");
        assert_eq!(CStr::from_ptr(framelock_version()).to_str(), Ok(env!("CARGO_PKG_VERSION")));
        let mut c = 0;
        ok(framelock_checksum64(b"abc".as_ptr(), 3, &mut c));
        assert_eq!(c, framelock_core::checksum64(b"abc"));
    }
}

#[test]
fn status_names_cover_every_code() {
    for code in [0, 7001, 7002, 7003, 7004, 7005, 7006, 7100, 7116, 7200, 7206, 7999] {
        // SAFETY: a static string.
        let name = unsafe { CStr::from_ptr(framelock_status_name(code)) }.to_str().expect("utf-8");
        assert!(name.starts_with("FRAMELOCK_") && name != "FRAMELOCK_UNKNOWN_STATUS", "{code}: {name}");
    }
}

/// `framelock_session_save` looks first at the request read last, then at all of them: an engine
/// that reads every request before fulfilling any (so the last one read is rarely its save) still
/// saves the right frames, and a frame the step does not save is still refused.
#[test]
fn saves_find_their_request_whatever_was_read_last() {
    // SAFETY: a valid config, handle and buffers; the handle is freed at the end.
    unsafe {
        let mut cfg = std::mem::zeroed::<framelock_session_config>();
        ok(framelock_session_config_init(&mut cfg));
        cfg.slots = 1;
        cfg.mode = FRAMELOCK_MODE_SYNC_TEST;
        cfg.check_distance = 2;
        cfg.max_input_size = 1;
        cfg.max_snapshot_size = 8;
        let mut s = ptr::null_mut();
        ok(framelock_session_new(&cfg, &mut s));
        let mut state = 0u64;
        let mut saves_out_of_hint = 0;
        for t in 0..40u32 {
            ok(framelock_session_add_local_input(s, 0, [(t % 7) as u8].as_ptr(), 1, ptr::null_mut()));
            let mut o = framelock_outcome::default();
            ok(framelock_session_advance(s, &mut o));
            let mut n = 0usize;
            ok(framelock_session_request_count(s, &mut n));
            let mut reqs = vec![framelock_request::default(); n];
            for (i, r) in reqs.iter_mut().enumerate() {
                ok(framelock_session_request(s, i, r));
            }
            if n > 0 {
                let st = framelock_session_save(s, 0xdead_0000, state.to_le_bytes().as_ptr(), 8, ptr::null());
                assert_eq!(st, framelock_status::FRAMELOCK_ERR_NO_SUCH_SNAPSHOT);
            }
            for (i, r) in reqs.iter().enumerate() {
                match r.kind {
                    FRAMELOCK_REQUEST_SAVE_STATE => {
                        saves_out_of_hint += usize::from(i + 1 != n);
                        ok(framelock_session_save(s, r.frame, state.to_le_bytes().as_ptr(), 8, ptr::null()));
                    }
                    FRAMELOCK_REQUEST_LOAD_STATE => {
                        let (mut data, mut len) = (ptr::null(), 0usize);
                        ok(framelock_session_load(s, r.frame, &mut data, &mut len));
                        assert_eq!(len, 8);
                        state = u64::from_le_bytes(std::slice::from_raw_parts(data, 8).try_into().expect("8 bytes"));
                    }
                    _ => {
                        let mut ins = [framelock_input::default(); 1];
                        let mut k = 0usize;
                        ok(framelock_session_request_inputs(s, i, ins.as_mut_ptr(), 1, &mut k));
                        state = state.wrapping_mul(31).wrapping_add(u64::from(*ins[0].bytes));
                    }
                }
            }
            ok(framelock_session_finish_step(s));
            let mut e = framelock_event::default();
            ok(framelock_session_poll_event(s, &mut e));
            assert_eq!(e.kind, FRAMELOCK_EVENT_NONE, "tick {t}: a sync-test mismatch means a save went astray");
        }
        assert!(saves_out_of_hint > 40, "{saves_out_of_hint} saves were not the request read last");
        framelock_session_free(s);
    }
}

/// framelock_session_add_remote_inputs() is one framelock_session_add_input_with_status() per
/// entry: the same match, the same checksums; an entry that fails stops the batch after the
/// entries before it were added, and the message names it.
#[test]
fn a_batch_of_remote_inputs_is_one_call_per_entry() {
    let (mut single, mut batched) = (Rig::new(FRAMELOCK_MODE_ROLLBACK), Rig::new(FRAMELOCK_MODE_ROLLBACK));
    batched.batch_remote = true;
    for _ in 0..300 {
        single.tick_by_request(false);
        batched.tick_by_request(false);
    }
    assert_eq!(single.checksum(290), batched.checksum(290));
    assert_eq!(single.stats().rollbacks, batched.stats().rollbacks);
    assert!(batched.stats().rollbacks > 20);
    let s = batched.session;
    let f = batched.tick - LAG + 2; // not confirmed yet
    let b = [1u8, 2];
    let entry = |slot, status| framelock_input { bytes: b.as_ptr(), len: 2, slot, status };
    // SAFETY: a valid handle; entries pointing at `b`; NULL only where the test says so.
    unsafe {
        ok(framelock_session_add_remote_inputs(s, f, ptr::null(), 0));
        let st = framelock_session_add_remote_inputs(s, f, ptr::null(), 1);
        assert_eq!(st, framelock_status::FRAMELOCK_ERR_NULL_ARGUMENT);
        let st = framelock_session_add_remote_inputs(s, f, &entry(1, 9), 1);
        assert_eq!(st, framelock_status::FRAMELOCK_ERR_INVALID_ARGUMENT);
        // Slot 0 is local: entry 1 fails after entry 0 (slot 1) was added.
        let two = [entry(1, FRAMELOCK_INPUT_CONFIRMED), entry(0, FRAMELOCK_INPUT_CONFIRMED)];
        let st = framelock_session_add_remote_inputs(s, f, two.as_ptr(), 2);
        assert_eq!(st, framelock_status::FRAMELOCK_ERR_WRONG_SLOT_KIND);
        let msg = CStr::from_ptr(framelock_last_error_message()).to_string_lossy().into_owned();
        assert!(msg.starts_with("inputs[1]: ") && msg.contains("were added"), "{msg}");
        let st = framelock_session_add_remote_input(s, 1, f, b.as_ptr(), 2);
        assert_eq!(st, framelock_status::FRAMELOCK_ERR_ALREADY_CONFIRMED, "entry 0 was added");
    }
}
