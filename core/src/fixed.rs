//! Deterministic fixed-point numbers: [`Fixed`], a signed Q47.16 number (an `i64` holding the value
//! times 65,536).
//!
//! Simulations that must give bit-identical results on every machine cannot use floats: rounding,
//! fused multiply-adds and library `sin` implementations differ between platforms and compilers.
//! Everything here is integer arithmetic with fully specified rounding:
//!
//! * `+`, `-` and unary `-` saturate at [`Fixed::MAX`] / [`Fixed::MIN`] instead of overflowing.
//! * `*` and `/` compute in `i128`, round toward zero and saturate. Division by zero does not panic:
//!   it saturates to `MAX` or `MIN` by the sign of the dividend, and `0 / 0` is `0`.
//! * [`Fixed::sqrt`] and [`Fixed::length`] are exact (the floor of the true result).
//! * [`Fixed::sin`], [`Fixed::cos`] and [`Fixed::atan2`] interpolate `const` integer tables; their
//!   error is below `3e-5` (about two units of the last place) for angles of reasonable size.
//!
//! ```
//! use framelock_core::fixed::Fixed;
//! let a = Fixed::from_int(3);
//! let b = Fixed::from_ratio(1, 2);
//! assert_eq!(a * b, Fixed::from_ratio(3, 2));
//! assert_eq!(Fixed::length(Fixed::from_int(3), Fixed::from_int(4)), Fixed::from_int(5));
//! assert_eq!(Fixed::ONE / Fixed::ZERO, Fixed::MAX);
//! assert_eq!(format!("{}", Fixed::from_ratio(-5, 4)), "-1.25");
//! ```

use core::fmt;
use core::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A signed fixed-point number with 16 fractional bits (Q47.16): the value is `raw / 65536`.
///
/// Ordering, equality and hashing are those of the raw value. See the [module docs](self) for the
/// rounding and saturation rules.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fixed(
    /// The raw value: the number times `2^16`.
    pub i64,
);

/// Clamps an `i128` into the `i64` range.
#[inline]
const fn saturate(v: i128) -> i64 {
    if v > i64::MAX as i128 {
        i64::MAX
    } else if v < i64::MIN as i128 {
        i64::MIN
    } else {
        v as i64
    }
}

/// `floor(sqrt(v))` for a `u64`, by Newton's method from above (integers only).
#[inline]
fn isqrt_u64(v: u64) -> u64 {
    if v < 2 {
        return v;
    }
    let bits = 64 - v.leading_zeros();
    let mut x = 1u64 << bits.div_ceil(2);
    loop {
        let y = (x + v / x) >> 1;
        if y >= x {
            return x;
        }
        x = y;
    }
}

/// `floor(sqrt(v))` for a `u128`, by Newton's method from above (integers only).
fn isqrt_u128(v: u128) -> u128 {
    if v <= u128::from(u64::MAX) {
        return u128::from(isqrt_u64(v as u64));
    }
    let bits = 128 - v.leading_zeros();
    let mut x = 1u128 << bits.div_ceil(2);
    loop {
        let y = (x + v / x) >> 1;
        if y >= x {
            return x;
        }
        x = y;
    }
}

/// `2^58 / (2 * pi)`: multiplying a raw angle (radians, Q16) by this and shifting right by 48 gives
/// its phase in Q16 table steps, 1024 steps (four quarter tables of 256) per turn.
const RAD_TO_PHASE: u128 = 45_873_289_113_781_269;
/// One quarter turn in phase units (256 table steps, Q16).
const QUARTER: u32 = 1 << 24;
/// One full turn in phase units, minus one (a mask).
const TURN_MASK: u64 = (1 << 26) - 1;

