//! The full-resolution maps as a job that can be cut into parts by rows and
//! computed on other threads.
//!
//! A [`JobPart`] packs into one flat `Vec<f64>` and its [`PartResult`] into
//! flat `Vec<f32>`s, the forms that typed arrays carry between a page and its
//! Web Workers. The web app sends the parts to workers built from the
//! `map-worker` binary. This module has no web code, so the packing and the
//! cutting are tested natively.

use std::ops::Range;

use nalgebra::Point2;
use thiserror::Error;

use crate::engine::{Grid, MapEngine, MapOutput, TILE};
use crate::model::{Model, ParamError, RawParams, Suppression, TrainingSet};

/// First value of every packed part; a change to the layout changes it.
const FORMAT: f64 = 1.0;
/// Values before the training points: see [`JobPart::encode`].
const HEADER_LEN: usize = 27;

/// Everything the full-resolution maps depend on.
#[derive(Clone, Debug, PartialEq)]
pub struct MapRequest {
    pub training: TrainingSet,
    pub raw: RawParams,
    pub suppression: Suppression,
    /// Training index of the point whose activations the layer maps keep, if any.
    pub focus: Option<usize>,
    /// Grid of the decision map, which keeps `ŷ` only.
    pub decision_grid: Grid,
    /// Grid of the layer maps, which keep `ŷ`, each layer's vote and the focus activations.
    pub layer_grid: Grid,
}

/// Rows of the two maps that one part computes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowShare {
    pub decision: Range<usize>,
    pub layers: Range<usize>,
}

/// One part of a job, with the ids that its result carries back.
#[derive(Clone, Debug, PartialEq)]
pub struct JobPart {
    pub job: u32,
    pub part: u32,
    pub request: MapRequest,
    pub rows: RowShare,
}

/// The values of some rows of one [`MapOutput`], in the map's own order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowBlock {
    /// `ŷ` of the rows.
    pub output: Vec<f32>,
    /// Each layer's vote over the rows, layer after layer; empty if the map keeps none.
    pub layer_votes: Vec<f32>,
    /// The focus activation over the rows, layer after layer; empty without a focus.
    pub activations: Vec<f32>,
}

/// The rows one part computed of the decision map and of the layer maps.
#[derive(Clone, Debug, PartialEq)]
pub struct PartResult {
    pub decision: RowBlock,
    pub layers: RowBlock,
}

/// A packed part or a returned block that cannot be used.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum JobError {
    #[error("packed map job has {got} values, expected {expected}")]
    WrongLength { expected: usize, got: usize },
    #[error("packed map job has format {0}, expected {FORMAT}")]
    WrongFormat(f64),
    #[error("packed map job field '{field}' is invalid: {value}")]
    InvalidField { field: &'static str, value: f64 },
    #[error("returned {array} has {got} values for the rows, expected {expected}")]
    WrongBlockLength {
        array: &'static str,
        expected: usize,
        got: usize,
    },
    #[error(transparent)]
    Param(#[from] ParamError),
}

impl MapRequest {
    /// Returns the model the maps show, with the request's suppression rule.
    pub fn model(&self) -> Result<Model<'_>, ParamError> {
        Ok(Model::new(&self.training, self.raw)?.with_suppression(self.suppression))
    }

    /// Makes zeroed decision and layer maps for a model with `layers` layers.
    pub fn empty_maps(&self, layers: usize) -> (MapOutput, MapOutput) {
        let classes = self.training.classes();
        let decision = MapOutput::new(self.decision_grid, classes, layers, false);
        let layer_maps =
            MapOutput::new(self.layer_grid, classes, layers, true).with_focus(self.focus);
        (decision, layer_maps)
    }

    /// Cuts both maps into `parts` shares of about equal rows.
    ///
    /// Share boundaries fall on multiples of [`TILE`] where the rows allow, so
    /// that no tile of cells is computed by two parts. Shares with no rows in
    /// either map are left out, so fewer than `parts` may come back.
    pub fn shares(&self, parts: usize) -> Vec<RowShare> {
        let parts = parts.max(1);
        let decision = tile_boundaries(self.decision_grid.rows, parts);
        let layers = tile_boundaries(self.layer_grid.rows, parts);
        (0..parts)
            .map(|i| RowShare {
                decision: decision[i]..decision[i + 1],
                layers: layers[i]..layers[i + 1],
            })
            .filter(|share| !share.decision.is_empty() || !share.layers.is_empty())
            .collect()
    }

    /// Computes the rows `rows` of both maps with `engine`.
    pub fn compute_part(
        &self,
        engine: &mut impl MapEngine,
        rows: &RowShare,
    ) -> Result<PartResult, ParamError> {
        let model = self.model()?;
        let (mut decision, mut layer_maps) = self.empty_maps(model.params().layers());
        engine.evaluate_rows(&model, &mut decision, rows.decision.clone());
        engine.evaluate_rows(&model, &mut layer_maps, rows.layers.clone());
        Ok(PartResult {
            decision: RowBlock::extract(&decision, rows.decision.clone()),
            layers: RowBlock::extract(&layer_maps, rows.layers.clone()),
        })
    }
}

