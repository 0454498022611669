//! Class colours from the Okabe–Ito palette, which stays distinguishable under
//! the common forms of colour blindness.
//!
//! The palette's yellow (#F0E442) is left out because its contrast ratio
//! against a white background is only about 1.3, too faint for points on a
//! projected map. Its black is not a class colour either, so that points stay
//! distinct from text and axes. That leaves six colours, so the app offers at
//! most six classes.

/// Number of distinct class colours, and so the maximum number of classes.
pub const MAX_CLASSES: usize = 6;

/// The class colours in class order, with the palette's own names.
pub const CLASS_COLOURS: [(&str, [u8; 3]); MAX_CLASSES] = [
    ("orange", [0xE6, 0x9F, 0x00]),
    ("sky blue", [0x56, 0xB4, 0xE9]),
    ("bluish green", [0x00, 0x9E, 0x73]),
    ("vermillion", [0xD5, 0x5E, 0x00]),
    ("blue", [0x00, 0x72, 0xB2]),
    ("reddish purple", [0xCC, 0x79, 0xA7]),
];

/// Returns the RGB colour of a class. Class indices wrap modulo [`MAX_CLASSES`].
pub fn class_colour(class: usize) -> [u8; 3] {
    CLASS_COLOURS[class % MAX_CLASSES].1
}

/// Returns the palette's name for a class colour, for text that describes
/// the map. Class indices wrap modulo [`MAX_CLASSES`].
pub fn class_colour_name(class: usize) -> &'static str {
    CLASS_COLOURS[class % MAX_CLASSES].0
}

/// Stops of the layer colour ramp, dark purple to green: close to the
/// viridis colour map at 0, ¼, ½ and ¾. Its yellow end is left out because it
/// would fade into a white background.
const LAYER_RAMP: [[u8; 3]; 4] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98]];

/// Returns the colour of layer `layer` (0-based) of `layers`, on a ramp from
/// dark purple (layer 1) to green (layer K), for the probe's lines.
pub fn layer_colour(layer: usize, layers: usize) -> [u8; 3] {
    let t = if layers <= 1 {
        0.0
    } else {
        layer.min(layers - 1) as f64 / (layers - 1) as f64
    };
    let position = t * (LAYER_RAMP.len() - 1) as f64;
    let stop = (position.floor() as usize).min(LAYER_RAMP.len() - 2);
    let within = position - stop as f64;
    let (from, to) = (LAYER_RAMP[stop], LAYER_RAMP[stop + 1]);
    let mut colour = [0; 3];
    for (channel, (a, b)) in colour.iter_mut().zip(from.iter().zip(&to)) {
        *channel = (f64::from(*a) + (f64::from(*b) - f64::from(*a)) * within).round() as u8;
    }
    colour
}

/// Formats an RGB colour as a CSS hex colour such as `#e69f00`.
pub fn css_hex(rgb: [u8; 3]) -> String {
    let [red, green, blue] = rgb;
    format!("#{red:02x}{green:02x}{blue:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG 2 contrast ratio of a colour against white.
    fn contrast_with_white(rgb: [u8; 3]) -> f64 {
        let linear = |channel: u8| {
            let c = f64::from(channel) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let luminance = 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
        1.05 / (luminance + 0.05)
    }

    #[test]
    fn layer_colours_span_ramp() {
        assert_eq!(layer_colour(0, 10), LAYER_RAMP[0]);
        assert_eq!(layer_colour(9, 10), LAYER_RAMP[3]);
        assert_eq!(layer_colour(0, 1), LAYER_RAMP[0]);
        // Layer 4 of 10 sits at a third of the ramp: exactly the second stop.
        assert_eq!(layer_colour(3, 10), LAYER_RAMP[1]);
        for layer in 0..30 {
            let colour = layer_colour(layer, 30);
            assert!(
                contrast_with_white(colour) >= 2.0,
                "layer {layer}: {colour:?} too faint on white"
            );
        }
    }

    #[test]
    fn css_hex_formats_lowercase_digits() {
        assert_eq!(css_hex([0xE6, 0x9F, 0x00]), "#e69f00");
        assert_eq!(css_hex([0, 0, 0]), "#000000");
        assert_eq!(css_hex([255, 255, 255]), "#ffffff");
    }

    #[test]
    fn palette_matches_okabe_ito_hex_values() {
        let hex: Vec<String> = (0..MAX_CLASSES).map(|c| css_hex(class_colour(c))).collect();
        assert_eq!(
            hex,
            ["#e69f00", "#56b4e9", "#009e73", "#d55e00", "#0072b2", "#cc79a7"]
        );
    }

    #[test]
    fn class_colours_are_distinct() {
        for a in 0..MAX_CLASSES {
            for b in (a + 1)..MAX_CLASSES {
                assert_ne!(class_colour(a), class_colour(b), "classes {a} and {b}");
            }
        }
    }

    #[test]
    fn class_colour_wraps_after_six() {
        assert_eq!(class_colour(MAX_CLASSES), class_colour(0));
        assert_eq!(class_colour(2 * MAX_CLASSES + 3), class_colour(3));
        assert_eq!(class_colour_name(MAX_CLASSES + 1), "sky blue");
    }

    #[test]
    fn palette_contrast_beats_excluded_yellow() {
        let yellow = contrast_with_white([0xF0, 0xE4, 0x42]);
        assert!(yellow < 1.5, "yellow contrast {yellow}");
        for (name, rgb) in CLASS_COLOURS {
            let contrast = contrast_with_white(rgb);
            assert!(contrast > 2.0, "{name} has contrast {contrast} on white");
        }
    }
}
