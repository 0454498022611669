//! The control panel: β, γ and k sliders, switches, the class for new points
//! and the data set.

use std::time::Duration;

use leptos::prelude::*;

use super::state::{AppState, DataChoice};
use crate::data::import::{guess_columns, import_scene};
use crate::data::palette::{class_colour, css_hex};
use crate::data::real::RealDataset;
use crate::data::synthetic::{SyntheticKind, SyntheticSpec};
use crate::data::table::{read_header, Columns};
use crate::measures::display::format_number;
use crate::model::{Params, RawParams, Suppression};

/// Steps of a logarithmic slider; step 0 is exactly 0.
const LOG_STEPS: u32 = 240;
/// After this long without slider input the gesture ends and maps refine.
pub const SLIDER_QUIET: Duration = Duration::from_millis(200);

/// Maps a slider step to a value: 0 at step 0, then `min … max` geometrically.
fn step_to_value(step: u32, (min, max): (f64, f64)) -> f64 {
    if step == 0 {
        return 0.0;
    }
    let t = (step - 1) as f64 / (LOG_STEPS - 1) as f64;
    min * (max / min).powf(t)
}

/// Returns the slider step nearest to `value`.
fn value_to_step(value: f64, (min, max): (f64, f64)) -> u32 {
    if value <= 0.0 {
        return 0;
    }
    let t = (value / min).ln() / (max / min).ln();
    1 + (t.clamp(0.0, 1.0) * (LOG_STEPS - 1) as f64).round() as u32
}

/// The parameter a [`LogSlider`] edits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LogParam {
    Beta,
    Gamma,
}

/// A logarithmic slider with its value typed beside it.
///
/// A typed value goes through the same check as the model's parameters; an
/// invalid one is reported and the previous value stays in effect.
#[component]
pub fn LogSlider(
    /// The parameter this slider edits.
    param: LogParam,
    /// The visible label.
    label: &'static str,
    /// The accessible name of the range input.
    name: &'static str,
    /// What the parameter does, shown under the slider.
    hint: &'static str,
) -> impl IntoView {
    let state = expect_context::<AppState>();
    let value = match param {
        LogParam::Beta => state.beta,
        LogParam::Gamma => state.gamma,
    };
    let range = Memo::new(move |_| {
        let hints = state.hints.get();
        match param {
            LogParam::Beta => (hints.beta_min, hints.beta_max),
            LogParam::Gamma => (hints.gamma_min, hints.gamma_max),
        }
    });
    let (typed_error, set_typed_error) = signal(None::<String>);
    // Hard mode fixes both at ∞, and the multiplicative rule has no γ.
    let disabled = move || {
        state.hard.get()
            || (param == LogParam::Gamma && state.suppression.get() == Suppression::Multiplicative)
    };
    let value_name = format!("{name} value");
    let error_id = format!("{name}-error");

    let on_slide = move |event: leptos::ev::Event| {
        if let Ok(step) = event_target_value(&event).parse::<u32>() {
            state.continue_gesture(SLIDER_QUIET);
            value.set(step_to_value(step, range.get_untracked()));
            set_typed_error.set(None);
        }
    };

    let on_type = move |event: leptos::ev::Event| {
        let text = event_target_value(&event);
        match parse_typed(&text, param, state) {
            Ok(parsed) => {
                value.set(parsed);
                set_typed_error.set(None);
            }
            Err(message) => set_typed_error.set(Some(message)),
        }
    };

    view! {
        <div class="control">
            <label class="control-label">
                <span>{label}</span>
                <input
                    type="range"
                    min="0"
                    max=LOG_STEPS
                    step="1"
                    aria-label=name
                    aria-valuetext=move || format_number(value.get())
                    prop:value=move || value_to_step(value.get(), range.get()).to_string()
                    prop:disabled=disabled
                    on:input=on_slide
                    on:change=move |_| state.end_gesture()
                    on:pointerup=move |_| end_gesture_after_release(state)
                />
            </label>
            <input
                type="text"
                inputmode="decimal"
                class="typed-value"
                aria-label=value_name
                aria-describedby=error_id.clone()
                prop:value=move || typed_text(param, value.get(), state)
                prop:disabled=disabled
                on:change=on_type
            />
            <p class="hint">{hint}</p>
            <p class="error" id=error_id role="alert">{move || typed_error.get()}</p>
        </div>
    }
}

