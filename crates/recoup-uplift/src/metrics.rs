//! Uplift metrics: uplift at k, the Qini and uplift curves and their normalised areas.
//!
//! The definitions are scikit-uplift's (`sklift.metrics`), so that figures compare one to one
//! with its published results: rows are ranked by predicted uplift, highest first, ties in
//! reverse row order (its `argsort(kind="mergesort")[::-1]`); curves are evaluated at the last
//! row of each run of equal scores; areas are trapezoids, normalised as (actual - random) /
//! (perfect - random).

/// Which rows "the top k" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopK {
    /// The top `floor(k * n)` rows of all; the treated and control among them are compared.
    Overall,
    /// The top `floor(k * n_treated)` treated rows and the top `floor(k * n_control)` control rows.
    ByGroup,
}

/// Row indices by predicted uplift, highest first, ties in reverse row order.
fn ranking(uplift: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..uplift.len()).collect();
    // A stable ascending sort reversed.
    order.sort_by(|&a, &b| uplift[a].total_cmp(&uplift[b]));
    order.reverse();
    order
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for v in values {
        s += v;
        n += 1;
    }
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// The outcome rate of the treated minus that of the control among the top `k` (a share in
/// (0, 1]) of rows ranked by `uplift`. NaN when a group has no row there.
pub fn uplift_at_k(y: &[f64], uplift: &[f64], treated: &[bool], k: f64, top: TopK) -> f64 {
    let order = ranking(uplift);
    match top {
        TopK::Overall => {
            let n = (k * y.len() as f64) as usize;
            let head = &order[..n.min(order.len())];
            mean(head.iter().filter(|&&r| treated[r]).map(|&r| y[r]))
                - mean(head.iter().filter(|&&r| !treated[r]).map(|&r| y[r]))
        }
        TopK::ByGroup => {
            let n_t = treated.iter().filter(|&&t| t).count();
            let n_c = treated.len() - n_t;
            let take = |group: bool, n: usize| {
                mean(
                    order
                        .iter()
                        .filter(|&&r| treated[r] == group)
                        .take(n)
                        .map(|&r| y[r]),
                )
            };
            take(true, (k * n_t as f64) as usize) - take(false, (k * n_c as f64) as usize)
        }
    }
}

/// A curve as (rows targeted, value) points, starting at (0, 0).
pub type Curve = Vec<(f64, f64)>;

