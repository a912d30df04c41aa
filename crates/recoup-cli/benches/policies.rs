//! Regret on the simulator: the ground-truth value of recoup's ranked decisions beside the
//! oracle and simple strategies, on the same accounts.
//!
//! `cargo bench -p recoup-cli --bench policies [-- --accounts N --seed S]`
//!
//! Runs `recoup demo` on a portfolio of N accounts (default 20,000). That simulates, builds
//! features, trains the three models and scores the accounts in collections at the export.
//! Every strategy below is then valued by `truth/treatment_effects.parquet`: the exact
//! expected amount collected in 30 days, net of the contact's cost, of one contact with the
//! chosen treatment. An ineligible choice counts as no contact.
//! - recoup, ranked: `decisions.parquet`, under the demo's call and SMS capacity; and the
//!   accounts' top-ranked choices without the capacity limits.
//! - cheapest contact: every account gets its cheapest eligible treatment other than no
//!   contact.
//! - highest propensity first: as many accounts as recoup contacts, taken in order of recoup's
//!   propensity to pay, get their cheapest eligible contact; the rest get none.
//! - random: a uniform choice among each account's eligible treatments, no contact included
//!   (seeded).
//! - `recoup score` with a DR-learner uplift model as its pay model (`recoup uplift train` on the
//!   contact table with the logged propensities, outcome paid_in_window, without the
//!   contact-instant features), under the demo's capacity and without it; and the same with the
//!   learner fitted on the amount paid, which gives the scorer the amount collected directly.
//! - recoup uplift (T- and DR-learner): the saved uplift models of the amount paid (the DR one
//!   is the scorer's above), applied to the accounts' snapshot rows at the export without the
//!   scorer's contact rules or capacity: each account gets the eligible treatment with the
//!   largest predicted extra amount net of its cost, or no contact if none is positive.
//! - the oracle (each account's best eligible treatment by the truth), the best single
//!   treatment for everyone, and nobody contacted.
//!
//! A second table checks off-policy estimates against the truth. The truth gives every
//! account's expectation under every treatment at the export, so logs can be drawn there from a
//! logging policy like the simulator's: with probability 0.8 the champion (here each account's
//! cheapest eligible contact), else a uniform choice among its eligible treatments, with the
//! probability of the choice logged. The outcome is a payment with the truth's probability and
//! conditional mean amount, net of the contact's cost. IPS, SNIPS and DR (with per-treatment mean
//! outcomes of the log as the outcome model) estimate each strategy's value from 200 such logs,
//! and their bias and root mean squared error against the true value are reported.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

// The integration tests' helpers (parquet reading), shared rather than copied.
#[allow(dead_code)]
#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use recoup_core::{Offer, TreatmentCatalog};
use recoup_sim::TruthSummary;

use common::{read, strs};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn write_decisions(path: &Path, accounts: &[String], treatments: &[String]) {
    let mut df = df!("account_id" => accounts, "treatment" => treatments).unwrap();
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .finish(&mut df)
        .unwrap();
}

