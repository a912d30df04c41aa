//! Quick looks at a feature table: a sample of rows and per-column statistics.

use polars::prelude::*;
use serde::Serialize;

/// Null share, mean and max of one column (booleans count as 0/1).
#[derive(Debug, Clone, Serialize)]
pub struct ColumnSummary {
    pub name: String,
    pub null_share: f64,
    pub mean: Option<f64>,
    pub max: Option<f64>,
}

/// Statistics of the named numeric or boolean columns.
pub fn summarize(df: &DataFrame, names: &[&str]) -> PolarsResult<Vec<ColumnSummary>> {
    let n = df.height().max(1) as f64;
    names
        .iter()
        .map(|&name| {
            let c = df.column(name)?.cast(&DataType::Float64)?;
            let v = c.f64()?;
            Ok(ColumnSummary {
                name: name.to_owned(),
                null_share: c.null_count() as f64 / n,
                mean: v.mean(),
                max: v.max(),
            })
        })
        .collect()
}

/// The first `n` rows of past-due accounts, with the given columns.
pub fn past_due_sample(df: &DataFrame, columns: &[&str], n: usize) -> PolarsResult<DataFrame> {
    df.clone()
        .lazy()
        .filter(col("days_past_due").gt(lit(0)))
        .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .limit(n as IdxSize)
        .collect()
}

/// Per channel of a contact table file: rows, and the mean of each label among rows where it
/// is not null (response, right-party contact, promise and payment in the label window).
pub fn contact_outcomes_by_channel(path: &std::path::Path) -> PolarsResult<DataFrame> {
    let rate = |name: &str| {
        col(name)
            .cast(DataType::Float64)
            .mean()
            .alias(format!("{name}_rate"))
    };
    LazyFrame::scan_parquet(PlRefPath::try_from_path(path)?, ScanArgsParquet::default())?
        .group_by([col("channel")])
        .agg([
            len().alias("contacts"),
            rate("responded"),
            rate("right_party"),
            rate("promise_in_window"),
            rate("paid_in_window"),
        ])
        .sort(["channel"], SortMultipleOptions::default())
        .collect()
}
