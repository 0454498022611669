//! Real data sets, embedded at compile time from `data/` and shown as two
//! standardised features with the species as the class.
//!
//! | Data set | Features                        | Classes (in file order)      | Rows shown |
//! | -------- | ------------------------------- | ---------------------------- | ---------- |
//! | iris     | petal length × petal width (cm) | setosa, versicolor, virginica | 150 of 150 |
//! | penguins | bill length × bill depth (mm)   | Adelie, Gentoo, Chinstrap     | 342 of 344 |
//!
//! Provenance and licences are in `data/README.md`.

use super::scene::Scene;
use super::table::{read_labelled_points, Columns, MissingValues};

const IRIS_CSV: &str = include_str!("../../data/iris.csv");
const PENGUINS_CSV: &str = include_str!("../../data/penguins.csv");

/// A real data set that ships with the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RealDataset {
    /// Fisher's iris flowers (1936), public domain.
    Iris,
    /// Palmer penguins (Gorman, Williams and Fraser 2014), CC0.
    Penguins,
}

/// Embedded file, columns and descriptions of one data set.
struct Recipe {
    csv: &'static str,
    columns: Columns<'static>,
    citation: &'static str,
    x_label: &'static str,
    y_label: &'static str,
}

impl RealDataset {
    /// Every real data set, in the order the app lists them.
    pub const ALL: [RealDataset; 2] = [RealDataset::Iris, RealDataset::Penguins];

