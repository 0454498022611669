//! The layer strip: one small map per layer, showing the layer's own vote
//! `Y^T h^k`, the activation `h^k_n` of the selected point, or the running
//! average of the votes. A click opens a layer map large, in place of the
//! decision map.

use leptos::html::{Canvas, Div};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlElement};

use super::canvas::{context_2d, detached_canvas, match_css_size, put_rgba, size_changes};
use super::controls::radio_option;
use super::maps::{MapStore, Maps};
use super::state::{AppState, StripMode};
use crate::data::palette::class_colour;
use crate::render::{paint_activation, paint_probabilities, running_average, Shading};

/// Paints what layer `layer` (0-based) shows in `mode`, and returns the RGBA
/// pixels with their width and height. Returns `None` when the maps lack the
/// data: no layer maps yet, or no focus point in the activation mode.
pub fn paint_layer_view(
    maps: &Maps,
    mode: StripMode,
    layer: usize,
    shading: Shading,
    focus_colour: [u8; 3],
) -> Option<(Vec<u8>, usize, usize)> {
    let map = maps.layers.as_ref()?;
    let cells = map.grid.cells();
    let mut rgba = vec![0; cells * 4];
    let colours: Vec<[u8; 3]> = (0..map.classes).map(class_colour).collect();
    match mode {
        StripMode::Vote => {
            let votes = map.layer(layer)?;
            paint_probabilities(votes, map.classes, &colours, shading, &mut rgba);
        }
        StripMode::RunningAverage => {
            if layer >= map.layers || map.layer_votes.is_empty() {
                return None;
            }
            let average = running_average(&map.layer_votes, cells, map.classes, layer);
            paint_probabilities(&average, map.classes, &colours, shading, &mut rgba);
        }
        StripMode::Activation => {
            let activation = map.activation(layer)?;
            paint_activation(activation, focus_colour, &mut rgba);
        }
    }
    Some((rgba, map.grid.columns, map.grid.rows))
}

/// Returns the title of layer `layer`'s map in `mode`, e.g. "k = 2: vote".
pub fn layer_title(mode: StripMode, layer: usize) -> String {
    let what = match mode {
        StripMode::Vote => "vote Yᵀhᵏ",
        StripMode::Activation => "activation hᵏₙ of the selected point",
        StripMode::RunningAverage => "average of layers 1 to k",
    };
    format!("k = {}: {what}", layer + 1)
}

#[component]
pub fn LayerStrip() -> impl IntoView {
    let state = expect_context::<AppState>();
    let store = expect_context::<MapStore>();
    let maps_ref = NodeRef::<Div>::new();
    let canvas_ref = NodeRef::<Canvas>::new();
    // Each layer's pixels go through this canvas, which is never attached
    // to the page, on their way to the strip's one canvas.
    let scratch = StoredValue::new_local(detached_canvas());
    let retries = StoredValue::new_local(0_u8);

    // The slots move when the strip's width changes, so a resize repaints.
    let resizes = size_changes(canvas_ref);

    Effect::new(move |_| {
        store.version.track();
        resizes.track();
        let layers = state.k.get();
        let shading = if state.winner_only.get() {
            Shading::WinnerOnly
        } else {
            Shading::Confidence
        };
        let mode = state.strip_mode.get();
        let focus_colour = focus_colour(state);
        let (Some(container), Some(canvas)) = (maps_ref.get(), canvas_ref.get()) else {
            return;
        };
        let painted = scratch.with_value(|scratch| {
            let scratch = scratch.as_ref()?;
            store.with_maps(|maps| {
                paint_strip(&container, &canvas, scratch, |layer| {
                    paint_layer_view(maps, mode, layer, shading, focus_colour)
                })
            })
        });
        // A new k adds or removes slots after this effect has run, so the
        // strip is painted again once the page has laid them out. It tries
        // twice at most, so a strip that cannot be painted stops retrying.
        let retry = painted.is_some_and(|count| count != layers)
            && retries.try_update_value(|tries| {
                *tries += 1;
                *tries <= 2
            }) == Some(true);
        if retry {
            request_animation_frame(move || resizes.update(|count| *count += 1));
        } else {
            retries.set_value(0);
        }
    });

    let heading = move || match state.strip_mode.get() {
        StripMode::Vote => "Each layer's vote Yᵀhᵏ",
        StripMode::Activation => "Activation hᵏₙ of the selected point in each layer",
        StripMode::RunningAverage => "Running average after k layers: the output building up",
    };
    let mode_option = move |mode: StripMode, label: &'static str| {
        radio_option(
            "strip-mode",
            state.strip_mode,
            mode,
            label,
            Signal::from(false),
        )
    };
    view! {
        <section class="layer-strip" aria-label="layer maps">
            <h2>{heading}</h2>
            <fieldset class="strip-modes">
                <legend>"Layer maps show"</legend>
                {mode_option(StripMode::Vote, " each layer's vote")}
                {mode_option(StripMode::Activation, " the selected point's activation")}
                {mode_option(StripMode::RunningAverage, " the running average")}
            </fieldset>
            <p class="hint">{move || strip_hint(state)}</p>
            <div class="layer-maps" node_ref=maps_ref>
                <For
                    each=move || 0..state.k.get()
                    key=|layer| *layer
                    children=move |layer| view! { <LayerMap layer=layer /> }
                />
                <canvas class="layer-strip-canvas" node_ref=canvas_ref aria-hidden="true"></canvas>
            </div>
        </section>
    }
}

