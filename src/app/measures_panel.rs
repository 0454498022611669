//! The measures panel: the held-out share, leave-one-out and test accuracy,
//! agreement with hard mode, re-selection, and leave-one-out accuracy
//! against β, all for the current scene and parameters.

mod loo_plot;
mod runner;

use leptos::prelude::*;

use super::controls::SLIDER_QUIET;
use super::maps::MapStore;
use super::state::AppState;
use crate::measures::display::format_tally;
use crate::measures::incremental::{PointMeasures, Tally};
use loo_plot::LooPlot;
use runner::{MeasuresRunner, Phase, PointsView};

/// The held-out share's largest value and its slider step.
const MAX_HELD_OUT_SHARE: f64 = 0.9;
const HELD_OUT_STEP: f64 = 0.05;

#[component]
pub fn MeasuresPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let store = expect_context::<MapStore>();
    let runner = MeasuresRunner::start(state, store);
    let points = runner.points;
    let current = runner.points_current;

    // The dot on the curve: leave-one-out accuracy at the current β, once complete.
    let marker_accuracy = Signal::derive(move || {
        if !current.get() {
            return None;
        }
        points.with(|view| {
            let view = view.as_ref()?;
            let tally = view.result.as_ref().ok()?.leave_one_out?;
            tally.is_complete().then(|| tally.share()).flatten()
        })
    });

    let measure = move |read: fn(&PointsView, &PointMeasures) -> String| {
        move || {
            points.with(|view| {
                let Some(view) = view.as_ref() else {
                    return "…".to_string();
                };
                match view.result.as_ref() {
                    Ok(measures) => read(view, measures),
                    Err(_) => "not available".to_string(),
                }
            })
        }
    };

    view! {
        <section
            class="measures"
            aria-label="measures"
            data-state=move || runner.phase.get().id()
        >
            <h2>"Measures"</h2>
            <HeldOutShare />
            <dl class="measure-list" class:stale=move || !current.get()>
                <dt>"Leave-one-out accuracy"</dt>
                <dd data-measure="loo">{measure(|_, m| leave_one_out_text(m))}</dd>
                <dd class="hint">"Each training point classified by all the others."</dd>

                <dt>"Test accuracy"</dt>
                <dd data-measure="test">{measure(|_, m| test_text(m))}</dd>
                <dd class="hint">"Held-out points, classified by the training points."</dd>

                <dt>"Agreement with hard mode"</dt>
                <dd data-measure="agreement">{measure(|_, m| agreement_text(m))}</dd>
                <dd class="hint">
                    "Share of the points, training and held out, where the class with the largest ŷ is the classical k-NN decision."
                </dd>

                <dt>"Mean re-selected mass"</dt>
                <dd data-measure="reselected">{measure(|_, m| reselected_text(m))}</dd>
                <dd class="hint">
                    "Σ max(0, Sₙ − 1) at each training point: vote spent on points that earlier layers already picked."
                </dd>
            </dl>
            <p class="reselection-warning" role="status">
                {move || points.with(|view| view.as_ref().and_then(warning_text))}
            </p>
            <p class="error" role="alert">
                {move || points.with(|view| {
                    view.as_ref().and_then(|view| view.result.as_ref().err().map(|error| {
                        format!("The measures cannot be computed: {error}.")
                    }))
                })}
            </p>
            <p class="measures-status hint" aria-live="polite">
                {move || {
                    let setting = points.with(|view| view.as_ref().map(|view| view.setting.clone()));
                    status_text(runner.phase.get(), current.get(), setting)
                }}
            </p>
            <LooPlot curve=runner.curve marker_accuracy=marker_accuracy />
        </section>
    }
}

/// Shows the held-out share: a slider from 0 to 0.9 in steps of 0.05, with the value typed beside it.
#[component]
fn HeldOutShare() -> impl IntoView {
    let state = expect_context::<AppState>();
    let (typed_error, set_typed_error) = signal(None::<String>);

    let on_slide = move |event: leptos::ev::Event| {
        if let Ok(share) = event_target_value(&event).parse::<f64>() {
            state.continue_gesture(SLIDER_QUIET);
            apply_held_out_share(state, share);
            set_typed_error.set(None);
        }
    };
    let on_type = move |event: leptos::ev::Event| match parse_share(&event_target_value(&event)) {
        Ok(share) => {
            apply_held_out_share(state, share);
            set_typed_error.set(None);
        }
        Err(message) => set_typed_error.set(Some(message)),
    };

    view! {
        <div class="control held-out">
            <label class="control-label">
                <span>"Held-out share"</span>
                <input
                    type="range"
                    min="0"
                    max=MAX_HELD_OUT_SHARE
                    step=HELD_OUT_STEP
                    aria-label="held-out share"
                    aria-describedby="held-out-hint"
                    prop:value=move || format!("{:.2}", state.held_out_share.get())
                    on:input=on_slide
                    on:change=move |_| state.end_gesture()
                />
            </label>
            <input
                type="text"
                inputmode="decimal"
                class="typed-value"
                aria-label="held-out share value"
                aria-describedby="held-out-error"
                prop:value=move || format!("{:.2}", state.held_out_share.get())
                on:change=on_type
            />
            <p class="hint" id="held-out-hint">
                {move || held_out_hint(state)}
            </p>
            <p class="error" id="held-out-error" role="alert">{move || typed_error.get()}</p>
        </div>
    }
}

