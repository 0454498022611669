//! The fast engine: pruned per tile of cells, f32 exponentials that vectorise.
//!
//! The map is cut into tiles of [`TILE`] × [`TILE`] cells. For each tile, the
//! training points that cannot carry measurable weight anywhere in it are
//! left out before any exponential is taken:
//!
//! - A point whose smallest squared distance to the tile exceeds the K-th
//!   smallest *largest* squared distance by more than `T/β` (plus a margin
//!   for how far suppression lifts the smallest score) is a non-candidate.
//! - Each cell then keeps, of the tile's candidates, those within its own
//!   nearest squared distance plus `T/β` and the same margin.
//! - After each layer of each cell, the bound is checked a posteriori. Let
//!   `d_cut` be the smallest distance of any non-candidate to the tile and σ
//!   the layer's smallest score. Every non-candidate has score
//!   `s_n ≥ d_n ≥ d_cut`, so its weight relative to the largest term is at
//!   most `e^{−β (d_cut − σ)}`. If
//!   `β (d_cut − σ) < T` for any cell and layer, the cell is computed again
//!   with more of the tile's candidates, and if it had them all, the tile is
//!   computed again with more candidates, up to all N points.
//!
//! With `T = ln N + 18.5`, the mass that left-out points could have had is
//! below `N · e^{−T} < 1e-8` in every layer. A left-out focus point gets the
//! activation 0, which is therefore off by less than 1e-8.
//!
//! The multiplicative rule: layer k has the logits `−β d_n + c_n` with the
//! carry `c_n = Σ_{k'<k} ln(1 − h^{k'}_n) ≤ 0`. In distance units its score is
//! `s_n = d_n − c_n / β ≥ d_n`, whatever the carries of the left-out points,
//! which the engine never computes. So a left-out point's weight is again at
//! most `e^{−β (d_cut − σ)}`. The tile and cell bounds and the check above
//! carry over unchanged, and the margin measures how far σ rises above the
//! nearest distance under this rule too. β = 0 has no pruning, and there
//! every layer is uniform under both rules. Hard mode ignores the rule.
//!
//! The carries need one more step. Leaving out mass ε (relative to the
//! largest term) changes `ln(1 − h_n)` by about ε divided by the mass of the
//! points other than n. For any point but the top one, which has the smallest
//! score, that mass includes the top point's weight 1, so the change is at
//! most about ε < 1e-8. For the top point it is
//! `W = Σ_{m≠top} e^{−β (s_m − σ)}`, which can be tiny. Yet the top point's
//! next score is `σ − ln(W / (1 + W)) / β`, and every other next score is at
//! least the second smallest score now, which is at least `σ − ln(W) / β`.
//! So the next layer's smallest score σ' is at least `σ − ln(W) / β`, and its
//! check `N e^{−β (d_cut − σ')} < e^{−18.5}` gives
//! `ε ≤ N e^{−β (d_cut − σ)} < e^{−18.5} W`: the top point's carry is off by
//! less than 1e-8 too. The last layer's carries are never used.
//!
//! Precision: distances are computed in f64 and measured from the cell's
//! nearest distance. Scores and the residual sum `S_n` stay in f32, 8 lanes at
//! a time, while β σ (σ measured the same way) is at most 50, which keeps the
//! exponent's rounding below 2e-5. Otherwise the cell is computed with f64
//! scores, so their rounding does not grow with β. The exponential
//! `e^{−β (s_n − σ)}` is always f32, with a relative error below 3e-7 (see
//! [`exp_neg`](super::fast_exp::exp_neg)). The multiplicative rule keeps
//! `−c_n / β` in place of `S_n`, with the same f32 limit. Its `ln(1 − h)` is
//! taken in f32 for every point but the top one (an absolute error of about
//! 1e-7 in a logit). The top point's `1 − h` comes from the other points'
//! weights, and in f64 scores from their scores, so it keeps its relative
//! precision as h nears 1.
//!
//! NOTE: where β·γ ≫ 1 and a layer splits its mass, the model itself amplifies
//! small differences from layer to layer (see the module docs of
//! [`engine`](super)). There no engine that rounds differently from the f64
//! reference can promise 1e-4.

use std::ops::Range;

use wide::f32x8;

use super::fast_exp::{exp_neg, exp_neg_in_place, exp_neg_x8};
use super::{check_output, LayerRule, MapEngine, MapOutput};
use crate::model::{Model, TrainingSet};

mod multiplicative;

/// Cells per side of a tile that shares one candidate list.
pub const TILE: usize = 8;
/// Extra exponent beyond `ln N` that left-out points must be below: e^{−18.5} < 1e-8.
const PRUNE_EXPONENT: f64 = 18.5;
/// Largest `β σ` (σ measured from the cell's nearest distance) for which
/// scores are kept in f32; see `Scratch::soft_layers_f32`.
const F32_EXPONENT_LIMIT: f64 = 50.0;

