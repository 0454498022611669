//! Reading points from CSV text by column name, with errors that name the line.

use std::collections::HashMap;
use std::io::Read;

use nalgebra::Point2;
use thiserror::Error;

use crate::model::MAX_COORDINATE;

/// The handling of a row whose needed field is empty or `NA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingValues {
    /// Fail with [`TableError::MissingValue`].
    Reject,
    /// Leave the row out and record its line in `skipped_lines`.
    Skip,
}

/// Names of the columns that hold the two coordinates and the label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns<'a> {
    pub x: &'a str,
    pub y: &'a str,
    pub label: &'a str,
}

/// Points with class indices; classes are numbered by first appearance.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelledPoints {
    pub points: Vec<Point2<f64>>,
    pub labels: Vec<usize>,
    /// Class names in order of first appearance: `labels[n]` indexes this.
    pub class_names: Vec<String>,
    /// 1-based line numbers of rows left out for a missing value.
    pub skipped_lines: Vec<u64>,
}

/// A CSV table that cannot be read as points. Lines are 1-based and count the header.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum TableError {
    #[error("invalid CSV at line {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error("the table has no header row")]
    NoHeader,
    #[error("missing column '{column}'; the header has: {available}")]
    MissingColumn { column: String, available: String },
    #[error("line {line}: column '{column}' is empty or NA; a number is required")]
    MissingValue { line: u64, column: String },
    #[error("line {line}: column '{column}' holds '{value}', which is not a number")]
    NotANumber {
        line: u64,
        column: String,
        value: String,
    },
    #[error("line {line}: column '{column}' holds '{value}'; coordinates must be finite numbers within ±1e150")]
    OutOfRange {
        line: u64,
        column: String,
        value: String,
    },
    #[error("line {line}: column '{column}' is empty; every point needs a label")]
    MissingLabel { line: u64, column: String },
}

/// Reads labelled points from CSV with a header row.
///
/// Other columns are ignored and may come in any order. A label is any
/// non-empty text; with [`MissingValues::Skip`], a row whose coordinate or label
/// is empty or `NA` is left out and counted.
pub fn read_labelled_points<R: Read>(
    input: R,
    columns: Columns,
    missing: MissingValues,
) -> Result<LabelledPoints, TableError> {
    let mut reader = csv_reader(input);
    let header = header_index(&mut reader)?;
    let x_index = column_index(&header, columns.x)?;
    let y_index = column_index(&header, columns.y)?;
    let label_index = column_index(&header, columns.label)?;

    let mut result = LabelledPoints {
        points: Vec::new(),
        labels: Vec::new(),
        class_names: Vec::new(),
        skipped_lines: Vec::new(),
    };
    let mut class_of_name: HashMap<String, usize> = HashMap::new();

    for record in reader.records() {
        let record = record.map_err(malformed)?;
        let line = line_of(&record);
        let label = record.get(label_index).unwrap_or("").trim();
        let x = read_coordinate(&record, x_index, columns.x, line, missing)?;
        let y = read_coordinate(&record, y_index, columns.y, line, missing)?;

        let label_missing = label.is_empty() || label == "NA";
        let (Some(x), Some(y)) = (x, y) else {
            result.skipped_lines.push(line);
            continue;
        };
        if label_missing {
            if missing == MissingValues::Skip {
                result.skipped_lines.push(line);
                continue;
            }
            return Err(TableError::MissingLabel {
                line,
                column: columns.label.to_string(),
            });
        }

        let next_class = class_of_name.len();
        let class = *class_of_name.entry(label.to_string()).or_insert_with(|| {
            result.class_names.push(label.to_string());
            next_class
        });
        result.points.push(Point2::new(x, y));
        result.labels.push(class);
    }
    Ok(result)
}

/// Reads unlabelled points (queries) from CSV with a header row; no value may be missing.
pub fn read_points<R: Read>(
    input: R,
    x_column: &str,
    y_column: &str,
) -> Result<Vec<Point2<f64>>, TableError> {
    let mut reader = csv_reader(input);
    let header = header_index(&mut reader)?;
    let x_index = column_index(&header, x_column)?;
    let y_index = column_index(&header, y_column)?;

    let mut points = Vec::new();
    for record in reader.records() {
        let record = record.map_err(malformed)?;
        let line = line_of(&record);
        let reject = MissingValues::Reject;
        let x = read_coordinate(&record, x_index, x_column, line, reject)?;
        let y = read_coordinate(&record, y_index, y_column, line, reject)?;
        if let (Some(x), Some(y)) = (x, y) {
            points.push(Point2::new(x, y));
        }
    }
    Ok(points)
}

/// Returns the header names of a CSV text, to offer them as column choices.
pub fn read_header<R: Read>(input: R) -> Result<Vec<String>, TableError> {
    let mut reader = csv_reader(input);
    Ok(header_index(&mut reader)?.names)
}

struct Header {
    names: Vec<String>,
}

fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(input)
}

fn header_index<R: Read>(reader: &mut csv::Reader<R>) -> Result<Header, TableError> {
    let names: Vec<String> = reader
        .headers()
        .map_err(malformed)?
        .iter()
        .map(|name| name.trim_start_matches('\u{feff}').to_string())
        .collect();
    if names.iter().all(|name| name.is_empty()) {
        return Err(TableError::NoHeader);
    }
    Ok(Header { names })
}

fn column_index(header: &Header, column: &str) -> Result<usize, TableError> {
    header
        .names
        .iter()
        .position(|name| name == column)
        .ok_or_else(|| TableError::MissingColumn {
            column: column.to_string(),
            available: header.names.join(", "),
        })
}

/// Parses one coordinate; `Ok(None)` means a missing value in a row to skip.
fn read_coordinate(
    record: &csv::StringRecord,
    index: usize,
    column: &str,
    line: u64,
    missing: MissingValues,
) -> Result<Option<f64>, TableError> {
    let text = record.get(index).unwrap_or("");
    if text.is_empty() || text == "NA" {
        return match missing {
            MissingValues::Skip => Ok(None),
            MissingValues::Reject => Err(TableError::MissingValue {
                line,
                column: column.to_string(),
            }),
        };
    }

    let value: f64 = text.parse().map_err(|_| TableError::NotANumber {
        line,
        column: column.to_string(),
        value: text.to_string(),
    })?;
    if !value.is_finite() || value.abs() > MAX_COORDINATE {
        return Err(TableError::OutOfRange {
            line,
            column: column.to_string(),
            value: text.to_string(),
        });
    }
    Ok(Some(value))
}

fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

fn malformed(error: csv::Error) -> TableError {
    let line = error.position().map_or(0, |p| p.line());
    let message = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields as in the header, found {len}"),
        csv::ErrorKind::Utf8 { .. } => "the text is not valid UTF-8".to_string(),
        _ => error.to_string(),
    };
    TableError::Malformed { line, message }
}
