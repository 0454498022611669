//! Web Workers that compute the full-resolution maps in parts, so that every
//! core works on them and the page's own thread stays free for input.
//!
//! Each job is cut into [`PARTS_PER_WORKER`] parts per worker, and an idle
//! worker takes the next part. A new job replaces the old one at once. Parts
//! of the old job still running finish, and their results are dropped by
//! their job id, except for the last cancelled job, which a submit of the
//! same request takes back. Because the parts are small, a new job waits at
//! most about one part's compute for a busy worker. The message format is described in the
//! worker's source, `src/bin/map_worker.rs`.

use std::collections::VecDeque;

use js_sys::{Array, Float32Array, Float64Array};
use leptos::prelude::window;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, Event, MessageEvent, Worker};

use crate::engine::MapOutput;
use crate::map_job::{JobPart, MapRequest, RowBlock, RowShare};

/// The worker's loader script, which Trunk copies next to `index.html`.
const WORKER_SCRIPT: &str = "./map_worker_loader.js";
/// Upper bound on workers: the maps gain little from more, and each one has its own wasm memory.
const MAX_WORKERS: usize = 4;
/// Parts per worker in each job: more parts shorten the wait behind a
/// stale part, fewer save the per-part set-up. With 10,000 points and 4 parts
/// per worker, a drag step right after the workers started took 37–39 ms
/// (p95) on 2 cores, and 30 ms with 12 parts. The time to the full map stayed the same.
const PARTS_PER_WORKER: usize = 12;
/// Length of a result message: job, part, compute ms and six arrays.
const RESULT_LEN: u32 = 9;

/// The state of one worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    /// Loading its script and wasm; it takes no part before it reports ready.
    Starting,
    Idle,
    Busy {
        job: u32,
        part: usize,
    },
    /// It reported an error and was terminated.
    Failed,
}

