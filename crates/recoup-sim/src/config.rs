//! Simulator settings. Every rate has a default taken from
//! `docs/simulator.md` (which cites public sources where they exist); any of them can be
//! overridden from a TOML file (`recoup simulate --config FILE`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Number of accounts (one customer each).
    pub accounts: usize,
    /// Months of history; the export is taken at the start of the month after the last one.
    pub months: u32,
    pub seed: u64,
    /// First as-of date (a month start is best; due dates fall on day 15 of each month).
    pub start: NaiveDate,
    /// Share of decisions the logging policy takes uniformly at random among eligible treatments.
    pub exploration: f64,
    pub product_mix: ProductMix,
    pub behaviour: Behaviour,
    pub channels: Channels,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            accounts: 10_000,
            months: 12,
            seed: 42,
            start: NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date"),
            exploration: 0.2,
            product_mix: ProductMix::default(),
            behaviour: Behaviour::default(),
            channels: Channels::default(),
        }
    }
}

/// Share of accounts per product (normalised to sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProductMix {
    pub card: f64,
    pub personal_loan: f64,
    pub auto_loan: f64,
    pub utility: f64,
    pub telecom: f64,
    pub bnpl: f64,
}

impl Default for ProductMix {
    fn default() -> Self {
        Self {
            card: 0.40,
            personal_loan: 0.15,
            auto_loan: 0.10,
            utility: 0.12,
            telecom: 0.13,
            bnpl: 0.10,
        }
    }
}

impl ProductMix {
    pub fn weights(&self) -> [f64; 6] {
        [
            self.card,
            self.personal_loan,
            self.auto_loan,
            self.utility,
            self.telecom,
            self.bnpl,
        ]
    }
}

/// How customers pay. Intercepts are on the logit scale for a customer with average latent
/// traits; they were tuned so that the simulated marginal rates land on the defaults of
/// `docs/simulator.md` under the built-in logging policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    /// Share of accounts delinquent at the first as-of date.
    pub initial_delinquent_share: f64,
    /// Logit of missing a due payment when current.
    pub miss_logit: f64,
    /// Logit of paying in a month, by missed instalments 1..=6 (then charged off), before treatment.
    pub pay_logit_by_missed: [f64; 6],
    /// Logit of a recovery payment in a month once charged off.
    pub pay_logit_charged_off: f64,
    /// Monthly probability that an income shock starts.
    pub shock_hazard: f64,
    /// Mean length of a shock in months.
    pub shock_mean_months: f64,
    /// Payment-logit effect of engaging with a reminder.
    pub effect_reminder: f64,
    /// Payment-logit effect of engaging with a payment-plan offer (plus the customer's plan affinity).
    pub effect_plan: f64,
    /// Payment-logit effect of engaging with a settlement offer (plus the customer's settlement affinity).
    pub effect_settlement: f64,
    /// Payment-logit effect of a hardship referral for a customer in an income shock.
    pub effect_hardship_in_shock: f64,
    /// Payment-logit effect of a delivered but unanswered contact.
    pub effect_awareness: f64,
    /// Share of contact-averse customers, for whom contact lowers the chance to pay.
    pub contact_averse_share: f64,
    /// Payment-logit effect of an engaged contact for a contact-averse customer.
    pub effect_averse: f64,
    /// Logit of a promise given a right-party contact.
    pub promise_logit: f64,
    /// Mean promise reliability (probability a promise is kept by an average customer).
    pub promise_kept_mean: f64,
    /// Logit of a payment being reversed (insufficient funds).
    pub reversal_logit: f64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            initial_delinquent_share: 0.08,
            miss_logit: -5.2,
            pay_logit_by_missed: [0.6, -0.55, -1.85, -2.3, -2.6, -3.5],
            pay_logit_charged_off: -3.6,
            shock_hazard: 0.01,
            shock_mean_months: 4.0,
            effect_reminder: 0.9,
            effect_plan: 0.7,
            effect_settlement: 0.5,
            effect_hardship_in_shock: 1.6,
            effect_awareness: 0.15,
            contact_averse_share: 0.08,
            effect_averse: -0.6,
            promise_logit: -0.45,
            promise_kept_mean: 0.68,
            reversal_logit: -4.6,
        }
    }
}

