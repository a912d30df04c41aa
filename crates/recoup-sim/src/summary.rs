//! Marginal rates of a raw folder, computed from its tables alone (not from the simulator's
//! internals), so they can check the simulator against its documented ranges.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use recoup_core::{Channel, ContactOutcome, Table};
use recoup_io::read_table;
use serde::Serialize;

use crate::error::SimError;

/// A rate with its numerator and denominator.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Rate {
    pub hits: u64,
    pub total: u64,
}

impl Rate {
    pub fn value(&self) -> f64 {
        if self.total == 0 {
            f64::NAN
        } else {
            self.hits as f64 / self.total as f64
        }
    }
    fn add(&mut self, hit: bool) {
        self.total += 1;
        self.hits += u64::from(hit);
    }
}

/// Observed rates of a portfolio.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PortfolioRates {
    pub accounts: usize,
    /// Monthly share of current accounts that are past due at the next as-of date.
    pub current_to_delinquent: Rate,
    /// Monthly roll rates from each DPD bucket to the next (or to charge-off from 150-179).
    pub roll: BTreeMap<String, Rate>,
    /// Share of accounts past due (open, DPD > 0) at the last as-of date.
    pub delinquent_at_export: Rate,
    pub charged_off_at_export: Rate,
    pub sms_delivered: Rate,
    pub sms_clicked: Rate,
    pub email_delivered: Rate,
    pub email_opened: Rate,
    pub email_clicked: Rate,
    pub push_opened: Rate,
    pub call_answered: Rate,
    pub call_right_party: Rate,
    pub promise_per_right_party: Rate,
    pub letter_returned: Rate,
    pub promise_kept: Rate,
    pub payment_reversed: Rate,
    pub explored: Rate,
    pub contacts_by_channel: BTreeMap<String, u64>,
}

fn bucket(dpd: i64) -> usize {
    match dpd {
        i64::MIN..=0 => 0,
        1..=29 => 1,
        30..=59 => 2,
        60..=89 => 3,
        90..=119 => 4,
        120..=149 => 5,
        _ => 6,
    }
}

const BUCKETS: [&str; 7] = [
    "current", "1-29", "30-59", "60-89", "90-119", "120-149", "150-179",
];

fn err(dir: &Path) -> impl Fn(PolarsError) -> SimError + '_ {
    move |e| {
        SimError::Table(recoup_io::TableError::Polars {
            file: dir.to_path_buf(),
            source: e,
        })
    }
}

impl PortfolioRates {
    pub fn from_dir(dir: &Path) -> Result<Self, SimError> {
        let mut r = PortfolioRates {
            accounts: read_table(dir, Table::Accounts)?.height(),
            ..Self::default()
        };
        let states = read_table(dir, Table::AccountStates)?
            .sort(["account_id", "as_of"], SortMultipleOptions::default())
            .map_err(err(dir))?;
        let ids = states
            .column("account_id")
            .and_then(|c| c.str().cloned())
            .map_err(err(dir))?;
        let dpd = states
            .column("days_past_due")
            .and_then(|c| c.i64().cloned())
            .map_err(err(dir))?;
        let status = states
            .column("status")
            .and_then(|c| c.str().cloned())
            .map_err(err(dir))?;
        let as_of = states
            .column("as_of")
            .and_then(|c| c.date().map(|d| d.physical().clone()))
            .map_err(err(dir))?;
        let last = as_of.max().unwrap_or_default();
        let mut rolls: Vec<Rate> = vec![Rate::default(); 7];
        let n = states.height();
        for i in 0..n {
            let (Some(id), Some(d), Some(st)) = (ids.get(i), dpd.get(i), status.get(i)) else {
                continue;
            };
            if as_of.get(i) == Some(last) {
                r.delinquent_at_export.add(st == "open" && d > 0);
                r.charged_off_at_export.add(st == "charged_off");
            }
            if st != "open" || i + 1 >= n || ids.get(i + 1) != Some(id) {
                continue;
            }
            let (Some(nd), Some(nst)) = (dpd.get(i + 1), status.get(i + 1)) else {
                continue;
            };
            let b = bucket(d);
            if b == 0 {
                r.current_to_delinquent
                    .add(nst == "open" && nd > 0 || nst == "charged_off");
            } else {
                let rolled = nst == "charged_off" || (nst == "open" && bucket(nd) > b);
                rolls[b].add(rolled);
            }
        }
        for (b, rate) in rolls.into_iter().enumerate().skip(1) {
            let to = if b == 6 {
                "charged_off"
            } else {
                BUCKETS[b + 1]
            };
            r.roll.insert(format!("{} -> {to}", BUCKETS[b]), rate);
        }

        let contacts = read_table(dir, Table::Contacts)?;
        let chan = contacts
            .column("channel")
            .and_then(|c| c.str().cloned())
            .map_err(err(dir))?;
        let outcome = contacts
            .column("outcome")
            .and_then(|c| c.str().cloned())
            .map_err(err(dir))?;
        let arm = contacts
            .column("policy_arm")
            .and_then(|c| c.str().cloned())
            .map_err(err(dir))?;
        use ContactOutcome as O;
        for ((c, o), a) in chan.iter().zip(outcome.iter()).zip(arm.iter()) {
            let (Some(Ok(c)), Some(Ok(o))) = (
                c.map(str::parse::<Channel>),
                o.map(str::parse::<ContactOutcome>),
            ) else {
                continue;
            };
            r.explored.add(a == Some("explore"));
            *r.contacts_by_channel.entry(c.to_string()).or_default() += 1;
            match c {
                Channel::Sms => {
                    r.sms_delivered.add(o != O::Failed);
                    r.sms_clicked.add(o == O::Clicked);
                }
                Channel::Email => {
                    r.email_delivered.add(o != O::Bounced);
                    r.email_opened.add(matches!(o, O::Opened | O::Clicked));
                    r.email_clicked.add(o == O::Clicked);
                }
                Channel::Push => r.push_opened.add(o == O::Opened),
                Channel::Call => {
                    let rpc = matches!(o, O::RightPartyContact | O::PromiseToPay);
                    r.call_answered.add(matches!(
                        o,
                        O::Answered
                            | O::WrongParty
                            | O::RightPartyContact
                            | O::PromiseToPay
                            | O::OptOut
                    ));
                    r.call_right_party.add(rpc);
                    if rpc {
                        r.promise_per_right_party.add(o == O::PromiseToPay);
                    }
                }
                Channel::Letter => r.letter_returned.add(o == O::ReturnedMail),
                Channel::None => {}
            }
        }

        let promises = read_table(dir, Table::Promises)?;
        let kept = promises
            .column("kept")
            .and_then(|c| c.bool().cloned())
            .map_err(err(dir))?;
        for k in kept.iter().flatten() {
            r.promise_kept.add(k);
        }
        let payments = read_table(dir, Table::Payments)?;
        let reversed = payments
            .column("reversed")
            .and_then(|c| c.bool().cloned())
            .map_err(err(dir))?;
        for v in reversed.iter().flatten() {
            r.payment_reversed.add(v);
        }
        Ok(r)
    }