    /// Lowercase identifier for links and the command line: `"iris"` or `"penguins"`.
    pub fn name(self) -> &'static str {
        match self {
            RealDataset::Iris => "iris",
            RealDataset::Penguins => "penguins",
        }
    }

    /// Display name, such as `"Palmer penguins"`.
    pub fn label(self) -> &'static str {
        match self {
            RealDataset::Iris => "Iris",
            RealDataset::Penguins => "Palmer penguins",
        }
    }

    /// Finds the data set whose [`name`](Self::name) is `name`.
    pub fn from_name(name: &str) -> Option<RealDataset> {
        RealDataset::ALL.into_iter().find(|set| set.name() == name)
    }

    /// Reads the embedded file into a standardised scene.
    ///
    /// Rows with an empty or `NA` value in the feature or label columns are
    /// skipped, and `source` states how many. Classes are numbered in order
    /// of first appearance in the file.
    pub fn load(self) -> Scene {
        let recipe = self.recipe();

        // The CSV text is compiled in, so no user input reaches this read.
        // The tests load every data set, so a broken file fails them before
        // it can ship, and the expect cannot fire in a tested build.
        let table =
            read_labelled_points(recipe.csv.as_bytes(), recipe.columns, MissingValues::Skip)
                .expect("the embedded CSV file is valid, as the tests check");

        let kept_rows = table.points.len();
        let skipped_rows = table.skipped_lines.len();
        let mut source = format!(
            "{} ({}): {kept_rows} of {} rows",
            self.label(),
            recipe.citation,
            kept_rows + skipped_rows
        );
        if skipped_rows > 0 {
            let columns = recipe.columns;
            let rows = if skipped_rows == 1 { "row" } else { "rows" };
            source.push_str(&format!(
                "; {skipped_rows} {rows} with NA in {}, {} or {} skipped",
                columns.x, columns.y, columns.label
            ));
        }

        let mut scene = Scene {
            points: table.points,
            labels: table.labels,
            class_names: table.class_names,
            x_label: recipe.x_label.to_string(),
            y_label: recipe.y_label.to_string(),
            source,
        };
        scene.standardise();
        scene
    }

    fn recipe(self) -> Recipe {
        match self {
            RealDataset::Iris => Recipe {
                csv: IRIS_CSV,
                columns: Columns {
                    x: "petal_length",
                    y: "petal_width",
                    label: "species",
                },
                citation: "Fisher 1936, public domain",
                x_label: "petal length in cm (standardised)",
                y_label: "petal width in cm (standardised)",
            },
            RealDataset::Penguins => Recipe {
                csv: PENGUINS_CSV,
                columns: Columns {
                    x: "bill_length_mm",
                    y: "bill_depth_mm",
                    label: "species",
                },
                citation: "Gorman, Williams and Fraser 2014, CC0",
                x_label: "bill length in mm (standardised)",
                y_label: "bill depth in mm (standardised)",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::scene::tests::assert_standardised;

    /// Splits a CSV text without quoting into its header and rows.
    fn split_csv(text: &str) -> (Vec<&str>, Vec<Vec<&str>>) {
        let mut lines = text.lines();
        let header = lines.next().expect("header").split(',').collect();
        let rows = lines
            .filter(|line| !line.is_empty())
            .map(|line| line.split(',').collect())
            .collect();
        (header, rows)
    }

    fn column(header: &[&str], name: &str) -> usize {
        header.iter().position(|&h| h == name).expect(name)
    }

    /// Population z-scores of a column of numbers.
    fn z_scores(values: &[f64]) -> Vec<f64> {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        values
            .iter()
            .map(|v| (v - mean) / variance.sqrt())
            .collect()
    }

    #[test]
    fn iris_loads_150_points_in_three_classes() {
        let scene = RealDataset::Iris.load();
        assert_eq!(scene.points.len(), 150);
        assert_eq!(scene.labels.len(), 150);
        assert_eq!(scene.class_names, ["setosa", "versicolor", "virginica"]);
        assert_eq!(
            scene.source,
            "Iris (Fisher 1936, public domain): 150 of 150 rows"
        );
        assert_eq!(scene.x_label, "petal length in cm (standardised)");
    }

    #[test]
    fn iris_first_point_matches_z_score() {
        let (header, rows) = split_csv(IRIS_CSV);
        let read = |name: &str| -> Vec<f64> {
            let index = column(&header, name);
            rows.iter()
                .map(|row| row[index].parse().expect(name))
                .collect()
        };
        let zx = z_scores(&read("petal_length"));
        let zy = z_scores(&read("petal_width"));
        let largest = zx.iter().chain(&zy).fold(0.0_f64, |m, z| m.max(z.abs()));
        let factor = 0.9 / largest;

        let first = RealDataset::Iris.load().points[0];
        assert!((first.x - zx[0] * factor).abs() < 1e-12, "x {}", first.x);
        assert!((first.y - zy[0] * factor).abs() < 1e-12, "y {}", first.y);
    }

    #[test]
    fn penguins_skip_rows_with_missing_bill() {
        let (header, rows) = split_csv(PENGUINS_CSV);
        let bill_columns = [
            column(&header, "bill_length_mm"),
            column(&header, "bill_depth_mm"),
        ];
        let missing = |value: &str| value.is_empty() || value == "NA";
        let with_na = rows
            .iter()
            .filter(|row| bill_columns.iter().any(|&c| missing(row[c])))
            .count();
        assert_eq!(with_na, 2, "rows with NA in a bill column");

        let scene = RealDataset::Penguins.load();
        assert_eq!(scene.points.len(), rows.len() - with_na);
        assert_eq!(scene.points.len(), 342);
        assert_eq!(
            scene.source,
            "Palmer penguins (Gorman, Williams and Fraser 2014, CC0): 342 of 344 rows; \
             2 rows with NA in bill_length_mm, bill_depth_mm or species skipped"
        );
    }

    #[test]
    fn penguins_classes_in_file_order() {
        let (header, rows) = split_csv(PENGUINS_CSV);
        let species = column(&header, "species");
        let mut first_seen: Vec<&str> = Vec::new();
        for row in &rows {
            if !first_seen.contains(&row[species]) {
                first_seen.push(row[species]);
            }
        }

        let scene = RealDataset::Penguins.load();
        assert_eq!(scene.class_names, first_seen);
        assert_eq!(scene.class_names, ["Adelie", "Gentoo", "Chinstrap"]);
    }

    #[test]
    fn real_datasets_standardised_into_domain() {
        for set in RealDataset::ALL {
            let scene = set.load();
            assert_standardised(&scene, set.name());
            assert!(scene.training_set().is_ok(), "{}", set.name());
        }
    }

    #[test]
    fn real_dataset_scale_hints_ordered() {
        for set in RealDataset::ALL {
            let hints = set.load().scale_hints();
            assert!(
                hints.beta_min < hints.beta_default,
                "{}: {hints:?}",
                set.name()
            );
            assert!(
                hints.beta_default < hints.beta_max,
                "{}: {hints:?}",
                set.name()
            );
            assert!(
                hints.gamma_min < hints.gamma_default,
                "{}: {hints:?}",
                set.name()
            );
            assert!(
                hints.gamma_default < hints.gamma_max,
                "{}: {hints:?}",
                set.name()
            );
        }
    }

    #[test]
    fn dataset_names_round_trip() {
        for set in RealDataset::ALL {
            assert_eq!(RealDataset::from_name(set.name()), Some(set));
        }
        assert_eq!(RealDataset::from_name("mnist"), None);
    }
}
