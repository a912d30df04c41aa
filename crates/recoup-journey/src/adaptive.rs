//! The challenger: next-best-action each day, learnt from the logged history and adapted to
//! how each customer responds.
//!
//! From the history (the logging policy's decisions before the export, with its propensities):
//! - the value of each treatment in each stage: the self-normalised inverse-propensity mean of
//!   the share of the amount due collected in the 30 days after the decision, minus that of
//!   the logged no-contact decisions taken where the treatment's channel was open too, less
//!   `lift_standard_errors` standard errors (the lift);
//! - each channel's response rate, and its best local hour (from explored contacts, whose hours
//!   were drawn uniformly);
//! - each channel's opt-out rate.
//!
//! The history is the lender's book (`Portfolio::simulate_with_history`): the lifts need far
//! more logged decisions than the accounts in collections tonight have (docs/journeys.md).
//!
//! Per account, every day: each treatment's net value is `amount due x lift x r - unit cost -
//! opt-out rate x opt_out_cost`, where `r` is the account's response rate on the channel (a
//! Beta posterior: the channel's rate as prior, the account's own responses and silences
//! before and during the journey as data) over the channel's rate. The best positive one is
//! sent at the hour the customer last responded on that channel, else the channel's best hour,
//! unless the account responded or was contacted too recently. Silence lowers `r`, so contact
//! stops where it does not work.

use recoup_core::{AccountStatus, Channel, TreatmentCatalog};
use serde::{Deserialize, Serialize};

use crate::env::AccountView;
use crate::policy::{Allowed, Policy, Proposal};
use crate::portfolio::{LoggedContact, Portfolio, Stage};

/// Settings of the adaptive policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptiveSettings {
    /// Days between two contacts of one account.
    pub min_gap_days: i32,
    /// Days without contact after the customer responded.
    pub hold_after_response_days: i32,
    /// Pseudo-contacts of the channel's rate in each account's response posterior.
    pub prior_strength: f64,
    /// Net value a contact must be expected to add, in the account's currency.
    pub min_value: f64,
    /// Effective sample size below which a treatment's lift in a stage is not trusted.
    pub min_effective_n: f64,
    /// Standard errors taken off each lift estimate before treatments are compared.
    pub lift_standard_errors: f64,
    /// What an opt-out costs (a lost channel, a complaint), in the account's currency: each
    /// contact is charged the channel's opt-out rate times this.
    pub opt_out_cost: f64,
}

impl AdaptiveSettings {
    pub fn check(&self) -> Result<(), recoup_core::InvalidSetting> {
        use recoup_core::InvalidSetting as E;
        if !(1..=60).contains(&self.min_gap_days) {
            return Err(E::new("min_gap_days", self.min_gap_days, "1 to 60 days"));
        }
        if !(0..=60).contains(&self.hold_after_response_days) {
            return Err(E::new(
                "hold_after_response_days",
                self.hold_after_response_days,
                "0 to 60 days",
            ));
        }
        if !(self.prior_strength > 0.0 && self.prior_strength.is_finite()) {
            return Err(E::new(
                "prior_strength",
                self.prior_strength,
                "a positive number",
            ));
        }
        if !self.min_value.is_finite() {
            return Err(E::new("min_value", self.min_value, "a finite amount"));
        }
        if !(0.0..=5.0).contains(&self.lift_standard_errors) {
            return Err(E::new(
                "lift_standard_errors",
                self.lift_standard_errors,
                "0 to 5",
            ));
        }
        if !(self.opt_out_cost >= 0.0 && self.opt_out_cost.is_finite()) {
            return Err(E::new(
                "opt_out_cost",
                self.opt_out_cost,
                "a finite amount >= 0",
            ));
        }
        if !(self.min_effective_n >= 1.0 && self.min_effective_n.is_finite()) {
            return Err(E::new(
                "min_effective_n",
                self.min_effective_n,
                "at least 1",
            ));
        }
        Ok(())
    }
}

