//! The arena's per-player and per-projectile records and their snapshot encoding.
//!
//! Snapshot layout (every integer little-endian, every [`Fixed`] as its raw `i64`):
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `b"FLA1"` |
//! | 1, 2, 4, 8 | params: `players` u8, `max_projectiles` u16, `world_size` i32, `seed` u64 |
//! | 4 | frame u32 |
//! | 8 | RNG state u64 |
//! | 2 | projectile count u16 |
//! | 52 × players | x, y, vx, vy, facing (i64 each), health i32, cooldown u16, respawn u16, score i32 |
//! | 35 × count | x, y, vx, vy (i64 each), ttl u16, owner u8 |

use super::{Arena, ArenaParams};
use super::{
    FIRE_COOLDOWN, MAX_HEALTH, MAX_SPEED, PLAYER_RADIUS, PROJECTILE_LIFETIME, PROJECTILE_SPEED, RESPAWN_FRAMES,
};
use crate::fixed::Fixed;
use crate::{Rng, SimError, SnapshotReader, SnapshotWriter};

/// One player (one input slot). Positions and speeds are in world units and world units per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Player {
    /// Horizontal position of the centre, in `[PLAYER_RADIUS, world_size - PLAYER_RADIUS]`.
    pub x: Fixed,
    /// Vertical position of the centre (grows downwards), same range as `x`.
    pub y: Fixed,
    /// Horizontal velocity, in `[-MAX_SPEED, MAX_SPEED]`.
    pub vx: Fixed,
    /// Vertical velocity, in `[-MAX_SPEED, MAX_SPEED]`.
    pub vy: Fixed,
    /// The aim direction in radians, in `[0, TAU)`; 0 points along `+x`, `PI / 2` along `+y`.
    pub facing: Fixed,
    /// Health, `1..=MAX_HEALTH` while alive and 0 while waiting to respawn.
    pub health: i32,
    /// Frames until the player may fire again (0 = ready).
    pub cooldown: u16,
    /// Frames until the player respawns; 0 means alive.
    pub respawn: u16,
    /// Kills scored.
    pub score: i32,
}

impl Player {
    /// True unless the player is dead and waiting to respawn.
    #[inline]
    pub fn is_alive(&self) -> bool {
        self.respawn == 0
    }
}

/// One projectile in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Projectile {
    /// Horizontal position, in `[0, world_size)`.
    pub x: Fixed,
    /// Vertical position, in `[0, world_size)`.
    pub y: Fixed,
    /// Horizontal velocity in world units per frame.
    pub vx: Fixed,
    /// Vertical velocity in world units per frame.
    pub vy: Fixed,
    /// Frames left before it expires, `1..=PROJECTILE_LIFETIME`.
    pub ttl: u16,
    /// The slot of the player who fired it.
    pub owner: u8,
}

const MAGIC: [u8; 4] = *b"FLA1";
/// Bytes before the player records.
pub(super) const HEADER_BYTES: usize = 4 + 1 + 2 + 4 + 8 + 4 + 8 + 2;
/// Bytes per player record.
pub(super) const PLAYER_BYTES: usize = 5 * 8 + 4 + 2 + 2 + 4;
/// Bytes per projectile record.
pub(super) const PROJECTILE_BYTES: usize = 4 * 8 + 2 + 1;

/// A little-endian writer into a slice of known size; never panics (it checks the size at the end).
struct Le<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Le<'_> {
    #[inline]
    fn put<const N: usize>(&mut self, bytes: [u8; N]) {
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + N) {
            dst.copy_from_slice(&bytes);
        }
        self.pos += N;
    }
    #[inline]
    fn fixed(&mut self, v: Fixed) {
        self.put(v.raw().to_le_bytes());
    }
}

const BAD_SIZE: SimError = SimError::new("arena: internal error, snapshot size mismatch");
const BAD_PARAMS: SimError = SimError::new("arena: snapshot was saved by an arena with other params");

/// The little-endian integer of `N` bytes at `at` in a fixed-size record.
#[inline]
fn le<const N: usize, const R: usize>(rec: &[u8; R], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&rec[at..at + N]);
    a
}

#[inline]
fn fixed_at<const R: usize>(rec: &[u8; R], at: usize) -> Fixed {
    Fixed::from_raw(i64::from_le_bytes(le(rec, at)))
}

fn decode_player(rec: &[u8; PLAYER_BYTES]) -> Player {
    Player {
        x: fixed_at(rec, 0),
        y: fixed_at(rec, 8),
        vx: fixed_at(rec, 16),
        vy: fixed_at(rec, 24),
        facing: fixed_at(rec, 32),
        health: i32::from_le_bytes(le(rec, 40)),
        cooldown: u16::from_le_bytes(le(rec, 44)),
        respawn: u16::from_le_bytes(le(rec, 46)),
        score: i32::from_le_bytes(le(rec, 48)),
    }
}

#[inline]
fn decode_projectile(rec: &[u8; PROJECTILE_BYTES]) -> Projectile {
    Projectile {
        x: fixed_at(rec, 0),
        y: fixed_at(rec, 8),
        vx: fixed_at(rec, 16),
        vy: fixed_at(rec, 24),
        ttl: u16::from_le_bytes(le(rec, 32)),
        owner: rec[34],
    }
}

