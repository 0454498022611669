//! The web app (wasm32 only): Leptos components over the model, data and
//! rendering modules. Only this module touches the browser.

mod benchmark;
mod canvas;
mod controls;
mod formula_panel;
mod layer_strip;
mod map_view;
mod maps;
mod measures_panel;
mod probe_panel;
mod state;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use controls::{
    ClassPicker, DataPicker, KSlider, LogParam, LogSlider, ModeSwitches, SuppressionSwitch,
};
use formula_panel::FormulaPanel;
use layer_strip::{layer_title, LayerStrip};
use map_view::DecisionMap;
use maps::MapStore;
use measures_panel::MeasuresPanel;
use probe_panel::{ProbeMemo, ProbePanel};
use state::{AppState, StripMode};

/// Installs the panic hook and the logger, then mounts the app on the page.
pub fn start() {
    console_error_panic_hook::set_once();
    let level = if cfg!(debug_assertions) {
        log::Level::Debug
    } else {
        log::Level::Info
    };
    // A second logger cannot be installed; the first one keeps working.
    let _ = console_log::init_with_level(level);
    mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let state = AppState::new();
    let store = MapStore::new();
    provide_context(state);
    provide_context(store);
    provide_context(ProbeMemo::new(state));

    // A layer map opened large closes when its layer goes away.
    Effect::new(move |_| {
        let k = state.k.get();
        if state.enlarged_layer.get().is_some_and(|layer| layer >= k) {
            state.enlarged_layer.set(None);
        }
    });

    // Every change to the scene or the parameters makes the maps stale. The
    // gesture flag is tracked too: when it falls, the full resolution is due.
    Effect::new(move |_| {
        state.scene.track();
        state.beta.track();
        state.gamma.track();
        state.k.track();
        state.hard.track();
        state.suppression.track();
        state.held_out.track();
        state.gesture.track();
        // The selected point matters to the maps only when the strip shows its activation.
        if state.strip_mode.get() == StripMode::Activation {
            state.selected.track();
        }
        store.invalidate(state);
    });

    view! {
        <header>
            <h1>"Soft k-NN Playground"</h1>
            <p class="tagline">
                "k-nearest neighbours as a stack of soft layers: layer k picks the k-th nearest point, softly."
            </p>
        </header>
        <main>
            <section class="map-panel">
                // The data attributes let tests and benchmarks wait for a settled map.
                <div
                    class="map-frame"
                    data-version=move || store.version.get()
                    data-resolution=move || { store.version.get(); store.with_maps(|maps| maps.resolution) }
                    data-points=move || state.scene.with(|scene| scene.points.len())
                    data-compute-ms=move || { store.version.get(); store.with_maps(|maps| format!("{:.1}", maps.compute_ms)) }
                >
                    <DecisionMap />
                </div>
                {move || {
                    state.enlarged_layer.get().map(|layer| {
                        let title = layer_title(state.strip_mode.get(), layer);
                        view! {
                            <p class="enlarged-banner" role="status">
                                {format!("Showing layer map {title}. ")}
                                <button type="button" on:click=move |_| close_enlarged(state)>
                                    "Back to the decision map"
                                </button>
                            </p>
                        }
                    })
                }}
                <p id="map-help" class="hint">
                    "Click empty space to add a point; drag a point to move it; right-click or long-press a point to remove it. "
                    "Keyboard: focus the map, N and P select points, arrow keys move the selection or a crosshair, Enter adds a point at the crosshair, Delete removes the selected point, Escape clears."
                </p>
                <p class="selection" aria-live="polite">{move || selection_text(state)}</p>
                <p class="notice" role="status">{move || state.notice.get()}</p>
                <p class="timing">
                    {move || {
                        store.version.get();
                        store.with_maps(|maps| format!(
                            "map {0}×{0} cells, computed in {1:.0} ms",
                            maps.resolution,
                            maps.compute_ms,
                        ))
                    }}
                </p>
            </section>
            <section class="controls" aria-label="controls">
                <LogSlider
                    param=LogParam::Beta
                    label="β (sharpness)"
                    name="beta"
                    hint="0: every point weighs the same. Large: each layer picks one point."
                />
                <LogSlider
                    param=LogParam::Gamma
                    label="γ (suppression)"
                    name="gamma"
                    hint="Penalty on points earlier layers picked. Small: a layer can pick the same point again."
                />
                <KSlider />
                <ModeSwitches />
                <SuppressionSwitch />
                <ClassPicker />
                <DataPicker />
            </section>
        </main>
        <LayerStrip />
        <div class="explain">
            <ProbePanel />
            <FormulaPanel />
        </div>
        <MeasuresPanel />
    }
}

/// Closes the large layer map and returns keyboard focus to the decision map.
fn close_enlarged(state: AppState) {
    state.enlarged_layer.set(None);
    if let Some(map) = document()
        .query_selector("canvas.decision-map")
        .ok()
        .flatten()
    {
        if let Ok(map) = map.dyn_into::<web_sys::HtmlElement>() {
            let _ = map.focus();
        }
    }
}

/// Describes the selected point for the status line, e.g.
/// "Selected: point 3 (setosa) at (-0.61, -0.72)"; numbering starts at 1.
fn selection_text(state: AppState) -> String {
    let Some(index) = state.selected.get() else {
        return "No point selected.".to_string();
    };
    state.scene.with(|scene| {
        let (Some(point), Some(&label)) = (scene.points.get(index), scene.labels.get(index)) else {
            return "No point selected.".to_string();
        };
        let class = scene.class_names.get(label).map_or("?", String::as_str);
        format!(
            "Selected: point {} ({class}) at ({:.3}, {:.3})",
            index + 1,
            point.x,
            point.y
        )
    })
}
