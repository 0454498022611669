//! Parameters as they arrive from a slider or the command line, and the one
//! check that turns them into parameters the model can trust.

use thiserror::Error;

/// Largest coordinate magnitude accepted, so that squared distances
/// (up to `(2 · 1e150)²`) stay finite in f64.
pub const MAX_COORDINATE: f64 = 1e150;

/// Parameters as the user gave them, before any check.
///
/// | Name    | Purpose                                               | Range (soft mode)      |
/// | ------- | ----------------------------------------------------- | ---------------------- |
/// | `beta`  | β, sharpness of every layer's softmax, in 1/distance² | `[0, ∞)`, finite       |
/// | `gamma` | γ, penalty on points that earlier layers selected     | `[0, ∞)`, finite       |
/// | `k`     | K, the number of layers (neighbours)                  | `1 ..= N`              |
/// | `hard`  | hard mode: the limit β = γ = ∞, computed directly     | β and γ are then unused |
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawParams {
    pub beta: f64,
    pub gamma: f64,
    pub k: i64,
    pub hard: bool,
}

/// The way each layer turns squared distances into activations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// `h^k = softmax(−β (d + γ S^k))` with finite β ≥ 0 and γ ≥ 0.
    Soft { beta: f64, gamma: f64 },
    /// The limit β = γ = ∞: layer k is one-hot on the k-th nearest point,
    /// ties in distance broken by the lower training index.
    Hard,
}

/// Rule that keeps a layer away from the training points that earlier layers selected.
///
/// | Variant          | Layer k, with `S^k_n = Σ_{k'<k} h^{k'}_n`                    | Uses γ |
/// | ---------------- | ------------------------------------------------------------ | ------ |
/// | `Additive`       | `h^k = softmax_n(−β (d_n + γ S^k_n))`                         | yes    |
/// | `Multiplicative` | `h^k_n ∝ exp(−β d_n) · Π_{k'<k} (1 − h^{k'}_n)`               | no     |
///
/// The additive rule is the one of the lecture note. The multiplicative rule
/// is the one of Neural Nearest Neighbors Networks (Plötz and Roth, 2018): the
/// logits carry over from layer to layer and each layer adds `ln(1 − h^k_n)`.
/// Because `ln(1 − h) ≈ −h` for small h, the additive rule with `γ = 1/β` is
/// its first-order version.
///
/// Hard mode selects the k-th nearest point directly and ignores the rule.
///
/// NOTE: in the multiplicative rule a large β does not lead to hard k-NN.
/// With `w_n = exp(−β d_n)` and `Z = Σ w`, layer 2 weighs point n by
/// `w_n (Z − w_n) / Z`. For the nearest point (1) and the second nearest (2)
/// the difference is `(w_1 − w_2)(Z − w_1 − w_2) / Z ≥ 0`, so the nearest
/// point keeps at least the weight of the second. Once `β (d_(2) − d_(1))` is
/// large, layer 2 splits its mass evenly between the two, and so do the
/// following layers until a third point catches up. Only a point whose
/// `h^k_n` is exactly 1 in exact arithmetic is never selected again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Suppression {
    /// The penalty `β γ S^k_n` is subtracted from each logit.
    #[default]
    Additive,
    /// Each logit carries `Σ_{k'<k} ln(1 − h^{k'}_n)`, and γ is unused.
    Multiplicative,
}

/// Checked parameters: only [`Params::check`] makes them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    mode: Mode,
    layers: usize,
}

/// A parameter or training set that the model cannot use, one variant per condition.
#[derive(Clone, Copy, Debug, Error, PartialEq)]
pub enum ParamError {
    #[error("beta must be a finite number in soft mode, got {0}; hard mode is the limit beta = infinity")]
    BetaNotFinite(f64),
    #[error("beta must be 0 or more, got {0}")]
    BetaNegative(f64),
    #[error("gamma must be a finite number in soft mode, got {0}; hard mode is the limit gamma = infinity")]
    GammaNotFinite(f64),
    #[error("gamma must be 0 or more, got {0}")]
    GammaNegative(f64),
    #[error(
        "k must be a whole number from 1 to the number of training points ({points}), got {k}"
    )]
    KOutOfRange { k: i64, points: usize },
    #[error("the training set is empty; at least one point is needed")]
    EmptyTrainingSet,
    #[error("training point {index} has a non-finite coordinate ({x}, {y}); coordinates must be finite numbers")]
    NonFiniteCoordinate { index: usize, x: f64, y: f64 },
    #[error("training point {index} has a coordinate beyond ±1e150 ({x}, {y}); squared distances would overflow")]
    CoordinateOutOfRange { index: usize, x: f64, y: f64 },
    #[error("the query ({x}, {y}) must have finite coordinates within ±1e150")]
    InvalidQuery { x: f64, y: f64 },
}

