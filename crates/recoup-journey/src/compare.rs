//! Policies compared in closed loop over several seeds: each seed simulates its own portfolio,
//! every policy runs on it with the same environment draws (common random numbers), and the
//! figures are reported as means with 95% confidence intervals over the seeds, with paired
//! differences against the first policy that is not `none`.

use std::collections::BTreeMap;

use recoup_core::TreatmentCatalog;
use serde::Serialize;

use crate::adaptive::{Adaptive, AdaptiveSettings};
use crate::env::AccountLog;
use crate::error::JourneyError;
use crate::policy::NoContact;
use crate::portfolio::{Portfolio, Quadrant, Stage};
use crate::run::{Estimate, Outcome, PolicyReport, RunSettings, run_policy};
use crate::templates::{Champion, JourneyTemplates};

/// The policies a comparison can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// Contact nobody.
    None,
    /// The journey templates.
    Champion,
    /// Next-best-action each day.
    Adaptive,
    /// The journey templates, each step sent at the hour the customer answers.
    Personal,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::None => "none",
            PolicyKind::Champion => "champion",
            PolicyKind::Adaptive => "adaptive",
            PolicyKind::Personal => "personal",
        }
    }
}

/// What to compare.
#[derive(Debug, Clone)]
pub struct ComparisonSpec {
    pub sim: recoup_sim::SimConfig,
    pub catalog: TreatmentCatalog,
    pub policies: Vec<PolicyKind>,
    pub templates: JourneyTemplates,
    pub adaptive: AdaptiveSettings,
    /// `seed` is the first seed; seeds `seed..seed + seeds` are run.
    pub run: RunSettings,
    pub seeds: u32,
    /// Accounts of the book whose logged history the personal and adaptive policies learn
    /// from (at least `sim.accounts`; `None`: the journey portfolio's own accounts).
    pub history_accounts: Option<usize>,
    /// Journeys kept per segment for the report, each under every policy (from the first seed).
    pub sample_journeys: usize,
}

/// Per-account figures of one policy, estimated over the seeds: for the whole portfolio, by
/// stage and by segment.
#[derive(Debug, Clone, Serialize)]
pub struct PolicySummary {
    pub policy: PolicyKind,
    #[serde(flatten)]
    pub all: Figures,
    /// Paired with the reference policy on the same seeds: this minus the reference.
    pub collected_vs_reference: Option<Estimate>,
    pub contacts_vs_reference: Option<Estimate>,
    pub by_stage: BTreeMap<Stage, Figures>,
    /// By ability/willingness quadrant at the start.
    pub by_segment: BTreeMap<Quadrant, Figures>,
}

/// A group's figures (the portfolio, a stage or a segment) over the seeds it appears in.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub accounts_per_seed: f64,
    pub collected_per_account: Estimate,
    pub net_per_account: Estimate,
    pub cost_per_account: Estimate,
    pub cure_rate: Estimate,
    pub contacts_per_account: Estimate,
    pub opt_outs_per_1000: Estimate,
    /// Per channel (`Channel::CONTACTABLE` order), per account, mean over seeds.
    pub contacts_per_account_by_channel: [f64; 5],
    /// Summed over seeds (must be 0).
    pub contacts_after_opt_out: u64,
    /// Summed over seeds (must be 0).
    pub violations: u64,
}

/// One account's journeys under every policy (the same account, the same draws).
#[derive(Debug, Clone, Serialize)]
pub struct SampleJourney {
    pub account: u32,
    pub stage: Stage,
    pub segment: Quadrant,
    pub by_policy: Vec<(PolicyKind, AccountLog)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub days: i32,
    pub seeds: Vec<u64>,
    pub accounts_per_seed: Vec<usize>,
    /// Accounts of the book whose logged history the personal and adaptive policies learnt from.
    pub history_accounts: usize,
    /// Logged decisions in that history, per seed.
    pub history_decisions_per_seed: Vec<usize>,
    pub reference: Option<PolicyKind>,
    pub policies: Vec<PolicySummary>,
    /// Every run's full figures, per seed and policy.
    pub runs: Vec<(u64, Vec<PolicyReport>)>,
    pub samples: Vec<SampleJourney>,
    /// What the adaptive policy learnt on the first seed's history.
    pub adaptive_values: Option<crate::adaptive::LearntValues>,
}

