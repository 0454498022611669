//! Tests that the equations are well-formed MathML, show the corrected forms
//! of the note's two errata, and carry the probe's numbers.

use nalgebra::Point2;
use roxmltree::{Document, Node};

use super::*;
use crate::model::{Model, RawParams, TrainingSet};
use crate::probe::probe;

fn settings(suppression: Suppression, hard: bool) -> Settings {
    Settings {
        beta: 40.0,
        gamma: 0.05,
        layers: 3,
        hard,
        suppression,
    }
}

fn point_name(index: usize) -> String {
    (index + 1).to_string()
}

fn parse(mathml: &str) -> Document<'_> {
    Document::parse(mathml).unwrap_or_else(|error| panic!("invalid XML ({error}): {mathml}"))
}

/// Returns the concatenated text of every `<mi>` under `node`.
fn identifiers(node: Node) -> Vec<String> {
    node.descendants()
        .filter(|n| n.has_tag_name("mi"))
        .filter_map(|n| n.text().map(str::to_string))
        .collect()
}

fn scene() -> TrainingSet {
    let points = vec![
        Point2::new(0.0, 0.0),
        Point2::new(0.5, 0.1),
        Point2::new(-0.3, 0.4),
        Point2::new(0.2, -0.6),
    ];
    TrainingSet::new(points, vec![0, 1, 1, 0], 2).expect("valid scene")
}

#[test]
fn every_equation_parses_as_mathml() {
    for suppression in [Suppression::Additive, Suppression::Multiplicative] {
        for hard in [false, true] {
            for equation in equations(settings(suppression, hard), None, &point_name, &[]) {
                let document = parse(&equation.mathml);
                let root = document.root_element();
                assert_eq!(root.tag_name().name(), "math", "{}", equation.name);
                assert_eq!(root.tag_name().namespace(), Some(MATHML));
                assert_eq!(root.attribute("display"), Some("block"));
            }
        }
    }
}

#[test]
fn denominator_sums_over_own_index() {
    // Erratum 1: the softmax denominator must use the summation index n′ in
    // every term, also in the penalty.
    for suppression in [Suppression::Additive, Suppression::Multiplicative] {
        let list = equations(settings(suppression, false), None, &point_name, &[]);
        let activation = list
            .iter()
            .find(|e| e.name.starts_with("activation"))
            .expect("an activation equation");
        let document = parse(&activation.mathml);
        let fraction = document
            .descendants()
            .find(|n| n.has_tag_name("mfrac"))
            .expect("a fraction");
        let parts: Vec<Node> = fraction.children().filter(Node::is_element).collect();
        assert_eq!(parts.len(), 2);

        let numerator = identifiers(parts[0]);
        let denominator = identifiers(parts[1]);
        assert!(numerator.contains(&"n".to_string()), "{numerator:?}");
        assert!(!numerator.contains(&"n′".to_string()), "{numerator:?}");
        assert!(!denominator.contains(&"n".to_string()), "{denominator:?}");
        let primed = denominator.iter().filter(|i| *i == "n′").count();
        // The sum's index, d_{n′}, and the suppression term's index.
        assert!(primed >= 3, "{suppression:?}: {denominator:?}");
    }
}

#[test]
fn output_averages_each_layers_activation() {
    // Erratum 2: the average over k uses h^k, not h^K.
    let list = equations(
        settings(Suppression::Additive, false),
        None,
        &point_name,
        &[],
    );
    let output = list
        .iter()
        .find(|e| e.name.starts_with("output"))
        .expect("an output equation");
    let document = parse(&output.mathml);
    let powers: Vec<String> = document
        .descendants()
        .filter(|n| n.has_tag_name("msup"))
        .filter(|n| {
            n.first_element_child()
                .is_some_and(|base| base.text() == Some("h"))
        })
        .filter_map(|n| {
            n.last_element_child()
                .and_then(|p| p.text().map(str::to_string))
        })
        .collect();
    assert_eq!(powers, vec!["k".to_string()]);
}

#[test]
fn residual_only_for_additive_rule() {
    let names = |suppression, hard| -> Vec<&'static str> {
        equations(settings(suppression, hard), None, &point_name, &[])
            .iter()
            .map(|e| e.name)
            .collect()
    };
    let has_residual = |list: Vec<&str>| list.iter().any(|n| n.starts_with("residual"));
    assert!(has_residual(names(Suppression::Additive, false)));
    assert!(!has_residual(names(Suppression::Multiplicative, false)));
    assert!(!has_residual(names(Suppression::Additive, true)));
}

#[test]
fn values_come_from_probe() {
    let training = scene();
    let raw = RawParams {
        beta: 40.0,
        gamma: 0.05,
        k: 3,
        hard: false,
    };
    let model = Model::new(&training, raw).expect("valid parameters");
    let query = Point2::new(0.1, 0.05);
    let report = probe(&model, query, 2, &point_name).expect("valid query");
    let classes = vec!["a<b".to_string(), "c".to_string()];
    let list = equations(
        settings(Suppression::Additive, false),
        Some(&report),
        &point_name,
        &classes,
    );

    for equation in &list {
        assert!(
            !equation.values.is_empty(),
            "{} has no values",
            equation.name
        );
        for value in &equation.values {
            parse(value);
        }
    }
    let output = list.last().expect("the output equation");
    let text = output.values.concat();
    assert!(text.contains(&number(report.output[0])), "{text}");
    assert!(text.contains("a&lt;b"), "class names are escaped: {text}");

    let activation = list
        .iter()
        .find(|e| e.name.starts_with("activation"))
        .expect("an activation equation");
    let top = &report.layers[0].top[0];
    let expected = number(top.weight);
    assert!(
        activation.values.iter().any(|v| v.contains(&expected)),
        "{expected} missing in {:?}",
        activation.values
    );
}

#[test]
fn number_keeps_four_significant_digits() {
    assert_eq!(number(0.0), "0");
    assert_eq!(number(1.0), "1.000");
    assert_eq!(number(0.012345), "0.01235");
    assert_eq!(number(123.456), "123.5");
    assert_eq!(number(2e-5), "2.000e-5");
    assert_eq!(number(3e8), "3.000e8");
    assert_eq!(number(f64::INFINITY), "∞");
}

#[test]
fn escape_handles_markup() {
    assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
}
