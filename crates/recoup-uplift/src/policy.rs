//! Policies (an arm per row) and their value estimated from logged data.
//!
//! Logged data is what a logging policy did: the arm each row received, the outcome, and the
//! propensity of that arm. A new policy's value (the mean outcome if it had chosen) is
//! estimated by inverse propensity scoring (IPS: the rows where the policies agree, weighted by
//! 1 / propensity), its self-normalised form (SNIPS: divided by the sum of those weights rather
//! than the row count, biased but far less variable), and the doubly robust estimate (DR: an
//! outcome model's prediction for the new arm, corrected by the weighted residual of the rows
//! where the policies agree; unbiased when either the propensities or the outcome model are
//! right).

/// What was logged: per row, the arm received, the outcome, and that arm's propensity.
#[derive(Debug, Clone, Copy)]
pub struct Logged<'a> {
    pub arm: &'a [usize],
    pub outcome: &'a [f64],
    pub propensity: &'a [f64],
}

/// The three estimates of a policy's mean outcome per row, with the standard error of each
/// (from the per-row terms; SNIPS by the delta method).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PolicyValue {
    pub ips: f64,
    pub ips_se: f64,
    pub snips: f64,
    pub snips_se: f64,
    pub dr: f64,
    pub dr_se: f64,
    /// Rows where the policy chose the logged arm.
    pub matched: usize,
}

fn mean_and_se(terms: &[f64]) -> (f64, f64) {
    let n = terms.len() as f64;
    let mean = terms.iter().sum::<f64>() / n;
    let var = terms.iter().map(|t| (t - mean) * (t - mean)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, (var / n).sqrt())
}

/// Estimates the mean outcome of `policy` (an arm per row) from `logged`; `predicted[a][r]` is
/// an outcome model's prediction of row `r` under arm `a` (for DR).
pub fn evaluate(policy: &[usize], logged: Logged<'_>, predicted: &[Vec<f64>]) -> PolicyValue {
    let n = policy.len();
    let mut ips = Vec::with_capacity(n);
    let mut dr = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    let mut matched = 0;
    for r in 0..n {
        let hit = policy[r] == logged.arm[r];
        let w = if hit { 1.0 / logged.propensity[r] } else { 0.0 };
        matched += usize::from(hit);
        let y = logged.outcome[r];
        ips.push(w * y);
        weights.push(w);
        let mu = predicted[policy[r]][r];
        dr.push(mu + w * (y - if hit { mu } else { 0.0 }));
    }
    let (ips_mean, ips_se) = mean_and_se(&ips);
    let (dr_mean, dr_se) = mean_and_se(&dr);
    let w_sum: f64 = weights.iter().sum();
    let snips = if w_sum > 0.0 {
        ips.iter().sum::<f64>() / w_sum
    } else {
        f64::NAN
    };
    // Delta method: the ratio's influence terms are w (y - snips) / mean(w).
    let w_mean = w_sum / n as f64;
    let influence: Vec<f64> = ips
        .iter()
        .zip(&weights)
        .map(|(wy, w)| (wy - w * snips) / w_mean)
        .collect();
    let (_, snips_se) = mean_and_se(&influence);
    PolicyValue {
        ips: ips_mean,
        ips_se,
        snips,
        snips_se,
        dr: dr_mean,
        dr_se,
        matched,
    }
}

