//! Class probabilities to pixels: pure functions from number grids to RGBA.

/// The strength with which the winning class is painted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shading {
    /// Strength follows confidence: a tie between all classes is almost white.
    Confidence,
    /// Every cell in the winning class's colour at one strength.
    WinnerOnly,
}

/// Paint strength at full confidence and at a tie between all classes.
const STRONGEST: f32 = 0.78;
const WEAKEST: f32 = 0.08;

/// Paints one cell per pixel from `probabilities` (`classes` values per cell)
/// into `rgba` (4 bytes per cell), over a white background.
///
/// The winning class's colour is blended with white by
/// `WEAKEST + (STRONGEST − WEAKEST) · q`, where the confidence
/// `q = (p_max − 1/C) / (1 − 1/C)` is 0 when all classes tie and 1 when one
/// class has all the mass.
pub fn paint_probabilities(
    probabilities: &[f32],
    classes: usize,
    colours: &[[u8; 3]],
    shading: Shading,
    rgba: &mut [u8],
) {
    assert!(
        classes >= 1 && colours.len() >= classes,
        "a colour per class"
    );
    assert_eq!(
        probabilities.len() / classes * 4,
        rgba.len(),
        "4 bytes per cell"
    );

    let chance = 1.0 / classes as f32;
    for (cell, pixel) in probabilities
        .chunks_exact(classes)
        .zip(rgba.chunks_exact_mut(4))
    {
        let (winner, p_max) =
            cell.iter()
                .copied()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (c, p)| {
                    if p > best.1 {
                        (c, p)
                    } else {
                        best
                    }
                });
        let strength = match shading {
            Shading::WinnerOnly => STRONGEST,
            Shading::Confidence if classes == 1 => STRONGEST,
            Shading::Confidence => {
                let confidence = ((p_max - chance) / (1.0 - chance)).clamp(0.0, 1.0);
                WEAKEST + (STRONGEST - WEAKEST) * confidence
            }
        };

        let colour = colours[winner];
        for (channel, &value) in pixel.iter_mut().zip(&colour) {
            *channel = (255.0 + (value as f32 - 255.0) * strength).round() as u8;
        }
        pixel[3] = 255;
    }
}

/// Paints one cell per pixel from `activations` (one `h^k_n` in `[0, 1]` per
/// cell): white at 0, `colour` at full strength at 1, linear in between.
pub fn paint_activation(activations: &[f32], colour: [u8; 3], rgba: &mut [u8]) {
    assert_eq!(activations.len() * 4, rgba.len(), "4 bytes per cell");
    for (&h, pixel) in activations.iter().zip(rgba.chunks_exact_mut(4)) {
        let strength = STRONGEST * h.clamp(0.0, 1.0);
        for (channel, &value) in pixel.iter_mut().zip(&colour) {
            *channel = (255.0 + (value as f32 - 255.0) * strength).round() as u8;
        }
        pixel[3] = 255;
    }
}

/// Returns the running average `(1/(k+1)) Σ_{k' ≤ k} Y^T h^{k'}` of the layer
/// votes for every cell, from `layer_votes` laid out as in
/// [`MapOutput::layer_votes`](crate::engine::MapOutput): layer, then cell, then class.
pub fn running_average(
    layer_votes: &[f32],
    cells: usize,
    classes: usize,
    layer: usize,
) -> Vec<f32> {
    let size = cells * classes;
    let mut sum = vec![0.0_f32; size];
    for votes in layer_votes.chunks_exact(size).take(layer + 1) {
        for (total, &vote) in sum.iter_mut().zip(votes) {
            *total += vote;
        }
    }
    let scale = 1.0 / (layer + 1) as f32;
    sum.iter_mut().for_each(|total| *total *= scale);
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_zero_is_white_one_is_strongest() {
        let mut rgba = vec![0; 8];
        paint_activation(&[0.0, 1.0], [0, 114, 178], &mut rgba);
        assert_eq!(rgba[..4], [255, 255, 255, 255]);
        // Same blend as a certain class cell: 255 + (c − 255) · 0.78.
        assert_eq!(rgba[4..], [56, 145, 195, 255]);
    }

    #[test]
    fn running_average_means_first_layers() {
        // Two cells, two classes, three layers.
        let votes = [
            1.0, 0.0, 0.5, 0.5, // layer 1
            0.0, 1.0, 0.5, 0.5, // layer 2
            0.0, 1.0, 1.0, 0.0, // layer 3
        ];
        assert_eq!(running_average(&votes, 2, 2, 0), votes[..4].to_vec());
        assert_eq!(running_average(&votes, 2, 2, 1), vec![0.5, 0.5, 0.5, 0.5]);
        let third = running_average(&votes, 2, 2, 2);
        let expected = [1.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 1.0 / 3.0];
        for (got, want) in third.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{third:?}");
        }
    }

    const COLOURS: [[u8; 3]; 2] = [[230, 159, 0], [0, 114, 178]];

    fn paint(probabilities: &[f32], shading: Shading) -> Vec<u8> {
        let mut rgba = vec![0; probabilities.len() / 2 * 4];
        paint_probabilities(probabilities, 2, &COLOURS, shading, &mut rgba);
        rgba
    }

    #[test]
    fn certain_cell_gets_strongest_class_colour() {
        let rgba = paint(&[0.0, 1.0], Shading::Confidence);
        // Blend formula per channel, e.g. green 255 + (114 − 255) · 0.78 = 145.02
        // and blue 255 + (178 − 255) · 0.78 = 194.94, rounded.
        assert_eq!(rgba, vec![56, 145, 195, 255]);
    }

    #[test]
    fn tied_cell_is_nearly_white() {
        let rgba = paint(&[0.5, 0.5], Shading::Confidence);
        assert!(rgba[..3].iter().all(|&c| c >= 235), "{rgba:?}");
    }

    #[test]
    fn confidence_shading_grows_with_margin() {
        let weak = paint(&[0.6, 0.4], Shading::Confidence);
        let strong = paint(&[0.9, 0.1], Shading::Confidence);
        // Orange's blue channel is 0, so it falls as strength rises.
        assert!(strong[2] < weak[2], "weak {weak:?}, strong {strong:?}");
    }

    #[test]
    fn winner_only_ignores_margin() {
        let weak = paint(&[0.6, 0.4], Shading::WinnerOnly);
        let strong = paint(&[1.0, 0.0], Shading::WinnerOnly);
        assert_eq!(weak, strong);
    }
}
