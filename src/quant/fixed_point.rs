//! Dynamic fixed point: a value of width `b` is `k * 2^-f`, `k` in `[-2^(b-1), 2^(b-1)-1]`.
//!
//! Widths: `0` = pruned (exactly 0, never stored), `2..=16` = fixed point, `32` = the
//! IEEE f32 kept as is (its code is the f32's bit pattern). Width 1 and `17..=31` are invalid.
//!
//! Choice of `f` (per (tensor, width) group, see [`frac_len`]): the LARGEST `f` (i.e. the
//! fewest integer bits) for which the group's largest magnitude does not saturate after
//! rounding: `round(max_abs * 2^f) <= 2^(b-1) - 1`. So no value of the group saturates and
//! every value is within half a step (`2^-f / 2`) of its quantized value. `f` is clamped
//! to `[-128, 127]` (it is stored as an `i8`); only a group whose largest magnitude is below
//! about `2^-112` reaches the upper clamp (its values then round to 0); the lower end is
//! reached only by magnitudes near `f32::MAX`, whose rounded value may then dequantize to
//! infinity (`k * 2^128`).
//!
//! Rounding: to nearest, ties away from zero (`2.5 -> 3`, `-2.5 -> -3`); NaN gives code 0;
//! ±infinity saturates.

/// Highest width that is stored as fixed point.
pub const MAX_FIXED_WIDTH: u8 = 16;
/// The width that keeps the f32 as is.
pub const FLOAT_WIDTH: u8 = 32;

/// Is `width` one of 0, 2..=16, 32?
pub fn is_valid_width(width: u8) -> bool {
    width == 0 || (2..=MAX_FIXED_WIDTH).contains(&width) || width == FLOAT_WIDTH
}

/// Integer range `[lo, hi]` of the code `k` at a fixed-point width (2..=16).
#[inline]
pub fn code_range(width: u8) -> (i32, i32) {
    let half = 1i32 << (width - 1);
    (-half, half - 1)
}

/// `2^e` as an exact f64 for `e` in `[-1022, 1023]`.
#[inline]
pub fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// Fractional length for a group of width `width` (2..=16) whose largest finite
/// magnitude is `max_abs` (>= 0). Returns 0 for `max_abs == 0`, width 0 or width 32,
/// and for a non-finite `max_abs`.
pub fn frac_len(max_abs: f32, width: u8) -> i8 {
    frac_len_f64(max_abs as f64, width)
}

/// [`frac_len`] of a magnitude given as an f64 (any f32 converts exactly).
pub fn frac_len_f64(max_abs: f64, width: u8) -> i8 {
    if !(2..=MAX_FIXED_WIDTH).contains(&width) || !max_abs.is_finite() || max_abs == 0.0 {
        return 0;
    }
    let m = max_abs.abs();
    let limit = pow2(width as i32 - 1) - 0.5; // round(x) <= 2^(b-1)-1  <=>  x < limit
    let mut f = (limit / m).log2().floor() as i32;
    // correct possible off-by-one of the logarithm, exactly (products are exact in f64)
    while m * pow2(f + 1) < limit {
        f += 1;
    }
    while m * pow2(f) >= limit {
        f -= 1;
    }
    f.clamp(i8::MIN as i32, i8::MAX as i32) as i8
}

/// Code of `w` at `width` and fractional length `frac`: `round(w * 2^frac)` saturated to
/// the width's range; for width 32 the f32 bits; for width 0 zero.
#[inline]
pub fn quantize_code(w: f32, width: u8, frac: i8) -> i32 {
    match width {
        0 => 0,
        FLOAT_WIDTH => w.to_bits() as i32,
        _ => {
            let (lo, hi) = code_range(width);
            quantize_scaled(w, pow2(frac as i32) as f32, lo as f32, hi as f32)
        }
    }
}

/// Fixed-point code with a precomputed `scale = 2^frac` (an f32: every `frac` of an `i8` is
/// one, some as subnormals) and code range `[lo, hi]`; `scale = 0, lo = hi = 0` gives 0
/// (width 0).
///
/// Exact in f32, as the definition in real numbers: `w * scale` is exact unless it
/// overflows (then it is beyond `hi` or `lo` either way and saturates the same) or falls
/// below 2^-126 (then it rounds to 0 either way). Clamped by comparisons, not `f32::max`/`min`
/// (whose NaN rule costs several times as much in wasm); a NaN (also `inf * 0`) passes
/// through and gives 0. Rounding half away from zero on the magnitude `t <= 2^15`: its
/// integer part `k` and `t - k` are exact.
#[inline]
pub fn quantize_scaled(w: f32, scale: f32, lo: f32, hi: f32) -> i32 {
    let y = w * scale;
    let y = if y < lo { lo } else if y > hi { hi } else { y };
    let t = y.abs();
    let k = t as i32; // truncation; NaN gives 0
    let k = k + i32::from(t - k as f32 >= 0.5);
    if y < 0.0 { -k } else { k }
}

/// Value of code `k` at fractional length `frac`: `k * 2^-frac` (exact for `|k| <= 2^16`,
/// except that `frac = -128` may overflow to infinity).
#[inline]
pub fn dequantize_code(k: i32, frac: i8) -> f32 {
    (k as f64 * pow2(-(frac as i32))) as f32
}

