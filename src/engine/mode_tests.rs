//! Tests of both map engines under the multiplicative suppression rule, and
//! of the focus activations `h^k_focus`, against the f64 reference
//! `Model::trace` and, in hard mode, a brute-force k-th nearest search.

use nalgebra::Point2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tests::{compare_with_reference, random_training};
use super::{DirectEngine, FastEngine, Grid, MapEngine, MapOutput};
use crate::model::{Model, RawParams, Suppression, TrainingSet};
use crate::test_support::{hard, lattice_training, soft};

/// β from uniform layers to far beyond the scale of the plot domain [-1, 1]².
const BETAS: [f64; 7] = [0.0, 1e-2, 1.0, 30.0, 1e3, 1e5, 1e8];

/// Runs `engine` with the multiplicative rule over seeded scenes at every β
/// of [`BETAS`] and K ∈ {1, 5, 30}, and asserts that every probability is
/// within 1e-4 of the reference outside the ill-conditioned cells.
///
/// γ is 5 throughout: the rule must ignore it.
fn assert_multiplicative_matches_reference(engine: &mut dyn MapEngine, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut worst: f64 = 0.0;
    let mut unstable = 0;
    let mut compared = 0;
    for &beta in &BETAS {
        for _ in 0..3 {
            let points = rng.gen_range(2..60);
            let training = random_training(&mut rng, points, 3);
            for k in [1, points.min(5), points.min(30)] {
                let raw = soft(beta, 5.0, k);
                let model = Model::new(&training, raw)
                    .unwrap()
                    .with_suppression(Suppression::Multiplicative);
                // 20 cells a side: two full tiles and a partial one per row.
                let comparison = compare_with_reference(engine, &model, 20, None);
                assert!(
                    comparison.worst <= 1e-4,
                    "error {} at {raw:?} with {points} points",
                    comparison.worst
                );
                worst = worst.max(comparison.worst);
                unstable += comparison.unstable_cells;
                compared += comparison.cells;
            }
        }
    }
    eprintln!("largest error {worst:e}; {unstable} of {compared} cells ill-conditioned");
    // The left-out cells must stay a small share, or the check would prove little.
    assert!(
        unstable * 20 < compared,
        "{unstable} of {compared} cells unstable"
    );
}

#[test]
fn direct_multiplicative_matches_reference() {
    assert_multiplicative_matches_reference(&mut DirectEngine::default(), 31);
}

#[test]
fn fast_multiplicative_matches_reference() {
    assert_multiplicative_matches_reference(&mut FastEngine::default(), 32);
}

/// Returns the focus points of a test: the first and last training points
/// and the one nearest the origin, which every tile keeps at small β.
fn focus_points(training: &TrainingSet) -> Vec<usize> {
    let nearest_origin = (0..training.len())
        .min_by(|&a, &b| {
            let norm = |n: usize| training.points()[n].coords.norm_squared();
            norm(a).total_cmp(&norm(b))
        })
        .unwrap();
    vec![0, training.len() - 1, nearest_origin]
}

/// Asserts that `engine`'s focus activations are within `tolerance` of
/// `trace.layers[k].activation[focus]` for each case, with the same
/// exclusion of ill-conditioned cells as the vote comparisons.
fn assert_focus_matches_reference(
    engine: &mut dyn MapEngine,
    cases: &[(Suppression, RawParams)],
    tolerance: f64,
    seed: u64,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut worst: f64 = 0.0;
    let mut unstable = 0;
    let mut compared = 0;
    for &(suppression, raw) in cases {
        let points = rng.gen_range(30..50);
        let training = random_training(&mut rng, points, 3);
        let model = Model::new(&training, raw)
            .unwrap()
            .with_suppression(suppression);
        for focus in focus_points(&training) {
            let comparison = compare_with_reference(engine, &model, 20, Some(focus));
            assert!(
                comparison.worst_activation <= tolerance,
                "activation error {} of point {focus} at {raw:?}, {suppression:?}",
                comparison.worst_activation
            );
            assert!(
                comparison.worst <= tolerance,
                "vote error {} with focus {focus} at {raw:?}, {suppression:?}",
                comparison.worst
            );
            worst = worst.max(comparison.worst_activation);
            unstable += comparison.unstable_cells;
            compared += comparison.cells;
        }
    }
    eprintln!("largest activation error {worst:e}; {unstable} of {compared} cells ill-conditioned");
    assert!(
        unstable * 20 < compared,
        "{unstable} of {compared} cells unstable"
    );
}

