//! Measures of a model over many points, shown to the class: accuracy
//! with each training point left out, accuracy on held-out points, agreement
//! with classical k-NN, and how much of the layers' mass goes to points that
//! earlier layers already selected.
//!
//! Every measure evaluates the model through [`Model::trace`] or
//! [`Model::predict`], so it uses the f64 reference computation with the
//! model's suppression rule.
//! A class decision is `argmax ŷ` (see [`predicted_class`]).

use nalgebra::{DVector, Point2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use thiserror::Error;

use crate::model::{
    nearest_order, Mode, Model, ParamError, RawParams, Suppression, Trace, TrainingSet,
};

pub mod display;
pub mod incremental;

/// Share of a layer's mass above which the layer counts as picking a point.
///
/// [`find_reselection`] only reports a repeated pick above this share: at
/// β = 0 every layer is uniform, and the largest weight of every layer would
/// otherwise fall on the same point through the lower-index rule.
pub const PICK_SHARE: f64 = 0.5;

/// Re-selected mass `Σ_n max(0, S_n − 1)` above which [`find_reselection`]
/// reports it: a quarter of one neighbour's vote spent on points already used.
pub const RESELECTED_MASS_LIMIT: f64 = 0.25;

/// A set of points or labels that a measure cannot use, one variant per condition.
#[derive(Clone, Copy, Debug, Error, PartialEq)]
pub enum MeasureError {
    #[error(
        "point {index} ({x}, {y}) is invalid: coordinates must be finite numbers within ±1e150"
    )]
    InvalidPoint { index: usize, x: f64, y: f64 },
    #[error("got {points} test points but {labels} test labels; each test point needs exactly one label")]
    LabelCountMismatch { points: usize, labels: usize },
    #[error("test point {index} has class {label}, but the training set has only classes 0 to {max_class}")]
    LabelOutOfRange {
        index: usize,
        label: usize,
        max_class: usize,
    },
}

/// Returns the class with the largest output, `argmax_c ŷ_c`.
///
/// Equal outputs go to the lower class index, so a tied hard k-NN vote
/// (K = 2 with one neighbour of each class) goes to the lower class too.
///
/// # Panics
/// If `output` is empty; a model's output has one entry per class, and a
/// training set has at least one class.
pub fn predicted_class(output: &DVector<f64>) -> usize {
    assert!(!output.is_empty(), "an output has at least one class");
    let mut best = 0;
    for (class, &value) in output.iter().enumerate() {
        if value > output[best] {
            best = class;
        }
    }
    best
}

// ---------------------------------------------------------------------------
// Accuracy
// ---------------------------------------------------------------------------

/// Returns the leave-one-out accuracy: the share of training points that the
/// model built on all other points classifies correctly.
///
/// The reduced models keep β, γ, the suppression rule and hard mode, with K
/// capped at N − 1 because N − 1 points cannot fill N layers. Returns `None`
/// when N = 1, where no point is left to classify with.
///
/// Costs N model builds and N traces, each over N − 1 points and K layers.
pub fn leave_one_out_accuracy(model: &Model) -> Option<f64> {
    let training = model.training();
    if training.len() < 2 {
        return None;
    }
    let reduced_sets = leave_one_out_sets(training);
    Some(leave_one_out_with(
        training,
        &reduced_sets,
        model.params().to_raw(),
        model.suppression(),
    ))
}

/// Returns the leave-one-out accuracy at each β of `betas`, the rest of `raw`
/// unchanged, for a plot against β on a log axis.
///
/// Returns `None` when the training set has one point. In hard mode β is
/// unused, so every entry is the same.
///
/// # Errors
/// The first [`ParamError`] of `raw` with any of the β values, checked
/// against all N points as the full model would be.
pub fn loo_accuracy_curve(
    training: &TrainingSet,
    raw: RawParams,
    suppression: Suppression,
    betas: &[f64],
) -> Result<Option<Vec<f64>>, ParamError> {
    let settings: Vec<RawParams> = betas
        .iter()
        .map(|&beta| RawParams { beta, ..raw })
        .collect();
    for &setting in &settings {
        Model::new(training, setting)?;
    }
    if training.len() < 2 {
        return Ok(None);
    }

    // The N reduced training sets are shared by every β.
    let reduced_sets = leave_one_out_sets(training);
    let curve = settings
        .into_iter()
        .map(|setting| leave_one_out_with(training, &reduced_sets, setting, suppression))
        .collect();
    Ok(Some(curve))
}