/// Runs `engine` on a made-up scene a few times, so that a fresh Web Worker
/// has its map code compiled by the browser's optimising tier before its first
/// real part.
///
/// V8, Chromium's engine, compiles WebAssembly first with its baseline
/// compiler Liftoff, and with its optimising compiler TurboFan only the
/// functions that run often ("WebAssembly Dynamic Tiering", v8.dev blog).
/// In a worker that had not computed before, the first full-resolution job
/// took 88–113 ms where later ones took 30–40 ms (iris, 2 workers, Chromium
/// 156). After this warm-up, which took 50–60 ms there, the first job took
/// 44–58 ms. Like any earlier evaluation, the warm-up can move later results
/// in their last f32 digits only (see the fast engine's pruning margin).
pub fn warm_up(engine: &mut impl MapEngine) {
    const POINTS: usize = 120;
    const CLASSES: usize = 4;
    const ROUNDS: usize = 2;
    let points = (0..POINTS)
        .map(|i| {
            let t = i as f64 * 0.61;
            Point2::new(0.8 * t.sin(), 0.7 * (1.7 * t).cos())
        })
        .collect();
    let labels = (0..POINTS).map(|i| i % CLASSES).collect();
    let Ok(training) = TrainingSet::new(points, labels, CLASSES) else {
        return;
    };

    let request = MapRequest {
        training,
        raw: RawParams {
            beta: 300.0,
            gamma: 0.05,
            k: 10,
            hard: false,
        },
        suppression: Suppression::Additive,
        focus: None,
        decision_grid: Grid::square((-1.0, 1.0), 48),
        layer_grid: Grid::square((-1.0, 1.0), 24),
    };

    // The same path as a real part: packed, unpacked and computed.
    let share = RowShare {
        decision: 0..request.decision_grid.rows,
        layers: 0..request.layer_grid.rows,
    };
    let packed = JobPart {
        job: 0,
        part: 0,
        request,
        rows: share,
    }
    .encode();
    for _ in 0..ROUNDS {
        if let Ok(part) = JobPart::decode(&packed) {
            let _ = part.request.compute_part(engine, &part.rows);
        }
    }
}

/// Returns `parts + 1` increasing row boundaries from 0 to `rows`, rounded to multiples of [`TILE`].
fn tile_boundaries(rows: usize, parts: usize) -> Vec<usize> {
    (0..=parts)
        .map(|i| {
            let exact = (i * rows) as f64 / parts as f64;
            let rounded = (exact / TILE as f64).round() as usize * TILE;
            if i == parts {
                rows
            } else {
                rounded.min(rows)
            }
        })
        .collect()
}

impl RowBlock {
    /// Copies the rows `rows` of every array of `map`.
    pub fn extract(map: &MapOutput, rows: Range<usize>) -> RowBlock {
        let columns = map.grid.columns;
        let cells = map.grid.cells();
        let classes = map.classes;
        let cell_span = rows.start * columns..rows.end * columns;

        let output = map.output[cell_span.start * classes..cell_span.end * classes].to_vec();
        let mut layer_votes = Vec::new();
        if !map.layer_votes.is_empty() {
            for layer in 0..map.layers {
                let base = layer * cells * classes;
                layer_votes.extend_from_slice(
                    &map.layer_votes
                        [base + cell_span.start * classes..base + cell_span.end * classes],
                );
            }
        }
        let mut activations = Vec::new();
        if !map.activations.is_empty() {
            for layer in 0..map.layers {
                let base = layer * cells;
                activations.extend_from_slice(
                    &map.activations[base + cell_span.start..base + cell_span.end],
                );
            }
        }
        RowBlock {
            output,
            layer_votes,
            activations,
        }
    }

