//! The starting point of journeys: a portfolio simulated month by month up to the export, its
//! accounts in collections with their state and latent traits, and the logged history (the
//! logging policy's contacts and the payments that followed) that policies may learn from.

use chrono::NaiveDate;
use rayon::prelude::*;
use recoup_core::{AccountStatus, Channel, ContactOutcome, Product, TreatmentCatalog};
use recoup_sim::calendar::{Calendar, DUE_OFFSET_DAYS, LocalTime, month_start};
use recoup_sim::config::SimConfig;
use recoup_sim::engine::Engine;
use recoup_sim::model::Traits;
use recoup_sim::tables::Rows;
use serde::Serialize;

use crate::error::JourneyError;
pub use recoup_segment::Quadrant;

/// What the logged history shows of one account before the export.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Contacts per channel (`Channel::CONTACTABLE` order).
    pub attempts: [u32; 5],
    /// Of which the customer responded (opened, clicked, right-party contact, promise).
    pub responses: [u32; 5],
    /// Local hours of the responses, per channel.
    pub response_hours: [Vec<u8>; 5],
}

/// An account in collections at the export, as the journey starts (day 0 is the export date).
#[derive(Debug, Clone)]
pub struct StartState {
    pub index: u32,
    /// Latent: the environment's, never a policy's.
    pub traits: Traits,
    pub product: Product,
    pub status: AccountStatus,
    pub balance: f64,
    pub instalment: f64,
    pub arrears: f64,
    /// Journey days (negative: before the export) of the missed due dates, oldest first.
    pub unpaid_dues: Vec<i32>,
    pub shock_days: i32,
    pub consent: [bool; 5],
    pub dnc: bool,
    pub hardship: bool,
    pub last_conversation_day: i32,
    /// Journey days of the calls of the last seven days before the export.
    pub call_days: Vec<i32>,
    pub observed: Observed,
    /// Ability/willingness quadrant from the payment record and capacity signals before the
    /// export (`recoup_segment`'s definitions, split at the portfolio's medians).
    pub segment: Quadrant,
}

/// One logged decision of the history, with what followed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoggedContact {
    pub stage: Stage,
    /// Catalog index.
    pub treatment: u16,
    pub channel: Channel,
    /// Probability the logging policy gave this choice.
    pub propensity: f64,
    pub local_hour: u8,
    pub explored: bool,
    pub responded: bool,
    /// The customer withdrew consent for the channel in answer to this contact.
    pub opted_out: bool,
    /// Money collected in the 30 days after the contact, as a share of the amount due at the
    /// start of the month it was made in.
    pub collected_share: f64,
    /// Channels the logging policy could use at that moment (consent, and for calls
    /// Regulation F's limits): a treatment is compared with the no-contact decisions taken
    /// where it was possible too.
    pub channel_open: [bool; 5],
}

