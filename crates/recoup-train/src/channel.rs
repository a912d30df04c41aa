//! Channel-response models: one model with the channel as a feature ("pooled") or one model
//! per channel? Both are trained on the same rows and scored on the same test rows.

use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, map_rows};
use crate::error::TrainError;
use crate::gbdt::{GbdtParams, fit};
use crate::metrics::{log_loss, roc_auc};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRow {
    pub channel: String,
    pub rows_train: usize,
    pub rows_test: usize,
    pub pooled_roc_auc: f64,
    pub per_channel_roc_auc: f64,
    pub pooled_log_loss: f64,
    pub per_channel_log_loss: f64,
}

/// The comparison, per channel and over all test rows (uncalibrated probabilities on both
/// sides, so that neither benefits from calibration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelComparison {
    pub column: String,
    pub channels: Vec<ChannelRow>,
    pub pooled_roc_auc: f64,
    pub per_channel_roc_auc: f64,
    pub pooled_log_loss: f64,
    pub per_channel_log_loss: f64,
    /// `pooled` or `per_channel`: the lower overall log-loss.
    pub better: String,
}

fn rows_where(d: &Dataset, f: usize, v: f64) -> Vec<usize> {
    (0..d.n_rows()).filter(|&r| d.columns[f][r] == v).collect()
}

/// `train`, `cal` and `test` are the ranked datasets of the run; `levels[k]` is the name of
/// the channel whose ranked value is `k`; `pooled_raw` the pooled model's raw test scores.
#[allow(clippy::too_many_arguments)]
pub fn compare(
    params: &GbdtParams,
    column: &str,
    f: usize,
    levels: &[String],
    train: &Dataset,
    cal: &Dataset,
    test: &Dataset,
    pooled_raw: &[f64],
) -> Result<ChannelComparison, TrainError> {
    let sig = |v: &[f64]| {
        v.iter()
            .map(|&r| recoup_model::sigmoid(r))
            .collect::<Vec<f64>>()
    };
    let mut stitched_raw = pooled_raw.to_vec();
    let mut channels = Vec::new();
    for (k, name) in levels.iter().enumerate() {
        let v = k as f64;
        let (tr, te) = (rows_where(train, f, v), rows_where(test, f, v));
        let positives = tr.iter().filter(|&&r| train.target[r] == 1.0).count();
        if te.is_empty() || positives == 0 || positives == tr.len() {
            // A channel without both outcomes in training keeps the pooled scores.
            continue;
        }
        let ca = rows_where(cal, f, v);
        let cal_part = cal.take(&ca);
        let valid = (params.early_stopping_rounds > 0 && !ca.is_empty()).then_some(&cal_part);
        let p = GbdtParams {
            min_data_in_leaf: params.min_data_in_leaf.min(tr.len() / 4).max(1),
            ..params.clone()
        };
        let model = fit(&p, &train.take(&tr), valid)?;
        let part = test.take(&te);
        let own = map_rows(&part.row_major(), part.n_features(), |r| {
            model.ensemble.predict_raw(r)
        });
        let pooled: Vec<f64> = te.iter().map(|&r| pooled_raw[r]).collect();
        for (&r, &s) in te.iter().zip(&own) {
            stitched_raw[r] = s;
        }
        channels.push(ChannelRow {
            channel: name.clone(),
            rows_train: tr.len(),
            rows_test: te.len(),
            pooled_roc_auc: roc_auc(&part.target, &pooled, None),
            per_channel_roc_auc: roc_auc(&part.target, &own, None),
            pooled_log_loss: log_loss(&part.target, &sig(&pooled), None),
            per_channel_log_loss: log_loss(&part.target, &sig(&own), None),
        });
    }
    let pooled_log_loss = log_loss(&test.target, &sig(pooled_raw), None);
    let per_channel_log_loss = log_loss(&test.target, &sig(&stitched_raw), None);
    Ok(ChannelComparison {
        column: column.to_owned(),
        channels,
        pooled_roc_auc: roc_auc(&test.target, pooled_raw, None),
        per_channel_roc_auc: roc_auc(&test.target, &stitched_raw, None),
        pooled_log_loss,
        per_channel_log_loss,
        better: if per_channel_log_loss < pooled_log_loss {
            "per_channel"
        } else {
            "pooled"
        }
        .into(),
    })
}
