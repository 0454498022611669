//! The app's state: one signal per setting, shared through context.

use std::time::Duration;

use leptos::prelude::*;
use nalgebra::Point2;

use crate::data::real::RealDataset;
use crate::data::scene::{ScaleHints, Scene};
use crate::data::synthetic::{self, SyntheticKind, SyntheticSpec};
use crate::measures::held_out_split;
use crate::model::{ParamError, RawParams, Suppression, TrainingSet};

/// The source of the scene's points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataChoice {
    Real(RealDataset),
    Synthetic(SyntheticKind),
    /// A CSV file the lecturer imported; it cannot be loaded again from here.
    Imported,
}

impl DataChoice {
    /// Returns a stable id for the data set menu: `iris`, `moons`, …
    pub fn id(self) -> &'static str {
        match self {
            DataChoice::Real(set) => set.name(),
            DataChoice::Synthetic(kind) => kind.name(),
            DataChoice::Imported => "imported",
        }
    }

    pub fn from_id(id: &str) -> Option<DataChoice> {
        RealDataset::from_name(id)
            .map(DataChoice::Real)
            .or_else(|| SyntheticKind::from_name(id).map(DataChoice::Synthetic))
    }

    pub fn is_synthetic(self) -> bool {
        matches!(self, DataChoice::Synthetic(_))
    }
}

/// The content of each layer's small map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StripMode {
    /// The layer's own vote `Y^T h^k`.
    #[default]
    Vote,
    /// The activation `h^k_n` of the selected training point.
    Activation,
    /// The running average of the votes of layers 1 … k.
    RunningAverage,
}

/// Seed of the held-out split, so the same share always holds out the same points.
pub const SPLIT_SEED: u64 = 7;

/// The scene cut into the points the model uses and the held-out test points.
#[derive(Clone, Debug)]
pub struct Split {
    /// The points the model uses as neighbours.
    pub training: TrainingSet,
    /// `scene_index[i]`: the scene index of training point `i`.
    pub scene_index: Vec<usize>,
    pub test_points: Vec<Point2<f64>>,
    pub test_labels: Vec<usize>,
}

impl Split {
    /// Returns the training index of scene point `scene_index`, if it is not held out.
    pub fn training_index(&self, scene_index: usize) -> Option<usize> {
        self.scene_index.iter().position(|&i| i == scene_index)
    }
}

/// Splits `scene` by `held_out` (one flag per point; missing flags count as kept).
pub fn split_scene(scene: &Scene, held_out: &[bool]) -> Result<Split, ParamError> {
    let mut points = Vec::new();
    let mut labels = Vec::new();
    let mut scene_index = Vec::new();
    let mut test_points = Vec::new();
    let mut test_labels = Vec::new();
    for (index, (&point, &label)) in scene.points.iter().zip(&scene.labels).enumerate() {
        if held_out.get(index).copied().unwrap_or(false) {
            test_points.push(point);
            test_labels.push(label);
        } else {
            points.push(point);
            labels.push(label);
            scene_index.push(index);
        }
    }
    let training = TrainingSet::new(points, labels, scene.class_count())?;
    Ok(Split {
        training,
        scene_index,
        test_points,
        test_labels,
    })
}

/// The largest k the slider offers: more layers than this add little to the
/// lesson and multiply the work of every redraw.
pub const K_SLIDER_MAX: usize = 30;

/// Every setting of the app as a signal; `Copy`, so handlers capture it freely.
#[derive(Clone, Copy)]
pub struct AppState {
    pub scene: RwSignal<Scene>,
    /// Slider ranges, set from the data's scale when a data set loads.
    pub hints: RwSignal<ScaleHints>,
    pub beta: RwSignal<f64>,
    pub gamma: RwSignal<f64>,
    pub k: RwSignal<usize>,
    pub hard: RwSignal<bool>,
    pub winner_only: RwSignal<bool>,
    /// Class given to points added by clicking.
    pub new_class: RwSignal<usize>,
    /// The point that keyboard commands act on, highlighted on the map.
    pub selected: RwSignal<Option<usize>>,
    /// True while a drag or slider move is going on: maps are drawn coarse.
    pub gesture: RwSignal<bool>,
    pub data_choice: RwSignal<DataChoice>,
    pub synthetic_spec: RwSignal<SyntheticSpec>,
    /// A message for the lecturer about the last action that failed, if any.
    pub notice: RwSignal<Option<String>>,
    /// The rule by which later layers keep away from points earlier layers picked.
    pub suppression: RwSignal<Suppression>,
    /// Share of the points held out as test points, in `[0, 0.9]`.
    pub held_out_share: RwSignal<f64>,
    /// One flag per scene point: `true` when it is held out. New points are kept.
    pub held_out: RwSignal<Vec<bool>>,
    /// The query the probe panel explains, in plane coordinates.
    pub probe: RwSignal<Option<Point2<f64>>>,
    /// When pinned, pointing at the map no longer moves the probe.
    pub probe_pinned: RwSignal<bool>,
    pub strip_mode: RwSignal<StripMode>,
    /// The layer (0-based) shown large in place of the decision map, if any.
    pub enlarged_layer: RwSignal<Option<usize>>,
    gesture_end: StoredValue<Option<TimeoutHandle>>,
}