/// Runs the comparison. `progress` is called after each seed with (seeds done, seeds).
pub fn compare(
    spec: &ComparisonSpec,
    mut progress: impl FnMut(u32, u32),
) -> Result<Comparison, JourneyError> {
    spec.run.check()?;
    spec.adaptive.check()?;
    if spec.policies.is_empty() {
        return Err(
            recoup_core::InvalidSetting::new("policies", "[]", "at least one policy").into(),
        );
    }
    if !(1..=100).contains(&spec.seeds) {
        return Err(recoup_core::InvalidSetting::new("seeds", spec.seeds, "1 to 100").into());
    }
    let reference = spec
        .policies
        .iter()
        .copied()
        .find(|&p| p != PolicyKind::None && spec.policies.len() > 1);
    let mut runs = Vec::new();
    let mut seeds = Vec::new();
    let mut accounts_per_seed = Vec::new();
    let mut history_decisions_per_seed = Vec::new();
    let history_accounts = spec.history_accounts.unwrap_or(spec.sim.accounts);
    let mut samples = Vec::new();
    let mut adaptive_values = None;
    for k in 0..spec.seeds {
        let seed = spec.run.seed + u64::from(k);
        let sim = recoup_sim::SimConfig {
            seed,
            ..spec.sim.clone()
        };
        let portfolio = Portfolio::simulate_with_history(&sim, &spec.catalog, history_accounts)?;
        history_decisions_per_seed.push(portfolio.history.len());
        let settings = RunSettings {
            seed,
            ..spec.run.clone()
        };
        let mut reports = Vec::new();
        let mut kept: Vec<(PolicyKind, Vec<crate::run::AccountJourney>)> = Vec::new();
        // What personal and adaptive policies learn from this seed's history, fitted once.
        let learnt = spec
            .policies
            .iter()
            .any(|p| matches!(p, PolicyKind::Personal | PolicyKind::Adaptive))
            .then(|| Adaptive::fit(&portfolio, spec.adaptive.clone()));
        for &kind in &spec.policies {
            let journeys = match kind {
                PolicyKind::None => run_policy(&portfolio, &NoContact, &settings),
                PolicyKind::Champion => run_policy(
                    &portfolio,
                    &Champion {
                        templates: spec.templates.clone(),
                        personal: None,
                    },
                    &settings,
                ),
                PolicyKind::Personal => {
                    let values = learnt
                        .as_ref()
                        .map(|a| a.values.clone())
                        .expect("fitted: personal is among the policies");
                    let policy = Champion {
                        templates: spec.templates.clone(),
                        personal: Some(crate::templates::Personal {
                            values,
                            prior_strength: spec.adaptive.prior_strength,
                        }),
                    };
                    run_policy(&portfolio, &policy, &settings)
                }
                PolicyKind::Adaptive => {
                    let policy = learnt
                        .as_ref()
                        .expect("fitted: adaptive is among the policies");
                    if k == 0 {
                        adaptive_values = Some(policy.values.clone());
                    }
                    run_policy(&portfolio, policy, &settings)
                }
            };
            reports.push(PolicyReport::of(kind.as_str(), &journeys, &spec.catalog));
            if k == 0 && spec.sample_journeys > 0 {
                kept.push((kind, journeys));
            }
        }
        if k == 0 {
            samples = sample(&kept, spec.sample_journeys);
        }
        seeds.push(seed);
        accounts_per_seed.push(portfolio.accounts.len());
        runs.push((seed, reports));
        progress(k + 1, spec.seeds);
    }
    let policies = spec
        .policies
        .iter()
        .enumerate()
        .map(|(i, &kind)| {
            summarise(
                kind,
                i,
                &runs,
                reference.and_then(|r| spec.policies.iter().position(|&p| p == r)),
            )
        })
        .collect();
    Ok(Comparison {
        days: spec.run.days,
        seeds,
        accounts_per_seed,
        history_accounts,
        history_decisions_per_seed,
        reference,
        policies,
        runs,
        samples,
        adaptive_values,
    })
}

