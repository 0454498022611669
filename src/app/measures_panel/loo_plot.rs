//! The plot of leave-one-out accuracy against β on a log axis, with a marker
//! at the current β.
//!
//! The curve and axes are drawn with plotters on one canvas, only when the
//! curve changes. The marker is drawn on a second canvas on top, so a β
//! slider step redraws a line and a dot, not the whole chart.

use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::super::canvas::{context_2d, match_css_size, size_changes};
use super::super::state::AppState;
use super::runner::CurveView;
use crate::measures::display::{format_number, place_on_log_axis, AxisPlace};

/// Colour of the curve (Okabe–Ito blue, the page's accent).
const CURVE_COLOUR: RGBColor = RGBColor(0, 114, 178);
/// Colour of the marker at the current β (Okabe–Ito vermilion).
const MARKER_CSS: &str = "#d55e00";

/// The plot area after the last draw, in canvas pixels, with the β range it shows.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PlotGeometry {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    /// Canvas pixels per CSS pixel.
    ratio: f64,
    beta_range: (f64, f64),
}

impl PlotGeometry {
    /// Returns the canvas y of an accuracy in `[0, 1]`.
    fn accuracy_y(&self, accuracy: f64) -> f64 {
        self.top + (1.0 - accuracy.clamp(0.0, 1.0)) * self.height
    }
}

/// Shows the curve of `curve` and a marker at the current β, with a dot at
/// `marker_accuracy` (the leave-one-out accuracy at the current β) when known.
#[component]
pub fn LooPlot(curve: RwSignal<CurveView>, marker_accuracy: Signal<Option<f64>>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let curve_ref = NodeRef::<Canvas>::new();
    let marker_ref = NodeRef::<Canvas>::new();
    let geometry = RwSignal::new(None::<PlotGeometry>);

    // The canvases follow the page's width, so a new width needs a new drawing.
    let resizes = size_changes(curve_ref);

    Effect::new(move |_| {
        resizes.track();
        let Some(canvas) = curve_ref.get() else {
            return;
        };
        let drawn = curve.with(|view| draw_curve(&canvas, view));
        match drawn {
            Ok(drawn) => geometry.set(Some(drawn)),
            Err(error) => log::error!("drawing the leave-one-out curve failed: {error}"),
        }
    });

    Effect::new(move |_| {
        let beta = state.beta.get();
        let hard = state.hard.get();
        let accuracy = marker_accuracy.get();
        let (Some(canvas), Some(geometry)) = (marker_ref.get(), geometry.get()) else {
            return;
        };
        draw_marker(&canvas, &geometry, beta, hard, accuracy);
    });

    let caption = move || curve.with(curve_caption);
    let marker_caption = move || {
        let (lo, hi) = curve.with(|view| view.beta_range);
        marker_text(
            state.beta.get(),
            state.hard.get(),
            marker_accuracy.get(),
            lo,
            hi,
        )
    };

    view! {
        // A div, not a figure: the layer strip's maps are the page's figures.
        <div class="loo-plot">
            <div class="loo-canvases">
                <canvas
                    node_ref=curve_ref
                    class="loo-curve"
                    role="img"
                    aria-label="leave-one-out accuracy against beta"
                    aria-describedby="loo-caption"
                ></canvas>
                <canvas node_ref=marker_ref class="loo-marker" aria-hidden="true"></canvas>
            </div>
            <p class="loo-caption" id="loo-caption">
                <span class="loo-status">{caption}</span>
                " "
                <span class="loo-marker-text">{marker_caption}</span>
            </p>
        </div>
    }
}

/// Draws axes and the curve; returns where the plot area went.
fn draw_curve(canvas: &HtmlCanvasElement, view: &CurveView) -> Result<PlotGeometry, String> {
    let ratio = match_css_size(canvas);
    let font = |size: f64| ("sans-serif", size * ratio);
    let backend =
        CanvasBackend::with_canvas_object(canvas.clone()).ok_or("the canvas has no 2D context")?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;

    let (lo, hi) = view.beta_range;
    let mut chart = ChartBuilder::on(&root)
        .margin((10.0 * ratio) as u32)
        .x_label_area_size((38.0 * ratio) as u32)
        .y_label_area_size((46.0 * ratio) as u32)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..100.0)
        .map_err(|e| e.to_string())?;
    let (x_pixels, y_pixels) = chart.plotting_area().get_pixel_range();
    let geometry = PlotGeometry {
        left: x_pixels.start as f64,
        top: y_pixels.start as f64,
        width: (x_pixels.end - x_pixels.start) as f64,
        height: (y_pixels.end - y_pixels.start) as f64,
        ratio,
        beta_range: view.beta_range,
    };

    let x_formatter = |beta: &f64| format_number(*beta);
    let y_formatter = |percent: &f64| format!("{percent:.0} %");
    chart
        .configure_mesh()
        .x_desc("β (log scale)")
        .y_desc("accuracy")
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&x_formatter)
        .y_label_formatter(&y_formatter)
        .label_style(font(11.0))
        .axis_desc_style(font(12.0))
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 230).stroke_width(ratio.max(1.0) as u32))
        .draw()
        .map_err(|e| e.to_string())?;

    if let Some(accuracy) = view.accuracy.as_ref() {
        let points: Vec<(f64, f64)> = view
            .betas
            .iter()
            .zip(accuracy)
            .map(|(&beta, &share)| (beta, 100.0 * share))
            .collect();
        // A curve still growing is drawn lighter than a finished one.
        let colour = if view.is_complete() {
            CURVE_COLOUR.mix(1.0)
        } else {
            CURVE_COLOUR.mix(0.45)
        };
        chart
            .draw_series(LineSeries::new(
                points.clone(),
                colour.stroke_width((2.0 * ratio) as u32),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&point| Circle::new(point, (2.5 * ratio) as i32, colour.filled())),
            )
            .map_err(|e| e.to_string())?;
    }

    root.present().map_err(|e| e.to_string())?;
    Ok(geometry)
}

