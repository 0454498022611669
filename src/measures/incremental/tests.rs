//! Tests of the incremental jobs against the direct functions of
//! [`crate::measures`], which compute each measure in one call.

use nalgebra::Point2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::measures::{
    hard_agreement, leave_one_out_accuracy, loo_accuracy_curve, mean_reselected_mass,
    reselection_warning, test_accuracy, MeasureError,
};
use crate::model::{ParamError, RawParams, Suppression, TrainingSet};
use crate::test_support::{hard, model_of, random_point, random_training, soft};

fn finish_curve(mut job: LooCurveJob) -> LooCurveJob {
    let mut steps = 0;
    while !job.step() {
        steps += 1;
        assert!(steps < 1_000_000, "the curve job never finishes");
    }
    job
}

fn finish_points(mut job: PointMeasuresJob) -> PointMeasures {
    let mut steps = 0;
    while !job.step() {
        steps += 1;
        assert!(steps < 1_000_000, "the point measures job never finishes");
    }
    job.measures().clone()
}

/// Returns the settings each comparison runs: soft with both rules, small γ
/// (which re-selects), β = 0, K = N and hard mode.
fn settings(n: usize) -> Vec<(RawParams, Suppression)> {
    vec![
        (soft(3.0, 0.5, 3), Suppression::Additive),
        (soft(3.0, 0.5, 3), Suppression::Multiplicative),
        (soft(40.0, 0.001, 4), Suppression::Additive),
        (soft(0.0, 1.0, 2), Suppression::Additive),
        (soft(10.0, 1.0, n), Suppression::Additive),
        (hard(3), Suppression::Additive),
    ]
}

// ---------------------------------------------------------------------------
// Leave-one-out curve
// ---------------------------------------------------------------------------

#[test]
fn curve_job_equals_direct_curve() {
    let mut rng = ChaCha8Rng::seed_from_u64(51);
    let betas = [0.01, 0.1, 1.0, 3.0, 10.0, 100.0, 1e3, 1e4];

    for scene_index in 0..6 {
        let training = random_training(&mut rng, 18, 3);
        for (raw, suppression) in settings(training.len()) {
            let direct = loo_accuracy_curve(&training, raw, suppression, &betas)
                .expect("valid parameters")
                .expect("N ≥ 2");
            let job = LooCurveJob::new(training.clone(), raw, suppression, &betas, usize::MAX)
                .expect("valid parameters")
                .expect("N ≥ 2");
            let job = finish_curve(job);

            assert_eq!(job.progress(), (18, 18), "scene {scene_index}, {raw:?}");
            assert_eq!(
                job.curve(),
                Some(direct),
                "scene {scene_index}, {raw:?}, {suppression:?}"
            );
        }
    }
}

#[test]
fn curve_job_grows_one_point_at_a_time() {
    let mut rng = ChaCha8Rng::seed_from_u64(52);
    let training = random_training(&mut rng, 10, 2);
    let betas = [0.1, 1.0, 10.0];
    let mut job = LooCurveJob::new(
        training,
        soft(1.0, 1.0, 2),
        Suppression::Additive,
        &betas,
        usize::MAX,
    )
    .expect("valid parameters")
    .expect("N ≥ 2");

    assert_eq!(job.curve(), None, "no point is done before the first step");
    assert!(!job.step());
    assert!(!job.step());
    assert_eq!(
        job.progress(),
        (0, 10),
        "two of three β values leave the point open"
    );
    assert_eq!(job.curve(), None);
    assert!(!job.step());
    assert_eq!(job.progress(), (1, 10));
    let curve = job.curve().expect("one point is done");
    for accuracy in curve {
        assert!(
            accuracy == 0.0 || accuracy == 1.0,
            "one point gives 0 or 1, got {accuracy}"
        );
    }
}

#[test]
fn curve_job_in_hard_mode_repeats_one_value() {
    let mut rng = ChaCha8Rng::seed_from_u64(53);
    let training = random_training(&mut rng, 15, 3);
    let betas = [0.1, 1.0, 10.0, 30.0, 100.0];
    let direct = loo_accuracy_curve(&training, hard(3), Suppression::Additive, &betas)
        .expect("valid parameters")
        .expect("N ≥ 2");

    let mut job = LooCurveJob::new(training, hard(3), Suppression::Additive, &betas, usize::MAX)
        .expect("valid parameters")
        .expect("N ≥ 2");
    let mut steps = 1;
    while !job.step() {
        steps += 1;
    }

    assert_eq!(steps, 15, "hard mode evaluates one β per point");
    assert_eq!(job.curve(), Some(direct));
}

