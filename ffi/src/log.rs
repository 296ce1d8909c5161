//! Input logs: recording (framelock_log_writer), opening, iterating, verifying and seeking
//! (framelock_log).

use core::ffi::c_char;
use core::ptr::NonNull;
use std::fs::File;
use std::io::BufWriter;

use framelock_core::arena::{decode_params, scratch_size_bound, snapshot_size_bound, SIMULATION_ID};
use framelock_core::replay::{
    FrameCursor, LogHeader, LogReader, LogWriter, LoggedInput, Replay, SessionKind, FLAG_DISCONNECTED, FLAG_SUBSTITUTED,
};
use framelock_core::Error;

use crate::arena::{framelock_arena, new_arena};
use crate::error::{bytes, c_str, check_size, free_box, guard, handle, handle_mut, out, write_opt, FfiError};
use crate::framelock_status;
use crate::log_stream::{write_found, CurrentFrame};
use crate::session::{
    framelock_callbacks, framelock_input, framelock_session, observe, CallbackSim, FRAMELOCK_INPUT_CONFIRMED,
    FRAMELOCK_INPUT_DISCONNECTED, FRAMELOCK_INPUT_SUBSTITUTED, FRAMELOCK_MAX_INPUT_SIZE, FRAMELOCK_MAX_SLOTS,
    FRAMELOCK_MODE_LOCKSTEP, FRAMELOCK_MODE_ROLLBACK, FRAMELOCK_MODE_SYNC_TEST,
};

/// What an input log records about itself. Fill with framelock_log_config_init().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_log_config {
    /// sizeof(framelock_log_config).
    pub struct_size: u32,
    /// Player slots, 1..=64 (default 2).
    pub slots: u32,
    /// The largest input in bytes, 0..=1024 (default 8).
    pub max_input_size: u32,
    /// Frames per second the match runs at (default 60; informational).
    pub tick_rate: u32,
    /// How the recorded session runs, a FRAMELOCK_MODE_ constant (default lockstep; informational).
    pub mode: u32,
    /// Its max_prediction or check_distance (informational).
    pub mode_depth: u32,
    /// A checksum is recorded every this many frames by framelock_log_writer_record_session()
    /// (default 60, at least 1).
    pub checksum_interval: u32,
    /// A keyframe snapshot (for seeking) is recorded every this many frames; 0: none (default).
    pub keyframe_interval: u32,
    /// Frames per chunk, 1..=4096: the unit lost when a recording is cut short (default 256).
    pub frames_per_chunk: u32,
    /// The first frame recorded (default 0).
    pub first_frame: u32,
    /// The input of a disconnected slot (may be NULL when default_input_len is 0, the default).
    pub default_input: *const u8,
    /// The length of default_input.
    pub default_input_len: usize,
    /// The simulation's name, NUL-terminated UTF-8, at most 255 bytes, e.g. "arena" (NULL: none).
    pub simulation: *const c_char,
    /// The simulation's parameters in its own encoding (may be NULL when sim_params_len is 0).
    pub sim_params: *const u8,
    /// The length of sim_params, at most 65536.
    pub sim_params_len: usize,
    /// When the recording started, seconds since the Unix epoch (0: unknown, the default).
    pub created_unix: u64,
    /// The program writing the log, NUL-terminated UTF-8, at most 255 bytes (NULL: "libframelock").
    pub creator: *const c_char,
}

/// An input log being recorded to a file (opaque). Create with framelock_log_writer_new(), close
/// with framelock_log_writer_finish(), free with framelock_log_writer_free().
#[derive(Debug)]
pub struct framelock_log_writer {
    writer: Option<LogWriter<BufWriter<File>>>,
    slots: usize,
}

/// An input log read into memory, validated and indexed, with a cursor over its frames (opaque).
/// Create with framelock_log_open() or framelock_log_open_bytes(), free with framelock_log_free().
#[derive(Debug)]
pub struct framelock_log {
    // Drop order matters (see Drop): `cursor` borrows `*reader`, which borrows `*bytes`.
    cursor: Option<FrameCursor<'static>>,
    reader: NonNull<LogReader<'static>>,
    bytes: NonNull<[u8]>,
    /// The frame the cursor returned last, copied.
    current: CurrentFrame,
}

