//! The decision map: the plane coloured by `ŷ`, with axes and the training
//! points, edited by pointer (mouse, touch, pen) and keyboard.

use std::time::Duration;

use leptos::html::Canvas;
use leptos::prelude::*;
use nalgebra::Point2;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, KeyboardEvent, PointerEvent};

use super::canvas::{context_2d, detached_canvas, match_css_size, put_rgba};
use super::layer_strip::{focus_colour, paint_layer_view};
use super::maps::{now_ms, MapStore, Maps};
use super::probe_panel::{ProbeMemo, LINE_MIN_WEIGHT};
use super::state::{AppState, StripMode};
use crate::data::palette::{class_colour, css_hex, layer_colour};
use crate::data::scene::{Scene, DOMAIN};
use crate::render::{paint_probabilities, Shading};

/// How far from a point, in CSS pixels, a press still picks it.
const PICK_RADIUS_CSS: f64 = 12.0;
/// A press held this long without moving removes a point (touch and pen).
const LONG_PRESS: Duration = Duration::from_millis(600);
/// A press that moves more than this many CSS pixels is a drag.
const DRAG_THRESHOLD_CSS: f64 = 4.0;
/// Arrow-key steps in plane units, without and with Shift.
const KEY_STEP: f64 = 0.02;
const KEY_STEP_LARGE: f64 = 0.1;

/// The plot area's position on the canvas, in canvas pixels, after the last draw.
#[derive(Clone, Copy, Debug, Default)]
struct PlotFrame {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    /// Canvas pixels per CSS pixel.
    ratio: f64,
}

impl PlotFrame {
    /// Maps a point of the plane to canvas pixels.
    fn to_screen(self, p: Point2<f64>) -> (f64, f64) {
        let (lo, hi) = DOMAIN;
        let x = self.left + (p.x - lo) / (hi - lo) * self.width;
        let y = self.top + (hi - p.y) / (hi - lo) * self.height;
        (x, y)
    }

    /// Maps CSS pixels relative to the canvas to a point of the plane.
    fn to_plane(self, css_x: f64, css_y: f64) -> Point2<f64> {
        let (lo, hi) = DOMAIN;
        let x = lo + (css_x * self.ratio - self.left) / self.width * (hi - lo);
        let y = hi - (css_y * self.ratio - self.top) / self.height * (hi - lo);
        Point2::new(x, y)
    }
}

/// A press on a point that may become a drag or a long press.
#[derive(Clone, Copy, Debug)]
struct Press {
    index: usize,
    pointer_id: i32,
    start_css: (f64, f64),
    moved: bool,
    /// Counts presses, so a long-press timer can tell whether its press is still going.
    serial: u64,
}

