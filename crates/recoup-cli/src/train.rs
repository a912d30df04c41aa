//! `recoup train`: argument struct and wiring.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use recoup_train::run::{DataSection, RunConfig, SplitSection};
use recoup_train::{GbdtParams, run};

use crate::commands::emit;

/// Train a propensity model (gradient-boosted trees) on a table and write a versioned model
/// folder: models/NAME/vN/ with model.json (header with feature schema, fingerprint, params,
/// checksum), metrics.json and run.toml.
///
/// Settings come from a TOML run file (--config) and/or the flags below; flags override the
/// file. Any flat CSV or parquet table works ("bring your own table"): numeric and boolean
/// columns are features, text columns categorical features; `NA` and empty fields are missing.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// TOML run file: name, [data] table/target/id/drop, [split], [gbdt].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Table to train on (.csv or .parquet).
    #[arg(long)]
    table: Option<PathBuf>,
    /// Binary target column (0/1, true/false, or two text values such as yes/no).
    #[arg(long)]
    target: Option<String>,
    /// Row id column (not a feature). A nameless first column is taken as the id.
    #[arg(long)]
    id: Option<String>,
    /// Sample weight column (not a feature).
    #[arg(long)]
    weight: Option<String>,
    /// Columns to leave out (repeatable), e.g. ones that leak the outcome.
    #[arg(long = "drop")]
    drop: Vec<String>,
    /// Model name (the folder under --models); defaults to the table's file stem.
    #[arg(long)]
    name: Option<String>,
    /// Registry folder.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Number of trees.
    #[arg(long)]
    trees: Option<usize>,
    /// Learning rate.
    #[arg(long)]
    learning_rate: Option<f64>,
    /// Leaves per tree.
    #[arg(long)]
    leaves: Option<usize>,
    /// Stop after this many trees without validation improvement (0: off).
    #[arg(long)]
    early_stopping: Option<usize>,
    /// Stratified k-fold cross-validation on the training rows (0: off).
    #[arg(long)]
    folds: Option<usize>,
    /// Share of rows held out for the reported metrics.
    #[arg(long)]
    test_fraction: Option<f64>,
    /// Seed of the split and of the trees.
    #[arg(long)]
    seed: Option<u64>,
    /// Also train one model per level of this text column (e.g. channel) and compare with the
    /// single model on the same test rows.
    #[arg(long, value_name = "COLUMN")]
    compare_per_channel: Option<String>,
    /// Worker threads (0: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn config_from(args: &TrainArgs) -> Result<RunConfig> {
    let mut cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let mut cfg: RunConfig =
                toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
            // A relative table path is relative to the run file.
            if cfg.data.table.is_relative()
                && let Some(dir) = path.parent()
            {
                cfg.data.table = dir.join(&cfg.data.table);
            }
            cfg
        }
        None => {
            let table = args
                .table
                .clone()
                .context("give --table and --target, or a run file with --config")?;
            let target = args
                .target
                .clone()
                .context("--target is required with --table")?;
            RunConfig {
                name: table
                    .file_stem()
                    .map(|s| {
                        s.to_string_lossy()
                            .replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "-")
                    })
                    .unwrap_or_else(|| "model".into()),
                data: DataSection {
                    table,
                    target,
                    id: None,
                    drop: Vec::new(),
                    weight: None,
                },
                split: SplitSection::default(),
                gbdt: GbdtParams::default(),
                scorecard: Default::default(),
                compare_per_channel: None,
            }
        }
    };
    if let Some(t) = &args.table {
        cfg.data.table = t.clone();
    }
    if let Some(t) = &args.target {
        cfg.data.target = t.clone();
    }
    if args.weight.is_some() {
        cfg.data.weight = args.weight.clone();
    }
    if args.id.is_some() {
        cfg.data.id = args.id.clone();
    }
    cfg.data.drop.extend(args.drop.iter().cloned());
    if let Some(n) = &args.name {
        cfg.name = n.clone();
    }
    if args.compare_per_channel.is_some() {
        cfg.compare_per_channel = args.compare_per_channel.clone();
    }
    let g = &mut cfg.gbdt;
    g.n_trees = args.trees.unwrap_or(g.n_trees);
    g.learning_rate = args.learning_rate.unwrap_or(g.learning_rate);
    g.num_leaves = args.leaves.unwrap_or(g.num_leaves);
    g.early_stopping_rounds = args.early_stopping.unwrap_or(g.early_stopping_rounds);
    g.threads = args.threads.unwrap_or(g.threads);
    let s = &mut cfg.split;
    s.folds = args.folds.unwrap_or(s.folds);
    s.test_fraction = args.test_fraction.unwrap_or(s.test_fraction);
    if let Some(seed) = args.seed {
        s.seed = seed;
        g.seed = seed;
    }
    Ok(cfg)
}

pub fn train(args: TrainArgs) -> Result<ExitCode> {
    let cfg = config_from(&args)?;
    tracing::info!(
        "training `{}` on {} (target `{}`)",
        cfg.name,
        cfg.data.table.display(),
        cfg.data.target
    );
    let started = std::time::Instant::now();
    let out = run(&cfg, &args.models)?;
    for n in &out.notes {
        tracing::info!("{n}");
    }
    let m = &out.metrics.gbdt;
    let c = &out.metrics.scorecard;
    tracing::info!(
        "wrote {} in {:.1} s",
        out.dir.display(),
        started.elapsed().as_secs_f64()
    );
    emit(format_args!(
        "model\t{}\nversion\t{}\nrows_train\t{}\nrows_test\t{}\ntrees\t{}\nroc_auc\t{:.4}\ngini\t{:.4}\nks\t{:.4}\nlog_loss\t{:.4}\nbrier\t{:.4}\nece\t{:.4}\n",
        cfg.name,
        out.version,
        m.rows_train,
        m.rows_test,
        m.trees,
        m.roc_auc,
        m.gini,
        m.ks,
        m.log_loss,
        m.brier,
        m.expected_calibration_error
    ));
    emit(format_args!(
        "calibration\t{}\nscorecard_roc_auc\t{:.4}\nscorecard_log_loss\t{:.4}\n",
        out.metrics.gbdt_calibration.chosen, c.roc_auc, c.log_loss
    ));
    if let Some(cmp) = &out.metrics.channel_comparison {
        for c in &cmp.channels {
            emit(format_args!(
                "per_channel\t{}\tpooled_auc {:.4}\tper_channel_auc {:.4}\tpooled_log_loss {:.4}\tper_channel_log_loss {:.4}\n",
                c.channel,
                c.pooled_roc_auc,
                c.per_channel_roc_auc,
                c.pooled_log_loss,
                c.per_channel_log_loss
            ));
        }
        emit(format_args!(
            "per_channel\tall\tpooled_auc {:.4}\tper_channel_auc {:.4}\tpooled_log_loss {:.4}\tper_channel_log_loss {:.4}\tbetter {}\n",
            cmp.pooled_roc_auc,
            cmp.per_channel_roc_auc,
            cmp.pooled_log_loss,
            cmp.per_channel_log_loss,
            cmp.better
        ));
    }
    if let Some((mean, sd)) = m.cv_roc_auc {
        emit(format_args!("cv_roc_auc\t{mean:.4} ± {sd:.4}\n"));
    }
    for imp in m.importance.iter().take(5) {
        emit(format_args!(
            "importance\t{}\t{:.1}\t{}\n",
            imp.feature, imp.gain, imp.splits
        ));
    }
    Ok(ExitCode::SUCCESS)
}
