//! Input logs of any size, read streaming from a file in bounded memory: iterating
//! (framelock_log_stream) and verifying (framelock_log_verify_file, framelock_log_verify_arena_file).
//! framelock_log (log.rs) reads the whole file into memory and indexes it, for rewinding and seeking.

use core::ffi::c_char;
use std::fs::File;
use std::io::BufReader;

use framelock_core::arena::{scratch_size_bound, snapshot_size_bound};
use framelock_core::replay::{LogHeader, LogStream, LoggedFrame, VerifyReport, FLAG_DISCONNECTED, FLAG_SUBSTITUTED};
use framelock_core::{InputStatus, Simulation};

use crate::error::{c_str, check_size, free_box, guard, handle, handle_mut, out, FfiError};
use crate::framelock_status;
use crate::log::{arena_for, framelock_log_info, framelock_verify_report, log_info, report};
use crate::session::{c_input, framelock_callbacks, framelock_input, CallbackSim};

/// The read buffer of a log file.
const BUFFER: usize = 256 << 10;

type FileStream = LogStream<BufReader<File>>;

/// Opens `path` (NUL-terminated UTF-8) and reads its header.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
unsafe fn open_stream(path: *const c_char) -> Result<FileStream, FfiError> {
    // SAFETY: NULL or a NUL-terminated string (the caller's promise).
    let path = unsafe { c_str(path, "path") }?.ok_or(FfiError::Null("path"))?;
    let file = File::open(path).map_err(|err| FfiError::Io { what: "cannot open the log file", err })?;
    Ok(LogStream::from_buf_read(BufReader::with_capacity(BUFFER, file))?)
}

/// An input log read streaming from a file, frame by frame, in memory that does not grow with the
/// file (opaque). Create with framelock_log_stream_open(), free with framelock_log_stream_free().
#[derive(Debug)]
pub struct framelock_log_stream {
    stream: FileStream,
    current: CurrentFrame,
}

/// Opens the log file at `path` (NUL-terminated UTF-8) for reading streaming, and reads its header.
/// Each chunk is validated (CRC, encoding) when it is reached, with the same checks as
/// framelock_log_open(); the checks that need the whole file are made when the last frame has
/// been read. Memory stays bounded whatever the file's size. The caller owns the handle and frees
/// it with framelock_log_stream_free().
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (path not
/// UTF-8); FRAMELOCK_ERR_IO; FRAMELOCK_ERR_LOG_CORRUPT; FRAMELOCK_ERR_LOG_TRUNCATED (the header is
/// incomplete); FRAMELOCK_ERR_LOG_UNSUPPORTED_VERSION.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_stream_open(
    path: *const c_char,
    out_stream: *mut *mut framelock_log_stream,
) -> framelock_status {
    guard(|| {
        let out_stream = out(out_stream, "out_stream")?;
        // SAFETY: NULL or a NUL-terminated string.
        let stream = unsafe { open_stream(path) }?;
        let current = CurrentFrame::new(stream.header());
        let s = Box::new(framelock_log_stream { stream, current });
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_stream.write(Box::into_raw(s)) };
        Ok(())
    })
}

/// Frees a log stream. Accepts NULL (does nothing).
#[no_mangle]
pub unsafe extern "C" fn framelock_log_stream_free(stream: *mut framelock_log_stream) {
    // SAFETY: NULL or a handle from framelock_log_stream_open(), freed once (the C contract).
    unsafe { free_box(stream) }
}

/// Reads the next frame. Writes `*out_has_frame` (false after the last frame: the whole file has
/// been read and checked) and, when true, its number to `*out_frame`; its inputs are read with
/// framelock_log_stream_frame_input(). Allocates nothing.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_IO; FRAMELOCK_ERR_LOG_CORRUPT
/// (a chunk reached now is corrupt, or, at the end, the log's parts contradict each other). After
/// an error the stream gives no more frames.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_stream_next_frame(
    stream: *mut framelock_log_stream,
    out_frame: *mut u32,
    out_has_frame: *mut bool,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { handle_mut(stream, "stream") }?;
        let out_frame = out(out_frame, "out_frame")?;
        let out_has_frame = out(out_has_frame, "out_has_frame")?;
        s.current.clear();
        let next: Option<LoggedFrame<'_>> = s.stream.next_frame()?;
        let found = s.current.take(next);
        // SAFETY: non-NULL, writable out-parameters.
        unsafe { write_found(found, out_frame, out_has_frame) };
        Ok(())
    })
}

