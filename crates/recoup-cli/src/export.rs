//! `recoup export`: argument structs and wiring.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use recoup_model::ModelFile;
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
    let native = ScoringModel::load(&model_file)?;
    let exported = ScoringModel::load(&onnx)
        .with_context(|| format!("loading the export {}", onnx.display()))?;
    let body = ModelFile::load(&model_file)?.body;
    let rows = recoup_export::probe_rows(&body, args.verify, args.seed);
    let agreement = recoup_score::agreement(&native, &exported, &rows)?;
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
