//! Closed-loop runs: every account of a portfolio through `days` days under a policy, and the
//! figures a collections team compares strategies by.

use std::collections::BTreeMap;

use rayon::prelude::*;
use recoup_core::{AccountStatus, Channel};
use serde::Serialize;

use crate::env::{AccountEnv, AccountLog, EnvSettings};
use crate::policy::{Allowed, Policy};
use crate::portfolio::{Portfolio, Quadrant, Stage, StartState};
use crate::rules::{JourneyRules, Rule, Violation};

/// Settings of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSettings {
    pub days: i32,
    /// Seed of the environment's draws (common to every policy of a comparison).
    pub seed: u64,
    pub env: EnvSettings,
    pub rules: JourneyRules,
}

impl RunSettings {
    pub fn check(&self) -> Result<(), recoup_core::InvalidSetting> {
        if !(1..=365).contains(&self.days) {
            return Err(recoup_core::InvalidSetting::new(
                "days", self.days, "1 to 365",
            ));
        }
        self.env.check()?;
        self.rules.check_settings()
    }
}

/// One account's journey.
#[derive(Debug, Clone, Serialize)]
pub struct AccountJourney {
    pub account: u32,
    pub stage: Stage,
    pub segment: Quadrant,
    pub end_status: AccountStatus,
    /// Current (no missed instalment) or paid off at the end.
    pub cured: bool,
    pub log: AccountLog,
    /// Proposals the rules refused, by rule.
    pub blocked: Vec<(i32, Rule)>,
    pub violations: Vec<Violation>,
}

/// Runs one policy over the portfolio. The result is in account order, whatever the threads.
pub fn run_policy<P: Policy>(
    portfolio: &Portfolio,
    policy: &P,
    settings: &RunSettings,
) -> Vec<AccountJourney> {
    let due_days = portfolio.due_days_within(settings.days);
    portfolio
        .accounts
        .par_iter()
        .map(|start| run_account(portfolio, start, policy, settings, &due_days))
        .collect()
}

fn run_account<P: Policy>(
    portfolio: &Portfolio,
    start: &StartState,
    policy: &P,
    settings: &RunSettings,
    due_days: &[i32],
) -> AccountJourney {
    let catalog = &portfolio.catalog;
    let mut env = AccountEnv::new(
        start,
        &portfolio.sim,
        &settings.env,
        catalog,
        due_days,
        settings.seed,
    );
    let first = env.view(0);
    let stage = Stage::of(
        first.dpd,
        first.status == AccountStatus::ChargedOff,
        first.hardship,
    );
    let mut state = P::State::default();
    let mut blocked = Vec::new();
    for day in 0..settings.days {
        env.begin_day(day);
        let view = env.view(day);
        let allowed = Allowed {
            rules: &settings.rules,
            catalog,
            view: &view,
        };
        let proposal = policy.decide(&view, &mut state, &allowed);
        let verdict = proposal.map(|p| (p, allowed.check(p)));
        match verdict {
            Some((p, Ok(()))) => {
                env.contact(day, p.treatment, p.hour);
            }
            Some((_, Err(rule))) => blocked.push((day, rule)),
            None => {}
        }
        env.end_day(day);
    }
    let end_status = env.status();
    let cured = match end_status {
        AccountStatus::Closed => true,
        AccountStatus::Open => env.missed() == 0,
        _ => false,
    };
    let log = env.into_log();
    let violations = settings.rules.audit(start, &log);
    AccountJourney {
        account: start.index,
        stage,
        segment: start.segment,
        end_status,
        cured,
        log,
        blocked,
        violations,
    }
}

/// The figures of one policy over a set of accounts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    pub accounts: u64,
    pub collected: f64,
    pub cost: f64,
    /// Collected less the contacts' cost.
    pub net: f64,
    /// Accounts current or paid off at the end.
    pub cured: u64,
    pub settled: u64,
    pub charged_off_at_end: u64,
    pub contacts: u64,
    /// Per channel (`Channel::CONTACTABLE` order).
    pub contacts_by_channel: [u64; 5],
    pub opt_outs: u64,
    /// Contacts on a channel after the customer opted out of it (must be 0).
    pub contacts_after_opt_out: u64,
    /// Rule violations found by the audit (must be 0).
    pub violations: u64,
    pub promises: u64,
    pub promises_kept: u64,
    pub arrangements: u64,
    /// Proposals the rules refused, by rule.
    pub blocked: BTreeMap<Rule, u64>,
}

