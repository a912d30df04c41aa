//! Binary classification metrics, weighted, with ties handled exactly.

use serde::{Deserialize, Serialize};

fn w_at(w: Option<&[f64]>, i: usize) -> f64 {
    w.map_or(1.0, |w| w[i])
}

/// Rows grouped by equal score, in increasing score: (score, weight of positives, of negatives).
fn tie_groups(y: &[f64], p: &[f64], w: Option<&[f64]>) -> Vec<(f64, f64, f64)> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_unstable_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut groups: Vec<(f64, f64, f64)> = Vec::new();
    for i in order {
        let (pos, neg) = if y[i] > 0.5 {
            (w_at(w, i), 0.0)
        } else {
            (0.0, w_at(w, i))
        };
        match groups.last_mut() {
            Some(g) if g.0 == p[i] => {
                g.1 += pos;
                g.2 += neg;
            }
            _ => groups.push((p[i], pos, neg)),
        }
    }
    groups
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half. NaN when one class is absent.
pub fn roc_auc(y: &[f64], p: &[f64], w: Option<&[f64]>) -> f64 {
    let groups = tie_groups(y, p, w);
    let (mut neg_below, mut area) = (0.0, 0.0);
    for &(_, pos, neg) in &groups {
        area += pos * (neg_below + neg / 2.0);
        neg_below += neg;
    }
    let total_pos: f64 = groups.iter().map(|g| g.1).sum();
    area / (total_pos * neg_below)
}

/// Points (false positive rate, true positive rate) of the ROC curve from (0, 0) to (1, 1),
/// thinned to at most `max_points` by keeping evenly spaced thresholds.
pub fn roc_curve(y: &[f64], p: &[f64], max_points: usize) -> Vec<(f64, f64)> {
    let groups = tie_groups(y, p, None);
    let total_pos: f64 = groups.iter().map(|g| g.1).sum();
    let total_neg: f64 = groups.iter().map(|g| g.2).sum();
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    // Highest scores first: lowering the threshold adds each tie group.
    for &(_, pos, neg) in groups.iter().rev() {
        tp += pos;
        fp += neg;
        points.push((fp / total_neg, tp / total_pos));
    }
    if points.len() > max_points && max_points >= 2 {
        let last = points.len() - 1;
        points = (0..max_points)
            .map(|k| points[k * last / (max_points - 1)])
            .collect();
    }
    points
}

/// Kolmogorov-Smirnov statistic: the largest gap between the cumulative score distributions
/// of positives and negatives.
pub fn ks(y: &[f64], p: &[f64], w: Option<&[f64]>) -> f64 {
    let groups = tie_groups(y, p, w);
    let total_pos: f64 = groups.iter().map(|g| g.1).sum();
    let total_neg: f64 = groups.iter().map(|g| g.2).sum();
    let (mut cp, mut cn, mut best) = (0.0, 0.0, 0.0f64);
    for &(_, pos, neg) in &groups {
        cp += pos;
        cn += neg;
        best = best.max((cn / total_neg - cp / total_pos).abs());
    }
    best
}

/// Mean log-loss, probabilities clipped to [1e-15, 1 - 1e-15].
/// Weighted mean of (y - prediction)^2.
pub fn mean_squared_error(y: &[f64], prediction: &[f64], w: Option<&[f64]>) -> f64 {
    let (mut sum, mut total) = (0.0, 0.0);
    for (i, (t, p)) in y.iter().zip(prediction).enumerate() {
        let wi = w.map_or(1.0, |w| w[i]);
        sum += wi * (t - p) * (t - p);
        total += wi;
    }
    sum / total
}

pub fn log_loss(y: &[f64], p: &[f64], w: Option<&[f64]>) -> f64 {
    let (mut s, mut sw) = (0.0, 0.0);
    for i in 0..y.len() {
        let q = p[i].clamp(1e-15, 1.0 - 1e-15);
        s -= w_at(w, i) * (y[i] * q.ln() + (1.0 - y[i]) * (1.0 - q).ln());
        sw += w_at(w, i);
    }
    s / sw
}

/// Mean squared error of the probabilities.
pub fn brier(y: &[f64], p: &[f64], w: Option<&[f64]>) -> f64 {
    let (mut s, mut sw) = (0.0, 0.0);
    for i in 0..y.len() {
        s += w_at(w, i) * (p[i] - y[i]).powi(2);
        sw += w_at(w, i);
    }
    s / sw
}

/// One bin of a reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub weight: f64,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// Equal-width probability bins (empty ones omitted) and the expected calibration error: the
/// weight-averaged |mean predicted - observed rate| over the bins.
pub fn reliability(
    y: &[f64],
    p: &[f64],
    w: Option<&[f64]>,
    bins: usize,
) -> (Vec<ReliabilityBin>, f64) {
    let mut acc = vec![(0.0, 0.0, 0.0); bins];
    for i in 0..y.len() {
        let b = ((p[i] * bins as f64) as usize).min(bins - 1);
        acc[b].0 += w_at(w, i);
        acc[b].1 += w_at(w, i) * p[i];
        acc[b].2 += w_at(w, i) * y[i];
    }
    let total: f64 = acc.iter().map(|a| a.0).sum();
    let mut ece = 0.0;
    let table = acc
        .iter()
        .enumerate()
        .filter(|(_, a)| a.0 > 0.0)
        .map(|(b, &(sw, sp, sy))| {
            ece += sw / total * (sp / sw - sy / sw).abs();
            ReliabilityBin {
                lower: b as f64 / bins as f64,
                upper: (b + 1) as f64 / bins as f64,
                weight: sw,
                mean_predicted: sp / sw,
                observed_rate: sy / sw,
            }
        })
        .collect();
    (table, ece)
}

