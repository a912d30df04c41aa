//! `recoup score`: argument struct and wiring.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::Args;
use recoup_core::{Channel, TreatmentCatalog};
use recoup_score::decide::manifest_path;
use recoup_score::{ChannelCapacity, Models, RunManifest, ScoreSettings, ScoringModel};

use crate::commands::emit;

/// Rank the catalog's treatments for every account in collections and write one decision per
/// account (parquet) with a run manifest (JSON) beside it.
///
/// Reads a snapshot table (`recoup features`) at one as-of date, the raw folder's accounts
/// and contacts (time zones, consent, do-not-contact flags, recent calls), and three models:
/// propensity to pay (snapshot table), payment given the treatment and response on its
/// channel (contact table, reading `treatment_id`/`channel`). Models are recoup model folders
/// (`models/NAME`, `models/NAME/vN`) or ONNX files. Contact rules: consent, do-not-contact,
/// Regulation F call limits, local contact hours; per-channel daily capacity is shared out
/// across the portfolio.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Snapshot table (parquet) with the features of the as-of date.
    #[arg(long)]
    features: PathBuf,
    /// Raw folder with accounts.parquet and contacts.parquet (and treatments.toml).
    #[arg(long)]
    raw: PathBuf,
    /// Propensity-to-pay model.
    #[arg(long)]
    propensity: PathBuf,
    /// Model of payment given the treatment.
    #[arg(long)]
    pay: PathBuf,
    /// Model of response on the treatment's channel.
    #[arg(long)]
    response: PathBuf,
    /// Treatment catalog (TOML); default: RAW/treatments.toml, else the built-in catalog.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// As-of date to score (YYYY-MM-DD); default: the latest in the table.
    #[arg(long)]
    asof: Option<NaiveDate>,
    /// Decisions file to write (parquet).
    #[arg(long)]
    out: PathBuf,
    /// Run manifest to write; default: OUT with `.manifest.json` for `.parquet`.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Daily capacity of a channel, CHANNEL=UNITS (repeatable), e.g. call=2000 (minutes).
    #[arg(long = "capacity", value_name = "CHANNEL=UNITS")]
    capacity: Vec<String>,
    /// Units of capacity one contact uses, CHANNEL=UNITS (repeatable; default 1), e.g. call=4.
    #[arg(long = "usage", value_name = "CHANNEL=UNITS")]
    usage: Vec<String>,
    /// Alternatives kept per account.
    #[arg(long, default_value_t = 3)]
    top_k: usize,
    /// Reason codes per account.
    #[arg(long, default_value_t = 3)]
    reasons: usize,
    /// Fewest days past due that gets a decision.
    #[arg(long, default_value_t = 1)]
    min_dpd: i64,
    /// Rows per input batch.
    #[arg(long, default_value_t = 65_536)]
    batch_rows: usize,
    /// Segment per account (`recoup segment --out`): written with each decision and counted
    /// per treatment in the manifest.
    #[arg(long)]
    segments: Option<PathBuf>,
    /// Treatments not offered per segment (TOML: `[[segment]]` with `name` and `exclude`, a
    /// list of treatment ids; needs --segments). Excluded options carry rule `segment_policy`.
    #[arg(long, requires = "segments")]
    segment_policy: Option<PathBuf>,
    /// First local hour a contact may start.
    #[arg(long, default_value_t = 8)]
    earliest_hour: u32,
    /// Local hour by which contacts end.
    #[arg(long, default_value_t = 21)]
    latest_hour: u32,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

fn channel_values(items: &[String], flag: &str) -> Result<Vec<(Channel, f64)>> {
    items
        .iter()
        .map(|s| {
            let (c, v) = s
                .split_once('=')
                .with_context(|| format!("--{flag} `{s}`: expected CHANNEL=UNITS"))?;
            let channel: Channel = c.parse().with_context(|| format!("--{flag} `{s}`"))?;
            let value: f64 = v
                .parse()
                .with_context(|| format!("--{flag} `{s}`: `{v}` is not a number"))?;
            Ok((channel, value))
        })
        .collect()
}

/// The catalog of a raw folder, or the built-in one.
pub fn catalog_for(raw: &Path, explicit: Option<&Path>) -> Result<TreatmentCatalog> {
    let path = explicit.map_or_else(|| TreatmentCatalog::path_in(raw), Path::to_path_buf);
    if explicit.is_some() || path.is_file() {
        Ok(TreatmentCatalog::load(&path)?)
    } else {
        Ok(TreatmentCatalog::default_catalog())
    }
}

