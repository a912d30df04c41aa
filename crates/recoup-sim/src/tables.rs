//! Columnar buffers of simulated rows, and their conversion to the contract's frames.

use polars::prelude::*;
use recoup_core::schema::Table;
use recoup_core::{
    AccountStatus, Channel, ContactOutcome, PaymentMethod, PaymentVia, PolicyArm, Product,
};
use recoup_io::convert::polars_dtype;
use std::fmt::Write as _;

/// Account ids are `A` and eight digits; event ids append a per-account sequence number.
pub fn account_id(index: u32, out: &mut String) {
    let _ = write!(out, "A{index:08}");
}

#[derive(Debug, Default)]
pub struct AccountRows {
    pub index: Vec<u32>,
    pub product: Vec<Product>,
    pub opened_on: Vec<i32>,
    pub credit_limit: Vec<Option<f64>>,
    pub original_principal: Vec<Option<f64>>,
    pub zone: Vec<u8>,
    pub region: Vec<&'static str>,
    pub consent: Vec<[bool; 5]>,
    pub dnc: Vec<[bool; 4]>,
    pub hardship: Vec<bool>,
    pub autopay: Vec<bool>,
    pub language: Vec<&'static str>,
}

#[derive(Debug, Default)]
pub struct StateRows {
    pub index: Vec<u32>,
    pub as_of: Vec<i32>,
    pub status: Vec<AccountStatus>,
    pub balance: Vec<f64>,
    pub amount_due: Vec<f64>,
    pub dpd: Vec<i64>,
}

#[derive(Debug, Default)]
pub struct PaymentRows {
    pub index: Vec<u32>,
    pub seq: Vec<u16>,
    pub paid_at: Vec<i64>,
    pub amount: Vec<f64>,
    pub method: Vec<PaymentMethod>,
    pub via: Vec<PaymentVia>,
    pub reversed: Vec<bool>,
}

#[derive(Debug, Default)]
pub struct ContactRows {
    pub index: Vec<u32>,
    pub seq: Vec<u16>,
    pub at: Vec<i64>,
    pub channel: Vec<Channel>,
    pub treatment: Vec<u16>,
    /// Local hour of the contact in the customer's zone (not written: `at` carries it).
    pub local_hour: Vec<u8>,
    pub outcome: Vec<ContactOutcome>,
    pub arm: Vec<PolicyArm>,
    pub propensity: Vec<f64>,
}

#[derive(Debug, Default)]
pub struct PromiseRows {
    pub index: Vec<u32>,
    pub seq: Vec<u16>,
    pub contact_seq: Vec<u16>,
    pub made_at: Vec<i64>,
    pub due_on: Vec<i32>,
    pub amount: Vec<f64>,
    pub kept: Vec<Option<bool>>,
}

#[derive(Debug, Default)]
pub struct TruthRows {
    pub index: Vec<u32>,
    pub treatment: Vec<u16>,
    pub eligible: Vec<bool>,
    pub p_engage: Vec<f64>,
    pub p_pay: Vec<f64>,
    pub expected_amount: Vec<f64>,
}

#[derive(Debug, Default)]
pub struct TraitRows {
    pub index: Vec<u32>,
    pub ability: Vec<f64>,
    pub willingness: Vec<f64>,
    pub engagement: Vec<[f64; 5]>,
    pub preferred_hour: Vec<i32>,
    pub plan_affinity: Vec<f64>,
    pub settlement_affinity: Vec<f64>,
    pub promise_reliability: Vec<f64>,
    pub contact_averse: Vec<bool>,
    pub in_shock_at_export: Vec<bool>,
}

/// Every row produced for a range of accounts.
#[derive(Debug, Default)]
pub struct Rows {
    pub accounts: AccountRows,
    pub states: StateRows,
    pub payments: PaymentRows,
    pub contacts: ContactRows,
    pub promises: PromiseRows,
    pub truth: TruthRows,
    pub traits: TraitRows,
}

macro_rules! extend_all {
    ($dst:expr, $src:expr, $($f:ident),+) => { $( $dst.$f.extend($src.$f); )+ };
}

impl Rows {
    /// Appends `other` after `self`'s rows.
    pub fn append(&mut self, other: Rows) {
        extend_all!(
            self.accounts,
            other.accounts,
            index,
            product,
            opened_on,
            credit_limit,
            original_principal,
            zone,
            region,
            consent,
            dnc,
            hardship,
            autopay,
            language
        );
        extend_all!(
            self.states,
            other.states,
            index,
            as_of,
            status,
            balance,
            amount_due,
            dpd
        );
        extend_all!(
            self.payments,
            other.payments,
            index,
            seq,
            paid_at,
            amount,
            method,
            via,
            reversed
        );
        extend_all!(
            self.contacts,
            other.contacts,
            index,
            seq,
            at,
            channel,
            treatment,
            local_hour,
            outcome,
            arm,
            propensity
        );
        extend_all!(
            self.promises,
            other.promises,
            index,
            seq,
            contact_seq,
            made_at,
            due_on,
            amount,
            kept
        );
        extend_all!(
            self.truth,
            other.truth,
            index,
            treatment,
            eligible,
            p_engage,
            p_pay,
            expected_amount
        );
        extend_all!(
            self.traits,
            other.traits,
            index,
            ability,
            willingness,
            engagement,
            preferred_hour,
            plan_affinity,
            settlement_affinity,
            promise_reliability,
            contact_averse,
            in_shock_at_export
        );
    }
}