    /// Writes this block into the rows `rows` of `map`.
    ///
    /// Checks every length first, so a block made for other rows or another
    /// map leaves `map` unchanged.
    pub fn insert_into(&self, map: &mut MapOutput, rows: Range<usize>) -> Result<(), JobError> {
        let columns = map.grid.columns;
        let cells = map.grid.cells();
        let classes = map.classes;
        let row_cells = rows.len() * columns;
        let cell_start = rows.start * columns;
        let votes_expected = if map.layer_votes.is_empty() {
            0
        } else {
            map.layers * row_cells * classes
        };
        let activations_expected = if map.activations.is_empty() {
            0
        } else {
            map.layers * row_cells
        };
        check_block_length("output", row_cells * classes, self.output.len())?;
        check_block_length("layer votes", votes_expected, self.layer_votes.len())?;
        check_block_length("activations", activations_expected, self.activations.len())?;
        if rows.end > map.grid.rows {
            return Err(JobError::InvalidField {
                field: "rows",
                value: rows.end as f64,
            });
        }

        map.output[cell_start * classes..(cell_start + row_cells) * classes]
            .copy_from_slice(&self.output);
        let span = row_cells * classes;
        for (layer, votes) in self.layer_votes.chunks_exact(span.max(1)).enumerate() {
            let start = layer * cells * classes + cell_start * classes;
            map.layer_votes[start..start + span].copy_from_slice(votes);
        }
        for (layer, values) in self.activations.chunks_exact(row_cells.max(1)).enumerate() {
            let start = layer * cells + cell_start;
            map.activations[start..start + row_cells].copy_from_slice(values);
        }
        Ok(())
    }
}

fn check_block_length(array: &'static str, expected: usize, got: usize) -> Result<(), JobError> {
    if expected == got {
        Ok(())
    } else {
        Err(JobError::WrongBlockLength {
            array,
            expected,
            got,
        })
    }
}

impl JobPart {
    /// Packs the part into numbers.
    ///
    /// The header is: format, job, part, N, classes, β, γ, k, hard (0 or
    /// 1), suppression (0 additive, 1 multiplicative) and focus (−1 for
    /// none). Then come the decision grid and the layer grid (x from, x to,
    /// y from, y to, columns, rows each), and the decision rows and the layer
    /// rows (start, end each). The N x coordinates, the N y coordinates and
    /// the N labels follow.
    pub fn encode(&self) -> Vec<f64> {
        let request = &self.request;
        let training = &request.training;
        let mut packed = Vec::with_capacity(HEADER_LEN + 3 * training.len());
        packed.extend([
            FORMAT,
            self.job as f64,
            self.part as f64,
            training.len() as f64,
            training.classes() as f64,
            request.raw.beta,
            request.raw.gamma,
            request.raw.k as f64,
            if request.raw.hard { 1.0 } else { 0.0 },
            match request.suppression {
                Suppression::Additive => 0.0,
                Suppression::Multiplicative => 1.0,
            },
            request.focus.map_or(-1.0, |focus| focus as f64),
        ]);
        for grid in [request.decision_grid, request.layer_grid] {
            packed.extend([
                grid.x_range.0,
                grid.x_range.1,
                grid.y_range.0,
                grid.y_range.1,
                grid.columns as f64,
                grid.rows as f64,
            ]);
        }
        for rows in [&self.rows.decision, &self.rows.layers] {
            packed.extend([rows.start as f64, rows.end as f64]);
        }
        debug_assert_eq!(packed.len(), HEADER_LEN);
        packed.extend(training.points().iter().map(|p| p.x));
        packed.extend(training.points().iter().map(|p| p.y));
        packed.extend(training.labels().iter().map(|&label| label as f64));
        packed
    }

