//! Point-in-time behavioural features and labels from recoup's raw tables.
//!
//! [`extract`] turns a raw folder into the account snapshot table: one row per account and
//! as-of date, with features computed only from events strictly before the as-of instant
//! (00:00 UTC of the as-of date; account states dated at the as-of date itself describe that
//! instant and are used) and labels only from events at or after it. [`FeatureSchema`] names,
//! types, orders and hashes the columns; it is written beside every output.

pub mod config;
pub mod contact_table;
pub mod error;
pub mod schema;
pub mod snapshot;
pub mod summary;

use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;
use recoup_io::{ValidationOptions, validate_and_load, write_parquet_atomic, write_text_atomic};

pub use config::{ContactLabelDays, FeatureConfig, parse_asof};
pub use contact_table::ContactTableSummary;
pub use error::FeatureError;
pub use schema::{FeatureSchema, FeatureSpec};
pub use snapshot::RawTables;

/// Validates and loads a raw folder, stopping on contract errors.
pub fn load_raw(raw: &Path) -> Result<RawTables, FeatureError> {
    let started = std::time::Instant::now();
    let (report, loaded) = validate_and_load(raw, &ValidationOptions::default())?;
    tracing::info!(
        "validated {} in {:.1} s",
        raw.display(),
        started.elapsed().as_secs_f64()
    );
    if report.has_errors() {
        let errors: Vec<String> = report.errors().map(ToString::to_string).collect();
        return Err(FeatureError::InvalidInput {
            dir: raw.to_path_buf(),
            count: errors.len(),
            first: errors
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    // The report's export instant is export.toml's (or, without one, the time of validation).
    let started = std::time::Instant::now();
    let tables = RawTables::from_tables(&loaded, report.export_at)?;
    drop(loaded);
    tracing::debug!(
        "prepared the tables for queries in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(tables)
}

/// Validates `raw` (stopping on contract errors, before anything is written), then computes
/// the snapshot table for every as-of date, in order.
pub fn extract(
    raw: &Path,
    asofs: &[NaiveDate],
    cfg: &FeatureConfig,
) -> Result<(DataFrame, FeatureSchema), FeatureError> {
    cfg.check()?;
    let tables = load_raw(raw)?;
    let schema = FeatureSchema::new(cfg);
    let started = std::time::Instant::now();
    let mut out: Option<DataFrame> = None;
    for &a in asofs {
        let df = snapshot::snapshot(&tables, a, cfg, &schema)?;
        match out.as_mut() {
            None => out = Some(df),
            Some(acc) => {
                acc.vstack_mut_owned(df)?;
            }
        }
    }
    tracing::info!(
        "computed features for {} as-of date(s) in {:.1} s",
        asofs.len(),
        started.elapsed().as_secs_f64()
    );
    let df = out.ok_or_else(|| {
        FeatureError::from(recoup_core::InvalidSetting::new(
            "asof",
            "[]",
            "at least one as-of date",
        ))
    })?;
    Ok((df, schema))
}

/// Writes the table as parquet and its schema as `<out>.schema.json`, each atomically.
pub fn write(df: &mut DataFrame, schema: &FeatureSchema, out: &Path) -> Result<(), FeatureError> {
    let started = std::time::Instant::now();
    write_parquet_atomic(df, out)?;
    tracing::debug!(
        "wrote {} in {:.2} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    write_schema(schema, out)
}

/// Validates `raw`, then streams its contact table to `out` and the schema beside it.
/// `progress(done, total)` is called as snapshot dates complete.
pub fn extract_contacts(
    raw: &Path,
    cfg: &FeatureConfig,
    out: &Path,
    progress: &dyn Fn(usize, usize),
) -> Result<(ContactTableSummary, FeatureSchema), FeatureError> {
    cfg.check()?;
    let tables = load_raw(raw)?;
    let started = std::time::Instant::now();
    let (summary, schema) = contact_table::write_contact_table(&tables, cfg, out, progress)?;
    write_schema(&schema, out)?;
    tracing::info!(
        "wrote {} contact rows ({} snapshot dates) in {:.1} s",
        summary.rows,
        summary.snapshots,
        started.elapsed().as_secs_f64()
    );
    Ok((summary, schema))
}

fn write_schema(schema: &FeatureSchema, out: &Path) -> Result<(), FeatureError> {
    let json = serde_json::to_string_pretty(schema).map_err(|e| FeatureError::Config {
        file: FeatureSchema::path_for(out),
        message: e.to_string(),
    })?;
    write_text_atomic(&FeatureSchema::path_for(out), &(json + "\n"))?;
    Ok(())
}
