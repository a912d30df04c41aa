//! `recoup score` end to end on a small simulated portfolio with models trained here.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use polars::prelude::*;

mod common;

use common::{contact_instant_features, read, recoup, strs, text};

fn ok(args: &[&str]) {
    let out = recoup(args);
    assert!(
        out.status.success(),
        "recoup {args:?}: {}",
        text(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A portfolio, its snapshot and contact tables and three models, made once per test run.
fn portfolio() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let raw = dir.join("raw");
        ok(&[
            "-q",
            "simulate",
            "--accounts",
            "900",
            "--months",
            "6",
            "--seed",
            "5",
            "--start",
            "2026-01-01",
            "--out",
            s(&raw),
        ]);
        ok(&[
            "-q",
            "features",
            "--raw",
            s(&raw),
            "--asof",
            "2026-04-01..2026-07-01",
            "--out",
            s(&dir.join("snapshots.parquet")),
        ]);
        ok(&[
            "-q",
            "features",
            "--raw",
            s(&raw),
            "--table",
            "contacts",
            "--out",
            s(&dir.join("contacts.parquet")),
        ]);
        let models = dir.join("models");
        let instant = contact_instant_features(&dir.join("contacts.parquet"));
        let instant: Vec<&str> = instant.iter().map(String::as_str).collect();
        let train = |name: &str, table: &str, target: &str, drop: &[&str]| {
            let table = dir.join(table);
            let mut args = vec![
                "-q",
                "train",
                "--table",
                s(&table),
                "--target",
                target,
                "--name",
                name,
                "--trees",
                "25",
                "--models",
                s(&models),
            ];
            for d in drop {
                args.extend(["--drop", d]);
            }
            ok(&args);
        };
        train("propensity", "snapshots.parquet", "paid_30d", &[]);
        train("pay", "contacts.parquet", "paid_in_window", &instant);
        train("response", "contacts.parquet", "responded", &instant);
        train(
            "response_with_instant",
            "contacts.parquet",
            "responded",
            &[],
        );
        dir
    })
}

/// Runs `recoup score` on the portfolio; `extra` flags replace the defaults of the same name.
fn score(out: &Path, extra: &[&str]) -> std::process::Output {
    let dir = portfolio();
    let m = dir.join("models");
    let mut flags: Vec<(String, String)> = [
        ("--features", dir.join("snapshots.parquet")),
        ("--raw", dir.join("raw")),
        ("--propensity", m.join("propensity")),
        ("--pay", m.join("pay")),
        ("--response", m.join("response")),
        ("--out", out.to_path_buf()),
    ]
    .iter()
    .map(|(f, p)| ((*f).to_owned(), s(p).to_owned()))
    .collect();
    let defaults = flags.len();
    for pair in extra.chunks(2) {
        match flags[..defaults].iter_mut().find(|(f, _)| f == pair[0]) {
            Some(slot) => slot.1 = pair[1].to_owned(),
            None => flags.push((pair[0].to_owned(), pair[1].to_owned())),
        }
    }
    let mut args = vec!["-q", "score"];
    for (f, v) in &flags {
        args.extend([f.as_str(), v.as_str()]);
    }
    recoup(&args)
}

