//! The probe: what the model computes at one query, arranged for display.
//!
//! A [`ProbeReport`] lists, for every layer, the training points it weighs
//! most with their squared distance `d_n`, their suppression before the layer
//! and their activation `h^k_n`, then each layer's vote, the running average
//! and `ŷ`. Everything comes from the f64 reference [`Model::trace`].

use nalgebra::Point2;

use crate::measures::{describe_reselection_in, predicted_class};
use crate::model::{Model, ParamError, Suppression};

/// One training point's quantities in one layer.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightedPoint {
    /// Training index n.
    pub index: usize,
    pub class: usize,
    /// `h^k_n`.
    pub weight: f64,
    /// `d_n = ‖x_n − x‖²`.
    pub squared_distance: f64,
    /// The suppression of point n before this layer: `S^k_n = Σ_{k'<k} h^{k'}_n`
    /// under the additive rule, `Π_{k'<k} (1 − h^{k'}_n)` under the multiplicative one.
    pub suppression: f64,
}

/// One layer at the probe.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeLayer {
    /// The points with the largest `h^k_n`, largest first (ties by index).
    pub top: Vec<WeightedPoint>,
    /// The mass of all other points: `1 − Σ top h^k_n`, at least 0.
    pub other_mass: f64,
    /// `Y^T h^k`.
    pub vote: Vec<f64>,
    /// `(1/k) Σ_{k' ≤ k} Y^T h^{k'}`.
    pub running_average: Vec<f64>,
}

/// The model at one query.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeReport {
    pub query: Point2<f64>,
    pub suppression: Suppression,
    pub layers: Vec<ProbeLayer>,
    /// `ŷ`.
    pub output: Vec<f64>,
    /// `argmax ŷ`, the lower class on a tie.
    pub predicted: usize,
    /// The nearest training points as `(index, d_n)`, nearest first.
    pub nearest: Vec<(usize, f64)>,
    /// `Σ_n max(0, S_n − 1)` after all layers.
    pub reselected_mass: f64,
    /// A plain-language warning when layers pick points again, if they do.
    pub warning: Option<String>,
}

/// Traces `model` at `query` and keeps the `top` heaviest points of each layer
/// and the `top` nearest points. The warning names training point n as
/// `point_name(n)`.
///
/// # Errors
/// When `query` is not a valid point (not finite, or beyond the coordinate range).
pub fn probe(
    model: &Model,
    query: Point2<f64>,
    top: usize,
    point_name: &dyn Fn(usize) -> String,
) -> Result<ProbeReport, ParamError> {
    let trace = model.trace(query)?;
    let labels = model.training().labels();
    let n = labels.len();
    let suppression = model.suppression();

    // Before layer 1 no point is suppressed: S = 0, or a product of 1.
    let mut suppressed = match suppression {
        Suppression::Additive => vec![0.0; n],
        Suppression::Multiplicative => vec![1.0; n],
    };
    let mut layers = Vec::with_capacity(trace.layers.len());
    for layer in &trace.layers {
        let heaviest = smallest_by(n, top, |a, b| {
            layer.activation[b]
                .total_cmp(&layer.activation[a])
                .then(a.cmp(&b))
        });
        let top_points: Vec<WeightedPoint> = heaviest
            .into_iter()
            .map(|index| WeightedPoint {
                index,
                class: labels[index],
                weight: layer.activation[index],
                squared_distance: trace.squared_distances[index],
                suppression: suppressed[index],
            })
            .collect();
        let top_mass: f64 = top_points.iter().map(|p| p.weight).sum();
        layers.push(ProbeLayer {
            top: top_points,
            other_mass: (1.0 - top_mass).max(0.0),
            vote: layer.vote.iter().copied().collect(),
            running_average: layer.running_average.iter().copied().collect(),
        });

        for (value, &h) in suppressed.iter_mut().zip(layer.activation.iter()) {
            match suppression {
                Suppression::Additive => *value += h,
                Suppression::Multiplicative => *value *= 1.0 - h,
            }
        }
    }

    let distances = &trace.squared_distances;
    let nearest: Vec<(usize, f64)> = smallest_by(n, top, |a, b| {
        distances[a].total_cmp(&distances[b]).then(a.cmp(&b))
    })
    .into_iter()
    .map(|index| (index, distances[index]))
    .collect();

    let warning = describe_reselection_in(model, &trace, point_name);
    Ok(ProbeReport {
        query,
        suppression,
        layers,
        output: trace.output.iter().copied().collect(),
        predicted: predicted_class(&trace.output),
        nearest,
        reselected_mass: trace.reselected_mass,
        warning,
    })
}

/// Returns the `count` smallest of the indices `0..n` under `order`, sorted.
///
/// Selects before it sorts, so it costs O(n + count log count), not O(n log n):
/// the probe runs at every pointer move, and imported scenes can have
/// 10,000 points.
fn smallest_by(
    n: usize,
    count: usize,
    order: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..n).collect();
    if count == 0 {
        return Vec::new();
    }
    if count < n {
        indices.select_nth_unstable_by(count - 1, |&a, &b| order(a, b));
        indices.truncate(count);
    }
    indices.sort_by(|&a, &b| order(a, b));
    indices
}

#[cfg(test)]
mod tests;
