//! The reference simulation (a small top-down shooter), for tests, demos and benchmarks.

use framelock_core::arena::{
    encode_params, scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, INPUT_SIZE,
};
use framelock_core::{Bump, Error, Request, Session, SimError, Simulation};

use crate::error::{check_size, free_box, guard, handle, handle_mut, out, write_opt, FfiError};
use crate::framelock_status;
use crate::session::{abort, check_save, framelock_session, lock};

/// The size of one arena input in bytes (byte 0: buttons, byte 1: aim).
pub const FRAMELOCK_ARENA_INPUT_SIZE: u32 = 2;
/// The length of framelock_arena_encode_params()' output.
pub const FRAMELOCK_ARENA_PARAMS_LEN: u32 = 16;

/// The reference simulation's state (opaque). Create with framelock_arena_new(), free with
/// framelock_arena_free().
#[derive(Debug)]
pub struct framelock_arena {
    pub(crate) arena: Arena,
    scratch: Bump,
    scratch_cap: usize,
}

/// The reference simulation's configuration. Fill with framelock_arena_params_init(). Every peer
/// must use the same params.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct framelock_arena_params {
    /// sizeof(framelock_arena_params).
    pub struct_size: u32,
    /// Players, one per input slot, 1..=64 (default 8).
    pub players: u32,
    /// Most projectiles alive at once, 0..=65535 (default 1024).
    pub max_projectiles: u32,
    /// Side of the square world in world units, 64..=1048576 (default 1024).
    pub world_size: i32,
    /// Seed of the arena's random generator (default 1).
    pub seed: u64,
}

/// One player of the reference simulation, for drawing.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct framelock_arena_player {
    /// Horizontal position in 16.16 fixed point world units.
    pub x_fixed: i64,
    /// Vertical position (grows downwards) in 16.16 fixed point world units.
    pub y_fixed: i64,
    /// Health, 0 while waiting to respawn.
    pub health: i32,
    /// Kills scored.
    pub score: i32,
    /// False while waiting to respawn.
    pub alive: bool,
}

/// The default params, struct_size set.
pub(crate) fn default_params() -> framelock_arena_params {
    let d = ArenaParams::default();
    framelock_arena_params {
        struct_size: core::mem::size_of::<framelock_arena_params>() as u32,
        players: u32::from(d.players),
        max_projectiles: u32::from(d.max_projectiles),
        world_size: d.world_size,
        seed: d.seed,
    }
}

/// Player `slot` of an arena, for drawing.
pub(crate) fn player_of(arena: &Arena, slot: u32) -> Result<framelock_arena_player, FfiError> {
    let players = arena.players();
    let p = players.get(slot as usize).ok_or(FfiError::IndexOutOfRange {
        what: "player",
        index: slot as usize,
        len: players.len(),
    })?;
    Ok(framelock_arena_player {
        x_fixed: p.x.raw(),
        y_fixed: p.y.raw(),
        health: p.health,
        score: p.score,
        alive: p.is_alive(),
    })
}

pub(crate) fn params_of(p: &framelock_arena_params) -> Result<ArenaParams, FfiError> {
    check_size::<framelock_arena_params>(p.struct_size, "framelock_arena_params")?;
    let players = u8::try_from(p.players).map_err(|_| FfiError::Invalid("params.players", "must be 1..=64"))?;
    let max_projectiles = u16::try_from(p.max_projectiles)
        .map_err(|_| FfiError::Invalid("params.max_projectiles", "must be 0..=65535"))?;
    let params = ArenaParams { players, max_projectiles, world_size: p.world_size, seed: p.seed };
    params
        .validate()
        .map_err(|e| FfiError::Core(Error::InvalidConfig { setting: "arena params", reason: e.reason }))?;
    Ok(params)
}

pub(crate) fn new_arena(params: ArenaParams) -> Result<framelock_arena, FfiError> {
    let arena = Arena::new(params).map_err(|e| Error::InvalidConfig { setting: "arena params", reason: e.reason })?;
    let scratch_cap = scratch_size_bound(&params);
    let scratch = Bump::with_capacity(scratch_cap);
    scratch.set_allocation_limit(Some(scratch_cap));
    Ok(framelock_arena { arena, scratch, scratch_cap })
}

fn sim_error(frame: u32, cap: usize, e: SimError) -> Error {
    if e == SimError::SCRATCH_EXHAUSTED {
        Error::ArenaExhausted { arena: "scratch", cap }
    } else {
        Error::Simulation { frame, reason: e.reason }
    }
}

impl framelock_arena {
    fn save(&self, session: &mut Session, frame: u32) -> Result<(), FfiError> {
        check_save(session, frame)?;
        let mut w = session.step_save(frame)?;
        self.arena.save(&mut w).map_err(|e| sim_error(frame, self.scratch_cap, e))?;
        Ok(())
    }

