//! The reference simulation seen from Python: params, its state as one columnar buffer that the
//! Python side views as numpy arrays, input helpers.

use framelock_core::arena::{self, Arena, ArenaParams};
use framelock_core::fixed::Fixed;
use framelock_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// `(players, max_projectiles, world_size, seed)` as Python passes them.
pub type ParamsTuple = (u8, u16, i32, u64);

/// Checked arena params (an `InvalidConfigError` for values out of range).
pub fn params(t: ParamsTuple) -> Result<ArenaParams, Error> {
    let p = ArenaParams { players: t.0, max_projectiles: t.1, world_size: t.2, seed: t.3 };
    p.validate().map_err(|e| Error::InvalidConfig { setting: "arena", reason: e.reason })?;
    Ok(p)
}

/// Checked arena params for a match of `slots` players (one per slot).
pub fn match_params(t: ParamsTuple, slots: usize) -> Result<ArenaParams, Error> {
    let p = params(t)?;
    if usize::from(p.players) != slots {
        return Err(Error::InvalidConfig {
            setting: "arena",
            reason: "must have one player per slot (players == arena.players)",
        });
    }
    Ok(p)
}

/// The arena of checked params (its own refusal as an `InvalidConfigError` of `arena`).
pub fn new_arena(p: ArenaParams) -> Result<Arena, Error> {
    Arena::new(p).map_err(|e| Error::InvalidConfig { setting: "arena", reason: e.reason })
}

pub fn params_tuple(p: &ArenaParams) -> ParamsTuple {
    (p.players, p.max_projectiles, p.world_size, p.seed)
}

fn world(v: Fixed) -> f64 {
    // |raw| < 2^37 in a world of at most 2^20 units: exact in an f64.
    v.raw() as f64 / 65536.0
}

/// The arena's state as `(frame, players, projectiles, buffer)`. The buffer is columnar and
/// little-endian, every column aligned to its element size:
/// `player_pos f64[P,2] | player_vel f64[P,2] | facing f64[P] | proj_pos f64[M,2] | proj_vel f64[M,2]
/// | health i32[P] | score i32[P] | cooldown u16[P] | respawn u16[P] | ttl u16[M] | owner u8[M]`.
pub fn state<'py>(py: Python<'py>, a: &Arena) -> PyResult<(u32, usize, usize, Bound<'py, PyBytes>)> {
    let (players, shots) = (a.players(), a.projectiles());
    let (p, m) = (players.len(), shots.len());
    let len = 40 * p + 32 * m + 8 * p + 4 * p + 2 * m + m;
    let bytes = PyBytes::new_with(py, len, |buf| {
        let mut at = 0;
        let mut put = |b: &[u8]| {
            buf[at..at + b.len()].copy_from_slice(b);
            at += b.len();
        };
        for q in players {
            put(&world(q.x).to_le_bytes());
            put(&world(q.y).to_le_bytes());
        }
        for q in players {
            put(&world(q.vx).to_le_bytes());
            put(&world(q.vy).to_le_bytes());
        }
        for q in players {
            put(&world(q.facing).to_le_bytes());
        }
        for s in shots {
            put(&world(s.x).to_le_bytes());
            put(&world(s.y).to_le_bytes());
        }
        for s in shots {
            put(&world(s.vx).to_le_bytes());
            put(&world(s.vy).to_le_bytes());
        }
        for q in players {
            put(&q.health.to_le_bytes());
        }
        for q in players {
            put(&q.score.to_le_bytes());
        }
        for q in players {
            put(&q.cooldown.to_le_bytes());
        }
        for q in players {
            put(&q.respawn.to_le_bytes());
        }
        for s in shots {
            put(&s.ttl.to_le_bytes());
        }
        for s in shots {
            put(&[s.owner]);
        }
        Ok(())
    })?;
    Ok((a.frame(), p, m, bytes))
}

/// `scripted_input(seed, slot, frame)` for `frames` frames from `start` and `slots` slots, as one
/// `frames × slots × 2` buffer (the input array of `Session.run`).
#[pyfunction]
#[pyo3(signature = (seed, slots, frames, start = 0))]
pub fn scripted_inputs(
    py: Python<'_>,
    seed: u64,
    slots: usize,
    frames: usize,
    start: u32,
) -> PyResult<Bound<'_, PyBytes>> {
    let size = arena::INPUT_SIZE;
    let len = frames
        .checked_mul(slots)
        .and_then(|n| n.checked_mul(size))
        .filter(|&n| n <= 1 << 31)
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("frames × slots is too large"))?;
    PyBytes::new_with(py, len, |buf| {
        for (i, chunk) in buf.chunks_exact_mut(size).enumerate() {
            let (t, s) = (i / slots.max(1), i % slots.max(1));
            let frame = start.wrapping_add(t as u32);
            chunk.copy_from_slice(&arena::scripted_input(seed, s, frame));
        }
        Ok(())
    })
}

/// Packs one player's controls into the arena's two-byte input.
#[pyfunction]
#[pyo3(signature = (up = false, down = false, left = false, right = false, fire = false, aim = 0))]
pub fn encode_input(up: bool, down: bool, left: bool, right: bool, fire: bool, aim: u8) -> [u8; 2] {
    arena::encode_input(up, down, left, right, fire, aim)
}

/// `snapshot_size_bound` and `scratch_size_bound` of these params.
#[pyfunction]
pub fn arena_bounds(p: ParamsTuple) -> PyResult<(usize, usize)> {
    let p = params(p).map_err(crate::errors::to_py)?;
    Ok((arena::snapshot_size_bound(&p), arena::scratch_size_bound(&p)))
}

/// `encode_params` (an input log header's `sim_params`).
#[pyfunction]
pub fn encode_arena_params(py: Python<'_>, p: ParamsTuple) -> PyResult<Bound<'_, PyBytes>> {
    let p = params(p).map_err(crate::errors::to_py)?;
    Ok(PyBytes::new(py, &arena::encode_params(&p)))
}

/// `decode_params`; a `LogMismatchError` for bytes that are not valid arena params.
#[pyfunction]
pub fn decode_arena_params(bytes: &[u8]) -> PyResult<ParamsTuple> {
    let p = arena::decode_params(bytes).map_err(|e| crate::errors::to_py(Error::LogMismatch { what: e.reason }))?;
    Ok(params_tuple(&p))
}
