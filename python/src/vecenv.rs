//! `NativeVecEnv`: many arena matches stepped in one native call without the GIL, for the
//! vectorized environments of `framelock.env` (`ArenaVecEnv`, `ArenaGymVecEnv`).
//!
//! Each match is a lockstep session over its own `Arena` (every slot local, checksums every
//! 65,536 frames so that no snapshot is taken per frame). Controlled slots take the caller's
//! actions; the others play the core's scripted bots. A match is truncated after `max_cycles`
//! steps; the next step resets it (Gymnasium's "next step" autoreset) with a fresh seed drawn from
//! the vector seed, the match index and the episode number.

use framelock_core::arena::{
    scratch_size_bound, scripted_input, snapshot_size_bound, Arena, ArenaParams, NEUTRAL_INPUT,
};
use framelock_core::{Driver, Error, SessionBuilder};
use parking_lot::{Mutex, MutexGuard};
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

/// Matches stepped by the calling thread between two looks at Python's pending signals.
const SIGNAL_CHECK_MATCHES: usize = 256;

/// Why a batch stopped: a core error, or the exception of a signal handler (Ctrl-C).
enum Stop {
    Core(Error),
    Signal(PyErr),
}

impl Stop {
    fn into_py(self) -> PyErr {
        match self {
            Stop::Core(e) => crate::errors::to_py(e),
            Stop::Signal(e) => e,
        }
    }
}

struct Match {
    driver: Driver<Arena>,
    index: usize,
    seed: u64,
    episode: u64,
    cycles: u32,
    score: Vec<i32>,
    respawn: Vec<u16>,
    needs_reset: bool,
    /// Scratch of the nearest-projectile search (per match, so that threads share nothing).
    near: Vec<(i128, usize)>,
}

/// What every match shares while stepping (read-only).
struct Shared<'a> {
    template: &'a ArenaParams,
    max_cycles: u32,
    controlled: &'a [usize],
    spec: &'a Spec,
    seed: u64,
}

/// One match's slices of the output batches.
struct Out<'a> {
    actions: &'a [i64],
    obs: &'a mut [f32],
    rewards: &'a mut [f32],
    truncated: &'a mut [u8],
    frame: &'a mut u32,
    seed: &'a mut u64,
    scores: &'a mut [i32],
}

struct VecInner {
    template: ArenaParams,
    max_cycles: u32,
    controlled: Vec<usize>,
    spec: Spec,
    seed: u64,
    threads: usize,
    matches: Vec<Match>,
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
    let sim = crate::arena::new_arena(p)?;
    Ok(Driver::new(b.build()?, sim))
}

impl Match {
    /// A new episode (the next number) with its own seed.
    fn reset(&mut self, sh: &Shared<'_>) -> Result<(), Error> {
        self.episode = self.episode.wrapping_add(1);
        self.seed = episode_seed(sh.seed, self.index, self.episode);
        self.driver = new_match(sh.template, self.seed)?;
        self.cycles = 0;
        for (i, q) in self.driver.sim().players().iter().enumerate() {
            self.score[i] = q.score;
            self.respawn[i] = q.respawn;
        }
        self.needs_reset = false;
        Ok(())
    }

    /// One step (or the reset after a truncation), then the observations and infos.
    fn step(&mut self, sh: &Shared<'_>, out: Out<'_>) -> Result<(), Error> {
        if self.needs_reset {
            self.reset(sh)?;
            out.rewards.fill(0.0);
            out.truncated.fill(0);
        } else {
            let c = sh.controlled.len();
            let frame = self.driver.session().current_frame();
            let mut next = 0;
            for slot in 0..self.score.len() {
                let input = if next < c && sh.controlled[next] == slot {
                    let a = &out.actions[next * 3..next * 3 + 3];
                    next += 1;
                    action_input([a[0], a[1], a[2]])
                } else {
                    scripted_input(self.seed, slot, frame)
                };
                self.driver.session_mut().add_local_input(slot, &input)?;
            }
            self.driver.advance()?;
            self.cycles += 1;
            let mut rewards = [0.0f32; 64];
            for (i, q) in self.driver.sim().players().iter().enumerate() {
                let died = q.respawn > 0 && self.respawn[i] == 0;
                rewards[i] = (q.score - self.score[i]) as f32 - if died { 1.0 } else { 0.0 };
                self.score[i] = q.score;
                self.respawn[i] = q.respawn;
            }
            for (j, &slot) in sh.controlled.iter().enumerate() {
                out.rewards[j] = rewards[slot];
            }
            let done = self.cycles >= sh.max_cycles;
            out.truncated.fill(u8::from(done));
            self.needs_reset = done;
        }
        self.write(sh, out);
        Ok(())
    }

