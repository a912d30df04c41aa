//! A generative model of a collections portfolio.
//!
//! Customers have latent traits (ability and willingness to pay, income shocks, per-channel
//! responsiveness, a preferred contact hour, sensitivity to payment plans and settlement
//! offers, promise reliability, aversion to contact). These drive delinquency, payments,
//! promises and responses to the contacts of a logging policy that mixes a champion strategy
//! with uniform exploration and records the probability of every choice. The simulator writes
//! the raw tables of the data contract plus ground truth: for every account in collections at
//! the export, and every treatment of the catalog, the true probability of paying within 30
//! days and the expected amount if treated that way. See `docs/simulator.md`.
//!
//! ```no_run
//! use recoup_sim::{SimConfig, simulate, OutputOptions};
//! let cfg = SimConfig { accounts: 1_000, months: 6, ..SimConfig::default() };
//! let catalog = recoup_core::TreatmentCatalog::default_catalog();
//! let summary = simulate(&cfg, &catalog, std::path::Path::new("data/sim"), &OutputOptions::default())?;
//! println!("{} contacts", summary.rows.contacts);
//! # Ok::<(), recoup_sim::SimError>(())
//! ```

pub mod calendar;
pub mod config;
pub mod engine;
pub mod error;
pub mod model;
pub mod summary;
pub mod tables;

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use recoup_core::{ExportManifest, Table, TreatmentCatalog};
use recoup_io::{ParquetTableWriter, write_text_atomic};
use serde::Serialize;

pub use config::SimConfig;
pub use error::SimError;
pub use summary::{PolicyValue, PortfolioRates, TruthSummary};

use crate::calendar::{Calendar, LocalTime};
use crate::engine::Engine;
use crate::tables::{Rows, contract_schema, traits_schema, truth_schema};

/// Accounts per written batch (one parquet row group per table). Fixed, so output bytes do
/// not depend on the number of threads.
const BATCH_ACCOUNTS: usize = 32_768;
/// Accounts per parallel work item inside a batch.
const WORK_ACCOUNTS: usize = 1_024;

/// How to write the output.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    /// Replace an existing, non-empty output folder.
    pub force: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// Row counts of a simulation's tables.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RowCounts {
    pub accounts: usize,
    pub account_states: usize,
    pub payments: usize,
    pub contacts: usize,
    pub promises: usize,
    pub truth_treatment_effects: usize,
}

/// What a simulation produced.
#[derive(Debug, Clone, Serialize)]
pub struct SimSummary {
    pub out: PathBuf,
    pub export_at: DateTime<Utc>,
    pub rows: RowCounts,
    pub seconds: f64,
}