/// Ends a slider gesture when the pointer is released at the value where it
/// began: Chromium then sends no change event. The check runs after the
/// release's change event, if any, has ended the gesture already.
fn end_gesture_after_release(state: AppState) {
    set_timeout(
        move || {
            if state.gesture.get_untracked() {
                state.end_gesture();
            }
        },
        Duration::ZERO,
    );
}

/// Parses a typed β or γ and checks it with the model's own rules.
fn parse_typed(text: &str, param: LogParam, state: AppState) -> Result<f64, String> {
    let name = match param {
        LogParam::Beta => "beta",
        LogParam::Gamma => "gamma",
    };
    let value: f64 = text.trim().parse().map_err(|_| {
        format!(
            "'{}' is not a number; {name} takes a number of 0 or more, such as 2.5 or 1e-3",
            text.trim()
        )
    })?;
    let mut raw: RawParams = state.raw_params();
    raw.hard = false;
    raw.k = 1;
    match param {
        LogParam::Beta => raw.beta = value,
        LogParam::Gamma => raw.gamma = value,
    }
    Params::check(raw, 1).map_err(|error| format!("{error}; the previous value is kept"))?;
    Ok(value)
}

/// Shows the slider for the number of layers k, from 1 to N (capped).
#[component]
pub fn KSlider() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <div class="control">
            <label class="control-label">
                <span>"k (layers)"</span>
                <input
                    type="range"
                    min="1"
                    max=move || state.k_max()
                    step="1"
                    aria-label="k"
                    prop:value=move || state.k.get().to_string()
                    on:input=move |event| {
                        if let Ok(k) = event_target_value(&event).parse::<usize>() {
                            state.continue_gesture(SLIDER_QUIET);
                            state.k.set(k.clamp(1, state.k_max()));
                        }
                    }
                    on:change=move |_| state.end_gesture()
                    on:pointerup=move |_| end_gesture_after_release(state)
                />
            </label>
            <output class="typed-value" aria-label="k value">{move || state.k.get()}</output>
            <p class="hint">"How many neighbours vote: one layer per neighbour."</p>
        </div>
    }
}

/// Switches for hard mode and winner-only shading.
#[component]
pub fn ModeSwitches() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <div class="control switches">
            <label>
                <input
                    type="checkbox"
                    prop:checked=move || state.hard.get()
                    on:change=move |event| state.hard.set(event_target_checked(&event))
                />
                " Hard mode (β = γ = ∞: classical k-NN)"
            </label>
            <label>
                <input
                    type="checkbox"
                    prop:checked=move || state.winner_only.get()
                    on:change=move |event| state.winner_only.set(event_target_checked(&event))
                />
                " Winning class only"
            </label>
        </div>
    }
}

/// Returns the text of a slider's value box: the value, "∞" in hard mode, and
/// "unused" for γ under the multiplicative rule.
fn typed_text(param: LogParam, value: f64, state: AppState) -> String {
    if state.hard.get() {
        "∞".to_string()
    } else if param == LogParam::Gamma && state.suppression.get() == Suppression::Multiplicative {
        "unused".to_string()
    } else {
        format_number(value)
    }
}

/// Returns one radio button of the group `name`, checked while `selected`
/// is `value` and setting it when chosen.
pub fn radio_option<T>(
    name: &'static str,
    selected: RwSignal<T>,
    value: T,
    label: &'static str,
    disabled: Signal<bool>,
) -> impl IntoView
where
    T: PartialEq + Copy + Send + Sync + 'static,
{
    view! {
        <label>
            <input
                type="radio"
                name=name
                prop:checked=move || selected.get() == value
                prop:disabled=move || disabled.get()
                on:change=move |_| selected.set(value)
            />
            {label}
        </label>
    }
}

/// Switches between the note's additive suppression and the multiplicative rule.
#[component]
pub fn SuppressionSwitch() -> impl IntoView {
    let state = expect_context::<AppState>();
    let hard = Signal::derive(move || state.hard.get());
    let option = move |rule: Suppression, label: &'static str| {
        radio_option("suppression", state.suppression, rule, label, hard)
    };
    view! {
        <fieldset class="control suppression">
            <legend>"Suppression of points earlier layers picked"</legend>
            {option(Suppression::Additive, " additive (the note): penalty β·γ·Sₙ")}
            {option(Suppression::Multiplicative, " multiplicative: weight × Π(1 − hₙ), no γ")}
        </fieldset>
    }
}

