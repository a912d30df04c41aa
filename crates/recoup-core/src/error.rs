//! Error categories shared by every recoup crate that reads the contract.

use std::path::PathBuf;

/// A violation of the data contract, with enough context to find the bad value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// A required column is absent from a file.
    #[error("{file}: column `{column}` not found (required by the `{table}` table)")]
    ColumnNotFound {
        file: PathBuf,
        table: &'static str,
        column: String,
    },
    /// A column has a different type than the contract requires.
    #[error("{file}: column `{column}` has type {found}, expected {expected}")]
    SchemaMismatch {
        file: PathBuf,
        column: String,
        expected: String,
        found: String,
    },
    /// A single value breaks a rule of the contract.
    #[error("{file}: column `{column}`, row {row}: value `{value}` {reason}")]
    InvalidValue {
        file: PathBuf,
        column: String,
        /// 1-based data row (the header line is not counted).
        row: usize,
        value: String,
        reason: String,
    },
    /// The treatment catalog is malformed.
    #[error("{file}: treatment `{treatment}`: {reason}")]
    Catalog {
        file: PathBuf,
        treatment: String,
        reason: String,
    },
    /// A TOML file could not be parsed.
    #[error("{file}: {message}")]
    Toml { file: PathBuf, message: String },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ContractError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// A setting (configuration value or command-line option) outside its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting `{field}` = {value}: expected {expected}")]
pub struct InvalidSetting {
    pub field: String,
    pub value: String,
    pub expected: String,
}

impl InvalidSetting {
    pub fn new(
        field: impl Into<String>,
        value: impl ToString,
        expected: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}