/// `sin(i * PI / 512)` for `i` in `0..=256` (a quarter wave), as raw Q16 values.
const SIN_TABLE: [i32; 257] = [
    0, 402, 804, 1206, 1608, 2010, 2412, 2814, 3216, 3617, 4019, 4420, 4821, 5222, 5623, 6023, 6424, 6824, 7224, 7623,
    8022, 8421, 8820, 9218, 9616, 10014, 10411, 10808, 11204, 11600, 11996, 12391, 12785, 13180, 13573, 13966, 14359,
    14751, 15143, 15534, 15924, 16314, 16703, 17091, 17479, 17867, 18253, 18639, 19024, 19409, 19792, 20175, 20557,
    20939, 21320, 21699, 22078, 22457, 22834, 23210, 23586, 23961, 24335, 24708, 25080, 25451, 25821, 26190, 26558,
    26925, 27291, 27656, 28020, 28383, 28745, 29106, 29466, 29824, 30182, 30538, 30893, 31248, 31600, 31952, 32303,
    32652, 33000, 33347, 33692, 34037, 34380, 34721, 35062, 35401, 35738, 36075, 36410, 36744, 37076, 37407, 37736,
    38064, 38391, 38716, 39040, 39362, 39683, 40002, 40320, 40636, 40951, 41264, 41576, 41886, 42194, 42501, 42806,
    43110, 43412, 43713, 44011, 44308, 44604, 44898, 45190, 45480, 45769, 46056, 46341, 46624, 46906, 47186, 47464,
    47741, 48015, 48288, 48559, 48828, 49095, 49361, 49624, 49886, 50146, 50404, 50660, 50914, 51166, 51417, 51665,
    51911, 52156, 52398, 52639, 52878, 53114, 53349, 53581, 53812, 54040, 54267, 54491, 54714, 54934, 55152, 55368,
    55582, 55794, 56004, 56212, 56418, 56621, 56823, 57022, 57219, 57414, 57607, 57798, 57986, 58172, 58356, 58538,
    58718, 58896, 59071, 59244, 59415, 59583, 59750, 59914, 60075, 60235, 60392, 60547, 60700, 60851, 60999, 61145,
    61288, 61429, 61568, 61705, 61839, 61971, 62101, 62228, 62353, 62476, 62596, 62714, 62830, 62943, 63054, 63162,
    63268, 63372, 63473, 63572, 63668, 63763, 63854, 63944, 64031, 64115, 64197, 64277, 64354, 64429, 64501, 64571,
    64639, 64704, 64766, 64827, 64884, 64940, 64993, 65043, 65091, 65137, 65180, 65220, 65259, 65294, 65328, 65358,
    65387, 65413, 65436, 65457, 65476, 65492, 65505, 65516, 65525, 65531, 65535, 65536,
];

/// `atan(i / 256)` for `i` in `0..=256` (an octant), as raw Q16 values.
const ATAN_TABLE: [i32; 257] = [
    0, 256, 512, 768, 1024, 1280, 1536, 1792, 2047, 2303, 2559, 2814, 3070, 3325, 3580, 3836, 4091, 4346, 4600, 4855,
    5110, 5364, 5618, 5872, 6126, 6380, 6633, 6887, 7140, 7392, 7645, 7898, 8150, 8402, 8653, 8905, 9156, 9407, 9657,
    9908, 10158, 10408, 10657, 10906, 11155, 11403, 11652, 11899, 12147, 12394, 12641, 12887, 13133, 13379, 13624,
    13869, 14114, 14358, 14601, 14845, 15088, 15330, 15572, 15814, 16055, 16296, 16536, 16776, 17015, 17254, 17492,
    17730, 17968, 18205, 18441, 18677, 18913, 19148, 19382, 19616, 19850, 20083, 20315, 20547, 20779, 21009, 21240,
    21469, 21699, 21927, 22156, 22383, 22610, 22836, 23062, 23288, 23512, 23737, 23960, 24183, 24406, 24627, 24849,
    25069, 25289, 25509, 25727, 25946, 26163, 26380, 26597, 26813, 27028, 27242, 27456, 27670, 27882, 28094, 28306,
    28517, 28727, 28936, 29145, 29354, 29561, 29768, 29975, 30180, 30386, 30590, 30794, 30997, 31200, 31402, 31603,
    31803, 32003, 32203, 32401, 32600, 32797, 32994, 33190, 33385, 33580, 33774, 33968, 34160, 34353, 34544, 34735,
    34925, 35115, 35304, 35492, 35680, 35867, 36053, 36239, 36424, 36608, 36792, 36975, 37158, 37340, 37521, 37701,
    37881, 38060, 38239, 38417, 38594, 38771, 38947, 39123, 39297, 39472, 39645, 39818, 39990, 40162, 40333, 40503,
    40673, 40842, 41010, 41178, 41346, 41512, 41678, 41844, 42008, 42172, 42336, 42499, 42661, 42823, 42984, 43145,
    43304, 43464, 43622, 43780, 43938, 44095, 44251, 44407, 44562, 44716, 44870, 45024, 45176, 45328, 45480, 45631,
    45781, 45931, 46080, 46229, 46377, 46525, 46672, 46818, 46964, 47109, 47254, 47398, 47542, 47685, 47827, 47969,
    48111, 48251, 48392, 48531, 48671, 48809, 48947, 49085, 49222, 49359, 49495, 49630, 49765, 49899, 50033, 50167,
    50299, 50432, 50563, 50695, 50826, 50956, 51086, 51215, 51344, 51472,
];

