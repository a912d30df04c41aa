//! Scorecards and calibration maps as plain data.

use serde::{Deserialize, Serialize};

/// One feature of a weight-of-evidence scorecard: the feature's value falls in a bin
/// (`x <= upper[b]`, the first such `b`; NaN in the missing bin), the bin has a weight of
/// evidence, and the feature contributes `coefficient * woe` to the log-odds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorecardFeature {
    pub feature: u32,
    pub upper: Vec<f64>,
    pub woe: Vec<f64>,
    pub missing_woe: f64,
    pub coefficient: f64,
}

impl ScorecardFeature {
    pub fn woe_of(&self, x: f64) -> f64 {
        if x.is_nan() {
            return self.missing_woe;
        }
        let b = self.upper.partition_point(|&u| u < x);
        self.woe[b.min(self.woe.len() - 1)]
    }
}

/// A logistic regression on binned weights of evidence: `raw = intercept + sum of
/// coefficient * woe`, `p = sigmoid(raw)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub n_features: usize,
    pub intercept: f64,
    pub features: Vec<ScorecardFeature>,
}

impl Scorecard {
    pub fn predict_raw(&self, row: &[f64]) -> f64 {
        self.intercept
            + self
                .features
                .iter()
                .map(|f| f.coefficient * f.woe_of(row[f.feature as usize]))
                .sum::<f64>()
    }

    pub fn check(&self) -> Result<(), String> {
        for f in &self.features {
            if f.feature as usize >= self.n_features {
                return Err(format!("feature {} out of range", f.feature));
            }
            if f.woe.len() != f.upper.len() || f.woe.is_empty() {
                return Err(format!(
                    "feature {}: {} bounds, {} bins",
                    f.feature,
                    f.upper.len(),
                    f.woe.len()
                ));
            }
        }
        Ok(())
    }
}

/// A map from raw scores (log-odds) to calibrated probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum Calibration {
    /// p = sigmoid(raw).
    None,
    /// Platt scaling: p = sigmoid(a * raw + b).
    Platt { a: f64, b: f64 },
    /// Isotonic regression: a non-decreasing piecewise-linear map through the points
    /// (x[i], y[i]) (x increasing), flat outside them.
    Isotonic { x: Vec<f64>, y: Vec<f64> },
}

impl Calibration {
    pub fn apply(&self, raw: f64) -> f64 {
        match self {
            Calibration::None => crate::sigmoid(raw),
            Calibration::Platt { a, b } => crate::sigmoid(a * raw + b),
            Calibration::Isotonic { x, y } => {
                let i = x.partition_point(|&v| v < raw);
                if i == 0 {
                    y[0]
                } else if i == x.len() {
                    y[x.len() - 1]
                } else {
                    let t = (raw - x[i - 1]) / (x[i] - x[i - 1]);
                    y[i - 1] + t * (y[i] - y[i - 1])
                }
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Calibration::None => "none",
            Calibration::Platt { .. } => "platt",
            Calibration::Isotonic { .. } => "isotonic",
        }
    }

    pub fn check(&self) -> Result<(), String> {
        if let Calibration::Isotonic { x, y } = self {
            if x.is_empty() || x.len() != y.len() {
                return Err("isotonic calibration needs as many y as x, at least one".into());
            }
            if x.windows(2).any(|w| w[1] <= w[0]) || y.windows(2).any(|w| w[1] < w[0]) {
                return Err("isotonic calibration points must increase".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scorecard_adds_weighted_woe() {
        let s = Scorecard {
            n_features: 2,
            intercept: -1.0,
            features: vec![ScorecardFeature {
                feature: 1,
                upper: vec![10.0, f64::INFINITY],
                woe: vec![0.5, -0.5],
                missing_woe: 0.0,
                coefficient: 2.0,
            }],
        };
        s.check().unwrap();
        assert_eq!(s.predict_raw(&[99.0, 10.0]), 0.0);
        assert_eq!(s.predict_raw(&[99.0, 11.0]), -2.0);
        assert_eq!(s.predict_raw(&[99.0, f64::NAN]), -1.0);
    }

    #[test]
    fn calibrations_map_raw_scores() {
        assert_eq!(Calibration::None.apply(0.0), 0.5);
        let p = Calibration::Platt { a: 2.0, b: 1.0 };
        assert!((p.apply(-0.5) - 0.5).abs() < 1e-15);
        let iso = Calibration::Isotonic {
            x: vec![-1.0, 1.0],
            y: vec![0.2, 0.6],
        };
        iso.check().unwrap();
        assert_eq!(iso.apply(-5.0), 0.2);
        assert!((iso.apply(0.0) - 0.4).abs() < 1e-15);
        assert_eq!(iso.apply(5.0), 0.6);
        let bad = Calibration::Isotonic {
            x: vec![1.0, 1.0],
            y: vec![0.2, 0.6],
        };
        assert!(bad.check().is_err());
    }
}
