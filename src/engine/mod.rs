//! Evaluation of the model over a grid of map cells, for drawing maps.
//!
//! Every map in the app comes from a [`MapEngine`]. Two engines exist:
//! - [`DirectEngine`], in f32 (f64 for the multiplicative rule): each cell
//!   computes every layer's softmax over all N training points, so a redraw
//!   costs `cells · N · K` exponentials. It is kept as the plain baseline for
//!   benchmarks and tests.
//! - [`FastEngine`], which the app uses: pruned per tile and per cell, with
//!   SIMD scores and exponentials; its module docs give its error bound.
//!
//! NOTE: with β·γ ≫ 1 and many layers the model itself is ill-conditioned
//! where a layer splits its mass between points: a change of 1e-7 in the
//! query moved ŷ by 0.09 in the f64 reference (N = 20, β = 117, γ = 5.4,
//! K = 12). There an f32 engine can differ from the f64 reference by several
//! percent. The direct engine's tests bound its error at 1e-4 only where
//! β·γ ≤ 1 or γ = 0; the fast engine's tests leave out the cells where the
//! reference itself is that sensitive.

use std::ops::Range;

use nalgebra::Point2;

use crate::model::{nearest_order, Mode, Model, Suppression};

mod fast;
pub mod fast_exp;
#[cfg(test)]
mod mode_tests;

pub use fast::{FastEngine, PruneStats, TILE};

/// A rectangle of the plane cut into `columns × rows` cells; row 0 is the top.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub columns: usize,
    pub rows: usize,
}

impl Grid {
    /// Makes a square grid of `resolution × resolution` cells over `domain × domain`.
    pub fn square(domain: (f64, f64), resolution: usize) -> Grid {
        Grid {
            x_range: domain,
            y_range: domain,
            columns: resolution,
            rows: resolution,
        }
    }

    pub fn cells(&self) -> usize {
        self.columns * self.rows
    }

    /// Returns the centre of cell (`column`, `row`) in plane coordinates.
    pub fn cell_centre(&self, column: usize, row: usize) -> Point2<f64> {
        let (x0, x1) = self.x_range;
        let (y0, y1) = self.y_range;
        let x = x0 + (column as f64 + 0.5) / self.columns as f64 * (x1 - x0);
        let y = y1 - (row as f64 + 0.5) / self.rows as f64 * (y1 - y0);
        Point2::new(x, y)
    }
}

/// Class probabilities over a grid: `ŷ`, and optionally each layer's vote.
#[derive(Clone, Debug, PartialEq)]
pub struct MapOutput {
    pub grid: Grid,
    pub classes: usize,
    pub layers: usize,
    /// `ŷ` per cell, row-major, `classes` values per cell.
    pub output: Vec<f32>,
    /// `Y^T h^k` per layer, then per cell: `layers · cells · classes` values,
    /// or empty when the caller did not ask for layer maps.
    pub layer_votes: Vec<f32>,
    /// The training point whose activation is kept, if any (a training index).
    pub focus: Option<usize>,
    /// `h^k_focus` per layer, then per cell: `layers · cells` values, or
    /// empty when `focus` is `None`.
    pub activations: Vec<f32>,
}

impl MapOutput {
    /// Zeroed output for `grid`; `with_layers` also keeps each layer's vote.
    pub fn new(grid: Grid, classes: usize, layers: usize, with_layers: bool) -> MapOutput {
        let cells = grid.cells();
        let layer_votes = if with_layers {
            vec![0.0; layers * cells * classes]
        } else {
            Vec::new()
        };
        MapOutput {
            grid,
            classes,
            layers,
            output: vec![0.0; cells * classes],
            layer_votes,
            focus: None,
            activations: Vec::new(),
        }
    }

    /// Also keeps the activation `h^k_n` of training point `focus` in every layer.
    pub fn with_focus(mut self, focus: Option<usize>) -> MapOutput {
        self.focus = focus;
        self.activations = match focus {
            Some(_) => vec![0.0; self.layers * self.grid.cells()],
            None => Vec::new(),
        };
        self
    }

