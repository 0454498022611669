//! Soft k-NN in f64: the reference every faster path is compared with.
//!
//! For a query `x`, with squared distances `d_n = ‖x_n − x‖²`, layer `k` gives
//! every training point the activation
//!
//! ```text
//! s^k_n = d_n + γ · S^k_n,      S^k_n = Σ_{k' < k} h^{k'}_n   (residual sum)
//! h^k   = softmax_n(−β · s^k)
//! ```
//!
//! votes with `Y^T h^k`, and the output averages the votes of the K layers:
//! `ŷ = (1/K) Σ_k Y^T h^k`. Hard mode is the limit β = γ = ∞ computed
//! directly: layer k is one-hot on the k-th nearest training point.
//!
//! The penalty `γ S^k_n` is the additive suppression rule. The model also
//! offers the multiplicative rule, `h^k_n ∝ exp(−β d_n) Π_{k'<k} (1 − h^{k'}_n)`
//! (see [`Suppression`]).

use nalgebra::{DVector, Point2};

use super::params::{coordinate_in_range, Mode, ParamError, Params, RawParams, Suppression};
use super::training::TrainingSet;

/// A training set with checked parameters, ready to evaluate queries.
#[derive(Clone, Debug)]
pub struct Model<'a> {
    training: &'a TrainingSet,
    params: Params,
    suppression: Suppression,
}

/// One layer's quantities at one query.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerTrace {
    /// `h^k_n` for every training point n: a distribution over the N points.
    pub activation: DVector<f64>,
    /// `Y^T h^k`: this layer's own class vote.
    pub vote: DVector<f64>,
    /// `(1/k) Σ_{k' ≤ k} Y^T h^{k'}`: the output of a model cut after this layer.
    pub running_average: DVector<f64>,
}

/// Everything the model computes at one query.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// `d_n = ‖x_n − x‖²`.
    pub squared_distances: DVector<f64>,
    /// One entry per layer, k = 1 … K.
    pub layers: Vec<LayerTrace>,
    /// `ŷ`, the average of the K layer votes.
    pub output: DVector<f64>,
    /// `S_n = Σ_k h^k_n` after all K layers: how much of point n was used.
    pub residual: DVector<f64>,
    /// `Σ_n max(0, S_n − 1)`: mass spent on points already selected.
    pub reselected_mass: f64,
}

impl<'a> Model<'a> {
    /// Checks `raw` against the training set and builds the model with the
    /// additive suppression rule.
    pub fn new(training: &'a TrainingSet, raw: RawParams) -> Result<Model<'a>, ParamError> {
        let params = Params::check(raw, training.len())?;
        Ok(Model {
            training,
            params,
            suppression: Suppression::Additive,
        })
    }

    /// Returns the model with `suppression` as its rule for soft layers.
    pub fn with_suppression(self, suppression: Suppression) -> Model<'a> {
        Model {
            suppression,
            ..self
        }
    }

    /// Returns the suppression rule of the soft layers, which hard mode ignores.
    pub fn suppression(&self) -> Suppression {
        self.suppression
    }

    pub fn training(&self) -> &TrainingSet {
        self.training
    }

    pub fn params(&self) -> Params {
        self.params
    }

    /// Computes every layer's activation and vote at `query`.
    pub fn trace(&self, query: Point2<f64>) -> Result<Trace, ParamError> {
        coordinate_in_range(query.x, query.y).map_err(|_| ParamError::InvalidQuery {
            x: query.x,
            y: query.y,
        })?;

        let squared_distances = DVector::from_iterator(
            self.training.len(),
            self.training
                .points()
                .iter()
                .map(|p| nalgebra::distance_squared(p, &query)),
        );
        let layers = self.params.layers();
        let activations = match (self.params.mode(), self.suppression) {
            (Mode::Soft { beta, gamma }, Suppression::Additive) => {
                soft_activations(&squared_distances, beta, gamma, layers)
            }
            (Mode::Soft { beta, .. }, Suppression::Multiplicative) => {
                multiplicative_activations(&squared_distances, beta, layers)
            }
            (Mode::Hard, _) => hard_activations(&squared_distances, layers),
        };

        Ok(self.assemble(squared_distances, activations))
    }

    /// Returns `ŷ` at `query`.
    pub fn predict(&self, query: Point2<f64>) -> Result<DVector<f64>, ParamError> {
        Ok(self.trace(query)?.output)
    }

    /// Turns the layers' activations into votes, running averages and the output.
    fn assemble(&self, squared_distances: DVector<f64>, activations: Vec<DVector<f64>>) -> Trace {
        let y = self.training.one_hot();
        let mut vote_sum = DVector::zeros(self.training.classes());
        let mut residual = DVector::zeros(self.training.len());
        let mut layers = Vec::with_capacity(activations.len());

        for (index, activation) in activations.into_iter().enumerate() {
            let vote = y.tr_mul(&activation);
            vote_sum += &vote;
            residual += &activation;
            let running_average = &vote_sum / (index + 1) as f64;
            layers.push(LayerTrace {
                activation,
                vote,
                running_average,
            });
        }

        let output = layers
            .last()
            .map(|layer| layer.running_average.clone())
            .unwrap_or_else(|| DVector::zeros(self.training.classes()));
        let reselected_mass = residual.iter().map(|s| (s - 1.0).max(0.0)).sum();
        Trace {
            squared_distances,
            layers,
            output,
            residual,
            reselected_mass,
        }
    }
}

