//! Argument structs and wiring of each subcommand.

/// Writes data to stdout, ending the process quietly when the reader has gone
/// (`recoup contract | head`) instead of panicking on a broken pipe.
pub fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(2);
    }
}

/// `println!` through [`emit`].
macro_rules! out {
    ($($t:tt)*) => { emit(format_args!("{}\n", format_args!($($t)*))) };
}

/// `print!` through [`emit`].
macro_rules! out_raw {
    ($($t:tt)*) => { emit(format_args!($($t)*)) };
}

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use recoup_core::TreatmentCatalog;
use recoup_features::{FeatureConfig, FeatureSchema};
use recoup_io::{ValidationOptions, ValidationReport, validate_dir};
use recoup_sim::{
    OutputOptions, PortfolioRates, SimConfig, SimSummary, TruthSummary, simulate as run_simulation,
};

/// Simulate a collections portfolio: raw tables of the data contract plus ground truth.
///
/// Writes accounts, account_states, payments, contacts and promises (parquet), the treatment
/// catalog (treatments.toml) and the export manifest (export.toml) into OUT, and the ground
/// truth into OUT/truth/. The same settings and seed give the same bytes.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Number of accounts.
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    /// Months of history to simulate.
    #[arg(long, default_value_t = 12)]
    months: u32,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Folder to write (created; must be empty unless --force).
    #[arg(long)]
    out: PathBuf,
    /// First as-of date (YYYY-MM-DD); the export is taken `months` later.
    #[arg(long)]
    start: Option<NaiveDate>,
    /// Share of the logging policy's decisions taken uniformly at random.
    #[arg(long)]
    exploration: Option<f64>,
    /// TOML file with simulator settings (rates, product mix; see docs/simulator.md).
    /// Command-line flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Treatment catalog (TOML) to use instead of the built-in one.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Replace OUT if it exists and is not empty.
    #[arg(long)]
    force: bool,
    /// Print the run summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Check a folder of raw tables against the data contract.
///
/// Reports every problem class (missing or extra columns, wrong types, nulls, negative amounts,
/// unknown values, duplicate or orphan ids, events after the export, contacts without consent,
/// ...) with file, column, first offending rows and values, and a count. Never modifies the
/// input. Exit code 1 when there are errors, 0 otherwise (warnings are printed).
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Folder with accounts, account_states, payments, contacts, promises (.parquet or .csv),
    /// treatments.toml and export.toml.
    dir: PathBuf,
    /// Export instant to check event dates against (RFC 3339), instead of export.toml's.
    #[arg(long)]
    export_at: Option<DateTime<Utc>>,
    /// Offending values to show per problem.
    #[arg(long, default_value_t = 5)]
    max_examples: usize,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Print the data contract: every raw table with its columns, types and rules (Markdown).
#[derive(Debug, Args)]
pub struct ContractArgs {
    /// Print the built-in treatment catalog (TOML) instead.
    #[arg(long)]
    catalog: bool,
}

