//! recoup's uplift learners on real randomised data: the Hillstrom e-mail experiment, side by
//! side with scikit-uplift and causalml on the same split, in one run.
//!
//! `scripts/uplift-python-env && cargo bench -p recoup-uplift --bench hillstrom`
//!
//! 1. Two arms, women's e-mail vs no e-mail, on visit, with scikit-uplift's published protocol:
//!    `bench/python/uplift_hillstrom.py peers` splits with `train_test_split(test_size=0.5,
//!    random_state=42)`, fits the peers and writes the split. recoup's T-, X- and DR-learners
//!    train on the same training rows. Every model's uplift@30% (overall and by group), Qini
//!    coefficient and AUUC come from recoup's metrics, and for recoup's predictions also from
//!    scikit-uplift's `metrics` as a check: the two must agree.
//! 2. Three arms (which e-mail, if any): the learners fit on half of all 64,000 customers. On
//!    the other half, the policy "the e-mail with the larger predicted effect on visit, none if
//!    neither is positive" is evaluated by IPS, SNIPS and DR (the assignment was uniform, so
//!    propensities are the arms' shares) on visits and on spend. It is compared with mailing
//!    everyone the men's e-mail (the best single e-mail), the women's, or nobody.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use recoup_train::GbdtParams;
use recoup_uplift::metrics::{TopK, auuc, qini_coefficient, uplift_at_k};
use recoup_uplift::{
    Learner, Logged, UpliftData, UpliftParams, UpliftTableSpec, best_arm, evaluate, fit,
    load_uplift_table,
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn rows(path: &Path) -> Vec<usize> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

fn python(python: &Path, args: &[&str]) -> serde_json::Value {
    let script = workspace().join("bench/python/uplift_hillstrom.py");
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
    serde_json::from_slice(out.stdout.trim_ascii()).unwrap()
}

struct Scores {
    overall: f64,
    by_group: f64,
    qini: f64,
    auuc: f64,
}

fn scores(y: &[f64], uplift: &[f64], treated: &[bool]) -> Scores {
    Scores {
        overall: uplift_at_k(y, uplift, treated, 0.3, TopK::Overall),
        by_group: uplift_at_k(y, uplift, treated, 0.3, TopK::ByGroup),
        qini: qini_coefficient(y, uplift, treated),
        auuc: auuc(y, uplift, treated),
    }
}

/// Settings like the peers' XGBoost (`max_depth=2`: 4 leaves; 100 trees; its default learning
/// rate 0.3), and recoup's defaults.
fn settings() -> Vec<(&'static str, GbdtParams)> {
    vec![
        (
            "XGBoost-like (4 leaves, 100 trees, rate 0.3)",
            GbdtParams {
                n_trees: 100,
                learning_rate: 0.3,
                num_leaves: 4,
                min_data_in_leaf: 1,
                lambda_l2: 1.0,
                seed: 42,
                ..GbdtParams::default()
            },
        ),
        ("recoup defaults", UpliftParams::default().gbdt),
    ]
}

fn main() {
    let root = workspace();
    let py = root.join(".venv-uplift/bin/python");
    assert!(py.exists(), "run scripts/uplift-python-env first");
    let csv = root.join(
        "../shared/data/hillstrom_email/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv",
    );
    let dir = root.join("target/bench-data/uplift");
    std::fs::create_dir_all(&dir).unwrap();
    let (csv_s, dir_s) = (csv.to_str().unwrap(), dir.to_str().unwrap());
    let peers = python(&py, &["peers", "--csv", csv_s, "--out-dir", dir_s]);

    let loaded = load_uplift_table(&UpliftTableSpec {
        path: csv.clone(),
        treatment: "segment".into(),
        control: "No E-Mail".into(),
        outcome: "visit".into(),
        drop: vec!["conversion".into()],
        propensity: None,
        extra_outcomes: vec!["spend".into()],
    })
    .unwrap();
    let all = &loaded.data;
    let spend = &loaded.extra_outcomes[0];
    let womens = all.arms.iter().position(|a| a == "Womens E-Mail").unwrap();

    // 1. Women's e-mail vs none, on the peers' split.
    let two_arm = |split: &str| -> UpliftData {
        let r = rows(&dir.join(format!("two-arm-{split}.txt")));
        let mut d = all.take(&r);
        d.arm = d.arm.iter().map(|&a| usize::from(a == womens)).collect();
        d.arms = vec!["No E-Mail".into(), "Womens E-Mail".into()];
        d
    };
    let (train, test) = (two_arm("train"), two_arm("test"));
    let treated: Vec<bool> = test.arm.iter().map(|&a| a == 1).collect();
    let y = &test.features.target;
    println!(
        "Hillstrom, women's e-mail vs no e-mail, outcome visit: {} training rows, {} test rows \
         (train_test_split(test_size=0.5, random_state=42)); peers {}.\n",
        train.arm.len(),
        test.arm.len(),
        peers["versions"]
    );
    println!(
        "| model | uplift@30% (overall) | uplift@30% (by group) | Qini coefficient | AUUC | fit seconds |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for m in peers["models"].as_array().unwrap() {
        println!(
            "| {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.2} |",
            m["model"].as_str().unwrap(),
            m["uplift_at_30_overall"].as_f64().unwrap(),
            m["uplift_at_30_by_group"].as_f64().unwrap(),
            m["qini_coefficient"].as_f64().unwrap(),
            m["auuc"].as_f64().unwrap(),
            m["fit_secs"].as_f64().unwrap(),
        );
    }
    let mut metric_gap = 0.0f64;
    for (name, gbdt) in settings() {
        for learner in [Learner::T, Learner::X, Learner::Dr] {
            let params = UpliftParams {
                learner,
                gbdt: gbdt.clone(),
                ..UpliftParams::default()
            };
            let started = Instant::now();
            let model = fit(&params, &train).unwrap();
            let secs = started.elapsed().as_secs_f64();
            let uplift = model.predict_effects(&test.features).remove(0);
            let s = scores(y, &uplift, &treated);
            let file = dir.join("recoup-uplift.f64");
            let bytes: Vec<u8> = uplift.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(&file, bytes).unwrap();
            let theirs = python(
                &py,
                &[
                    "metrics",
                    "--csv",
                    csv_s,
                    "--predictions",
                    file.to_str().unwrap(),
                ],
            );
            for (ours, key) in [
                (s.overall, "uplift_at_30_overall"),
                (s.by_group, "uplift_at_30_by_group"),
                (s.qini, "qini_coefficient"),
                (s.auuc, "auuc"),
            ] {
                metric_gap = metric_gap.max((ours - theirs[key].as_f64().unwrap()).abs());
            }
            println!(
                "| recoup {}-learner, {name} | {:.4} | {:.4} | {:.4} | {:.4} | {secs:.2} |",
                learner.name().to_uppercase(),
                s.overall,
                s.by_group,
                s.qini,
                s.auuc,
            );
        }
    }
    println!(
        "\nscikit-uplift's metrics on recoup's predictions differ from recoup's own by at most {metric_gap:.1e}."
    );
    assert!(
        metric_gap < 1e-9,
        "recoup's metrics disagree with scikit-uplift's"
    );

    // 2. Three arms: which e-mail, if any.
    let (train3, test3) = (
        all.take(&rows(&dir.join("three-arm-train.txt"))),
        all.take(&rows(&dir.join("three-arm-test.txt"))),
    );
    let test_rows = rows(&dir.join("three-arm-test.txt"));
    let spend_test: Vec<f64> = test_rows.iter().map(|&r| spend[r]).collect();
    let propensity = test3.propensities(0.01);
    println!(
        "\nThree arms ({}), policies evaluated on the {} test customers; values are per customer (IPS ± s.e. / SNIPS / DR).\n",
        all.arms.join(", "),
        test3.arm.len()
    );
    println!(
        "| policy | share mailed men's / women's | visits IPS | visits SNIPS | visits DR | spend IPS | spend SNIPS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mens = all.arms.iter().position(|a| a == "Mens E-Mail").unwrap();
    let n = test3.arm.len();
    let row = |name: &str, policy: &[usize], predicted: &[Vec<f64>]| {
        let visit = evaluate(
            policy,
            Logged {
                arm: &test3.arm,
                outcome: &test3.features.target,
                propensity: &propensity,
            },
            predicted,
        );
        // Spend has no outcome model here: DR with zero predictions is IPS, so it is left out.
        let zero = vec![vec![0.0; n]; all.arms.len()];
        let sp = evaluate(
            policy,
            Logged {
                arm: &test3.arm,
                outcome: &spend_test,
                propensity: &propensity,
            },
            &zero,
        );
        let share = |a: usize| policy.iter().filter(|&&p| p == a).count() as f64 / n as f64;
        println!(
            "| {name} | {:.0}% / {:.0}% | {:.4} ± {:.4} | {:.4} | {:.4} | {:.3} ± {:.3} | {:.3} |",
            100.0 * share(mens),
            100.0 * share(womens),
            visit.ips,
            visit.ips_se,
            visit.snips,
            visit.dr,
            sp.ips,
            sp.ips_se,
            sp.snips,
        );
    };
    let gbdt = settings().remove(0).1;
    let mut outcomes = None;
    for learner in [Learner::T, Learner::X, Learner::Dr] {
        let params = UpliftParams {
            learner,
            gbdt: gbdt.clone(),
            ..UpliftParams::default()
        };
        let model = fit(&params, &train3).unwrap();
        let predicted = model.predict_outcomes(&test3.features);
        let policy = best_arm(&model.predict_effects(&test3.features), &[0.0; 3]);
        row(
            &format!(
                "recoup {}-learner: the larger predicted effect",
                learner.name().to_uppercase()
            ),
            &policy,
            &predicted,
        );
        outcomes.get_or_insert(predicted);
    }
    let predicted = outcomes.unwrap();
    for (name, arm) in [
        ("everyone the men's e-mail", mens),
        ("everyone the women's e-mail", womens),
        ("nobody", 0),
    ] {
        row(name, &vec![arm; n], &predicted);
    }
}
