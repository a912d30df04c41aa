//! A training run: table in, a versioned model folder out.
//!
//! `models/<name>/<version>/` receives `model.json` (header + trees, see
//! `recoup_model::artifact`), `metrics.json` and `run.toml` (the settings, so the run can be
//! repeated). The folder is assembled under a temporary name and renamed when complete; then
//! `models/<name>/latest` is rewritten to name it.

use std::path::{Path, PathBuf};

use recoup_model::{FeatureColumn, ModelBody, ModelFile, ModelKind, ModelSchema, Scorer};
use serde::{Deserialize, Serialize};

use crate::calibrate::{self, CalibrationChoice};
use crate::channel::{self, ChannelComparison};
use crate::dataset::{Dataset, FeatureKind, map_rows};
use crate::error::TrainError;
use crate::gbdt::{GbdtParams, category_ranks, fit};
use crate::metrics::{
    GainsRow, ReliabilityBin, brier, gains, ks, log_loss, reliability, roc_auc, roc_curve,
};
use crate::scorecard::{self, ScorecardParams};
use crate::split;
use crate::table::{TableSpec, load_table};

/// The run file (`run.toml`): what to train on and how. Every field but `name` and the data's
/// `table` and `target` has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub name: String,
    pub data: DataSection,
    #[serde(default)]
    pub split: SplitSection,
    #[serde(default)]
    pub gbdt: GbdtParams,
    #[serde(default)]
    pub scorecard: ScorecardParams,
    /// A categorical column (e.g. `channel`): also train one model per level and compare it
    /// with the single model on the same test rows (reported in metrics.json).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_per_channel: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    pub table: PathBuf,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub drop: Vec<String>,
    /// Sample weight column (not a feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitSection {
    /// Share of rows held out (stratified) for the reported metrics.
    pub test_fraction: f64,
    /// Share of the training rows held out for early stopping (used only when
    /// `gbdt.early_stopping_rounds > 0`).
    pub valid_fraction: f64,
    /// Stratified k-fold cross-validation on the training rows, reported beside the test
    /// metrics (0: none).
    pub folds: usize,
    pub seed: u64,
}

impl Default for SplitSection {
    fn default() -> Self {
        Self {
            test_fraction: 0.2,
            valid_fraction: 0.1,
            folds: 0,
            seed: 42,
        }
    }
}

impl RunConfig {
    pub fn check(&self) -> Result<(), recoup_core::InvalidSetting> {
        use recoup_core::InvalidSetting;
        let valid_name = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            return Err(InvalidSetting::new(
                "name",
                &self.name,
                "letters, digits, '-' and '_' (it names a folder)",
            ));
        }
        let s = &self.split;
        if !(s.test_fraction > 0.0 && s.test_fraction < 1.0) {
            return Err(InvalidSetting::new(
                "split.test_fraction",
                s.test_fraction,
                "in (0, 1)",
            ));
        }
        if !(s.valid_fraction > 0.0 && s.valid_fraction < 1.0) {
            return Err(InvalidSetting::new(
                "split.valid_fraction",
                s.valid_fraction,
                "in (0, 1)",
            ));
        }
        if s.folds == 1 {
            return Err(InvalidSetting::new(
                "split.folds",
                s.folds,
                "0 (none) or at least 2",
            ));
        }
        Ok(())
    }
}

/// Test-set metrics of a binary classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub rows_train: usize,
    pub rows_test: usize,
    pub positive_rate_test: f64,
    pub roc_auc: f64,
    pub gini: f64,
    pub ks: f64,
    pub log_loss: f64,
    pub brier: f64,
    pub expected_calibration_error: f64,
    pub reliability: Vec<ReliabilityBin>,
    pub gains: Vec<GainsRow>,
    pub trees: usize,
    /// ROC curve points (false positive rate, true positive rate), at most 200.
    pub roc_curve: Vec<(f64, f64)>,
    /// Cross-validated AUC (mean, standard deviation) when `split.folds` > 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv_roc_auc: Option<(f64, f64)>,
    pub importance: Vec<Importance>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    pub feature: String,
    pub gain: f64,
    pub splits: u32,
}

/// Everything `metrics.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_comparison: Option<ChannelComparison>,
    /// How test rows were chosen.
    pub split: String,
    pub gbdt: Metrics,
    pub gbdt_calibration: CalibrationChoice,
    pub scorecard: Metrics,
    pub scorecard_calibration: CalibrationChoice,
    pub scorecard_coefficients: Vec<Coefficient>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    pub feature: String,
    pub coefficient: f64,
    pub bins: usize,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub version: String,
    pub metrics: RunMetrics,
    pub notes: Vec<String>,
}

