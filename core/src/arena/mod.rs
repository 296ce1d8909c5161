//! # Arena: the reference simulation
//!
//! A small top-down shooter used as the crate's demo, test fixture and benchmark load. Up to 64
//! players (one per input slot) run around a square world, aim, and fire projectiles; a projectile
//! that touches another player deals [`PROJECTILE_DAMAGE`]; a player whose health drops to zero
//! scores a kill for the shooter and respawns [`RESPAWN_FRAMES`] later at a random position.
//! Living players push each other apart.
//!
//! Coordinates are world units with `(0, 0)` at the top-left corner, `+x` to the right and `+y`
//! downwards; the world is `[0, world_size)` on both axes.
//!
//! ## Input encoding
//!
//! Each player's input is [`INPUT_SIZE`] = 2 bytes, built with [`encode_input`]:
//!
//! * byte 0, buttons: bit 0 up ([`BUTTON_UP`]), bit 1 down, bit 2 left, bit 3 right, bit 4 fire
//!   ([`BUTTON_FIRE`]); bits 5-7 are ignored. Opposite directions cancel out.
//! * byte 1, aim: a direction in 256ths of a turn (0 = `+x`, 64 = `+y`, 128 = `-x`, 192 = `-y`).
//!
//! Missing bytes (a shorter input) count as 0. A slot whose status is
//! [`Disconnected`](crate::InputStatus::Disconnected), or a slot beyond the session's slots,
//! stands still and does not fire. [`scripted_input`] generates human-looking inputs from a seed.
//!
//! ## Determinism rules
//!
//! The next state is a pure function of the state and the input bytes, identical on every
//! platform:
//!
//! * all arithmetic is integer or [`Fixed`]; no floats anywhere (angles use [`Fixed::sin_cos`]);
//! * randomness comes only from the [`Rng`] stored in the state (respawn positions);
//! * everything is visited in a fixed order: players by slot, projectiles by index, grid cells
//!   row by row with a stable counting sort; no hash maps;
//! * the simulation never looks at whether an input is predicted or confirmed;
//! * snapshots hold every field explicitly, little-endian, with no `usize` (see [`Arena`]'s
//!   [`Simulation`] impl), so equal states give equal bytes and checksums.
//!
//! Collisions go through a uniform grid rebuilt every frame in the `scratch` arena; `advance`
//! allocates nothing else (the projectile list is preallocated to `max_projectiles`).
//!
//! ```
//! use framelock_core::arena::{scratch_size_bound, Arena, ArenaParams};
//! let arena = Arena::new(ArenaParams::default()).expect("valid params");
//! assert_eq!(arena.players().len(), 8);
//! assert!(scratch_size_bound(arena.params()) > 0);
//! ```

mod controls;
mod grid;
mod state;
mod step;
#[cfg(test)]
mod tests;

pub use controls::{
    aim_angle, encode_input, scripted_input, BUTTON_DOWN, BUTTON_FIRE, BUTTON_LEFT, BUTTON_RIGHT, BUTTON_UP,
    INPUT_SIZE, NEUTRAL_INPUT,
};
pub use state::{Player, Projectile};

use bumpalo::Bump;

use crate::fixed::Fixed;
use crate::{FrameInputs, Rng, SimError, Simulation, SnapshotWriter};
use grid::GridGeom;

/// The radius of a player, in world units.
pub const PLAYER_RADIUS: Fixed = Fixed::from_int(8);
/// The radius of a projectile, in world units.
pub const PROJECTILE_RADIUS: Fixed = Fixed::from_int(2);
/// Acceleration per frame along an axis when one direction is held (0.25 units/frame²).
pub const PLAYER_ACCEL: Fixed = Fixed::from_raw(1 << 14);
/// Acceleration per axis when a diagonal is held (`PLAYER_ACCEL / sqrt(2)`).
pub const DIAGONAL_ACCEL: Fixed = Fixed::from_raw(11_585);
/// The factor applied to the velocity every frame (0.875).
pub const FRICTION: Fixed = Fixed::from_raw(57_344);
/// Below this speed (1/16 unit per frame) an axis with no acceleration stops.
pub const STOP_SPEED: Fixed = Fixed::from_raw(1 << 12);
/// The speed cap per axis, in world units per frame.
pub const MAX_SPEED: Fixed = Fixed::from_int(2);
/// Projectile speed, in world units per frame.
pub const PROJECTILE_SPEED: Fixed = Fixed::from_int(4);
/// Frames a projectile lives.
pub const PROJECTILE_LIFETIME: u16 = 180;
/// Frames between two shots of a player.
pub const FIRE_COOLDOWN: u16 = 3;
/// Health of a (re)spawned player.
pub const MAX_HEALTH: i32 = 100;
/// Health a projectile hit takes.
pub const PROJECTILE_DAMAGE: i32 = 10;
/// Frames a killed player waits before respawning.
pub const RESPAWN_FRAMES: u16 = 90;
/// The most players an arena holds (one per slot).
pub const MAX_PLAYERS: u8 = 64;
/// The smallest allowed `world_size`.
pub const MIN_WORLD_SIZE: i32 = 64;
/// The largest allowed `world_size` (2^20 units).
pub const MAX_WORLD_SIZE: i32 = 1 << 20;

