//! `recoup journey`: argument structs and wiring.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use recoup_core::{Channel, TreatmentCatalog};
use recoup_journey::compare::{ComparisonSpec, Figures, PolicySummary};
use recoup_journey::run::Estimate;
use recoup_journey::{
    AdaptiveSettings, Comparison, EnvSettings, JourneyRules, JourneyTemplates, PolicyKind,
    RunSettings,
};

use crate::commands::emit;

/// Treatment journeys: policies run day after day against the simulator in closed loop.
#[derive(Debug, Args)]
pub struct JourneyArgs {
    #[command(subcommand)]
    command: JourneyCommand,
}

#[derive(Debug, Subcommand)]
enum JourneyCommand {
    Simulate(SimulateArgs),
    Templates(TemplatesArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PolicyArg {
    /// Contact nobody.
    None,
    /// The journey templates (`recoup journey templates`), step by step.
    Champion,
    /// Next-best-action each day, learnt from the history and each customer's responses.
    Adaptive,
    /// The journey templates, each step sent at the hour the customer answers (learnt from
    /// their responses).
    Personal,
}

impl From<PolicyArg> for PolicyKind {
    fn from(p: PolicyArg) -> Self {
        match p {
            PolicyArg::None => PolicyKind::None,
            PolicyArg::Champion => PolicyKind::Champion,
            PolicyArg::Adaptive => PolicyKind::Adaptive,
            PolicyArg::Personal => PolicyKind::Personal,
        }
    }
}

/// Run policies in closed loop on simulated portfolios and compare them.
///
/// For each seed, simulates a portfolio of ACCOUNTS over MONTHS months, takes the accounts in
/// collections at the export and runs every policy on them for DAYS days with the same random
/// draws (common random numbers). Prints per policy the amount collected, cure rate, contacts
/// per account and channel, cost, opt-outs, contacts after an opt-out and rule violations
/// (both must be 0), as means with 95% confidence intervals over the seeds, then per starting
/// stage. The same settings give the same bytes.
#[derive(Debug, Args)]
struct SimulateArgs {
    /// Policies to run (repeatable); the first one that is not `none` is the reference of the
    /// paired differences.
    #[arg(long = "policy", value_enum, default_values_t = [PolicyArg::None, PolicyArg::Champion, PolicyArg::Personal, PolicyArg::Adaptive])]
    policies: Vec<PolicyArg>,
    /// Days of the journey.
    #[arg(long, default_value_t = 60)]
    days: i32,
    /// Accounts simulated per seed (about 15% are in collections at the export).
    #[arg(long, default_value_t = 20_000)]
    accounts: usize,
    /// Months of history before the export.
    #[arg(long, default_value_t = 12)]
    months: u32,
    /// Accounts of the lender's book whose logged history the personal and adaptive policies
    /// learn from: accounts 0..HISTORY_ACCOUNTS are simulated and their decisions logged,
    /// journeys run on those of 0..ACCOUNTS in collections (raised to ACCOUNTS if smaller).
    #[arg(long, default_value_t = HISTORY_ACCOUNTS)]
    history_accounts: usize,
    /// First seed; seeds SEED..SEED+SEEDS are run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 5)]
    seeds: u32,
    /// Journey templates (TOML) for the champion; default: the built-in ones.
    #[arg(long)]
    templates: Option<PathBuf>,
    /// Contacts of any channel in any seven days.
    #[arg(long, default_value_t = 3)]
    max_contacts_per_week: u32,
    /// Adaptive policy: days between two contacts of one account.
    #[arg(long, default_value_t = AdaptiveSettings::default().min_gap_days)]
    min_gap_days: i32,
    /// Adaptive policy: days without contact after the customer responded.
    #[arg(long, default_value_t = AdaptiveSettings::default().hold_after_response_days)]
    hold_after_response_days: i32,
    /// Adaptive policy: net value a contact must be expected to add.
    #[arg(long, default_value_t = AdaptiveSettings::default().min_value)]
    min_value: f64,
    /// Adaptive policy: standard errors taken off each learnt treatment value.
    #[arg(long, default_value_t = AdaptiveSettings::default().lift_standard_errors)]
    lift_standard_errors: f64,
    /// Adaptive policy: what an opt-out costs (a lost channel, a complaint), charged to each
    /// contact at the channel's opt-out rate.
    #[arg(long, default_value_t = AdaptiveSettings::default().opt_out_cost)]
    opt_out_cost: f64,
    /// Write the whole comparison (every run, sample journeys) as JSON.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write an HTML report: the comparison and timelines of sample journeys per segment.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print JSON on stdout instead of tables.
    #[arg(long)]
    json: bool,
}

/// Print the built-in journey templates (TOML), a starting point for `--templates`.
#[derive(Debug, Args)]
struct TemplatesArgs {}

pub fn journey(args: JourneyArgs, progress: bool) -> Result<ExitCode> {
    match args.command {
        JourneyCommand::Simulate(a) => simulate(a, progress),
        JourneyCommand::Templates(_) => {
            emit(format_args!("{}", JourneyTemplates::default_toml()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn simulate(args: SimulateArgs, progress: bool) -> Result<ExitCode> {
    let catalog = TreatmentCatalog::default_catalog();
    let templates = match &args.templates {
        Some(path) => JourneyTemplates::load(path, &catalog)?,
        None => JourneyTemplates::default_templates(&catalog)?,
    };
    let mut policies: Vec<PolicyKind> = Vec::new();
    for p in args.policies {
        let k = PolicyKind::from(p);
        if !policies.contains(&k) {
            policies.push(k);
        }
    }
    let spec = ComparisonSpec {
        sim: recoup_sim::SimConfig {
            accounts: args.accounts,
            months: args.months,
            ..Default::default()
        },
        catalog,
        policies,
        templates,
        adaptive: AdaptiveSettings {
            min_gap_days: args.min_gap_days,
            hold_after_response_days: args.hold_after_response_days,
            min_value: args.min_value,
            lift_standard_errors: args.lift_standard_errors,
            opt_out_cost: args.opt_out_cost,
            ..AdaptiveSettings::default()
        },
        run: RunSettings {
            days: args.days,
            seed: args.seed,
            env: EnvSettings::default(),
            rules: JourneyRules {
                max_contacts_per_week: args.max_contacts_per_week,
                ..Default::default()
            },
        },
        seeds: args.seeds,
        history_accounts: Some(args.history_accounts.max(args.accounts)),
        sample_journeys: 3,
    };
    let bar = if progress {
        crate::commands::progress_bar("seeds")
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_length(u64::from(args.seeds));
    let comparison = recoup_journey::compare(&spec, |done, _| bar.set_position(u64::from(done)))?;
    bar.finish_and_clear();
    let json = serde_json::to_string_pretty(&comparison).context("serialising the comparison")?;
    if let Some(out) = &args.out {
        recoup_io::write_text_atomic(out, &json)?;
        tracing::info!("wrote {}", out.display());
    }
    if let Some(report) = &args.report {
        recoup_io::write_text_atomic(
            report,
            &recoup_journey::report::html(&comparison, &spec.catalog),
        )?;
        tracing::info!("wrote {}", report.display());
    }
    if args.json {
        emit(format_args!("{json}\n"));
    } else {
        print_comparison(&comparison, false);
    }
    let broken = comparison
        .policies
        .iter()
        .any(|p| p.all.violations > 0 || p.all.contacts_after_opt_out > 0);
    Ok(if broken {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The book whose history the adaptive and personal policies learn from, by default: with the
/// journey portfolio's own 50,000 accounts the learnt lifts are too noisy to beat the champion
/// (docs/journeys.md, learning curve).
pub const HISTORY_ACCOUNTS: usize = 500_000;

/// The demo's last step: every policy in closed loop for 60 days on portfolios simulated like
/// the demo's, over three seeds from the demo's; the comparison is written to `out`.
pub fn demo_step(sim: &recoup_sim::SimConfig, out: &std::path::Path) -> Result<()> {
    let catalog = TreatmentCatalog::default_catalog();
    let templates = JourneyTemplates::default_templates(&catalog)?;
    let spec = ComparisonSpec {
        sim: sim.clone(),
        catalog,
        policies: vec![
            PolicyKind::None,
            PolicyKind::Champion,
            PolicyKind::Personal,
            PolicyKind::Adaptive,
        ],
        templates,
        adaptive: AdaptiveSettings::default(),
        run: RunSettings {
            days: 60,
            seed: sim.seed,
            env: EnvSettings::default(),
            rules: JourneyRules::default(),
        },
        seeds: 3,
        history_accounts: Some(HISTORY_ACCOUNTS.max(sim.accounts)),
        sample_journeys: 3,
    };
    let comparison = recoup_journey::compare(&spec, |_, _| {})?;
    let json = serde_json::to_string_pretty(&comparison).context("serialising the comparison")?;
    recoup_io::write_text_atomic(out, &json)?;
    recoup_io::write_text_atomic(
        &out.with_extension("html"),
        &recoup_journey::report::html(&comparison, &spec.catalog),
    )?;
    print_comparison(&comparison, true);
    Ok(())
}

fn est(e: &Estimate, digits: usize) -> String {
    if e.half_width.is_nan() {
        format!("{:.*}", digits, e.mean)
    } else {
        format!("{:.*} ± {:.*}", digits, e.mean, digits, e.half_width)
    }
}

fn pct(e: &Estimate) -> String {
    if e.half_width.is_nan() {
        format!("{:.1}%", 100.0 * e.mean)
    } else {
        format!("{:.1}% ± {:.1}", 100.0 * e.mean, 100.0 * e.half_width)
    }
}

/// Prints the comparison as Markdown tables (`brief`: the policy table and the paired
/// differences only).
pub fn print_comparison(c: &Comparison, brief: bool) {
    let accounts: usize =
        c.accounts_per_seed.iter().sum::<usize>() / c.accounts_per_seed.len().max(1);
    emit(format_args!(
        "{} days, {} seed(s) ({}..={}), about {} accounts in collections per seed; means ± 95% CI over seeds\n",
        c.days,
        c.seeds.len(),
        c.seeds.first().copied().unwrap_or(0),
        c.seeds.last().copied().unwrap_or(0),
        accounts
    ));
    let decisions = c.history_decisions_per_seed.iter().sum::<usize>()
        / c.history_decisions_per_seed.len().max(1);
    emit(format_args!(
        "personal and adaptive learnt from the logged history of a book of {} accounts (about {} decisions per seed)\n\n",
        c.history_accounts, decisions
    ));
    emit(format_args!(
        "| policy | collected / account | net / account | cure rate | contacts / account | cost / account | opt-outs / 1000 | contacts after opt-out | rule violations |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    ));
    for p in &c.policies {
        emit(format_args!(
            "| {} | {} |\n",
            p.policy.as_str(),
            figure_cells(&p.all)
        ));
    }
    if let Some(r) = c.reference {
        emit(format_args!(
            "\nPaired with {} on the same seeds and draws (this minus {}):\n\n| policy | collected / account | contacts / account |\n|---|---:|---:|\n",
            r.as_str(),
            r.as_str()
        ));
        for p in &c.policies {
            if let (Some(a), Some(b)) = (&p.collected_vs_reference, &p.contacts_vs_reference) {
                emit(format_args!(
                    "| {} | {} | {} |\n",
                    p.policy.as_str(),
                    est(a, 2),
                    est(b, 2)
                ));
            }
        }
    }
    if brief {
        return;
    }
    emit(format_args!(
        "\nContacts per account by channel:\n\n| policy | {} |\n|---|{}\n",
        Channel::CONTACTABLE
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
        "---:|".repeat(Channel::CONTACTABLE.len())
    ));
    for p in &c.policies {
        emit(format_args!(
            "| {} | {} |\n",
            p.policy.as_str(),
            p.all
                .contacts_per_account_by_channel
                .iter()
                .map(|v| format!("{v:.2}"))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    emit(format_args!(
        "\nBy stage at the start of the journey:\n\n| stage | accounts / seed | policy | collected / account | net / account | cure rate | contacts / account | cost / account | opt-outs / 1000 | after opt-out | violations |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    ));
    for stage in recoup_journey::Stage::ALL {
        for p in &c.policies {
            print_group(stage.as_str(), p.by_stage.get(&stage), p);
        }
    }
    emit(format_args!(
        "\nBy ability/willingness segment at the start (from the record before the export):\n\n| segment | accounts / seed | policy | collected / account | net / account | cure rate | contacts / account | cost / account | opt-outs / 1000 | after opt-out | violations |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    ));
    for q in recoup_journey::portfolio::Quadrant::ALL {
        for p in &c.policies {
            print_group(q.as_str(), p.by_segment.get(&q), p);
        }
    }
}

fn print_group(name: &str, group: Option<&Figures>, p: &PolicySummary) {
    if let Some(f) = group {
        emit(format_args!(
            "| {} | {:.0} | {} | {} |\n",
            name,
            f.accounts_per_seed,
            p.policy.as_str(),
            figure_cells(f)
        ));
    }
}

/// Collected, net, cure rate, contacts, cost, opt-outs, contacts after opt-out and violations,
/// as Markdown cells.
fn figure_cells(f: &Figures) -> String {
    format!(
        "{} | {} | {} | {} | {} | {} | {} | {}",
        est(&f.collected_per_account, 2),
        est(&f.net_per_account, 2),
        pct(&f.cure_rate),
        est(&f.contacts_per_account, 2),
        est(&f.cost_per_account, 3),
        est(&f.opt_outs_per_1000, 1),
        f.contacts_after_opt_out,
        f.violations
    )
}
