//! Scoring: the nightly batch that ranks treatments per account, and the evaluators under it.
//!
//! Services link this crate with `recoup-core` and `recoup-model` alone: no dataframe library,
//! no training code. Parquet goes in and out through arrow-rs. A loaded [`ScoringModel`] (a
//! native [`CompiledTrees`] or an ONNX Runtime session pool) is `Send + Sync`.

pub mod capacity;
pub mod columns;
pub mod compare;
pub mod decide;
pub mod error;
pub mod evaluator;
pub mod explain;
pub mod inputs;
mod leaf_masks;
pub mod models;
pub mod onnx;
pub mod ranking;
pub mod rule_inputs;
pub mod rules;
pub mod segment_policy;

pub use compare::{DecisionsDiff, compare_decisions};
pub use decide::{ChannelCapacity, Models, RunManifest, ScoreSettings, score, write_manifest};
pub use error::ScoreError;
pub use evaluator::CompiledTrees;
pub use explain::{reason_codes, shap_values};
pub use models::{Agreement, ScoringModel, agreement};