fn strings(name: &str, n: usize, mut f: impl FnMut(usize, &mut String)) -> Column {
    let mut b = StringChunkedBuilder::new(name.into(), n);
    let mut buf = String::with_capacity(32);
    for i in 0..n {
        buf.clear();
        f(i, &mut buf);
        b.append_value(&buf);
    }
    b.finish().into_column()
}

fn ids(name: &str, index: &[u32]) -> Column {
    strings(name, index.len(), |i, s| account_id(index[i], s))
}

fn event_ids(name: &str, index: &[u32], tag: &str, seq: &[u16]) -> Column {
    strings(name, index.len(), |i, s| {
        account_id(index[i], s);
        let _ = write!(s, "-{tag}{:04}", seq[i]);
    })
}

fn names<T: Copy>(name: &str, v: &[T], f: impl Fn(T) -> &'static str) -> Column {
    strings(name, v.len(), |i, s| s.push_str(f(v[i])))
}

fn f64s(name: &str, v: Vec<f64>) -> Column {
    Float64Chunked::from_vec(name.into(), v).into_column()
}

fn opt_f64s(name: &str, v: &[Option<f64>]) -> Column {
    Float64Chunked::from_iter_options(name.into(), v.iter().copied()).into_column()
}

fn bools(name: &str, v: impl Iterator<Item = bool>) -> Column {
    BooleanChunked::from_iter_values(name.into(), v).into_column()
}

fn dates(name: &str, v: Vec<i32>) -> Column {
    Int32Chunked::from_vec(name.into(), v)
        .into_date()
        .into_column()
}

fn timestamps(name: &str, v: Vec<i64>) -> Column {
    Int64Chunked::from_vec(name.into(), v)
        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
        .into_column()
}

fn frame(table: Table, columns: Vec<Column>) -> PolarsResult<DataFrame> {
    debug_assert!(
        table
            .schema()
            .column_names()
            .eq(columns.iter().map(|c| c.name().as_str())),
        "columns of {table} follow the contract"
    );
    let height = columns.first().map_or(0, Column::len);
    DataFrame::new(height, columns)
}

/// The contract's schema of a table as a polars schema.
pub fn contract_schema(table: Table) -> Schema {
    table
        .schema()
        .columns
        .iter()
        .map(|c| Field::new(c.name.into(), polars_dtype(c.ty)))
        .collect()
}

/// Schema of `truth/treatment_effects.parquet`.
pub fn truth_schema() -> Schema {
    Schema::from_iter([
        Field::new("account_id".into(), DataType::String),
        Field::new("treatment_id".into(), DataType::String),
        Field::new("eligible".into(), DataType::Boolean),
        Field::new("p_engage".into(), DataType::Float64),
        Field::new("p_pay_30d".into(), DataType::Float64),
        Field::new("expected_amount_30d".into(), DataType::Float64),
    ])
}

pub const TRAIT_COLUMNS: &[&str] = &[
    "account_id",
    "ability",
    "willingness",
    "engagement_sms",
    "engagement_email",
    "engagement_call",
    "engagement_letter",
    "engagement_push",
    "preferred_hour",
    "plan_affinity",
    "settlement_affinity",
    "promise_reliability",
    "contact_averse",
    "in_shock_at_export",
];

/// Schema of `truth/customers.parquet`.
pub fn traits_schema() -> Schema {
    Schema::from_iter(TRAIT_COLUMNS.iter().map(|&n| {
        let dt = match n {
            "account_id" => DataType::String,
            "preferred_hour" => DataType::Int32,
            "contact_averse" | "in_shock_at_export" => DataType::Boolean,
            _ => DataType::Float64,
        };
        Field::new(n.into(), dt)
    }))
}

/// The frames of one batch, in the order of [`Frames::NAMES`].
#[derive(Debug)]
pub struct Frames {
    pub accounts: DataFrame,
    pub states: DataFrame,
    pub payments: DataFrame,
    pub contacts: DataFrame,
    pub promises: DataFrame,
    pub truth: DataFrame,
    pub traits: DataFrame,
}