    fn load(&mut self, session: &Session, frame: u32) -> Result<(), FfiError> {
        let data = session.step_load(frame)?;
        self.arena.load(data).map_err(|e| sim_error(frame, self.scratch_cap, e))?;
        Ok(())
    }

    fn advance(&mut self, session: &Session, index: usize) -> Result<(), FfiError> {
        let r = session.step_request(index).ok_or(FfiError::IndexOutOfRange {
            what: "request",
            index,
            len: session.step_len(),
        })?;
        let Request::AdvanceFrame { frame, inputs } = r else {
            return Err(FfiError::Invalid("index", "names a request that is not FRAMELOCK_REQUEST_ADVANCE_FRAME"));
        };
        self.scratch.reset();
        self.arena.advance(inputs, &self.scratch).map_err(|e| sim_error(frame, self.scratch_cap, e))?;
        Ok(())
    }
}

/// Fills `params` with the defaults and sets its struct_size.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_params_init(params: *mut framelock_arena_params) -> framelock_status {
    guard(|| {
        let params = out(params, "params")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { params.write(default_params()) };
        Ok(())
    })
}

/// Checks `params` and writes the snapshot size a session driving this arena needs (the config's
/// max_snapshot_size) to `*out_snapshot_size`. `params` is required; `out_snapshot_size` may be
/// NULL to only check the params.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT (params); FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_INVALID_ARGUMENT or FRAMELOCK_ERR_INVALID_CONFIG (params out of range).
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_snapshot_size(
    params: *const framelock_arena_params,
    out_snapshot_size: *mut usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable params struct.
        let p = params_of(unsafe { handle(params, "params") }?)?;
        // SAFETY: NULL or writable, as documented.
        unsafe { write_opt(out_snapshot_size, snapshot_size_bound(&p)) };
        Ok(())
    })
}

/// Encodes params into the 16-byte layout input logs record (the log config's sim_params, with
/// simulation "arena"), into `out` (room for `capacity` bytes); writes the length to `*out_len`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_INVALID_ARGUMENT; FRAMELOCK_ERR_INVALID_CONFIG; FRAMELOCK_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_encode_params(
    params: *const framelock_arena_params,
    out_bytes: *mut u8,
    capacity: usize,
    out_len: *mut usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable params struct.
        let p = params_of(unsafe { handle(params, "params") }?)?;
        let out_bytes = out(out_bytes, "out_bytes")?;
        let out_len = out(out_len, "out_len")?;
        let enc = encode_params(&p);
        if capacity < enc.len() {
            return Err(FfiError::BufferTooSmall { arg: "out_bytes", needed: enc.len(), got: capacity });
        }
        // SAFETY: `out_bytes` has room for `capacity` >= enc.len() bytes; non-NULL out_len.
        unsafe {
            core::ptr::copy_nonoverlapping(enc.as_ptr(), out_bytes, enc.len());
            out_len.write(enc.len());
        }
        Ok(())
    })
}

/// Creates an arena at frame 0 (players at random positions from the seed). It allocates its
/// storage and its own scratch memory once, here. The caller owns the handle and frees it with
/// framelock_arena_free().
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_STRUCT_SIZE;
/// FRAMELOCK_ERR_INVALID_ARGUMENT; FRAMELOCK_ERR_INVALID_CONFIG.
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_new(
    params: *const framelock_arena_params,
    out_arena: *mut *mut framelock_arena,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a readable params struct.
        let p = params_of(unsafe { handle(params, "params") }?)?;
        let out_arena = out(out_arena, "out_arena")?;
        let a = Box::new(new_arena(p)?);
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_arena.write(Box::into_raw(a)) };
        Ok(())
    })
}

/// Frees an arena. Accepts NULL (does nothing).
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_free(arena: *mut framelock_arena) {
    // SAFETY: NULL or a handle from framelock_arena_new(), freed once (the C contract).
    unsafe { free_box(arena) }
}