/// Shows the choice of class for points added on the map.
#[component]
pub fn ClassPicker() -> impl IntoView {
    let state = expect_context::<AppState>();
    // A memo, so a drag step (which changes the scene but not its classes)
    // does not rebuild the radio buttons.
    let classes = Memo::new(move |_| state.scene.with(|scene| scene.class_names.clone()));
    view! {
        <fieldset class="control class-picker">
            <legend>"New points are"</legend>
            {move || {
                classes
                    .get()
                    .into_iter()
                    .enumerate()
                    .map(|(index, name)| {
                        let colour = css_hex(class_colour(index));
                        view! {
                            <label class="class-option">
                                <input
                                    type="radio"
                                    name="new-class"
                                    prop:checked=move || state.new_class.get() == index
                                    on:change=move |_| state.new_class.set(index)
                                />
                                <span class="swatch" style:background-color=colour></span>
                                {name}
                            </label>
                        }
                    })
                    .collect_view()
            }}
        </fieldset>
    }
}

/// Shows the data set menu, with seed, size, classes and noise for generated ones.
#[component]
pub fn DataPicker() -> impl IntoView {
    let state = expect_context::<AppState>();
    let source = Memo::new(move |_| state.scene.with(|scene| scene.source.clone()));
    let synthetic = move || state.data_choice.get().is_synthetic();
    let spec = state.synthetic_spec;
    let set_spec = move |change: &dyn Fn(&mut SyntheticSpec)| {
        spec.update(|s| change(s));
        state.load_data();
    };

    view! {
        <fieldset class="control data-picker">
            <legend>"Data"</legend>
            <label>
                "Data set "
                <select
                    aria-label="data set"
                    on:change=move |event| {
                        if let Some(choice) = DataChoice::from_id(&event_target_value(&event)) {
                            state.data_choice.set(choice);
                            state.load_data();
                        }
                    }
                    prop:value=move || state.data_choice.get().id()
                >
                    <optgroup label="Real">
                        {RealDataset::ALL
                            .iter()
                            .map(|set| view! { <option value=set.name()>{set.label()}</option> })
                            .collect_view()}
                    </optgroup>
                    <optgroup label="Generated">
                        {SyntheticKind::ALL
                            .iter()
                            .map(|kind| view! { <option value=kind.name()>{kind.label()}</option> })
                            .collect_view()}
                    </optgroup>
                    <option value="imported" disabled=true>"Imported CSV"</option>
                </select>
            </label>
            <p class="hint source">{move || source.get()}</p>
            <div class="synthetic" class:hidden=move || !synthetic()>
                <label>
                    "Seed "
                    <input
                        type="number"
                        min="0"
                        aria-label="seed"
                        prop:value=move || spec.get().seed.to_string()
                        on:change=move |event| {
                            match event_target_value(&event).trim().parse::<u64>() {
                                Ok(seed) => set_spec(&|s| s.seed = seed),
                                Err(_) => state.notice.set(Some("The seed must be a whole number of 0 or more.".into())),
                            }
                        }
                    />
                </label>
                <button on:click=move |_| set_spec(&|s| s.seed = s.seed.wrapping_add(1))>
                    "Regenerate"
                </button>
                <label>
                    "Points "
                    <input
                        type="number"
                        min="2"
                        max="2000"
                        aria-label="number of points"
                        prop:value=move || spec.get().size.to_string()
                        on:change=move |event| {
                            match event_target_value(&event).trim().parse::<usize>() {
                                Ok(size) if (2..=2000).contains(&size) => set_spec(&|s| s.size = size),
                                _ => state.notice.set(Some("The number of points must be a whole number from 2 to 2000.".into())),
                            }
                        }
                    />
                </label>
                <label>
                    "Classes "
                    <input
                        type="number"
                        min="2"
                        max="6"
                        aria-label="number of classes"
                        prop:value=move || spec.get().classes.to_string()
                        on:change=move |event| {
                            match event_target_value(&event).trim().parse::<usize>() {
                                Ok(classes) if (2..=6).contains(&classes) => set_spec(&|s| s.classes = classes),
                                _ => state.notice.set(Some("The number of classes must be a whole number from 2 to 6.".into())),
                            }
                        }
                    />
                </label>
                <label>
                    "Noise "
                    <input
                        type="range"
                        min="0"
                        max="100"
                        aria-label="noise"
                        prop:value=move || ((spec.get().noise * 100.0).round() as i64).to_string()
                        on:change=move |event| {
                            if let Ok(percent) = event_target_value(&event).parse::<f64>() {
                                set_spec(&|s| s.noise = (percent / 100.0).clamp(0.0, 1.0));
                            }
                        }
                    />
                </label>
            </div>
            <CsvImport />
        </fieldset>
    }
}

