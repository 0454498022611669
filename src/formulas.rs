//! The model's equations as MathML text, with the probe's numbers.
//!
//! The app puts these strings into the page; the browser renders MathML
//! itself, so no math library and no network request is needed. The
//! equations are the corrected forms of the lecture note: the softmax
//! denominator sums over its own index `n′`, and the output averages each
//! layer's own activation `h^k`.

use crate::model::Suppression;
use crate::probe::ProbeReport;

/// One displayed equation: a name, its MathML, and the probe's values for it.
#[derive(Clone, Debug, PartialEq)]
pub struct Equation {
    /// The quantity the equation defines, e.g. "activation of layer k".
    pub name: &'static str,
    /// A complete `<math display="block">` element.
    pub mathml: String,
    /// `<math>` elements with the probe's numbers, empty without a probe.
    pub values: Vec<String>,
}

/// The parameters the equations show beside the probe's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub beta: f64,
    pub gamma: f64,
    pub layers: usize,
    pub hard: bool,
    pub suppression: Suppression,
}

/// Returns the model's equations for `settings`, with values from `report` if given.
///
/// `point_name` names training point n for display (for example its number
/// on the map), and `class_names` the classes of `ŷ`.
pub fn equations(
    settings: Settings,
    report: Option<&ProbeReport>,
    point_name: &dyn Fn(usize) -> String,
    class_names: &[String],
) -> Vec<Equation> {
    let mut list = vec![
        Equation {
            name: "squared distance to training point n",
            mathml: block(&distance_formula()),
            values: report.map_or_else(Vec::new, |r| nearest_values(r, point_name)),
        },
        activation_equation(settings, report, point_name),
        Equation {
            name: "vote of layer k",
            mathml: block(&vote_formula()),
            values: report.map_or_else(Vec::new, layer_vote_values),
        },
        Equation {
            name: "output: the average of the K layer votes",
            mathml: block(&output_formula()),
            values: report.map_or_else(Vec::new, |r| output_values(r, settings, class_names)),
        },
    ];
    if settings.suppression == Suppression::Additive && !settings.hard {
        list.insert(1, residual_equation(report, point_name));
    }
    list
}

// ---------------------------------------------------------------------------
// Equations
// ---------------------------------------------------------------------------

fn distance_formula() -> String {
    let norm = format!(
        "{}{}{}",
        mo("‖"),
        mrow(&[sub(&mi("x"), &mi("n")), mo("−"), mi("x")]),
        mo("‖")
    );
    mrow(&[d_n("n"), mo("="), msup(&mrow(&[norm]), &mn("2"))])
}

fn residual_equation(
    report: Option<&ProbeReport>,
    point_name: &dyn Fn(usize) -> String,
) -> Equation {
    let formula = mrow(&[
        s_kn("n"),
        mo("="),
        munder(&mo("∑"), &mrow(&[mi("k′"), mo("&lt;"), mi("k")])),
        h_kn("k′", "n"),
    ]);
    let values = report.map_or_else(Vec::new, |r| {
        r.layers
            .iter()
            .enumerate()
            .filter_map(|(k, layer)| {
                let top = layer.top.first()?;
                Some(inline(&mrow(&[
                    msubsup(
                        &mi("S"),
                        &mi(&point_name(top.index)),
                        &mn(&(k + 1).to_string()),
                    ),
                    mo("="),
                    mn(&number(top.suppression)),
                ])))
            })
            .collect()
    });
    Equation {
        name: "residual: how much earlier layers used point n",
        mathml: block(&formula),
        values,
    }
}

