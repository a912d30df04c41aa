//! Calibration of raw scores on held-out rows: Platt scaling, isotonic regression, or none,
//! chosen by cross-fitted log-loss.

use recoup_model::Calibration;
use serde::{Deserialize, Serialize};

use crate::metrics::log_loss;

/// Platt scaling: the (a, b) of p = sigmoid(a * raw + b) with the least log-loss (Newton's
/// method; a tiny ridge keeps separable data finite).
pub fn platt(raw: &[f64], y: &[f64]) -> Calibration {
    let (mut a, mut b) = (1.0, 0.0);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (1e-6 * a, 1e-6 * b, 1e-6, 0.0, 1e-6);
        for (&s, &t) in raw.iter().zip(y) {
            let p = recoup_model::sigmoid(a * s + b);
            let d = p - t;
            let v = (p * (1.0 - p)).max(1e-12);
            ga += d * s;
            gb += d;
            haa += v * s * s;
            hab += v * s;
            hbb += v;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-300 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs().max(db.abs()) < 1e-12 {
            break;
        }
    }
    Calibration::Platt { a, b }
}

/// Isotonic regression by pool-adjacent-violators on rows sorted by raw score; equal scores
/// are pooled first, so the map's x values strictly increase.
pub fn isotonic(raw: &[f64], y: &[f64]) -> Calibration {
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_unstable_by(|&i, &j| raw[i].total_cmp(&raw[j]));
    // Blocks: (sum of raw, sum of y, count).
    let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
    let mut last = f64::NAN;
    for i in order {
        if raw[i] == last {
            let b = blocks
                .last_mut()
                .expect("a block exists after the first row");
            b.0 += raw[i];
            b.1 += y[i];
            b.2 += 1.0;
        } else {
            blocks.push((raw[i], y[i], 1.0));
            last = raw[i];
        }
        while blocks.len() > 1 {
            let n = blocks.len();
            let (a, b) = (blocks[n - 2], blocks[n - 1]);
            if a.1 / a.2 < b.1 / b.2 {
                break;
            }
            blocks[n - 2] = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
            blocks.pop();
        }
    }
    Calibration::Isotonic {
        x: blocks.iter().map(|b| b.0 / b.2).collect(),
        y: blocks.iter().map(|b| b.1 / b.2).collect(),
    }
}

/// Fits a calibration map to (raw score, outcome) pairs.
type Fitter = fn(&[f64], &[f64]) -> Calibration;

/// How each calibration method did in cross-fitting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationChoice {
    pub chosen: String,
    /// (method, mean log-loss on the half it was not fitted on).
    pub candidates: Vec<(String, f64)>,
    pub rows: usize,
}

/// Fits each method on one half of the rows (alternate rows by score order) and measures it on
/// the other, both ways round; keeps the method with the lowest mean log-loss and refits it on
/// every row.
pub fn choose(raw: &[f64], y: &[f64]) -> (Calibration, CalibrationChoice) {
    let fitters: [(&str, Fitter); 3] = [
        ("none", |_, _| Calibration::None),
        ("platt", platt),
        ("isotonic", isotonic),
    ];
    let halves: [Vec<usize>; 2] = [
        (0..raw.len()).filter(|i| i % 2 == 0).collect(),
        (0..raw.len()).filter(|i| i % 2 == 1).collect(),
    ];
    let pick = |rows: &[usize], v: &[f64]| rows.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let mut candidates = Vec::new();
    for (name, fitter) in fitters {
        let mut loss = 0.0;
        for k in 0..2 {
            let (fit_rows, eval_rows) = (&halves[k], &halves[1 - k]);
            let c = fitter(&pick(fit_rows, raw), &pick(fit_rows, y));
            let p: Vec<f64> = eval_rows.iter().map(|&i| c.apply(raw[i])).collect();
            loss += log_loss(&pick(eval_rows, y), &p, None) / 2.0;
        }
        candidates.push((name.to_owned(), loss));
    }
    let best = candidates
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
        .map_or(0, |(i, _)| i);
    let calibration = fitters[best].1(raw, y);
    (
        calibration,
        CalibrationChoice {
            chosen: fitters[best].0.to_owned(),
            candidates,
            rows: raw.len(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_pools_violators() {
        let raw = [1.0, 2.0, 3.0, 4.0];
        let y = [0.0, 1.0, 0.0, 1.0];
        let Calibration::Isotonic { x, y } = isotonic(&raw, &y) else {
            unreachable!()
        };
        assert_eq!(x, vec![1.0, 2.5, 4.0]);
        assert_eq!(y, vec![0.0, 0.5, 1.0]);
    }

    #[test]
    fn platt_recovers_a_scaled_logistic() {
        // Outcomes drawn exactly at rate sigmoid(2 s - 1) on a grid (as frequencies).
        let mut raw = Vec::new();
        let mut y = Vec::new();
        for k in 0..41 {
            let s = -2.0 + 0.1 * f64::from(k);
            let p = recoup_model::sigmoid(2.0 * s - 1.0);
            let pos = (p * 1000.0).round() as usize;
            for i in 0..1000 {
                raw.push(s);
                y.push(f64::from(i < pos));
            }
        }
        let Calibration::Platt { a, b } = platt(&raw, &y) else {
            unreachable!()
        };
        assert!((a - 2.0).abs() < 0.01 && (b + 1.0).abs() < 0.01, "{a} {b}");
        let (_, choice) = choose(&raw, &y);
        assert_ne!(choice.chosen, "none", "{choice:?}");
    }
}
