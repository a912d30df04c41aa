#![allow(clippy::unwrap_used)]

use std::path::Path;

mod common;

use common::{recoup, text};

#[test]
fn help_teaches_every_command() {
    let out = recoup(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in [
        "simulate", "validate", "summary", "contract", "features", "train", "score", "models",
        "demo",
    ] {
        assert!(help.contains(cmd), "{cmd} missing from --help");
    }
    let out = recoup(&["simulate", "--help"]);
    assert!(text(&out.stdout).contains("--seed"));
}

#[test]
fn simulate_then_validate_and_summarise() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sim");
    let d = dir.to_str().unwrap();
    let out = recoup(&[
        "-q",
        "simulate",
        "--accounts",
        "800",
        "--months",
        "4",
        "--seed",
        "9",
        "--out",
        d,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["rows"]["accounts"], 800);
    assert_eq!(summary["rows"]["account_states"], 800 * 5);

    let out = recoup(&["validate", d]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("0 errors, 0 warnings"));

    let out = recoup(&["summary", d, "--json"]);
    assert!(out.status.success());
    let rates: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rates["accounts"], 800);

    // A second run into the same folder refuses without --force and leaves it intact.
    let before = std::fs::read(dir.join("contacts.parquet")).unwrap();
    let out = recoup(&["-q", "simulate", "--accounts", "10", "--out", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(before, std::fs::read(dir.join("contacts.parquet")).unwrap());
}

/// A simulated raw folder (seed 42) in a new temporary folder.
fn simulated(accounts: u32, months: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sim");
    let out = recoup(&[
        "-q",
        "simulate",
        "--accounts",
        &accounts.to_string(),
        "--months",
        &months.to_string(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (tmp, dir)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn validate_reports_errors_with_exit_code_1() {
    let (tmp, dir) = simulated(300, 3);
    let broken = tmp.path().join("broken");
    copy_dir(&dir, &broken);
    std::fs::remove_file(broken.join("payments.parquet")).unwrap();
    std::fs::write(broken.join("payments.csv"), "payment_id,account_id,paid_at,amount,method,via,reversed\nP1,A00000001,2026-02-03T10:00:00Z,-5,cash,portal,false\n").unwrap();
    let out = recoup(&["validate", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(
        report.contains("error[negative-amount] payments.csv: column `amount`"),
        "{report}"
    );
    assert!(report.contains("row 1: `-5`"), "{report}");

    let out = recoup(&["validate", broken.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["problems"][0]["class"], "negative-amount");
}

#[test]
fn bad_arguments_name_the_value() {
    let tmp = tempfile::tempdir().unwrap();
    let out = recoup(&[
        "simulate",
        "--accounts",
        "10",
        "--exploration",
        "2",
        "--out",
        tmp.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("exploration") && err.contains('2'), "{err}");
    let out = recoup(&["validate", tmp.path().join("missing").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing"));
}

#[test]
fn demo_runs_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let out = recoup(&[
        "-q",
        "demo",
        "--accounts",
        "1500",
        "--out",
        tmp.path().join("demo").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("0 errors"), "{s}");
    assert!(s.contains("roll 1-29 -> 30-59"), "{s}");
    assert!(
        s.contains("the decisions with the uplift pay model are worth"),
        "{s}"
    );
    assert!(
        tmp.path()
            .join("demo/models/pay_uplift/v1/uplift.json")
            .is_file()
    );
    // Segments: one per account in collections, carried into every decision.
    let read = |name: &str| {
        let f = std::fs::File::open(tmp.path().join("demo").join(name)).unwrap();
        use polars::prelude::SerReader as _;
        polars::prelude::ParquetReader::new(f).finish().unwrap()
    };
    let pairs = |df: &polars::prelude::DataFrame| {
        let ids = df.column("account_id").unwrap().str().unwrap().clone();
        let segs = df.column("segment").unwrap().str().unwrap().clone();
        ids.iter()
            .zip(segs.iter())
            .map(|(a, s)| (a.unwrap().to_owned(), s.map(str::to_owned)))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let segments = pairs(&read("segments.parquet"));
    let decided = pairs(&read("decisions.parquet"));
    assert!(!decided.is_empty());
    for (account, segment) in &decided {
        assert!(segment.is_some(), "{account} has no segment");
        assert_eq!(segment, &segments[account], "{account}");
    }
    assert!(s.contains("by segment (decisions: contacted"), "{s}");
    // The segment as an input to the ranking: a segment policy takes treatments away from one
    // segment's accounts, and only from theirs.
    let demo = tmp.path().join("demo");
    let policy = tmp.path().join("segment-policy.toml");
    std::fs::write(
        &policy,
        "[[segment]]\nname = \"willing_and_able\"\nexclude = [\"sms_reminder\", \"email_reminder\", \"letter_settlement_40\"]\n",
    )
    .unwrap();
    let with_policy = tmp.path().join("decisions-policy.parquet");
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let run = recoup(&[
        "-q",
        "score",
        "--features",
        &path(&demo.join("features.parquet")),
        "--raw",
        &path(&demo),
        "--propensity",
        &path(&demo.join("models/propensity_to_pay")),
        "--pay",
        &path(&demo.join("models/treatment_pay")),
        "--response",
        &path(&demo.join("models/channel_response")),
        "--segments",
        &path(&demo.join("segments.parquet")),
        "--segment-policy",
        &path(&policy),
        "--out",
        &path(&with_policy),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let df = {
        let f = std::fs::File::open(&with_policy).unwrap();
        use polars::prelude::SerReader as _;
        polars::prelude::ParquetReader::new(f).finish().unwrap()
    };
    let segs = df.column("segment").unwrap().str().unwrap().clone();
    let chosen = df.column("treatment").unwrap().str().unwrap().clone();
    let mut others_kept = 0;
    for (seg, t) in segs.iter().zip(chosen.iter()) {
        let t = t.unwrap();
        if seg == Some("willing_and_able") {
            assert!(
                !["sms_reminder", "email_reminder", "letter_settlement_40"].contains(&t),
                "{t}"
            );
        } else if ["sms_reminder", "email_reminder"].contains(&t) {
            others_kept += 1;
        }
    }
    assert!(others_kept > 0);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(tmp.path().join("decisions-policy.manifest.json")).unwrap(),
    )
    .unwrap();
    assert!(
        manifest["counts"]["exclusions_by_rule"]["segment_policy"]
            .as_u64()
            .unwrap()
            > 0,
        "{manifest}"
    );
    assert!(
        manifest["rules"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("segment_policy"))
    );
    assert!(tmp.path().join("demo/segments.html").is_file());
    assert!(s.contains("== 11. journeys in closed loop"), "{s}");
    assert!(s.contains("| personal |"), "{s}");
    let journeys: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("demo/journeys.json")).unwrap())
            .unwrap();
    for p in journeys["policies"].as_array().unwrap() {
        assert_eq!(p["violations"], 0, "{p}");
    }
    // Models trained on recoup's own feature tables: keys, other labels and logging
    // descriptors are not features, and the split is in time.
    let models = tmp.path().join("demo/models");
    for (name, not_features) in [
        (
            "propensity_to_pay",
            &[
                "account_id",
                "as_of",
                "paid_any_30d",
                "amount_paid_30d",
                "cured_30d",
            ][..],
        ),
        (
            "channel_response",
            &[
                "contact_id",
                "contacted_at",
                "propensity",
                "policy_arm",
                "paid_in_window",
            ][..],
        ),
    ] {
        assert!(s.contains(name), "{s}");
        let model = std::fs::read_to_string(models.join(name).join("v1/model.json")).unwrap();
        let header: serde_json::Value =
            serde_json::from_str(model.lines().next().unwrap()).unwrap();
        let columns: Vec<&str> = header["schema"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        for c in not_features {
            assert!(!columns.contains(c), "{name} uses {c}");
        }
        if name == "channel_response" {
            assert!(columns.contains(&"channel") && columns.contains(&"treatment_id"));
        }
        let metrics: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(models.join(name).join("v1/metrics.json")).unwrap(),
        )
        .unwrap();
        assert!(
            metrics["split"].as_str().unwrap().starts_with("time"),
            "{metrics}"
        );
        assert!(metrics["gbdt"]["roc_auc"].as_f64().unwrap() > 0.6, "{name}");
    }
}

#[test]
fn contract_prints_every_table_and_the_catalog() {
    let out = recoup(&["contract"]);
    let s = text(&out.stdout);
    for t in [
        "accounts",
        "account_states",
        "payments",
        "contacts",
        "promises",
    ] {
        assert!(s.contains(&format!("### `{t}`")), "{t}");
    }
    let out = recoup(&["contract", "--catalog"]);
    assert!(text(&out.stdout).contains("[[treatment]]"));
}

#[test]
fn features_writes_table_and_schema_or_nothing() {
    let (tmp, dir) = simulated(400, 5);
    let d = dir.to_str().unwrap();
    let out = tmp.path().join("f.parquet");
    let o = out.to_str().unwrap();
    let r = recoup(&[
        "-q",
        "features",
        "--raw",
        d,
        "--asof",
        "2026-03-01..2026-05-01",
        "--out",
        o,
    ]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("f.parquet.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(schema["format_version"], 1);
    assert!(schema["feature_hash"].as_str().unwrap().len() == 16);
    assert!(out.exists());

    // Bad input: nothing is written.
    std::fs::write(
        dir.join("export.toml"),
        "export_at = \"2026-02-01T00:00:00Z\"\nproducer = \"x\"\n",
    )
    .unwrap();
    let out2 = tmp.path().join("g.parquet");
    let r = recoup(&[
        "-q",
        "features",
        "--raw",
        d,
        "--asof",
        "2026-01-01",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("after-export-date"),
        "{}",
        text(&r.stderr)
    );
    assert!(!out2.exists() && !tmp.path().join("g.parquet.schema.json").exists());

    let r = recoup(&["features", "--explain"]);
    let s = text(&r.stdout);
    for family in [
        "state", "payments", "promises", "contacts", "consent", "label",
    ] {
        assert!(s.contains(family), "{family}");
    }
}