/// One group of a gains table, highest scores first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GainsRow {
    pub group: usize,
    pub rows: usize,
    pub min_score: f64,
    pub positive_rate: f64,
    /// Share of all positives found in this and the higher groups.
    pub cumulative_capture: f64,
    /// Positive rate of this and the higher groups over the overall rate.
    pub cumulative_lift: f64,
}

/// Gains and lift by equal-count groups (deciles for `groups = 10`), unweighted.
pub fn gains(y: &[f64], p: &[f64], groups: usize) -> Vec<GainsRow> {
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    let total_pos: f64 = y.iter().sum();
    let overall = total_pos / n as f64;
    let (mut cum_pos, mut cum_n) = (0.0, 0usize);
    (0..groups)
        .filter_map(|g| {
            let (lo, hi) = (g * n / groups, (g + 1) * n / groups);
            if hi == lo {
                return None;
            }
            let rows = &order[lo..hi];
            let pos: f64 = rows.iter().map(|&i| y[i]).sum();
            cum_pos += pos;
            cum_n += rows.len();
            Some(GainsRow {
                group: g + 1,
                rows: rows.len(),
                min_score: p[rows[rows.len() - 1]],
                positive_rate: pos / rows.len() as f64,
                cumulative_capture: cum_pos / total_pos,
                cumulative_lift: (cum_pos / cum_n as f64) / overall,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_pairs_and_half_ties() {
        // Positives 0.9, 0.5; negatives 0.5, 0.1: pairs (0.9>0.5) (0.9>0.1) (0.5=0.5) (0.5>0.1).
        let y = [1.0, 1.0, 0.0, 0.0];
        let p = [0.9, 0.5, 0.5, 0.1];
        assert!((roc_auc(&y, &p, None) - 3.5 / 4.0).abs() < 1e-15);
        // Weighting a row is the same as repeating it.
        let w = [1.0, 2.0, 1.0, 1.0];
        let y2 = [1.0, 1.0, 1.0, 0.0, 0.0];
        let p2 = [0.9, 0.5, 0.5, 0.5, 0.1];
        assert!((roc_auc(&y, &p, Some(&w)) - roc_auc(&y2, &p2, None)).abs() < 1e-15);
        assert!(roc_auc(&[1.0, 1.0], &[0.1, 0.2], None).is_nan());
    }

    #[test]
    fn roc_curve_runs_corner_to_corner_through_each_threshold() {
        let y = [1.0, 1.0, 0.0, 0.0];
        let p = [0.9, 0.5, 0.5, 0.1];
        assert_eq!(
            roc_curve(&y, &p, 100),
            vec![(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]
        );
        let many: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        let ys: Vec<f64> = (0..1000).map(|i| f64::from(i % 3 == 0)).collect();
        let c = roc_curve(&ys, &many, 50);
        assert_eq!(c.len(), 50);
        assert_eq!((c[0], c[49]), ((0.0, 0.0), (1.0, 1.0)));
    }

    #[test]
    fn ks_log_loss_and_brier_by_hand() {
        let y = [1.0, 0.0, 1.0, 0.0];
        let p = [0.8, 0.4, 0.6, 0.2];
        assert!((ks(&y, &p, None) - 1.0).abs() < 1e-15);
        let ll = -(0.8f64.ln() + 0.6f64.ln() + 0.6f64.ln() + 0.8f64.ln()) / 4.0;
        assert!((log_loss(&y, &p, None) - ll).abs() < 1e-15);
        assert!((brier(&y, &p, None) - (0.04 + 0.16 + 0.16 + 0.04) / 4.0).abs() < 1e-15);
    }

    #[test]
    fn reliability_and_ece_by_hand() {
        let y = [0.0, 1.0, 1.0, 1.0];
        let p = [0.05, 0.15, 0.95, 0.85];
        let (table, ece) = reliability(&y, &p, None, 2);
        assert_eq!(table.len(), 2);
        assert!((table[0].mean_predicted - 0.1).abs() < 1e-15);
        assert!((table[0].observed_rate - 0.5).abs() < 1e-15);
        assert!((ece - (0.5 * 0.4 + 0.5 * 0.1)).abs() < 1e-15);
    }

    #[test]
    fn gains_capture_every_positive_once() {
        let y = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let p = [0.9, 0.8, 0.1, 0.7, 0.2, 0.3, 0.1, 0.05, 0.01, 0.4];
        let g = gains(&y, &p, 5);
        assert_eq!(g.len(), 5);
        assert!((g[0].cumulative_capture - 0.5).abs() < 1e-15);
        assert!((g[1].cumulative_capture - 1.0).abs() < 1e-15);
        assert!((g[0].cumulative_lift - 2.5).abs() < 1e-15);
        assert!((g[4].cumulative_lift - 1.0).abs() < 1e-15);
    }
}