/// Value of a code at any width: 0 for width 0, the f32 bits for width 32, else fixed point.
#[inline]
pub fn dequantize(k: i32, width: u8, frac: i8) -> f32 {
    match width {
        0 => 0.0,
        FLOAT_WIDTH => f32::from_bits(k as u32),
        _ => dequantize_code(k, frac),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition in f64, where `w * 2^frac` is exact for every f32 and `frac`.
    fn reference_code(w: f32, width: u8, frac: i8) -> i32 {
        let (lo, hi) = code_range(width);
        let y = w as f64 * pow2(frac as i32);
        if y.is_nan() {
            return 0;
        }
        let y = y.clamp(lo as f64, hi as f64);
        let k = (y.abs() + 0.5).floor(); // |y| + 0.5 is exact in f64 for |y| <= 2^15
        (k as i32) * if y < 0.0 { -1 } else { 1 }
    }

    #[test]
    fn quantization_in_f32_is_the_exact_definition() {
        let mut g = crate::rng::SplitMix64(7);
        let specials = [0.0f32, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.499_999_97, -0.499_999_97, 1e-45, f32::MIN_POSITIVE, f32::MAX, f32::MIN, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        for i in 0..400_000u32 {
            let x = match i % 4 {
                0 => f32::from_bits(g.next_u64() as u32),
                1 => specials[(g.next_u64() % specials.len() as u64) as usize],
                // near a tie: k + 0.5 at a random scale, give or take an ulp
                2 => f32::from_bits(((g.next_u64() % 64) as f32 + 0.5).to_bits().wrapping_add((g.next_u64() % 3) as u32).wrapping_sub(1)),
                _ => (g.next_f32() - 0.5) * 2f32.powi((g.next_u64() % 60) as i32 - 30),
            };
            let width = 2 + (g.next_u64() % 15) as u8;
            let frac = g.next_u64() as u8 as i8;
            let frac = if i % 4 == 2 { 0 } else { frac };
            assert_eq!(quantize_code(x, width, frac), reference_code(x, width, frac), "{x:e} ({:#x}) at width {width}, frac {frac}", x.to_bits());
        }
    }

    #[test]
    fn width_zero_prunes_every_value() {
        for w in [1.0f32, -3.5, 1e-9, f32::MAX] {
            assert_eq!(quantize_code(w, 0, 0), 0);
            assert_eq!(dequantize(0, 0, 0), 0.0);
        }
    }

    #[test]
    fn width_thirty_two_keeps_the_float_bits() {
        for w in [1.0f32, -3.5e-30, f32::MIN_POSITIVE, f32::NAN] {
            let k = quantize_code(w, 32, 0);
            assert_eq!(dequantize(k, 32, 0).to_bits(), w.to_bits());
        }
    }

    #[test]
    fn only_zero_two_to_sixteen_and_thirty_two_are_valid_widths() {
        let valid: Vec<u8> = (0..=255).filter(|&w| is_valid_width(w)).collect();
        let mut want = vec![0];
        want.extend(2..=16);
        want.push(32);
        assert_eq!(valid, want);
    }

    #[test]
    fn frac_is_the_largest_that_does_not_saturate_the_group_maximum() {
        // b = 4: codes -8..=7; max 1.0 -> f = 2 (1.0 * 4 = 4 <= 7; f = 3 gives 8 > 7)
        assert_eq!(frac_len(1.0, 4), 2);
        // 0.9 * 8 = 7.2 rounds to 7: f = 3
        assert_eq!(frac_len(0.9, 4), 3);
        // 0.95 * 8 = 7.6 rounds to 8 > 7: f = 2
        assert_eq!(frac_len(0.95, 4), 2);
        // b = 2: codes -2..=1; max 1.0 -> f = 0
        assert_eq!(frac_len(1.0, 2), 0);
        assert_eq!(frac_len(100.0, 8), 0); // 100 <= 127
        assert_eq!(frac_len(200.0, 8), -1); // 100 <= 127 after one halving
    }

    #[test]
    fn frac_is_clamped_to_an_i8() {
        assert_eq!(frac_len(1e-45, 16), 127);
        assert_eq!(frac_len(f32::MAX, 2), -128);
        assert_eq!(frac_len(0.0, 8), 0);
        assert_eq!(frac_len(f32::INFINITY, 8), 0);
    }

    #[test]
    fn rounding_is_to_nearest_with_ties_away_from_zero() {
        assert_eq!(quantize_code(2.5, 8, 0), 3);
        assert_eq!(quantize_code(-2.5, 8, 0), -3);
        assert_eq!(quantize_code(2.49, 8, 0), 2);
        assert_eq!(quantize_code(0.75, 8, 1), 2); // 1.5 -> 2
        assert_eq!(quantize_code(f32::NAN, 8, 0), 0);
    }

    #[test]
    fn codes_saturate_at_the_ends_of_the_range() {
        assert_eq!(quantize_code(1000.0, 4, 0), 7);
        assert_eq!(quantize_code(-1000.0, 4, 0), -8);
        assert_eq!(quantize_code(f32::INFINITY, 16, 3), 32767);
        assert_eq!(quantize_code(f32::NEG_INFINITY, 16, 3), -32768);
    }

    #[test]
    fn dequantize_is_k_times_two_to_minus_f() {
        assert_eq!(dequantize_code(3, 2), 0.75);
        assert_eq!(dequantize_code(-5, -3), -40.0);
        assert_eq!(dequantize_code(1, 127), 2f32.powi(-127));
    }

    #[test]
    fn every_value_of_a_group_is_within_half_a_step() {
        let ws = [0.31f32, -0.77, 0.05, 0.999, -1.3];
        for b in 2..=16u8 {
            let f = frac_len(1.3, b);
            let step = 2f64.powi(-(f as i32));
            for &w in &ws {
                let q = dequantize_code(quantize_code(w, b, f), f) as f64;
                assert!((q - w as f64).abs() <= step / 2.0, "b={b} w={w} q={q}");
            }
        }
    }
}
