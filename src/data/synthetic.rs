//! Seeded synthetic data sets. Every generator shares the signature of
//! [`generate`]: a kind and a [`SyntheticSpec`] in, a standardised [`Scene`] out.
//!
//! Each pattern is drawn at a radius of about 1, Gaussian jitter of standard
//! deviation `noise` is added to both coordinates, and the scene is then
//! standardised into the plot's domain (see [`Scene::standardise`]). Point
//! `i` has class `i mod classes`, so the classes are balanced and interleaved
//! in drawing order.
//!
//! The points depend only on the spec, through `ChaCha8Rng` seeded with
//! `spec.seed`. The same seed gives the same points as long as the versions
//! of `rand` (0.8) and `rand_distr` (0.4) stay the same, because their
//! sampling algorithms define the mapping from random bits to points.

use std::f64::consts::{PI, TAU};

use nalgebra::Point2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::palette::MAX_CLASSES;
use super::scene::Scene;

/// Minimum number of classes a generator makes.
pub const MIN_CLASSES: usize = 2;

/// Maximum number of points a generator makes. Scale hints and maps are
/// computed by brute force over the points, so their cost grows with it.
pub const MAX_SIZE: usize = 5000;

/// Standard deviation of each Gaussian blob before jitter.
const BLOB_SPREAD: f64 = 0.25;

/// Horizontal distance between the centres of neighbouring moons.
const MOON_STEP: f64 = 1.25;

/// Turns of each spiral arm from the centre to radius 1.
const SPIRAL_TURNS: f64 = 1.75;

/// The shape of a synthetic data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyntheticKind {
    /// One Gaussian blob per class, centred on a circle at a seeded rotation.
    Blobs,
    /// Interlocking half circles. Two classes give the familiar two moons,
    /// and each further class adds a moon to the chain, alternately opening
    /// downwards and upwards, interlocked with its neighbour.
    Moons,
    /// Concentric rings, one per class, with radii `1/C, 2/C, …, 1`.
    Circles,
    /// A `C × C` checkerboard over `[-1, 1]²` in which cell `(row, column)`
    /// has class `(row + column) mod C`. For two classes this is XOR of the
    /// signs of x and y, and for more it is a generalisation in which no two
    /// adjacent cells share a class.
    Xor,
    /// One spiral arm per class, the arms rotated evenly about the centre.
    Spiral,
    /// Uniform points in `[-1, 1]²` with labels independent of position. The
    /// `noise` setting has no effect here.
    Noise,
}

impl SyntheticKind {
    /// Every kind, in the order the app lists them.
    pub const ALL: [SyntheticKind; 6] = [
        SyntheticKind::Blobs,
        SyntheticKind::Moons,
        SyntheticKind::Circles,
        SyntheticKind::Xor,
        SyntheticKind::Spiral,
        SyntheticKind::Noise,
    ];

