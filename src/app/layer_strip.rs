//! The layer strip: one small map per layer, showing the layer's own vote
//! `Y^T h^k`, the activation `h^k_n` of the selected point, or the running
//! average of the votes. A click opens a layer map large, in place of the
//! decision map.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::canvas::put_rgba;
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
    let heading = move || match state.strip_mode.get() {
        StripMode::Vote => "Each layer's vote Yᵀhᵏ",
        StripMode::Activation => "Activation hᵏₙ of the selected point in each layer",
        StripMode::RunningAverage => "Running average after k layers: the output building up",
    };
    let mode_option = move |mode: StripMode, label: &'static str| {
        view! {
            <label>
                <input
                    type="radio"
                    name="strip-mode"
                    prop:checked=move || state.strip_mode.get() == mode
                    on:change=move |_| state.strip_mode.set(mode)
                />
                {label}
            </label>
        }
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
            <div class="layer-maps">
                <For
                    each=move || 0..state.k.get()
                    key=|layer| *layer
                    children=move |layer| view! { <LayerMap layer=layer /> }
                />
            </div>
        </section>
    }
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

/// Shows the map of one layer, as a button that opens it large.
#[component]
fn LayerMap(
    /// 0-based layer index; shown as k = layer + 1.
    layer: usize,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let store = expect_context::<MapStore>();
    let canvas_ref = NodeRef::<Canvas>::new();

    Effect::new(move |_| {
        store.version.track();
        let shading = if state.winner_only.get() {
            Shading::WinnerOnly
        } else {
            Shading::Confidence
        };
        let mode = state.strip_mode.get();
        let focus_colour = focus_colour(state);
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        let painted =
            store.with_maps(|maps| paint_layer_view(maps, mode, layer, shading, focus_colour));
        match painted {
            Some((rgba, width, height)) => {
                put_rgba(&canvas, &rgba, width, height);
            }
            None => {
                // Nothing to show: a blank map rather than a stale one.
                let blank = vec![255; 16 * 16 * 4];
                put_rgba(&canvas, &blank, 16, 16);
            }
        }
    });

    let enlarged = move || state.enlarged_layer.get() == Some(layer);
    let title = move || layer_title(state.strip_mode.get(), layer);
    view! {
        <figure class="layer-map" class:enlarged=enlarged>
            <button
                type="button"
                class="layer-open"
                aria-pressed=move || enlarged().to_string()
                title="Open this layer's map large"
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
                <canvas node_ref=canvas_ref role="img" aria-label=title></canvas>
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
