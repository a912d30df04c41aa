/// Errors of training.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    #[error("{file}: {message}")]
    Read {
        file: std::path::PathBuf,
        message: String,
    },
    #[error("{file}: column `{column}` not found")]
    ColumnNotFound {
        file: std::path::PathBuf,
        column: String,
    },
    #[error("{file}: column `{column}` is missing on every row (drop it with --drop {column})")]
    AllMissing {
        file: std::path::PathBuf,
        column: String,
    },
    #[error("the training table has no rows")]
    Empty,
    #[error("the training table has no feature columns")]
    NoFeatures,
    #[error("{0}")]
    Shape(String),
    #[error("column `{column}`, row {row}: value `{value}` is not 0/1 (the target must be binary)")]
    NotBinary {
        column: String,
        row: usize,
        value: String,
    },
    #[error(
        "column `{column}`, row {row}: value `{value}` is not allowed (features must be finite numbers or missing)"
    )]
    NonFinite {
        column: String,
        row: usize,
        value: String,
    },
    #[error("the target is {value} on every (weighted) row: there is nothing to learn")]
    ConstantTarget { value: f64 },
    #[error(transparent)]
    InvalidSetting(#[from] recoup_core::InvalidSetting),
    #[error(transparent)]
    Model(#[from] recoup_model::ModelError),
    #[error(transparent)]
    Export(#[from] recoup_export::ExportError),
    #[error("thread pool: {0}")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
}
