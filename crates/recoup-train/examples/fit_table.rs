//! Trains on a CSV/parquet table and prints seconds and test AUC (for profiling the trainer):
//! `cargo run --release -p recoup-train --example fit_table -- FILE TARGET [THREADS] [DROP...]`
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use recoup_train::metrics::roc_auc;
use recoup_train::{GbdtParams, TableSpec, fit_gbdt, load_table, split};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec = TableSpec {
        path: args[0].clone().into(),
        target: args[1].clone(),
        drop: args.iter().skip(3).cloned().collect(),
        ..TableSpec::default()
    };
    let threads = args.get(2).map_or(0, |t| t.parse().unwrap());
    let data = load_table(&spec).unwrap().data;
    let (tr, te) = split::stratified(&data.target, 0.2, 42);
    let (train, test) = (data.take(&tr), data.take(&te));
    let params = GbdtParams {
        threads,
        seed: 42,
        ..GbdtParams::default()
    };
    let started = std::time::Instant::now();
    let m = fit_gbdt(&params, &train, None).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let auc = roc_auc(&test.target, &m.predict_proba(&test), None);
    println!("{secs:.3} s, AUC {auc:.4}");
}
