//! Two decision files side by side: the same accounts in the same order, the same choices, and
//! how far their probabilities are apart (for example native models against their ONNX export).

use std::path::Path;

use arrow_array::RecordBatch;

use crate::columns::{Numbers, ParquetBatches, Texts, column};
use crate::error::ScoreError;

/// The probability columns of a decisions file that are compared.
pub const PROBABILITY_COLUMNS: [&str; 3] = ["p_pay", "p_pay_treatment", "p_respond"];

/// How two decision files differ.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionsDiff {
    pub rows: usize,
    /// Rows whose account differs (the files are compared row by row).
    pub other_account: usize,
    /// Rows with another treatment chosen.
    pub other_treatment: usize,
    /// The largest |difference| of each of [`PROBABILITY_COLUMNS`].
    pub max_abs_diff: [f64; 3],
}

struct Decisions {
    accounts: Vec<String>,
    treatments: Vec<String>,
    probabilities: [Vec<f64>; 3],
}

fn read(path: &Path) -> Result<Decisions, ScoreError> {
    let needed_by = "the comparison of decision files";
    let mut names = vec!["account_id", "treatment"];
    names.extend(PROBABILITY_COLUMNS);
    let mut out = Decisions {
        accounts: Vec::new(),
        treatments: Vec::new(),
        probabilities: [Vec::new(), Vec::new(), Vec::new()],
    };
    for batch in ParquetBatches::open(path, Some(&names), 65_536, needed_by)? {
        let batch: RecordBatch = batch?;
        let text = |name: &str| -> Result<Vec<String>, ScoreError> {
            let t = Texts::require(column(&batch, path, name, needed_by)?.as_ref(), path, name)?;
            Ok((0..batch.num_rows())
                .map(|i| t.get(i).unwrap_or_default().to_owned())
                .collect())
        };
        out.accounts.extend(text("account_id")?);
        out.treatments.extend(text("treatment")?);
        for (values, name) in out.probabilities.iter_mut().zip(PROBABILITY_COLUMNS) {
            let n = Numbers::require(column(&batch, path, name, needed_by)?.as_ref(), path, name)?;
            values.extend((0..batch.num_rows()).map(|i| n.get(i)));
        }
    }
    Ok(out)
}

/// Compares decision files `a` and `b` row by row.
pub fn compare_decisions(a: &Path, b: &Path) -> Result<DecisionsDiff, ScoreError> {
    let (x, y) = (read(a)?, read(b)?);
    if x.accounts.len() != y.accounts.len() {
        return Err(ScoreError::ModelInput {
            model: b.to_path_buf(),
            message: format!(
                "{} decisions, {} has {}",
                y.accounts.len(),
                a.display(),
                x.accounts.len()
            ),
        });
    }
    let differ = |p: &[String], q: &[String]| p.iter().zip(q).filter(|(u, v)| u != v).count();
    let mut max_abs_diff = [0.0_f64; 3];
    for (m, (p, q)) in max_abs_diff
        .iter_mut()
        .zip(x.probabilities.iter().zip(&y.probabilities))
    {
        *m = p
            .iter()
            .zip(q)
            .map(|(u, v)| {
                let d = (u - v).abs();
                // NaN on both sides is agreement; on one side, the worst disagreement.
                match (u.is_nan(), v.is_nan()) {
                    (true, true) => 0.0,
                    (false, false) => d,
                    _ => f64::INFINITY,
                }
            })
            .fold(0.0, f64::max);
    }
    Ok(DecisionsDiff {
        rows: x.accounts.len(),
        other_account: differ(&x.accounts, &y.accounts),
        other_treatment: differ(&x.treatments, &y.treatments),
        max_abs_diff,
    })
}
