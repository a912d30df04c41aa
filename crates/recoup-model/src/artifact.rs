//! The model file: a one-line JSON header, then the model body as JSON.
//!
//! The header carries the format version, the model kind, the feature schema (names, dtypes,
//! order, hash), the training data's fingerprint, the parameters, seed, recoup version and
//! metrics, and the BLAKE3 hash of the body bytes. Loading checks the format, the version and
//! the hash (a truncated or edited file is refused) before parsing the body. Nothing in the
//! file depends on the time or the machine, so the same training run gives the same bytes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::linear::{Calibration, Scorecard};
use crate::tree::TreeEnsemble;

pub const FORMAT: &str = "recoup-model";
pub const FORMAT_VERSION: u32 = 1;

/// Errors of reading and checking model files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The I/O error is part of the message, not a separate cause, so that a chain of causes
    /// does not print it twice.
    #[error("{file}: {error}")]
    Io {
        file: PathBuf,
        error: std::io::Error,
    },
    #[error("{file}: not a recoup model file ({reason})")]
    NotAModel { file: PathBuf, reason: String },
    #[error(
        "{file}: format version {found}, this recoup reads version {expected}; retrain or use a matching recoup"
    )]
    FormatVersion {
        file: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error(
        "{file}: the body's checksum is {found}, the header says {expected}: the file is truncated or was modified"
    )]
    Checksum {
        file: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{file}: {reason}")]
    Invalid { file: PathBuf, reason: String },
    /// The input's columns differ from the model's feature schema.
    #[error(
        "feature schema mismatch at column {position}: the model expects `{expected}`, the input has `{found}`"
    )]
    SchemaMismatch {
        position: usize,
        expected: String,
        found: String,
    },
}

/// One input column of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureColumn {
    pub name: String,
    /// The input's dtype as polars names it (`float64`, `int64`, `bool`, `str`, ...).
    pub dtype: String,
    /// For a categorical column, its levels in the order the model reads them: level `k` is
    /// fed to the model as the number `k`; unknown levels and missing values as NaN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
}

/// The model's inputs in order, with a hash that changes with any name, dtype or order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSchema {
    /// FNV-1a 64 of `name:dtype\n` for every column, in order (hex): the same hash
    /// `recoup features` writes beside its tables.
    pub hash: String,
    pub columns: Vec<FeatureColumn>,
}

impl ModelSchema {
    pub fn new(columns: Vec<FeatureColumn>) -> Self {
        Self {
            hash: recoup_core::schema_hash(
                columns.iter().map(|c| (c.name.as_str(), c.dtype.as_str())),
            ),
            columns,
        }
    }

    /// Checks an input's (name, dtype) columns against the schema: same columns, same order.
    pub fn check(&self, input: &[(String, String)]) -> Result<(), ModelError> {
        let describe = |c: Option<(&str, &str)>| {
            c.map_or_else(|| "(no column)".to_owned(), |(n, d)| format!("{n}: {d}"))
        };
        for i in 0..self.columns.len().max(input.len()) {
            let want = self
                .columns
                .get(i)
                .map(|c| (c.name.as_str(), c.dtype.as_str()));
            let have = input.get(i).map(|(n, d)| (n.as_str(), d.as_str()));
            if want != have {
                return Err(ModelError::SchemaMismatch {
                    position: i + 1,
                    expected: describe(want),
                    found: describe(have),
                });
            }
        }
        Ok(())
    }
}

/// What the body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Gradient-boosted trees for a binary target.
    GbdtBinary,
    /// A weight-of-evidence logistic scorecard for a binary target.
    ScorecardBinary,
    /// A treatment-effect model (`uplift.json`, see [`crate::uplift`]); never the kind of a
    /// model file, only of a registry entry.
    Uplift,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub format_version: u32,
    pub kind: ModelKind,
    pub recoup_version: String,
    /// The column the model predicts.
    pub target: String,
    pub schema: ModelSchema,
    /// BLAKE3 of the training table (columns, target, weights), hex: tells two training sets
    /// apart without storing them.
    pub training_fingerprint: String,
    pub seed: u64,
    pub params: serde_json::Value,
    pub metrics: serde_json::Value,
    /// BLAKE3 of the body bytes (everything after the header line), hex.
    pub body_blake3: String,
}

/// How raw scores (log-odds) are computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scorer {
    Trees(TreeEnsemble),
    Scorecard(Scorecard),
}

/// The model proper: a raw scorer and the calibration of its scores into probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelBody {
    pub scorer: Scorer,
    pub calibration: Calibration,
}

impl ModelBody {
    pub fn n_features(&self) -> usize {
        match &self.scorer {
            Scorer::Trees(t) => t.n_features,
            Scorer::Scorecard(s) => s.n_features,
        }
    }

    /// The uncalibrated log-odds of one row (indexed by feature number).
    pub fn predict_raw(&self, row: &[f64]) -> f64 {
        match &self.scorer {
            Scorer::Trees(t) => t.predict_raw(row),
            Scorer::Scorecard(s) => s.predict_raw(row),
        }
    }

