//! Helpers shared by the CLI's integration tests.

use std::process::{Command, Output};

/// Runs the `recoup` binary built for these tests.
pub fn recoup(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_recoup"))
        .args(args)
        .output()
        .expect("recoup runs")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The workspace root.
#[allow(dead_code)]
pub fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace holds crates/recoup-cli")
        .to_path_buf()
}

/// Panics when `variable=1` (scripts/test sets it: the tests then fail rather than skip),
/// else says on stderr why a test is skipped.
#[allow(dead_code)]
pub fn unavailable(variable: &str, why: &str) {
    assert!(
        std::env::var(variable).as_deref() != Ok("1"),
        "{variable}=1 but {why}"
    );
    eprintln!("skipped: {why}; scripts/test sets this up and requires it");
}

/// The Python with numpy, onnx and onnxruntime (`$RECOUP_PYTHON`, default `.venv/bin/python`),
/// if recoup finds ONNX Runtime's library too; `None` (test skipped) otherwise.
#[allow(dead_code)]
pub fn python_with_onnxruntime() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("RECOUP_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    let imports = Command::new(&python)
        .args(["-c", "import numpy, onnx, onnxruntime"])
        .output();
    match imports {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            unavailable(
                "RECOUP_REQUIRE_PYTHON",
                &format!(
                    "{} lacks numpy, onnx or onnxruntime: {}",
                    python.display(),
                    text(&out.stderr)
                ),
            );
            return None;
        }
        Err(e) => {
            unavailable(
                "RECOUP_REQUIRE_PYTHON",
                &format!("cannot run {}: {e}", python.display()),
            );
            return None;
        }
    }
    if let Err(e) = recoup_score::onnx::onnxruntime_library() {
        unavailable("RECOUP_REQUIRE_PYTHON", &e.to_string());
        return None;
    }
    Some(python)
}

/// One ONNX file and the rows (row-major) to score with it in Python.
#[allow(dead_code)]
pub struct PythonJob<'a> {
    pub onnx: &'a std::path::Path,
    pub rows: &'a [f64],
}

/// What Python's ONNX Runtime made of a job: the class-1 probability and the label of each
/// row, and the script's description of the model (opsets, inputs, outputs, metadata).
#[allow(dead_code)]
pub struct PythonScores {
    pub p1: Vec<f64>,
    pub label: Vec<f64>,
    pub description: serde_json::Value,
}

/// Scores every job with `bench/python/onnx_score.py` in one Python process (after
/// onnx.checker's full check of each model).
#[allow(dead_code)]
pub fn python_scores(python: &std::path::Path, jobs: &[PythonJob<'_>]) -> Vec<PythonScores> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut spec = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let rows = dir.path().join(format!("rows-{i}.f64"));
        let bytes: Vec<u8> = job.rows.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&rows, bytes).expect("rows written");
        spec.push(serde_json::json!({
            "onnx": job.onnx,
            "rows": rows,
            "out": dir.path().join(format!("out-{i}.f64")),
        }));
    }
    let spec_file = dir.path().join("jobs.json");
    std::fs::write(&spec_file, serde_json::to_vec(&spec).expect("json")).expect("jobs written");
    let out = Command::new(python)
        .arg(workspace().join("bench/python/onnx_score.py"))
        .arg(&spec_file)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "onnx_score.py failed: {}",
        text(&out.stderr)
    );
    let descriptions: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per job"))
        .collect();
    assert_eq!(descriptions.len(), jobs.len());
    descriptions
        .into_iter()
        .enumerate()
        .map(|(i, description)| {
            let values: Vec<f64> = std::fs::read(dir.path().join(format!("out-{i}.f64")))
                .expect("scores written")
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect();
            PythonScores {
                p1: values.iter().step_by(2).copied().collect(),
                label: values.iter().skip(1).step_by(2).copied().collect(),
                description,
            }
        })
        .collect()
}

/// The largest |a - b| (NaN on either side counts as infinite).
#[allow(dead_code)]
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = (x - y).abs();
            if d.is_nan() { f64::INFINITY } else { d }
        })
        .fold(0.0, f64::max)
}

/// A parquet file as a polars frame.
#[allow(dead_code)]
pub fn read(path: &std::path::Path) -> polars::prelude::DataFrame {
    use polars::prelude::SerReader as _;
    polars::prelude::ParquetReader::new(std::fs::File::open(path).expect("the file opens"))
        .finish()
        .expect("a parquet file")
}

/// A text column's values, missing as "".
#[allow(dead_code)]
pub fn strs(df: &polars::prelude::DataFrame, c: &str) -> Vec<String> {
    df.column(c)
        .expect("the column exists")
        .str()
        .expect("a text column")
        .iter()
        .map(|v| v.unwrap_or_default().to_owned())
        .collect()
}

/// The contact-instant features of a contact table written by `recoup features` (family
/// `contact` in the `.schema.json` beside it): a decision has no contact yet, so models that
/// score decisions are trained without them.
#[allow(dead_code)]
pub fn contact_instant_features(table: &std::path::Path) -> Vec<String> {
    let schema = std::path::PathBuf::from(format!("{}.schema.json", table.display()));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema).expect("the schema file"))
            .expect("a JSON schema");
    json["features"]
        .as_array()
        .expect("a feature list")
        .iter()
        .filter(|f| f["family"] == "contact")
        .map(|f| f["name"].as_str().expect("a name").to_owned())
        .collect()
}
