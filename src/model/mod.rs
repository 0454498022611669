//! The soft k-NN model: checked parameters, the training set, and the f64
//! reference computation. No I/O and no web code.

mod params;
mod soft_knn;
mod training;

pub use params::{Mode, ParamError, Params, RawParams, Suppression, MAX_COORDINATE};
pub use soft_knn::{nearest_order, softmax_of_negative, LayerTrace, Model, Trace};
pub use training::TrainingSet;

// The tests use proptest, a native-only dev-dependency.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod suppression_tests;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
