//! Sessions: configuration, inputs, advancing (pulled requests or callbacks), checksums, events.

use framelock_core::{Authority, Error, Mode, Outcome, Request, Session, SessionBuilder, Simulation};

// The callback machinery lives in `callbacks.rs` and the observation types in `observe.rs`; other
// modules (the network client) import them from here, where they used to be.
pub(crate) use crate::callbacks::{c_input, CallbackSim, Callbacks};
pub use crate::callbacks::{framelock_callbacks, framelock_snapshot};
#[allow(unused_imports)] // for modules that import them from here
pub use crate::observe::{framelock_event, framelock_session_info, framelock_stats};

use crate::error::{bytes, check_size, guard, handle, out, write_bytes, write_opt, FfiError};
use crate::framelock_status;
use crate::lock::{free_guarded, Claim, Guarded};

// ----- constants ------------------------------------------------------------------------------------

/// Mode: simulate a frame only when every slot's input for it is confirmed.
pub const FRAMELOCK_MODE_LOCKSTEP: u32 = 0;
/// Mode: predict missing inputs, roll back and resimulate on a misprediction (GGPO-style).
pub const FRAMELOCK_MODE_ROLLBACK: u32 = 1;
/// Mode: roll back `check_distance` frames on every advance and compare checksums (determinism test).
pub const FRAMELOCK_MODE_SYNC_TEST: u32 = 2;

/// Authority: peer to peer, a local input is confirmed the moment it is added.
pub const FRAMELOCK_AUTHORITY_PEER_TO_PEER: u32 = 0;
/// Authority: behind a relay, a local input is a proposal until the relay confirms the frame.
pub const FRAMELOCK_AUTHORITY_RELAY: u32 = 1;

/// Input status: the input is final.
pub const FRAMELOCK_INPUT_CONFIRMED: u32 = 0;
/// Input status: the input has not arrived; this is a prediction. A simulation must not act on it
/// differently than on a confirmed input.
pub const FRAMELOCK_INPUT_PREDICTED: u32 = 1;
/// Input status: the slot is disconnected; the bytes are the default input.
pub const FRAMELOCK_INPUT_DISCONNECTED: u32 = 2;
/// Input status: the authority closed the frame without this slot's input and substituted one.
pub const FRAMELOCK_INPUT_SUBSTITUTED: u32 = 3;

/// Request: save the current state (the state at the start of `frame`).
pub const FRAMELOCK_REQUEST_SAVE_STATE: u32 = 1;
/// Request: replace the current state by the one saved for `frame`.
pub const FRAMELOCK_REQUEST_LOAD_STATE: u32 = 2;
/// Request: simulate `frame` with its inputs (framelock_session_request_inputs()).
pub const FRAMELOCK_REQUEST_ADVANCE_FRAME: u32 = 3;

/// Event kind written by framelock_session_poll_event() when no event is waiting.
pub const FRAMELOCK_EVENT_NONE: u32 = 0;
/// Event: a remote checksum of confirmed `frame` differs from the local one (`slot` sent it;
/// `local_checksum`, `remote_checksum`).
pub const FRAMELOCK_EVENT_DESYNC: u32 = 1;
/// Event: sync test, resimulating `frame` gave another state (`local_checksum`: first run,
/// `remote_checksum`: resimulation).
pub const FRAMELOCK_EVENT_SYNC_TEST_MISMATCH: u32 = 2;
/// Event: `slot` was disconnected from `frame` on.
pub const FRAMELOCK_EVENT_SLOT_DISCONNECTED: u32 = 3;
/// Event: a remote checksum of `frame` from `slot` could not be compared (no local checksum taken).
pub const FRAMELOCK_EVENT_CHECKSUM_NOT_COMPARED: u32 = 4;

/// Written by framelock_session_add_local_input() when the input was dropped (the input delay was
/// lowered and frames are catching up, or the slot is disconnected).
pub const FRAMELOCK_NO_FRAME: u32 = u32::MAX;

/// The most slots a session has.
pub const FRAMELOCK_MAX_SLOTS: u32 = 64;
/// The largest max_input_size.
pub const FRAMELOCK_MAX_INPUT_SIZE: u32 = 1024;
/// The largest input delay.
pub const FRAMELOCK_MAX_INPUT_DELAY: u32 = 32;
/// The largest max_prediction and check_distance.
pub const FRAMELOCK_MAX_ROLLBACK: u32 = 64;
/// The largest start_frame: 2^31 - 1.
pub const FRAMELOCK_MAX_START_FRAME: u32 = 0x7fff_ffff;
const MAX_START_FRAME: u32 = FRAMELOCK_MAX_START_FRAME;

// ----- types ----------------------------------------------------------------------------------------

