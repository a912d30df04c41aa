//! `recoup uplift`: argument structs and wiring.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use recoup_uplift::{EvaluationSettings, Learner, UpliftParams, UpliftTableSpec};

use crate::commands::emit;

/// Treatment effects: which treatment changes the outcome, for whom.
#[derive(Debug, Args)]
pub struct UpliftArgs {
    #[command(subcommand)]
    command: UpliftCommand,
}

#[derive(Debug, Subcommand)]
enum UpliftCommand {
    Evaluate(EvaluateArgs),
}

/// Fit uplift learners (T, X, DR on recoup's trees) on part of a table and measure them on
/// the rest: per treatment arm vs the control, uplift at 10/20/30%, the Qini coefficient and
/// AUUC; and the value (IPS, SNIPS, DR) of giving each row the arm with the largest predicted
/// effect, beside giving everyone one arm.
///
/// Any flat CSV or parquet table works: a treatment column, a 0/1 outcome, features (text
/// columns categorical). A table of `recoup features` drops its keys and other labels itself;
/// for its contact table use `--treatment treatment_id --control no_contact --propensity
/// propensity`.
#[derive(Debug, Args)]
struct EvaluateArgs {
    /// The table (.csv or .parquet).
    #[arg(long)]
    table: PathBuf,
    /// The column naming each row's arm.
    #[arg(long)]
    treatment: String,
    /// The treatment column's value of the control arm.
    #[arg(long)]
    control: String,
    /// The 0/1 outcome column.
    #[arg(long)]
    outcome: String,
    /// Columns that are not features (repeatable), e.g. other outcomes.
    #[arg(long)]
    drop: Vec<String>,
    /// The logged propensity of the arm each row received (a non-uniform logging policy);
    /// without it each arm's share of the rows is used (a randomised trial).
    #[arg(long)]
    propensity: Option<String>,
    /// Learners to fit (repeatable): t, x, dr.
    #[arg(long = "learner", default_values = ["t", "x", "dr"])]
    learners: Vec<Learner>,
    /// Trees per outcome or effect model.
    #[arg(long, default_value_t = 100)]
    trees: usize,
    #[arg(long, default_value_t = 0.05)]
    learning_rate: f64,
    #[arg(long, default_value_t = 15)]
    leaves: usize,
    #[arg(long, default_value_t = 50)]
    min_data_in_leaf: usize,
    /// An arm's cost in outcome units (repeatable, ARM=COST; others cost 0): the policy
    /// picks an arm only if its predicted effect exceeds its cost over the control's.
    #[arg(long = "cost", value_name = "ARM=COST")]
    costs: Vec<String>,
    /// Share of each arm's rows held out for the metrics.
    #[arg(long, default_value_t = 0.5)]
    test_fraction: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the evaluation as an HTML page with Qini charts.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn uplift(args: UpliftArgs) -> Result<ExitCode> {
    match args.command {
        UpliftCommand::Evaluate(a) => evaluate(a),
    }
}

fn evaluate(a: EvaluateArgs) -> Result<ExitCode> {
    let loaded = recoup_uplift::load_uplift_table(&UpliftTableSpec {
        path: a.table.clone(),
        treatment: a.treatment.clone(),
        control: a.control.clone(),
        outcome: a.outcome.clone(),
        drop: a.drop.clone(),
        propensity: a.propensity.clone(),
        extra_outcomes: Vec::new(),
    })?;
    let mut costs = vec![0.0; loaded.data.arms.len()];
    for c in &a.costs {
        let (arm, value) = c
            .split_once('=')
            .with_context(|| format!("--cost {c}: expected ARM=COST"))?;
        let k = loaded
            .data
            .arms
            .iter()
            .position(|x| x == arm)
            .with_context(|| {
                format!(
                    "--cost {c}: no arm `{arm}`; the arms are {}",
                    loaded.data.arms.join(", ")
                )
            })?;
        costs[k] = value
            .parse()
            .with_context(|| format!("--cost {c}: `{value}` is not a number"))?;
    }
    let defaults = UpliftParams::default();
    let settings = EvaluationSettings {
        learners: a.learners.clone(),
        params: UpliftParams {
            gbdt: recoup_train::GbdtParams {
                n_trees: a.trees,
                learning_rate: a.learning_rate,
                num_leaves: a.leaves,
                min_data_in_leaf: a.min_data_in_leaf,
                seed: a.seed,
                ..defaults.gbdt.clone()
            },
            seed: a.seed,
            ..defaults
        },
        test_fraction: a.test_fraction,
        costs,
    };
    let report = recoup_uplift::evaluate_learners(&loaded.data, &settings)?;
    if let Some(path) = &a.report {
        let title = format!(
            "Uplift of `{}` on `{}`: {}",
            a.treatment,
            a.outcome,
            a.table.display()
        );
        recoup_core::write_atomic(
            path,
            recoup_uplift::report::html(&report, &title).as_bytes(),
        )
        .with_context(|| format!("writing {}", path.display()))?;
        tracing::info!("wrote the report {}", path.display());
    }
    if a.json {
        emit(format_args!("{}\n", serde_json::to_string_pretty(&report)?));
        return Ok(ExitCode::SUCCESS);
    }
    emit(format_args!(
        "arms (training / test rows): {}\n",
        report
            .arms
            .iter()
            .zip(report.train_rows.iter().zip(&report.test_rows))
            .map(|(arm, (tr, te))| format!("{arm} ({tr} / {te})"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    emit(format_args!(
        "{:<8} {:<28} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7}\n",
        "learner", "arm vs control", "uplift@10", "uplift@20", "uplift@30", "Qini", "AUUC", "fit s"
    ));
    for l in &report.learners {
        for arm in &l.arms {
            emit(format_args!(
                "{:<8} {:<28} {:>9.4} {:>9.4} {:>9.4} {:>8.4} {:>8.4} {:>7.2}\n",
                l.learner.name(),
                arm.arm,
                arm.uplift_at[0].1,
                arm.uplift_at[1].1,
                arm.uplift_at[2].1,
                arm.qini_coefficient,
                arm.auuc,
                l.fit_secs
            ));
        }
    }
    emit(format_args!(
        "\nmean {} per test row (IPS ± s.e. | SNIPS | DR):\n",
        a.outcome
    ));
    let line = |name: String, v: &recoup_uplift::PolicyValue| {
        emit(format_args!(
            "{name:<44} {:.4} ± {:.4} | {:.4} | {:.4}\n",
            v.ips, v.ips_se, v.snips, v.dr
        ));
    };
    for l in &report.learners {
        line(
            format!("{}-learner, the largest predicted effect", l.learner.name()),
            &l.policy,
        );
    }
    for (arm, v) in &report.single_arm {
        line(format!("everyone: {arm}"), v);
    }
    Ok(ExitCode::SUCCESS)
}