impl Drop for framelock_log {
    fn drop(&mut self) {
        self.cursor = None;
        // SAFETY: both pointers came from Box::into_raw in `log_from_bytes` and are freed once, here,
        // after the cursor that borrowed the reader; the reader (which borrows the bytes) goes first.
        unsafe {
            drop(Box::from_raw(self.reader.as_ptr()));
            drop(Box::from_raw(self.bytes.as_ptr()));
        }
    }
}

impl framelock_log {
    fn reader(&self) -> &LogReader<'static> {
        // SAFETY: `reader` is valid from construction until Drop.
        unsafe { self.reader.as_ref() }
    }
}

/// What a log holds. Set struct_size before calling framelock_log_get_info().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_log_info {
    /// sizeof(framelock_log_info).
    pub struct_size: u32,
    /// Player slots.
    pub slots: u32,
    /// The largest input in bytes.
    pub max_input_size: u32,
    /// Frames per second the match ran at.
    pub tick_rate: u32,
    /// The first frame.
    pub first_frame: u32,
    /// The frame after the last one.
    pub end_frame: u32,
    /// The number of frames.
    pub frames: u32,
    /// The number of recorded checksums (framelock_log_checksum()).
    pub checksums: u32,
    /// The number of keyframe snapshots.
    pub keyframes: u32,
    /// True when the file ends inside a chunk (everything before it was read).
    pub truncated: bool,
    /// The size of the file in bytes.
    pub size: u64,
}

/// What framelock_log_verify() found.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_verify_report {
    /// Frames replayed.
    pub frames: u32,
    /// Recorded checksums that matched the replay.
    pub checksums_verified: u32,
    /// Recorded checksums the replay could not compare (past the last frame).
    pub checksums_unchecked: u32,
    /// The frame of the last checksum compared (valid when has_last_checksum).
    pub last_frame: u32,
    /// True when at least one checksum was compared.
    pub has_last_checksum: bool,
    /// The last checksum compared.
    pub last_checksum: u64,
}

fn session_kind(mode: u32, depth: u32) -> Result<SessionKind, FfiError> {
    match mode {
        FRAMELOCK_MODE_LOCKSTEP => Ok(SessionKind::Lockstep),
        FRAMELOCK_MODE_ROLLBACK => Ok(SessionKind::Rollback(depth)),
        FRAMELOCK_MODE_SYNC_TEST => Ok(SessionKind::SyncTest(depth)),
        _ => Err(FfiError::Invalid("config.mode", "is not a FRAMELOCK_MODE_ constant")),
    }
}

/// Fills `config` with the defaults and sets its struct_size.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_config_init(config: *mut framelock_log_config) -> framelock_status {
    guard(|| {
        let config = out(config, "config")?;
        let c = framelock_log_config {
            struct_size: core::mem::size_of::<framelock_log_config>() as u32,
            slots: 2,
            max_input_size: 8,
            tick_rate: 60,
            mode: FRAMELOCK_MODE_LOCKSTEP,
            mode_depth: 0,
            checksum_interval: 60,
            keyframe_interval: 0,
            frames_per_chunk: 256,
            first_frame: 0,
            default_input: core::ptr::null(),
            default_input_len: 0,
            simulation: core::ptr::null(),
            sim_params: core::ptr::null(),
            sim_params_len: 0,
            created_unix: 0,
            creator: core::ptr::null(),
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { config.write(c) };
        Ok(())
    })
}