/// Paints every layer's map into its slot on the strip's one canvas, and
/// returns how many slots it painted.
///
/// The strip uses one canvas, not one per layer, because at every frame of a
/// gesture Chromium hands each changed canvas to its compositor. A trace on
/// a 2-core machine measured about 0.3 ms per canvas, or 3 ms for ten.
fn paint_strip(
    container: &HtmlElement,
    canvas: &HtmlCanvasElement,
    scratch: &HtmlCanvasElement,
    paint: impl Fn(usize) -> Option<(Vec<u8>, usize, usize)>,
) -> Option<usize> {
    let ratio = match_css_size(canvas);
    let context = context_2d(canvas)?;
    context.clear_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
    context.set_image_smoothing_enabled(true);
    let origin = canvas.get_bounding_client_rect();
    let slots = container.query_selector_all(".layer-view").ok()?;
    let mut painted = 0;
    for index in 0..slots.length() {
        let Some(slot) = slots
            .item(index)
            .and_then(|node| node.dyn_into::<HtmlElement>().ok())
        else {
            continue;
        };
        let Some(layer) = slot
            .dataset()
            .get("layer")
            .and_then(|text| text.parse::<usize>().ok())
        else {
            continue;
        };
        // The slot's inside, without its border, in the canvas's pixels.
        let rect = slot.get_bounding_client_rect();
        let left = (rect.left() - origin.left() + slot.client_left() as f64) * ratio;
        let top = (rect.top() - origin.top() + slot.client_top() as f64) * ratio;
        let width = slot.client_width() as f64 * ratio;
        let height = slot.client_height() as f64 * ratio;
        // Nothing to show gives a blank slot rather than a stale map.
        let (rgba, columns, rows) = paint(layer).unwrap_or_else(|| (vec![255; 4], 1, 1));
        put_rgba(scratch, &rgba, columns, rows)?;
        context
            .draw_image_with_html_canvas_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
                scratch,
                0.0,
                0.0,
                columns as f64,
                rows as f64,
                left,
                top,
                width,
                height,
            )
            .ok()?;
        painted += 1;
    }
    Some(painted)
}

/// Explains the current mode, or what the lecturer must do to fill the maps.
fn strip_hint(state: AppState) -> String {
    match state.strip_mode.get() {
        StripMode::Vote => {
            "Click a layer map to open it large in place of the decision map.".into()
        }
        StripMode::RunningAverage => {
            "The map after layer K is the decision map. Click a layer map to open it large.".into()
        }
        StripMode::Activation => match state.selected.get() {
            None => "Select a training point on the map (click it, or focus the map and press N) \
                     to see where each layer gives it weight."
                .into(),
            Some(index) => {
                let held_out = state
                    .held_out
                    .with(|flags| flags.get(index).copied().unwrap_or(false));
                if held_out {
                    format!(
                        "Point {} is held out, so no layer ever weighs it.",
                        index + 1
                    )
                } else if state.hard.get() {
                    format!(
                        "Point {}: in hard mode, layer k's map is the region where it is the k-th nearest point (a k-th order Voronoi cell).",
                        index + 1
                    )
                } else {
                    format!(
                        "Point {}: darker where layer k gives it more weight.",
                        index + 1
                    )
                }
            }
        },
    }
}

/// One layer's slot in the strip, as a button that opens the map large. The
/// strip's canvas paints the map into it.
#[component]
fn LayerMap(
    /// 0-based layer index; shown as k = layer + 1.
    layer: usize,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let enlarged = move || state.enlarged_layer.get() == Some(layer);
    let title = move || layer_title(state.strip_mode.get(), layer);
    view! {
        <figure class="layer-map" class:enlarged=enlarged>
            <button
                type="button"
                class="layer-open"
                aria-pressed=move || enlarged().to_string()
                title="Open this layer's map large"
                on:keydown=move |event: web_sys::KeyboardEvent| {
                    // Escape closes the large map from here as it does from the map.
                    if event.key() == "Escape" && state.enlarged_layer.get_untracked().is_some() {
                        event.prevent_default();
                        state.enlarged_layer.set(None);
                    }
                }
                on:click=move |_| {
                    state.enlarged_layer.update(|open| {
                        *open = if *open == Some(layer) { None } else { Some(layer) };
                    });
                    // The large map replaces the decision map at the top of the page.
                    if let Some(frame) = document().query_selector(".map-frame").ok().flatten() {
                        frame.scroll_into_view();
                    }
                }
            >
                <span class="layer-view" role="img" aria-label=title data-layer=layer></span>
            </button>
            <figcaption>{format!("k = {}", layer + 1)}</figcaption>
        </figure>
    }
}

/// Returns the class colour of the selected point, used to paint its activation.
///
/// Tracks the selection only: the scene changes at every drag step, and a
/// new scene brings new maps, which redraw anyway.
pub fn focus_colour(state: AppState) -> [u8; 3] {
    let class = state.selected.get().and_then(|index| {
        state
            .scene
            .with_untracked(|scene| scene.labels.get(index).copied())
    });
    class_colour(class.unwrap_or(0))
}
