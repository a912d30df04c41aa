//! From an input table's columns to a model's feature rows, by name.
//!
//! Each model column is found in the input table (checked for a compatible type before any
//! row is read) or, for models of treatments, is a descriptor of the candidate treatment:
//! `channel` and `treatment_id`, fed as the category levels the model learnt. Text columns
//! are categorical: level `k` of the model's list is the number `k`, an unknown level or a
//! missing value NaN.

use std::collections::HashMap;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Schema};
use recoup_core::TreatmentCatalog;

use crate::columns::{Numbers, Texts};
use crate::error::ScoreError;
use crate::models::ScoringModel;

/// Descriptor columns a treatment model may read from the candidate treatment.
pub const CANDIDATE_COLUMNS: [&str; 2] = ["channel", "treatment_id"];

#[derive(Debug, Clone)]
enum Source {
    Number(usize),
    Category(usize, HashMap<String, f64>),
    /// One value per catalog treatment.
    Candidate(Vec<f64>),
}

/// How to fill one model's rows from an input batch.
#[derive(Debug, Clone)]
pub struct FeatureMap {
    sources: Vec<Source>,
}

/// The columns of a batch, typed once per batch.
#[derive(Debug)]
pub enum View<'a> {
    Number(Numbers<'a>),
    Text(Texts<'a>),
}

/// Typed views of every column of `batch`, in schema order.
pub fn views(batch: &RecordBatch) -> Vec<View<'_>> {
    batch
        .columns()
        .iter()
        .map(|c| match Numbers::of(c.as_ref()) {
            Some(n) => View::Number(n),
            None => Texts::of(c.as_ref()).map_or(View::Number(Numbers::Null), View::Text),
        })
        .collect()
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Boolean | DataType::Null)
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

impl FeatureMap {
    /// Maps `model`'s columns to `input` (the schema of the batches of `file`); `catalog`
    /// allows the candidate descriptors. Fails on the first column that is missing or of
    /// another kind, naming it.
    pub fn new(
        model: &ScoringModel,
        input: &Schema,
        file: &Path,
        catalog: Option<&TreatmentCatalog>,
    ) -> Result<Self, ScoreError> {
        let needed_by = format!("a feature of model {}", model.label);
        let mut sources = Vec::with_capacity(model.columns.len());
        for c in &model.columns {
            let levels = || -> HashMap<String, f64> {
                c.categories
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(|(k, l)| (l.clone(), k as f64))
                    .collect()
            };
            if let (Some(cat), true) = (catalog, CANDIDATE_COLUMNS.contains(&c.name.as_str())) {
                let Some(_) = c.categories else {
                    return Err(ScoreError::ModelInput {
                        model: model.path.clone(),
                        message: format!(
                            "feature `{}` is a candidate descriptor but the model reads it as {}, not as categories",
                            c.name, c.dtype
                        ),
                    });
                };
                let map = levels();
                let values = cat
                    .treatments
                    .iter()
                    .map(|t| {
                        let v = if c.name == "channel" {
                            t.channel.as_str()
                        } else {
                            t.id.as_str()
                        };
                        map.get(v).copied().unwrap_or(f64::NAN)
                    })
                    .collect();
                sources.push(Source::Candidate(values));
                continue;
            }
            let (i, field) =
                input
                    .column_with_name(&c.name)
                    .ok_or_else(|| ScoreError::ColumnNotFound {
                        file: file.to_path_buf(),
                        column: c.name.clone(),
                        needed_by: needed_by.clone(),
                    })?;
            let t = field.data_type();
            let mismatch = |expected: &str| ScoreError::SchemaMismatch {
                file: file.to_path_buf(),
                column: c.name.clone(),
                expected: format!("{expected} (model {} reads it as {})", model.label, c.dtype),
                found: t.to_string(),
            };
            match (c.categories.is_some(), c.dtype.as_str()) {
                (true, _) | (false, "string" | "str") => {
                    if !is_text(t) {
                        return Err(mismatch("text"));
                    }
                    sources.push(Source::Category(i, levels()));
                }
                (false, "bool") => {
                    if !matches!(t, DataType::Boolean | DataType::Null) {
                        return Err(mismatch("a boolean"));
                    }
                    sources.push(Source::Number(i));
                }
                _ => {
                    if !is_numeric(t) {
                        return Err(mismatch("a number"));
                    }
                    sources.push(Source::Number(i));
                }
            }
        }
        Ok(Self { sources })
    }

    pub fn n_features(&self) -> usize {
        self.sources.len()
    }

    /// Reads treatment descriptors.
    pub fn uses_candidate(&self) -> bool {
        self.sources
            .iter()
            .any(|s| matches!(s, Source::Candidate(_)))
    }

    /// Writes the features of input row `row` (as candidate `treatment`, if any) to `out`.
    #[inline]
    pub fn fill(&self, views: &[View<'_>], row: usize, treatment: Option<usize>, out: &mut [f64]) {
        for (o, s) in out.iter_mut().zip(&self.sources) {
            *o = match s {
                Source::Number(i) => match &views[*i] {
                    View::Number(n) => n.get(row),
                    View::Text(_) => f64::NAN,
                },
                Source::Category(i, levels) => match &views[*i] {
                    View::Text(t) => t
                        .get(row)
                        .and_then(|v| levels.get(v).copied())
                        .unwrap_or(f64::NAN),
                    View::Number(_) => f64::NAN,
                },
                Source::Candidate(v) => treatment.map_or(f64::NAN, |t| v[t]),
            };
        }
    }
}