/// Creates (or truncates) the file at `path` (NUL-terminated UTF-8) and writes the log header.
/// Recording allocates nothing per frame (one chunk is buffered). The caller owns the handle:
/// close it with framelock_log_writer_finish(), then free it with framelock_log_writer_free().
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_INVALID_ARGUMENT (slots not 1..=64, max_input_size above 1024, frames_per_chunk
/// not 1..=4096, tick_rate above 65535, an unknown mode, path not UTF-8); FRAMELOCK_ERR_LOG_MISMATCH
/// (another field the log header cannot hold, see the message); FRAMELOCK_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_writer_new(
    config: *const framelock_log_config,
    path: *const c_char,
    out_writer: *mut *mut framelock_log_writer,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable config.
        let cfg = unsafe { handle(config, "config") }?;
        check_size::<framelock_log_config>(cfg.struct_size, "framelock_log_config")?;
        // SAFETY: NULL or a NUL-terminated string.
        let path = unsafe { c_str(path, "path") }?.ok_or(FfiError::Null("path"))?;
        let out_writer = out(out_writer, "out_writer")?;
        // Range checks here, so that they are the INVALID_ARGUMENT the header promises (the log
        // header's own validation would report them as a mismatch).
        if !(1..=FRAMELOCK_MAX_SLOTS).contains(&cfg.slots) {
            return Err(FfiError::Invalid("config.slots", "must be 1..=64"));
        }
        if cfg.max_input_size > FRAMELOCK_MAX_INPUT_SIZE {
            return Err(FfiError::Invalid("config.max_input_size", "must be at most 1024"));
        }
        if !(1..=4096).contains(&cfg.frames_per_chunk) {
            return Err(FfiError::Invalid("config.frames_per_chunk", "must be 1..=4096"));
        }
        let slots = u8::try_from(cfg.slots).map_err(|_| FfiError::Invalid("config.slots", "must be 1..=64"))?;
        let max_input = u16::try_from(cfg.max_input_size)
            .map_err(|_| FfiError::Invalid("config.max_input_size", "must be at most 1024"))?;
        let mut h = LogHeader::new(slots, max_input);
        h.tick_rate =
            u16::try_from(cfg.tick_rate).map_err(|_| FfiError::Invalid("config.tick_rate", "must fit 16 bits"))?;
        h.session = session_kind(cfg.mode, cfg.mode_depth)?;
        // SAFETY: NULL (with length 0) or readable bytes, as documented.
        h.default_input = unsafe { bytes(cfg.default_input, cfg.default_input_len, "config.default_input") }?.to_vec();
        h.checksum_interval = cfg.checksum_interval;
        h.keyframe_interval = cfg.keyframe_interval;
        h.frames_per_chunk = u16::try_from(cfg.frames_per_chunk)
            .map_err(|_| FfiError::Invalid("config.frames_per_chunk", "must be 1..=4096"))?;
        h.first_frame = cfg.first_frame;
        // SAFETY: NULL or NUL-terminated strings; NULL (with length 0) or readable bytes.
        unsafe {
            h.simulation = c_str(cfg.simulation, "config.simulation")?.unwrap_or("").to_owned();
            h.sim_params = bytes(cfg.sim_params, cfg.sim_params_len, "config.sim_params")?.to_vec();
            h.creator = c_str(cfg.creator, "config.creator")?.unwrap_or("libframelock").to_owned();
        }
        h.created_unix = cfg.created_unix;
        let file = File::create(path).map_err(|err| FfiError::Io { what: "cannot create the log file", err })?;
        let writer = LogWriter::new(BufWriter::new(file), h)?;
        let w = Box::new(framelock_log_writer { writer: Some(writer), slots: usize::from(slots) });
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_writer.write(Box::into_raw(w)) };
        Ok(())
    })
}

fn open_writer(w: &mut framelock_log_writer) -> Result<&mut LogWriter<BufWriter<File>>, FfiError> {
    w.writer.as_mut().ok_or(FfiError::WrongState("the log writer is finished"))
}

/// Records everything `session` confirmed since the last call: the inputs of newly confirmed frames,
/// a checksum every checksum_interval frames and a keyframe every keyframe_interval frames. Call it
/// after every tick. The session must be created with record_confirmed true (otherwise nothing is
/// recorded) and match the log's slots and input size.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_WRONG_STATE (finished);
/// FRAMELOCK_ERR_LOG_MISMATCH; FRAMELOCK_ERR_LOG_FRAMES_OUT_OF_ORDER; FRAMELOCK_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_writer_record_session(
    writer: *mut framelock_log_writer,
    session: *mut framelock_session,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or live handles.
        let w = unsafe { handle_mut(writer, "writer") }?;
        // SAFETY: as above.
        let mut s = unsafe { observe(session) }?;
        open_writer(w)?.record_from(&mut s.session)?;
        Ok(())
    })
}