    /// The calibrated probability of one row.
    pub fn predict_proba(&self, row: &[f64]) -> f64 {
        self.calibration.apply(self.predict_raw(row))
    }

    pub fn check(&self) -> Result<(), String> {
        match &self.scorer {
            Scorer::Trees(t) => t.check()?,
            Scorer::Scorecard(s) => s.check()?,
        }
        self.calibration.check()
    }
}

/// A model with its header.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    pub header: Header,
    pub body: ModelBody,
}

impl ModelFile {
    /// Builds the file's header around `body` (the body hash is computed here).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: ModelKind,
        target: String,
        schema: ModelSchema,
        training_fingerprint: String,
        seed: u64,
        params: serde_json::Value,
        metrics: serde_json::Value,
        body: ModelBody,
    ) -> Self {
        Self {
            header: Header {
                format: FORMAT.into(),
                format_version: FORMAT_VERSION,
                kind,
                recoup_version: env!("CARGO_PKG_VERSION").into(),
                target,
                schema,
                training_fingerprint,
                seed,
                params,
                metrics,
                body_blake3: String::new(),
            },
            body,
        }
    }

    /// The body's bytes in the file.
    fn body_bytes(&self) -> Vec<u8> {
        // Serialising plain structs and maps cannot fail.
        serde_json::to_vec(&self.body).unwrap_or_default()
    }

    /// BLAKE3 (hex) of the body as the file stores it: the header's `body_blake3` once saved.
    pub fn body_blake3(&self) -> String {
        blake3::hash(&self.body_bytes()).to_hex().to_string()
    }

    /// The file's bytes: header line, newline, body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = self.body_bytes();
        let mut header = self.header.clone();
        header.body_blake3 = blake3::hash(&body).to_hex().to_string();
        join(&header, &body)
    }

    /// Parses and checks a file's bytes; `file` names it in errors.
    pub fn from_bytes(bytes: &[u8], file: &Path) -> Result<Self, ModelError> {
        let (loose, body) = split_checked(bytes, file, FORMAT, FORMAT_VERSION)?;
        let header: Header = serde_json::from_value(loose).map_err(|e| ModelError::Invalid {
            file: file.to_path_buf(),
            reason: format!("header: {e}"),
        })?;
        check_integrity(&header.schema, body, &header.body_blake3, file)?;
        if header.kind == ModelKind::Uplift {
            return Err(ModelError::Invalid {
                file: file.to_path_buf(),
                reason: "kind `uplift` belongs to uplift.json files, not model files".into(),
            });
        }
        let body: ModelBody = serde_json::from_slice(body).map_err(|e| ModelError::Invalid {
            file: file.to_path_buf(),
            reason: format!("body: {e}"),
        })?;
        let n = header.schema.columns.len();
        if body.n_features() != n {
            return Err(ModelError::Invalid {
                file: file.to_path_buf(),
                reason: format!(
                    "the model reads {} features, the schema lists {n}",
                    body.n_features()
                ),
            });
        }
        body.check().map_err(|reason| ModelError::Invalid {
            file: file.to_path_buf(),
            reason,
        })?;
        Ok(Self { header, body })
    }

    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|error| ModelError::Io {
            file: path.to_path_buf(),
            error,
        })?;
        Self::from_bytes(&bytes, path)
    }

    /// Writes the file under a temporary name in the same folder, syncs and renames it.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        write_atomic(path, &self.to_bytes())
    }
}

/// A header line (serialised `header`), a newline, then `body`.
pub(crate) fn join(header: &impl Serialize, body: &[u8]) -> Vec<u8> {
    // Serialising plain structs and maps cannot fail.
    let mut out = serde_json::to_vec(header).unwrap_or_default();
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// The header (as JSON, its `format` and `format_version` checked) and the body bytes of a
/// file written by [`join`].
pub(crate) fn split_checked<'a>(
    bytes: &'a [u8],
    file: &Path,
    format: &str,
    version: u32,
) -> Result<(serde_json::Value, &'a [u8]), ModelError> {
    let not_a_model = |reason: String| ModelError::NotAModel {
        file: file.to_path_buf(),
        reason,
    };
    let split = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| not_a_model("no header line".into()))?;
    let (head, body) = (&bytes[..split], &bytes[split + 1..]);
    let loose: serde_json::Value = serde_json::from_slice(head)
        .map_err(|e| not_a_model(format!("the header is not JSON: {e}")))?;
    if loose.get("format").and_then(|f| f.as_str()) != Some(format) {
        return Err(not_a_model(format!(
            "no `\"format\": \"{format}\"` in the header"
        )));
    }
    let found = loose
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| not_a_model("no format_version".into()))?;
    if found != u64::from(version) {
        return Err(ModelError::FormatVersion {
            file: file.to_path_buf(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
            expected: version,
        });
    }
    Ok((loose, body))
}

