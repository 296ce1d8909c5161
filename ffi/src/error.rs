//! Status codes, the per-thread last error, and the guard every export runs in.

use core::fmt;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use framelock_core::Error;

/// The result of every fallible function: `FRAMELOCK_OK` (0) or an error in `7000..=7999`.
///
/// After an error, framelock_last_error_message() describes it on the calling thread. Codes are
/// stable: new ones may be added, existing ones never change their number or meaning.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum framelock_status {
    /// Success: the out-parameters were written.
    FRAMELOCK_OK = 0,
    /// A required pointer argument (handle, out-parameter or buffer) was NULL.
    FRAMELOCK_ERR_NULL_ARGUMENT = 7001,
    /// An argument is out of range (an unknown constant, an index past the end, a request of the
    /// wrong kind, a string that is not UTF-8).
    FRAMELOCK_ERR_INVALID_ARGUMENT = 7002,
    /// A struct's `struct_size` is not the size this library was built with (header and library
    /// from different versions, or the field was not set).
    FRAMELOCK_ERR_STRUCT_SIZE = 7003,
    /// A caller-provided buffer is too small; the message names the size needed.
    FRAMELOCK_ERR_BUFFER_TOO_SMALL = 7004,
    /// The call is not valid in the handle's current state (a finished log writer, a log cursor
    /// with no current frame).
    FRAMELOCK_ERR_WRONG_STATE = 7005,
    /// A bug inside framelock (a Rust panic) was caught at the boundary. The handle involved should
    /// be freed and not used again.
    FRAMELOCK_ERR_PANIC = 7006,
    /// Another thread is inside a call on the same handle (a handle is used by one thread at a
    /// time). Nothing was done; the message names the handle.
    FRAMELOCK_ERR_BUSY = 7007,
    /// A callback called into the handle whose call is running it (a save_state, load_state or
    /// advance_frame callback must not call its own session). Nothing was done.
    FRAMELOCK_ERR_REENTRANT = 7008,
    /// A session setting is out of range (the message names it).
    FRAMELOCK_ERR_INVALID_CONFIG = 7100,
    /// A slot index is not below the number of slots.
    FRAMELOCK_ERR_UNKNOWN_SLOT = 7101,
    /// A local input for a remote slot, or a remote input for a local slot.
    FRAMELOCK_ERR_WRONG_SLOT_KIND = 7102,
    /// An input is longer than max_input_size.
    FRAMELOCK_ERR_INPUT_TOO_LONG = 7103,
    /// The input of that slot and frame is already confirmed.
    FRAMELOCK_ERR_ALREADY_CONFIRMED = 7104,
    /// An input for a frame the session no longer keeps.
    FRAMELOCK_ERR_FRAME_TOO_OLD = 7105,
    /// An input too far ahead for the input window.
    FRAMELOCK_ERR_BEYOND_WINDOW = 7106,
    /// framelock_session_advance() before this tick's input of a local slot was added.
    FRAMELOCK_ERR_MISSING_LOCAL_INPUT = 7107,
    /// The slot is already disconnected, or the frame is before its first unconfirmed frame.
    FRAMELOCK_ERR_INVALID_DISCONNECT = 7108,
    /// No local checksum of that frame is kept (too old, not final yet, or never taken).
    FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE = 7109,
    /// Too many remote checksums wait for frames not yet confirmed locally.
    FRAMELOCK_ERR_CHECKSUM_QUEUE_FULL = 7110,
    /// A frame arena reached its cap (the reference simulation's scratch memory).
    FRAMELOCK_ERR_ARENA_EXHAUSTED = 7111,
    /// A snapshot does not fit max_snapshot_size.
    FRAMELOCK_ERR_SNAPSHOT_TOO_LARGE = 7112,
    /// No snapshot of that frame is held (a save request was not fulfilled), or the frame is not
    /// one the open step saves.
    FRAMELOCK_ERR_NO_SUCH_SNAPSHOT = 7113,
    /// A request was fulfilled while no step is open: call framelock_session_advance() first.
    FRAMELOCK_ERR_NO_OPEN_STEP = 7114,
    /// The frame counter would pass UINT32_MAX.
    FRAMELOCK_ERR_FRAME_OVERFLOW = 7115,
    /// The simulation (a callback returning nonzero, or the reference simulation) failed.
    FRAMELOCK_ERR_SIMULATION = 7116,
    /// The session is in the failed state: a step failed and no saved state with the inputs after
    /// it was held to start again from (lockstep with a checksum_interval above 1). Only
    /// framelock_session_get_info(), _get_stats(), _poll_event(), the observation calls and
    /// framelock_session_free() still work: free the session and start again from a state of the
    /// game's own.
    FRAMELOCK_ERR_SESSION_FAILED = 7117,
    /// An input log is corrupt (bad field, failed CRC: the message has the byte offset; or contents
    /// that contradict each other, such as two checksums for one frame: the message names the frame).
    FRAMELOCK_ERR_LOG_CORRUPT = 7200,
    /// An input log ends inside its header.
    FRAMELOCK_ERR_LOG_TRUNCATED = 7201,
    /// An input log was written in a format version this library cannot read.
    FRAMELOCK_ERR_LOG_UNSUPPORTED_VERSION = 7202,
    /// Frames given to a log writer are not consecutive.
    FRAMELOCK_ERR_LOG_FRAMES_OUT_OF_ORDER = 7203,
    /// An input log does not fit its use (another simulation, other slots, a frame it lacks).
    FRAMELOCK_ERR_LOG_MISMATCH = 7204,
    /// The operating system refused a file operation.
    FRAMELOCK_ERR_IO = 7205,
    /// A replay computed a checksum other than the recorded one; the message names the frame.
    FRAMELOCK_ERR_REPLAY_DIVERGED = 7206,
    /// A connect token is malformed, not FRAMELOCK_CONNECT_TOKEN_BYTES long, or for another
    /// protocol id.
    FRAMELOCK_ERR_INVALID_TOKEN = 7300,
    /// An error this version of the C ABI has no dedicated code for (see the message).
    FRAMELOCK_ERR_OTHER = 7999,
}