fn activation_equation(
    settings: Settings,
    report: Option<&ProbeReport>,
    point_name: &dyn Fn(usize) -> String,
) -> Equation {
    let formula = if settings.hard {
        mrow(&[
            h_kn("k", "n"),
            mo("="),
            mrow(&[
                mo("{"),
                mtable(&[
                    vec![mn("1"), mtext("if n is the k-th nearest point")],
                    vec![mn("0"), mtext("otherwise")],
                ]),
            ]),
        ])
    } else {
        match settings.suppression {
            Suppression::Additive => {
                let term = |n: &str| {
                    msup(
                        &mi("e"),
                        &mrow(&[
                            mo("−"),
                            mi("β"),
                            mo("("),
                            d_n(n),
                            mo("+"),
                            mi("γ"),
                            s_kn(n),
                            mo(")"),
                        ]),
                    )
                };
                softmax_formula(term)
            }
            Suppression::Multiplicative => {
                let term = |n: &str| {
                    mrow(&[
                        msup(&mi("e"), &mrow(&[mo("−"), mi("β"), d_n(n)])),
                        munder(&mo("∏"), &mrow(&[mi("k′"), mo("&lt;"), mi("k")])),
                        mo("("),
                        mn("1"),
                        mo("−"),
                        h_kn("k′", n),
                        mo(")"),
                    ])
                };
                softmax_formula(term)
            }
        }
    };

    let mut values = Vec::new();
    if report.is_some() && !settings.hard {
        let mut parameters = vec![mi("β"), mo("="), mn(&number(settings.beta))];
        if settings.suppression == Suppression::Additive {
            parameters.extend([mo(","), mi("γ"), mo("="), mn(&number(settings.gamma))]);
        }
        values.push(inline(&mrow(&parameters)));
    }
    if let Some(report) = report {
        for (k, layer) in report.layers.iter().enumerate() {
            let Some(top) = layer.top.first() else {
                continue;
            };
            values.push(inline(&mrow(&[
                msubsup(
                    &mi("h"),
                    &mi(&point_name(top.index)),
                    &mn(&(k + 1).to_string()),
                ),
                mo("="),
                mn(&number(top.weight)),
            ])));
        }
    }
    Equation {
        name: "activation of layer k: a distribution over the training points",
        mathml: block(&formula),
        values,
    }
}

/// Writes `h^k_n = term(n) / Σ_{n′} term(n′)`: every index of the
/// denominator is the summation index `n′`.
fn softmax_formula(term: impl Fn(&str) -> String) -> String {
    mrow(&[
        h_kn("k", "n"),
        mo("="),
        mfrac(
            &term("n"),
            &mrow(&[munder(&mo("∑"), &mi("n′")), term("n′")]),
        ),
    ])
}

fn vote_formula() -> String {
    mrow(&[
        msup(&mi("v"), &mi("k")),
        mo("="),
        msup(&mi("Y"), &mi("T")),
        msup(&mi("h"), &mi("k")),
    ])
}

/// `ŷ = (1/K) Σ_{k=1}^{K} Y^T h^k`: each layer adds its own activation `h^k`.
fn output_formula() -> String {
    mrow(&[
        mover(&mi("y"), &mo("^")),
        mo("="),
        mfrac(&mn("1"), &mi("K")),
        munderover(&mo("∑"), &mrow(&[mi("k"), mo("="), mn("1")]), &mi("K")),
        msup(&mi("Y"), &mi("T")),
        msup(&mi("h"), &mi("k")),
    ])
}

/// Returns `d_n` of each layer's heaviest point, each point once, in layer order.
fn nearest_values(report: &ProbeReport, point_name: &dyn Fn(usize) -> String) -> Vec<String> {
    let mut shown: Vec<(usize, f64)> = Vec::new();
    for top in report.layers.iter().filter_map(|layer| layer.top.first()) {
        if shown.iter().all(|&(index, _)| index != top.index) {
            shown.push((top.index, top.squared_distance));
        }
    }
    shown
        .iter()
        .map(|&(index, distance)| {
            inline(&mrow(&[
                sub(&mi("d"), &mi(&point_name(index))),
                mo("="),
                mn(&number(distance)),
            ]))
        })
        .collect()
}

fn layer_vote_values(report: &ProbeReport) -> Vec<String> {
    report
        .layers
        .iter()
        .enumerate()
        .map(|(k, layer)| {
            inline(&mrow(&[
                msup(&mi("v"), &mn(&(k + 1).to_string())),
                mo("="),
                vector(&layer.vote),
            ]))
        })
        .collect()
}

