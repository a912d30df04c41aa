//! The model registry: `ROOT/<name>/<version>/` folders written by `recoup train`, with a
//! `latest` file naming the newest version (see `models/README.md`). Reading a version loads
//! its model file, so the format version and the body checksum are checked: a truncated or
//! edited model is an error, not a row.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::artifact::{ModelError, ModelFile, ModelKind};

/// One version of a model, as the registry describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionInfo {
    pub name: String,
    pub version: String,
    pub dir: PathBuf,
    pub kind: ModelKind,
    pub target: String,
    pub recoup_version: String,
    pub features: usize,
    pub schema_hash: String,
    pub training_fingerprint: String,
    pub body_blake3: String,
    /// The header's headline metrics (test AUC, log-loss, calibration).
    pub metrics: serde_json::Value,
    /// Files in the version folder, sorted.
    pub files: Vec<String>,
}

/// A model name with its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub latest: Option<String>,
    pub versions: Vec<String>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ModelError + '_ {
    move |error| ModelError::Io {
        file: path.to_path_buf(),
        error,
    }
}

/// `v12` sorts after `v9`.
fn version_key(v: &str) -> (u64, String) {
    (
        v.strip_prefix('v')
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX),
        v.to_owned(),
    )
}

fn versions_of(dir: &Path) -> Result<Vec<String>, ModelError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && MAIN_FILES.iter().any(|m| e.path().join(m).is_file()) {
            out.push(name);
        }
    }
    out.sort_by_key(|v| version_key(v));
    Ok(out)
}

fn latest_of(dir: &Path) -> Result<Option<String>, ModelError> {
    let p = dir.join("latest");
    if !p.is_file() {
        return Ok(None);
    }
    Ok(Some(
        std::fs::read_to_string(&p)
            .map_err(io(&p))?
            .trim()
            .to_owned(),
    ))
}

fn not_found(path: &Path, why: String) -> ModelError {
    ModelError::Io {
        file: path.to_path_buf(),
        error: std::io::Error::new(std::io::ErrorKind::NotFound, why),
    }
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A version folder's main file: a model (`recoup train`) or an uplift model (`recoup uplift
/// train`).
const MAIN_FILES: [&str; 2] = ["model.json", "uplift.json"];

/// The model file a path names, and its label: a file as it is (`name@version` for a
/// registry's `model.json`, else the file name), a version folder's `model.json`, or a model
/// folder's latest version (its `latest` file).
pub fn locate(path: &Path) -> Result<(PathBuf, String), ModelError> {
    let registry_label = |version_dir: &Path| match version_dir.parent() {
        Some(model) => format!("{}@{}", name_of(model), name_of(version_dir)),
        None => name_of(version_dir),
    };
    if path.is_file() {
        // A version folder's model.json is `name@version`; its other files (the scorecard,
        // the ONNX exports) `name@version/file`.
        let label = match path.parent() {
            Some(v)
                if path
                    .file_name()
                    .is_some_and(|f| f == "model.json" || f == "uplift.json") =>
            {
                registry_label(v)
            }
            Some(v) if v.join("model.json").is_file() => {
                format!("{}/{}", registry_label(v), name_of(path))
            }
            _ => name_of(path),
        };
        return Ok((path.to_path_buf(), label));
    }
    for main in MAIN_FILES {
        if path.join(main).is_file() {
            return Ok((path.join(main), registry_label(path)));
        }
    }
    if let Some(version) = latest_of(path)? {
        let folder = path.join(&version);
        let file = MAIN_FILES
            .iter()
            .map(|m| folder.join(m))
            .find(|f| f.is_file())
            .unwrap_or_else(|| folder.join("model.json"));
        if !file.is_file() {
            return Err(not_found(
                &file,
                format!(
                    "{} names version `{version}`, which has no model.json",
                    path.join("latest").display()
                ),
            ));
        }
        return Ok((file, format!("{}@{version}", name_of(path))));
    }
    Err(not_found(
        path,
        "no model here: expected a model file, a version folder with model.json or a model folder with `latest`".into(),
    ))
}

/// Every model under `root`, by name.
pub fn list(root: &Path) -> Result<Vec<ModelInfo>, ModelError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root).map_err(io(root))? {
        let e = e.map_err(io(root))?;
        let path = e.path();
        if !path.is_dir() {
            continue;
        }
        let versions = versions_of(&path)?;
        if versions.is_empty() {
            continue;
        }
        out.push(ModelInfo {
            name: e.file_name().to_string_lossy().into_owned(),
            latest: latest_of(&path)?,
            versions,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// `NAME` (the latest version) or `NAME@VERSION` under `root`, with its model file checked.
pub fn show(root: &Path, spec: &str) -> Result<VersionInfo, ModelError> {
    let (name, version) = match spec.split_once('@') {
        Some((n, v)) => (n, Some(v.to_owned())),
        None => (spec, None),
    };
    let dir = root.join(name);
    let missing = |what: String| not_found(&dir, what);
    if !dir.is_dir() {
        return Err(missing(format!("no model `{name}` in {}", root.display())));
    }
    let version = match version {
        Some(v) => v,
        None => match latest_of(&dir)? {
            Some(v) => v,
            None => versions_of(&dir)?
                .pop()
                .ok_or_else(|| missing(format!("`{name}` has no versions")))?,
        },
    };
    let vdir = dir.join(&version);
    let Some(file) = MAIN_FILES
        .iter()
        .map(|m| vdir.join(m))
        .find(|f| f.is_file())
    else {
        let known = versions_of(&dir)?.join(", ");
        return Err(missing(format!(
            "`{name}` has no version `{version}` (versions: {known})"
        )));
    };
    let mut files: Vec<String> = std::fs::read_dir(&vdir)
        .map_err(io(&vdir))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    files.sort();
    if file.file_name().is_some_and(|f| f == "uplift.json") {
        let h = crate::uplift::UpliftModelFile::load(&file)?.header;
        return Ok(VersionInfo {
            name: name.to_owned(),
            version,
            dir: vdir,
            kind: ModelKind::Uplift,
            target: h.outcome,
            recoup_version: h.recoup_version,
            features: h.schema.columns.len(),
            schema_hash: h.schema.hash,
            training_fingerprint: h.training_fingerprint,
            body_blake3: h.body_blake3,
            metrics: serde_json::json!({ "learner": h.learner, "arms": h.arms }),
            files,
        });
    }
    let h = ModelFile::load(&file)?.header;
    Ok(VersionInfo {
        name: name.to_owned(),
        version,
        dir: vdir,
        kind: h.kind,
        target: h.target,
        recoup_version: h.recoup_version,
        features: h.schema.columns.len(),
        schema_hash: h.schema.hash,
        training_fingerprint: h.training_fingerprint,
        body_blake3: h.body_blake3,
        metrics: h.metrics,
        files,
    })
}
