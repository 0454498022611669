//! The probe panel: for the query under the pointer, which training points
//! each layer weighs, and how the layer votes add up to `ŷ`.

use std::time::Duration;

use leptos::prelude::*;

use super::state::AppState;
use crate::data::palette::{class_colour, css_hex, layer_colour};
use crate::formulas::number;
use crate::model::Model;
use crate::probe::{probe, ProbeReport};

/// Points listed per layer in the panel, and drawn as lines on the map.
pub const TOP_POINTS: usize = 5;
/// Lines on the map are drawn only for weights above this, so a soft layer
/// does not cover the map with hairlines.
pub const LINE_MIN_WEIGHT: f64 = 0.02;

/// The probe's report and how to find its points in the scene.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeData {
    pub report: ProbeReport,
    /// `scene_index[n]`: the scene index of training point n.
    pub scene_index: Vec<usize>,
}

impl ProbeData {
    /// Returns the number shown for training point `n`: its 1-based scene index.
    pub fn point_number(&self, n: usize) -> usize {
        self.scene_index.get(n).map_or(n, |&i| i) + 1
    }
}

/// How often the panels follow the probe during a drag or slider gesture.
/// Rebuilding them means new DOM and MathML layout, which would otherwise
/// come out of every frame of the gesture.
const PANEL_INTERVAL_DURING_GESTURE: Duration = Duration::from_millis(250);

/// The probe's data in two copies. `live` is recomputed when the query, the
/// scene or a parameter changes, and the map draws its lines from it.
/// `shown` feeds the panels: it follows `live` at once when no gesture is
/// going on, and at most every [`PANEL_INTERVAL_DURING_GESTURE`] during one.
#[derive(Clone, Copy)]
pub struct ProbeMemo {
    pub live: Memo<Option<ProbeData>>,
    pub shown: RwSignal<Option<ProbeData>>,
}

impl ProbeMemo {
    pub fn new(state: AppState) -> ProbeMemo {
        let live = Self::live(state);
        let shown = RwSignal::new(None);
        let waiting = StoredValue::new(false);
        Effect::new(move |_| {
            live.track();
            let gesture = state.gesture.get();
            if !gesture {
                shown.set(live.get_untracked());
                return;
            }
            if waiting.get_value() {
                return;
            }
            waiting.set_value(true);
            set_timeout(
                move || {
                    waiting.set_value(false);
                    shown.set(live.get_untracked());
                },
                PANEL_INTERVAL_DURING_GESTURE,
            );
        });
        ProbeMemo { live, shown }
    }

    fn live(state: AppState) -> Memo<Option<ProbeData>> {
        Memo::new(move |_| {
            let query = state.probe.get()?;
            let split = state.split().ok()?;
            let raw = state.raw_params();
            let model = Model::new(&split.training, raw)
                .ok()?
                .with_suppression(state.suppression.get());
            let scene_index = &split.scene_index;
            let name = |n: usize| (scene_index.get(n).map_or(n, |&i| i) + 1).to_string();
            let report = probe(&model, query, TOP_POINTS, &name).ok()?;
            Some(ProbeData {
                report,
                scene_index: split.scene_index,
            })
        })
    }
}

#[component]
pub fn ProbePanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let memo = expect_context::<ProbeMemo>();
    let class_names = Memo::new(move |_| state.scene.with(|scene| scene.class_names.clone()));

    let body = move || {
        let names = class_names.get();
        memo.shown.with(|data| match data {
            None => view! {
                <p class="hint">
                    "Point at the map to probe the model there, or focus the map and move the crosshair with the arrow keys."
                </p>
            }
            .into_any(),
            Some(data) => report_view(data, &names).into_any(),
        })
    };

    view! {
        <section class="probe-panel" aria-label="probe">
            <div class="panel-heading">
                <h2>"Probe"</h2>
                <label class="pin">
                    <input
                        type="checkbox"
                        prop:checked=move || state.probe_pinned.get()
                        prop:disabled=move || state.probe.with(Option::is_none)
                        on:change=move |event| state.probe_pinned.set(event_target_checked(&event))
                    />
                    " Pin the probe"
                </label>
            </div>
            {body}
        </section>
    }
}

