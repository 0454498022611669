//! Tests of the multiplicative suppression rule,
//! `h^k_n ∝ exp(−β d_n) · Π_{k'<k} (1 − h^{k'}_n)`, against a reference that
//! multiplies the factors `1 − h` directly, closed forms worked out by hand,
//! and the additive rule that is its first-order version.
//!
//! As in the additive tests, expected values never come from the code under
//! test.

use nalgebra::Point2;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tests::{
    assert_all_close, assert_close, assert_invariants, case_strategy, check_invariants, hard,
    random_point, random_scene, scale_point, soft, Scene, SUM_TOLERANCE,
};
use super::{Model, RawParams, Suppression, Trace};

/// Tolerance between the model and the product reference.
const REFERENCE_TOLERANCE: f64 = 1e-12;

/// Tolerance for limits at large β, where neglected weights are below e^{−100}.
const LIMIT_TOLERANCE: f64 = 1e-12;

/// Builds the model for `scene` with `suppression` and traces it at `query`.
fn trace_with(
    scene: &Scene,
    raw: RawParams,
    suppression: Suppression,
    query: Point2<f64>,
) -> Trace {
    let training = scene.training();
    let model = Model::new(&training, raw)
        .unwrap_or_else(|error| panic!("Model::new rejected {raw:?}: {error}"))
        .with_suppression(suppression);
    model
        .trace(query)
        .unwrap_or_else(|error| panic!("trace rejected the query {query:?}: {error}"))
}

/// Traces `scene` at `query` with the multiplicative rule.
fn multiplicative_trace(scene: &Scene, beta: f64, k: usize, query: Point2<f64>) -> Trace {
    trace_with(
        scene,
        soft(beta, 0.0, k),
        Suppression::Multiplicative,
        query,
    )
}

fn activations_of(trace: &Trace) -> Vec<Vec<f64>> {
    trace
        .layers
        .iter()
        .map(|layer| layer.activation.as_slice().to_vec())
        .collect()
}

/// Evaluates `h^1 … h^K` of the multiplicative rule with plain products.
///
/// Each point keeps `survival_n = Π_{k'<k} (1 − h^{k'}_n)`, and layer k is
/// `exp(−β (d_n − d_min)) · survival_n`, normalised. The factor `1 − h_n` is
/// taken as `Σ_{m≠n} h_m`, which equals it but keeps its relative precision
/// where `h_n` is close to 1. Without logarithms this underflows once
/// `β (d_n − d_min)` passes about 700, so callers keep β moderate.
fn product_reference(distances: &[f64], beta: f64, k: usize) -> Vec<Vec<f64>> {
    let n = distances.len();
    let mut nearest = f64::INFINITY;
    for &d in distances {
        if d < nearest {
            nearest = d;
        }
    }
    let mut survival = vec![1.0; n];
    let mut layers = Vec::with_capacity(k);

    for _ in 0..k {
        let mut weights = vec![0.0; n];
        let mut total = 0.0;
        for i in 0..n {
            weights[i] = (-beta * (distances[i] - nearest)).exp() * survival[i];
            total += weights[i];
        }
        let activation: Vec<f64> = weights.iter().map(|w| w / total).collect();

        for (i, factor) in survival.iter_mut().enumerate() {
            let mut complement = 0.0;
            for (m, &h) in activation.iter().enumerate() {
                if m != i {
                    complement += h;
                }
            }
            *factor *= complement;
        }
        layers.push(activation);
    }
    layers
}

/// Returns the training indices ordered by squared distance to `query`,
/// ties by index, found by repeated scans rather than a sort.
fn indices_by_distance(scene: &Scene, query: Point2<f64>) -> Vec<usize> {
    let distances = scene.squared_distances(query);
    let mut remaining: Vec<usize> = (0..scene.len()).collect();
    let mut order = Vec::with_capacity(scene.len());
    while !remaining.is_empty() {
        let mut best = 0;
        for position in 1..remaining.len() {
            if distances[remaining[position]] < distances[remaining[best]] {
                best = position;
            }
        }
        order.push(remaining.remove(best));
    }
    order
}