struct Slot {
    worker: Worker,
    state: SlotState,
    // The handlers must live as long as the worker.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

/// The job the workers are computing.
struct PoolJob {
    id: u32,
    request: MapRequest,
    shares: Vec<RowShare>,
    /// Parts not yet sent to a worker.
    queue: VecDeque<usize>,
    received: Vec<bool>,
    decision: MapOutput,
    layers: MapOutput,
    started_ms: f64,
}

/// The action the caller must take after a message or an error from a worker.
pub enum Outcome {
    Nothing,
    /// Every part of the current job is in.
    Finished {
        decision: MapOutput,
        layers: MapOutput,
        /// Milliseconds from [`WorkerPool::submit`] to the last part.
        elapsed_ms: f64,
    },
    /// The workers cannot finish the current job, so the page must compute it.
    Fallback(MapRequest),
}

/// The workers and the job they are computing.
pub struct WorkerPool {
    slots: Vec<Slot>,
    job: Option<PoolJob>,
    /// The last job cancelled: its results are still stored, and a submit of
    /// the same request takes it back instead of starting again.
    cancelled: Option<PoolJob>,
    next_id: u32,
}

impl WorkerPool {
    /// Starts one worker per core, at most [`MAX_WORKERS`].
    ///
    /// `on_message(slot, data)` and `on_error(slot)` receive every message and
    /// error of worker `slot`, and must pass them to [`WorkerPool::receive`]
    /// and [`WorkerPool::fail`]. A worker that cannot be created is left out,
    /// so the pool may be empty.
    pub fn start(
        on_message: impl Fn(usize, JsValue) + Clone + 'static,
        on_error: impl Fn(usize) + Clone + 'static,
    ) -> WorkerPool {
        let cores = window().navigator().hardware_concurrency();
        let count = (cores as usize).clamp(1, MAX_WORKERS);
        let mut slots = Vec::with_capacity(count);
        for index in 0..count {
            let worker = match Worker::new(WORKER_SCRIPT) {
                Ok(worker) => worker,
                Err(error) => {
                    log::warn!("map worker {index} could not start ({error:?}); maps are computed in the page");
                    break;
                }
            };
            let slot = slots.len();
            let handle_message = on_message.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                handle_message(slot, event.data())
            });
            let handle_error = on_error.clone();
            let on_error = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                // A script error comes as an ErrorEvent; a script that cannot load, as a plain Event.
                match event.dyn_ref::<ErrorEvent>() {
                    Some(error) => log::error!("map worker {slot} failed: {}", error.message()),
                    None => log::error!("map worker {slot} failed: its script could not be loaded"),
                }
                handle_error(slot)
            });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            slots.push(Slot {
                worker,
                state: SlotState::Starting,
                _on_message: on_message,
                _on_error: on_error,
            });
        }
        WorkerPool {
            slots,
            job: None,
            cancelled: None,
            next_id: 0,
        }
    }

    /// Starts computing `request` for a model of `layers` layers, replacing any earlier job.
    ///
    /// Returns the request back when no worker has reported ready yet, so that
    /// the caller computes it in the page.
    pub fn submit(
        &mut self,
        request: MapRequest,
        layers: usize,
        now_ms: f64,
    ) -> Result<(), Box<MapRequest>> {
        self.cancel();
        // The maps are invalidated again on unchanged inputs, for example when
        // both a pointerup and a change event end one slider gesture, so an
        // unfinished job for the same request keeps the parts it has. A
        // finished one would wait for no more messages, so it starts again.
        if let Some(previous) = self.cancelled.take() {
            let unfinished = previous.received.iter().any(|&received| !received);
            if unfinished && previous.request == request {
                self.job = Some(previous);
                self.dispatch();
                return match self.any_alive() {
                    true => Ok(()),
                    false => Err(Box::new(self.job.take().expect("set above").request)),
                };
            }
        }
        let ready = self
            .slots
            .iter()
            .filter(|slot| matches!(slot.state, SlotState::Idle | SlotState::Busy { .. }))
            .count();
        if ready == 0 {
            return Err(Box::new(request));
        }

        let shares = request.shares(ready * PARTS_PER_WORKER);
        let (decision, layer_maps) = request.empty_maps(layers);
        self.next_id = self.next_id.wrapping_add(1);
        self.job = Some(PoolJob {
            id: self.next_id,
            queue: (0..shares.len()).collect(),
            received: vec![false; shares.len()],
            shares,
            request,
            decision,
            layers: layer_maps,
            started_ms: now_ms,
        });
        self.dispatch();
        if !self.any_alive() {
            let job = self.job.take().expect("set above");
            return Err(Box::new(job.request));
        }
        Ok(())
    }

    /// Stops the current job: no part of it is sent or published until a
    /// submit of the same request takes it back.
    pub fn cancel(&mut self) {
        if let Some(job) = self.job.take() {
            self.cancelled = Some(job);
        }
    }

    /// Handles a message from worker `slot`: "ready", a part's result or a part's error.
    pub fn receive(&mut self, slot: usize, data: JsValue, now_ms: f64) -> Outcome {
        let Some(state) = self.slots.get(slot).map(|s| s.state) else {
            return Outcome::Nothing;
        };
        if state == SlotState::Failed {
            return Outcome::Nothing;
        }
        if data.as_string().as_deref() == Some("ready") {
            log::info!("map worker {slot} is ready");
            self.slots[slot].state = SlotState::Idle;
            self.dispatch();
            return Outcome::Nothing;
        }
        let Some(message) = data.dyn_ref::<Array>() else {
            log::error!("map worker {slot} sent an unknown message: {data:?}");
            return Outcome::Nothing;
        };
        self.slots[slot].state = SlotState::Idle;

        let job = message.get(0).as_f64();
        let part = message.get(1).as_f64().map(|part| part as usize);
        let current = self.job.as_ref().map(|job| job.id as f64);
        let cancelled = self.cancelled.as_ref().map(|job| job.id as f64);
        let outcome = if job.is_some() && job == cancelled {
            if message.length() != RESULT_LEN {
                let error = message.get(2).as_string().unwrap_or_default();
                log::error!(
                    "map worker {slot} could not compute part {part:?} of a cancelled job: {error}"
                );
                self.cancelled = None;
            } else if let Some(cancelled) = self.cancelled.as_mut() {
                if let Err(error) = cancelled.store_part(part, message) {
                    log::error!("map worker {slot} returned an unusable part {part:?}: {error}");
                    self.cancelled = None;
                }
            }
            Outcome::Nothing
        } else if job.is_none() || job != current {
            // A part of a job that was replaced since.
            Outcome::Nothing
        } else if message.length() != RESULT_LEN {
            let error = message.get(2).as_string().unwrap_or_default();
            log::error!("map worker {slot} could not compute part {part:?}: {error}");
            self.fall_back()
        } else {
            let stored = self
                .job
                .as_mut()
                .map_or(Err("no current job".to_string()), |job| {
                    job.store_part(part, message)
                });
            match stored {
                Ok(()) => Outcome::Nothing,
                Err(error) => {
                    log::error!("map worker {slot} returned an unusable part {part:?}: {error}");
                    self.fall_back()
                }
            }
        };
        self.dispatch();
        if !matches!(outcome, Outcome::Nothing) {
            return outcome;
        }
        if !self.any_alive() {
            return self.fall_back();
        }
        let finished = self
            .job
            .as_ref()
            .is_some_and(|job| job.received.iter().all(|&received| received));
        if !finished {
            return Outcome::Nothing;
        }
        let job = self.job.take().expect("checked above");
        Outcome::Finished {
            decision: job.decision,
            layers: job.layers,
            elapsed_ms: now_ms - job.started_ms,
        }
    }

    /// Terminates worker `slot` after an error; its part goes to another worker.
    pub fn fail(&mut self, slot: usize) -> Outcome {
        let Some(entry) = self.slots.get_mut(slot) else {
            return Outcome::Nothing;
        };
        let state = entry.state;
        entry.state = SlotState::Failed;
        entry.worker.terminate();
        if let SlotState::Busy { job, part } = state {
            for owner in [self.job.as_mut(), self.cancelled.as_mut()]
                .into_iter()
                .flatten()
            {
                if owner.id == job {
                    owner.queue.push_front(part);
                }
            }
        }
        self.dispatch();
        if !self.any_alive() {
            log::warn!("no map worker is left; maps are computed in the page");
            return self.fall_back();
        }
        Outcome::Nothing
    }

    fn any_alive(&self) -> bool {
        self.slots
            .iter()
            .any(|slot| slot.state != SlotState::Failed)
    }

    /// Drops the current job and hands its request to the page.
    fn fall_back(&mut self) -> Outcome {
        match self.job.take() {
            Some(job) => Outcome::Fallback(job.request),
            None => Outcome::Nothing,
        }
    }

    /// Sends queued parts of the current job to idle workers.
    fn dispatch(&mut self) {
        let Some(job) = self.job.as_mut() else {
            return;
        };
        for slot in self.slots.iter_mut() {
            if slot.state != SlotState::Idle {
                continue;
            }
            let Some(part) = job.queue.pop_front() else {
                return;
            };
            let packed = JobPart {
                job: job.id,
                part: part as u32,
                request: job.request.clone(),
                rows: job.shares[part].clone(),
            }
            .encode();
            let array = Float64Array::from(packed.as_slice());
            let transfer = Array::of1(&array.buffer());
            match slot.worker.post_message_with_transfer(&array, &transfer) {
                Ok(()) => slot.state = SlotState::Busy { job: job.id, part },
                Err(error) => {
                    // The part stays queued; the worker's error handler is not
                    // called for this, so mark the worker failed here.
                    log::error!("posting a map part to a worker failed: {error:?}");
                    job.queue.push_front(part);
                    slot.state = SlotState::Failed;
                    slot.worker.terminate();
                }
            }
        }
    }
}