/// Channel response rates for an average customer contacted at an average hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Channels {
    pub sms_delivered: f64,
    pub sms_click: f64,
    pub email_delivered: f64,
    pub email_open: f64,
    /// Probability of a click given an open.
    pub email_click_given_open: f64,
    pub push_delivered: f64,
    pub push_open: f64,
    pub call_answer: f64,
    /// Probability the person answering is the customer.
    pub call_right_party: f64,
    pub letter_returned: f64,
    /// Probability a delivered letter is read and acted on (not observable).
    pub letter_engaged: f64,
    /// Probability of an opt-out per delivered message or conversation.
    pub opt_out: f64,
    /// Logit boost of engagement when contacted at the customer's preferred hour.
    pub hour_match_boost: f64,
}

impl Default for Channels {
    fn default() -> Self {
        Self {
            sms_delivered: 0.95,
            sms_click: 0.12,
            email_delivered: 0.95,
            email_open: 0.25,
            email_click_given_open: 0.14,
            push_delivered: 0.90,
            push_open: 0.15,
            call_answer: 0.20,
            call_right_party: 0.45,
            letter_returned: 0.03,
            letter_engaged: 0.10,
            opt_out: 0.004,
            hour_match_boost: 0.8,
        }
    }
}

impl SimConfig {
    pub fn from_toml_str(text: &str, file: &std::path::Path) -> Result<Self, SimError> {
        let cfg: SimConfig = toml::from_str(text).map_err(|e| SimError::Config {
            file: file.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(cfg)
    }

    /// Checks the settings before any work; errors name the field and value.
    pub fn check(&self) -> Result<(), SimError> {
        let bad = |field: &str, value: String, expected: &str| {
            Err(recoup_core::InvalidSetting::new(field, value, expected).into())
        };
        if self.accounts == 0 || self.accounts > 99_999_999 {
            return bad("accounts", self.accounts.to_string(), "1 to 99,999,999");
        }
        if self.months == 0 || self.months > 120 {
            return bad("months", self.months.to_string(), "1 to 120");
        }
        if !(0.0..=1.0).contains(&self.exploration) {
            return bad(
                "exploration",
                self.exploration.to_string(),
                "a share from 0 to 1",
            );
        }
        let w = self.product_mix.weights();
        if w.iter().any(|x| !x.is_finite() || *x < 0.0) || w.iter().sum::<f64>() <= 0.0 {
            return bad(
                "product_mix",
                format!("{w:?}"),
                "non-negative weights with a positive sum",
            );
        }
        let c = &self.channels;
        for (name, p) in [
            ("channels.sms_delivered", c.sms_delivered),
            ("channels.sms_click", c.sms_click),
            ("channels.email_delivered", c.email_delivered),
            ("channels.email_open", c.email_open),
            ("channels.email_click_given_open", c.email_click_given_open),
            ("channels.push_delivered", c.push_delivered),
            ("channels.push_open", c.push_open),
            ("channels.call_answer", c.call_answer),
            ("channels.call_right_party", c.call_right_party),
            ("channels.letter_returned", c.letter_returned),
            ("channels.letter_engaged", c.letter_engaged),
            ("channels.opt_out", c.opt_out),
            (
                "behaviour.initial_delinquent_share",
                self.behaviour.initial_delinquent_share,
            ),
            ("behaviour.shock_hazard", self.behaviour.shock_hazard),
            (
                "behaviour.contact_averse_share",
                self.behaviour.contact_averse_share,
            ),
            (
                "behaviour.promise_kept_mean",
                self.behaviour.promise_kept_mean,
            ),
        ] {
            if !(p > 0.0 && p < 1.0) {
                return bad(
                    name,
                    p.to_string(),
                    "a probability strictly between 0 and 1",
                );
            }
        }
        if self.behaviour.shock_mean_months < 1.0 {
            return bad(
                "behaviour.shock_mean_months",
                self.behaviour.shock_mean_months.to_string(),
                "at least 1",
            );
        }
        if self
            .start
            .checked_add_months(chrono::Months::new(self.months + 1))
            .is_none()
        {
            return bad(
                "start",
                self.start.to_string(),
                "a date that leaves room for the simulated months",
            );
        }
        Ok(())
    }
}