/// The arena's configuration. Every peer must use the same params (they are part of snapshots).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArenaParams {
    /// Number of players, one per input slot, `1..=64`.
    pub players: u8,
    /// Most projectiles alive at once (a player cannot fire while the arena is full); `0..=65535`.
    pub max_projectiles: u16,
    /// Side of the square world in world units, [`MIN_WORLD_SIZE`]`..=`[`MAX_WORLD_SIZE`].
    pub world_size: i32,
    /// Seed of the arena's RNG (spawn positions).
    pub seed: u64,
}

impl Default for ArenaParams {
    /// 8 players, 1,024 projectiles, a 1,024-unit world, seed 1.
    fn default() -> Self {
        ArenaParams { players: 8, max_projectiles: 1024, world_size: 1024, seed: 1 }
    }
}

impl ArenaParams {
    /// Checks the ranges documented on each field.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.players == 0 || self.players > MAX_PLAYERS {
            return Err(SimError::new("arena: players must be in 1..=64"));
        }
        if !(MIN_WORLD_SIZE..=MAX_WORLD_SIZE).contains(&self.world_size) {
            return Err(SimError::new("arena: world_size must be in 64..=1048576"));
        }
        Ok(())
    }

    fn projectile_grid(&self) -> GridGeom {
        // Cells of at least 32 units (the hit reach is 10), at most 64 × 64 cells.
        GridGeom::new(self.world_size, 5, 64)
    }

    fn player_grid(&self) -> GridGeom {
        // Cells of at least 32 units (players push each other within 16), at most 16 × 16 cells.
        GridGeom::new(self.world_size, 5, 16)
    }
}

/// The name an input log gives this simulation (`LogHeader::simulation`).
pub const SIMULATION_ID: &str = "arena";

/// The version byte of [`encode_params`]' layout.
const PARAMS_VERSION: u8 = 1;
/// The length of [`encode_params`]' output.
const PARAMS_LEN: usize = 16;

/// Encodes params for an input log's header (`LogHeader::sim_params`): 16 bytes, little-endian,
/// `version u8 (1) | players u8 | max_projectiles u16 | world_size i32 | seed u64`.
///
/// ```
/// use framelock_core::arena::{decode_params, encode_params, ArenaParams};
/// let params = ArenaParams { players: 4, seed: 7, ..ArenaParams::default() };
/// let bytes = encode_params(&params);
/// assert_eq!(bytes.len(), 16);
/// assert_eq!(decode_params(&bytes), Ok(params));
/// ```
pub fn encode_params(params: &ArenaParams) -> Vec<u8> {
    let mut out = Vec::with_capacity(PARAMS_LEN);
    out.push(PARAMS_VERSION);
    out.push(params.players);
    out.extend_from_slice(&params.max_projectiles.to_le_bytes());
    out.extend_from_slice(&params.world_size.to_le_bytes());
    out.extend_from_slice(&params.seed.to_le_bytes());
    out
}