/// Records the confirmed inputs of the next frame by hand: `count` entries (one per slot, in slot
/// order) with status CONFIRMED, DISCONNECTED or SUBSTITUTED.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_WRONG_STATE (finished);
/// FRAMELOCK_ERR_INVALID_ARGUMENT (count is not the slots, a predicted input);
/// FRAMELOCK_ERR_INPUT_TOO_LONG; FRAMELOCK_ERR_LOG_FRAMES_OUT_OF_ORDER; FRAMELOCK_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_writer_record_frame(
    writer: *mut framelock_log_writer,
    frame: u32,
    inputs: *const framelock_input,
    count: usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let w = unsafe { handle_mut(writer, "writer") }?;
        if count != w.slots {
            return Err(FfiError::Invalid("count", "must be the log's number of slots"));
        }
        if inputs.is_null() {
            return Err(FfiError::Null("inputs"));
        }
        let mut logged = [LoggedInput::confirmed(&[]); 64];
        for (i, l) in logged.iter_mut().enumerate().take(count) {
            // SAFETY: `inputs` holds `count` readable entries, as documented.
            let p = unsafe { &*inputs.add(i) };
            let flags = match p.status {
                FRAMELOCK_INPUT_CONFIRMED => 0,
                FRAMELOCK_INPUT_DISCONNECTED => FLAG_DISCONNECTED,
                FRAMELOCK_INPUT_SUBSTITUTED => FLAG_SUBSTITUTED,
                _ => {
                    return Err(FfiError::Invalid("inputs[].status", "must be CONFIRMED, DISCONNECTED or SUBSTITUTED"))
                }
            };
            // SAFETY: NULL (with len 0) or `len` readable bytes.
            *l = LoggedInput { flags, bytes: unsafe { bytes(p.bytes, p.len, "inputs[].bytes") }? };
        }
        open_writer(w)?.record_inputs(frame, &logged[..count])?;
        Ok(())
    })
}

/// Records the checksum of the state at the start of `frame`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_WRONG_STATE; FRAMELOCK_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_writer_record_checksum(
    writer: *mut framelock_log_writer,
    frame: u32,
    checksum: u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let w = unsafe { handle_mut(writer, "writer") }?;
        open_writer(w)?.record_checksum(frame, checksum)?;
        Ok(())
    })
}

/// Records a keyframe: the snapshot (`len` bytes at `data`) of the state at the start of `frame`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_WRONG_STATE;
/// FRAMELOCK_ERR_LOG_MISMATCH (larger than 1 GiB); FRAMELOCK_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_writer_record_keyframe(
    writer: *mut framelock_log_writer,
    frame: u32,
    data: *const u8,
    len: usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let w = unsafe { handle_mut(writer, "writer") }?;
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let data = unsafe { bytes(data, len, "data") }?;
        open_writer(w)?.record_keyframe(frame, data)?;
        Ok(())
    })
}

/// Writes the last chunk, flushes and closes the file. Later record calls fail with
/// FRAMELOCK_ERR_WRONG_STATE; the handle must still be freed.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_WRONG_STATE (already
/// finished); FRAMELOCK_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_writer_finish(writer: *mut framelock_log_writer) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let w = unsafe { handle_mut(writer, "writer") }?;
        let lw = w.writer.take().ok_or(FfiError::WrongState("the log writer is finished"))?;
        let buffered = lw.finish()?;
        buffered.into_inner().map_err(|e| FfiError::Io { what: "cannot flush the log file", err: e.into_error() })?;
        Ok(())
    })
}

/// Frees a log writer. An unfinished log keeps every whole chunk written so far (the last, partial
/// one is lost: call framelock_log_writer_finish() first). Accepts NULL (does nothing).
#[no_mangle]
pub unsafe extern "C" fn framelock_log_writer_free(writer: *mut framelock_log_writer) {
    // SAFETY: NULL or a handle from framelock_log_writer_new(), freed once (the C contract).
    unsafe { free_box(writer) }
}

// ----- reading --------------------------------------------------------------------------------------

