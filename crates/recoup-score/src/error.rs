//! The scorer's errors, by category; every message names the file, and where it applies the
//! column, row and value.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScoreError {
    #[error(transparent)]
    File(#[from] recoup_core::FileError),
    #[error("{file}: {message}")]
    Parquet { file: PathBuf, message: String },
    #[error("{file}: column `{column}` not found ({needed_by})")]
    ColumnNotFound {
        file: PathBuf,
        column: String,
        needed_by: String,
    },
    #[error("{file}: column `{column}` is {found}, expected {expected}")]
    SchemaMismatch {
        file: PathBuf,
        column: String,
        expected: String,
        found: String,
    },
    #[error("{file}: row {row}, column `{column}`: {value}")]
    InvalidValue {
        file: PathBuf,
        column: String,
        row: usize,
        value: String,
    },
    #[error(transparent)]
    Model(#[from] recoup_model::ModelError),
    #[error("{model}: {message}")]
    ModelInput { model: PathBuf, message: String },
    #[error(transparent)]
    Onnx(#[from] crate::onnx::OnnxError),
    #[error(transparent)]
    Setting(#[from] recoup_core::InvalidSetting),
    #[error("{0}")]
    Ranking(String),
    #[error("{file}: not a segment policy: {message}")]
    SegmentPolicy { file: PathBuf, message: String },
}

impl ScoreError {
    pub(crate) fn parquet(file: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Self::Parquet {
            file: file.to_path_buf(),
            message: e.to_string(),
        }
    }
}