impl Params {
    /// Checks raw values against a training set of `points` points.
    ///
    /// The training points' coordinates are checked by
    /// [`TrainingSet::new`](super::TrainingSet::new); this checks β, γ, k and N.
    pub fn check(raw: RawParams, points: usize) -> Result<Params, ParamError> {
        if points == 0 {
            return Err(ParamError::EmptyTrainingSet);
        }

        let mode = if raw.hard {
            Mode::Hard
        } else {
            check_soft(raw.beta, raw.gamma)?
        };

        let layers = usize::try_from(raw.k)
            .ok()
            .filter(|&k| (1..=points).contains(&k))
            .ok_or(ParamError::KOutOfRange { k: raw.k, points })?;

        Ok(Params { mode, layers })
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// K, the number of layers.
    pub fn layers(&self) -> usize {
        self.layers
    }

    /// Returns raw values that [`Params::check`] turns back into these
    /// parameters; hard mode gives β = γ = ∞.
    pub fn to_raw(&self) -> RawParams {
        let (beta, gamma, hard) = match self.mode {
            Mode::Soft { beta, gamma } => (beta, gamma, false),
            Mode::Hard => (f64::INFINITY, f64::INFINITY, true),
        };
        RawParams {
            beta,
            gamma,
            // K ≤ N, and N fits in memory, so it fits in an i64.
            k: self.layers as i64,
            hard,
        }
    }
}

fn check_soft(beta: f64, gamma: f64) -> Result<Mode, ParamError> {
    // NaN fails `is_finite`, so it is reported as not finite rather than negative.
    if !beta.is_finite() {
        return Err(ParamError::BetaNotFinite(beta));
    }
    if beta < 0.0 {
        return Err(ParamError::BetaNegative(beta));
    }
    // An infinite γ with finite β would make every logit after layer 1 equal −∞.
    if !gamma.is_finite() {
        return Err(ParamError::GammaNotFinite(gamma));
    }
    if gamma < 0.0 {
        return Err(ParamError::GammaNegative(gamma));
    }
    Ok(Mode::Soft { beta, gamma })
}

/// Checks one coordinate pair against the limits the model accepts.
pub(crate) fn coordinate_in_range(x: f64, y: f64) -> Result<(), CoordinateProblem> {
    if !x.is_finite() || !y.is_finite() {
        return Err(CoordinateProblem::NotFinite);
    }
    if x.abs() > MAX_COORDINATE || y.abs() > MAX_COORDINATE {
        return Err(CoordinateProblem::OutOfRange);
    }
    Ok(())
}

pub(crate) enum CoordinateProblem {
    NotFinite,
    OutOfRange,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soft(beta: f64, gamma: f64, k: i64) -> RawParams {
        RawParams {
            beta,
            gamma,
            k,
            hard: false,
        }
    }

    #[test]
    fn check_accepts_valid_soft_params() {
        let params = Params::check(soft(2.5, 0.0, 3), 3).unwrap();
        assert_eq!(
            params.mode(),
            Mode::Soft {
                beta: 2.5,
                gamma: 0.0
            }
        );
        assert_eq!(params.layers(), 3);
    }

    #[test]
    fn check_rejects_each_bad_value() {
        let cases = [
            (
                soft(f64::INFINITY, 1.0, 1),
                ParamError::BetaNotFinite(f64::INFINITY),
            ),
            (soft(-1.0, 1.0, 1), ParamError::BetaNegative(-1.0)),
            (
                soft(1.0, f64::INFINITY, 1),
                ParamError::GammaNotFinite(f64::INFINITY),
            ),
            (soft(1.0, -0.5, 1), ParamError::GammaNegative(-0.5)),
            (
                soft(1.0, 1.0, 0),
                ParamError::KOutOfRange { k: 0, points: 4 },
            ),
            (
                soft(1.0, 1.0, 5),
                ParamError::KOutOfRange { k: 5, points: 4 },
            ),
            (
                soft(1.0, 1.0, -2),
                ParamError::KOutOfRange { k: -2, points: 4 },
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(Params::check(raw, 4), Err(expected), "for {raw:?}");
        }
    }

    #[test]
    fn check_reports_nan_beta_as_not_finite() {
        let error = Params::check(soft(f64::NAN, 1.0, 1), 2).unwrap_err();
        assert!(matches!(error, ParamError::BetaNotFinite(b) if b.is_nan()));
    }

    #[test]
    fn check_rejects_empty_training_set() {
        assert_eq!(
            Params::check(soft(1.0, 1.0, 1), 0),
            Err(ParamError::EmptyTrainingSet)
        );
    }

    #[test]
    fn hard_mode_ignores_beta_and_gamma() {
        let raw = RawParams {
            beta: f64::INFINITY,
            gamma: f64::NAN,
            k: 2,
            hard: true,
        };
        assert_eq!(Params::check(raw, 2).unwrap().mode(), Mode::Hard);
    }

    #[test]
    fn to_raw_round_trips_through_check() {
        let hard = RawParams {
            beta: 1.0,
            gamma: 2.0,
            k: 3,
            hard: true,
        };
        for raw in [soft(2.5, 0.3, 2), soft(0.0, 0.0, 4), hard] {
            let params = Params::check(raw, 4).unwrap();
            assert_eq!(Params::check(params.to_raw(), 4), Ok(params), "for {raw:?}");
        }
    }

    #[test]
    fn error_messages_name_value_and_range() {
        let message = ParamError::KOutOfRange { k: 9, points: 4 }.to_string();
        assert!(message.contains("from 1 to"), "{message}");
        assert!(message.contains('9') && message.contains('4'), "{message}");
        let message = ParamError::BetaNegative(-3.0).to_string();
        assert!(
            message.contains("-3") && message.contains("0 or more"),
            "{message}"
        );
    }
}
