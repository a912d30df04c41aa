//! An in-memory training table: numeric feature columns (NaN = missing), a 0/1 target and
//! optional sample weights. Categorical columns arrive as level codes with their level names.

use crate::error::TrainError;

/// How a feature column's numbers are to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureKind {
    Numeric,
    /// Values are indices into `levels`; NaN is a missing level.
    Categorical {
        levels: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub names: Vec<String>,
    pub kinds: Vec<FeatureKind>,
    /// `columns[f][row]`.
    pub columns: Vec<Vec<f64>>,
    pub target: Vec<f64>,
    pub weight: Option<Vec<f64>>,
}

impl Dataset {
    /// Checks shapes and values: a 0/1 target, features finite or NaN (no infinities), weights
    /// finite and non-negative, category codes in range.
    pub fn new(
        names: Vec<String>,
        kinds: Vec<FeatureKind>,
        columns: Vec<Vec<f64>>,
        target: Vec<f64>,
        weight: Option<Vec<f64>>,
    ) -> Result<Self, TrainError> {
        Self::build(names, kinds, columns, target, weight, true)
    }

    /// As [`Dataset::new`], with a real-valued target (finite) for squared-error trees.
    pub fn new_continuous(
        names: Vec<String>,
        kinds: Vec<FeatureKind>,
        columns: Vec<Vec<f64>>,
        target: Vec<f64>,
        weight: Option<Vec<f64>>,
    ) -> Result<Self, TrainError> {
        Self::build(names, kinds, columns, target, weight, false)
    }

    /// The same features with another target (checked as [`Dataset::new_continuous`] does).
    pub fn with_target(&self, target: Vec<f64>) -> Result<Self, TrainError> {
        if target.len() != self.n_rows() {
            return Err(TrainError::Shape(format!(
                "{} targets for {} rows",
                target.len(),
                self.n_rows()
            )));
        }
        if let Some((row, v)) = target.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(TrainError::NonFinite {
                column: "target".into(),
                row,
                value: v.to_string(),
            });
        }
        Ok(Self {
            target,
            ..self.clone()
        })
    }

    fn build(
        names: Vec<String>,
        kinds: Vec<FeatureKind>,
        columns: Vec<Vec<f64>>,
        target: Vec<f64>,
        weight: Option<Vec<f64>>,
        binary: bool,
    ) -> Result<Self, TrainError> {
        let n = target.len();
        if n == 0 {
            return Err(TrainError::Empty);
        }
        if names.len() != columns.len() || kinds.len() != columns.len() {
            return Err(TrainError::Shape(format!(
                "{} names, {} kinds and {} columns",
                names.len(),
                kinds.len(),
                columns.len()
            )));
        }
        if columns.is_empty() {
            return Err(TrainError::NoFeatures);
        }
        if let Some((row, v)) = target.iter().enumerate().find(|(_, v)| {
            if binary {
                **v != 0.0 && **v != 1.0
            } else {
                !v.is_finite()
            }
        }) {
            return Err(if binary {
                TrainError::NotBinary {
                    column: "target".into(),
                    row,
                    value: v.to_string(),
                }
            } else {
                TrainError::NonFinite {
                    column: "target".into(),
                    row,
                    value: v.to_string(),
                }
            });
        }
        for ((name, kind), col) in names.iter().zip(&kinds).zip(&columns) {
            if col.len() != n {
                return Err(TrainError::Shape(format!(
                    "column `{name}` has {} rows, the target {n}",
                    col.len()
                )));
            }
            if let Some((row, v)) = col.iter().enumerate().find(|(_, v)| v.is_infinite()) {
                return Err(TrainError::NonFinite {
                    column: name.clone(),
                    row,
                    value: v.to_string(),
                });
            }
            if let FeatureKind::Categorical { levels } = kind
                && let Some((row, v)) = col.iter().enumerate().find(|(_, v)| {
                    !v.is_nan() && (v.fract() != 0.0 || **v < 0.0 || **v >= levels.len() as f64)
                })
            {
                return Err(TrainError::NonFinite {
                    column: name.clone(),
                    row,
                    value: format!("{v} (not a code of its {} levels)", levels.len()),
                });
            }
        }
        if let Some(w) = &weight {
            if w.len() != n {
                return Err(TrainError::Shape(format!(
                    "{} weights for {n} rows",
                    w.len()
                )));
            }
            if let Some((row, v)) = w
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite() || **v < 0.0)
            {
                return Err(TrainError::NonFinite {
                    column: "weight".into(),
                    row,
                    value: v.to_string(),
                });
            }
        }
        Ok(Self {
            names,
            kinds,
            columns,
            target,
            weight,
        })
    }

    pub fn n_rows(&self) -> usize {
        self.target.len()
    }

    pub fn n_features(&self) -> usize {
        self.columns.len()
    }

    pub fn weight(&self, row: usize) -> f64 {
        self.weight.as_ref().map_or(1.0, |w| w[row])
    }

    /// The rows `rows`, in that order.
    pub fn take(&self, rows: &[usize]) -> Self {
        Self {
            names: self.names.clone(),
            kinds: self.kinds.clone(),
            columns: self
                .columns
                .iter()
                .map(|c| rows.iter().map(|&r| c[r]).collect())
                .collect(),
            target: rows.iter().map(|&r| self.target[r]).collect(),
            weight: self
                .weight
                .as_ref()
                .map(|w| rows.iter().map(|&r| w[r]).collect()),
        }
    }

    /// The dataset with each categorical column's level codes replaced by `ranks[f][code]`
    /// (see `gbdt::category_ranks`); those columns become numeric.
    pub fn with_category_ranks(&self, ranks: &[Option<Vec<f64>>]) -> Self {
        let mut out = self.clone();
        for (f, r) in ranks.iter().enumerate() {
            if let Some(r) = r {
                for v in out.columns[f].iter_mut() {
                    if !v.is_nan() {
                        *v = r[*v as usize];
                    }
                }
                out.kinds[f] = FeatureKind::Numeric;
            }
        }
        out
    }

    /// Row-major copy of the features: row `r` is `[r * n_features, (r + 1) * n_features)`.
    pub fn row_major(&self) -> Vec<f64> {
        let nf = self.n_features();
        let mut out = vec![0.0; self.n_rows() * nf];
        for (f, col) in self.columns.iter().enumerate() {
            for (r, &v) in col.iter().enumerate() {
                out[r * nf + f] = v;
            }
        }
        out
    }
}

/// `f` of every row of a row-major matrix with `n_features` columns.
pub fn map_rows(rows: &[f64], n_features: usize, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    rows.chunks(n_features.max(1)).map(f).collect()
}