// ---------------------------------------------------------------------------
// Against references
// ---------------------------------------------------------------------------

#[test]
fn multiplicative_matches_product_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);

    for scene_index in 0..400 {
        let n = rng.gen_range(1..=40);
        let classes = rng.gen_range(2..=6);
        let k = rng.gen_range(1..=n);
        // β·d ≤ 30 · 8 keeps every factor of the reference far from underflow.
        let beta = rng.gen_range(0.0..=30.0);
        let scene = random_scene(&mut rng, n, classes, scene_index % 4 == 0);
        let query = random_point(&mut rng, false);
        let context = format!("scene {scene_index} (N = {n}, K = {k}, beta = {beta})");

        let trace = multiplicative_trace(&scene, beta, k, query);
        let expected = product_reference(&scene.squared_distances(query), beta, k);

        for (layer, (actual, wanted)) in trace.layers.iter().zip(&expected).enumerate() {
            assert_all_close(
                actual.activation.as_slice(),
                wanted,
                REFERENCE_TOLERANCE,
                &format!("{context}: h^{}", layer + 1),
            );
        }
        assert_invariants(&scene, query, k, &trace, &context);
    }
}

#[test]
fn three_point_case_matches_hand_computation() {
    // Query at the origin and points (1, 0), (1, 1), (2, 0): d = [1, 2, 4].
    let scene = Scene::new(vec![(1.0, 0.0), (1.0, 1.0), (2.0, 0.0)], vec![0, 1, 1], 2);
    let query = Point2::new(0.0, 0.0);

    // At β = 1 the weights are a = e^{−1}, b = e^{−2}, c = e^{−4}, Z = a + b + c.
    let (a, b, c) = ((-1.0f64).exp(), (-2.0f64).exp(), (-4.0f64).exp());
    let z = a + b + c;
    // Layer 1: h^1 = (a, b, c) / Z.
    let h1 = [a / z, b / z, c / z];
    // Layer 2: the weights are w_n (1 − w_n / Z) = w_n (Z − w_n) / Z, that is
    // (a (b + c), b (a + c), c (a + b)) / Z. They sum to 2P / Z with
    // P = ab + bc + ca, so h^2 = (a (b + c), b (a + c), c (a + b)) / (2P).
    let p = a * b + b * c + c * a;
    let h2 = [
        a * (b + c) / (2.0 * p),
        b * (a + c) / (2.0 * p),
        c * (a + b) / (2.0 * p),
    ];
    // Layer 3: 1 − h^2_0 = (2P − a (b + c)) / (2P) = (ab + ac + 2bc) / (2P), and
    // likewise for the others. The common factors 1 / Z and 1 / (2P) cancel.
    // That leaves the weights a (b + c) (ab + ac + 2bc), b (a + c) (ab + bc + 2ca)
    // and c (a + b) (ac + bc + 2ab).
    let v = [
        a * (b + c) * (a * b + a * c + 2.0 * b * c),
        b * (a + c) * (a * b + b * c + 2.0 * c * a),
        c * (a + b) * (a * c + b * c + 2.0 * a * b),
    ];
    let v_total = v[0] + v[1] + v[2];
    let h3 = [v[0] / v_total, v[1] / v_total, v[2] / v_total];

    // The same closed forms at 40 digits with Python 3's decimal module.
    let decimal = [
        [
            0.705_384_512_698_241_2,
            0.259_496_460_342_419_1,
            0.035_119_026_959_339_72,
        ],
        [
            0.478_994_966_932_967,
            0.442_902_400_307_702_8,
            0.078_102_632_759_330_26,
        ],
        [
            0.439_131_151_560_067_5,
            0.434_170_887_253_089_1,
            0.126_697_961_186_843_4,
        ],
    ];
    for (layer, (closed_form, digits)) in [h1, h2, h3].iter().zip(&decimal).enumerate() {
        assert_all_close(
            closed_form,
            digits,
            1e-15,
            &format!("closed form of h^{}", layer + 1),
        );
    }

    let trace = multiplicative_trace(&scene, 1.0, 3, query);
    for (layer, expected) in [h1, h2, h3].iter().enumerate() {
        assert_all_close(
            trace.layers[layer].activation.as_slice(),
            expected,
            1e-15,
            &format!("h^{}", layer + 1),
        );
    }

    // Point 0 has class 0, the others class 1.
    let output_0 = (h1[0] + h2[0] + h3[0]) / 3.0;
    assert_all_close(
        trace.output.as_slice(),
        &[output_0, 1.0 - output_0],
        1e-15,
        "output",
    );
}

