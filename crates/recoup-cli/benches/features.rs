//! Feature extraction, side by side with the same logic in Python polars.
//!
//! `scripts/bench-python-env && cargo bench -p recoup-cli --bench features -- [--accounts N[,N...]]`
//!
//! For each size, simulates a portfolio (12 months, seed 1; cached under target/bench-data),
//! then runs, alternately and `--runs` times each (default 3) on the same files and as-of date
//! (the last month whose 30-day labels are complete): `recoup features` (release binary) and
//! `bench/python/features.py` (Python polars from .venv). Reports the median wall seconds and
//! peak RSS of each process (GNU time), their ratio, recoup's own split between validating the
//! raw folder and computing features (from its log), and the largest difference between the two
//! outputs. On this project's virtual machines the first run after a pause is often slower
//! (memory is faulted in from the host), which is why runs alternate and medians are reported.
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

/// One timed run: wall seconds, peak RSS MiB, and what the command wrote on stderr.
struct Run {
    secs: f64,
    rss: f64,
    stderr: String,
}

/// Runs a command under GNU time.
fn timed(cmd: &mut Command) -> Run {
    let report = std::env::temp_dir().join(format!("recoup-bench-time-{}", std::process::id()));
    let gnu_time = Path::new("/usr/bin/time").exists();
    let started = Instant::now();
    let output = if gnu_time {
        let mut wrapped = Command::new("/usr/bin/time");
        wrapped
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&report)
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))));
        wrapped.output().unwrap()
    } else {
        cmd.output().unwrap()
    };
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{cmd:?} failed:\n{stderr}");
    let rss = std::fs::read_to_string(&report)
        .ok()
        .and_then(|s| {
            s.trim()
                .lines()
                .last()
                .and_then(|l| l.trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0);
    Run { secs, rss, stderr }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The seconds recoup logged for a phase: the number before " s" on the line containing `what`.
fn logged_secs(stderr: &str, what: &str) -> f64 {
    stderr
        .lines()
        .find(|l| l.contains(what))
        .and_then(|l| l.rsplit_once(" in ")?.1.split(' ').next()?.parse().ok())
        .unwrap_or(f64::NAN)
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
    let mut runs = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args
                .next()
                .and_then(|v| v.parse().ok())
                .filter(|&n| n > 0)
                .unwrap_or(runs);
        } else if a == "--accounts" {
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
        "| accounts | rows in | recoup s | of which validation s | of which features s | Python polars s | ratio recoup/Python | recoup peak MiB | Python peak MiB | max rel. diff | columns differing |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
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
        let schema_path = data.join(format!("features-{n}-recoup.parquet.schema.json"));
        let ours_cmd = || {
            let mut c = Command::new(env!("CARGO_BIN_EXE_recoup"));
            c.args(["features", "--raw"])
                .arg(&raw)
                .args(["--asof", &asof, "--out"])
                .arg(&ours)
                .env("RECOUP_LOG", "info");
            c
        };
        // The schema (column list for the Python side) comes from a first, untimed recoup run.
        if !schema_path.exists() {
            timed(&mut ours_cmd());
        }
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
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
        let theirs_cmd = || {
            let mut c = Command::new(&python);
            c.arg(root.join("bench/python/features.py"))
                .arg("--raw")
                .arg(&raw)
                .args(["--asof", &asof, "--out"])
                .arg(&theirs)
                .args(["--columns", &columns.join(",")]);
            c
        };
        let (mut rs, mut py) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            rs.push(timed(&mut ours_cmd()));
            py.push(timed(&mut theirs_cmd()));
        }
        let med = |v: &[Run], f: &dyn Fn(&Run) -> f64| median(v.iter().map(f).collect());
        let t_rs = med(&rs, &|r| r.secs);
        let t_val = med(&rs, &|r| logged_secs(&r.stderr, "validated"));
        let t_feat = med(&rs, &|r| logged_secs(&r.stderr, "computed features"));
        let m_rs = med(&rs, &|r| r.rss);
        let t_py = med(&py, &|r| r.secs);
        let m_py = med(&py, &|r| r.rss);
        let read = |p: &Path| {
            ParquetReader::new(std::fs::File::open(p).unwrap())
                .finish()
                .unwrap()
        };
        let (diff, differing) = max_abs_diff(&read(&ours), &read(&theirs));
        println!(
            "| {n} | {rows_in} | {t_rs:.2} | {t_val:.1} | {t_feat:.1} | {t_py:.2} | {:.2} | {m_rs:.0} | {m_py:.0} | {diff:.1e} | {} |",
            t_rs / t_py,
            if differing.is_empty() {
                "none".to_owned()
            } else {
                differing.join(", ")
            }
        );
    }
}