/// Returns the accuracy on held-out points, which the model never uses as
/// neighbours; `None` when there are no test points.
///
/// # Errors
/// When the label count differs from the point count, a label is not a class
/// of the training set, or a test point is not a valid query.
pub fn test_accuracy(
    model: &Model,
    test_points: &[Point2<f64>],
    test_labels: &[usize],
) -> Result<Option<f64>, MeasureError> {
    if test_points.len() != test_labels.len() {
        return Err(MeasureError::LabelCountMismatch {
            points: test_points.len(),
            labels: test_labels.len(),
        });
    }
    let classes = model.training().classes();
    if let Some(index) = test_labels.iter().position(|&label| label >= classes) {
        return Err(MeasureError::LabelOutOfRange {
            index,
            label: test_labels[index],
            max_class: classes - 1,
        });
    }

    let mut correct = 0;
    for (index, (&point, &label)) in test_points.iter().zip(test_labels).enumerate() {
        let output = predict_at(model, index, point)?;
        if predicted_class(&output) == label {
            correct += 1;
        }
    }
    Ok(share(correct, test_points.len()))
}

/// Returns the share of `queries` where `argmax ŷ` equals the classical k-NN
/// decision, which is hard mode with the same K; `None` for no queries.
///
/// Both decisions break ties by the lower class index, so a hard model
/// agrees with itself everywhere.
///
/// # Errors
/// When a query is not a valid point.
pub fn hard_agreement(model: &Model, queries: &[Point2<f64>]) -> Result<Option<f64>, MeasureError> {
    let hard_raw = RawParams {
        hard: true,
        ..model.params().to_raw()
    };
    let hard_model = Model::new(model.training(), hard_raw)
        .expect("K was checked against this training set, and hard mode ignores β and γ");

    let mut agreeing = 0;
    for (index, &query) in queries.iter().enumerate() {
        let soft_class = predicted_class(&predict_at(model, index, query)?);
        let hard_class = predicted_class(&predict_at(&hard_model, index, query)?);
        if soft_class == hard_class {
            agreeing += 1;
        }
    }
    Ok(share(agreeing, queries.len()))
}

// ---------------------------------------------------------------------------
// Re-selection
// ---------------------------------------------------------------------------

/// Returns the mean of the re-selected mass `Σ_n max(0, S_n − 1)` over
/// `queries` (for example the training points); `None` for no queries.
///
/// # Errors
/// When a query is not a valid point.
pub fn mean_reselected_mass(
    model: &Model,
    queries: &[Point2<f64>],
) -> Result<Option<f64>, MeasureError> {
    let mut total = 0.0;
    for (index, &query) in queries.iter().enumerate() {
        total += trace_at(model, index, query)?.reselected_mass;
    }
    Ok((!queries.is_empty()).then(|| total / queries.len() as f64))
}

/// A sign at one query that the layers spend their mass on points already used.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reselection {
    /// Layer `layer` (1-based) gives more than [`PICK_SHARE`] of its mass to
    /// training point `point`, which layer `earlier_layer` picked the same way.
    RepeatedPick {
        layer: usize,
        earlier_layer: usize,
        point: usize,
    },
    /// The re-selected mass `Σ_n max(0, S_n − 1)` exceeds [`RESELECTED_MASS_LIMIT`].
    ExcessMass { mass: f64 },
}

/// Finds the first layer that picks a point an earlier layer picked, or
/// else reports a re-selected mass above [`RESELECTED_MASS_LIMIT`].
///
/// A layer picks point n when `h^k_n > PICK_SHARE`. Hard mode never
/// re-selects, so its traces give `None`.
pub fn find_reselection(trace: &Trace) -> Option<Reselection> {
    let mut picks: Vec<(usize, usize)> = Vec::new();
    for (index, layer) in trace.layers.iter().enumerate() {
        let point = layer.activation.argmax().0;
        if layer.activation[point] <= PICK_SHARE {
            continue;
        }
        let layer_number = index + 1;
        if let Some(&(earlier_layer, _)) = picks.iter().find(|&&(_, picked)| picked == point) {
            return Some(Reselection::RepeatedPick {
                layer: layer_number,
                earlier_layer,
                point,
            });
        }
        picks.push((layer_number, point));
    }

    (trace.reselected_mass > RESELECTED_MASS_LIMIT).then_some(Reselection::ExcessMass {
        mass: trace.reselected_mass,
    })
}

