//! The uplift model file: a treatment-effect model as plain data, so that the scorer can use
//! it in place of a payment model without training code.
//!
//! The model predicts, for a row, the outcome under the control (`baseline`) and the effect of
//! each treatment arm against the control (`effects[k - 1]`). Each is a weighted sum of tree
//! ensembles read through a link (identity, or the sigmoid for a probability), which covers the
//! T-learner (`sigmoid(mu_k) - sigmoid(mu_0)`), the X-learner (`g tau_0 + (1 - g) tau_1`) and
//! the DR-learner (one regression).
//!
//! Like the model file, the file is a one-line JSON header (format version, learner, arms,
//! feature schema, BLAKE3 of the body) and the body as JSON; a truncated or edited file is
//! refused.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::artifact::{
    ModelError, ModelSchema, check_integrity, join, split_checked, write_atomic,
};
use crate::tree::TreeEnsemble;

pub const UPLIFT_FORMAT: &str = "recoup-uplift";
pub const UPLIFT_FORMAT_VERSION: u32 = 1;

/// How a term's raw score becomes its contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    Identity,
    Sigmoid,
}

/// `weight * link(trees(row))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    pub weight: f64,
    pub link: Link,
    pub trees: TreeEnsemble,
}

/// The sum of `terms` for one row.
pub fn sum_terms(terms: &[Term], row: &[f64]) -> f64 {
    terms
        .iter()
        .map(|t| {
            let raw = t.trees.predict_raw(row);
            t.weight
                * match t.link {
                    Link::Identity => raw,
                    Link::Sigmoid => crate::sigmoid(raw),
                }
        })
        .sum()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpliftHeader {
    pub format: String,
    pub format_version: u32,
    /// `t`, `x` or `dr`.
    pub learner: String,
    pub recoup_version: String,
    /// The outcome the model predicts, and whether it is a 0/1 outcome (a probability).
    pub outcome: String,
    pub binary_outcome: bool,
    /// The column that named the arms in training, and the arms, the control first.
    pub treatment_column: String,
    pub arms: Vec<String>,
    pub schema: ModelSchema,
    pub training_fingerprint: String,
    pub seed: u64,
    pub body_blake3: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpliftBody {
    pub baseline: Vec<Term>,
    /// One entry per treatment arm (`arms[1..]`).
    pub effects: Vec<Vec<Term>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpliftModelFile {
    pub header: UpliftHeader,
    pub body: UpliftBody,
}

impl UpliftModelFile {
    /// The outcome under the control for one row.
    pub fn baseline(&self, row: &[f64]) -> f64 {
        sum_terms(&self.body.baseline, row)
    }

    /// The effect of arm `k >= 1` against the control for one row.
    pub fn effect(&self, k: usize, row: &[f64]) -> f64 {
        sum_terms(&self.body.effects[k - 1], row)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let body = serde_json::to_vec(&self.body).unwrap_or_default();
        let mut header = self.header.clone();
        header.body_blake3 = blake3::hash(&body).to_hex().to_string();
        join(&header, &body)
    }

    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        write_atomic(path, &self.to_bytes())
    }

    /// Whether `bytes` start like an uplift model file.
    pub fn sniff(bytes: &[u8]) -> bool {
        let head = &bytes[..bytes.len().min(64)];
        head.windows(UPLIFT_FORMAT.len() + 2)
            .any(|w| w == format!("\"{UPLIFT_FORMAT}\"").as_bytes())
    }

    pub fn from_bytes(bytes: &[u8], file: &Path) -> Result<Self, ModelError> {
        let invalid = |reason: String| ModelError::Invalid {
            file: file.to_path_buf(),
            reason,
        };
        let (loose, body) = split_checked(bytes, file, UPLIFT_FORMAT, UPLIFT_FORMAT_VERSION)?;
        let header: UpliftHeader =
            serde_json::from_value(loose).map_err(|e| invalid(format!("header: {e}")))?;
        check_integrity(&header.schema, body, &header.body_blake3, file)?;
        let body: UpliftBody =
            serde_json::from_slice(body).map_err(|e| invalid(format!("body: {e}")))?;
        let n = header.schema.columns.len();
        if body.effects.len() + 1 != header.arms.len() {
            return Err(invalid(format!(
                "{} effects for {} arms",
                body.effects.len(),
                header.arms.len()
            )));
        }
        for t in body.baseline.iter().chain(body.effects.iter().flatten()) {
            if t.trees.n_features != n {
                return Err(invalid(format!(
                    "a term reads {} features, the schema lists {n}",
                    t.trees.n_features
                )));
            }
            t.trees.check().map_err(invalid)?;
        }
        Ok(Self { header, body })
    }

    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|error| ModelError::Io {
            file: path.to_path_buf(),
            error,
        })?;
        Self::from_bytes(&bytes, path)
    }
}
