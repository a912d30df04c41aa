//! Training recoup's models: histogram gradient-boosted trees, metrics.
//!
//! ```
//! use recoup_train::{Dataset, FeatureKind, GbdtParams, fit_gbdt, metrics::roc_auc};
//! // y = 1 exactly when x > 0.5, with x on a grid: trees find the threshold.
//! let x: Vec<f64> = (0..200).map(|i| i as f64 / 200.0).collect();
//! let y: Vec<f64> = x.iter().map(|&v| f64::from(v > 0.5)).collect();
//! let data = Dataset::new(vec!["x".into()], vec![FeatureKind::Numeric], vec![x], y, None)?;
//! let params = GbdtParams { n_trees: 20, min_data_in_leaf: 5, ..GbdtParams::default() };
//! let model = fit_gbdt(&params, &data, None)?;
//! let p = model.predict_proba(&data);
//! assert_eq!(roc_auc(&data.target, &p, None), 1.0);
//! # Ok::<(), recoup_train::TrainError>(())
//! ```

pub mod binning;
pub mod calibrate;
pub mod channel;
pub mod dataset;
pub mod error;
pub mod gbdt;
pub mod metrics;
pub mod report;
pub mod run;
pub mod scorecard;
pub mod split;
pub mod table;

pub use dataset::{Dataset, FeatureKind};
pub use error::TrainError;
pub use gbdt::{FittedGbdt, GbdtParams, Objective, fit as fit_gbdt};
pub use run::{RunConfig, RunOutcome, run};
pub use table::{LoadedTable, TableSpec, load_table};