    /// Unpacks a part packed by [`JobPart::encode`], checking every field.
    pub fn decode(packed: &[f64]) -> Result<JobPart, JobError> {
        if packed.len() < HEADER_LEN {
            return Err(JobError::WrongLength {
                expected: HEADER_LEN,
                got: packed.len(),
            });
        }
        if packed[0] != FORMAT {
            return Err(JobError::WrongFormat(packed[0]));
        }
        let job = id(packed[1], "job")?;
        let part = id(packed[2], "part")?;
        let n = whole(packed[3], "N")?;
        let classes = whole(packed[4], "classes")?;
        let expected = HEADER_LEN + 3 * n;
        if packed.len() != expected {
            return Err(JobError::WrongLength {
                expected,
                got: packed.len(),
            });
        }
        let raw = RawParams {
            beta: packed[5],
            gamma: packed[6],
            k: whole(packed[7], "k")? as i64,
            hard: flag(packed[8], "hard")?,
        };
        let suppression = if flag(packed[9], "suppression")? {
            Suppression::Multiplicative
        } else {
            Suppression::Additive
        };
        let focus = if packed[10] == -1.0 {
            None
        } else {
            let focus = whole(packed[10], "focus")?;
            if focus >= n {
                return Err(JobError::InvalidField {
                    field: "focus",
                    value: packed[10],
                });
            }
            Some(focus)
        };
        let decision_grid = grid(&packed[11..17], "decision grid")?;
        let layer_grid = grid(&packed[17..23], "layer grid")?;
        let decision_rows = rows(&packed[23..25], decision_grid.rows, "decision rows")?;
        let layer_rows = rows(&packed[25..27], layer_grid.rows, "layer rows")?;

        let xs = &packed[HEADER_LEN..HEADER_LEN + n];
        let ys = &packed[HEADER_LEN + n..HEADER_LEN + 2 * n];
        let points = xs
            .iter()
            .zip(ys)
            .map(|(&x, &y)| Point2::new(x, y))
            .collect();
        let labels = packed[HEADER_LEN + 2 * n..]
            .iter()
            .map(|&value| match whole(value, "label") {
                Ok(label) if label < classes => Ok(label),
                _ => Err(JobError::InvalidField {
                    field: "label",
                    value,
                }),
            })
            .collect::<Result<Vec<usize>, JobError>>()?;
        let training = TrainingSet::new(points, labels, classes)?;

        Ok(JobPart {
            job,
            part,
            request: MapRequest {
                training,
                raw,
                suppression,
                focus,
                decision_grid,
                layer_grid,
            },
            rows: RowShare {
                decision: decision_rows,
                layers: layer_rows,
            },
        })
    }
}

/// Largest count accepted in a packed field: far above any map or training set
/// the app makes, and small enough that sizes computed from it cannot overflow.
const MAX_COUNT: f64 = 16_777_216.0;

fn whole(value: f64, field: &'static str) -> Result<usize, JobError> {
    if value.fract() == 0.0 && (0.0..=MAX_COUNT).contains(&value) {
        Ok(value as usize)
    } else {
        Err(JobError::InvalidField { field, value })
    }
}

fn id(value: f64, field: &'static str) -> Result<u32, JobError> {
    if value.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&value) {
        Ok(value as u32)
    } else {
        Err(JobError::InvalidField { field, value })
    }
}

fn flag(value: f64, field: &'static str) -> Result<bool, JobError> {
    match value {
        0.0 => Ok(false),
        1.0 => Ok(true),
        _ => Err(JobError::InvalidField { field, value }),
    }
}

fn grid(values: &[f64], field: &'static str) -> Result<Grid, JobError> {
    for &value in &values[..4] {
        if !value.is_finite() {
            return Err(JobError::InvalidField { field, value });
        }
    }
    let columns = whole(values[4], field)?;
    let rows = whole(values[5], field)?;
    // 4096² cells is far beyond any map the app draws and keeps sizes in range.
    if columns == 0 || rows == 0 || columns > 4096 || rows > 4096 {
        return Err(JobError::InvalidField {
            field,
            value: (columns.max(rows)) as f64,
        });
    }
    Ok(Grid {
        x_range: (values[0], values[1]),
        y_range: (values[2], values[3]),
        columns,
        rows,
    })
}

