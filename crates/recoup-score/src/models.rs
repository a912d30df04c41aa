//! Models as the scorer loads them: recoup's native model files (compiled for speed) or ONNX
//! files run by ONNX Runtime, behind one interface that maps an input table's columns to the
//! model's features by name.
//!
//! A model is named by its file, by a version folder holding `model.json`, or by a model
//! folder whose `latest` file names the version ([`recoup_model::registry::locate`]). An ONNX file's feature names come from its
//! metadata (`feature_names`, comma-separated) or from `<file>.features` beside it (one name
//! per line); its inputs are numbers.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use recoup_model::{FeatureColumn, ModelBody, ModelFile, Scorer};

use crate::error::ScoreError;
use crate::evaluator::CompiledTrees;
use crate::onnx::OnnxModel;

/// A model ready to score, `Send + Sync`.
#[derive(Debug)]
pub struct ScoringModel {
    /// The model file.
    pub path: PathBuf,
    /// `name@version` for registry folders, else the file name.
    pub label: String,
    /// BLAKE3 (hex) of the model body (native) or of the whole file (ONNX).
    pub hash: String,
    /// The target the model predicts (native models; `None` for ONNX).
    pub target: Option<String>,
    /// Inputs in the model's order.
    pub columns: Vec<FeatureColumn>,
    engine: Engine,
}

#[derive(Debug)]
enum Engine {
    Native {
        body: Box<ModelBody>,
        compiled: Option<CompiledTrees>,
    },
    Onnx(OnnxModel),
}

impl ScoringModel {
    /// Loads the model a path names; `.onnx` files through ONNX Runtime, others as recoup
    /// model files (format version, checksum and body checked).
    pub fn load(path: &Path) -> Result<Self, ScoreError> {
        let (file, label) = recoup_model::registry::locate(path)?;
        if file.extension().is_some_and(|e| e == "onnx") {
            return Self::load_onnx(&file, label);
        }
        let model = ModelFile::load(&file)?;
        let compiled = match &model.body.scorer {
            Scorer::Trees(t) => {
                Some(
                    CompiledTrees::new(t).map_err(|message| ScoreError::ModelInput {
                        model: file.clone(),
                        message,
                    })?,
                )
            }
            Scorer::Scorecard(_) => None,
        };
        Ok(Self {
            path: file,
            label,
            hash: model.header.body_blake3.clone(),
            target: Some(model.header.target.clone()),
            columns: model.header.schema.columns.clone(),
            engine: Engine::Native {
                body: Box::new(model.body),
                compiled,
            },
        })
    }

    fn load_onnx(file: &Path, label: String) -> Result<Self, ScoreError> {
        let bytes = std::fs::read(file).map_err(|e| recoup_core::FileError::new(file, e))?;
        let hash = blake3::hash(&bytes).to_hex().to_string();
        let model = OnnxModel::load(file)?;
        let names: Vec<String> = match model.metadata().get("feature_names") {
            Some(list) => list.split(',').map(|s| s.trim().to_owned()).collect(),
            None => {
                let side = PathBuf::from(format!("{}.features", file.display()));
                let text = std::fs::read_to_string(&side).map_err(|_| ScoreError::ModelInput {
                    model: file.to_path_buf(),
                    message: format!(
                        "no feature names: put them in the model's metadata (`feature_names`, comma-separated) or in {} (one per line)",
                        side.display()
                    ),
                })?;
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
        };
        if let Some(n) = model.n_features()
            && n != names.len()
        {
            return Err(ScoreError::ModelInput {
                model: file.to_path_buf(),
                message: format!("{} feature names for an input of {n} features", names.len()),
            });
        }
        Ok(Self {
            path: file.to_path_buf(),
            label,
            hash,
            target: None,
            columns: names
                .into_iter()
                .map(|name| FeatureColumn {
                    name,
                    dtype: "float64".into(),
                    categories: None,
                })
                .collect(),
            engine: Engine::Onnx(model),
        })
    }

    pub fn n_features(&self) -> usize {
        self.columns.len()
    }

    /// `label blake3:<first 16 hex digits>`: what decisions record of the model.
    pub fn id(&self) -> String {
        format!(
            "{} blake3:{}",
            self.label,
            &self.hash[..self.hash.len().min(16)]
        )
    }

    /// `native` or `onnx`.
    pub fn engine(&self) -> &'static str {
        match self.engine {
            Engine::Native { .. } => "native",
            Engine::Onnx(_) => "onnx",
        }
    }

    /// The tree ensemble, for explanations (native tree models only).
    pub fn trees(&self) -> Option<&recoup_model::TreeEnsemble> {
        match &self.engine {
            Engine::Native { body, .. } => match &body.scorer {
                Scorer::Trees(t) => Some(t),
                Scorer::Scorecard(_) => None,
            },
            Engine::Onnx(_) => None,
        }
    }

    /// Calibrated probabilities of row-major `rows` (NaN = missing), in parallel.
    pub fn predict_proba(&self, rows: &[f64], out: &mut [f64]) -> Result<(), ScoreError> {
        let nf = self.n_features();
        if rows.len() != out.len() * nf {
            return Err(ScoreError::ModelInput {
                model: self.path.clone(),
                message: format!(
                    "{} values for {} rows of {nf} features",
                    rows.len(),
                    out.len()
                ),
            });
        }
        match &self.engine {
            Engine::Native { body, compiled } => {
                match compiled {
                    Some(c) => c.predict_raw(rows, out),
                    None => out
                        .par_iter_mut()
                        .enumerate()
                        .for_each(|(i, o)| *o = body.predict_raw(&rows[i * nf..(i + 1) * nf])),
                }
                out.par_iter_mut()
                    .for_each(|v| *v = body.calibration.apply(*v));
                Ok(())
            }
            Engine::Onnx(m) => Ok(m.predict_proba(rows, nf, out)?),
        }
    }
}