use framelock_status::*;

/// Everything a call through the C ABI can fail with.
#[derive(Debug)]
pub(crate) enum FfiError {
    Core(Error),
    Null(&'static str),
    Invalid(&'static str, &'static str),
    IndexOutOfRange {
        what: &'static str,
        index: usize,
        len: usize,
    },
    StructSize {
        name: &'static str,
        got: u32,
        expected: usize,
    },
    BufferTooSmall {
        arg: &'static str,
        needed: usize,
        got: usize,
    },
    WrongState(&'static str),
    NotSaved {
        frame: u32,
    },
    NoLocalChecksum {
        frame: u32,
        until: u32,
    },
    NoMismatch,
    NoFinalSnapshot {
        frame: u32,
        until: u32,
    },
    Busy(&'static str),
    Reentrant(&'static str),
    SessionFailed,
    /// A step whose fulfilment failed, undone: `reload` is the frame the next step loads first.
    StepFailed {
        cause: Error,
        redo: u32,
        reload: Option<u32>,
    },
    /// Entry `index` of a batch of inputs failed (the entries before it were added).
    InBatch {
        index: usize,
        cause: Error,
    },
    /// A step whose fulfilment failed and could not be undone: the session failed.
    StepUnrecoverable {
        cause: Error,
        frame: u32,
    },
    Io {
        what: &'static str,
        err: std::io::Error,
    },
    Token(&'static str),
    Panic,
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        FfiError::Core(e)
    }
}

impl FfiError {
    fn status(&self) -> framelock_status {
        match self {
            FfiError::Core(e) => core_status(e),
            FfiError::Null(_) => FRAMELOCK_ERR_NULL_ARGUMENT,
            FfiError::Invalid(..) | FfiError::IndexOutOfRange { .. } => FRAMELOCK_ERR_INVALID_ARGUMENT,
            FfiError::StructSize { .. } => FRAMELOCK_ERR_STRUCT_SIZE,
            FfiError::BufferTooSmall { .. } => FRAMELOCK_ERR_BUFFER_TOO_SMALL,
            FfiError::WrongState(_) => FRAMELOCK_ERR_WRONG_STATE,
            FfiError::NotSaved { .. } => FRAMELOCK_ERR_NO_SUCH_SNAPSHOT,
            FfiError::NoLocalChecksum { .. } => FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE,
            FfiError::NoMismatch | FfiError::NoFinalSnapshot { .. } => FRAMELOCK_ERR_NO_SUCH_SNAPSHOT,
            FfiError::Busy(_) => FRAMELOCK_ERR_BUSY,
            FfiError::Reentrant(_) => FRAMELOCK_ERR_REENTRANT,
            FfiError::SessionFailed | FfiError::StepUnrecoverable { .. } => FRAMELOCK_ERR_SESSION_FAILED,
            FfiError::StepFailed { cause, .. } | FfiError::InBatch { cause, .. } => core_status(cause),
            FfiError::Io { .. } => FRAMELOCK_ERR_IO,
            FfiError::Token(_) => FRAMELOCK_ERR_INVALID_TOKEN,
            FfiError::Panic => FRAMELOCK_ERR_PANIC,
        }
    }
}

fn core_status(e: &Error) -> framelock_status {
    match e {
        Error::InvalidConfig { .. } => FRAMELOCK_ERR_INVALID_CONFIG,
        Error::UnknownSlot { .. } => FRAMELOCK_ERR_UNKNOWN_SLOT,
        Error::WrongSlotKind { .. } => FRAMELOCK_ERR_WRONG_SLOT_KIND,
        Error::InputTooLong { .. } => FRAMELOCK_ERR_INPUT_TOO_LONG,
        Error::AlreadyConfirmed { .. } => FRAMELOCK_ERR_ALREADY_CONFIRMED,
        Error::FrameTooOld { .. } => FRAMELOCK_ERR_FRAME_TOO_OLD,
        Error::BeyondWindow { .. } => FRAMELOCK_ERR_BEYOND_WINDOW,
        Error::MissingLocalInput { .. } => FRAMELOCK_ERR_MISSING_LOCAL_INPUT,
        Error::InvalidDisconnect { .. } => FRAMELOCK_ERR_INVALID_DISCONNECT,
        Error::ChecksumUnavailable { .. } => FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE,
        Error::ChecksumQueueFull { .. } => FRAMELOCK_ERR_CHECKSUM_QUEUE_FULL,
        Error::ArenaExhausted { .. } => FRAMELOCK_ERR_ARENA_EXHAUSTED,
        Error::SnapshotTooLarge { .. } => FRAMELOCK_ERR_SNAPSHOT_TOO_LARGE,
        Error::NoSuchSnapshot { .. } => FRAMELOCK_ERR_NO_SUCH_SNAPSHOT,
        Error::NoOpenStep => FRAMELOCK_ERR_NO_OPEN_STEP,
        Error::FrameOverflow => FRAMELOCK_ERR_FRAME_OVERFLOW,
        Error::Simulation { .. } => FRAMELOCK_ERR_SIMULATION,
        Error::LogCorrupt { .. } | Error::LogChunkCrc { .. } | Error::LogInconsistent { .. } => {
            FRAMELOCK_ERR_LOG_CORRUPT
        }
        Error::LogTruncated { .. } => FRAMELOCK_ERR_LOG_TRUNCATED,
        Error::LogUnsupportedVersion { .. } => FRAMELOCK_ERR_LOG_UNSUPPORTED_VERSION,
        Error::LogFramesOutOfOrder { .. } => FRAMELOCK_ERR_LOG_FRAMES_OUT_OF_ORDER,
        Error::LogMismatch { .. } => FRAMELOCK_ERR_LOG_MISMATCH,
        Error::Io { .. } => FRAMELOCK_ERR_IO,
        Error::ReplayDiverged { .. } => FRAMELOCK_ERR_REPLAY_DIVERGED,
        _ => FRAMELOCK_ERR_OTHER,
    }
}

impl fmt::Display for FfiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The core names its Rust method; a C caller opens a step with framelock_session_advance().
            FfiError::Core(Error::NoOpenStep) => f.write_str(
                "no step is open: call framelock_session_advance() first, and fulfil its requests before \
                 any other call on the session closes the step",
            ),
            FfiError::Core(e) => write!(f, "{e}"),
            FfiError::Null(arg) => write!(f, "argument `{arg}` is NULL"),
            FfiError::Invalid(arg, why) => write!(f, "argument `{arg}` {why}"),
            FfiError::IndexOutOfRange { what, index, len } => {
                write!(f, "{what} index {index} is out of range (there are {len})")
            }
            FfiError::StructSize { name, got, expected } => write!(
                f,
                "{name}.struct_size is {got}, this library expects {expected}: set it to sizeof({name}) \
                 (or fill the struct with its _init function), and use the header of this library"
            ),
            FfiError::BufferTooSmall { arg, needed, got } => {
                write!(f, "buffer `{arg}` holds {got} elements or bytes, {needed} are needed")
            }
            FfiError::WrongState(why) => f.write_str(why),
            FfiError::NotSaved { frame } => write!(f, "the open step has no SaveState request for frame {frame}"),
            FfiError::NoLocalChecksum { frame, until } if frame >= until => write!(
                f,
                "frame {frame} has no final checksum yet: frames below {until} have theirs (a frame's checksum is \
                 final once every input of it is confirmed and its snapshot saved)"
            ),
            FfiError::NoLocalChecksum { frame, until } => write!(
                f,
                "the checksum of frame {frame} is no longer kept (or was never taken, in lockstep with a \
                 checksum_interval): only the last checksum_history frames below {until} are"
            ),
            FfiError::Io { what, err } => write!(f, "{what}: {err}"),
            FfiError::Token(why) => write!(f, "the connect token {why}"),
            FfiError::NoMismatch => f.write_str("the session found no sync-test mismatch (or is no sync test)"),
            FfiError::NoFinalSnapshot { frame, until } if frame >= until => write!(
                f,
                "frame {frame} is not final yet: frames below {until} are (its snapshot may still be rolled back)"
            ),
            FfiError::NoFinalSnapshot { frame, .. } => write!(
                f,
                "the snapshot of frame {frame} is no longer held: the ring keeps the last max_prediction + 2 \
                 frames or so; write snapshots out as soon as a desync event names their frame"
            ),
            FfiError::Busy(h) => write!(
                f,
                "another thread is inside a call on this {h}: a handle must be used by one thread at a time \
                 (nothing was done)"
            ),
            FfiError::Reentrant(h) => write!(
                f,
                "a callback called into the {h} whose call is running it: callbacks must not call their own \
                 {h} (nothing was done)"
            ),
            FfiError::SessionFailed => f.write_str(
                "the session failed: a step failed with no saved state to start again from; free it and create \
                 a new session from a state of the game",
            ),
            FfiError::StepFailed { cause, redo, reload: Some(l) } => write!(
                f,
                "{}; the step was undone: the next advance loads frame {l} and simulates frame {redo} again",
                Plain(cause)
            ),
            FfiError::StepFailed { cause, redo, reload: None } => write!(
                f,
                "{}; the step was undone: the game still holds frame {redo}, the next advance simulates it again",
                Plain(cause)
            ),
            FfiError::InBatch { index, cause } => {
                write!(f, "inputs[{index}]: {} (the inputs before it were added)", Plain(cause))
            }
            FfiError::StepUnrecoverable { cause, frame } => write!(
                f,
                "{}; no saved state with the inputs after it is held to start frame {frame} again (lockstep \
                 with a checksum_interval above 1): the session failed, free it",
                Plain(cause)
            ),
            FfiError::Panic => {
                f.write_str("internal error: a panic inside framelock was caught at the C boundary")?;
                PANIC_AT.with(|p| match p.try_borrow() {
                    Ok(p) if p.len > 0 => write!(f, " ({})", core::str::from_utf8(&p.buf[..p.len]).unwrap_or("?")),
                    _ => Ok(()),
                })
            }
        }
    }
}

/// A core error as the C caller should read it (the C function names, not the Rust ones).
struct Plain<'a>(&'a Error);