    /// The documented range of each rate the simulator is calibrated to, by name.
    pub fn checks(&self) -> Vec<(&'static str, f64, (f64, f64))> {
        let roll = |k: &str| self.roll.get(k).map_or(f64::NAN, Rate::value);
        vec![
            (
                "current -> past due, monthly",
                self.current_to_delinquent.value(),
                (0.01, 0.04),
            ),
            ("roll 1-29 -> 30-59", roll("1-29 -> 30-59"), (0.35, 0.65)),
            ("roll 30-59 -> 60-89", roll("30-59 -> 60-89"), (0.60, 0.82)),
            (
                "roll 60-89 -> 90-119",
                roll("60-89 -> 90-119"),
                (0.80, 0.95),
            ),
            (
                "roll 90-119 -> 120-149",
                roll("90-119 -> 120-149"),
                (0.85, 0.98),
            ),
            ("sms delivered", self.sms_delivered.value(), (0.90, 0.98)),
            ("email opened", self.email_opened.value(), (0.15, 0.40)),
            ("email clicked", self.email_clicked.value(), (0.01, 0.06)),
            ("call answered", self.call_answered.value(), (0.10, 0.30)),
            (
                "call right-party contact",
                self.call_right_party.value(),
                (0.04, 0.15),
            ),
            (
                "promise per right-party contact",
                self.promise_per_right_party.value(),
                (0.25, 0.60),
            ),
            ("promise kept", self.promise_kept.value(), (0.50, 0.70)),
        ]
    }
}

/// What the ground truth says the best possible policy is worth, 30 days after the export.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TruthSummary {
    /// Accounts in collections at the export.
    pub accounts: usize,
    /// Expected amount collected net of contact costs if nobody is contacted.
    pub net_no_contact: f64,
    /// The single treatment that is best when given to every account it is eligible for
    /// (the others are left alone), and its expected net amount.
    pub best_single_treatment: String,
    pub net_best_single_treatment: f64,
    /// Expected net amount when every account gets its own best eligible treatment.
    pub net_best_per_account: f64,
    /// How many accounts have each treatment as their best.
    pub best_treatment_counts: BTreeMap<String, usize>,
}

/// An account and the net value of each catalog treatment (`None`: ineligible).
type AccountValues = (String, Vec<Option<f64>>);

