//! The contact table for channel-response models: one row per logged contact decision.
//!
//! Each row carries two kinds of features. The fast-moving ones (hours since the previous
//! contact, attempts in the last days, the local hour) are computed exactly at the contact
//! instant, in one pass over each account's events sorted by time. The account features come
//! from a snapshot taken at 00:00 UTC of the latest snapshot date at or before the contact
//! (every `contact_snapshot_every_days` days), so no event at or after the contact feeds them;
//! `hours_since_snapshot` says how old they are. Labels read the contact's own outcome and the
//! promises and payments in a per-channel window starting at the contact instant.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use chrono::{DateTime, Datelike, Timelike};
use chrono_tz::Tz;
use polars::prelude::*;
use recoup_core::{Channel, ContactOutcome};
use recoup_io::ParquetTableWriter;

use crate::config::FeatureConfig;
use crate::error::FeatureError;
use crate::schema::FeatureSchema;
use crate::snapshot::{RawTables, SnapshotScope, polars_dtype, snapshot_scoped};

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: f64 = 3_600_000_000.0;

/// What [`write_contact_table`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactTableSummary {
    pub rows: usize,
    /// Rows whose label window ends before the export (window labels not null).
    pub labelled_rows: usize,
    /// Snapshot dates computed for the account features.
    pub snapshots: usize,
}

/// Contiguous runs of equal keys in a key-sorted column.
fn runs<'a>(keys: &[&'a str]) -> HashMap<&'a str, Range<usize>> {
    let mut out = HashMap::new();
    let mut start = 0;
    for i in 1..=keys.len() {
        if i == keys.len() || keys[i] != keys[start] {
            out.insert(keys[start], start..i);
            start = i;
        }
    }
    out
}

fn strs<'a>(df: &'a DataFrame, name: &str) -> PolarsResult<Vec<&'a str>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(Option::unwrap_or_default)
        .collect())
}

fn ints(df: &DataFrame, name: &str) -> PolarsResult<Vec<i64>> {
    Ok(df
        .column(name)?
        .i64()?
        .iter()
        .map(Option::unwrap_or_default)
        .collect())
}

/// Number of `times` (sorted) in `[from, to)`.
fn count_in(times: &[i64], from: i64, to: i64) -> usize {
    times.partition_point(|&x| x < to) - times.partition_point(|&x| x < from)
}