impl AppState {
    pub fn new() -> AppState {
        let choice = DataChoice::Real(RealDataset::Iris);
        let spec = SyntheticSpec {
            seed: 1,
            size: 200,
            // Two classes suit moons, circles and XOR, the shapes that have a natural count.
            classes: 2,
            noise: 0.2,
        };
        let scene = load_scene(choice, &spec);
        let hints = scene.scale_hints();
        let scene_len = scene.points.len();
        AppState {
            beta: RwSignal::new(hints.beta_default),
            gamma: RwSignal::new(hints.gamma_default),
            k: RwSignal::new(5.min(scene.points.len()).max(1)),
            hints: RwSignal::new(hints),
            scene: RwSignal::new(scene),
            hard: RwSignal::new(false),
            winner_only: RwSignal::new(false),
            new_class: RwSignal::new(0),
            selected: RwSignal::new(None),
            gesture: RwSignal::new(false),
            data_choice: RwSignal::new(choice),
            synthetic_spec: RwSignal::new(spec),
            notice: RwSignal::new(None),
            suppression: RwSignal::new(Suppression::Additive),
            held_out_share: RwSignal::new(0.0),
            held_out: RwSignal::new(vec![false; scene_len]),
            probe: RwSignal::new(None),
            probe_pinned: RwSignal::new(false),
            strip_mode: RwSignal::new(StripMode::Vote),
            enlarged_layer: RwSignal::new(None),
            gesture_end: StoredValue::new(None),
        }
    }

    /// Returns the scene split into training and held-out points, tracking both signals.
    pub fn split(&self) -> Result<Split, ParamError> {
        let held_out = self.held_out.get();
        self.scene.with(|scene| split_scene(scene, &held_out))
    }

    /// Returns the split without tracking, for code outside reactive effects.
    pub fn split_untracked(&self) -> Result<Split, ParamError> {
        let held_out = self.held_out.get_untracked();
        self.scene
            .with_untracked(|scene| split_scene(scene, &held_out))
    }

    /// Draws a new held-out split of the scene's points at the current share.
    pub fn redraw_split(&self) {
        let n = self.scene.with_untracked(|scene| scene.points.len());
        let share = self.held_out_share.get_untracked();
        self.held_out.set(held_out_split(n, share, SPLIT_SEED));
    }

    /// Returns the parameters as the sliders set them, before the model checks them.
    pub fn raw_params(&self) -> RawParams {
        RawParams {
            beta: self.beta.get(),
            gamma: self.gamma.get(),
            k: self.k.get() as i64,
            hard: self.hard.get(),
        }
    }

    /// Returns the parameters without tracking, for code outside reactive effects.
    pub fn raw_params_untracked(&self) -> RawParams {
        RawParams {
            beta: self.beta.get_untracked(),
            gamma: self.gamma.get_untracked(),
            k: self.k.get_untracked() as i64,
            hard: self.hard.get_untracked(),
        }
    }

    /// Returns the k slider's upper end: the number of training points (held-out
    /// points are never neighbours), capped at [`K_SLIDER_MAX`].
    pub fn k_max(&self) -> usize {
        let points = self.scene.with(|scene| scene.points.len());
        let held_out = self
            .held_out
            .with(|flags| flags.iter().take(points).filter(|&&flag| flag).count());
        (points - held_out).clamp(1, K_SLIDER_MAX)
    }

    /// Loads the chosen data set; an imported scene stays as it is.
    pub fn load_data(&self) {
        let choice = self.data_choice.get_untracked();
        if choice == DataChoice::Imported {
            return;
        }
        self.set_scene(load_scene(choice, &self.synthetic_spec.get_untracked()));
    }

    /// Shows a new scene, resetting β and γ to its scale and clearing the selection.
    pub fn set_scene(&self, scene: Scene) {
        let hints = scene.scale_hints();
        let classes = scene.class_names.len();
        self.beta.set(hints.beta_default);
        self.gamma.set(hints.gamma_default);
        self.hints.set(hints);
        self.selected.set(None);
        self.new_class
            .update(|c| *c = (*c).min(classes.saturating_sub(1)));
        self.scene.set(scene);
        self.redraw_split();
        self.probe.set(None);
        self.probe_pinned.set(false);
        let k_max = self.k_max();
        self.k.update(|k| *k = (*k).clamp(1, k_max));
        self.notice.set(None);
    }

    /// Marks a gesture as going on; it ends `quiet` after the last call.
    ///
    /// Sliders end their gesture on `change` or `pointerup`, but Chromium sends
    /// neither when a pointer is released where the drag began, and the map's
    /// arrow keys send no end event at all. So a gesture also ends once input
    /// has been quiet for `quiet`.
    pub fn continue_gesture(&self, quiet: Duration) {
        if !self.gesture.get_untracked() {
            self.gesture.set(true);
        }
        if let Some(handle) = self.gesture_end.get_value() {
            handle.clear();
        }
        let gesture = self.gesture;
        let handle = set_timeout_with_handle(move || gesture.set(false), quiet).ok();
        self.gesture_end.set_value(handle);
    }

    /// Ends a gesture at once, for example when the pointer is released.
    pub fn end_gesture(&self) {
        if let Some(handle) = self.gesture_end.get_value() {
            handle.clear();
        }
        self.gesture_end.set_value(None);
        self.gesture.set(false);
    }
}

impl Default for AppState {
    fn default() -> Self {
        AppState::new()
    }
}

fn load_scene(choice: DataChoice, spec: &SyntheticSpec) -> Scene {
    match choice {
        DataChoice::Real(set) => set.load(),
        DataChoice::Synthetic(kind) => synthetic::generate(kind, spec),
        // Never reached: `load_data` keeps an imported scene as it is.
        DataChoice::Imported => RealDataset::Iris.load(),
    }
}
