//! The measures of [`crate::measures`] computed one query at a time, so that
//! a caller with a time budget (the web app, between animation frames) can
//! spread the work out and drop a job when the scene or the parameters change.
//!
//! A job that evaluates every point gives exactly the numbers of the direct
//! functions ([`loo_accuracy_curve`](super::loo_accuracy_curve),
//! [`leave_one_out_accuracy`](super::leave_one_out_accuracy) and the others),
//! because it makes the same models and queries in the same order. For large
//! scenes a job can instead evaluate an evenly spaced sample of the points.

use nalgebra::Point2;
use thiserror::Error;

use super::{describe_reselection_in, find_reselection, leave_out, predicted_class, MeasureError};
use crate::model::{Model, ParamError, RawParams, Suppression, TrainingSet, MAX_COORDINATE};

/// A count of points where a measure holds, among the points evaluated so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Points where the measure holds: correctly classified, or agreeing.
    pub hits: usize,
    /// Points evaluated so far.
    pub evaluated: usize,
    /// Points to evaluate in all: the whole set, or the sample of it.
    pub planned: usize,
    /// Points in the whole set; more than `planned` when a sample is used.
    pub population: usize,
}

impl Tally {
    fn new(planned: usize, population: usize) -> Tally {
        Tally {
            hits: 0,
            evaluated: 0,
            planned,
            population,
        }
    }

    fn record(&mut self, hit: bool) {
        self.evaluated += 1;
        if hit {
            self.hits += 1;
        }
    }

    /// Returns `hits / evaluated`, or `None` before the first evaluation.
    pub fn share(&self) -> Option<f64> {
        (self.evaluated > 0).then(|| self.hits as f64 / self.evaluated as f64)
    }