impl Default for AdaptiveSettings {
    fn default() -> Self {
        Self {
            min_gap_days: 2,
            hold_after_response_days: 10,
            prior_strength: 4.0,
            min_value: 1.0,
            min_effective_n: 30.0,
            lift_standard_errors: 0.5,
            opt_out_cost: 200.0,
        }
    }
}

/// What the policy learnt from the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearntValues {
    /// `[stage][treatment]`: lift over no contact in collected share of the amount due.
    pub lift: Vec<Vec<Option<f64>>>,
    /// Response rate per channel (`Channel::CONTACTABLE` order).
    pub response_rate: [f64; 5],
    /// Best local hour per channel.
    pub best_hour: [u8; 5],
    /// Share of contacts per channel the customer answered by opting out.
    pub opt_out_rate: [f64; 5],
}

impl LearntValues {
    pub fn fit(
        history: &[LoggedContact],
        catalog: &TreatmentCatalog,
        min_effective_n: f64,
        confidence: f64,
    ) -> Self {
        let n_t = catalog.treatments.len();
        let n_s = Stage::ALL.len();
        // Sums of w, w y, w^2, w^2 y and w^2 y^2 per stage and treatment.
        let mut acc = vec![vec![[0.0f64; 5]; n_t]; n_s];
        // The same sums over no-contact decisions taken where each channel was open.
        let mut base_acc = vec![[[0.0f64; 5]; 5]; n_s];
        let mut attempts = [0u64; 5];
        let mut responses = [0u64; 5];
        let mut opt_outs = [0u64; 5];
        let mut by_hour = [[(0u64, 0u64); 24]; 5];
        for c in history {
            let w = 1.0 / c.propensity.max(1e-6);
            let y = c.collected_share.min(10.0);
            let add = |a: &mut [f64; 5]| {
                a[0] += w;
                a[1] += w * y;
                a[2] += w * w;
                a[3] += w * w * y;
                a[4] += w * w * y * y;
            };
            add(&mut acc[c.stage.index()][c.treatment as usize]);
            if c.channel == Channel::None {
                for (ch, open) in c.channel_open.iter().enumerate() {
                    if *open {
                        add(&mut base_acc[c.stage.index()][ch]);
                    }
                }
                continue;
            }
            let ch = c.channel.index();
            attempts[ch] += 1;
            responses[ch] += u64::from(c.responded);
            opt_outs[ch] += u64::from(c.opted_out);
            if c.explored {
                let h = &mut by_hour[ch][c.local_hour as usize % 24];
                h.0 += 1;
                h.1 += u64::from(c.responded);
            }
        }
        let none = catalog
            .treatments
            .iter()
            .position(|t| t.channel == Channel::None);
        // The self-normalised mean and its variance (delta method).
        let mean = |a: [f64; 5]| {
            let ess = if a[2] > 0.0 { a[0] * a[0] / a[2] } else { 0.0 };
            (ess >= min_effective_n).then(|| {
                let m = a[1] / a[0];
                let var = (a[4] - 2.0 * m * a[3] + m * m * a[2]) / (a[0] * a[0]);
                (m, var.max(0.0))
            })
        };
        let lift = acc
            .iter()
            .zip(&base_acc)
            .map(|(row, base_row)| {
                row.iter()
                    .enumerate()
                    .map(|(t, &a)| {
                        let channel = catalog.treatments[t].channel;
                        if Some(t) == none || channel == Channel::None {
                            return None;
                        }
                        // Against no contact where this channel was open too: states where
                        // it was closed (a call just after a conversation, a channel after an
                        // opt-out) differ in how likely the customer is to pay.
                        let base = mean(base_row[channel.index()]);
                        // A lower bound (one standard error), so that the largest of many
                        // noisy estimates is not taken for the best treatment.
                        let (m, v) = mean(a)?;
                        let (m0, v0) = base?;
                        Some(m - m0 - confidence * (v + v0).sqrt())
                    })
                    .collect()
            })
            .collect();
        let mut response_rate = [0.0; 5];
        let mut best_hour = [10u8; 5];
        let mut opt_out_rate = [0.0; 5];
        for ch in 0..5 {
            opt_out_rate[ch] = opt_outs[ch] as f64 / (attempts[ch] as f64).max(1.0);
            response_rate[ch] = (responses[ch] as f64 + 1.0) / (attempts[ch] as f64 + 2.0);
            let prior = 20.0;
            let mut best = f64::MIN;
            for h in 8..=20u8 {
                let (n, r) = by_hour[ch][h as usize];
                let rate = (r as f64 + prior * response_rate[ch]) / (n as f64 + prior);
                if rate > best {
                    best = rate;
                    best_hour[ch] = h;
                }
            }
        }
        Self {
            lift,
            response_rate,
            best_hour,
            opt_out_rate,
        }
    }
}

