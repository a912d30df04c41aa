//! `recoup segment`: argument structs and wiring.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Args;
use recoup_segment::{ProfileInputs, SegmentSettings, Segmentation};

use crate::commands::emit;

/// Segment the accounts in collections: ability/willingness quadrants and behavioural clusters.
///
/// Reads a snapshot feature table (`recoup features`) and segments the accounts past due or
/// charged off at one as-of date (the latest by default). Willingness is the propensity
/// model's probability (`--propensity`; without it, the payment record); ability is a capacity
/// score (no reversed payment, last payment over the amount due, credit headroom, promises
/// kept); both split
/// above their medians. Clusters: k-means on standardised behavioural features, k chosen by mean
/// silhouette unless `--k`. Writes one row per account to OUT (parquet), the profiles to
/// OUT with `.profile.json`, and with `--report` an HTML page; prints the profiles.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// The snapshot feature table (.parquet or .csv).
    #[arg(long)]
    features: PathBuf,
    /// As-of date to segment (YYYY-MM-DD); default: the table's latest.
    #[arg(long)]
    asof: Option<NaiveDate>,
    /// Propensity-to-pay model (registry folder, version folder or model.json).
    #[arg(long)]
    propensity: Option<PathBuf>,
    /// The contact table (`recoup features --table contacts`): best treatments per segment.
    #[arg(long)]
    contacts: Option<PathBuf>,
    /// The simulator's truth/customers.parquet: mean latent traits per segment.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Number of clusters; default: chosen by silhouette in 2..=8.
    #[arg(long)]
    k: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Segment per account (parquet).
    #[arg(long)]
    out: PathBuf,
    /// HTML report of the profiles.
    #[arg(long)]
    report: Option<PathBuf>,
}

pub fn segment(args: SegmentArgs) -> Result<ExitCode> {
    let df = recoup_segment::read_table(&args.features)?;
    let model = match &args.propensity {
        Some(path) => {
            let (file, label) = recoup_model::registry::locate(path)?;
            Some((recoup_model::ModelFile::load(&file)?, label))
        }
        None => None,
    };
    let as_of = args
        .asof
        .map(|d| (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")).num_days() as i32);
    let settings = SegmentSettings {
        k: args.k,
        seed: args.seed,
        ..SegmentSettings::default()
    };
    let seg = recoup_segment::segment(
        &df,
        &args.features,
        as_of,
        model.as_ref().map(|(m, l)| (m, l.as_str())),
        &settings,
        &ProfileInputs {
            contacts: args.contacts.as_deref(),
            truth: args.truth.as_deref(),
        },
    )?;
    for path in std::iter::once(&args.out).chain(&args.report) {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    recoup_segment::write_assignments(&seg, &args.out)?;
    let profile_path = args.out.with_extension("profile.json");
    let json = serde_json::to_string_pretty(&seg).context("serialising the profiles")?;
    recoup_io::write_text_atomic(&profile_path, &json)?;
    if let Some(report) = &args.report {
        recoup_io::write_text_atomic(report, &recoup_segment::report::html(&seg))?;
    }
    tracing::info!(
        "wrote {} segments of {} accounts to {} and {}",
        seg.profiles.len(),
        seg.accounts.len(),
        args.out.display(),
        profile_path.display()
    );
    print_profiles(&seg);
    Ok(ExitCode::SUCCESS)
}

/// The demo's segmentation at the export, before its decisions: written to `out` and
/// `report`, printed.
pub fn demo_step(
    features: &std::path::Path,
    propensity: &std::path::Path,
    contacts: &std::path::Path,
    truth: &std::path::Path,
    out: &std::path::Path,
    report: &std::path::Path,
) -> Result<()> {
    segment(SegmentArgs {
        features: features.to_path_buf(),
        asof: None,
        propensity: Some(propensity.to_path_buf()),
        contacts: Some(contacts.to_path_buf()),
        truth: Some(truth.to_path_buf()),
        k: None,
        seed: 0,
        out: out.to_path_buf(),
        report: Some(report.to_path_buf()),
    })?;
    Ok(())
}

fn opt_pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{:.1}%", 100.0 * x))
}

/// Prints the profiles as a Markdown table.
pub fn print_profiles(seg: &Segmentation) {
    emit(format_args!(
        "{} accounts in collections at {}; willingness: {} (median {:.4}), ability: capacity score (median {:.4}); k = {} by silhouette ({})\n\n",
        seg.accounts.len(),
        seg.as_of_text,
        seg.willingness_source,
        seg.willingness_threshold,
        seg.ability_threshold,
        seg.k,
        seg.silhouettes
            .iter()
            .map(|(k, s)| format!("{k}: {s:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    emit(format_args!(
        "| segment | accounts | willingness | ability | pay rate 30d | cure rate 30d | response sms/email/call | best treatment | latent ability / willingness |\n|---|---:|---:|---:|---:|---:|---|---|---|\n"
    ));
    for p in &seg.profiles {
        emit(format_args!(
            "| {} | {} ({:.1}%) | {:.3} | {:.3} | {} | {} | {:.0}% / {:.0}% / {:.0}% | {} | {} |\n",
            p.name,
            p.size,
            100.0 * p.share,
            p.willingness,
            p.ability,
            opt_pct(p.pay_rate),
            opt_pct(p.cure_rate),
            100.0 * p.response_rates[0],
            100.0 * p.response_rates[1],
            100.0 * p.response_rates[2],
            p.best_treatments.first().map_or_else(
                || "-".into(),
                |t| format!("{} ({:.1})", t.treatment, t.amount)
            ),
            p.latent
                .map_or_else(|| "-".into(), |(a, w)| format!("{a:+.2} / {w:+.2}")),
        ));
    }
}