/// A frame-sync session (opaque). Create with framelock_session_new(), free with
/// framelock_session_free().
#[derive(Debug)]
pub struct framelock_session {
    /// Claimed by every call (see `lock.rs`): misuse from two threads or from a callback is
    /// reported instead of corrupting the session.
    guarded: Guarded<SessionState>,
}

/// What a session handle holds.
#[derive(Debug)]
pub(crate) struct SessionState {
    pub(crate) session: Session,
    sim: CallbackSim,
    /// A step failed and could not be undone: only observation calls work (SESSION_FAILED).
    failed: bool,
    /// The index framelock_session_request() read last: where a save usually finds its request.
    last_request: usize,
}

/// Claims a session for one call (BUSY, REENTRANT), refusing a failed session (SESSION_FAILED).
///
/// # Safety
/// `p` is NULL or a live session handle.
pub(crate) unsafe fn lock<'a>(p: *const framelock_session) -> Result<Claim<'a, SessionState>, FfiError> {
    // SAFETY: as the caller promises.
    let c = unsafe { observe(p) }?;
    if c.failed {
        return Err(FfiError::SessionFailed);
    }
    Ok(c)
}

/// Claims a session for a call that only observes it (also allowed on a failed session).
///
/// # Safety
/// `p` is NULL or a live session handle.
pub(crate) unsafe fn observe<'a>(p: *const framelock_session) -> Result<Claim<'a, SessionState>, FfiError> {
    // SAFETY: as the caller promises; only the atomic owner flag is touched before the claim.
    let h = unsafe { handle(p, "session") }?;
    h.guarded.claim("session")
}

/// Undoes the open step after request `index` failed with `cause`, and says what happens next.
pub(crate) fn abort(st: &mut SessionState, index: usize, cause: Error) -> FfiError {
    match st.session.abort_step(index) {
        Ok(reload) => FfiError::StepFailed { cause, redo: st.session.current_frame(), reload },
        Err(Error::NoOpenStep) => FfiError::Core(cause),
        Err(_) => {
            st.failed = true;
            FfiError::StepUnrecoverable { cause, frame: st.session.current_frame() }
        }
    }
}

/// Fulfils the open step with the callbacks set in `st.sim`, request by request, and closes it; a
/// failing request aborts the step (the session does not count what the game did not complete).
/// The core walks the step's plan and tells each save and load its frame (what the callbacks are
/// told), so no request list is read.
fn fulfil_with_callbacks(st: &mut SessionState) -> Result<(), FfiError> {
    match st.session.fulfil_open_step(&mut Framed(&mut st.sim)) {
        Ok(()) => {
            st.session.finish_step();
            Ok(())
        }
        Err((i, cause)) => Err(abort(st, i, cause)),
    }
}

/// The callbacks as a core `Fulfil`: each save and load sets the frame the callback is told.
struct Framed<'a>(&'a mut CallbackSim);

impl framelock_core::Fulfil for Framed<'_> {
    fn save(
        &mut self,
        frame: u32,
        out: &mut framelock_core::SnapshotWriter<'_>,
    ) -> Result<(), framelock_core::SimError> {
        self.0.state_frame = frame;
        self.0.save(out)
    }
    fn load(&mut self, frame: u32, snapshot: &[u8]) -> Result<(), framelock_core::SimError> {
        self.0.load_frame = frame;
        self.0.load(snapshot)
    }
    fn advance(
        &mut self,
        inputs: framelock_core::FrameInputs<'_>,
        scratch: &framelock_core::Bump,
    ) -> Result<(), framelock_core::SimError> {
        self.0.advance(inputs, scratch)
    }
}

