//! Sessions: configuration, inputs, advancing (pulled requests or callbacks), checksums, events.

use core::ffi::c_void;

use framelock_core::{
    Authority, Error, Event, FrameInputs, InputStatus, Mode, Outcome, Request, Session, SessionBuilder, SimError,
    Simulation, SnapshotWriter,
};

use crate::error::{bytes, check_size, guard, guard_void, handle, handle_mut, out, FfiError};
use crate::framelock_status;

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

// ----- types ----------------------------------------------------------------------------------------

/// A frame-sync session (opaque). Create with framelock_session_new(), free with
/// framelock_session_free().
#[derive(Debug)]
pub struct framelock_session {
    pub(crate) session: Session,
    sim: CallbackSim,
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
    /// The capacity of each core-owned snapshot buffer in bytes (default 65536; at most 1 GiB).
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
    /// The first frame simulated (default 0).
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

/// One slot's input for one frame. `bytes` points into memory owned by framelock: valid until the
/// next call that changes the handle it came from (or, in a callback, until the callback returns).
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

/// Something the engine should know about, from framelock_session_poll_event().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_event {
    /// FRAMELOCK_EVENT_NONE (nothing waiting) or another FRAMELOCK_EVENT_ kind.
    pub kind: u32,
    /// The slot concerned (desync: the peer that sent the checksum).
    pub slot: u32,
    /// The frame concerned.
    pub frame: u32,
    /// Desync: the local checksum. Sync-test mismatch: the first run's checksum.
    pub local_checksum: u64,
    /// Desync: the remote checksum. Sync-test mismatch: the resimulation's checksum.
    pub remote_checksum: u64,
}

/// Where a session stands. Set struct_size before calling framelock_session_get_info().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_session_info {
    /// sizeof(framelock_session_info).
    pub struct_size: u32,
    /// The frame the next advance simulates.
    pub current_frame: u32,
    /// The first frame whose inputs are not all confirmed.
    pub confirmed_until: u32,
    /// Every frame below this has its final checksum recorded.
    pub checksummed_until: u32,
    /// The current input delay.
    pub input_delay: u32,
    /// The number of slots.
    pub slots: u32,
    /// The largest input in bytes.
    pub max_input_size: u32,
    /// FRAMELOCK_MODE_ constant.
    pub mode: u32,
    /// The local slots.
    pub local_slots: u64,
    /// The capacity of a snapshot buffer in bytes.
    pub max_snapshot_size: usize,
}

/// Counters of what a session did. Set struct_size before calling framelock_session_get_stats().
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_stats {
    /// sizeof(framelock_stats).
    pub struct_size: u32,
    /// The longest rollback, in frames.
    pub max_rollback: u32,
    /// Frames simulated for the first time.
    pub frames_advanced: u64,
    /// Frames simulated again after a load (rollbacks and sync-test checks).
    pub frames_resimulated: u64,
    /// Rollbacks performed.
    pub rollbacks: u64,
    /// Advances that could not advance the frame.
    pub stalls: u64,
    /// Remote checksums compared with a local one.
    pub checksums_compared: u64,
    /// Desyncs and sync-test mismatches found.
    pub desyncs: u64,
    /// Events dropped because nobody polled them.
    pub events_dropped: u64,
}

/// The buffer a save_state callback writes one snapshot into (opaque, core-owned). Valid only
/// during the callback it was passed to.
#[derive(Debug)]
pub struct framelock_snapshot {
    pub(crate) writer: *mut SnapshotWriter<'static>,
    pub(crate) frame: u32,
    /// Bytes at the end of the buffer kept for framelock (the network client's frame tag).
    pub(crate) reserved: usize,
}

/// Saves the current game state (the state at the start of `frame`) into `snapshot` with
/// framelock_snapshot_write() or framelock_snapshot_buffer(). Returns 0, or nonzero to fail the
/// call that invoked it with FRAMELOCK_ERR_SIMULATION. Must not throw or longjmp.
pub type framelock_save_state_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, frame: u32, snapshot: *mut framelock_snapshot) -> i32>;

