//! The engine's game state as C callbacks: the callbacks struct, the [`Simulation`] made of them,
//! and the snapshot functions a save_state callback writes with.

use core::ffi::c_void;

use framelock_core::{Error, FrameInputs, InputStatus, SimError, Simulation, SnapshotWriter, MAX_SLOTS};

use crate::error::{bytes, check_size, guard, handle, handle_mut, out, outside, FfiError};
use crate::framelock_status;
use crate::session::{
    framelock_input, FRAMELOCK_INPUT_CONFIRMED, FRAMELOCK_INPUT_DISCONNECTED, FRAMELOCK_INPUT_PREDICTED,
    FRAMELOCK_INPUT_SUBSTITUTED,
};

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

/// One frame's inputs as an advance_frame callback receives them (one entry per slot).
///
/// A fixed array of `MAX_SLOTS` entries (1.5 KiB inline) rather than a `Vec` with capacity for the
/// session's slots: nothing to allocate when a session is made. Not an `ArrayVec`: filled by a zip
/// with the frame's inputs, a plain array has no per-entry capacity check (215 instructions per
/// tick of the C ABI bench: 8 slots, 3.55 frames simulated per tick).
#[derive(Debug)]
pub(crate) struct InputRow([framelock_input; MAX_SLOTS]);

impl Default for InputRow {
    fn default() -> Self {
        InputRow([framelock_input::default(); MAX_SLOTS])
    }
}

impl InputRow {
    /// The C view of `inputs`, valid until the next fill.
    #[inline]
    pub(crate) fn fill(&mut self, inputs: FrameInputs<'_>) -> Result<&[framelock_input], SimError> {
        let iter = inputs.iter();
        let n = iter.len();
        if n > MAX_SLOTS {
            return Err(SimError::new("more than 64 slots"));
        }
        for (e, p) in self.0.iter_mut().zip(iter) {
            *e = c_input(p.slot, p.bytes, p.status);
        }
        Ok(&self.0[..n])
    }
}

/// A [`Simulation`] made of C callbacks. It tells each callback the frame concerned: it follows the
/// state's frame from the requests it is given.
#[derive(Debug)]
pub(crate) struct CallbackSim {
    pub(crate) cb: Option<Callbacks>,
    inputs: InputRow,
    /// The frame whose starting state the game holds.
    pub(crate) state_frame: u32,
    /// The frame the next load restores.
    pub(crate) load_frame: u32,
}

impl CallbackSim {
    /// `slots` is the session's (or a log's): the input row holds `MAX_SLOTS`, and a frame with
    /// more inputs fails the advance with an error instead of being cut.
    pub(crate) fn new(_slots: usize) -> Self {
        CallbackSim { cb: None, inputs: InputRow::default(), state_frame: 0, load_frame: 0 }
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
        let frame = inputs.frame();
        let row = self.inputs.fill(inputs)?;
        // SAFETY: the callback was checked non-NULL; `row` holds `len` initialized entries whose
        // byte pointers stay valid during the call (they point into the session's input store).
        let rc = outside(|| unsafe { (cb.advance)(cb.user, frame, row.as_ptr(), row.len()) });
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
        let rc = outside(|| unsafe { (cb.save)(cb.user, self.state_frame, &mut snap) });
        if rc != 0 {
            return Err(SimError::new("the save_state callback returned nonzero"));
        }
        Ok(())
    }

    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        let cb = self.cb.ok_or(SimError::new("no callbacks set"))?;
        self.state_frame = self.load_frame;
        // SAFETY: the callback was checked non-NULL; the bytes are valid during the call.
        let rc = outside(|| unsafe { (cb.load)(cb.user, self.load_frame, snapshot.as_ptr(), snapshot.len()) });
        if rc != 0 {
            return Err(SimError::new("the load_state callback returned nonzero"));
        }
        Ok(())
    }
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