/// How to build a session. Fill it with framelock_session_config_init(), then change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_session_config {
    /// sizeof(framelock_session_config).
    pub struct_size: u32,
    /// Player slots, 1..=64 (default 2).
    pub slots: u32,
    /// The slots this process adds inputs for, bit `s` for slot `s` (default 0b1: slot 0).
    pub local_slots: u64,
    /// FRAMELOCK_MODE_LOCKSTEP, FRAMELOCK_MODE_ROLLBACK (default) or FRAMELOCK_MODE_SYNC_TEST.
    pub mode: u32,
    /// Rollback: frames that may be simulated past the last confirmed frame, 1..=64 (default 8).
    pub max_prediction: u32,
    /// Sync test: frames resimulated on every advance, 1..=64 (default 4).
    pub check_distance: u32,
    /// FRAMELOCK_AUTHORITY_PEER_TO_PEER (default) or FRAMELOCK_AUTHORITY_RELAY.
    pub authority: u32,
    /// The largest input in bytes, 0..=1024 (default 8).
    pub max_input_size: u32,
    /// Frames between adding a local input and the frame it is for, 0..=32 (default 0).
    pub input_delay: u32,
    /// The capacity of each core-owned snapshot buffer in bytes, 1..=2^30 (default 65536).
    pub max_snapshot_size: usize,
    /// The input of a disconnected slot and the prediction before any input arrived (may be NULL
    /// when default_input_len is 0, the default). Copied by framelock_session_new().
    pub default_input: *const u8,
    /// The length of default_input, at most max_input_size.
    pub default_input_len: usize,
    /// Frames of input held from the oldest unconfirmed one (default 128).
    pub input_window: u32,
    /// Confirmed frames whose checksums are kept for late remote checksums (default 1024).
    pub checksum_history: u32,
    /// Lockstep: save and checksum only every this many frames (default 1).
    pub checksum_interval: u32,
    /// Remote checksums that may wait for their frame to be confirmed locally (default 256).
    pub early_checksum_capacity: u32,
    /// Events that wait for framelock_session_poll_event() before the oldest are dropped (default 256).
    pub event_capacity: u32,
    /// The first frame simulated, 0..=FRAMELOCK_MAX_START_FRAME (2^31 - 1; default 0).
    pub start_frame: u32,
    /// Keep confirmed frames until a log writer records them (framelock_log_writer_record_session());
    /// default false.
    pub record_confirmed: bool,
}

/// Whether framelock_session_advance() moved the frame.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_outcome {
    /// True when `frame` was simulated for the first time; false when the session stalled.
    pub advanced: bool,
    /// The frame simulated, or (stalled) the current frame that could not be.
    pub frame: u32,
    /// Stalled: the slots whose inputs are awaited (bit `s` for slot `s`); 0 otherwise.
    pub waiting_for: u64,
}

/// One request of the open step.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_request {
    /// FRAMELOCK_REQUEST_SAVE_STATE, FRAMELOCK_REQUEST_LOAD_STATE or FRAMELOCK_REQUEST_ADVANCE_FRAME.
    pub kind: u32,
    /// The frame: the state at its start (save, load), or the frame to simulate (advance).
    pub frame: u32,
}

/// One slot's input for one frame. Handed out by framelock, `bytes` points into memory owned by
/// framelock: valid until the next call that changes the handle it came from (or, in a callback,
/// until the callback returns). Passed in (framelock_session_add_remote_inputs()), `bytes` is the
/// caller's and is copied.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_input {
    /// The input bytes (not NUL-terminated; may be NULL when `len` is 0).
    pub bytes: *const u8,
    /// The number of bytes.
    pub len: usize,
    /// The slot.
    pub slot: u32,
    /// FRAMELOCK_INPUT_CONFIRMED, _PREDICTED, _DISCONNECTED or _SUBSTITUTED.
    pub status: u32,
}

impl Default for framelock_input {
    fn default() -> Self {
        framelock_input { bytes: core::ptr::null(), len: 0, slot: 0, status: 0 }
    }
}

// ----- helpers --------------------------------------------------------------------------------------

pub(crate) fn outcome(session: &Session, o: Outcome) -> framelock_outcome {
    match o {
        Outcome::Advanced { frame } => framelock_outcome { advanced: true, frame, waiting_for: 0 },
        Outcome::Stalled { waiting_for } => {
            framelock_outcome { advanced: false, frame: session.current_frame(), waiting_for }
        }
    }
}

/// Writes a network tick's outcome to `out` (NULL: not wanted). `None` (not connected or not
/// running yet) simulated nothing: not advanced, at the current frame.
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn write_tick_outcome(out: *mut framelock_outcome, session: &Session, o: Option<Outcome>) {
    let v = match o {
        Some(o) => outcome(session, o),
        None => framelock_outcome { advanced: false, frame: session.current_frame(), waiting_for: 0 },
    };
    // SAFETY: as the caller promises.
    unsafe { write_opt(out, v) };
}

/// Checks that the open step saves `frame`.
pub(crate) fn check_save(session: &Session, frame: u32) -> Result<(), FfiError> {
    check_save_at(session, frame, usize::MAX)
}

/// Checks that the open step saves `frame`, looking first at request `hint` (the request the
/// engine read last: in the usual loop the save fulfils it) before scanning every request.
pub(crate) fn check_save_at(session: &Session, frame: u32, hint: usize) -> Result<(), FfiError> {
    let n = session.step_len();
    if n == 0 {
        return Err(Error::NoOpenStep.into());
    }
    if matches!(session.step_request(hint), Some(Request::SaveState { frame: f }) if f == frame) {
        return Ok(());
    }
    let found = (0..n).any(|i| matches!(session.step_request(i), Some(Request::SaveState { frame: f }) if f == frame));
    if found {
        Ok(())
    } else {
        Err(FfiError::NotSaved { frame })
    }
}