pub fn score(args: ScoreArgs) -> Result<ExitCode> {
    let capacity = channel_values(&args.capacity, "capacity")?;
    let usage = channel_values(&args.usage, "usage")?;
    for (c, _) in &usage {
        if !capacity.iter().any(|(d, _)| d == c) {
            bail!("--usage {c}=...: {c} has no --capacity");
        }
    }
    let settings = ScoreSettings {
        asof: args.asof,
        min_days_past_due: args.min_dpd,
        top_k: args.top_k,
        reason_codes: args.reasons,
        batch_rows: args.batch_rows,
        rules: recoup_score::rules::RuleSettings {
            earliest_hour: args.earliest_hour,
            latest_hour: args.latest_hour,
            ..Default::default()
        },
        capacity: capacity
            .iter()
            .map(|&(channel, per_day)| ChannelCapacity {
                channel,
                per_day,
                per_contact: usage
                    .iter()
                    .find(|(c, _)| *c == channel)
                    .map_or(1.0, |u| u.1),
            })
            .collect(),
        segments: args.segments.clone(),
        segment_policy: None,
    };
    let catalog = catalog_for(&args.raw, args.catalog.as_deref())?;
    let settings = ScoreSettings {
        segment_policy: args
            .segment_policy
            .as_deref()
            .map(|p| recoup_score::segment_policy::SegmentPolicy::load(p, &catalog))
            .transpose()?,
        ..settings
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .context("starting the worker threads")?;
    let manifest = pool.install(|| {
        run(
            &args.features,
            &args.raw,
            &catalog,
            [&args.propensity, &args.pay, &args.response],
            &settings,
            &args.out,
            args.manifest.as_deref(),
        )
    })?;
    print_summary(&manifest);
    Ok(ExitCode::SUCCESS)
}

/// Loads the models, scores, writes the decisions and the manifest.
pub fn run(
    features: &Path,
    raw: &Path,
    catalog: &TreatmentCatalog,
    [propensity, pay, response]: [&Path; 3],
    settings: &ScoreSettings,
    out: &Path,
    manifest: Option<&Path>,
) -> Result<RunManifest> {
    let load = |p: &Path, role: &str| {
        ScoringModel::load(p).with_context(|| format!("loading the {role} model"))
    };
    let (propensity, pay, response) = (
        load(propensity, "propensity")?,
        load(pay, "pay")?,
        load(response, "response")?,
    );
    let bar = crate::commands::progress_bar("scoring rows");
    let m = recoup_score::score(
        features,
        raw,
        catalog,
        Models {
            propensity: &propensity,
            pay: &pay,
            response: &response,
        },
        settings,
        out,
        &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    let manifest = manifest.map_or_else(|| manifest_path(out), Path::to_path_buf);
    recoup_score::write_manifest(&m, &manifest)?;
    tracing::info!(
        "wrote {} decisions to {} and the run manifest to {} in {:.1} s",
        m.counts.decisions,
        out.display(),
        manifest.display(),
        m.timings_s.get("total").copied().unwrap_or_default()
    );
    Ok(m)
}

/// The treatment mix, expected value, exclusions by rule and capacity use of a run.
pub fn print_summary(m: &RunManifest) {
    let c = &m.counts;
    let share = |k: usize| 100.0 * k as f64 / c.decisions.max(1) as f64;
    emit(format_args!(
        "{} decisions for {} (as of {}; {} rows read, {} not past due)\n",
        c.decisions,
        m.output.display(),
        m.asof,
        c.rows_read,
        c.rows_not_past_due
    ));
    let mut mix: Vec<(&String, &usize)> = c.decisions_by_treatment.iter().collect();
    mix.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    emit(format_args!("treatment mix:\n"));
    for (t, k) in mix {
        emit(format_args!("  {t:<22} {k:>8}  {:>5.1}%\n", share(*k)));
    }
    if !c.decisions_by_segment.is_empty() {
        emit(format_args!(
            "by segment (decisions: contacted, top treatment):\n"
        ));
        for (seg, by_t) in &c.decisions_by_segment {
            let total: usize = by_t.values().sum();
            let contacted: usize = by_t
                .iter()
                .filter(|(t, _)| t.as_str() != "no_contact")
                .map(|(_, k)| k)
                .sum();
            let top = by_t
                .iter()
                .filter(|(t, _)| t.as_str() != "no_contact")
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map_or("-", |(t, _)| t.as_str());
            emit(format_args!(
                "  {seg:<22} {total:>8}: {contacted:>6} contacted, mostly {top}\n"
            ));
        }
    }
    emit(format_args!(
        "expected value vs no contact {:.0} (collected {:.0}, cost {:.0}, given away in settlements {:.0}); top choices without capacity limits: {:.0}\n",
        c.expected_value,
        c.expected_collected,
        c.cost,
        c.value_given_away,
        c.expected_value_unconstrained
    ));
    emit(format_args!(
        "exclusions by rule (options / accounts with one):\n"
    ));
    for (rule, k) in &c.exclusions_by_rule {
        emit(format_args!(
            "  {rule:<34} {k:>8} / {:>7}\n",
            c.accounts_excluded_by_rule.get(rule).copied().unwrap_or(0)
        ));
    }
    for u in &m.capacity {
        emit(format_args!(
            "capacity {}: {:.0} of {:.0} units used (top choices wanted {:.0}), price {:.4} per unit\n",
            u.channel, u.used, u.per_day, u.wanted, u.price
        ));
    }
    if !m.capacity.is_empty() {
        emit(format_args!(
            "{} accounts moved off their top choice by capacity\n",
            c.moved_by_capacity
        ));
    }
}
