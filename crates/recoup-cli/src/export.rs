//! `recoup export`: argument structs and wiring.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use recoup_score::ScoringModel;

use crate::commands::emit;

/// Export a recoup model to standard ONNX (ai.onnx.ml TreeEnsemble and plain operators, double
/// precision), for services that load models with ONNX Runtime in any language.
///
/// The file reads one double tensor `features` [N, F] in the model's feature order (names and
/// schema in its metadata) and writes `probabilities` [N, 2], `label` [N] and `raw_score` [N, 1].
/// After writing, it is checked against the native model on probe rows through ONNX Runtime.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model: a registry model folder (its latest version), a version folder or a model
    /// file (`model.json`, `scorecard.json`).
    #[arg(long)]
    model: PathBuf,
    /// The ONNX file to write [default: beside the model file, `model.onnx` for `model.json`].
    #[arg(long)]
    onnx: Option<PathBuf>,
    /// Probe rows to score natively and through ONNX Runtime after writing (every split's
    /// threshold, its neighbours, NaN); 0 skips the check. Without ONNX Runtime (run
    /// `scripts/python-env` or set ORT_DYLIB_PATH) the check is skipped with a warning.
    #[arg(long, default_value_t = 10_000)]
    verify: usize,
    /// The largest difference of probabilities the check accepts.
    #[arg(long, default_value_t = 1e-9)]
    tolerance: f64,
    /// Seed of the probe rows.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn export(args: ExportArgs) -> Result<ExitCode> {
    let (model_file, _) = recoup_model::registry::locate(&args.model)?;
    let onnx = args
        .onnx
        .clone()
        .unwrap_or_else(|| model_file.with_extension("onnx"));
    let summary = recoup_export::export_file(&model_file, &onnx)?;
    emit(format_args!(
        "wrote {} ({} bytes, blake3 {}): {} tree nodes, {} leaves; operators {}; opsets ai.onnx \
         {}, {} {}\n",
        summary.file.display(),
        summary.bytes,
        &summary.blake3[..16],
        summary.tree_nodes,
        summary.tree_leaves,
        summary.operators.join(", "),
        recoup_export::OPSET,
        recoup_export::ML_DOMAIN,
        recoup_export::ML_OPSET,
    ));
    if args.verify == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    if let Err(e) = recoup_score::onnx::onnxruntime_library() {
        tracing::warn!("the export was not checked through ONNX Runtime: {e}");
        return Ok(ExitCode::SUCCESS);
    }
    let (_, agreement) = check_export(&model_file, &onnx, args.verify, args.seed)?;
    emit(format_args!(
        "checked through ONNX Runtime on {} probe rows: max |difference| {:.3e}, {} of them \
         identical to the bit\n",
        agreement.rows, agreement.max_abs_diff, agreement.identical
    ));
    if agreement.max_abs_diff > args.tolerance {
        bail!(
            "the export differs from the native model by {:.3e} on probe row {} (tolerance {:e})",
            agreement.max_abs_diff,
            agreement.worst_row,
            args.tolerance
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Scores `n_rows` probe rows of the native model at `model_file` (every threshold, its
/// neighbours, NaN) natively and through ONNX Runtime on its export `onnx`; the native model's
/// label and how closely the two agree.
fn check_export(
    model_file: &std::path::Path,
    onnx: &std::path::Path,
    n_rows: usize,
    seed: u64,
) -> Result<(String, recoup_score::Agreement)> {
    let native = ScoringModel::load(model_file)?;
    let exported = ScoringModel::load(onnx)
        .with_context(|| format!("loading the export {}", onnx.display()))?;
    let body = native
        .native_body()
        .with_context(|| format!("{} is not a native model file", model_file.display()))?;
    let rows = recoup_export::probe_rows(body, n_rows, seed);
    let agreement = recoup_score::agreement(&native, &exported, &rows)?;
    Ok((native.label.clone(), agreement))
}

/// ONNX Runtime's library, installed into `.venv` by `scripts/python-env` (from PyPI) when it
/// is not found and the script is at hand (the demo run from the repository); the reason it is
/// unavailable otherwise.
fn ensure_onnxruntime() -> std::result::Result<PathBuf, String> {
    let missing = match recoup_score::onnx::onnxruntime_library() {
        Ok(lib) => return Ok(lib),
        Err(e) => e,
    };
    let script = std::path::Path::new("scripts/python-env");
    if !script.is_file() {
        return Err(missing.to_string());
    }
    tracing::info!("ONNX Runtime not found: installing it into .venv with scripts/python-env");
    let status = std::process::Command::new(script)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!("{} failed ({status})", script.display()));
    }
    recoup_score::onnx::onnxruntime_library().map_err(|e| e.to_string())
}

/// The demo's ONNX step: exports the three models of `models`, checks each on probe rows, and
/// scores the portfolio again through ONNX Runtime into `onnx_decisions`, compared with the
/// native `decisions`.
pub fn demo_step(
    models: &std::path::Path,
    features: &std::path::Path,
    raw: &std::path::Path,
    catalog: &recoup_core::TreatmentCatalog,
    settings: &recoup_score::ScoreSettings,
    decisions: &std::path::Path,
    onnx_decisions: &std::path::Path,
) -> Result<()> {
    let mut exported = Vec::new();
    let mut operators = Vec::new();
    for name in ["propensity_to_pay", "treatment_pay", "channel_response"] {
        let (model_file, label) = recoup_model::registry::locate(&models.join(name))?;
        let onnx = model_file.with_extension("onnx");
        let summary = recoup_export::export_file(&model_file, &onnx)?;
        emit(format_args!(
            "recoup export --model {} --onnx {}: {label}, {:.0} KB, {} tree nodes and {} leaves\n",
            model_file.display(),
            onnx.display(),
            summary.bytes as f64 / 1024.0,
            summary.tree_nodes,
            summary.tree_leaves
        ));
        operators.extend(summary.operators);
        exported.push((model_file, onnx));
    }
    operators.sort();
    operators.dedup();
    emit(format_args!(
        "operators {} (opsets ai.onnx {}, {} {}); input `{}` double [N, F] in the order of the \
         `feature_names` metadata; outputs `{}` [N, 2], `{}` [N], `{}` [N, 1]\n",
        operators.join(", "),
        recoup_export::OPSET,
        recoup_export::ML_DOMAIN,
        recoup_export::ML_OPSET,
        recoup_export::INPUT,
        recoup_export::PROBABILITIES,
        recoup_export::LABEL,
        recoup_export::RAW_SCORE,
    ));
    let library = match ensure_onnxruntime() {
        Ok(lib) => lib,
        Err(why) => {
            emit(format_args!(
                "not re-scored through ONNX Runtime, which is not available: {why}\n"
            ));
            return Ok(());
        }
    };
    for (model_file, onnx) in &exported {
        let (label, a) = check_export(model_file, onnx, 10_000, 1)?;
        emit(format_args!(
            "{label}: {} probe rows (every threshold, its neighbours, NaN) through ONNX Runtime: \
             max |difference| from native {:.1e}\n",
            a.rows, a.max_abs_diff
        ));
    }
    let onnx_settings = recoup_score::ScoreSettings {
        reason_codes: 0,
        ..settings.clone()
    };
    let paths: Vec<&std::path::Path> = exported.iter().map(|(_, o)| o.as_path()).collect();
    crate::score::run(
        features,
        raw,
        catalog,
        [paths[0], paths[1], paths[2]],
        &onnx_settings,
        onnx_decisions,
        None,
    )?;
    let diff = recoup_score::compare_decisions(decisions, onnx_decisions)?;
    emit(format_args!(
        "re-scored the {} accounts through ONNX Runtime ({}) into {}: the same treatment for \
         {} of {}; max |difference| from the native decisions: propensity {:.1e}, payment \
         given the treatment {:.1e}, response {:.1e}\n",
        diff.rows,
        library.display(),
        onnx_decisions.display(),
        diff.rows - diff.other_treatment.max(diff.other_account),
        diff.rows,
        diff.max_abs_diff[0],
        diff.max_abs_diff[1],
        diff.max_abs_diff[2]
    ));
    if diff.other_account > 0 || diff.max_abs_diff.iter().any(|d| *d > 1e-9) {
        bail!(
            "the ONNX exports score differently from the native models: {diff:?} ({} vs {})",
            decisions.display(),
            onnx_decisions.display()
        );
    }
    Ok(())
}
