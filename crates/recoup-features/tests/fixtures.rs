#![allow(clippy::unwrap_used)]
//! Hand-computed feature values on a small raw folder (as-of 2026-04-01, export 2026-06-01).

use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;
use recoup_features::{FeatureConfig, FeatureSchema, extract, extract_contacts};

const ACCOUNTS: &str = "account_id,customer_id,product,opened_on,credit_limit,original_principal,currency,time_zone,region,consent_sms,consent_email,consent_call,consent_letter,consent_push,dnc_dispute,dnc_bankruptcy,dnc_cease_and_desist,dnc_deceased,hardship,autopay_enrolled,preferred_language
A1,C1,card,2025-04-01,1000,,USD,America/New_York,US-NY,true,false,true,true,false,false,false,false,false,false,false,en
A2,C2,personal_loan,2026-01-01,,5000,USD,America/Chicago,US-TX,true,true,true,true,false,false,false,false,false,false,true,en
A3,C3,utility,2026-03-01,,,USD,Pacific/Honolulu,US-HI,true,true,true,true,false,false,false,false,false,false,false,en
A4,C4,bnpl,2026-05-01,,400,USD,America/Denver,US-CO,true,true,true,true,true,false,false,false,false,false,false,en
";
const STATES: &str = "account_id,as_of,status,balance,amount_due,days_past_due
A1,2026-02-01,open,900,30,0
A1,2026-03-01,open,950,60,45
A1,2026-04-01,open,980,40,0
A1,2026-05-01,open,990,40,0
A2,2026-03-01,open,5000,150,17
A2,2026-04-01,open,5100,300,48
A2,2026-05-01,open,4800,150,0
A3,2026-03-01,open,100,100,0
A4,2026-05-01,open,400,100,0
";
// P5 is 2026-03-31 23:30 in New York, already 2026-04-01 04:30 UTC: after the as-of instant.
const PAYMENTS: &str = "payment_id,account_id,paid_at,amount,method,via,reversed
P1,A1,2026-03-25T12:00:00Z,50,debit_card,portal,false
P2,A1,2026-03-02T00:00:00Z,20,debit_card,portal,false
P3,A1,2026-03-01T23:59:59Z,10,debit_card,portal,false
P4,A1,2026-03-20T10:00:00Z,99,bank_transfer,portal,true
P5,A1,2026-03-31T23:30:00-05:00,70,debit_card,portal,false
P6,A1,2026-04-10T12:00:00Z,30,debit_card,portal,false
P7,A2,2026-04-15T12:00:00Z,300,debit_card,agent,false
";
const CONTACTS: &str =
    "contact_id,account_id,contacted_at,channel,treatment_id,outcome,policy_arm,propensity
K1,A1,2026-03-30T15:00:00Z,sms,sms_reminder,clicked,champion,0.8
K2,A1,2026-03-10T15:00:00Z,sms,sms_reminder,delivered,champion,0.8
K3,A1,2026-03-31T20:00:00Z,call,call_reminder,right_party_contact,champion,0.8
K4,A1,2026-04-02T15:00:00Z,email,email_reminder,opt_out,explore,0.1
K5,A1,2026-01-15T15:00:00Z,email,email_reminder,opened,explore,0.1
K6,A2,2026-03-15T15:00:00Z,sms,sms_reminder,delivered,champion,0.8
K7,A2,2026-03-16T15:00:00Z,none,no_contact,not_contacted,explore,0.1
K8,A2,2026-03-20T03:30:00Z,email,email_reminder,opened,champion,0.8
K9,A2,2026-02-20T04:10:00Z,email,email_reminder,opened,champion,0.8
K10,A2,2026-03-25T14:00:00Z,email,email_reminder,opened,champion,0.8
";
const PROMISES: &str = "promise_id,account_id,contact_id,made_at,due_on,amount,kept
R1,A1,K3,2026-03-31T20:05:00Z,2026-04-05,40,true
R2,A2,,2026-03-05T10:00:00Z,2026-03-12,150,false
";

fn write_fixture(dir: &Path) {
    for (name, text) in [
        ("accounts", ACCOUNTS),
        ("account_states", STATES),
        ("payments", PAYMENTS),
        ("contacts", CONTACTS),
        ("promises", PROMISES),
    ] {
        std::fs::write(dir.join(format!("{name}.csv")), text).unwrap();
    }
    std::fs::write(
        dir.join("treatments.toml"),
        recoup_core::TreatmentCatalog::default_catalog().to_toml_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("export.toml"),
        "export_at = \"2026-06-01T00:00:00Z\"\nproducer = \"fixture\"\n",
    )
    .unwrap();
}