fn output_values(report: &ProbeReport, settings: Settings, class_names: &[String]) -> Vec<String> {
    let mut values = vec![inline(&mrow(&[
        mi("K"),
        mo("="),
        mn(&settings.layers.to_string()),
        mo(","),
        mover(&mi("y"), &mo("^")),
        mo("="),
        vector(&report.output),
    ]))];
    let winner = class_names
        .get(report.predicted)
        .map_or_else(|| format!("class {}", report.predicted + 1), Clone::clone);
    // A no-break space, because MathML renderers trim the edges of text runs.
    values.push(inline(&mtext(&format!("predicted:\u{a0}{winner}"))));
    values
}

// ---------------------------------------------------------------------------
// MathML building blocks
// ---------------------------------------------------------------------------

/// Formats a value with four significant digits, in scientific notation
/// outside [1e-3, 1e4).
pub fn number(value: f64) -> String {
    if value == 0.0 {
        "0".to_string()
    } else if value.is_infinite() {
        if value > 0.0 { "∞" } else { "−∞" }.to_string()
    } else if (1e-3..1e4).contains(&value.abs()) {
        let digits = (3 - value.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{value:.digits$}")
    } else {
        format!("{value:.3e}")
    }
}

/// Escapes text for an XML text node or attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const MATHML: &str = "http://www.w3.org/1998/Math/MathML";

fn block(content: &str) -> String {
    format!("<math xmlns=\"{MATHML}\" display=\"block\">{content}</math>")
}

fn inline(content: &str) -> String {
    format!("<math xmlns=\"{MATHML}\">{content}</math>")
}

fn element(tag: &str, children: &[&str]) -> String {
    format!("<{tag}>{}</{tag}>", children.concat())
}

fn mrow(children: &[String]) -> String {
    format!("<mrow>{}</mrow>", children.concat())
}

fn mi(name: &str) -> String {
    format!("<mi>{}</mi>", escape(name))
}

fn mn(value: &str) -> String {
    format!("<mn>{}</mn>", escape(value))
}

/// An operator; `op` must already be escaped (for example `&lt;`).
fn mo(op: &str) -> String {
    format!("<mo>{op}</mo>")
}

fn mtext(text: &str) -> String {
    format!("<mtext>{}</mtext>", escape(text))
}

fn sub(base: &str, index: &str) -> String {
    element("msub", &[base, index])
}

fn msup(base: &str, power: &str) -> String {
    element("msup", &[base, power])
}

fn msubsup(base: &str, index: &str, power: &str) -> String {
    element("msubsup", &[base, index, power])
}

fn mfrac(numerator: &str, denominator: &str) -> String {
    element("mfrac", &[numerator, denominator])
}

fn munder(base: &str, under: &str) -> String {
    element("munder", &[base, under])
}

fn mover(base: &str, over: &str) -> String {
    element("mover", &[base, over])
}

fn munderover(base: &str, under: &str, over: &str) -> String {
    element("munderover", &[base, under, over])
}

fn mtable(rows: &[Vec<String>]) -> String {
    let rows: Vec<String> = rows
        .iter()
        .map(|cells| {
            let cells: Vec<String> = cells.iter().map(|c| element("mtd", &[c])).collect();
            element("mtr", &[&cells.concat()])
        })
        .collect();
    element("mtable", &[&rows.concat()])
}

/// `d_n` with index `n`.
fn d_n(n: &str) -> String {
    sub(&mi("d"), &mi(n))
}

/// `h^k_n`.
fn h_kn(k: &str, n: &str) -> String {
    msubsup(&mi("h"), &mi(n), &mi(k))
}

/// `S^k_n`.
fn s_kn(n: &str) -> String {
    msubsup(&mi("S"), &mi(n), &mi("k"))
}

/// Writes `values` as a row vector `(a, b, c)`.
fn vector(values: &[f64]) -> String {
    let mut parts = vec![mo("(")];
    for (i, &value) in values.iter().enumerate() {
        if i > 0 {
            parts.push(mo(","));
        }
        parts.push(mn(&number(value)));
    }
    parts.push(mo(")"));
    mrow(&parts)
}

// The tests parse the MathML with roxmltree, a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