/// The training points sorted by class, so each class's vote is a contiguous sum.
#[derive(Debug, Default)]
struct Prepared {
    /// The training set these arrays were built from, to notice a new one.
    source: Vec<(f64, f64, usize)>,
    xs: Vec<f64>,
    ys: Vec<f64>,
    /// Original training index of each sorted point, for hard mode's tie-break.
    original: Vec<usize>,
    /// Class of each sorted point.
    classes: Vec<usize>,
}

impl Prepared {
    fn update(&mut self, training: &TrainingSet) {
        let unchanged = self.source.len() == training.len()
            && self
                .source
                .iter()
                .zip(training.points().iter().zip(training.labels()))
                .all(|(&(x, y, c), (p, &label))| x == p.x && y == p.y && c == label);
        if unchanged {
            return;
        }

        self.source = training
            .points()
            .iter()
            .zip(training.labels())
            .map(|(p, &c)| (p.x, p.y, c))
            .collect();
        let mut order: Vec<usize> = (0..training.len()).collect();
        order.sort_by_key(|&n| (training.labels()[n], n));
        self.xs = order.iter().map(|&n| training.points()[n].x).collect();
        self.ys = order.iter().map(|&n| training.points()[n].y).collect();
        self.classes = order.iter().map(|&n| training.labels()[n]).collect();
        self.original = order;
    }
}

/// Candidates of one tile and the per-cell working arrays.
#[derive(Debug, Default)]
struct Scratch {
    /// Indices into the sorted points, in class order.
    candidates: Vec<usize>,
    near: Vec<f64>,
    far: Vec<f64>,
    far_sorted: Vec<f64>,
    distances: Vec<f64>,
    residual: Vec<f64>,
    exponents: Vec<f32>,
    /// Distances of the current cell's own candidates, in class order.
    cell_distances: Vec<f64>,
    /// `cell_class_ends[c]`: one past the cell's last candidate of class c.
    cell_class_ends: Vec<usize>,
    /// Each layer's vote at the current cell, `layers × classes`.
    layer_votes: Vec<f64>,
    /// The cell's distances less its nearest distance, and `S_n`, in f32.
    shifted_distances: Vec<f32>,
    residual_f32: Vec<f32>,
    /// The last cell needed f64 scores, so the next one starts with them.
    prefer_f64: bool,
    order: Vec<usize>,
    vote_sum: Vec<f64>,
    votes: Vec<f64>,
    /// Position of the focus point among the current cell's candidates, if
    /// it is one, and its activation in each layer (0 where it is left out).
    focus_position: Option<usize>,
    focus_activations: Vec<f64>,
}

/// Parameters of a cell's soft layers, besides its candidates.
#[derive(Clone, Copy, Debug)]
struct SoftLayers {
    beta: f64,
    gamma: f64,
    /// The multiplicative rule, with β > 0: at β = 0 both rules give uniform
    /// layers, which the additive code computes.
    multiplicative: bool,
    /// `T = ln N + 18.5`, the smallest `β (d − σ)` a left-out point may have.
    cutoff: f64,
    layers: usize,
}

impl SoftLayers {
    /// Returns the squared distance up to which the cell needs candidates
    /// when a left-out point, all of them at `cut` or farther, could carry
    /// measurable weight next to the smallest score `sigma`
    /// (`β (cut − σ) < cutoff`); `None` when the bound holds.
    fn candidates_needed(self, cut: f64, sigma: f64) -> Option<f64> {
        (cut.is_finite() && self.beta * (cut - sigma) < self.cutoff)
            .then(|| sigma + self.cutoff / self.beta)
    }
}

/// Counts of the pruning at work, for benchmarks and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PruneStats {
    pub tiles: usize,
    /// Tiles computed again because the a-posteriori bound failed.
    pub retries: usize,
    /// Cells computed again with more of their tile's candidates.
    pub cell_retries: usize,
    /// Candidate points summed over tiles (divide by `tiles` for the mean).
    pub candidates: usize,
}

/// The fast engine; see the module docs for how it prunes and why it stays accurate.
#[derive(Debug, Default)]
pub struct FastEngine {
    prepared: Prepared,
    scratch: Scratch,
    /// The largest rise of a layer's smallest score above the cell's nearest
    /// squared distance in the last tile. The next tile's candidate bounds
    /// start from it.
    margin: f64,
    /// The focus point of the current output as an index into the sorted points.
    focus: Option<usize>,
    pub stats: PruneStats,
}

/// The outcome of computing one tile with a given candidate list.
enum TileResult {
    Done,
    /// The bound failed: the tile needs candidates up to this squared distance.
    NeedsThreshold(f64),
}

impl MapEngine for FastEngine {
    fn evaluate_rows(&mut self, model: &Model, out: &mut MapOutput, rows: Range<usize>) {
        check_output(model, out);
        self.prepared.update(model.training());
        self.focus = out.focus.and_then(|focus| {
            let original = &self.prepared.original;
            original.iter().position(|&index| index == focus)
        });

        let grid = out.grid;
        let mut tile_top = rows.start;
        while tile_top < rows.end {
            // Tiles start on multiples of TILE so that row ranges of any size give the same tiles.
            let tile_bottom = ((tile_top / TILE + 1) * TILE).min(rows.end);
            for tile_left in (0..grid.columns).step_by(TILE) {
                let columns = tile_left..(tile_left + TILE).min(grid.columns);
                self.evaluate_tile(model, out, tile_top..tile_bottom, columns);
            }
            tile_top = tile_bottom;
        }
    }
}