pub(crate) fn slot_arg(slot: u32) -> usize {
    slot as usize
}

fn mode_of(cfg: &framelock_session_config) -> Result<Mode, FfiError> {
    match cfg.mode {
        FRAMELOCK_MODE_LOCKSTEP => Ok(Mode::Lockstep),
        FRAMELOCK_MODE_ROLLBACK => Ok(Mode::Rollback { max_prediction: cfg.max_prediction }),
        FRAMELOCK_MODE_SYNC_TEST => Ok(Mode::SyncTest { check_distance: cfg.check_distance }),
        _ => Err(FfiError::Invalid("config.mode", "is not a FRAMELOCK_MODE_ constant")),
    }
}

pub(crate) fn mode_code(m: Mode) -> u32 {
    match m {
        Mode::Lockstep => FRAMELOCK_MODE_LOCKSTEP,
        Mode::Rollback { .. } => FRAMELOCK_MODE_ROLLBACK,
        Mode::SyncTest { .. } => FRAMELOCK_MODE_SYNC_TEST,
    }
}

// ----- exports: configuration and lifecycle ---------------------------------------------------------

/// Fills `config` with the defaults (each field's documentation names its default) and sets its
/// struct_size.
///
/// Returns FRAMELOCK_OK, or FRAMELOCK_ERR_NULL_ARGUMENT when `config` is NULL.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_config_init(config: *mut framelock_session_config) -> framelock_status {
    guard(|| {
        let config = out(config, "config")?;
        let c = framelock_session_config {
            struct_size: core::mem::size_of::<framelock_session_config>() as u32,
            slots: 2,
            local_slots: 1,
            mode: FRAMELOCK_MODE_ROLLBACK,
            max_prediction: 8,
            check_distance: 4,
            authority: FRAMELOCK_AUTHORITY_PEER_TO_PEER,
            max_input_size: 8,
            input_delay: 0,
            max_snapshot_size: 64 * 1024,
            default_input: core::ptr::null(),
            default_input_len: 0,
            input_window: 128,
            checksum_history: 1024,
            checksum_interval: 1,
            early_checksum_capacity: 256,
            event_capacity: 256,
            start_frame: 0,
            record_confirmed: false,
        };
        // SAFETY: `config` is non-NULL and the caller promises it points to a writable struct.
        unsafe { config.write(c) };
        Ok(())
    })
}

/// Creates a session: checks every setting and allocates everything the session will ever use
/// (nothing is allocated per tick afterwards). The config (and default_input) is copied; the caller
/// keeps ownership of it. On success `*out_session` receives a handle the caller owns and frees
/// with framelock_session_free().
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_INVALID_ARGUMENT (unknown mode or authority); FRAMELOCK_ERR_INVALID_CONFIG (a
/// setting out of range, named in the message).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_new(
    config: *const framelock_session_config,
    out_session: *mut *mut framelock_session,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable config, as documented.
        let cfg = unsafe { handle(config, "config") }?;
        let out_session = out(out_session, "out_session")?;
        check_size::<framelock_session_config>(cfg.struct_size, "framelock_session_config")?;
        let mode = mode_of(cfg)?;
        let authority = match cfg.authority {
            FRAMELOCK_AUTHORITY_PEER_TO_PEER => Authority::PeerToPeer,
            FRAMELOCK_AUTHORITY_RELAY => Authority::Relay,
            _ => return Err(FfiError::Invalid("config.authority", "is not a FRAMELOCK_AUTHORITY_ constant")),
        };
        // Checked here with the exact bounds the header states.
        if cfg.max_snapshot_size == 0 {
            return Err(Error::InvalidConfig { setting: "max_snapshot_size", reason: "must be at least 1 byte" }.into());
        }
        if cfg.start_frame > MAX_START_FRAME {
            return Err(Error::InvalidConfig {
                setting: "start_frame",
                reason: "must be at most 2^31 - 1 (2147483647), to leave room for the frame counter",
            }
            .into());
        }
        // SAFETY: NULL (with length 0) or `default_input_len` readable bytes, as documented.
        let default_input = unsafe { bytes(cfg.default_input, cfg.default_input_len, "config.default_input") }?;
        let session = SessionBuilder::new(cfg.slots as usize)
            .local_slots(cfg.local_slots)
            .mode(mode)
            .authority(authority)
            .max_input_size(cfg.max_input_size as usize)
            .input_delay(cfg.input_delay)
            .max_snapshot_size(cfg.max_snapshot_size)
            .default_input(default_input)
            // C engines bring their own scratch memory; the reference simulation has its own arena.
            .frame_arena_size(0)
            .input_window(cfg.input_window)
            .checksum_history(cfg.checksum_history)
            .checksum_interval(cfg.checksum_interval)
            .early_checksum_capacity(cfg.early_checksum_capacity as usize)
            .event_capacity(cfg.event_capacity as usize)
            .start_frame(cfg.start_frame)
            .record_confirmed(cfg.record_confirmed)
            .build()?;
        let slots = session.slots();
        let state = SessionState { session, sim: CallbackSim::new(slots), failed: false, last_request: usize::MAX };
        let handle = Box::new(framelock_session { guarded: Guarded::new(state) });
        // SAFETY: `out_session` is non-NULL and writable, as documented.
        unsafe { out_session.write(Box::into_raw(handle)) };
        Ok(())
    })
}