/// A CSV file read in the browser, waiting for its columns to be chosen.
#[derive(Clone, Debug, PartialEq)]
struct ImportDraft {
    name: String,
    text: String,
    header: Vec<String>,
}

/// CSV import: choose a file, then its two feature columns and its label column.
///
/// The file is read in the browser and never sent anywhere. A file that
/// cannot be imported is reported and the current points stay.
#[component]
fn CsvImport() -> impl IntoView {
    let state = expect_context::<AppState>();
    let (draft, set_draft) = signal(None::<ImportDraft>);
    let x_column = RwSignal::new(String::new());
    let y_column = RwSignal::new(String::new());
    let label_column = RwSignal::new(String::new());

    let on_file = move |event: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&event);
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        let name = file.name();
        leptos::task::spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
            let Some(text) = text.ok().and_then(|value| value.as_string()) else {
                state
                    .notice
                    .set(Some(format!("The file {name} could not be read as text.")));
                return;
            };
            let header = match read_header(text.as_bytes()) {
                Ok(header) => header,
                Err(error) => {
                    state.notice.set(Some(format!(
                        "{name}: {error}. The current points are kept."
                    )));
                    return;
                }
            };
            let Some((x, y, label)) = guess_columns(&header) else {
                state.notice.set(Some(format!(
                    "{name} has {} column(s); at least three are needed: two numbers and a label.",
                    header.len()
                )));
                return;
            };
            set_draft.set(Some(ImportDraft { name, text, header }));
            x_column.set(x);
            y_column.set(y);
            label_column.set(label);
        });
    };

    let on_import = move |_| {
        let Some(draft) = draft.get_untracked() else {
            return;
        };
        let (x, y, label) = (
            x_column.get_untracked(),
            y_column.get_untracked(),
            label_column.get_untracked(),
        );
        let columns = Columns {
            x: &x,
            y: &y,
            label: &label,
        };
        match import_scene(&draft.text, columns, &draft.name) {
            Ok(scene) => {
                state.data_choice.set(DataChoice::Imported);
                state.set_scene(scene);
                set_draft.set(None);
            }
            Err(error) => state.notice.set(Some(format!(
                "Import of {} failed: {error}. The current points are kept.",
                draft.name
            ))),
        }
    };

    let column_select = move |name: &'static str, value: RwSignal<String>| {
        view! {
            <label>
                {format!("{name} ")}
                <select
                    aria-label=format!("{name} column")
                    on:change=move |event| value.set(event_target_value(&event))
                    prop:value=move || value.get()
                >
                    {move || {
                        draft
                            .get()
                            .map(|draft| draft.header)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|column| {
                                let chosen = column.clone();
                                let text = column.clone();
                                view! {
                                    <option value=column prop:selected=move || value.get() == chosen>
                                        {text}
                                    </option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
        }
    };

    view! {
        <div class="import">
            <label>
                "Import CSV "
                <input type="file" accept=".csv,text/csv" aria-label="import CSV" on:change=on_file />
            </label>
            <div class="import-columns" class:hidden=move || draft.get().is_none()>
                {column_select("x", x_column)}
                {column_select("y", y_column)}
                {column_select("label", label_column)}
                <button on:click=on_import>"Import"</button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_steps_round_trip() {
        let range = (1e-3, 1e4);
        for step in [0, 1, 17, 120, LOG_STEPS] {
            assert_eq!(value_to_step(step_to_value(step, range), range), step);
        }
    }
}
