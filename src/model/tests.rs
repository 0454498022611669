//! Tests of the f64 model against references written here: a brute-force
//! k-NN vote, a plain-loop evaluation of the soft formula, closed forms
//! worked out by hand, and class priors counted from the labels.
//!
//! Expected values never come from the code under test, so
//! `TrainingSet::class_prior`, `TrainingSet::one_hot`, `nearest_order` and
//! `softmax_of_negative` are never used to build one. The one exception is
//! `rescaled_scene_gives_same_trace`, which also compares the model on a
//! scaled scene with the model on the original one.

use nalgebra::Point2;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Model, ParamError, RawParams, Trace, TrainingSet};

/// Tolerance for sums of probabilities and for quantities that the code and
/// the test compute with the same operations in a different order.
pub(super) const SUM_TOLERANCE: f64 = 1e-12;

/// Tolerance between the model and the plain-loop soft reference.
const REFERENCE_TOLERANCE: f64 = 1e-12;

/// Tolerance for limits: soft mode at huge β and γ against hard mode, and a
/// rescaled scene against the original one.
pub(super) const LIMIT_TOLERANCE: f64 = 1e-9;

/// Largest relative change that [`conditioned_tolerances`] applies to each
/// squared distance: a few units in the last place.
const PERTURBATION: f64 = 4.0 * f64::EPSILON;

/// Number of perturbed copies of the distances that [`conditioned_tolerances`] evaluates.
const PERTURBED_COPIES: usize = 4;

/// Allowed difference between two f64 evaluations, as a multiple of the
/// reference's spread under [`PERTURBATION`]. On 3000 random scenes like
/// those of `soft_mode_matches_naive_formula`, the model's difference from the
/// naive reference was at most 1.5 times that spread (one seeded run, so an
/// estimate rather than a bound).
const SPREAD_FACTOR: f64 = 10.0;

// ---------------------------------------------------------------------------
// Scenes and parameters
// ---------------------------------------------------------------------------

/// Training points with their class indices, as the test generates them.
#[derive(Clone, Debug)]
pub(super) struct Scene {
    pub(super) points: Vec<Point2<f64>>,
    pub(super) labels: Vec<usize>,
    pub(super) classes: usize,
}

impl Scene {
    pub(super) fn new(points: Vec<(f64, f64)>, labels: Vec<usize>, classes: usize) -> Scene {
        let points = points.into_iter().map(|(x, y)| Point2::new(x, y)).collect();
        Scene {
            points,
            labels,
            classes,
        }
    }

    pub(super) fn training(&self) -> TrainingSet {
        TrainingSet::new(self.points.clone(), self.labels.clone(), self.classes)
            .expect("the test scene is a valid training set")
    }

    pub(super) fn len(&self) -> usize {
        self.points.len()
    }

    /// Returns a copy with every coordinate multiplied by `factor`.
    pub(super) fn scaled(&self, factor: f64) -> Scene {
        Scene {
            points: self
                .points
                .iter()
                .map(|p| scale_point(*p, factor))
                .collect(),
            labels: self.labels.clone(),
            classes: self.classes,
        }
    }

    /// Squared distances from every training point to `query`.
    pub(super) fn squared_distances(&self, query: Point2<f64>) -> Vec<f64> {
        self.points
            .iter()
            .map(|p| squared_distance(*p, query))
            .collect()
    }

    /// Shares of each class among the training points, counted from the labels.
    pub(super) fn counted_prior(&self) -> Vec<f64> {
        let mut counts = vec![0usize; self.classes];
        for &label in &self.labels {
            counts[label] += 1;
        }
        counts
            .iter()
            .map(|&count| count as f64 / self.len() as f64)
            .collect()
    }

    /// Computes the class vote `Y^T h` by summing the activation of each class's points.
    pub(super) fn vote_of(&self, activation: &[f64]) -> Vec<f64> {
        let mut vote = vec![0.0; self.classes];
        for (n, &h) in activation.iter().enumerate() {
            vote[self.labels[n]] += h;
        }
        vote
    }
}

fn squared_distance(a: Point2<f64>, b: Point2<f64>) -> f64 {
    let dx = a.x - b.x;
    let dy = a.y - b.y;
    dx * dx + dy * dy
}

pub(super) fn scale_point(p: Point2<f64>, factor: f64) -> Point2<f64> {
    Point2::new(p.x * factor, p.y * factor)
}

pub(super) fn soft(beta: f64, gamma: f64, k: usize) -> RawParams {
    RawParams {
        beta,
        gamma,
        k: k as i64,
        hard: false,
    }
}

pub(super) fn hard(k: usize) -> RawParams {
    RawParams {
        beta: f64::INFINITY,
        gamma: f64::INFINITY,
        k: k as i64,
        hard: true,
    }
}

/// Builds the model for `scene` and traces it at `query`, panicking on any error.
fn trace_of(scene: &Scene, raw: RawParams, query: Point2<f64>) -> Trace {
    let training = scene.training();
    let model = Model::new(&training, raw)
        .unwrap_or_else(|error| panic!("Model::new rejected {raw:?}: {error}"));
    model
        .trace(query)
        .unwrap_or_else(|error| panic!("trace rejected the query {query:?}: {error}"))
}

/// Draws a scene of `n` points: uniform in `[-1, 1]²`, or on the integer grid
/// `{0, …, 4}²` when `on_grid` is set, so that many distances tie exactly.
pub(super) fn random_scene(rng: &mut ChaCha8Rng, n: usize, classes: usize, on_grid: bool) -> Scene {
    let points = (0..n).map(|_| random_point(rng, on_grid)).collect();
    let labels = (0..n).map(|_| rng.gen_range(0..classes)).collect();
    Scene {
        points,
        labels,
        classes,
    }
}

pub(super) fn random_point(rng: &mut ChaCha8Rng, on_grid: bool) -> Point2<f64> {
    if on_grid {
        Point2::new(rng.gen_range(0..5) as f64, rng.gen_range(0..5) as f64)
    } else {
        Point2::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0))
    }
}