impl FastEngine {
    fn evaluate_tile(
        &mut self,
        model: &Model,
        out: &mut MapOutput,
        rows: Range<usize>,
        columns: Range<usize>,
    ) {
        let n = self.prepared.xs.len();
        let layers = model.params().layers();
        let (beta, gamma, multiplicative) = match LayerRule::of(model) {
            LayerRule::Additive { beta, gamma } => (beta, gamma, false),
            LayerRule::Multiplicative { beta } => (beta, 0.0, beta > 0.0),
            LayerRule::Hard => (f64::INFINITY, f64::INFINITY, false),
        };
        let cutoff = (n as f64).ln() + PRUNE_EXPONENT;
        let soft = SoftLayers {
            beta,
            gamma,
            multiplicative,
            cutoff,
            layers,
        };
        let grid = out.grid;
        self.stats.tiles += 1;

        // Squared distances from each point to the tile's box of cell centres.
        let top_left = grid.cell_centre(columns.start, rows.start);
        let bottom_right = grid.cell_centre(columns.end - 1, rows.end - 1);
        let (x0, x1) = (top_left.x, bottom_right.x);
        let (y0, y1) = (bottom_right.y, top_left.y);
        let s = &mut self.scratch;
        s.near.clear();
        s.far.clear();
        for (&x, &y) in self.prepared.xs.iter().zip(&self.prepared.ys) {
            let dx_near = (x0 - x).max(0.0).max(x - x1);
            let dy_near = (y0 - y).max(0.0).max(y - y1);
            let dx_far = (x - x0).abs().max((x - x1).abs());
            let dy_far = (y - y0).abs().max((y - y1).abs());
            s.near.push(dx_near * dx_near + dy_near * dy_near);
            s.far.push(dx_far * dx_far + dy_far * dy_far);
        }
        // Every cell of the tile has its K nearest points within this squared distance.
        s.far_sorted.clear();
        s.far_sorted.extend_from_slice(&s.far);
        let kth = layers.min(n) - 1;
        let (_, kth_far, _) = s.far_sorted.select_nth_unstable_by(kth, f64::total_cmp);
        let kth_far = *kth_far;

        let mut threshold = if beta == 0.0 {
            f64::INFINITY
        } else if beta.is_infinite() {
            kth_far
        } else {
            kth_far + self.margin + cutoff / beta
        };
        loop {
            match self.compute_tile(out, &rows, &columns, threshold, soft) {
                TileResult::Done => return,
                TileResult::NeedsThreshold(needed) => {
                    self.stats.retries += 1;
                    // Grow at least geometrically so a tile needs few retries.
                    let grown = kth_far + 2.0 * (threshold - kth_far).max(1e-12);
                    threshold = needed.max(grown);
                    if threshold.is_infinite() || self.scratch.candidates.len() == n {
                        threshold = f64::INFINITY;
                    }
                }
            }
        }
    }