    /// Returns the focus point's activation in layer `layer` (0-based) for every cell, if kept.
    pub fn activation(&self, layer: usize) -> Option<&[f32]> {
        let size = self.grid.cells();
        self.activations.get(layer * size..(layer + 1) * size)
    }

    /// Returns the votes of layer `layer` (0-based) for every cell, if they were kept.
    pub fn layer(&self, layer: usize) -> Option<&[f32]> {
        let size = self.grid.cells() * self.classes;
        self.layer_votes.get(layer * size..(layer + 1) * size)
    }
}

/// Anything that fills a [`MapOutput`] for a model.
///
/// Work is given in row ranges so that a caller can spread a large map over
/// several frames. `out` must have been made for this model's class count and
/// layer count, and its focus, if any, must be a training index; the engines
/// panic otherwise. With a focus, hard mode's activation is 1 where the focus
/// point is the k-th nearest, ties broken by the lower training index, and 0
/// elsewhere: a k-th order Voronoi cell.
pub trait MapEngine {
    fn evaluate_rows(&mut self, model: &Model, out: &mut MapOutput, rows: Range<usize>);

    /// Fills the whole map.
    fn evaluate(&mut self, model: &Model, out: &mut MapOutput) {
        let rows = out.grid.rows;
        self.evaluate_rows(model, out, 0..rows);
    }
}

/// The computation of each layer: hard mode, or a soft mode with its suppression rule.
#[derive(Clone, Copy, Debug, PartialEq)]
enum LayerRule {
    Hard,
    Additive { beta: f64, gamma: f64 },
    Multiplicative { beta: f64 },
}

impl LayerRule {
    fn of(model: &Model) -> LayerRule {
        match (model.params().mode(), model.suppression()) {
            (Mode::Hard, _) => LayerRule::Hard,
            (Mode::Soft { beta, gamma }, Suppression::Additive) => {
                LayerRule::Additive { beta, gamma }
            }
            (Mode::Soft { beta, .. }, Suppression::Multiplicative) => {
                LayerRule::Multiplicative { beta }
            }
        }
    }
}

/// Checks that `out` was made for `model`, and that its focus is a training index.
fn check_output(model: &Model, out: &MapOutput) {
    let training = model.training();
    assert_eq!(
        out.classes,
        training.classes(),
        "output made for this model"
    );
    assert_eq!(
        out.layers,
        model.params().layers(),
        "output made for this model"
    );
    if let Some(focus) = out.focus {
        assert!(
            focus < training.len(),
            "focus {focus} is not a training index; the training set has {} points",
            training.len()
        );
    }
}

/// The direct engine: all N points in every layer of every cell.
///
/// Hard mode and the additive rule run in f32. The multiplicative rule runs
/// in f64, because its carries `ln(1 − h)` cancel against `β d` at large β
/// (see [`Suppression`]), which f32 distances cannot resolve.
#[derive(Debug, Default)]
pub struct DirectEngine {
    squared_distances: Vec<f32>,
    residual: Vec<f32>,
    weights: Vec<f32>,
    votes: Vec<f32>,
    vote_sum: Vec<f32>,
    /// The multiplicative rule's distances, logits, weights and carries
    /// `c_n = Σ_{k'<k} ln(1 − h^{k'}_n)`, in f64.
    squared_distances_f64: Vec<f64>,
    logits: Vec<f64>,
    weights_f64: Vec<f64>,
    carry: Vec<f64>,
}

