//! Tests of the measures against direct computations written here: reduced
//! training sets built by hand, a brute-force k-NN vote, and cases whose
//! result is worked out in the comments.

use nalgebra::{DVector, Point2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::model::{ParamError, RawParams, Suppression, TrainingSet};
use crate::test_support::{hard, model_of, random_point, random_training, soft, training_of};

/// Returns the first class with the largest value, by a plain scan.
fn first_largest(values: &[f64]) -> usize {
    let mut best = 0;
    for (class, &value) in values.iter().enumerate() {
        if value > values[best] {
            best = class;
        }
    }
    best
}

/// Classifies `query` with classical k-NN: the `k` nearest points, equal
/// distances going to the lower index, and the most frequent class among
/// them, equal counts going to the lower class.
fn brute_force_decision(training: &TrainingSet, query: Point2<f64>, k: usize) -> usize {
    let distances: Vec<f64> = training
        .points()
        .iter()
        .map(|p| (p.x - query.x).powi(2) + (p.y - query.y).powi(2))
        .collect();
    let mut picked = vec![false; training.len()];
    let mut counts = vec![0.0; training.classes()];
    for _ in 0..k {
        let mut best: Option<usize> = None;
        for n in 0..training.len() {
            if !picked[n] && best.is_none_or(|b| distances[n] < distances[b]) {
                best = Some(n);
            }
        }
        let nearest = best.expect("k is at most N");
        picked[nearest] = true;
        counts[training.labels()[nearest]] += 1.0;
    }
    first_largest(&counts)
}

/// Computes leave-one-out accuracy directly: for each point, a training set
/// of the other points built by hand, a model with K capped at N − 1, and a
/// plain-scan argmax.
fn leave_one_out_by_hand(training: &TrainingSet, raw: RawParams, suppression: Suppression) -> f64 {
    let n = training.len();
    let mut correct = 0;
    for left_out in 0..n {
        let mut points = Vec::new();
        let mut labels = Vec::new();
        for m in 0..n {
            if m != left_out {
                points.push(training.points()[m]);
                labels.push(training.labels()[m]);
            }
        }
        let reduced = TrainingSet::new(points, labels, training.classes()).expect("valid subset");
        let capped = RawParams {
            k: raw.k.min(n as i64 - 1),
            ..raw
        };
        let output = model_of(&reduced, capped, suppression)
            .predict(training.points()[left_out])
            .expect("valid query");
        if first_largest(output.as_slice()) == training.labels()[left_out] {
            correct += 1;
        }
    }
    correct as f64 / n as f64
}

// ---------------------------------------------------------------------------
// Class decisions and leave-one-out accuracy
// ---------------------------------------------------------------------------

#[test]
fn predicted_class_breaks_ties_to_lower_index() {
    let cases: [(&[f64], usize); 4] = [
        (&[0.2, 0.5, 0.3], 1),
        (&[0.5, 0.5, 0.0], 0),
        (&[0.0, 0.4, 0.4, 0.2], 1),
        (&[1.0], 0),
    ];
    for (output, expected) in cases {
        let output = DVector::from_row_slice(output);
        assert_eq!(predicted_class(&output), expected, "for {output}");
    }
}

#[test]
fn leave_one_out_matches_reduced_models() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);

    for scene_index in 0..60 {
        let n = rng.gen_range(2..=25);
        let classes = rng.gen_range(2..=4);
        let training = random_training(&mut rng, n, classes);
        let k = rng.gen_range(1..=n);
        let beta = 10f64.powf(rng.gen_range(-1.0..=3.0));
        let gamma = rng.gen_range(0.0..=5.0);

        for (raw, suppression) in [
            (soft(beta, gamma, k), Suppression::Additive),
            (soft(beta, gamma, k), Suppression::Multiplicative),
            (hard(k), Suppression::Additive),
        ] {
            let model = model_of(&training, raw, suppression);
            let expected = leave_one_out_by_hand(&training, raw, suppression);
            assert_eq!(
                leave_one_out_accuracy(&model),
                Some(expected),
                "scene {scene_index} (N = {n}) with {raw:?}, {suppression:?}"
            );
        }
    }
}

