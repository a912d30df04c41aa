#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use recoup_core::TreatmentCatalog;
use recoup_io::{ValidationOptions, validate_dir};
use recoup_sim::{OutputOptions, PortfolioRates, SimConfig, SimError, simulate, truth_paths};

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            for (k, v) in files(&p) {
                out.insert(
                    format!("{}/{k}", p.file_name().unwrap().to_string_lossy()),
                    v,
                );
            }
        } else {
            out.insert(
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            );
        }
    }
    out
}

fn run(cfg: &SimConfig, out: &Path) {
    simulate(
        cfg,
        &TreatmentCatalog::default_catalog(),
        out,
        &OutputOptions::default(),
    )
    .unwrap();
}

fn small(seed: u64) -> SimConfig {
    SimConfig {
        accounts: 3_000,
        months: 6,
        seed,
        ..SimConfig::default()
    }
}

#[test]
fn same_seed_gives_identical_bytes_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    run(&small(11), &a);
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| run(&small(11), &b));
    run(&small(12), &c);
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    assert!(fa.len() >= 9, "{:?}", fa.keys());
    for (name, bytes) in &fa {
        assert!(
            bytes == &fb[name],
            "{name} differs between runs with the same seed"
        );
    }
    assert_ne!(
        fa["contacts.parquet"], fc["contacts.parquet"],
        "another seed gives other data"
    );
}

#[test]
fn simulated_portfolio_passes_validation() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    run(&small(3), &out);
    let report = validate_dir(&out, &ValidationOptions::default()).unwrap();
    let text: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert!(report.problems.is_empty(), "{text:#?}");
    assert!(
        report.tables.iter().all(|t| t.rows > 0),
        "{:?}",
        report.tables
    );
}

#[test]
fn marginal_rates_fall_within_documented_ranges() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    let cfg = SimConfig {
        accounts: 40_000,
        months: 12,
        seed: 5,
        ..SimConfig::default()
    };
    run(&cfg, &out);
    let rates = PortfolioRates::from_dir(&out).unwrap();
    let outside: Vec<String> = rates
        .checks()
        .into_iter()
        .filter(|(_, v, (lo, hi))| !(*lo..=*hi).contains(v))
        .map(|(name, v, (lo, hi))| format!("{name}: {v:.3} not in [{lo}, {hi}]"))
        .collect();
    assert!(outside.is_empty(), "{outside:#?}");
    let explored = rates.explored.value();
    assert!(
        (explored - cfg.exploration).abs() < 0.01,
        "exploration share {explored}"
    );
}

#[test]
fn ground_truth_covers_every_account_in_collections_and_every_treatment() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    run(&small(8), &out);
    let states = recoup_io::read_table(&out, recoup_core::Table::AccountStates).unwrap();
    let last = states
        .column("as_of")
        .unwrap()
        .date()
        .unwrap()
        .physical()
        .max()
        .unwrap();
    let mut in_collections = 0;
    let dates = states
        .column("as_of")
        .unwrap()
        .date()
        .unwrap()
        .physical()
        .clone();
    let dpd = states
        .column("days_past_due")
        .unwrap()
        .i64()
        .unwrap()
        .clone();
    let status = states.column("status").unwrap().str().unwrap().clone();
    for i in 0..states.height() {
        if dates.get(i) == Some(last)
            && (status.get(i) == Some("charged_off")
                || (status.get(i) == Some("open") && dpd.get(i).unwrap() > 0))
        {
            in_collections += 1;
        }
    }
    let (truth_path, traits_path) = truth_paths(&out);
    let truth = ParquetReader::new(std::fs::File::open(truth_path).unwrap())
        .finish()
        .unwrap();
    let n_treatments = TreatmentCatalog::default_catalog().treatments.len();
    assert!(in_collections > 100);
    assert_eq!(truth.height(), in_collections * n_treatments);
    let p = truth.column("p_pay_30d").unwrap().f64().unwrap();
    assert!(p.iter().flatten().all(|x| (0.0..=1.0).contains(&x)));
    let traits = ParquetReader::new(std::fs::File::open(traits_path).unwrap())
        .finish()
        .unwrap();
    assert_eq!(traits.height(), 3_000);
}

#[test]
fn never_overwrites_or_half_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sim");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let err = simulate(
        &small(1),
        &TreatmentCatalog::default_catalog(),
        &out,
        &OutputOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, SimError::OutputExists { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );

    let bad = SimConfig {
        exploration: 1.5,
        ..small(1)
    };
    let fresh = tmp.path().join("fresh");
    let err = simulate(
        &bad,
        &TreatmentCatalog::default_catalog(),
        &fresh,
        &OutputOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("exploration") && err.to_string().contains("1.5"),
        "{err}"
    );
    assert!(!fresh.exists());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    simulate(
        &small(1),
        &TreatmentCatalog::default_catalog(),
        &out,
        &OutputOptions {
            force: true,
            progress: false,
        },
    )
    .unwrap();
    assert!(!out.join("keep.txt").exists() && out.join("accounts.parquet").exists());
}
