//! The account snapshot table: one row per account and as-of date.
//!
//! Timestamps are handled as int64 microseconds since the UTC epoch and dates as int64 days,
//! so every window bound is a plain integer comparison: an event at `t` feeds the features of
//! as-of instant `a` iff `a - window <= t < a`, and the labels iff `a <= t < a + horizon`.

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use polars::prelude::*;
use recoup_core::{ContactOutcome, Product, Table};
use recoup_io::convert::date_to_days;

use crate::config::FeatureConfig;
use crate::error::FeatureError;
use crate::schema::{CHANNELS, Dtype, FeatureSchema};

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: f64 = 3_600_000_000.0;

/// The raw tables prepared for queries (timestamps as `*_us`, dates as `*_day`). Every table
/// also has `acc_ix`, the account's row in `accounts` (u32): queries group, sort and join on it
/// instead of hashing and comparing id strings.
#[derive(Debug, Clone)]
pub struct RawTables {
    pub accounts: DataFrame,
    pub states: DataFrame,
    pub payments: DataFrame,
    pub contacts: DataFrame,
    pub promises: DataFrame,
    pub export_at: DateTime<Utc>,
    /// The distinct time zones of `accounts`, sorted.
    pub time_zones: Vec<String>,
    /// The time zone of each account, by `acc_ix`.
    pub zones: Vec<Tz>,
}

fn micros(df: &DataFrame, name: &str, alias: &str) -> PolarsResult<Column> {
    Ok(df
        .column(name)?
        .datetime()?
        .physical()
        .clone()
        .with_name(alias.into())
        .into_column())
}

fn days(df: &DataFrame, name: &str, alias: &str) -> PolarsResult<Column> {
    df.column(name)?
        .date()?
        .physical()
        .cast(&DataType::Int64)
        .map(|s| s.with_name(alias.into()).into_column())
}

/// The row in `accounts` of each value of `df.account_id`; null for an id not in `accounts`
/// (validation reports those before any query runs).
fn account_index(df: &DataFrame, index: &PlHashMap<&str, u32>) -> PolarsResult<Column> {
    let ids = df.column("account_id")?.str()?;
    const MISSING: u32 = u32::MAX;
    let mut out = Vec::with_capacity(ids.len());
    let mut ix = MISSING;
    for (_, id, new_run) in recoup_io::runs::rows_with_runs(ids) {
        if new_run {
            ix = id.and_then(|id| index.get(id).copied()).unwrap_or(MISSING);
        }
        out.push(ix);
    }
    let ix = if out.contains(&MISSING) {
        out.into_iter()
            .map(|i| (i != MISSING).then_some(i))
            .collect::<UInt32Chunked>()
    } else {
        UInt32Chunked::from_vec(PlSmallStr::EMPTY, out)
    };
    Ok(ix.with_name(ACC_IX.into()).into_column())
}

/// The integer account key of every prepared table.
pub(crate) const ACC_IX: &str = "acc_ix";

fn pick(df: &DataFrame, names: &[&str], extra: Vec<Column>) -> PolarsResult<DataFrame> {
    let mut cols: Vec<Column> = names
        .iter()
        .map(|n| df.column(n).cloned())
        .collect::<PolarsResult<_>>()?;
    cols.extend(extra);
    DataFrame::new(df.height(), cols)
}