/// Replaces the game state by the snapshot saved for `frame` (`len` bytes at `data`, owned by
/// framelock, valid during the call). Returns 0, or nonzero to fail (FRAMELOCK_ERR_SIMULATION).
pub type framelock_load_state_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, frame: u32, data: *const u8, len: usize) -> i32>;

/// Simulates `frame` with every slot's input (`count` entries in slot order, owned by framelock,
/// valid during the call). Returns 0, or nonzero to fail (FRAMELOCK_ERR_SIMULATION).
pub type framelock_advance_frame_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, frame: u32, inputs: *const framelock_input, count: usize) -> i32>;

/// The engine's game state as three callbacks (GGPO-style), for framelock_session_advance_with(),
/// framelock_log_verify() and framelock_log_seek().
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_callbacks {
    /// sizeof(framelock_callbacks).
    pub struct_size: u32,
    /// Passed to every callback as is.
    pub user: *mut c_void,
    /// Required.
    pub save_state: framelock_save_state_fn,
    /// Required.
    pub load_state: framelock_load_state_fn,
    /// Required.
    pub advance_frame: framelock_advance_frame_fn,
}

/// Checked callbacks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Callbacks {
    pub(crate) user: *mut c_void,
    pub(crate) save: unsafe extern "C" fn(*mut c_void, u32, *mut framelock_snapshot) -> i32,
    pub(crate) load: unsafe extern "C" fn(*mut c_void, u32, *const u8, usize) -> i32,
    pub(crate) advance: unsafe extern "C" fn(*mut c_void, u32, *const framelock_input, usize) -> i32,
}

/// A [`Simulation`] made of C callbacks. It tells each callback the frame concerned: it follows the
/// state's frame from the requests it is given.
#[derive(Debug)]
pub(crate) struct CallbackSim {
    cb: Option<Callbacks>,
    inputs: Vec<framelock_input>,
    /// The frame whose starting state the game holds.
    state_frame: u32,
    /// The frame the next load restores.
    load_frame: u32,
}

impl CallbackSim {
    pub(crate) fn new(slots: usize) -> Self {
        CallbackSim { cb: None, inputs: Vec::with_capacity(slots), state_frame: 0, load_frame: 0 }
    }

    /// Reads and checks a callbacks struct.
    ///
    /// # Safety
    /// `p` is NULL or points to a readable `framelock_callbacks`.
    pub(crate) unsafe fn set(&mut self, p: *const framelock_callbacks, start: u32, load: u32) -> Result<(), FfiError> {
        // SAFETY: as the caller promises.
        self.cb = Some(unsafe { Callbacks::read(p) }?);
        self.state_frame = start;
        self.load_frame = load;
        Ok(())
    }
}

impl Callbacks {
    /// Reads and checks a callbacks struct.
    ///
    /// # Safety
    /// `p` is NULL or points to a readable `framelock_callbacks`.
    pub(crate) unsafe fn read(p: *const framelock_callbacks) -> Result<Callbacks, FfiError> {
        // SAFETY: as the caller promises.
        let c = unsafe { handle(p, "callbacks") }?;
        check_size::<framelock_callbacks>(c.struct_size, "framelock_callbacks")?;
        let (Some(save), Some(load), Some(advance)) = (c.save_state, c.load_state, c.advance_frame) else {
            return Err(FfiError::Null("callbacks.save_state, load_state or advance_frame"));
        };
        Ok(Callbacks { user: c.user, save, load, advance })
    }
}

fn status_code(s: InputStatus) -> u32 {
    match s {
        InputStatus::Confirmed => FRAMELOCK_INPUT_CONFIRMED,
        InputStatus::Predicted => FRAMELOCK_INPUT_PREDICTED,
        InputStatus::Disconnected => FRAMELOCK_INPUT_DISCONNECTED,
        InputStatus::Substituted => FRAMELOCK_INPUT_SUBSTITUTED,
    }
}