#[test]
fn decisions_follow_the_rules_and_do_not_depend_on_threads_or_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.parquet");
    let b = tmp.path().join("b.parquet");
    let o = score(&a, &["--threads", "1"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("treatment mix"));
    let o = score(&b, &["--threads", "2", "--batch-rows", "1"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "1 thread with whole batches and 2 threads row by row give the same bytes"
    );

    let dir = portfolio();
    let d = read(&a);
    let snap = read(&dir.join("snapshots.parquet"));
    let last = snap
        .clone()
        .lazy()
        .filter(
            col("as_of")
                .eq(lit(chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()))
                .and(col("days_past_due").gt_eq(lit(1))),
        )
        .collect()
        .unwrap();
    assert!(d.height() > 50, "{} decisions", d.height());
    assert_eq!(
        d.height(),
        last.height(),
        "one decision per past-due account"
    );
    let mut ids = strs(&d, "account_id");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), d.height());

    let accounts = read(&dir.join("raw/accounts.parquet"));
    let acc_ids = strs(&accounts, "account_id");
    let flag = |c: &str| -> HashMap<String, bool> {
        acc_ids
            .iter()
            .cloned()
            .zip(accounts.column(c).unwrap().bool().unwrap().iter())
            .map(|(k, v)| (k, v.unwrap_or(false)))
            .collect()
    };
    let dnc: Vec<HashMap<String, bool>> = [
        "dnc_dispute",
        "dnc_bankruptcy",
        "dnc_cease_and_desist",
        "dnc_deceased",
    ]
    .iter()
    .map(|c| flag(c))
    .collect();
    let consent: HashMap<&str, HashMap<String, bool>> = ["sms", "email", "call", "letter", "push"]
        .iter()
        .map(|c| (*c, flag(&format!("consent_{c}"))))
        .collect();
    let channels = strs(&d, "channel");
    let treatments = strs(&d, "treatment");
    let hours: Vec<Option<i32>> = d
        .column("send_hour")
        .unwrap()
        .i32()
        .unwrap()
        .iter()
        .collect();
    let ev: Vec<f64> = d
        .column("expected_value")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(Option::unwrap)
        .collect();
    let excluded = d.column("excluded").unwrap().list().unwrap().clone();
    let (mut dnc_seen, mut consent_seen) = (0, 0);
    for i in 0..d.height() {
        let id = &ids_at(&d, i);
        let channel = channels[i].as_str();
        let contacted = channel != "none";
        let blocked = dnc.iter().any(|f| f[id]);
        dnc_seen += usize::from(blocked);
        if contacted {
            assert!(
                !blocked,
                "{id}: contacted by {channel} despite do-not-contact"
            );
            assert!(consent[channel][id], "{id}: {channel} without consent");
        } else {
            assert_eq!(ev[i], 0.0, "no contact is the baseline");
        }
        if matches!(channel, "sms" | "email" | "call" | "push") {
            let h = hours[i].unwrap();
            assert!((8..=20).contains(&h), "{id}: send hour {h}");
        } else {
            assert!(hours[i].is_none());
        }
        assert!(ev[i] >= 0.0, "never worse than no contact: {}", ev[i]);
        // The chosen treatment is never among the excluded, and exclusions name their rule.
        let x = excluded.get_as_series(i).unwrap();
        let x = x.struct_().unwrap();
        let xt = x.field_by_name("treatment").unwrap();
        let xr = x.field_by_name("rule").unwrap();
        for (t, r) in xt.str().unwrap().iter().zip(xr.str().unwrap().iter()) {
            assert_ne!(t.unwrap(), treatments[i]);
            let r = r.unwrap();
            assert!(
                [
                    "eligibility",
                    "consent",
                    "do_not_contact",
                    "contact_hours",
                    "reg_f_7_calls_in_7_days",
                    "reg_f_7_days_after_conversation"
                ]
                .contains(&r),
                "{r}"
            );
            consent_seen += usize::from(r == "consent");
        }
    }
    assert!(
        dnc_seen > 0 && consent_seen > 0,
        "the portfolio exercises the rules"
    );

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("a.manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["counts"]["decisions"], d.height());
    assert_eq!(manifest["models"].as_array().unwrap().len(), 3);
    assert_eq!(manifest["asof"], "2026-07-01");
    let reasons = d.column("reason_codes").unwrap().list().unwrap().clone();
    assert_eq!(reasons.get_as_series(0).unwrap().len(), 3);
}

fn ids_at(d: &DataFrame, i: usize) -> String {
    d.column("account_id")
        .unwrap()
        .str()
        .unwrap()
        .get(i)
        .unwrap()
        .to_owned()
}

