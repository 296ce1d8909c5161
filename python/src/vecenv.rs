//! `NativeVecEnv`: many arena matches stepped in one native call without the GIL, for the
//! vectorized environments of `framelock.env` (`ArenaVecEnv`, `ArenaGymVecEnv`).
//!
//! Each match is a lockstep session over its own `Arena` (every slot local, checksums every
//! 65,536 frames so that no snapshot is taken per frame). Controlled slots take the caller's
//! actions; the others play the core's scripted bots. A match is truncated after `max_cycles`
//! steps; the next step resets it (Gymnasium's "next step" autoreset) with a fresh seed drawn from
//! the vector seed, the match index and the episode number.

use std::sync::{Mutex, MutexGuard, TryLockError};

use framelock_core::arena::{
    scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, NEUTRAL_INPUT,
};
use framelock_core::{Driver, Error, SessionBuilder};
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::arena::{params, ParamsTuple};
use crate::errors::IntoPy;
use crate::observe::{self, Spec};

/// The 9 moves of an action's first component: button bits (8 stands still).
const MOVES: [u8; 9] = [8, 8 | 2, 2, 2 | 4, 4, 4 | 1, 1, 1 | 8, 0];
const FIRE: u8 = 16;

/// The arena input of action `[move, fire, aim]` (checked by the caller).
pub fn action_input(a: [i64; 3]) -> [u8; 2] {
    [MOVES[a[0] as usize] | if a[1] != 0 { FIRE } else { 0 }, (a[2] as u8) * 32]
}

