//! recoup's native tree evaluator vs LightGBM's own predict, on the same model and rows.
//!
//! `scripts/bench-python-env && cargo bench -p recoup-score --bench evaluate [-- --rows N]`
//!
//! LightGBM (Python, from .venv) trains 300 trees x 31 leaves on Give Me Some Credit
//! (`../shared/data/give_me_some_credit/cs-training.csv`) and saves its text model; recoup
//! imports that file (`recoup_model::lightgbm`). Both then score the same N rows (default
//! 1,000,000: the training rows repeated, missing values kept) at 1 and 2 threads, best of
//! three; the table gives rows per second, the ratios, and the largest differences between the
//! sides' probabilities. ONNX Runtime scores the same model converted by onnxmltools (no ZipMap;
//! float32 inputs, as that converter declares them) from Python and from recoup
//! (`recoup_score::onnx::OnnxModel`, "recoup via ort": the wheel's ONNX Runtime library, one
//! session per rayon thread with one intra-op thread each). A second table does the same for
//! recoup's own export of the imported model (`recoup_export`, float64 input, `TreeEnsemble`
//! opset 5) beside the onnxmltools file: rows per second and the largest difference from
//! recoup's native probabilities.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use recoup_score::CompiledTrees;
use recoup_score::onnx::OnnxModel;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// The feature columns of cs-training.csv (all but the row id and the target), NA as NaN.
fn read_gmsc(path: &Path) -> (Vec<Vec<f64>>, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let row: Vec<f64> = line
            .split(',')
            .skip(2)
            .map(|v| v.parse().unwrap_or(f64::NAN))
            .collect();
        rows.push(row);
    }
    let nf = rows[0].len();
    (rows, nf)
}

