//! Treatment effects and policy evaluation: which contact changes the outcome.
//!
//! - [`learners`]: multi-treatment T-, X- and DR-learners with recoup's gradient-boosted trees
//!   as base learners, for any number of treatment arms against a control.
//! - [`metrics`]: uplift at k, Qini and uplift curves and their normalised areas, defined as
//!   scikit-uplift defines them.
//! - [`policy`]: the best arm per row, and a policy's value from logged data by IPS,
//!   self-normalised IPS and doubly robust estimation.
//! - [`data`]: rows with their arm, outcome and logged propensity, read from flat tables.
//! - [`evaluate`], [`report`]: held-out metrics and policy values of several learners, as data
//!   and as an HTML page with Qini charts.

pub mod data;
pub mod error;
pub mod evaluate;
pub mod learners;
pub mod metrics;
pub mod policy;
pub mod report;

pub use data::{LoadedUplift, UpliftData, UpliftTableSpec, load_uplift_table, save_version};
pub use error::UpliftError;
pub use evaluate::{EvaluationReport, EvaluationSettings, evaluate_learners};
pub use learners::{FittedUplift, Learner, ModelFileInfo, UpliftParams, fit};
pub use policy::{Logged, PolicyValue, best_arm, evaluate};
