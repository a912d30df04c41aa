use std::path::PathBuf;

/// Errors of the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    #[error(transparent)]
    InvalidSetting(#[from] recoup_core::InvalidSetting),
    #[error("{file}: {message}")]
    Config { file: PathBuf, message: String },
    #[error(
        "{path} already exists and is not empty; choose another folder or pass --force to replace it"
    )]
    OutputExists { path: PathBuf },
    #[error(transparent)]
    Table(#[from] recoup_io::TableError),
    #[error(transparent)]
    Contract(#[from] recoup_core::ContractError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