fn row(df: &DataFrame, account: &str) -> DataFrame {
    df.clone()
        .lazy()
        .filter(col("account_id").eq(lit(account)))
        .collect()
        .unwrap()
}

fn f(df: &DataFrame, name: &str) -> Option<f64> {
    df.column(name)
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
}

fn b(df: &DataFrame, name: &str) -> Option<bool> {
    df.column(name).unwrap().bool().unwrap().get(0)
}

fn close(got: Option<f64>, want: f64, name: &str) {
    let g = got.unwrap_or_else(|| panic!("{name} is null"));
    assert!((g - want).abs() < 1e-9, "{name}: got {g}, want {want}");
}

#[test]
fn every_family_matches_hand_computed_values() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let asof = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
    let (df, schema) = extract(dir.path(), &[asof], &FeatureConfig::default()).unwrap();
    // A4 opens after the as-of date.
    assert_eq!(df.height(), 3);
    let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    let expected: Vec<&str> = schema.columns().map(|c| c.name.as_str()).collect();
    assert_eq!(names, expected);

    let a1 = row(&df, "A1");
    // State, latest at or before the as-of date; one cure from 45 DPD; utilisation 980/1000.
    close(f(&a1, "balance"), 980.0, "balance");
    close(f(&a1, "days_past_due"), 0.0, "days_past_due");
    close(f(&a1, "max_dpd_365d"), 45.0, "max_dpd");
    close(f(&a1, "cures_365d"), 1.0, "cures");
    close(f(&a1, "utilisation"), 0.98, "utilisation");
    close(f(&a1, "state_age_days"), 0.0, "state_age_days");
    close(f(&a1, "tenure_days"), 365.0, "tenure");
    assert_eq!(b(&a1, "product_card"), Some(true));
    // Payments: P2 sits exactly on the 30-day bound (included), P3 one second before it,
    // P4 is reversed, P5 is after the as-of instant in UTC although its local date is earlier.
    close(f(&a1, "payments_30d"), 2.0, "payments_30d");
    close(f(&a1, "paid_amount_30d"), 70.0, "paid_amount_30d");
    close(f(&a1, "payments_90d"), 3.0, "payments_90d");
    close(f(&a1, "paid_amount_90d"), 80.0, "paid_amount_90d");
    close(f(&a1, "reversed_payments_365d"), 1.0, "reversed");
    close(f(&a1, "days_since_last_payment"), 6.5, "recency");
    close(f(&a1, "last_payment_amount"), 50.0, "last amount");
    // Regularity: P3 -> P2 is one second, P2 -> P1 23.5 days; the sample std of two values
    // is their difference over sqrt 2.
    let (g1, g2) = (1.0 / 86_400.0, 23.5);
    let mean = (g1 + g2) / 2.0;
    close(f(&a1, "payment_interval_mean_days"), mean, "interval mean");
    close(
        f(&a1, "payment_interval_cv"),
        (g2 - g1) / 2f64.sqrt() / mean,
        "interval cv",
    );
    close(f(&a1, "paid_to_due_30d"), 70.0 / 40.0, "paid to due");
    // Promises: R1 falls due after the as-of date, so it is open, neither kept nor broken.
    close(f(&a1, "promises_made_365d"), 1.0, "promises made");
    close(f(&a1, "promises_kept_365d"), 0.0, "kept");
    close(f(&a1, "promise_kept_rate"), 0.5, "kept rate");
    assert_eq!(b(&a1, "promise_open"), Some(true));
    // Contacts. Portfolio SMS rate before the as-of: 1 response in 3 attempts -> (1+0.5)/(3+1).
    close(f(&a1, "attempts_sms_30d"), 2.0, "sms attempts");
    close(f(&a1, "responses_sms_30d"), 1.0, "sms responses");
    close(f(&a1, "attempts_call_30d"), 1.0, "call attempts");
    close(f(&a1, "responses_email_90d"), 1.0, "email responses 90d");
    close(f(&a1, "attempts_email_30d"), 0.0, "email attempts 30d");
    close(
        f(&a1, "response_rate_sms"),
        (1.0 + 5.0 * 0.375) / 7.0,
        "sms rate",
    );
    close(f(&a1, "hours_since_last_sms"), 33.0, "hours since sms");
    close(f(&a1, "hours_since_last_call"), 4.0, "hours since call");
    close(f(&a1, "days_since_last_rpc"), 4.0 / 24.0, "days since rpc");
    // Responses at 10:00 (K5, New York winter time), 11:00 (K1, summer time) and 16:00 (K3)
    // local: one each, so the earliest hour wins.
    close(f(&a1, "usual_response_hour"), 10.0, "usual hour a1");
    // Consent: no email consent at the export, but the opt-out came after the as-of instant.
    assert_eq!(b(&a1, "consent_email"), Some(true));
    assert_eq!(b(&a1, "consent_push"), Some(false));
    // Labels: P5 and P6 fall in the 30 days; amount due 40 is covered; not past due -> cured null.
    close(f(&a1, "amount_paid_30d"), 100.0, "amount_paid_30d");
    assert_eq!(b(&a1, "paid_30d"), Some(true));
    assert_eq!(b(&a1, "cured_30d"), None);

    let a2 = row(&df, "A2");
    close(f(&a2, "dpd_bucket"), 2.0, "bucket");
    assert_eq!(f(&a2, "utilisation"), None);
    close(f(&a2, "promises_broken_365d"), 1.0, "broken");
    close(f(&a2, "promise_kept_rate"), 1.0 / 3.0, "kept rate");
    close(
        f(&a2, "response_rate_sms"),
        (0.0 + 5.0 * 0.375) / 6.0,
        "sms rate a2",
    );
    assert_eq!(b(&a2, "cured_30d"), Some(true));
    // K8 and K9 are 22:xx in Chicago on the previous local day, across the DST change; K10 is
    // 09:00. One payment only: no interval.
    close(f(&a2, "usual_response_hour"), 22.0, "usual hour a2");
    assert_eq!(f(&a2, "payment_interval_mean_days"), None);
    assert_eq!(b(&a2, "paid_30d"), Some(true));

    // An account with no events: zero counts, null recencies, rates equal to the portfolio's.
    let a3 = row(&df, "A3");
    close(f(&a3, "payments_365d"), 0.0, "payments");
    close(f(&a3, "paid_amount_365d"), 0.0, "paid");
    assert_eq!(f(&a3, "days_since_last_payment"), None);
    assert_eq!(f(&a3, "hours_since_last_sms"), None);
    close(f(&a3, "response_rate_sms"), 0.375, "prior sms");
    // Email before the as-of: K5, K8, K9, K10, all responses -> (4 + 0.5) / (4 + 1).
    close(f(&a3, "response_rate_email"), 4.5 / 5.0, "prior email");
    assert_eq!(f(&a3, "usual_response_hour"), None);
    assert_eq!(f(&a3, "payment_interval_cv"), None);
    close(f(&a3, "paid_to_due_30d"), 0.0, "paid to due a3");
    close(f(&a3, "state_age_days"), 31.0, "stale state");
    assert_eq!(b(&a3, "promise_open"), Some(false));
    assert_eq!(b(&a3, "paid_any_30d"), Some(false));
}