/// `None` when `[move, fire, aim]` is in range (move 0..9, fire 0..2, aim 0..8).
pub fn action_error(a: [i64; 3]) -> Option<String> {
    if (0..9).contains(&a[0]) && (0..2).contains(&a[1]) && (0..8).contains(&a[2]) {
        None
    } else {
        Some(format!("action out of range: {a:?} (move 0..=8, fire 0..=1, aim 0..=7)"))
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of episode `episode` of match `env` under vector seed `seed`.
pub fn episode_seed(seed: u64, env: usize, episode: u64) -> u64 {
    splitmix(splitmix(seed ^ splitmix(env as u64)).wrapping_add(episode))
}

struct Match {
    driver: Driver<Arena>,
    seed: u64,
    episode: u64,
    cycles: u32,
    score: Vec<i32>,
    respawn: Vec<u16>,
    needs_reset: bool,
}

struct VecInner {
    template: ArenaParams,
    max_cycles: u32,
    controlled: Vec<usize>,
    spec: Spec,
    seed: u64,
    matches: Vec<Match>,
    near: Vec<(i128, usize)>,
    actions: Vec<i64>,
    obs: Vec<f32>,
    rewards: Vec<f32>,
    truncated: Vec<u8>,
    frames: Vec<u32>,
    seeds: Vec<u64>,
    scores: Vec<i32>,
}

fn new_match(template: &ArenaParams, seed: u64) -> Result<Driver<Arena>, Error> {
    let p = ArenaParams { seed, ..*template };
    let slots = usize::from(p.players);
    let mut b = SessionBuilder::new(slots)
        .max_input_size(2)
        .default_input(&NEUTRAL_INPUT)
        .max_snapshot_size(snapshot_size_bound(&p))
        .frame_arena_size(scratch_size_bound(&p))
        .checksum_interval(1 << 16);
    for s in 0..slots {
        b = b.local_slot(s);
    }
    let sim = Arena::new(p).map_err(|e| Error::InvalidConfig { setting: "arena", reason: e.reason })?;
    Ok(Driver::new(b.build()?, sim))
}

impl VecInner {
    fn reset_match(&mut self, e: usize) -> Result<(), Error> {
        let m = &mut self.matches[e];
        m.episode += 1;
        m.seed = episode_seed(self.seed, e, m.episode);
        m.driver = new_match(&self.template, m.seed)?;
        m.cycles = 0;
        for (i, q) in m.driver.sim().players().iter().enumerate() {
            m.score[i] = q.score;
            m.respawn[i] = q.respawn;
        }
        m.needs_reset = false;
        Ok(())
    }

    fn reset_all(&mut self, seed: u64) -> Result<(), Error> {
        self.seed = seed;
        for e in 0..self.matches.len() {
            self.matches[e].episode = u64::MAX; // the next episode is number 0
            self.reset_match(e)?;
        }
        self.rewards.fill(0.0);
        self.truncated.fill(0);
        self.write_all();
        Ok(())
    }

    /// One step of every match: actions were copied into `self.actions` and checked.
    fn step(&mut self) -> Result<(), Error> {
        let players = usize::from(self.template.players);
        let c = self.controlled.len();
        for e in 0..self.matches.len() {
            if self.matches[e].needs_reset {
                self.reset_match(e)?;
                self.rewards[e * c..(e + 1) * c].fill(0.0);
                self.truncated[e * c..(e + 1) * c].fill(0);
                continue;
            }
            let m = &mut self.matches[e];
            let frame = m.driver.session().current_frame();
            let mut next = 0;
            for slot in 0..players {
                let input = if next < c && self.controlled[next] == slot {
                    let a = &self.actions[(e * c + next) * 3..(e * c + next) * 3 + 3];
                    next += 1;
                    action_input([a[0], a[1], a[2]])
                } else {
                    scripted_input(m.seed, slot, frame)
                };
                m.driver.session_mut().add_local_input(slot, &input)?;
            }
            m.driver.advance()?;
            m.cycles += 1;
            let mut rewards = [0.0f32; 64];
            for (i, q) in m.driver.sim().players().iter().enumerate() {
                let died = q.respawn > 0 && m.respawn[i] == 0;
                rewards[i] = (q.score - m.score[i]) as f32 - if died { 1.0 } else { 0.0 };
                m.score[i] = q.score;
                m.respawn[i] = q.respawn;
            }
            for (j, &slot) in self.controlled.iter().enumerate() {
                self.rewards[e * c + j] = rewards[slot];
            }
            let done = m.cycles >= self.max_cycles;
            self.truncated[e * c..(e + 1) * c].fill(u8::from(done));
            m.needs_reset = done;
        }
        self.write_all();
        Ok(())
    }

    /// Observations and per-match infos of every match.
    fn write_all(&mut self) {
        let players = usize::from(self.template.players);
        let per = self.spec.len(players);
        let c = self.controlled.len();
        for (e, m) in self.matches.iter().enumerate() {
            let a = m.driver.sim();
            for (j, &slot) in self.controlled.iter().enumerate() {
                let at = (e * c + j) * per;
                observe::agent(a, slot, &self.spec, &mut self.near, &mut self.obs[at..at + per]);
            }
            self.frames[e] = m.driver.session().current_frame();
            self.seeds[e] = m.seed;
            for (i, q) in a.players().iter().enumerate() {
                self.scores[e * players + i] = q.score;
            }
        }
    }
}

/// The native half of `framelock.env.ArenaVecEnv`.
#[pyclass(module = "framelock._framelock", frozen)]
pub struct NativeVecEnv {
    inner: Mutex<VecInner>,
}

fn out<T: pyo3::buffer::Element + Copy>(
    py: Python<'_>,
    name: &str,
    target: &Bound<'_, PyAny>,
    data: &[T],
) -> PyResult<()> {
    let buf = PyBuffer::<T>::get(target)?;
    if buf.readonly() || !buf.is_c_contiguous() || buf.item_count() != data.len() {
        return Err(PyValueError::new_err(format!(
            "{name}: a writable C-contiguous buffer of {} items is needed",
            data.len()
        )));
    }
    buf.copy_from_slice(py, data)
}

#[pymethods]
impl NativeVecEnv {
    /// `num_envs` matches of `params` (its seed is unused: each episode draws its own);
    /// `controlled` slots take actions, the others play scripted bots.
    #[new]
    #[pyo3(signature = (num_envs, params_tuple, max_cycles, controlled, full, projectiles))]
    fn new(
        num_envs: usize,
        params_tuple: ParamsTuple,
        max_cycles: u32,
        controlled: Vec<usize>,
        full: bool,
        projectiles: usize,
    ) -> PyResult<Self> {
        let template = params(params_tuple).py_err()?;
        let players = usize::from(template.players);
        if num_envs == 0 || num_envs > 1 << 16 {
            return Err(PyValueError::new_err(format!("num_envs must be 1..=65536, not {num_envs}")));
        }
        if max_cycles == 0 {
            return Err(PyValueError::new_err("max_cycles must be at least 1"));
        }
        if controlled.is_empty()
            || controlled.windows(2).any(|w| w[0] >= w[1])
            || controlled[controlled.len() - 1] >= players
        {
            return Err(PyValueError::new_err(format!(
                "controlled must be increasing slots below players ({players}), not {controlled:?}"
            )));
        }
        if projectiles > 1024 {
            return Err(PyValueError::new_err("projectiles must be at most 1024"));
        }
        let spec = Spec { full, projectiles };
        let c = controlled.len();
        let mut matches = Vec::with_capacity(num_envs);
        for _ in 0..num_envs {
            matches.push(Match {
                driver: new_match(&template, 0).py_err()?,
                seed: 0,
                episode: 0,
                cycles: 0,
                score: vec![0; players],
                respawn: vec![0; players],
                needs_reset: true,
            });
        }
        let inner = VecInner {
            template,
            max_cycles,
            spec,
            seed: 0,
            near: Vec::with_capacity(usize::from(template.max_projectiles)),
            actions: vec![0; num_envs * c * 3],
            obs: vec![0.0; num_envs * c * spec.len(players)],
            rewards: vec![0.0; num_envs * c],
            truncated: vec![0; num_envs * c],
            frames: vec![0; num_envs],
            seeds: vec![0; num_envs],
            scores: vec![0; num_envs * players],
            matches,
            controlled,
        };
        Ok(NativeVecEnv { inner: Mutex::new(inner) })
    }

    /// Starts a new episode in every match, seeds drawn from `seed`.
    fn reset(&self, py: Python<'_>, seed: u64) -> PyResult<()> {
        let mut s = self.lock()?;
        let this: &mut VecInner = &mut s;
        py.detach(|| this.reset_all(seed)).py_err()
    }

    /// Steps every match with `actions` (int64, `num_envs × controlled × 3`), without the GIL.
    fn step(&self, py: Python<'_>, actions: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut s = self.lock()?;
        let buf = PyBuffer::<i64>::get(actions)?;
        if !buf.is_c_contiguous() || buf.item_count() != s.actions.len() {
            return Err(PyValueError::new_err(format!("actions must hold {} int64 values", s.actions.len())));
        }
        buf.copy_to_slice(py, &mut s.actions)?;
        drop(buf);
        let c = s.controlled.len();
        for (i, a) in s.actions.chunks_exact(3).enumerate() {
            if let Some(msg) = action_error([a[0], a[1], a[2]]) {
                return Err(PyValueError::new_err(format!("env {}, agent {}: {msg}", i / c, s.controlled[i % c])));
            }
        }
        let this: &mut VecInner = &mut s;
        py.detach(|| this.step()).py_err()
    }

    /// Copies the last results into numpy arrays: observations (float32), rewards (float32),
    /// truncations (uint8), frames (uint32), episode seeds (uint64), scores (int32).
    #[allow(clippy::too_many_arguments)]
    fn read(
        &self,
        py: Python<'_>,
        obs: &Bound<'_, PyAny>,
        rewards: &Bound<'_, PyAny>,
        truncated: &Bound<'_, PyAny>,
        frames: &Bound<'_, PyAny>,
        seeds: &Bound<'_, PyAny>,
        scores: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let s = self.lock()?;
        out(py, "obs", obs, &s.obs)?;
        out(py, "rewards", rewards, &s.rewards)?;
        out(py, "truncated", truncated, &s.truncated)?;
        out(py, "frames", frames, &s.frames)?;
        out(py, "seeds", seeds, &s.seeds)?;
        out(py, "scores", scores, &s.scores)
    }

    /// The arena state of match `env` (as `Session.arena_state`), for rendering.
    fn arena_state<'py>(
        &self,
        py: Python<'py>,
        env: usize,
    ) -> PyResult<(u32, usize, usize, Bound<'py, pyo3::types::PyBytes>)> {
        let s = self.lock()?;
        let m = s.matches.get(env).ok_or_else(|| PyValueError::new_err(format!("no env {env}")))?;
        crate::arena::state(py, m.driver.sim())
    }
}

impl core::fmt::Debug for NativeVecEnv {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NativeVecEnv").finish_non_exhaustive()
    }
}

impl NativeVecEnv {
    fn lock(&self) -> PyResult<MutexGuard<'_, VecInner>> {
        match self.inner.try_lock() {
            Ok(g) => Ok(g),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => Err(PyRuntimeError::new_err("the vector env is busy in another thread")),
        }
    }
}