#[test]
fn curve_job_sample_matches_by_hand() {
    let mut rng = ChaCha8Rng::seed_from_u64(54);
    let training = random_training(&mut rng, 25, 3);
    let betas = [0.5, 5.0, 50.0];
    let raw = soft(1.0, 0.3, 4);
    let sample = evenly_spaced(training.len(), 7);

    let job = LooCurveJob::new(training.clone(), raw, Suppression::Additive, &betas, 7)
        .expect("valid parameters")
        .expect("N ≥ 2");
    let job = finish_curve(job);
    assert_eq!(job.progress(), (7, 7));
    assert_eq!(job.population(), 25);

    let curve = job.curve().expect("the job is done");
    for (&beta, &accuracy) in betas.iter().zip(&curve) {
        // Leave-one-out over the sampled points only, with reduced sets built here.
        let mut correct = 0;
        for &left_out in &sample {
            let mut points = training.points().to_vec();
            let mut labels = training.labels().to_vec();
            points.remove(left_out);
            labels.remove(left_out);
            let reduced = TrainingSet::new(points, labels, 3).expect("valid subset");
            let model = model_of(&reduced, RawParams { beta, ..raw }, Suppression::Additive);
            let output = model
                .predict(training.points()[left_out])
                .expect("valid query");
            if crate::measures::predicted_class(&output) == training.labels()[left_out] {
                correct += 1;
            }
        }
        assert_eq!(accuracy, correct as f64 / 7.0, "beta = {beta}");
    }
}

#[test]
fn curve_job_rejects_like_direct_curve() {
    let mut rng = ChaCha8Rng::seed_from_u64(55);
    let training = random_training(&mut rng, 3, 2);
    let cases = [
        (soft(1.0, 1.0, 2), vec![1.0, -2.0]),
        (soft(1.0, 1.0, 2), vec![f64::INFINITY]),
        (soft(1.0, -1.0, 1), vec![1.0]),
        (soft(1.0, 1.0, 4), vec![1.0]),
    ];
    for (raw, betas) in cases {
        let direct = loo_accuracy_curve(&training, raw, Suppression::Additive, &betas)
            .expect_err("the direct curve rejects this case");
        let job = LooCurveJob::new(training.clone(), raw, Suppression::Additive, &betas, 10);
        assert_eq!(job.err(), Some(direct), "{raw:?} with {betas:?}");
    }
}

#[test]
fn curve_job_needs_two_points() {
    let training = TrainingSet::new(vec![Point2::new(0.0, 0.0)], vec![0], 1).expect("valid");
    let job = LooCurveJob::new(
        training,
        soft(1.0, 1.0, 1),
        Suppression::Additive,
        &[1.0],
        5,
    );
    assert!(matches!(job, Ok(None)));
}

#[test]
fn run_until_stops_when_out_of_time() {
    let mut rng = ChaCha8Rng::seed_from_u64(56);
    let training = random_training(&mut rng, 12, 2);
    let mut job = LooCurveJob::new(
        training,
        soft(1.0, 1.0, 2),
        Suppression::Additive,
        &[1.0, 2.0],
        usize::MAX,
    )
    .expect("valid parameters")
    .expect("N ≥ 2");

    // A budget that is spent at once still runs one step.
    assert!(!job.run_until(|| true));
    assert_eq!(job.progress(), (0, 12));
    let mut checks = 0;
    assert!(!job.run_until(|| {
        checks += 1;
        checks == 3
    }));
    assert_eq!(job.progress(), (2, 12), "1 + 3 steps of two β values each");
    assert!(job.run_until(|| false));
    assert_eq!(job.progress(), (12, 12));
}

// ---------------------------------------------------------------------------
// Measures at the current parameters
// ---------------------------------------------------------------------------

#[test]
fn point_job_equals_direct_functions() {
    let mut rng = ChaCha8Rng::seed_from_u64(57);

    for scene_index in 0..6 {
        let training = random_training(&mut rng, 16, 3);
        let test_points: Vec<Point2<f64>> = (0..9).map(|_| random_point(&mut rng)).collect();
        let test_labels: Vec<usize> = (0..9).map(|_| rng.gen_range(0..3)).collect();
        let mut all_points = training.points().to_vec();
        all_points.extend_from_slice(&test_points);

        for (raw, suppression) in settings(training.len()) {
            let case = format!("scene {scene_index}, {raw:?}, {suppression:?}");
            let model = model_of(&training, raw, suppression);
            let job = PointMeasuresJob::new(
                training.clone(),
                raw,
                suppression,
                test_points.clone(),
                test_labels.clone(),
                SampleLimits::ALL,
            )
            .expect("valid job");
            let measures = finish_points(job);

            let loo = measures.leave_one_out.expect("N ≥ 2");
            assert_eq!(loo.share(), leave_one_out_accuracy(&model), "{case}");
            assert_eq!(loo.evaluated, 16, "{case}");
            assert_eq!(loo.population, 16, "{case}");
            let test = measures.test.expect("test points exist");
            assert_eq!(
                Ok(test.share()),
                test_accuracy(&model, &test_points, &test_labels),
                "{case}"
            );
            assert_eq!(
                Ok(measures.agreement.share()),
                hard_agreement(&model, &all_points),
                "{case}"
            );
            assert_eq!(measures.agreement.evaluated, 25, "{case}");
            assert_eq!(
                Ok(measures.mean_reselected_mass()),
                mean_reselected_mass(&model, training.points()),
                "{case}"
            );
        }
    }
}

