//! Computing the maps: a coarse pass within one frame after every change, then
//! the full resolution spread over later frames once the gesture stops.
//!
//! Every input (a drag step, a slider step) marks the maps stale. The first
//! input of a frame is handled at once, in the same task, so the next paint
//! shows its result. That task computes and draws a coarse decision map,
//! sized from the measured cost so that it fits the frame budget. Further inputs in the same
//! frame are gathered and handled in the next animation frame. When no
//! gesture is going on, the full-resolution maps follow: Web Workers compute
//! them in parts on every core (see [`worker_pool`]), and the page draws them
//! once all parts are in. Until a worker has loaded, or if none can run, a
//! [`FineJob`] computes them in the page a few rows per frame instead, so no
//! frame blocks the page for long.

mod worker_pool;

use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use super::state::{AppState, StripMode};
use crate::data::scene::DOMAIN;
use crate::engine::{FastEngine, Grid, MapEngine, MapOutput};
use crate::map_job::MapRequest;
use worker_pool::{Outcome, WorkerPool};

/// Cells per side of the decision map at full resolution.
pub const FULL_RESOLUTION: usize = 200;
/// Cells per side of each layer map at full resolution.
pub const LAYER_RESOLUTION: usize = 64;
/// Coarse maps never go below this many cells per side.
const COARSE_MIN: usize = 16;
/// Compute time for the coarse pass that follows an input. With drawing and
/// the layer strip it stays within one 16 ms frame.
const COARSE_BUDGET_MS: f64 = 4.0;
/// Compute time per frame for the full-resolution job, leaving the rest of
/// the frame to the browser.
const FINE_BUDGET_MS: f64 = 10.0;
/// Passes shorter than this do not update the cost estimate.
const MIN_TIMED_PASS_MS: f64 = 0.3;
/// Cost estimate before the first measurement, in ns per cell·point·layer.
const INITIAL_NS_PER_UNIT: f64 = 15.0;
/// A gesture whose input has paused this long gets its full-resolution maps
/// started in the workers. When a lecturer stops a drag before releasing, the
/// full map then appears soon after the release, or already before it.
const SPECULATE_AFTER: Duration = Duration::from_millis(60);

/// The maps on screen and how they were made.
#[derive(Default)]
pub struct Maps {
    /// `ŷ` over the plane.
    pub decision: Option<MapOutput>,
    /// Each layer's vote `Y^T h^k` over the plane.
    pub layers: Option<MapOutput>,
    /// Cells per side of the decision map on screen.
    pub resolution: usize,
    /// Milliseconds of the last coarse pass, or of the whole full-resolution
    /// job: its compute time in the page, or the time from posting it to the
    /// workers until the last part came back.
    pub compute_ms: f64,
}

/// Full-resolution maps under construction in the page, for one fixed scene and parameters.
struct FineJob {
    request: MapRequest,
    decision: MapOutput,
    layers: MapOutput,
    decision_rows_done: usize,
    layer_rows_done: usize,
    compute_ms: f64,
}

/// The scheduler's own state, kept outside the reactive graph.
struct Scheduler {
    engine: FastEngine,
    frame_requested: bool,
    /// A coarse pass already ran since the last animation frame began.
    answered_this_frame: bool,
    stale: bool,
    job: Option<FineJob>,
    ns_per_unit: f64,
    /// The inputs of the maps on screen, at full-resolution grids whatever the
    /// resolution drawn; `None` when no map is shown.
    shown_inputs: Option<MapRequest>,
    /// The inputs of the full-resolution job in progress, if any.
    pending_full: Option<MapRequest>,
    /// The inputs of the maps on screen when they are at full resolution.
    full_inputs: Option<MapRequest>,
    /// Counts coarse passes, so a delayed speculative start can tell whether
    /// its inputs are still the latest.
    coarse_serial: u64,
}

/// Handle to the maps and their scheduler; `version` changes when new maps are ready.
#[derive(Clone, Copy)]
pub struct MapStore {
    maps: StoredValue<Maps, LocalStorage>,
    scheduler: StoredValue<Scheduler, LocalStorage>,
    /// Draws the decision map; called in the same task as the computation so
    /// that map and points reach the screen in the same frame.
    drawer: StoredValue<Option<Box<dyn Fn()>>, LocalStorage>,
    /// The map workers; `None` until the first change starts them.
    pool: StoredValue<Option<WorkerPool>, LocalStorage>,
    pub version: RwSignal<u64>,
}

