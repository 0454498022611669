//! The layer strip: one small map per layer, showing that layer's own vote `Y^T h^k`.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::canvas::put_rgba;
use super::maps::MapStore;
use super::state::AppState;
use crate::data::palette::class_colour;
use crate::render::{paint_probabilities, Shading};

#[component]
pub fn LayerStrip() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <section class="layer-strip" aria-label="layer votes">
            <h2>"Each layer's vote Yᵀhᵏ"</h2>
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

/// Shows the vote map of one layer.
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
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        store.with_maps(|maps| {
            let Some(map) = maps.layers.as_ref() else {
                return;
            };
            let Some(votes) = map.layer(layer) else {
                return;
            };
            let colours: Vec<[u8; 3]> = (0..map.classes).map(class_colour).collect();
            let mut rgba = vec![0; map.grid.cells() * 4];
            paint_probabilities(votes, map.classes, &colours, shading, &mut rgba);
            put_rgba(&canvas, &rgba, map.grid.columns, map.grid.rows);
        });
    });

    let name = format!("layer {} vote", layer + 1);
    view! {
        <figure class="layer-map">
            <canvas node_ref=canvas_ref role="img" aria-label=name></canvas>
            <figcaption>{format!("k = {}", layer + 1)}</figcaption>
        </figure>
    }
}
