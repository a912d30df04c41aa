//! Segment assignment on a hand-made snapshot table: quadrants by the documented thresholds,
//! clusters, the written table, determinism and errors that name the file and column.
#![allow(clippy::unwrap_used)]

use polars::prelude::*;
use recoup_segment::{
    CLUSTER_FEATURES, ProfileInputs, Quadrant, SegmentError, SegmentSettings, segment,
    write_assignments,
};

/// Eight accounts past due on 2026-12-01 (day 20788) and one current, with clear payment
/// records and capacity signals: accounts 0-3 pay (6 payments in 180 days, promises kept),
/// 4-7 do not; even accounts have no reversal, paid their amount due last time and have
/// headroom, odd ones the opposite.
fn table() -> DataFrame {
    let n = 9;
    let mut cols: Vec<Column> = Vec::new();
    let ids: Vec<String> = (0..n).map(|i| format!("A{i}")).collect();
    cols.push(Column::new("account_id".into(), ids));
    cols.push(
        Column::new("as_of".into(), vec![20788i32; n])
            .cast(&DataType::Date)
            .unwrap(),
    );
    let dpd: Vec<i64> = (0..n)
        .map(|i| if i == 8 { 0 } else { 20 + 10 * i as i64 })
        .collect();
    cols.push(Column::new("days_past_due".into(), dpd));
    cols.push(Column::new("charged_off".into(), vec![false; n]));
    let pays: Vec<i64> = (0..n).map(|i| if i < 4 { 6 } else { 0 }).collect();
    cols.push(Column::new("payments_180d".into(), pays));
    let kept: Vec<f64> = (0..n).map(|i| if i < 4 { 0.9 } else { 0.2 }).collect();
    cols.push(Column::new("promise_kept_rate".into(), kept));
    let reversed: Vec<i64> = (0..n).map(|i| (i % 2) as i64).collect();
    cols.push(Column::new("reversed_payments_365d".into(), reversed));
    let last: Vec<Option<f64>> = (0..n)
        .map(|i| if i % 2 == 0 { Some(300.0) } else { None })
        .collect();
    cols.push(Column::new("last_payment_amount".into(), last));
    cols.push(Column::new("amount_due".into(), vec![200.0; n]));
    let util: Vec<Option<f64>> = (0..n)
        .map(|i| if i % 2 == 0 { Some(0.2) } else { Some(1.0) })
        .collect();
    cols.push(Column::new("utilisation".into(), util));
    // Only account 2 has settled promises (3 kept, 1 broken): a fourth ability signal.
    let kept: Vec<i64> = (0..n).map(|i| if i == 2 { 3 } else { 0 }).collect();
    let broken: Vec<i64> = (0..n).map(|i| i64::from(i == 2)).collect();
    cols.push(Column::new("promises_kept_365d".into(), kept));
    cols.push(Column::new("promises_broken_365d".into(), broken));
    cols.push(Column::new(
        "paid_any_30d".into(),
        (0..n).map(|i| i < 4).collect::<Vec<_>>(),
    ));
    for f in CLUSTER_FEATURES {
        if cols.iter().any(|c| c.name().as_str() == f) {
            continue;
        }
        let v: Vec<f64> = (0..n).map(|i| ((i * 7 + f.len()) % 5) as f64).collect();
        cols.push(Column::new(f.into(), v));
    }
    DataFrame::new(n, cols).unwrap()
}

fn run(df: &DataFrame) -> Result<recoup_segment::Segmentation, SegmentError> {
    segment(
        df,
        std::path::Path::new("snap.parquet"),
        None,
        None,
        &SegmentSettings {
            k: Some(2),
            ..SegmentSettings::default()
        },
        &ProfileInputs::default(),
    )
}

#[test]
fn quadrants_follow_the_documented_signals() {
    let seg = run(&table()).unwrap();
    assert_eq!(seg.accounts.len(), 8, "the current account is left out");
    assert_eq!(seg.willingness_source, "payment record");
    let expected = [
        Quadrant::WillingAndAble,
        Quadrant::WillingButUnable,
        Quadrant::WillingAndAble,
        Quadrant::WillingButUnable,
        Quadrant::AbleButUnwilling,
        Quadrant::Neither,
        Quadrant::AbleButUnwilling,
        Quadrant::Neither,
    ];
    assert_eq!(seg.quadrant, expected);
    // Willingness 0.5 * 1 + 0.5 * 0.9 = 0.95 or 0.5 * 0 + 0.5 * 0.2 = 0.1; median 0.525.
    assert!((seg.willingness[0] - 0.95).abs() < 1e-12);
    assert!((seg.willingness_threshold - 0.525).abs() < 1e-12);
    // Ability: (1 + 1 + 0.8) / 3 or (0 + 0 + 0) / 3.
    assert!((seg.ability[0] - 2.8 / 3.0).abs() < 1e-12);
    assert_eq!(seg.ability[1], 0.0);
    assert!((seg.ability[2] - (2.8 + 0.75) / 4.0).abs() < 1e-12);
    let willing_and_able = seg
        .profiles
        .iter()
        .find(|p| p.name == "willing_and_able")
        .unwrap();
    assert_eq!(willing_and_able.size, 2);
    assert_eq!(willing_and_able.pay_rate, Some(1.0));
    let neither = seg.profiles.iter().find(|p| p.name == "neither").unwrap();
    assert_eq!(neither.pay_rate, Some(0.0));
    assert_eq!(seg.k, 2);
    assert_eq!(seg.profiles.len(), 4 + 2);
    assert_eq!(seg.cluster.len(), 8);
}

#[test]
fn assignments_are_written_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(&table()).unwrap();
    let b = run(&table()).unwrap();
    assert_eq!(a.cluster, b.cluster);
    let (pa, pb) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    write_assignments(&a, &pa).unwrap();
    write_assignments(&b, &pb).unwrap();
    assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
    let back = recoup_segment::read_table(&pa).unwrap();
    assert_eq!(back.height(), 8);
    let names: Vec<&str> = back.get_column_names().iter().map(|c| c.as_str()).collect();
    assert_eq!(
        names,
        [
            "account_id",
            "as_of",
            "willingness",
            "ability",
            "segment",
            "cluster",
            "cluster_name"
        ]
    );
    let segs: Vec<String> = back
        .column("segment")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_owned())
        .collect();
    assert_eq!(segs[0], "willing_and_able");
    assert_eq!(segs[7], "neither");
    let html = recoup_segment::report::html(&a);
    assert!(
        html.contains("willing_but_unable") && html.contains("<svg"),
        "{html}"
    );
}

#[test]
fn missing_columns_and_empty_dates_name_the_file() {
    let df = table().drop("reversed_payments_365d").unwrap();
    let e = run(&df).unwrap_err().to_string();
    assert_eq!(
        e,
        "snap.parquet: column `reversed_payments_365d` not found (ability)"
    );
    let e = segment(
        &table(),
        std::path::Path::new("snap.parquet"),
        Some(20000),
        None,
        &SegmentSettings::default(),
        &ProfileInputs::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("snap.parquet: no account in collections at 2024-10-04"),
        "{e}"
    );
    let e = SegmentSettings {
        k_min: 5,
        k_max: 3,
        ..SegmentSettings::default()
    }
    .check()
    .unwrap_err()
    .to_string();
    assert!(e.contains("5..=3"), "{e}");
}
