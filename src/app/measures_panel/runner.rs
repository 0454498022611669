//! Runs the measures jobs a few milliseconds per animation frame.
//!
//! A change to the scene, the split or a parameter drops the jobs it affects
//! and marks them stale. Nothing is computed in the task that handled the
//! input. Jobs start again only when no gesture is going on and the decision
//! map has reached full resolution, and only after [`QUIET_MS`] without input
//! or a new map. So they never compete with the maps for the frames that
//! follow an input. Each frame then spends at most [`FRAME_BUDGET_MS`], plus
//! one query, on the current measures first and on the curve after them.

use std::time::Duration;

use leptos::prelude::*;

use super::super::maps::{now_ms, MapStore, FULL_RESOLUTION};
use super::super::state::AppState;
use crate::measures::display::{describe_curve_setting, describe_setting, log_spaced};
use crate::measures::incremental::{
    affordable_queries, Job, LooCurveJob, PointMeasures, PointMeasuresJob, SampleLimits,
};

/// Compute time per animation frame for the measures. The map's own job takes
/// 10 ms per frame while it refines, but the measures wait until it is done.
const FRAME_BUDGET_MS: f64 = 5.0;
/// Jobs wait this long after the last input or new map, so that a lecturer
/// who pauses briefly between two drags does not meet a busy page.
const QUIET_MS: f64 = 250.0;
/// β values on the leave-one-out curve.
pub const CURVE_BETAS: usize = 24;
/// Work allowed for the current measures, in training points × layers over
/// all traces. A native release build of the f64 reference model took about
/// 10 ns per unit on an x86 development machine. The browser is slower, so
/// this allows an estimated 2 to 3 s of compute at most.
const POINTS_WORK_BUDGET: f64 = 1e8;
/// Work allowed for the curve, in the same unit as [`POINTS_WORK_BUDGET`].
const CURVE_WORK_BUDGET: f64 = 1e8;
/// Traces per sampled point: one leave-one-out prediction, then a soft and a
/// hard prediction at each training and each test point.
const TRACES_PER_POINT: f64 = 5.0;
/// Samples never shrink below this many points, whatever the work budget allows.
const MIN_POINT_SAMPLE: usize = 100;
/// A curve from fewer left-out points than this is too noisy to show, so it is skipped.
const MIN_CURVE_SAMPLE: usize = 30;
/// The curve is shown again while it grows at most this often.
const CURVE_PUBLISH_MS: f64 = 150.0;

/// The runner's activity, shown in the panel's status line and read by tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A drag or slider move is going on; the measures wait for its end.
    WaitingForGesture,
    /// The decision map is still refining, or input has not paused for
    /// [`QUIET_MS`]; the measures wait.
    WaitingForMap,
    Computing,
    Done,
}

impl Phase {
    /// Returns the value of the panel's `data-state` attribute.
    pub fn id(self) -> &'static str {
        match self {
            Phase::WaitingForGesture | Phase::WaitingForMap => "waiting",
            Phase::Computing => "computing",
            Phase::Done => "done",
        }
    }
}

/// The current measures as the panel shows them.
#[derive(Clone, Debug, PartialEq)]
pub struct PointsView {
    /// The setting the measures belong to, in words.
    pub setting: String,
    pub result: Result<PointMeasures, String>,
    pub complete: bool,
    /// `scene_index[i]`: the scene index of training point `i`.
    pub scene_index: Vec<usize>,
}

/// The leave-one-out curve as the plot shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveView {
    /// The β axis: the β slider's range.
    pub beta_range: (f64, f64),
    pub betas: Vec<f64>,
    /// Accuracy at each β over the left-out points done so far.
    pub accuracy: Option<Vec<f64>>,
    /// Left-out points done, planned, and in the training set.
    pub done: usize,
    pub planned: usize,
    pub population: usize,
    pub hard: bool,
    pub setting: String,
    /// The reason no curve is computed, if none is.
    pub skipped: Option<String>,
}