#[component]
pub fn DecisionMap() -> impl IntoView {
    let state = expect_context::<AppState>();
    let store = expect_context::<MapStore>();
    let probe_memo = expect_context::<ProbeMemo>();
    let canvas_ref = NodeRef::<Canvas>::new();
    let frame = StoredValue::new_local(PlotFrame::default());
    let press = StoredValue::new_local(None::<Press>);
    let press_serial = StoredValue::new(0_u64);
    let heatmap_canvas = StoredValue::new_local(detached_canvas());
    let points_layer = StoredValue::new_local(PointsLayer {
        canvas: detached_canvas(),
        drawn: None,
    });
    let (cursor, set_cursor) = signal(None::<Point2<f64>>);

    let (shading, set_shading) = signal(Shading::Confidence);
    Effect::new(move |_| {
        let winner_only = state.winner_only.get();
        set_shading.set(if winner_only {
            Shading::WinnerOnly
        } else {
            Shading::Confidence
        });
    });

    let draw = move || {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        let started = now_ms();
        let drawn = heatmap_canvas.with_value(|offscreen| {
            state.scene.with_untracked(|scene| {
                let held_out = state.held_out.get_untracked();
                store.with_maps(|maps| {
                    let layer_view = state.enlarged_layer.get_untracked().map(|layer| {
                        (
                            state.strip_mode.get_untracked(),
                            layer,
                            untrack(|| focus_colour(state)),
                        )
                    });
                    let view = MapDrawing {
                        maps,
                        scene,
                        held_out: &held_out,
                        dragged: press.get_value().map(|p| p.index),
                        selected: state.selected.get_untracked(),
                        cursor: cursor.get_untracked(),
                        shading: shading.get_untracked(),
                        layer_view,
                        probe: probe_memo
                            .live
                            .with_untracked(|data| probe_lines(data.as_ref(), scene)),
                        pinned: state.probe_pinned.get_untracked(),
                    };
                    points_layer
                        .try_update_value(|layer| view.draw(&canvas, offscreen.as_ref(), layer))
                        .unwrap_or_else(|| Err("the points layer is gone".to_string()))
                })
            })
        });
        match drawn {
            Ok(plot_frame) => {
                // The plot area in CSS pixels, for tests and tools that place pointer events.
                let css = [
                    plot_frame.left,
                    plot_frame.top,
                    plot_frame.width,
                    plot_frame.height,
                ]
                .map(|v| format!("{:.1}", v / plot_frame.ratio))
                .join(",");
                let _ = canvas.set_attribute("data-plot", &css);
                let _ = canvas.set_attribute("data-draw-ms", &format!("{:.1}", now_ms() - started));
                frame.set_value(plot_frame);
            }
            Err(error) => log::error!("drawing the decision map failed: {error}"),
        }
    };
    // New maps are drawn by the store in the task that computed them; what is
    // drawn over the maps (selection, crosshair, shading) redraws here.
    store.set_drawer(draw);
    Effect::new(move |_| {
        state.selected.track();
        cursor.track();
        shading.track();
        state.enlarged_layer.track();
        state.strip_mode.track();
        state.probe_pinned.track();
        // A moved probe needs new lines. A changed scene or parameter redraws
        // through the map store, which reads the probe's lines then.
        state.probe.track();
        draw();
    });

    let pick = move |css_x: f64, css_y: f64| -> Option<usize> {
        let frame = frame.get_value();
        let target = (css_x * frame.ratio, css_y * frame.ratio);
        state.scene.with_untracked(|scene| {
            nearest_on_screen(scene, &frame, target, PICK_RADIUS_CSS * frame.ratio)
        })
    };

    let on_pointer_down = move |event: PointerEvent| {
        let css = (event.offset_x() as f64, event.offset_y() as f64);
        let hit = pick(css.0, css.1);
        if event.button() == 2 {
            if let Some(index) = hit {
                remove_point(state, index);
            }
            return;
        }
        if event.button() != 0 {
            return;
        }
        event.prevent_default();
        if let Some(canvas) = canvas_ref.get_untracked() {
            let _ = canvas.focus();
            let _ = canvas.set_pointer_capture(event.pointer_id());
        }

        let index = match hit {
            Some(index) => index,
            None => {
                let at = frame.get_value().to_plane(css.0, css.1);
                match add_point(state, at) {
                    Some(index) => index,
                    None => return,
                }
            }
        };
        state.selected.set(Some(index));
        let serial = press_serial.get_value() + 1;
        press_serial.set_value(serial);
        press.set_value(Some(Press {
            index,
            pointer_id: event.pointer_id(),
            start_css: css,
            moved: false,
            serial,
        }));
        // Draw the points layer without the pressed point now, so the first
        // step of a drag does not pay for redrawing every other point.
        draw();

        let touch_like = event.pointer_type() != "mouse";
        if touch_like && hit.is_some() {
            set_timeout(
                move || {
                    let still = press.get_value();
                    if let Some(p) = still.filter(|p| p.serial == serial && !p.moved) {
                        press.set_value(None);
                        state.end_gesture();
                        remove_point(state, p.index);
                    }
                },
                LONG_PRESS,
            );
        }
    };

    let on_pointer_move = move |event: PointerEvent| {
        let css = (event.offset_x() as f64, event.offset_y() as f64);
        let pressed = press.get_value();
        // A mouse probes by hovering; touch and pen probe where they press.
        if pressed.is_none() || event.pointer_type() != "mouse" {
            set_probe(state, frame.get_value().to_plane(css.0, css.1));
        }
        let Some(mut current) = pressed else {
            return;
        };
        if current.pointer_id != event.pointer_id() {
            return;
        }
        let distance = (css.0 - current.start_css.0).hypot(css.1 - current.start_css.1);
        if !current.moved && distance < DRAG_THRESHOLD_CSS {
            return;
        }
        current.moved = true;
        press.set_value(Some(current));

        let at = clamp_to_domain(frame.get_value().to_plane(css.0, css.1));
        state.gesture.set(true);
        state.scene.update(|scene| {
            if let Some(point) = scene.points.get_mut(current.index) {
                *point = at;
            }
        });
    };

    let on_pointer_end = move |_event: PointerEvent| {
        if press.get_value().is_some() {
            press.set_value(None);
            state.end_gesture();
        }
    };

    let on_key_down = move |event: KeyboardEvent| {
        let step = if event.shift_key() {
            KEY_STEP_LARGE
        } else {
            KEY_STEP
        };
        let handled = match event.key().as_str() {
            "ArrowLeft" => move_focus(state, set_cursor, cursor, -step, 0.0),
            "ArrowRight" => move_focus(state, set_cursor, cursor, step, 0.0),
            "ArrowUp" => move_focus(state, set_cursor, cursor, 0.0, step),
            "ArrowDown" => move_focus(state, set_cursor, cursor, 0.0, -step),
            "n" | "N" => cycle_selection(state, 1),
            "p" | "P" => cycle_selection(state, -1),
            "Delete" | "Backspace" => {
                if let Some(index) = state.selected.get_untracked() {
                    remove_point(state, index);
                }
                true
            }
            "Enter" | "+" => {
                let at = cursor
                    .get_untracked()
                    .unwrap_or_else(|| Point2::new(0.0, 0.0));
                if let Some(index) = add_point(state, at) {
                    state.selected.set(Some(index));
                }
                true
            }
            "Escape" => {
                state.selected.set(None);
                set_cursor.set(None);
                state.enlarged_layer.set(None);
                true
            }
            _ => false,
        };
        if handled {
            event.prevent_default();
        }
    };

    view! {
        <canvas
            node_ref=canvas_ref
            class="decision-map"
            role="img"
            aria-label="decision map"
            aria-describedby="map-help"
            tabindex="0"
            on:pointerdown=on_pointer_down
            on:pointermove=on_pointer_move
            on:pointerup=on_pointer_end
            on:pointercancel=on_pointer_end
            on:contextmenu=|event| event.prevent_default()
            on:keydown=on_key_down
            on:blur=move |_| set_cursor.set(None)
        ></canvas>
    }
}

