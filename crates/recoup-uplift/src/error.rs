/// Errors of uplift modelling and policy evaluation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpliftError {
    #[error(transparent)]
    Train(#[from] recoup_train::TrainError),
    #[error(transparent)]
    Setting(#[from] recoup_core::InvalidSetting),
    #[error(transparent)]
    Model(#[from] recoup_model::ModelError),
    #[error("{0}")]
    Invalid(String),
    #[error("{file}: column `{column}`: {message}")]
    Column {
        file: std::path::PathBuf,
        column: String,
        message: String,
    },
}
