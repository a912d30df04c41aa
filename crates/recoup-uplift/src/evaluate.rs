//! Held-out evaluation of uplift learners: per treatment arm, uplift at k, Qini and AUUC on
//! the test rows; the policy "the arm with the largest predicted effect" valued by IPS, SNIPS
//! and DR beside every single-arm policy.

use std::time::Instant;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::data::UpliftData;
use crate::error::UpliftError;
use crate::learners::{Learner, UpliftParams, fit};
use crate::metrics::{Curve, TopK, auuc, qini_coefficient, qini_curve, uplift_at_k};
use crate::policy::{Logged, PolicyValue, best_arm, evaluate};

/// The shares of rows at which uplift at k is reported.
pub const TOP_SHARES: [f64; 3] = [0.1, 0.2, 0.3];

/// Settings of an evaluation, checked before any fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluationSettings {
    pub learners: Vec<Learner>,
    pub params: UpliftParams,
    /// Share of each arm's rows held out for the metrics.
    pub test_fraction: f64,
    /// Each arm's cost in outcome units (the control first; empty: no costs), subtracted from
    /// its effect when the policy picks an arm.
    pub costs: Vec<f64>,
}

impl EvaluationSettings {
    fn check(&self) -> Result<(), UpliftError> {
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return Err(recoup_core::InvalidSetting::new(
                "test_fraction",
                self.test_fraction,
                "a share in (0, 1)",
            )
            .into());
        }
        if let Some(c) = self.costs.iter().find(|c| !c.is_finite()) {
            return Err(recoup_core::InvalidSetting::new("costs", c, "finite numbers").into());
        }
        if self.learners.is_empty() {
            return Err(recoup_core::InvalidSetting::new(
                "learners",
                "none",
                "at least one of t, x, dr",
            )
            .into());
        }
        Ok(())
    }
}

/// One treatment arm against the control on the test rows of the two.
#[derive(Debug, Clone, Serialize)]
pub struct ArmMetrics {
    pub arm: String,
    pub rows: usize,
    /// (share, uplift at that share, overall strategy), for [`TOP_SHARES`].
    pub uplift_at: Vec<(f64, f64)>,
    pub qini_coefficient: f64,
    pub auuc: f64,
    /// The Qini curve, at most 101 points (share of rows targeted, Qini value / treated rows).
    pub qini_curve: Curve,
}

/// A learner's results.
#[derive(Debug, Clone, Serialize)]
pub struct LearnerReport {
    pub learner: Learner,
    pub fit_secs: f64,
    pub arms: Vec<ArmMetrics>,
    /// The best-arm policy's value on all test rows, and its share of rows per arm.
    pub policy: PolicyValue,
    pub policy_mix: Vec<f64>,
}

/// Everything an evaluation measured.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluationReport {
    pub arms: Vec<String>,
    pub train_rows: Vec<usize>,
    pub test_rows: Vec<usize>,
    /// Whether the propensities are logged (else each arm's share: a randomised trial).
    pub logged_propensities: bool,
    pub learners: Vec<LearnerReport>,
    /// Everyone given one arm: (arm, value).
    pub single_arm: Vec<(String, PolicyValue)>,
    pub settings: EvaluationSettings,
}

/// Rows split per arm (seeded) into training and test rows.
pub fn split_by_arm(data: &UpliftData, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(0x5EED_5711));
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for a in 0..data.arms.len() {
        let mut rows: Vec<usize> = (0..data.arm.len()).filter(|&r| data.arm[r] == a).collect();
        rows.shuffle(&mut rng);
        let n_test = ((rows.len() as f64) * test_fraction).round() as usize;
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

fn thin(curve: Curve, treated: usize) -> Curve {
    let n = curve.last().map_or(1.0, |p| p.0).max(1.0);
    let step = (curve.len() / 100).max(1);
    let last = curve.len().saturating_sub(1);
    curve
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i == last)
        .map(|(_, (x, y))| (x / n, y / treated.max(1) as f64))
        .collect()
}

/// Fits every learner on a training split and measures it on the held-out rows.
pub fn evaluate_learners(
    data: &UpliftData,
    settings: &EvaluationSettings,
) -> Result<EvaluationReport, UpliftError> {
    settings.check()?;
    settings.params.check(data)?;
    let costs = if settings.costs.is_empty() {
        vec![0.0; data.arms.len()]
    } else if settings.costs.len() == data.arms.len() {
        settings.costs.clone()
    } else {
        return Err(UpliftError::Invalid(format!(
            "{} costs for {} arms ({})",
            settings.costs.len(),
            data.arms.len(),
            data.arms.join(", ")
        )));
    };
    let (train_rows, test_rows) = split_by_arm(data, settings.test_fraction, settings.params.seed);
    let (train, test) = (data.take(&train_rows), data.take(&test_rows));
    train.check_arms()?;
    test.check_arms()?;
    let propensity = test.propensities(settings.params.min_propensity);
    let y = &test.features.target;
    let logged = Logged {
        arm: &test.arm,
        outcome: y,
        propensity: &propensity,
    };
    let mut learners = Vec::new();
    let mut first_outcomes = None;
    for &learner in &settings.learners {
        let params = UpliftParams {
            learner,
            ..settings.params.clone()
        };
        let started = Instant::now();
        let model = fit(&params, &train)?;
        let fit_secs = started.elapsed().as_secs_f64();
        let effects = model.predict_effects(&test.features);
        let mut arms = Vec::new();
        for (k, effect) in effects.iter().enumerate() {
            let rows: Vec<usize> = (0..test.arm.len())
                .filter(|&r| test.arm[r] == 0 || test.arm[r] == k + 1)
                .collect();
            let yk: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
            let uk: Vec<f64> = rows.iter().map(|&r| effect[r]).collect();
            let tk: Vec<bool> = rows.iter().map(|&r| test.arm[r] == k + 1).collect();
            let n_treated = tk.iter().filter(|&&t| t).count();
            arms.push(ArmMetrics {
                arm: data.arms[k + 1].clone(),
                rows: rows.len(),
                uplift_at: TOP_SHARES
                    .iter()
                    .map(|&s| (s, uplift_at_k(&yk, &uk, &tk, s, TopK::Overall)))
                    .collect(),
                qini_coefficient: qini_coefficient(&yk, &uk, &tk),
                auuc: auuc(&yk, &uk, &tk),
                qini_curve: thin(qini_curve(&yk, &uk, &tk), n_treated),
            });
        }
        let outcomes = model.predict_outcomes(&test.features);
        let policy = best_arm(&effects, &costs);
        let value = evaluate(&policy, logged, &outcomes);
        let n = policy.len() as f64;
        let policy_mix = (0..data.arms.len())
            .map(|a| policy.iter().filter(|&&p| p == a).count() as f64 / n)
            .collect();
        learners.push(LearnerReport {
            learner,
            fit_secs,
            arms,
            policy: value,
            policy_mix,
        });
        first_outcomes.get_or_insert(outcomes);
    }
    let outcomes = first_outcomes.unwrap_or_default();
    let single_arm = (0..data.arms.len())
        .map(|a| {
            let policy = vec![a; test.arm.len()];
            (data.arms[a].clone(), evaluate(&policy, logged, &outcomes))
        })
        .collect();
    Ok(EvaluationReport {
        arms: data.arms.clone(),
        train_rows: train.counts(),
        test_rows: test.counts(),
        logged_propensities: data.propensity.is_some(),
        learners,
        single_arm,
        settings: settings.clone(),
    })
}