pub(crate) fn c_input(slot: usize, bytes: &[u8], status: InputStatus) -> framelock_input {
    framelock_input { bytes: bytes.as_ptr(), len: bytes.len(), slot: slot as u32, status: status_code(status) }
}

impl Simulation for CallbackSim {
    fn advance(&mut self, inputs: FrameInputs<'_>, _scratch: &framelock_core::Bump) -> Result<(), SimError> {
        let cb = self.cb.ok_or(SimError::new("no callbacks set"))?;
        self.inputs.clear();
        self.inputs.extend(inputs.iter().map(|p| c_input(p.slot, p.bytes, p.status)));
        let frame = inputs.frame();
        // SAFETY: the callback was checked non-NULL; `inputs` holds `len` initialized entries whose
        // byte pointers stay valid during the call (they point into the session's input store).
        let rc = unsafe { (cb.advance)(cb.user, frame, self.inputs.as_ptr(), self.inputs.len()) };
        self.state_frame = frame.wrapping_add(1);
        if rc != 0 {
            return Err(SimError::new("the advance_frame callback returned nonzero"));
        }
        Ok(())
    }

    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        let cb = self.cb.ok_or(SimError::new("no callbacks set"))?;
        let writer: *mut SnapshotWriter<'_> = out;
        let mut snap = framelock_snapshot { writer: writer.cast(), frame: self.state_frame, reserved: 0 };
        // SAFETY: the callback was checked non-NULL; `snap` points to a writer that lives for the
        // whole call, and the snapshot functions only use it through this pointer.
        let rc = unsafe { (cb.save)(cb.user, self.state_frame, &mut snap) };
        if rc != 0 {
            return Err(SimError::new("the save_state callback returned nonzero"));
        }
        Ok(())
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        let cb = self.cb.ok_or(SimError::new("no callbacks set"))?;
        self.state_frame = self.load_frame;
        // SAFETY: the callback was checked non-NULL; the bytes are valid during the call.
        let rc = unsafe { (cb.load)(cb.user, self.load_frame, snapshot.as_ptr(), snapshot.len()) };
        if rc != 0 {
            return Err(SimError::new("the load_state callback returned nonzero"));
        }
        Ok(())
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

/// Checks that the open step saves `frame`.
pub(crate) fn check_save(session: &Session, frame: u32) -> Result<(), FfiError> {
    let n = session.step_len();
    if n == 0 {
        return Err(Error::NoOpenStep.into());
    }
    let found = (0..n).any(|i| matches!(session.step_request(i), Some(Request::SaveState { frame: f }) if f == frame));
    if found {
        Ok(())
    } else {
        Err(FfiError::NotSaved { frame })
    }
}

fn slot_arg(slot: u32) -> usize {
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

fn mode_code(m: Mode) -> u32 {
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
        let handle = Box::new(framelock_session { session, sim: CallbackSim::new(slots) });
        // SAFETY: `out_session` is non-NULL and writable, as documented.
        unsafe { out_session.write(Box::into_raw(handle)) };
        Ok(())
    })
}

/// Frees a session and everything it owns (snapshot buffers, inputs). Pointers obtained from it
/// become invalid. Accepts NULL (does nothing).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_free(session: *mut framelock_session) {
    guard_void(|| {
        if !session.is_null() {
            // SAFETY: a non-NULL handle came from framelock_session_new() and is freed once.
            drop(unsafe { Box::from_raw(session) });
        }
    })
}

// ----- exports: inputs ------------------------------------------------------------------------------

