//! The fast engine's layers under the multiplicative suppression rule.
//!
//! Layer k has logits `−β d_n + c_n` with the carry
//! `c_n = Σ_{k'<k} ln(1 − h^{k'}_n) ≤ 0`. Both paths keep the carry as a
//! penalty in distance units, `p_n = −c_n / β ≥ 0`, so that the score
//! `d_n + p_n` is never below `d_n` and the score kernels of the additive rule
//! apply with γ = 1. The engine sends β = 0 to the additive code, where every
//! layer is uniform under both rules.
//!
//! Only the point with the largest logit can have `h > ½`. Its `1 − h` is the
//! other points' share of the mass, which both paths take from those points'
//! weights rather than from `h`, because `1 − h` loses its digits as `h`
//! nears 1. The module docs of the fast engine show why the bound on left-out
//! points also covers this share.

use wide::{f32x8, CmpEq, CmpLt};

use super::{
    class_votes, load, smallest_score, smallest_score_f32, sum_as_f64, sum_f32, weights_f32,
    Scratch, SoftLayers, F32_EXPONENT_LIMIT,
};
use crate::engine::fast_exp::exp_neg_in_place;

impl Scratch {
    /// Runs the soft layers of the multiplicative rule with f32 scores
    /// measured from the cell's nearest distance. Returns `Ok(None)` when f32
    /// is not precise enough, and otherwise what [`Scratch::soft_cell`] returns.
    ///
    /// The rounding argument of `soft_layers_f32` holds for `d_n + p_n` as it
    /// does for `d_n + γ S_n`. The top point's `1 − h` also needs the other
    /// points' f32 weights, which underflow below `e^{−87}`. The next layer's
    /// smallest score is at least `σ + (x₂ − ln N)/β`, with `x₂ = β (σ₂ − σ)`
    /// the exponent of the second smallest score σ₂. So when the next layer
    /// passes the check `β σ ≤ 50`, `x₂ ≤ 50 + ln N`, and the weights lost to
    /// underflow are below `N² e^{−37}` of the other points' share. A layer
    /// that fails the check sends the whole cell to f64.
    pub(super) fn multiplicative_layers_f32(
        &mut self,
        soft: SoftLayers,
        cut: f64,
        nearest: f64,
    ) -> Result<Option<f64>, f64> {
        let SoftLayers { beta, layers, .. } = soft;
        let classes = self.cell_class_ends.len();
        // The penalties p_n are kept in `residual_f32`.
        self.start_f32_scores(nearest);
        let beta_f32 = beta as f32;
        let mut largest_smallest: f32 = 0.0;

        for layer in 0..layers {
            let smallest = smallest_score_f32(&self.shifted_distances, &self.residual_f32, 1.0);
            let sigma = nearest + smallest as f64;
            if let Some(needed) = soft.candidates_needed(cut, sigma) {
                return Err(needed);
            }
            if beta * smallest as f64 > F32_EXPONENT_LIMIT {
                self.prefer_f64 = true;
                return Ok(None);
            }

            weights_f32(
                &self.shifted_distances,
                &self.residual_f32,
                (beta_f32, 1.0, smallest),
                &mut self.exponents,
            );
            let votes = &mut self.layer_votes[layer * classes..(layer + 1) * classes];
            let scale = class_votes(&self.exponents, &self.cell_class_ends, sum_f32, votes);
            self.record_focus(layer, scale);
            largest_smallest = largest_smallest.max(smallest);
            if layer + 1 == layers {
                break;
            }

            // The top point's weight is e^0 = 1, so `scale > ½` means its h > ½,
            // and then it is the only weight equal to 1.
            let top_log_complement = if scale > 0.5 {
                // ln(1 − h_top) = ln(others / (1 + others)).
                let others = sum_below_one(&self.exponents);
                others.ln() - others.ln_1p()
            } else {
                (-scale).ln_1p()
            };
            add_log_complements_f32(
                &mut self.residual_f32,
                &self.exponents,
                scale as f32,
                (1.0 / beta) as f32,
                top_log_complement as f32,
            );
        }
        Ok(Some(nearest + largest_smallest as f64))
    }