/// Returns a plain-language warning when the layers at `query` re-select
/// training points (see [`find_reselection`]), or `None` when they do not.
/// The warning names the likely cause and the setting to change.
///
/// # Errors
/// When `query` is not a valid point.
pub fn reselection_warning(
    model: &Model,
    query: Point2<f64>,
) -> Result<Option<String>, ParamError> {
    let trace = model.trace(query)?;
    Ok(find_reselection(&trace)
        .map(|reselection| describe_reselection(model, &trace, reselection, &|n| n.to_string())))
}

/// Returns the warning of [`reselection_warning`] for an existing `trace`,
/// naming training point n as `point_name(n)` (for example its number on a map).
pub fn describe_reselection_in(
    model: &Model,
    trace: &Trace,
    point_name: &dyn Fn(usize) -> String,
) -> Option<String> {
    find_reselection(trace)
        .map(|reselection| describe_reselection(model, trace, reselection, point_name))
}

/// Formats the warning for `reselection` with the cause that fits the model's rule.
fn describe_reselection(
    model: &Model,
    trace: &Trace,
    reselection: Reselection,
    point_name: &dyn Fn(usize) -> String,
) -> String {
    let what = match reselection {
        Reselection::RepeatedPick {
            layer,
            earlier_layer,
            point,
        } => format!(
            "layer {layer} picks training point {} again, after layer {earlier_layer} picked it",
            point_name(point)
        ),
        Reselection::ExcessMass { mass } => format!(
            "the layers spend {mass:.2} of a neighbour's vote on training points that earlier \
             layers already used"
        ),
    };

    let cause = match (model.params().mode(), model.suppression()) {
        (Mode::Soft { beta, gamma }, Suppression::Additive) => {
            additive_cause(trace, reselection, beta, gamma)
        }
        (Mode::Soft { .. }, Suppression::Multiplicative) => "the multiplicative rule removes a \
             point only once a layer gives it all of its mass, so at large β the later layers \
             share their mass between the nearest points; lower K, or use the additive rule \
             with a larger γ"
            .to_string(),
        // Hard mode selects each point once, so find_reselection never reports it.
        (Mode::Hard, _) => return format!("{what}."),
    };
    format!("{what}: {cause}.")
}

/// Explains why the additive rule re-selects, with the γ that would prevent it
/// at large β where the squared distances give one.
fn additive_cause(trace: &Trace, reselection: Reselection, beta: f64, gamma: f64) -> String {
    let too_small = format!(
        "γ = {} is too small for β = {}",
        significant(gamma),
        significant(beta)
    );
    let d = trace.squared_distances.as_slice();
    let order = nearest_order(d);

    // At large β a layer leaves a picked point n (score d_n + γ) for an
    // unpicked point m (score d_m) only when γ > d_m − d_n.
    let (gap, which) = match reselection {
        Reselection::RepeatedPick { layer, point, .. } => {
            let picked: Vec<usize> = trace.layers[..layer - 1]
                .iter()
                .filter_map(|earlier| {
                    let (n, h) = earlier.activation.argmax();
                    (h > PICK_SHARE).then_some(n)
                })
                .collect();
            let Some(&next) = order.iter().find(|n| !picked.contains(n)) else {
                return format!("{too_small}; raise γ or lower K");
            };
            (
                d[next] - d[point],
                "from that point to the nearest point not yet picked",
            )
        }
        Reselection::ExcessMass { .. } => {
            let Some(&second) = order.get(1) else {
                return format!("{too_small}; raise γ or lower K");
            };
            (d[second] - d[order[0]], "between the two nearest points")
        }
    };

    if gap > 0.0 {
        format!(
            "{too_small}. At large β a layer moves on only when γ exceeds the gap in squared \
             distance {which}, here {}; raise γ above it or lower K",
            significant(gap)
        )
    } else {
        format!("{too_small}; raise γ or lower K")
    }
}