    fn write(&mut self, sh: &Shared<'_>, out: Out<'_>) {
        let a = self.driver.sim();
        let per = sh.spec.len(self.score.len());
        for (j, &slot) in sh.controlled.iter().enumerate() {
            observe::agent(a, slot, sh.spec, &mut self.near, &mut out.obs[j * per..(j + 1) * per]);
        }
        *out.frame = self.driver.session().current_frame();
        *out.seed = self.seed;
        for (i, q) in a.players().iter().enumerate() {
            out.scores[i] = q.score;
        }
    }
}

impl VecInner {
    /// Runs `f` on every match with its output slices, on `self.threads` threads.
    /// Ctrl-C: the calling thread looks at Python's signals every [`SIGNAL_CHECK_MATCHES`]
    /// matches and stops its share there (each match is left whole: stepped or not).
    fn each(&mut self, f: &(dyn Fn(&mut Match, &Shared<'_>, Out<'_>) -> Result<(), Error> + Sync)) -> Result<(), Stop> {
        let sh = Shared {
            template: &self.template,
            max_cycles: self.max_cycles,
            controlled: &self.controlled,
            spec: &self.spec,
            seed: self.seed,
        };
        let players = usize::from(self.template.players);
        let c = self.controlled.len();
        let per = self.spec.len(players) * c;
        let n = self.matches.len().div_ceil(self.threads.max(1));
        let work = self
            .matches
            .iter_mut()
            .zip(self.actions.chunks(c * 3))
            .zip(self.obs.chunks_mut(per))
            .zip(self.rewards.chunks_mut(c))
            .zip(self.truncated.chunks_mut(c))
            .zip(self.frames.iter_mut())
            .zip(self.seeds.iter_mut())
            .zip(self.scores.chunks_mut(players))
            .map(|(((((((m, actions), obs), rewards), truncated), frame), seed), scores)| {
                (m, Out { actions, obs, rewards, truncated, frame, seed, scores })
            });
        let own_lane = |lane: &mut dyn Iterator<Item = (&mut Match, Out<'_>)>| -> Result<(), Stop> {
            for (i, (m, out)) in lane.enumerate() {
                if i % SIGNAL_CHECK_MATCHES == SIGNAL_CHECK_MATCHES - 1 {
                    crate::signals::check().map_err(Stop::Signal)?;
                }
                f(m, &sh, out).map_err(Stop::Core)?;
            }
            Ok(())
        };
        if self.threads <= 1 {
            return own_lane(&mut work.into_iter());
        }
        let mut lanes: Vec<Vec<(&mut Match, Out<'_>)>> = (0..self.threads).map(|_| Vec::new()).collect();
        for (i, w) in work.enumerate() {
            lanes[i / n].push(w);
        }
        let shared = &sh;
        // The calling thread steps the first lane itself: one thread fewer to start per step.
        let mut lanes = lanes.into_iter();
        let own = lanes.next().unwrap_or_default();
        std::thread::scope(|scope| {
            let handles: Vec<_> = lanes
                .map(|lane| scope.spawn(move || lane.into_iter().try_for_each(|(m, out)| f(m, shared, out))))
                .collect();
            let mine = own_lane(&mut own.into_iter());
            handles.into_iter().fold(mine, |acc, h| {
                let r = h.join().unwrap_or(Err(Error::Simulation { frame: 0, reason: "a stepping thread panicked" }));
                acc.and(r.map_err(Stop::Core))
            })
        })
    }

    fn reset_all(&mut self, seed: u64) -> Result<(), Stop> {
        self.seed = seed;
        for m in &mut self.matches {
            m.episode = u64::MAX; // the next episode is number 0
            m.needs_reset = true;
        }
        self.each(&|m, sh, out| m.step(sh, out))
    }

    /// One step of every match: actions were copied into `self.actions` and checked.
    fn step(&mut self) -> Result<(), Stop> {
        self.each(&|m, sh, out| m.step(sh, out))
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
    #[pyo3(signature = (num_envs, params_tuple, max_cycles, controlled, full, projectiles, threads = 1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        num_envs: usize,
        params_tuple: ParamsTuple,
        max_cycles: u32,
        controlled: Vec<usize>,
        full: bool,
        projectiles: usize,
        threads: usize,
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
        for index in 0..num_envs {
            matches.push(Match {
                driver: new_match(&template, 0).py_err()?,
                index,
                near: Vec::with_capacity(usize::from(template.max_projectiles)),
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
            threads: threads.clamp(1, 64).min(num_envs),
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
        py.detach(|| this.reset_all(seed)).map_err(Stop::into_py)
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
        py.detach(|| this.step()).map_err(Stop::into_py)
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
    /// Never waits (see `NativeSession::lock`): a busy env raises.
    fn lock(&self) -> PyResult<MutexGuard<'_, VecInner>> {
        self.inner.try_lock().ok_or_else(|| PyRuntimeError::new_err("the vector env is busy in another thread"))
    }
}