/// Writes the input of `slot` in the frame framelock_log_stream_next_frame() returned last to
/// `*out_input`, as framelock_log_frame_input() does. The bytes are owned by the stream and valid
/// until its next call.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_WRONG_STATE (no current frame);
/// FRAMELOCK_ERR_INVALID_ARGUMENT (no such slot).
#[no_mangle]
pub unsafe extern "C" fn framelock_log_stream_frame_input(
    stream: *const framelock_log_stream,
    slot: u32,
    out_input: *mut framelock_input,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { handle(stream, "stream") }?;
        let out_input = out(out_input, "out_input")?;
        let v = s.current.input(slot, "no current frame: call framelock_log_stream_next_frame first")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_input.write(v) };
        Ok(())
    })
}

/// Writes what the stream has read so far to `*out_info` (set its struct_size first): the header's
/// fields, and the frames, distinct checksums, keyframes and bytes read so far. After the last
/// frame these describe the whole file (and `truncated` is set for a log cut short).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_stream_get_info(
    stream: *const framelock_log_stream,
    out_info: *mut framelock_log_info,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { handle(stream, "stream") }?;
        let out_info = out(out_info, "out_info")?;
        // SAFETY: non-NULL; the caller promises a readable struct whose struct_size is set.
        check_size::<framelock_log_info>(unsafe { (*out_info).struct_size }, "framelock_log_info")?;
        let st = &s.stream;
        let mut info = log_info(st.header(), st.end_frame(), st.truncation().is_some(), st.bytes_read());
        info.checksums = u32::try_from(st.checksums_seen()).unwrap_or(u32::MAX);
        info.keyframes = st.keyframes_seen();
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_info.write(info) };
        Ok(())
    })
}

/// Verifies the log file at `path` streaming: a first pass validates the whole file, a second
/// replays it (with a third stream reading the checksums and keyframes ahead of the frames, as far
/// as the first pass saw them recorded after their frames). Memory stays bounded whatever the
/// file's size.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
unsafe fn verify_path<S: Simulation>(
    path: *const c_char,
    sim: impl FnOnce(&FileStream) -> Result<(S, usize, usize), FfiError>,
) -> Result<VerifyReport, FfiError> {
    // SAFETY: as this function's.
    let mut first = unsafe { open_stream(path) }?;
    first.validate()?;
    let lag = first.max_lag();
    let (mut sim, snapshot, arena) = sim(&first)?;
    // SAFETY: as above.
    let (mut log, mut ahead) = unsafe { (open_stream(path)?, open_stream(path)?) };
    let replay = log.replay().read_ahead(&mut ahead, lag).max_snapshot_size(snapshot).frame_arena_size(arena);
    Ok(replay.verify(&mut sim, &mut |_| {})?)
}

/// framelock_log_verify() of the log file at `path` (NUL-terminated UTF-8), read streaming in
/// bounded memory instead of into memory: for logs of any size. Every keyframe is compared by
/// length and XXH3-64 hash with the state the callbacks save at its frame.
///
/// Returns as framelock_log_verify(), and FRAMELOCK_ERR_IO; FRAMELOCK_ERR_LOG_TRUNCATED (the header is
/// incomplete). A log cut short verifies up to its last whole chunk.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_verify_file(
    path: *const c_char,
    callbacks: *const framelock_callbacks,
    max_snapshot_size: usize,
    out_report: *mut framelock_verify_report,
) -> framelock_status {
    guard(|| {
        let out_report = out(out_report, "out_report")?;
        let sim = |log: &FileStream| {
            let h = log.header();
            let mut sim = CallbackSim::new(usize::from(h.slots));
            // SAFETY: NULL or a readable callbacks struct.
            unsafe { sim.set(callbacks, h.first_frame, h.first_frame) }?;
            Ok((sim, max_snapshot_size, 0))
        };
        // SAFETY: NULL or a NUL-terminated string.
        let rep = unsafe { verify_path(path, sim) }?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_report.write(report(rep)) };
        Ok(())
    })
}