fn per_account(o: &Outcome, f: impl Fn(&Outcome) -> f64) -> f64 {
    f(o) / (o.accounts as f64).max(1.0)
}

fn summarise(
    kind: PolicyKind,
    i: usize,
    runs: &[(u64, Vec<PolicyReport>)],
    reference: Option<usize>,
) -> PolicySummary {
    let paired = |f: &dyn Fn(&Outcome) -> f64| {
        let r = reference.filter(|&r| r != i)?;
        Some(Estimate::of(
            &runs
                .iter()
                .map(|(_, x)| f(&x[i].all) - f(&x[r].all))
                .collect::<Vec<_>>(),
        ))
    };
    let by_stage = Stage::ALL
        .iter()
        .filter_map(|&s| {
            group(runs.iter().filter_map(|(_, r)| r[i].by_stage.get(&s))).map(|g| (s, g))
        })
        .collect();
    let by_segment = Quadrant::ALL
        .iter()
        .filter_map(|&q| {
            group(runs.iter().filter_map(|(_, r)| r[i].by_segment.get(&q))).map(|g| (q, g))
        })
        .collect();
    PolicySummary {
        policy: kind,
        all: figures(&runs.iter().map(|(_, r)| &r[i].all).collect::<Vec<_>>()),
        collected_vs_reference: paired(&|o| per_account(o, |o| o.collected)),
        contacts_vs_reference: paired(&|o| o.contacts_per_account()),
        by_stage,
        by_segment,
    }
}

/// A group's figures over the seeds it appears in, if any.
fn group<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> Option<Figures> {
    let outs: Vec<&Outcome> = outcomes.collect();
    (!outs.is_empty()).then(|| figures(&outs))
}

/// Figures over one outcome per seed.
fn figures(outs: &[&Outcome]) -> Figures {
    let est =
        |f: &dyn Fn(&Outcome) -> f64| Estimate::of(&outs.iter().map(|o| f(o)).collect::<Vec<_>>());
    Figures {
        accounts_per_seed: outs.iter().map(|o| o.accounts as f64).sum::<f64>() / outs.len() as f64,
        collected_per_account: est(&|o| per_account(o, |o| o.collected)),
        net_per_account: est(&|o| per_account(o, |o| o.net)),
        cost_per_account: est(&|o| per_account(o, |o| o.cost)),
        cure_rate: est(&|o| o.cure_rate()),
        contacts_per_account: est(&|o| o.contacts_per_account()),
        opt_outs_per_1000: est(&|o| 1000.0 * per_account(o, |o| o.opt_outs as f64)),
        contacts_per_account_by_channel: std::array::from_fn(|ch| {
            outs.iter()
                .map(|o| per_account(o, |o| o.contacts_by_channel[ch] as f64))
                .sum::<f64>()
                / outs.len() as f64
        }),
        contacts_after_opt_out: outs.iter().map(|o| o.contacts_after_opt_out).sum(),
        violations: outs.iter().map(|o| o.violations).sum(),
    }
}

/// Up to `per_segment` accounts of each ability/willingness segment that at least one policy
/// contacted, each from a different starting stage (the first in account order).
fn sample(
    kept: &[(PolicyKind, Vec<crate::run::AccountJourney>)],
    per_segment: usize,
) -> Vec<SampleJourney> {
    let Some((_, first)) = kept.first() else {
        return Vec::new();
    };
    let mut taken: BTreeMap<Quadrant, Vec<Stage>> = BTreeMap::new();
    let mut out = Vec::new();
    for (a, j) in first.iter().enumerate() {
        let stages = taken.entry(j.segment).or_default();
        if stages.len() >= per_segment
            || stages.contains(&j.stage)
            || kept.iter().all(|(_, js)| js[a].log.contacts.is_empty())
        {
            continue;
        }
        stages.push(j.stage);
        out.push(SampleJourney {
            account: j.account,
            stage: j.stage,
            segment: j.segment,
            by_policy: kept.iter().map(|(k, js)| (*k, js[a].log.clone())).collect(),
        });
    }
    out.sort_by_key(|s| (s.segment, s.account));
    out
}
