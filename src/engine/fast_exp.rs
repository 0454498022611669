//! `e^{−x}` for `x ≥ 0` in f32, written so that the compiler vectorises it.
//!
//! The standard library's `expf` is a call per element. Here the argument is
//! split as `−x = n·ln 2 + r` with integer `n` and `|r| ≤ ln 2 / 2`. Then
//! `e^r` comes from a degree-6 Taylor polynomial, and `2^n` is built in the
//! float's exponent bits. Every step is plain arithmetic with no branch, so a loop
//! over a slice becomes SIMD code (wasm `simd128`, x86 SSE2).

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
    let x = x.min(LARGEST_ARGUMENT);
    let n = (-x * LOG2_E + ROUNDING_MAGIC) - ROUNDING_MAGIC;
    let r = (-x - n * LN2_HIGH) - n * LN2_LOW;

    // Taylor series of e^r to r^6: the remainder is below 4e-8 for |r| ≤ 0.347.
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;

    // n ≥ −126, so 2^n is a normal float: exponent bits n + 127 in 1 ..= 127.
    let scale = f32::from_bits((((n as i32) + 127) as u32) << 23);
    let value = p * scale;
    if x >= LARGEST_ARGUMENT {
        0.0
    } else {
        value
    }
}

/// Applies [`exp_neg`] to every element in place.
pub fn exp_neg_in_place(values: &mut [f32]) {
    for value in values.iter_mut() {
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
    fn slice_form_matches_scalar_form() {
        let mut values: Vec<f32> = (0..37).map(|i| i as f32 * 0.7).collect();
        let expected: Vec<f32> = values.iter().map(|&x| exp_neg(x)).collect();
        exp_neg_in_place(&mut values);
        assert_eq!(values, expected);
    }
}