/// The policy that gives each row the arm with the largest effect net of its cost, or the
/// control (arm 0) when none is positive. `effects[k - 1][r]` is arm `k`'s effect on row `r`
/// against the control; `costs[k]` is arm `k`'s cost in outcome units (`costs[0]` is the
/// control's, usually 0).
pub fn best_arm(effects: &[Vec<f64>], costs: &[f64]) -> Vec<usize> {
    let n = effects.first().map_or(0, Vec::len);
    (0..n)
        .map(|r| {
            let mut best = (0usize, 0.0f64);
            for (k, e) in effects.iter().enumerate() {
                let net = e[r] - (costs[k + 1] - costs[0]);
                if net > best.1 {
                    best = (k + 1, net);
                }
            }
            best.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn estimators_on_a_hand_computed_log() {
        // Four rows, two arms, propensities 0.5 / 0.25; the policy picks arm 1 everywhere.
        let arm = [1, 0, 1, 0];
        let outcome = [1.0, 0.0, 0.0, 1.0];
        let propensity = [0.5, 0.5, 0.25, 0.25];
        let logged = Logged {
            arm: &arm,
            outcome: &outcome,
            propensity: &propensity,
        };
        let predicted = vec![vec![0.2; 4], vec![0.6; 4]];
        let v = evaluate(&[1, 1, 1, 1], logged, &predicted);
        // IPS: (1/0.5 + 0 + 0/0.25 + 0) / 4 = 0.5; SNIPS: 2 / (2 + 4) = 1/3.
        assert!((v.ips - 0.5).abs() < 1e-12);
        assert!((v.snips - 1.0 / 3.0).abs() < 1e-12);
        // DR: 0.6 + mean of [2 (1 - 0.6), 0, 4 (0 - 0.6), 0] = 0.6 + (0.8 - 2.4) / 4 = 0.2.
        assert!((v.dr - 0.2).abs() < 1e-12);
        assert_eq!(v.matched, 2);
    }

    #[test]
    fn best_arm_takes_the_largest_positive_net_effect() {
        let effects = vec![vec![0.1, 0.3, -0.2], vec![0.2, 0.1, -0.1]];
        assert_eq!(best_arm(&effects, &[0.0, 0.0, 0.0]), [2, 1, 0]);
        assert_eq!(best_arm(&effects, &[0.0, 0.0, 0.15]), [1, 1, 0]);
    }

    /// On logs of a known world, the averages of IPS and DR over many logs are its true value.
    #[test]
    fn ips_and_dr_are_unbiased_on_randomised_logs() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (n, reps) = (2000, 200);
        // Outcome probabilities by arm and a binary covariate; assignment with propensities
        // depending on the covariate (0.7 / 0.3 and 0.2 / 0.8).
        let p_y = |arm: usize, x: usize| [[0.1, 0.4], [0.5, 0.2]][arm][x];
        let p_arm1 = |x: usize| [0.3, 0.8][x];
        let policy_of = |x: usize| 1 - x;
        let truth = 0.5 * p_y(policy_of(0), 0) + 0.5 * p_y(policy_of(1), 1);
        let (mut ips, mut dr, mut snips) = (0.0, 0.0, 0.0);
        for _ in 0..reps {
            let xs: Vec<usize> = (0..n).map(|_| usize::from(rng.random_bool(0.5))).collect();
            let arm: Vec<usize> = xs
                .iter()
                .map(|&x| usize::from(rng.random_bool(p_arm1(x))))
                .collect();
            let outcome: Vec<f64> = xs
                .iter()
                .zip(&arm)
                .map(|(&x, &a)| f64::from(u8::from(rng.random_bool(p_y(a, x)))))
                .collect();
            let propensity: Vec<f64> = xs
                .iter()
                .zip(&arm)
                .map(|(&x, &a)| if a == 1 { p_arm1(x) } else { 1.0 - p_arm1(x) })
                .collect();
            // A deliberately wrong outcome model: DR stays unbiased through the propensities.
            let predicted = vec![vec![0.3; n], vec![0.3; n]];
            let policy: Vec<usize> = xs.iter().map(|&x| policy_of(x)).collect();
            let v = evaluate(
                &policy,
                Logged {
                    arm: &arm,
                    outcome: &outcome,
                    propensity: &propensity,
                },
                &predicted,
            );
            ips += v.ips / reps as f64;
            dr += v.dr / reps as f64;
            snips += v.snips / reps as f64;
        }
        // One log's standard error is about 0.012; the mean of 200 about 0.001.
        assert!((ips - truth).abs() < 0.004, "IPS {ips} vs {truth}");
        assert!((dr - truth).abs() < 0.004, "DR {dr} vs {truth}");
        assert!((snips - truth).abs() < 0.004, "SNIPS {snips} vs {truth}");
    }
}