impl MapStore {
    pub fn new() -> MapStore {
        MapStore {
            maps: StoredValue::new_local(Maps::default()),
            scheduler: StoredValue::new_local(Scheduler {
                engine: FastEngine::default(),
                frame_requested: false,
                answered_this_frame: false,
                stale: true,
                job: None,
                ns_per_unit: INITIAL_NS_PER_UNIT,
                shown_inputs: None,
                pending_full: None,
                full_inputs: None,
                coarse_serial: 0,
            }),
            version: RwSignal::new(0),
            drawer: StoredValue::new_local(None),
            pool: StoredValue::new_local(None),
        }
    }

    /// Registers the function that draws the decision map.
    pub fn set_drawer(&self, draw: impl Fn() + 'static) {
        self.drawer.set_value(Some(Box::new(draw)));
    }

    fn draw_now(&self) {
        self.drawer.with_value(|drawer| {
            if let Some(draw) = drawer {
                draw();
            }
        });
    }

    /// Runs `f` on the maps currently on screen.
    pub fn with_maps<R>(&self, f: impl FnOnce(&Maps) -> R) -> R {
        self.maps.with_value(f)
    }

    /// Marks the maps stale after a change, computes a coarse map unless one
    /// was computed in this frame already, and requests an animation frame.
    pub fn invalidate(&self, state: AppState) {
        self.start_workers(state);
        self.scheduler.update_value(|s| {
            s.stale = true;
            s.job = None;
        });
        self.pool.update_value(|pool| {
            if let Some(pool) = pool {
                pool.cancel();
            }
        });
        let answered = self.scheduler.with_value(|s| s.answered_this_frame);
        if !answered {
            self.scheduler
                .update_value(|s| s.answered_this_frame = true);
            self.coarse_pass(state);
        }
        self.request_frame(state);
    }

    fn request_frame(&self, state: AppState) {
        let already = self.scheduler.with_value(|s| s.frame_requested);
        if already {
            return;
        }
        self.scheduler.update_value(|s| s.frame_requested = true);
        let store = *self;
        request_animation_frame(move || store.run_frame(state));
    }

    fn run_frame(&self, state: AppState) {
        self.scheduler.update_value(|s| {
            s.frame_requested = false;
            s.answered_this_frame = false;
        });
        let stale = self.scheduler.with_value(|s| s.stale);
        if stale {
            self.coarse_pass(state);
        } else {
            self.continue_fine_job();
        }
        let more = self.scheduler.with_value(|s| s.job.is_some());
        if more {
            self.request_frame(state);
        }
    }

