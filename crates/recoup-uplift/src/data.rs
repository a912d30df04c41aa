//! Rows with the arm each received, its outcome and, for logged (non-uniform) assignment, the
//! propensity of that arm.

use std::path::Path;

use polars::prelude::*;
use recoup_train::Dataset;
use recoup_train::table::{TableSpec, frame_to_dataset, frame_to_dataset_continuous, read_frame};

use crate::error::UpliftError;

/// Features and outcome (the dataset's target), the arm of each row (0 is the control) and
/// optionally the logged propensity of the arm each row received.
#[derive(Debug, Clone)]
pub struct UpliftData {
    pub features: Dataset,
    pub arm: Vec<usize>,
    /// Arm names, the control first.
    pub arms: Vec<String>,
    pub propensity: Option<Vec<f64>>,
}

impl UpliftData {
    /// Checks that there are at least two arms, every row's arm is one of them, every arm has
    /// rows, and propensities (if any) are in (0, 1].
    pub fn check_arms(&self) -> Result<(), UpliftError> {
        let n = self.features.n_rows();
        if self.arms.len() < 2 {
            return Err(UpliftError::Invalid(format!(
                "{} arm(s) ({}): uplift needs a control and at least one treatment",
                self.arms.len(),
                self.arms.join(", ")
            )));
        }
        if self.arm.len() != n {
            return Err(UpliftError::Invalid(format!(
                "{} arms for {n} rows",
                self.arm.len()
            )));
        }
        let mut counts = vec![0usize; self.arms.len()];
        for (row, &a) in self.arm.iter().enumerate() {
            let Some(c) = counts.get_mut(a) else {
                return Err(UpliftError::Invalid(format!(
                    "row {row}: arm {a}, but there are {} arms",
                    self.arms.len()
                )));
            };
            *c += 1;
        }
        if let Some(a) = counts.iter().position(|&c| c == 0) {
            return Err(UpliftError::Invalid(format!(
                "arm `{}` has no rows",
                self.arms[a]
            )));
        }
        if let Some(p) = &self.propensity {
            if p.len() != n {
                return Err(UpliftError::Invalid(format!(
                    "{} propensities for {n} rows",
                    p.len()
                )));
            }
            if let Some((row, v)) = p
                .iter()
                .enumerate()
                .find(|(_, v)| !(**v > 0.0 && **v <= 1.0))
            {
                return Err(UpliftError::Invalid(format!(
                    "row {row}: propensity {v}, expected a probability in (0, 1]"
                )));
            }
        }
        Ok(())
    }

    /// Whether every outcome is 0 or 1.
    pub fn binary_outcome(&self) -> bool {
        self.features.target.iter().all(|&v| v == 0.0 || v == 1.0)
    }

    /// Rows per arm.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.arms.len()];
        for &a in &self.arm {
            counts[a] += 1;
        }
        counts
    }

    /// The propensity of the arm each row received, at least `min`: the logged one, or the
    /// arm's share of the rows (a randomised assignment).
    pub fn propensities(&self, min: f64) -> Vec<f64> {
        match &self.propensity {
            Some(p) => p.iter().map(|v| v.max(min)).collect(),
            None => {
                let n = self.arm.len() as f64;
                let share: Vec<f64> = self.counts().iter().map(|&c| c as f64 / n).collect();
                self.arm.iter().map(|&a| share[a].max(min)).collect()
            }
        }
    }

    /// The rows `rows`, in that order.
    pub fn take(&self, rows: &[usize]) -> Self {
        Self {
            features: self.features.take(rows),
            arm: rows.iter().map(|&r| self.arm[r]).collect(),
            arms: self.arms.clone(),
            propensity: self
                .propensity
                .as_ref()
                .map(|p| rows.iter().map(|&r| p[r]).collect()),
        }
    }
}

/// How to read an uplift table.
#[derive(Debug, Clone)]
pub struct UpliftTableSpec {
    pub path: std::path::PathBuf,
    /// The column naming each row's arm (text or numbers).
    pub treatment: String,
    /// The treatment column's value of the control arm.
    pub control: String,
    /// The outcome the models learn: 0/1 (classification trees) or real-valued, such as an
    /// amount (squared-error trees).
    pub outcome: String,
    /// Columns that are not features (other outcomes, ids).
    pub drop: Vec<String>,
    /// A logged propensity column (of the arm received), if assignment was not uniform.
    pub propensity: Option<String>,
    /// Further numeric outcome columns returned as they are (e.g. spend), for policy values.
    pub extra_outcomes: Vec<String>,
}

/// A loaded uplift table: the data and the extra outcome columns, in the spec's order.
#[derive(Debug, Clone)]
pub struct LoadedUplift {
    pub data: UpliftData,
    pub extra_outcomes: Vec<Vec<f64>>,
    /// Each feature's dtype, as `recoup train` names them.
    pub dtypes: Vec<String>,
}

fn column_error(path: &Path, column: &str, message: impl ToString) -> UpliftError {
    UpliftError::Column {
        file: path.to_path_buf(),
        column: column.to_owned(),
        message: message.to_string(),
    }
}

