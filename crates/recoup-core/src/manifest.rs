//! `export.toml`: what a raw folder says about itself.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ContractError;

/// The manifest of an export: when it was taken and by whom.
///
/// ```toml
/// export_at = "2027-01-01T00:00:00Z"
/// producer = "recoup-sim 0.1.0"
/// ```
/// Further tables and keys (for example a simulator's settings) are kept as they are in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportManifest {
    /// The instant the export was taken. No event in the tables may be later.
    pub export_at: DateTime<Utc>,
    pub producer: String,
    #[serde(flatten)]
    pub extra: toml::Table,
}

impl ExportManifest {
    pub const FILE_NAME: &'static str = "export.toml";

    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(Self::FILE_NAME)
    }

    /// Reads `export.toml` from a raw folder; `Ok(None)` when the folder has none.
    pub fn load_from_dir(dir: &Path) -> Result<Option<Self>, ContractError> {
        let path = Self::path_in(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ContractError::io(path, e)),
        };
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| ContractError::Toml {
                file: path,
                message: e.to_string(),
            })
    }

    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).expect("a manifest always serialises")
    }
}