    /// Lowercase identifier for links and the command line, such as `"moons"`.
    pub fn name(self) -> &'static str {
        match self {
            SyntheticKind::Blobs => "blobs",
            SyntheticKind::Moons => "moons",
            SyntheticKind::Circles => "circles",
            SyntheticKind::Xor => "xor",
            SyntheticKind::Spiral => "spiral",
            SyntheticKind::Noise => "noise",
        }
    }

    /// Display name, such as `"Two moons"`.
    pub fn label(self) -> &'static str {
        match self {
            SyntheticKind::Blobs => "Gaussian blobs",
            SyntheticKind::Moons => "Two moons",
            SyntheticKind::Circles => "Concentric circles",
            SyntheticKind::Xor => "XOR",
            SyntheticKind::Spiral => "Spiral",
            SyntheticKind::Noise => "Uniform noise",
        }
    }

    /// Finds the kind whose [`name`](Self::name) is `name`.
    pub fn from_name(name: &str) -> Option<SyntheticKind> {
        SyntheticKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// Settings of a synthetic data set, as the controls deliver them.
///
/// [`generate`] first brings each value into its range (see
/// [`SyntheticSpec::clamped`]), so any values are accepted.
///
/// | Name      | Default | Purpose                                               | Range                  |
/// | --------- | ------- | ----------------------------------------------------- | ---------------------- |
/// | `seed`    | 1       | seed of the random number generator                   | any `u64`              |
/// | `size`    | 200     | number of points                                      | `classes ..= 5000`     |
/// | `classes` | 2       | number of classes                                     | `2 ..= 6`              |
/// | `noise`   | 0.1     | standard deviation of the jitter, relative to a pattern radius of 1 | `0 ..= 1` |
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SyntheticSpec {
    pub seed: u64,
    pub size: usize,
    pub classes: usize,
    pub noise: f64,
}

impl Default for SyntheticSpec {
    fn default() -> SyntheticSpec {
        SyntheticSpec {
            seed: 1,
            size: 200,
            classes: 2,
            noise: 0.1,
        }
    }
}

impl SyntheticSpec {
    /// Returns the spec with every value clamped into its range.
    ///
    /// `classes` is clamped to `2 ..= 6`, because six is the number of class
    /// colours. `size` is clamped to `classes ..= 5000`, so every class gets
    /// at least one point. `noise` is clamped to `0 ..= 1`, and NaN becomes 0.
    pub fn clamped(self) -> SyntheticSpec {
        let classes = self.classes.clamp(MIN_CLASSES, MAX_CLASSES);
        let noise = if self.noise.is_nan() {
            0.0
        } else {
            self.noise.clamp(0.0, 1.0)
        };
        SyntheticSpec {
            seed: self.seed,
            size: self.size.clamp(classes, MAX_SIZE),
            classes,
            noise,
        }
    }
}

/// Generates a standardised scene of the given kind.
///
/// The scene has exactly `size` points after [`SyntheticSpec::clamped`],
/// every class has at least one, and the largest |coordinate| is 0.9 up to
/// rounding. Class names are "class 1", "class 2", …, and the axes are "x1"
/// and "x2".
pub fn generate(kind: SyntheticKind, spec: &SyntheticSpec) -> Scene {
    let spec = spec.clamped();
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let blob_rotation = match kind {
        SyntheticKind::Blobs => rng.gen_range(0.0..TAU),
        _ => 0.0,
    };

    let mut points = Vec::with_capacity(spec.size);
    let mut labels = Vec::with_capacity(spec.size);
    for index in 0..spec.size {
        let class = index % spec.classes;
        let point = match kind {
            SyntheticKind::Blobs => blob_point(class, spec.classes, blob_rotation, &mut rng),
            SyntheticKind::Moons => moon_point(class, &mut rng),
            SyntheticKind::Circles => circle_point(class, spec.classes, &mut rng),
            SyntheticKind::Xor => checkerboard_point(class, spec.classes, &mut rng),
            SyntheticKind::Spiral => spiral_point(class, spec.classes, &mut rng),
            SyntheticKind::Noise => uniform_point(&mut rng),
        };
        let point = match kind {
            SyntheticKind::Noise => point,
            _ => point + spec.noise * standard_normal_vector(&mut rng),
        };
        points.push(point);
        labels.push(class);
    }

    let mut scene = Scene {
        points,
        labels,
        class_names: (1..=spec.classes).map(|c| format!("class {c}")).collect(),
        x_label: "x1".to_string(),
        y_label: "x2".to_string(),
        source: format!(
            "{} (generated): seed {}, {} points, {} classes, noise {:.2}",
            kind.label(),
            spec.seed,
            spec.size,
            spec.classes,
            spec.noise
        ),
    };
    scene.standardise();
    scene
}

fn standard_normal_vector(rng: &mut ChaCha8Rng) -> nalgebra::Vector2<f64> {
    nalgebra::Vector2::new(rng.sample(StandardNormal), rng.sample(StandardNormal))
}

fn blob_point(class: usize, classes: usize, rotation: f64, rng: &mut ChaCha8Rng) -> Point2<f64> {
    let angle = rotation + TAU * class as f64 / classes as f64;
    Point2::new(angle.cos(), angle.sin()) + BLOB_SPREAD * standard_normal_vector(rng)
}

/// Even classes are upper half circles centred at `(1.25 c, 0)`, odd ones
/// lower half circles centred at `(1.25 c, 0.5)`. Each tip then lies inside
/// the neighbouring moon's hollow.
fn moon_point(class: usize, rng: &mut ChaCha8Rng) -> Point2<f64> {
    let t: f64 = rng.gen_range(0.0..=PI);
    let centre_x = MOON_STEP * class as f64;
    if class.is_multiple_of(2) {
        Point2::new(centre_x + t.cos(), t.sin())
    } else {
        Point2::new(centre_x - t.cos(), 0.5 - t.sin())
    }
}

fn circle_point(class: usize, classes: usize, rng: &mut ChaCha8Rng) -> Point2<f64> {
    let radius = (class + 1) as f64 / classes as f64;
    let angle: f64 = rng.gen_range(0.0..TAU);
    Point2::new(radius * angle.cos(), radius * angle.sin())
}

/// Draws a uniform point in a random cell of the class: the cell's column
/// follows from its row, because `(row + column) mod C` must be the class.
fn checkerboard_point(class: usize, classes: usize, rng: &mut ChaCha8Rng) -> Point2<f64> {
    let row = rng.gen_range(0..classes);
    let column = (class + classes - row) % classes;
    let cell_width = 2.0 / classes as f64;
    let x = -1.0 + (column as f64 + rng.gen_range(0.0..1.0)) * cell_width;
    let y = -1.0 + (row as f64 + rng.gen_range(0.0..1.0)) * cell_width;
    Point2::new(x, y)
}

/// Draws a point on arm `class`: at radius `t` the arm has turned
/// `SPIRAL_TURNS · t` times, starting from the arm's own angle.
fn spiral_point(class: usize, classes: usize, rng: &mut ChaCha8Rng) -> Point2<f64> {
    let t: f64 = rng.gen_range(0.0..1.0);
    let angle = SPIRAL_TURNS * TAU * t + TAU * class as f64 / classes as f64;
    Point2::new(t * angle.cos(), t * angle.sin())
}

fn uniform_point(rng: &mut ChaCha8Rng) -> Point2<f64> {
    Point2::new(rng.gen_range(-1.0..1.0), rng.gen_range(-1.0..1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::scene::tests::assert_standardised;
    use crate::data::scene::DOMAIN;

    fn spec(seed: u64, size: usize, classes: usize, noise: f64) -> SyntheticSpec {
        SyntheticSpec {
            seed,
            size,
            classes,
            noise,
        }
    }

    /// Share of points whose nearest other point (brute force) has the same class.
    fn leave_one_out_1nn_accuracy(scene: &Scene) -> f64 {
        let n = scene.points.len();
        let mut correct = 0;
        for i in 0..n {
            let nearest = (0..n)
                .filter(|&j| j != i)
                .min_by(|&a, &b| {
                    let da = (scene.points[a] - scene.points[i]).norm_squared();
                    let db = (scene.points[b] - scene.points[i]).norm_squared();
                    da.total_cmp(&db)
                })
                .expect("at least two points");
            if scene.labels[nearest] == scene.labels[i] {
                correct += 1;
            }
        }
        correct as f64 / n as f64
    }

    #[test]
    fn same_seed_same_scene() {
        for kind in SyntheticKind::ALL {
            let first = generate(kind, &spec(42, 150, 3, 0.2));
            let second = generate(kind, &spec(42, 150, 3, 0.2));
            assert_eq!(first, second, "{}", kind.name());
        }
    }

    #[test]
    fn different_seed_different_points() {
        for kind in SyntheticKind::ALL {
            let first = generate(kind, &spec(1, 150, 3, 0.2));
            let second = generate(kind, &spec(2, 150, 3, 0.2));
            assert_ne!(first.points, second.points, "{}", kind.name());
        }
    }

    #[test]
    fn generators_fill_every_class_inside_domain() {
        for kind in SyntheticKind::ALL {
            for classes in MIN_CLASSES..=MAX_CLASSES {
                for size in [classes, 7, 200, MAX_SIZE] {
                    let scene = generate(kind, &spec(9, size, classes, 0.3));
                    let case = format!("{} with {classes} classes, size {size}", kind.name());
                    let expected_size = size.max(classes);

                    assert_eq!(scene.points.len(), expected_size, "{case}");
                    assert_eq!(scene.labels.len(), expected_size, "{case}");
                    assert_eq!(scene.class_count(), classes, "{case}");
                    assert!(scene.labels.iter().all(|&c| c < classes), "{case}");
                    for class in 0..classes {
                        assert!(
                            scene.labels.contains(&class),
                            "{case}: class {class} missing"
                        );
                    }
                    for point in &scene.points {
                        let inside = |v: f64| DOMAIN.0 <= v && v <= DOMAIN.1;
                        assert!(inside(point.x), "{case}: x of {point}");
                        assert!(inside(point.y), "{case}: y of {point}");
                    }
                }
            }
        }
    }

    #[test]
    fn generators_keep_classes_balanced() {
        let scene = generate(SyntheticKind::Circles, &spec(3, 20, 3, 0.0));
        let counts: Vec<usize> = (0..3)
            .map(|c| scene.labels.iter().filter(|&&l| l == c).count())
            .collect();
        assert_eq!(counts, [7, 7, 6]);
    }

    #[test]
    fn generated_scene_is_standardised() {
        for kind in SyntheticKind::ALL {
            let scene = generate(kind, &spec(5, 300, 4, 0.1));
            assert_standardised(&scene, kind.name());
        }
    }

    #[test]
    fn structured_kinds_separable_by_1nn() {
        let structured = [
            SyntheticKind::Blobs,
            SyntheticKind::Moons,
            SyntheticKind::Circles,
            SyntheticKind::Xor,
            SyntheticKind::Spiral,
        ];
        for kind in structured {
            for classes in [2, 3] {
                let scene = generate(kind, &spec(4, 400, classes, 0.0));
                let accuracy = leave_one_out_1nn_accuracy(&scene);
                assert!(
                    accuracy > 0.85,
                    "{} with {classes} classes: 1-NN accuracy {accuracy}",
                    kind.name()
                );
            }
        }
    }

    #[test]
    fn uniform_noise_not_separable_by_1nn() {
        let scene = generate(SyntheticKind::Noise, &spec(4, 400, 2, 0.0));
        let accuracy = leave_one_out_1nn_accuracy(&scene);
        assert!(accuracy < 0.65, "1-NN accuracy {accuracy}");
    }

    #[test]
    fn noise_blurs_moons() {
        let sharp = generate(SyntheticKind::Moons, &spec(8, 400, 2, 0.0));
        let blurred = generate(SyntheticKind::Moons, &spec(8, 400, 2, 1.0));
        let sharp_accuracy = leave_one_out_1nn_accuracy(&sharp);
        let blurred_accuracy = leave_one_out_1nn_accuracy(&blurred);
        assert!(
            blurred_accuracy < sharp_accuracy - 0.1,
            "noise 0: {sharp_accuracy}, noise 1: {blurred_accuracy}"
        );
    }

    #[test]
    fn spec_clamped_into_ranges() {
        let low = spec(0, 0, 1, -1.0).clamped();
        assert_eq!((low.size, low.classes, low.noise), (2, 2, 0.0));

        let high = spec(0, 10_000, 9, 2.0).clamped();
        assert_eq!((high.size, high.classes, high.noise), (MAX_SIZE, 6, 1.0));

        let size_below_classes = spec(0, 3, 5, 0.5).clamped();
        assert_eq!(size_below_classes.size, 5);

        assert_eq!(spec(0, 10, 2, f64::NAN).clamped().noise, 0.0);
        assert_eq!(
            generate(SyntheticKind::Blobs, &spec(0, 0, 1, 0.1))
                .points
                .len(),
            2
        );
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in SyntheticKind::ALL {
            assert_eq!(SyntheticKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(SyntheticKind::from_name("Moons"), None);
        assert_eq!(SyntheticKind::Moons.label(), "Two moons");
    }

    #[test]
    fn source_line_names_the_settings() {
        let scene = generate(SyntheticKind::Spiral, &spec(7, 100, 3, 0.25));
        assert_eq!(
            scene.source,
            "Spiral (generated): seed 7, 100 points, 3 classes, noise 0.25"
        );
        assert_eq!(scene.class_names, ["class 1", "class 2", "class 3"]);
        assert_eq!(
            (scene.x_label.as_str(), scene.y_label.as_str()),
            ("x1", "x2")
        );
    }
}