/// Adds this tick's input of local slot `slot` (`len` bytes at `input`, copied). It is queued for
/// frame current_frame + input_delay, written to `*out_frame` (which may be NULL); when the input
/// is dropped (a lowered input delay catching up, or a disconnected slot) FRAMELOCK_NO_FRAME is
/// written instead. Call it for every local slot before every framelock_session_advance().
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
        // SAFETY: NULL or a live session handle, used by one thread at a time, as documented.
        let s = unsafe { handle_mut(session, "session") }?;
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let input = unsafe { bytes(input, len, "input") }?;
        let frame = s.session.add_local_input(slot_arg(slot), input)?;
        if !out_frame.is_null() {
            // SAFETY: non-NULL out-parameter, writable as documented.
            unsafe { out_frame.write(frame.unwrap_or(FRAMELOCK_NO_FRAME)) };
        }
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
        let s = unsafe { handle_mut(session, "session") }?;
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
        let s = unsafe { handle_mut(session, "session") }?;
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
        let s = unsafe { handle_mut(session, "session") }?;
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
        let s = unsafe { handle_mut(session, "session") }?;
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
/// Returns as framelock_session_advance(), and FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_NULL_ARGUMENT (a callback is NULL); FRAMELOCK_ERR_SIMULATION (a callback returned
/// nonzero: the step is abandoned, the message names the frame); FRAMELOCK_ERR_NO_SUCH_SNAPSHOT.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_advance_with(
    session: *mut framelock_session,
    callbacks: *const framelock_callbacks,
    out_outcome: *mut framelock_outcome,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { handle_mut(session, "session") }?;
        let out_outcome = out(out_outcome, "out_outcome")?;
        // SAFETY: NULL or a readable callbacks struct, as documented.
        unsafe { s.sim.set(callbacks, 0, 0) }?;
        let o = s.session.begin_step()?;
        // The state's frame before the first request, and the frame a load restores.
        let mut start = s.session.current_frame();
        let mut load = start;
        for i in (0..s.session.step_len()).rev() {
            match s.session.step_request(i) {
                Some(Request::SaveState { frame }) => start = frame,
                Some(Request::AdvanceFrame { frame, .. }) => start = frame,
                Some(Request::LoadState { frame }) => {
                    start = frame;
                    load = frame;
                }
                None => {}
            }
        }
        s.sim.state_frame = start;
        s.sim.load_frame = load;
        let fulfilled = s.session.fulfil_step(&mut s.sim);
        s.sim.cb = None;
        fulfilled?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_outcome.write(outcome(&s.session, o)) };
        Ok(())
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
        let s = unsafe { handle(session, "session") }?;
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
        let s = unsafe { handle(session, "session") }?;
        let out_request = out(out_request, "out_request")?;
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
        let s = unsafe { handle(session, "session") }?;
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
        let s = unsafe { handle_mut(session, "session") }?;
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let data = unsafe { bytes(data, len, "data") }?;
        check_save(&s.session, frame)?;
        let mut w = s.session.step_save(frame)?;
        let capacity = w.capacity();
        w.write(data).map_err(|_| Error::SnapshotTooLarge { frame, capacity })?;
        // SAFETY: NULL or a readable u64.
        if let Some(&c) = unsafe { checksum.as_ref() } {
            w.set_checksum(c);
        }
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
        let s = unsafe { handle_mut(session, "session") }?;
        let out_buffer = out(out_buffer, "out_buffer")?;
        check_save(&s.session, frame)?;
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
        let s = unsafe { handle(session, "session") }?;
        let out_data = out(out_data, "out_data")?;
        let out_len = out(out_len, "out_len")?;
        let data = s.session.step_load(frame)?;
        // SAFETY: non-NULL, writable out-parameters.
        unsafe {
            out_data.write(data.as_ptr());
            out_len.write(data.len());
        }
        Ok(())
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
        let s = unsafe { handle_mut(session, "session") }?;
        s.session.finish_step();
        Ok(())
    })
}

// ----- exports: snapshots in callbacks --------------------------------------------------------------

