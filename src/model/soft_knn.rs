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

use nalgebra::{DVector, Point2};

use super::params::{coordinate_in_range, Mode, ParamError, Params, RawParams};
use super::training::TrainingSet;

/// A training set with checked parameters, ready to answer queries.
#[derive(Clone, Debug)]
pub struct Model<'a> {
    training: &'a TrainingSet,
    params: Params,
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
    /// Checks `raw` against the training set and builds the model.
    pub fn new(training: &'a TrainingSet, raw: RawParams) -> Result<Model<'a>, ParamError> {
        let params = Params::check(raw, training.len())?;
        Ok(Model { training, params })
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
        let activations = match self.params.mode() {
            Mode::Soft { beta, gamma } => {
                soft_activations(&squared_distances, beta, gamma, self.params.layers())
            }
            Mode::Hard => hard_activations(&squared_distances, self.params.layers()),
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