    /// Runs the K soft layers of the multiplicative rule over the cell's
    /// candidates into `layer_votes`, with f64 scores `d_n + p_n`.
    ///
    /// Returns the largest smallest score σ over the layers, or the squared
    /// distance up to which candidates are needed.
    ///
    /// A penalty of +∞ marks a point that a layer selected completely, which
    /// happens only when no other candidate has finite score. When every
    /// candidate has been selected completely and none of the tile's points
    /// was left out, the layer starts again from zero penalties, as the f64
    /// reference does.
    pub(super) fn multiplicative_layers(&mut self, soft: SoftLayers, cut: f64) -> Result<f64, f64> {
        let SoftLayers {
            beta,
            cutoff,
            layers,
            ..
        } = soft;
        let classes = self.cell_class_ends.len();
        // The penalties p_n are kept in `residual`.
        self.start_f64_scores();
        let mut largest_smallest = f64::NEG_INFINITY;

        for layer in 0..layers {
            let mut smallest = smallest_score(&self.cell_distances, &self.residual, 1.0);
            if smallest == f64::INFINITY {
                if cut.is_finite() {
                    // The left-out points are still available.
                    return Err(cut + cutoff / beta);
                }
                self.residual.fill(0.0);
                smallest = smallest_score(&self.cell_distances, &self.residual, 1.0);
            }
            if let Some(needed) = soft.candidates_needed(cut, smallest) {
                return Err(needed);
            }
            largest_smallest = largest_smallest.max(smallest);

            let scores = self.cell_distances.iter().zip(&self.residual);
            for (e, (d, p)) in self.exponents.iter_mut().zip(scores) {
                *e = (beta * (d + p - smallest)) as f32;
            }
            exp_neg_in_place(&mut self.exponents);
            let votes = &mut self.layer_votes[layer * classes..(layer + 1) * classes];
            let scale = class_votes(&self.exponents, &self.cell_class_ends, sum_as_f64, votes);
            self.record_focus(layer, scale);
            if layer + 1 == layers {
                break;
            }

            // ln(1 − h_top) = ln(others / (1 + others)), where h_top > ½.
            let top = (scale > 0.5).then(|| {
                let (top, log_others) = self.log_mass_of_others(beta, smallest);
                (top, log_others - log_others.exp().ln_1p())
            });
            for (n, (p, &w)) in self.residual.iter_mut().zip(&self.exponents).enumerate() {
                let log_complement = match top {
                    Some((top, top_log_complement)) if top == n => top_log_complement,
                    _ => (-(w as f64 * scale)).ln_1p(),
                };
                *p -= log_complement / beta;
            }
        }
        Ok(largest_smallest)
    }

    /// Returns the top candidate, the first with weight 1, and
    /// `ln Σ_{m≠top} e^{−β (s_m − σ)}` for the scores `s = d + p`, or −∞ when
    /// no other candidate has a finite score.
    ///
    /// The sum is taken relative to its largest term in f64, so it stays
    /// precise where the f32 weights of the other points underflow to 0.
    fn log_mass_of_others(&self, beta: f64, smallest: f64) -> (usize, f64) {
        let top = self
            .exponents
            .iter()
            .position(|&w| w == 1.0)
            .expect("the smallest score has weight e^0 = 1");
        let exponents = || {
            self.cell_distances
                .iter()
                .zip(&self.residual)
                .enumerate()
                .filter(move |&(m, _)| m != top)
                .map(move |(_, (d, p))| beta * (d + p - smallest))
        };
        let smallest_other = exponents().fold(f64::INFINITY, f64::min);
        if smallest_other == f64::INFINITY {
            return (top, f64::NEG_INFINITY);
        }
        let relative: f64 = exponents().map(|x| (smallest_other - x).exp()).sum();
        (top, relative.ln() - smallest_other)
    }
}