/// Everything one draw of the decision map needs.
struct MapDrawing<'a> {
    maps: &'a Maps,
    scene: &'a Scene,
    /// One flag per scene point: `true` when it is held out and drawn hollow.
    held_out: &'a [bool],
    /// The point being dragged, drawn apart from the cached points layer.
    dragged: Option<usize>,
    selected: Option<usize>,
    cursor: Option<Point2<f64>>,
    shading: Shading,
    /// A layer map shown large in place of `ŷ`: mode, 0-based layer, focus colour.
    layer_view: Option<(StripMode, usize, [u8; 3])>,
    probe: Option<ProbeLines>,
    pinned: bool,
}

/// The probe's query and one line per weighted point and layer.
struct ProbeLines {
    query: Point2<f64>,
    /// Target point, weight `h^k_n`, and the layer's colour; drawn in order.
    lines: Vec<(Point2<f64>, f64, [u8; 3])>,
}

/// Collects the lines from the probe to the points its layers weigh, last
/// layer first so that layer 1 is drawn on top.
fn probe_lines(data: Option<&super::probe_panel::ProbeData>, scene: &Scene) -> Option<ProbeLines> {
    let data = data?;
    let layers = data.report.layers.len();
    let mut lines = Vec::new();
    for (k, layer) in data.report.layers.iter().enumerate().rev() {
        for point in layer.top.iter().filter(|p| p.weight >= LINE_MIN_WEIGHT) {
            let Some(&target) = data
                .scene_index
                .get(point.index)
                .and_then(|&i| scene.points.get(i))
            else {
                continue;
            };
            lines.push((target, point.weight, layer_colour(k, layers)));
        }
    }
    Some(ProbeLines {
        query: data.report.query,
        lines,
    })
}