// ---------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------

/// Runs a brute-force k-NN classifier: returns the indices of the `k` nearest
/// training points in the order picked, and the class fractions among them.
///
/// Each step scans every point not yet picked and keeps the first one with
/// the smallest squared distance, so equal distances go to the lower index.
pub(super) fn brute_force_knn(
    scene: &Scene,
    query: Point2<f64>,
    k: usize,
) -> (Vec<usize>, Vec<f64>) {
    let distances = scene.squared_distances(query);
    let mut picked = vec![false; scene.len()];
    let mut order = Vec::with_capacity(k);

    for _ in 0..k {
        let mut best: Option<usize> = None;
        for n in 0..scene.len() {
            if picked[n] {
                continue;
            }
            let closer = match best {
                None => true,
                Some(b) => distances[n] < distances[b],
            };
            if closer {
                best = Some(n);
            }
        }
        let nearest = best.expect("k is at most the number of points");
        picked[nearest] = true;
        order.push(nearest);
    }

    let mut fractions = vec![0.0; scene.classes];
    for &n in &order {
        fractions[scene.labels[n]] += 1.0;
    }
    for fraction in &mut fractions {
        *fraction /= k as f64;
    }
    (order, fractions)
}

/// Evaluates `h^1 … h^K` of the soft formula with plain loops.
///
/// The logits are `−β (d_n + γ S_n)`. Each layer subtracts the largest logit
/// and normalises with the log-sum-exp, `h_n = exp(l_n − max − ln Σ exp(l − max))`,
/// unlike the model, which subtracts the smallest score before multiplying by β.
fn naive_soft_activations(distances: &[f64], beta: f64, gamma: f64, k: usize) -> Vec<Vec<f64>> {
    let n = distances.len();
    let mut used = vec![0.0; n];
    let mut layers = Vec::with_capacity(k);

    for _ in 0..k {
        let mut logits = vec![0.0; n];
        for i in 0..n {
            logits[i] = -beta * (distances[i] + gamma * used[i]);
        }

        let mut max_logit = f64::NEG_INFINITY;
        for &logit in &logits {
            if logit > max_logit {
                max_logit = logit;
            }
        }
        let mut shifted_sum = 0.0;
        for &logit in &logits {
            shifted_sum += (logit - max_logit).exp();
        }
        let log_shifted_sum = shifted_sum.ln();

        let mut activation = vec![0.0; n];
        for i in 0..n {
            activation[i] = (logits[i] - max_logit - log_shifted_sum).exp();
            used[i] += activation[i];
        }
        layers.push(activation);
    }
    layers
}

/// Averages the class votes of `activations`, the output `ŷ` of the formula.
pub(super) fn output_of(scene: &Scene, activations: &[Vec<f64>]) -> Vec<f64> {
    let mut output = vec![0.0; scene.classes];
    for activation in activations {
        for (c, v) in scene.vote_of(activation).into_iter().enumerate() {
            output[c] += v;
        }
    }
    for value in &mut output {
        *value /= activations.len() as f64;
    }
    output
}

/// Returns one tolerance per layer for comparing two f64 evaluations of the
/// soft formula on `distances`.
///
/// Deep stacks amplify rounding errors, because a change in `h^k` shifts the
/// scores of every later layer by `γ` times that change, and the softmax
/// multiplies it by up to `β/4`. A check at 60 digits with Python's decimal
/// module on 150 random scenes (N ≤ 40, β ≤ 100, γ ≤ 10) measured the effect.
/// A relative change of 1e-16 in the distances moved some `h^k` by up to 4e-6
/// in a stack of 32 layers, so two correct f64 evaluations cannot agree to
/// 1e-12 there. The tolerance for layer k is therefore `floor` or
/// [`SPREAD_FACTOR`] times the largest change in `h^1 … h^k` of the naive
/// reference under [`PERTURBATION`], whichever is larger.
fn conditioned_tolerances(
    distances: &[f64],
    beta: f64,
    gamma: f64,
    k: usize,
    floor: f64,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let unperturbed = naive_soft_activations(distances, beta, gamma, k);
    let mut spread = vec![0.0f64; k];

    for _ in 0..PERTURBED_COPIES {
        let perturbed_distances: Vec<f64> = distances
            .iter()
            .map(|&d| d * (1.0 + PERTURBATION * rng.gen_range(-1.0..=1.0)))
            .collect();
        let perturbed = naive_soft_activations(&perturbed_distances, beta, gamma, k);
        for (layer, (a, b)) in unperturbed.iter().zip(&perturbed).enumerate() {
            for (&x, &y) in a.iter().zip(b) {
                spread[layer] = spread[layer].max((x - y).abs());
            }
        }
    }

    // An error in one layer carries into every later one.
    let mut largest_so_far = 0.0f64;
    spread
        .iter()
        .map(|&layer_spread| {
            largest_so_far = largest_so_far.max(layer_spread);
            floor.max(SPREAD_FACTOR * largest_so_far)
        })
        .collect()
}

/// Compares a soft-mode trace with the naive reference, layer by layer, with
/// [`conditioned_tolerances`] above `floor`. Returns whether every layer was
/// held to `floor` itself.
#[allow(clippy::too_many_arguments)]
fn assert_matches_naive_reference(
    scene: &Scene,
    query: Point2<f64>,
    beta: f64,
    gamma: f64,
    trace: &Trace,
    floor: f64,
    rng: &mut ChaCha8Rng,
    context: &str,
) -> bool {
    let k = trace.layers.len();
    let distances = scene.squared_distances(query);
    let activations = naive_soft_activations(&distances, beta, gamma, k);
    let output = output_of(scene, &activations);
    let tolerances = conditioned_tolerances(&distances, beta, gamma, k, floor, rng);

    assert_trace_matches_per_layer(trace, &activations, &output, &tolerances, context);
    tolerances.iter().all(|&tolerance| tolerance == floor)
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

pub(super) fn assert_close(actual: f64, expected: f64, tolerance: f64, context: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{context}: got {actual:e}, expected {expected:e}, difference {:e} exceeds {tolerance:e}",
        (actual - expected).abs()
    );
}

