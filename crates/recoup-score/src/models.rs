//! Models as the scorer loads them: recoup's native model files (compiled for speed) or ONNX
//! files run by ONNX Runtime, behind one interface that maps an input table's columns to the
//! model's features by name.
//!
//! A model is named by its file, by a version folder holding `model.json`, or by a model
//! folder whose `latest` file names the version ([`recoup_model::registry::locate`]). An ONNX
//! file's features come from its metadata: the schema a recoup export writes (`recoup.schema`,
//! with dtypes and categories, checked against `recoup.schema_hash`), else `feature_names`
//! (comma-separated), else `<file>.features` beside it (one name per line, numeric inputs).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use recoup_model::uplift::UpliftModelFile;
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
    Uplift(Box<UpliftEngine>),
}

/// An uplift model with each term's trees compiled.
#[derive(Debug)]
struct UpliftEngine {
    file: UpliftModelFile,
    baseline: Vec<CompiledTrees>,
    effects: Vec<Vec<CompiledTrees>>,
}

impl UpliftEngine {
    fn new(file: UpliftModelFile, path: &Path) -> Result<Self, ScoreError> {
        let compile =
            |terms: &[recoup_model::uplift::Term]| -> Result<Vec<CompiledTrees>, ScoreError> {
                terms
                    .iter()
                    .map(|t| {
                        CompiledTrees::new(&t.trees).map_err(|message| ScoreError::ModelInput {
                            model: path.to_path_buf(),
                            message,
                        })
                    })
                    .collect()
            };
        let baseline = compile(&file.body.baseline)?;
        let effects = file
            .body
            .effects
            .iter()
            .map(|e| compile(e))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            file,
            baseline,
            effects,
        })
    }

    /// `sum of weight * link(raw)` of `terms` for every row, into `out`.
    fn sum(
        terms: &[recoup_model::uplift::Term],
        compiled: &[CompiledTrees],
        rows: &[f64],
        out: &mut [f64],
    ) {
        out.iter_mut().for_each(|o| *o = 0.0);
        let mut raw = vec![0.0; out.len()];
        for (t, c) in terms.iter().zip(compiled) {
            c.predict_raw(rows, &mut raw);
            for (o, r) in out.iter_mut().zip(&raw) {
                *o += t.weight
                    * match t.link {
                        recoup_model::uplift::Link::Identity => *r,
                        recoup_model::uplift::Link::Sigmoid => recoup_model::sigmoid(*r),
                    };
            }
        }
    }
}

/// The feature schema a recoup export puts in its metadata (`recoup.schema`, JSON columns with
/// dtypes and categories), checked against its hash (`recoup.schema_hash`); `None` for files
/// exported by other tools.
fn recoup_schema(
    file: &Path,
    metadata: &std::collections::BTreeMap<String, String>,
) -> Result<Option<Vec<FeatureColumn>>, ScoreError> {
    let Some(json) = metadata.get("recoup.schema") else {
        return Ok(None);
    };
    let bad = |message: String| ScoreError::ModelInput {
        model: file.to_path_buf(),
        message,
    };
    let columns: Vec<FeatureColumn> = serde_json::from_str(json).map_err(|e| {
        bad(format!(
            "the recoup.schema metadata is not a column list: {e}"
        ))
    })?;
    let schema = recoup_model::ModelSchema::new(columns);
    match metadata.get("recoup.schema_hash") {
        Some(hash) if *hash == schema.hash => Ok(Some(schema.columns)),
        Some(hash) => Err(bad(format!(
            "the recoup.schema metadata hashes to {}, recoup.schema_hash says {hash}: the file \
             was modified",
            schema.hash
        ))),
        None => Err(bad("recoup.schema without recoup.schema_hash".into())),
    }
}

