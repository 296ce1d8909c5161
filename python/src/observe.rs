//! The environments' observations, computed natively from the arena (one definition for
//! `ArenaParallelEnv`, `ArenaEnv` and `ArenaVecEnv`).
//!
//! An agent's observation is `rows × features` float32 values in [-1, 1]. Rows: every player,
//! the agent's own first, then the others in slot order after it (wrapping); with `full`, then the
//! `projectiles` nearest projectiles, nearest first (zero rows when fewer are in flight).
//! Player columns: `x / world`, `y / world`, `vx / 2`, `vy / 2`, `health / 100`, `alive`; with
//! `full` also `cos(aim)`, `sin(aim)`, `min(score, 100) / 100`. Projectile columns (full only):
//! `x / world`, `y / world`, `vx / 4`, `vy / 4`, `ttl / 180`, `1` (present), `1` if the agent fired
//! it, `1` if another player did, `0`.

use framelock_core::arena::{Arena, MAX_HEALTH, MAX_SPEED, PROJECTILE_LIFETIME, PROJECTILE_SPEED};
use framelock_core::fixed::Fixed;

/// Columns of a basic observation.
pub const BASIC: usize = 6;
/// Columns of a full observation.
pub const FULL: usize = 9;

/// What an observation holds.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub full: bool,
    pub projectiles: usize,
}

impl Spec {
    pub fn features(&self) -> usize {
        if self.full {
            FULL
        } else {
            BASIC
        }
    }

    pub fn rows(&self, players: usize) -> usize {
        players + if self.full { self.projectiles } else { 0 }
    }

    /// Floats of one agent's observation.
    pub fn len(&self, players: usize) -> usize {
        self.rows(players) * self.features()
    }
}

fn f(v: Fixed) -> f64 {
    v.raw() as f64 / 65536.0
}

fn player_row(a: &Arena, slot: usize, spec: &Spec, out: &mut [f32]) {
    let w = f64::from(a.params().world_size);
    let q = &a.players()[slot];
    let max_speed = f(MAX_SPEED);
    out[0] = (f(q.x) / w) as f32;
    out[1] = (f(q.y) / w) as f32;
    out[2] = (f(q.vx) / max_speed) as f32;
    out[3] = (f(q.vy) / max_speed) as f32;
    out[4] = (f64::from(q.health) / f64::from(MAX_HEALTH)) as f32;
    out[5] = if q.is_alive() { 1.0 } else { 0.0 };
    if spec.full {
        let aim = f(q.facing);
        out[6] = aim.cos() as f32;
        out[7] = aim.sin() as f32;
        out[8] = (f64::from(q.score.clamp(0, 100)) / 100.0) as f32;
    }
}

/// Writes agent `agent`'s observation into `out` (`spec.len(players)` floats). `near` is scratch
/// for the nearest-projectile search (kept by the caller so that stepping does not allocate).
pub fn agent(a: &Arena, agent: usize, spec: &Spec, near: &mut Vec<(i128, usize)>, out: &mut [f32]) {
    let p = a.players().len();
    let k = spec.features();
    for r in 0..p {
        player_row(a, (agent + r) % p, spec, &mut out[r * k..(r + 1) * k]);
    }
    if !spec.full || spec.projectiles == 0 {
        return;
    }
    let rows = &mut out[p * k..spec.rows(p) * k];
    rows.fill(0.0);
    let me = &a.players()[agent];
    near.clear();
    for (i, s) in a.projectiles().iter().enumerate() {
        let (dx, dy) = (i128::from(s.x.raw() - me.x.raw()), i128::from(s.y.raw() - me.y.raw()));
        near.push((dx * dx + dy * dy, i));
    }
    let take = spec.projectiles.min(near.len());
    if take < near.len() {
        near.select_nth_unstable(take);
    }
    near[..take].sort_unstable();
    let w = f64::from(a.params().world_size);
    let speed = f(PROJECTILE_SPEED);
    for (row, &(_, i)) in rows.chunks_exact_mut(k).zip(near[..take].iter()) {
        let s = &a.projectiles()[i];
        row[0] = (f(s.x) / w) as f32;
        row[1] = (f(s.y) / w) as f32;
        row[2] = (f(s.vx) / speed).clamp(-1.0, 1.0) as f32;
        row[3] = (f(s.vy) / speed).clamp(-1.0, 1.0) as f32;
        row[4] = (f64::from(s.ttl) / f64::from(PROJECTILE_LIFETIME)).min(1.0) as f32;
        row[5] = 1.0;
        let own = usize::from(s.owner) == agent;
        row[6] = if own { 1.0 } else { 0.0 };
        row[7] = if own { 0.0 } else { 1.0 };
    }
}

/// The global state: every player's row by slot (`players × features`).
pub fn global(a: &Arena, spec: &Spec, out: &mut [f32]) {
    let k = spec.features();
    for (slot, row) in out.chunks_exact_mut(k).enumerate().take(a.players().len()) {
        player_row(a, slot, spec, row);
    }
}