impl MapEngine for DirectEngine {
    fn evaluate_rows(&mut self, model: &Model, out: &mut MapOutput, rows: Range<usize>) {
        check_output(model, out);
        let training = model.training();
        let n = training.len();
        let classes = out.classes;
        let layers = model.params().layers();
        let rule = LayerRule::of(model);
        let focus = out.focus;

        let points: Vec<(f32, f32)> = training
            .points()
            .iter()
            .map(|p| (p.x as f32, p.y as f32))
            .collect();
        let labels = training.labels();
        self.squared_distances.resize(n, 0.0);
        self.residual.resize(n, 0.0);
        self.weights.resize(n, 0.0);
        self.votes.resize(classes, 0.0);
        self.vote_sum.resize(classes, 0.0);
        self.squared_distances_f64.resize(n, 0.0);
        self.logits.resize(n, 0.0);
        self.weights_f64.resize(n, 0.0);
        self.carry.resize(n, 0.0);
        let cells = out.grid.cells();
        let keep_layers = !out.layer_votes.is_empty();

        for row in rows {
            for column in 0..out.grid.columns {
                let centre = out.grid.cell_centre(column, row);
                if let LayerRule::Multiplicative { .. } = rule {
                    for (d, p) in self.squared_distances_f64.iter_mut().zip(training.points()) {
                        *d = nalgebra::distance_squared(p, &centre);
                    }
                    self.carry.fill(0.0);
                } else {
                    let (qx, qy) = (centre.x as f32, centre.y as f32);
                    for (d, &(px, py)) in self.squared_distances.iter_mut().zip(&points) {
                        *d = (px - qx) * (px - qx) + (py - qy) * (py - qy);
                    }
                }

                let cell = row * out.grid.columns + column;
                self.vote_sum.fill(0.0);
                self.residual.fill(0.0);
                let hard_order = match rule {
                    LayerRule::Hard => Some(nearest_k(&self.squared_distances, layers)),
                    _ => None,
                };

                for layer in 0..layers {
                    self.votes.fill(0.0);
                    // h^k of the focus point, computed only when a focus is set.
                    let focus_activation = match rule {
                        LayerRule::Hard => {
                            let order = hard_order.as_ref().expect("hard order computed above");
                            let selected = order[layer];
                            self.votes[labels[selected]] = 1.0;
                            focus.map(|f| if f == selected { 1.0 } else { 0.0 })
                        }
                        LayerRule::Additive { beta, gamma } => {
                            let scale = self.soft_layer(beta as f32, gamma as f32, labels);
                            focus.map(|f| self.weights[f] * scale)
                        }
                        LayerRule::Multiplicative { beta } => {
                            let scale = self.multiplicative_layer(beta, labels);
                            focus.map(|f| (self.weights_f64[f] * scale) as f32)
                        }
                    };
                    for (sum, vote) in self.vote_sum.iter_mut().zip(&self.votes) {
                        *sum += vote;
                    }
                    if keep_layers {
                        let start = (layer * cells + cell) * classes;
                        out.layer_votes[start..start + classes].copy_from_slice(&self.votes);
                    }
                    if let Some(activation) = focus_activation {
                        out.activations[layer * cells + cell] = activation;
                    }
                }

                let scale = 1.0 / layers as f32;
                let start = cell * classes;
                for (slot, sum) in out.output[start..start + classes]
                    .iter_mut()
                    .zip(&self.vote_sum)
                {
                    *slot = sum * scale;
                }
            }
        }
    }
}

impl DirectEngine {
    /// Computes one soft layer `h = softmax(−β (d + γ S))`, adds its vote to
    /// `votes` and `h` to `S`. Returns `1 / Σ weights`, so `h_n = weights[n] · scale`.
    fn soft_layer(&mut self, beta: f32, gamma: f32, labels: &[usize]) -> f32 {
        let mut smallest = f32::INFINITY;
        for ((w, d), s) in self
            .weights
            .iter_mut()
            .zip(&self.squared_distances)
            .zip(&self.residual)
        {
            *w = d + gamma * s;
            smallest = smallest.min(*w);
        }

        // Subtracting the smallest score keeps every exponent ≤ 0 and the largest term at 1.
        let mut total = 0.0;
        for w in self.weights.iter_mut() {
            *w = (-beta * (*w - smallest)).exp();
            total += *w;
        }

        let scale = 1.0 / total;
        for ((w, s), &label) in self
            .weights
            .iter()
            .zip(self.residual.iter_mut())
            .zip(labels)
        {
            let h = w * scale;
            *s += h;
            self.votes[label] += h;
        }
        scale
    }