#[test]
fn point_job_warns_at_first_reselection() {
    let mut rng = ChaCha8Rng::seed_from_u64(58);

    for scene_index in 0..10 {
        let training = random_training(&mut rng, 14, 2);
        for (raw, suppression) in settings(training.len()) {
            let case = format!("scene {scene_index}, {raw:?}, {suppression:?}");
            let model = model_of(&training, raw, suppression);
            let warnings: Vec<(usize, String)> = training
                .points()
                .iter()
                .enumerate()
                .filter_map(|(index, &point)| {
                    let warning = reselection_warning(&model, point).expect("valid query");
                    warning.map(|text| (index, text))
                })
                .collect();

            let job = PointMeasuresJob::new(
                training.clone(),
                raw,
                suppression,
                Vec::new(),
                Vec::new(),
                SampleLimits::ALL,
            )
            .expect("valid job");
            let measures = finish_points(job);

            let expected = warnings.first().map(|(index, text)| ReselectionFound {
                training_index: *index,
                warning: text.clone(),
            });
            assert_eq!(measures.first_reselection, expected, "{case}");
            assert_eq!(measures.reselecting.hits, warnings.len(), "{case}");
        }
    }
}

#[test]
fn point_job_warns_at_small_gamma() {
    // Two tight pairs far apart: at large β with γ = 0, layer 2 picks the
    // query point itself again.
    let points = [(0.0, 0.0), (0.1, 0.0), (5.0, 5.0), (5.1, 5.0)]
        .map(|(x, y)| Point2::new(x, y))
        .to_vec();
    let training = TrainingSet::new(points, vec![0, 0, 1, 1], 2).expect("valid");
    let job = PointMeasuresJob::new(
        training,
        soft(1e4, 0.0, 2),
        Suppression::Additive,
        Vec::new(),
        Vec::new(),
        SampleLimits::ALL,
    )
    .expect("valid job");
    let measures = finish_points(job);

    let found = measures.first_reselection.expect("γ = 0 re-selects");
    assert_eq!(found.training_index, 0);
    assert!(
        found
            .warning
            .contains("layer 2 picks training point 0 again"),
        "warning reads: {}",
        found.warning
    );
    assert_eq!(measures.reselecting.hits, 4);
}

#[test]
fn point_job_without_test_points() {
    let mut rng = ChaCha8Rng::seed_from_u64(59);
    let training = random_training(&mut rng, 8, 2);
    let job = PointMeasuresJob::new(
        training,
        soft(2.0, 1.0, 3),
        Suppression::Additive,
        Vec::new(),
        Vec::new(),
        SampleLimits::ALL,
    )
    .expect("valid job");
    let measures = finish_points(job);

    assert_eq!(measures.test, None);
    assert_eq!(measures.agreement.evaluated, 8);
}

#[test]
fn point_job_with_one_training_point() {
    let training = TrainingSet::new(vec![Point2::new(0.0, 0.0)], vec![0], 2).expect("valid");
    let job = PointMeasuresJob::new(
        training,
        soft(2.0, 1.0, 1),
        Suppression::Additive,
        vec![Point2::new(0.5, 0.5)],
        vec![1],
        SampleLimits::ALL,
    )
    .expect("valid job");
    let measures = finish_points(job);

    assert_eq!(
        measures.leave_one_out, None,
        "no point is left to classify with"
    );
    let test = measures.test.expect("one test point");
    assert_eq!(test.hits, 0);
    assert_eq!(test.evaluated, 1);
}

#[test]
fn point_job_samples_within_limits() {
    let mut rng = ChaCha8Rng::seed_from_u64(60);
    let training = random_training(&mut rng, 40, 3);
    let test_points: Vec<Point2<f64>> = (0..30).map(|_| random_point(&mut rng)).collect();
    let test_labels: Vec<usize> = (0..30).map(|_| rng.gen_range(0..3)).collect();
    let raw = soft(5.0, 1.0, 3);
    let limits = SampleLimits {
        leave_one_out: 10,
        points: 12,
    };
    let job = PointMeasuresJob::new(
        training.clone(),
        raw,
        Suppression::Additive,
        test_points.clone(),
        test_labels.clone(),
        limits,
    )
    .expect("valid job");
    let measures = finish_points(job);

    let loo = measures.leave_one_out.expect("N ≥ 2");
    assert_eq!(loo.evaluated, 10);
    assert_eq!(loo.planned, 10);
    assert_eq!(loo.population, 40);
    assert!(loo.is_sampled());
    let test = measures.test.expect("test points exist");
    assert_eq!(test.evaluated, 12);
    assert_eq!(test.population, 30);
    assert_eq!(measures.agreement.evaluated, 24);
    assert_eq!(measures.agreement.population, 70);

    // The sampled test accuracy is the direct one over the sampled points.
    let sample = evenly_spaced(30, 12);
    let sampled_points: Vec<Point2<f64>> = sample.iter().map(|&i| test_points[i]).collect();
    let sampled_labels: Vec<usize> = sample.iter().map(|&i| test_labels[i]).collect();
    let model = model_of(&training, raw, Suppression::Additive);
    assert_eq!(
        Ok(test.share()),
        test_accuracy(&model, &sampled_points, &sampled_labels)
    );
}

