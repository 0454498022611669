//! The native side of the peer comparison (tests/peers/run.sh): writes the
//! lecture scene as CSV and times the fast engine on it.
//!
//! Usage: `peer_grid SCENE.csv BETA GAMMA K RESOLUTION REPEATS`; prints the
//! fastest time in milliseconds.

use std::error::Error;
use std::fs::File;
use std::io::Write;
use std::time::Instant;

use softknn::data::scene::DOMAIN;
use softknn::data::synthetic::{generate, SyntheticKind, SyntheticSpec};
use softknn::engine::{FastEngine, Grid, MapEngine, MapOutput};
use softknn::model::{Model, RawParams};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, beta, gamma, k, resolution, repeats] = args.as_slice() else {
        return Err("usage: peer_grid SCENE.csv BETA GAMMA K RESOLUTION REPEATS".into());
    };
    let raw = RawParams {
        beta: beta.parse()?,
        gamma: gamma.parse()?,
        k: k.parse()?,
        hard: false,
    };
    let resolution: usize = resolution.parse()?;
    let repeats: usize = repeats.parse()?;

    // The lecture scene: 300 points in 4 Gaussian blobs.
    let spec = SyntheticSpec {
        seed: 1,
        size: 300,
        classes: 4,
        noise: 0.2,
    };
    let scene = generate(SyntheticKind::Blobs, &spec);
    let mut file = File::create(path)?;
    writeln!(file, "x,y,label")?;
    for (p, label) in scene.points.iter().zip(&scene.labels) {
        writeln!(file, "{},{},{}", p.x, p.y, scene.class_names[*label])?;
    }

    let training = scene.training_set()?;
    let model = Model::new(&training, raw)?;
    let grid = Grid::square(DOMAIN, resolution);
    let mut out = MapOutput::new(grid, training.classes(), model.params().layers(), false);
    let mut engine = FastEngine::default();
    let mut fastest = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        engine.evaluate(&model, &mut out);
        fastest = fastest.min(started.elapsed().as_secs_f64() * 1e3);
    }
    println!("{fastest}");
    Ok(())
}
