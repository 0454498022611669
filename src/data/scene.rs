//! The scene: labelled points with the names needed to show them, the fit of
//! the points into the plot's domain, and slider ranges for β and γ derived
//! from the points' scale.

use nalgebra::Point2;

use crate::model::{ParamError, TrainingSet};

/// The plot's domain on each axis: the map shows `[-1, 1]²`.
pub const DOMAIN: (f64, f64) = (-1.0, 1.0);

/// Largest |coordinate| after [`Scene::standardise`]. The margin of 0.1
/// inside [`DOMAIN`] keeps points off the map's edge.
pub const FIT_RADIUS: f64 = 0.9;

/// Labelled points with their class names, axis labels and provenance.
///
/// Invariant: `labels.len() == points.len()`, and every label is below
/// `class_names.len()`. The table reader and the generators keep it.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    pub points: Vec<Point2<f64>>,
    /// Class index of each point, indexing `class_names`.
    pub labels: Vec<usize>,
    pub class_names: Vec<String>,
    pub x_label: String,
    pub y_label: String,
    /// One line: where the data came from and what was skipped.
    pub source: String,
}

/// Slider ranges for β and γ that suit a scene's scale.
///
/// β has units 1/distance² and γ has units distance², so neither has one
/// range that fits every data set. The hints use two lengths of the scene:
///
/// - `D²`, the squared diameter of the domain the points are shown in:
///   `[-R, R]²` with `R = max |coordinate| / 0.9`, so `D² = 8 R²`. For a
///   standardised scene `R = 1` and `D² = 8`, the squared diagonal of
///   [`DOMAIN`]. No squared distance between two points exceeds it.
/// - `m`, a typical squared nearest-neighbour distance: the median over the
///   training points of the squared distance to the nearest other point,
///   leaving out zeros from coincident points. If every point coincides with
///   another (or there is at most one), `m = D² / 200`, the squared spacing
///   of a 10 × 10 grid over the domain.
///
/// | Hint            | Value                     | Meaning                                                            |
/// | --------------- | ------------------------- | ------------------------------------------------------------------ |
/// | `beta_min`      | `0.01 / D²`               | all points weigh nearly the same: `β d ≤ 0.01` for every `d`       |
/// | `beta_default`  | `2 / m`                   | soft but local: a point farther by `m` in `d` weighs e⁻² as much   |
/// | `beta_max`      | `50 / m`, ≥ `100 beta_min` | a point farther by `m` weighs e⁻⁵⁰ as much: as sharp as hard mode |
/// | `gamma_min`     | `1e-3 · m`                | the penalty is a thousandth of a typical squared spacing           |
/// | `gamma_default` | `30 · m`, within the range | a picked point's penalty spans the gaps to the next few neighbours |
/// | `gamma_max`     | `2 · D²`                  | a selected point's penalty exceeds any gap in squared distance     |
///
/// Scaling every coordinate by `s` scales the β hints by `1 / s²` and the γ
/// hints by `s²`, so the sliders mean the same on every scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScaleHints {
    pub beta_min: f64,
    pub beta_default: f64,
    pub beta_max: f64,
    pub gamma_min: f64,
    pub gamma_default: f64,
    pub gamma_max: f64,
}

impl Scene {
    /// C, the number of classes: the length of `class_names`. A class may have no point.
    pub fn class_count(&self) -> usize {
        self.class_names.len()
    }

    /// Builds the model's training set from the scene's points and labels.
    ///
    /// # Errors
    /// [`ParamError::EmptyTrainingSet`] for a scene without points, and a
    /// coordinate error for a coordinate that is not finite or beyond ±1e150.
    ///
    /// # Panics
    /// If the scene breaks its invariant (a label without a class name, or
    /// label and point counts that differ). That is a programming error.
    pub fn training_set(&self) -> Result<TrainingSet, ParamError> {
        TrainingSet::new(self.points.clone(), self.labels.clone(), self.class_count())
    }