impl fmt::Display for Plain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&FfiError::Core(*self.0), f)
    }
}

/// Where the last caught panic happened (file:line), for the message; written by the panic hook.
struct PanicAt {
    buf: [u8; 160],
    len: usize,
}

thread_local! {
    /// How many framelock calls are running on this thread (nested through callbacks).
    static DEPTH: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
    static PANIC_AT: RefCell<PanicAt> = const { RefCell::new(PanicAt { buf: [0; 160], len: 0 }) };
}

/// Installs, once, a panic hook that keeps panics inside framelock calls silent (they become
/// FRAMELOCK_ERR_PANIC with the location in the message) and passes every other panic of the
/// process to the hook that was there before.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if DEPTH.with(|d| d.get()) == 0 {
                return previous(info);
            }
            let _ = PANIC_AT.try_with(|p| {
                if let (Ok(mut p), Some(loc)) = (p.try_borrow_mut(), info.location()) {
                    let mut w = Fixed { buf: &mut p.buf, len: 0 };
                    let _ = fmt::write(&mut w, format_args!("{}:{}", loc.file(), loc.line()));
                    let len = w.len;
                    p.len = len;
                }
            });
        }));
    });
}

/// Runs the engine's code (a callback) outside the silence of the panic hook: a panic there (a
/// Rust engine's, which then aborts at its `extern "C"` boundary) keeps its message.
pub(crate) fn outside<R>(f: impl FnOnce() -> R) -> R {
    let depth = DEPTH.with(|d| d.replace(0));
    let r = f();
    DEPTH.with(|d| d.set(depth));
    r
}