    fn compute_tile(
        &mut self,
        out: &mut MapOutput,
        rows: &Range<usize>,
        columns: &Range<usize>,
        threshold: f64,
        soft: SoftLayers,
    ) -> TileResult {
        let prepared = &self.prepared;
        let margin = self.margin;
        let focus = self.focus;
        let s = &mut self.scratch;
        let classes = out.classes;
        let SoftLayers {
            beta,
            cutoff,
            layers,
            ..
        } = soft;

        // Candidates in class order, and the nearest any left-out point comes.
        s.candidates.clear();
        s.focus_position = None;
        let mut cut = f64::INFINITY;
        for (index, &near) in s.near.iter().enumerate() {
            if near <= threshold {
                s.candidates.push(index);
            } else {
                cut = cut.min(near);
            }
        }
        self.stats.candidates += s.candidates.len();
        // Candidates are in sorted-point order, so a binary search finds the focus.
        let focus_in_tile = focus.and_then(|f| s.candidates.binary_search(&f).ok());

        let count = s.candidates.len();
        s.distances.resize(count, 0.0);
        s.vote_sum.resize(classes, 0.0);
        s.votes.resize(classes, 0.0);
        s.layer_votes.resize(layers * classes, 0.0);
        s.focus_activations.resize(layers, 0.0);
        let cells = out.grid.cells();
        let keep_layers = !out.layer_votes.is_empty();
        let mut largest_lift: f64 = 0.0;

        for row in rows.clone() {
            for column in columns.clone() {
                let centre = out.grid.cell_centre(column, row);
                for (d, &index) in s.distances.iter_mut().zip(&s.candidates) {
                    let dx = prepared.xs[index] - centre.x;
                    let dy = prepared.ys[index] - centre.y;
                    *d = dx * dx + dy * dy;
                }
                s.vote_sum.fill(0.0);
                let cell = row * out.grid.columns + column;

                if beta.is_infinite() {
                    // Hard mode: the K nearest candidates, ties to the lower training index.
                    s.order.clear();
                    s.order.extend(0..count);
                    let key = |&i: &usize| (s.distances[i], prepared.original[s.candidates[i]]);
                    s.order.sort_by(|a, b| {
                        let (da, ia) = key(a);
                        let (db, ib) = key(b);
                        da.total_cmp(&db).then(ia.cmp(&ib))
                    });
                    // A left-out point at or below the K-th distance could belong among the K nearest.
                    if count < layers || s.distances[s.order[layers - 1]] >= cut {
                        return TileResult::NeedsThreshold(f64::INFINITY);
                    }
                    for layer in 0..layers {
                        let selected = s.candidates[s.order[layer]];
                        s.votes.fill(0.0);
                        s.votes[prepared.classes[selected]] = 1.0;
                        if let Some(f) = focus {
                            let activation = if selected == f { 1.0 } else { 0.0 };
                            out.activations[layer * cells + cell] = activation;
                        }
                        write_layer(
                            out,
                            keep_layers,
                            layer,
                            cells,
                            cell,
                            &s.votes,
                            &mut s.vote_sum,
                        );
                    }
                } else {
                    // The cell's own candidates: those of the tile within the cell's bound.
                    let nearest = s.distances.iter().copied().fold(f64::INFINITY, f64::min);
                    let mut cell_threshold = nearest + margin + cutoff / beta;
                    loop {
                        let cell_cut =
                            s.keep_cell_candidates(cell_threshold, cut, &prepared.classes, classes);
                        if focus.is_some() {
                            s.find_focus(focus_in_tile, cell_threshold);
                        }
                        match s.soft_cell(soft, cell_cut, nearest) {
                            Ok(largest_smallest) => {
                                largest_lift = largest_lift.max(largest_smallest - nearest);
                                break;
                            }
                            Err(needed) if s.cell_distances.len() == count => {
                                return TileResult::NeedsThreshold(needed);
                            }
                            Err(needed) => {
                                self.stats.cell_retries += 1;
                                let grown = nearest + 2.0 * (cell_threshold - nearest).max(1e-12);
                                cell_threshold = needed.max(grown);
                            }
                        }
                    }
                    for layer in 0..layers {
                        let votes = &s.layer_votes[layer * classes..(layer + 1) * classes];
                        write_layer(out, keep_layers, layer, cells, cell, votes, &mut s.vote_sum);
                    }
                    if focus.is_some() {
                        for (layer, &activation) in s.focus_activations.iter().enumerate() {
                            out.activations[layer * cells + cell] = activation as f32;
                        }
                    }
                }

                let start = cell * classes;
                for (slot, sum) in out.output[start..start + classes]
                    .iter_mut()
                    .zip(&s.vote_sum)
                {
                    *slot = (sum / layers as f64) as f32;
                }
            }
        }

        self.margin = largest_lift.max(0.0) * 1.25;
        TileResult::Done
    }
}

impl Scratch {
    /// Keeps the tile's candidates whose distance to the current cell is at
    /// most `threshold`, in class order. Returns the smallest distance of any
    /// point left out, counting the tile's own non-candidates (`tile_cut`).
    fn keep_cell_candidates(
        &mut self,
        threshold: f64,
        tile_cut: f64,
        class_of: &[usize],
        classes: usize,
    ) -> f64 {
        self.cell_distances.clear();
        self.cell_class_ends.clear();
        self.cell_class_ends.resize(classes, 0);
        let mut cut = tile_cut;
        for (&d, &index) in self.distances.iter().zip(&self.candidates) {
            if d <= threshold {
                self.cell_distances.push(d);
                self.cell_class_ends[class_of[index]] = self.cell_distances.len();
            } else {
                cut = cut.min(d);
            }
        }
        for c in 1..classes {
            self.cell_class_ends[c] = self.cell_class_ends[c].max(self.cell_class_ends[c - 1]);
        }
        cut
    }

    /// Sets `focus_position` to the focus point's position among the cell's
    /// candidates, which are the tile's candidates within `threshold`, and
    /// clears the focus activations. `focus_in_tile` is its position among
    /// the tile's candidates, if it is one.
    fn find_focus(&mut self, focus_in_tile: Option<usize>, threshold: f64) {
        self.focus_activations.fill(0.0);
        self.focus_position = focus_in_tile
            .filter(|&position| self.distances[position] <= threshold)
            .map(|position| {
                let before = &self.distances[..position];
                before.iter().filter(|&&d| d <= threshold).count()
            });
    }

    /// Stores the focus point's activation `w_focus · scale` in layer `layer`,
    /// if it is a candidate of the cell.
    #[inline]
    fn record_focus(&mut self, layer: usize, scale: f64) {
        if let Some(position) = self.focus_position {
            self.focus_activations[layer] = self.exponents[position] as f64 * scale;
        }
    }

