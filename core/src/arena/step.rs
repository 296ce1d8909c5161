//! One frame of the arena: movement and firing, projectile flight, hits, player separation.

use bumpalo::Bump;

use super::controls::{aim_angle, Controls};
use super::grid::GridBuf;
use super::{Arena, Player, Projectile};
use super::{
    DIAGONAL_ACCEL, FIRE_COOLDOWN, FRICTION, MAX_HEALTH, MAX_SPEED, PLAYER_ACCEL, PLAYER_RADIUS, PROJECTILE_DAMAGE,
    PROJECTILE_LIFETIME, PROJECTILE_RADIUS, PROJECTILE_SPEED, RESPAWN_FRAMES, STOP_SPEED,
};
use crate::fixed::Fixed;
use crate::{FrameInputs, Rng, SimError};

/// A uniformly random spawn position (whole world units) for a player.
pub(super) fn spawn_point(rng: &mut Rng, world_size: i32) -> (Fixed, Fixed) {
    let r = PLAYER_RADIUS.to_i32_saturating();
    let (lo, hi) = (r, world_size - r);
    let x = rng.range_i32(lo, hi + 1);
    let y = rng.range_i32(lo, hi + 1);
    (Fixed::from_int(x), Fixed::from_int(y))
}

/// A freshly (re)spawned player at `(x, y)` keeping its score and facing.
pub(super) fn spawned(x: Fixed, y: Fixed, score: i32, facing: Fixed) -> Player {
    Player { x, y, vx: Fixed::ZERO, vy: Fixed::ZERO, facing, health: MAX_HEALTH, cooldown: 0, respawn: 0, score }
}

/// Velocity update along one axis: accelerate, apply friction, cap the speed; an axis without
/// acceleration stops dead below [`STOP_SPEED`].
#[inline]
fn axis_velocity(v: Fixed, accel: Fixed) -> Fixed {
    let v = ((v + accel) * FRICTION).clamp(-MAX_SPEED, MAX_SPEED);
    if accel == Fixed::ZERO && v.abs() < STOP_SPEED {
        Fixed::ZERO
    } else {
        v
    }
}

/// Moves a coordinate, stopping at the walls (the velocity is zeroed when it hits one).
#[inline]
fn move_axis(pos: &mut Fixed, vel: &mut Fixed, hi: Fixed) {
    *pos += *vel;
    if *pos < PLAYER_RADIUS {
        *pos = PLAYER_RADIUS;
        *vel = Fixed::ZERO;
    } else if *pos > hi {
        *pos = hi;
        *vel = Fixed::ZERO;
    }
}

impl Arena {
    /// Advances one frame. Scratch memory is taken before any state changes, so an exhausted
    /// scratch arena leaves the state untouched.
    pub(super) fn step(&mut self, inputs: FrameInputs<'_>, scratch: &Bump) -> Result<(), SimError> {
        let n = self.players.len();
        let max_projectiles = (self.projectiles.len() + n).min(usize::from(self.params.max_projectiles));
        let projectile_grid = GridBuf::alloc(scratch, self.projectile_grid, max_projectiles)?;
        let player_grid = GridBuf::alloc(scratch, self.player_grid, n)?;

        self.update_players(inputs);
        self.move_projectiles();
        self.hit_players(projectile_grid);
        self.separate_players(player_grid);
        self.frame = self.frame.wrapping_add(1);
        Ok(())
    }

    /// Respawns, steering and firing, in slot order.
    fn update_players(&mut self, inputs: FrameInputs<'_>) {
        let hi = self.world - PLAYER_RADIUS;
        let capacity = usize::from(self.params.max_projectiles);
        for slot in 0..self.players.len() {
            let c = Controls::decode(inputs.get(slot));
            let p = &mut self.players[slot];
            if p.respawn > 0 {
                p.respawn -= 1;
                if p.respawn == 0 {
                    let (x, y) = spawn_point(&mut self.rng, self.params.world_size);
                    *p = spawned(x, y, p.score, p.facing);
                }
                continue;
            }
            p.cooldown = p.cooldown.saturating_sub(1);
            if !c.active {
                p.vx = Fixed::ZERO;
                p.vy = Fixed::ZERO;
                continue;
            }
            let a = if c.dx != 0 && c.dy != 0 { DIAGONAL_ACCEL } else { PLAYER_ACCEL };
            p.vx = axis_velocity(p.vx, a * Fixed::from_int(c.dx.into()));
            p.vy = axis_velocity(p.vy, a * Fixed::from_int(c.dy.into()));
            move_axis(&mut p.x, &mut p.vx, hi);
            move_axis(&mut p.y, &mut p.vy, hi);
            p.facing = aim_angle(c.aim);
            if c.fire && p.cooldown == 0 && self.projectiles.len() < capacity {
                let (sin, cos) = p.facing.sin_cos();
                self.projectiles.push(Projectile {
                    x: p.x + cos * PLAYER_RADIUS,
                    y: p.y + sin * PLAYER_RADIUS,
                    vx: cos * PROJECTILE_SPEED,
                    vy: sin * PROJECTILE_SPEED,
                    ttl: PROJECTILE_LIFETIME,
                    owner: slot as u8,
                });
                p.cooldown = FIRE_COOLDOWN;
            }
        }
    }