pub(super) fn assert_all_close(actual: &[f64], expected: &[f64], tolerance: f64, context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}: lengths differ");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert_close(a, e, tolerance, &format!("{context}[{i}]"));
    }
}

/// Compares every layer's activation and the output with expected values.
pub(super) fn assert_trace_matches(
    trace: &Trace,
    activations: &[Vec<f64>],
    output: &[f64],
    tolerance: f64,
    context: &str,
) {
    let tolerances = vec![tolerance; activations.len()];
    assert_trace_matches_per_layer(trace, activations, output, &tolerances, context);
}

/// Compares layer k's activation within `tolerances[k]`, and the output
/// within the largest of them.
fn assert_trace_matches_per_layer(
    trace: &Trace,
    activations: &[Vec<f64>],
    output: &[f64],
    tolerances: &[f64],
    context: &str,
) {
    assert_eq!(
        trace.layers.len(),
        activations.len(),
        "{context}: number of layers"
    );
    for (k, (layer, expected)) in trace.layers.iter().zip(activations).enumerate() {
        assert_all_close(
            layer.activation.as_slice(),
            expected,
            tolerances[k],
            &format!("{context}: h^{}", k + 1),
        );
    }
    let output_tolerance = tolerances.iter().copied().fold(0.0, f64::max);
    assert_all_close(
        trace.output.as_slice(),
        output,
        output_tolerance,
        &format!("{context}: output"),
    );
}

/// Checks the properties every trace has, whatever the parameters: finite
/// values, activations that are distributions over the points, votes and
/// running averages that follow from the activations, and the re-selected mass.
pub(super) fn check_invariants(
    scene: &Scene,
    query: Point2<f64>,
    k: usize,
    trace: &Trace,
) -> Result<(), TestCaseError> {
    let n = scene.len();
    prop_assert_eq!(trace.layers.len(), k, "number of layers");

    let distances = scene.squared_distances(query);
    prop_assert_eq!(trace.squared_distances.len(), n, "number of distances");
    for (i, (&actual, &expected)) in trace.squared_distances.iter().zip(&distances).enumerate() {
        prop_assert!(
            (actual - expected).abs() <= SUM_TOLERANCE * expected,
            "d_{} = {:e}, expected {:e}",
            i,
            actual,
            expected
        );
    }

    let mut residual = vec![0.0; n];
    let mut vote_sum = vec![0.0; scene.classes];
    for (index, layer) in trace.layers.iter().enumerate() {
        let layer_number = index + 1;
        let activation = layer.activation.as_slice();
        prop_assert_eq!(activation.len(), n, "h^{} length", layer_number);
        for (i, &h) in activation.iter().enumerate() {
            prop_assert!(
                h.is_finite(),
                "h^{}_{} = {} is not finite",
                layer_number,
                i,
                h
            );
            prop_assert!(
                (0.0..=1.0).contains(&h),
                "h^{}_{} = {:e} is outside [0, 1]",
                layer_number,
                i,
                h
            );
            residual[i] += h;
        }
        let total: f64 = activation.iter().sum();
        prop_assert!(
            (total - 1.0).abs() <= SUM_TOLERANCE,
            "h^{} sums to {:e}, expected 1",
            layer_number,
            total
        );

        let vote = scene.vote_of(activation);
        for (c, &expected) in vote.iter().enumerate() {
            let actual = layer.vote[c];
            prop_assert!(
                (actual - expected).abs() <= SUM_TOLERANCE,
                "vote of layer {} for class {}: {:e}, expected {:e}",
                layer_number,
                c,
                actual,
                expected
            );
            vote_sum[c] += expected;
        }
        let vote_total: f64 = layer.vote.iter().sum();
        prop_assert!(
            (vote_total - 1.0).abs() <= SUM_TOLERANCE,
            "vote of layer {} sums to {:e}, expected 1",
            layer_number,
            vote_total
        );

        for (c, &sum) in vote_sum.iter().enumerate() {
            let expected = sum / layer_number as f64;
            let actual = layer.running_average[c];
            prop_assert!(
                (actual - expected).abs() <= SUM_TOLERANCE,
                "running average after layer {} for class {}: {:e}, expected {:e}",
                layer_number,
                c,
                actual,
                expected
            );
        }
    }

    for (c, &sum) in vote_sum.iter().enumerate() {
        let expected = sum / k as f64;
        let actual = trace.output[c];
        prop_assert!(
            actual.is_finite(),
            "output[{}] = {} is not finite",
            c,
            actual
        );
        prop_assert!(
            (actual - expected).abs() <= SUM_TOLERANCE,
            "output[{}] = {:e}, expected the mean vote {:e}",
            c,
            actual,
            expected
        );
    }
    let output_total: f64 = trace.output.iter().sum();
    prop_assert!(
        (output_total - 1.0).abs() <= SUM_TOLERANCE,
        "output sums to {:e}, expected 1",
        output_total
    );

    for (i, &expected) in residual.iter().enumerate() {
        let actual = trace.residual[i];
        prop_assert!(
            (actual - expected).abs() <= SUM_TOLERANCE,
            "S_{} = {:e}, expected the activations' sum {:e}",
            i,
            actual,
            expected
        );
    }
    let expected_mass: f64 = residual.iter().map(|&s| (s - 1.0).max(0.0)).sum();
    prop_assert!(
        trace.reselected_mass.is_finite(),
        "re-selected mass {} is not finite",
        trace.reselected_mass
    );
    prop_assert!(
        (trace.reselected_mass - expected_mass).abs() <= SUM_TOLERANCE,
        "re-selected mass {:e}, expected {:e}",
        trace.reselected_mass,
        expected_mass
    );
    Ok(())
}