/// BLAKE3 of the training rows: names, target, weights and every value, in order.
pub fn fingerprint(data: &Dataset) -> String {
    let mut h = blake3::Hasher::new();
    for n in &data.names {
        h.update(n.as_bytes());
        h.update(&[0]);
    }
    for c in &data.columns {
        for v in c {
            h.update(&v.to_le_bytes());
        }
    }
    for v in &data.target {
        h.update(&v.to_le_bytes());
    }
    if let Some(w) = &data.weight {
        for v in w {
            h.update(&v.to_le_bytes());
        }
    }
    h.finalize().to_hex()[..32].to_owned()
}

/// The next free version under `models/<name>/`: `v1`, `v2`, ...
/// The next version folder's name under a model folder: `v1`, or one past the highest `vN`.
pub fn next_version(model_dir: &Path) -> String {
    let last = std::fs::read_dir(model_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix('v')?
                .parse::<u32>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    format!("v{}", last + 1)
}

fn io_error(path: &Path, e: std::io::Error) -> TrainError {
    TrainError::Read {
        file: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
fn chrono_day(days: i64) -> String {
    chrono::DateTime::from_timestamp(days * 86_400, 0)
        .map_or_else(|| format!("day {days}"), |d| d.date_naive().to_string())
}

/// Metrics of raw scores `raw` (ranking: AUC, KS, gains) and calibrated probabilities `p`
/// (log-loss, Brier, reliability) on `test`.
fn evaluate(test: &Dataset, rows_train: usize, raw: &[f64], p: &[f64]) -> Metrics {
    let y = &test.target;
    let auc = roc_auc(y, raw, None);
    let (reliability, ece) = reliability(y, p, None, 10);
    Metrics {
        rows_train,
        rows_test: test.n_rows(),
        positive_rate_test: y.iter().sum::<f64>() / y.len() as f64,
        roc_auc: auc,
        gini: 2.0 * auc - 1.0,
        ks: ks(y, raw, None),
        log_loss: log_loss(y, p, None),
        brier: brier(y, p, None),
        expected_calibration_error: ece,
        reliability,
        gains: gains(y, p, 10),
        trees: 0,
        roc_curve: roc_curve(y, raw, 200),
        cv_roc_auc: None,
        importance: Vec::new(),
    }
}

/// Trains, evaluates and writes `models_root/<name>/<version>/`.
///
/// Rows are split three ways (stratified, seeded): `test_fraction` for the reported metrics,
/// then `valid_fraction` of the rest for early stopping and calibration, and the remainder to
/// fit. Ranking metrics (AUC, Gini, KS) read raw scores; probability metrics (log-loss, Brier,
/// calibration error, reliability, gains) the calibrated probabilities.
pub fn run(cfg: &RunConfig, models_root: &Path) -> Result<RunOutcome, TrainError> {
    cfg.check()?;
    cfg.scorecard.check()?;
    let loaded = load_table(&TableSpec {
        path: cfg.data.table.clone(),
        target: cfg.data.target.clone(),
        id: cfg.data.id.clone(),
        drop: cfg.data.drop.clone(),
        weight: cfg.data.weight.clone(),
    })?;
    cfg.gbdt.check(&loaded.data.names)?;
    if !cfg.gbdt.objective.is_binary() {
        return Err(TrainError::Shape(
            "`recoup train` fits binary targets (gbdt.objective = \"binary\"); squared error \
             is for the uplift learners' second stage"
                .into(),
        ));
    }
    let data = &loaded.data;
    let s = &cfg.split;
    let mut notes = loaded.notes.clone();
    let time_split: Option<(Vec<usize>, Vec<usize>, i64)> = loaded
        .time
        .as_ref()
        .and_then(|t| split::by_time(t, s.test_fraction));
    let is_time_split = time_split.is_some();
    let (train_rows, test_rows, split_kind) = match time_split {
        Some((train, test, cutoff)) => {
            let day = chrono_day(cutoff);
            (train, test, format!("time: test = rows from {day} on"))
        }
        None => {
            if loaded.time.is_some() {
                notes.push("one period only: stratified split instead of a time split".into());
            }
            let (train, test) = split::stratified(&data.target, s.test_fraction, s.seed);
            (train, test, format!("stratified random, seed {}", s.seed))
        }
    };
    let train_all = data.take(&train_rows);
    let train_time: Option<Vec<i64>> = loaded
        .time
        .as_ref()
        .map(|t| train_rows.iter().map(|&r| t[r]).collect());
    for (side, rows) in [("training", &train_rows), ("test", &test_rows)] {
        let pos = rows.iter().filter(|&&r| data.target[r] == 1.0).count();
        if pos == 0 || pos == rows.len() {
            return Err(TrainError::Shape(format!(
                "the target `{}` is {} on every {side} row: there is nothing to learn or measure",
                cfg.data.target,
                if pos == 0 { 0 } else { 1 }
            )));
        }
    }
    // Level ranks come from the training rows only, then every model reads ranks.
    let ranks = category_ranks(&train_all);
    let train_all = train_all.with_category_ranks(&ranks);
    let test = data.take(&test_rows).with_category_ranks(&ranks);
    let (fit_rows, cal_rows) = match train_time
        .as_ref()
        .and_then(|t| split::by_time(t, s.valid_fraction))
    {
        Some((fit_rows, cal_rows, _)) if is_time_split => (fit_rows, cal_rows),
        _ => split::stratified(&train_all.target, s.valid_fraction, s.seed.wrapping_add(1)),
    };
    let (train, cal) = (train_all.take(&fit_rows), train_all.take(&cal_rows));

    let model = fit(
        &cfg.gbdt,
        &train,
        (cfg.gbdt.early_stopping_rounds > 0).then_some(&cal),
    )?;
    // Each side's rows are laid out once and scored by every model.
    let nf = data.n_features();
    let (cal_x, test_x) = (cal.row_major(), test.row_major());
    let trees = |x: &[f64], e: &recoup_model::TreeEnsemble| map_rows(x, nf, |r| e.predict_raw(r));
    let (calibration, calibration_choice) =
        calibrate::choose(&trees(&cal_x, &model.ensemble), &cal.target);
    let raw_test = trees(&test_x, &model.ensemble);
    let p_test: Vec<f64> = raw_test.iter().map(|&r| calibration.apply(r)).collect();
    let channel_comparison = match &cfg.compare_per_channel {
        None => None,
        Some(column) => {
            let f = data.names.iter().position(|n| n == column).ok_or_else(|| {
                TrainError::ColumnNotFound {
                    file: cfg.data.table.clone(),
                    column: column.clone(),
                }
            })?;
            let (FeatureKind::Categorical { levels }, Some(rank)) = (&data.kinds[f], &ranks[f])
            else {
                return Err(TrainError::Shape(format!(
                    "--compare-per-channel {column}: the column is not categorical (text)"
                )));
            };
            let mut by_rank = vec![String::new(); levels.len()];
            for (code, r) in rank.iter().enumerate() {
                by_rank[*r as usize] = levels[code].clone();
            }
            Some(channel::compare(
                &cfg.gbdt, column, f, &by_rank, &train, &cal, &test, &raw_test,
            )?)
        }
    };
    let mut metrics = evaluate(&test, train.n_rows(), &raw_test, &p_test);
    metrics.trees = model.ensemble.trees.len();
    metrics.cv_roc_auc = if s.folds > 1 {
        let folds = split::stratified_folds(&train_all.target, s.folds, s.seed.wrapping_add(2));
        let mut aucs = Vec::new();
        for held in &folds {
            let mut is_held = vec![false; train_all.n_rows()];
            for &r in held {
                is_held[r] = true;
            }
            let rest: Vec<usize> = (0..train_all.n_rows()).filter(|&r| !is_held[r]).collect();
            let params = GbdtParams {
                early_stopping_rounds: 0,
                n_trees: model.best_n_trees,
                ..cfg.gbdt.clone()
            };
            let m = fit(&params, &train_all.take(&rest), None)?;
            let part = train_all.take(held);
            aucs.push(roc_auc(
                &part.target,
                &trees(&part.row_major(), &m.ensemble),
                None,
            ));
        }
        let mean = aucs.iter().sum::<f64>() / aucs.len() as f64;
        let var = aucs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (aucs.len() - 1) as f64;
        Some((mean, var.sqrt()))
    } else {
        None
    };
    metrics.importance = data
        .names
        .iter()
        .enumerate()
        .map(|(f, n)| Importance {
            feature: n.clone(),
            gain: model.importance_gain[f],
            splits: model.importance_splits[f],
        })
        .collect();
    metrics
        .importance
        .sort_by(|a, b| b.gain.total_cmp(&a.gain).then(a.feature.cmp(&b.feature)));

    // The scorecard baseline on the same rows.
    let card = scorecard::fit(&cfg.scorecard, &train)?;
    let card_raw = |x: &[f64]| map_rows(x, nf, |r| card.predict_raw(r));
    let (card_calibration, card_calibration_choice) =
        calibrate::choose(&card_raw(&cal_x), &cal.target);
    let card_raw_test = card_raw(&test_x);
    let card_p: Vec<f64> = card_raw_test
        .iter()
        .map(|&r| card_calibration.apply(r))
        .collect();
    let card_metrics = evaluate(&test, train.n_rows(), &card_raw_test, &card_p);
    let coefficients: Vec<Coefficient> = card
        .features
        .iter()
        .map(|f| Coefficient {
            feature: data.names[f.feature as usize].clone(),
            coefficient: f.coefficient,
            bins: f.woe.len(),
        })
        .collect();

    let columns: Vec<FeatureColumn> = data
        .names
        .iter()
        .zip(&loaded.dtypes)
        .enumerate()
        .map(|(f, (name, dtype))| FeatureColumn {
            name: name.clone(),
            dtype: dtype.clone(),
            categories: match (&data.kinds[f], &ranks[f]) {
                (FeatureKind::Categorical { levels }, Some(rank)) => {
                    let mut by_rank: Vec<(f64, &String)> =
                        rank.iter().copied().zip(levels).collect();
                    by_rank.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Some(by_rank.into_iter().map(|(_, l)| l.clone()).collect())
                }
                _ => None,
            },
        })
        .collect();
    let schema = ModelSchema::new(columns);
    let train_fingerprint = fingerprint(&train);
    let headline = |m: &Metrics, c: &CalibrationChoice| {
        serde_json::json!({
            "roc_auc": m.roc_auc,
            "log_loss": m.log_loss,
            "rows_test": m.rows_test,
            "calibration": c.chosen,
        })
    };
    let file = ModelFile::new(
        ModelKind::GbdtBinary,
        cfg.data.target.clone(),
        schema.clone(),
        train_fingerprint.clone(),
        cfg.gbdt.seed,
        serde_json::to_value(&cfg.gbdt).unwrap_or_default(),
        headline(&metrics, &calibration_choice),
        ModelBody {
            scorer: Scorer::Trees(model.ensemble),
            calibration,
        },
    );
    let card_file = ModelFile::new(
        ModelKind::ScorecardBinary,
        cfg.data.target.clone(),
        schema,
        train_fingerprint.clone(),
        0,
        serde_json::to_value(&cfg.scorecard).unwrap_or_default(),
        headline(&card_metrics, &card_calibration_choice),
        ModelBody {
            scorer: Scorer::Scorecard(card),
            calibration: card_calibration,
        },
    );
    let report = RunMetrics {
        channel_comparison,
        split: split_kind,
        gbdt: metrics,
        gbdt_calibration: calibration_choice,
        scorecard: card_metrics,
        scorecard_calibration: card_calibration_choice,
        scorecard_coefficients: coefficients,
    };

    // Both models as ONNX beside their native files (exact in double precision). A model ONNX
    // cannot express (a feature name with a comma) is noted and written without its ONNX file.
    let mut onnx = Vec::new();
    for (model, native, name) in [
        (&file, "model.json", "model.onnx"),
        (&card_file, "scorecard.json", "scorecard.onnx"),
    ] {
        match recoup_export::to_onnx(model, native) {
            Ok(bytes) => onnx.push((name, bytes)),
            Err(recoup_export::ExportError::Unsupported { reason, .. }) => {
                notes.push(format!("no {name}: {reason}"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let model_dir = models_root.join(&cfg.name);
    std::fs::create_dir_all(&model_dir).map_err(|e| io_error(&model_dir, e))?;
    let version = next_version(&model_dir);
    let dir = model_dir.join(&version);
    let tmp = model_dir.join(format!(".{version}.tmp-{}", std::process::id()));
    let write_all = || -> Result<(), TrainError> {
        std::fs::create_dir_all(&tmp).map_err(|e| io_error(&tmp, e))?;
        file.save(&tmp.join("model.json"))?;
        card_file.save(&tmp.join("scorecard.json"))?;
        for (name, bytes) in &onnx {
            recoup_model::artifact::write_atomic(&tmp.join(name), bytes)?;
        }
        let metrics_json = serde_json::to_string_pretty(&report).unwrap_or_default();
        recoup_model::artifact::write_atomic(&tmp.join("metrics.json"), metrics_json.as_bytes())?;
        recoup_model::artifact::write_atomic(
            &tmp.join("report.html"),
            crate::report::html(cfg, &version, &report).as_bytes(),
        )?;
        recoup_model::artifact::write_atomic(
            &tmp.join("card.md"),
            crate::report::model_card(cfg, &version, &report, &data.names, &train_fingerprint)
                .as_bytes(),
        )?;
        let run_toml = toml::to_string(cfg).map_err(|e| TrainError::Shape(e.to_string()))?;
        recoup_model::artifact::write_atomic(&tmp.join("run.toml"), run_toml.as_bytes())?;
        std::fs::rename(&tmp, &dir).map_err(|e| io_error(&dir, e))?;
        recoup_model::artifact::write_atomic(
            &model_dir.join("latest"),
            format!("{version}\n").as_bytes(),
        )?;
        Ok(())
    };
    if let Err(e) = write_all() {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(RunOutcome {
        dir,
        version,
        metrics: report,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_print_as_dates() {
        assert_eq!(chrono_day(0), "1970-01-01");
        assert_eq!(chrono_day(20_788), "2026-12-01");
        assert_eq!(chrono_day(-1), "1969-12-31");
        assert_eq!(chrono_day(11_016), "2000-02-29");
    }
}