/// Checks that the header's columns hash to its schema hash and the body to its checksum: a
/// modified header or a truncated or edited body is refused.
pub(crate) fn check_integrity(
    schema: &ModelSchema,
    body: &[u8],
    expected_blake3: &str,
    file: &Path,
) -> Result<(), ModelError> {
    let schema_hash = ModelSchema::new(schema.columns.clone()).hash;
    if schema_hash != schema.hash {
        return Err(ModelError::Invalid {
            file: file.to_path_buf(),
            reason: format!(
                "the header's columns hash to {schema_hash}, its schema hash says {}: the \
                 header was modified",
                schema.hash
            ),
        });
    }
    let found = blake3::hash(body).to_hex().to_string();
    if found != expected_blake3 {
        return Err(ModelError::Checksum {
            file: file.to_path_buf(),
            expected: expected_blake3.to_owned(),
            found,
        });
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (see [`recoup_core::AtomicFile`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    recoup_core::write_atomic(path, bytes).map_err(|e| ModelError::Io {
        file: e.path,
        error: e.source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{NodeRef, Tree};

    fn model() -> ModelFile {
        let schema = ModelSchema::new(vec![
            FeatureColumn {
                name: "dpd".into(),
                dtype: "int64".into(),
                categories: None,
            },
            FeatureColumn {
                name: "job".into(),
                dtype: "str".into(),
                categories: Some(vec!["student".into(), "admin.".into()]),
            },
        ]);
        let tree = Tree {
            feature: vec![0],
            threshold: vec![29.5],
            missing_left: vec![true],
            left: vec![NodeRef::Leaf(0)],
            right: vec![NodeRef::Leaf(1)],
            leaf_value: vec![0.3, -0.7],
            ..Tree::default()
        };
        ModelFile::new(
            ModelKind::GbdtBinary,
            "paid_30d".into(),
            schema,
            "f00d".into(),
            7,
            serde_json::json!({"n_trees": 1}),
            serde_json::json!({"auc": 0.8}),
            ModelBody {
                scorer: Scorer::Trees(TreeEnsemble {
                    n_features: 2,
                    base_score: -1.0,
                    trees: vec![tree],
                }),
                calibration: Calibration::Platt { a: 1.1, b: -0.1 },
            },
        )
    }

    #[test]
    fn round_trips_through_a_file_with_identical_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.json");
        let m = model();
        m.save(&path).unwrap();
        let back = ModelFile::load(&path).unwrap();
        assert_eq!(back.body, m.body);
        assert_eq!(back.to_bytes(), std::fs::read(&path).unwrap());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporaries left"
        );
    }

    #[test]
    fn truncated_tampered_and_foreign_files_are_refused() {
        let p = Path::new("m.json");
        let bytes = model().to_bytes();
        let cut = &bytes[..bytes.len() - 5];
        assert!(matches!(
            ModelFile::from_bytes(cut, p),
            Err(ModelError::Checksum { .. })
        ));
        let edited = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("-0.7", "-0.8");
        assert!(matches!(
            ModelFile::from_bytes(edited.as_bytes(), p),
            Err(ModelError::Checksum { .. })
        ));
        let newer = String::from_utf8(bytes).unwrap().replacen(
            "\"format_version\":1",
            "\"format_version\":9",
            1,
        );
        let err = ModelFile::from_bytes(newer.as_bytes(), p).unwrap_err();
        assert!(
            matches!(err, ModelError::FormatVersion { found: 9, .. }),
            "{err}"
        );
        assert!(matches!(
            ModelFile::from_bytes(b"{\"a\":1}\n{}", p),
            Err(ModelError::NotAModel { .. })
        ));
        // Reordered columns keep the body's checksum but not the schema's hash.
        let text = String::from_utf8(model().to_bytes()).unwrap();
        let swapped = text
            .replacen("\"dpd\"", "\"tmp\"", 1)
            .replacen("\"job\"", "\"dpd\"", 1)
            .replacen("\"tmp\"", "\"job\"", 1);
        let err = ModelFile::from_bytes(swapped.as_bytes(), p).unwrap_err();
        assert!(err.to_string().contains("header was modified"), "{err}");
    }

    #[test]
    fn schema_check_names_the_first_mismatch() {
        let m = model();
        let ok = [
            ("dpd".to_owned(), "int64".to_owned()),
            ("job".to_owned(), "str".to_owned()),
        ];
        m.header.schema.check(&ok).unwrap();
        let swapped = [ok[1].clone(), ok[0].clone()];
        let err = m.header.schema.check(&swapped).unwrap_err();
        assert_eq!(
            err.to_string(),
            "feature schema mismatch at column 1: the model expects `dpd: int64`, the input has `job: str`"
        );
        let err = m.header.schema.check(&ok[..1]).unwrap_err();
        assert!(err.to_string().contains("column 2"), "{err}");
        let retyped = [ok[0].clone(), ("job".to_owned(), "int64".to_owned())];
        assert!(m.header.schema.check(&retyped).is_err());
    }
}