/// Runs [`check_invariants`] in a plain test, panicking with its message.
pub(super) fn assert_invariants(
    scene: &Scene,
    query: Point2<f64>,
    k: usize,
    trace: &Trace,
    context: &str,
) {
    if let Err(error) = check_invariants(scene, query, k, trace) {
        panic!("{context}: {error}");
    }
}

/// Returns the smallest gap between consecutive sorted squared distances, or
/// infinity for a single point.
pub(super) fn smallest_distance_gap(distances: &[f64]) -> f64 {
    let mut sorted = distances.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .fold(f64::INFINITY, f64::min)
}

// ---------------------------------------------------------------------------
// Hard mode and the hard limit
// ---------------------------------------------------------------------------

#[test]
fn hard_mode_matches_brute_force_knn() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut compared = 0;

    for scene_index in 0..400 {
        let n = rng.gen_range(1..=60);
        let classes = rng.gen_range(2..=6);
        let k = rng.gen_range(1..=n);
        let on_grid = scene_index % 2 == 0;
        let scene = random_scene(&mut rng, n, classes, on_grid);

        for _ in 0..5 {
            let query = random_point(&mut rng, on_grid);
            let trace = trace_of(&scene, hard(k), query);
            let (order, fractions) = brute_force_knn(&scene, query, k);
            let context = format!("scene {scene_index} (N = {n}, K = {k}) at {query:?}");

            assert_eq!(trace.layers.len(), k, "{context}: number of layers");
            for (layer_index, (layer, &chosen)) in trace.layers.iter().zip(&order).enumerate() {
                for (i, &h) in layer.activation.iter().enumerate() {
                    let expected = if i == chosen { 1.0 } else { 0.0 };
                    assert_eq!(
                        h,
                        expected,
                        "{context}: h^{}_{i} should be one-hot on the brute-force pick {chosen}",
                        layer_index + 1
                    );
                }
            }
            assert_all_close(
                trace.output.as_slice(),
                &fractions,
                SUM_TOLERANCE,
                &format!("{context}: output against brute-force class fractions"),
            );
            assert_invariants(&scene, query, k, &trace, &context);
            compared += 1;
        }
    }
    assert_eq!(compared, 2000, "every query was compared");
}

#[test]
fn huge_beta_gamma_matches_hard_mode() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut compared = 0;

    for scene_index in 0..400 {
        let n = rng.gen_range(1..=40);
        let classes = rng.gen_range(2..=6);
        let k = rng.gen_range(1..=n);
        let scene = random_scene(&mut rng, n, classes, false);
        let query = random_point(&mut rng, false);

        // The limit is only defined without ties, and a tiny gap would need a
        // β beyond the range worth testing, so such scenes are skipped.
        let distances = scene.squared_distances(query);
        let gap = smallest_distance_gap(&distances);
        if gap < 1e-4 {
            continue;
        }
        let spread = distances.iter().copied().fold(0.0, f64::max)
            - distances.iter().copied().fold(f64::INFINITY, f64::min);

        // Layer k's k-th nearest point beats every unused point by β·gap ≥ 60,
        // and every used point (score d + γ·1) by β·(γ − spread) ≥ β. So each
        // neglected weight is below exp(−60) ≈ 9e-27.
        let beta = 60.0 / gap.min(1.0);
        let gamma = 2.0 * spread + 1.0;

        let soft_trace = trace_of(&scene, soft(beta, gamma, k), query);
        let hard_trace = trace_of(&scene, hard(k), query);
        let context =
            format!("scene {scene_index} (N = {n}, K = {k}, beta = {beta:e}, gamma = {gamma:e})");

        // Hard mode as the brute-force classifier computes it: layer k is
        // one-hot on the k-th nearest point.
        let (order, fractions) = brute_force_knn(&scene, query, k);
        let one_hot_layers: Vec<Vec<f64>> = order
            .iter()
            .map(|&chosen| {
                (0..n)
                    .map(|i| if i == chosen { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect();
        assert_trace_matches(
            &soft_trace,
            &one_hot_layers,
            &fractions,
            LIMIT_TOLERANCE,
            &format!("{context}, soft mode"),
        );
        assert_trace_matches(
            &hard_trace,
            &one_hot_layers,
            &fractions,
            0.0,
            &format!("{context}, hard mode"),
        );
        assert_invariants(&scene, query, k, &soft_trace, &context);
        compared += 1;
    }
    assert!(
        compared >= 200,
        "only {compared} of 400 scenes had gaps of at least 1e-4; the test compares too few"
    );
}

// ---------------------------------------------------------------------------
// Soft mode against references
// ---------------------------------------------------------------------------

#[test]
fn beta_zero_gives_class_prior() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);

    for scene_index in 0..200 {
        let n = rng.gen_range(1..=60);
        let classes = rng.gen_range(2..=6);
        let k = rng.gen_range(1..=n);
        let gamma = rng.gen_range(0.0..10.0);
        let scene = random_scene(&mut rng, n, classes, false);
        let query = random_point(&mut rng, false);
        let prior = scene.counted_prior();
        let context = format!("scene {scene_index} (N = {n}, K = {k}, gamma = {gamma})");

        let trace = trace_of(&scene, soft(0.0, gamma, k), query);

        // At β = 0 every logit is 0, so each layer is uniform over the N points.
        let uniform = vec![vec![1.0 / n as f64; n]; k];
        assert_trace_matches(&trace, &uniform, &prior, SUM_TOLERANCE, &context);
        assert_invariants(&scene, query, k, &trace, &context);
        assert_all_close(
            &scene.training().class_prior(),
            &prior,
            SUM_TOLERANCE,
            &format!("{context}: TrainingSet::class_prior"),
        );
    }
}

#[test]
fn soft_mode_matches_naive_formula() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut compared_at_floor = 0;

    for scene_index in 0..400 {
        let n = rng.gen_range(1..=40);
        let classes = rng.gen_range(2..=6);
        let k = rng.gen_range(1..=n);
        let beta = rng.gen_range(0.0..=100.0);
        let gamma = rng.gen_range(0.0..=10.0);
        let scene = random_scene(&mut rng, n, classes, scene_index % 4 == 0);
        let query = random_point(&mut rng, false);
        let context =
            format!("scene {scene_index} (N = {n}, K = {k}, beta = {beta}, gamma = {gamma})");

        let trace = trace_of(&scene, soft(beta, gamma, k), query);
        let held_to_floor = assert_matches_naive_reference(
            &scene,
            query,
            beta,
            gamma,
            &trace,
            REFERENCE_TOLERANCE,
            &mut rng,
            &context,
        );
        assert_invariants(&scene, query, k, &trace, &context);
        if held_to_floor {
            compared_at_floor += 1;
        }
    }

    // With this seed 240 of the 400 scenes are held to 1e-12. The others
    // amplify rounding errors beyond it (see `conditioned_tolerances`).
    assert!(
        compared_at_floor >= 200,
        "only {compared_at_floor} of 400 scenes were compared within {REFERENCE_TOLERANCE:e}"
    );
}