/// Frees a session and everything it owns (snapshot buffers, inputs). Pointers obtained from it
/// become invalid. Accepts NULL (does nothing). Called from inside one of the session's own
/// callbacks, or while another thread is in a call on it, it does nothing (the session stays).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_free(session: *mut framelock_session) {
    // SAFETY: NULL or a handle from framelock_session_new(), not freed yet (the C contract).
    unsafe { free_guarded(session, "session", |h| &h.guarded) }
}

// ----- exports: inputs ------------------------------------------------------------------------------

/// Adds this tick's input of local slot `slot` (`len` bytes at `input`, copied). It is queued for
/// frame current_frame + input_delay, written to `*out_frame` (which may be NULL). A local slot has
/// one input per frame: when that frame already has this slot's input the new one is dropped and
/// FRAMELOCK_NO_FRAME is written instead, still with FRAMELOCK_OK. That happens on a second call in
/// the same tick (the first input stays), on every tick while the session stalls (the current
/// frame did not move), while a lowered input delay catches up, and for a disconnected slot. Call
/// it for every local slot before every framelock_session_advance().
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_UNKNOWN_SLOT;
/// FRAMELOCK_ERR_WRONG_SLOT_KIND (not a local slot); FRAMELOCK_ERR_INPUT_TOO_LONG;
/// FRAMELOCK_ERR_BEYOND_WINDOW.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_add_local_input(
    session: *mut framelock_session,
    slot: u32,
    input: *const u8,
    len: usize,
    out_frame: *mut u32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let input = unsafe { bytes(input, len, "input") }?;
        let frame = s.session.add_local_input(slot_arg(slot), input)?;
        // SAFETY: NULL or writable, as documented.
        unsafe { write_opt(out_frame, frame.unwrap_or(FRAMELOCK_NO_FRAME)) };
        Ok(())
    })
}

/// Adds the confirmed input of remote slot `slot` for `frame` (`len` bytes, copied), as received
/// from its peer. Inputs may arrive in any order within the input window; if the frame was already
/// simulated on another prediction, the next advance rolls back to it.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_UNKNOWN_SLOT;
/// FRAMELOCK_ERR_WRONG_SLOT_KIND (a local slot, peer to peer); FRAMELOCK_ERR_INPUT_TOO_LONG;
/// FRAMELOCK_ERR_ALREADY_CONFIRMED; FRAMELOCK_ERR_FRAME_TOO_OLD; FRAMELOCK_ERR_BEYOND_WINDOW.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_add_remote_input(
    session: *mut framelock_session,
    slot: u32,
    frame: u32,
    input: *const u8,
    len: usize,
) -> framelock_status {
    // SAFETY: the same contract, passed on unchanged.
    unsafe { framelock_session_add_input_with_status(session, slot, frame, FRAMELOCK_INPUT_CONFIRMED, input, len) }
}

/// Like framelock_session_add_remote_input(), with the status the authority gave the input:
/// FRAMELOCK_INPUT_CONFIRMED, FRAMELOCK_INPUT_SUBSTITUTED (the relay closed the frame without it) or
/// FRAMELOCK_INPUT_DISCONNECTED (the slot was disconnected for this one frame). Used to replay
/// logs and behind a relay.
///
/// Returns as framelock_session_add_remote_input(), and FRAMELOCK_ERR_INVALID_ARGUMENT for another
/// status.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_add_input_with_status(
    session: *mut framelock_session,
    slot: u32,
    frame: u32,
    status: u32,
    input: *const u8,
    len: usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let input = unsafe { bytes(input, len, "input") }?;
        let slot = slot_arg(slot);
        match status {
            FRAMELOCK_INPUT_CONFIRMED => s.session.add_remote_input(slot, frame, input)?,
            FRAMELOCK_INPUT_SUBSTITUTED => s.session.add_substituted_input(slot, frame, input)?,
            FRAMELOCK_INPUT_DISCONNECTED => s.session.add_disconnected_input(slot, frame, input)?,
            _ => return Err(FfiError::Invalid("status", "must be CONFIRMED, SUBSTITUTED or DISCONNECTED")),
        }
        Ok(())
    })
}