/// Counts a framelock call running on this thread while alive.
struct Depth;

impl Depth {
    // Inlined with `guard` into every export: an outlined thread-local access was a call per export.
    #[inline(always)]
    fn enter() -> Depth {
        DEPTH.with(|d| d.set(d.get() + 1));
        Depth
    }
}

impl Drop for Depth {
    #[inline(always)]
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// The capacity of the last-error buffer, NUL included; longer messages are cut.
const MESSAGE_CAP: usize = 512;

struct LastError {
    status: framelock_status,
    buf: [u8; MESSAGE_CAP],
}

thread_local! {
    // A fixed buffer: recording an error never allocates (and no destructor is registered).
    static LAST: RefCell<LastError> = const { RefCell::new(LastError { status: FRAMELOCK_OK, buf: [0; MESSAGE_CAP] }) };
}

/// A `fmt::Write` into a fixed buffer that cuts at a UTF-8 boundary and keeps room for the NUL.
///
/// Hand-rolled rather than `arrayvec::ArrayString`: that refuses a piece that does not fit whole
/// (a long message would lose its tail piece entirely instead of being cut), and C needs the NUL
/// after the text, which it does not keep.
struct Fixed<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl fmt::Write for Fixed<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - 1 - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

fn record(e: &FfiError) -> framelock_status {
    let status = e.status();
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.status = status;
            let mut w = Fixed { buf: &mut l.buf, len: 0 };
            let _ = fmt::write(&mut w, format_args!("{e}"));
            let len = w.len;
            l.buf[len] = 0;
        }
    });
    status
}