#[test]
fn leave_one_out_hand_checked_line() {
    // Points on the x axis at 0, 1, 2, 10, 11, 12 with classes 0, 0, 1, 1, 1, 0.
    let training = training_of(
        &[
            (0.0, 0.0),
            (1.0, 0.0),
            (2.0, 0.0),
            (10.0, 0.0),
            (11.0, 0.0),
            (12.0, 0.0),
        ],
        &[0, 0, 1, 1, 1, 0],
        2,
    );

    // Hard 1-NN, each point left out in turn:
    // 0 → 1 (class 0) right; 1 → 0 and 2 tie, 0 wins (class 0) right;
    // 2 → 1 (class 0) wrong; 10 → 11 (class 1) right;
    // 11 → 10 and 12 tie, 10 wins (class 1) right; 12 → 11 (class 1) wrong.
    let hard_model = model_of(&training, hard(1), Suppression::Additive);
    assert_eq!(leave_one_out_accuracy(&hard_model), Some(4.0 / 6.0));

    // Soft 1-NN at β = 1e6 splits a tie evenly instead. At 11 the neighbours
    // 10 (class 1) and 12 (class 0) give ŷ = (½, ½), which goes to class 0,
    // so that point turns wrong.
    let soft_model = model_of(&training, soft(1e6, 0.0, 1), Suppression::Additive);
    assert_eq!(leave_one_out_accuracy(&soft_model), Some(3.0 / 6.0));
}

#[test]
fn leave_one_out_needs_two_points() {
    let training = training_of(&[(0.5, 0.5)], &[1], 2);
    let model = model_of(&training, soft(1.0, 1.0, 1), Suppression::Additive);

    assert_eq!(leave_one_out_accuracy(&model), None);
    assert_eq!(
        loo_accuracy_curve(
            &training,
            soft(1.0, 1.0, 1),
            Suppression::Additive,
            &[0.1, 10.0]
        ),
        Ok(None)
    );
}

#[test]
fn leave_one_out_caps_k() {
    let mut rng = ChaCha8Rng::seed_from_u64(32);
    let training = random_training(&mut rng, 9, 3);

    // K = N is valid for the full model; each reduced model uses K = 8.
    let model = model_of(&training, soft(3.0, 1.0, 9), Suppression::Additive);
    let expected = leave_one_out_by_hand(&training, soft(3.0, 1.0, 8), Suppression::Additive);
    assert_eq!(leave_one_out_accuracy(&model), Some(expected));
}

#[test]
fn loo_curve_matches_pointwise_accuracy() {
    let mut rng = ChaCha8Rng::seed_from_u64(33);
    let training = random_training(&mut rng, 20, 3);
    let betas = [0.0, 0.1, 1.0, 10.0, 100.0, 1e4];

    for suppression in [Suppression::Additive, Suppression::Multiplicative] {
        let raw = soft(1.0, 0.5, 3);
        let curve = loo_accuracy_curve(&training, raw, suppression, &betas)
            .expect("valid parameters")
            .expect("N ≥ 2");
        assert_eq!(curve.len(), betas.len(), "{suppression:?}: one entry per β");
        for (&beta, &accuracy) in betas.iter().zip(&curve) {
            let expected = leave_one_out_by_hand(&training, RawParams { beta, ..raw }, suppression);
            assert_eq!(accuracy, expected, "{suppression:?} at beta = {beta}");
        }
    }
}