/// In a save_state callback: appends `len` bytes from `data` to the snapshot.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_SNAPSHOT_TOO_LARGE.
#[no_mangle]
pub unsafe extern "C" fn framelock_snapshot_write(
    snapshot: *mut framelock_snapshot,
    data: *const u8,
    len: usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or the snapshot passed to the running save_state callback.
        let snap = unsafe { handle_mut(snapshot, "snapshot") }?;
        // SAFETY: NULL (with len 0) or `len` readable bytes.
        let data = unsafe { bytes(data, len, "data") }?;
        // SAFETY: `writer` points to the writer that outlives the running callback.
        let w = unsafe { &mut *snap.writer };
        let capacity = w.capacity() - snap.reserved;
        if w.len() + data.len() > capacity {
            return Err(Error::SnapshotTooLarge { frame: snap.frame, capacity }.into());
        }
        w.write(data).map_err(|_| Error::SnapshotTooLarge { frame: snap.frame, capacity })?;
        Ok(())
    })
}

/// In a save_state callback: sets the snapshot to `len` zeroed bytes and writes a pointer to them
/// to `*out_buffer`, for the engine to fill before the callback returns.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_SNAPSHOT_TOO_LARGE.
#[no_mangle]
pub unsafe extern "C" fn framelock_snapshot_buffer(
    snapshot: *mut framelock_snapshot,
    len: usize,
    out_buffer: *mut *mut u8,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or the snapshot passed to the running save_state callback.
        let snap = unsafe { handle_mut(snapshot, "snapshot") }?;
        let out_buffer = out(out_buffer, "out_buffer")?;
        // SAFETY: `writer` points to the writer that outlives the running callback.
        let w = unsafe { &mut *snap.writer };
        let capacity = w.capacity() - snap.reserved;
        if len > capacity {
            return Err(Error::SnapshotTooLarge { frame: snap.frame, capacity }.into());
        }
        let buf = w.buffer(len).map_err(|_| Error::SnapshotTooLarge { frame: snap.frame, capacity })?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_buffer.write(buf.as_mut_ptr()) };
        Ok(())
    })
}

/// In a save_state callback: uses the game's own checksum for this snapshot instead of
/// framelock's hash of its bytes.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_snapshot_set_checksum(
    snapshot: *mut framelock_snapshot,
    checksum: u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or the snapshot passed to the running save_state callback.
        let snap = unsafe { handle_mut(snapshot, "snapshot") }?;
        // SAFETY: `writer` points to the writer that outlives the running callback.
        unsafe { &mut *snap.writer }.set_checksum(checksum);
        Ok(())
    })
}

/// In a save_state callback: writes the snapshot's capacity (max_snapshot_size) to `*out_capacity`.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_snapshot_capacity(
    snapshot: *const framelock_snapshot,
    out_capacity: *mut usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or the snapshot passed to the running save_state callback.
        let snap = unsafe { handle(snapshot, "snapshot") }?;
        let out_capacity = out(out_capacity, "out_capacity")?;
        // SAFETY: `writer` points to the writer that outlives the running callback; non-NULL out.
        unsafe { out_capacity.write((*snap.writer).capacity() - snap.reserved) };
        Ok(())
    })
}

// ----- exports: checksums, events, observation ------------------------------------------------------

/// Compares a remote peer's checksum of `frame` (from `slot`) with the local one, now or once the
/// local one is final. A difference raises FRAMELOCK_EVENT_DESYNC.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_UNKNOWN_SLOT;
/// FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE (older than the kept history); FRAMELOCK_ERR_CHECKSUM_QUEUE_FULL.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_add_remote_checksum(
    session: *mut framelock_session,
    slot: u32,
    frame: u32,
    checksum: u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { handle_mut(session, "session") }?;
        s.session.add_remote_checksum(slot_arg(slot), frame, checksum)?;
        Ok(())
    })
}

/// Writes the final checksum of the state at the start of confirmed frame `frame` to
/// `*out_checksum` (to send to peers), while the history holds it.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_CHECKSUM_UNAVAILABLE (not final
/// yet, too old, or not taken in lockstep with a checksum_interval).
#[no_mangle]
pub unsafe extern "C" fn framelock_session_checksum(
    session: *const framelock_session,
    frame: u32,
    out_checksum: *mut u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { handle(session, "session") }?;
        let out_checksum = out(out_checksum, "out_checksum")?;
        let c = s.session.checksum(frame).ok_or(FfiError::Core(Error::ChecksumUnavailable { frame, slot: 0 }))?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_checksum.write(c) };
        Ok(())
    })
}