fn log_from_bytes(data: Vec<u8>) -> Result<Box<framelock_log>, FfiError> {
    let bytes: NonNull<[u8]> = NonNull::from(Box::leak(data.into_boxed_slice()));
    // SAFETY: `bytes` stays allocated until the log's Drop (or the error path below) frees it.
    let parsed = LogReader::parse(unsafe { bytes.as_ref() });
    let reader = match parsed {
        Ok(r) => r,
        Err(e) => {
            // SAFETY: nothing borrows the bytes any more; they came from Box::leak above.
            drop(unsafe { Box::from_raw(bytes.as_ptr()) });
            return Err(e.into());
        }
    };
    let current = CurrentFrame::new(reader.header());
    let reader = NonNull::from(Box::leak(Box::new(reader)));
    Ok(Box::new(framelock_log { cursor: None, reader, bytes, current }))
}

/// Reads the whole file at `path` (NUL-terminated UTF-8), validates every chunk and indexes it. A
/// file cut short inside a chunk opens up to its last whole chunk (framelock_log_get_info() says it was
/// truncated). The caller owns the handle and frees it with framelock_log_free().
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (path not
/// UTF-8); FRAMELOCK_ERR_IO; FRAMELOCK_ERR_LOG_CORRUPT; FRAMELOCK_ERR_LOG_TRUNCATED;
/// FRAMELOCK_ERR_LOG_UNSUPPORTED_VERSION.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_open(path: *const c_char, out_log: *mut *mut framelock_log) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a NUL-terminated string.
        let path = unsafe { c_str(path, "path") }?.ok_or(FfiError::Null("path"))?;
        let out_log = out(out_log, "out_log")?;
        let data = std::fs::read(path).map_err(|err| FfiError::Io { what: "cannot read the log file", err })?;
        let log = log_from_bytes(data)?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_log.write(Box::into_raw(log)) };
        Ok(())
    })
}

/// Like framelock_log_open(), from `len` bytes in memory (copied: the caller keeps its buffer).
///
/// Returns as framelock_log_open(), without FRAMELOCK_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_open_bytes(
    data: *const u8,
    len: usize,
    out_log: *mut *mut framelock_log,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let data = unsafe { bytes(data, len, "data") }?;
        let out_log = out(out_log, "out_log")?;
        let log = log_from_bytes(data.to_vec())?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_log.write(Box::into_raw(log)) };
        Ok(())
    })
}

/// Frees a log. Accepts NULL (does nothing).
#[no_mangle]
pub unsafe extern "C" fn framelock_log_free(log: *mut framelock_log) {
    // SAFETY: NULL or a handle from framelock_log_open*(), freed once (the C contract).
    unsafe { free_box(log) }
}

/// Writes what the log holds to `*out_info` (set its struct_size first).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_get_info(
    log: *const framelock_log,
    out_info: *mut framelock_log_info,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let l = unsafe { handle(log, "log") }?;
        let out_info = out(out_info, "out_info")?;
        // SAFETY: non-NULL; the caller promises a readable struct whose struct_size is set.
        check_size::<framelock_log_info>(unsafe { (*out_info).struct_size }, "framelock_log_info")?;
        let r = l.reader();
        let mut info = log_info(r.header(), r.end_frame(), r.truncation().is_some(), r.size());
        info.checksums = r.checksums().len() as u32;
        info.keyframes = r.keyframes().len() as u32;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_info.write(info) };
        Ok(())
    })
}

/// A log's info from its header and what was read of it (`checksums` and `keyframes`: 0).
pub(crate) fn log_info(h: &LogHeader, end_frame: u32, truncated: bool, size: u64) -> framelock_log_info {
    framelock_log_info {
        struct_size: core::mem::size_of::<framelock_log_info>() as u32,
        slots: u32::from(h.slots),
        max_input_size: u32::from(h.max_input_size),
        tick_rate: u32::from(h.tick_rate),
        first_frame: h.first_frame,
        end_frame,
        frames: end_frame - h.first_frame,
        checksums: 0,
        keyframes: 0,
        truncated,
        size,
    }
}

/// Writes recorded checksum `index` (0-based, by frame) to `*out_frame` and `*out_checksum`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (index not
/// below framelock_log_get_info().checksums).
#[no_mangle]
pub unsafe extern "C" fn framelock_log_checksum(
    log: *const framelock_log,
    index: usize,
    out_frame: *mut u32,
    out_checksum: *mut u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let l = unsafe { handle(log, "log") }?;
        let out_frame = out(out_frame, "out_frame")?;
        let out_checksum = out(out_checksum, "out_checksum")?;
        let mut all = l.reader().checksums();
        let len = all.len();
        let (f, c) = all.nth(index).ok_or(FfiError::IndexOutOfRange { what: "checksum", index, len })?;
        // SAFETY: non-NULL, writable out-parameters.
        unsafe {
            out_frame.write(f);
            out_checksum.write(c);
        }
        Ok(())
    })
}