/// Every account's net value (expected amount in 30 days less unit cost) of each catalog
/// treatment, `None` where ineligible, from `truth/treatment_effects.parquet`, in file order.
fn net_values(
    dir: &Path,
    catalog: &recoup_core::TreatmentCatalog,
) -> Result<Vec<AccountValues>, SimError> {
    let (path, _) = crate::truth_paths(dir);
    let df = read_parquet(&path)?;
    let col = |n: &str| df.column(n).map_err(err(&path));
    let ids = col("account_id")?.str().map_err(err(&path))?.clone();
    let treatments = col("treatment_id")?.str().map_err(err(&path))?.clone();
    let eligible = col("eligible")?.bool().map_err(err(&path))?.clone();
    let amount = col("expected_amount_30d")?
        .f64()
        .map_err(err(&path))?
        .clone();
    let nt = catalog.treatments.len();
    let mut out: Vec<AccountValues> = Vec::new();
    for i in 0..df.height() {
        let id = ids.get(i).unwrap_or_default();
        if out.last().is_none_or(|(last, _)| last != id) {
            out.push((id.to_owned(), vec![None; nt]));
        }
        if let (Some(t), Some(true), Some(a), Some((_, v))) = (
            treatments.get(i).and_then(|t| catalog.position(t)),
            eligible.get(i),
            amount.get(i),
            out.last_mut(),
        ) {
            v[t] = Some(a - catalog.treatments[t].unit_cost);
        }
    }
    Ok(out)
}

fn read_parquet(path: &Path) -> Result<DataFrame, SimError> {
    let file = std::fs::File::open(path).map_err(|source| SimError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ParquetReader::new(file).finish().map_err(err(path))
}

fn no_contact(catalog: &recoup_core::TreatmentCatalog) -> Option<usize> {
    catalog
        .treatments
        .iter()
        .position(|t| t.offer == recoup_core::Offer::NoContact)
}

impl TruthSummary {
    /// Reads `truth/treatment_effects.parquet`; net value is `expected_amount_30d - unit_cost`.
    pub fn from_dir(dir: &Path, catalog: &recoup_core::TreatmentCatalog) -> Result<Self, SimError> {
        let no_contact = no_contact(catalog);
        let nt = catalog.treatments.len();
        let mut s = TruthSummary::default();
        let mut fixed = vec![0.0; nt];
        let mut counts = vec![0usize; nt];
        for (_, values) in net_values(dir, catalog)? {
            let idle = no_contact.and_then(|k| values[k]).unwrap_or(0.0);
            let best = values
                .iter()
                .enumerate()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            s.accounts += 1;
            s.net_no_contact += idle;
            if let Some((k, v)) = best {
                s.net_best_per_account += v;
                counts[k] += 1;
            }
            for (k, f) in fixed.iter_mut().enumerate() {
                *f += values[k].unwrap_or(idle);
            }
        }
        if let Some((k, v)) = fixed.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) {
            s.best_single_treatment = catalog.treatments[k].id.clone();
            s.net_best_single_treatment = *v;
        }
        s.best_treatment_counts = catalog
            .treatments
            .iter()
            .zip(counts)
            .filter(|(_, c)| *c > 0)
            .map(|(t, c)| (t.id.clone(), c))
            .collect();
        Ok(s)
    }
}

/// The ground-truth value of a set of decisions, beside simple policies on the same accounts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyValue {
    /// Decided accounts found in the ground truth.
    pub accounts: usize,
    /// Expected amount collected net of contact costs under the decisions; a decision the
    /// ground truth calls ineligible counts as no contact (see `ineligible`).
    pub net_policy: f64,
    pub ineligible: usize,
    pub net_no_contact: f64,
    /// The best single treatment for these accounts (the ineligible left alone).
    pub net_best_single: f64,
    /// Every account's own best eligible treatment.
    pub net_oracle: f64,
}

impl TruthSummary {
    /// Values `decisions` (a parquet file with `account_id` and `treatment` columns, as
    /// `recoup score` writes) with `truth/treatment_effects.parquet`.
    pub fn value_of_decisions(
        dir: &Path,
        catalog: &recoup_core::TreatmentCatalog,
        decisions: &Path,
    ) -> Result<PolicyValue, SimError> {
        let values: std::collections::HashMap<String, Vec<Option<f64>>> =
            net_values(dir, catalog)?.into_iter().collect();
        let nt = catalog.treatments.len();
        let no_contact = no_contact(catalog);
        let dec = read_parquet(decisions)?;
        let dcol = |n: &str| dec.column(n).map_err(err(decisions));
        let d_ids = dcol("account_id")?.str().map_err(err(decisions))?.clone();
        let d_t = dcol("treatment")?.str().map_err(err(decisions))?.clone();
        let mut out = PolicyValue::default();
        let mut fixed = vec![0.0; nt];
        for i in 0..dec.height() {
            let Some(v) = d_ids.get(i).and_then(|id| values.get(id)) else {
                continue;
            };
            let idle = no_contact.and_then(|k| v[k]).unwrap_or(0.0);
            out.accounts += 1;
            out.net_no_contact += idle;
            match d_t
                .get(i)
                .and_then(|t| catalog.position(t))
                .and_then(|k| v[k])
            {
                Some(x) => out.net_policy += x,
                None => {
                    out.ineligible += 1;
                    out.net_policy += idle;
                }
            }
            out.net_oracle += v.iter().flatten().copied().fold(idle, f64::max);
            for (k, f) in fixed.iter_mut().enumerate() {
                *f += v[k].unwrap_or(idle);
            }
        }
        out.net_best_single = fixed.into_iter().fold(f64::NEG_INFINITY, f64::max);
        if out.accounts == 0 {
            out.net_best_single = 0.0;
        }
        Ok(out)
    }
}