impl Outcome {
    pub fn cure_rate(&self) -> f64 {
        self.cured as f64 / (self.accounts as f64).max(1.0)
    }

    pub fn contacts_per_account(&self) -> f64 {
        self.contacts as f64 / (self.accounts as f64).max(1.0)
    }

    pub fn of<'a>(
        journeys: impl IntoIterator<Item = &'a AccountJourney>,
        catalog: &recoup_core::TreatmentCatalog,
    ) -> Self {
        let mut o = Outcome::default();
        for j in journeys {
            o.accounts += 1;
            o.collected += j.log.collected();
            o.cured += u64::from(j.cured);
            o.settled += u64::from(j.end_status == AccountStatus::Settled);
            o.charged_off_at_end += u64::from(j.end_status == AccountStatus::ChargedOff);
            let mut opted_out = [false; 5];
            for c in &j.log.contacts {
                let ch = c.channel.index();
                o.cost += catalog.treatments[c.treatment as usize].unit_cost;
                if c.channel != Channel::None {
                    o.contacts += 1;
                    o.contacts_by_channel[ch] += 1;
                    o.contacts_after_opt_out += u64::from(opted_out[ch]);
                }
                if c.outcome == recoup_core::ContactOutcome::OptOut {
                    o.opt_outs += 1;
                    opted_out[ch] = true;
                }
            }
            o.violations += j.violations.len() as u64;
            o.promises += j.log.promises.len() as u64;
            o.promises_kept += j
                .log
                .promises
                .iter()
                .filter(|p| p.kept == Some(true))
                .count() as u64;
            o.arrangements += j.log.arrangements.len() as u64;
            for (_, rule) in &j.blocked {
                *o.blocked.entry(*rule).or_default() += 1;
            }
        }
        o.net = o.collected - o.cost;
        o
    }
}

/// A policy's figures over the whole portfolio and per starting stage.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyReport {
    pub policy: String,
    pub all: Outcome,
    pub by_stage: BTreeMap<Stage, Outcome>,
    pub by_segment: BTreeMap<Quadrant, Outcome>,
}

impl PolicyReport {
    pub fn of(
        policy: &str,
        journeys: &[AccountJourney],
        catalog: &recoup_core::TreatmentCatalog,
    ) -> Self {
        let by_stage = Stage::ALL
            .iter()
            .map(|&s| {
                (
                    s,
                    Outcome::of(journeys.iter().filter(|j| j.stage == s), catalog),
                )
            })
            .filter(|(_, o)| o.accounts > 0)
            .collect();
        let by_segment = Quadrant::ALL
            .iter()
            .map(|&q| {
                (
                    q,
                    Outcome::of(journeys.iter().filter(|j| j.segment == q), catalog),
                )
            })
            .filter(|(_, o)| o.accounts > 0)
            .collect();
        Self {
            policy: policy.into(),
            all: Outcome::of(journeys, catalog),
            by_stage,
            by_segment,
        }
    }
}

/// Mean and the half-width of its 95% confidence interval (Student's t) over runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: f64,
    pub n: usize,
}

impl Estimate {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / (n as f64).max(1.0);
        if n < 2 {
            return Self {
                mean,
                half_width: f64::NAN,
                n,
            };
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        Self {
            mean,
            half_width: t_quantile_975(n - 1) * (var / n as f64).sqrt(),
            n,
        }
    }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => 1.96 + 2.4 / df as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_interval_of_a_hand_computed_sample() {
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(e.mean, 2.5);
        // sd = 1.29099, se = 0.645497, t(3) = 3.182
        assert!((e.half_width - 3.182 * 0.645_497).abs() < 1e-5, "{e:?}");
        assert!(Estimate::of(&[5.0]).half_width.is_nan());
    }
}
