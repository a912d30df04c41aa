#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

mod common;

use common::{recoup, text};

/// A GMSC-shaped CSV: nameless id column, `NA` for missing, a text column, a 0/1 target that
/// depends on the features (deterministic pseudo-random numbers, no files committed).
fn fixture(dir: &Path, rows: usize) -> String {
    let mut s = String::from(",paid,dpd,balance,channel\n");
    let mut x: u64 = 12345;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 10_000) as f64 / 10_000.0
    };
    for i in 0..rows {
        let dpd = (next() * 120.0).floor();
        let balance = if next() < 0.1 {
            "NA".to_owned()
        } else {
            format!("{:.2}", next() * 5000.0)
        };
        let channel = ["sms", "email", "call"][(next() * 3.0) as usize];
        let z = 1.0 - dpd / 30.0 + if channel == "call" { 1.0 } else { 0.0 };
        let paid = u8::from(next() < 1.0 / (1.0 + (-z).exp()));
        writeln!(s, "{},{paid},{dpd},{balance},{channel}", i + 1).unwrap();
    }
    let path = dir.join("table.csv");
    std::fs::write(&path, s).unwrap();
    path.to_str().unwrap().to_owned()
}

fn train(table: &str, models: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "-q",
        "train",
        "--table",
        table,
        "--target",
        "paid",
        "--trees",
        "30",
        "--models",
        models.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    recoup(&args)
}

#[test]
fn trains_a_versioned_model_folder_with_identical_bytes_per_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let table = fixture(tmp.path(), 3000);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let out = train(&table, &a, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let auc: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("roc_auc\t"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(auc > 0.7, "{stdout}");
    let v1 = a.join("table/v1");
    for f in [
        "model.json",
        "scorecard.json",
        "model.onnx",
        "scorecard.onnx",
        "metrics.json",
        "run.toml",
        "report.html",
        "card.md",
    ] {
        assert!(v1.join(f).exists(), "{f} missing");
    }
    assert_eq!(
        std::fs::read_to_string(a.join("table/latest")).unwrap(),
        "v1\n"
    );
    let header = std::fs::read_to_string(v1.join("model.json")).unwrap();
    let header: serde_json::Value = serde_json::from_str(header.lines().next().unwrap()).unwrap();
    let names: Vec<&str> = header["schema"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["dpd", "balance", "channel"],
        "id and target are not features"
    );
    assert_eq!(
        header["schema"]["columns"][2]["categories"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Both model files load back (a bound of +inf once made scorecard.json unreadable).
    for f in ["model.json", "scorecard.json"] {
        recoup_model::ModelFile::load(&v1.join(f)).unwrap();
    }

    // Same data, settings and seed: the same bytes, in another registry.
    assert!(train(&table, &b, &[]).status.success());
    for f in [
        "model.json",
        "scorecard.json",
        "model.onnx",
        "scorecard.onnx",
    ] {
        assert_eq!(
            std::fs::read(v1.join(f)).unwrap(),
            std::fs::read(b.join("table/v1").join(f)).unwrap(),
            "{f}"
        );
    }
    // A second run makes v2 and moves `latest`; another seed gives another model.
    assert!(train(&table, &a, &["--seed", "7"]).status.success());
    assert_eq!(
        std::fs::read_to_string(a.join("table/latest")).unwrap(),
        "v2\n"
    );
    assert_ne!(
        std::fs::read(v1.join("model.json")).unwrap(),
        std::fs::read(a.join("table/v2/model.json")).unwrap()
    );
    // The saved run file repeats the run.
    let again = tmp.path().join("again");
    let run_file = v1.join("run.toml");
    let out = recoup(&[
        "-q",
        "train",
        "--config",
        run_file.to_str().unwrap(),
        "--table",
        &table,
        "--models",
        again.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(v1.join("model.json")).unwrap(),
        std::fs::read(again.join("table/v1/model.json")).unwrap()
    );
}

#[test]
fn bad_tables_stop_with_a_clear_error_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    let write = |name: &str, body: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let mut rows = String::from("x,paid\n");
    for i in 0..50 {
        writeln!(rows, "{i},{}", i % 2).unwrap();
    }
    let cases = [
        (
            write("no_target.csv", "x,y\n1,0\n2,1\n"),
            "column `paid` not found",
        ),
        (
            write("constant.csv", "x,paid\n1,1\n2,1\n3,1\n4,1\n5,1\n"),
            "is 1 on every",
        ),
        (
            write("three.csv", "x,paid\n1,0\n2,1\n3,2\n"),
            "value `2` is not 0/1",
        ),
        (write("empty.csv", "x,paid\n"), "no rows"),
        (
            write("inf.csv", &rows.replace("\n7,1\n", "\ninf,1\n")),
            "value `inf`",
        ),
        (
            write(
                "all_missing.csv",
                &rows
                    .replace("x,paid", "x,paid,z")
                    .replace(",0\n", ",0,NA\n")
                    .replace(",1\n", ",1,NA\n"),
            ),
            "column `z` is missing on every row",
        ),
    ];
    for (table, expected) in cases {
        let out = train(&table, &models, &[]);
        assert_eq!(out.status.code(), Some(2), "{table}");
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{table}: {err}");
    }
    assert!(
        !models.exists()
            || std::fs::read_dir(&models).unwrap().all(|e| {
                std::fs::read_dir(e.unwrap().path())
                    .unwrap()
                    .next()
                    .is_none()
            }),
        "nothing written"
    );
}

#[test]
fn sample_weights_are_read_from_a_column_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = String::from("x,w,paid\n");
    for i in 0..400 {
        writeln!(rows, "{},{},{}", i % 37, 1 + i % 3, u8::from(i % 37 > 18)).unwrap();
    }
    let good = tmp.path().join("weighted.csv");
    std::fs::write(&good, &rows).unwrap();
    let models = tmp.path().join("models");
    let out = train(good.to_str().unwrap(), &models, &["--weight", "w"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let header = std::fs::read_to_string(models.join("weighted/v1/model.json")).unwrap();
    assert!(
        !header.lines().next().unwrap().contains("\"name\":\"w\""),
        "the weight is not a feature"
    );
    let bad = tmp.path().join("negative.csv");
    std::fs::write(&bad, rows.replacen("\n5,3,0\n", "\n5,-3,0\n", 1)).unwrap();
    let out = train(bad.to_str().unwrap(), &models, &["--weight", "w"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("value `-3`"),
        "{}",
        text(&out.stderr)
    );
}