/// Sets the held-out share, draws a new split, and lowers k when fewer
/// training points remain than k layers need.
fn apply_held_out_share(state: AppState, share: f64) {
    state
        .held_out_share
        .set(share.clamp(0.0, MAX_HELD_OUT_SHARE));
    state.redraw_split();
    let training = state
        .held_out
        .with_untracked(|held_out| held_out.iter().filter(|&&out| !out).count())
        .max(1);
    if state.k.get_untracked() > training {
        state.k.set(training);
        state.notice.set(Some(format!(
            "k was lowered to {training}: only {training} training points remain at this held-out share."
        )));
    }
}

/// Parses a typed share: a number from 0 to 0.9, or a percentage such as `30 %`.
fn parse_share(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let (number, scale) = match trimmed.strip_suffix('%') {
        Some(percent) => (percent.trim(), 0.01),
        None => (trimmed, 1.0),
    };
    let share = number
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
        .map(|value| value * scale)
        .ok_or_else(|| {
            format!("'{trimmed}' is not a number; type a share from 0 to 0.9, such as 0.3 or 30 %")
        })?;
    if !(0.0..=MAX_HELD_OUT_SHARE).contains(&share) {
        return Err(format!(
            "the held-out share must be from 0 to 0.9, got {share}; the previous share is kept"
        ));
    }
    Ok(share)
}

fn held_out_hint(state: AppState) -> String {
    let held_out = state
        .held_out
        .with(|held_out| held_out.iter().filter(|&&out| out).count());
    let total = state.scene.with(|scene| scene.points.len());
    format!(
        "{held_out} of {total} points held out as test points: drawn hollow on the map and never used as neighbours."
    )
}

fn tally_text(tally: &Tally) -> String {
    if tally.is_complete() {
        format_tally(tally).unwrap_or_else(|| "no points".to_string())
    } else {
        format!(
            "computing… ({} of {} points)",
            tally.evaluated, tally.planned
        )
    }
}

fn leave_one_out_text(measures: &PointMeasures) -> String {
    match measures.leave_one_out.as_ref() {
        Some(tally) => tally_text(tally),
        None => "needs at least two training points".to_string(),
    }
}

fn test_text(measures: &PointMeasures) -> String {
    match measures.test.as_ref() {
        Some(tally) => tally_text(tally),
        None => "no points are held out; raise the held-out share to measure it".to_string(),
    }
}

fn agreement_text(measures: &PointMeasures) -> String {
    tally_text(&measures.agreement)
}

fn reselected_text(measures: &PointMeasures) -> String {
    let tally = &measures.reselecting;
    if !tally.is_complete() {
        return tally_text(tally);
    }
    let Some(mean) = measures.mean_reselected_mass() else {
        return "no points".to_string();
    };
    let over = if tally.is_sampled() {
        format!("{} sampled training points", tally.evaluated)
    } else {
        format!("{} training points", tally.evaluated)
    };
    format!(
        "{mean:.3} of a neighbour's vote, over {over}; layers re-select at {} of them",
        tally.hits
    )
}

/// Returns the re-selection warning with the training point it was found at.
fn warning_text(view: &PointsView) -> Option<String> {
    let measures = view.result.as_ref().ok()?;
    let found = measures.first_reselection.as_ref()?;
    let point = view
        .scene_index
        .get(found.training_index)
        .map_or(found.training_index, |&index| index + 1);
    Some(format!(
        "Re-selection at training point {point}: {}",
        found.warning
    ))
}

/// Says what the runner is doing and which setting the numbers shown belong to.
fn status_text(phase: Phase, current: bool, setting: Option<String>) -> String {
    let shown = match &setting {
        Some(setting) if !current => format!(" The numbers shown are for {setting}."),
        _ => String::new(),
    };
    let setting = setting.unwrap_or_default();
    match phase {
        Phase::WaitingForGesture => {
            format!("Paused while you drag or slide; the measures update when you stop.{shown}")
        }
        Phase::WaitingForMap => {
            format!("Waiting until the map is finished and the input pauses.{shown}")
        }
        Phase::Computing => format!("Computing for {setting}…"),
        Phase::Done => format!("For {setting}."),
    }
}