#[test]
fn fast_focus_matches_reference() {
    use Suppression::{Additive, Multiplicative};
    let cases = [
        (Additive, soft(0.0, 1.0, 3)),
        (Additive, soft(30.0, 1.0, 5)),
        (Additive, soft(1e3, 0.05, 5)),
        (Additive, soft(1e5, 16.0, 5)),
        (Multiplicative, soft(0.0, 0.0, 3)),
        (Multiplicative, soft(1.0, 0.0, 5)),
        (Multiplicative, soft(30.0, 0.0, 30)),
        (Multiplicative, soft(1e3, 0.0, 5)),
        (Multiplicative, soft(1e8, 0.0, 5)),
    ];
    assert_focus_matches_reference(&mut FastEngine::default(), &cases, 1e-4, 41);
}

#[test]
fn direct_focus_matches_reference() {
    use Suppression::{Additive, Multiplicative};
    // The additive rule runs in f32 here, which the direct engine's tests
    // bound only where β·γ ≤ 1.
    let cases = [
        (Additive, soft(0.0, 1.0, 3)),
        (Additive, soft(1.0, 0.5, 5)),
        (Additive, soft(30.0, 0.02, 5)),
        (Additive, soft(1e3, 1e-3, 3)),
        (Multiplicative, soft(1.0, 0.0, 5)),
        (Multiplicative, soft(30.0, 0.0, 30)),
        (Multiplicative, soft(1e5, 0.0, 5)),
    ];
    assert_focus_matches_reference(&mut DirectEngine::default(), &cases, 1e-4, 42);
}

#[test]
fn hard_focus_matches_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(43);
    for _ in 0..4 {
        let points = rng.gen_range(2..40);
        let training = random_training(&mut rng, points, 3);
        let k = rng.gen_range(1..=points);
        // Hard mode ignores the rule, so the multiplicative one must give the same maps.
        for suppression in [Suppression::Additive, Suppression::Multiplicative] {
            let model = Model::new(&training, hard(k))
                .unwrap()
                .with_suppression(suppression);
            for focus in focus_points(&training) {
                let engines: [&mut dyn MapEngine; 2] =
                    [&mut DirectEngine::default(), &mut FastEngine::default()];
                for engine in engines {
                    // Random points almost surely have no distance ties closer
                    // than f32 can resolve, so every activation is exact.
                    let comparison = compare_with_reference(engine, &model, 12, Some(focus));
                    assert_eq!(
                        comparison.worst_activation, 0.0,
                        "focus {focus}, k = {k}, {points} points"
                    );
                }
            }
        }
    }
}

#[test]
fn focus_leaves_votes_unchanged() {
    let mut rng = ChaCha8Rng::seed_from_u64(44);
    let training = random_training(&mut rng, 40, 3);
    let grid = Grid::square((-1.0, 1.0), 20);
    for suppression in [Suppression::Additive, Suppression::Multiplicative] {
        for raw in [soft(30.0, 1.0, 4), soft(1e4, 1.0, 4), hard(4)] {
            let model = Model::new(&training, raw)
                .unwrap()
                .with_suppression(suppression);
            // A fresh engine for each map: the fast engine's candidate margin
            // carries over from one map to the next and changes the last digit.
            let fresh_engines = || -> [Box<dyn MapEngine>; 2] {
                [
                    Box::new(DirectEngine::default()),
                    Box::new(FastEngine::default()),
                ]
            };
            for (mut plain_engine, mut focused_engine) in
                fresh_engines().into_iter().zip(fresh_engines())
            {
                let mut plain = MapOutput::new(grid, 3, 4, true);
                let mut focused = MapOutput::new(grid, 3, 4, true).with_focus(Some(7));
                plain_engine.evaluate(&model, &mut plain);
                focused_engine.evaluate(&model, &mut focused);
                assert!(
                    plain.output == focused.output,
                    "outputs differ at {raw:?}, {suppression:?}"
                );
                assert!(
                    plain.layer_votes == focused.layer_votes,
                    "layer votes differ at {raw:?}, {suppression:?}"
                );
                assert!(plain.activations.is_empty(), "no focus, no activations");
            }
        }
    }
}