#[test]
fn loo_curve_rejects_invalid_beta() {
    let training = training_of(&[(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)], &[0, 1, 0], 2);
    let raw = soft(1.0, 1.0, 2);

    let negative = loo_accuracy_curve(&training, raw, Suppression::Additive, &[1.0, -2.0]);
    assert_eq!(negative, Err(ParamError::BetaNegative(-2.0)));
    let infinite = loo_accuracy_curve(&training, raw, Suppression::Additive, &[f64::INFINITY]);
    assert_eq!(infinite, Err(ParamError::BetaNotFinite(f64::INFINITY)));
    let too_many_layers =
        loo_accuracy_curve(&training, soft(1.0, 1.0, 4), Suppression::Additive, &[1.0]);
    assert_eq!(
        too_many_layers,
        Err(ParamError::KOutOfRange { k: 4, points: 3 })
    );
}

// ---------------------------------------------------------------------------
// Test accuracy
// ---------------------------------------------------------------------------

#[test]
fn test_accuracy_counts_correct_decisions() {
    let mut rng = ChaCha8Rng::seed_from_u64(34);

    for scene_index in 0..30 {
        let training = random_training(&mut rng, 15, 3);
        let test_points: Vec<Point2<f64>> = (0..12).map(|_| random_point(&mut rng)).collect();
        let test_labels: Vec<usize> = (0..12).map(|_| rng.gen_range(0..3)).collect();
        let model = model_of(&training, soft(20.0, 2.0, 3), Suppression::Additive);

        let mut correct = 0;
        for (point, &label) in test_points.iter().zip(&test_labels) {
            let output = model.predict(*point).expect("valid query");
            if first_largest(output.as_slice()) == label {
                correct += 1;
            }
        }
        assert_eq!(
            test_accuracy(&model, &test_points, &test_labels),
            Ok(Some(correct as f64 / 12.0)),
            "scene {scene_index}"
        );
    }
}

#[test]
fn test_points_are_never_neighbours() {
    // The held-out point (0, 0) has class 1, and the only training point near
    // it has class 0. Were it its own neighbour, 1-NN would classify it right.
    let training = training_of(&[(0.1, 0.0), (5.0, 5.0)], &[0, 1], 2);
    let model = model_of(&training, hard(1), Suppression::Additive);

    let accuracy = test_accuracy(&model, &[Point2::new(0.0, 0.0)], &[1]);
    assert_eq!(accuracy, Ok(Some(0.0)));
}

#[test]
fn test_accuracy_rejects_bad_test_sets() {
    let training = training_of(&[(0.0, 0.0), (1.0, 0.0)], &[0, 1], 2);
    let model = model_of(&training, soft(1.0, 1.0, 1), Suppression::Additive);
    let points = [Point2::new(0.5, 0.5), Point2::new(f64::INFINITY, 0.0)];

    assert_eq!(test_accuracy(&model, &[], &[]), Ok(None), "no test points");
    assert_eq!(
        test_accuracy(&model, &points, &[0]),
        Err(MeasureError::LabelCountMismatch {
            points: 2,
            labels: 1
        })
    );
    assert_eq!(
        test_accuracy(&model, &points[..1], &[2]),
        Err(MeasureError::LabelOutOfRange {
            index: 0,
            label: 2,
            max_class: 1
        })
    );
    assert_eq!(
        test_accuracy(&model, &points, &[0, 1]),
        Err(MeasureError::InvalidPoint {
            index: 1,
            x: f64::INFINITY,
            y: 0.0
        })
    );
}

// ---------------------------------------------------------------------------
// Agreement with hard k-NN
// ---------------------------------------------------------------------------