    /// Runs the K soft layers over the cell's candidates into `layer_votes`,
    /// with f32 scores where they are precise enough and f64 scores elsewhere.
    ///
    /// Returns the largest smallest score σ over the layers, or the squared
    /// distance up to which candidates are needed.
    fn soft_cell(&mut self, soft: SoftLayers, cut: f64, nearest: f64) -> Result<f64, f64> {
        if !self.prefer_f64 {
            let f32_result = if soft.multiplicative {
                self.multiplicative_layers_f32(soft, cut, nearest)?
            } else {
                self.soft_layers_f32(soft, cut, nearest)?
            };
            if let Some(largest_reference) = f32_result {
                return Ok(largest_reference);
            }
        }
        let result = if soft.multiplicative {
            self.multiplicative_layers(soft, cut)
        } else {
            self.soft_layers(soft, cut)
        };
        self.prefer_f64 = result
            .as_ref()
            .is_ok_and(|&largest| soft.beta * (largest - nearest) > F32_EXPONENT_LIMIT);
        result
    }

    /// Runs the soft layers with f32 scores measured from the cell's nearest
    /// distance; returns `Ok(None)` when f32 is not precise enough.
    ///
    /// A score `s` and the smallest score σ, both measured from the nearest
    /// distance, carry f32 rounding of about 6e-8 of their size. For points
    /// that carry weight, `β (s − σ) ≤ T`, so the exponent's error is about
    /// 6e-8 · (β σ + T) · 3. While β σ stays below [`F32_EXPONENT_LIMIT`]
    /// that is below 2e-5 in the exponent, so below 2e-5 relative in a weight.
    fn soft_layers_f32(
        &mut self,
        soft: SoftLayers,
        cut: f64,
        nearest: f64,
    ) -> Result<Option<f64>, f64> {
        let SoftLayers {
            beta,
            gamma,
            layers,
            ..
        } = soft;
        let classes = self.cell_class_ends.len();
        self.start_f32_scores(nearest);
        let (beta_f32, gamma_f32) = (beta as f32, gamma as f32);
        let mut largest_smallest: f32 = 0.0;

        for layer in 0..layers {
            let smallest =
                smallest_score_f32(&self.shifted_distances, &self.residual_f32, gamma_f32);
            let sigma = nearest + smallest as f64;
            if let Some(needed) = soft.candidates_needed(cut, sigma) {
                return Err(needed);
            }
            if beta * smallest as f64 > F32_EXPONENT_LIMIT {
                self.prefer_f64 = true;
                return Ok(None);
            }
            largest_smallest = largest_smallest.max(smallest);

            weights_f32(
                &self.shifted_distances,
                &self.residual_f32,
                (beta_f32, gamma_f32, smallest),
                &mut self.exponents,
            );

            let votes = &mut self.layer_votes[layer * classes..(layer + 1) * classes];
            let scale = class_votes(&self.exponents, &self.cell_class_ends, sum_f32, votes);
            self.record_focus(layer, scale);
            add_scaled(&mut self.residual_f32, &self.exponents, scale as f32);
        }
        Ok(Some(nearest + largest_smallest as f64))
    }

    /// Runs the K soft layers over the cell's candidates into `layer_votes`.
    ///
    /// Returns the largest smallest score σ over the layers, or, when a left-out
    /// point could have carried measurable weight (`β (cut − σ) < cutoff`),
    /// the distance up to which candidates are needed.
    fn soft_layers(&mut self, soft: SoftLayers, cut: f64) -> Result<f64, f64> {
        let SoftLayers {
            beta,
            gamma,
            layers,
            ..
        } = soft;
        let classes = self.cell_class_ends.len();
        self.start_f64_scores();
        let mut largest_smallest = f64::NEG_INFINITY;

        for layer in 0..layers {
            // s_n = d_n + γ S_n, shifted by its smallest value σ.
            let smallest = smallest_score(&self.cell_distances, &self.residual, gamma);
            if let Some(needed) = soft.candidates_needed(cut, smallest) {
                return Err(needed);
            }
            largest_smallest = largest_smallest.max(smallest);

            let scores = self.cell_distances.iter().zip(&self.residual);
            for (e, (d, r)) in self.exponents.iter_mut().zip(scores) {
                *e = (beta * (d + gamma * r - smallest)) as f32;
            }
            exp_neg_in_place(&mut self.exponents);

            let votes = &mut self.layer_votes[layer * classes..(layer + 1) * classes];
            let scale = class_votes(&self.exponents, &self.cell_class_ends, sum_as_f64, votes);
            self.record_focus(layer, scale);
            for (r, &w) in self.residual.iter_mut().zip(&self.exponents) {
                *r += w as f64 * scale;
            }
        }
        Ok(largest_smallest)
    }

    /// Prepares the f32 score arrays for a cell's first layer: distances
    /// measured from the cell's nearest distance `nearest`, and zero
    /// suppression (`S_n` or, under the multiplicative rule, the penalty `p_n`).
    fn start_f32_scores(&mut self, nearest: f64) {
        let count = self.cell_distances.len();
        self.shifted_distances.clear();
        self.shifted_distances
            .extend(self.cell_distances.iter().map(|&d| (d - nearest) as f32));
        self.residual_f32.clear();
        self.residual_f32.resize(count, 0.0);
        self.exponents.resize(count, 0.0);
    }