/// The fixed-size records of `bytes` (whose length is a multiple of `R`).
fn records<const R: usize>(bytes: &[u8]) -> impl Iterator<Item = &[u8; R]> + '_ {
    bytes.chunks_exact(R).filter_map(|c| <&[u8; R]>::try_from(c).ok())
}

#[inline]
fn within(v: Fixed, lo: Fixed, hi: Fixed) -> bool {
    v >= lo && v <= hi
}

/// Checks that a player record could have been produced by the simulation.
fn check_player(p: &Player, world: Fixed) -> Result<(), SimError> {
    let ok = within(p.x, PLAYER_RADIUS, world - PLAYER_RADIUS)
        && within(p.y, PLAYER_RADIUS, world - PLAYER_RADIUS)
        && within(p.vx, -MAX_SPEED, MAX_SPEED)
        && within(p.vy, -MAX_SPEED, MAX_SPEED)
        && p.facing >= Fixed::ZERO
        && p.facing < Fixed::TAU
        && p.cooldown <= FIRE_COOLDOWN
        && p.respawn <= RESPAWN_FRAMES
        && if p.respawn == 0 { (1..=MAX_HEALTH).contains(&p.health) } else { p.health == 0 };
    if ok {
        Ok(())
    } else {
        Err(SimError::new("arena: snapshot holds an impossible player"))
    }
}

/// Checks that a projectile record could have been produced by the simulation.
fn check_projectile(b: &Projectile, world: Fixed, players: u8) -> Result<(), SimError> {
    let ok = b.x >= Fixed::ZERO
        && b.x < world
        && b.y >= Fixed::ZERO
        && b.y < world
        && within(b.vx, -PROJECTILE_SPEED, PROJECTILE_SPEED)
        && within(b.vy, -PROJECTILE_SPEED, PROJECTILE_SPEED)
        && (1..=PROJECTILE_LIFETIME).contains(&b.ttl)
        && b.owner < players;
    if ok {
        Ok(())
    } else {
        Err(SimError::new("arena: snapshot holds an impossible projectile"))
    }
}

/// The exact size of a snapshot with `projectiles` projectiles.
pub(super) fn snapshot_len(params: &ArenaParams, projectiles: usize) -> usize {
    HEADER_BYTES + usize::from(params.players) * PLAYER_BYTES + projectiles * PROJECTILE_BYTES
}

impl Arena {
    pub(super) fn save_into(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        let start = out.len();
        let len = snapshot_len(&self.params, self.projectiles.len());
        let buf = out.buffer(start + len)?;
        let mut w = Le { buf: &mut buf[start..], pos: 0 };
        let p = &self.params;
        w.put(MAGIC);
        w.put([p.players]);
        w.put(p.max_projectiles.to_le_bytes());
        w.put(p.world_size.to_le_bytes());
        w.put(p.seed.to_le_bytes());
        w.put(self.frame.to_le_bytes());
        w.put(self.rng.state().to_le_bytes());
        w.put((self.projectiles.len() as u16).to_le_bytes());
        for pl in &self.players {
            for v in [pl.x, pl.y, pl.vx, pl.vy, pl.facing] {
                w.fixed(v);
            }
            w.put(pl.health.to_le_bytes());
            w.put(pl.cooldown.to_le_bytes());
            w.put(pl.respawn.to_le_bytes());
            w.put(pl.score.to_le_bytes());
        }
        for b in &self.projectiles {
            for v in [b.x, b.y, b.vx, b.vy] {
                w.fixed(v);
            }
            w.put(b.ttl.to_le_bytes());
            w.put([b.owner]);
        }
        if w.pos == len {
            Ok(())
        } else {
            Err(BAD_SIZE)
        }
    }

    /// Validates the whole snapshot first, then overwrites the state: on error nothing changed.
    pub(super) fn load_from(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        let mut r = SnapshotReader::new(snapshot);
        if r.read(4)? != MAGIC {
            return Err(SimError::new("arena: not an arena snapshot (bad magic)"));
        }
        let p = &self.params;
        if r.read_u8()? != p.players
            || r.read_u16()? != p.max_projectiles
            || r.read_i32()? != p.world_size
            || r.read_u64()? != p.seed
        {
            return Err(BAD_PARAMS);
        }
        let frame = r.read_u32()?;
        let rng = r.read_u64()?;
        let count = usize::from(r.read_u16()?);
        if count > usize::from(p.max_projectiles) {
            return Err(SimError::new("arena: snapshot holds more projectiles than max_projectiles"));
        }
        let body = snapshot_len(p, count) - HEADER_BYTES;
        if r.remaining() < body {
            return Err(SimError::new("arena: snapshot truncated"));
        }
        if r.remaining() > body {
            return Err(SimError::new("arena: snapshot has trailing bytes"));
        }
        let players = r.read(usize::from(p.players) * PLAYER_BYTES)?;
        let projectiles = r.read(count * PROJECTILE_BYTES)?;
        for rec in records(players) {
            check_player(&decode_player(rec), self.world)?;
        }
        for rec in records(projectiles) {
            check_projectile(&decode_projectile(rec), self.world, p.players)?;
        }
        // Everything is valid: commit.
        self.frame = frame;
        self.rng = Rng::from_state(rng);
        for (pl, rec) in self.players.iter_mut().zip(records(players)) {
            *pl = decode_player(rec);
        }
        self.projectiles.clear();
        // Never reallocates: count <= max_projectiles <= capacity.
        self.projectiles.extend(records(projectiles).map(decode_projectile));
        Ok(())
    }
}
