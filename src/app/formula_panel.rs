//! The formula panel: the model's equations in MathML, with the probe's numbers.

use leptos::prelude::*;

use super::probe_panel::ProbeMemo;
use super::state::AppState;
use crate::formulas::{equations, Settings};

#[component]
pub fn FormulaPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let memo = expect_context::<ProbeMemo>();

    let class_names = Memo::new(move |_| state.scene.with(|scene| scene.class_names.clone()));
    // β, γ and k appear only in the probe's values, so they are read when the
    // probe's data arrives rather than tracked. During a gesture that data
    // comes at a limited rate, and rebuilding MathML at every slider step
    // would come out of the frame. Hard mode and the rule change the
    // equations themselves, so they are tracked.
    let list = move || {
        let settings = Settings {
            beta: state.beta.get_untracked(),
            gamma: state.gamma.get_untracked(),
            layers: state.k.get_untracked(),
            hard: state.hard.get(),
            suppression: state.suppression.get(),
        };
        let class_names = class_names.get();
        memo.shown.with(|data| {
            let report = data.as_ref().map(|d| &d.report);
            let name = |n: usize| {
                data.as_ref()
                    .map_or(n + 1, |d| d.point_number(n))
                    .to_string()
            };
            equations(settings, report, &name, &class_names)
                .into_iter()
                .map(|equation| {
                    let values = equation
                        .values
                        .into_iter()
                        .map(|value| view! { <li inner_html=value></li> })
                        .collect_view();
                    view! {
                        <div class="equation">
                            <h3>{equation.name}</h3>
                            <div class="equation-body" inner_html=equation.mathml></div>
                            <ul class="equation-values">{values}</ul>
                        </div>
                    }
                })
                .collect_view()
        })
    };

    view! {
        <section class="formula-panel" aria-label="formulas">
            <h2>"The model, with the probe's numbers"</h2>
            <p class="hint">
                "Subscripts name training points by their number on the map; the values are those of the heaviest point of each layer at the probe."
            </p>
            {list}
        </section>
    }
}