#[test]
fn hard_agreement_is_one_at_huge_beta_gamma() {
    let mut rng = ChaCha8Rng::seed_from_u64(35);
    let mut compared = 0;

    for scene_index in 0..100 {
        let n = rng.gen_range(3..=25);
        let training = random_training(&mut rng, n, 2);
        // Odd K with two classes: the hard vote never ties.
        let k = 2 * rng.gen_range(0..=(n - 1) / 2) + 1;
        let queries: Vec<Point2<f64>> = (0..20).map(|_| random_point(&mut rng)).collect();

        // As in the model's own limit test: β · (smallest gap between sorted
        // squared distances) ≥ 60 and γ above the spread of the distances
        // make every neglected weight smaller than e^{−60}.
        let mut smallest_gap = f64::INFINITY;
        for query in &queries {
            let mut distances: Vec<f64> = training
                .points()
                .iter()
                .map(|p| (p.x - query.x).powi(2) + (p.y - query.y).powi(2))
                .collect();
            distances.sort_by(f64::total_cmp);
            for pair in distances.windows(2) {
                smallest_gap = smallest_gap.min(pair[1] - pair[0]);
            }
        }
        if smallest_gap < 1e-5 {
            continue;
        }
        let raw = soft(60.0 / smallest_gap.min(1.0), 17.0, k);
        let model = model_of(&training, raw, Suppression::Additive);

        assert_eq!(
            hard_agreement(&model, &queries),
            Ok(Some(1.0)),
            "scene {scene_index} (N = {n}, K = {k}, {raw:?})"
        );
        compared += 1;
    }
    assert!(
        compared >= 40,
        "only {compared} of 100 scenes were tie-free enough"
    );
}

#[test]
fn hard_agreement_matches_brute_force_at_beta_zero() {
    let mut rng = ChaCha8Rng::seed_from_u64(36);

    for scene_index in 0..40 {
        let n = rng.gen_range(2..=20);
        let classes = rng.gen_range(2..=4);
        let training = random_training(&mut rng, n, classes);
        let k = rng.gen_range(1..=n);
        let queries: Vec<Point2<f64>> = (0..25).map(|_| random_point(&mut rng)).collect();

        // At β = 0 the output is the class prior everywhere.
        let mut counts = vec![0.0; classes];
        for &label in training.labels() {
            counts[label] += 1.0;
        }
        let prior_class = first_largest(&counts);
        let agreeing = queries
            .iter()
            .filter(|&&query| brute_force_decision(&training, query, k) == prior_class)
            .count();

        for suppression in [Suppression::Additive, Suppression::Multiplicative] {
            let model = model_of(&training, soft(0.0, 1.0, k), suppression);
            assert_eq!(
                hard_agreement(&model, &queries),
                Ok(Some(agreeing as f64 / 25.0)),
                "scene {scene_index} (N = {n}, K = {k}), {suppression:?}"
            );
        }
    }
}

#[test]
fn hard_model_agrees_with_itself() {
    let mut rng = ChaCha8Rng::seed_from_u64(37);
    let training = random_training(&mut rng, 12, 3);
    let queries: Vec<Point2<f64>> = (0..30).map(|_| random_point(&mut rng)).collect();
    let model = model_of(&training, hard(4), Suppression::Additive);

    assert_eq!(hard_agreement(&model, &queries), Ok(Some(1.0)));
    assert_eq!(hard_agreement(&model, &[]), Ok(None));
}

// ---------------------------------------------------------------------------
// Re-selection
// ---------------------------------------------------------------------------

#[test]
fn mean_reselected_mass_averages_traces() {
    let mut rng = ChaCha8Rng::seed_from_u64(38);
    let training = random_training(&mut rng, 15, 3);
    let model = model_of(&training, soft(10.0, 0.2, 6), Suppression::Additive);

    let mut total = 0.0;
    for &point in training.points() {
        let trace = model.trace(point).expect("valid query");
        let mut mass = 0.0;
        for n in 0..training.len() {
            let used: f64 = trace.layers.iter().map(|layer| layer.activation[n]).sum();
            mass += (used - 1.0).max(0.0);
        }
        total += mass;
    }
    let expected = total / training.len() as f64;

    let mean = mean_reselected_mass(&model, training.points())
        .expect("valid queries")
        .expect("at least one query");
    assert!(
        (mean - expected).abs() < 1e-12,
        "mean {mean:e}, expected {expected:e}"
    );
    assert!(mean > 0.0, "γ = 0.2 should re-select some mass");
    assert_eq!(mean_reselected_mass(&model, &[]), Ok(None));
}

