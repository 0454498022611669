//! Map engine speed at the lecture scene and at N = 10,000.
//!
//! Run with `cargo bench --bench engine`. Criterion reports throughput in
//! elements per second, where an element is one cell·point·layer unit, so
//! ns per unit = 1e9 / (elements per second).

// Criterion is a native-only dev-dependency; the wasm32 build (for clippy) gets an empty main.
#[cfg(not(target_arch = "wasm32"))]
mod native {
    use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
    use nalgebra::Point2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use softknn::engine::{DirectEngine, FastEngine, Grid, MapEngine, MapOutput};
    use softknn::model::{Model, RawParams, Suppression, TrainingSet};

    /// Random points in [-0.9, 0.9]² in `classes` classes, seeded.
    fn random_training(points: usize, classes: usize, seed: u64) -> TrainingSet {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let coordinates = (0..points)
            .map(|_| Point2::new(rng.gen_range(-0.9..0.9), rng.gen_range(-0.9..0.9)))
            .collect();
        let labels = (0..points).map(|_| rng.gen_range(0..classes)).collect();
        TrainingSet::new(coordinates, labels, classes).unwrap()
    }

    /// Suppression rule and focus point of a benchmark map.
    struct Variant {
        suppression: Suppression,
        focus: Option<usize>,
    }

    const PLAIN: Variant = Variant {
        suppression: Suppression::Additive,
        focus: None,
    };

    fn bench_scene(
        c: &mut Criterion,
        name: &str,
        training: &TrainingSet,
        raw: RawParams,
        resolution: usize,
        variant: Variant,
    ) {
        let model = Model::new(training, raw)
            .unwrap()
            .with_suppression(variant.suppression);
        let grid = Grid::square((-1.0, 1.0), resolution);
        let layers = model.params().layers();
        let units = (grid.cells() * training.len() * layers) as u64;
        let mut out =
            MapOutput::new(grid, training.classes(), layers, false).with_focus(variant.focus);

        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(units));
        group.sample_size(10);
        let mut direct = DirectEngine::default();
        group.bench_function(BenchmarkId::new("direct", resolution), |b| {
            b.iter(|| direct.evaluate(&model, &mut out))
        });
        let mut fast = FastEngine::default();
        group.bench_function(BenchmarkId::new("fast", resolution), |b| {
            b.iter(|| fast.evaluate(&model, &mut out))
        });
        group.finish();
    }

    fn lecture_scene(c: &mut Criterion) {
        // N = 300, C = 4, K = 10; β = 30 puts a layer's mass on dozens of points.
        let training = random_training(300, 4, 1);
        let raw = RawParams {
            beta: 30.0,
            gamma: 2.0,
            k: 10,
            hard: false,
        };
        bench_scene(c, "lecture_n300_k10", &training, raw, 200, PLAIN);
        let multiplicative = Variant {
            suppression: Suppression::Multiplicative,
            focus: None,
        };
        bench_scene(
            c,
            "lecture_n300_k10_multiplicative",
            &training,
            raw,
            200,
            multiplicative,
        );
        // Training point 0 is a random point of the scene.
        let focus = Variant {
            suppression: Suppression::Additive,
            focus: Some(0),
        };
        bench_scene(c, "lecture_n300_k10_focus", &training, raw, 200, focus);
    }

    fn large_scene(c: &mut Criterion) {
        // N = 10,000 at β = 3000: each layer's mass sits on a few dozen points.
        let training = random_training(10_000, 4, 2);
        let raw = RawParams {
            beta: 3000.0,
            gamma: 2.0,
            k: 10,
            hard: false,
        };
        bench_scene(c, "large_n10000_k10", &training, raw, 64, PLAIN);
    }

    criterion_group!(benches, lecture_scene, large_scene);
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(native::benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
