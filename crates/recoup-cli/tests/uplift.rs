//! `recoup uplift evaluate` on a randomised table with a known effect.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;

mod common;

use common::{recoup, text};

#[test]
fn evaluate_finds_the_arm_that_helps_and_writes_a_report() {
    let dir = tempfile::tempdir().unwrap();
    // Arm `mail` raises the outcome from 0.2 to 0.6 where x > 0.5 only; `call` does nothing.
    let mut csv = String::from("x,region,group,y,revenue\n");
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..3000 {
        let x = next();
        let group = ["none", "mail", "call"][i % 3];
        let p = if group == "mail" && x > 0.5 { 0.6 } else { 0.2 };
        let y = u8::from(next() < p);
        let region = if next() < 0.5 { "north" } else { "south" };
        writeln!(csv, "{x},{region},{group},{y},{}", f64::from(y) * 10.0).unwrap();
    }
    let table = dir.path().join("t.csv");
    std::fs::write(&table, csv).unwrap();
    let report = dir.path().join("report.html");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "uplift",
            "evaluate",
            "--table",
            table.to_str().unwrap(),
            "--treatment",
            "group",
            "--control",
            "none",
            "--outcome",
            "y",
            "--drop",
            "revenue",
            "--trees",
            "40",
            "--leaves",
            "4",
        ];
        a.extend_from_slice(extra);
        recoup(&a)
    };
    let o = args(&["--report", report.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["arms"], serde_json::json!(["none", "call", "mail"]));
    for learner in v["learners"].as_array().unwrap() {
        let arms = learner["arms"].as_array().unwrap();
        let qini = |name: &str| {
            arms.iter().find(|a| a["arm"] == name).unwrap()["qini_coefficient"]
                .as_f64()
                .unwrap()
        };
        assert!(qini("mail") > 0.2, "{learner}");
        assert!(qini("mail") > qini("call"), "{learner}");
        // The policy mails about the half of rows with x > 0.5 and calls almost nobody.
        let mix = learner["policy_mix"].as_array().unwrap();
        let mail = mix[2].as_f64().unwrap();
        assert!((0.3..0.75).contains(&mail), "{learner}");
    }
    let page = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        page.matches("<svg").count(),
        2,
        "one Qini chart per treatment arm"
    );

    let o = args(&[]);
    assert!(o.status.success());
    assert!(
        text(&o.stdout).contains("everyone: mail"),
        "{}",
        text(&o.stdout)
    );

    // A cost above the largest effect (0.4) stops the policy from mailing anyone.
    let o = args(&["--cost", "mail=0.9", "--learner", "t", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["learners"][0]["policy_mix"][2], 0.0);
    let o = args(&["--cost", "post=1"]);
    assert!(
        text(&o.stderr).contains("no arm `post`"),
        "{}",
        text(&o.stderr)
    );

    let o = recoup(&[
        "uplift",
        "evaluate",
        "--table",
        table.to_str().unwrap(),
        "--treatment",
        "group",
        "--control",
        "nobody",
        "--outcome",
        "y",
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("`nobody`"), "{}", text(&o.stderr));
}