/// Formats `value` with at most four significant digits and no trailing
/// zeros, e.g. 609.4123 as "609.4"; scientific notation outside [1e-3, 1e7).
fn significant(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    if !(1e-3..1e7).contains(&magnitude) {
        return format!("{value:.3e}");
    }
    let decimals = (3 - magnitude.log10().floor() as i32).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

// ---------------------------------------------------------------------------
// Splits and rankings
// ---------------------------------------------------------------------------

/// Chooses `round(share · n)` of `n` points to hold out, `true` meaning held
/// out, and always keeps at least one point for training.
///
/// `share` is clamped to `[0, 1]`, and NaN counts as 0. The same `seed`
/// gives the same split. NOTE: the split comes from `rand` 0.8's shuffle with
/// `rand_chacha` 0.3's ChaCha8, so a new major version of either may change it.
pub fn held_out_split(n: usize, share: f64, seed: u64) -> Vec<bool> {
    let share = if share.is_nan() {
        0.0
    } else {
        share.clamp(0.0, 1.0)
    };
    let held_out_count = ((share * n as f64).round() as usize).min(n.saturating_sub(1));

    let mut indices: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    indices.shuffle(&mut rng);

    let mut held_out = vec![false; n];
    for &index in &indices[..held_out_count] {
        held_out[index] = true;
    }
    held_out
}

/// Returns the `count` training points that layer `layer` weighs most, as
/// `(index, h^k_n)` sorted by weight descending and then by index.
///
/// `layer` is 0-based, so layer k of the formulas is `layer = k − 1`. Returns
/// fewer entries when N < `count`, and none when the layer does not exist.
pub fn top_weights(trace: &Trace, layer: usize, count: usize) -> Vec<(usize, f64)> {
    let Some(layer) = trace.layers.get(layer) else {
        return Vec::new();
    };
    let mut weights: Vec<(usize, f64)> = layer.activation.iter().copied().enumerate().collect();
    weights.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    weights.truncate(count);
    weights
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn share(count: usize, total: usize) -> Option<f64> {
    (total > 0).then(|| count as f64 / total as f64)
}

fn trace_at(model: &Model, index: usize, point: Point2<f64>) -> Result<Trace, MeasureError> {
    model.trace(point).map_err(|_| MeasureError::InvalidPoint {
        index,
        x: point.x,
        y: point.y,
    })
}

fn predict_at(
    model: &Model,
    index: usize,
    point: Point2<f64>,
) -> Result<DVector<f64>, MeasureError> {
    Ok(trace_at(model, index, point)?.output)
}

/// Returns the N training sets that each leave out one point, in index order.
fn leave_one_out_sets(training: &TrainingSet) -> Vec<TrainingSet> {
    (0..training.len())
        .map(|left_out| leave_out(training, left_out))
        .collect()
}

/// Returns the training set without point `left_out`.
fn leave_out(training: &TrainingSet, left_out: usize) -> TrainingSet {
    let mut points = training.points().to_vec();
    let mut labels = training.labels().to_vec();
    points.remove(left_out);
    labels.remove(left_out);
    TrainingSet::new(points, labels, training.classes())
        .expect("a subset of a checked training set with N ≥ 2 is valid and not empty")
}

/// Classifies point n of `training` with the model on `reduced_sets[n]`.
fn leave_one_out_with(
    training: &TrainingSet,
    reduced_sets: &[TrainingSet],
    raw: RawParams,
    suppression: Suppression,
) -> f64 {
    let capped = RawParams {
        k: raw.k.min(reduced_sets.len() as i64 - 1),
        ..raw
    };
    let mut correct = 0;
    for (left_out, reduced) in reduced_sets.iter().enumerate() {
        let model = Model::new(reduced, capped)
            .expect("β, γ and K ≤ N − 1 were checked, and the reduced set has N − 1 points")
            .with_suppression(suppression);
        let output = model
            .predict(training.points()[left_out])
            .expect("a training point is a valid query");
        if predicted_class(&output) == training.labels()[left_out] {
            correct += 1;
        }
    }
    correct as f64 / reduced_sets.len() as f64
}

#[cfg(test)]
mod tests;