/// The sine of a phase (Q16 table steps, `0..2^26`), as a raw Q16 value.
#[inline]
fn sin_phase(p: u32) -> i64 {
    #[inline]
    fn quarter(u: u32) -> i64 {
        let i = (u >> 16) as usize;
        if i >= 256 {
            return i64::from(SIN_TABLE[256]);
        }
        let (a, b) = (i64::from(SIN_TABLE[i]), i64::from(SIN_TABLE[i + 1]));
        a + (((b - a) * i64::from(u & 0xFFFF) + 0x8000) >> 16)
    }
    let r = p & (QUARTER - 1);
    match p >> 24 {
        0 => quarter(r),
        1 => quarter(QUARTER - r),
        2 => -quarter(r),
        _ => -quarter(QUARTER - r),
    }
}

/// The phase of `|angle|` (radians, raw Q16) modulo one turn.
#[inline]
fn phase_of(angle: i64) -> u32 {
    let p = (u128::from(angle.unsigned_abs()) * RAD_TO_PHASE) >> 48;
    (p as u64 & TURN_MASK) as u32
}

impl Fixed {
    /// The number of fractional bits.
    pub const FRAC_BITS: u32 = 16;
    /// 0.
    pub const ZERO: Fixed = Fixed(0);
    /// 1.
    pub const ONE: Fixed = Fixed(1 << 16);
    /// 0.5.
    pub const HALF: Fixed = Fixed(1 << 15);
    /// The smallest positive value, `2^-16`.
    pub const EPSILON: Fixed = Fixed(1);
    /// The largest value, about `1.4e14`.
    pub const MAX: Fixed = Fixed(i64::MAX);
    /// The smallest (most negative) value.
    pub const MIN: Fixed = Fixed(i64::MIN);
    /// Pi, rounded to the nearest representable value (raw 205,887).
    pub const PI: Fixed = Fixed(205_887);
    /// Tau (2 pi), rounded to the nearest representable value (raw 411,775).
    pub const TAU: Fixed = Fixed(411_775);
    /// Pi / 2, rounded to the nearest representable value (raw 102,944).
    pub const FRAC_PI_2: Fixed = Fixed(102_944);

    /// The number whose raw representation (value times `2^16`) is `raw`.
    #[inline]
    pub const fn from_raw(raw: i64) -> Fixed {
        Fixed(raw)
    }

    /// The raw representation: the value times `2^16`.
    #[inline]
    pub const fn raw(self) -> i64 {
        self.0
    }

    /// The integer `n` (always exact).
    #[inline]
    pub const fn from_int(n: i32) -> Fixed {
        Fixed((n as i64) << 16)
    }

    /// The integer `n`, saturating to [`Fixed::MAX`] / [`Fixed::MIN`] when it is out of range
    /// (beyond about `±1.4e14`).
    #[inline]
    pub const fn saturating_from_i64(n: i64) -> Fixed {
        Fixed(saturate((n as i128) << 16))
    }

    /// `num / den`, rounded toward zero; saturates like `/` (a zero `den` gives `MAX` or `MIN` by
    /// the sign of `num`, and `0 / 0` is `0`).
    #[inline]
    pub const fn from_ratio(num: i64, den: i64) -> Fixed {
        if den == 0 {
            return Fixed(if num > 0 {
                i64::MAX
            } else if num < 0 {
                i64::MIN
            } else {
                0
            });
        }
        Fixed(saturate(((num as i128) << 16) / den as i128))
    }

    /// The largest integer not above the value (floor), e.g. `-0.5` gives `-1`.
    #[inline]
    pub const fn to_int(self) -> i64 {
        self.0 >> 16
    }

    /// The floor of the value as an `i32`, saturating at `i32::MIN` / `i32::MAX`.
    #[inline]
    pub const fn to_i32_saturating(self) -> i32 {
        let v = self.0 >> 16;
        if v > i32::MAX as i64 {
            i32::MAX
        } else if v < i32::MIN as i64 {
            i32::MIN
        } else {
            v as i32
        }
    }

    /// The absolute value (saturating: `MIN.abs()` is `MAX`).
    #[inline]
    pub const fn abs(self) -> Fixed {
        Fixed(self.0.saturating_abs())
    }