/// Computes `h^1 … h^K` with the additive suppression rule.
fn soft_activations(d: &DVector<f64>, beta: f64, gamma: f64, layers: usize) -> Vec<DVector<f64>> {
    let mut residual = DVector::zeros(d.len());
    let mut activations = Vec::with_capacity(layers);
    for _ in 0..layers {
        let scores = d + gamma * &residual;
        let activation = softmax_of_negative(&scores, beta);
        residual += &activation;
        activations.push(activation);
    }
    activations
}

/// Computes `h^1 … h^K` with the multiplicative suppression rule.
///
/// Each point carries `c_n = Σ_{k'<k} ln(1 − h^{k'}_n)`, starting at 0, and
/// layer k is `softmax_n(−β d_n + c_n)` (see [`multiplicative_layer`]).
fn multiplicative_activations(d: &DVector<f64>, beta: f64, layers: usize) -> Vec<DVector<f64>> {
    let mut carry = DVector::zeros(d.len());
    (0..layers)
        .map(|_| multiplicative_layer(d, beta, &mut carry))
        .collect()
}

/// Computes one layer of the multiplicative rule and adds `ln(1 − h_n)` to
/// each point's carry.
///
/// A carry of −∞ marks a point that a layer selected completely, and such a
/// point gets weight exactly 0. A point's carry becomes −∞ only when every
/// other point's logit is −∞ in that layer, so each layer uses up at most one
/// point, and with K ≤ N at least one point is still available in every layer.
/// Should every carry be −∞ all the same, the layer clears the carries and
/// starts a new round over all points rather than divide 0 by 0.
///
/// NOTE: `−β (d_n − d_ref)` overflows to −∞ once it is below −1.8e308, which
/// takes coordinates near 1e150 at β = 1e8. The point then gets weight 0,
/// although its exact weight is merely tiny, and a point whose rivals all
/// overflowed counts as completely selected.
fn multiplicative_layer(d: &DVector<f64>, beta: f64, carry: &mut DVector<f64>) -> DVector<f64> {
    if carry.iter().all(|&c| c == f64::NEG_INFINITY) {
        carry.fill(0.0);
    }
    let logits = multiplicative_logits(d, beta, carry);
    let activation = softmax_of_logits(&logits);
    add_log_complements(&logits, &activation, carry);
    activation
}

/// Returns `−β (d_n − d_ref) + c_n`, where `d_ref` is the smallest squared
/// distance among the points whose carry is finite.
///
/// Subtracting `d_ref` shifts every logit by the same amount, which the
/// softmax ignores. Taking it among the available points gives one of them
/// the logit `c_n > −∞`, so the largest logit is finite even where the
/// logits of farther points overflow to −∞.
fn multiplicative_logits(d: &DVector<f64>, beta: f64, carry: &DVector<f64>) -> DVector<f64> {
    let reference = d
        .iter()
        .zip(carry.iter())
        .filter(|(_, c)| c.is_finite())
        .map(|(&distance, _)| distance)
        .fold(f64::INFINITY, f64::min);
    d.zip_map(carry, |distance, c| {
        if c.is_finite() {
            -beta * (distance - reference) + c
        } else {
            f64::NEG_INFINITY
        }
    })
}

/// Returns `softmax(l)` with the largest logit subtracted first.
///
/// The caller guarantees that the largest logit is finite.
fn softmax_of_logits(logits: &DVector<f64>) -> DVector<f64> {
    let largest = logits.max();
    let weights = logits.map(|l| (l - largest).exp());
    let total = weights.sum();
    weights / total
}

/// Adds `ln(1 − h_n)` to every point's carry.
///
/// Where `h_n ≤ 1/2`, `ln_1p(−h_n)` is accurate to a few ulps. Where
/// `h_n > 1/2`, `1 − h_n` would lose digits to cancellation, and rounds to 0
/// once `h_n` rounds to 1, which would wrongly remove the point from every
/// later layer. There `1 − h_n` is the other points' share of the mass, so
/// `ln(1 − h_n) = LSE_{m≠n}(l_m) − LSE_m(l_m)`, computed from the logits.
fn add_log_complements(logits: &DVector<f64>, activation: &DVector<f64>, carry: &mut DVector<f64>) {
    for (n, &h) in activation.iter().enumerate() {
        let log_complement = if h <= 0.5 {
            (-h).ln_1p()
        } else {
            log_share_of_others(logits, n)
        };
        carry[n] += log_complement;
    }
}