    /// Returns a finished tally of `hits` among `evaluated` points sampled from `population`.
    pub fn finished(hits: usize, evaluated: usize, population: usize) -> Tally {
        Tally {
            hits,
            evaluated,
            planned: evaluated,
            population,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.evaluated >= self.planned
    }

    pub fn is_sampled(&self) -> bool {
        self.planned < self.population
    }
}

/// Returns the indices of `limit` points spread evenly over `0..population`,
/// in increasing order, or every index when `limit ≥ population`.
///
/// Scenes often list their points class by class, so an even spread keeps
/// each class's share of the sample close to its share of the scene.
pub fn evenly_spaced(population: usize, limit: usize) -> Vec<usize> {
    if limit >= population {
        return (0..population).collect();
    }
    (0..limit).map(|i| i * population / limit).collect()
}

/// Returns how many queries of `cost_per_query` fit into `work_budget`, at
/// least 1. Both are in the same unit, for example training points times
/// layers per trace.
pub fn affordable_queries(work_budget: f64, cost_per_query: f64) -> usize {
    if cost_per_query <= 0.0 {
        return usize::MAX;
    }
    let queries = (work_budget / cost_per_query).floor();
    if queries >= usize::MAX as f64 {
        usize::MAX
    } else {
        (queries as usize).max(1)
    }
}

/// A job that cannot start: invalid parameters, or a test point the model
/// cannot take as a query.
#[derive(Clone, Copy, Debug, Error, PartialEq)]
pub enum JobError {
    #[error(transparent)]
    Params(#[from] ParamError),
    #[error(transparent)]
    Points(#[from] MeasureError),
}

/// Returns `raw` with K capped at N − 1, as the leave-one-out models need.
fn capped_for_leave_one_out(raw: RawParams, training_len: usize) -> RawParams {
    RawParams {
        k: raw.k.min(training_len as i64 - 1),
        ..raw
    }
}

// ---------------------------------------------------------------------------
// Leave-one-out accuracy against β
// ---------------------------------------------------------------------------

/// Leave-one-out accuracy at each β of a list, computed one query and one β
/// per [`step`](Job::step).
///
/// The job goes through the left-out points in order and, for each, through
/// all β values, so the reduced training set of one point is built once. After
/// any step, [`curve`](LooCurveJob::curve) returns the accuracy over the
/// points done so far.
pub struct LooCurveJob {
    training: TrainingSet,
    /// One setting per β, with K capped at N − 1.
    settings: Vec<RawParams>,
    suppression: Suppression,
    /// Settings that differ in their output: 1 in hard mode, where β is unused.
    distinct: usize,
    /// Training indices of the points left out, in order.
    queries: Vec<usize>,
    /// Correct decisions per setting.
    correct: Vec<usize>,
    next_query: usize,
    next_setting: usize,
    /// The training set without `queries[next_query]`, once built.
    reduced: Option<TrainingSet>,
}

/// A computation done one query per step, so that a caller with a time
/// budget can spread it over frames.
pub trait Job {
    /// Runs one step; returns whether the job is done.
    fn step(&mut self) -> bool;

    /// Runs steps until the job is done or `out_of_time` returns true; always
    /// runs at least one step. Returns whether the job is done.
    fn run_until(&mut self, mut out_of_time: impl FnMut() -> bool) -> bool {
        loop {
            if self.step() {
                return true;
            }
            if out_of_time() {
                return false;
            }
        }
    }
}

impl Job for LooCurveJob {
    /// Classifies one left-out point at one β; returns whether the job is done.
    fn step(&mut self) -> bool {
        if self.is_done() {
            return true;
        }
        let query = self.queries[self.next_query];
        let training = &self.training;
        let reduced = self
            .reduced
            .get_or_insert_with(|| leave_out(training, query));
        let model = Model::new(reduced, self.settings[self.next_setting])
            .expect("every β was checked, and K ≤ N − 1 fits the reduced set")
            .with_suppression(self.suppression);
        let output = model
            .predict(training.points()[query])
            .expect("a training point is a valid query");
        if predicted_class(&output) == training.labels()[query] {
            self.correct[self.next_setting] += 1;
        }

        self.next_setting += 1;
        if self.next_setting == self.distinct {
            self.next_setting = 0;
            self.next_query += 1;
            self.reduced = None;
        }
        self.is_done()
    }
}

impl Job for PointMeasuresJob {
    /// Evaluates one query of the current stage; returns whether the job is done.
    fn step(&mut self) -> bool {
        match self.stage {
            Stage::LeaveOneOut => self.step_leave_one_out(),
            Stage::Training => self.step_training(),
            Stage::Test => self.step_test(),
            Stage::Done => return true,
        }
        self.position += 1;
        self.skip_finished_stages();
        self.is_done()
    }
}

impl LooCurveJob {
    /// Prepares the curve over `betas` for at most `query_limit` left-out
    /// points, spread evenly over the training set; the rest of `raw` stays.
    ///
    /// Returns `Ok(None)` when N = 1, like
    /// [`loo_accuracy_curve`](super::loo_accuracy_curve).
    ///
    /// # Errors
    /// The first [`ParamError`] of `raw` with any β, checked against all N
    /// points as the full model would be.
    pub fn new(
        training: TrainingSet,
        raw: RawParams,
        suppression: Suppression,
        betas: &[f64],
        query_limit: usize,
    ) -> Result<Option<LooCurveJob>, ParamError> {
        let full: Vec<RawParams> = betas
            .iter()
            .map(|&beta| RawParams { beta, ..raw })
            .collect();
        for &setting in &full {
            Model::new(&training, setting)?;
        }
        if training.len() < 2 {
            return Ok(None);
        }

        let settings: Vec<RawParams> = full
            .into_iter()
            .map(|setting| capped_for_leave_one_out(setting, training.len()))
            .collect();
        let distinct = if raw.hard {
            settings.len().min(1)
        } else {
            settings.len()
        };
        let queries = evenly_spaced(training.len(), query_limit.max(1));
        Ok(Some(LooCurveJob {
            correct: vec![0; settings.len()],
            training,
            settings,
            suppression,
            distinct,
            queries,
            next_query: 0,
            next_setting: 0,
            reduced: None,
        }))
    }

    pub fn is_done(&self) -> bool {
        self.next_query >= self.queries.len() || self.distinct == 0
    }

    /// Returns `(points done, points planned)`.
    pub fn progress(&self) -> (usize, usize) {
        (self.next_query, self.queries.len())
    }

    /// Points in the training set; more than the points planned when a sample is used.
    pub fn population(&self) -> usize {
        self.training.len()
    }

    /// Returns the accuracy at each β over the left-out points done so far,
    /// or `None` before the first point is done.
    pub fn curve(&self) -> Option<Vec<f64>> {
        if self.next_query == 0 {
            return None;
        }
        let done = self.next_query as f64;
        let curve = (0..self.settings.len())
            .map(|setting| {
                // In hard mode only the first setting is evaluated; every β has its result.
                let source = setting.min(self.distinct - 1);
                self.correct[source] as f64 / done
            })
            .collect();
        Some(curve)
    }
}

// ---------------------------------------------------------------------------
// The measures at the current parameters
// ---------------------------------------------------------------------------

/// How many points a [`PointMeasuresJob`] evaluates for each measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleLimits {
    /// Training points left out, one at a time, for the leave-one-out accuracy.
    pub leave_one_out: usize,
    /// Training points, and separately test points, for the test accuracy,
    /// the agreement with hard mode and the re-selected mass.
    pub points: usize,
}

impl SampleLimits {
    /// Evaluates every point.
    pub const ALL: SampleLimits = SampleLimits {
        leave_one_out: usize::MAX,
        points: usize::MAX,
    };
}

/// A training point where the layers re-select, with the warning for it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReselectionFound {
    /// Index of the query in the training set.
    pub training_index: usize,
    /// The text of [`reselection_warning`](super::reselection_warning) at that
    /// point, with training points named as [`PointMeasuresJob::with_point_names`] sets.
    pub warning: String,
}

/// The measures of one model, as far as a [`PointMeasuresJob`] got.
#[derive(Clone, Debug, PartialEq)]
pub struct PointMeasures {
    /// Leave-one-out accuracy; `None` when N = 1.
    pub leave_one_out: Option<Tally>,
    /// Accuracy on the held-out points; `None` when none are held out.
    pub test: Option<Tally>,
    /// Points, training and test, where `argmax ŷ` equals the hard k-NN decision.
    pub agreement: Tally,
    /// Training points where [`find_reselection`] reports a re-selection.
    pub reselecting: Tally,
    /// Sum of the re-selected mass over the training points evaluated.
    pub reselected_mass_sum: f64,
    /// The first training point, in index order, where the layers re-select.
    pub first_reselection: Option<ReselectionFound>,
}

impl PointMeasures {
    /// Returns the mean re-selected mass over the training points evaluated.
    pub fn mean_reselected_mass(&self) -> Option<f64> {
        (self.reselecting.evaluated > 0)
            .then(|| self.reselected_mass_sum / self.reselecting.evaluated as f64)
    }
}

/// The stages of a [`PointMeasuresJob`], in the order it runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    LeaveOneOut,
    /// Trace at training points: agreement and re-selection.
    Training,
    /// Prediction at test points: test accuracy and agreement.
    Test,
    Done,
}

