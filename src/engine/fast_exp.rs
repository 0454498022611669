//! `e^{−x}` for `x ≥ 0` in f32, written so that the compiler vectorises it.
//!
//! The standard library's `expf` is a call per element. Here the argument is
//! split as `−x = n·ln 2 + r` with integer `n` and `|r| ≤ ln 2 / 2`. Then
//! `e^r` comes from a degree-6 Taylor polynomial, and `2^n` is built in the
//! float's exponent bits. Every step is plain arithmetic with no branch, so a loop
//! over a slice becomes SIMD code (wasm `simd128`, x86 SSE2).

use wide::{f32x8, i32x8, CmpGe};

/// Arguments above this give `e^{−x}` below f32's smallest normal number; the result is then 0.
const LARGEST_ARGUMENT: f32 = 87.0;
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in two, so that `n · LN2_HIGH` is exact for the `n` that occur.
const LN2_HIGH: f32 = 0.693_145_75;
const LN2_LOW: f32 = 1.428_606_8e-6;
/// 1.5 · 2^23: adding and subtracting it rounds a float to the nearest integer.
const ROUNDING_MAGIC: f32 = 12_582_912.0;

/// Returns `e^{−x}` for `x ≥ 0` with a relative error below 3e-7; 0 for `x > 87`.
#[inline(always)]
pub fn exp_neg(x: f32) -> f32 {
    // A plain comparison, not `f32::min`, whose NaN rules cost extra instructions.
    let x = if x < LARGEST_ARGUMENT {
        x
    } else {
        LARGEST_ARGUMENT
    };
    let shifted = -x * LOG2_E + ROUNDING_MAGIC;
    let n = shifted - ROUNDING_MAGIC;
    let r = (-x - n * LN2_HIGH) - n * LN2_LOW;

    // Taylor series of e^r to r^6: the remainder is below 4e-8 for |r| ≤ 0.347.
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;

    // `shifted` contains n in its low mantissa bits, offset by the magic
    // number's, so integer arithmetic on the bits gives n without a
    // float-to-int conversion and its saturation checks. n ≥ −126, so 2^n is
    // a normal float with exponent bits n + 127.
    let n_bits = shifted.to_bits().wrapping_sub(ROUNDING_MAGIC.to_bits());
    let scale = f32::from_bits(n_bits.wrapping_add(127) << 23);
    let value = p * scale;
    if x >= LARGEST_ARGUMENT {
        0.0
    } else {
        value
    }
}

/// [`exp_neg`] on 8 lanes at once, with explicit SIMD from the `wide` crate
/// (the compiler left the scalar form's loop unvectorised).
#[inline(always)]
pub fn exp_neg_x8(x: f32x8) -> f32x8 {
    let largest = f32x8::splat(LARGEST_ARGUMENT);
    let x = x.fast_min(largest);
    // The magic-number rounding, as in the scalar form: `round` needs SSE4.1.
    let magic = f32x8::splat(ROUNDING_MAGIC);
    let shifted = -x * f32x8::splat(LOG2_E) + magic;
    let n = shifted - magic;
    let r = (-x - n * f32x8::splat(LN2_HIGH)) - n * f32x8::splat(LN2_LOW);

    let mut p = f32x8::splat(1.0 / 720.0);
    for coefficient in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = p.mul_add(r, f32x8::splat(coefficient));
    }

    // n from the low mantissa bits of `shifted`; n ≥ −126, so n + 127 is a
    // normal float's exponent.
    let n_bits: i32x8 =
        bytemuck::cast::<f32x8, i32x8>(shifted) - i32x8::splat(ROUNDING_MAGIC.to_bits() as i32);
    let exponent = (n_bits + i32x8::splat(127)) << 23;
    let scale: f32x8 = bytemuck::cast(exponent);
    x.cmp_ge(largest).blend(f32x8::ZERO, p * scale)
}

/// Applies [`exp_neg`] to every element in place, 8 at a time.
pub fn exp_neg_in_place(values: &mut [f32]) {
    let mut blocks = values.chunks_exact_mut(8);
    for block in blocks.by_ref() {
        let mut lanes = [0.0; 8];
        lanes.copy_from_slice(block);
        block.copy_from_slice(&exp_neg_x8(f32x8::from(lanes)).to_array());
    }
    for value in blocks.into_remainder() {
        *value = exp_neg(*value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_neg_matches_f64_exp() {
        let mut worst: f64 = 0.0;
        let mut x = 0.0_f32;
        while x < 86.0 {
            let expected = (-(x as f64)).exp();
            let got = exp_neg(x) as f64;
            worst = worst.max(((got - expected) / expected).abs());
            x += 0.001_37;
        }
        assert!(worst < 3e-7, "largest relative error {worst}");
    }

    #[test]
    fn exp_neg_is_exact_at_zero() {
        assert_eq!(exp_neg(0.0), 1.0);
    }

    #[test]
    fn exp_neg_flushes_large_arguments_to_zero() {
        for x in [87.0, 88.0, 1e10, f32::INFINITY] {
            assert_eq!(exp_neg(x), 0.0, "at {x}");
        }
    }

    #[test]
    fn slice_form_matches_f64_exp() {
        // 37 values: four blocks of 8 and a scalar remainder of 5.
        let mut values: Vec<f32> = (0..37).map(|i| i as f32 * 2.45).collect();
        let arguments = values.clone();
        exp_neg_in_place(&mut values);
        for (&x, &got) in arguments.iter().zip(&values) {
            let expected = (-(x as f64)).exp();
            if x >= 87.0 {
                assert_eq!(got, 0.0, "at {x}");
            } else {
                let error = ((got as f64 - expected) / expected).abs();
                assert!(error < 3e-7, "relative error {error} at {x}");
            }
        }
    }

    #[test]
    fn slice_form_flushes_large_arguments_to_zero() {
        let mut values = [0.0, 87.0, 1e10, f32::INFINITY, 86.9, 88.0, 200.0, 5.0];
        exp_neg_in_place(&mut values);
        assert_eq!(values[0], 1.0);
        for (index, &value) in values
            .iter()
            .enumerate()
            .filter(|&(i, _)| ![0, 4, 7].contains(&i))
        {
            assert_eq!(value, 0.0, "lane {index}");
        }
        assert!(values[4] > 0.0, "lane 4 (86.9): {values:?}");
        assert!(values[7] > 0.0, "lane 7 (5.0): {values:?}");
    }
}