/// Query at the origin and points (1, 0), (1, 1), (2, 0): d = [1, 2, 4], so
/// d_(2) − d_(1) = 1.
fn gap_scene() -> TrainingSet {
    training_of(&[(1.0, 0.0), (1.0, 1.0), (2.0, 0.0)], &[0, 1, 1], 2)
}

#[test]
fn warning_appears_when_gamma_below_gap() {
    let training = gap_scene();
    let query = Point2::new(0.0, 0.0);
    let model = model_of(&training, soft(1e6, 0.99, 2), Suppression::Additive);

    let trace = model.trace(query).expect("valid query");
    assert_eq!(
        find_reselection(&trace),
        Some(Reselection::RepeatedPick {
            layer: 2,
            earlier_layer: 1,
            point: 0
        })
    );

    let warning = reselection_warning(&model, query)
        .expect("valid query")
        .expect("a warning at γ = 0.99 < 1");
    for expected in [
        "layer 2 picks training point 0 again",
        "after layer 1 picked it",
        "γ = 0.99 is too small for β = 1000000",
        "here 1;",
    ] {
        assert!(
            warning.contains(expected),
            "{expected:?} missing in {warning:?}"
        );
    }
}

#[test]
fn warning_rounds_parameters() {
    let training = gap_scene();
    let model = model_of(
        &training,
        soft(609.412_345, 0.123_456_7, 2),
        Suppression::Additive,
    );
    let warning = reselection_warning(&model, Point2::new(0.0, 0.0))
        .expect("valid query")
        .expect("a warning at γ < 1");
    assert!(
        warning.contains("γ = 0.1235 is too small for β = 609.4"),
        "{warning}"
    );
}

#[test]
fn no_warning_when_gamma_above_gap() {
    let training = gap_scene();
    let query = Point2::new(0.0, 0.0);

    // Layer 3 needs γ > d_2 − d_0 = 3 to move on from point 0 to point 2.
    for raw in [
        soft(1e6, 1.01, 2),
        soft(1e6, 3.01, 3),
        hard(3),
        soft(0.0, 0.0, 3),
    ] {
        let model = model_of(&training, raw, Suppression::Additive);
        assert_eq!(reselection_warning(&model, query), Ok(None), "with {raw:?}");
    }
}

#[test]
fn warning_names_the_layer_that_picks_again() {
    // γ = 1.01 lets layer 2 move on to point 1, but layer 3 scores the points
    // 1 + 1.01, 2 + 1.01 and 4, so it returns to point 0. It would need
    // γ > d_2 − d_0 = 3 to reach point 2.
    let training = gap_scene();
    let model = model_of(&training, soft(1e6, 1.01, 3), Suppression::Additive);

    let warning = reselection_warning(&model, Point2::new(0.0, 0.0))
        .expect("valid query")
        .expect("a warning at γ = 1.01 < 3");
    for expected in [
        "layer 3 picks training point 0 again",
        "after layer 1 picked it",
        "here 3;",
    ] {
        assert!(
            warning.contains(expected),
            "{expected:?} missing in {warning:?}"
        );
    }
}

#[test]
fn warning_appears_at_gamma_zero() {
    // With γ = 0 every layer is softmax(−2 d) at β = 2, which gives point 0
    // the share 1 / (1 + e^{−2} + e^{−6}) ≈ 0.88, so layer 2 picks it again.
    let training = gap_scene();
    let model = model_of(&training, soft(2.0, 0.0, 2), Suppression::Additive);
    let trace = model.trace(Point2::new(0.0, 0.0)).expect("valid query");

    assert_eq!(
        find_reselection(&trace),
        Some(Reselection::RepeatedPick {
            layer: 2,
            earlier_layer: 1,
            point: 0
        })
    );
}