    /// True when the value is below zero.
    #[inline]
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The square root, exact: the largest representable value whose square does not exceed `self`.
    /// Negative values give [`Fixed::ZERO`].
    pub fn sqrt(self) -> Fixed {
        if self.0 <= 0 {
            return Fixed::ZERO;
        }
        // sqrt(raw / 2^16) * 2^16 = sqrt(raw * 2^16); at most 2^39.5, so it fits.
        Fixed(isqrt_u128((self.0 as u128) << 16) as i64)
    }

    /// The length of the vector `(x, y)`, `sqrt(x² + y²)`, exact (floored) and without
    /// intermediate overflow; saturates at [`Fixed::MAX`].
    pub fn length(x: Fixed, y: Fixed) -> Fixed {
        let (ax, ay) = (u128::from(x.0.unsigned_abs()), u128::from(y.0.unsigned_abs()));
        // Each square is at most 2^126, so the sum fits in a u128.
        let r = isqrt_u128(ax * ax + ay * ay);
        Fixed(if r > i64::MAX as u128 { i64::MAX } else { r as i64 })
    }

    /// The sine of an angle in radians. Error below `3e-5` for `|angle| < 2^15`.
    #[inline]
    pub fn sin(self) -> Fixed {
        let v = sin_phase(phase_of(self.0));
        Fixed(if self.0 < 0 { -v } else { v })
    }

    /// The cosine of an angle in radians. Error below `3e-5` for `|angle| < 2^15`.
    #[inline]
    pub fn cos(self) -> Fixed {
        let p = (u64::from(phase_of(self.0)) + u64::from(QUARTER)) & TURN_MASK;
        Fixed(sin_phase(p as u32))
    }

    /// `(sin, cos)` of an angle in radians; the same values as [`Fixed::sin`] and [`Fixed::cos`].
    #[inline]
    pub fn sin_cos(self) -> (Fixed, Fixed) {
        (self.sin(), self.cos())
    }

    /// The angle of the vector `(x, y)` in radians, in `(-PI, PI]`; `atan2(0, 0)` is `0`.
    /// Error below `3e-5`.
    pub fn atan2(y: Fixed, x: Fixed) -> Fixed {
        let (ax, ay) = (x.0.unsigned_abs(), y.0.unsigned_abs());
        if ax == 0 && ay == 0 {
            return Fixed::ZERO;
        }
        let (lo, hi, swapped) = if ay <= ax { (ay, ax, false) } else { (ax, ay, true) };
        // Keep `lo << 24` inside a u64 (relative precision stays above 2^-38).
        let shift = (64 - hi.leading_zeros()).saturating_sub(39);
        let (lo, hi) = (lo >> shift, hi >> shift);
        // t = lo / hi in [0, 1], in units of 2^-24 (256 table steps, Q16).
        let t = (lo << 24) / hi;
        let i = (t >> 16) as usize;
        let mut a = if i >= 256 {
            i64::from(ATAN_TABLE[256])
        } else {
            let (a0, a1) = (i64::from(ATAN_TABLE[i]), i64::from(ATAN_TABLE[i + 1]));
            a0 + (((a1 - a0) * (t & 0xFFFF) as i64 + 0x8000) >> 16)
        };
        if swapped {
            a = Fixed::FRAC_PI_2.0 - a;
        }
        let r = if x.0 >= 0 { a } else { Fixed::PI.0 - a };
        if y.0 < 0 {
            // Keep the result above -PI (a tiny negative y with a negative x).
            Fixed(-r.min(Fixed::PI.0 - 1))
        } else {
            Fixed(r)
        }
    }
}

impl From<i32> for Fixed {
    #[inline]
    fn from(n: i32) -> Fixed {
        Fixed::from_int(n)
    }
}

