#![allow(clippy::unwrap_used)]
//! Property: appending any events dated at or after the as-of instant changes no feature
//! value (labels may change). Checked on a simulated portfolio with random events added.

use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recoup_core::{Channel, ContactOutcome, Table, TreatmentCatalog};
use recoup_features::{FeatureConfig, FeatureSchema, extract, extract_contacts};
use recoup_sim::{OutputOptions, SimConfig, simulate};

const DAY_US: i64 = 86_400_000_000;

fn ts(v: Vec<i64>, name: &str) -> Column {
    Int64Chunked::from_vec(name.into(), v)
        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
        .into_column()
}

fn strs(v: Vec<String>, name: &str) -> Column {
    StringChunked::from_iter_values(name.into(), v.iter().map(String::as_str)).into_column()
}

/// Copies `from` to `to` with `n` random payments, contacts, promises (at or after `asof`,
/// before the export) and account states (after `asof`) appended.
fn append_future_events(from: &Path, to: &Path, asof: NaiveDate, n: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    std::fs::create_dir_all(to).unwrap();
    for f in ["treatments.toml", "export.toml"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    let export = recoup_core::ExportManifest::load_from_dir(from)
        .unwrap()
        .unwrap()
        .export_at
        .timestamp_micros();
    let a_us = recoup_io::convert::date_to_days(asof) as i64 * DAY_US;
    let accounts = recoup_io::read_table(from, Table::Accounts).unwrap();
    let ids: Vec<String> = accounts
        .column("account_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_owned())
        .collect();
    let consent: Vec<[bool; 5]> = (0..ids.len())
        .map(|i| {
            let mut c = [false; 5];
            for (k, ch) in Channel::CONTACTABLE.iter().enumerate() {
                c[k] = accounts
                    .column(ch.consent_column().unwrap())
                    .unwrap()
                    .bool()
                    .unwrap()
                    .get(i)
                    .unwrap();
            }
            c
        })
        .collect();
    // Half the events land in the first week after the as-of instant, where a leak from the
    // last contacts before it would show.
    let when = |rng: &mut ChaCha8Rng| {
        if rng.random_bool(0.5) {
            rng.random_range(a_us..(a_us + 7 * DAY_US).min(export))
        } else {
            rng.random_range(a_us..export)
        }
    };
    let pick = |rng: &mut ChaCha8Rng| rng.random_range(0..ids.len());

    let mut payments = recoup_io::read_table(from, Table::Payments).unwrap();
    let who: Vec<usize> = (0..n).map(|_| pick(&mut rng)).collect();
    let extra = DataFrame::new(
        n,
        vec![
            strs((0..n).map(|i| format!("XP{i}")).collect(), "payment_id"),
            strs(who.iter().map(|&i| ids[i].clone()).collect(), "account_id"),
            ts((0..n).map(|_| when(&mut rng)).collect(), "paid_at"),
            Float64Chunked::from_vec(
                "amount".into(),
                (0..n).map(|_| rng.random_range(1.0..500.0)).collect(),
            )
            .into_column(),
            strs(vec!["debit_card".into(); n], "method"),
            strs(vec!["portal".into(); n], "via"),
            BooleanChunked::from_iter_values(
                "reversed".into(),
                (0..n).map(|_| rng.random_bool(0.1)),
            )
            .into_column(),
        ],
    )
    .unwrap();
    payments.vstack_mut(&extra).unwrap();
    recoup_io::write_parquet_atomic(&mut payments, &to.join("payments.parquet")).unwrap();

    // Contacts on consented channels (or decisions not to contact), any outcome but opt-out:
    // an opt-out after the as-of instant is how consent at the as-of instant is reconstructed.
    let catalog = TreatmentCatalog::default_catalog();
    let mut contacts = recoup_io::read_table(from, Table::Contacts).unwrap();
    let (mut acc, mut chan, mut treat, mut outcome) = (vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let i = pick(&mut rng);
        let t = &catalog.treatments[rng.random_range(0..catalog.treatments.len())];
        let ok = t.channel == Channel::None || consent[i][t.channel.index()];
        let t = if ok {
            t
        } else {
            catalog.get("no_contact").unwrap()
        };
        let outcomes: Vec<&ContactOutcome> = ContactOutcome::possible_on(t.channel)
            .iter()
            .filter(|o| **o != ContactOutcome::OptOut)
            .collect();
        acc.push(ids[i].clone());
        chan.push(t.channel.to_string());
        treat.push(t.id.clone());
        outcome.push(outcomes[rng.random_range(0..outcomes.len())].to_string());
    }
    let extra = DataFrame::new(
        n,
        vec![
            strs((0..n).map(|i| format!("XC{i}")).collect(), "contact_id"),
            strs(acc, "account_id"),
            ts((0..n).map(|_| when(&mut rng)).collect(), "contacted_at"),
            strs(chan, "channel"),
            strs(treat, "treatment_id"),
            strs(outcome, "outcome"),
            strs(vec!["explore".into(); n], "policy_arm"),
            Float64Chunked::from_vec("propensity".into(), vec![0.1; n]).into_column(),
        ],
    )
    .unwrap();
    contacts.vstack_mut(&extra).unwrap();
    recoup_io::write_parquet_atomic(&mut contacts, &to.join("contacts.parquet")).unwrap();

    let mut promises = recoup_io::read_table(from, Table::Promises).unwrap();
    let made: Vec<i64> = (0..n).map(|_| when(&mut rng)).collect();
    let extra = DataFrame::new(
        n,
        vec![
            strs((0..n).map(|i| format!("XR{i}")).collect(), "promise_id"),
            strs(
                (0..n).map(|_| ids[pick(&mut rng)].clone()).collect(),
                "account_id",
            ),
            StringChunked::full_null("contact_id".into(), n).into_column(),
            ts(made.clone(), "made_at"),
            Int32Chunked::from_vec(
                "due_on".into(),
                made.iter()
                    .map(|m| (m.div_euclid(DAY_US) + 3) as i32)
                    .collect(),
            )
            .into_date()
            .into_column(),
            Float64Chunked::from_vec("amount".into(), vec![50.0; n]).into_column(),
            BooleanChunked::from_iter_options(
                "kept".into(),
                (0..n).map(|_| [Some(true), Some(false), None][rng.random_range(0..3)]),
            )
            .into_column(),
        ],
    )
    .unwrap();
    promises.vstack_mut(&extra).unwrap();
    recoup_io::write_parquet_atomic(&mut promises, &to.join("promises.parquet")).unwrap();

    // States dated strictly after the as-of date (day 3 of a month, never a cycle date).
    let mut states = recoup_io::read_table(from, Table::AccountStates).unwrap();
    let a_day = recoup_io::convert::date_to_days(asof);
    let extra = DataFrame::new(
        n,
        vec![
            strs(
                (0..n).map(|i| ids[i % ids.len()].clone()).collect(),
                "account_id",
            ),
            Int32Chunked::from_vec("as_of".into(), vec![a_day + 2; n])
                .into_date()
                .into_column(),
            strs(vec!["open".into(); n], "status"),
            Float64Chunked::from_vec("balance".into(), vec![1.0; n]).into_column(),
            Float64Chunked::from_vec("amount_due".into(), vec![1.0; n]).into_column(),
            Int64Chunked::from_vec("days_past_due".into(), vec![0; n]).into_column(),
        ],
    )
    .unwrap();
    states.vstack_mut(&extra).unwrap();
    recoup_io::write_parquet_atomic(&mut states, &to.join("account_states.parquet")).unwrap();
    std::fs::copy(from.join("accounts.parquet"), to.join("accounts.parquet")).unwrap();
}

fn features_only(df: &DataFrame, schema: &FeatureSchema) -> DataFrame {
    let names: Vec<&str> = schema
        .keys
        .iter()
        .chain(&schema.features)
        .map(|f| f.name.as_str())
        .collect();
    df.select(names).unwrap()
}

/// The keys and features of the contact table rows before `a_us`.
fn contact_features_before(raw: &Path, a_us: i64, out: &Path) -> DataFrame {
    let (_, schema) = extract_contacts(raw, &FeatureConfig::default(), out, &|_, _| {}).unwrap();
    let df = ParquetReader::new(std::fs::File::open(out).unwrap())
        .finish()
        .unwrap();
    let keep = df
        .column("contacted_at")
        .unwrap()
        .datetime()
        .unwrap()
        .physical()
        .lt(a_us);
    features_only(&df.filter(&keep).unwrap(), &schema)
}

#[test]
fn events_at_or_after_the_asof_change_no_feature() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let cfg = SimConfig {
        accounts: 600,
        months: 8,
        seed: 21,
        ..SimConfig::default()
    };
    simulate(
        &cfg,
        &TreatmentCatalog::default_catalog(),
        &base,
        &OutputOptions::default(),
    )
    .unwrap();
    // Mid-cycle, the day after the simulator's first decision day: recent contacts sit just
    // before the as-of instant, where a leak would show.
    let asof = NaiveDate::from_ymd_opt(2026, 5, 4).unwrap();
    let fc = FeatureConfig::default();
    let (before, schema) = extract(&base, &[asof], &fc).unwrap();
    let a_us = recoup_io::convert::date_to_days(asof) as i64 * DAY_US;
    let contacts_before = contact_features_before(&base, a_us, &tmp.path().join("base.parquet"));
    assert!(
        contacts_before.height() > 500,
        "{}",
        contacts_before.height()
    );
    let mut labels_changed = false;
    for seed in 0..3 {
        let changed = tmp.path().join(format!("changed{seed}"));
        append_future_events(&base, &changed, asof, 400, seed);
        let (after, _) = extract(&changed, &[asof], &fc).unwrap();
        let (fb, fa) = (
            features_only(&before, &schema),
            features_only(&after, &schema),
        );
        for c in fb.columns() {
            let other = fa.column(c.name()).unwrap();
            assert!(
                c.equals_missing(other),
                "feature `{}` changed after appending future events (seed {seed})",
                c.name()
            );
        }
        // The contact table: every contact before the as-of instant keeps its features.
        let contacts_after =
            contact_features_before(&changed, a_us, &tmp.path().join(format!("c{seed}.parquet")));
        for c in contacts_before.columns() {
            assert!(
                c.equals_missing(contacts_after.column(c.name()).unwrap()),
                "contact feature `{}` changed after appending future events (seed {seed})",
                c.name()
            );
        }
        labels_changed |= !before
            .column("amount_paid_30d")
            .unwrap()
            .equals_missing(after.column("amount_paid_30d").unwrap());
    }
    assert!(
        labels_changed,
        "the appended events should reach some labels"
    );
}