/// Returns `ln(Σ_{m≠n} e^{l_m} / Σ_m e^{l_m})` for the point n with the
/// largest logit, or −∞ when every other logit is −∞.
fn log_share_of_others(logits: &DVector<f64>, n: usize) -> f64 {
    let others = || {
        logits
            .iter()
            .enumerate()
            .filter(move |&(m, _)| m != n)
            .map(|(_, &l)| l)
    };
    let largest_other = others().fold(f64::NEG_INFINITY, f64::max);
    if largest_other == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }

    // ln Σ_m e^{l_m} = l_n + ln(1 + Σ_{m≠n} e^{l_m − l_n}), with l_n the largest.
    let own = logits[n];
    let others_relative_to_own: f64 = others().map(|l| (l - own).exp()).sum();
    let log_total = own + others_relative_to_own.ln_1p();
    let others_relative_to_largest: f64 = others().map(|l| (l - largest_other).exp()).sum();
    let log_others = largest_other + others_relative_to_largest.ln();
    log_others - log_total
}

/// Returns `softmax(−β · s)`.
///
/// The smallest score (the largest logit) is subtracted first: every exponent
/// is then ≤ 0, so nothing overflows, and the largest term is exp(0) = 1, so
/// the sum never underflows to 0, whatever β and the data's scale. Taking the
/// difference before multiplying by β keeps its precision at large β.
pub fn softmax_of_negative(scores: &DVector<f64>, beta: f64) -> DVector<f64> {
    let smallest = scores.min();
    let weights = scores.map(|s| (-beta * (s - smallest)).exp());
    let total = weights.sum();
    weights / total
}

/// Layer k is one-hot on the k-th nearest point; equal distances go to the
/// lower training index.
fn hard_activations(d: &DVector<f64>, layers: usize) -> Vec<DVector<f64>> {
    nearest_order(d.as_slice())
        .into_iter()
        .take(layers)
        .map(|n| {
            let mut activation = DVector::zeros(d.len());
            activation[n] = 1.0;
            activation
        })
        .collect()
}

/// Indices of the training points sorted by squared distance, then by index.
pub fn nearest_order(squared_distances: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..squared_distances.len()).collect();
    // A stable sort keeps equal distances in index order. Distances come from
    // checked finite coordinates, so `total_cmp` orders them like `<`.
    order.sort_by(|&a, &b| squared_distances[a].total_cmp(&squared_distances[b]));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplicative_layer_gives_used_point_zero_weight() {
        // Point 0 is the nearest but was selected completely before.
        let d = DVector::from_vec(vec![1.0, 2.0, 4.0]);
        let mut carry = DVector::from_vec(vec![f64::NEG_INFINITY, 0.0, 0.0]);

        let activation = multiplicative_layer(&d, 1.0, &mut carry);

        // The others split as in a plain softmax: e^{−2} : e^{−4}.
        let h1 = 1.0 / (1.0 + (-2.0f64).exp());
        assert_eq!(activation[0], 0.0, "h_0 of the used point");
        assert!(
            (activation[1] - h1).abs() < 1e-15,
            "h_1 = {}",
            activation[1]
        );
        assert!(
            (activation[2] - (1.0 - h1)).abs() < 1e-15,
            "h_2 = {}",
            activation[2]
        );
        assert_eq!(carry[0], f64::NEG_INFINITY, "the used point stays used");
        assert!(carry.iter().skip(1).all(|c| c.is_finite()), "{carry}");
    }

    #[test]
    fn multiplicative_layer_restarts_when_every_point_is_used() {
        let d = DVector::from_vec(vec![1.0, 2.0, 4.0]);
        let mut carry = DVector::from_element(3, f64::NEG_INFINITY);

        let activation = multiplicative_layer(&d, 1.0, &mut carry);

        let fresh = softmax_of_negative(&d, 1.0);
        assert!(
            (&activation - &fresh).amax() < 1e-15,
            "{activation} against the first layer {fresh}"
        );
        assert!(carry.iter().all(|c| c.is_finite()), "{carry}");
    }

    #[test]
    fn multiplicative_layer_survives_overflowing_logits() {
        // β·(d_1 − d_0) = 1e8 · 8e300 overflows to −∞. Point 0 is used, so the
        // reference distance must come from point 1, whose logit is then 0.
        let d = DVector::from_vec(vec![0.0, 8e300]);
        let mut carry = DVector::from_vec(vec![f64::NEG_INFINITY, 0.0]);

        let activation = multiplicative_layer(&d, 1e8, &mut carry);

        assert_eq!(activation.as_slice(), &[0.0, 1.0]);
    }

    #[test]
    fn log_share_precise_where_h_rounds_to_one() {
        // h_0 = 1 / (1 + e^{−50}) rounds to 1, yet ln(1 − h_0) ≈ −50.
        let logits = DVector::from_vec(vec![0.0, -50.0]);
        let exact = -50.0 - (-50.0f64).exp().ln_1p();
        assert!((log_share_of_others(&logits, 0) - exact).abs() < 1e-13);

        let lone = DVector::from_vec(vec![0.0, f64::NEG_INFINITY]);
        assert_eq!(log_share_of_others(&lone, 0), f64::NEG_INFINITY);
    }
}
