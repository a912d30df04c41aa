//! `recoup models`: argument structs and wiring.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use recoup_model::registry;

use crate::commands::emit;

/// What the model registry holds: `list` every model, `show` one version. Reading a version
/// checks its model file (format version, checksum): a truncated or edited file is reported.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
enum ModelsCommand {
    /// Every model with its versions and the latest version's target and test metrics.
    List(ListArgs),
    /// One version: NAME (the latest) or NAME@VERSION.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Registry folder.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// NAME or NAME@VERSION.
    spec: String,
    /// Registry folder.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The kind as model files name it (`gbdt_binary`).
fn kind_name(kind: recoup_model::ModelKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|k| k.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn metric(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(serde_json::Value::as_f64)
        .map_or_else(|| "-".to_owned(), |x| format!("{x:.4}"))
}

pub fn models(args: ModelsArgs) -> Result<ExitCode> {
    match args.command {
        ModelsCommand::List(a) => list(a),
        ModelsCommand::Show(a) => show(a),
    }
}

fn list(a: ListArgs) -> Result<ExitCode> {
    let models = registry::list(&a.models)
        .with_context(|| format!("reading the registry {}", a.models.display()))?;
    let mut invalid = 0;
    let mut rows = Vec::new();
    for m in &models {
        let latest = registry::show(&a.models, &m.name);
        invalid += usize::from(latest.is_err());
        rows.push((m, latest));
    }
    if a.json {
        let out: Vec<serde_json::Value> = rows
            .iter()
            .map(|(m, latest)| {
                serde_json::json!({
                    "name": m.name,
                    "latest": m.latest,
                    "versions": m.versions,
                    "latest_version": latest.as_ref().ok(),
                    "error": latest.as_ref().err().map(ToString::to_string),
                })
            })
            .collect();
        emit(format_args!("{}\n", serde_json::to_string_pretty(&out)?));
    } else {
        emit(format_args!(
            "{:<24} {:>7} {:>8} {:<16} {:<16} {:>8} {:>8}  {}\n",
            "model", "latest", "versions", "target", "kind", "AUC", "logloss", "status"
        ));
        for (m, latest) in &rows {
            let (target, kind, auc, ll, status) = match latest {
                Ok(v) => (
                    v.target.clone(),
                    kind_name(v.kind),
                    metric(&v.metrics, "roc_auc"),
                    metric(&v.metrics, "log_loss"),
                    "ok".to_owned(),
                ),
                Err(e) => (
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    e.to_string(),
                ),
            };
            emit(format_args!(
                "{:<24} {:>7} {:>8} {:<16} {:<16} {:>8} {:>8}  {}\n",
                m.name,
                m.latest.as_deref().unwrap_or("-"),
                m.versions.len(),
                target,
                kind,
                auc,
                ll,
                status
            ));
        }
    }
    Ok(if invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The ONNX exports in a version folder, each with the native file it should come from and
/// whether its `recoup.body_blake3` is that file's body (else it is stale: re-export it).
fn onnx_exports(dir: &std::path::Path) -> Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for (onnx, native) in [
        ("model.onnx", "model.json"),
        ("scorecard.onnx", "scorecard.json"),
    ] {
        let path = dir.join(onnx);
        if !path.is_file() {
            continue;
        }
        let info = recoup_export::inspect(&path)?;
        let body = recoup_model::ModelFile::load(&dir.join(native))
            .map(|m| m.header.body_blake3)
            .ok();
        let from = info.metadata.get(recoup_export::metadata::BODY_BLAKE3);
        out.push(serde_json::json!({
            "file": onnx,
            "bytes": info.bytes,
            "blake3": info.blake3,
            "opsets": info.opsets.iter().map(|(d, v)| format!("{d} {v}")).collect::<Vec<_>>(),
            "exported_from": native,
            "matches": body.is_some() && from == body.as_ref(),
        }));
    }
    Ok(out)
}

fn show(a: ShowArgs) -> Result<ExitCode> {
    let v = registry::show(&a.models, &a.spec)?;
    let onnx = onnx_exports(&v.dir)?;
    let stale = onnx.iter().any(|o| o["matches"] != true);
    let code = if stale {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if a.json {
        let mut value = serde_json::to_value(&v)?;
        value["onnx"] = serde_json::Value::Array(onnx);
        emit(format_args!("{}\n", serde_json::to_string_pretty(&value)?));
        return Ok(code);
    }
    emit(format_args!(
        "{}@{} ({})\n  kind                 {}\n  target               {}\n  features             {} (schema hash {})\n  training fingerprint {}\n  body blake3          {}\n  recoup               {}\n  test metrics         AUC {}, log-loss {}\n  files                {}\n",
        v.name,
        v.version,
        v.dir.display(),
        kind_name(v.kind),
        v.target,
        v.features,
        v.schema_hash,
        v.training_fingerprint,
        v.body_blake3,
        v.recoup_version,
        metric(&v.metrics, "roc_auc"),
        metric(&v.metrics, "log_loss"),
        v.files.join(", ")
    ));
    if let (Some(learner), Some(arms)) = (v.metrics.get("learner"), v.metrics.get("arms")) {
        emit(format_args!(
            "  uplift               {}-learner; arms (control first) {}\n",
            learner.as_str().unwrap_or_default(),
            arms.as_array()
                .map(|a| a
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        ));
    }
    for o in &onnx {
        emit(format_args!(
            "  onnx                 {} ({} bytes, blake3 {}, opsets {}): {}\n",
            o["file"].as_str().unwrap_or_default(),
            o["bytes"],
            &o["blake3"].as_str().unwrap_or_default()[..16],
            o["opsets"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            if o["matches"] == true {
                format!(
                    "exported from this {}",
                    o["exported_from"].as_str().unwrap_or_default()
                )
            } else {
                format!(
                    "STALE, not exported from this {}: run recoup export --model {}",
                    o["exported_from"].as_str().unwrap_or_default(),
                    v.dir
                        .join(o["exported_from"].as_str().unwrap_or_default())
                        .display()
                )
            }
        ));
    }
    Ok(code)
}