/// Returns the position of `focus` when the training points are ordered by
/// squared distance to `query`, ties by the lower index: hard mode's layer
/// `rank + 1` selects it. Counts the points ahead of it instead of sorting.
fn brute_force_rank(training: &TrainingSet, focus: usize, query: Point2<f64>) -> usize {
    let distance = |n: usize| nalgebra::distance_squared(&training.points()[n], &query);
    let own = distance(focus);
    (0..training.len())
        .filter(|&m| distance(m) < own || (distance(m) == own && m < focus))
        .count()
}

/// Asserts that in hard mode the activation of every training point in
/// layer k is 1 exactly on the cells where it is the k-th nearest and 0
/// elsewhere: a k-th order Voronoi cell.
fn assert_hard_activations_are_voronoi_cells(
    engine: &mut dyn MapEngine,
    training: &TrainingSet,
    k: usize,
    grid: Grid,
) {
    let model = Model::new(training, hard(k)).unwrap();
    let mut nonempty_cells = 0;
    for focus in 0..training.len() {
        let mut out = MapOutput::new(grid, training.classes(), k, false).with_focus(Some(focus));
        engine.evaluate(&model, &mut out);
        for row in 0..grid.rows {
            for column in 0..grid.columns {
                let cell = row * grid.columns + column;
                let rank = brute_force_rank(training, focus, grid.cell_centre(column, row));
                for layer in 0..k {
                    let expected = if rank == layer { 1.0 } else { 0.0 };
                    let got = out.activation(layer).unwrap()[cell];
                    assert_eq!(
                        got,
                        expected,
                        "point {focus}, layer {}, cell ({column}, {row}), rank {rank}",
                        layer + 1
                    );
                    if got == 1.0 {
                        nonempty_cells += 1;
                    }
                }
            }
        }
    }
    // Every cell has one k-th nearest point in each layer.
    assert_eq!(
        nonempty_cells,
        grid.cells() * k,
        "cells of all Voronoi regions"
    );
}

#[test]
fn fast_hard_focus_gives_voronoi_cells_with_ties() {
    let mut rng = ChaCha8Rng::seed_from_u64(45);
    for _ in 0..3 {
        // Points on a coarse lattice, with cell centres on a finer one, so
        // that many distances tie exactly and the tie-break by index shows.
        let points = rng.gen_range(2..25);
        let training = lattice_training(&mut rng, points, 3);
        let k = rng.gen_range(1..=points.min(6));
        let grid = Grid::square((-1.0, 1.0), 10);
        assert_hard_activations_are_voronoi_cells(&mut FastEngine::default(), &training, k, grid);
    }
}

#[test]
fn direct_hard_focus_gives_voronoi_cells() {
    let mut rng = ChaCha8Rng::seed_from_u64(46);
    for _ in 0..3 {
        let points = rng.gen_range(2..25);
        let training = random_training(&mut rng, points, 3);
        let k = rng.gen_range(1..=points.min(6));
        // The direct engine ranks by f32 distances; random points almost
        // surely have no ties closer than f32 can resolve.
        let grid = Grid::square((-1.0, 1.0), 16);
        assert_hard_activations_are_voronoi_cells(&mut DirectEngine::default(), &training, k, grid);
    }
}