/// Adds the inputs of several remote slots for one `frame` in one call: `count` entries of
/// `inputs`, each with its `slot`, `bytes` and `len` (copied) and its `status` as in
/// framelock_session_add_input_with_status() (FRAMELOCK_INPUT_CONFIRMED for an ordinary remote
/// input). The same as calling that function once per entry and stopping at the first error, with
/// one claim of the session instead of `count`: for the inputs of a frame that arrive together (a
/// relay's message carries every slot's). When an entry fails, the entries before it were added
/// and the message names its index.
///
/// Returns FRAMELOCK_OK (also when `count` is 0); FRAMELOCK_ERR_NULL_ARGUMENT (`inputs` NULL with
/// `count` above 0, or an entry's `bytes` NULL with `len` above 0); FRAMELOCK_ERR_INVALID_ARGUMENT (an
/// entry's status); and the errors of framelock_session_add_remote_input() for an entry.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_add_remote_inputs(
    session: *mut framelock_session,
    frame: u32,
    inputs: *const framelock_input,
    count: usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        let entries: &[framelock_input] = if count == 0 {
            &[]
        } else if inputs.is_null() {
            return Err(FfiError::Null("inputs"));
        } else {
            // SAFETY: non-NULL and `count` readable entries, as documented.
            unsafe { core::slice::from_raw_parts(inputs, count) }
        };
        for (index, e) in entries.iter().enumerate() {
            // SAFETY: NULL (with len 0) or `len` readable bytes, as documented for each entry.
            let input = unsafe { bytes(e.bytes, e.len, "inputs[].bytes") }?;
            let slot = slot_arg(e.slot);
            let added = match e.status {
                FRAMELOCK_INPUT_CONFIRMED => s.session.add_remote_input(slot, frame, input),
                FRAMELOCK_INPUT_SUBSTITUTED => s.session.add_substituted_input(slot, frame, input),
                FRAMELOCK_INPUT_DISCONNECTED => s.session.add_disconnected_input(slot, frame, input),
                _ => {
                    return Err(FfiError::Invalid("inputs[].status", "must be CONFIRMED, SUBSTITUTED or DISCONNECTED"))
                }
            };
            added.map_err(|cause| FfiError::InBatch { index, cause })?;
        }
        Ok(())
    })
}

/// Disconnects `slot` from `frame` on: its input becomes the default input, flagged
/// FRAMELOCK_INPUT_DISCONNECTED, and the session stops waiting for it. `frame` must not be before
/// the slot's first unconfirmed frame. A FRAMELOCK_EVENT_SLOT_DISCONNECTED event follows.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_UNKNOWN_SLOT;
/// FRAMELOCK_ERR_INVALID_DISCONNECT.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_disconnect_slot(
    session: *mut framelock_session,
    slot: u32,
    frame: u32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        s.session.disconnect_slot(slot_arg(slot), frame)?;
        Ok(())
    })
}

/// Changes the input delay of local slots from the next local input on (raising it repeats the
/// previous input over the gap, lowering it drops inputs until the frames catch up).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_CONFIG (above 32).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_set_input_delay(
    session: *mut framelock_session,
    frames: u32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        s.session.set_input_delay(frames)?;
        Ok(())
    })
}

// ----- exports: advancing ---------------------------------------------------------------------------

/// Plans this tick and opens a step: its requests (save, load, advance, in order) are read with
/// framelock_session_request_count() and framelock_session_request(), and fulfilled by the engine
/// with framelock_session_save(), framelock_session_save_buffer() and framelock_session_load(), then
/// closed with framelock_session_finish_step() (the next advance, input or poll closes it too).
/// Closing takes the checksums of the saved snapshots and compares them with remote ones.
/// `*out_outcome` says whether the frame advanced (`advanced` false: the session waits for the
/// slots in `waiting_for`; a rollback that is due is still requested).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_MISSING_LOCAL_INPUT (add every
/// local slot's input first); FRAMELOCK_ERR_FRAME_OVERFLOW.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_advance(
    session: *mut framelock_session,
    out_outcome: *mut framelock_outcome,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        let out_outcome = out(out_outcome, "out_outcome")?;
        let o = s.session.begin_step()?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_outcome.write(outcome(&s.session, o)) };
        Ok(())
    })
}