    /// Computes one layer of the multiplicative rule in f64,
    /// `h = softmax(−β d + c)`, adds its vote to `votes` and `ln(1 − h_n)` to
    /// each carry `c_n`. Returns `1 / Σ weights`, so `h_n = weights_f64[n] · scale`.
    ///
    /// A carry of −∞ marks a point that a layer selected completely. It then
    /// gets weight 0 in every later layer, unless every carry is −∞, and then
    /// the layer starts again from zero carries.
    fn multiplicative_layer(&mut self, beta: f64, labels: &[usize]) -> f64 {
        if self.carry.iter().all(|&c| c == f64::NEG_INFINITY) {
            self.carry.fill(0.0);
        }

        // Logits relative to the nearest point still available, so that the
        // largest logit is finite even where `β d` of far points overflows.
        let mut reference = f64::INFINITY;
        for (&d, &c) in self.squared_distances_f64.iter().zip(&self.carry) {
            if c.is_finite() {
                reference = reference.min(d);
            }
        }
        let mut largest = f64::NEG_INFINITY;
        let mut top = 0;
        for (n, (logit, (&d, &c))) in self
            .logits
            .iter_mut()
            .zip(self.squared_distances_f64.iter().zip(&self.carry))
            .enumerate()
        {
            *logit = if c.is_finite() {
                -beta * (d - reference) + c
            } else {
                f64::NEG_INFINITY
            };
            if *logit > largest {
                largest = *logit;
                top = n;
            }
        }

        // The top point's weight is e^0 = 1, and `others` sums the rest.
        let mut others = 0.0;
        for (n, (w, &logit)) in self.weights_f64.iter_mut().zip(&self.logits).enumerate() {
            *w = (logit - largest).exp();
            if n != top {
                others += *w;
            }
        }
        let scale = 1.0 / (1.0 + others);

        for (n, ((&w, c), &label)) in self
            .weights_f64
            .iter()
            .zip(self.carry.iter_mut())
            .zip(labels)
            .enumerate()
        {
            let h = w * scale;
            self.votes[label] += h as f32;
            // Only the top point can have h > ½, and its `1 − h` comes from
            // the other points' mass.
            *c += if h <= 0.5 {
                (-h).ln_1p()
            } else {
                debug_assert_eq!(n, top, "only the largest logit has h > 1/2");
                log_share_of_others(&self.logits, top, largest)
            };
        }
        scale
    }
}

/// Returns `ln(1 − h_top) = ln(Σ_{m≠top} e^{l_m} / Σ_m e^{l_m})` from the
/// logits `l`, where `l_top = largest` is the largest. Returns −∞ when every
/// other logit is −∞.
///
/// Taking `1 − h` from the weights would lose its digits once `h` is close
/// to 1, and then round it to 0, as if the point were selected completely.
fn log_share_of_others(logits: &[f64], top: usize, largest: f64) -> f64 {
    let others = || {
        logits
            .iter()
            .enumerate()
            .filter(move |&(m, _)| m != top)
            .map(|(_, &l)| l)
    };
    let largest_other = others().fold(f64::NEG_INFINITY, f64::max);
    if largest_other == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    let relative_to_largest_other: f64 = others().map(|l| (l - largest_other).exp()).sum();
    let log_others = largest_other - largest + relative_to_largest_other.ln();
    // ln Σ_m e^{l_m − largest} = ln(1 + e^{log_others}).
    log_others - log_others.exp().ln_1p()
}

/// Returns the `k` nearest training indices in order, ties broken by the lower index.
fn nearest_k(squared_distances: &[f32], k: usize) -> Vec<usize> {
    let as_f64: Vec<f64> = squared_distances.iter().map(|&d| d as f64).collect();
    let mut order = nearest_order(&as_f64);
    order.truncate(k);
    order
}

