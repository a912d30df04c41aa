use std::path::PathBuf;

use recoup_core::ContractError;

/// Errors reading or writing raw tables.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    #[error(transparent)]
    Contract(#[from] ContractError),
    /// Neither `<table>.parquet` nor `<table>.csv` exists in the folder.
    #[error("{dir}: table `{table}` not found (expected `{table}.parquet` or `{table}.csv`)")]
    MissingTable { dir: PathBuf, table: &'static str },
    /// Both a parquet and a CSV file exist for one table.
    #[error(
        "{dir}: table `{table}` is present as both `{table}.parquet` and `{table}.csv`; keep one"
    )]
    AmbiguousTable { dir: PathBuf, table: &'static str },
    /// The file exists but polars could not read or write it.
    #[error("{file}: {source}")]
    Polars {
        file: PathBuf,
        #[source]
        source: polars::error::PolarsError,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl TableError {
    pub(crate) fn polars(file: impl Into<PathBuf>, source: polars::error::PolarsError) -> Self {
        Self::Polars {
            file: file.into(),
            source,
        }
    }
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<recoup_core::FileError> for TableError {
    fn from(e: recoup_core::FileError) -> Self {
        Self::Io {
            path: e.path,
            source: e.source,
        }
    }
}
