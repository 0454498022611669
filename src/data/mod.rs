//! Data: CSV tables of labelled points, generated and real data sets, and scenes.
//!
//! Generated and real data sets end as a [`Scene`] whose points are
//! standardised into the plot's domain `[-1, 1]²`. Class colours come from
//! [`palette`].

pub mod import;
pub mod palette;
pub mod real;
pub mod scene;
pub mod synthetic;
pub mod table;

pub use scene::Scene;

#[cfg(test)]
mod tests;
