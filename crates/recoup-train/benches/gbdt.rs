//! recoup's gradient-boosted trees vs LightGBM on real public data, in one run.
//!
//! `scripts/bench-python-env && cargo bench -p recoup-train --bench gbdt [-- --threads 1,2]`
//!
//! For Give Me Some Credit (`cs-training.csv`, target `SeriousDlqin2yrs`) and UCI Bank
//! Marketing (`bank-full.csv`, target `y`, `duration` dropped because it leaks the outcome),
//! read from `../shared/data`: one stratified 80/20 split with seed 42, written as CSV under
//! target/bench-data so LightGBM sees exactly the same rows and encoded features (categorical
//! columns as level codes, declared categorical to LightGBM; recoup orders levels by target
//! rate). Both train 300 trees, 31 leaves, learning rate 0.05, at least 20 rows per leaf,
//! 255 bins; the table reports training seconds (binning included on both sides), test AUC and
//! the ratios, per thread count.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use recoup_train::metrics::roc_auc;
use recoup_train::{Dataset, FeatureKind, GbdtParams, TableSpec, fit_gbdt, load_table, split};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn write_csv(data: &Dataset, path: &Path) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "{},target", data.names.join(",")).unwrap();
    for r in 0..data.n_rows() {
        for c in &data.columns {
            let v = c[r];
            if !v.is_nan() {
                write!(w, "{v}").unwrap();
            }
            write!(w, ",").unwrap();
        }
        writeln!(w, "{}", data.target[r]).unwrap();
    }
}

fn main() {
    let mut threads = vec![1usize, 2];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--threads" {
            threads = args
                .next()
                .unwrap()
                .split(',')
                .map(|t| t.parse().unwrap())
                .collect();
        }
    }
    let root = workspace();
    let shared = root.join("../shared/data");
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "run scripts/bench-python-env first (installs LightGBM into .venv)"
    );
    let cases = [
        (
            "give_me_some_credit",
            TableSpec {
                path: shared.join("give_me_some_credit/cs-training.csv"),
                target: "SeriousDlqin2yrs".into(),
                ..TableSpec::default()
            },
        ),
        (
            "bank_marketing",
            TableSpec {
                path: shared.join("bank_marketing/bank-full.csv"),
                target: "y".into(),
                drop: vec!["duration".into()],
                ..TableSpec::default()
            },
        ),
    ];
    let params = GbdtParams {
        n_trees: 300,
        learning_rate: 0.05,
        num_leaves: 31,
        min_data_in_leaf: 20,
        max_bin: 255,
        seed: 42,
        ..GbdtParams::default()
    };
    let lgb_params = serde_json::json!({
        "num_iterations": params.n_trees,
        "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves,
        "min_data_in_leaf": params.min_data_in_leaf,
        "max_bin": params.max_bin,
        "seed": 42,
    })
    .to_string();
    println!(
        "| data | rows train/test | features | threads | recoup s | LightGBM s | time ratio recoup/LightGBM | recoup AUC | LightGBM AUC | AUC difference |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, spec) in cases {
        let loaded = load_table(&spec).unwrap();
        let data = loaded.data;
        let (tr, te) = split::stratified(&data.target, 0.2, 42);
        let (train, test) = (data.take(&tr), data.take(&te));
        let dir = root.join("target/bench-data").join(format!("gbdt-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        write_csv(&train, &dir.join("train.csv"));
        write_csv(&test, &dir.join("test.csv"));
        let categorical: Vec<usize> = (0..data.n_features())
            .filter(|&f| matches!(data.kinds[f], FeatureKind::Categorical { .. }))
            .collect();
        std::fs::write(
            dir.join("meta.json"),
            serde_json::json!({"features": data.names, "categorical": categorical}).to_string(),
        )
        .unwrap();
        for &t in &threads {
            let p = GbdtParams {
                threads: t,
                ..params.clone()
            };
            // Best of three for both sides: the first run after a pause is slow on these VMs.
            let mut ours = f64::INFINITY;
            let mut model = None;
            for _ in 0..3 {
                let started = Instant::now();
                let m = fit_gbdt(&p, &train, None).unwrap();
                ours = ours.min(started.elapsed().as_secs_f64());
                model = Some(m);
            }
            let model = model.unwrap();
            let p_ours = model.predict_proba(&test);
            let auc_ours = roc_auc(&test.target, &p_ours, None);

            let preds = dir.join(format!("lightgbm-{t}.txt"));
            let mut theirs = f64::INFINITY;
            for _ in 0..3 {
                let out = Command::new(&python)
                    .arg(root.join("bench/python/train_lightgbm.py"))
                    .arg("--dir")
                    .arg(&dir)
                    .args([
                        "--threads",
                        &t.to_string(),
                        "--params",
                        &lgb_params,
                        "--out",
                    ])
                    .arg(&preds)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let v: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii()).unwrap();
                theirs = theirs.min(v["secs"].as_f64().unwrap());
            }
            let p_theirs: Vec<f64> = std::fs::read_to_string(&preds)
                .unwrap()
                .lines()
                .map(|l| l.parse().unwrap())
                .collect();
            let auc_theirs = roc_auc(&test.target, &p_theirs, None);
            println!(
                "| {name} | {}/{} | {} | {t} | {ours:.2} | {theirs:.2} | {:.2} | {auc_ours:.4} | {auc_theirs:.4} | {:+.4} |",
                train.n_rows(),
                test.n_rows(),
                data.n_features(),
                ours / theirs,
                auc_ours - auc_theirs
            );
        }
    }
}