#[test]
fn two_point_case_matches_hand_computation() {
    // Query at the origin, point 0 at (1, 0) with class 0, point 1 at (0, 2)
    // with class 1: d = [1, 4].
    let scene = Scene::new(vec![(1.0, 0.0), (0.0, 2.0)], vec![0, 1], 2);
    let query = Point2::new(0.0, 0.0);
    let (beta, gamma): (f64, f64) = (0.5, 3.0);

    // Layer 1: h^1_0 = e^{−β·1} / (e^{−β·1} + e^{−β·4}) = 1 / (1 + e^{−3β}) ≈ 0.8176.
    let h1 = 1.0 / (1.0 + (-3.0 * beta).exp());
    // Layer 2: s_0 = 1 + γ·h^1_0 and s_1 = 4 + γ·(1 − h^1_0), so
    // h^2_0 = 1 / (1 + e^{−β (s_1 − s_0)}) with s_1 − s_0 = 3 + γ (1 − 2 h^1_0) ≈ 1.0946,
    // which gives h^2_0 ≈ 0.6335.
    let score_gap = 3.0 + gamma * (1.0 - 2.0 * h1);
    let h2 = 1.0 / (1.0 + (-beta * score_gap).exp());
    // Each point is its own class, so ŷ_0 = (h^1_0 + h^2_0) / 2. Point 0 is
    // used S_0 = h^1_0 + h^2_0 ≈ 1.451 times, so the re-selected mass is S_0 − 1.
    let expected_activations = vec![vec![h1, 1.0 - h1], vec![h2, 1.0 - h2]];
    let output_0 = (h1 + h2) / 2.0;
    let expected_output = [output_0, 1.0 - output_0];
    let expected_mass = h1 + h2 - 1.0;

    let trace = trace_of(&scene, soft(beta, gamma, 2), query);

    assert_trace_matches(
        &trace,
        &expected_activations,
        &expected_output,
        1e-15,
        "two-point case",
    );
    assert_close(
        trace.reselected_mass,
        expected_mass,
        1e-15,
        "re-selected mass",
    );
    // The same closed forms evaluated separately with Python 3's math.exp.
    assert_close(h1, 0.817_574_476_193_643_7, 1e-15, "h^1_0 closed form");
    assert_close(h2, 0.633_503_504_248_140_2, 1e-15, "h^2_0 closed form");

    let training = scene.training();
    let model = Model::new(&training, soft(beta, gamma, 2)).expect("valid parameters");
    let prediction = model.predict(query).expect("valid query");
    assert_eq!(
        prediction, trace.output,
        "predict returns the output of trace"
    );
}

// ---------------------------------------------------------------------------
// Re-selection
// ---------------------------------------------------------------------------

#[test]
fn layer_two_reselects_when_gamma_below_gap() {
    // Query at the origin: d = [1, 2, 4], so d_(2) − d_(1) = 1.
    let scene = Scene::new(vec![(1.0, 0.0), (1.0, 1.0), (2.0, 0.0)], vec![0, 1, 1], 2);
    let query = Point2::new(0.0, 0.0);
    let beta = 1e6;

    // γ = 0.99: layer 2 scores are [1.99, 2, 4], so point 0 wins again by a
    // margin of β·0.01 = 1e4 in the exponent.
    let trace = trace_of(&scene, soft(beta, 0.99, 2), query);
    let expected = vec![vec![1.0, 0.0, 0.0], vec![1.0, 0.0, 0.0]];
    assert_trace_matches(
        &trace,
        &expected,
        &[1.0, 0.0],
        LIMIT_TOLERANCE,
        "gamma = 0.99",
    );
    assert_close(
        trace.reselected_mass,
        1.0,
        LIMIT_TOLERANCE,
        "re-selected mass at gamma = 0.99",
    );
    assert_close(
        trace.residual[0],
        2.0,
        LIMIT_TOLERANCE,
        "S_0 at gamma = 0.99",
    );
}

#[test]
fn layer_two_moves_on_when_gamma_above_gap() {
    // Same scene: d = [1, 2, 4], so d_(2) − d_(1) = 1.
    let scene = Scene::new(vec![(1.0, 0.0), (1.0, 1.0), (2.0, 0.0)], vec![0, 1, 1], 2);
    let query = Point2::new(0.0, 0.0);
    let beta = 1e6;

    // γ = 1.01: layer 2 scores are [2.01, 2, 4], so point 1 wins by β·0.01 = 1e4.
    let trace = trace_of(&scene, soft(beta, 1.01, 2), query);
    let expected = vec![vec![1.0, 0.0, 0.0], vec![0.0, 1.0, 0.0]];
    assert_trace_matches(
        &trace,
        &expected,
        &[0.5, 0.5],
        LIMIT_TOLERANCE,
        "gamma = 1.01",
    );
    assert_close(
        trace.reselected_mass,
        0.0,
        LIMIT_TOLERANCE,
        "re-selected mass at gamma = 1.01",
    );

    // Hard mode never re-selects.
    let hard_trace = trace_of(&scene, hard(2), query);
    assert_trace_matches(&hard_trace, &expected, &[0.5, 0.5], 0.0, "hard mode");
    assert_eq!(
        hard_trace.reselected_mass, 0.0,
        "re-selected mass in hard mode"
    );
}

