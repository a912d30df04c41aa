use std::path::PathBuf;

/// Errors of the journey stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JourneyError {
    #[error(transparent)]
    InvalidSetting(#[from] recoup_core::InvalidSetting),
    #[error(transparent)]
    Sim(#[from] recoup_sim::SimError),
    /// A journey template file is malformed.
    #[error("{file}: {message}")]
    Template { file: PathBuf, message: String },
    /// A journey names a treatment the catalog does not have.
    #[error(
        "{file}: journey `{journey}`, step {step}: treatment `{treatment}` is not in the catalog"
    )]
    UnknownTreatment {
        file: PathBuf,
        journey: String,
        step: usize,
        treatment: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
