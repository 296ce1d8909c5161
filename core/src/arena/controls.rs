//! The arena's input encoding and the deterministic input script used by tests and benchmarks.

use crate::fixed::Fixed;
use crate::{InputStatus, PlayerInput};

/// The size of one player's input in bytes: `[buttons, aim]`.
pub const INPUT_SIZE: usize = 2;
/// The input of a player who touches nothing (also the right "disconnected" default).
pub const NEUTRAL_INPUT: [u8; INPUT_SIZE] = [0, 0];
/// Bit of byte 0: move up (towards `y = 0`).
pub const BUTTON_UP: u8 = 1 << 0;
/// Bit of byte 0: move down (towards `y = world_size`).
pub const BUTTON_DOWN: u8 = 1 << 1;
/// Bit of byte 0: move left (towards `x = 0`).
pub const BUTTON_LEFT: u8 = 1 << 2;
/// Bit of byte 0: move right (towards `x = world_size`).
pub const BUTTON_RIGHT: u8 = 1 << 3;
/// Bit of byte 0: fire.
pub const BUTTON_FIRE: u8 = 1 << 4;

/// Packs one player's controls into the arena's two-byte input.
///
/// `aim` is a direction in 256ths of a turn: 0 points along `+x`, 64 along `+y` (down on screen),
/// 128 along `-x`, 192 along `-y`.
///
/// ```
/// use framelock_core::arena::{encode_input, BUTTON_FIRE, BUTTON_UP};
/// assert_eq!(encode_input(true, false, false, false, true, 64), [BUTTON_UP | BUTTON_FIRE, 64]);
/// ```
pub fn encode_input(up: bool, down: bool, left: bool, right: bool, fire: bool, aim: u8) -> [u8; INPUT_SIZE] {
    let mut b = 0;
    for (on, bit) in
        [(up, BUTTON_UP), (down, BUTTON_DOWN), (left, BUTTON_LEFT), (right, BUTTON_RIGHT), (fire, BUTTON_FIRE)]
    {
        if on {
            b |= bit;
        }
    }
    [b, aim]
}

/// The angle in radians (in `[0, TAU)`) of an aim byte.
#[inline]
pub fn aim_angle(aim: u8) -> Fixed {
    Fixed::from_raw(i64::from(aim) * Fixed::TAU.raw() / 256)
}

/// SplitMix64's finalizer: a strong 64-bit mix.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic, human-looking input for `slot` at `frame`: a pure hash of the arguments.
///
/// Each slot holds an input for a run of 3 to 12 frames (its own period and phase, derived from
/// `seed` and `slot`), then picks a new one: one of eight move directions or standing still, fire
/// held about 55% of the time, and a new aim. Tests, golden checksums, the demo and the benchmarks
/// all drive the arena with it, so it must never change.
pub fn scripted_input(seed: u64, slot: usize, frame: u32) -> [u8; INPUT_SIZE] {
    let h_slot = mix(seed ^ mix((slot as u64).wrapping_add(0x9E37_79B9_7F4A_7C15)));
    let period = 3 + h_slot % 10;
    let phase = (h_slot >> 8) % period;
    let segment = (u64::from(frame) + phase) / period;
    let h = mix(h_slot ^ mix(segment.wrapping_mul(0xD1B5_4A32_D192_ED03)));
    // 0..8: the eight directions (clockwise from right); 8 and 9: stand still.
    const DIRS: [u8; 10] = [
        BUTTON_RIGHT,
        BUTTON_RIGHT | BUTTON_DOWN,
        BUTTON_DOWN,
        BUTTON_DOWN | BUTTON_LEFT,
        BUTTON_LEFT,
        BUTTON_LEFT | BUTTON_UP,
        BUTTON_UP,
        BUTTON_UP | BUTTON_RIGHT,
        0,
        0,
    ];
    let mut buttons = DIRS[(h % 10) as usize];
    if (h >> 8) % 100 < 65 {
        buttons |= BUTTON_FIRE;
    }
    [buttons, (h >> 24) as u8]
}

/// One player's decoded controls for a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Controls {
    /// -1 (left), 0 or 1 (right).
    pub dx: i8,
    /// -1 (up), 0 or 1 (down).
    pub dy: i8,
    pub fire: bool,
    pub aim: u8,
    /// False when the slot is disconnected (or absent): the player stands still.
    pub active: bool,
}

impl Controls {
    /// Decodes a slot's input; missing bytes count as 0, a missing or disconnected slot is inactive.
    #[inline]
    pub fn decode(input: Option<PlayerInput<'_>>) -> Controls {
        let Some(input) = input.filter(|i| i.status != InputStatus::Disconnected) else {
            return Controls { dx: 0, dy: 0, fire: false, aim: 0, active: false };
        };
        let b = input.bytes.first().copied().unwrap_or(0);
        let aim = input.bytes.get(1).copied().unwrap_or(0);
        let axis = |neg: u8, pos: u8| i8::from(b & pos != 0) - i8::from(b & neg != 0);
        Controls {
            dx: axis(BUTTON_LEFT, BUTTON_RIGHT),
            dy: axis(BUTTON_UP, BUTTON_DOWN),
            fire: b & BUTTON_FIRE != 0,
            aim,
            active: true,
        }
    }
}