fn rows(values: &[f64], grid_rows: usize, field: &'static str) -> Result<Range<usize>, JobError> {
    let start = whole(values[0], field)?;
    let end = whole(values[1], field)?;
    if start > end || end > grid_rows {
        return Err(JobError::InvalidField {
            field,
            value: values[1],
        });
    }
    Ok(start..end)
}

#[cfg(test)]
mod tests {
    use nalgebra::Point2;

    use super::*;
    use crate::engine::FastEngine;

    fn request(focus: Option<usize>, suppression: Suppression) -> MapRequest {
        let points = (0..40)
            .map(|i| {
                let t = i as f64 * 0.37;
                Point2::new(0.8 * t.sin(), 0.7 * (1.3 * t).cos())
            })
            .collect();
        let labels = (0..40).map(|i| i % 3).collect();
        MapRequest {
            training: TrainingSet::new(points, labels, 3).unwrap(),
            raw: RawParams {
                beta: 12.0,
                gamma: 0.5,
                k: 4,
                hard: false,
            },
            suppression,
            focus,
            decision_grid: Grid::square((-1.0, 1.0), 37),
            layer_grid: Grid::square((-1.0, 1.0), 16),
        }
    }

    fn whole_maps(request: &MapRequest) -> (MapOutput, MapOutput) {
        let model = request.model().unwrap();
        let (mut decision, mut layer_maps) = request.empty_maps(model.params().layers());
        let mut engine = FastEngine::default();
        engine.evaluate(&model, &mut decision);
        engine.evaluate(&model, &mut layer_maps);
        (decision, layer_maps)
    }

    /// Asserts that two maps have the same shape and values within 1e-6.
    ///
    /// The fast engine carries its pruning margin from one evaluation to the
    /// next, so a part computed in a fresh engine may keep or leave out
    /// points whose weight is below e^-18.5 where the whole map did the
    /// opposite. That moves values in their last f32 digits only.
    fn assert_maps_close(got: &MapOutput, expected: &MapOutput, what: &str) {
        assert_eq!(got.grid, expected.grid, "{what}: grid");
        assert_eq!(got.classes, expected.classes, "{what}: classes");
        assert_eq!(got.layers, expected.layers, "{what}: layers");
        assert_eq!(got.focus, expected.focus, "{what}: focus");
        for (name, a, b) in [
            ("output", &got.output, &expected.output),
            ("layer votes", &got.layer_votes, &expected.layer_votes),
            ("activations", &got.activations, &expected.activations),
        ] {
            assert_eq!(a.len(), b.len(), "{what}: {name} length");
            let largest = a
                .iter()
                .zip(b.iter())
                .map(|(x, y)| (x - y).abs())
                .fold(0.0_f32, f32::max);
            assert!(largest <= 1e-6, "{what}: {name} differ by {largest:e}");
        }
    }

    /// Computes every share in a fresh engine and puts the blocks together.
    fn assembled_maps(request: &MapRequest, parts: usize) -> (MapOutput, MapOutput) {
        let layers = request.model().unwrap().params().layers();
        let (mut decision, mut layer_maps) = request.empty_maps(layers);
        for share in request.shares(parts) {
            let result = request
                .compute_part(&mut FastEngine::default(), &share)
                .unwrap();
            result
                .decision
                .insert_into(&mut decision, share.decision.clone())
                .unwrap();
            result
                .layers
                .insert_into(&mut layer_maps, share.layers.clone())
                .unwrap();
        }
        (decision, layer_maps)
    }

    #[test]
    fn warm_up_leaves_results_unchanged() {
        let request = request(Some(3), Suppression::Additive);
        let (fresh_decision, fresh_layers) = whole_maps(&request);

        let mut engine = FastEngine::default();
        warm_up(&mut engine);
        let model = request.model().unwrap();
        let (mut decision, mut layers) = request.empty_maps(model.params().layers());
        engine.evaluate(&model, &mut decision);
        engine.evaluate(&model, &mut layers);

        assert_maps_close(&decision, &fresh_decision, "decision map after the warm-up");
        assert_maps_close(&layers, &fresh_layers, "layer maps after the warm-up");
    }