/// Like framelock_session_advance(), but fulfils the requests at once by calling the engine's
/// callbacks in order, then closes the step. The callbacks are not kept after the call returns.
///
/// A callback that returns nonzero fails the call with FRAMELOCK_ERR_SIMULATION (the message names
/// the frame) and the step is undone as framelock_session_abort_step() undoes it: the session does
/// not count the frame, and the next advance asks for it again, starting with a
/// FRAMELOCK_REQUEST_LOAD_STATE when the failure left the game's state unknown (a failed load or
/// advance; a failed save leaves the game as it was). The message says which frame comes next.
///
/// Returns as framelock_session_advance(), and FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_NULL_ARGUMENT (a callback is NULL); FRAMELOCK_ERR_SIMULATION (a callback failed,
/// the step was undone); FRAMELOCK_ERR_SESSION_FAILED (a callback failed and the step could not be
/// undone); FRAMELOCK_ERR_REENTRANT (called from inside a callback).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_advance_with(
    session: *mut framelock_session,
    callbacks: *const framelock_callbacks,
    out_outcome: *mut framelock_outcome,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        let out_outcome = out(out_outcome, "out_outcome")?;
        // SAFETY: NULL or a readable callbacks struct, as documented.
        unsafe { s.sim.set(callbacks, 0, 0) }?;
        // The callbacks are told each request as the core walks the plan: no list to build.
        let o = s.session.begin_step_unlisted()?;
        // `fulfil_with_callbacks` tells the sim each request's frame as it goes.
        let fulfilled = fulfil_with_callbacks(&mut s);
        s.sim.cb = None;
        fulfilled?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_outcome.write(outcome(&s.session, o)) };
        Ok(())
    })
}

/// Abandons the open step because request `failed_request` (its index) could not be fulfilled: the
/// engine's save, load or advance failed, or framelock_session_save() / _load() returned an error.
/// The requests before it count as fulfilled. Call it instead of framelock_session_finish_step(),
/// before any other call on the session (those close the step). The session forgets the step: it
/// does not count the frame, checksums nothing of it, and the next framelock_session_advance()
/// asks for the same frame again. When the failed request was a load or an advance (the game's
/// state is unknown now) the next step starts with a FRAMELOCK_REQUEST_LOAD_STATE of a saved frame
/// and simulates again from there; a failed save leaves the game as it was.
///
/// When no saved state with the inputs after it is held (lockstep with a checksum_interval above
/// 1, failing in a frame that saves nothing) the step cannot be undone: the session enters the
/// failed state, where every call but the observation calls returns FRAMELOCK_ERR_SESSION_FAILED.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_NO_OPEN_STEP;
/// FRAMELOCK_ERR_SESSION_FAILED.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_abort_step(
    session: *mut framelock_session,
    failed_request: usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        match s.session.abort_step(failed_request) {
            Ok(_) => Ok(()),
            Err(Error::NoOpenStep) => Err(Error::NoOpenStep.into()),
            Err(_) => {
                s.failed = true;
                Err(FfiError::SessionFailed)
            }
        }
    })
}

/// Writes the number of requests of the open step to `*out_count` (0 when no step is open or the
/// step stalled without a rollback).
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_request_count(
    session: *const framelock_session,
    out_count: *mut usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { observe(session) }?;
        let out_count = out(out_count, "out_count")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_count.write(s.session.step_len()) };
        Ok(())
    })
}

/// Writes request `index` (0-based, in the order they must be fulfilled) of the open step to
/// `*out_request`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (index not below
/// framelock_session_request_count()).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_request(
    session: *const framelock_session,
    index: usize,
    out_request: *mut framelock_request,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        let out_request = out(out_request, "out_request")?;
        s.last_request = index;
        let r = s.session.step_request(index).ok_or(FfiError::IndexOutOfRange {
            what: "request",
            index,
            len: s.session.step_len(),
        })?;
        let r = match r {
            Request::SaveState { frame } => framelock_request { kind: FRAMELOCK_REQUEST_SAVE_STATE, frame },
            Request::LoadState { frame } => framelock_request { kind: FRAMELOCK_REQUEST_LOAD_STATE, frame },
            Request::AdvanceFrame { frame, .. } => framelock_request { kind: FRAMELOCK_REQUEST_ADVANCE_FRAME, frame },
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_request.write(r) };
        Ok(())
    })
}