/// Positions the log's cursor so that the next framelock_log_next_frame() returns `frame` (decoding
/// starts at the chunk that holds it).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_LOG_MISMATCH (the log does not
/// hold `frame`); FRAMELOCK_ERR_LOG_CORRUPT.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_rewind(log: *mut framelock_log, frame: u32) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let l = unsafe { handle_mut(log, "log") }?;
        // SAFETY: the reader lives until the log's Drop, which drops the cursor first; the
        // 'static lifetime never leaves this struct.
        let reader: &'static LogReader<'static> = unsafe { l.reader.as_ref() };
        let cursor = reader.cursor_at(frame)?;
        l.cursor = Some(cursor);
        l.current.clear();
        Ok(())
    })
}

/// Decodes the next frame (the first one after opening, or the one framelock_log_rewind() named).
/// Writes `*out_has_frame` (false after the last frame) and, when true, its number to `*out_frame`;
/// its inputs are read with framelock_log_frame_input(). Allocates nothing.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_LOG_CORRUPT.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_next_frame(
    log: *mut framelock_log,
    out_frame: *mut u32,
    out_has_frame: *mut bool,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let l = unsafe { handle_mut(log, "log") }?;
        let out_frame = out(out_frame, "out_frame")?;
        let out_has_frame = out(out_has_frame, "out_has_frame")?;
        if l.cursor.is_none() {
            // SAFETY: as in framelock_log_rewind().
            let reader: &'static LogReader<'static> = unsafe { l.reader.as_ref() };
            l.cursor = Some(reader.cursor());
        }
        let framelock_log { cursor, current, .. } = l;
        let Some(cursor) = cursor.as_mut() else { return Err(FfiError::WrongState("no cursor")) };
        current.clear();
        let found = current.take(cursor.next_frame()?);
        // SAFETY: non-NULL, writable out-parameters.
        unsafe { write_found(found, out_frame, out_has_frame) };
        Ok(())
    })
}

/// Writes the input of `slot` in the frame framelock_log_next_frame() returned last to
/// `*out_input` (status CONFIRMED, DISCONNECTED or SUBSTITUTED). The bytes are owned by the log
/// and valid until its next call.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_WRONG_STATE (no current frame);
/// FRAMELOCK_ERR_INVALID_ARGUMENT (no such slot).
#[no_mangle]
pub unsafe extern "C" fn framelock_log_frame_input(
    log: *const framelock_log,
    slot: u32,
    out_input: *mut framelock_input,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let l = unsafe { handle(log, "log") }?;
        let out_input = out(out_input, "out_input")?;
        let v = l.current.input(slot, "no current frame: call framelock_log_next_frame first")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_input.write(v) };
        Ok(())
    })
}

pub(crate) fn report(r: framelock_core::replay::VerifyReport) -> framelock_verify_report {
    framelock_verify_report {
        frames: r.frames,
        checksums_verified: r.checksums_verified,
        checksums_unchecked: r.checksums_unchecked,
        last_frame: r.last_checksum.map_or(0, |(f, _)| f),
        has_last_checksum: r.last_checksum.is_some(),
        last_checksum: r.last_checksum.map_or(0, |(_, c)| c),
    }
}

/// Replays every frame of the log through the engine's callbacks, whose state must be the state
/// of the log's first frame (a new game with the log's parameters), and compares every recorded
/// checksum (the snapshots the callbacks save are checksummed as in the recording session).
/// `max_snapshot_size` must hold the game's snapshot. Writes what it checked to `*out_report`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_REPLAY_DIVERGED (the message names the first divergent frame and both checksums);
/// FRAMELOCK_ERR_SIMULATION; FRAMELOCK_ERR_LOG_CORRUPT; FRAMELOCK_ERR_INVALID_CONFIG.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_verify(
    log: *const framelock_log,
    callbacks: *const framelock_callbacks,
    max_snapshot_size: usize,
    out_report: *mut framelock_verify_report,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let l = unsafe { handle(log, "log") }?;
        let out_report = out(out_report, "out_report")?;
        let r = l.reader();
        let mut sim = CallbackSim::new(usize::from(r.header().slots));
        let first = r.header().first_frame;
        // SAFETY: NULL or a readable callbacks struct.
        unsafe { sim.set(callbacks, first, first) }?;
        let rep =
            Replay::new(r).max_snapshot_size(max_snapshot_size).frame_arena_size(0).verify(&mut sim, &mut |_| {})?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_report.write(report(rep)) };
        Ok(())
    })
}