#[test]
fn labels_are_null_when_the_horizon_passes_the_export() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let asof = NaiveDate::from_ymd_opt(2026, 5, 15).unwrap();
    let (df, _) = extract(dir.path(), &[asof], &FeatureConfig::default()).unwrap();
    assert_eq!(df.column("paid_30d").unwrap().null_count(), df.height());
    let late = NaiveDate::from_ymd_opt(2026, 6, 2).unwrap();
    let err = extract(dir.path(), &[late], &FeatureConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2026-06-02") && err.contains("after the export"),
        "{err}"
    );
}

#[test]
fn bad_input_stops_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    std::fs::write(
        dir.path().join("payments.csv"),
        PAYMENTS.replace(
            "P7,A2,2026-04-15T12:00:00Z,300",
            "P7,A2,2026-04-15T12:00:00Z,-300",
        ),
    )
    .unwrap();
    let err = extract(
        dir.path(),
        &[NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()],
        &FeatureConfig::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("payments.csv") && err.contains("`amount`") && err.contains("-300"),
        "{err}"
    );
}

fn contact_row(df: &DataFrame, contact: &str) -> DataFrame {
    df.clone()
        .lazy()
        .filter(col("contact_id").eq(lit(contact)))
        .collect()
        .unwrap()
}

fn contact_table(dir: &Path, cfg: &FeatureConfig) -> DataFrame {
    let out = dir.join("contacts_out.parquet");
    let (summary, schema) = extract_contacts(dir, cfg, &out, &|_, _| {}).unwrap();
    let df = ParquetReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    assert_eq!(summary.rows, df.height());
    let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
    let expected: Vec<&str> = schema.columns().map(|c| c.name.as_str()).collect();
    assert_eq!(names, expected);
    assert!(FeatureSchema::path_for(&out).exists());
    df
}

