//! Reading flat uplift tables.
#![allow(clippy::unwrap_used)]

use recoup_uplift::{UpliftTableSpec, load_uplift_table};

fn spec(path: &std::path::Path, control: &str) -> UpliftTableSpec {
    UpliftTableSpec {
        path: path.to_path_buf(),
        treatment: "segment".into(),
        control: control.into(),
        outcome: "visit".into(),
        drop: vec!["conversion".into()],
        propensity: None,
        extra_outcomes: vec!["spend".into()],
    }
}

#[test]
fn arms_outcomes_and_features_come_from_their_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(
        &path,
        "recency,channel,segment,visit,conversion,spend\n\
         3,Web,Womens E-Mail,1,0,0\n\
         5,Phone,No E-Mail,0,0,0\n\
         1,Web,Mens E-Mail,1,1,29.5\n\
         2,Web,No E-Mail,1,0,0\n",
    )
    .unwrap();
    let t = load_uplift_table(&spec(&path, "No E-Mail")).unwrap();
    let d = &t.data;
    assert_eq!(d.arms, ["No E-Mail", "Mens E-Mail", "Womens E-Mail"]);
    assert_eq!(d.arm, [2, 0, 1, 0]);
    assert_eq!(d.features.target, [1.0, 0.0, 1.0, 1.0]);
    assert_eq!(
        d.features.names,
        ["recency", "channel"],
        "treatment and outcomes are not features"
    );
    assert_eq!(t.extra_outcomes, [vec![0.0, 0.0, 29.5, 0.0]]);
    assert_eq!(d.propensities(0.01), [0.25, 0.5, 0.25, 0.5]);

    let err = load_uplift_table(&spec(&path, "none"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("t.csv") && err.contains("`segment`") && err.contains("`none`"),
        "{err}"
    );
    let mut missing = spec(&path, "No E-Mail");
    missing.extra_outcomes = vec!["revenue".into()];
    let err = load_uplift_table(&missing).unwrap_err().to_string();
    assert!(err.contains("`revenue`: not found"), "{err}");
}

#[test]
fn a_real_valued_outcome_is_read_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(
        &path,
        "recency,segment,visit,conversion,spend\n3,A,1,0,12.5\n5,none,0,0,0\n1,A,1,1,29.5\n",
    )
    .unwrap();
    let mut s = spec(&path, "none");
    s.outcome = "spend".into();
    s.extra_outcomes = Vec::new();
    s.drop = vec!["conversion".into(), "visit".into()];
    let t = load_uplift_table(&s).unwrap();
    assert_eq!(t.data.features.target, [12.5, 0.0, 29.5]);
    assert!(!t.data.binary_outcome());
    std::fs::write(
        &path,
        "recency,segment,visit,conversion,spend\n3,A,1,0,12.5\n5,none,0,0,NA\n",
    )
    .unwrap();
    let err = load_uplift_table(&s).unwrap_err().to_string();
    assert!(
        err.contains("`spend`, row 2") && err.contains("missing"),
        "{err}"
    );
}