    /// Standardises the points to fit inside [`DOMAIN`].
    ///
    /// Each axis is z-scored, `(v − mean) / std` with the population standard
    /// deviation, and an axis with zero spread is only centred. Then both axes
    /// are scaled by one common factor so that the largest |coordinate| is
    /// [`FIT_RADIUS`]. The common factor keeps the axes comparable, so
    /// Euclidean distances weigh both features alike. The mean of each axis
    /// ends at zero. An empty scene is left unchanged.
    pub fn standardise(&mut self) {
        if self.points.is_empty() {
            return;
        }

        standardise_axis(&mut self.points, 0);
        standardise_axis(&mut self.points, 1);

        let largest = largest_abs_coordinate(&self.points);
        if largest > 0.0 {
            let factor = FIT_RADIUS / largest;
            for point in &mut self.points {
                *point = Point2::from(point.coords * factor);
            }
        }
    }

    /// Derives slider ranges for β and γ from the scene's scale, as [`ScaleHints`] explains.
    ///
    /// Nearest neighbours are found by brute force in O(N²) time: about 12.5
    /// million squared distances for 5000 points, the most a generator makes. All six hints
    /// are positive, and the tests check them finite for coordinate scales
    /// from 1e-6 to 1e6. Squared distances near f64's smallest positive
    /// values (about 1e-308) would make the β hints infinite.
    pub fn scale_hints(&self) -> ScaleHints {
        let largest = largest_abs_coordinate(&self.points);
        let half_width = if largest > 0.0 {
            largest / FIT_RADIUS
        } else {
            (DOMAIN.1 - DOMAIN.0) / 2.0
        };
        let diameter_squared = 2.0 * (2.0 * half_width).powi(2);
        let typical =
            median_nearest_squared_distance(&self.points).unwrap_or(diameter_squared / 200.0);

        let beta_min = 0.01 / diameter_squared;
        // Since no nearest-neighbour distance exceeds the diameter, 50 / m is
        // at least 50 / D², so the floor only guards the documented order.
        let beta_max = (50.0 / typical).max(100.0 * beta_min);
        ScaleHints {
            beta_min,
            beta_default: 2.0 / typical,
            beta_max,
            gamma_min: 1e-3 * typical,
            // Measured on iris and penguins at the default β: with γ = 30 m
            // the layers put more of their mass on the k-th nearest point
            // than with D² (which suppresses every point layer 1 touched) or
            // with 1 m (which lets layer 2 pick the nearest point again).
            gamma_default: (30.0 * typical).clamp(1e-3 * typical, 2.0 * diameter_squared),
            gamma_max: 2.0 * diameter_squared,
        }
    }
}

/// Z-scores one axis (0 for x, 1 for y). An axis whose values are all equal is set to zero.
fn standardise_axis(points: &mut [Point2<f64>], axis: usize) {
    let values = points.iter().map(|p| p[axis]);
    let min = values.clone().fold(f64::INFINITY, f64::min);
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if min == max {
        for point in points.iter_mut() {
            point[axis] = 0.0;
        }
        return;
    }

    let count = points.len() as f64;
    let mean = values.sum::<f64>() / count;
    // Deviations are divided by the largest one before squaring, so the sum
    // of squares stays finite for coordinates up to MAX_COORDINATE (1e150).
    let largest_deviation = (max - mean).max(mean - min);
    let mean_square = points
        .iter()
        .map(|p| ((p[axis] - mean) / largest_deviation).powi(2))
        .sum::<f64>()
        / count;
    let std = largest_deviation * mean_square.sqrt();

    for point in points.iter_mut() {
        point[axis] = (point[axis] - mean) / std;
    }
}

fn largest_abs_coordinate(points: &[Point2<f64>]) -> f64 {
    points
        .iter()
        .map(|p| p.x.abs().max(p.y.abs()))
        .fold(0.0, f64::max)
}