impl ScoringModel {
    /// Loads the model a path names; `.onnx` files through ONNX Runtime, others as recoup
    /// model files (format version, checksum and body checked).
    pub fn load(path: &Path) -> Result<Self, ScoreError> {
        let (file, label) = recoup_model::registry::locate(path)?;
        if file.extension().is_some_and(|e| e == "onnx") {
            return Self::load_onnx(&file, label);
        }
        let bytes = std::fs::read(&file).map_err(|e| recoup_core::FileError::new(&file, e))?;
        if UpliftModelFile::sniff(&bytes) {
            let model = UpliftModelFile::from_bytes(&bytes, &file)?;
            return Ok(Self {
                path: file.clone(),
                label,
                hash: model.header.body_blake3.clone(),
                target: Some(model.header.outcome.clone()),
                columns: model.header.schema.columns.clone(),
                engine: Engine::Uplift(Box::new(UpliftEngine::new(model, &file)?)),
            });
        }
        let model = ModelFile::from_bytes(&bytes, &file)?;
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
        let model = OnnxModel::from_bytes(bytes, file)?;
        if let Some(columns) = recoup_schema(file, model.metadata())? {
            if let Some(n) = model.n_features().filter(|&n| n != columns.len()) {
                return Err(ScoreError::ModelInput {
                    model: file.to_path_buf(),
                    message: format!(
                        "the recoup.schema metadata lists {} columns for an input of {n} features",
                        columns.len()
                    ),
                });
            }
            return Ok(Self {
                path: file.to_path_buf(),
                label,
                hash,
                target: model.metadata().get("recoup.target").cloned(),
                columns,
                engine: Engine::Onnx(model),
            });
        }
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
            Engine::Uplift(_) => "uplift",
        }
    }

    /// The tree ensemble, for explanations (native tree models only).
    pub fn trees(&self) -> Option<&recoup_model::TreeEnsemble> {
        match &self.engine {
            Engine::Native { body, .. } => match &body.scorer {
                Scorer::Trees(t) => Some(t),
                Scorer::Scorecard(_) => None,
            },
            Engine::Onnx(_) | Engine::Uplift(_) => None,
        }
    }

    /// The model body of a native model file (`None` for ONNX and uplift models).
    pub fn native_body(&self) -> Option<&ModelBody> {
        match &self.engine {
            Engine::Native { body, .. } => Some(body),
            _ => None,
        }
    }

    /// For an uplift model: its arms (the control first) and whether it predicts a
    /// probability.
    pub fn uplift_arms(&self) -> Option<(&[String], bool)> {
        match &self.engine {
            Engine::Uplift(u) => Some((&u.file.header.arms, u.file.header.binary_outcome)),
            _ => None,
        }
    }

    /// For an uplift model: the outcome under the control for every row, and each treatment
    /// arm's effect against it (`[arm - 1][row]`).
    pub fn predict_uplift(&self, rows: &[f64]) -> Result<(Vec<f64>, Vec<Vec<f64>>), ScoreError> {
        let Engine::Uplift(u) = &self.engine else {
            return Err(ScoreError::ModelInput {
                model: self.path.clone(),
                message: "not an uplift model".into(),
            });
        };
        let n = rows.len() / self.n_features().max(1);
        let mut baseline = vec![0.0; n];
        UpliftEngine::sum(&u.file.body.baseline, &u.baseline, rows, &mut baseline);
        let effects = u
            .file
            .body
            .effects
            .iter()
            .zip(&u.effects)
            .map(|(terms, compiled)| {
                let mut e = vec![0.0; n];
                UpliftEngine::sum(terms, compiled, rows, &mut e);
                e
            })
            .collect();
        Ok((baseline, effects))
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
            Engine::Uplift(_) => Err(ScoreError::ModelInput {
                model: self.path.clone(),
                message: "an uplift model predicts effects per treatment, not one probability; \
                          use it as the pay model"
                    .into(),
            }),
        }
    }
}

/// How closely two models agree on the same rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    pub rows: usize,
    /// The largest |difference| of the probabilities, and the row where it is.
    pub max_abs_diff: f64,
    pub worst_row: usize,
    /// Rows whose probabilities are equal to the bit.
    pub identical: usize,
}

/// Scores row-major `rows` with both models (for example a native model and its ONNX export)
/// and compares their probabilities. The models must read the same columns in the same order.
pub fn agreement(
    a: &ScoringModel,
    b: &ScoringModel,
    rows: &[f64],
) -> Result<Agreement, ScoreError> {
    let names =
        |m: &ScoringModel| -> Vec<String> { m.columns.iter().map(|c| c.name.clone()).collect() };
    if names(a) != names(b) {
        return Err(ScoreError::ModelInput {
            model: b.path.clone(),
            message: format!(
                "reads the columns [{}], {} reads [{}]",
                names(b).join(", "),
                a.path.display(),
                names(a).join(", ")
            ),
        });
    }
    let n = rows.len() / a.n_features().max(1);
    let (mut pa, mut pb) = (vec![0.0; n], vec![0.0; n]);
    a.predict_proba(rows, &mut pa)?;
    b.predict_proba(rows, &mut pb)?;
    let mut out = Agreement {
        rows: n,
        max_abs_diff: 0.0,
        worst_row: 0,
        identical: 0,
    };
    for (i, (x, y)) in pa.iter().zip(&pb).enumerate() {
        let d = (x - y).abs();
        // NaN on either side counts as the worst possible disagreement.
        let d = if d.is_nan() { f64::INFINITY } else { d };
        if d > out.max_abs_diff {
            (out.max_abs_diff, out.worst_row) = (d, i);
        }
        out.identical += usize::from(x.to_bits() == y.to_bits());
    }
    Ok(out)
}