impl LearntValues {
    /// How this customer answers `channel`, over the channel's rate (a Beta posterior with
    /// `prior_strength` pseudo-contacts at the channel's rate, updated by every contact before
    /// and during the journey), and the hour to use: the hour of their last response on it,
    /// else the channel's best hour.
    pub fn customer(
        &self,
        view: &AccountView<'_>,
        channel: Channel,
        prior_strength: f64,
    ) -> (f64, u8) {
        let ch = channel.index();
        let (mut n, mut r) = (
            f64::from(view.observed.attempts[ch]),
            f64::from(view.observed.responses[ch]),
        );
        let mut last_hour = view.observed.response_hours[ch].last().copied();
        for c in view.log.contacts.iter().filter(|c| c.channel == channel) {
            n += 1.0;
            if c.outcome.is_response() {
                r += 1.0;
                last_hour = Some(c.hour);
            }
        }
        let p = self.response_rate[ch];
        let ratio = ((prior_strength * p + r) / (prior_strength + n)) / p;
        (ratio, last_hour.unwrap_or(self.best_hour[ch]))
    }
}

/// The adaptive next-best-action policy.
#[derive(Debug, Clone)]
pub struct Adaptive {
    pub values: LearntValues,
    pub settings: AdaptiveSettings,
    pub catalog: TreatmentCatalog,
}

impl Adaptive {
    /// Learns from the portfolio's logged history and its accounts' observable records.
    pub fn fit(portfolio: &Portfolio, settings: AdaptiveSettings) -> Self {
        let catalog = &portfolio.catalog;
        Self {
            values: LearntValues::fit(
                &portfolio.history,
                catalog,
                settings.min_effective_n,
                settings.lift_standard_errors,
            ),
            settings,
            catalog: catalog.clone(),
        }
    }
}

impl Policy for Adaptive {
    type State = ();

    fn name(&self) -> &str {
        "adaptive"
    }

    fn decide(
        &self,
        view: &AccountView<'_>,
        _: &mut (),
        allowed: &Allowed<'_>,
    ) -> Option<Proposal> {
        if !view.in_collections() || view.promise_due.is_some() || view.in_arrangement {
            return None;
        }
        let s = &self.settings;
        let log = &view.log.contacts;
        if log
            .last()
            .is_some_and(|c| view.day - c.day < s.min_gap_days)
        {
            return None;
        }
        if log
            .iter()
            .rev()
            .any(|c| c.outcome.is_response() && view.day - c.day < s.hold_after_response_days)
        {
            return None;
        }
        let stage = Stage::of(view.dpd, view.status == AccountStatus::ChargedOff, false);
        let lifts = &self.values.lift[stage.index()];
        let mut best: Option<(f64, Proposal)> = None;
        for (t, treatment) in self.catalog.treatments.iter().enumerate() {
            let Some(lift) = lifts[t] else { continue };
            if lift <= 0.0 || treatment.channel == Channel::None {
                continue;
            }
            let (ratio, hour) = self
                .values
                .customer(view, treatment.channel, s.prior_strength);
            let value = view.amount_due * lift * ratio
                - treatment.unit_cost
                - self.values.opt_out_rate[treatment.channel.index()] * s.opt_out_cost;
            let proposal = Proposal {
                treatment: t as u16,
                hour,
            };
            if value > s.min_value
                && best.is_none_or(|(v, _)| value > v)
                && allowed.check(proposal).is_ok()
            {
                best = Some((value, proposal));
            }
        }
        best.map(|(_, p)| p)
    }
}