/// Moves the probe to `at`, unless it is pinned.
fn set_probe(state: AppState, at: Point2<f64>) {
    if !state.probe_pinned.get_untracked() {
        state.probe.set(Some(clamp_to_domain(at)));
    }
}

impl MapDrawing<'_> {
    /// Draws background, heatmap, axes and points; returns where the plot area went.
    fn draw(
        &self,
        canvas: &HtmlCanvasElement,
        offscreen: Option<&HtmlCanvasElement>,
        points_layer: &mut PointsLayer,
    ) -> Result<PlotFrame, String> {
        let ratio = match_css_size(canvas);
        let font = |size: f64| ("sans-serif", size * ratio);
        let backend = CanvasBackend::with_canvas_object(canvas.clone())
            .ok_or("the canvas has no 2D context")?;
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;

        let (lo, hi) = DOMAIN;
        let mut chart = ChartBuilder::on(&root)
            .margin((10.0 * ratio) as u32)
            .x_label_area_size((42.0 * ratio) as u32)
            .y_label_area_size((52.0 * ratio) as u32)
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(|e| e.to_string())?;
        let (x_pixels, y_pixels) = chart.plotting_area().get_pixel_range();
        let frame = PlotFrame {
            left: x_pixels.start as f64,
            top: y_pixels.start as f64,
            width: (x_pixels.end - x_pixels.start) as f64,
            height: (y_pixels.end - y_pixels.start) as f64,
            ratio,
        };

        self.draw_heatmap(canvas, offscreen, &frame);

        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.scene.x_label.as_str())
            .y_desc(self.scene.y_label.as_str())
            .label_style(font(12.0))
            .axis_desc_style(font(14.0))
            .draw()
            .map_err(|e| e.to_string())?;

        let radius = (point_radius(self.scene.points.len()) * ratio) as i32;
        // The points are drawn again only when they or the plot frame changed.
        points_layer.refresh(canvas, self.scene, self.held_out, &frame, self.dragged);
        points_layer.draw_onto(canvas);
        if let (Some(index), Some(context)) = (self.dragged, context_2d(canvas)) {
            paint_points(&context, self.scene, self.held_out, &frame, |i| i == index);
        }

        if let Some(p) = self.selected.and_then(|i| self.scene.points.get(i)) {
            let ring = BLACK.stroke_width((2.5 * ratio) as u32);
            chart
                .draw_series([Circle::new((p.x, p.y), radius * 2, ring)])
                .map_err(|e| e.to_string())?;
        }
        if let Some(probe) = &self.probe {
            self.draw_probe(&mut chart, probe, ratio)?;
        }
        if let Some(c) = self.cursor {
            let style = BLACK.mix(0.7).stroke_width(ratio.max(1.0) as u32);
            let arm = 0.05;
            chart
                .draw_series([
                    PathElement::new([(c.x - arm, c.y), (c.x + arm, c.y)], style),
                    PathElement::new([(c.x, c.y - arm), (c.x, c.y + arm)], style),
                ])
                .map_err(|e| e.to_string())?;
        }

        root.present().map_err(|e| e.to_string())?;
        Ok(frame)
    }

    /// Draws the lines from the probe to the weighted points, and the probe's marker.
    fn draw_probe<DB: DrawingBackend>(
        &self,
        chart: &mut ChartContext<DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        probe: &ProbeLines,
        ratio: f64,
    ) -> Result<(), String> {
        let q = (probe.query.x, probe.query.y);
        let lines = probe.lines.iter().map(|&(target, weight, colour)| {
            let width = ((1.0 + 7.0 * weight) * ratio).round().max(1.0) as u32;
            let style = RGBColor(colour[0], colour[1], colour[2])
                .mix(0.85)
                .stroke_width(width);
            PathElement::new([q, (target.x, target.y)], style)
        });
        chart.draw_series(lines).map_err(|e| e.to_string())?;

        let size = (6.0 * ratio) as i32;
        let fill = if self.pinned {
            BLACK.filled()
        } else {
            WHITE.filled()
        };
        let outline = BLACK.stroke_width((2.0 * ratio) as u32);
        chart
            .draw_series([Circle::new(q, size, fill), Circle::new(q, size, outline)])
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Paints `ŷ`, or the enlarged layer map, into an RGBA buffer, puts it on
    /// the detached canvas in one call, and scales that onto the plot area.
    fn draw_heatmap(
        &self,
        canvas: &HtmlCanvasElement,
        offscreen: Option<&HtmlCanvasElement>,
        frame: &PlotFrame,
    ) {
        let (Some(offscreen), Some(context)) = (offscreen, context_2d(canvas)) else {
            return;
        };
        let painted = match self.layer_view {
            Some((mode, layer, focus)) => {
                paint_layer_view(self.maps, mode, layer, self.shading, focus)
            }
            None => self.maps.decision.as_ref().map(|map| {
                let colours: Vec<[u8; 3]> = (0..map.classes).map(class_colour).collect();
                let mut rgba = vec![0; map.grid.cells() * 4];
                paint_probabilities(&map.output, map.classes, &colours, self.shading, &mut rgba);
                (rgba, map.grid.columns, map.grid.rows)
            }),
        };
        let Some((rgba, columns, rows)) = painted else {
            return;
        };
        if put_rgba(offscreen, &rgba, columns, rows).is_none() {
            return;
        }
        context.set_image_smoothing_enabled(true);
        let _ = context.draw_image_with_html_canvas_element_and_dw_and_dh(
            offscreen,
            frame.left,
            frame.top,
            frame.width,
            frame.height,
        );
    }
}

