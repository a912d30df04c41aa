//! Scoring: recoup's native evaluator for tree ensembles.
//!
//! Services link this crate with `recoup-model` alone: no dataframe library, no training code.
//! A [`CompiledTrees`] is immutable and `Send + Sync`; scoring needs no per-thread state.

pub mod capacity;
pub mod evaluator;
pub mod explain;
pub mod ranking;
pub mod rules;

pub use evaluator::CompiledTrees;
pub use explain::{reason_codes, shap_values};