    /// Prepares the f64 score arrays for a cell's first layer, with zero suppression.
    fn start_f64_scores(&mut self) {
        let count = self.cell_distances.len();
        self.residual.clear();
        self.residual.resize(count, 0.0);
        self.exponents.resize(count, 0.0);
    }
}

/// Writes each class's share of the `weights` into `votes` and returns the
/// normalising factor `1 / Σ weights`. `class_ends[c]` is one past the last
/// weight of class c; `sum` adds one class's weights.
fn class_votes(
    weights: &[f32],
    class_ends: &[usize],
    sum: fn(&[f32]) -> f64,
    votes: &mut [f64],
) -> f64 {
    let mut start = 0;
    for (vote, &end) in votes.iter_mut().zip(class_ends) {
        *vote = sum(&weights[start..end]);
        start = end;
    }
    // The smallest score's term is e^0 = 1, so the total is at least 1.
    let scale = 1.0 / votes.iter().sum::<f64>();
    for vote in votes.iter_mut() {
        *vote *= scale;
    }
    scale
}

/// Adds a layer's vote to the running sum and stores it if layer maps are kept.
fn write_layer(
    out: &mut MapOutput,
    keep_layers: bool,
    layer: usize,
    cells: usize,
    cell: usize,
    votes: &[f64],
    vote_sum: &mut [f64],
) {
    for (sum, vote) in vote_sum.iter_mut().zip(votes) {
        *sum += vote;
    }
    if keep_layers {
        let classes = votes.len();
        let start = (layer * cells + cell) * classes;
        for (slot, &vote) in out.layer_votes[start..start + classes]
            .iter_mut()
            .zip(votes)
        {
            *slot = vote as f32;
        }
    }
}

/// Lanes of the reductions below: independent accumulators let the compiler
/// use SIMD, which it may not do for one running sum because float addition
/// is not associative.
const LANES: usize = 8;

/// Returns `min_n (d_n + γ r_n)`.
fn smallest_score(distances: &[f64], residual: &[f64], gamma: f64) -> f64 {
    let mut lanes = [f64::INFINITY; LANES];
    let mut d_chunks = distances.chunks_exact(LANES);
    let mut r_chunks = residual.chunks_exact(LANES);
    for (d, r) in d_chunks.by_ref().zip(r_chunks.by_ref()) {
        for lane in 0..LANES {
            lanes[lane] = lanes[lane].min(d[lane] + gamma * r[lane]);
        }
    }
    let tail = d_chunks.remainder().iter().zip(r_chunks.remainder());
    let tail_smallest = tail
        .map(|(d, r)| d + gamma * r)
        .fold(f64::INFINITY, f64::min);
    lanes.iter().copied().fold(tail_smallest, f64::min)
}

/// Loads 8 lanes from a slice of exactly 8 values.
#[inline(always)]
fn load(values: &[f32]) -> f32x8 {
    let mut lanes = [0.0; 8];
    lanes.copy_from_slice(values);
    f32x8::from(lanes)
}

/// Returns `min_n (d_n + γ r_n)` in f32, 8 lanes at a time.
fn smallest_score_f32(distances: &[f32], residual: &[f32], gamma: f32) -> f32 {
    let gamma_x8 = f32x8::splat(gamma);
    let mut lanes = f32x8::splat(f32::INFINITY);
    let mut d_blocks = distances.chunks_exact(8);
    let mut r_blocks = residual.chunks_exact(8);
    for (d, r) in d_blocks.by_ref().zip(r_blocks.by_ref()) {
        lanes = lanes.fast_min(load(r).mul_add(gamma_x8, load(d)));
    }
    let tail = d_blocks.remainder().iter().zip(r_blocks.remainder());
    let tail_smallest = tail
        .map(|(d, r)| d + gamma * r)
        .fold(f32::INFINITY, f32::min);
    lanes.to_array().into_iter().fold(tail_smallest, f32::min)
}

/// Writes `e^{−β (d_n + γ r_n − σ)}` into `weights`, 8 lanes at a time.
fn weights_f32(
    distances: &[f32],
    residual: &[f32],
    (beta, gamma, smallest): (f32, f32, f32),
    weights: &mut [f32],
) {
    let (beta_x8, gamma_x8, smallest_x8) = (
        f32x8::splat(beta),
        f32x8::splat(gamma),
        f32x8::splat(smallest),
    );
    let mut w_blocks = weights.chunks_exact_mut(8);
    let mut d_blocks = distances.chunks_exact(8);
    let mut r_blocks = residual.chunks_exact(8);
    for ((w, d), r) in w_blocks
        .by_ref()
        .zip(d_blocks.by_ref())
        .zip(r_blocks.by_ref())
    {
        let exponent = beta_x8 * (load(r).mul_add(gamma_x8, load(d)) - smallest_x8);
        w.copy_from_slice(&exp_neg_x8(exponent).to_array());
    }
    let tail = d_blocks.remainder().iter().zip(r_blocks.remainder());
    for (w, (d, r)) in w_blocks.into_remainder().iter_mut().zip(tail) {
        *w = exp_neg(beta * (d + gamma * r - smallest));
    }
}