/// Runs the body of an export: catches panics and records errors as the thread's last error.
///
/// Inlined into each export (each has its own closure, so this is no extra code): a call of its
/// own made every export store its arguments on the stack and pass pointers to them, about 20
/// instructions per call on the tick path (issue 13's profile).
#[inline(always)]
pub(crate) fn guard(f: impl FnOnce() -> Result<(), FfiError>) -> framelock_status {
    install_panic_hook();
    let _depth = Depth::enter();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => FRAMELOCK_OK,
        Ok(Err(e)) => record(&e),
        Err(_) => record(&FfiError::Panic),
    }
}

/// Like [`guard`] for functions that cannot report a status (`_free`): panics are swallowed.
pub(crate) fn guard_void(f: impl FnOnce()) {
    install_panic_hook();
    let _depth = Depth::enter();
    let _ = catch_unwind(AssertUnwindSafe(f));
}

pub(crate) fn last_message_ptr() -> *const core::ffi::c_char {
    LAST.try_with(|l| l.as_ptr() as *const LastError)
        .map(|p| {
            // SAFETY: `p` points into this thread's TLS slot, alive for the thread's lifetime; taking the
            // address of a field of it does not create a reference that outlives the borrow above.
            unsafe { core::ptr::addr_of!((*p).buf) as *const core::ffi::c_char }
        })
        .unwrap_or(c"".as_ptr())
}