/// The contact-instant features and labels of every contact, as columns aligned with
/// `contacts` (sorted by account, instant and id).
fn contact_instant_columns(
    raw: &RawTables,
    contacts: &DataFrame,
    cfg: &FeatureConfig,
    schema: &FeatureSchema,
) -> Result<Vec<Column>, FeatureError> {
    let export_us = raw.export_at.timestamp_micros();
    let max_us = i64::from(cfg.max_window()) * DAY_US;
    let week_us = 7 * DAY_US;
    let every = i64::from(cfg.contact_snapshot_every_days);

    let c_acc = strs(contacts, "account_id")?;
    let c_at = ints(contacts, "at_us")?;
    let mut c_channel = Vec::with_capacity(c_acc.len());
    let mut c_outcome = Vec::with_capacity(c_acc.len());
    for (ch, out) in contacts
        .column("channel")?
        .str()?
        .iter()
        .zip(contacts.column("outcome")?.str()?.iter())
    {
        c_channel.push(ch.unwrap_or_default().parse::<Channel>()?);
        c_outcome.push(out.unwrap_or_default().parse::<ContactOutcome>()?);
    }

    let pays = raw
        .payments
        .clone()
        .lazy()
        .filter(col("reversed").not())
        .sort(["account_id", "paid_us"], SortMultipleOptions::default())
        .collect()?;
    let p_acc = strs(&pays, "account_id")?;
    let p_at = ints(&pays, "paid_us")?;
    let mut p_cum = vec![0.0];
    for a in pays.column("amount")?.f64()?.iter() {
        p_cum.push(p_cum[p_cum.len() - 1] + a.unwrap_or_default());
    }
    let p_runs = runs(&p_acc);
    let proms = raw
        .promises
        .clone()
        .lazy()
        .sort(["account_id", "made_us"], SortMultipleOptions::default())
        .collect()?;
    let r_acc = strs(&proms, "account_id")?;
    let r_at = ints(&proms, "made_us")?;
    let r_runs = runs(&r_acc);

    let mut zones: HashMap<&str, Tz> = HashMap::new();
    for zone in &raw.time_zones {
        let tz = zone.parse::<Tz>().map_err(|_| FeatureError::InvalidInput {
            dir: std::path::PathBuf::new(),
            count: 1,
            first: format!("accounts.time_zone: `{zone}` is not an IANA time zone name"),
        })?;
        zones.insert(zone.as_str(), tz);
    }
    let acc_ids = strs(&raw.accounts, "account_id")?;
    let acc_zones = strs(&raw.accounts, "time_zone")?;
    let zone_of: HashMap<&str, Tz> = acc_ids
        .iter()
        .zip(&acc_zones)
        .filter_map(|(a, z)| zones.get(z).map(|tz| (*a, *tz)))
        .collect();

    let n = c_acc.len();
    let mut snapshot_day = Vec::with_capacity(n);
    let mut window_days = Vec::with_capacity(n);
    let mut local_hour = Vec::with_capacity(n);
    let mut local_weekday = Vec::with_capacity(n);
    let mut since_snapshot = Vec::with_capacity(n);
    let mut since_prev = Vec::with_capacity(n);
    let mut since_prev_same = Vec::with_capacity(n);
    let mut any_7d = Vec::with_capacity(n);
    let mut same_7d = Vec::with_capacity(n);
    let mut same_max = Vec::with_capacity(n);
    let mut resp_same_max = Vec::with_capacity(n);
    let mut since_payment = Vec::with_capacity(n);
    let mut responded = Vec::with_capacity(n);
    let mut right_party = Vec::with_capacity(n);
    let mut opted_out = Vec::with_capacity(n);
    let mut promised = Vec::with_capacity(n);
    let mut paid = Vec::with_capacity(n);
    let mut amount = Vec::with_capacity(n);

    let hours = |from: i64, to: i64| (to - from) as f64 / HOUR_US;
    let mut start = 0;
    while start < n {
        let account = c_acc[start];
        let end = start + c_acc[start..].iter().take_while(|a| **a == account).count();
        // Per channel: contact instants and the running count of responses before each.
        let mut times: Vec<Vec<i64>> = vec![Vec::new(); Channel::ALL.len()];
        let mut resp_cum: Vec<Vec<u32>> = vec![vec![0]; Channel::ALL.len()];
        let mut attempts: Vec<i64> = Vec::new();
        for i in start..end {
            let c = c_channel[i].index();
            times[c].push(c_at[i]);
            let last = resp_cum[c][resp_cum[c].len() - 1];
            resp_cum[c].push(last + u32::from(c_outcome[i].is_response()));
            if c_channel[i] != Channel::None {
                attempts.push(c_at[i]);
            }
        }
        let pay_range = p_runs.get(account).cloned().unwrap_or(0..0);
        let pay_times = &p_at[pay_range.clone()];
        let prom_times = r_runs
            .get(account)
            .map_or(&r_at[0..0], |r| &r_at[r.clone()]);
        let tz = zone_of.get(account).copied().unwrap_or(Tz::UTC);
        for i in start..end {
            let t = c_at[i];
            let channel = c_channel[i];
            let c = channel.index();
            let day = t.div_euclid(DAY_US);
            let snap = day - day.rem_euclid(every);
            snapshot_day.push(snap as i32);
            since_snapshot.push(hours(snap * DAY_US, t));
            let local = DateTime::from_timestamp_micros(t)
                .map(|d| d.with_timezone(&tz))
                .ok_or_else(|| {
                    PolarsError::ComputeError(format!("timestamp {t} out of range").into())
                })?;
            local_hour.push(i64::from(local.hour()));
            local_weekday.push(i64::from(local.weekday().number_from_monday()));

            let before = attempts.partition_point(|&x| x < t);
            since_prev.push((before > 0).then(|| hours(attempts[before - 1], t)));
            any_7d.push(count_in(&attempts, t - week_us, t) as i64);
            let same = &times[c];
            let before_same = same.partition_point(|&x| x < t);
            since_prev_same.push((before_same > 0).then(|| hours(same[before_same - 1], t)));
            same_7d.push(count_in(same, t - week_us, t) as i64);
            let from_same = same.partition_point(|&x| x < t - max_us);
            same_max.push((before_same - from_same) as i64);
            resp_same_max.push(i64::from(resp_cum[c][before_same] - resp_cum[c][from_same]));

            let paid_before = pay_times.partition_point(|&x| x < t);
            since_payment.push(
                (paid_before > 0 && pay_times[paid_before - 1] >= t - max_us)
                    .then(|| hours(pay_times[paid_before - 1], t)),
            );

            let contacted = channel != Channel::None;
            let o = c_outcome[i];
            responded.push(contacted.then(|| o.is_response()));
            right_party.push(contacted.then_some(matches!(
                o,
                ContactOutcome::RightPartyContact | ContactOutcome::PromiseToPay
            )));
            opted_out.push(contacted.then_some(o == ContactOutcome::OptOut));

            let k = i64::from(cfg.contact_label_days.get(channel));
            window_days.push(k);
            let until = t + k * DAY_US;
            if until <= export_us {
                promised.push(Some(count_in(prom_times, t, until) > 0));
                let lo = pay_range.start + paid_before;
                let hi = pay_range.start + pay_times.partition_point(|&x| x < until);
                let sum = p_cum[hi] - p_cum[lo];
                paid.push(Some(hi > lo));
                amount.push(Some(sum));
            } else {
                promised.push(None);
                paid.push(None);
                amount.push(None);
            }
        }
        start = end;
    }

    let max = cfg.max_window();
    let f = |name: &str, v: Vec<Option<f64>>| {
        Float64Chunked::from_iter_options(name.into(), v.into_iter()).into_column()
    };
    let i = |name: &str, v: Vec<i64>| Int64Chunked::from_vec(name.into(), v).into_column();
    let b = |name: &str, v: Vec<Option<bool>>| {
        BooleanChunked::from_iter_options(name.into(), v.into_iter()).into_column()
    };
    let cols = vec![
        Int32Chunked::from_vec("snapshot_as_of".into(), snapshot_day)
            .into_date()
            .into_column(),
        i("label_window_days", window_days),
        i("local_hour", local_hour),
        i("local_weekday", local_weekday),
        f(
            "hours_since_snapshot",
            since_snapshot.into_iter().map(Some).collect(),
        ),
        f("hours_since_prev_contact", since_prev),
        f("hours_since_prev_same_channel", since_prev_same),
        i("attempts_any_channel_7d", any_7d),
        i("attempts_same_channel_7d", same_7d),
        i(&format!("attempts_same_channel_{max}d"), same_max),
        i(&format!("responses_same_channel_{max}d"), resp_same_max),
        f("hours_since_last_payment", since_payment),
        b("responded", responded),
        b("right_party", right_party),
        b("opted_out", opted_out),
        b("promise_in_window", promised),
        b("paid_in_window", paid),
        f("amount_paid_in_window", amount),
    ];
    debug_assert!(
        cols.iter()
            .all(|c| schema.columns().any(|s| s.name == c.name().as_str()))
    );
    Ok(cols)
}