fn numbers(df: &DataFrame, path: &Path, name: &str) -> Result<Vec<f64>, UpliftError> {
    let c = df
        .column(name)
        .map_err(|_| column_error(path, name, "not found"))?;
    let c = c
        .cast(&DataType::Float64)
        .map_err(|e| column_error(path, name, format!("not numeric: {e}")))?;
    let values = c.f64().map_err(|e| column_error(path, name, e))?;
    Ok(values.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// The keys, descriptors and labels of a table written by `recoup features` (listed in the
/// `.schema.json` beside it): not features of an uplift model.
fn feature_table_non_features(path: &Path) -> Result<Vec<String>, UpliftError> {
    let schema = std::path::PathBuf::from(format!("{}.schema.json", path.display()));
    let Ok(text) = std::fs::read_to_string(&schema) else {
        return Ok(Vec::new());
    };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        UpliftError::Invalid(format!("{}: not a feature schema: {e}", schema.display()))
    })?;
    Ok(["keys", "labels"]
        .iter()
        .filter_map(|k| json.get(*k).and_then(|v| v.as_array()))
        .flatten()
        .filter_map(|c| c.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .collect())
}

/// Reads a flat CSV or parquet table: arms from `spec.treatment` (the control first, the other
/// values sorted), the outcome, features from every other column not dropped (text columns
/// categorical), as `recoup train` reads tables. A table of `recoup features` (with its
/// `.schema.json`) loses its keys, descriptors and other labels as features on its own.
pub fn load_uplift_table(spec: &UpliftTableSpec) -> Result<LoadedUplift, UpliftError> {
    let path = &spec.path;
    let mut df = read_frame(path)?;
    let non_features = feature_table_non_features(path)?;
    if !non_features.is_empty() {
        // A feature table's label is missing where its window is still open: those rows have
        // no outcome yet.
        let mask = df
            .column(&spec.outcome)
            .map_err(|_| column_error(path, &spec.outcome, "not found"))?
            .is_not_null();
        df = df
            .filter(&mask)
            .map_err(|e| column_error(path, &spec.outcome, e))?;
    }
    let treatment = df
        .column(&spec.treatment)
        .map_err(|_| column_error(path, &spec.treatment, "not found"))?
        .cast(&DataType::String)
        .map_err(|e| column_error(path, &spec.treatment, e))?;
    let labels: Vec<Option<String>> = treatment
        .str()
        .map_err(|e| column_error(path, &spec.treatment, e))?
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect();
    if let Some(row) = labels.iter().position(Option::is_none) {
        return Err(column_error(
            path,
            &spec.treatment,
            format!("row {row} has no value"),
        ));
    }
    let mut arms: Vec<String> = labels.iter().flatten().cloned().collect();
    arms.sort();
    arms.dedup();
    let Some(c) = arms.iter().position(|a| *a == spec.control) else {
        return Err(column_error(
            path,
            &spec.treatment,
            format!(
                "no row has the control value `{}`; the values are {}",
                spec.control,
                arms.join(", ")
            ),
        ));
    };
    let control = arms.remove(c);
    arms.insert(0, control);
    let arm: Vec<usize> = labels
        .iter()
        .flatten()
        .map(|l| arms.iter().position(|a| a == l).unwrap_or(0))
        .collect();
    let extra_outcomes = spec
        .extra_outcomes
        .iter()
        .map(|c| numbers(&df, path, c))
        .collect::<Result<Vec<_>, _>>()?;
    let propensity = spec
        .propensity
        .as_ref()
        .map(|c| numbers(&df, path, c))
        .transpose()?;
    let outcome = numbers(&df, path, &spec.outcome)?;
    let binary = outcome.iter().all(|&v| v == 0.0 || v == 1.0);
    let mut drop = spec.drop.clone();
    drop.extend(non_features);
    drop.push(spec.treatment.clone());
    drop.extend(spec.extra_outcomes.iter().cloned());
    drop.extend(spec.propensity.iter().cloned());
    drop.sort();
    drop.dedup();
    drop.retain(|d| *d != spec.outcome);
    let table = TableSpec {
        path: path.clone(),
        target: spec.outcome.clone(),
        id: None,
        drop,
        weight: None,
    };
    // A 0/1 outcome is learnt by classification trees; any other (an amount) as it is.
    let loaded = if binary {
        frame_to_dataset(&df, &table)?
    } else {
        frame_to_dataset_continuous(&df, &table)?
    };
    let (features, dtypes) = (loaded.data, loaded.dtypes);
    if features.n_rows() != arm.len() {
        return Err(UpliftError::Invalid(format!(
            "{}: {} rows read for {} treatment values",
            path.display(),
            features.n_rows(),
            arm.len()
        )));
    }
    let data = UpliftData {
        features,
        arm,
        arms,
        propensity,
    };
    data.check_arms()?;
    Ok(LoadedUplift {
        data,
        extra_outcomes,
        dtypes,
    })
}

/// Writes `model` (and `files`, name and bytes) as the next version of `models/NAME/`: the
/// folder is assembled under a hidden name and renamed when complete, then `latest` names it.
/// Returns the version folder.
pub fn save_version(
    models: &Path,
    name: &str,
    model: &recoup_model::uplift::UpliftModelFile,
    files: &[(&str, Vec<u8>)],
) -> Result<std::path::PathBuf, UpliftError> {
    let io = |p: &Path, e: std::io::Error| {
        UpliftError::Model(recoup_model::ModelError::Io {
            file: p.to_path_buf(),
            error: e,
        })
    };
    let model_dir = models.join(name);
    std::fs::create_dir_all(&model_dir).map_err(|e| io(&model_dir, e))?;
    let version = recoup_train::run::next_version(&model_dir);
    let dir = model_dir.join(&version);
    let tmp = model_dir.join(format!(".{version}.tmp-{}", std::process::id()));
    let write = || -> Result<(), UpliftError> {
        std::fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
        model.save(&tmp.join("uplift.json"))?;
        for (file, bytes) in files {
            recoup_model::artifact::write_atomic(&tmp.join(file), bytes)?;
        }
        std::fs::rename(&tmp, &dir).map_err(|e| io(&dir, e))?;
        recoup_model::artifact::write_atomic(
            &model_dir.join("latest"),
            format!("{version}\n").as_bytes(),
        )?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(dir)
}
