//! `recoup export`: ONNX files that score as the native models do, in recoup (ONNX Runtime
//! through `ort`) and in Python's ONNX Runtime, on Give Me Some Credit's test rows and on
//! degenerate models probed at every threshold, with missing values.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

mod common;

use common::{
    PythonJob, max_abs_diff, python_scores, python_with_onnxruntime, recoup, text, unavailable,
    workspace,
};
use recoup_model::{
    Calibration, FeatureColumn, ModelBody, ModelFile, ModelKind, ModelSchema, NodeRef, Scorecard,
    ScorecardFeature, Scorer, Tree, TreeEnsemble,
};
use recoup_score::{ScoringModel, agreement};

/// Far below the 1e-6 the exports promise and far above double rounding: a float32 path or a
/// wrong branch anywhere fails it.
const TOLERANCE: f64 = 1e-9;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn gmsc() -> Option<PathBuf> {
    let dir = workspace().join("../shared/data/give_me_some_credit");
    if dir.join("cs-test.csv").is_file() {
        Some(dir)
    } else {
        unavailable(
            "RECOUP_REQUIRE_DATA",
            &format!("no Give Me Some Credit data in {}", dir.display()),
        );
        None
    }
}

/// The columns `names` of a CSV with `NA` or empty fields as missing, row-major.
fn read_csv(path: &Path, names: &[String]) -> Vec<f64> {
    let body = std::fs::read_to_string(path).unwrap();
    let mut lines = body.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let index: Vec<usize> = names
        .iter()
        .map(|n| header.iter().position(|h| h == n).unwrap())
        .collect();
    let mut rows = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        for &i in &index {
            rows.push(match fields[i] {
                "" | "NA" => f64::NAN,
                v => v.parse().unwrap(),
            });
        }
    }
    rows
}

/// Exports `model` with the CLI (which also checks the file on probe rows) and loads both.
fn export(model: &Path) -> (ScoringModel, ScoringModel, PathBuf) {
    let onnx = model.with_extension("onnx");
    let out = recoup(&["export", "--model", s(model), "--onnx", s(&onnx)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("ai.onnx.ml:TreeEnsemble"), "{said}");
    assert!(
        said.contains("checked through ONNX Runtime on 10000 probe rows"),
        "{said}"
    );
    (
        ScoringModel::load(model).unwrap(),
        ScoringModel::load(&onnx).unwrap(),
        onnx,
    )
}

fn with_calibration(model: &ModelFile, calibration: Calibration) -> ModelFile {
    let mut m = model.clone();
    m.body.calibration = calibration;
    m
}

/// A monotone map through `n` points over raw scores from -6 to 3.
fn isotonic(n: usize) -> Calibration {
    let x: Vec<f64> = (0..n)
        .map(|i| -6.0 + 9.0 * i as f64 / (n - 1) as f64)
        .collect();
    let y: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| (recoup_model::sigmoid(*v) + 0.01 * (i % 3) as f64).min(1.0))
        .scan(0.0_f64, |top, v| {
            *top = top.max(v);
            Some(*top)
        })
        .collect();
    Calibration::Isotonic { x, y }
}