#[test]
fn warning_reports_excess_mass() {
    // The multiplicative rule at β = 1e3 with K = 3 gives h^1 = (1, 0, 0) and
    // h^2 = h^3 = (½, ½, 0). No layer after the first has a majority, but
    // S = (2, 1, 0) makes the re-selected mass 1.
    let training = gap_scene();
    let query = Point2::new(0.0, 0.0);
    let model = model_of(&training, soft(1e3, 0.0, 3), Suppression::Multiplicative);
    let trace = model.trace(query).expect("valid query");

    let Some(Reselection::ExcessMass { mass }) = find_reselection(&trace) else {
        panic!("expected excess mass, got {:?}", find_reselection(&trace));
    };
    assert!((mass - 1.0).abs() < 1e-12, "mass {mass}");

    let warning = reselection_warning(&model, query)
        .expect("valid query")
        .expect("a warning");
    assert!(warning.contains("1.00 of a neighbour's vote"), "{warning}");
    assert!(warning.contains("multiplicative rule"), "{warning}");
}

#[test]
fn warning_rejects_invalid_query() {
    let training = gap_scene();
    let model = model_of(&training, soft(1.0, 1.0, 2), Suppression::Additive);
    assert_eq!(
        reselection_warning(&model, Point2::new(f64::NAN, 0.0)).map_err(|_| "invalid"),
        Err("invalid")
    );
}

// ---------------------------------------------------------------------------
// Splits and rankings
// ---------------------------------------------------------------------------

#[test]
fn held_out_split_takes_rounded_share() {
    let cases = [
        (10, 0.3, 3),
        (10, 0.25, 3), // 2.5 rounds away from zero
        (7, 0.5, 4),   // 3.5 rounds to 4
        (10, 0.0, 0),
        (10, 1.0, 9), // one point stays for training
        (10, 2.0, 9),
        (10, -1.0, 0),
        (10, f64::NAN, 0),
        (1, 0.9, 0),
        (0, 0.5, 0),
    ];
    for (n, share, expected) in cases {
        let split = held_out_split(n, share, 7);
        assert_eq!(split.len(), n, "n = {n}, share = {share}");
        let held_out = split.iter().filter(|&&h| h).count();
        assert_eq!(held_out, expected, "n = {n}, share = {share}");
    }
}

#[test]
fn held_out_split_is_deterministic() {
    let first = held_out_split(50, 0.2, 42);
    assert_eq!(held_out_split(50, 0.2, 42), first, "same seed");
    assert_ne!(held_out_split(50, 0.2, 43), first, "another seed");

    // Over many seeds every point is held out now and then.
    let mut times_held_out = [0; 50];
    for seed in 0..200 {
        for (n, &h) in held_out_split(50, 0.2, seed).iter().enumerate() {
            times_held_out[n] += usize::from(h);
        }
    }
    assert!(
        times_held_out.iter().all(|&count| count > 10),
        "{times_held_out:?}"
    );
}

#[test]
fn top_weights_sorts_by_weight_then_index() {
    // Query at the origin; points 1 and 2 coincide, so they tie.
    let training = training_of(
        &[(2.0, 0.0), (1.0, 0.0), (1.0, 0.0), (0.5, 0.0)],
        &[0, 1, 0, 1],
        2,
    );
    let model = model_of(&training, soft(1.0, 0.5, 2), Suppression::Additive);
    let trace = model.trace(Point2::new(0.0, 0.0)).expect("valid query");
    let h = &trace.layers[0].activation;

    assert_eq!(
        top_weights(&trace, 0, 3),
        vec![(3, h[3]), (1, h[1]), (2, h[2])]
    );
    assert_eq!(h[1], h[2], "the coincident points tie");
    assert_eq!(top_weights(&trace, 0, 10).len(), 4, "at most N entries");
    assert_eq!(top_weights(&trace, 0, 0), vec![], "none asked");
    assert_eq!(top_weights(&trace, 2, 3), vec![], "layer 3 of 2");

    let second = top_weights(&trace, 1, 4);
    for pair in second.windows(2) {
        assert!(
            pair[0].1 > pair[1].1 || (pair[0].1 == pair[1].1 && pair[0].0 < pair[1].0),
            "{second:?}"
        );
    }
}