#[cfg(test)]
pub(super) mod tests {
    use nalgebra::Point2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::model::{RawParams, TrainingSet};

    /// Makes `points` seeded random points in [-0.9, 0.9]² with random classes.
    pub(super) fn random_training(
        rng: &mut ChaCha8Rng,
        points: usize,
        classes: usize,
    ) -> TrainingSet {
        let coordinates = (0..points)
            .map(|_| Point2::new(rng.gen_range(-0.9..0.9), rng.gen_range(-0.9..0.9)))
            .collect();
        let labels = (0..points).map(|_| rng.gen_range(0..classes)).collect();
        TrainingSet::new(coordinates, labels, classes).unwrap()
    }

    /// Comparison of a map with the f64 reference, cell by cell.
    pub(super) struct Comparison {
        /// Largest difference in any probability (ŷ and each layer's vote).
        pub(super) worst: f64,
        /// Largest difference in the focus point's activation `h^k_focus`.
        pub(super) worst_activation: f64,
        /// Cells left out because the reference itself is unstable there.
        pub(super) unstable_cells: usize,
        pub(super) cells: usize,
    }

    /// Compares every probability of `engine`'s map (ŷ and each layer's
    /// vote), and with `focus` also every layer's activation of that training
    /// point, with the f64 model.
    ///
    /// A cell where moving the query by 1e-8 changes any of these values of
    /// the reference by more than 1e-5 is ill-conditioned: the model
    /// amplifies any rounding there, so it is counted but not compared.
    pub(super) fn compare_with_reference(
        engine: &mut dyn MapEngine,
        model: &Model,
        resolution: usize,
        focus: Option<usize>,
    ) -> Comparison {
        let grid = Grid::square((-1.0, 1.0), resolution);
        let classes = model.training().classes();
        let layers = model.params().layers();
        let mut out = MapOutput::new(grid, classes, layers, true).with_focus(focus);
        engine.evaluate(model, &mut out);

        let mut comparison = Comparison {
            worst: 0.0,
            worst_activation: 0.0,
            unstable_cells: 0,
            cells: grid.cells(),
        };
        for row in 0..grid.rows {
            for column in 0..grid.columns {
                let centre = grid.cell_centre(column, row);
                let reference = model.trace(centre).unwrap();
                let nudged = model
                    .trace(centre + nalgebra::Vector2::new(1e-8, 1e-8))
                    .unwrap();
                let moved = nudged.layers.iter().zip(&reference.layers).map(|(a, b)| {
                    let vote_change = (&a.vote - &b.vote).amax();
                    let activation_change =
                        focus.map_or(0.0, |f| (a.activation[f] - b.activation[f]).abs());
                    vote_change.max(activation_change)
                });
                if moved.fold(0.0, f64::max) > 1e-5 {
                    comparison.unstable_cells += 1;
                    continue;
                }

                let cell = row * grid.columns + column;
                for c in 0..classes {
                    let got = out.output[cell * classes + c] as f64;
                    comparison.worst = comparison.worst.max((got - reference.output[c]).abs());
                    for (layer, expected) in reference.layers.iter().enumerate() {
                        let vote = out.layer(layer).unwrap()[cell * classes + c] as f64;
                        comparison.worst = comparison.worst.max((vote - expected.vote[c]).abs());
                    }
                }
                if let Some(f) = focus {
                    for (layer, expected) in reference.layers.iter().enumerate() {
                        let got = out.activation(layer).unwrap()[cell] as f64;
                        let error = (got - expected.activation[f]).abs();
                        comparison.worst_activation = comparison.worst_activation.max(error);
                    }
                }
            }
        }
        comparison
    }