/// The treatment per decided account (`ids`) by the saved uplift model of the amount paid in
/// `model` (a registry folder): the eligible treatment with the largest predicted extra amount
/// net of its cost, or no contact if none is positive. No contact rules, no capacity.
fn uplift_policy(
    dir: &Path,
    catalog: &TreatmentCatalog,
    ids: &[String],
    eligible: &HashMap<String, Vec<usize>>,
    model: &Path,
) -> Vec<String> {
    let (file, _) = recoup_model::registry::locate(model).unwrap();
    let model = recoup_model::uplift::UpliftModelFile::load(&file).unwrap();
    // The accounts' snapshot rows at the export (the latest as-of date), in `ids` order.
    let snapshots = read(&dir.join("features.parquet"));
    let as_of = snapshots
        .column("as_of")
        .unwrap()
        .cast(&DataType::Int32)
        .unwrap();
    let as_of = as_of.i32().unwrap();
    let at_export = snapshots
        .filter(&as_of.equal(as_of.max().unwrap()))
        .unwrap();
    let row_of: HashMap<String, usize> = strs(&at_export, "account_id")
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, i))
        .collect();
    let columns: Vec<Vec<f64>> = model
        .header
        .schema
        .columns
        .iter()
        .map(|c| {
            let values = at_export
                .column(&c.name)
                .unwrap()
                .cast(&DataType::Float64)
                .unwrap();
            values
                .f64()
                .unwrap()
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let arm_of: Vec<Option<usize>> = model
        .header
        .arms
        .iter()
        .map(|a| catalog.position(a))
        .collect();
    let control = arm_of[0].unwrap();
    ids.iter()
        .map(|id| {
            let r = row_of[id];
            let row: Vec<f64> = columns.iter().map(|c| c[r]).collect();
            let ok = eligible.get(id).cloned().unwrap_or_default();
            let mut best = (control, 0.0f64);
            for (k, arm) in arm_of.iter().enumerate().skip(1) {
                let Some(t) = *arm else { continue };
                let net = model.effect(k, &row) - catalog.treatments[t].unit_cost;
                if ok.contains(&t) && net > best.1 {
                    best = (t, net);
                }
            }
            catalog.treatments[best.0].id.clone()
        })
        .collect()
}

fn main() {
    let (mut accounts, mut seed) = (20_000usize, 7u64);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--accounts" => accounts = args.next().unwrap().parse().unwrap(),
            "--seed" => seed = args.next().unwrap().parse().unwrap(),
            _ => {}
        }
    }
    let dir = workspace().join(format!("target/bench-data/policies-{accounts}-{seed}"));
    let out = Command::new(env!("CARGO_BIN_EXE_recoup"))
        .current_dir(workspace())
        .args([
            "-q",
            "demo",
            "--accounts",
            &accounts.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let catalog = TreatmentCatalog::load(&TreatmentCatalog::path_in(&dir)).unwrap();
    let decisions = read(&dir.join("decisions.parquet"));
    let ids = strs(&decisions, "account_id");
    let propensity: Vec<f64> = decisions
        .column("p_pay")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect();

    let truth = read(&dir.join("truth/treatment_effects.parquet"));
    let mut eligible: HashMap<String, Vec<usize>> = HashMap::new();
    let (t_ids, t_treat) = (strs(&truth, "account_id"), strs(&truth, "treatment_id"));
    let t_ok = truth.column("eligible").unwrap().bool().unwrap().clone();
    for i in 0..truth.height() {
        if t_ok.get(i) == Some(true)
            && let Some(k) = catalog.position(&t_treat[i])
        {
            eligible.entry(t_ids[i].clone()).or_default().push(k);
        }
    }
    let no_contact = catalog
        .treatments
        .iter()
        .position(|t| t.offer == Offer::NoContact)
        .unwrap();
    let cheapest = |id: &str| -> usize {
        eligible
            .get(id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&k| k != no_contact)
            .min_by(|&a, &b| {
                catalog.treatments[a]
                    .unit_cost
                    .total_cmp(&catalog.treatments[b].unit_cost)
                    .then(a.cmp(&b))
            })
            .unwrap_or(no_contact)
    };
    let name = |k: usize| catalog.treatments[k].id.clone();

    let recoup_choice = strs(&decisions, "treatment");
    let top_ranked = strs(&decisions, "top_ranked");
    let contacted = recoup_choice
        .iter()
        .filter(|t| **t != name(no_contact))
        .count();
    let mut by_propensity: Vec<usize> = (0..ids.len()).collect();
    by_propensity.sort_by(|&a, &b| propensity[b].total_cmp(&propensity[a]).then(a.cmp(&b)));
    let mut first = vec![name(no_contact); ids.len()];
    for &r in by_propensity.iter().take(contacted) {
        first[r] = name(cheapest(&ids[r]));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let random: Vec<String> = ids
        .iter()
        .map(|id| {
            let options = eligible
                .get(id)
                .cloned()
                .unwrap_or_else(|| vec![no_contact]);
            name(options[rng.random_range(0..options.len())])
        })
        .collect();
    // recoup score with an uplift pay model, under the demo's capacity.
    let recoup = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_recoup"))
            .current_dir(workspace())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let mut train = vec![
        "-q".to_owned(),
        "uplift".into(),
        "train".into(),
        "--table".into(),
        s(&dir.join("contact_features.parquet")),
        "--treatment".into(),
        "treatment_id".into(),
        "--control".into(),
        "no_contact".into(),
        "--outcome".into(),
        "paid_in_window".into(),
        "--propensity".into(),
        "propensity".into(),
        "--name".into(),
        "pay_uplift".into(),
        "--models".into(),
        s(&dir.join("models")),
        "--seed".into(),
        seed.to_string(),
    ];
    for c in common::contact_instant_features(&dir.join("contact_features.parquet")) {
        train.extend(["--drop".to_owned(), c]);
    }
    recoup(&train.iter().map(String::as_str).collect::<Vec<_>>());
    // The same learner on the amount paid: the scorer then takes the amount collected from it.
    let amount_train: Vec<String> = train
        .iter()
        .map(|a| match a.as_str() {
            "paid_in_window" => "amount_paid_in_window".to_owned(),
            "pay_uplift" => "amount_uplift".to_owned(),
            _ => a.clone(),
        })
        .collect();
    recoup(&amount_train.iter().map(String::as_str).collect::<Vec<_>>());
    let mut amount_t = amount_train.clone();
    amount_t.iter_mut().for_each(|a| {
        if a == "amount_uplift" {
            *a = "amount_uplift_t".to_owned();
        }
    });
    amount_t.extend(["--learner".to_owned(), "t".to_owned()]);
    recoup(&amount_t.iter().map(String::as_str).collect::<Vec<_>>());
    let (call, sms) = ((4 * (ids.len() / 20)).max(1), (ids.len() / 10).max(1));
    let score_with = |pay: &str| -> DataFrame {
        let out = dir.join(format!("decisions-{pay}.parquet"));
        let (call, sms) = (format!("call={call}"), format!("sms={sms}"));
        recoup(&[
            "-q",
            "score",
            "--features",
            &s(&dir.join("features.parquet")),
            "--raw",
            &s(&dir),
            "--propensity",
            &s(&dir.join("models/propensity_to_pay")),
            "--pay",
            &s(&dir.join("models").join(pay)),
            "--response",
            &s(&dir.join("models/channel_response")),
            "--capacity",
            &call,
            "--usage",
            "call=4",
            "--capacity",
            &sms,
            "--reasons",
            "0",
            "--out",
            &s(&out),
        ]);
        let d = read(&out);
        assert_eq!(
            strs(&d, "account_id"),
            ids,
            "the same accounts in the same order"
        );
        d
    };
    let with_uplift = score_with("pay_uplift");
    let with_amount = score_with("amount_uplift");
    let uplift_choices: Vec<(&str, Vec<String>)> =
        [("T", "amount_uplift_t"), ("DR", "amount_uplift")]
            .into_iter()
            .map(|(learner, name)| {
                let model = dir.join("models").join(name);
                (
                    learner,
                    uplift_policy(&dir, &catalog, &ids, &eligible, &model),
                )
            })
            .collect();
    let mut strategies: Vec<(String, Vec<String>)> = vec![
        (
            "recoup ranked, under the call and SMS capacity",
            recoup_choice,
        ),
        (
            "recoup ranked, top choices without capacity limits",
            top_ranked,
        ),
        (
            "cheapest eligible contact for everyone",
            ids.iter().map(|id| name(cheapest(id))).collect(),
        ),
        (
            "highest propensity first (as many contacts as recoup)",
            first,
        ),
        ("random eligible treatment", random),
        (
            "recoup score, DR-learner uplift as the pay model, under the capacity",
            strs(&with_uplift, "treatment"),
        ),
        (
            "recoup score, DR-learner uplift as the pay model, top choices",
            strs(&with_uplift, "top_ranked"),
        ),
        (
            "recoup score, DR-learner uplift of the amount paid, under the capacity",
            strs(&with_amount, "treatment"),
        ),
        (
            "recoup score, DR-learner uplift of the amount paid, top choices",
            strs(&with_amount, "top_ranked"),
        ),
    ]
    .into_iter()
    .map(|(l, c)| (l.to_owned(), c))
    .collect();
    for (learner, choice) in uplift_choices {
        strategies.push((
            format!(
                "recoup uplift, {learner}-learner on the amount paid (logged propensities), no rules or capacity"
            ),
            choice,
        ));
    }

    println!(
        "Simulated portfolio: {accounts} accounts, seed {seed}; {} accounts in collections at the export decided. Values: expected amount collected in 30 days net of contact costs, by the ground truth.\n",
        ids.len()
    );
    println!(
        "| strategy | contacts | net value | vs no contact | share of the oracle's gain | regret vs oracle |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut reference = None;
    for (label, choice) in &strategies {
        let file = dir.join("strategy.parquet");
        write_decisions(&file, &ids, choice);
        let v = TruthSummary::value_of_decisions(&dir, &catalog, &file).unwrap();
        let gain = v.net_oracle - v.net_no_contact;
        let contacts = choice.iter().filter(|t| **t != name(no_contact)).count();
        println!(
            "| {label} | {contacts} | {:.0} | {:+.1}% | {:.1}% | {:.0} |",
            v.net_policy,
            100.0 * (v.net_policy - v.net_no_contact) / v.net_no_contact.abs().max(1e-9),
            100.0 * (v.net_policy - v.net_no_contact) / gain.max(1e-9),
            v.net_oracle - v.net_policy,
        );
        reference.get_or_insert(v);
    }
    let v = reference.unwrap();
    let gain = v.net_oracle - v.net_no_contact;
    for (label, value) in [
        (
            "oracle: each account's best eligible treatment",
            v.net_oracle,
        ),
        ("the best single treatment for everyone", v.net_best_single),
        ("nobody contacted", v.net_no_contact),
    ] {
        println!(
            "| {label} | - | {value:.0} | {:+.1}% | {:.1}% | {:.0} |",
            100.0 * (value - v.net_no_contact) / v.net_no_contact.abs().max(1e-9),
            100.0 * (value - v.net_no_contact) / gain.max(1e-9),
            v.net_oracle - value,
        );
    }

    off_policy_table(&truth, &catalog, &ids, &strategies, no_contact, seed);
}

/// Per account (in `ids` order) and treatment: (eligible, p_pay_30d, expected_amount_30d).
type Truth = Vec<Vec<(bool, f64, f64)>>;

fn truth_table(truth: &DataFrame, catalog: &TreatmentCatalog, ids: &[String]) -> Truth {
    let row_of: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let nt = catalog.treatments.len();
    let mut out = vec![vec![(false, 0.0, 0.0); nt]; ids.len()];
    let (t_ids, t_treat) = (strs(truth, "account_id"), strs(truth, "treatment_id"));
    let ok = truth.column("eligible").unwrap().bool().unwrap().clone();
    let f = |c: &str| truth.column(c).unwrap().f64().unwrap().clone();
    let (p, amount) = (f("p_pay_30d"), f("expected_amount_30d"));
    for i in 0..truth.height() {
        if let (Some(&r), Some(k)) = (row_of.get(t_ids[i].as_str()), catalog.position(&t_treat[i]))
        {
            out[r][k] = (
                ok.get(i) == Some(true),
                p.get(i).unwrap_or(0.0),
                amount.get(i).unwrap_or(0.0),
            );
        }
    }
    out
}

fn off_policy_table(
    truth: &DataFrame,
    catalog: &TreatmentCatalog,
    ids: &[String],
    strategies: &[(String, Vec<String>)],
    no_contact: usize,
    seed: u64,
) {
    const EXPLORATION: f64 = 0.2;
    const LOGS: usize = 200;
    let table = truth_table(truth, catalog, ids);
    let nt = catalog.treatments.len();
    let cost: Vec<f64> = catalog.treatments.iter().map(|t| t.unit_cost).collect();
    let n = ids.len();
    let eligible: Vec<Vec<usize>> = table
        .iter()
        .map(|row| {
            let mut e: Vec<usize> = (0..nt).filter(|&k| row[k].0).collect();
            if !e.contains(&no_contact) {
                e.push(no_contact);
            }
            e
        })
        .collect();
    let champion: Vec<usize> = eligible
        .iter()
        .map(|e| {
            e.iter()
                .copied()
                .filter(|&k| k != no_contact)
                .min_by(|&a, &b| cost[a].total_cmp(&cost[b]).then(a.cmp(&b)))
                .unwrap_or(no_contact)
        })
        .collect();
    let logging = |r: usize, k: usize| -> f64 {
        let uniform = EXPLORATION / eligible[r].len() as f64;
        uniform
            + if k == champion[r] {
                1.0 - EXPLORATION
            } else {
                0.0
            }
    };
    // A strategy's arm per account, an ineligible choice taken as no contact (as the truth
    // values it).
    let targets: Vec<(String, Vec<usize>)> = strategies
        .iter()
        .map(|(label, choice)| {
            let arms = choice
                .iter()
                .enumerate()
                .map(|(r, t)| {
                    catalog
                        .position(t)
                        .filter(|k| eligible[r].contains(k))
                        .unwrap_or(no_contact)
                })
                .collect();
            (label.clone(), arms)
        })
        .collect();
    let true_value = |arms: &[usize]| -> f64 {
        arms.iter()
            .enumerate()
            .map(|(r, &k)| table[r][k].2 - cost[k])
            .sum::<f64>()
            / n as f64
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(99));
    // [target][estimator] -> estimates over the logs.
    let mut estimates = vec![[Vec::new(), Vec::new(), Vec::new()]; targets.len()];
    for _ in 0..LOGS {
        let mut arm = Vec::with_capacity(n);
        let mut outcome = Vec::with_capacity(n);
        let mut propensity = Vec::with_capacity(n);
        for r in 0..n {
            let k = if rng.random::<f64>() < EXPLORATION {
                eligible[r][rng.random_range(0..eligible[r].len())]
            } else {
                champion[r]
            };
            let (_, p, amount) = table[r][k];
            let paid = p > 0.0 && rng.random::<f64>() < p;
            outcome.push(if paid { amount / p } else { 0.0 } - cost[k]);
            propensity.push(logging(r, k));
            arm.push(k);
        }
        // The outcome model of DR: each treatment's mean outcome in this log.
        let mut sums = vec![(0.0, 0usize); nt];
        for (k, y) in arm.iter().zip(&outcome) {
            sums[*k].0 += y;
            sums[*k].1 += 1;
        }
        let predicted: Vec<Vec<f64>> = sums
            .iter()
            .map(|(s, c)| vec![if *c > 0 { s / *c as f64 } else { 0.0 }; n])
            .collect();
        let logged = recoup_uplift::Logged {
            arm: &arm,
            outcome: &outcome,
            propensity: &propensity,
        };
        for (t, (_, arms)) in targets.iter().enumerate() {
            let v = recoup_uplift::evaluate(arms, logged, &predicted);
            estimates[t][0].push(v.ips);
            estimates[t][1].push(v.snips);
            estimates[t][2].push(v.dr);
        }
    }
    println!(
        "\nOff-policy estimates from {LOGS} logs drawn at the export (logging: the cheapest eligible contact with probability {:.1}, else uniform among the eligible), per account:\n",
        1.0 - EXPLORATION
    );
    println!(
        "| strategy | true value | IPS bias | IPS RMSE | SNIPS bias | SNIPS RMSE | DR bias | DR RMSE |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for ((label, arms), est) in targets.iter().zip(&estimates) {
        let truth = true_value(arms);
        let stats = |e: &[f64]| {
            let bias = e.iter().sum::<f64>() / e.len() as f64 - truth;
            let rmse =
                (e.iter().map(|x| (x - truth) * (x - truth)).sum::<f64>() / e.len() as f64).sqrt();
            (bias, rmse)
        };
        let (ib, ir) = stats(&est[0]);
        let (sb, sr) = stats(&est[1]);
        let (db, dr) = stats(&est[2]);
        println!(
            "| {label} | {truth:.3} | {ib:+.3} | {ir:.3} | {sb:+.3} | {sr:.3} | {db:+.3} | {dr:.3} |"
        );
    }
}