/// Radius of a drawn point in CSS pixels: smaller in large scenes so they stay readable.
fn point_radius(points: usize) -> f64 {
    if points > LARGE_SCENE {
        2.5
    } else {
        5.0
    }
}

/// Scenes with more points than this draw them as small squares without outlines.
const LARGE_SCENE: usize = 2000;

/// The training points drawn on a detached canvas of the map's size, kept
/// until the points or the canvas change. Drawing thousands of circles costs
/// the browser tens of milliseconds of rasterising, which a β or γ step then
/// does not pay.
struct PointsLayer {
    canvas: Option<HtmlCanvasElement>,
    /// The content drawn last: a fingerprint of the points, and the plot frame's size and position.
    drawn: Option<(u64, [u32; 4])>,
}

impl PointsLayer {
    /// Redraws the layer if the points, the held-out flags or the plot frame
    /// changed since the last draw. Training points are filled; held-out
    /// Redraws the layer if the points or the plot frame changed since the
    /// last draw. Point `skip` (the one being dragged) is left out, so a drag
    /// step does not redraw every other point.
    fn refresh(
        &mut self,
        map: &HtmlCanvasElement,
        scene: &Scene,
        held_out: &[bool],
        frame: &PlotFrame,
        skip: Option<usize>,
    ) {
        let Some(layer) = self.canvas.as_ref() else {
            return;
        };
        let geometry = [
            map.width(),
            map.height(),
            frame.left as u32,
            frame.width as u32,
        ];
        let key = (fingerprint(scene, held_out, skip), geometry);
        if self.drawn == Some(key) || frame.width <= 0.0 {
            return;
        }

        layer.set_width(map.width());
        layer.set_height(map.height());
        let Some(context) = context_2d(layer) else {
            return;
        };
        paint_points(&context, scene, held_out, frame, |index| {
            Some(index) != skip
        });
        self.drawn = Some(key);
    }