    /// Computes a decision map that fits the frame budget, with its layer maps.
    fn coarse_pass(&self, state: AppState) {
        self.scheduler.update_value(|s| s.stale = false);
        let raw = state.raw_params_untracked();
        let suppression = state.suppression.get_untracked();
        let split = match state.split_untracked() {
            Ok(split) => split,
            Err(error) => return self.publish_failure(state, &error.to_string()),
        };
        // Only the activation mode of the layer strip shows a point's
        // activation, so other modes do not pay for computing it.
        let focus = (state.strip_mode.get_untracked() == StripMode::Activation)
            .then(|| state.selected.get_untracked())
            .flatten()
            .and_then(|index| split.training_index(index));
        let request = MapRequest {
            training: split.training,
            raw,
            suppression,
            focus,
            decision_grid: Grid::square(DOMAIN, FULL_RESOLUTION),
            layer_grid: Grid::square(DOMAIN, LAYER_RESOLUTION),
        };
        let model = match request.model() {
            Ok(model) => model,
            Err(error) => return self.publish_failure(state, &error.to_string()),
        };
        let training = model.training();
        let layers = model.params().layers();

        // When a gesture ends, the coarse map of its last step is on screen
        // already, so only the full resolution is due.
        let gesture = state.gesture.get_untracked();
        let (on_screen, full_on_screen) = self.scheduler.with_value(|s| {
            (
                s.shown_inputs.as_ref() == Some(&request),
                s.full_inputs.as_ref() == Some(&request),
            )
        });
        if on_screen && !gesture {
            // A speculative job may have finished during the gesture already.
            if !full_on_screen {
                self.start_full_resolution(request, layers);
            }
            return;
        }

        let units_per_cell = (training.len() * layers) as f64;
        let ns_per_unit = self.scheduler.with_value(|s| s.ns_per_unit);
        let affordable_cells = COARSE_BUDGET_MS * 1e6 / (ns_per_unit * units_per_cell);
        let resolution = (affordable_cells.sqrt() as usize).clamp(COARSE_MIN, FULL_RESOLUTION);

        let grid = Grid::square(DOMAIN, resolution);
        let mut map = MapOutput::new(grid, training.classes(), layers, true).with_focus(focus);
        let started = now_ms();
        self.scheduler
            .update_value(|s| s.engine.evaluate(&model, &mut map));
        let elapsed = now_ms() - started;
        self.record_cost(elapsed, grid.cells() as f64 * units_per_cell);
        log::debug!("coarse map {resolution}x{resolution} in {elapsed:.1} ms");

        let full = resolution == FULL_RESOLUTION;
        self.maps.update_value(|maps| {
            maps.decision = Some(map.clone());
            maps.layers = Some(map);
            maps.resolution = resolution;
            maps.compute_ms = elapsed;
        });
        self.draw_now();
        self.version.update(|v| *v += 1);
        let shown = request.clone();
        let serial = self.scheduler.try_update_value(|s| {
            s.shown_inputs = Some(shown);
            s.full_inputs = None;
            s.coarse_serial += 1;
            s.coarse_serial
        });

        if full {
            self.scheduler
                .update_value(|s| s.full_inputs = Some(request));
        } else if !gesture {
            self.start_full_resolution(request, layers);
        } else if let Some(serial) = serial {
            self.speculate(state, serial, request, layers);
        }
    }

    /// Starts the full-resolution maps in the workers if the gesture's input
    /// stays still for [`SPECULATE_AFTER`]. The next input cancels the job,
    /// and the end of the gesture resumes it if the inputs did not change.
    fn speculate(&self, state: AppState, serial: u64, request: MapRequest, layers: usize) {
        let store = *self;
        set_timeout(
            move || {
                let latest = store.scheduler.with_value(|s| s.coarse_serial == serial);
                let workers = store.pool.with_value(|pool| pool.is_some());
                if latest && workers && state.gesture.get_untracked() {
                    store.start_full_resolution(request, layers);
                }
            },
            SPECULATE_AFTER,
        );
    }

    /// Sends `request` to the map workers, or computes it in the page if none is ready.
    fn start_full_resolution(&self, request: MapRequest, layers: usize) {
        let pending = request.clone();
        self.scheduler
            .update_value(|s| s.pending_full = Some(pending));
        let submitted = self.pool.try_update_value(|pool| match pool {
            Some(pool) => pool.submit(request, layers, now_ms()),
            None => Err(Box::new(request)),
        });
        if let Some(Err(request)) = submitted {
            self.start_fine_job(*request, layers);
        }
    }

    /// Starts computing `request` in the page, a few rows per animation frame.
    fn start_fine_job(&self, request: MapRequest, layers: usize) {
        let (decision, layer_maps) = request.empty_maps(layers);
        let job = FineJob {
            request,
            decision,
            layers: layer_maps,
            decision_rows_done: 0,
            layer_rows_done: 0,
            compute_ms: 0.0,
        };
        self.scheduler.update_value(|s| s.job = Some(job));
    }

    /// Starts the map workers once; their messages and errors come back to this store.
    fn start_workers(&self, state: AppState) {
        if self.pool.with_value(Option::is_some) {
            return;
        }
        let store = *self;
        let pool = WorkerPool::start(
            move |slot, data| store.on_worker_message(state, slot, data),
            move |slot| store.on_worker_error(state, slot),
        );
        self.pool.set_value(Some(pool));
    }

    fn on_worker_message(&self, state: AppState, slot: usize, data: JsValue) {
        let outcome = self
            .pool
            .try_update_value(|pool| pool.as_mut().map(|pool| pool.receive(slot, data, now_ms())));
        if let Some(Some(outcome)) = outcome {
            self.apply_outcome(state, outcome);
        }
    }