/// Delinquency stage: the champion's journeys and the reports are split by it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 1-29 days past due.
    Early,
    /// 30-89 days past due.
    Mid,
    /// 90 or more days past due, not charged off.
    Late,
    /// Charged off, still owing.
    Recovery,
    /// Declared hardship (before charge-off).
    Hardship,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Early,
        Stage::Mid,
        Stage::Late,
        Stage::Recovery,
        Stage::Hardship,
    ];

    pub fn of(dpd: i32, charged_off: bool, hardship: bool) -> Stage {
        if charged_off {
            Stage::Recovery
        } else if hardship {
            Stage::Hardship
        } else if dpd >= 90 {
            Stage::Late
        } else if dpd >= 30 {
            Stage::Mid
        } else {
            Stage::Early
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Early => "early",
            Stage::Mid => "mid",
            Stage::Late => "late",
            Stage::Recovery => "recovery",
            Stage::Hardship => "hardship",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A simulated portfolio at its export, ready for closed-loop journeys.
#[derive(Debug, Clone)]
pub struct Portfolio {
    pub sim: SimConfig,
    pub catalog: TreatmentCatalog,
    pub export: NaiveDate,
    /// Accounts in collections at the export, in account order.
    pub accounts: Vec<StartState>,
    /// Journey days on which instalments fall due (day 15 of each month after the export).
    pub due_days: Vec<i32>,
    /// The logging policy's decisions before the export.
    pub history: Vec<LoggedContact>,
}

const CHUNK: usize = 512;

/// An account's (willingness, ability) from its record, before the portfolio's medians split
/// them into quadrants.
type Scored = ((f64, f64), StartState);

impl Portfolio {
    /// Simulates `sim` up to its export and keeps the accounts in collections there.
    pub fn simulate(sim: &SimConfig, catalog: &TreatmentCatalog) -> Result<Self, JourneyError> {
        Self::simulate_with_history(sim, catalog, sim.accounts)
    }

    /// Like [`Portfolio::simulate`], with the logged history of a larger book: accounts
    /// `0..history_accounts` of the same lender are simulated and all their decisions logged,
    /// while the journeys start from those of accounts `0..sim.accounts` in collections. Accounts
    /// are simulated independently, so those journeys' accounts are the ones `simulate` gives.
    pub fn simulate_with_history(
        sim: &SimConfig,
        catalog: &TreatmentCatalog,
        history_accounts: usize,
    ) -> Result<Self, JourneyError> {
        sim.check()?;
        if history_accounts < sim.accounts {
            return Err(recoup_core::InvalidSetting::new(
                "history_accounts",
                history_accounts,
                format!("at least the journey's accounts ({})", sim.accounts),
            )
            .into());
        }
        let cal = Calendar::new(sim.start, sim.months);
        let local = LocalTime::new(&cal);
        let engine = Engine::new(sim, &cal, &local, catalog);
        let export_day = cal.as_of_day[sim.months as usize];
        let export = cal.as_of[sim.months as usize];
        let export_day_epoch = i64::from(recoup_sim::calendar::days_since_epoch(export));
        let parts: Vec<(Vec<Scored>, Vec<LoggedContact>)> = (0..history_accounts)
            .step_by(CHUNK)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|from| {
                let mut starts = Vec::new();
                let mut history = Vec::new();
                for i in from..(from + CHUNK).min(history_accounts) {
                    let mut rows = Rows::default();
                    let (traits, acct) = engine.simulate_account(i as u32, &mut rows);
                    history.extend(logged_contacts(&rows, &cal, catalog, acct.consent));
                    let in_collections = (acct.status == AccountStatus::Open && acct.missed > 0)
                        || acct.charged_off();
                    if !in_collections || i >= sim.accounts {
                        continue;
                    }
                    let unpaid_dues = (1..=acct.missed)
                        .rev()
                        .map(|k| {
                            let due = month_start(sim.start, i64::from(sim.months) - i64::from(k))
                                + chrono::Days::new(DUE_OFFSET_DAYS as u64);
                            (due - export).num_days() as i32
                        })
                        .collect();
                    let observed = observed(&rows);
                    let record = record(&rows, &acct, export_day_epoch);
                    starts.push((
                        record,
                        StartState {
                            index: i as u32,
                            traits,
                            product: acct.product,
                            status: acct.status,
                            balance: acct.balance,
                            instalment: acct.instalment,
                            arrears: acct.arrears,
                            unpaid_dues,
                            shock_days: acct.shock_left as i32 * 30,
                            consent: acct.consent,
                            dnc: acct.dnc,
                            hardship: acct.hardship,
                            last_conversation_day: acct.last_conversation_day - export_day,
                            call_days: acct
                                .call_days
                                .iter()
                                .map(|d| d - export_day)
                                .filter(|&d| d > -7)
                                .collect(),
                            observed,
                            segment: Quadrant::Neither,
                        },
                    ));
                }
                (starts, history)
            })
            .collect();
        let mut scored = Vec::new();
        let mut history = Vec::new();
        for (s, h) in parts {
            scored.extend(s);
            history.extend(h);
        }
        let willingness: Vec<f64> = scored.iter().map(|((w, _), _)| *w).collect();
        let ability: Vec<f64> = scored.iter().map(|((_, a), _)| *a).collect();
        let (w_mid, a_mid) = (
            recoup_segment::median(&willingness),
            recoup_segment::median(&ability),
        );
        let accounts = scored
            .into_iter()
            .map(|((w, a), mut s)| {
                s.segment = Quadrant::of(w > w_mid, a > a_mid);
                s
            })
            .collect();
        let due_days = (0..4)
            .map(|m| {
                let due = month_start(export, m) + chrono::Days::new(DUE_OFFSET_DAYS as u64);
                (due - export).num_days() as i32
            })
            .collect();
        Ok(Self {
            sim: sim.clone(),
            catalog: catalog.clone(),
            export,
            accounts,
            due_days,
            history,
        })
    }

    /// Due days up to the end of a horizon of `days`.
    pub fn due_days_within(&self, days: i32) -> Vec<i32> {
        let mut out = Vec::new();
        let mut m = 0;
        loop {
            let due = month_start(self.export, m) + chrono::Days::new(DUE_OFFSET_DAYS as u64);
            let d = (due - self.export).num_days() as i32;
            if d >= days {
                break;
            }
            out.push(d);
            m += 1;
        }
        out
    }
}

fn observed(rows: &Rows) -> Observed {
    let mut o = Observed::default();
    let c = &rows.contacts;
    for k in 0..c.index.len() {
        if c.channel[k] == Channel::None {
            continue;
        }
        let ch = c.channel[k].index();
        o.attempts[ch] += 1;
        if c.outcome[k].is_response() {
            o.responses[ch] += 1;
            o.response_hours[ch].push(c.local_hour[k]);
        }
    }
    o
}

const DAY_MICROS: i64 = 86_400_000_000;

/// (willingness, ability) of an account at the export from its own record, as
/// `recoup segment` defines them without a model: payments in 180 days and promises kept for
/// willingness; reversals, the last payment against the amount due, credit headroom and kept
/// promises for ability (365 days).
fn record(rows: &Rows, acct: &recoup_sim::engine::Account, export_day: i64) -> (f64, f64) {
    let export_us = export_day * DAY_MICROS;
    let p = &rows.payments;
    let within = |k: usize, days: i64| {
        p.paid_at[k] < export_us && p.paid_at[k] >= export_us - days * DAY_MICROS
    };
    let payments_180d = (0..p.paid_at.len())
        .filter(|&k| !p.reversed[k] && within(k, 180))
        .count();
    let reversed_365d = (0..p.paid_at.len())
        .filter(|&k| p.reversed[k] && within(k, 365))
        .count();
    let last_payment = (0..p.paid_at.len())
        .filter(|&k| !p.reversed[k] && within(k, 365))
        .max_by_key(|&k| p.paid_at[k])
        .map_or(f64::NAN, |k| p.amount[k]);
    let pr = &rows.promises;
    let (mut kept, mut broken) = (0.0, 0.0);
    for k in 0..pr.due_on.len() {
        let made = pr.made_at[k];
        if i64::from(pr.due_on[k]) < export_day && made >= export_us - 365 * DAY_MICROS {
            match pr.kept[k] {
                Some(true) => kept += 1.0,
                Some(false) => broken += 1.0,
                None => {}
            }
        }
    }
    let rate = (kept + 1.0) / (kept + broken + 2.0);
    let willingness = recoup_segment::willingness_from_record(payments_180d as f64, rate);
    let utilisation = if acct.product == Product::Card && acct.limit > 0.0 {
        acct.balance / acct.limit
    } else {
        f64::NAN
    };
    let ability = recoup_segment::CapacitySignals {
        reversed_365d: reversed_365d as f64,
        last_payment,
        amount_due: acct.amount_due(),
        utilisation,
        promises_kept: kept,
        promises_broken: broken,
    }
    .ability();
    (willingness, ability)
}

/// One account's logged decisions with the share of the amount due collected in the 30 days
/// after each.
fn logged_contacts(
    rows: &Rows,
    cal: &Calendar,
    catalog: &TreatmentCatalog,
    consent_at_export: [bool; 5],
) -> Vec<LoggedContact> {
    let c = &rows.contacts;
    let s = &rows.states;
    let p = &rows.payments;
    let epoch_day = i64::from(recoup_sim::calendar::days_since_epoch(cal.start));
    let day_of = |k: usize| (c.at[k].div_euclid(DAY_MICROS) - epoch_day) as i32;
    // Consent before an opt-out: withdrawn on the opt-out's day, held before it.
    let mut opted_out_on = [i32::MAX; 5];
    for k in 0..c.index.len() {
        if c.outcome[k] == ContactOutcome::OptOut && c.channel[k] != Channel::None {
            let ch = c.channel[k].index();
            opted_out_on[ch] = opted_out_on[ch].min(day_of(k));
        }
    }
    let mut last_conversation = i32::MIN / 2;
    let mut calls: Vec<i32> = Vec::new();
    let mut out = Vec::with_capacity(c.index.len());
    for k in 0..c.index.len() {
        let at = c.at[k];
        let day = day_of(k);
        let mut channel_open = [false; 5];
        for (ch, open) in channel_open.iter_mut().enumerate() {
            *open = consent_at_export[ch] || opted_out_on[ch] > day;
        }
        let call = Channel::Call.index();
        channel_open[call] &=
            day >= last_conversation + 7 && calls.iter().filter(|&&d| d > day - 7).count() < 7;
        if c.channel[k] == Channel::Call {
            calls.push(day);
            if matches!(
                c.outcome[k],
                ContactOutcome::RightPartyContact | ContactOutcome::PromiseToPay
            ) {
                last_conversation = day;
            }
        }
        // The month the contact was made in: its state row holds the amount due and DPD.
        let Some(m) = cal.as_of_day.iter().rposition(|&d| d <= day) else {
            continue;
        };
        let Some(row) = s
            .as_of
            .iter()
            .position(|&a| i64::from(a) - epoch_day == i64::from(cal.as_of_day[m]))
        else {
            continue;
        };
        let due = s.amount_due[row];
        if due < 0.01 {
            continue;
        }
        let collected: f64 = (0..p.index.len())
            .filter(|&j| {
                !p.reversed[j] && p.paid_at[j] > at && p.paid_at[j] <= at + 30 * DAY_MICROS
            })
            .map(|j| p.amount[j])
            .sum();
        let dpd = s.dpd[row] as i32 + (day - cal.as_of_day[m]);
        let charged_off = s.status[row] == AccountStatus::ChargedOff;
        // Hardship is not in the history's state rows; it reaches policies through the catalog's
        // hardship treatment, so history stages leave it out.
        let stage = Stage::of(dpd, charged_off, false);
        let treatment = c.treatment[k];
        out.push(LoggedContact {
            stage,
            treatment,
            channel: catalog.treatments[treatment as usize].channel,
            propensity: c.propensity[k],
            local_hour: c.local_hour[k],
            explored: c.arm[k] == recoup_core::PolicyArm::Explore,
            responded: c.outcome[k].is_response() && c.outcome[k] != ContactOutcome::OptOut,
            opted_out: c.outcome[k] == ContactOutcome::OptOut,
            collected_share: collected / due,
            channel_open,
        });
    }
    out
}
