//! Importing a scene from a CSV file the lecturer chose, with chosen columns.

use thiserror::Error;

use super::palette::MAX_CLASSES;
use super::scene::Scene;
use super::table::{read_labelled_points, Columns, MissingValues, TableError};

/// A CSV file that cannot become a scene.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum ImportError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("the file has no row with numbers in both chosen columns and a label")]
    NoPoints,
    #[error("the label column has {found} classes; the app shows at most {max}, so choose a column with fewer")]
    TooManyClasses { found: usize, max: usize },
}

/// Reads labelled points from CSV `text` and standardises them into the plot's domain.
///
/// Rows with an empty or `NA` value in a chosen column are skipped, and the
/// count is given in the scene's `source` line with the file's `name`.
pub fn import_scene(text: &str, columns: Columns, name: &str) -> Result<Scene, ImportError> {
    let table = read_labelled_points(text.as_bytes(), columns, MissingValues::Skip)?;
    if table.points.is_empty() {
        return Err(ImportError::NoPoints);
    }
    if table.class_names.len() > MAX_CLASSES {
        return Err(ImportError::TooManyClasses {
            found: table.class_names.len(),
            max: MAX_CLASSES,
        });
    }

    let kept_rows = table.points.len();
    let skipped = table.skipped_lines.len();
    let mut scene = Scene {
        points: table.points,
        labels: table.labels,
        class_names: table.class_names,
        x_label: format!("{} (standardised)", columns.x),
        y_label: format!("{} (standardised)", columns.y),
        source: format!(
            "{name}: {kept_rows} of {} rows kept; {skipped} skipped for an empty or NA value",
            kept_rows + skipped
        ),
    };
    scene.standardise();
    Ok(scene)
}

/// Guesses the columns to offer first: `x`, `y` and `label` where the header
/// has them, otherwise the first two columns and the last.
pub fn guess_columns(header: &[String]) -> Option<(String, String, String)> {
    let has = |name: &str| header.iter().any(|h| h == name);
    if has("x") && has("y") && has("label") {
        return Some(("x".into(), "y".into(), "label".into()));
    }
    match header {
        [x, y, .., label] => Some((x.clone(), y.clone(), label.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: Columns = Columns {
        x: "length",
        y: "width",
        label: "kind",
    };

    #[test]
    fn import_reads_chosen_columns_and_standardises() {
        let text = "kind,length,width,other\na,1,10,x\nb,3,30,y\na,2,NA,z\n";
        let scene = import_scene(text, COLUMNS, "shapes.csv").unwrap();

        assert_eq!(scene.points.len(), 2);
        assert_eq!(scene.class_names, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(scene.labels, vec![0, 1]);
        // Two points z-score to ±1 on each axis, then scale to the largest |coordinate| 0.9.
        assert!(
            (scene.points[0].x + 0.9).abs() < 1e-12,
            "{:?}",
            scene.points
        );
        assert!(
            (scene.points[1].y - 0.9).abs() < 1e-12,
            "{:?}",
            scene.points
        );
        assert_eq!(
            scene.source,
            "shapes.csv: 2 of 3 rows kept; 1 skipped for an empty or NA value"
        );
        assert_eq!(scene.x_label, "length (standardised)");
    }

    #[test]
    fn import_rejects_more_classes_than_colours() {
        let mut text = String::from("length,width,kind\n");
        for class in 0..7 {
            text.push_str(&format!("{class},{class},c{class}\n"));
        }
        let error = import_scene(&text, COLUMNS, "many.csv").unwrap_err();
        assert_eq!(error, ImportError::TooManyClasses { found: 7, max: 6 });
    }

    #[test]
    fn import_rejects_file_without_points() {
        let text = "length,width,kind\nNA,1,a\n";
        assert_eq!(
            import_scene(text, COLUMNS, "empty.csv"),
            Err(ImportError::NoPoints)
        );
    }

    #[test]
    fn import_reports_missing_column() {
        let text = "length,kind\n1,a\n";
        let error = import_scene(text, COLUMNS, "narrow.csv").unwrap_err();
        assert!(
            error.to_string().contains("missing column 'width'"),
            "{error}"
        );
    }

    #[test]
    fn column_guess_prefers_named_columns() {
        let header: Vec<String> = ["label", "y", "x"].map(String::from).to_vec();
        assert_eq!(
            guess_columns(&header),
            Some(("x".into(), "y".into(), "label".into()))
        );
        let header: Vec<String> = ["a", "b", "c", "species"].map(String::from).to_vec();
        assert_eq!(
            guess_columns(&header),
            Some(("a".into(), "b".into(), "species".into()))
        );
        assert_eq!(guess_columns(&["a".to_string()]), None);
    }
}