/// Puts the engine's state (through its callbacks) into the state at the start of `frame`: loads
/// the latest keyframe at or before it, if the log has one, and replays the frames from there.
/// Without a keyframe the state must be the state of the log's first frame. Writes the frame
/// replaying started from to `*out_start` (NULL to skip).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_LOG_MISMATCH (the log does not hold `frame`); FRAMELOCK_ERR_SIMULATION.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_seek(
    log: *const framelock_log,
    callbacks: *const framelock_callbacks,
    max_snapshot_size: usize,
    frame: u32,
    out_start: *mut u32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let l = unsafe { handle(log, "log") }?;
        let r = l.reader();
        let mut sim = CallbackSim::new(usize::from(r.header().slots));
        let first = r.header().first_frame;
        let start = r.keyframe_at_or_before(frame).map_or(first, |k| k.frame);
        // SAFETY: NULL or a readable callbacks struct.
        unsafe { sim.set(callbacks, first, start) }?;
        let from = Replay::new(r).max_snapshot_size(max_snapshot_size).frame_arena_size(0).seek(&mut sim, frame)?;
        // SAFETY: NULL or writable, as documented.
        unsafe { write_opt(out_start, from) };
        Ok(())
    })
}

/// A new arena with the log's params (of a log recorded with the reference simulation).
pub(crate) fn arena_for(h: &LogHeader) -> Result<framelock_arena, FfiError> {
    if h.simulation != SIMULATION_ID {
        return Err(
            Error::LogMismatch { what: "the log was not recorded with the reference simulation \"arena\"" }.into()
        );
    }
    let params =
        decode_params(&h.sim_params).map_err(|e| Error::Simulation { frame: h.first_frame, reason: e.reason })?;
    new_arena(params)
}

/// Verifies a log recorded with the reference simulation (simulation "arena", params from
/// framelock_arena_encode_params()) on a new arena built from the log's params.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_LOG_MISMATCH (another
/// simulation); FRAMELOCK_ERR_SIMULATION (bad params); FRAMELOCK_ERR_REPLAY_DIVERGED;
/// FRAMELOCK_ERR_LOG_CORRUPT.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_verify_arena(
    log: *const framelock_log,
    out_report: *mut framelock_verify_report,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let l = unsafe { handle(log, "log") }?;
        let out_report = out(out_report, "out_report")?;
        let r = l.reader();
        let mut a = arena_for(r.header())?;
        let p = *a.arena.params();
        let rep = Replay::new(r)
            .max_snapshot_size(snapshot_size_bound(&p))
            .frame_arena_size(scratch_size_bound(&p))
            .verify(&mut a.arena, &mut |_| {})?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_report.write(report(rep)) };
        Ok(())
    })
}

/// Puts `arena` (built with the log's params, at frame 0 unless the log has keyframes) into the
/// state at the start of `frame`, as framelock_log_seek() does for callbacks.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_LOG_MISMATCH;
/// FRAMELOCK_ERR_SIMULATION.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_seek_arena(
    log: *const framelock_log,
    arena: *mut framelock_arena,
    frame: u32,
    out_start: *mut u32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or live handles.
        let l = unsafe { handle(log, "log") }?;
        // SAFETY: as above.
        let a = unsafe { handle_mut(arena, "arena") }?;
        let p = *a.arena.params();
        let from = Replay::new(l.reader())
            .max_snapshot_size(snapshot_size_bound(&p))
            .frame_arena_size(scratch_size_bound(&p))
            .seek(&mut a.arena, frame)?;
        // SAFETY: NULL or writable, as documented.
        unsafe { write_opt(out_start, from) };
        Ok(())
    })
}