impl RawTables {
    /// Prepares tables loaded in the contract's types (as [`recoup_io::validate_and_load`]
    /// returns them).
    pub fn from_tables(
        tables: &std::collections::HashMap<Table, DataFrame>,
        export_at: DateTime<Utc>,
    ) -> Result<Self, FeatureError> {
        let get = |t: Table| -> Result<&DataFrame, FeatureError> {
            tables.get(&t).ok_or_else(|| FeatureError::InvalidInput {
                dir: std::path::PathBuf::new(),
                count: 1,
                first: format!("table `{t}` could not be loaded"),
            })
        };
        let a = get(Table::Accounts)?;
        let mut acc_cols = vec![
            "account_id",
            "product",
            "credit_limit",
            "original_principal",
            "autopay_enrolled",
            "time_zone",
        ];
        let consent: Vec<String> = CHANNELS.iter().map(|c| format!("consent_{c}")).collect();
        acc_cols.extend(consent.iter().map(String::as_str));
        let index: PlHashMap<&str, u32> = a
            .column("account_id")?
            .str()?
            .iter()
            .enumerate()
            .filter_map(|(i, id)| Some((id?, i as u32)))
            .collect();
        let ix = |df: &DataFrame| account_index(df, &index);
        let accounts = pick(
            a,
            &acc_cols,
            vec![days(a, "opened_on", "opened_day")?, ix(a)?],
        )?;
        let s = get(Table::AccountStates)?;
        let states = pick(
            s,
            &[
                "account_id",
                "status",
                "balance",
                "amount_due",
                "days_past_due",
            ],
            vec![days(s, "as_of", "as_of_day")?, ix(s)?],
        )?;
        let p = get(Table::Payments)?;
        let payments = pick(
            p,
            &["account_id", "amount", "reversed"],
            vec![micros(p, "paid_at", "paid_us")?, ix(p)?],
        )?;
        let c = get(Table::Contacts)?;
        let contacts = pick(
            c,
            &[
                "contact_id",
                "account_id",
                "channel",
                "treatment_id",
                "outcome",
                "policy_arm",
                "propensity",
            ],
            vec![micros(c, "contacted_at", "at_us")?, ix(c)?],
        )?;
        let r = get(Table::Promises)?;
        let promises = pick(
            r,
            &["account_id", "kept"],
            vec![
                micros(r, "made_at", "made_us")?,
                days(r, "due_on", "due_day")?,
                ix(r)?,
            ],
        )?;
        let mut time_zones: Vec<String> = accounts
            .column("time_zone")?
            .str()?
            .iter()
            .flatten()
            .map(str::to_owned)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        time_zones.shrink_to_fit();
        let mut parsed = std::collections::HashMap::new();
        for zone in &time_zones {
            let tz = zone.parse::<Tz>().map_err(|_| FeatureError::InvalidInput {
                dir: std::path::PathBuf::new(),
                count: 1,
                first: format!("accounts.time_zone: `{zone}` is not an IANA time zone name"),
            })?;
            parsed.insert(zone.as_str(), tz);
        }
        let zones = accounts
            .column("time_zone")?
            .str()?
            .iter()
            .map(|z| z.and_then(|z| parsed.get(z).copied()).unwrap_or(Tz::UTC))
            .collect();
        Ok(Self {
            zones,
            time_zones,
            accounts,
            states,
            payments,
            contacts,
            promises,
            export_at,
        })
    }
}

/// The rows of an event table whose `column` lies in `[from, to)`.
fn between(df: &DataFrame, column: &str, from: i64, to: i64) -> LazyFrame {
    df.clone()
        .lazy()
        .filter(col(column).gt_eq(lit(from)).and(col(column).lt(lit(to))))
}

fn count(pred: Expr) -> Expr {
    pred.cast(DataType::Int64).sum()
}

fn is_one_of(column: &str, values: &[&str]) -> Expr {
    values
        .iter()
        .map(|v| col(column).eq(lit(*v)))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}

fn response_outcomes() -> Vec<&'static str> {
    ContactOutcome::ALL
        .iter()
        .filter(|o| o.is_response())
        .map(|o| o.as_str())
        .collect()
}

pub(crate) fn polars_dtype(d: Dtype) -> DataType {
    match d {
        Dtype::Float64 => DataType::Float64,
        Dtype::Int64 => DataType::Int64,
        Dtype::Bool => DataType::Boolean,
        Dtype::String => DataType::String,
        Dtype::Date => DataType::Date,
        Dtype::Timestamp => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
    }
}

/// Per account, the most frequent local hour (in the account's IANA zone) of the responses
/// among `past_contacts`, the earliest hour on ties. Responses are few next to the tables, so
/// the hours are counted here rather than in a query.
fn usual_response_hour(raw: &RawTables, past_contacts: LazyFrame) -> PolarsResult<LazyFrame> {
    let responses = past_contacts
        .filter(col("response"))
        .select([col(ACC_IX), col("at_us")])
        .collect()?;
    let mut counts: std::collections::BTreeMap<u32, [u32; 24]> = Default::default();
    for (a, t) in responses
        .column(ACC_IX)?
        .u32()?
        .iter()
        .zip(responses.column("at_us")?.i64()?.iter())
    {
        let (Some(a), Some(t)) = (a, t) else { continue };
        let tz = raw.zones.get(a as usize).copied().unwrap_or(Tz::UTC);
        let Some(local) = DateTime::from_timestamp_micros(t).map(|d| d.with_timezone(&tz)) else {
            continue;
        };
        counts.entry(a).or_insert([0; 24])[local.hour() as usize] += 1;
    }
    let (ix, hour): (Vec<u32>, Vec<i64>) = counts
        .iter()
        .map(|(&a, c)| {
            let best = (1..24).fold(0, |best, h| if c[h] > c[best] { h } else { best });
            (a, best as i64)
        })
        .unzip();
    Ok(DataFrame::new(
        ix.len(),
        vec![
            UInt32Chunked::from_vec(ACC_IX.into(), ix).into_column(),
            Int64Chunked::from_vec("usual_response_hour".into(), hour).into_column(),
        ],
    )?
    .lazy())
}

