//! `recoup journey`: a small closed-loop comparison from the command line.
#![allow(clippy::unwrap_used)]

mod common;

use common::{recoup, text};

#[test]
fn simulate_compares_policies_and_writes_the_whole_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("journeys.json");
    let report = dir.path().join("journeys.html");
    let args = [
        "-q",
        "journey",
        "simulate",
        "--accounts",
        "1500",
        "--months",
        "6",
        "--days",
        "30",
        "--seeds",
        "2",
        "--seed",
        "4",
        "--history-accounts",
        "6000",
        "--report",
        report.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let run = recoup(&args);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let table = text(&run.stdout);
    for policy in ["| none |", "| champion |", "| adaptive |"] {
        assert!(table.contains(policy), "{policy} missing:\n{table}");
    }
    assert!(table.contains("Paired with champion"), "{table}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(json["seeds"], serde_json::json!([4, 5]));
    assert_eq!(json["history_accounts"], 6000);
    for p in json["policies"].as_array().unwrap() {
        assert_eq!(p["violations"], 0, "{p}");
        assert_eq!(p["contacts_after_opt_out"], 0, "{p}");
    }
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("Typical journeys: ") && html.contains("<circle"),
        "{html}"
    );
    assert!(
        html.contains("By ability/willingness segment at the start"),
        "{html}"
    );
    let none = &json["policies"][0];
    assert_eq!(none["contacts_per_account"]["mean"], 0.0);
    // The same settings give the same bytes.
    let again = dir.path().join("again.json");
    let mut args2 = args;
    args2[args2.len() - 1] = again.to_str().unwrap();
    assert!(recoup(&args2).status.success());
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn bad_settings_and_templates_are_refused_with_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let run = recoup(&["journey", "simulate", "--days", "0", "--accounts", "100"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("`days` = 0"),
        "{}",
        text(&run.stderr)
    );
    let templates = recoup(&["journey", "templates"]);
    assert!(templates.status.success());
    let edited = text(&templates.stdout).replacen("sms_reminder", "fax_reminder", 1);
    let file = dir.path().join("j.toml");
    std::fs::write(&file, edited).unwrap();
    let run = recoup(&[
        "journey",
        "simulate",
        "--templates",
        file.to_str().unwrap(),
        "--accounts",
        "100",
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("treatment `fax_reminder` is not in the catalog"),
        "{}",
        text(&run.stderr)
    );
}