impl PoolJob {
    /// Copies a result's six arrays into the job's maps.
    fn store_part(&mut self, part: Option<usize>, message: &Array) -> Result<(), String> {
        let part = part
            .filter(|&part| part < self.shares.len())
            .ok_or("part index out of range")?;
        if self.received[part] {
            return Ok(());
        }
        let arrays: Vec<Vec<f32>> = (3..RESULT_LEN)
            .map(|index| {
                message
                    .get(index)
                    .dyn_into::<Float32Array>()
                    .map(|array| array.to_vec())
                    .map_err(|_| format!("item {index} is not a Float32Array"))
            })
            .collect::<Result<_, _>>()?;

        let [decision_output, decision_votes, decision_activations, layer_output, layer_votes, layer_activations]: [Vec<f32>; 6] =
            arrays.try_into().map_err(|_| "wrong number of arrays")?;

        let share = &self.shares[part];
        RowBlock {
            output: decision_output,
            layer_votes: decision_votes,
            activations: decision_activations,
        }
        .insert_into(&mut self.decision, share.decision.clone())
        .map_err(|error| error.to_string())?;

        RowBlock {
            output: layer_output,
            layer_votes,
            activations: layer_activations,
        }
        .insert_into(&mut self.layers, share.layers.clone())
        .map_err(|error| error.to_string())?;

        self.received[part] = true;
        Ok(())
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for slot in &self.slots {
            slot.worker.terminate();
        }
    }
}