impl Rows {
    pub fn into_frames(self, treatment_ids: &[String]) -> PolarsResult<Frames> {
        let a = self.accounts;
        let n = a.index.len();
        let zone_name = |z: u8| crate::calendar::ZONES[z as usize].0;
        let mut cols = vec![
            ids("account_id", &a.index),
            strings("customer_id", n, |i, s| {
                let _ = write!(s, "C{:08}", a.index[i]);
            }),
            names("product", &a.product, Product::as_str),
            dates("opened_on", a.opened_on),
            opt_f64s("credit_limit", &a.credit_limit),
            opt_f64s("original_principal", &a.original_principal),
            strings("currency", n, |_, s| s.push_str("USD")),
            names("time_zone", &a.zone, zone_name),
            names("region", &a.region, |r| r),
        ];
        for (k, ch) in Channel::CONTACTABLE.iter().enumerate() {
            cols.push(bools(
                ch.consent_column().unwrap_or_default(),
                a.consent.iter().map(|c| c[k]),
            ));
        }
        for (k, name) in [
            "dnc_dispute",
            "dnc_bankruptcy",
            "dnc_cease_and_desist",
            "dnc_deceased",
        ]
        .iter()
        .enumerate()
        {
            cols.push(bools(name, a.dnc.iter().map(|d| d[k])));
        }
        cols.push(bools("hardship", a.hardship.iter().copied()));
        cols.push(bools("autopay_enrolled", a.autopay.iter().copied()));
        cols.push(names("preferred_language", &a.language, |l| l));
        let accounts = frame(Table::Accounts, cols)?;

        let s = self.states;
        let states = frame(
            Table::AccountStates,
            vec![
                ids("account_id", &s.index),
                dates("as_of", s.as_of),
                names("status", &s.status, AccountStatus::as_str),
                f64s("balance", s.balance),
                f64s("amount_due", s.amount_due),
                Int64Chunked::from_vec("days_past_due".into(), s.dpd).into_column(),
            ],
        )?;

        let p = self.payments;
        let payments = frame(
            Table::Payments,
            vec![
                event_ids("payment_id", &p.index, "P", &p.seq),
                ids("account_id", &p.index),
                timestamps("paid_at", p.paid_at),
                f64s("amount", p.amount),
                names("method", &p.method, PaymentMethod::as_str),
                names("via", &p.via, PaymentVia::as_str),
                bools("reversed", p.reversed.into_iter()),
            ],
        )?;

        let c = self.contacts;
        let contacts = frame(
            Table::Contacts,
            vec![
                event_ids("contact_id", &c.index, "C", &c.seq),
                ids("account_id", &c.index),
                timestamps("contacted_at", c.at),
                names("channel", &c.channel, Channel::as_str),
                strings("treatment_id", c.treatment.len(), |i, s| {
                    s.push_str(&treatment_ids[c.treatment[i] as usize])
                }),
                names("outcome", &c.outcome, ContactOutcome::as_str),
                names("policy_arm", &c.arm, PolicyArm::as_str),
                f64s("propensity", c.propensity),
            ],
        )?;

        let pr = self.promises;
        let promises = frame(
            Table::Promises,
            vec![
                event_ids("promise_id", &pr.index, "PR", &pr.seq),
                ids("account_id", &pr.index),
                event_ids("contact_id", &pr.index, "C", &pr.contact_seq),
                timestamps("made_at", pr.made_at),
                dates("due_on", pr.due_on),
                f64s("amount", pr.amount),
                BooleanChunked::from_iter_options("kept".into(), pr.kept.into_iter()).into_column(),
            ],
        )?;

        let t = self.truth;
        let truth = DataFrame::new(
            t.index.len(),
            vec![
                ids("account_id", &t.index),
                strings("treatment_id", t.treatment.len(), |i, s| {
                    s.push_str(&treatment_ids[t.treatment[i] as usize])
                }),
                bools("eligible", t.eligible.into_iter()),
                f64s("p_engage", t.p_engage),
                f64s("p_pay_30d", t.p_pay),
                f64s("expected_amount_30d", t.expected_amount),
            ],
        )?;

        let tr = self.traits;
        let mut cols = vec![
            ids("account_id", &tr.index),
            f64s("ability", tr.ability),
            f64s("willingness", tr.willingness),
        ];
        for (k, name) in TRAIT_COLUMNS[3..8].iter().enumerate() {
            cols.push(f64s(name, tr.engagement.iter().map(|e| e[k]).collect()));
        }
        cols.extend([
            Int32Chunked::from_vec("preferred_hour".into(), tr.preferred_hour).into_column(),
            f64s("plan_affinity", tr.plan_affinity),
            f64s("settlement_affinity", tr.settlement_affinity),
            f64s("promise_reliability", tr.promise_reliability),
            bools("contact_averse", tr.contact_averse.into_iter()),
            bools("in_shock_at_export", tr.in_shock_at_export.into_iter()),
        ]);
        let traits = DataFrame::new(tr.index.len(), cols)?;
        Ok(Frames {
            accounts,
            states,
            payments,
            contacts,
            promises,
            truth,
            traits,
        })
    }
}