/// Extract point-in-time features and labels.
///
/// `--table snapshot` (default): one row per account and as-of date. Features use only events
/// strictly before 00:00 UTC of each as-of date (account states dated at the as-of date
/// describe that instant and are used); labels use only events from it on, and are null when
/// their horizon reaches past the export.
///
/// `--table contacts`: one row per logged contact decision, for channel-response models, with
/// features as of the contact instant and its response labels (see `--explain`).
///
/// The raw folder is validated first: on contract errors nothing is written. Writes OUT
/// (parquet) and OUT.schema.json (names, dtypes, order, hash of the features).
#[derive(Debug, Args)]
pub struct FeaturesArgs {
    /// Which table to build.
    #[arg(long, value_enum, default_value_t = FeatureTable::Snapshot)]
    table: FeatureTable,
    /// Raw folder (see `recoup contract`).
    #[arg(long, required_unless_present = "explain")]
    raw: Option<PathBuf>,
    /// As-of date, or a range `FROM..TO` stepped monthly (default: the export date).
    #[arg(long)]
    asof: Option<String>,
    /// Output parquet file.
    #[arg(long, required_unless_present = "explain")]
    out: Option<PathBuf>,
    /// TOML with asof, windows_days, label_horizon_days, rate_prior_strength,
    /// contact_snapshot_every_days and a [contact_label_days] table (see docs/features.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Contact table: days between the snapshots the account features come from
    /// (overrides the config).
    #[arg(long)]
    snapshot_every_days: Option<u32>,
    /// List every feature and label with its dtype, window and meaning, then exit.
    #[arg(long)]
    explain: bool,
    /// With --explain: Markdown tables of both tables (as in docs/features.md).
    #[arg(long, requires = "explain")]
    markdown: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FeatureTable {
    /// One row per account and as-of date.
    Snapshot,
    /// One row per logged contact decision.
    Contacts,
}

/// Summarise a raw folder: delinquency roll rates, channel response rates, promise keeping.
///
/// Computed from the tables alone, so it works on real exports as well as on simulated ones;
/// for the rates the simulator is calibrated to, the documented range is shown beside them.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Folder of raw tables.
    dir: PathBuf,
    /// Print the rates as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Run the pipeline on built-in demo data: simulate a small portfolio, validate it, summarise it.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of accounts to simulate.
    #[arg(long, default_value_t = 5_000)]
    accounts: usize,
    /// Folder for the demo data (replaced on every run).
    #[arg(long, default_value = "data/demo")]
    out: PathBuf,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

pub fn simulate(args: SimulateArgs, progress: bool) -> Result<ExitCode> {
    let mut cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            SimConfig::from_toml_str(&text, path)?
        }
        None => SimConfig::default(),
    };
    cfg.accounts = args.accounts;
    cfg.months = args.months;
    cfg.seed = args.seed;
    if let Some(start) = args.start {
        cfg.start = start;
    }
    if let Some(x) = args.exploration {
        cfg.exploration = x;
    }
    let catalog = match &args.catalog {
        Some(path) => TreatmentCatalog::load(path)?,
        None => TreatmentCatalog::default_catalog(),
    };
    let options = OutputOptions {
        force: args.force,
        progress: progress && std::io::stderr().is_terminal(),
    };
    tracing::info!(accounts = cfg.accounts, months = cfg.months, seed = cfg.seed, out = %args.out.display(), "simulating");
    let summary = run_simulation(&cfg, &catalog, &args.out, &options)?;
    log_summary(&summary);
    if args.json {
        out!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn log_summary(s: &SimSummary) {
    let r = &s.rows;
    tracing::info!(
        "wrote {} in {:.1} s: {} accounts, {} account states, {} payments, {} contacts, {} promises, {} ground-truth rows; export at {}",
        s.out.display(),
        s.seconds,
        r.accounts,
        r.account_states,
        r.payments,
        r.contacts,
        r.promises,
        r.truth_treatment_effects,
        s.export_at.to_rfc3339()
    );
}

fn print_report(report: &ValidationReport) {
    for t in &report.tables {
        out!("{:<16} {:>12} rows  ({})", t.table, t.rows, t.file);
    }
    for p in &report.problems {
        out!("{p}");
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    out!(
        "{}: {errors} error{}, {warnings} warning{} (export at {})",
        report.dir.display(),
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        report.export_at.to_rfc3339()
    );
}

pub fn validate(args: ValidateArgs) -> Result<ExitCode> {
    let options = ValidationOptions {
        export_at: args.export_at,
        max_examples: args.max_examples,
    };
    let report = validate_dir(&args.dir, &options)?;
    if args.json {
        out!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn contract(args: ContractArgs) -> Result<ExitCode> {
    if args.catalog {
        out_raw!("{}", TreatmentCatalog::default_catalog().to_toml_string());
    } else {
        out_raw!("{}", recoup_core::schema::contract_markdown());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn demo(args: DemoArgs, progress: bool) -> Result<ExitCode> {
    let cfg = SimConfig {
        accounts: args.accounts,
        months: 12,
        seed: args.seed,
        ..SimConfig::default()
    };
    let catalog = TreatmentCatalog::default_catalog();
    out!(
        "== 1. simulate: {} accounts x {} months (seed {}) into {}",
        cfg.accounts,
        cfg.months,
        cfg.seed,
        args.out.display()
    );
    let options = OutputOptions {
        force: true,
        progress: progress && std::io::stderr().is_terminal(),
    };
    let summary = run_simulation(&cfg, &catalog, &args.out, &options)?;
    log_summary(&summary);

    out!("\n== 2. validate {}", args.out.display());
    let report = validate_dir(&args.out, &ValidationOptions::default())?;
    print_report(&report);
    if report.has_errors() {
        anyhow::bail!("the simulated portfolio failed validation");
    }

    out!("\n== 3. portfolio summary (computed from the tables)");
    print_rates(&PortfolioRates::from_dir(&args.out)?);

    out!("\n== 4. ground truth: what the best possible treatment choice is worth (next 30 days)");
    let truth = TruthSummary::from_dir(&args.out, &catalog)?;
    let gain = |v: f64| 100.0 * (v - truth.net_no_contact) / truth.net_no_contact.abs().max(1e-9);
    out!(
        "{} accounts in collections at the export; expected collections net of contact costs:",
        truth.accounts
    );
    out!(
        "  nobody contacted                        {:>12.0}",
        truth.net_no_contact
    );
    out!(
        "  one treatment for all ({:<16})  {:>12.0}  ({:+.1}%)",
        truth.best_single_treatment,
        truth.net_best_single_treatment,
        gain(truth.net_best_single_treatment)
    );
    out!(
        "  best treatment per account              {:>12.0}  ({:+.1}%)",
        truth.net_best_per_account,
        gain(truth.net_best_per_account)
    );
    let mut mix: Vec<(&String, &usize)> = truth.best_treatment_counts.iter().collect();
    mix.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mix: Vec<String> = mix
        .iter()
        .map(|(t, c)| {
            format!(
                "{t} {:.0}%",
                100.0 * **c as f64 / truth.accounts.max(1) as f64
            )
        })
        .collect();
    out!("  best treatment mix: {}", mix.join(", "));

    out!("\n== 5. features: one row per account and month-start as-of date (point in time)");
    let export = report.export_at.date_naive();
    let asofs: Vec<NaiveDate> = (1..=cfg.months)
        .rev()
        .filter_map(|back| export.checked_sub_months(chrono::Months::new(back - 1)))
        .filter(|d| *d > cfg.start)
        .collect();
    // Every contact's outcome window is the snapshot labels' 30 days, so that the treatment
    // models estimate payment within the horizon the ranking values.
    let fcfg = FeatureConfig {
        contact_label_days: recoup_features::ContactLabelDays {
            sms: 30,
            email: 30,
            call: 30,
            letter: 30,
            push: 30,
            none: 30,
        },
        ..FeatureConfig::default()
    };
    let started = std::time::Instant::now();
    let (mut features, schema) = recoup_features::extract(&args.out, &asofs, &fcfg)?;
    let features_path = args.out.join("features.parquet");
    recoup_features::write(&mut features, &schema, &features_path)?;
    out!(
        "{} rows x {} columns ({} features, {} labels) for {} as-of dates in {:.1} s -> {} (+ .schema.json, feature hash {})",
        features.height(),
        features.width(),
        schema.features.len(),
        schema.labels.len(),
        asofs.len(),
        started.elapsed().as_secs_f64(),
        features_path.display(),
        schema.feature_hash
    );
    let shown = [
        "account_id",
        "as_of",
        "days_past_due",
        "payments_90d",
        "paid_amount_90d",
        "response_rate_sms",
        "response_rate_call",
        "promise_kept_rate",
        "paid_30d",
    ];
    out!(
        "a few past-due rows:\n{}",
        recoup_features::summary::past_due_sample(&features, &shown, 5)?
    );
    out!(
        "\n{:<28} {:>8} {:>12} {:>12}",
        "feature (sample)",
        "null %",
        "mean",
        "max"
    );
    let sample = [
        "balance",
        "days_past_due",
        "tenure_days",
        "payments_90d",
        "days_since_last_payment",
        "attempts_call_30d",
        "response_rate_email",
        "hours_since_last_sms",
        "usual_response_hour",
        "payment_interval_cv",
        "promises_made_365d",
        "paid_30d",
        "cured_30d",
    ];
    for c in recoup_features::summary::summarize(&features, &sample)? {
        out!(
            "{:<28} {:>7.1}% {:>12.3} {:>12.3}",
            c.name,
            100.0 * c.null_share,
            c.mean.unwrap_or(f64::NAN),
            c.max.unwrap_or(f64::NAN)
        );
    }
    out!(
        "`recoup features --explain` documents all {} columns.",
        schema.columns().count()
    );

    out!("\n== 6. contact table: one row per logged contact, features as of the contact instant");
    let started = std::time::Instant::now();
    let contacts_path = args.out.join("contact_features.parquet");
    let (contacts, contact_schema) =
        recoup_features::extract_contacts(&args.out, &fcfg, &contacts_path, &|_, _| {})?;
    out!(
        "{} rows x {} columns ({} with window labels; account features from {} snapshots, every {} days) in {:.1} s -> {}",
        contacts.rows,
        contact_schema.columns().count(),
        contacts.labelled_rows,
        contacts.snapshots,
        fcfg.contact_snapshot_every_days,
        started.elapsed().as_secs_f64(),
        contacts_path.display()
    );
    out!(
        "outcomes by channel (label windows: sms/email/call/push {} days, letter {} days):\n{}",
        fcfg.contact_label_days.sms,
        fcfg.contact_label_days.letter,
        recoup_features::summary::contact_outcomes_by_channel(&contacts_path)?
    );
    out!(
        "`recoup features --table contacts --explain` documents its {} columns.",
        contact_schema.columns().count()
    );

    out!(
        "\n== 7. models: propensity to pay (snapshots), payment given the treatment and channel response (contacts)"
    );
    // The treatment models score decisions before any contact exists, so they learn from the
    // account features and the treatment only, not from the contact-instant family.
    let contact_instant: Vec<String> = contact_schema
        .features
        .iter()
        .filter(|f| f.family == "contact")
        .map(|f| f.name.clone())
        .collect();
    out!(
        "{:<30} {:>7} {:>7} {:>7} {:>7} {:>8} {:>7} {:>10} {:>9} {:>9}",
        "model",
        "train",
        "test",
        "trees",
        "AUC",
        "logloss",
        "ECE",
        "calibrated",
        "card AUC",
        "card ll"
    );
    let models = args.out.join("models");
    let mut comparison = None;
    for (name, table, target) in [
        ("propensity_to_pay", &features_path, "paid_30d"),
        ("treatment_pay", &contacts_path, "paid_in_window"),
        ("channel_response", &contacts_path, "responded"),
    ] {
        let cfg = recoup_train::RunConfig {
            name: name.into(),
            data: recoup_train::run::DataSection {
                table: table.clone(),
                target: target.into(),
                id: None,
                drop: if table == &contacts_path {
                    contact_instant.clone()
                } else {
                    Vec::new()
                },
                weight: None,
            },
            split: Default::default(),
            gbdt: recoup_train::GbdtParams {
                early_stopping_rounds: 30,
                seed: args.seed,
                // More days past due never raises the propensity to pay or to respond.
                monotone: [("days_past_due".to_owned(), -1)].into(),
                ..Default::default()
            },
            scorecard: Default::default(),
            compare_per_channel: (target == "responded").then(|| "channel".to_owned()),
        };
        let run = recoup_train::run(&cfg, &models)?;
        let (m, c) = (&run.metrics.gbdt, &run.metrics.scorecard);
        out!(
            "{:<30} {:>7} {:>7} {:>7} {:>7.4} {:>8.4} {:>7.4} {:>10} {:>9.4} {:>9.4}",
            format!("{name} ({target})"),
            m.rows_train,
            m.rows_test,
            m.trees,
            m.roc_auc,
            m.log_loss,
            m.expected_calibration_error,
            run.metrics.gbdt_calibration.chosen,
            c.roc_auc,
            c.log_loss
        );
        if let Some(cmp) = &run.metrics.channel_comparison {
            comparison = Some(cmp.clone());
        }
    }
    if let Some(cmp) = comparison {
        out!(
            "One response model with the channel as a feature vs one model per channel, same test rows: log-loss {:.4} vs {:.4}, AUC {:.4} vs {:.4}; kept: {}.",
            cmp.pooled_log_loss,
            cmp.per_channel_log_loss,
            cmp.pooled_roc_auc,
            cmp.per_channel_roc_auc,
            if cmp.better == "pooled" {
                "one model (per-channel figures in metrics.json)"
            } else {
                "per-channel models are better here; the single model is still the one saved (see metrics.json)"
            }
        );
    }
    out!(
        "Time split: trained on earlier months, tested on the latest; `card` is the weight-of-evidence scorecard baseline. Models, metrics and run files: {}/.",
        models.display()
    );

    out!(
        "\n== 8. decisions at the export date: treatments ranked per account under the contact rules and channel capacity"
    );
    let segments = args.out.join("segments.parquet");
    let segment_report = args.out.join("segments.html");
    out!(
        "recoup segment --features {} --propensity {m}/propensity_to_pay --contacts {} --truth {}/truth/customers.parquet --out {} --report {}",
        features_path.display(),
        contacts_path.display(),
        args.out.display(),
        segments.display(),
        segment_report.display(),
        m = models.display()
    );
    crate::segment::demo_step(
        &features_path,
        &models.join("propensity_to_pay"),
        &contacts_path,
        &args.out.join("truth").join("customers.parquet"),
        &segments,
        &segment_report,
    )?;
    let decisions = args.out.join("decisions.parquet");
    // A day's agent time for calls to 5% of the accounts in collections (4 minutes a call),
    // and an SMS budget for 10%.
    let call_minutes = 4 * (truth.accounts / 20).max(1);
    let sms_budget = (truth.accounts / 10).max(1);
    let settings = recoup_score::ScoreSettings {
        segments: Some(segments.clone()),
        capacity: vec![
            recoup_score::ChannelCapacity {
                channel: recoup_core::Channel::Call,
                per_day: call_minutes as f64,
                per_contact: 4.0,
            },
            recoup_score::ChannelCapacity {
                channel: recoup_core::Channel::Sms,
                per_day: sms_budget as f64,
                per_contact: 1.0,
            },
        ],
        ..Default::default()
    };
    out!(
        "recoup score --features {} --raw {} --propensity {m}/propensity_to_pay --pay {m}/treatment_pay --response {m}/channel_response --capacity call={call_minutes} --usage call=4 --capacity sms={sms_budget} --segments {} --out {}",
        features_path.display(),
        args.out.display(),
        segments.display(),
        decisions.display(),
        m = models.display()
    );
    let manifest = crate::score::run(
        &features_path,
        &args.out,
        &catalog,
        [
            &models.join("propensity_to_pay"),
            &models.join("treatment_pay"),
            &models.join("channel_response"),
        ],
        &settings,
        &decisions,
        None,
    )?;
    crate::score::print_summary(&manifest);
    let truth_value = TruthSummary::value_of_decisions(&args.out, &catalog, &decisions)?;
    out!(
        "by the ground truth, these decisions are worth {:.0} net of contact costs ({:+.1}% vs nobody contacted; the best single treatment {:+.1}%, the oracle {:+.1}%), over the {} accounts decided",
        truth_value.net_policy,
        100.0 * (truth_value.net_policy - truth_value.net_no_contact)
            / truth_value.net_no_contact.abs().max(1e-9),
        100.0 * (truth_value.net_best_single - truth_value.net_no_contact)
            / truth_value.net_no_contact.abs().max(1e-9),
        100.0 * (truth_value.net_oracle - truth_value.net_no_contact)
            / truth_value.net_no_contact.abs().max(1e-9),
        truth_value.accounts
    );
    out!(
        "\n== 9. the models as ONNX for services (ONNX Runtime in any language), and the decisions again through them"
    );
    crate::export::demo_step(
        &models,
        &features_path,
        &args.out,
        &catalog,
        &settings,
        &decisions,
        &args.out.join("decisions-onnx.parquet"),
    )?;
    out!(
        "\n== 10. treatment effects: an uplift model of the amount paid (DR-learner, logged propensities) as the pay model"
    );
    let uplift_decisions = args.out.join("decisions-uplift.parquet");
    let uplift_value = crate::uplift::demo_step(
        &contacts_path,
        &contact_instant,
        &models,
        args.seed,
        &features_path,
        &args.out,
        &catalog,
        &settings,
        &uplift_decisions,
    )?;
    out!(
        "by the ground truth, the decisions with the uplift pay model are worth {:.0} net of contact costs ({:+.1}% vs nobody contacted), against {:+.1}% with the payment model of step 7",
        uplift_value.net_policy,
        100.0 * (uplift_value.net_policy - uplift_value.net_no_contact)
            / uplift_value.net_no_contact.abs().max(1e-9),
        100.0 * (truth_value.net_policy - truth_value.net_no_contact)
            / truth_value.net_no_contact.abs().max(1e-9),
    );
    let journeys = args.out.join("journeys.json");
    out!(
        "\n== 11. journeys in closed loop: every policy for 60 days on portfolios simulated like this one (recoup journey simulate --accounts {} --seeds 3 --seed {}; personal and adaptive learn from a book of {} accounts), into {}",
        cfg.accounts,
        cfg.seed,
        crate::journey::HISTORY_ACCOUNTS.max(cfg.accounts),
        journeys.display()
    );
    crate::journey::demo_step(&cfg, &journeys)?;
    out!(
        "\nThe tables are in {0}/, the ground truth in {0}/truth/ (see data/README.md), the decisions in {1} with {2}.",
        args.out.display(),
        decisions.display(),
        recoup_score::decide::manifest_path(&decisions).display()
    );
    Ok(ExitCode::SUCCESS)
}

fn print_rates(rates: &PortfolioRates) {
    out!(
        "{} accounts; at the last as-of date {:.1}% are past due and {:.1}% charged off",
        rates.accounts,
        100.0 * rates.delinquent_at_export.value(),
        100.0 * rates.charged_off_at_export.value()
    );
    out!("contacts by channel: {:?}", rates.contacts_by_channel);
    out!(
        "logged decisions taken by exploration: {:.1}%",
        100.0 * rates.explored.value()
    );
    out!(
        "\n{:<34} {:>8} {:>10}   documented range",
        "rate",
        "observed",
        "of"
    );
    let totals: Vec<u64> = rates_denominators(rates);
    for ((name, value, (lo, hi)), total) in rates.checks().into_iter().zip(totals) {
        let mark = if (lo..=hi).contains(&value) {
            ""
        } else {
            "  <- outside"
        };
        out!(
            "{name:<34} {:>7.1}% {total:>10}   {:.0}%-{:.0}%{mark}",
            100.0 * value,
            100.0 * lo,
            100.0 * hi
        );
    }
    for (name, rate) in &rates.roll {
        if !rates
            .checks()
            .iter()
            .any(|(n, ..)| n.ends_with(name.as_str()))
        {
            out!(
                "roll {name:<29} {:>7.1}% {:>10}",
                100.0 * rate.value(),
                rate.total
            );
        }
    }
}

fn rates_denominators(r: &PortfolioRates) -> Vec<u64> {
    let roll = |k: &str| r.roll.get(k).map_or(0, |x| x.total);
    vec![
        r.current_to_delinquent.total,
        roll("1-29 -> 30-59"),
        roll("30-59 -> 60-89"),
        roll("60-89 -> 90-119"),
        roll("90-119 -> 120-149"),
        r.sms_delivered.total,
        r.email_opened.total,
        r.email_clicked.total,
        r.call_answered.total,
        r.call_right_party.total,
        r.promise_per_right_party.total,
        r.promise_kept.total,
    ]
}

pub fn summary(args: SummaryArgs) -> Result<ExitCode> {
    let rates = PortfolioRates::from_dir(&args.dir)?;
    if args.json {
        out!("{}", serde_json::to_string_pretty(&rates)?);
    } else {
        print_rates(&rates);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn features(args: FeaturesArgs) -> Result<ExitCode> {
    let cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            FeatureConfig::from_toml_str(&text, path)?
        }
        None => FeatureConfig::default(),
    };
    let mut cfg = cfg;
    if let Some(days) = args.snapshot_every_days {
        cfg.contact_snapshot_every_days = days;
    }
    cfg.check()?;
    if args.explain && args.markdown {
        out!(
            "{}",
            recoup_features::schema::features_markdown(&cfg).trim_end()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.explain {
        let schema = match args.table {
            FeatureTable::Snapshot => FeatureSchema::new(&cfg),
            FeatureTable::Contacts => FeatureSchema::contacts(&cfg),
        };
        out!(
            "{:<32} {:<8} {:<9} {:>7}  meaning",
            "column",
            "dtype",
            "family",
            "window"
        );
        for f in schema.columns() {
            let w = f.window_days.map_or_else(String::new, |w| format!("{w}d"));
            out!(
                "{:<32} {:<8} {:<9} {:>7}  {}",
                f.name,
                f.dtype.to_string(),
                f.family,
                w,
                f.doc
            );
        }
        out!("feature hash {}", schema.feature_hash);
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(raw), Some(out)) = (args.raw, args.out) else {
        anyhow::bail!("--raw and --out are required");
    };
    if args.table == FeatureTable::Contacts {
        if args.asof.is_some() {
            anyhow::bail!(
                "--asof applies to the snapshot table; the contact table has one row per contact"
            );
        }
        let started = std::time::Instant::now();
        let bar = progress_bar("snapshots");
        let (summary, schema) =
            recoup_features::extract_contacts(&raw, &cfg, &out, &|done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            })?;
        bar.finish_and_clear();
        tracing::info!(
            "wrote {} contact rows ({} with window labels, account features from {} snapshot dates) to {} in {:.1} s (feature hash {})",
            summary.rows,
            summary.labelled_rows,
            summary.snapshots,
            out.display(),
            started.elapsed().as_secs_f64(),
            schema.feature_hash
        );
        return Ok(ExitCode::SUCCESS);
    }
    let asofs = match args.asof.as_ref().or(cfg.asof.as_ref()) {
        Some(text) => recoup_features::parse_asof(text)?,
        None => {
            let m = recoup_core::ExportManifest::load_from_dir(&raw)?
                .with_context(|| format!("{}: no export.toml; pass --asof", raw.display()))?;
            vec![m.export_at.date_naive()]
        }
    };
    let started = std::time::Instant::now();
    let (mut df, schema) = recoup_features::extract(&raw, &asofs, &cfg)?;
    recoup_features::write(&mut df, &schema, &out)?;
    tracing::info!(
        "wrote {} rows x {} columns for {} as-of date(s) to {} in {:.1} s (feature hash {})",
        df.height(),
        df.width(),
        asofs.len(),
        out.display(),
        started.elapsed().as_secs_f64(),
        schema.feature_hash
    );
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub fn progress_bar(what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{{spinner}} {what} {{bar:30}} {{pos}}/{{len}} (eta {{eta}})"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    indicatif::ProgressBar::new(0).with_style(style)
}