    fn on_worker_error(&self, state: AppState, slot: usize) {
        let outcome = self
            .pool
            .try_update_value(|pool| pool.as_mut().map(|pool| pool.fail(slot)));
        if let Some(Some(outcome)) = outcome {
            self.apply_outcome(state, outcome);
        }
    }

    fn apply_outcome(&self, state: AppState, outcome: Outcome) {
        match outcome {
            Outcome::Nothing => {}
            Outcome::Finished {
                decision,
                layers,
                elapsed_ms,
            } => {
                log::debug!("full-resolution maps from the workers in {elapsed_ms:.1} ms");
                self.publish_full_resolution(decision, layers, elapsed_ms);
            }
            Outcome::Fallback(request) => {
                let layers = match request.model() {
                    Ok(model) => model.params().layers(),
                    Err(error) => return self.publish_failure(state, &error.to_string()),
                };
                self.start_fine_job(request, layers);
                self.request_frame(state);
            }
        }
    }

    /// Computes rows of the full-resolution maps until the frame budget is spent.
    fn continue_fine_job(&self) {
        let finished = self.scheduler.try_update_value(|s| {
            let job = s.job.as_mut()?;
            let Ok(model) = job.request.model() else {
                s.job = None;
                return None;
            };
            let started = now_ms();
            while now_ms() - started < FINE_BUDGET_MS {
                if job.layer_rows_done < LAYER_RESOLUTION {
                    let rows = job.layer_rows_done..job.layer_rows_done + 4;
                    s.engine
                        .evaluate_rows(&model, &mut job.layers, rows.clone());
                    job.layer_rows_done = rows.end;
                } else if job.decision_rows_done < FULL_RESOLUTION {
                    let rows =
                        job.decision_rows_done..(job.decision_rows_done + 4).min(FULL_RESOLUTION);
                    s.engine
                        .evaluate_rows(&model, &mut job.decision, rows.clone());
                    job.decision_rows_done = rows.end;
                } else {
                    break;
                }
            }
            job.compute_ms += now_ms() - started;
            let done = job.decision_rows_done >= FULL_RESOLUTION
                && job.layer_rows_done >= LAYER_RESOLUTION;
            if done {
                s.job.take()
            } else {
                None
            }
        });

        if let Some(Some(job)) = finished {
            log::debug!(
                "full-resolution maps in {:.1} ms of compute",
                job.compute_ms
            );
            self.publish_full_resolution(job.decision, job.layers, job.compute_ms);
        }
    }

    fn publish_full_resolution(&self, decision: MapOutput, layers: MapOutput, compute_ms: f64) {
        self.scheduler
            .update_value(|s| s.full_inputs = s.pending_full.take());
        self.maps.update_value(|maps| {
            maps.decision = Some(decision);
            maps.layers = Some(layers);
            maps.resolution = FULL_RESOLUTION;
            maps.compute_ms = compute_ms;
        });
        self.draw_now();
        self.version.update(|v| *v += 1);
    }

    fn record_cost(&self, elapsed_ms: f64, units: f64) {
        // Chromium rounds performance.now() to 0.1 ms on pages that are not
        // cross-origin isolated, so shorter passes measure the rounding more
        // than the work. A cheap scene whose passes all stay shorter keeps
        // the first, cautious estimate, and with it a needlessly coarse map.
        if elapsed_ms >= MIN_TIMED_PASS_MS {
            let measured = elapsed_ms * 1e6 / units;
            self.scheduler
                .update_value(|s| s.ns_per_unit = 0.5 * s.ns_per_unit + 0.5 * measured);
        }
    }

    fn publish_failure(&self, state: AppState, message: &str) {
        state.notice.set(Some(message.to_string()));
        self.scheduler.update_value(|s| {
            s.shown_inputs = None;
            s.full_inputs = None;
        });
        self.maps.update_value(|maps| {
            maps.decision = None;
            maps.layers = None;
        });
        self.draw_now();
        self.version.update(|v| *v += 1);
    }
}

impl Default for MapStore {
    fn default() -> Self {
        MapStore::new()
    }
}

/// Milliseconds from the page's time origin, or 0 where no clock is available.
pub fn now_ms() -> f64 {
    window()
        .performance()
        .map(|performance| performance.now())
        .unwrap_or(0.0)
}