pub(crate) fn last_status() -> framelock_status {
    LAST.try_with(|l| l.try_borrow().map(|l| l.status).unwrap_or(FRAMELOCK_ERR_OTHER)).unwrap_or(FRAMELOCK_ERR_OTHER)
}

pub(crate) fn clear_last() {
    let _ = LAST.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.status = FRAMELOCK_OK;
            l.buf[0] = 0;
        }
    });
}

/// The name of a status code, e.g. `"FRAMELOCK_ERR_NULL_ARGUMENT"`.
pub(crate) fn status_name(code: i32) -> &'static core::ffi::CStr {
    const ALL: &[(framelock_status, &core::ffi::CStr)] = &[
        (FRAMELOCK_OK, c"FRAMELOCK_OK"),
        (FRAMELOCK_ERR_NULL_ARGUMENT, c"FRAMELOCK_ERR_NULL_ARGUMENT"),
        (FRAMELOCK_ERR_INVALID_ARGUMENT, c"FRAMELOCK_ERR_INVALID_ARGUMENT"),
        (FRAMELOCK_ERR_STRUCT_SIZE, c"FRAMELOCK_ERR_STRUCT_SIZE"),
        (FRAMELOCK_ERR_BUFFER_TOO_SMALL, c"FRAMELOCK_ERR_BUFFER_TOO_SMALL"),
        (FRAMELOCK_ERR_WRONG_STATE, c"FRAMELOCK_ERR_WRONG_STATE"),
        (FRAMELOCK_ERR_PANIC, c"FRAMELOCK_ERR_PANIC"),
        (FRAMELOCK_ERR_BUSY, c"FRAMELOCK_ERR_BUSY"),
        (FRAMELOCK_ERR_REENTRANT, c"FRAMELOCK_ERR_REENTRANT"),
        (FRAMELOCK_ERR_INVALID_CONFIG, c"FRAMELOCK_ERR_INVALID_CONFIG"),
        (FRAMELOCK_ERR_UNKNOWN_SLOT, c"FRAMELOCK_ERR_UNKNOWN_SLOT"),
        (FRAMELOCK_ERR_WRONG_SLOT_KIND, c"FRAMELOCK_ERR_WRONG_SLOT_KIND"),
        (FRAMELOCK_ERR_INPUT_TOO_LONG, c"FRAMELOCK_ERR_INPUT_TOO_LONG"),
        (FRAMELOCK_ERR_ALREADY_CONFIRMED, c"FRAMELOCK_ERR_ALREADY_CONFIRMED"),
        (FRAMELOCK_ERR_FRAME_TOO_OLD, c"FRAMELOCK_ERR_FRAME_TOO_OLD"),
        (FRAMELOCK_ERR_BEYOND_WINDOW, c"FRAMELOCK_ERR_BEYOND_WINDOW"),
        (FRAMELOCK_ERR_MISSING_LOCAL_INPUT, c"FRAMELOCK_ERR_MISSING_LOCAL_INPUT"),
        (FRAMELOCK_ERR_INVALID_DISCONNECT, c"FRAMELOCK_ERR_INVALID_DISCONNECT"),
        (FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE, c"FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE"),
        (FRAMELOCK_ERR_CHECKSUM_QUEUE_FULL, c"FRAMELOCK_ERR_CHECKSUM_QUEUE_FULL"),
        (FRAMELOCK_ERR_ARENA_EXHAUSTED, c"FRAMELOCK_ERR_ARENA_EXHAUSTED"),
        (FRAMELOCK_ERR_SNAPSHOT_TOO_LARGE, c"FRAMELOCK_ERR_SNAPSHOT_TOO_LARGE"),
        (FRAMELOCK_ERR_NO_SUCH_SNAPSHOT, c"FRAMELOCK_ERR_NO_SUCH_SNAPSHOT"),
        (FRAMELOCK_ERR_NO_OPEN_STEP, c"FRAMELOCK_ERR_NO_OPEN_STEP"),
        (FRAMELOCK_ERR_FRAME_OVERFLOW, c"FRAMELOCK_ERR_FRAME_OVERFLOW"),
        (FRAMELOCK_ERR_SIMULATION, c"FRAMELOCK_ERR_SIMULATION"),
        (FRAMELOCK_ERR_SESSION_FAILED, c"FRAMELOCK_ERR_SESSION_FAILED"),
        (FRAMELOCK_ERR_LOG_CORRUPT, c"FRAMELOCK_ERR_LOG_CORRUPT"),
        (FRAMELOCK_ERR_LOG_TRUNCATED, c"FRAMELOCK_ERR_LOG_TRUNCATED"),
        (FRAMELOCK_ERR_LOG_UNSUPPORTED_VERSION, c"FRAMELOCK_ERR_LOG_UNSUPPORTED_VERSION"),
        (FRAMELOCK_ERR_LOG_FRAMES_OUT_OF_ORDER, c"FRAMELOCK_ERR_LOG_FRAMES_OUT_OF_ORDER"),
        (FRAMELOCK_ERR_LOG_MISMATCH, c"FRAMELOCK_ERR_LOG_MISMATCH"),
        (FRAMELOCK_ERR_IO, c"FRAMELOCK_ERR_IO"),
        (FRAMELOCK_ERR_REPLAY_DIVERGED, c"FRAMELOCK_ERR_REPLAY_DIVERGED"),
        (FRAMELOCK_ERR_INVALID_TOKEN, c"FRAMELOCK_ERR_INVALID_TOKEN"),
        (FRAMELOCK_ERR_OTHER, c"FRAMELOCK_ERR_OTHER"),
    ];
    ALL.iter().find(|(s, _)| *s as i32 == code).map_or(c"FRAMELOCK_UNKNOWN_STATUS", |(_, n)| n)
}