/// Leave-one-out accuracy, test accuracy, agreement with hard mode and
/// re-selection for one model, computed one query per
/// [`step`](Job::step).
///
/// With [`SampleLimits::ALL`] the finished job equals the direct functions:
/// [`leave_one_out_accuracy`](super::leave_one_out_accuracy),
/// [`test_accuracy`](super::test_accuracy),
/// [`hard_agreement`](super::hard_agreement) over the training points
/// followed by the test points, and
/// [`mean_reselected_mass`](super::mean_reselected_mass) over the training points.
pub struct PointMeasuresJob {
    training: TrainingSet,
    raw: RawParams,
    suppression: Suppression,
    test_points: Vec<Point2<f64>>,
    test_labels: Vec<usize>,
    leave_one_out_queries: Vec<usize>,
    training_queries: Vec<usize>,
    test_queries: Vec<usize>,
    stage: Stage,
    position: usize,
    measures: PointMeasures,
    /// Names of the training points in the warning; `None` names them by index.
    point_names: Option<Vec<String>>,
}

impl PointMeasuresJob {
    /// Names training point n as `names[n]` in the re-selection warning, for
    /// example by its number on a map. Points beyond `names` keep their index.
    pub fn with_point_names(mut self, names: Vec<String>) -> PointMeasuresJob {
        self.point_names = Some(names);
        self
    }

    /// Prepares the measures of the model `raw` with `suppression` on
    /// `training`, with the held-out `test_points` and their labels.
    ///
    /// # Errors
    /// A [`ParamError`] when `raw` does not fit the training set, or a
    /// [`MeasureError`] when the test labels do not match the points or a test
    /// point is not a valid query.
    pub fn new(
        training: TrainingSet,
        raw: RawParams,
        suppression: Suppression,
        test_points: Vec<Point2<f64>>,
        test_labels: Vec<usize>,
        limits: SampleLimits,
    ) -> Result<PointMeasuresJob, JobError> {
        Model::new(&training, raw)?;
        check_test_set(&training, &test_points, &test_labels)?;

        let n = training.len();
        let leave_one_out_queries = if n >= 2 {
            evenly_spaced(n, limits.leave_one_out.max(1))
        } else {
            Vec::new()
        };
        let training_queries = evenly_spaced(n, limits.points.max(1));
        let test_queries = evenly_spaced(test_points.len(), limits.points.max(1));

        let measures = PointMeasures {
            leave_one_out: (n >= 2).then(|| Tally::new(leave_one_out_queries.len(), n)),
            test: (!test_points.is_empty())
                .then(|| Tally::new(test_queries.len(), test_points.len())),
            agreement: Tally::new(
                training_queries.len() + test_queries.len(),
                n + test_points.len(),
            ),
            reselecting: Tally::new(training_queries.len(), n),
            reselected_mass_sum: 0.0,
            first_reselection: None,
        };
        let mut job = PointMeasuresJob {
            training,
            raw,
            suppression,
            test_points,
            test_labels,
            leave_one_out_queries,
            training_queries,
            test_queries,
            stage: Stage::LeaveOneOut,
            position: 0,
            point_names: None,
            measures,
        };
        job.skip_finished_stages();
        Ok(job)
    }

    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Returns the measures so far; each [`Tally`] counts the points evaluated.
    pub fn measures(&self) -> &PointMeasures {
        &self.measures
    }