/// Takes the oldest waiting event into `*out_event`; its kind is FRAMELOCK_EVENT_NONE when none is
/// waiting. Poll until NONE after every tick.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_poll_event(
    session: *mut framelock_session,
    out_event: *mut framelock_event,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { handle_mut(session, "session") }?;
        let out_event = out(out_event, "out_event")?;
        let e = match s.session.poll_event() {
            None => framelock_event::default(),
            Some(Event::Desync { frame, slot, local, remote }) => framelock_event {
                kind: FRAMELOCK_EVENT_DESYNC,
                slot: slot as u32,
                frame,
                local_checksum: local,
                remote_checksum: remote,
            },
            Some(Event::SyncTestMismatch { frame, first, second }) => framelock_event {
                kind: FRAMELOCK_EVENT_SYNC_TEST_MISMATCH,
                slot: 0,
                frame,
                local_checksum: first,
                remote_checksum: second,
            },
            Some(Event::SlotDisconnected { slot, frame }) => framelock_event {
                kind: FRAMELOCK_EVENT_SLOT_DISCONNECTED,
                slot: slot as u32,
                frame,
                ..Default::default()
            },
            Some(Event::ChecksumNotCompared { frame, slot }) => framelock_event {
                kind: FRAMELOCK_EVENT_CHECKSUM_NOT_COMPARED,
                slot: slot as u32,
                frame,
                ..Default::default()
            },
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_event.write(e) };
        Ok(())
    })
}

/// Writes where the session stands to `*out_info` (set its struct_size first).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_get_info(
    session: *const framelock_session,
    out_info: *mut framelock_session_info,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { handle(session, "session") }?;
        let out_info = out(out_info, "out_info")?;
        // SAFETY: non-NULL; the caller promises a readable struct whose struct_size is set.
        check_size::<framelock_session_info>(unsafe { (*out_info).struct_size }, "framelock_session_info")?;
        let x = &s.session;
        let info = framelock_session_info {
            struct_size: core::mem::size_of::<framelock_session_info>() as u32,
            current_frame: x.current_frame(),
            confirmed_until: x.confirmed_until(),
            checksummed_until: x.checksummed_until(),
            input_delay: x.input_delay(),
            slots: x.slots() as u32,
            max_input_size: x.max_input_size() as u32,
            mode: mode_code(x.mode()),
            local_slots: x.local_slots(),
            max_snapshot_size: x.max_snapshot_size(),
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_info.write(info) };
        Ok(())
    })
}

/// Writes the session's counters to `*out_stats` (set its struct_size first).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_get_stats(
    session: *const framelock_session,
    out_stats: *mut framelock_stats,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { handle(session, "session") }?;
        let out_stats = out(out_stats, "out_stats")?;
        // SAFETY: non-NULL; the caller promises a readable struct whose struct_size is set.
        check_size::<framelock_stats>(unsafe { (*out_stats).struct_size }, "framelock_stats")?;
        let st = s.session.stats();
        let stats = framelock_stats {
            struct_size: core::mem::size_of::<framelock_stats>() as u32,
            max_rollback: st.max_rollback,
            frames_advanced: st.frames_advanced,
            frames_resimulated: st.frames_resimulated,
            rollbacks: st.rollbacks,
            stalls: st.stalls,
            checksums_compared: st.checksums_compared,
            desyncs: st.desyncs,
            events_dropped: st.events_dropped,
        };
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_stats.write(stats) };
        Ok(())
    })
}

/// Writes the slots whose input for `frame` is not confirmed yet to `*out_mask` (bit `s` for slot
/// `s`).
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_session_waiting_for(
    session: *const framelock_session,
    frame: u32,
    out_mask: *mut u64,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live session handle.
        let s = unsafe { handle(session, "session") }?;
        let out_mask = out(out_mask, "out_mask")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_mask.write(s.session.waiting_for(frame)) };
        Ok(())
    })
}
