//! The interpretable baseline: logistic regression on weight-of-evidence bins.
//!
//! Each feature is cut into at most `max_bins` equal-frequency bins (a bin per value when there
//! are fewer, plus one for missing values); each bin's weight of evidence is its smoothed
//! log-odds minus the overall log-odds. A ridge-penalised logistic regression on those values,
//! fitted by Newton's method (IRLS), gives one coefficient per feature, which reads as "how much
//! of the feature's univariate evidence survives next to the others".

use recoup_core::InvalidSetting;
use recoup_model::{Scorecard, ScorecardFeature};
use serde::{Deserialize, Serialize};

use crate::binning::BinMapper;
use crate::dataset::Dataset;
use crate::error::TrainError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScorecardParams {
    pub max_bins: usize,
    /// Ridge penalty on the coefficients (not the intercept).
    pub l2: f64,
    pub max_iter: usize,
}

impl Default for ScorecardParams {
    fn default() -> Self {
        Self {
            max_bins: 10,
            l2: 1.0,
            max_iter: 100,
        }
    }
}

impl ScorecardParams {
    pub fn check(&self) -> Result<(), InvalidSetting> {
        if !(2..=255).contains(&self.max_bins) {
            return Err(InvalidSetting::new(
                "scorecard.max_bins",
                self.max_bins,
                "between 2 and 255",
            ));
        }
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return Err(InvalidSetting::new(
                "scorecard.l2",
                self.l2,
                "a finite number >= 0",
            ));
        }
        if self.max_iter == 0 {
            return Err(InvalidSetting::new("scorecard.max_iter", 0, "at least 1"));
        }
        Ok(())
    }
}

/// Solves `a x = b` for a symmetric positive definite `a` (row-major, n x n) by Cholesky.
fn cholesky_solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * y[k];
        }
        y[i] = s / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in i + 1..n {
            s -= l[k * n + i] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
    Some(x)
}