/// Decodes params written by [`encode_params`], and checks them like [`ArenaParams::validate`].
///
/// Errors (never a panic): an empty input, an unknown version, a length other than 16 bytes, or
/// params out of range.
pub fn decode_params(bytes: &[u8]) -> Result<ArenaParams, SimError> {
    let Some((&version, rest)) = bytes.split_first() else {
        return Err(SimError::new("arena params: empty (the log does not record them)"));
    };
    if version != PARAMS_VERSION {
        return Err(SimError::new("arena params: unknown layout version (expected 1)"));
    }
    let Ok(rest) = <&[u8; PARAMS_LEN - 1]>::try_from(rest) else {
        return Err(SimError::new("arena params: wrong length (expected 16 bytes)"));
    };
    let params = ArenaParams {
        players: rest[0],
        max_projectiles: u16::from_le_bytes([rest[1], rest[2]]),
        world_size: i32::from_le_bytes([rest[3], rest[4], rest[5], rest[6]]),
        seed: u64::from_le_bytes([rest[7], rest[8], rest[9], rest[10], rest[11], rest[12], rest[13], rest[14]]),
    };
    params.validate()?;
    Ok(params)
}

/// An upper bound on the size of an arena's snapshot (exact when every projectile is alive): use
/// it as the session's `max_snapshot_size`. 64 players and 8,192 projectiles take 290,081 bytes.
pub fn snapshot_size_bound(params: &ArenaParams) -> usize {
    state::snapshot_len(params, usize::from(params.max_projectiles))
}

/// The scratch-arena bytes one [`Arena`] advance needs at most, with a margin (twice the
/// allocations plus 1 KiB, covering alignment and the allocator's bookkeeping).
pub fn scratch_size_bound(params: &ArenaParams) -> usize {
    let exact = params.projectile_grid().bytes(usize::from(params.max_projectiles))
        + params.player_grid().bytes(usize::from(params.players))
        + 4 * 16;
    2 * exact + 1024
}

/// The arena's state. See the [module docs](self) for the rules of the game.
#[derive(Debug)]
pub struct Arena {
    params: ArenaParams,
    frame: u32,
    rng: Rng,
    players: Vec<Player>,
    /// Preallocated with capacity `max_projectiles`; never grows past it.
    projectiles: Vec<Projectile>,
    /// `world_size` as a [`Fixed`].
    world: Fixed,
    projectile_grid: GridGeom,
    player_grid: GridGeom,
}

impl Arena {
    /// A new arena at frame 0: players at random positions (from `params.seed`), full health, no
    /// projectiles. Allocates the player and projectile storage once, here.
    pub fn new(params: ArenaParams) -> Result<Arena, SimError> {
        params.validate()?;
        let mut rng = Rng::new(params.seed);
        let players = (0..params.players)
            .map(|_| {
                let (x, y) = step::spawn_point(&mut rng, params.world_size);
                step::spawned(x, y, 0, Fixed::ZERO)
            })
            .collect();
        Ok(Arena {
            params,
            frame: 0,
            rng,
            players,
            projectiles: Vec::with_capacity(usize::from(params.max_projectiles)),
            world: Fixed::from_int(params.world_size),
            projectile_grid: params.projectile_grid(),
            player_grid: params.player_grid(),
        })
    }

    /// The number of frames advanced since frame 0 (wrapping).
    pub fn frame(&self) -> u32 {
        self.frame
    }

    /// The params the arena was created with.
    pub fn params(&self) -> &ArenaParams {
        &self.params
    }

    /// The players, indexed by slot.
    pub fn players(&self) -> &[Player] {
        &self.players
    }

    /// The projectiles in flight, in the simulation's (deterministic) order.
    pub fn projectiles(&self) -> &[Projectile] {
        &self.projectiles
    }

    /// The arena's random generator (part of the state).
    pub fn rng(&self) -> &Rng {
        &self.rng
    }
}

impl Clone for Arena {
    /// Clones the state, keeping the projectile storage preallocated to `max_projectiles`.
    fn clone(&self) -> Self {
        let mut projectiles = Vec::with_capacity(usize::from(self.params.max_projectiles));
        projectiles.extend_from_slice(&self.projectiles);
        Arena { players: self.players.clone(), projectiles, ..*self }
    }
}

impl Simulation for Arena {
    /// Advances one frame. Fails only when `scratch` cannot hold the frame's grids (see
    /// [`scratch_size_bound`]); the state is then unchanged.
    fn advance(&mut self, inputs: FrameInputs<'_>, scratch: &Bump) -> Result<(), SimError> {
        self.step(inputs, scratch)
    }

    /// Writes the state (layout: header with magic and params, frame, RNG, then fixed-size player
    /// and projectile records, all little-endian); at most [`snapshot_size_bound`] bytes.
    fn save(&self, out: &mut SnapshotWriter<'_>) -> Result<(), SimError> {
        self.save_into(out)
    }

