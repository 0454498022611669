//! Tests of the probe report against the trace it is built from and against
//! sums and sorts written out here.

use nalgebra::Point2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::model::TrainingSet;
use crate::test_support::{random_training, soft};

const QUERY: Point2<f64> = Point2::new(0.1, -0.2);

/// Names training point n by its 1-based number, as the app does.
fn name(n: usize) -> String {
    format!("#{}", n + 1)
}

#[test]
fn top_points_are_heaviest_of_trace() {
    let training = random_training(&mut ChaCha8Rng::seed_from_u64(1), 40, 3);
    for suppression in [Suppression::Additive, Suppression::Multiplicative] {
        let model = Model::new(&training, soft(20.0, 0.05, 6))
            .expect("valid parameters")
            .with_suppression(suppression);
        let trace = model.trace(QUERY).expect("valid query");
        let report = probe(&model, QUERY, 4, &name).expect("valid query");

        assert_eq!(report.layers.len(), 6);
        for (layer, probed) in trace.layers.iter().zip(&report.layers) {
            assert_eq!(probed.top.len(), 4);
            let largest_left_out = (0..training.len())
                .filter(|n| probed.top.iter().all(|p| p.index != *n))
                .map(|n| layer.activation[n])
                .fold(0.0, f64::max);
            for pair in probed.top.windows(2) {
                assert!(pair[0].weight >= pair[1].weight, "sorted by weight");
            }
            let smallest_kept = probed.top.last().expect("four points").weight;
            assert!(
                smallest_kept >= largest_left_out,
                "kept {smallest_kept} < left out {largest_left_out}"
            );
            for point in &probed.top {
                assert_eq!(point.weight, layer.activation[point.index]);
                assert_eq!(point.class, training.labels()[point.index]);
                assert_eq!(point.squared_distance, trace.squared_distances[point.index]);
            }
        }
    }
}

#[test]
fn suppression_sums_earlier_layers() {
    let training = random_training(&mut ChaCha8Rng::seed_from_u64(2), 25, 2);
    let model = Model::new(&training, soft(30.0, 0.1, 5)).expect("valid parameters");
    let trace = model.trace(QUERY).expect("valid query");
    let report = probe(&model, QUERY, 25, &name).expect("valid query");

    for (k, probed) in report.layers.iter().enumerate() {
        for point in &probed.top {
            let expected: f64 = trace.layers[..k]
                .iter()
                .map(|layer| layer.activation[point.index])
                .sum();
            assert!(
                (point.suppression - expected).abs() < 1e-15,
                "layer {k}, point {}: {} vs {expected}",
                point.index,
                point.suppression
            );
        }
    }
}

#[test]
fn multiplicative_suppression_is_product() {
    let training = random_training(&mut ChaCha8Rng::seed_from_u64(3), 25, 2);
    let model = Model::new(&training, soft(30.0, 0.0, 5))
        .expect("valid parameters")
        .with_suppression(Suppression::Multiplicative);
    let trace = model.trace(QUERY).expect("valid query");
    let report = probe(&model, QUERY, 25, &name).expect("valid query");

    for (k, probed) in report.layers.iter().enumerate() {
        for point in &probed.top {
            let expected: f64 = trace.layers[..k]
                .iter()
                .map(|layer| 1.0 - layer.activation[point.index])
                .product();
            assert!(
                (point.suppression - expected).abs() < 1e-15,
                "layer {k}, point {}: {} vs {expected}",
                point.index,
                point.suppression
            );
        }
    }
}

#[test]
fn other_mass_completes_layer() {
    let training = random_training(&mut ChaCha8Rng::seed_from_u64(4), 30, 4);
    let model = Model::new(&training, soft(5.0, 0.2, 4)).expect("valid parameters");
    let report = probe(&model, QUERY, 3, &name).expect("valid query");

    for probed in &report.layers {
        let total: f64 = probed.top.iter().map(|p| p.weight).sum::<f64>() + probed.other_mass;
        assert!((total - 1.0).abs() < 1e-12, "layer mass {total}");
        assert!(
            probed.other_mass > 0.0,
            "β = 5 spreads mass beyond 3 points"
        );
    }
}

#[test]
fn votes_average_to_output() {
    let training = random_training(&mut ChaCha8Rng::seed_from_u64(5), 30, 3);
    let model = Model::new(&training, soft(12.0, 0.3, 7)).expect("valid parameters");
    let report = probe(&model, QUERY, 3, &name).expect("valid query");
    let predicted = model.predict(QUERY).expect("valid query");

    for class in 0..3 {
        let mean: f64 = report.layers.iter().map(|l| l.vote[class]).sum::<f64>() / 7.0;
        assert!((mean - predicted[class]).abs() < 1e-12, "class {class}");
        assert!((report.output[class] - predicted[class]).abs() < 1e-15);
        let last = report.layers.last().expect("seven layers");
        assert!((last.running_average[class] - predicted[class]).abs() < 1e-12);
    }
    assert_eq!(report.predicted, predicted.argmax().0);
}

#[test]
fn nearest_points_by_brute_force() {
    let training = random_training(&mut ChaCha8Rng::seed_from_u64(6), 50, 2);
    let model = Model::new(&training, soft(1.0, 0.1, 3)).expect("valid parameters");
    let report = probe(&model, QUERY, 5, &name).expect("valid query");

    let mut distances: Vec<(usize, f64)> = training
        .points()
        .iter()
        .map(|p| (p - QUERY).norm_squared())
        .enumerate()
        .collect();
    distances.sort_by(|a, b| a.1.partial_cmp(&b.1).expect("finite distances"));
    assert_eq!(report.nearest.len(), 5);
    for (got, expected) in report.nearest.iter().zip(&distances) {
        assert_eq!(got.0, expected.0);
        assert!((got.1 - expected.1).abs() < 1e-15);
    }
}

#[test]
fn warning_when_layer_picks_again() {
    // Query at the origin; d = [1, 2, 4]. With γ = 0.5 < d_(2) − d_(1) = 1,
    // layer 2 at large β picks point 0 again; with γ = 2 it moves on.
    let points = vec![
        Point2::new(1.0, 0.0),
        Point2::new(1.0, 1.0),
        Point2::new(2.0, 0.0),
    ];
    let training = TrainingSet::new(points, vec![0, 1, 1], 2).expect("valid scene");
    let origin = Point2::new(0.0, 0.0);

    let small = Model::new(&training, soft(1e4, 0.5, 2)).expect("valid parameters");
    let report = probe(&small, origin, 2, &name).expect("valid query");
    let warning = report.warning.expect("γ = 0.5 re-selects point 0");
    assert!(
        warning.contains("layer 2 picks training point #1 again"),
        "{warning}"
    );
    assert!(report.reselected_mass > 0.9, "{}", report.reselected_mass);
    assert_eq!(report.layers[1].top[0].index, 0);

    let large = Model::new(&training, soft(1e4, 2.0, 2)).expect("valid parameters");
    let report = probe(&large, origin, 2, &name).expect("valid query");
    assert_eq!(report.warning, None);
    assert_eq!(report.layers[1].top[0].index, 1);
}

#[test]
fn invalid_query_is_error() {
    let training = random_training(&mut ChaCha8Rng::seed_from_u64(7), 5, 2);
    let model = Model::new(&training, soft(1.0, 0.1, 2)).expect("valid parameters");
    assert!(probe(&model, Point2::new(f64::NAN, 0.0), 3, &name).is_err());
}