    /// Copies the layer onto the map canvas.
    fn draw_onto(&self, map: &HtmlCanvasElement) {
        if let (Some(layer), Some(context)) = (self.canvas.as_ref(), context_2d(map)) {
            let _ = context.draw_image_with_html_canvas_element(layer, 0.0, 0.0);
        }
    }
}

/// Draws the points that `include` accepts onto `context`, in one path per
/// class and kind: one fill or stroke per class, not per point.
fn paint_points(
    context: &CanvasRenderingContext2d,
    scene: &Scene,
    held_out: &[bool],
    frame: &PlotFrame,
    include: impl Fn(usize) -> bool,
) {
    let large = scene.points.len() > LARGE_SCENE;
    let radius = point_radius(scene.points.len()) * frame.ratio;
    let is_held_out = |index: usize| held_out.get(index).copied().unwrap_or(false);
    let trace_point = |x: f64, y: f64| {
        if large {
            context.rect(x - radius, y - radius, 2.0 * radius, 2.0 * radius);
        } else {
            context.move_to(x + radius, y);
            let _ = context.arc(x, y, radius, 0.0, std::f64::consts::TAU);
        }
    };

    for class in 0..scene.class_names.len() {
        let colour = css_hex(class_colour(class));
        let members = || {
            scene
                .points
                .iter()
                .zip(&scene.labels)
                .enumerate()
                .filter(|&(index, (_, &label))| label == class && include(index))
        };

        context.begin_path();
        for (_, (p, _)) in members().filter(|&(index, _)| !is_held_out(index)) {
            let (x, y) = frame.to_screen(*p);
            trace_point(x, y);
        }
        context.set_fill_style_str(&colour);
        context.fill();
        if !large {
            context.set_line_width(frame.ratio.max(1.0));
            context.set_stroke_style_str("#000");
            context.stroke();
        }

        // Held-out points: a black ring under a narrower ring in the class colour.
        context.begin_path();
        for (_, (p, _)) in members().filter(|&(index, _)| is_held_out(index)) {
            let (x, y) = frame.to_screen(*p);
            trace_point(x, y);
        }
        context.set_line_width(4.0 * frame.ratio);
        context.set_stroke_style_str("#000");
        context.stroke();
        context.set_line_width(2.5 * frame.ratio);
        context.set_stroke_style_str(&colour);
        context.stroke();
    }
}

/// Hashes the points' coordinates, labels and held-out flags, to notice any
/// edit; point `skip` counts by its index only, so moving it changes nothing.
fn fingerprint(scene: &Scene, held_out: &[bool], skip: Option<usize>) -> u64 {
    // FNV-1a over the bits of every coordinate and label.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |value: u64| {
        hash ^= value;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    };
    for (index, (p, &label)) in scene.points.iter().zip(&scene.labels).enumerate() {
        if Some(index) != skip {
            mix(p.x.to_bits());
            mix(p.y.to_bits());
        }
        mix(label as u64);
    }
    mix(skip.map_or(u64::MAX, |index| index as u64));
    mix(scene.points.len() as u64);
    for (index, &out) in held_out.iter().enumerate() {
        if out {
            mix(index as u64);
        }
    }
    mix(held_out.len() as u64);
    hash
}