/// Cumulative counts at the last row of each run of equal scores: (rows, treated, treated
/// outcome sum, control outcome sum).
fn cumulative(y: &[f64], uplift: &[f64], treated: &[bool]) -> Vec<(f64, f64, f64, f64)> {
    let order = ranking(uplift);
    let mut out = Vec::new();
    let (mut n_t, mut y_t, mut y_c) = (0.0, 0.0, 0.0);
    for (i, &r) in order.iter().enumerate() {
        if treated[r] {
            n_t += 1.0;
            y_t += y[r];
        } else {
            y_c += y[r];
        }
        let last_of_run = order
            .get(i + 1)
            .is_none_or(|&next| uplift[next] != uplift[r]);
        if last_of_run {
            out.push(((i + 1) as f64, n_t, y_t, y_c));
        }
    }
    out
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

fn with_origin(mut points: Curve) -> Curve {
    if points.first() != Some(&(0.0, 0.0)) {
        points.insert(0, (0.0, 0.0));
    }
    points
}

/// The Qini curve: at each cut, the treated's outcomes minus the control's scaled to the
/// treated count, `y_t - y_c * n_t / n_c`.
pub fn qini_curve(y: &[f64], uplift: &[f64], treated: &[bool]) -> Curve {
    with_origin(
        cumulative(y, uplift, treated)
            .into_iter()
            .map(|(n, n_t, y_t, y_c)| (n, y_t - y_c * ratio(n_t, n - n_t)))
            .collect(),
    )
}

/// The uplift curve: at each cut, the difference of the outcome rates times the rows,
/// `(y_t / n_t - y_c / n_c) * n`.
pub fn uplift_curve(y: &[f64], uplift: &[f64], treated: &[bool]) -> Curve {
    with_origin(
        cumulative(y, uplift, treated)
            .into_iter()
            .map(|(n, n_t, y_t, y_c)| (n, (ratio(y_t, n_t) - ratio(y_c, n - n_t)) * n))
            .collect(),
    )
}

fn area(c: &[(f64, f64)]) -> f64 {
    c.windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum()
}

/// (area of `actual` - random) / (area of `perfect` - random), the random line joining (0, 0)
/// to the perfect curve's end.
fn normalised(actual: &[(f64, f64)], perfect: &[(f64, f64)]) -> f64 {
    let end = perfect.last().copied().unwrap_or((0.0, 0.0));
    let random = area(&[(0.0, 0.0), end]);
    (area(actual) - random) / (area(perfect) - random)
}

/// The Qini coefficient: the Qini curve's area over the random targeting line, as a share of
/// the best ranking's (which puts the treated responders first and the control responders last,
/// allowing negative effects).
pub fn qini_coefficient(y: &[f64], uplift: &[f64], treated: &[bool]) -> f64 {
    let best: Vec<f64> = y
        .iter()
        .zip(treated)
        .map(|(&v, &t)| if t { v } else { -v })
        .collect();
    normalised(
        &qini_curve(y, uplift, treated),
        &qini_curve(y, &best, treated),
    )
}

/// The normalised area under the uplift curve (AUUC), as [`qini_coefficient`] does for Qini.
pub fn auuc(y: &[f64], uplift: &[f64], treated: &[bool]) -> f64 {
    let control_responders: f64 = y
        .iter()
        .zip(treated)
        .filter(|(_, t)| !**t)
        .map(|(v, _)| v)
        .sum();
    let treated_non_responders: f64 = y
        .iter()
        .zip(treated)
        .filter(|(_, t)| **t)
        .map(|(v, _)| 1.0 - v)
        .sum();
    let best: Vec<f64> = y
        .iter()
        .zip(treated)
        .map(|(&v, &t)| {
            let t = f64::from(u8::from(t));
            let summand = if control_responders > treated_non_responders {
                v
            } else {
                t
            };
            2.0 * f64::from(u8::from(v == t)) + summand
        })
        .collect();
    normalised(
        &uplift_curve(y, uplift, treated),
        &uplift_curve(y, &best, treated),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Six rows worked by hand. Ranked by uplift: rows 0 (0.9), 2 (0.7), 4 (0.5), 1 and 3 tied
    // at 0.3 (row 3 first: ties in reverse order), 5 (0.1).
    const Y: [f64; 6] = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
    const UPLIFT: [f64; 6] = [0.9, 0.3, 0.7, 0.3, 0.5, 0.1];
    const TREATED: [bool; 6] = [true, false, true, false, false, true];

    #[test]
    fn uplift_at_k_compares_the_groups_in_the_top_rows() {
        // Top 50% overall = rows 0, 2, 4: treated 0 and 2 (both 1), control 4 (0): 1 - 0.
        assert_eq!(uplift_at_k(&Y, &UPLIFT, &TREATED, 0.5, TopK::Overall), 1.0);
        // Top 2/3 overall = rows 0, 2, 4, 3: treated 1.0, control (0 + 1) / 2.
        assert_eq!(uplift_at_k(&Y, &UPLIFT, &TREATED, 0.7, TopK::Overall), 0.5);
        // By group at 0.67: floor(2.01) = 2 treated (rows 0, 2: rate 1), 2 control (rows 4, 3:
        // rate 0.5).
        assert_eq!(uplift_at_k(&Y, &UPLIFT, &TREATED, 0.67, TopK::ByGroup), 0.5);
        // No control row in the top third (rows 0, 2): NaN.
        assert!(uplift_at_k(&Y, &UPLIFT, &TREATED, 0.34, TopK::Overall).is_nan());
    }

    #[test]
    fn curves_are_evaluated_at_the_end_of_each_run_of_ties() {
        // Cuts: after row 0 (n 1: n_t 1, y_t 1, y_c 0), row 2 (2: 2, 2, 0), row 4 (3: 2, 2, 0),
        // rows 3 and 1 (5: 2, 2, 1), row 5 (6: 3, 2, 1).
        let q = qini_curve(&Y, &UPLIFT, &TREATED);
        assert_eq!(
            q,
            vec![
                (0.0, 0.0),
                (1.0, 1.0),
                (2.0, 2.0),
                (3.0, 2.0),
                (5.0, 2.0 - 2.0 / 3.0),
                (6.0, 2.0 - 1.0)
            ]
        );
        let u = uplift_curve(&Y, &UPLIFT, &TREATED);
        assert_eq!(u[1], (1.0, 1.0));
        assert_eq!(u[3], (3.0, 3.0));
        assert!((u[4].1 - (1.0 - 1.0 / 3.0) * 5.0).abs() < 1e-12);
        assert!((u[5].1 - (2.0 / 3.0 - 1.0 / 3.0) * 6.0).abs() < 1e-12);
    }

    #[test]
    fn areas_are_normalised_between_random_and_perfect() {
        // The perfect ranking scores 1, the reverse of it less than the model here.
        let best: Vec<f64> = Y
            .iter()
            .zip(TREATED)
            .map(|(&v, t)| if t { v } else { -v })
            .collect();
        assert!((qini_coefficient(&Y, &best, &TREATED) - 1.0).abs() < 1e-12);
        let model = qini_coefficient(&Y, &UPLIFT, &TREATED);
        let worst: Vec<f64> = best.iter().map(|v| -v).collect();
        assert!(qini_coefficient(&Y, &worst, &TREATED) < model && model < 1.0);
        // Hand computation of the model's Qini area: trapezoids of the points above.
        let a = 0.5 + 1.5 + 2.0 + (2.0 + 4.0 / 3.0) + (4.0 / 3.0 + 1.0) / 2.0;
        assert!((area(&qini_curve(&Y, &UPLIFT, &TREATED)) - a).abs() < 1e-12);
        assert!(auuc(&Y, &UPLIFT, &TREATED).is_finite());
    }
}