/// Fulfils every request of the session's open step with this arena, in order, and closes the step
/// (the whole tick after framelock_session_advance() in one call).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_SIMULATION;
/// FRAMELOCK_ERR_ARENA_EXHAUSTED; FRAMELOCK_ERR_SNAPSHOT_TOO_LARGE (max_snapshot_size below
/// framelock_arena_snapshot_size()); FRAMELOCK_ERR_NO_SUCH_SNAPSHOT.
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_fulfil(
    arena: *mut framelock_arena,
    session: *mut framelock_session,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or live handles, each used by one thread at a time.
        let a = unsafe { handle_mut(arena, "arena") }?;
        // SAFETY: as above.
        let mut s = unsafe { lock(session) }?;
        for i in 0..s.session.step_len() {
            let (done, frame) = match s.session.step_request(i) {
                Some(Request::SaveState { frame }) => (a.save(&mut s.session, frame), frame),
                Some(Request::LoadState { frame }) => (a.load(&s.session, frame), frame),
                Some(Request::AdvanceFrame { frame, .. }) => (a.advance(&s.session, i), frame),
                None => (Ok(()), 0),
            };
            if let Err(e) = done {
                // The session does not count what the arena did not complete (see abort_step).
                let cause = match e {
                    FfiError::Core(c) => c,
                    _ => Error::Simulation { frame, reason: "a request could not be fulfilled" },
                };
                return Err(abort(&mut s, i, cause));
            }
        }
        s.session.finish_step();
        Ok(())
    })
}

/// Fulfils the FRAMELOCK_REQUEST_SAVE_STATE request for `frame` of the session's open step with this
/// arena's state.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_NO_OPEN_STEP;
/// FRAMELOCK_ERR_NO_SUCH_SNAPSHOT; FRAMELOCK_ERR_SIMULATION (the snapshot does not fit).
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_save(
    arena: *const framelock_arena,
    session: *mut framelock_session,
    frame: u32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or live handles.
        let a = unsafe { handle(arena, "arena") }?;
        // SAFETY: as above.
        let mut s = unsafe { lock(session) }?;
        a.save(&mut s.session, frame)
    })
}

/// Fulfils the FRAMELOCK_REQUEST_LOAD_STATE request for `frame` of the session's open step.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_NO_OPEN_STEP;
/// FRAMELOCK_ERR_NO_SUCH_SNAPSHOT; FRAMELOCK_ERR_SIMULATION (a snapshot of another arena).
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_load(
    arena: *mut framelock_arena,
    session: *const framelock_session,
    frame: u32,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or live handles.
        let a = unsafe { handle_mut(arena, "arena") }?;
        // SAFETY: as above.
        let s = unsafe { lock(session) }?;
        a.load(&s.session, frame)
    })
}

/// Fulfils the FRAMELOCK_REQUEST_ADVANCE_FRAME request `index` of the session's open step.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (index out of
/// range or not an advance); FRAMELOCK_ERR_ARENA_EXHAUSTED.
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_advance(
    arena: *mut framelock_arena,
    session: *const framelock_session,
    index: usize,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or live handles.
        let a = unsafe { handle_mut(arena, "arena") }?;
        // SAFETY: as above.
        let s = unsafe { lock(session) }?;
        a.advance(&s.session, index)
    })
}

/// Writes a human-looking scripted input for `slot` at `frame` (deterministic in `seed`) into
/// `out_input` (room for `capacity` bytes, at least FRAMELOCK_ARENA_INPUT_SIZE).
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_scripted_input(
    seed: u64,
    slot: u32,
    frame: u32,
    out_input: *mut u8,
    capacity: usize,
) -> framelock_status {
    guard(|| {
        let out_input = out(out_input, "out_input")?;
        if capacity < INPUT_SIZE {
            return Err(FfiError::BufferTooSmall { arg: "out_input", needed: INPUT_SIZE, got: capacity });
        }
        let b = scripted_input(seed, slot as usize, frame);
        // SAFETY: room for `capacity` >= INPUT_SIZE bytes.
        unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), out_input, INPUT_SIZE) };
        Ok(())
    })
}

/// Writes the number of frames the arena advanced to `*out_frame`.
///
/// Returns FRAMELOCK_OK or FRAMELOCK_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_frame(arena: *const framelock_arena, out_frame: *mut u32) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let a = unsafe { handle(arena, "arena") }?;
        let out_frame = out(out_frame, "out_frame")?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_frame.write(a.arena.frame()) };
        Ok(())
    })
}

/// Writes player `slot` to `*out_player`.
///
/// Returns FRAMELOCK_OK; FRAMELOCK_ERR_NULL_ARGUMENT; FRAMELOCK_ERR_INVALID_ARGUMENT (no such player).
#[no_mangle]
pub unsafe extern "C" fn framelock_arena_get_player(
    arena: *const framelock_arena,
    slot: u32,
    out_player: *mut framelock_arena_player,
) -> framelock_status {
    guard(|| {
        // SAFETY: NULL or a live handle.
        let a = unsafe { handle(arena, "arena") }?;
        let out_player = out(out_player, "out_player")?;
        let v = player_of(&a.arena, slot)?;
        // SAFETY: non-NULL, writable out-parameter.
        unsafe { out_player.write(v) };
        Ok(())
    })
}