fn main() {
    let mut n_rows = 1_000_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--rows" {
            n_rows = args.next().unwrap().parse().unwrap();
        }
    }
    let root = workspace();
    let python = root.join(".venv/bin/python");
    assert!(python.exists(), "run scripts/bench-python-env first");
    let csv = root.join("../shared/data/give_me_some_credit/cs-training.csv");
    let dir = root.join("target/bench-data/score");
    std::fs::create_dir_all(&dir).unwrap();
    let model_path = dir.join("lightgbm-gmsc.txt");
    let script = root.join("bench/python/predict_lightgbm.py");
    let train = !model_path.exists();
    if train {
        run_python(
            &python,
            &script,
            &[
                "train".as_ref(),
                "--csv".as_ref(),
                csv.as_os_str(),
                "--model".as_ref(),
                model_path.as_os_str(),
            ],
        );
    }
    let onnx_path = dir.join("lightgbm-gmsc.onnx");
    if train || !onnx_path.exists() {
        run_python(
            &python,
            &script,
            &[
                "export".as_ref(),
                "--model".as_ref(),
                model_path.as_os_str(),
                "--onnx".as_ref(),
                onnx_path.as_os_str(),
            ],
        );
    }
    let onnx_model = OnnxModel::load(&onnx_path).unwrap();
    let model =
        recoup_model::lightgbm::from_text(&std::fs::read_to_string(&model_path).unwrap()).unwrap();
    let recoup_onnx_path = dir.join("lightgbm-gmsc.recoup.onnx");
    let native_file = recoup_model::ModelFile::new(
        recoup_model::ModelKind::GbdtBinary,
        "SeriousDlqin2yrs".into(),
        recoup_model::ModelSchema::new(
            model
                .feature_names
                .iter()
                .map(|name| recoup_model::FeatureColumn {
                    name: name.clone(),
                    dtype: "float64".into(),
                    categories: None,
                })
                .collect(),
        ),
        String::new(),
        0,
        serde_json::json!({}),
        serde_json::json!({}),
        recoup_model::ModelBody {
            scorer: recoup_model::Scorer::Trees(model.ensemble.clone()),
            calibration: recoup_model::Calibration::None,
        },
    );
    std::fs::write(
        &recoup_onnx_path,
        recoup_export::to_onnx(&native_file, "lightgbm-gmsc").unwrap(),
    )
    .unwrap();
    let recoup_onnx = OnnxModel::load(&recoup_onnx_path).unwrap();
    let compiled = CompiledTrees::new(&model.ensemble).unwrap();
    let (rows, nf) = read_gmsc(&csv);
    assert_eq!(nf, model.ensemble.n_features);
    assert_eq!(onnx_model.n_features(), Some(nf));
    let matrix: Vec<f64> = rows
        .iter()
        .cycle()
        .take(n_rows)
        .flatten()
        .copied()
        .collect();
    let matrix_path = dir.join(format!("gmsc-{n_rows}.f64"));
    let bytes: Vec<u8> = matrix.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&matrix_path, bytes).unwrap();

    let leaves: usize = model
        .ensemble
        .trees
        .iter()
        .map(|t| t.leaf_value.len())
        .sum();
    println!(
        "Model: LightGBM {} trees, {leaves} leaves in all, {nf} features; {n_rows} rows.\n",
        model.ensemble.trees.len()
    );
    println!(
        "| threads | recoup native rows/s | LightGBM predict rows/s | ONNX Runtime (Python) rows/s | recoup via ort rows/s | native/LightGBM | native/ONNX Runtime | native/recoup via ort | max abs diff native vs LightGBM | max abs diff ONNX Runtime vs LightGBM | max abs diff recoup via ort vs LightGBM | peak MiB recoup native / +ort | peak MiB LightGBM | peak MiB ONNX Runtime |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut exports = Vec::new();
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut ours = vec![0.0; n_rows];
        let best = best_of_3(|| pool.install(|| compiled.predict_proba(&matrix, &mut ours)));
        let peak_native = peak_mib();
        let mut via_ort = vec![0.0; n_rows];
        let ort_secs = best_of_3(|| {
            pool.install(|| onnx_model.predict_proba(&matrix, nf, &mut via_ort))
                .unwrap();
        });
        let peak_with_ort = peak_mib();
        let mut via_ort_recoup = vec![0.0; n_rows];
        let ort_recoup_secs = best_of_3(|| {
            pool.install(|| recoup_onnx.predict_proba(&matrix, nf, &mut via_ort_recoup))
                .unwrap();
        });
        let peer_on = |mode: &str, onnx: &Path| -> (f64, f64, Vec<f64>) {
            let preds = dir.join(format!("{mode}-{threads}.f64"));
            let (nf, threads) = (nf.to_string(), threads.to_string());
            let stdout = run_python(
                &python,
                &script,
                &[
                    mode.as_ref(),
                    "--model".as_ref(),
                    model_path.as_os_str(),
                    "--onnx".as_ref(),
                    onnx.as_os_str(),
                    "--matrix".as_ref(),
                    matrix_path.as_os_str(),
                    "--features".as_ref(),
                    nf.as_ref(),
                    "--threads".as_ref(),
                    threads.as_ref(),
                    "--out".as_ref(),
                    preds.as_os_str(),
                ],
            );
            let v: serde_json::Value = serde_json::from_slice(stdout.trim_ascii()).unwrap();
            let p = std::fs::read(&preds)
                .unwrap()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (
                v["secs"].as_f64().unwrap(),
                v["peak_mib"].as_f64().unwrap(),
                p,
            )
        };
        let peer = |mode: &str| peer_on(mode, &onnx_path);
        let (lgb_secs, lgb_peak, lgb) = peer("predict");
        let (onnx_secs, onnx_peak, onnx) = peer("onnx");
        let (recoup_onnx_secs, _, recoup_onnx_py) = peer_on("onnx", &recoup_onnx_path);
        let max_diff = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f64, f64::max)
        };
        println!(
            "| {threads} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1e} | {:.1e} | {:.1e} | {peak_native:.0} / {peak_with_ort:.0} | {lgb_peak:.0} | {onnx_peak:.0} |",
            n_rows as f64 / best,
            n_rows as f64 / lgb_secs,
            n_rows as f64 / onnx_secs,
            n_rows as f64 / ort_secs,
            lgb_secs / best,
            onnx_secs / best,
            ort_secs / best,
            max_diff(&ours, &lgb),
            max_diff(&onnx, &lgb),
            max_diff(&via_ort, &lgb),
        );
        exports.push(format!(
            "| {threads} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1e} | {:.1e} | {:.1e} | {:.1e} |",
            n_rows as f64 / onnx_secs,
            n_rows as f64 / ort_secs,
            n_rows as f64 / recoup_onnx_secs,
            n_rows as f64 / ort_recoup_secs,
            max_diff(&onnx, &ours),
            max_diff(&via_ort, &ours),
            max_diff(&recoup_onnx_py, &ours),
            max_diff(&via_ort_recoup, &ours),
        ));
    }
    println!(
        "\nThe same model as ONNX: onnxmltools' export (float32) and recoup's (`recoup_export`, float64), in ONNX Runtime from Python and from recoup; differences from recoup's native probabilities.\n"
    );
    println!(
        "| threads | onnxmltools file, ONNX Runtime (Python) rows/s | onnxmltools file, recoup via ort rows/s | recoup export, ONNX Runtime (Python) rows/s | recoup export, recoup via ort rows/s | max abs diff onnxmltools (Python) | max abs diff onnxmltools (recoup via ort) | max abs diff recoup export (Python) | max abs diff recoup export (recoup via ort) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in exports {
        println!("{row}");
    }
}

/// The fastest of three runs of `f`, seconds.
fn best_of_3(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Runs the bench's Python script with `args`, stopping on failure; its stdout.
fn run_python(python: &Path, script: &Path, args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Peak resident memory of this process so far (VmHWM), MiB; it includes the input matrix.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
