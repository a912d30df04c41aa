//! recoup's ONNX scorer against Python: LightGBM and scikit-learn models trained and exported by
//! `bench/python/onnx_fixtures.py` (run here with `$RECOUP_PYTHON`, default `.venv/bin/python`)
//! must score in recoup as in ONNX Runtime (Python) and as in the library that trained them.
//! Without Python or ONNX Runtime the tests are skipped, unless `RECOUP_REQUIRE_PYTHON=1`
//! (`scripts/test` sets it up and requires it).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use recoup_score::CompiledTrees;
use recoup_score::onnx::{OnnxError, OnnxModel, onnxruntime_library};
use serde_json::Value;

const EXPECTED_MODELS: [&str; 6] = [
    "lightgbm-tensor",
    "lightgbm-zipmap",
    "sklearn-hgb-zipmap",
    "sklearn-hgb-tensor",
    "sklearn-forest-zipmap",
    "sklearn-logistic-zipmap",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// Panics (`RECOUP_REQUIRE_PYTHON=1`) or says why the test is skipped.
fn unavailable(why: &str) {
    assert!(
        std::env::var("RECOUP_REQUIRE_PYTHON").as_deref() != Ok("1"),
        "RECOUP_REQUIRE_PYTHON=1 but {why}"
    );
    eprintln!("skipped: {why}; run scripts/test (it sets up .venv and requires these tests)");
}

/// The Python with the fixture script's packages, if ONNX Runtime's library is found too.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("RECOUP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    let imports = Command::new(&python)
        .args([
            "-c",
            "import lightgbm, numpy, onnx, onnxmltools, onnxruntime, skl2onnx, sklearn",
        ])
        .output();
    match imports {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            unavailable(&format!(
                "{} lacks the fixture packages: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return None;
        }
        Err(e) => {
            unavailable(&format!("cannot run {}: {e}", python.display()));
            return None;
        }
    }
    if let Err(e) = onnxruntime_library() {
        unavailable(&e.to_string());
        return None;
    }
    Some(python)
}

fn read_f64(path: &Path) -> Vec<f64> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn run_fixtures(python: &Path, dir: &Path) -> Value {
    let out = Command::new(python)
        .arg(workspace().join("bench/python/onnx_fixtures.py"))
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "onnx_fixtures.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn onnx_models_score_as_in_python() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<OnnxModel>();
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let manifest = run_fixtures(&python, dir);
    let nf = usize::try_from(manifest["n_features"].as_u64().unwrap()).unwrap();
    let feature_names = &manifest["feature_names"];
    let rows_of = |name: &str| {
        let rows = read_f64(&dir.join(manifest["rows"][name]["file"].as_str().unwrap()));
        let n = usize::try_from(manifest["rows"][name]["n_rows"].as_u64().unwrap()).unwrap();
        assert_eq!(rows.len(), n * nf);
        rows
    };
    let missing_rows = rows_of("missing");
    let all_missing = usize::try_from(manifest["all_missing_rows"].as_u64().unwrap()).unwrap();
    assert!(all_missing > 0);
    assert!(missing_rows[..all_missing * nf].iter().all(|v| v.is_nan()));
    assert!(missing_rows[all_missing * nf..].iter().any(|v| v.is_nan()));

    let models = manifest["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, EXPECTED_MODELS);
    let mut lightgbm_onnx = Vec::new();
    for m in models {
        let name = m["name"].as_str().unwrap();
        let rows = rows_of(m["rows"].as_str().unwrap());
        let n = rows.len() / nf;
        assert!(n > 2 * 4096, "{name}: too few rows for several blocks");
        let model = OnnxModel::load(&dir.join(m["onnx"].as_str().unwrap())).unwrap();
        assert_eq!(model.n_features(), Some(nf), "{name}");
        assert_eq!(model.input_name(), m["input"].as_str().unwrap(), "{name}");
        let names_prop: Value =
            serde_json::from_str(model.metadata().get("feature_names").unwrap()).unwrap();
        assert_eq!(&names_prop, feature_names, "{name}");
        let one = with_threads(1, || {
            let mut out = vec![f64::NAN; n];
            model.predict_proba(&rows, nf, &mut out).unwrap();
            out
        });
        let two = with_threads(2, || {
            let mut out = vec![f64::NAN; n];
            model.predict_proba(&rows, nf, &mut out).unwrap();
            out
        });
        assert_eq!(one, two, "{name}: 1 and 2 threads differ");
        let ort_python = read_f64(&dir.join(m["onnxruntime_proba"].as_str().unwrap()));
        let library = read_f64(&dir.join(m["library_proba"].as_str().unwrap()));
        let vs_ort = max_diff(&one, &ort_python);
        let vs_library = max_diff(&one, &library);
        eprintln!(
            "{name} ({}): max abs diff vs ONNX Runtime (Python) {vs_ort:.2e}, vs {} {vs_library:.2e}",
            m["probability_type"].as_str().unwrap(),
            m["library"].as_str().unwrap()
        );
        assert!(
            vs_ort <= 1e-6,
            "{name}: {vs_ort} from ONNX Runtime (Python)"
        );
        assert!(vs_library <= 1e-5, "{name}: {vs_library} from the library");
        let spread = one.iter().copied().fold(f64::NAN, f64::max)
            - one.iter().copied().fold(f64::NAN, f64::min);
        assert!(spread > 0.5, "{name}: probabilities barely vary ({spread})");
        if m["library"] == "lightgbm" {
            lightgbm_onnx.push((name.to_string(), one));
        }
    }

    // The same LightGBM model imported from its text file into recoup's native evaluator.
    let text =
        std::fs::read_to_string(dir.join(manifest["lightgbm_text"].as_str().unwrap())).unwrap();
    let imported = recoup_model::lightgbm::from_text(&text).unwrap();
    assert_eq!(imported.ensemble.n_features, nf);
    let compiled = CompiledTrees::new(&imported.ensemble).unwrap();
    let mut native = vec![f64::NAN; missing_rows.len() / nf];
    compiled.predict_proba(&missing_rows, &mut native);
    let lightgbm = read_f64(&dir.join("lightgbm-tensor.library.f64"));
    let vs_lightgbm = max_diff(&native, &lightgbm);
    eprintln!(
        "LightGBM text model in recoup's evaluator: max abs diff vs LightGBM {vs_lightgbm:.2e}"
    );
    assert!(vs_lightgbm <= 1e-9, "native vs LightGBM: {vs_lightgbm}");
    assert_eq!(lightgbm_onnx.len(), 2);
    for (name, onnx) in &lightgbm_onnx {
        let d = max_diff(&native, onnx);
        eprintln!("LightGBM native vs {name} through ort: max abs diff {d:.2e}");
        assert!(d <= 1e-6, "native vs {name}: {d}");
    }

    let refused =
        OnnxModel::load(&dir.join(manifest["no_probabilities"].as_str().unwrap())).unwrap_err();
    let message = refused.to_string();
    assert!(
        matches!(refused, OnnxError::Load { .. }) && message.contains("identity.onnx"),
        "{message}"
    );
    assert!(message.contains("no output holds"), "{message}");
}

#[test]
fn bad_files_and_shapes_are_errors_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let absent = tmp.path().join("absent.onnx");
    let e = OnnxModel::load(&absent).unwrap_err();
    assert!(matches!(e, OnnxError::Load { .. }), "{e:?}");
    assert!(e.to_string().contains(&absent.display().to_string()), "{e}");

    let Some(python) = python() else { return };
    let garbage = tmp.path().join("garbage.onnx");
    std::fs::write(&garbage, b"this is not an ONNX model\n").unwrap();
    let e = OnnxModel::load(&garbage).unwrap_err();
    assert!(matches!(e, OnnxError::Load { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&garbage.display().to_string()),
        "{e}"
    );

    let dir = tmp.path().join("fixtures");
    let manifest = run_fixtures(&python, &dir);
    let file = dir.join(manifest["models"][0]["onnx"].as_str().unwrap());
    let model = OnnxModel::load(&file).unwrap();
    let nf = model.n_features().unwrap();
    let rows = vec![0.5; 3 * nf];
    for (features, out_len, what) in [
        (nf - 1, 3, "features"),
        (nf, 2, "room for 2"),
        (0, 0, "0 features"),
    ] {
        let mut out = vec![0.0; out_len];
        let e = with_threads(2, || model.predict_proba(&rows, features, &mut out)).unwrap_err();
        assert!(matches!(e, OnnxError::Shape { .. }), "{e:?}");
        let message = e.to_string();
        assert!(
            message.contains(&file.display().to_string()) && message.contains(what),
            "{message}"
        );
    }
    let mut empty: Vec<f64> = Vec::new();
    model.predict_proba(&[], nf, &mut empty).unwrap();
}