/// Sums f32 values in 8 f32 lanes, then adds the lanes in f64. Each lane
/// adds at most N/8 terms, so the relative error stays below N · 1e-8.
fn sum_f32(values: &[f32]) -> f64 {
    let mut lanes = f32x8::ZERO;
    let mut blocks = values.chunks_exact(8);
    for block in blocks.by_ref() {
        lanes += load(block);
    }
    let tail: f64 = blocks.remainder().iter().map(|&v| v as f64).sum();
    lanes.to_array().iter().map(|&v| v as f64).sum::<f64>() + tail
}

/// Adds `scale · w_n` to every `r_n`.
fn add_scaled(residual: &mut [f32], weights: &[f32], scale: f32) {
    let scale_x8 = f32x8::splat(scale);
    let mut r_blocks = residual.chunks_exact_mut(8);
    let mut w_blocks = weights.chunks_exact(8);
    for (r, w) in r_blocks.by_ref().zip(w_blocks.by_ref()) {
        r.copy_from_slice(&load(w).mul_add(scale_x8, load(r)).to_array());
    }
    for (r, &w) in r_blocks
        .into_remainder()
        .iter_mut()
        .zip(w_blocks.remainder())
    {
        *r += w * scale;
    }
}

/// Sums f32 values in f64, in [`LANES`] partial sums.
fn sum_as_f64(values: &[f32]) -> f64 {
    let mut lanes = [0.0_f64; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in chunks.by_ref() {
        for lane in 0..LANES {
            lanes[lane] += chunk[lane] as f64;
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|&v| v as f64).sum();
    lanes.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use nalgebra::Point2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::engine::tests::{compare_with_reference, random_training, Comparison};
    use crate::engine::Grid;
    use crate::model::{RawParams, Suppression};
    use crate::test_support::lattice_training;

    /// Compares the fast engine's map with the f64 model (see
    /// [`compare_with_reference`]) and returns the engine's pruning counts too.
    fn compare_fast(model: &Model, resolution: usize) -> (Comparison, PruneStats) {
        let mut engine = FastEngine::default();
        let comparison = compare_with_reference(&mut engine, model, resolution, None);
        (comparison, engine.stats)
    }

    #[test]
    fn fast_map_matches_reference_everywhere() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let betas = [0.0, 1e-2, 1.0, 30.0, 1e3, 1e5, 1e8];
        // γ from 0 to 16, the largest the γ slider offers in the plot domain [-1, 1]².
        let gammas = [0.0, 0.05, 1.0, 16.0];
        let mut unstable = 0;
        let mut compared = 0;
        for &beta in &betas {
            for &gamma in &gammas {
                let points = rng.gen_range(2..60);
                let training = random_training(&mut rng, points, 3);
                for k in [1, points.min(5), points.min(30)] {
                    let raw = RawParams {
                        beta,
                        gamma,
                        k: k as i64,
                        hard: false,
                    };
                    let model = Model::new(&training, raw).unwrap();
                    // 20 cells a side: two full tiles and a partial one per row.
                    let (comparison, _) = compare_fast(&model, 20);
                    assert!(
                        comparison.worst <= 1e-4,
                        "error {} at {raw:?} with {points} points",
                        comparison.worst
                    );
                    unstable += comparison.unstable_cells;
                    compared += comparison.cells;
                }
            }
        }
        // The left-out cells must stay a small share, or the check would prove little.
        assert!(
            unstable * 20 < compared,
            "{unstable} of {compared} cells unstable"
        );
    }

    #[test]
    fn fast_hard_map_equals_reference_with_ties() {
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        for _ in 0..6 {
            // Points on a coarse lattice, so many distances tie exactly.
            let points = rng.gen_range(1..50);
            let training = lattice_training(&mut rng, points, 4);
            let k = rng.gen_range(1..=points);
            let raw = RawParams {
                beta: 0.0,
                gamma: 0.0,
                k: k as i64,
                hard: true,
            };
            let model = Model::new(&training, raw).unwrap();
            // 10 cells a side put cell centres at multiples of 0.1: exact ties with lattice points.
            let (comparison, _) = compare_fast(&model, 10);
            // Fractions such as 5/12 differ from f64 only by the f32 rounding of the output.
            assert!(
                comparison.worst < 1e-7,
                "error {} for k = {k} with {points} points",
                comparison.worst
            );
        }
    }

    #[test]
    fn sharp_beta_prunes_most_points() {
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        let training = random_training(&mut rng, 2000, 4);
        let raw = RawParams {
            beta: 3000.0,
            gamma: 2.0,
            k: 10,
            hard: false,
        };
        let model = Model::new(&training, raw).unwrap();
        // Tiles of 8 cells at 64 cells a side span a quarter of the plane's width.
        let (comparison, stats) = compare_fast(&model, 64);
        assert!(comparison.worst <= 1e-4, "error {}", comparison.worst);
        let mean_candidates = stats.candidates / stats.tiles;
        assert!(
            mean_candidates < 2000 / 6,
            "{mean_candidates} of 2000 points kept per tile"
        );
    }

    #[test]
    fn failed_bound_retries_and_stays_accurate() {
        let mut rng = ChaCha8Rng::seed_from_u64(24);
        // Coincident pairs: layer 1 splits its mass between the two points of
        // the nearest pair, so layer 2's smallest score is lifted by about γ/2
        // above every distance, beyond the first tile's margin.
        let mut coordinates = Vec::new();
        for _ in 0..10 {
            let p = Point2::new(rng.gen_range(-0.9..0.9), rng.gen_range(-0.9..0.9));
            coordinates.extend([p, p]);
        }
        coordinates.extend(
            (0..200).map(|_| Point2::new(rng.gen_range(-0.9..0.9), rng.gen_range(-0.9..0.9))),
        );
        let labels = (0..coordinates.len())
            .map(|_| rng.gen_range(0..3))
            .collect();
        let training = TrainingSet::new(coordinates, labels, 3).unwrap();
        let raw = RawParams {
            beta: 100.0,
            gamma: 16.0,
            k: 2,
            hard: false,
        };
        let model = Model::new(&training, raw).unwrap();
        let (comparison, stats) = compare_fast(&model, 48);
        assert!(stats.retries > 0, "{stats:?}");
        assert!(comparison.worst <= 1e-4, "error {}", comparison.worst);
    }

    #[test]
    fn multiplicative_bound_counts_left_out_points() {
        // One cell at the origin, on top of point 0. Point 1 lies T − 1 and
        // point 2 lies T + 2 above it in β·d, with T = ln 3 + 18.5. The cell
        // keeps points within T/β, so point 2 is left out although layer 1
        // passes the bound on its smallest score. Yet 1 − h_0 is the mass of
        // points 1 and 2 together, so leaving out point 2 would shift point
        // 0's carry by ln(1 + e^{−3}) ≈ 0.05 and skew layer 2.
        let beta = 100.0;
        let cutoff = 3f64.ln() + PRUNE_EXPONENT;
        let second = ((cutoff - 1.0) / beta).sqrt();
        let third = ((cutoff + 2.0) / beta).sqrt();
        let coordinates = vec![
            Point2::new(0.0, 0.0),
            Point2::new(second, 0.0),
            Point2::new(0.0, third),
        ];
        let training = TrainingSet::new(coordinates, vec![0, 1, 1], 2).unwrap();
        let raw = RawParams {
            beta,
            gamma: 0.0,
            k: 2,
            hard: false,
        };
        let model = Model::new(&training, raw)
            .unwrap()
            .with_suppression(Suppression::Multiplicative);

        let mut engine = FastEngine::default();
        let comparison = compare_with_reference(&mut engine, &model, 1, Some(0));

        assert_eq!(comparison.unstable_cells, 0, "the one cell is compared");
        assert!(
            comparison.worst_activation <= 1e-6,
            "activation error {}",
            comparison.worst_activation
        );
        assert!(comparison.worst <= 1e-6, "vote error {}", comparison.worst);
        assert!(engine.stats.cell_retries > 0, "{:?}", engine.stats);
    }

    #[test]
    fn focus_left_out_by_tile_gets_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(25);
        let training = random_training(&mut rng, 100, 3);
        // One tile of 8 × 8 cells over [-1, -0.6]², and as focus the point
        // farthest from it: at β = 20 its exact weight is about e^{−100}.
        let grid = Grid {
            x_range: (-1.0, -0.6),
            y_range: (-1.0, -0.6),
            columns: TILE,
            rows: TILE,
        };
        let corner = Point2::new(-0.8, -0.8);
        let focus = (0..training.len())
            .max_by(|&a, &b| {
                let distance =
                    |n: usize| nalgebra::distance_squared(&training.points()[n], &corner);
                distance(a).total_cmp(&distance(b))
            })
            .unwrap();
        let raw = RawParams {
            beta: 20.0,
            gamma: 1.0,
            k: 3,
            hard: false,
        };

        for suppression in [Suppression::Additive, Suppression::Multiplicative] {
            let model = Model::new(&training, raw)
                .unwrap()
                .with_suppression(suppression);
            let mut engine = FastEngine::default();
            let mut out = MapOutput::new(grid, 3, 3, false).with_focus(Some(focus));
            engine.evaluate(&model, &mut out);

            let sorted_focus = engine.focus.expect("the focus is a training point");
            assert!(
                !engine.scratch.candidates.contains(&sorted_focus),
                "the tile kept the focus point ({suppression:?})"
            );
            let mut positive_references = 0;
            for row in 0..grid.rows {
                for column in 0..grid.columns {
                    let cell = row * grid.columns + column;
                    let trace = model.trace(grid.cell_centre(column, row)).unwrap();
                    for (layer, expected) in trace.layers.iter().enumerate() {
                        let exact = expected.activation[focus];
                        assert_eq!(out.activation(layer).unwrap()[cell], 0.0);
                        assert!(exact < 1e-8, "reference {exact} ({suppression:?})");
                        if exact > 0.0 {
                            positive_references += 1;
                        }
                    }
                }
            }
            // The engine wrote 0 where the exact activation is tiny but not 0.
            assert!(positive_references > 0, "{suppression:?}");
        }
    }
}
