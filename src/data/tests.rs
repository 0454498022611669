//! Tests of reading labelled points from CSV text.

use nalgebra::Point2;

use super::table::{
    read_header, read_labelled_points, read_points, Columns, LabelledPoints, MissingValues,
    TableError,
};

const COLUMNS: Columns = Columns {
    x: "x",
    y: "y",
    label: "label",
};

fn read(text: &str, missing: MissingValues) -> Result<LabelledPoints, TableError> {
    read_labelled_points(text.as_bytes(), COLUMNS, missing)
}

#[test]
fn table_reads_points_and_labels() {
    let table = read("x,y,label\n1,2,a\n-3.5,4e1,b\n", MissingValues::Reject).unwrap();
    assert_eq!(
        table.points,
        [Point2::new(1.0, 2.0), Point2::new(-3.5, 40.0)]
    );
    assert_eq!(table.labels, [0, 1]);
    assert!(table.skipped_lines.is_empty());
}

#[test]
fn table_classes_ordered_by_first_appearance() {
    let text = "label,x,y\nzebra,0,0\napple,1,1\nzebra,2,2\nmango,3,3\napple,4,4\n";
    let table = read(text, MissingValues::Reject).unwrap();
    assert_eq!(table.class_names, ["zebra", "apple", "mango"]);
    assert_eq!(table.labels, [0, 1, 0, 2, 1]);
}

#[test]
fn table_ignores_other_columns() {
    let text = "id,y,note,x,label\n7,2,hello,1,a\n";
    let table = read(text, MissingValues::Reject).unwrap();
    assert_eq!(table.points, [Point2::new(1.0, 2.0)]);
}

#[test]
fn table_missing_column_lists_header() {
    let error = read("x,label\n1,a\n", MissingValues::Reject).unwrap_err();
    assert_eq!(
        error,
        TableError::MissingColumn {
            column: "y".to_string(),
            available: "x, label".to_string(),
        }
    );
    assert_eq!(
        error.to_string(),
        "missing column 'y'; the header has: x, label"
    );
}

#[test]
fn table_non_numeric_value_names_line() {
    let error = read("x,y,label\n1,2,a\n3,oops,b\n", MissingValues::Reject).unwrap_err();
    assert_eq!(
        error,
        TableError::NotANumber {
            line: 3,
            column: "y".to_string(),
            value: "oops".to_string(),
        }
    );
    assert_eq!(
        error.to_string(),
        "line 3: column 'y' holds 'oops', which is not a number"
    );
}

#[test]
fn table_na_rejected_when_required() {
    let text = "x,y,label\n1,2,a\nNA,3,b\n";
    let error = read(text, MissingValues::Reject).unwrap_err();
    assert_eq!(
        error,
        TableError::MissingValue {
            line: 3,
            column: "x".to_string(),
        }
    );
}

#[test]
fn table_na_and_empty_skipped_and_counted() {
    let text = "x,y,label\n1,2,a\nNA,3,b\n4,,b\n5,6,NA\n7,8,\n9,10,c\n";
    let table = read(text, MissingValues::Skip).unwrap();
    assert_eq!(
        table.points,
        [Point2::new(1.0, 2.0), Point2::new(9.0, 10.0)]
    );
    assert_eq!(table.skipped_lines, [3, 4, 5, 6]);
    assert_eq!(table.class_names, ["a", "c"]);
}

#[test]
fn table_missing_label_rejected_when_required() {
    let error = read("x,y,label\n1,2,\n", MissingValues::Reject).unwrap_err();
    assert_eq!(
        error,
        TableError::MissingLabel {
            line: 2,
            column: "label".to_string(),
        }
    );
}

#[test]
fn table_malformed_row_names_line() {
    let error = read("x,y,label\n1,2,a\n3,4\n", MissingValues::Reject).unwrap_err();
    assert_eq!(
        error,
        TableError::Malformed {
            line: 3,
            message: "expected 3 fields as in the header, found 2".to_string(),
        }
    );
}

#[test]
fn table_out_of_range_rejected() {
    for value in ["inf", "NaN", "1e200"] {
        let text = format!("x,y,label\n{value},0,a\n");
        let error = read(&text, MissingValues::Skip).unwrap_err();
        assert!(
            matches!(error, TableError::OutOfRange { line: 2, .. }),
            "{value}: {error:?}"
        );
    }
}

#[test]
fn table_empty_input_has_no_header() {
    assert_eq!(read("", MissingValues::Skip), Err(TableError::NoHeader));
}

#[test]
fn table_header_strips_byte_order_mark() {
    let text = "\u{feff}x,y,label\n1,2,a\n";
    assert_eq!(read_header(text.as_bytes()).unwrap(), ["x", "y", "label"]);
    assert!(read(text, MissingValues::Reject).is_ok());
}

#[test]
fn table_unlabelled_points_reject_na() {
    let points = read_points("x,y\n1,2\n3,4\n".as_bytes(), "x", "y").unwrap();
    assert_eq!(points, [Point2::new(1.0, 2.0), Point2::new(3.0, 4.0)]);

    let error = read_points("x,y\n1,NA\n".as_bytes(), "x", "y").unwrap_err();
    assert_eq!(
        error,
        TableError::MissingValue {
            line: 2,
            column: "y".to_string(),
        }
    );
}