/// Which rows and columns a snapshot computes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotScope<'a> {
    /// Only these accounts (a frame with an `account_id` column); all open ones when `None`.
    pub accounts: Option<&'a DataFrame>,
    /// Leave the label columns out (their values would be null anyway past the export).
    pub without_labels: bool,
}

/// Features (and labels where the horizon is complete) for one as-of date.
pub fn snapshot(
    raw: &RawTables,
    asof: NaiveDate,
    cfg: &FeatureConfig,
    schema: &FeatureSchema,
) -> Result<DataFrame, FeatureError> {
    snapshot_scoped(raw, asof, cfg, schema, SnapshotScope::default())
}

/// [`snapshot`] restricted to some accounts and, optionally, without labels.
pub fn snapshot_scoped(
    raw: &RawTables,
    asof: NaiveDate,
    cfg: &FeatureConfig,
    schema: &FeatureSchema,
    scope: SnapshotScope<'_>,
) -> Result<DataFrame, FeatureError> {
    let a_day = i64::from(date_to_days(asof));
    let a_us = a_day * DAY_US;
    if a_us > raw.export_at.timestamp_micros() {
        return Err(FeatureError::AsOfAfterExport {
            asof,
            export_at: raw.export_at,
        });
    }
    let max = i64::from(cfg.max_window());
    let lo_us = a_us - max * DAY_US;
    let lo_day = a_day - max;
    let windows: Vec<i64> = cfg.windows_days.iter().map(|&w| i64::from(w)).collect();
    let key = || [col(ACC_IX)];
    let left = || JoinArgs::new(JoinType::Left);

    // Accounts open at the as-of date, with static and point-in-time consent features.
    let mut account_exprs = vec![(lit(a_day) - col("opened_day")).alias("tenure_days")];
    for p in Product::ALL {
        account_exprs.push(
            col("product")
                .eq(lit(p.as_str()))
                .alias(format!("product_{p}")),
        );
    }
    let mut base = raw
        .accounts
        .clone()
        .lazy()
        .filter(col("opened_day").lt_eq(lit(a_day)))
        .with_columns(account_exprs);
    if let Some(only) = scope.accounts {
        base = base.join(
            only.clone().lazy().select([col("account_id")]),
            [col("account_id")],
            [col("account_id")],
            JoinArgs::new(JoinType::Inner),
        );
    }

    // Consent lost after the as-of instant was still there at it.
    let opt_outs = raw
        .contacts
        .clone()
        .lazy()
        .filter(
            col("outcome")
                .eq(lit(ContactOutcome::OptOut.as_str()))
                .and(col("at_us").gt_eq(lit(a_us))),
        )
        .group_by(key())
        .agg(
            CHANNELS
                .iter()
                .map(|c| {
                    count(col("channel").eq(lit(c.as_str())))
                        .gt(lit(0))
                        .alias(format!("opt_out_after_{c}"))
                })
                .collect::<Vec<_>>(),
        );

    // One pass over the states at or before the as-of date (a state describes 00:00 UTC of its
    // date), sorted by account and date: the latest state, and the window's DPD history. A
    // state's predecessor is the previous row when that row is the same account's and in the
    // window.
    let sorted = || {
        SortMultipleOptions::default()
            .with_maintain_order(true)
            .with_multithreaded(true)
    };
    let same_account = || col(ACC_IX).shift(lit(1)).eq(col(ACC_IX));
    let in_window = || col("as_of_day").gt_eq(lit(lo_day));
    let states = raw
        .states
        .clone()
        .lazy()
        .filter(col("as_of_day").lt_eq(lit(a_day)))
        .sort([ACC_IX, "as_of_day"], sorted())
        .with_column(
            when(same_account().and(col("as_of_day").shift(lit(1)).gt_eq(lit(lo_day))))
                .then(col("days_past_due").shift(lit(1)))
                .otherwise(lit(NULL).cast(DataType::Int64))
                .alias("prev_dpd"),
        )
        .group_by(key())
        .agg([
            col("balance").last(),
            col("amount_due").last(),
            col("days_past_due").last(),
            col("status").last(),
            col("as_of_day").last().alias("state_day"),
            col("days_past_due")
                .filter(in_window())
                .max()
                .alias(format!("max_dpd_{max}d")),
            when(count(in_window()).gt(lit(0)))
                .then(count(
                    in_window()
                        .and(col("prev_dpd").gt_eq(lit(30)))
                        .and(col("days_past_due").eq(lit(0))),
                ))
                .otherwise(lit(NULL).cast(DataType::Int64))
                .alias(format!("cures_{max}d")),
        ]);

    // Payments strictly before the as-of instant, within the longest window: the non-reversed
    // ones sorted by account and instant (recency, intervals between neighbours), and the
    // reversed ones counted apart.
    let window_pays = between(&raw.payments, "paid_us", lo_us, a_us);
    let mut pay_aggs = Vec::new();
    for &w in &windows {
        let inw = col("paid_us").gt_eq(lit(a_us - w * DAY_US));
        pay_aggs.push(count(inw.clone()).alias(format!("payments_{w}d")));
        pay_aggs.push(
            when(inw)
                .then(col("amount"))
                .otherwise(lit(0.0))
                .sum()
                .alias(format!("paid_amount_{w}d")),
        );
    }
    pay_aggs.extend([
        col("paid_us").last().alias("last_pay_us"),
        col("amount").last().alias("last_payment_amount"),
        len().cast(DataType::Int64).alias("n_paid"),
        col("gap_days").mean().alias("payment_interval_mean_days"),
        col("gap_days").std(1).alias("interval_std"),
    ]);
    let pays = window_pays
        .clone()
        .filter(col("reversed").not())
        .sort([ACC_IX, "paid_us"], sorted())
        .with_column(
            when(same_account())
                .then(
                    (col("paid_us") - col("paid_us").shift(lit(1))).cast(DataType::Float64)
                        / lit(DAY_US as f64),
                )
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("gap_days"),
        )
        .group_by(key())
        .agg(pay_aggs);
    let reversals = window_pays
        .filter(col("reversed"))
        .group_by(key())
        .agg([len()
            .cast(DataType::Int64)
            .alias(format!("reversed_payments_{max}d"))]);

    // Promises made before the as-of instant; kept/broken only once due before the as-of date.
    let due_before = || col("due_day").lt(lit(a_day));
    let proms = between(&raw.promises, "made_us", lo_us, a_us)
        .group_by(key())
        .agg([
            len().alias(format!("promises_made_{max}d")),
            count(due_before().and(col("kept").eq(lit(true))))
                .alias(format!("promises_kept_{max}d")),
            count(due_before().and(col("kept").eq(lit(false))))
                .alias(format!("promises_broken_{max}d")),
            count(col("due_day").gt_eq(lit(a_day)))
                .gt(lit(0))
                .alias("promise_open"),
        ]);

    // Contacts strictly before the as-of instant.
    let responses = response_outcomes();
    let past_contacts = between(&raw.contacts, "at_us", lo_us, a_us)
        .filter(col("channel").neq(lit("none")))
        .with_columns([
            is_one_of("outcome", &responses).alias("response"),
            is_one_of("outcome", &["right_party_contact", "promise_to_pay"]).alias("rpc"),
        ]);
    // The portfolio's response rate per channel before the as-of instant: each account's rate
    // is shrunk toward it.
    let prior_df = past_contacts
        .clone()
        .group_by([col("channel")])
        .agg([
            count(col("response")).alias("r"),
            len().cast(DataType::Int64).alias("n"),
        ])
        .collect()?;
    let mut priors = std::collections::HashMap::new();
    {
        let ch = prior_df.column("channel")?.str()?;
        let r = prior_df.column("r")?.i64()?;
        let n = prior_df.column("n")?.i64()?;
        for i in 0..prior_df.height() {
            if let (Some(c), Some(r), Some(n)) = (ch.get(i), r.get(i), n.get(i)) {
                // Half a response in one pseudo-contact keeps a channel never used before at 0.5.
                priors.insert(c.to_owned(), (r as f64 + 0.5) / (n as f64 + 1.0));
            }
        }
    }
    let prior = |c: &str| priors.get(c).copied().unwrap_or(0.5);
    // Per-contact indicators first, over the whole column, so that the group-by only sums and
    // takes maxima (filters inside an aggregation run group by group).
    let mut flags = Vec::new();
    let mut contact_aggs = Vec::new();
    for c in CHANNELS {
        let on = || col("channel").eq(lit(c.as_str()));
        for &w in &windows {
            let inw = on().and(col("at_us").gt_eq(lit(a_us - w * DAY_US)));
            let (att, resp) = (format!("attempts_{c}_{w}d"), format!("responses_{c}_{w}d"));
            flags.push(inw.clone().alias(att.as_str()));
            flags.push(inw.and(col("response")).alias(resp.as_str()));
            contact_aggs.push(
                col(att.as_str())
                    .sum()
                    .cast(DataType::Int64)
                    .alias(att.as_str()),
            );
            contact_aggs.push(
                col(resp.as_str())
                    .sum()
                    .cast(DataType::Int64)
                    .alias(resp.as_str()),
            );
        }
        // The longest window is the whole look-back.
        contact_aggs.push(
            col(format!("attempts_{c}_{max}d"))
                .sum()
                .cast(DataType::Int64)
                .alias(format!("n_{c}")),
        );
        contact_aggs.push(
            col(format!("responses_{c}_{max}d"))
                .sum()
                .cast(DataType::Int64)
                .alias(format!("r_{c}")),
        );
        flags.push(
            when(on())
                .then(col("at_us"))
                .otherwise(lit(NULL).cast(DataType::Int64))
                .alias(format!("last_{c}_us")),
        );
        contact_aggs.push(col(format!("last_{c}_us")).max());
    }
    flags.push(
        when(col("rpc"))
            .then(col("at_us"))
            .otherwise(lit(NULL).cast(DataType::Int64))
            .alias("last_rpc_us"),
    );
    contact_aggs.push(col("last_rpc_us").max());
    let usual_hour = usual_response_hour(raw, past_contacts.clone())?;
    let contacts = past_contacts
        .with_columns(flags)
        .group_by(key())
        .agg(contact_aggs);

    let mut frame = base
        .join(opt_outs, key(), key(), left())
        .join(states, key(), key(), left())
        .join(pays, key(), key(), left())
        .join(reversals, key(), key(), left())
        .join(proms, key(), key(), left())
        .join(contacts, key(), key(), left())
        .join(usual_hour, key(), key(), left());

    let k = cfg.rate_prior_strength;
    let mut derived = vec![
        lit(asof).alias("as_of"),
        when(col("days_past_due").lt_eq(lit(0)))
            .then(lit(0i64))
            .when(col("days_past_due").gt_eq(lit(180i64)))
            .then(lit(7i64))
            .otherwise((col("days_past_due") + lit(30i64)) / lit(30i64))
            .alias("dpd_bucket"),
        col("status").eq(lit("charged_off")).alias("charged_off"),
        when(col("credit_limit").gt(lit(0.0)))
            .then(col("balance") / col("credit_limit"))
            .otherwise(lit(NULL))
            .alias("utilisation"),
        (lit(a_day) - col("state_day")).alias("state_age_days"),
        when(
            col("n_paid")
                .gt_eq(lit(3))
                .and(col("payment_interval_mean_days").gt(lit(0.0))),
        )
        .then(col("interval_std") / col("payment_interval_mean_days"))
        .otherwise(lit(NULL))
        .alias("payment_interval_cv"),
        when(col("amount_due").gt(lit(0.0)))
            .then(
                col(format!("paid_amount_{}d", cfg.min_window())).fill_null(lit(0.0))
                    / col("amount_due"),
            )
            .otherwise(lit(NULL))
            .alias(format!("paid_to_due_{}d", cfg.min_window())),
        ((lit(a_us) - col("last_pay_us")).cast(DataType::Float64) / lit(DAY_US as f64))
            .alias("days_since_last_payment"),
        ((col(format!("promises_kept_{max}d")).fill_null(lit(0)) + lit(1)).cast(DataType::Float64)
            / (col(format!("promises_kept_{max}d")).fill_null(lit(0))
                + col(format!("promises_broken_{max}d")).fill_null(lit(0))
                + lit(2))
            .cast(DataType::Float64))
        .alias("promise_kept_rate"),
        ((lit(a_us) - col("last_rpc_us")).cast(DataType::Float64) / lit(DAY_US as f64))
            .alias("days_since_last_rpc"),
    ];
    for c in CHANNELS {
        derived.push(
            col(format!("consent_{c}"))
                .or(col(format!("opt_out_after_{c}")).fill_null(lit(false)))
                .alias(format!("consent_{c}")),
        );
        let p = prior(c.as_str());
        derived.push(
            ((col(format!("r_{c}"))
                .fill_null(lit(0))
                .cast(DataType::Float64)
                + lit(k * p))
                / (col(format!("n_{c}"))
                    .fill_null(lit(0))
                    .cast(DataType::Float64)
                    + lit(k)))
            .alias(format!("response_rate_{c}")),
        );
        derived.push(
            ((lit(a_us) - col(format!("last_{c}_us"))).cast(DataType::Float64) / lit(HOUR_US))
                .alias(format!("hours_since_last_{c}")),
        );
    }
    frame = frame.with_columns(derived);

    // Labels, when the whole horizon lies before the export.
    let h = i64::from(cfg.label_horizon_days);
    let hz = cfg.label_horizon_days;
    let labelled = !scope.without_labels && a_us + h * DAY_US <= raw.export_at.timestamp_micros();
    if labelled {
        let future_pay = between(&raw.payments, "paid_us", a_us, a_us + h * DAY_US)
            .filter(col("reversed").not())
            .group_by(key())
            .agg([col("amount").sum().alias("future_amount")]);
        // Monthly cycles are 28 to 31 days apart: one day of slack finds the next cycle's state.
        let next_state = raw
            .states
            .clone()
            .lazy()
            .filter(
                col("as_of_day")
                    .gt(lit(a_day))
                    .and(col("as_of_day").lt_eq(lit(a_day + h + 1))),
            )
            .sort([ACC_IX, "as_of_day"], sorted())
            .group_by(key())
            .agg([
                col("days_past_due").last().alias("next_dpd"),
                col("status").last().alias("next_status"),
            ]);
        frame = frame
            .join(future_pay, key(), key(), left())
            .join(next_state, key(), key(), left())
            .with_columns([
                col("future_amount")
                    .fill_null(lit(0.0))
                    .alias(format!("amount_paid_{hz}d")),
                col("future_amount")
                    .fill_null(lit(0.0))
                    .gt(lit(0.0))
                    .alias(format!("paid_any_{hz}d")),
                col("future_amount")
                    .fill_null(lit(0.0))
                    .gt_eq(col("amount_due"))
                    .alias(format!("paid_{hz}d")),
                when(
                    col("days_past_due")
                        .gt(lit(0))
                        .and(col("next_dpd").is_not_null()),
                )
                .then(
                    col("next_dpd")
                        .eq(lit(0))
                        .or(is_one_of("next_status", &["closed", "settled"])),
                )
                .otherwise(lit(NULL))
                .alias(format!("cured_{hz}d")),
            ]);
    }

    // Counts of accounts with no events are 0, not null.
    let select: Vec<Expr> = schema
        .columns()
        .filter(|s| !(scope.without_labels && s.family == "label"))
        .map(|s| {
            let dt = polars_dtype(s.dtype);
            let zero_fill = s.family != "label"
                && matches!(s.family.as_str(), "payments" | "promises" | "contacts")
                && (s.name.starts_with("payments_")
                    || s.name.starts_with("paid_amount_")
                    || s.name.starts_with("reversed_")
                    || s.name.starts_with("promises_")
                    || s.name.starts_with("attempts_")
                    || s.name.starts_with("responses_")
                    || s.name == "promise_open");
            let e = if s.family == "label" && !labelled {
                lit(NULL).cast(dt.clone())
            } else if zero_fill {
                col(s.name.as_str())
                    .cast(dt.clone())
                    .fill_null(lit(0).cast(dt.clone()))
            } else {
                col(s.name.as_str()).cast(dt.clone())
            };
            e.alias(s.name.as_str())
        })
        .collect();
    Ok(frame.select(select).collect()?)
}
