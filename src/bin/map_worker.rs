//! The Web Worker that computes parts of the full-resolution maps for the web
//! app. Trunk builds it next to the app (see `index.html`), and the page
//! starts it through `map_worker_loader.js`.
//!
//! Messages:
//! - to the page, once it listens: the string `"ready"`;
//! - from the page: a `Float64Array` holding a [`JobPart`] packed by
//!   [`JobPart::encode`];
//! - to the page, for each part: `[job, part, compute ms, decision ŷ,
//!   decision votes, decision activations, layer ŷ, layer votes, layer
//!   activations]`, the last six as `Float32Array`s of the part's rows (see
//!   [`RowBlock`](softknn::map_job::RowBlock)), or `[job, part, error
//!   message]` when the part cannot be computed.
//!
//! The worker keeps one [`FastEngine`], so its prepared training points are
//! reused while they do not change.

#[cfg(target_arch = "wasm32")]
fn main() {
    worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("map-worker runs as a Web Worker of the web app: build it with `trunk build --release` (see README.md)");
    std::process::exit(2);
}

#[cfg(target_arch = "wasm32")]
mod worker {
    use std::cell::RefCell;

    use js_sys::{Array, Float32Array, Float64Array};
    use softknn::engine::FastEngine;
    use softknn::map_job::{warm_up, JobPart, RowBlock};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    thread_local! {
        static ENGINE: RefCell<FastEngine> = RefCell::new(FastEngine::default());
    }

    /// Warms the engine up, installs the message handler and posts "ready" to the page.
    pub fn start() {
        console_error_panic_hook::set_once();
        ENGINE.with_borrow_mut(warm_up);
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let handler = Closure::<dyn FnMut(MessageEvent)>::new(on_message);
        scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        // The handler must live as long as the worker.
        handler.forget();
        if let Err(error) = scope.post_message(&JsValue::from_str("ready")) {
            web_sys::console::error_2(&"map-worker: posting ready failed".into(), &error);
        }
    }

    fn on_message(event: MessageEvent) {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let Some(packed) = event
            .data()
            .dyn_ref::<Float64Array>()
            .map(Float64Array::to_vec)
        else {
            web_sys::console::error_2(
                &"map-worker: expected a Float64Array, got".into(),
                &event.data(),
            );
            return;
        };
        // The ids come first, so an error can name its part even if the rest is invalid.
        let job = packed.get(1).copied().unwrap_or(-1.0);
        let part = packed.get(2).copied().unwrap_or(-1.0);

        let started = now_ms(&scope);
        let result = JobPart::decode(&packed)
            .map_err(|error| error.to_string())
            .and_then(|part| {
                ENGINE
                    .with_borrow_mut(|engine| part.request.compute_part(engine, &part.rows))
                    .map_err(|error| error.to_string())
            });
        let compute_ms = now_ms(&scope) - started;

        let message = Array::new();
        message.push(&job.into());
        message.push(&part.into());
        let transfer = Array::new();
        match result {
            Ok(result) => {
                message.push(&compute_ms.into());
                for block in [&result.decision, &result.layers] {
                    for values in block_arrays(block) {
                        transfer.push(&values.buffer());
                        message.push(&values);
                    }
                }
            }
            Err(error) => {
                message.push(&JsValue::from_str(&error));
            }
        }
        if let Err(error) = scope.post_message_with_transfer(&message, &transfer) {
            web_sys::console::error_2(&"map-worker: posting a result failed".into(), &error);
        }
    }

    fn block_arrays(block: &RowBlock) -> [Float32Array; 3] {
        [&block.output, &block.layer_votes, &block.activations].map(|values| {
            let array = Float32Array::new_with_length(values.len() as u32);
            array.copy_from(values);
            array
        })
    }

    fn now_ms(scope: &DedicatedWorkerGlobalScope) -> f64 {
        scope
            .performance()
            .map(|performance| performance.now())
            .unwrap_or(0.0)
    }
}