#[test]
fn layer_one_is_the_same_under_both_rules() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);

    for scene_index in 0..100 {
        let n = rng.gen_range(1..=40);
        let k = rng.gen_range(1..=n);
        let beta = 10f64.powf(rng.gen_range(-3.0..=8.0));
        let gamma = rng.gen_range(0.0..=10.0);
        let scene = random_scene(&mut rng, n, 3, false);
        let query = random_point(&mut rng, false);

        let additive = trace_with(&scene, soft(beta, gamma, k), Suppression::Additive, query);
        let multiplicative = multiplicative_trace(&scene, beta, k, query);
        assert_eq!(
            additive.layers[0].activation, multiplicative.layers[0].activation,
            "scene {scene_index} (N = {n}, beta = {beta:e}): h^1"
        );
    }
}

#[test]
fn additive_rule_is_first_order_version() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);

    for beta in [0.5, 1.0, 2.0] {
        for scene_index in 0..50 {
            let scene = random_scene(&mut rng, 40, 3, false);
            let query = random_point(&mut rng, false);
            let context = format!("beta = {beta}, scene {scene_index}");

            // With γ = 1/β the additive logits of layer 2 are −β d_n − h^1_n,
            // the multiplicative ones −β d_n + ln(1 − h^1_n). They differ by
            // δ_n = −ln(1 − h^1_n) − h^1_n, with 0 ≤ δ_n ≤ h² / (2 (1 − h)).
            // Lowering every logit by some δ_n in [0, D] scales each softmax
            // weight by a factor in [e^{−D}, 1] and their sum likewise, so each
            // probability changes by a factor in [e^{−D}, e^D]:
            // |h^2_mult − h^2_add| ≤ h^2_add · (e^D − 1).
            let additive = trace_with(
                &scene,
                soft(beta, 1.0 / beta, 2),
                Suppression::Additive,
                query,
            );
            let multiplicative = multiplicative_trace(&scene, beta, 2, query);
            let unsuppressed = trace_with(&scene, soft(beta, 0.0, 2), Suppression::Additive, query);

            let largest_h1 = additive.layers[0].activation.max();
            let largest_gap = additive.layers[0]
                .activation
                .iter()
                .map(|&h| -(-h).ln_1p() - h)
                .fold(0.0, f64::max);
            assert!(
                largest_gap <= largest_h1 * largest_h1 / (2.0 * (1.0 - largest_h1)) + 1e-15,
                "{context}: D = {largest_gap:e} exceeds its bound for max h^1 = {largest_h1}"
            );

            let factor = largest_gap.exp_m1();
            let mut largest_first_order: f64 = 0.0;
            for n in 0..40 {
                let h_add = additive.layers[1].activation[n];
                let h_mult = multiplicative.layers[1].activation[n];
                assert!(
                    (h_mult - h_add).abs() <= h_add * factor + 1e-15,
                    "{context}: h^2_{n} = {h_mult:e} multiplicative, {h_add:e} additive, \
                     bound {:e}",
                    h_add * factor
                );
                let h_plain = unsuppressed.layers[1].activation[n];
                largest_first_order = largest_first_order.max((h_add - h_plain).abs());
            }

            // The check has teeth only if suppression itself moves h^2 by
            // clearly more than the second-order bound. At β = 2, where h^1
            // reaches about 0.2 on these scenes, the bound came to at most a
            // third of that move with this seed.
            let largest_bound = additive.layers[1].activation.max() * factor;
            assert!(
                largest_first_order > 2.0 * largest_bound,
                "{context}: suppression moves h^2 by {largest_first_order:e}, \
                 not clearly more than the bound {largest_bound:e}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Large β: what the rule does and does not suppress
// ---------------------------------------------------------------------------

#[test]
fn two_points_split_layer_two_evenly() {
    // With two points, layer 2 weighs them w_0 (1 − w_0/Z) = w_0 w_1 / Z and
    // w_1 (1 − w_1/Z) = w_1 w_0 / Z: equal at every β.
    let scene = Scene::new(vec![(1.0, 0.0), (0.0, 2.0)], vec![0, 1], 2);
    let query = Point2::new(0.0, 0.0);

    for beta in [0.0, 0.5, 3.0, 40.0, 1e3, 1e8] {
        let trace = multiplicative_trace(&scene, beta, 2, query);
        assert_all_close(
            trace.layers[1].activation.as_slice(),
            &[0.5, 0.5],
            SUM_TOLERANCE,
            &format!("h^2 at beta = {beta:e}"),
        );
    }
}

#[test]
fn large_beta_splits_later_layers_between_two_nearest() {
    // d = [1, 2, 4, 5]. At β = 1e3 layer 1 is one-hot on point 0 up to
    // e^{−1000}, and 1 − h^1_0 ≈ e^{−1000}. Layer 2 weighs point 0 by
    // e^{−β} e^{−1000} and point 1 by e^{−2β}: the same, so h^2 = (½, ½, 0, 0).
    // Layer 3 multiplies both by 1 − ½ and again leaves point 2 (e^{−4β})
    // far behind, so within these four layers the rule never reaches point 2.
    let scene = Scene::new(
        vec![(1.0, 0.0), (1.0, 1.0), (2.0, 0.0), (2.0, 1.0)],
        vec![0, 1, 1, 0],
        2,
    );
    let query = Point2::new(0.0, 0.0);

    let trace = multiplicative_trace(&scene, 1e3, 4, query);

    let expected = [
        [1.0, 0.0, 0.0, 0.0],
        [0.5, 0.5, 0.0, 0.0],
        [0.5, 0.5, 0.0, 0.0],
        [0.5, 0.5, 0.0, 0.0],
    ];
    for (layer, wanted) in expected.iter().enumerate() {
        assert_all_close(
            trace.layers[layer].activation.as_slice(),
            wanted,
            LIMIT_TOLERANCE,
            &format!("h^{}", layer + 1),
        );
    }
    // Point 0 is used 1 + 3 · ½ = 2.5 times and point 1 1.5 times.
    assert_close(
        trace.reselected_mass,
        2.0,
        LIMIT_TOLERANCE,
        "re-selected mass",
    );
    // Hard mode, for contrast, takes the four points in turn.
    let hard_trace = trace_with(&scene, hard(4), Suppression::Multiplicative, query);
    assert_eq!(hard_trace.reselected_mass, 0.0, "hard re-selected mass");
}

#[test]
fn layer_two_favours_nearest_over_second() {
    // Layer 2 weighs point n by u_n = w_n (Z − w_n) / Z. For the nearest
    // point (1) and the second (2), u_1 − u_2 = (w_1 − w_2)(Z − w_1 − w_2) / Z ≥ 0.
    // And for any n, Σ_{m≠n} u_m ≥ Σ_{m≠n} w_m w_n / Z = u_n, because
    // Z − w_m ≥ w_n, so no point gets more than half of layer 2.
    let mut rng = ChaCha8Rng::seed_from_u64(14);

    for scene_index in 0..300 {
        let n = rng.gen_range(2..=30);
        let beta = 10f64.powf(rng.gen_range(-2.0..=8.0));
        let scene = random_scene(&mut rng, n, 2, false);
        let query = random_point(&mut rng, false);
        let context = format!("scene {scene_index} (N = {n}, beta = {beta:e})");

        let trace = multiplicative_trace(&scene, beta, 2, query);
        let order = indices_by_distance(&scene, query);
        let layer_two = &trace.layers[1].activation;

        assert!(
            layer_two[order[0]] >= layer_two[order[1]] - SUM_TOLERANCE,
            "{context}: h^2 of the nearest {:e} < h^2 of the second {:e}",
            layer_two[order[0]],
            layer_two[order[1]]
        );
        assert!(
            layer_two.max() <= 0.5 + SUM_TOLERANCE,
            "{context}: layer 2 gives {:e} to one point",
            layer_two.max()
        );
    }
}

#[test]
fn completely_selected_point_is_never_selected_again() {
    // In f64 a layer selects a point completely (weight 1, every other logit
    // −∞) only when β (d_n − d_min) overflows: here β = 1e8 and d = [0, 8e300,
    // 4e300] give −4e308 and −8e308. The used point's carry is then −∞.
    let corner = 1e150;
    let scene = Scene::new(
        vec![(-corner, -corner), (corner, corner), (corner, -corner)],
        vec![0, 1, 2],
        3,
    );
    let query = Point2::new(-corner, -corner);

    let trace = multiplicative_trace(&scene, 1e8, 3, query);

    assert_invariants(&scene, query, 3, &trace, "coordinates at 1e150");
    let picks = [0, 2, 1];
    for (layer, &pick) in picks.iter().enumerate() {
        for (n, &h) in trace.layers[layer].activation.iter().enumerate() {
            let expected = if n == pick { 1.0 } else { 0.0 };
            assert_eq!(h, expected, "h^{}_{n}", layer + 1);
        }
    }
    assert_eq!(trace.reselected_mass, 0.0, "re-selected mass");
}

// ---------------------------------------------------------------------------
// Numerical edge cases and the parameters the rule ignores
// ---------------------------------------------------------------------------

#[test]
fn multiplicative_beta_zero_gives_class_prior() {
    let mut rng = ChaCha8Rng::seed_from_u64(15);

    for scene_index in 0..100 {
        let n = rng.gen_range(1..=60);
        let classes = rng.gen_range(2..=6);
        let k = rng.gen_range(1..=n);
        let scene = random_scene(&mut rng, n, classes, false);
        let query = random_point(&mut rng, false);
        let context = format!("scene {scene_index} (N = {n}, K = {k})");

        let trace = multiplicative_trace(&scene, 0.0, k, query);

        // At β = 0 layer 1 is uniform, so every point keeps the same factor
        // 1 − 1/N and every later layer is uniform too.
        for (layer, activation) in activations_of(&trace).iter().enumerate() {
            assert_all_close(
                activation,
                &vec![1.0 / n as f64; n],
                SUM_TOLERANCE,
                &format!("{context}: h^{}", layer + 1),
            );
        }
        assert_all_close(
            trace.output.as_slice(),
            &scene.counted_prior(),
            SUM_TOLERANCE,
            &format!("{context}: output against the counted prior"),
        );
        assert_invariants(&scene, query, k, &trace, &context);
    }
}

#[test]
fn multiplicative_beta_1e8_stays_finite_at_every_scale() {
    let mut rng = ChaCha8Rng::seed_from_u64(16);

    for scale in [1e-6, 1.0, 1e6] {
        for scene_index in 0..50 {
            let n = rng.gen_range(1..=40);
            let k = rng.gen_range(1..=n);
            let scene = random_scene(&mut rng, n, 3, scene_index % 2 == 0).scaled(scale);
            let query = scale_point(random_point(&mut rng, false), scale);
            let context = format!("scale {scale:e}, scene {scene_index} (N = {n}, K = {k})");

            let trace = multiplicative_trace(&scene, 1e8, k, query);
            assert_invariants(&scene, query, k, &trace, &context);
        }
    }
}

#[test]
fn coincident_points_share_mass_evenly_in_every_layer() {
    // Points 1 and 3 coincide and are the nearest to the query.
    let scene = Scene::new(
        vec![(2.0, 2.0), (0.5, 0.0), (-1.0, 3.0), (0.5, 0.0), (3.0, -1.0)],
        vec![0, 1, 0, 2, 1],
        3,
    );
    let query = Point2::new(0.0, 0.0);

    for beta in [0.0, 1.0, 1e3, 1e8] {
        let trace = multiplicative_trace(&scene, beta, 5, query);
        assert_invariants(&scene, query, 5, &trace, &format!("beta = {beta:e}"));
        for (layer, activation) in activations_of(&trace).iter().enumerate() {
            assert_eq!(
                activation[1],
                activation[3],
                "beta = {beta:e}: h^{}_1 and h^{}_3",
                layer + 1,
                layer + 1
            );
        }
    }
}

#[test]
fn multiplicative_rule_ignores_gamma() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let scene = random_scene(&mut rng, 20, 3, false);
    let query = random_point(&mut rng, false);

    let without_gamma = multiplicative_trace(&scene, 5.0, 6, query);
    for gamma in [0.5, 3.0, 1e6] {
        let with_gamma = trace_with(
            &scene,
            soft(5.0, gamma, 6),
            Suppression::Multiplicative,
            query,
        );
        assert_eq!(with_gamma, without_gamma, "gamma = {gamma}");
    }
}

#[test]
fn hard_mode_ignores_suppression_rule() {
    let mut rng = ChaCha8Rng::seed_from_u64(18);

    for scene_index in 0..50 {
        let n = rng.gen_range(1..=30);
        let k = rng.gen_range(1..=n);
        let scene = random_scene(&mut rng, n, 3, scene_index % 2 == 0);
        let query = random_point(&mut rng, scene_index % 2 == 0);

        let additive = trace_with(&scene, hard(k), Suppression::Additive, query);
        let multiplicative = trace_with(&scene, hard(k), Suppression::Multiplicative, query);
        assert_eq!(
            additive, multiplicative,
            "scene {scene_index} (N = {n}, K = {k})"
        );
    }
}

#[test]
fn model_uses_additive_rule_unless_told() {
    let scene = Scene::new(vec![(0.0, 0.0), (1.0, 0.0), (0.0, 3.0)], vec![0, 1, 0], 2);
    let training = scene.training();
    let query = Point2::new(0.2, 0.1);
    let raw = soft(2.0, 0.7, 3);

    let model = Model::new(&training, raw).expect("valid parameters");
    assert_eq!(model.suppression(), Suppression::Additive);
    assert_eq!(Suppression::default(), Suppression::Additive);

    let additive = model.trace(query).expect("valid query");
    let multiplicative_model = model.clone().with_suppression(Suppression::Multiplicative);
    assert_eq!(
        multiplicative_model.suppression(),
        Suppression::Multiplicative
    );
    let multiplicative = multiplicative_model.trace(query).expect("valid query");
    assert_ne!(
        additive, multiplicative,
        "the two rules differ from layer 2 on"
    );

    let back = multiplicative_model.with_suppression(Suppression::Additive);
    assert_eq!(back.trace(query).expect("valid query"), additive);
}

proptest! {
    #[test]
    fn multiplicative_traces_keep_invariants(case in case_strategy()) {
        let raw = if case.hard {
            hard(case.k)
        } else {
            soft(case.beta, case.gamma, case.k)
        };
        let training = case.scene.training();
        let model = Model::new(&training, raw)
            .expect("the strategy draws valid parameters")
            .with_suppression(Suppression::Multiplicative);
        let trace = model.trace(case.query).expect("the strategy draws valid queries");
        check_invariants(&case.scene, case.query, case.k, &trace)?;
    }
}