// ----- argument helpers ----------------------------------------------------------------------------

/// A shared reference to a handle, or `Null(name)`.
///
/// # Safety
/// `p` is NULL or a valid pointer to a live `T` (a handle from the matching `_new`).
pub(crate) unsafe fn handle<'a, T>(p: *const T, name: &'static str) -> Result<&'a T, FfiError> {
    // SAFETY: the caller promises `p` is NULL or valid; NULL is checked here.
    unsafe { p.as_ref() }.ok_or(FfiError::Null(name))
}

/// A unique reference to a handle, or `Null(name)`.
///
/// # Safety
/// As [`handle`], and no other reference to `*p` is alive.
pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, name: &'static str) -> Result<&'a mut T, FfiError> {
    // SAFETY: the caller promises `p` is NULL or valid and unaliased; NULL is checked here.
    unsafe { p.as_mut() }.ok_or(FfiError::Null(name))
}

/// Checks an out-parameter is not NULL.
pub(crate) fn out<T>(p: *mut T, name: &'static str) -> Result<*mut T, FfiError> {
    if p.is_null() {
        Err(FfiError::Null(name))
    } else {
        Ok(p)
    }
}

/// Writes `v` to an optional out-parameter (NULL: the caller does not want it).
///
/// # Safety
/// `p` is NULL or writable.
pub(crate) unsafe fn write_opt<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: non-NULL, writable as the caller promises.
        unsafe { p.write(v) };
    }
}