impl CurveView {
    fn empty(beta_range: (f64, f64)) -> CurveView {
        CurveView {
            beta_range,
            betas: Vec::new(),
            accuracy: None,
            done: 0,
            planned: 0,
            population: 0,
            hard: false,
            setting: String::new(),
            skipped: None,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.accuracy.is_some() && self.done == self.planned
    }
}

/// Jobs and flags, kept outside the reactive graph.
#[derive(Default)]
struct Jobs {
    points: Option<PointMeasuresJob>,
    curve: Option<(LooCurveJob, CurveView)>,
    points_stale: bool,
    curve_stale: bool,
    /// A frame or a quiet-time timeout is pending.
    frame_requested: bool,
    curve_published_at: f64,
    /// When an input or a new map last arrived, in ms from the page's time origin.
    last_change_ms: f64,
}

/// Handle to the measures jobs and the signals that show their results.
#[derive(Clone, Copy)]
pub struct MeasuresRunner {
    jobs: StoredValue<Jobs, LocalStorage>,
    scene_index: StoredValue<Vec<usize>, LocalStorage>,
    pub points: RwSignal<Option<PointsView>>,
    /// False from a change of scene or parameters until the measures for the
    /// new setting start: `points` then still shows the previous setting.
    pub points_current: RwSignal<bool>,
    pub curve: RwSignal<CurveView>,
    pub phase: RwSignal<Phase>,
}

impl MeasuresRunner {
    /// Creates the runner and the effects that restart its jobs when their inputs change.
    pub fn start(state: AppState, store: MapStore) -> MeasuresRunner {
        let hints = state.hints.get_untracked();
        let runner = MeasuresRunner {
            jobs: StoredValue::new_local(Jobs {
                points_stale: true,
                curve_stale: true,
                ..Jobs::default()
            }),
            scene_index: StoredValue::new_local(Vec::new()),
            points: RwSignal::new(None),
            points_current: RwSignal::new(false),
            curve: RwSignal::new(CurveView::empty((hints.beta_min, hints.beta_max))),
            phase: RwSignal::new(Phase::WaitingForMap),
        };

        // The current measures depend on everything the model uses.
        Effect::new(move |_| {
            state.scene.track();
            state.held_out.track();
            state.beta.track();
            state.gamma.track();
            state.k.track();
            state.hard.track();
            state.suppression.track();
            runner.jobs.update_value(|jobs| {
                jobs.points = None;
                jobs.points_stale = true;
                jobs.last_change_ms = now_ms();
            });
            if runner.points_current.get_untracked() {
                runner.points_current.set(false);
            }
            runner.request_frame(state, store);
        });
        // The curve spans the β range, so β itself only moves its marker.
        Effect::new(move |_| {
            state.scene.track();
            state.held_out.track();
            state.hints.track();
            state.gamma.track();
            state.k.track();
            state.hard.track();
            state.suppression.track();
            runner.jobs.update_value(|jobs| {
                jobs.curve = None;
                jobs.curve_stale = true;
                jobs.last_change_ms = now_ms();
            });
            runner.request_frame(state, store);
        });
        // The end of a gesture and a new map are the moments waiting jobs may start.
        Effect::new(move |_| {
            state.gesture.track();
            store.version.track();
            runner
                .jobs
                .update_value(|jobs| jobs.last_change_ms = now_ms());
            runner.request_frame(state, store);
        });
        runner
    }

    fn has_work(&self) -> bool {
        self.jobs.with_value(|jobs| {
            jobs.points_stale
                || jobs.curve_stale
                || jobs.points.as_ref().is_some_and(|job| !job.is_done())
                || jobs.curve.as_ref().is_some_and(|(job, _)| !job.is_done())
        })
    }

    fn request_frame(&self, state: AppState, store: MapStore) {
        if !self.has_work() {
            self.set_phase(Phase::Done);
            return;
        }
        if self.phase.get_untracked() == Phase::Done {
            self.set_phase(Phase::WaitingForMap);
        }
        let already = self.jobs.with_value(|jobs| jobs.frame_requested);
        if already {
            return;
        }
        self.jobs.update_value(|jobs| jobs.frame_requested = true);
        let runner = *self;
        let quiet_for = now_ms() - self.jobs.with_value(|jobs| jobs.last_change_ms);
        if quiet_for < QUIET_MS {
            let wait = Duration::from_millis((QUIET_MS - quiet_for).ceil() as u64);
            set_timeout(
                move || {
                    runner
                        .jobs
                        .update_value(|jobs| jobs.frame_requested = false);
                    runner.request_frame(state, store);
                },
                wait,
            );
            return;
        }
        request_animation_frame(move || runner.run_frame(state, store));
    }

    fn set_phase(&self, phase: Phase) {
        if self.phase.get_untracked() != phase {
            self.phase.set(phase);
        }
    }

    /// Spends one frame's budget on the jobs. While a gesture goes on or the
    /// map refines, it returns at once: the effect on the gesture flag and
    /// the map version requests the next frame.
    fn run_frame(&self, state: AppState, store: MapStore) {
        self.jobs.update_value(|jobs| jobs.frame_requested = false);
        if state.gesture.get_untracked() {
            self.set_phase(Phase::WaitingForGesture);
            return;
        }
        let map_settled =
            store.with_maps(|maps| maps.decision.is_none() || maps.resolution == FULL_RESOLUTION);
        if !map_settled {
            self.set_phase(Phase::WaitingForMap);
            return;
        }
        self.set_phase(Phase::Computing);

        let started = now_ms();
        let out_of_time = || now_ms() - started >= FRAME_BUDGET_MS;
        let points_stale = self.jobs.with_value(|jobs| jobs.points_stale);
        if points_stale {
            self.start_points(state);
        }
        self.run_points(out_of_time);
        if !out_of_time() {
            let curve_stale = self.jobs.with_value(|jobs| jobs.curve_stale);
            if curve_stale {
                self.start_curve(state);
            }
            self.run_curve(out_of_time);
        }
        self.request_frame(state, store);
    }

