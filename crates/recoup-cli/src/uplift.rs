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
    Train(TrainArgs),
}

/// The table an uplift model learns from.
#[derive(Debug, Args)]
struct TableArgs {
    /// The table (.csv or .parquet).
    #[arg(long)]
    table: PathBuf,
    /// The column naming each row's arm.
    #[arg(long)]
    treatment: String,
    /// The treatment column's value of the control arm.
    #[arg(long)]
    control: String,
    /// The outcome column: 0/1, or real-valued such as an amount paid.
    #[arg(long)]
    outcome: String,
    /// Columns that are not features (repeatable), e.g. other outcomes.
    #[arg(long)]
    drop: Vec<String>,
    /// The logged propensity of the arm each row received (a non-uniform logging policy);
    /// without it each arm's share of the rows is used (a randomised trial).
    #[arg(long)]
    propensity: Option<String>,
}

impl TableArgs {
    fn load(&self) -> Result<recoup_uplift::LoadedUplift> {
        Ok(recoup_uplift::load_uplift_table(&UpliftTableSpec {
            path: self.table.clone(),
            treatment: self.treatment.clone(),
            control: self.control.clone(),
            outcome: self.outcome.clone(),
            drop: self.drop.clone(),
            propensity: self.propensity.clone(),
            extra_outcomes: Vec::new(),
        })?)
    }
}

/// The trees of every outcome and effect model.
#[derive(Debug, Args)]
struct TreeArgs {
    /// Trees per outcome or effect model.
    #[arg(long, default_value_t = 100)]
    trees: usize,
    #[arg(long, default_value_t = 0.05)]
    learning_rate: f64,
    #[arg(long, default_value_t = 15)]
    leaves: usize,
    #[arg(long, default_value_t = 50)]
    min_data_in_leaf: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

impl TreeArgs {
    fn params(&self, learner: Learner) -> UpliftParams {
        let defaults = UpliftParams::default();
        UpliftParams {
            learner,
            gbdt: recoup_train::GbdtParams {
                n_trees: self.trees,
                learning_rate: self.learning_rate,
                num_leaves: self.leaves,
                min_data_in_leaf: self.min_data_in_leaf,
                seed: self.seed,
                ..defaults.gbdt.clone()
            },
            seed: self.seed,
            ..defaults
        }
    }
}

/// Fit an uplift learner on a whole table and save it as the next version of
/// models/NAME/ (uplift.json, with the run's settings), for `recoup score --pay`.
///
/// The scorer matches each catalog treatment to its arm by id and takes the model's outcome
/// under the control plus the treatment's effect: the probability of a payment for a 0/1
/// outcome (`paid_in_window`), the amount collected for an amount (`amount_paid_in_window`,
/// the better one on the simulator). Train it on the feature stage's contact table:
/// `--treatment treatment_id --control no_contact --propensity propensity`, dropping the
/// contact-instant features (a decision has no contact yet). Features must be numeric.
/// Measure it first with `recoup uplift evaluate`.
#[derive(Debug, Args)]
struct TrainArgs {
    #[command(flatten)]
    table: TableArgs,
    #[command(flatten)]
    trees: TreeArgs,
    /// The learner: t, x or dr.
    #[arg(long, default_value = "dr")]
    learner: Learner,
    /// Model name (the folder under --models).
    #[arg(long)]
    name: String,
    /// Registry folder.
    #[arg(long, default_value = "models")]
    models: PathBuf,
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
    #[command(flatten)]
    table: TableArgs,
    #[command(flatten)]
    trees: TreeArgs,
    /// Learners to fit (repeatable): t, x, dr.
    #[arg(long = "learner", default_values = ["t", "x", "dr"])]
    learners: Vec<Learner>,
    /// An arm's cost in outcome units (repeatable, ARM=COST; others cost 0): the policy
    /// picks an arm only if its predicted effect exceeds its cost over the control's.
    #[arg(long = "cost", value_name = "ARM=COST")]
    costs: Vec<String>,
    /// Share of each arm's rows held out for the metrics.
    #[arg(long, default_value_t = 0.5)]
    test_fraction: f64,
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
        UpliftCommand::Train(a) => train(a),
    }
}