/// Paths of the ground-truth files inside an output folder.
pub fn truth_paths(out: &Path) -> (PathBuf, PathBuf) {
    let dir = out.join("truth");
    (
        dir.join("treatment_effects.parquet"),
        dir.join("customers.parquet"),
    )
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Simulates a portfolio into `out` (a folder), which appears complete or not at all.
pub fn simulate(
    cfg: &SimConfig,
    catalog: &TreatmentCatalog,
    out: &Path,
    options: &OutputOptions,
) -> Result<SimSummary, SimError> {
    cfg.check()?;
    if catalog.treatments.len() > usize::from(u16::MAX) {
        return Err(recoup_core::InvalidSetting::new(
            "catalog",
            catalog.treatments.len(),
            "at most 65,535 treatments",
        )
        .into());
    }
    let started = Instant::now();
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(io_err(out))?
            .next()
            .is_some()
        && !options.force
    {
        return Err(SimError::OutputExists {
            path: out.to_path_buf(),
        });
    }
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sim".into());
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    let tmp = parent.join(format!("{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    std::fs::create_dir_all(tmp.join("truth")).map_err(io_err(&tmp))?;
    let result = write_simulation(cfg, catalog, &tmp, options);
    let rows = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if out.exists() {
        let old = parent.join(format!("{name}.old-{}", std::process::id()));
        std::fs::rename(out, &old).map_err(io_err(out))?;
        std::fs::rename(&tmp, out).map_err(io_err(out))?;
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
    } else {
        std::fs::rename(&tmp, out).map_err(io_err(out))?;
    }
    let cal = Calendar::new(cfg.start, cfg.months);
    Ok(SimSummary {
        out: out.to_path_buf(),
        export_at: export_instant(&cal),
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn export_instant(cal: &Calendar) -> DateTime<Utc> {
    cal.as_of[cal.months as usize]
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

fn write_simulation(
    cfg: &SimConfig,
    catalog: &TreatmentCatalog,
    dir: &Path,
    options: &OutputOptions,
) -> Result<RowCounts, SimError> {
    let cal = Calendar::new(cfg.start, cfg.months);
    let local = LocalTime::new(&cal);
    let engine = Engine::new(cfg, &cal, &local, catalog);
    let treatment_ids: Vec<String> = catalog.treatments.iter().map(|t| t.id.clone()).collect();

    let path = |t: Table| dir.join(format!("{}.parquet", t.stem()));
    let (truth_path, traits_path) = truth_paths(dir);
    let mut accounts =
        ParquetTableWriter::create(&path(Table::Accounts), &contract_schema(Table::Accounts))?;
    let mut states = ParquetTableWriter::create(
        &path(Table::AccountStates),
        &contract_schema(Table::AccountStates),
    )?;
    let mut payments =
        ParquetTableWriter::create(&path(Table::Payments), &contract_schema(Table::Payments))?;
    let mut contacts =
        ParquetTableWriter::create(&path(Table::Contacts), &contract_schema(Table::Contacts))?;
    let mut promises =
        ParquetTableWriter::create(&path(Table::Promises), &contract_schema(Table::Promises))?;
    let mut truth = ParquetTableWriter::create(&truth_path, &truth_schema())?;
    let mut traits = ParquetTableWriter::create(&traits_path, &traits_schema())?;

    let bar = if options.progress {
        ProgressBar::new(cfg.accounts as u64).with_style(
            ProgressStyle::with_template("{spinner} simulating {bar:30} {human_pos}/{human_len} accounts ({per_sec}, eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    } else {
        ProgressBar::hidden()
    };
    let polars_err = |p: &Path| {
        let p = p.to_path_buf();
        move |e| SimError::Table(recoup_io::TableError::Polars { file: p, source: e })
    };
    let mut batch_start = 0;
    while batch_start < cfg.accounts {
        let batch_end = (batch_start + BATCH_ACCOUNTS).min(cfg.accounts);
        let parts: Vec<Rows> = (batch_start..batch_end)
            .step_by(WORK_ACCOUNTS)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|from| {
                let mut rows = Rows::default();
                for i in from..(from + WORK_ACCOUNTS).min(batch_end) {
                    engine.simulate_account(i as u32, &mut rows);
                }
                rows
            })
            .collect();
        let mut rows = Rows::default();
        for p in parts {
            rows.append(p);
        }
        let frames = rows.into_frames(&treatment_ids).map_err(polars_err(dir))?;
        accounts.write(&frames.accounts)?;
        states.write(&frames.states)?;
        payments.write(&frames.payments)?;
        contacts.write(&frames.contacts)?;
        promises.write(&frames.promises)?;
        truth.write(&frames.truth)?;
        traits.write(&frames.traits)?;
        bar.inc((batch_end - batch_start) as u64);
        batch_start = batch_end;
    }
    bar.finish_and_clear();
    let counts = RowCounts {
        accounts: accounts.finish()?,
        account_states: states.finish()?,
        payments: payments.finish()?,
        contacts: contacts.finish()?,
        promises: promises.finish()?,
        truth_treatment_effects: truth.finish()?,
    };
    traits.finish()?;

    write_text_atomic(&TreatmentCatalog::path_in(dir), &catalog.to_toml_string())?;
    let mut extra = toml::Table::new();
    let sim = toml::Table::try_from(cfg).map_err(|e| SimError::Config {
        file: dir.join(ExportManifest::FILE_NAME),
        message: e.to_string(),
    })?;
    extra.insert("simulation".into(), toml::Value::Table(sim));
    let manifest = ExportManifest {
        export_at: export_instant(&cal),
        producer: format!("recoup-sim {}", env!("CARGO_PKG_VERSION")),
        extra,
    };
    write_text_atomic(&ExportManifest::path_in(dir), &manifest.to_toml_string())?;
    Ok(counts)
}