impl Add for Fixed {
    type Output = Fixed;
    #[inline]
    fn add(self, rhs: Fixed) -> Fixed {
        Fixed(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Fixed {
    type Output = Fixed;
    #[inline]
    fn sub(self, rhs: Fixed) -> Fixed {
        Fixed(self.0.saturating_sub(rhs.0))
    }
}

impl Neg for Fixed {
    type Output = Fixed;
    #[inline]
    fn neg(self) -> Fixed {
        Fixed(self.0.saturating_neg())
    }
}

impl Mul for Fixed {
    type Output = Fixed;
    #[inline]
    fn mul(self, rhs: Fixed) -> Fixed {
        let p = i128::from(self.0) * i128::from(rhs.0);
        // Round toward zero: add 2^16 - 1 to negative products before the arithmetic shift.
        Fixed(saturate((p + ((p >> 127) & 0xFFFF)) >> 16))
    }
}

impl Div for Fixed {
    type Output = Fixed;
    #[inline]
    fn div(self, rhs: Fixed) -> Fixed {
        Fixed::from_ratio(self.0, rhs.0)
    }
}

macro_rules! assign_op {
    ($tr:ident, $f:ident, $op:tt) => {
        impl $tr for Fixed {
            #[inline]
            fn $f(&mut self, rhs: Fixed) {
                *self = *self $op rhs;
            }
        }
    };
}
assign_op!(AddAssign, add_assign, +);
assign_op!(SubAssign, sub_assign, -);
assign_op!(MulAssign, mul_assign, *);
assign_op!(DivAssign, div_assign, /);

/// Formats the value in decimal without floats. Without a precision, prints up to 5 fractional
/// digits (enough to tell any two values apart) with trailing zeros removed (`1`, `-1.25`,
/// `3.14159`); with one (`{:.3}`), exactly that many digits, rounded half away from zero.
/// Width, alignment, `+` and `0` flags are honoured.
impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX_PREC: usize = 40;
        let (prec, trim) = match f.precision() {
            Some(p) => (p.min(MAX_PREC), false),
            None => (5, true),
        };
        let exact = prec.min(16);
        let mag = self.0.unsigned_abs();
        let mut int = mag >> 16;
        let pow = 10u128.pow(exact as u32);
        let mut frac = (u128::from(mag & 0xFFFF) * pow + 0x8000) >> 16;
        if frac >= pow {
            frac -= pow;
            int += 1;
        }
        // Sign is added by `pad_integral`; 20 integer digits + '.' + 40 fractional digits fit.
        let mut buf = [0u8; 64];
        let mut len = 0;
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            digits[n] = b'0' + (int % 10) as u8;
            n += 1;
            int /= 10;
            if int == 0 {
                break;
            }
        }
        for &d in digits[..n].iter().rev() {
            buf[len] = d;
            len += 1;
        }
        if prec > 0 {
            buf[len] = b'.';
            len += 1;
            let start = len;
            len += exact;
            let mut v = frac;
            for i in (start..len).rev() {
                buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
            for _ in exact..prec {
                buf[len] = b'0';
                len += 1;
            }
            if trim {
                while buf[len - 1] == b'0' {
                    len -= 1;
                }
                if buf[len - 1] == b'.' {
                    len -= 1;
                }
            }
        }
        let s = core::str::from_utf8(&buf[..len]).unwrap_or_default();
        f.pad_integral(self.0 >= 0, "", s)
    }
}

impl fmt::Debug for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fixed({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    fn f(v: f64) -> Fixed {
        Fixed((v * 65536.0).round() as i64)
    }
    fn to_f(v: Fixed) -> f64 {
        v.0 as f64 / 65536.0
    }

    /// Tested tolerance for sin, cos and atan2 against f64 (the documented bound is 3e-5).
    const TRIG_TOL: f64 = 1e-4;

    #[test]
    fn constants() {
        assert_eq!(Fixed::ONE.0, 65536);
        assert_eq!(Fixed::HALF + Fixed::HALF, Fixed::ONE);
        assert!((to_f(Fixed::PI) - core::f64::consts::PI).abs() < 1e-5);
        assert!((to_f(Fixed::TAU) - core::f64::consts::TAU).abs() < 1e-5);
        assert!((to_f(Fixed::FRAC_PI_2) - core::f64::consts::FRAC_PI_2).abs() < 1e-5);
        assert_eq!(Fixed::default(), Fixed::ZERO);
    }

    #[test]
    fn conversions() {
        assert_eq!(Fixed::from_int(-3).to_int(), -3);
        assert_eq!(Fixed::from_raw(-1).to_int(), -1, "to_int floors");
        assert_eq!(Fixed::from_ratio(7, 2).to_int(), 3);
        assert_eq!(Fixed::from_ratio(-7, 2).to_int(), -4);
        assert_eq!(Fixed::from_ratio(1, 3).raw(), 21845);
        assert_eq!(Fixed::from_ratio(-1, 3).raw(), -21845, "rounds toward zero");
        assert_eq!(Fixed::from_ratio(5, 0), Fixed::MAX);
        assert_eq!(Fixed::from_ratio(-5, 0), Fixed::MIN);
        assert_eq!(Fixed::from_ratio(0, 0), Fixed::ZERO);
        assert_eq!(Fixed::from_ratio(i64::MAX, 1), Fixed::MAX);
        assert_eq!(Fixed::saturating_from_i64(i64::MAX), Fixed::MAX);
        assert_eq!(Fixed::saturating_from_i64(i64::MIN), Fixed::MIN);
        assert_eq!(Fixed::saturating_from_i64(-12), Fixed::from_int(-12));
        assert_eq!(Fixed::MAX.to_i32_saturating(), i32::MAX);
        assert_eq!(Fixed::MIN.to_i32_saturating(), i32::MIN);
        assert_eq!(Fixed::from_ratio(-1, 2).to_i32_saturating(), -1);
        assert_eq!(Fixed::from(5), Fixed::from_int(5));
        assert_eq!(Fixed::from_int(i32::MIN).to_int(), i64::from(i32::MIN));
    }

    #[test]
    fn arithmetic_and_saturation() {
        let (a, b) = (f(2.5), f(-1.25));
        assert_eq!(a + b, f(1.25));
        assert_eq!(a - b, f(3.75));
        assert_eq!(a * b, f(-3.125));
        assert_eq!(a / b, f(-2.0));
        assert_eq!(-a, f(-2.5));
        let mut c = a;
        c += b;
        c -= b;
        c *= b;
        c /= b;
        assert_eq!(c, a);
        assert_eq!(Fixed::MAX + Fixed::ONE, Fixed::MAX);
        assert_eq!(Fixed::MIN - Fixed::ONE, Fixed::MIN);
        assert_eq!(-Fixed::MIN, Fixed::MAX);
        assert_eq!(Fixed::MIN.abs(), Fixed::MAX);
        assert_eq!(Fixed::MAX * Fixed::MAX, Fixed::MAX);
        assert_eq!(Fixed::MAX * Fixed::MIN, Fixed::MIN);
        assert_eq!(Fixed::MIN * Fixed::MIN, Fixed::MAX);
        assert_eq!(Fixed::MAX / Fixed::EPSILON, Fixed::MAX);
        assert_eq!(Fixed::MIN / Fixed::EPSILON, Fixed::MIN);
        assert_eq!(Fixed::MIN / -Fixed::EPSILON, Fixed::MAX);
        assert_eq!(Fixed::ONE / Fixed::ZERO, Fixed::MAX);
        assert_eq!(-Fixed::ONE / Fixed::ZERO, Fixed::MIN);
        assert_eq!(Fixed::ZERO / Fixed::ZERO, Fixed::ZERO);
        // Multiplication rounds toward zero, symmetrically.
        assert_eq!(Fixed::EPSILON * Fixed::HALF, Fixed::ZERO);
        assert_eq!(-Fixed::EPSILON * Fixed::HALF, Fixed::ZERO);
        assert_eq!(Fixed::from_int(3).min(Fixed::ONE), Fixed::ONE);
        assert_eq!(Fixed::from_int(3).clamp(Fixed::ZERO, Fixed::from_int(2)), Fixed::from_int(2));
        assert!(Fixed::from_int(-1) < Fixed::ZERO && Fixed::from_int(-1).is_negative());
    }

    #[test]
    fn sqrt_exact_and_accurate() {
        assert_eq!(Fixed::from_int(4).sqrt(), Fixed::from_int(2));
        assert_eq!(Fixed::from_int(-4).sqrt(), Fixed::ZERO);
        assert_eq!(Fixed::MIN.sqrt(), Fixed::ZERO);
        assert_eq!(Fixed::ZERO.sqrt(), Fixed::ZERO);
        assert_eq!(Fixed::from_ratio(1, 4).sqrt(), Fixed::HALF);
        let mut x: u64 = 1;
        while x < i64::MAX as u64 / 3 {
            for raw in [x, x + 1, x * 2 - 1, x * 3 + 7] {
                let r = Fixed(raw as i64).sqrt().0 as u128;
                let v = u128::from(raw) << 16;
                assert!(r * r <= v && (r + 1) * (r + 1) > v, "sqrt of raw {raw} is not exact");
                let expect = (raw as f64 / 65536.0).sqrt();
                assert!((to_f(Fixed(r as i64)) - expect).abs() <= 1e-4 * expect.max(1.0));
            }
            x = x * 3 / 2 + 1;
        }
        let r = Fixed::MAX.sqrt().0 as u128;
        assert!(r * r <= (i64::MAX as u128) << 16 && (r + 1) * (r + 1) > (i64::MAX as u128) << 16);
    }

    #[test]
    fn length_exact() {
        assert_eq!(Fixed::length(Fixed::from_int(-3), Fixed::from_int(4)), Fixed::from_int(5));
        assert_eq!(Fixed::length(Fixed::ZERO, Fixed::ZERO), Fixed::ZERO);
        assert_eq!(Fixed::length(Fixed::MIN, Fixed::MIN), Fixed::MAX);
        assert_eq!(Fixed::length(Fixed::MAX, Fixed::ZERO), Fixed::MAX);
        let l = Fixed::length(Fixed::ONE, Fixed::ONE);
        assert!((to_f(l) - 2f64.sqrt()).abs() < 2e-5);
    }

    #[test]
    fn sin_cos_accuracy() {
        let mut worst: f64 = 0.0;
        let mut a = -40.0f64;
        while a <= 40.0 {
            let x = f(a);
            let xf = to_f(x);
            let (s, c) = x.sin_cos();
            assert_eq!(s, x.sin());
            assert_eq!(c, x.cos());
            worst = worst.max((to_f(s) - xf.sin()).abs()).max((to_f(c) - xf.cos()).abs());
            assert_eq!((-x).sin(), -s, "sin is odd");
            assert_eq!((-x).cos(), c, "cos is even");
            a += 0.000_731;
        }
        eprintln!("worst sin/cos error: {worst:e}");
        assert!(worst < TRIG_TOL, "worst sin/cos error {worst}");
        assert!(worst < 3e-5, "documented bound: worst sin/cos error {worst}");
        assert_eq!(Fixed::ZERO.sin(), Fixed::ZERO);
        assert_eq!(Fixed::ZERO.cos(), Fixed::ONE);
        assert!(Fixed::FRAC_PI_2.sin().raw() >= 65535);
        assert_eq!(Fixed::PI.cos(), -Fixed::ONE);
        for v in [Fixed::MAX, Fixed::MIN, Fixed::from_int(i32::MAX)] {
            assert!(v.sin().abs() <= Fixed::ONE && v.cos().abs() <= Fixed::ONE);
        }
    }

    #[test]
    fn atan2_accuracy() {
        let mut worst: f64 = 0.0;
        let mut a = -3.2f64;
        while a <= 3.2 {
            for r in [0.001, 0.5, 1.0, 7.0, 1000.0, 100_000.0] {
                let (y, x) = (f(r * a.sin()), f(r * a.cos()));
                if x == Fixed::ZERO && y == Fixed::ZERO {
                    continue;
                }
                let got = Fixed::atan2(y, x);
                assert!(got > -Fixed::PI && got <= Fixed::PI);
                let expect = to_f(y).atan2(to_f(x));
                let mut err = (to_f(got) - expect).abs();
                if err > core::f64::consts::PI {
                    err = (err - core::f64::consts::TAU).abs();
                }
                worst = worst.max(err);
            }
            a += 0.000_977;
        }
        eprintln!("worst atan2 error: {worst:e}");
        assert!(worst < TRIG_TOL, "worst atan2 error {worst}");
        assert!(worst < 3e-5, "documented bound: worst atan2 error {worst}");
        let one = Fixed::ONE;
        assert_eq!(Fixed::atan2(Fixed::ZERO, Fixed::ZERO), Fixed::ZERO);
        assert_eq!(Fixed::atan2(Fixed::ZERO, one), Fixed::ZERO);
        assert_eq!(Fixed::atan2(Fixed::ZERO, -one), Fixed::PI);
        assert_eq!(Fixed::atan2(one, Fixed::ZERO), Fixed::FRAC_PI_2);
        assert_eq!(Fixed::atan2(-one, Fixed::ZERO), -Fixed::FRAC_PI_2);
        assert!(Fixed::atan2(-Fixed::EPSILON, Fixed::MIN) > -Fixed::PI);
        assert!(Fixed::atan2(Fixed::MIN, Fixed::MIN) < Fixed::ZERO);
        assert!(Fixed::atan2(Fixed::MAX, Fixed::MIN) > Fixed::FRAC_PI_2);
    }

    #[test]
    fn display() {
        let s = |v: Fixed| format!("{v}");
        assert_eq!(s(Fixed::ONE), "1");
        assert_eq!(s(Fixed::ZERO), "0");
        assert_eq!(s(Fixed::from_ratio(-5, 4)), "-1.25");
        assert_eq!(s(Fixed::PI), "3.14159");
        assert_eq!(s(Fixed::EPSILON), "0.00002");
        assert_eq!(s(-Fixed::EPSILON), "-0.00002");
        assert_eq!(format!("{:.3}", Fixed::PI), "3.142");
        assert_eq!(format!("{:.0}", Fixed::from_ratio(3, 2)), "2");
        assert_eq!(format!("{:.16}", Fixed::EPSILON), "0.0000152587890625");
        assert_eq!(format!("{:.18}", Fixed::EPSILON), "0.000015258789062500");
        assert_eq!(format!("{:.2}", Fixed::from_raw(65535)), "1.00");
        assert_eq!(format!("{:>8.2}|{:<6}|{:+}", Fixed::ONE, Fixed::HALF, Fixed::HALF), "    1.00|0.5   |+0.5");
        assert_eq!(format!("{:?}", Fixed::from_int(-2)), "Fixed(-2)");
        assert_eq!(s(Fixed::MAX), "140737488355327.99998");
        assert_eq!(s(Fixed::MIN), "-140737488355328");
        assert_eq!(format!("{:.40}", Fixed::MIN).len(), 1 + 15 + 1 + 40);
    }

    #[test]
    fn pinned_raw_outputs() {
        // Golden values: any change here changes every simulation built on `Fixed`.
        assert_eq!(Fixed::from_int(2).sqrt().raw(), 92681);
        assert_eq!(Fixed::from_int(1000).sqrt().raw(), 2_072_430);
        assert_eq!(Fixed::ONE.sin().raw(), 55146);
        assert_eq!(Fixed::ONE.cos().raw(), 35410);
        assert_eq!(Fixed::from_int(-10).sin().raw(), 35653);
        assert_eq!(Fixed::from_ratio(7, 3).cos().raw(), -45269);
        assert_eq!(Fixed::atan2(Fixed::ONE, Fixed::from_int(2)).raw(), 30386);
        assert_eq!(Fixed::atan2(Fixed::from_int(-3), Fixed::from_int(-5)).raw(), -170470);
        assert_eq!(Fixed::length(Fixed::ONE, Fixed::from_int(2)).raw(), 146542);
        assert_eq!((Fixed::from_ratio(1, 3) * Fixed::from_ratio(-22, 7)).raw(), -68655);
        assert_eq!((Fixed::from_int(10) / Fixed::from_int(-3)).raw(), -218453);
    }

    fn ref_mul(a: i64, b: i64) -> i64 {
        (i128::from(a) * i128::from(b) / 65536).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    quickcheck! {
        fn prop_no_panic_on_any_value(a: i64, b: i64) -> bool {
            let (x, y) = (Fixed(a), Fixed(b));
            let _ = (x + y, x - y, x * y, x / y, -x, x.abs(), x.to_int(), x.to_i32_saturating());
            let _ = (Fixed::from_ratio(a, b), Fixed::saturating_from_i64(a), format!("{x}{y:.20}"));
            let (s, c) = (x.sin(), x.cos());
            let t = Fixed::atan2(y, x);
            let r = x.sqrt();
            let l = Fixed::length(x, y);
            s.abs() <= Fixed::ONE && c.abs() <= Fixed::ONE && t > -Fixed::PI && t <= Fixed::PI
                && r >= Fixed::ZERO && l >= x.abs().max(y.abs())
        }

        fn prop_mul_matches_reference(a: i64, b: i64, small_a: i32, small_b: i32) -> bool {
            let (sa, sb) = (i64::from(small_a), i64::from(small_b));
            (Fixed(a) * Fixed(b)).0 == ref_mul(a, b)
                && (Fixed(sa) * Fixed(sb)).0 == ref_mul(sa, sb)
                && Fixed(a) * Fixed(b) == Fixed(b) * Fixed(a)
        }

        fn prop_add_saturates(a: i64, b: i64) -> bool {
            let exact = i128::from(a) + i128::from(b);
            (Fixed(a) + Fixed(b)).0 as i128 == exact.clamp(i128::from(i64::MIN), i128::from(i64::MAX))
        }

        fn prop_div_inverts_mul(a: i32, b: i32) -> bool {
            // For values that fit, (a * b) / b gets back a up to the rounding of one step.
            let (x, y) = (Fixed(i64::from(a)), Fixed::from_int(b));
            b == 0 || ((x * y) / y - x).abs() <= Fixed::EPSILON
        }

        fn prop_sqrt_is_floor(a: i64) -> bool {
            let r = Fixed(a).sqrt().0 as u128;
            a <= 0 && r == 0 || {
                let v = (a as u128) << 16;
                r * r <= v && (r + 1) * (r + 1) > v
            }
        }

        fn prop_neg_symmetry(a: i32, b: i32) -> bool {
            let (x, y) = (Fixed(i64::from(a)), Fixed(i64::from(b)));
            (-x) * y == -(x * y) && (-x) / y == -(x / y) || y == Fixed::ZERO
        }
    }
}