/// framelock_log_verify_arena() of the log file at `path`, read streaming in bounded memory.
///
/// Returns as framelock_log_verify_arena(), and FRAMELOCK_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn framelock_log_verify_arena_file(
    path: *const c_char,
    out_report: *mut framelock_verify_report,
) -> framelock_status {
    guard(|| {
        let out_report = out(out_report, "out_report")?;
        let arena = |log: &FileStream| {
            let a = arena_for(log.header())?;
            let p = *a.arena.params();
            Ok((a.arena, snapshot_size_bound(&p), scratch_size_bound(&p)))
        };
        // SAFETY: NULL or a NUL-terminated string.
        let rep = unsafe { verify_path(path, arena) }?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_report.write(report(rep)) };
        Ok(())
    })
}

// ----- shared by framelock_log and framelock_log_stream ------------------------------------------

/// The frame a reader returned last, copied out of it: its inputs' bytes, lengths and flags (so
/// that framelock_*_frame_input() can hand them out until the reader's next call).
#[derive(Debug)]
pub(crate) struct CurrentFrame {
    frame: Option<u32>,
    bytes: Vec<u8>,
    lens: Vec<usize>,
    flags: Vec<u8>,
    max_input: usize,
}

impl CurrentFrame {
    pub(crate) fn new(h: &LogHeader) -> Self {
        let (slots, max_input) = (usize::from(h.slots), usize::from(h.max_input_size));
        CurrentFrame {
            frame: None,
            bytes: vec![0; slots * max_input],
            lens: vec![0; slots],
            flags: vec![0; slots],
            max_input,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.frame = None;
    }

    /// Copies `f` (allocates nothing); returns its number.
    pub(crate) fn take(&mut self, f: Option<LoggedFrame<'_>>) -> Option<u32> {
        self.frame = f.map(|f| {
            for (slot, input) in f.inputs().enumerate() {
                let p = slot * self.max_input;
                self.bytes[p..p + input.bytes.len()].copy_from_slice(input.bytes);
                self.lens[slot] = input.bytes.len();
                self.flags[slot] = input.flags;
            }
            f.frame()
        });
        self.frame
    }

    /// The input of `slot` in the current frame (`none`: the message when there is none).
    pub(crate) fn input(&self, slot: u32, none: &'static str) -> Result<framelock_input, FfiError> {
        if self.frame.is_none() {
            return Err(FfiError::WrongState(none));
        }
        let s = slot as usize;
        let len =
            *self.lens.get(s).ok_or(FfiError::IndexOutOfRange { what: "slot", index: s, len: self.lens.len() })?;
        let flags = self.flags[s];
        let status = if flags & FLAG_DISCONNECTED != 0 {
            InputStatus::Disconnected
        } else if flags & FLAG_SUBSTITUTED != 0 {
            InputStatus::Substituted
        } else {
            InputStatus::Confirmed
        };
        let p = s * self.max_input;
        Ok(c_input(s, &self.bytes[p..p + len], status))
    }
}

/// Writes `*out_has_frame` and, when there is a frame, `*out_frame`.
///
/// # Safety
/// Both pointers are non-NULL and writable.
pub(crate) unsafe fn write_found(found: Option<u32>, out_frame: *mut u32, out_has_frame: *mut bool) {
    // SAFETY: the caller's promise.
    unsafe {
        if let Some(f) = found {
            out_frame.write(f);
        }
        out_has_frame.write(found.is_some());
    }
}
