//! Model artifacts as plain data.
//!
//! Everything a scorer needs to evaluate a trained model lives here, with no training code and
//! no dataframe library: services link this crate (and the scorer) alone. The structures are
//! plain vectors so that the native evaluator, the ONNX exporter and the tests can read them
//! directly.

pub mod artifact;
pub mod lightgbm;
pub mod linear;
pub mod registry;
pub mod tree;
pub mod uplift;

pub use artifact::{
    FeatureColumn, Header, ModelBody, ModelError, ModelFile, ModelKind, ModelSchema, Scorer,
};
pub use linear::{Calibration, Scorecard, ScorecardFeature};
pub use tree::{NodeRef, Tree, TreeEnsemble};

/// The logistic function, written so that large |x| neither overflows nor loses precision.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}