/// Returns the sum of the weights below 1 in f64: all weights but the top
/// point's, when it is the only one equal to 1.
fn sum_below_one(weights: &[f32]) -> f64 {
    let one = f32x8::ONE;
    let mut lanes = f32x8::ZERO;
    let mut blocks = weights.chunks_exact(8);
    for block in blocks.by_ref() {
        let w = load(block);
        lanes += w.cmp_lt(one).blend(w, f32x8::ZERO);
    }
    let tail: f64 = blocks
        .remainder()
        .iter()
        .filter(|&&w| w < 1.0)
        .map(|&w| w as f64)
        .sum();
    lanes.to_array().iter().map(|&v| v as f64).sum::<f64>() + tail
}

/// Adds `−ln(1 − h_n) / β` to every penalty, with `h_n = scale · w_n`, 8 lanes
/// at a time. A point with weight 1 adds `−top_log_complement / β` instead.
///
/// The caller passes `ln(1 − h)` of the top point, so that the other points
/// need the logarithm only on `[½, 1]`. There `f32x8::ln` (wide 0.7) is
/// accurate to about 1e-7, and the rounding of `1 − h` in f32 costs at most
/// 6e-8, both absolute, as errors in a logit should be measured.
fn add_log_complements_f32(
    penalties: &mut [f32],
    weights: &[f32],
    scale: f32,
    inverse_beta: f32,
    top_log_complement: f32,
) {
    let one = f32x8::ONE;
    let scale_x8 = f32x8::splat(scale);
    let negative_inverse_beta = f32x8::splat(-inverse_beta);
    let top_x8 = f32x8::splat(top_log_complement);
    let mut p_blocks = penalties.chunks_exact_mut(8);
    let mut w_blocks = weights.chunks_exact(8);
    for (p, w) in p_blocks.by_ref().zip(w_blocks.by_ref()) {
        let w = load(w);
        let log_complement = w.cmp_eq(one).blend(top_x8, (one - w * scale_x8).ln());
        let penalty = log_complement.mul_add(negative_inverse_beta, load(p));
        p.copy_from_slice(&penalty.to_array());
    }
    for (p, &w) in p_blocks
        .into_remainder()
        .iter_mut()
        .zip(w_blocks.remainder())
    {
        let log_complement = if w == 1.0 {
            top_log_complement
        } else {
            (1.0 - w * scale).ln()
        };
        *p -= log_complement * inverse_beta;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_complements_match_f64_ln_1p() {
        // 21 weights: two blocks of 8 and a scalar remainder of 5. The top
        // point (weight 1) sits in a block and gets the value passed for it.
        let mut weights: Vec<f32> = (0..21).map(|i| i as f32 / 21.0).collect();
        weights[3] = 1.0;
        let total: f64 = weights.iter().map(|&w| w as f64).sum();
        let scale = (1.0 / total) as f32;
        let inverse_beta = 0.25;
        let mut penalties = vec![0.5_f32; 21];

        add_log_complements_f32(&mut penalties, &weights, scale, inverse_beta, -7.0);

        for (n, (&p, &w)) in penalties.iter().zip(&weights).enumerate() {
            let log_complement = if n == 3 {
                -7.0
            } else {
                (-(w as f64 * scale as f64)).ln_1p()
            };
            let expected = 0.5 - log_complement * inverse_beta as f64;
            assert!(
                (p as f64 - expected).abs() < 1e-7,
                "penalty {p} at {n}, expected {expected}"
            );
        }
    }

    #[test]
    fn sum_below_one_leaves_out_the_top_weight() {
        let mut weights: Vec<f32> = (0..13).map(|i| i as f32 * 1e-3).collect();
        weights[9] = 1.0;
        let expected: f64 = weights
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 9)
            .map(|(_, &w)| w as f64)
            .sum();
        let got = sum_below_one(&weights);
        // f32 lanes add at most two terms each here, so one rounding of 6e-8.
        assert!(
            (got - expected).abs() < 1e-7 * expected,
            "sum {got}, expected {expected}"
        );
    }
}