#[test]
fn channel_capacity_holds_across_the_portfolio() {
    let tmp = tempfile::tempdir().unwrap();
    let free = tmp.path().join("free.parquet");
    let o = score(&free, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let count = |p: &Path, c: &str| strs(&read(p), "channel").iter().filter(|x| *x == c).count();
    let (sms, email) = (count(&free, "sms"), count(&free, "email"));
    assert!(
        sms + email > 4,
        "the unconstrained choice uses sms {sms} / email {email}"
    );
    let cap = tmp.path().join("cap.parquet");
    let (sms_cap, email_cap) = (sms / 2, email / 3);
    let o = score(
        &cap,
        &[
            "--capacity",
            &format!("sms={sms_cap}"),
            "--capacity",
            &format!("email={}", 2 * email_cap),
            "--usage",
            "email=2",
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(count(&cap, "sms") <= sms_cap);
    assert!(count(&cap, "email") <= email_cap);
    let d = read(&cap);
    let moved = d
        .column("moved_by_capacity")
        .unwrap()
        .bool()
        .unwrap()
        .sum()
        .unwrap();
    assert!(moved > 0);
    let total = |df: &DataFrame| {
        df.column("expected_value")
            .unwrap()
            .f64()
            .unwrap()
            .sum()
            .unwrap()
    };
    assert!(total(&d) <= total(&read(&free)) + 1e-9);
}

#[test]
fn bad_inputs_name_the_file_and_column_and_write_nothing() {
    let dir = portfolio();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("d.parquet");
    // A response model that needs the contact instant cannot score a decision.
    let o = score(
        &out,
        &["--response", s(&dir.join("models/response_with_instant"))],
    );
    assert!(!o.status.success());
    let e = text(&o.stderr);
    assert!(
        e.contains("snapshots.parquet") && e.contains("local_hour"),
        "{e}"
    );
    // A contact-table model as the propensity model: `treatment_id` is not in the snapshots.
    let o = score(&out, &["--propensity", s(&dir.join("models/pay"))]);
    assert!(!o.status.success());
    let e = text(&o.stderr);
    assert!(e.contains("not found"), "{e}");
    // A missing model folder.
    let o = score(&out, &["--pay", s(&tmp.path().join("nope"))]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("nope"));
    // A raw folder without the accounts table.
    let o = score(&out, &["--raw", s(tmp.path())]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("accounts.parquet"));
    let o = score(&out, &["--capacity", "fax=3"]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("fax"));
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "nothing written: {left:?}");
}

#[test]
fn the_example_models_committed_under_models_score_a_fresh_portfolio() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap();
    let m = root.join("models");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("d.parquet");
    let o = score(
        &out,
        &[
            "--propensity",
            s(&m.join("propensity_to_pay")),
            "--pay",
            s(&m.join("treatment_pay")),
            "--response",
            s(&m.join("channel_response")),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(read(&out).height() > 50);
    let o = recoup(&["models", "list", "--models", s(&m)]);
    assert!(o.status.success(), "{}", text(&o.stdout));
}

/// The rows a model reads from a parquet table, row-major, mapped by name as the scorer maps
/// them (categorical columns as their level's index).
fn model_rows(model: &recoup_score::ScoringModel, table: &Path) -> Vec<f64> {
    use recoup_score::columns::ParquetBatches;
    use recoup_score::inputs::{FeatureMap, views};
    let batches = ParquetBatches::open(table, None, 65_536, "the test").unwrap();
    let map = FeatureMap::new(model, batches.schema(), table, None).unwrap();
    let nf = map.n_features();
    let mut rows = Vec::new();
    for batch in batches {
        let batch = batch.unwrap();
        let v = views(&batch);
        let mut row = vec![0.0; nf];
        for r in 0..batch.num_rows() {
            map.fill(&v, r, None, &mut row);
            rows.extend_from_slice(&row);
        }
    }
    rows
}

#[test]
fn onnx_exports_score_and_decide_as_the_native_models() {
    let Some(python) = common::python_with_onnxruntime() else {
        return;
    };
    let dir = portfolio();
    let m = dir.join("models");
    let mut natives = Vec::new();
    let mut tables = Vec::new();
    for (name, table) in [
        ("propensity", "snapshots.parquet"),
        ("pay", "contacts.parquet"),
        ("response", "contacts.parquet"),
    ] {
        let native = recoup_score::ScoringModel::load(&m.join(name)).unwrap();
        let onnx_file = m.join(name).join("v1/model.onnx");
        let onnx = recoup_score::ScoringModel::load(&onnx_file).unwrap();
        assert_eq!(
            onnx.columns, native.columns,
            "recoup.schema carries the categories"
        );
        let rows = model_rows(&native, &dir.join(table));
        assert!(rows.iter().any(|v| v.is_nan()), "{name}: no missing values");
        let a = recoup_score::agreement(&native, &onnx, &rows).unwrap();
        eprintln!(
            "{name}: {} simulated rows, native vs recoup via ONNX Runtime: {a:?}",
            a.rows
        );
        assert!(a.max_abs_diff <= 1e-9, "{name}: {a:?}");
        let mut p = vec![0.0; a.rows];
        native.predict_proba(&rows, &mut p).unwrap();
        natives.push((name, p));
        tables.push((onnx_file, rows));
    }
    let jobs: Vec<common::PythonJob<'_>> = tables
        .iter()
        .map(|(onnx, rows)| common::PythonJob { onnx, rows })
        .collect();
    for ((name, native), py) in natives.iter().zip(common::python_scores(&python, &jobs)) {
        let d = common::max_abs_diff(native, &py.p1);
        eprintln!("{name}: native vs Python ONNX Runtime: max diff {d:.2e}");
        assert!(d <= 1e-9, "{name}: {d}");
    }

    // The whole run through the exports: the same decisions.
    let tmp = tempfile::tempdir().unwrap();
    let (native_out, onnx_out) = (tmp.path().join("n.parquet"), tmp.path().join("o.parquet"));
    let o = score(&native_out, &["--reasons", "0"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let onnx = |name: &str| {
        m.join(name)
            .join("v1/model.onnx")
            .to_str()
            .unwrap()
            .to_owned()
    };
    let (p, q, r) = (onnx("propensity"), onnx("pay"), onnx("response"));
    let o = score(
        &onnx_out,
        &[
            "--reasons",
            "0",
            "--propensity",
            &p,
            "--pay",
            &q,
            "--response",
            &r,
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let diff = recoup_score::compare_decisions(&native_out, &onnx_out).unwrap();
    assert!(diff.rows > 50, "{diff:?}");
    assert_eq!(
        (diff.other_account, diff.other_treatment),
        (0, 0),
        "{diff:?}"
    );
    assert!(diff.max_abs_diff.iter().all(|d| *d <= 1e-9), "{diff:?}");
}

#[test]
fn an_uplift_model_can_be_the_pay_model() {
    let dir = portfolio();
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    let mut args = vec![
        "-q",
        "uplift",
        "train",
        "--table",
        s(&dir.join("contacts.parquet")),
        "--treatment",
        "treatment_id",
        "--control",
        "no_contact",
        "--outcome",
        "paid_in_window",
        "--propensity",
        "propensity",
        "--learner",
        "t",
        "--trees",
        "20",
        "--name",
        "pay_uplift",
        "--models",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<String>>();
    args.push(s(&models).to_owned());
    for c in contact_instant_features(&dir.join("contacts.parquet")) {
        args.extend(["--drop".to_owned(), c]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = recoup(&refs);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let uplift = models.join("pay_uplift");
    assert!(uplift.join("v1/uplift.json").is_file() && uplift.join("v1/run.json").is_file());
    let o = recoup(&[
        "models",
        "show",
        "pay_uplift",
        "--models",
        s(&models),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kind"], "uplift");
    assert_eq!(v["metrics"]["learner"], "t");
    assert_eq!(v["metrics"]["arms"][0], "no_contact");

    let out = tmp.path().join("d.parquet");
    let o = score(&out, &["--pay", s(&uplift), "--reasons", "0"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let d = read(&out);
    assert!(d.height() > 50);
    let p: Vec<f64> = d
        .column("p_pay_treatment")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(
        strs(&d, "pay_model")[0].starts_with("pay_uplift@v1"),
        "{:?}",
        strs(&d, "pay_model")[0]
    );

    // An uplift model of the amount paid gives the amount collected directly.
    let amount_args: Vec<String> = args
        .iter()
        .map(|a| match a.as_str() {
            "paid_in_window" => "amount_paid_in_window".to_owned(),
            "pay_uplift" => "amount_uplift".to_owned(),
            _ => a.clone(),
        })
        .collect();
    let refs: Vec<&str> = amount_args.iter().map(String::as_str).collect();
    let o = recoup(&refs);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let amount_out = tmp.path().join("amount.parquet");
    let o = score(
        &amount_out,
        &["--pay", s(&models.join("amount_uplift")), "--reasons", "0"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let d = read(&amount_out);
    let collected = d
        .column("expected_collected")
        .unwrap()
        .f64()
        .unwrap()
        .clone();
    assert!(collected.into_no_null_iter().all(|v| v >= 0.0));

    // It predicts effects, not a probability: it cannot be the propensity model.
    let o = score(&out, &["--propensity", s(&uplift)]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("uplift model"),
        "{}",
        text(&o.stderr)
    );
}