/// Writes a borrowed byte slice to the out-parameters `*out_data` and `*out_len`, both checked
/// for NULL before `find` looks the bytes up (so a NULL out-parameter is the error reported).
///
/// # Safety
/// `out_data` and `out_len` are NULL or writable; the bytes stay valid as long as the export
/// documents.
pub(crate) unsafe fn write_bytes<'a>(
    out_data: *mut *const u8,
    out_len: *mut usize,
    find: impl FnOnce() -> Result<&'a [u8], FfiError>,
) -> Result<(), FfiError> {
    let out_data = out(out_data, "out_data")?;
    let out_len = out(out_len, "out_len")?;
    let data = find()?;
    // SAFETY: non-NULL, writable out-parameters.
    unsafe {
        out_data.write(data.as_ptr());
        out_len.write(data.len());
    }
    Ok(())
}

/// The body of a `_free` export of a plain boxed handle: NULL does nothing.
///
/// # Safety
/// `p` is NULL or a handle from `Box::into_raw` (its `_new` export), freed once.
pub(crate) unsafe fn free_box<T>(p: *mut T) {
    guard_void(|| {
        if !p.is_null() {
            // SAFETY: as the caller promises.
            drop(unsafe { Box::from_raw(p) });
        }
    })
}

/// A byte slice from a pointer and a length; NULL is allowed when `len` is 0.
///
/// # Safety
/// Unless NULL, `p` points to `len` readable bytes that stay unchanged for `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize, name: &'static str) -> Result<&'a [u8], FfiError> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(FfiError::Null(name));
    }
    if len > isize::MAX as usize {
        return Err(FfiError::Invalid(name, "has a length larger than any object"));
    }
    // SAFETY: non-NULL and `len` readable bytes, as the caller promises.
    Ok(unsafe { core::slice::from_raw_parts(p, len) })
}

/// Checks the `struct_size` field of a versioned struct.
pub(crate) fn check_size<T>(got: u32, name: &'static str) -> Result<(), FfiError> {
    if got as usize != core::mem::size_of::<T>() {
        return Err(FfiError::StructSize { name, got, expected: core::mem::size_of::<T>() });
    }
    Ok(())
}

/// A UTF-8 string from a NUL-terminated C string; NULL gives `None`.
///
/// # Safety
/// Unless NULL, `p` points to a NUL-terminated string.
pub(crate) unsafe fn c_str<'a>(p: *const core::ffi::c_char, name: &'static str) -> Result<Option<&'a str>, FfiError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated, as the caller promises.
    let s = unsafe { core::ffi::CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| FfiError::Invalid(name, "is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::panic)]
    fn a_panic_inside_a_call_is_a_status_with_its_location() {
        let st = guard(|| panic!("a bug"));
        assert_eq!(st, FRAMELOCK_ERR_PANIC);
        // SAFETY: the message is a NUL-terminated string in this thread's buffer.
        let msg = unsafe { core::ffi::CStr::from_ptr(last_message_ptr()) }.to_string_lossy().into_owned();
        assert!(msg.contains("internal error") && msg.contains("error.rs:"), "{msg}");
        // Outside a call the hook passes panics on to the previous hook (here: the test harness).
        assert_eq!(DEPTH.with(|d| d.get()), 0);
    }
}