    fn start_points(&self, state: AppState) {
        self.jobs.update_value(|jobs| jobs.points_stale = false);
        self.points_current.set(true);
        let raw = state.raw_params_untracked();
        let suppression = state.suppression.get_untracked();
        let setting = describe_setting(raw, suppression);
        let split = match state.split_untracked() {
            Ok(split) => split,
            Err(error) => return self.publish_points_error(setting, error.to_string()),
        };

        let layers = raw.k.max(1) as f64;
        let per_point = TRACES_PER_POINT * split.training.len() as f64 * layers;
        let limit = affordable_queries(POINTS_WORK_BUDGET, per_point).max(MIN_POINT_SAMPLE);
        let limits = SampleLimits {
            leave_one_out: limit,
            points: limit,
        };
        let numbers: Vec<String> = split
            .scene_index
            .iter()
            .map(|index| (index + 1).to_string())
            .collect();
        self.scene_index.set_value(split.scene_index);
        let job = PointMeasuresJob::new(
            split.training,
            raw,
            suppression,
            split.test_points,
            split.test_labels,
            limits,
        )
        .map(|job| job.with_point_names(numbers));
        match job {
            Ok(job) => {
                self.publish_points(&job, setting.clone());
                self.jobs.update_value(|jobs| jobs.points = Some(job));
            }
            Err(error) => self.publish_points_error(setting, error.to_string()),
        }
    }

    fn run_points(&self, out_of_time: impl FnMut() -> bool) {
        let ran = self.jobs.try_update_value(|jobs| {
            let job = jobs.points.as_mut()?;
            if !job.is_done() {
                job.run_until(out_of_time);
            }
            Some(())
        });
        if ran.flatten().is_some() {
            let setting = self
                .points
                .with_untracked(|view| view.as_ref().map(|view| view.setting.clone()))
                .unwrap_or_default();
            self.jobs.with_value(|jobs| {
                if let Some(job) = jobs.points.as_ref() {
                    self.publish_points(job, setting);
                }
            });
        }
    }

    fn publish_points(&self, job: &PointMeasuresJob, setting: String) {
        let view = PointsView {
            setting,
            result: Ok(job.measures().clone()),
            complete: job.is_done(),
            scene_index: self.scene_index.get_value(),
        };
        self.points.set(Some(view));
    }

    fn publish_points_error(&self, setting: String, message: String) {
        self.points.set(Some(PointsView {
            setting,
            result: Err(message),
            complete: true,
            scene_index: Vec::new(),
        }));
    }

    fn start_curve(&self, state: AppState) {
        self.jobs.update_value(|jobs| jobs.curve_stale = false);
        let hints = state.hints.get_untracked();
        let beta_range = (hints.beta_min, hints.beta_max);
        let raw = state.raw_params_untracked();
        let suppression = state.suppression.get_untracked();
        let mut view = CurveView::empty(beta_range);
        view.hard = raw.hard;
        view.setting = describe_curve_setting(raw, suppression);

        let split = match state.split_untracked() {
            Ok(split) => split,
            Err(error) => {
                view.skipped = Some(format!("No curve: {error}."));
                self.curve.set(view);
                return;
            }
        };
        let n = split.training.len();
        let betas = log_spaced(beta_range.0, beta_range.1, CURVE_BETAS);
        let distinct = if raw.hard { 1.0 } else { CURVE_BETAS as f64 };
        let per_query = distinct * n as f64 * raw.k.max(1) as f64;
        let limit = affordable_queries(CURVE_WORK_BUDGET, per_query);
        if limit < MIN_CURVE_SAMPLE && limit < n {
            view.skipped = Some(format!(
                "Curve skipped: {n} training points with k = {} would take too long, even \
                 from {MIN_CURVE_SAMPLE} left-out points. Lower k or use fewer points.",
                raw.k
            ));
            self.curve.set(view);
            return;
        }

        view.betas = betas.clone();
        match LooCurveJob::new(split.training, raw, suppression, &betas, limit) {
            Ok(Some(job)) => {
                (view.done, view.planned) = job.progress();
                view.population = job.population();
                self.curve.set(view.clone());
                self.jobs.update_value(|jobs| {
                    jobs.curve = Some((job, view));
                    jobs.curve_published_at = now_ms();
                });
            }
            Ok(None) => {
                view.skipped =
                    Some("No curve: leave-one-out needs at least two training points.".into());
                self.curve.set(view);
            }
            Err(error) => {
                view.skipped = Some(format!("No curve: {error}."));
                self.curve.set(view);
            }
        }
    }

    fn run_curve(&self, out_of_time: impl FnMut() -> bool) {
        let now = now_ms();
        let due = self.jobs.try_update_value(|jobs| {
            let last = jobs.curve_published_at;
            let (job, view) = jobs.curve.as_mut()?;
            if job.is_done() {
                return None;
            }
            let done = job.run_until(out_of_time);
            if !done && now - last < CURVE_PUBLISH_MS {
                return None;
            }
            (view.done, view.planned) = job.progress();
            view.accuracy = job.curve();
            jobs.curve_published_at = now;
            Some(view.clone())
        });
        if let Some(Some(view)) = due {
            self.curve.set(view);
        }
    }
}