/// For the FRAMELOCK_REQUEST_ADVANCE_FRAME request `index` of the open step: writes every slot's
/// input, in slot order, to `out_inputs` (room for `capacity` entries; the number of slots is
/// enough) and the number written to `*out_count`. The byte pointers point into the session and
/// stay valid until the next call that changes it.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (index out of
/// range, or not an advance request); FRAMELOCK_ERR_BUFFER_TOO_SMALL (capacity below the slots).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_request_inputs(
    session: *const framelock_session,
    index: usize,
    out_inputs: *mut framelock_input,
    capacity: usize,
    out_count: *mut usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { lock(session) }?;
        let out_inputs = out(out_inputs, "out_inputs")?;
        let out_count = out(out_count, "out_count")?;
        let r = s.session.step_request(index).ok_or(FfiError::IndexOutOfRange {
            what: "request",
            index,
            len: s.session.step_len(),
        })?;
        let Request::AdvanceFrame { inputs, .. } = r else {
            return Err(FfiError::Invalid("index", "names a request that is not FRAMELOCK_REQUEST_ADVANCE_FRAME"));
        };
        if capacity < inputs.len() {
            return Err(FfiError::BufferTooSmall { arg: "out_inputs", needed: inputs.len(), got: capacity });
        }
        for (i, p) in inputs.iter().enumerate() {
            // SAFETY: `out_inputs` has room for `capacity` >= slots entries, as documented.
            unsafe { out_inputs.add(i).write(c_input(p.slot, p.bytes, p.status)) };
        }
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_count.write(inputs.len()) };
        Ok(())
    })
}

/// Fulfils a FRAMELOCK_REQUEST_SAVE_STATE request of the open step by copying `len` bytes from
/// `data` into the core-owned snapshot buffer of `frame`. `checksum` may be NULL (framelock hashes
/// the bytes) or point to the game's own checksum of this state.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_NO_OPEN_STEP;
/// FRAMELOCK_ERR_NO_SUCH_SNAPSHOT (the open step does not save `frame`);
/// FRAMELOCK_ERR_SNAPSHOT_TOO_LARGE (`len` above max_snapshot_size).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_save(
    session: *mut framelock_session,
    frame: u32,
    data: *const u8,
    len: usize,
    checksum: *const u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let data = unsafe { bytes(data, len, "data") }?;
        check_save_at(&s.session, frame, s.last_request)?;
        let mut w = s.session.step_save(frame)?;
        let capacity = w.capacity();
        // The game's checksum first: then the bytes are not hashed as they are copied in.
        // SAFETY: NULL or a readable u64.
        if let Some(&c) = unsafe { checksum.as_ref() } {
            w.set_checksum(c);
        }
        w.write(data).map_err(|_| Error::SnapshotTooLarge { frame, capacity })?;
        Ok(())
    })
}

/// Fulfils a FRAMELOCK_REQUEST_SAVE_STATE request of the open step in place: sets the snapshot of
/// `frame` to `len` zeroed bytes and writes a pointer to them to `*out_buffer`; the engine writes
/// its state there before its next call on this session. The buffer is owned by the session (do
/// not free it). `checksum` as in framelock_session_save().
///
/// Returns as framelock_session_save().
#[no_mangle]
pub unsafe extern "C" fn framelock_session_save_buffer(
    session: *mut framelock_session,
    frame: u32,
    len: usize,
    checksum: *const u64,
    out_buffer: *mut *mut u8,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        let out_buffer = out(out_buffer, "out_buffer")?;
        check_save_at(&s.session, frame, s.last_request)?;
        let mut w = s.session.step_save(frame)?;
        let capacity = w.capacity();
        // SAFETY: NULL or a readable u64.
        if let Some(&c) = unsafe { checksum.as_ref() } {
            w.set_checksum(c);
        }
        let buf = w.buffer(len).map_err(|_| Error::SnapshotTooLarge { frame, capacity })?;
        // SAFETY: non-NULL, writable out-parameter; the buffer lives in the session's snapshot ring
        // (preallocated, never reallocated) until the session changes.
        unsafe { out_buffer.write(buf.as_mut_ptr()) };
        Ok(())
    })
}

/// Fulfils a FRAMELOCK_REQUEST_LOAD_STATE request of the open step: writes a pointer to the bytes
/// saved for `frame` to `*out_data` and their length to `*out_len`. The bytes are owned by the
/// session and valid until its next change; the engine restores its state from them.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_NO_OPEN_STEP;
/// FRAMELOCK_ERR_NO_SUCH_SNAPSHOT.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_load(
    session: *const framelock_session,
    frame: u32,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { lock(session) }?;
        // SAFETY: NULL or writable out-parameters.
        unsafe { write_bytes(out_data, out_len, || Ok(s.session.step_load(frame)?)) }
    })
}

/// Closes the open step: checksums the saved snapshots, compares sync-test copies and remote
/// checksums (events follow). Does nothing when no step is open.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_finish_step(session: *mut framelock_session) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let mut s = unsafe { lock(session) }?;
        s.session.finish_step();
        Ok(())
    })
}
