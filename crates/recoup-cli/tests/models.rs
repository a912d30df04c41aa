//! `recoup models list|show` on a registry trained here.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;

mod common;

use common::{recoup, text};

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_registry_lists_versions_shows_one_and_reports_a_tampered_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("x,z,y\n");
    for i in 0..400u32 {
        let x = f64::from(i % 37) / 37.0;
        let z = f64::from((i * 7919) % 101) / 101.0;
        let y = u8::from(x + 0.3 * z > 0.6);
        writeln!(csv, "{x},{z},{y}").unwrap();
    }
    let table = dir.path().join("t.csv");
    std::fs::write(&table, csv).unwrap();
    let models = dir.path().join("models");
    let (t, m) = (table.to_str().unwrap(), models.to_str().unwrap());
    for _ in 0..2 {
        let o = recoup(&[
            "-q", "train", "--table", t, "--target", "y", "--name", "toy", "--trees", "10",
            "--models", m,
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }

    let o = recoup(&["models", "list", "--models", m, "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list[0]["name"], "toy");
    assert_eq!(list[0]["latest"], "v2");
    assert_eq!(list[0]["versions"], serde_json::json!(["v1", "v2"]));
    assert_eq!(list[0]["latest_version"]["target"], "y");
    assert_eq!(list[0]["latest_version"]["features"], 2);

    let o = recoup(&["models", "show", "toy@v1", "--models", m, "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], "v1");
    assert!(
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "model.json")
    );
    let o = recoup(&["models", "show", "toy", "--models", m]);
    assert!(text(&o.stdout).contains("toy@v2"), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("model.onnx")
            && text(&o.stdout)
                .contains("opsets ai.onnx 21, ai.onnx.ml 5): exported from this model.json"),
        "{}",
        text(&o.stdout)
    );
    // An ONNX file that is not the export of its version's model is reported as stale.
    std::fs::copy(
        models.join("toy/v2/scorecard.onnx"),
        models.join("toy/v2/model.onnx"),
    )
    .unwrap();
    let o = recoup(&["models", "show", "toy", "--models", m, "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["onnx"][0]["matches"], false);
    assert_eq!(v["onnx"][1]["matches"], true);
    let o = recoup(&["export", "--model", s(&models.join("toy")), "--verify", "0"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = recoup(&["models", "show", "toy", "--models", m]);
    assert!(o.status.success(), "{}", text(&o.stdout));

    let o = recoup(&["models", "show", "toy@v9", "--models", m]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("v9") && text(&o.stderr).contains("v1, v2"));

    // An edited body is refused by its checksum, and list says which model.
    let file = models.join("toy/v2/model.json");
    let body = std::fs::read_to_string(&file).unwrap();
    let (header, rest) = body.split_once('\n').unwrap();
    std::fs::write(&file, format!("{header}\n{}", rest.replacen('1', "2", 1))).unwrap();
    let o = recoup(&["models", "list", "--models", m]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("checksum"), "{}", text(&o.stdout));
    let o = recoup(&["models", "show", "toy", "--models", m]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("toy/v2/model.json"));
}