    /// Restores a state written by [`Simulation::save`] of an arena with the same params. Rejects
    /// truncated, oversized or impossible snapshots with an error, leaving the state unchanged.
    fn load(&mut self, snapshot: &[u8]) -> Result<(), SimError> {
        self.load_from(snapshot)
    }
}

#[cfg(test)]
mod params_tests {
    use super::*;

    #[test]
    fn params_round_trip_with_a_fixed_layout() {
        let p = ArenaParams { players: 64, max_projectiles: 65_535, world_size: MAX_WORLD_SIZE, seed: u64::MAX - 1 };
        let bytes = encode_params(&p);
        assert_eq!(bytes.len(), 16);
        assert_eq!(decode_params(&bytes), Ok(p));
        assert_eq!(decode_params(&encode_params(&ArenaParams::default())), Ok(ArenaParams::default()));
        // The layout is little-endian and fixed: a log written today reads back on any platform.
        let q =
            ArenaParams { players: 4, max_projectiles: 0x0102, world_size: 0x0304_0506, seed: 0x0708_090a_0b0c_0d0e };
        assert_eq!(encode_params(&q), [1, 4, 2, 1, 6, 5, 4, 3, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 9, 8, 7]);
    }

    #[test]
    fn bad_params_are_errors_not_panics() {
        let good = encode_params(&ArenaParams::default());
        assert!(decode_params(&[]).is_err());
        for len in 0..good.len() {
            assert!(decode_params(&good[..len]).is_err(), "cut to {len} bytes");
        }
        let mut long = good.clone();
        long.push(0);
        assert!(decode_params(&long).is_err(), "trailing byte");
        let mut v2 = good.clone();
        v2[0] = 2;
        assert!(decode_params(&v2).is_err(), "unknown version");
        let mut no_players = good.clone();
        no_players[1] = 0;
        assert!(decode_params(&no_players).is_err(), "0 players");
        let mut too_many = good.clone();
        too_many[1] = 65;
        assert!(decode_params(&too_many).is_err(), "65 players");
        let tiny = ArenaParams { world_size: MIN_WORLD_SIZE - 1, ..ArenaParams::default() };
        assert!(decode_params(&encode_params(&tiny)).is_err(), "world too small");
        let negative = ArenaParams { world_size: -1024, ..ArenaParams::default() };
        assert!(decode_params(&encode_params(&negative)).is_err(), "negative world");
        // Every single-byte change either decodes to valid params or is refused.
        for i in 0..good.len() {
            for b in 0..=255u8 {
                let mut m = good.clone();
                m[i] = b;
                if let Ok(p) = decode_params(&m) {
                    assert_eq!(p.validate(), Ok(()));
                    assert_eq!(encode_params(&p), m);
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Builds [`FrameInputs`] for tests and saves arenas into plain vectors.

    use super::{snapshot_size_bound, Arena, INPUT_SIZE, NEUTRAL_INPUT};
    use crate::input::{CellState, FrameInputs, InputStore};
    use crate::{Simulation, SnapshotWriter};

    /// A small input store fed one frame at a time (frames must not go backwards).
    pub(crate) struct Feed {
        pub store: InputStore,
    }

    impl Feed {
        pub fn new(slots: usize) -> Feed {
            Feed { store: InputStore::new(slots, INPUT_SIZE, 4, &NEUTRAL_INPUT, 0, true) }
        }

        /// Confirms `input(slot)` for every slot at `frame` and returns the frame's view.
        pub fn frame<B: AsRef<[u8]>>(&mut self, frame: u32, input: impl Fn(usize) -> B) -> FrameInputs<'_> {
            self.store.release_below(frame);
            for s in 0..self.store.slots {
                self.store.put_ahead(s, frame, input(s).as_ref(), CellState::Confirmed, crate::InputStatus::Confirmed);
            }
            FrameInputs::new(&self.store, frame)
        }
    }

    /// The arena's snapshot bytes.
    pub(crate) fn save(arena: &Arena) -> Vec<u8> {
        let cap = snapshot_size_bound(arena.params());
        let mut buf = Vec::with_capacity(cap);
        let mut checksum = None;
        let mut w = SnapshotWriter::new(&mut buf, 0, cap, &mut checksum, None);
        arena.save(&mut w).expect("save fits in snapshot_size_bound");
        buf
    }
}