#[test]
fn give_me_some_credit_exports_score_as_the_native_models() {
    let Some(data) = gmsc() else { return };
    let Some(python) = python_with_onnxruntime() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let out = recoup(&[
        "-q",
        "train",
        "--table",
        s(&data.join("cs-training.csv")),
        "--target",
        "SeriousDlqin2yrs",
        "--name",
        "gmsc",
        "--trees",
        "80",
        "--models",
        s(&models),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v1 = models.join("gmsc/v1");
    assert!(v1.join("model.onnx").is_file() && v1.join("scorecard.onnx").is_file());
    let trees = ModelFile::load(&v1.join("model.json")).unwrap();
    let mut files = vec![v1.join("model.json"), v1.join("scorecard.json")];
    for (name, calibration) in [
        ("none", Calibration::None),
        ("platt", Calibration::Platt { a: 1.3, b: -0.2 }),
        ("isotonic", isotonic(60)),
    ] {
        let f = dir.path().join(format!("trees-{name}.json"));
        with_calibration(&trees, calibration).save(&f).unwrap();
        files.push(f);
    }

    let names: Vec<String> = trees
        .header
        .schema
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let rows = read_csv(&data.join("cs-test.csv"), &names);
    let n = rows.len() / names.len();
    assert_eq!(n, 101_503);
    assert!(
        rows.iter().any(|v| v.is_nan()),
        "the test rows have missing values"
    );

    let mut natives = Vec::new();
    let mut onnx_files = Vec::new();
    for f in &files {
        let (native, onnx, onnx_file) = export(f);
        let a = agreement(&native, &onnx, &rows).unwrap();
        eprintln!(
            "{}: recoup native vs recoup via ONNX Runtime on {n} test rows: max diff {:.2e}, {} identical",
            f.display(),
            a.max_abs_diff,
            a.identical
        );
        assert!(a.max_abs_diff <= TOLERANCE, "{}: {a:?}", f.display());
        let mut p = vec![0.0; n];
        native.predict_proba(&rows, &mut p).unwrap();
        natives.push(p);
        onnx_files.push(onnx_file);
    }
    let jobs: Vec<PythonJob<'_>> = onnx_files
        .iter()
        .map(|f| PythonJob {
            onnx: f,
            rows: &rows,
        })
        .collect();
    let scored = python_scores(&python, &jobs);
    for ((f, native), py) in files.iter().zip(&natives).zip(&scored) {
        let d = max_abs_diff(native, &py.p1);
        eprintln!(
            "{}: native vs Python ONNX Runtime: max diff {d:.2e}",
            f.display()
        );
        assert!(d <= TOLERANCE, "{}: {d}", f.display());
        for (p, label) in native.iter().zip(&py.label) {
            assert_eq!(*label, f64::from(u8::from(*p >= 0.5)));
        }
        let desc = &py.description;
        assert_eq!(
            desc["opsets"],
            serde_json::json!({"ai.onnx": 21, "ai.onnx.ml": 5})
        );
        assert_eq!(desc["input"][1], "tensor(double)");
        assert_eq!(desc["rows_sum_to_one"], true);
        let header = ModelFile::load(f).unwrap().header;
        let meta = &desc["metadata"];
        assert_eq!(meta["recoup.schema_hash"], header.schema.hash.as_str());
        assert_eq!(
            meta["recoup.training_fingerprint"],
            header.training_fingerprint.as_str()
        );
        assert_eq!(meta["recoup.body_blake3"], header.body_blake3.as_str());
        assert_eq!(meta["feature_names"], names.join(","));
    }
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn value(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

/// A random tree up to `depth` deep over `n_features`, thresholds from a small grid.
fn random_tree(rng: &mut Rng, n_features: usize, depth: usize) -> Tree {
    fn grow(t: &mut Tree, rng: &mut Rng, n_features: usize, depth: usize, root: bool) -> NodeRef {
        if depth == 0 || (!root && rng.below(4) == 0) {
            t.leaf_value.push(rng.value());
            return NodeRef::Leaf(t.leaf_value.len() as u32 - 1);
        }
        let s = t.feature.len();
        t.feature.push(rng.below(n_features) as u32);
        t.threshold.push([-1.0, 0.0, 0.5, 2.0, 1e12][rng.below(5)]);
        t.missing_left.push(rng.below(2) == 0);
        t.left.push(NodeRef::Leaf(0));
        t.right.push(NodeRef::Leaf(0));
        let l = grow(t, rng, n_features, depth - 1, false);
        let r = grow(t, rng, n_features, depth - 1, false);
        t.left[s] = l;
        t.right[s] = r;
        NodeRef::Split(s as u32)
    }
    let mut t = Tree::default();
    grow(&mut t, rng, n_features, depth, true);
    t
}

fn model(scorer: Scorer, calibration: Calibration) -> ModelFile {
    let columns = ["a", "b", "c"]
        .iter()
        .map(|n| FeatureColumn {
            name: (*n).into(),
            dtype: "float64".into(),
            categories: None,
        })
        .collect();
    let kind = match scorer {
        Scorer::Trees(_) => ModelKind::GbdtBinary,
        Scorer::Scorecard(_) => ModelKind::ScorecardBinary,
    };
    ModelFile::new(
        kind,
        "y".into(),
        ModelSchema::new(columns),
        "fingerprint".into(),
        0,
        serde_json::json!({}),
        serde_json::json!({}),
        ModelBody {
            scorer,
            calibration,
        },
    )
}

#[test]
fn degenerate_models_export_exactly() {
    let Some(python) = python_with_onnxruntime() else {
        return;
    };
    let mut rng = Rng(42);
    let trees = |base_score: f64, trees: Vec<Tree>| {
        Scorer::Trees(TreeEnsemble {
            n_features: 3,
            base_score,
            trees,
        })
    };
    let stumps: Vec<Tree> = (0..40).map(|_| random_tree(&mut rng, 3, 1)).collect();
    let deep = random_tree(&mut rng, 3, 6);
    let mut mixed: Vec<Tree> = (0..30).map(|_| random_tree(&mut rng, 3, 4)).collect();
    mixed.insert(3, Tree::leaf(0.25));
    mixed.push(Tree::leaf(-0.5));
    let card = Scorecard {
        n_features: 3,
        intercept: -0.7,
        features: vec![
            ScorecardFeature {
                feature: 0,
                upper: vec![-1.0, 0.0, 2.0, f64::MAX],
                woe: vec![-0.4, 0.1, 0.3, 0.9],
                missing_woe: 0.05,
                coefficient: 0.8,
            },
            // One bin, missing values on their own.
            ScorecardFeature {
                feature: 2,
                upper: vec![f64::MAX],
                woe: vec![0.2],
                missing_woe: -0.6,
                coefficient: 1.1,
            },
            // The last bound is finite: values above it fall in the last bin.
            ScorecardFeature {
                feature: 1,
                upper: vec![0.5, 1e12],
                woe: vec![0.3, -0.2],
                missing_woe: 0.0,
                coefficient: -0.5,
            },
        ],
    };
    let cases: Vec<(&str, ModelFile)> = vec![
        (
            "single-leaf",
            model(trees(-0.1, vec![Tree::leaf(0.7)]), Calibration::None),
        ),
        (
            "no-trees",
            model(trees(0.4, vec![]), Calibration::Platt { a: 0.9, b: 0.1 }),
        ),
        ("one-deep-tree", model(trees(0.0, vec![deep]), isotonic(2))),
        ("stumps", model(trees(-1.0, stumps), Calibration::None)),
        ("mixed-with-leaves", model(trees(0.3, mixed), isotonic(25))),
        (
            "one-point-isotonic",
            model(
                trees(0.0, vec![random_tree(&mut rng, 3, 3)]),
                Calibration::Isotonic {
                    x: vec![0.1],
                    y: vec![0.3],
                },
            ),
        ),
        (
            "scorecard",
            model(
                Scorer::Scorecard(card),
                Calibration::Platt { a: 1.2, b: 0.0 },
            ),
        ),
        (
            "empty-scorecard",
            model(
                Scorer::Scorecard(Scorecard {
                    n_features: 3,
                    intercept: 0.2,
                    features: vec![],
                }),
                Calibration::None,
            ),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut probes = Vec::new();
    let mut natives = Vec::new();
    let mut onnx_files = Vec::new();
    for (name, m) in &cases {
        let f = dir.path().join(format!("{name}.json"));
        m.save(&f).unwrap();
        let (native, onnx, onnx_file) = export(&f);
        let mut rows = recoup_export::probe_rows(&m.body, 3000, 9);
        rows.extend([f64::NAN; 3]);
        rows.extend([f64::INFINITY, f64::NEG_INFINITY, f64::NAN]);
        let a = agreement(&native, &onnx, &rows).unwrap();
        eprintln!(
            "{name}: {} probe rows, native vs recoup via ONNX Runtime: max diff {:.2e}",
            a.rows, a.max_abs_diff
        );
        assert!(a.max_abs_diff <= TOLERANCE, "{name}: {a:?}");
        let mut p = vec![0.0; rows.len() / 3];
        native.predict_proba(&rows, &mut p).unwrap();
        natives.push(p);
        probes.push(rows);
        onnx_files.push(onnx_file);
    }
    let jobs: Vec<PythonJob<'_>> = onnx_files
        .iter()
        .zip(&probes)
        .map(|(onnx, rows)| PythonJob { onnx, rows })
        .collect();
    for (((name, _), native), py) in cases
        .iter()
        .zip(&natives)
        .zip(python_scores(&python, &jobs))
    {
        let d = max_abs_diff(native, &py.p1);
        eprintln!("{name}: native vs Python ONNX Runtime: max diff {d:.2e}");
        assert!(d <= TOLERANCE, "{name}: Python ONNX Runtime differs by {d}");
    }
}

#[test]
fn exports_are_deterministic_and_bad_models_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(3);
    let m = model(
        Scorer::Trees(TreeEnsemble {
            n_features: 3,
            base_score: 0.0,
            trees: (0..5).map(|_| random_tree(&mut rng, 3, 3)).collect(),
        }),
        isotonic(5),
    );
    let f = dir.path().join("m.json");
    m.save(&f).unwrap();
    let (a, b) = (dir.path().join("a.onnx"), dir.path().join("sub/b.onnx"));
    for out in [&a, &b] {
        let o = recoup(&[
            "export",
            "--model",
            s(&f),
            "--onnx",
            s(out),
            "--verify",
            "0",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let bytes = std::fs::read(&a).unwrap();
    assert!(bytes == std::fs::read(&b).unwrap(), "two exports differ");
    assert!(
        recoup_export::to_onnx(&m, "m").unwrap() == bytes,
        "the export of the model in memory differs from the export of its file"
    );

    // A tampered model file is refused by its checksum, and nothing is written.
    let bytes = std::fs::read_to_string(&f).unwrap();
    let edited = dir.path().join("edited.json");
    std::fs::write(
        &edited,
        bytes.replacen("\"base_score\":0.0", "\"base_score\":0.5", 1),
    )
    .unwrap();
    let target = dir.path().join("edited.onnx");
    let o = recoup(&["export", "--model", s(&edited), "--onnx", s(&target)]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("checksum"), "{}", text(&o.stderr));
    assert!(!target.exists());

    let o = recoup(&["export", "--model", s(&dir.path().join("nothing"))]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("nothing"), "{}", text(&o.stderr));

    // A feature name with a comma cannot be listed in `feature_names`.
    let mut comma = m.clone();
    comma.header.schema = ModelSchema::new(vec![
        FeatureColumn {
            name: "a,b".into(),
            dtype: "float64".into(),
            categories: None,
        },
        m.header.schema.columns[1].clone(),
        m.header.schema.columns[2].clone(),
    ]);
    let err = recoup_export::to_onnx(&comma, "comma.json").unwrap_err();
    assert!(err.to_string().contains("`a,b`"), "{err}");
}
