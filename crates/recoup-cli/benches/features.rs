//! Feature extraction, side by side with the same logic in Python polars.
//!
//! `scripts/bench-python-env && cargo bench -p recoup-cli --bench features -- [--accounts N[,N...]]`
//!
//! For each size, simulates a portfolio (12 months, seed 1; cached under target/bench-data),
//! then runs, one after the other on the same files and as-of date (the last month whose
//! 30-day labels are complete): `recoup features` (release binary) and
//! `bench/python/features.py` (Python polars from .venv). Reports wall seconds, peak RSS of
//! each process (GNU time), their ratio, and the largest difference between the two outputs.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use polars::prelude::*;
use recoup_core::TreatmentCatalog;
use recoup_sim::{OutputOptions, SimConfig, simulate};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs a command under GNU time; returns (wall seconds, peak RSS MiB).
fn timed(cmd: &mut Command) -> (f64, f64) {
    let report = std::env::temp_dir().join(format!("recoup-bench-time-{}", std::process::id()));
    let gnu_time = Path::new("/usr/bin/time").exists();
    let started = Instant::now();
    let status = if gnu_time {
        let mut wrapped = Command::new("/usr/bin/time");
        wrapped
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&report)
            .arg(cmd.get_program())
            .args(cmd.get_args());
        wrapped.status().unwrap()
    } else {
        cmd.status().unwrap()
    };
    let secs = started.elapsed().as_secs_f64();
    assert!(status.success(), "{cmd:?} failed");
    let rss = std::fs::read_to_string(&report)
        .ok()
        .and_then(|s| {
            s.trim()
                .lines()
                .last()
                .and_then(|l| l.trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0);
    (secs, rss)
}

fn max_abs_diff(a: &DataFrame, b: &DataFrame) -> (f64, Vec<String>) {
    let sort = |df: &DataFrame| {
        df.sort(["account_id"], SortMultipleOptions::default())
            .unwrap()
    };
    let (a, b) = (sort(a), sort(b));
    assert_eq!(a.height(), b.height(), "row counts differ");
    let mut worst = 0.0f64;
    let mut differing = Vec::new();
    for c in a.columns() {
        let name = c.name().as_str();
        let other = b.column(name).unwrap();
        if matches!(c.dtype(), DataType::String | DataType::Date) {
            if !c.equals_missing(&other.cast(c.dtype()).unwrap()) {
                differing.push(name.to_owned());
            }
            continue;
        }
        let x = c.cast(&DataType::Float64).unwrap();
        let y = other.cast(&DataType::Float64).unwrap();
        let (x, y) = (x.f64().unwrap(), y.f64().unwrap());
        let mut col_worst = 0.0f64;
        for (u, v) in x.iter().zip(y.iter()) {
            match (u, v) {
                (Some(u), Some(v)) => col_worst = col_worst.max((u - v).abs() / u.abs().max(1.0)),
                (None, None) => {}
                _ => col_worst = f64::INFINITY,
            }
        }
        if col_worst > 1e-9 {
            differing.push(format!("{name} ({col_worst:.2e})"));
        }
        worst = worst.max(col_worst);
    }
    (worst, differing)
}

fn main() {
    let mut sizes = vec![100_000usize, 1_000_000];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--accounts" {
            sizes = args
                .next()
                .map(|v| {
                    v.split(',')
                        .filter_map(|x| x.replace('_', "").parse().ok())
                        .collect()
                })
                .unwrap_or(sizes);
        }
    }
    let root = workspace();
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "run scripts/bench-python-env first (creates .venv with Python polars)"
    );
    let data = root.join("target/bench-data");
    std::fs::create_dir_all(&data).unwrap();
    println!(
        "| accounts | rows in | recoup s | Python polars s | ratio recoup/Python | recoup peak MiB | Python peak MiB | max rel. diff | columns differing |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for n in sizes {
        let raw = data.join(format!("sim-{n}"));
        let cfg = SimConfig {
            accounts: n,
            months: 12,
            seed: 1,
            ..SimConfig::default()
        };
        if !raw.join("export.toml").exists() {
            simulate(
                &cfg,
                &TreatmentCatalog::default_catalog(),
                &raw,
                &OutputOptions {
                    force: true,
                    progress: false,
                },
            )
            .unwrap();
        }
        let rows_in: u64 = [
            "accounts",
            "account_states",
            "payments",
            "contacts",
            "promises",
        ]
        .iter()
        .map(|t| {
            let f = std::fs::File::open(raw.join(format!("{t}.parquet"))).unwrap();
            ParquetReader::new(f).num_rows().unwrap() as u64
        })
        .sum();
        let asof = cfg
            .start
            .checked_add_months(chrono::Months::new(cfg.months - 1))
            .unwrap()
            .to_string();
        let ours = data.join(format!("features-{n}-recoup.parquet"));
        let theirs = data.join(format!("features-{n}-python.parquet"));
        let (t_rs, m_rs) = timed(
            Command::new(env!("CARGO_BIN_EXE_recoup"))
                .args(["-q", "features", "--raw"])
                .arg(&raw)
                .args(["--asof", &asof, "--out"])
                .arg(&ours),
        );
        let schema: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(data.join(format!("features-{n}-recoup.parquet.schema.json")))
                .unwrap(),
        )
        .unwrap();
        let columns: Vec<String> = ["keys", "features", "labels"]
            .iter()
            .flat_map(|k| {
                schema[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["name"].as_str().unwrap().to_owned())
            })
            .collect();
        let (t_py, m_py) = timed(
            Command::new(&python)
                .arg(root.join("bench/python/features.py"))
                .arg("--raw")
                .arg(&raw)
                .args(["--asof", &asof, "--out"])
                .arg(&theirs)
                .args(["--columns", &columns.join(",")]),
        );
        let read = |p: &Path| {
            ParquetReader::new(std::fs::File::open(p).unwrap())
                .finish()
                .unwrap()
        };
        let (diff, differing) = max_abs_diff(&read(&ours), &read(&theirs));
        println!(
            "| {n} | {rows_in} | {t_rs:.2} | {t_py:.2} | {:.2} | {m_rs:.0} | {m_py:.0} | {diff:.1e} | {} |",
            t_rs / t_py,
            if differing.is_empty() {
                "none".to_owned()
            } else {
                differing.join(", ")
            }
        );
    }
}