    #[test]
    fn shares_cover_rows_once() {
        let request = request(None, Suppression::Additive);
        for parts in 1..=7 {
            let shares = request.shares(parts);
            let mut decision_next = 0;
            let mut layers_next = 0;
            for share in &shares {
                assert_eq!(share.decision.start, decision_next, "{parts} parts");
                assert_eq!(share.layers.start, layers_next, "{parts} parts");
                decision_next = share.decision.end;
                layers_next = share.layers.end;
            }
            assert_eq!(decision_next, 37, "{parts} parts");
            assert_eq!(layers_next, 16, "{parts} parts");
        }
    }

    #[test]
    fn shares_start_on_tiles() {
        let mut request = request(None, Suppression::Additive);
        request.decision_grid = Grid::square((-1.0, 1.0), 200);
        request.layer_grid = Grid::square((-1.0, 1.0), 64);
        let shares = request.shares(4);
        assert_eq!(shares.len(), 4);
        for share in &shares {
            assert_eq!(share.decision.start % TILE, 0, "{share:?}");
            assert_eq!(share.layers.start % TILE, 0, "{share:?}");
        }
    }

    #[test]
    fn assembled_parts_match_whole_maps() {
        for (focus, suppression) in [
            (None, Suppression::Additive),
            (Some(5), Suppression::Additive),
            (Some(39), Suppression::Multiplicative),
        ] {
            let request = request(focus, suppression);
            let whole = whole_maps(&request);
            for parts in [1, 2, 3, 4] {
                let assembled = assembled_maps(&request, parts);
                let case = format!("{parts} parts, {focus:?}");
                assert_maps_close(&assembled.0, &whole.0, &format!("decision, {case}"));
                assert_maps_close(&assembled.1, &whole.1, &format!("layers, {case}"));
            }
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        for (focus, suppression, hard) in [
            (None, Suppression::Additive, false),
            (Some(0), Suppression::Multiplicative, false),
            (Some(39), Suppression::Additive, true),
        ] {
            let mut request = request(focus, suppression);
            request.raw.hard = hard;
            let part = JobPart {
                job: 4_000_000_000,
                part: 3,
                rows: request.shares(3)[1].clone(),
                request,
            };
            let decoded = JobPart::decode(&part.encode()).unwrap();
            assert_eq!(decoded, part);
        }
    }

    #[test]
    fn decode_rejects_damaged_parts() {
        let part = JobPart {
            job: 1,
            part: 0,
            rows: RowShare {
                decision: 0..8,
                layers: 0..4,
            },
            request: request(Some(2), Suppression::Additive),
        };
        let packed = part.encode();
        let n = part.request.training.len();

        assert!(matches!(
            JobPart::decode(&packed[..HEADER_LEN - 1]),
            Err(JobError::WrongLength { .. })
        ));
        assert!(matches!(
            JobPart::decode(&packed[..packed.len() - 1]),
            Err(JobError::WrongLength { .. })
        ));

        let cases: [(usize, f64, &str); 8] = [
            (0, 2.0, "format"),
            (4, 0.5, "classes"),
            (8, 0.5, "hard"),
            (10, n as f64, "focus"),
            (15, 0.0, "decision grid"),
            (24, 38.0, "decision rows"),
            (HEADER_LEN, f64::NAN, "x"),
            (HEADER_LEN + 2 * n, 3.0, "label"),
        ];
        for (index, value, name) in cases {
            let mut damaged = packed.clone();
            damaged[index] = value;
            assert!(JobPart::decode(&damaged).is_err(), "{name} = {value}");
        }
    }

    #[test]
    fn insert_rejects_wrong_block() {
        let request = request(Some(1), Suppression::Additive);
        let layers = request.model().unwrap().params().layers();
        let (_, mut layer_maps) = request.empty_maps(layers);
        let before = layer_maps.clone();
        let block = RowBlock::extract(&before, 0..3);

        let error = block.insert_into(&mut layer_maps, 0..4).unwrap_err();
        assert!(matches!(error, JobError::WrongBlockLength { .. }));
        assert_eq!(layer_maps, before);
        let error = block.insert_into(&mut layer_maps, 14..17).unwrap_err();
        assert!(matches!(error, JobError::InvalidField { .. }));
    }
}