    /// Flight and expiry: projectiles leave when their lifetime ends or they exit the world.
    fn move_projectiles(&mut self) {
        let world = self.world;
        let list = &mut self.projectiles;
        // Compacts in place, writing whole records: updating fields in place and then moving the
        // record stalls on store forwarding.
        let mut kept = 0;
        for i in 0..list.len() {
            let mut b = list[i];
            b.x += b.vx;
            b.y += b.vy;
            b.ttl = b.ttl.saturating_sub(1);
            if b.ttl > 0 && b.x >= Fixed::ZERO && b.x < world && b.y >= Fixed::ZERO && b.y < world {
                list[kept] = b;
                kept += 1;
            }
        }
        list.truncate(kept);
    }

    /// Projectile hits, found through the projectile grid. Players are visited in slot order and
    /// each one's candidates in grid order; a projectile hits at most one player.
    fn hit_players(&mut self, grid: GridBuf<'_>) {
        let projectiles = &self.projectiles;
        let grid = grid.build(projectiles.len(), |i| (projectiles[i].x, projectiles[i].y));
        let reach = PLAYER_RADIUS + PROJECTILE_RADIUS;
        let (r, r2) = (reach.raw(), reach.raw() * reach.raw());
        let mut any_hit = false;
        for slot in 0..self.players.len() {
            let p = self.players[slot];
            if !p.is_alive() {
                continue;
            }
            let mut health = p.health;
            let mut killer = None;
            for e in grid.query(p.x, p.y, reach) {
                let b = &mut self.projectiles[e];
                if b.ttl == 0 || usize::from(b.owner) == slot {
                    continue;
                }
                let (dx, dy) = (b.x.raw() - p.x.raw(), b.y.raw() - p.y.raw());
                if dx.abs() > r || dy.abs() > r || dx * dx + dy * dy > r2 {
                    continue;
                }
                b.ttl = 0;
                any_hit = true;
                health -= PROJECTILE_DAMAGE;
                if health <= 0 {
                    killer = Some(usize::from(b.owner));
                    break;
                }
            }
            let p = &mut self.players[slot];
            p.health = health.max(0);
            if let Some(k) = killer {
                p.respawn = RESPAWN_FRAMES;
                p.vx = Fixed::ZERO;
                p.vy = Fixed::ZERO;
                p.cooldown = 0;
                if let Some(k) = self.players.get_mut(k) {
                    k.score = k.score.saturating_add(1);
                }
            }
        }
        if any_hit {
            self.projectiles.retain(|b| b.ttl > 0);
        }
    }

    /// Pushes overlapping living players apart (each moves half the overlap), in slot order.
    fn separate_players(&mut self, grid: GridBuf<'_>) {
        let players = &self.players;
        let grid = grid.build(players.len(), |i| (players[i].x, players[i].y));
        let min_dist = PLAYER_RADIUS + PLAYER_RADIUS;
        let (d, d2) = (min_dist.raw(), min_dist.raw() * min_dist.raw());
        let hi = self.world - PLAYER_RADIUS;
        let n = self.players.len();
        for i in 0..n {
            let (qx, qy) = (self.players[i].x, self.players[i].y);
            if !self.players[i].is_alive() {
                continue;
            }
            for j in grid.query(qx, qy, min_dist) {
                if j <= i || j >= n || !self.players[j].is_alive() {
                    continue;
                }
                let (a, b) = (self.players[i], self.players[j]);
                let (dx, dy) = (b.x - a.x, b.y - a.y);
                if dx.raw().abs() >= d || dy.raw().abs() >= d || dx.raw() * dx.raw() + dy.raw() * dy.raw() >= d2 {
                    continue;
                }
                let dist = Fixed::length(dx, dy);
                let push = Fixed::from_raw((min_dist - dist).raw() / 2);
                let (nx, ny) = if dist == Fixed::ZERO { (Fixed::ONE, Fixed::ZERO) } else { (dx / dist, dy / dist) };
                let (px, py) = (nx * push, ny * push);
                let clamp = |v: Fixed| v.clamp(PLAYER_RADIUS, hi);
                let pa = &mut self.players[i];
                pa.x = clamp(a.x - px);
                pa.y = clamp(a.y - py);
                let pb = &mut self.players[j];
                pb.x = clamp(b.x + px);
                pb.y = clamp(b.y + py);
            }
        }
    }
}
