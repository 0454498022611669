//! The training set `D = {(x_n, y_n)}`: points in the plane with class indices.

use nalgebra::{DMatrix, Point2};

use super::params::{coordinate_in_range, CoordinateProblem, ParamError};

/// Training points with their classes, checked once when built.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingSet {
    points: Vec<Point2<f64>>,
    labels: Vec<usize>,
    classes: usize,
    /// `Y`, the `N × C` matrix of one-hot labels.
    one_hot: DMatrix<f64>,
}

impl TrainingSet {
    /// Builds a training set; `labels[n]` is the class index of `points[n]`.
    ///
    /// # Panics
    /// If the two slices differ in length or a label is not below `classes`:
    /// both are programming errors, not user input.
    pub fn new(
        points: Vec<Point2<f64>>,
        labels: Vec<usize>,
        classes: usize,
    ) -> Result<TrainingSet, ParamError> {
        assert_eq!(points.len(), labels.len(), "one label per point");
        assert!(labels.iter().all(|&c| c < classes), "labels below classes");
        if points.is_empty() {
            return Err(ParamError::EmptyTrainingSet);
        }
        for (index, p) in points.iter().enumerate() {
            let (x, y) = (p.x, p.y);
            match coordinate_in_range(x, y) {
                Ok(()) => {}
                Err(CoordinateProblem::NotFinite) => {
                    return Err(ParamError::NonFiniteCoordinate { index, x, y })
                }
                Err(CoordinateProblem::OutOfRange) => {
                    return Err(ParamError::CoordinateOutOfRange { index, x, y })
                }
            }
        }

        let one_hot = DMatrix::from_fn(points.len(), classes, |n, c| {
            if labels[n] == c {
                1.0
            } else {
                0.0
            }
        });
        Ok(TrainingSet {
            points,
            labels,
            classes,
            one_hot,
        })
    }

    pub fn points(&self) -> &[Point2<f64>] {
        &self.points
    }

    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// C, the number of classes (some may have no point).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// N, the number of training points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Always false: [`TrainingSet::new`] rejects an empty set.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// `Y`, the `N × C` one-hot label matrix.
    pub fn one_hot(&self) -> &DMatrix<f64> {
        &self.one_hot
    }

    /// Share of each class among the training points: the output at β = 0.
    pub fn class_prior(&self) -> Vec<f64> {
        let mut counts = vec![0.0; self.classes];
        for &c in &self.labels {
            counts[c] += 1.0;
        }
        let n = self.len() as f64;
        counts.iter().map(|count| count / n).collect()
    }
}