fn evaluate(a: EvaluateArgs) -> Result<ExitCode> {
    let loaded = a.table.load()?;
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
    let settings = EvaluationSettings {
        learners: a.learners.clone(),
        params: a.trees.params(Learner::T),
        test_fraction: a.test_fraction,
        costs,
    };
    let report = recoup_uplift::evaluate_learners(&loaded.data, &settings)?;
    if let Some(path) = &a.report {
        let title = format!(
            "Uplift of `{}` on `{}`: {}",
            a.table.treatment,
            a.table.outcome,
            a.table.table.display()
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
        a.table.outcome
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

/// Fits `params` on the table, saves the model as the next version of `models/NAME/` with the
/// run's settings in `run.json`, and returns the version folder and the loaded table.
fn train_and_save(
    table: &TableArgs,
    params: &UpliftParams,
    models: &std::path::Path,
    name: &str,
) -> Result<(PathBuf, recoup_uplift::LoadedUplift)> {
    let loaded = table.load()?;
    let model = recoup_uplift::fit(params, &loaded.data)?;
    let bytes = std::fs::read(&table.table)
        .with_context(|| format!("reading {}", table.table.display()))?;
    let file = model.to_model_file(
        &loaded.data.features,
        &recoup_uplift::ModelFileInfo {
            outcome: &table.outcome,
            treatment_column: &table.treatment,
            dtypes: &loaded.dtypes,
            training_fingerprint: blake3::hash(&bytes).to_hex()[..32].to_owned(),
            seed: params.seed,
        },
    )?;
    let run = serde_json::json!({
        "table": table.table,
        "treatment": table.treatment,
        "control": table.control,
        "outcome": table.outcome,
        "drop": table.drop,
        "propensity": table.propensity,
        "params": params,
    });
    let dir = recoup_uplift::save_version(
        models,
        name,
        &file,
        &[("run.json", serde_json::to_vec_pretty(&run)?)],
    )?;
    Ok((dir, loaded))
}

fn train(a: TrainArgs) -> Result<ExitCode> {
    let params = a.trees.params(a.learner);
    let (dir, loaded) = train_and_save(&a.table, &params, &a.models, &a.name)?;
    let counts = loaded.data.counts();
    emit(format_args!(
        "wrote {}: {}-learner of `{}` on {} rows, arms {}\n",
        dir.join("uplift.json").display(),
        a.learner.name(),
        a.table.outcome,
        loaded.data.arm.len(),
        loaded
            .data
            .arms
            .iter()
            .zip(counts)
            .map(|(arm, n)| format!("{arm} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(ExitCode::SUCCESS)
}

/// The demo's uplift step: a DR-learner on the contact table (logged propensities, outcome
/// `amount_paid_in_window`, without the contact-instant features) saved as `models/pay_uplift`,
/// so that the scorer takes the amount collected from it, the
/// portfolio scored again with it as the pay model, and what the ground truth says the
/// decisions are worth.
#[allow(clippy::too_many_arguments)]
pub fn demo_step(
    contacts: &std::path::Path,
    contact_instant: &[String],
    models: &std::path::Path,
    seed: u64,
    features: &std::path::Path,
    raw: &std::path::Path,
    catalog: &recoup_core::TreatmentCatalog,
    settings: &recoup_score::ScoreSettings,
    decisions: &std::path::Path,
) -> Result<recoup_sim::PolicyValue> {
    let table = TableArgs {
        table: contacts.to_path_buf(),
        treatment: "treatment_id".into(),
        control: "no_contact".into(),
        outcome: "amount_paid_in_window".into(),
        drop: contact_instant.to_vec(),
        propensity: Some("propensity".into()),
    };
    let defaults = UpliftParams::default();
    let params = UpliftParams {
        learner: Learner::Dr,
        gbdt: recoup_train::GbdtParams {
            seed,
            ..defaults.gbdt.clone()
        },
        seed,
        ..defaults
    };
    let started = std::time::Instant::now();
    let (dir, loaded) = train_and_save(&table, &params, models, "pay_uplift")?;
    emit(format_args!(
        "recoup uplift train --table {} --treatment treatment_id --control no_contact --outcome amount_paid_in_window --propensity propensity (contact-instant features dropped) --name pay_uplift: {} rows, {} arms, {:.1} s, into {}\n",
        contacts.display(),
        loaded.data.arm.len(),
        loaded.data.arms.len(),
        started.elapsed().as_secs_f64(),
        dir.display()
    ));
    let uplift = models.join("pay_uplift");
    let manifest = crate::score::run(
        features,
        raw,
        catalog,
        [
            &models.join("propensity_to_pay"),
            &uplift,
            &models.join("channel_response"),
        ],
        settings,
        decisions,
        None,
    )?;
    crate::score::print_summary(&manifest);
    Ok(recoup_sim::TruthSummary::value_of_decisions(
        raw, catalog, decisions,
    )?)
}