    /// Largest difference between the engine's map and the f64 model at every cell.
    fn max_error_against_reference(model: &Model, resolution: usize) -> f64 {
        let grid = Grid::square((-1.0, 1.0), resolution);
        let classes = model.training().classes();
        let layers = model.params().layers();
        let mut out = MapOutput::new(grid, classes, layers, true);
        DirectEngine::default().evaluate(model, &mut out);

        let mut worst: f64 = 0.0;
        for row in 0..grid.rows {
            for column in 0..grid.columns {
                let cell = row * grid.columns + column;
                let trace = model.trace(grid.cell_centre(column, row)).unwrap();
                for c in 0..classes {
                    let got = out.output[cell * classes + c] as f64;
                    worst = worst.max((got - trace.output[c]).abs());
                    for (layer, expected) in trace.layers.iter().enumerate() {
                        let vote = out.layer(layer).unwrap()[cell * classes + c] as f64;
                        worst = worst.max((vote - expected.vote[c]).abs());
                    }
                }
            }
        }
        worst
    }

    fn random_soft_model_params(
        rng: &mut ChaCha8Rng,
        points: usize,
        beta_gamma_max: f64,
    ) -> RawParams {
        let beta: f64 = 10f64.powf(rng.gen_range(-2.0..3.0));
        RawParams {
            beta,
            gamma: rng.gen_range(0.0..beta_gamma_max / beta),
            k: rng.gen_range(1..=points as i64),
            hard: false,
        }
    }

    /// With β·γ ≤ 1 a change in one layer's activations shrinks on its way to
    /// the next, so f32 rounding cannot grow across layers.
    #[test]
    fn soft_map_matches_f64_reference_when_well_conditioned() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..8 {
            let points = rng.gen_range(1..40);
            let classes = rng.gen_range(2..5);
            let training = random_training(&mut rng, points, classes);
            let raw = random_soft_model_params(&mut rng, points, 1.0);
            let model = Model::new(&training, raw).unwrap();
            let error = max_error_against_reference(&model, 12);
            assert!(
                error < 1e-4,
                "error {error} for {raw:?} with {points} points"
            );
        }
    }

    #[test]
    fn soft_map_without_suppression_matches_f64_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for _ in 0..8 {
            let points = rng.gen_range(1..40);
            let training = random_training(&mut rng, points, 3);
            let mut raw = random_soft_model_params(&mut rng, points, 1.0);
            raw.gamma = 0.0;
            let model = Model::new(&training, raw).unwrap();
            let error = max_error_against_reference(&model, 12);
            assert!(
                error < 1e-4,
                "error {error} for {raw:?} with {points} points"
            );
        }
    }

    #[test]
    fn hard_map_matches_f64_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..6 {
            let points = rng.gen_range(1..40);
            let training = random_training(&mut rng, points, 3);
            let raw = RawParams {
                beta: 0.0,
                gamma: 0.0,
                k: rng.gen_range(1..=points as i64),
                hard: true,
            };
            let model = Model::new(&training, raw).unwrap();
            // Random points almost surely have no distance ties closer than f32 can resolve.
            let error = max_error_against_reference(&model, 12);
            assert!(error < 1e-6, "error {error} for k = {}", raw.k);
        }
    }

    #[test]
    fn grid_centres_run_top_left_to_bottom_right() {
        let grid = Grid::square((-1.0, 1.0), 4);
        assert_eq!(grid.cell_centre(0, 0), Point2::new(-0.75, 0.75));
        assert_eq!(grid.cell_centre(3, 3), Point2::new(0.75, -0.75));
    }

    #[test]
    fn row_ranges_match_one_call() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let training = random_training(&mut rng, 20, 3);
        let raw = RawParams {
            beta: 5.0,
            gamma: 1.0,
            k: 4,
            hard: false,
        };
        let model = Model::new(&training, raw).unwrap();
        let grid = Grid::square((-1.0, 1.0), 10);
        let mut whole = MapOutput::new(grid, 3, 4, true);
        let mut pieces = MapOutput::new(grid, 3, 4, true);
        let mut engine = DirectEngine::default();

        engine.evaluate(&model, &mut whole);
        engine.evaluate_rows(&model, &mut pieces, 0..3);
        engine.evaluate_rows(&model, &mut pieces, 3..10);

        assert_eq!(whole, pieces);
    }
}