/// Draws the marker at `beta` on the marker canvas and records its place in
/// `data-marker-x` (CSS pixels from the canvas's left edge) and
/// `data-marker-place` (`on`, `below`, `above`, or `none` in hard mode).
fn draw_marker(
    canvas: &HtmlCanvasElement,
    geometry: &PlotGeometry,
    beta: f64,
    hard: bool,
    accuracy: Option<f64>,
) {
    match_css_size(canvas);
    let Some(context) = context_2d(canvas) else {
        return;
    };
    context.clear_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
    if hard {
        // Hard mode does not use β, so no β is marked; the curve is flat.
        let _ = canvas.set_attribute("data-marker-place", "none");
        let _ = canvas.remove_attribute("data-marker-x");
        return;
    }

    let (lo, hi) = geometry.beta_range;
    let place = place_on_log_axis(beta, lo, hi);
    let (x, place_name) = match place {
        AxisPlace::On(fraction) => (geometry.left + fraction * geometry.width, "on"),
        AxisPlace::Below => (geometry.left, "below"),
        AxisPlace::Above => (geometry.left + geometry.width, "above"),
    };
    let ratio = geometry.ratio;
    let bottom = geometry.top + geometry.height;

    context.set_stroke_style_str(MARKER_CSS);
    context.set_fill_style_str(MARKER_CSS);
    context.set_line_width(2.0 * ratio);
    if matches!(place, AxisPlace::On(_)) {
        let _ = context.set_line_dash(&js_sys::Array::new());
    } else {
        // Off the axis: a dashed line at the edge and an arrow pointing outwards.
        let dash = js_sys::Array::of2(&(5.0 * ratio).into(), &(4.0 * ratio).into());
        let _ = context.set_line_dash(&dash);
    }
    context.begin_path();
    context.move_to(x, geometry.top);
    context.line_to(x, bottom);
    context.stroke();
    let _ = context.set_line_dash(&js_sys::Array::new());

    let arrow = 7.0 * ratio;
    let outwards = match place {
        AxisPlace::Below => Some(-1.0),
        AxisPlace::Above => Some(1.0),
        AxisPlace::On(_) => None,
    };
    if let Some(direction) = outwards {
        let y = geometry.top + 0.5 * geometry.height;
        context.begin_path();
        context.move_to(x + direction * arrow, y);
        context.line_to(x, y - arrow);
        context.line_to(x, y + arrow);
        context.close_path();
        context.fill();
    }
    if let (Some(accuracy), AxisPlace::On(_)) = (accuracy, place) {
        context.begin_path();
        let _ = context.arc(
            x,
            geometry.accuracy_y(accuracy),
            4.5 * ratio,
            0.0,
            std::f64::consts::TAU,
        );
        context.fill();
    }

    let _ = canvas.set_attribute("data-marker-place", place_name);
    let _ = canvas.set_attribute("data-marker-x", &format!("{:.1}", x / ratio));
}

/// Describes the curve's state: computing, finished (and from how many
/// points), or skipped with the reason.
fn curve_caption(view: &CurveView) -> String {
    if let Some(reason) = view.skipped.as_ref() {
        return reason.clone();
    }
    if view.planned == 0 {
        return "The curve starts once the measures above are computed.".to_string();
    }
    let points = if view.planned < view.population {
        format!(
            "{} of the {} training points, evenly spaced: a sample, so that the page stays responsive",
            view.planned, view.population
        )
    } else {
        format!("all {} training points", view.population)
    };
    let (lo, hi) = view.beta_range;
    let range = format!(
        "{} values of β from {} to {}",
        view.betas.len(),
        format_number(lo),
        format_number(hi)
    );
    let flat = if view.hard {
        " Hard mode does not use β, so the curve is flat."
    } else {
        ""
    };
    if view.is_complete() {
        format!(
            "Leave-one-out accuracy at {range}, for {}, each point classified by the others; from {points}.{flat} \
             At small β every layer is nearly uniform, so ŷ is close to the class shares of the other points, \
             and leaving a point out makes its own class rarer there: the curve can fall to 0 %.",
            view.setting
        )
    } else {
        format!(
            "Computing the curve for {}: {} of {} left-out points done ({points}).{flat}",
            view.setting, view.done, view.planned
        )
    }
}

/// Describes the marker: the current β and its accuracy, or why β is not on the axis.
fn marker_text(beta: f64, hard: bool, accuracy: Option<f64>, lo: f64, hi: f64) -> String {
    if hard {
        return String::new();
    }
    let accuracy = accuracy
        .map(|share| format!(", where leave-one-out accuracy is {:.1} %", 100.0 * share))
        .unwrap_or_default();
    match place_on_log_axis(beta, lo, hi) {
        AxisPlace::On(_) => format!("The marker is the current β = {}{accuracy}.", format_number(beta)),
        AxisPlace::Below if beta == 0.0 => format!(
            "The current β = 0 (every point weighs the same) cannot sit on a log axis; the dashed marker at the left edge points to it{accuracy}."
        ),
        AxisPlace::Below => format!(
            "The current β = {} is below the axis; the dashed marker at the left edge points to it{accuracy}.",
            format_number(beta)
        ),
        AxisPlace::Above => format!(
            "The current β = {} is above the axis; the dashed marker at the right edge points to it{accuracy}.",
            format_number(beta)
        ),
    }
}