// ---------------------------------------------------------------------------
// Numerical edge cases
// ---------------------------------------------------------------------------

#[test]
fn beta_1e8_matches_closed_form() {
    let beta = 1e8;

    // Query at the origin and points (x, 0), (x, 2^e), (2x, 0), so that
    // d = [x², x² + 2^{2e}, 4x²]. All three are exact in f64, and
    // β·2^{2e} ≈ 6 and 1.5 keep layer 1 soft. At x = 100, β·d ≈ 1e12 has an
    // ulp of about 1e-4, so β must multiply the difference of the scores, not
    // each score.
    for (x, exponent) in [(1.0, -12), (100.0, -13)] {
        let offset = 2f64.powi(exponent);
        let scene = Scene::new(
            vec![(x, 0.0), (x, offset), (2.0 * x, 0.0)],
            vec![0, 1, 1],
            2,
        );
        let query = Point2::new(0.0, 0.0);
        let context = format!("beta = 1e8, x = {x}");

        let trace = trace_of(&scene, soft(beta, 0.0, 1), query);

        // Point 2 gets e^{−3βx²} = 0 next to the others. The remaining
        // two-point softmax gives h_0 = 1 / (1 + e^{−β·2^{2e}}).
        let h0 = 1.0 / (1.0 + (-beta * offset * offset).exp());
        let expected = vec![vec![h0, 1.0 - h0, 0.0]];
        assert_trace_matches(
            &trace,
            &expected,
            &[h0, 1.0 - h0],
            LIMIT_TOLERANCE,
            &context,
        );
        assert_invariants(&scene, query, 1, &trace, &context);
    }
}

#[test]
fn beta_1e8_stays_finite_at_every_scale() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);

    for scale in [1e-6, 1.0, 1e6] {
        for scene_index in 0..50 {
            let n = rng.gen_range(1..=40);
            let classes = rng.gen_range(2..=6);
            let k = rng.gen_range(1..=n);
            let gamma = rng.gen_range(0.0..=10.0);
            let scene = random_scene(&mut rng, n, classes, false).scaled(scale);
            let query = scale_point(random_point(&mut rng, false), scale);
            let context = format!("scale {scale:e}, scene {scene_index} (N = {n}, K = {k})");

            let trace = trace_of(&scene, soft(1e8, gamma, k), query);
            assert_invariants(&scene, query, k, &trace, &context);

            // Where β·(d_(2) − d_(1)) ≥ 60, layer 1 is one-hot on the nearest point.
            let distances = scene.squared_distances(query);
            let (order, _) = brute_force_knn(&scene, query, n.min(2));
            if n >= 2 && 1e8 * (distances[order[1]] - distances[order[0]]) >= 60.0 {
                assert_close(
                    trace.layers[0].activation[order[0]],
                    1.0,
                    LIMIT_TOLERANCE,
                    &format!("{context}: h^1 of the nearest point"),
                );
            }
        }
    }
}

#[test]
fn rescaled_scene_gives_same_trace() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);

    for scale in [1e-6, 1e6] {
        for scene_index in 0..100 {
            let n = rng.gen_range(1..=40);
            let classes = rng.gen_range(2..=6);
            let k = rng.gen_range(1..=n);
            let beta = rng.gen_range(0.0..=100.0);
            let gamma = rng.gen_range(0.0..=10.0);
            let scene = random_scene(&mut rng, n, classes, false);
            let query = random_point(&mut rng, false);
            let context = format!("scale {scale:e}, scene {scene_index} (N = {n}, K = {k})");

            // Distances grow by scale², so β shrinks and γ grows by the same
            // factor, which leaves β·(d + γ·S) unchanged.
            let factor = scale * scale;
            let original = trace_of(&scene, soft(beta, gamma, k), query);
            let rescaled = trace_of(
                &scene.scaled(scale),
                soft(beta / factor, gamma * factor, k),
                scale_point(query, scale),
            );

            // Scaling by a power of ten rounds the coordinates, so deep stacks
            // get the conditioning-based tolerance of an f64 comparison.
            let expected: Vec<Vec<f64>> = original
                .layers
                .iter()
                .map(|layer| layer.activation.as_slice().to_vec())
                .collect();
            let tolerances = conditioned_tolerances(
                &scene.squared_distances(query),
                beta,
                gamma,
                k,
                LIMIT_TOLERANCE,
                &mut rng,
            );
            assert_trace_matches_per_layer(
                &rescaled,
                &expected,
                original.output.as_slice(),
                &tolerances,
                &format!("{context}, against the unscaled trace"),
            );
            assert_matches_naive_reference(
                &scene,
                query,
                beta,
                gamma,
                &rescaled,
                LIMIT_TOLERANCE,
                &mut rng,
                &format!("{context}, against the naive reference of the unscaled scene"),
            );

            let rescaled_hard = trace_of(&scene.scaled(scale), hard(k), scale_point(query, scale));
            let (_, fractions) = brute_force_knn(&scene, query, k);
            assert_all_close(
                rescaled_hard.output.as_slice(),
                &fractions,
                SUM_TOLERANCE,
                &format!("{context}: hard-mode output against the unscaled brute force"),
            );
        }
    }
}