/// Computes the contact table of `raw` and streams it to `out` (parquet, one row group per
/// snapshot date, written to a temporary name and renamed when complete).
pub fn write_contact_table(
    raw: &RawTables,
    cfg: &FeatureConfig,
    out: &Path,
    progress: &dyn Fn(usize, usize),
) -> Result<(ContactTableSummary, FeatureSchema), FeatureError> {
    cfg.check()?;
    let schema = FeatureSchema::contacts(cfg);
    let snapshot_schema = FeatureSchema::new(cfg);
    let contacts = raw
        .contacts
        .clone()
        .lazy()
        .sort(
            ["account_id", "at_us", "contact_id"],
            SortMultipleOptions::default(),
        )
        .collect()?;
    let extra = contact_instant_columns(raw, &contacts, cfg, &schema)?;
    let mut frame = contacts;
    for c in extra {
        frame.with_column(c)?;
    }
    let frame = frame
        .lazy()
        .with_column(
            col("at_us")
                .cast(polars_dtype(crate::schema::Dtype::Timestamp))
                .alias("contacted_at"),
        )
        .collect()?;

    // One pass splits the contacts by snapshot date (each part keeps the frame's order), rather
    // than a filter over every contact for each date.
    let mut parts: Vec<(i32, DataFrame)> = frame
        .partition_by_stable(["snapshot_as_of"], true)?
        .into_iter()
        .map(|p| {
            let day = p.column("snapshot_as_of")?.date()?.physical().get(0);
            Ok((day.unwrap_or_default(), p))
        })
        .collect::<PolarsResult<_>>()?;
    parts.sort_by_key(|(day, _)| *day);
    drop(frame);
    let out_schema: Schema = schema
        .columns()
        .map(|s| (s.name.as_str().into(), polars_dtype(s.dtype)))
        .collect();
    let mut writer = ParquetTableWriter::create(out, &out_schema)?;
    let mut labelled_rows = 0;
    let select: Vec<Expr> = schema
        .columns()
        .map(|s| col(s.name.as_str()).cast(polars_dtype(s.dtype)))
        .collect();
    let mut left = JoinArgs::new(JoinType::Left);
    left.maintain_order = MaintainOrderJoin::Left;
    let n_days = parts.len();
    for (done, (day, part)) in parts.into_iter().enumerate() {
        progress(done, n_days);
        let date = recoup_io::convert::days_to_date(day);
        let ids = part
            .clone()
            .lazy()
            .group_by([col("account_id")])
            .agg(Vec::<Expr>::new())
            .collect()?;
        let snap = snapshot_scoped(
            raw,
            date,
            cfg,
            &snapshot_schema,
            SnapshotScope {
                accounts: Some(&ids),
                without_labels: true,
            },
        )?
        .drop("as_of")?;
        let batch = part
            .lazy()
            .join(
                snap.lazy(),
                [col("account_id")],
                [col("account_id")],
                left.clone(),
            )
            .select(select.clone())
            .collect()?;
        labelled_rows += batch
            .column("paid_in_window")?
            .is_not_null()
            .sum()
            .unwrap_or(0) as usize;
        writer.write(&batch)?;
    }
    progress(n_days, n_days);
    let rows = writer.finish()?;
    Ok((
        ContactTableSummary {
            rows,
            labelled_rows,
            snapshots: n_days,
        },
        schema,
    ))
}