/// Fits the scorecard. Features whose bins carry no evidence (a single bin) are left out.
pub fn fit(params: &ScorecardParams, data: &Dataset) -> Result<Scorecard, TrainError> {
    params.check()?;
    let n = data.n_rows();
    let (mut pos, mut neg) = (0.0, 0.0);
    for r in 0..n {
        let w = data.weight(r);
        if data.target[r] == 1.0 {
            pos += w;
        } else {
            neg += w;
        }
    }
    if pos == 0.0 || neg == 0.0 {
        return Err(TrainError::ConstantTarget {
            value: if pos == 0.0 { 0.0 } else { 1.0 },
        });
    }
    let prior = (pos / neg).ln();
    let mut features = Vec::new();
    let mut woe_cols: Vec<Vec<f64>> = Vec::new();
    for (f, col) in data.columns.iter().enumerate() {
        let m = BinMapper::fit(col, params.max_bins);
        let nb = m.n_bins();
        let mut counts = vec![(0.0f64, 0.0f64); nb];
        for (r, &x) in col.iter().enumerate() {
            let c = &mut counts[m.bin(x) as usize];
            if data.target[r] == 1.0 {
                c.0 += data.weight(r);
            } else {
                c.1 += data.weight(r);
            }
        }
        let woe: Vec<f64> = counts
            .iter()
            .map(|&(p, q)| ((p + 0.5) / (q + 0.5)).ln() - prior)
            .collect();
        let nv = m.n_value_bins();
        let missing_woe = if m.has_missing { woe[nv] } else { 0.0 };
        if nv < 2 && !m.has_missing {
            continue;
        }
        woe_cols.push(col.iter().map(|&x| woe[m.bin(x) as usize]).collect());
        features.push(ScorecardFeature {
            feature: f as u32,
            // JSON has no infinity; every finite value is <= f64::MAX alike, and an infinite
            // value falls in the last bin either way.
            upper: m.upper.iter().map(|u| u.min(f64::MAX)).collect(),
            woe: woe[..nv].to_vec(),
            missing_woe,
            coefficient: 0.0,
        });
    }
    let p = features.len() + 1;
    let mut beta = vec![0.0; p];
    beta[0] = (pos / (pos + neg) / (1.0 - pos / (pos + neg))).ln();
    let mut x = vec![0.0; p];
    let objective = |beta: &[f64]| -> f64 {
        let mut loss = 0.0;
        for r in 0..n {
            let mut z = beta[0];
            for (k, c) in woe_cols.iter().enumerate() {
                z += beta[k + 1] * c[r];
            }
            // log(1 + e^z) - y z, computed without overflow.
            let softplus = if z > 0.0 {
                z + (-z).exp().ln_1p()
            } else {
                z.exp().ln_1p()
            };
            loss += data.weight(r) * (softplus - data.target[r] * z);
        }
        loss + 0.5 * params.l2 * beta[1..].iter().map(|b| b * b).sum::<f64>()
    };
    for _ in 0..params.max_iter {
        let mut h = vec![0.0; p * p];
        let mut g = vec![0.0; p];
        for r in 0..n {
            x[0] = 1.0;
            for (k, c) in woe_cols.iter().enumerate() {
                x[k + 1] = c[r];
            }
            let z: f64 = x.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let pr = recoup_model::sigmoid(z);
            let w = data.weight(r);
            let d = w * (pr - data.target[r]);
            let v = w * (pr * (1.0 - pr)).max(1e-12);
            for i in 0..p {
                g[i] += d * x[i];
                for j in 0..=i {
                    h[i * p + j] += v * x[i] * x[j];
                }
            }
        }
        for i in 0..p {
            for j in 0..i {
                h[j * p + i] = h[i * p + j];
            }
        }
        for i in 1..p {
            h[i * p + i] += params.l2;
            g[i] += params.l2 * beta[i];
        }
        let step = cholesky_solve(&h, &g, p)
            .ok_or_else(|| TrainError::Shape("the scorecard's Newton system is singular".into()))?;
        // Damped Newton: halve the step until the penalised loss goes down.
        let current = objective(&beta);
        let mut t = 1.0;
        let mut accepted = false;
        for _ in 0..40 {
            let trial: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - t * s).collect();
            if objective(&trial) <= current {
                beta = trial;
                accepted = true;
                break;
            }
            t /= 2.0;
        }
        let largest = step.iter().fold(0.0f64, |m, s| m.max((t * s).abs()));
        if !accepted || largest < 1e-10 {
            break;
        }
    }
    for (f, b) in features.iter_mut().zip(&beta[1..]) {
        f.coefficient = *b;
    }
    Ok(Scorecard {
        n_features: data.n_features(),
        intercept: beta[0],
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::FeatureKind;

    #[test]
    fn cholesky_solves_a_small_system() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = cholesky_solve(&a, &[2.0, 1.0], 2).unwrap();
        assert!((4.0 * x[0] + 2.0 * x[1] - 2.0).abs() < 1e-12);
        assert!((2.0 * x[0] + 3.0 * x[1] - 1.0).abs() < 1e-12);
        assert!(cholesky_solve(&[0.0], &[1.0], 1).is_none());
    }

    #[test]
    fn one_binary_feature_reproduces_the_bin_rates() {
        // Bin a: 30 of 100 positive; bin b: 70 of 100. Without a penalty the fitted
        // probabilities are the bin rates (logistic regression on a saturated design).
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let b = i / 100;
            x.push(b as f64);
            let k = i % 100;
            y.push(f64::from(if b == 0 { k < 30 } else { k < 70 }));
        }
        let data = Dataset::new(
            vec!["x".into()],
            vec![FeatureKind::Numeric],
            vec![x],
            y,
            None,
        )
        .unwrap();
        let params = ScorecardParams {
            l2: 0.0,
            ..ScorecardParams::default()
        };
        let s = fit(&params, &data).unwrap();
        let p0 = recoup_model::sigmoid(s.predict_raw(&[0.0]));
        let p1 = recoup_model::sigmoid(s.predict_raw(&[1.0]));
        assert!(
            (p0 - 0.3).abs() < 1e-6 && (p1 - 0.7).abs() < 1e-6,
            "{p0} {p1}"
        );
        // The smoothed weights of evidence nearly equal the bin log-odds, so the coefficient
        // is close to 1.
        assert!((s.features[0].coefficient - 1.0).abs() < 0.05);
    }
}