#[test]
fn coincident_points_share_mass_evenly() {
    // Points 1 and 3 coincide and are the nearest to the query, with
    // different classes.
    let scene = Scene::new(
        vec![(2.0, 2.0), (0.5, 0.0), (-1.0, 3.0), (0.5, 0.0), (3.0, -1.0)],
        vec![0, 1, 0, 2, 1],
        3,
    );
    let query = Point2::new(0.0, 0.0);

    for (beta, gamma) in [(0.0, 0.0), (1.0, 0.5), (1e3, 10.0), (1e8, 1e3)] {
        let context = format!("beta = {beta:e}, gamma = {gamma:e}");
        let trace = trace_of(&scene, soft(beta, gamma, 5), query);
        assert_invariants(&scene, query, 5, &trace, &context);

        for (index, layer) in trace.layers.iter().enumerate() {
            let (h1, h3) = (layer.activation[1], layer.activation[3]);
            assert_eq!(h1, h3, "{context}: h^{}_1 and h^{}_3", index + 1, index + 1);
        }
    }

    // At β = 1e8 layer 1 splits evenly between the pair (d = 0.25). With
    // γ = 1e3 both then score 0.25 + 500, so layer 2 moves to point 0 (d = 8).
    // With tied distances the soft limit differs from hard mode.
    let trace = trace_of(&scene, soft(1e8, 1e3, 2), query);
    let expected = vec![vec![0.0, 0.5, 0.0, 0.5, 0.0], vec![1.0, 0.0, 0.0, 0.0, 0.0]];
    let expected_output = [0.5, 0.25, 0.25];
    assert_trace_matches(
        &trace,
        &expected,
        &expected_output,
        LIMIT_TOLERANCE,
        "beta = 1e8",
    );

    // Hard mode takes the lower index first, then the other.
    let hard_trace = trace_of(&scene, hard(2), query);
    assert_eq!(
        hard_trace.layers[0].activation[1], 1.0,
        "hard h^1 picks point 1"
    );
    assert_eq!(
        hard_trace.layers[1].activation[3], 1.0,
        "hard h^2 picks point 3"
    );
    assert_eq!(
        hard_trace.output.as_slice(),
        &[0.0, 0.5, 0.5],
        "hard output"
    );
}

#[test]
fn query_on_training_point_selects_it() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let scene = random_scene(&mut rng, 12, 3, false);
    let on_point = 5;
    let query = scene.points[on_point];
    let label = scene.labels[on_point];

    let hard_trace = trace_of(&scene, hard(1), query);
    assert_eq!(
        hard_trace.squared_distances[on_point], 0.0,
        "d of the point under the query"
    );
    assert_eq!(
        hard_trace.layers[0].activation[on_point], 1.0,
        "hard h^1 picks the point under the query"
    );

    let sharp = trace_of(&scene, soft(1e8, 0.0, 1), query);
    assert_invariants(&scene, query, 1, &sharp, "beta = 1e8");
    assert_close(
        sharp.layers[0].activation[on_point],
        1.0,
        LIMIT_TOLERANCE,
        "h^1 of the point under the query at beta = 1e8",
    );
    assert_close(
        sharp.output[label],
        1.0,
        LIMIT_TOLERANCE,
        "output for its class at beta = 1e8",
    );

    for (beta, gamma, k) in [(0.0, 1.0, 4), (3.0, 0.5, 6), (100.0, 10.0, 12)] {
        let context = format!("beta = {beta}, gamma = {gamma}, K = {k}");
        let trace = trace_of(&scene, soft(beta, gamma, k), query);
        assert_matches_naive_reference(
            &scene,
            query,
            beta,
            gamma,
            &trace,
            REFERENCE_TOLERANCE,
            &mut rng,
            &context,
        );
        assert_invariants(&scene, query, k, &trace, &context);
    }
}

#[test]
fn single_point_is_always_selected() {
    let scene = Scene::new(vec![(0.25, -0.5)], vec![1], 3);
    let queries = [
        Point2::new(0.25, -0.5),
        Point2::new(3.0, 4.0),
        Point2::new(-1e6, 1e6),
    ];
    let settings = [
        soft(0.0, 0.0, 1),
        soft(1.0, 5.0, 1),
        soft(1e8, 1e2, 1),
        hard(1),
    ];

    for query in queries {
        for raw in settings {
            let context = format!("{raw:?} at {query:?}");
            let trace = trace_of(&scene, raw, query);
            assert_eq!(trace.layers[0].activation[0], 1.0, "{context}: h^1_0");
            assert_eq!(
                trace.output.as_slice(),
                &[0.0, 1.0, 0.0],
                "{context}: output"
            );
            assert_eq!(trace.reselected_mass, 0.0, "{context}: re-selected mass");
        }
    }
}

#[test]
fn k_equal_to_n_uses_every_point() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);

    for scene_index in 0..50 {
        let n = rng.gen_range(1..=60);
        let classes = rng.gen_range(2..=6);
        let on_grid = scene_index % 2 == 0;
        let scene = random_scene(&mut rng, n, classes, on_grid);
        let query = random_point(&mut rng, on_grid);
        let context = format!("scene {scene_index} (N = K = {n})");

        // Hard mode with K = N selects every point once, so the output is the
        // class prior and nothing is re-selected.
        let hard_trace = trace_of(&scene, hard(n), query);
        assert_all_close(
            hard_trace.output.as_slice(),
            &scene.counted_prior(),
            SUM_TOLERANCE,
            &format!("{context}: hard output against the counted prior"),
        );
        for (i, &s) in hard_trace.residual.iter().enumerate() {
            assert_eq!(s, 1.0, "{context}: S_{i} in hard mode");
        }
        assert_eq!(
            hard_trace.reselected_mass, 0.0,
            "{context}: hard re-selected mass"
        );

        let beta = rng.gen_range(0.0..=100.0);
        let gamma = rng.gen_range(0.0..=10.0);
        let soft_trace = trace_of(&scene, soft(beta, gamma, n), query);
        assert_matches_naive_reference(
            &scene,
            query,
            beta,
            gamma,
            &soft_trace,
            REFERENCE_TOLERANCE,
            &mut rng,
            &context,
        );
        assert_invariants(&scene, query, n, &soft_trace, &context);
    }
}

// ---------------------------------------------------------------------------
// Invalid input
// ---------------------------------------------------------------------------