/// Finds the point drawn nearest to `target` (canvas pixels), if within `radius`.
fn nearest_on_screen(
    scene: &Scene,
    frame: &PlotFrame,
    target: (f64, f64),
    radius: f64,
) -> Option<usize> {
    scene
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = frame.to_screen(*p);
            (i, (x - target.0).hypot(y - target.1))
        })
        .filter(|&(_, distance)| distance <= radius)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

fn clamp_to_domain(p: Point2<f64>) -> Point2<f64> {
    let (lo, hi) = DOMAIN;
    Point2::new(p.x.clamp(lo, hi), p.y.clamp(lo, hi))
}

/// Adds a point of the current class; returns its index.
fn add_point(state: AppState, at: Point2<f64>) -> Option<usize> {
    let at = clamp_to_domain(at);
    let class = state.new_class.get_untracked();
    let mut index = None;
    state.scene.update(|scene| {
        if class < scene.class_names.len() {
            scene.points.push(at);
            scene.labels.push(class);
            index = Some(scene.points.len() - 1);
        }
    });
    if index.is_some() {
        state.held_out.update(|held_out| held_out.push(false));
    }
    index
}

/// Removes a point, keeping at least one so the model stays defined.
fn remove_point(state: AppState, index: usize) {
    let count = state.scene.with_untracked(|scene| scene.points.len());
    if count <= 1 {
        state.notice.set(Some(
            "The last point cannot be removed: the model needs at least one training point.".into(),
        ));
        return;
    }
    if index >= count {
        return;
    }
    let training_left = state.held_out.with_untracked(|held_out| {
        (0..count)
            .filter(|&i| !held_out.get(i).copied().unwrap_or(false))
            .count()
    });
    let is_training = !state
        .held_out
        .with_untracked(|held_out| held_out.get(index).copied().unwrap_or(false));
    if is_training && training_left <= 1 {
        state.notice.set(Some(
            "The last training point cannot be removed: the model needs at least one. Lower the held-out share first.".into(),
        ));
        return;
    }
    state.scene.update(|scene| {
        scene.points.remove(index);
        scene.labels.remove(index);
    });
    state.held_out.update(|held_out| {
        if index < held_out.len() {
            held_out.remove(index);
        }
    });
    state.selected.set(None);
    let k_max = state.k_max();
    if state.k.get_untracked() > k_max {
        state.k.set(k_max);
    }
}

/// Moves the selected point, or the keyboard crosshair when none is selected.
fn move_focus(
    state: AppState,
    set_cursor: WriteSignal<Option<Point2<f64>>>,
    cursor: ReadSignal<Option<Point2<f64>>>,
    dx: f64,
    dy: f64,
) -> bool {
    if let Some(index) = state.selected.get_untracked() {
        state.continue_gesture(Duration::from_millis(300));
        state.scene.update(|scene| {
            if let Some(point) = scene.points.get_mut(index) {
                *point = clamp_to_domain(Point2::new(point.x + dx, point.y + dy));
            }
        });
    } else {
        let from = cursor
            .get_untracked()
            .unwrap_or_else(|| Point2::new(0.0, 0.0));
        let moved = clamp_to_domain(Point2::new(from.x + dx, from.y + dy));
        set_cursor.set(Some(moved));
        set_probe(state, moved);
    }
    true
}

/// Selects the next (`step` = 1) or previous (−1) point.
fn cycle_selection(state: AppState, step: isize) -> bool {
    let count = state.scene.with_untracked(|scene| scene.points.len()) as isize;
    if count == 0 {
        return true;
    }
    let next = match state.selected.get_untracked() {
        Some(index) => (index as isize + step).rem_euclid(count),
        None if step > 0 => 0,
        None => count - 1,
    };
    state.selected.set(Some(next as usize));
    true
}
