//! Text and axis helpers for showing measures: percentages with their
//! counts, parameter settings, and values on a log axis.

use super::incremental::Tally;
use crate::model::{RawParams, Suppression};

/// Formats a tally as a percentage with its counts, for example
/// `95.3 % (143 of 150)`, or `91.0 % (182 of 200 sampled from 10000)`.
/// Returns `None` before the first evaluation.
pub fn format_tally(tally: &Tally) -> Option<String> {
    let share = tally.share()?;
    let percent = 100.0 * share;
    let counts = if tally.is_sampled() {
        format!(
            "{} of {} sampled from {}",
            tally.hits, tally.evaluated, tally.population
        )
    } else {
        format!("{} of {}", tally.hits, tally.evaluated)
    };
    Some(format!("{percent:.1} % ({counts})"))
}

/// Formats a parameter value with three significant digits, switching to
/// scientific notation below 0.01 and from 10,000 on.
pub fn format_number(value: f64) -> String {
    if value == 0.0 {
        "0".to_string()
    } else if (0.01..10_000.0).contains(&value.abs()) {
        let decimals = (2 - value.abs().log10().floor() as i32).max(0) as usize;
        format!("{value:.decimals$}")
    } else {
        format!("{value:.2e}")
    }
}

/// Describes the setting a measure was computed for, for example
/// `β = 2.00, γ = 8.00, k = 5, additive rule` or `hard mode, k = 5`.
pub fn describe_setting(raw: RawParams, suppression: Suppression) -> String {
    if raw.hard {
        return format!("hard mode, k = {}", raw.k);
    }
    match suppression {
        Suppression::Additive => format!(
            "β = {}, γ = {}, k = {}, additive rule",
            format_number(raw.beta),
            format_number(raw.gamma),
            raw.k
        ),
        // The multiplicative rule does not use γ.
        Suppression::Multiplicative => format!(
            "β = {}, k = {}, multiplicative rule",
            format_number(raw.beta),
            raw.k
        ),
    }
}

/// Describes the setting of a curve against β, which spans every β: for
/// example `γ = 8.00, k = 5, additive rule`.
pub fn describe_curve_setting(raw: RawParams, suppression: Suppression) -> String {
    if raw.hard {
        return format!("hard mode, k = {}", raw.k);
    }
    match suppression {
        Suppression::Additive => format!(
            "γ = {}, k = {}, additive rule",
            format_number(raw.gamma),
            raw.k
        ),
        Suppression::Multiplicative => format!("k = {}, multiplicative rule", raw.k),
    }
}

/// Returns `count` values from `min` to `max` spaced evenly on a log scale,
/// both ends included.
///
/// # Panics
/// If `min` is not positive, `max < min`, or `count < 2`.
pub fn log_spaced(min: f64, max: f64, count: usize) -> Vec<f64> {
    assert!(min > 0.0, "a log axis needs min > 0, got {min}");
    assert!(max >= min, "a log axis needs max ≥ min, got {min} to {max}");
    assert!(count >= 2, "a range needs at least its two ends");
    let ratio = max / min;
    (0..count)
        .map(|i| {
            if i == count - 1 {
                max
            } else {
                min * ratio.powf(i as f64 / (count - 1) as f64)
            }
        })
        .collect()
}

/// The position of a value on a log axis from `min` to `max`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AxisPlace {
    /// On the axis, at this fraction of its length from the left end.
    On(f64),
    /// Left of the axis: 0 (which no log axis shows) or below `min`.
    Below,
    /// Right of the axis: above `max`.
    Above,
}

/// Places `value` on a log axis from `min` to `max`, with `0 < min < max`.
///
/// A value within a relative 1e-9 of an end counts as on the axis, because
/// a slider's `min · (max / min)^1` can miss `max` by a rounding error.
pub fn place_on_log_axis(value: f64, min: f64, max: f64) -> AxisPlace {
    const ROUNDING: f64 = 1e-9;
    if value.is_nan() || value < min * (1.0 - ROUNDING) {
        AxisPlace::Below
    } else if value > max * (1.0 + ROUNDING) {
        AxisPlace::Above
    } else {
        let fraction = (value / min).ln() / (max / min).ln();
        AxisPlace::On(fraction.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_tally_reads_percent_and_counts() {
        let cases = [
            (Tally::finished(143, 150, 150), Some("95.3 % (143 of 150)")),
            (
                Tally::finished(182, 200, 10_000),
                Some("91.0 % (182 of 200 sampled from 10000)"),
            ),
            (Tally::finished(0, 0, 5), None),
        ];
        for (tally, expected) in cases {
            assert_eq!(format_tally(&tally).as_deref(), expected, "{tally:?}");
        }
    }

    #[test]
    fn describe_setting_names_used_parameters() {
        let raw = RawParams {
            beta: 2.0,
            gamma: 0.005,
            k: 5,
            hard: false,
        };
        let cases = [
            (
                raw,
                Suppression::Additive,
                "β = 2.00, γ = 5.00e-3, k = 5, additive rule",
            ),
            (
                raw,
                Suppression::Multiplicative,
                "β = 2.00, k = 5, multiplicative rule",
            ),
            (
                RawParams { hard: true, ..raw },
                Suppression::Additive,
                "hard mode, k = 5",
            ),
        ];
        for (raw, suppression, expected) in cases {
            assert_eq!(describe_setting(raw, suppression), expected);
        }
    }

    #[test]
    fn describe_curve_setting_leaves_out_beta() {
        let raw = RawParams {
            beta: 2.0,
            gamma: 8.0,
            k: 3,
            hard: false,
        };
        let cases = [
            (raw, Suppression::Additive, "γ = 8.00, k = 3, additive rule"),
            (
                raw,
                Suppression::Multiplicative,
                "k = 3, multiplicative rule",
            ),
            (
                RawParams { hard: true, ..raw },
                Suppression::Multiplicative,
                "hard mode, k = 3",
            ),
        ];
        for (raw, suppression, expected) in cases {
            assert_eq!(describe_curve_setting(raw, suppression), expected);
        }
    }

    #[test]
    fn log_spaced_has_exact_ends_and_constant_ratio() {
        let values = log_spaced(0.003, 2500.0, 13);
        assert_eq!(values.len(), 13);
        assert_eq!(values[0], 0.003);
        assert_eq!(values[12], 2500.0);
        let ratio = values[1] / values[0];
        for pair in values.windows(2) {
            assert!(
                (pair[1] / pair[0] - ratio).abs() < 1e-9 * ratio,
                "ratio {} differs from {ratio}",
                pair[1] / pair[0]
            );
        }
    }

    #[test]
    fn log_axis_places_zero_below() {
        let cases = [
            (0.0, AxisPlace::Below),
            (0.001, AxisPlace::Below),
            (f64::NAN, AxisPlace::Below),
            (0.01, AxisPlace::On(0.0)),
            (1.0, AxisPlace::On(0.5)),
            (100.0, AxisPlace::On(1.0)),
            (100.0 * (1.0 + 1e-12), AxisPlace::On(1.0)),
            (0.01 * (1.0 - 1e-12), AxisPlace::On(0.0)),
            (100.01, AxisPlace::Above),
            (1e3, AxisPlace::Above),
        ];
        for (value, expected) in cases {
            let place = place_on_log_axis(value, 0.01, 100.0);
            match (place, expected) {
                (AxisPlace::On(got), AxisPlace::On(want)) => {
                    assert!((got - want).abs() < 1e-12, "{value}: {got} != {want}")
                }
                _ => assert_eq!(place, expected, "{value}"),
            }
        }
    }
}
