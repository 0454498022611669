//! A function the page exports for the peer comparison benchmark, so that the
//! wasm engine runs exactly the computation the native engine and NumPy run.

use wasm_bindgen::prelude::*;

use super::maps::now_ms;
use crate::data::scene::DOMAIN;
use crate::data::table::{read_labelled_points, Columns, MissingValues};
use crate::engine::{FastEngine, Grid, MapEngine, MapOutput};
use crate::model::{Model, RawParams, TrainingSet};

/// Computes the decision map of a training set given as CSV (`x,y,label`)
/// `repeats` times, on a `resolution²` grid over the plot domain. Returns the
/// fastest time in milliseconds.
#[wasm_bindgen]
pub fn benchmark_map(
    training_csv: &str,
    beta: f64,
    gamma: f64,
    k: i64,
    resolution: usize,
    repeats: usize,
) -> Result<f64, JsError> {
    let columns = Columns {
        x: "x",
        y: "y",
        label: "label",
    };
    let table = read_labelled_points(training_csv.as_bytes(), columns, MissingValues::Reject)?;
    let training = TrainingSet::new(table.points, table.labels, table.class_names.len())?;
    let raw = RawParams {
        beta,
        gamma,
        k,
        hard: false,
    };
    let model = Model::new(&training, raw)?;
    let grid = Grid::square(DOMAIN, resolution);
    let mut out = MapOutput::new(grid, training.classes(), model.params().layers(), false);
    let mut engine = FastEngine::default();

    let mut fastest = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let started = now_ms();
        engine.evaluate(&model, &mut out);
        fastest = fastest.min(now_ms() - started);
    }
    Ok(fastest)
}