#[test]
fn contact_table_matches_hand_computed_values() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let df = contact_table(dir.path(), &FeatureConfig::default());
    assert_eq!(
        df.height(),
        10,
        "one row per contact, decisions not to contact included"
    );

    // K3: call at Tue 2026-03-31 20:00 UTC, 16:00 in New York. Weekly snapshots fall on days
    // divisible by 7 since 1970-01-01 (Thursdays): the latest is 2026-03-26, 140 h before.
    let k3 = contact_row(&df, "K3");
    let snap = k3
        .column("snapshot_as_of")
        .unwrap()
        .date()
        .unwrap()
        .physical()
        .get(0);
    assert_eq!(
        snap,
        Some(recoup_io::convert::date_to_days(
            NaiveDate::from_ymd_opt(2026, 3, 26).unwrap()
        ))
    );
    close(f(&k3, "hours_since_snapshot"), 140.0, "snapshot age");
    close(f(&k3, "local_hour"), 16.0, "local hour");
    close(f(&k3, "local_weekday"), 2.0, "weekday");
    close(f(&k3, "hours_since_prev_contact"), 29.0, "since prev (K1)");
    assert_eq!(f(&k3, "hours_since_prev_same_channel"), None);
    close(f(&k3, "attempts_any_channel_7d"), 1.0, "any 7d");
    close(f(&k3, "attempts_same_channel_7d"), 0.0, "same 7d");
    close(f(&k3, "hours_since_last_payment"), 152.0, "since P1");
    // Account features as of 2026-03-26: P3, P2 and P1 in 30 days (P4 reversed); the
    // 2026-03-01 state.
    close(f(&k3, "payments_30d"), 3.0, "snapshot payments");
    close(f(&k3, "paid_amount_30d"), 80.0, "snapshot paid");
    close(f(&k3, "days_past_due"), 45.0, "snapshot dpd");
    // Labels: right-party contact; R1 five minutes later and P5 (70) within 7 days, P6 not.
    assert_eq!(b(&k3, "responded"), Some(true));
    assert_eq!(b(&k3, "right_party"), Some(true));
    assert_eq!(b(&k3, "opted_out"), Some(false));
    assert_eq!(b(&k3, "promise_in_window"), Some(true));
    assert_eq!(b(&k3, "paid_in_window"), Some(true));
    close(f(&k3, "amount_paid_in_window"), 70.0, "amount in window");

    let k4 = contact_row(&df, "K4");
    assert_eq!(b(&k4, "opted_out"), Some(true));
    assert_eq!(b(&k4, "responded"), Some(false));
    assert_eq!(b(&k4, "paid_in_window"), Some(false));
    close(f(&k4, "amount_paid_in_window"), 0.0, "nothing paid");

    // A decision not to contact: no response labels, but the window labels are its baseline.
    let k7 = contact_row(&df, "K7");
    assert_eq!(b(&k7, "responded"), None);
    assert_eq!(b(&k7, "paid_in_window"), Some(false));
    close(f(&k7, "hours_since_prev_contact"), 24.0, "since K6");
    assert_eq!(f(&k7, "hours_since_prev_same_channel"), None);
    close(f(&k7, "attempts_any_channel_7d"), 1.0, "K6");

    // K10: K8 is within 7 days, K9 and K8 within 365, both responses.
    let k10 = contact_row(&df, "K10");
    close(f(&k10, "attempts_same_channel_7d"), 1.0, "email 7d");
    close(f(&k10, "attempts_same_channel_365d"), 2.0, "email 365d");
    close(
        f(&k10, "responses_same_channel_365d"),
        2.0,
        "email responses",
    );
    close(
        f(&k10, "hours_since_prev_same_channel"),
        5.0 * 24.0 + 10.5,
        "since K8",
    );
}

#[test]
fn contact_labels_are_null_when_the_window_passes_the_export() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let mut cfg = FeatureConfig::default();
    cfg.contact_label_days.email = 60;
    let df = contact_table(dir.path(), &cfg);
    // K4 (email, 2026-04-02 15:00) + 60 days passes the 2026-06-01 export; K3 (call) does not.
    let k4 = contact_row(&df, "K4");
    assert_eq!(b(&k4, "paid_in_window"), None);
    assert_eq!(f(&k4, "amount_paid_in_window"), None);
    assert_eq!(b(&k4, "opted_out"), Some(true));
    assert_eq!(f(&k4, "label_window_days"), Some(60.0));
    assert_eq!(b(&contact_row(&df, "K3"), "paid_in_window"), Some(true));
    cfg.contact_label_days.letter = 0;
    let err = extract_contacts(dir.path(), &cfg, &dir.path().join("x.parquet"), &|_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("contact_label_days.letter") && err.contains('0'),
        "{err}"
    );
    assert!(!dir.path().join("x.parquet").exists());
}
