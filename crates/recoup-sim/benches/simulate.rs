//! Simulator throughput and peak memory.
//!
//! `cargo bench -p recoup-sim --bench simulate -- [--accounts N[,N...]] [--months M] [--out DIR]`
//!
//! Simulates each size in increasing order (default 100,000 and 1,000,000 accounts x 12
//! months, the target being 1M x 12 within 60 s on 2 cores) and prints a Markdown table:
//! wall time, accounts per second, rows written, bytes on disk and the process's peak
//! resident memory after the run (VmHWM; sizes run in increasing order, so it is that run's).
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use recoup_core::TreatmentCatalog;
use recoup_sim::{OutputOptions, SimConfig, simulate};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            total += if p.is_dir() {
                dir_bytes(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            };
        }
    }
    total
}

fn main() {
    let mut sizes = vec![100_000usize, 1_000_000];
    let mut months = 12u32;
    let mut out = std::env::temp_dir().join("recoup-bench-simulate");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--accounts" => {
                sizes = args
                    .next()
                    .map(|v| {
                        v.split(',')
                            .filter_map(|x| x.replace('_', "").parse().ok())
                            .collect()
                    })
                    .unwrap_or(sizes);
            }
            "--months" => months = args.next().and_then(|v| v.parse().ok()).unwrap_or(months),
            "--out" => out = args.next().map(PathBuf::from).unwrap_or(out),
            _ => {} // cargo bench passes `--bench`
        }
    }
    sizes.sort_unstable();
    let catalog = TreatmentCatalog::default_catalog();
    println!(
        "| accounts | months | seconds | accounts/s | rows written | states | payments | contacts | promises | truth rows | MiB on disk | peak RSS MiB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let cfg = SimConfig {
            accounts: n,
            months,
            seed: 1,
            ..SimConfig::default()
        };
        let started = Instant::now();
        let summary = simulate(
            &cfg,
            &catalog,
            &out,
            &OutputOptions {
                force: true,
                progress: false,
            },
        )
        .expect("simulation runs");
        let secs = started.elapsed().as_secs_f64();
        let r = &summary.rows;
        let rows = r.accounts
            + r.account_states
            + r.payments
            + r.contacts
            + r.promises
            + r.truth_treatment_effects;
        println!(
            "| {n} | {months} | {secs:.1} | {:.0} | {rows} | {} | {} | {} | {} | {} | {:.0} | {:.0} |",
            n as f64 / secs,
            r.account_states,
            r.payments,
            r.contacts,
            r.promises,
            r.truth_treatment_effects,
            dir_bytes(&out) as f64 / (1024.0 * 1024.0),
            peak_rss_mib()
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
