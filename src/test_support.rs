//! Helpers shared by the unit tests: scenes written out or drawn from a
//! seeded generator, and parameter sets.

use nalgebra::Point2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::model::{Model, RawParams, Suppression, TrainingSet};

/// Builds a training set from `(x, y)` pairs.
pub fn training_of(points: &[(f64, f64)], labels: &[usize], classes: usize) -> TrainingSet {
    let points = points.iter().map(|&(x, y)| Point2::new(x, y)).collect();
    TrainingSet::new(points, labels.to_vec(), classes).expect("the test scene is valid")
}

/// Draws `n` points uniform in [-1, 1]², then their labels uniform over `classes`.
pub fn random_training(rng: &mut ChaCha8Rng, n: usize, classes: usize) -> TrainingSet {
    let points = (0..n).map(|_| random_point(rng)).collect();
    let labels = (0..n).map(|_| rng.gen_range(0..classes)).collect();
    TrainingSet::new(points, labels, classes).expect("random points are valid")
}

/// Draws `n` points on the 9 × 9 lattice of spacing 0.2 around the origin,
/// then their labels uniform over `classes`. Many distances then tie exactly.
pub fn lattice_training(rng: &mut ChaCha8Rng, n: usize, classes: usize) -> TrainingSet {
    let points = (0..n)
        .map(|_| {
            Point2::new(
                rng.gen_range(-4..=4) as f64 * 0.2,
                rng.gen_range(-4..=4) as f64 * 0.2,
            )
        })
        .collect();
    let labels = (0..n).map(|_| rng.gen_range(0..classes)).collect();
    TrainingSet::new(points, labels, classes).expect("lattice points are valid")
}

/// Draws one point uniform in [-1, 1]².
pub fn random_point(rng: &mut ChaCha8Rng) -> Point2<f64> {
    Point2::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0))
}

/// Returns soft-mode parameters.
pub fn soft(beta: f64, gamma: f64, k: usize) -> RawParams {
    RawParams {
        beta,
        gamma,
        k: k as i64,
        hard: false,
    }
}

/// Returns hard-mode parameters: β = γ = ∞.
pub fn hard(k: usize) -> RawParams {
    RawParams {
        beta: f64::INFINITY,
        gamma: f64::INFINITY,
        k: k as i64,
        hard: true,
    }
}

/// Builds a model, naming the parameters if they are rejected.
pub fn model_of(training: &TrainingSet, raw: RawParams, suppression: Suppression) -> Model<'_> {
    Model::new(training, raw)
        .unwrap_or_else(|error| panic!("Model::new rejected {raw:?}: {error}"))
        .with_suppression(suppression)
}