#[test]
fn model_new_rejects_bad_params() {
    let scene = Scene::new(vec![(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)], vec![0, 1, 0], 2);
    let training = scene.training();
    let cases = [
        (
            soft(f64::INFINITY, 1.0, 1),
            ParamError::BetaNotFinite(f64::INFINITY),
        ),
        (
            soft(f64::NEG_INFINITY, 1.0, 1),
            ParamError::BetaNotFinite(f64::NEG_INFINITY),
        ),
        (soft(-0.5, 1.0, 1), ParamError::BetaNegative(-0.5)),
        (
            soft(1.0, f64::INFINITY, 1),
            ParamError::GammaNotFinite(f64::INFINITY),
        ),
        (soft(1.0, -2.0, 1), ParamError::GammaNegative(-2.0)),
        (
            soft(1.0, 1.0, 0),
            ParamError::KOutOfRange { k: 0, points: 3 },
        ),
        (
            soft(1.0, 1.0, 4),
            ParamError::KOutOfRange { k: 4, points: 3 },
        ),
        (
            RawParams {
                k: -1,
                ..soft(1.0, 1.0, 1)
            },
            ParamError::KOutOfRange { k: -1, points: 3 },
        ),
        (hard(0), ParamError::KOutOfRange { k: 0, points: 3 }),
        (hard(4), ParamError::KOutOfRange { k: 4, points: 3 }),
    ];
    for (raw, expected) in cases {
        let result = Model::new(&training, raw).map(|model| model.params());
        assert_eq!(result, Err(expected), "Model::new with {raw:?}");
    }

    let nan_beta = Model::new(&training, soft(f64::NAN, 1.0, 1)).map(|model| model.params());
    assert!(
        matches!(nan_beta, Err(ParamError::BetaNotFinite(b)) if b.is_nan()),
        "NaN beta gave {nan_beta:?}"
    );
    let nan_gamma = Model::new(&training, soft(1.0, f64::NAN, 1)).map(|model| model.params());
    assert!(
        matches!(nan_gamma, Err(ParamError::GammaNotFinite(g)) if g.is_nan()),
        "NaN gamma gave {nan_gamma:?}"
    );
}

#[test]
fn training_set_rejects_bad_points() {
    let nan = TrainingSet::new(
        vec![
            Point2::new(0.0, 0.0),
            Point2::new(1.0, 1.0),
            Point2::new(f64::NAN, 2.0),
        ],
        vec![0, 1, 0],
        2,
    );
    assert!(
        matches!(
            nan,
            Err(ParamError::NonFiniteCoordinate { index: 2, x, y: 2.0 }) if x.is_nan()
        ),
        "NaN x at index 2 gave {nan:?}"
    );

    let infinite = TrainingSet::new(
        vec![Point2::new(0.0, f64::NEG_INFINITY), Point2::new(1.0, 1.0)],
        vec![0, 1],
        2,
    );
    assert_eq!(
        infinite,
        Err(ParamError::NonFiniteCoordinate {
            index: 0,
            x: 0.0,
            y: f64::NEG_INFINITY
        }),
        "infinite y at index 0"
    );

    let too_far = TrainingSet::new(
        vec![Point2::new(0.0, 0.0), Point2::new(2e150, 0.0)],
        vec![0, 1],
        2,
    );
    assert_eq!(
        too_far,
        Err(ParamError::CoordinateOutOfRange {
            index: 1,
            x: 2e150,
            y: 0.0
        }),
        "coordinate beyond 1e150 at index 1"
    );

    let empty = TrainingSet::new(Vec::new(), Vec::new(), 2);
    assert_eq!(
        empty,
        Err(ParamError::EmptyTrainingSet),
        "empty training set"
    );
}

#[test]
fn trace_rejects_invalid_query() {
    let scene = Scene::new(vec![(0.0, 0.0), (1.0, 0.0)], vec![0, 1], 2);
    let training = scene.training();

    for raw in [soft(1.0, 1.0, 2), hard(2)] {
        let model = Model::new(&training, raw).expect("valid parameters");
        for (x, y) in [
            (f64::INFINITY, 0.0),
            (0.0, f64::NEG_INFINITY),
            (2e150, 0.0),
            (0.0, -2e150),
        ] {
            let result = model.trace(Point2::new(x, y));
            assert_eq!(
                result,
                Err(ParamError::InvalidQuery { x, y }),
                "{raw:?} with the query ({x}, {y})"
            );
        }
        let nan = model.trace(Point2::new(f64::NAN, 1.0));
        assert!(
            matches!(nan, Err(ParamError::InvalidQuery { x, y: 1.0 }) if x.is_nan()),
            "{raw:?} with a NaN query gave {nan:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Property test
// ---------------------------------------------------------------------------

/// A random scene with parameters and a query, as the property test draws them.
#[derive(Clone, Debug)]
pub(super) struct Case {
    pub(super) scene: Scene,
    pub(super) k: usize,
    pub(super) beta: f64,
    pub(super) gamma: f64,
    pub(super) hard: bool,
    pub(super) query: Point2<f64>,
}

pub(super) fn case_strategy() -> impl Strategy<Value = Case> {
    (1usize..=30, 2usize..=6).prop_flat_map(|(n, classes)| {
        (
            prop::collection::vec((-10.0f64..10.0, -10.0f64..10.0), n),
            prop::collection::vec(0..classes, n),
            1..=n,
            0.0f64..=1e3,
            0.0f64..=1e2,
            any::<bool>(),
            (-12.0f64..12.0, -12.0f64..12.0),
        )
            .prop_map(move |(points, labels, k, beta, gamma, hard, (x, y))| Case {
                scene: Scene::new(points, labels, classes),
                k,
                beta,
                gamma,
                hard,
                query: Point2::new(x, y),
            })
    })
}

proptest! {
    #[test]
    fn traces_keep_invariants(case in case_strategy()) {
        let raw = if case.hard {
            hard(case.k)
        } else {
            soft(case.beta, case.gamma, case.k)
        };
        let training = case.scene.training();
        let model = Model::new(&training, raw).expect("the strategy draws valid parameters");
        let trace = model.trace(case.query).expect("the strategy draws valid queries");
        check_invariants(&case.scene, case.query, case.k, &trace)?;
    }
}