    fn model(&self) -> Model<'_> {
        Model::new(&self.training, self.raw)
            .expect("the parameters were checked against this training set")
            .with_suppression(self.suppression)
    }

    fn hard_class(&self, query: Point2<f64>) -> usize {
        let hard = RawParams {
            hard: true,
            ..self.raw
        };
        let model = Model::new(&self.training, hard)
            .expect("K was checked against this training set, and hard mode ignores β and γ");
        predicted_class(&model.predict(query).expect("the query was checked"))
    }

    fn step_leave_one_out(&mut self) {
        let query = self.leave_one_out_queries[self.position];
        let reduced = leave_out(&self.training, query);
        let capped = capped_for_leave_one_out(self.raw, self.training.len());
        let output = Model::new(&reduced, capped)
            .expect("the parameters were checked, and K ≤ N − 1 fits the reduced set")
            .with_suppression(self.suppression)
            .predict(self.training.points()[query])
            .expect("a training point is a valid query");
        let correct = predicted_class(&output) == self.training.labels()[query];
        if let Some(tally) = self.measures.leave_one_out.as_mut() {
            tally.record(correct);
        }
    }

    fn step_training(&mut self) {
        let index = self.training_queries[self.position];
        let query = self.training.points()[index];
        let model = self.model();
        let trace = model
            .trace(query)
            .expect("a training point is a valid query");

        let agrees = self.raw.hard || predicted_class(&trace.output) == self.hard_class(query);
        let reselects = find_reselection(&trace).is_some();
        let first_warning = if reselects && self.measures.first_reselection.is_none() {
            let names = self.point_names.as_deref();
            let name = |n: usize| {
                names
                    .and_then(|names| names.get(n).cloned())
                    .unwrap_or_else(|| n.to_string())
            };
            describe_reselection_in(&model, &trace, &name)
        } else {
            None
        };

        self.measures.agreement.record(agrees);
        self.measures.reselected_mass_sum += trace.reselected_mass;
        self.measures.reselecting.record(reselects);
        if let Some(warning) = first_warning {
            self.measures.first_reselection = Some(ReselectionFound {
                training_index: index,
                warning,
            });
        }
    }

    fn step_test(&mut self) {
        let index = self.test_queries[self.position];
        let query = self.test_points[index];
        let output = self
            .model()
            .predict(query)
            .expect("test points were checked");
        let soft_class = predicted_class(&output);
        if let Some(tally) = self.measures.test.as_mut() {
            tally.record(soft_class == self.test_labels[index]);
        }
        let agrees = self.raw.hard || soft_class == self.hard_class(query);
        self.measures.agreement.record(agrees);
    }

    /// Moves to the next stage that has queries left.
    fn skip_finished_stages(&mut self) {
        loop {
            let queries = match self.stage {
                Stage::LeaveOneOut => self.leave_one_out_queries.len(),
                Stage::Training => self.training_queries.len(),
                Stage::Test => self.test_queries.len(),
                Stage::Done => return,
            };
            if self.position < queries {
                return;
            }
            self.position = 0;
            self.stage = match self.stage {
                Stage::LeaveOneOut => Stage::Training,
                Stage::Training => Stage::Test,
                Stage::Test | Stage::Done => Stage::Done,
            };
        }
    }
}

/// Checks that every test point has one label, of a class of the training
/// set, and is a valid query.
fn check_test_set(
    training: &TrainingSet,
    test_points: &[Point2<f64>],
    test_labels: &[usize],
) -> Result<(), MeasureError> {
    if test_points.len() != test_labels.len() {
        return Err(MeasureError::LabelCountMismatch {
            points: test_points.len(),
            labels: test_labels.len(),
        });
    }
    let classes = training.classes();
    if let Some(index) = test_labels.iter().position(|&label| label >= classes) {
        return Err(MeasureError::LabelOutOfRange {
            index,
            label: test_labels[index],
            max_class: classes - 1,
        });
    }
    let valid = |v: f64| v.is_finite() && v.abs() <= MAX_COORDINATE;
    if let Some(index) = test_points.iter().position(|p| !valid(p.x) || !valid(p.y)) {
        let point = test_points[index];
        return Err(MeasureError::InvalidPoint {
            index,
            x: point.x,
            y: point.y,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
