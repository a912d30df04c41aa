//! `recoup`: debt-collections decisioning from the command line.
#![allow(clippy::print_stdout)]

mod commands;
mod export;
mod journey;
mod models;
mod score;
mod segment;
mod train;
mod uplift;

use clap::{Parser, Subcommand};

/// recoup learns from account, payment and contact history who is likely to pay, which
/// channel each customer answers and which treatment helps, and ranks treatments per account.
///
/// Data goes to stdout or files; logs and progress go to stderr.
/// Start with `recoup demo`, which simulates a small portfolio and walks through the pipeline.
#[derive(Debug, Parser)]
#[command(
    name = "recoup",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// Only print warnings and errors on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Print debug logs on stderr.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Simulate(commands::SimulateArgs),
    Validate(commands::ValidateArgs),
    Features(commands::FeaturesArgs),
    Train(Box<train::TrainArgs>),
    Score(Box<score::ScoreArgs>),
    Export(export::ExportArgs),
    Models(models::ModelsArgs),
    Uplift(uplift::UpliftArgs),
    Journey(journey::JourneyArgs),
    Segment(segment::SegmentArgs),
    Summary(commands::SummaryArgs),
    Contract(commands::ContractArgs),
    Demo(commands::DemoArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let level = if cli.quiet {
        "warn"
    } else if cli.verbose {
        "debug"
    } else {
        "info"
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RECOUP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .init();
    let result = match cli.command {
        Command::Simulate(args) => commands::simulate(args, !cli.quiet),
        Command::Validate(args) => commands::validate(args),
        Command::Features(args) => commands::features(args),
        Command::Train(args) => train::train(*args),
        Command::Score(args) => score::score(*args),
        Command::Export(args) => export::export(args),
        Command::Models(args) => models::models(args),
        Command::Uplift(args) => uplift::uplift(args),
        Command::Journey(args) => journey::journey(args, !cli.quiet),
        Command::Segment(args) => segment::segment(args),
        Command::Summary(args) => commands::summary(args),
        Command::Contract(args) => commands::contract(args),
        Command::Demo(args) => commands::demo(args, !cli.quiet),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