#[test]
fn point_job_rejects_bad_input() {
    let mut rng = ChaCha8Rng::seed_from_u64(61);
    let training = random_training(&mut rng, 5, 2);
    let new_job = |raw: RawParams, points: Vec<Point2<f64>>, labels: Vec<usize>| {
        PointMeasuresJob::new(
            training.clone(),
            raw,
            Suppression::Additive,
            points,
            labels,
            SampleLimits::ALL,
        )
        .err()
    };
    let origin = Point2::new(0.0, 0.0);

    assert_eq!(
        new_job(soft(1.0, 1.0, 6), vec![], vec![]),
        Some(JobError::Params(ParamError::KOutOfRange {
            k: 6,
            points: 5
        }))
    );
    assert_eq!(
        new_job(soft(1.0, 1.0, 2), vec![origin], vec![]),
        Some(JobError::Points(MeasureError::LabelCountMismatch {
            points: 1,
            labels: 0
        }))
    );
    assert_eq!(
        new_job(soft(1.0, 1.0, 2), vec![origin], vec![2]),
        Some(JobError::Points(MeasureError::LabelOutOfRange {
            index: 0,
            label: 2,
            max_class: 1
        }))
    );
    let far = Point2::new(f64::NAN, 0.0);
    let invalid = new_job(soft(1.0, 1.0, 2), vec![origin, far], vec![0, 1]);
    assert!(
        matches!(
            invalid,
            Some(JobError::Points(MeasureError::InvalidPoint {
                index: 1,
                ..
            }))
        ),
        "got {invalid:?}"
    );
}

// ---------------------------------------------------------------------------
// Helpers for the panel
// ---------------------------------------------------------------------------

#[test]
fn evenly_spaced_covers_range_without_repeats() {
    for (population, limit) in [(10, 3), (150, 40), (10_000, 200), (7, 7), (5, 9), (0, 4)] {
        let sample = evenly_spaced(population, limit);
        assert_eq!(sample.len(), limit.min(population), "{population}, {limit}");
        assert!(
            sample.windows(2).all(|pair| pair[0] < pair[1]),
            "{population}, {limit}: increasing"
        );
        assert!(
            sample.iter().all(|&i| i < population),
            "{population}, {limit}: in range"
        );
    }
}

#[test]
fn affordable_queries_divides_budget() {
    let cases = [
        (1e6, 1e3, 1000),
        (1e6, 3e5, 3),
        (1e6, 1e7, 1),
        (1e6, 0.0, usize::MAX),
    ];
    for (budget, cost, expected) in cases {
        assert_eq!(
            affordable_queries(budget, cost),
            expected,
            "{budget} / {cost}"
        );
    }
}

#[test]
fn point_job_names_points_in_warning() {
    // Two tight pairs far apart. At point A layer 1 picks A itself, and with
    // γ = 1e-3 below the gap 0.01 to B, layer 2 picks A again.
    let points = vec![
        Point2::new(0.0, 0.0),
        Point2::new(0.1, 0.0),
        Point2::new(5.0, 0.0),
        Point2::new(5.1, 0.0),
    ];
    let training = TrainingSet::new(points, vec![0, 0, 1, 1], 2).expect("valid scene");
    let raw = RawParams {
        beta: 1e4,
        gamma: 1e-3,
        k: 3,
        hard: false,
    };
    let names: Vec<String> = ["A", "B", "C", "D"].map(String::from).to_vec();
    let job = PointMeasuresJob::new(
        training.clone(),
        raw,
        Suppression::Additive,
        Vec::new(),
        Vec::new(),
        SampleLimits::ALL,
    )
    .expect("valid job")
    .with_point_names(names);
    let measures = finish_points(job);

    let found = measures
        .first_reselection
        .expect("γ = 1e-3 is far below the gaps, so layers re-select");
    assert_eq!(found.training_index, 0);
    assert!(
        found.warning.contains("picks training point A again"),
        "{}",
        found.warning
    );
}
