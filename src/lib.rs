//! Soft k-NN Playground: k-nearest-neighbours built as a stack of soft layers.
//!
//! Layer k gives every training point the activation
//! `h^k = softmax(−β (d + γ Σ_{k'<k} h^{k'}))`, votes with `Y^T h^k`, and the
//! output averages the votes of the K layers. Large β and γ recover the
//! classical k-NN vote; β = 0 gives the class prior.
//!
//! The modules form layers, each using only those above it:
//! - [`model`]: the mathematics in f64, the reference for everything else;
//! - [`measures`]: accuracies and diagnostics computed with the model;
//! - [`probe`]: the model at one query, arranged for the probe panel;
//! - [`formulas`]: the equations as MathML with the probe's numbers;
//! - [`engine`]: the model over a grid of map cells, for drawing maps;
//! - [`map_job`]: full-resolution maps cut into parts for Web Workers;
//! - [`data`]: CSV tables, data sets and scenes;
//! - [`render`]: class probabilities to RGBA pixels;
//! - the web app (`app`, wasm32 only), which alone touches the browser.

pub mod data;
pub mod engine;
pub mod formulas;
pub mod map_job;
pub mod measures;
pub mod model;
pub mod probe;
pub mod render;

#[cfg(test)]
mod test_support;

#[cfg(target_arch = "wasm32")]
pub mod app;
