//! Data: CSV tables of labelled points, generated and real data sets, and scenes.

pub mod table;
