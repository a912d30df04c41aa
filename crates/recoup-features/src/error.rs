use std::path::PathBuf;

/// Errors of feature extraction.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeatureError {
    /// The raw folder fails the data contract; nothing was written.
    #[error(
        "{dir} fails the data contract ({count} error(s)); nothing was written. First:\n{first}"
    )]
    InvalidInput {
        dir: PathBuf,
        count: usize,
        first: String,
    },
    #[error(transparent)]
    InvalidSetting(#[from] recoup_core::InvalidSetting),
    #[error("{file}: {message}")]
    Config { file: PathBuf, message: String },
    #[error(
        "as-of date {asof} is after the export instant {export_at}: features would see the future"
    )]
    AsOfAfterExport {
        asof: chrono::NaiveDate,
        export_at: chrono::DateTime<chrono::Utc>,
    },
    #[error("feature query failed: {0}")]
    Polars(#[from] polars::error::PolarsError),
    #[error(transparent)]
    Table(#[from] recoup_io::TableError),
    #[error(transparent)]
    Contract(#[from] recoup_core::ContractError),
    #[error(transparent)]
    UnknownName(#[from] recoup_core::vocab::UnknownName),
}