/// Returns the median of the nonzero squared nearest-neighbour distances, or
/// `None` if there is none (fewer than two points, or all coincide in pairs).
fn median_nearest_squared_distance(points: &[Point2<f64>]) -> Option<f64> {
    let mut nearest = vec![f64::INFINITY; points.len()];
    for i in 0..points.len() {
        for j in (i + 1)..points.len() {
            let distance = (points[i] - points[j]).norm_squared();
            nearest[i] = nearest[i].min(distance);
            nearest[j] = nearest[j].min(distance);
        }
    }

    let mut nonzero: Vec<f64> = nearest
        .into_iter()
        .filter(|&d| d > 0.0 && d.is_finite())
        .collect();
    if nonzero.is_empty() {
        return None;
    }
    nonzero.sort_by(f64::total_cmp);

    let middle = nonzero.len() / 2;
    let median = if nonzero.len() % 2 == 1 {
        nonzero[middle]
    } else {
        (nonzero[middle - 1] + nonzero[middle]) / 2.0
    };
    Some(median)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn scene_of(points: &[(f64, f64)], labels: &[usize], classes: usize) -> Scene {
        Scene {
            points: points.iter().map(|&(x, y)| Point2::new(x, y)).collect(),
            labels: labels.to_vec(),
            class_names: (1..=classes).map(|c| format!("class {c}")).collect(),
            x_label: "x1".to_string(),
            y_label: "x2".to_string(),
            source: "test".to_string(),
        }
    }

    fn random_scene(seed: u64, count: usize) -> Scene {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let points: Vec<(f64, f64)> = (0..count)
            .map(|_| (rng.gen_range(-40.0..90.0), rng.gen_range(3.0..3.5)))
            .collect();
        let labels: Vec<usize> = (0..count).map(|n| n % 2).collect();
        scene_of(&points, &labels, 2)
    }

    fn scaled(scene: &Scene, factor: f64) -> Scene {
        let mut copy = scene.clone();
        for point in &mut copy.points {
            *point = Point2::from(point.coords * factor);
        }
        copy
    }

    fn assert_close(actual: f64, expected: f64, case: &str) {
        let tolerance = 1e-12 * expected.abs().max(1e-300);
        assert!(
            (actual - expected).abs() <= tolerance,
            "{case}: got {actual}, expected {expected}"
        );
    }

    fn assert_ordered(hints: ScaleHints, case: &str) {
        let all = [
            hints.beta_min,
            hints.beta_default,
            hints.beta_max,
            hints.gamma_min,
            hints.gamma_default,
            hints.gamma_max,
        ];
        assert!(
            all.iter().all(|h| h.is_finite() && *h > 0.0),
            "{case}: {hints:?}"
        );
        assert!(hints.beta_min < hints.beta_default, "{case}: {hints:?}");
        assert!(hints.beta_default < hints.beta_max, "{case}: {hints:?}");
        assert!(hints.gamma_min < hints.gamma_default, "{case}: {hints:?}");
        assert!(hints.gamma_default < hints.gamma_max, "{case}: {hints:?}");
    }

    #[test]
    fn standardise_hand_checked_line() {
        // x = 1, 2, 3, 4 has mean 2.5 and z-scores proportional to −3, −1, 1, 3,
        // so the common factor maps them to −0.9, −0.3, 0.3, 0.9.
        let mut scene = scene_of(
            &[(1.0, 10.0), (2.0, 10.0), (3.0, 10.0), (4.0, 10.0)],
            &[0, 0, 1, 1],
            2,
        );
        scene.standardise();

        let xs: Vec<f64> = scene.points.iter().map(|p| p.x).collect();
        for (actual, expected) in xs.iter().zip([-0.9, -0.3, 0.3, 0.9]) {
            assert!(
                (actual - expected).abs() < 1e-15,
                "x {actual} vs {expected}"
            );
        }
        assert!(
            scene.points.iter().all(|p| p.y == 0.0),
            "constant y is centred"
        );
    }

    #[test]
    fn standardise_matches_direct_z_scores() {
        let original = random_scene(7, 300);
        let mut scene = original.clone();
        scene.standardise();

        let n = original.points.len() as f64;
        let z_scores = |axis: usize| -> Vec<f64> {
            let mean = original.points.iter().map(|p| p[axis]).sum::<f64>() / n;
            let variance = original
                .points
                .iter()
                .map(|p| (p[axis] - mean).powi(2))
                .sum::<f64>()
                / n;
            original
                .points
                .iter()
                .map(|p| (p[axis] - mean) / variance.sqrt())
                .collect()
        };
        let (zx, zy) = (z_scores(0), z_scores(1));
        let largest = zx.iter().chain(&zy).fold(0.0_f64, |m, z| m.max(z.abs()));
        let factor = 0.9 / largest;

        for (n, point) in scene.points.iter().enumerate() {
            assert!((point.x - zx[n] * factor).abs() < 1e-12, "x of point {n}");
            assert!((point.y - zy[n] * factor).abs() < 1e-12, "y of point {n}");
        }
    }

    #[test]
    fn standardise_gives_zero_mean_and_fit() {
        for seed in 0..20 {
            let mut scene = random_scene(seed, 1 + seed as usize * 13);
            scene.standardise();

            let n = scene.points.len() as f64;
            let mean_x = scene.points.iter().map(|p| p.x).sum::<f64>() / n;
            let mean_y = scene.points.iter().map(|p| p.y).sum::<f64>() / n;
            assert!(mean_x.abs() < 1e-12, "seed {seed}: mean x {mean_x}");
            assert!(mean_y.abs() < 1e-12, "seed {seed}: mean y {mean_y}");

            let largest = largest_abs_coordinate(&scene.points);
            let expected = if scene.points.len() == 1 { 0.0 } else { 0.9 };
            assert!(
                (largest - expected).abs() < 1e-12,
                "seed {seed}: largest |coordinate| {largest}"
            );
        }
    }

    #[test]
    fn standardise_extreme_scales() {
        for scale in [1e-6, 1e6, 1e150] {
            let mut scene = scaled(&random_scene(3, 50), scale / 100.0);
            scene.standardise();
            let largest = largest_abs_coordinate(&scene.points);
            assert!((largest - 0.9).abs() < 1e-12, "scale {scale}: {largest}");
        }
    }

    #[test]
    fn standardise_coincident_points_to_origin() {
        let mut scene = scene_of(&[(0.1, 5.0), (0.1, 5.0), (0.1, 5.0)], &[0, 1, 0], 2);
        scene.standardise();
        assert!(scene.points.iter().all(|p| p.x == 0.0 && p.y == 0.0));
    }

    #[test]
    fn standardise_empty_scene_unchanged() {
        let mut scene = scene_of(&[], &[], 2);
        scene.standardise();
        assert!(scene.points.is_empty());
    }

    #[test]
    fn training_set_keeps_points_and_classes() {
        let scene = scene_of(&[(0.0, 0.0), (1.0, 0.5)], &[0, 2], 3);
        let training = scene.training_set().expect("valid scene");
        assert_eq!(training.len(), 2);
        assert_eq!(training.classes(), 3);
        assert_eq!(training.labels(), &[0, 2]);
    }

    #[test]
    fn training_set_of_empty_scene_fails() {
        let scene = scene_of(&[], &[], 2);
        assert_eq!(scene.training_set(), Err(ParamError::EmptyTrainingSet));
    }

    #[test]
    fn scale_hints_hand_checked() {
        // Nearest squared distances of 0, 1 and 3 on a line are 1, 1 and 4:
        // median m = 1. The largest coordinate 3 gives R = 3 / 0.9 and D² = 8 R².
        let scene = scene_of(&[(0.0, 0.0), (1.0, 0.0), (3.0, 0.0)], &[0, 1, 0], 2);
        let hints = scene.scale_hints();
        let diameter_squared = 8.0 * (3.0_f64 / 0.9).powi(2);

        assert_close(hints.beta_min, 0.01 / diameter_squared, "beta_min");
        assert_close(hints.beta_default, 2.0, "beta_default");
        assert_close(hints.beta_max, 50.0, "beta_max");
        assert_close(hints.gamma_min, 1e-3, "gamma_min");
        assert_close(hints.gamma_default, 30.0, "gamma_default");
        assert_close(hints.gamma_max, 2.0 * diameter_squared, "gamma_max");
    }

    #[test]
    fn scale_hints_standardised_domain_is_eight() {
        let mut scene = random_scene(11, 100);
        scene.standardise();
        let hints = scene.scale_hints();
        assert_close(hints.beta_min, 0.01 / 8.0, "beta_min");
        assert_close(hints.gamma_max, 16.0, "gamma_max");
    }

    #[test]
    fn scale_hints_median_skips_coincident_points() {
        // Points 0 and 1 coincide, so their nearest squared distance 0 is left
        // out. Points 2 and 3 are 0.25 apart (squared 0.0625).
        let scene = scene_of(
            &[(0.5, 0.5), (0.5, 0.5), (-0.5, 0.0), (-0.25, 0.0)],
            &[0, 1, 0, 1],
            2,
        );
        assert_close(
            scene.scale_hints().beta_default,
            2.0 / 0.0625,
            "beta_default",
        );
    }

    #[test]
    fn scale_hints_fall_back_when_all_coincide() {
        let scene = scene_of(&[(0.45, 0.45), (0.45, 0.45)], &[0, 1], 2);
        let hints = scene.scale_hints();
        let diameter_squared = 8.0 * 0.5_f64.powi(2);

        assert_close(
            hints.beta_default,
            2.0 * 200.0 / diameter_squared,
            "beta_default",
        );
        assert_ordered(hints, "coincident points");
    }

    #[test]
    fn scale_hints_ordered_on_edge_cases() {
        assert_ordered(scene_of(&[], &[], 2).scale_hints(), "empty scene");
        assert_ordered(scene_of(&[(0.0, 0.0)], &[0], 2).scale_hints(), "origin");
        assert_ordered(scene_of(&[(3.0, -1.0)], &[0], 2).scale_hints(), "one point");
        for seed in 0..5 {
            let scene = random_scene(seed, 200);
            assert_ordered(scene.scale_hints(), &format!("seed {seed}"));
        }
    }

    #[test]
    fn scale_hints_follow_scene_scale() {
        let mut scene = random_scene(5, 400);
        scene.standardise();
        let hints = scene.scale_hints();

        for factor in [1e-6, 1e-3, 0.5, 3.0, 1e4, 1e6] {
            let scaled_hints = scaled(&scene, factor).scale_hints();
            let s2 = factor * factor;
            let case = |name: &str| format!("{name} at scale {factor}");

            assert_close(
                scaled_hints.beta_min * s2,
                hints.beta_min,
                &case("beta_min"),
            );
            assert_close(
                scaled_hints.beta_default * s2,
                hints.beta_default,
                &case("beta_default"),
            );
            assert_close(
                scaled_hints.beta_max * s2,
                hints.beta_max,
                &case("beta_max"),
            );
            assert_close(
                scaled_hints.gamma_min / s2,
                hints.gamma_min,
                &case("gamma_min"),
            );
            assert_close(
                scaled_hints.gamma_default / s2,
                hints.gamma_default,
                &case("gamma_default"),
            );
            assert_close(
                scaled_hints.gamma_max / s2,
                hints.gamma_max,
                &case("gamma_max"),
            );
            assert_ordered(scaled_hints, &case("hints"));
        }
    }

    /// Asserts that a scene is centred with its largest |coordinate| at 0.9.
    pub(in crate::data) fn assert_standardised(scene: &Scene, name: &str) {
        let n = scene.points.len() as f64;
        let mean_x = scene.points.iter().map(|p| p.x).sum::<f64>() / n;
        let mean_y = scene.points.iter().map(|p| p.y).sum::<f64>() / n;
        let largest = scene
            .points
            .iter()
            .map(|p| p.x.abs().max(p.y.abs()))
            .fold(0.0, f64::max);

        assert!(mean_x.abs() < 1e-12, "{name}: mean x {mean_x}");
        assert!(mean_y.abs() < 1e-12, "{name}: mean y {mean_y}");
        assert!((largest - 0.9).abs() < 1e-12, "{name}: {largest}");
    }
}