/// Builds the panel's content for one report.
fn report_view(data: &ProbeData, class_names: &[String]) -> impl IntoView {
    let report = &data.report;
    let layers = report.layers.len();
    let class_name = |class: usize| class_names.get(class).cloned().unwrap_or_default();
    let predicted = class_name(report.predicted);

    let rows = report
        .layers
        .iter()
        .enumerate()
        .map(|(k, layer)| {
            let swatch = css_hex(layer_colour(k, layers));
            let bars = layer
                .top
                .iter()
                .filter(|p| p.weight >= 0.005)
                .map(|p| {
                    let label = format!("point {}: {}", data.point_number(p.index), number(p.weight));
                    weight_bar(p.weight, class_colour(p.class), label)
                })
                .collect_view();
            let rest = (layer.other_mass >= 0.005)
                .then(|| view! { <span class="rest">{format!("others {}", number(layer.other_mass))}</span> });
            view! {
                <tr>
                    <th scope="row">
                        <span class="swatch" style:background-color=swatch></span>
                        {format!("k = {}", k + 1)}
                    </th>
                    <td class="weights">{bars}{rest}</td>
                    <td>{stacked_bar(&layer.vote, format!("vote of layer {}", k + 1), class_names)}</td>
                    <td>
                        {stacked_bar(
                            &layer.running_average,
                            format!("average of layers 1 to {}", k + 1),
                            class_names,
                        )}
                    </td>
                </tr>
            }
        })
        .collect_view();

    let output_text = report
        .output
        .iter()
        .enumerate()
        .map(|(class, &p)| format!("{} {}", class_name(class), share(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let query = report.query;
    let reselected = format!(
        "Re-selected mass here, Σ max(0, Sₙ − 1): {}",
        number(report.reselected_mass)
    );

    view! {
        <p class="probe-query">{format!("Query x = ({:.3}, {:.3})", query.x, query.y)}</p>
        <div class="probe-output">
            {stacked_bar(&report.output, "ŷ".to_string(), class_names)}
            <p>{format!("ŷ: {output_text}. Predicted: {predicted}.")}</p>
        </div>
        <table class="probe-layers">
            <thead>
                <tr>
                    <th scope="col">"layer"</th>
                    <th scope="col">"heaviest points hᵏₙ"</th>
                    <th scope="col">"vote Yᵀhᵏ"</th>
                    <th scope="col">"average so far"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="hint">{reselected}</p>
        {report.warning.as_deref().map(|warning| {
            view! { <p class="warning" role="status">{capitalised(warning)}</p> }
        })}
    }
}

/// Formats a class probability with four decimals, as "0.9999" or "0.0000",
/// so the probe's class shares read alike whatever their size.
fn share(p: f64) -> String {
    format!("{p:.4}")
}

/// Returns `text` with its first letter in upper case, for a message shown as a sentence.
fn capitalised(text: &str) -> String {
    let mut letters = text.chars();
    match letters.next() {
        Some(first) => first.to_uppercase().chain(letters).collect(),
        None => String::new(),
    }
}

/// Draws a horizontal bar whose width is `weight` of the cell, in `colour`, with a label.
fn weight_bar(weight: f64, colour: [u8; 3], label: String) -> impl IntoView {
    let width = format!("{:.1}%", (weight * 100.0).clamp(0.0, 100.0));
    let title = label.clone();
    view! {
        <span class="weight" title=title>
            <span class="weight-bar" style:width=width style:background-color=css_hex(colour)></span>
            <span class="weight-label">{label}</span>
        </span>
    }
}

/// Draws a bar split into class shares, labelled for screen readers.
fn stacked_bar(shares: &[f64], name: String, class_names: &[String]) -> impl IntoView {
    let text = shares
        .iter()
        .enumerate()
        .map(|(class, &p)| {
            let class = class_names.get(class).map_or("?", String::as_str);
            format!("{class} {}", share(p))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let parts = shares
        .iter()
        .enumerate()
        .filter(|(_, &p)| p > 0.0)
        .map(|(class, &p)| {
            let width = format!("{:.2}%", (p * 100.0).clamp(0.0, 100.0));
            view! { <span style:width=width style:background-color=css_hex(class_colour(class))></span> }
        })
        .collect_view();
    view! {
        <span class="stacked" role="img" aria-label=format!("{name}: {text}") title=text>
            {parts}
        </span>
    }
}
