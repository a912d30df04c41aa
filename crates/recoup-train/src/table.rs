//! Reading a flat table (CSV or parquet) into a [`Dataset`]: "bring your own table".
//!
//! CSV separators (`,`, `;`, tab) are detected from the header line; `NA` and empty fields are
//! missing. Numeric and boolean columns become numbers, text columns categorical levels
//! (sorted, coded 0..k). A column with an empty name, first in the file, is taken as the row
//! id (pandas writes its index that way).

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::dataset::{Dataset, FeatureKind};
use crate::error::TrainError;

/// Which columns play which role.
#[derive(Debug, Clone, Default)]
pub struct TableSpec {
    pub path: PathBuf,
    pub target: String,
    pub id: Option<String>,
    pub drop: Vec<String>,
    /// Sample weight column (not a feature): non-negative numbers.
    pub weight: Option<String>,
}

/// A loaded table: the dataset, the ids (if any) and notes about what was done to the columns.
#[derive(Debug, Clone)]
pub struct LoadedTable {
    pub data: Dataset,
    /// Each feature's dtype, named as in recoup's feature schemas (`float64`, `int64`, `bool`,
    /// `string`).
    pub dtypes: Vec<String>,
    pub ids: Option<Vec<String>>,
    /// Days since 1970-01-01 of each row, for tables with a time column (time-based split).
    pub time: Option<Vec<i64>>,
    pub notes: Vec<String>,
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> TrainError {
    TrainError::Read {
        file: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Reads the whole file with polars.
pub fn read_frame(path: &Path) -> Result<DataFrame, TrainError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "parquet" => {
            let f = std::fs::File::open(path).map_err(|e| read_error(path, e))?;
            ParquetReader::new(f)
                .finish()
                .map_err(|e| read_error(path, e))
        }
        "csv" | "txt" | "tsv" => {
            let head = {
                use std::io::BufRead;
                let f = std::fs::File::open(path).map_err(|e| read_error(path, e))?;
                let mut line = String::new();
                std::io::BufReader::new(f)
                    .read_line(&mut line)
                    .map_err(|e| read_error(path, e))?;
                line
            };
            let sep = [b',', b';', b'\t']
                .into_iter()
                .max_by_key(|&c| head.bytes().filter(|&b| b == c).count())
                .unwrap_or(b',');
            CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(None)
                .map_parse_options(|o| {
                    o.with_separator(sep)
                        .with_null_values(Some(NullValues::AllColumns(vec![
                            "NA".into(),
                            "".into(),
                        ])))
                })
                .try_into_reader_with_file_path(Some(path.to_path_buf()))
                .map_err(|e| read_error(path, e))?
                .finish()
                .map_err(|e| read_error(path, e))
        }
        other => Err(read_error(
            path,
            format!("unknown file type `.{other}` (expected .csv or .parquet)"),
        )),
    }
}

/// What the `<table>.schema.json` that `recoup features` writes says about the table's roles.
struct FeatureTableRoles {
    /// Keys, other labels and logging descriptors: not features.
    not_features: Vec<String>,
    /// The time column: `as_of` (snapshots) or `contacted_at` (contacts).
    time: String,
}

/// Descriptor columns that describe the customer's situation and stay features; the other
/// descriptors describe the logging (policy arm, propensity) or the table's construction.
const FEATURE_DESCRIPTORS: [&str; 2] = ["channel", "treatment_id"];

fn feature_table_roles(path: &Path, target: &str) -> Result<Option<FeatureTableRoles>, TrainError> {
    let mut schema_path = path.as_os_str().to_owned();
    schema_path.push(".schema.json");
    let schema_path = PathBuf::from(schema_path);
    let Ok(text) = std::fs::read_to_string(&schema_path) else {
        return Ok(None);
    };
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| read_error(&schema_path, e))?;
    let names = |key: &str| -> Vec<(String, String)> {
        v[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                Some((
                    c["name"].as_str()?.to_owned(),
                    c["family"].as_str().unwrap_or_default().to_owned(),
                ))
            })
            .collect()
    };
    let keys = names("keys");
    let labels = names("labels");
    if !labels.iter().any(|(n, _)| n == target) {
        return Err(TrainError::Read {
            file: path.to_path_buf(),
            message: format!(
                "`{target}` is not a label of this feature table; its labels are {}",
                labels
                    .iter()
                    .map(|l| l.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    // Descriptors are listed among the keys (family `descriptor`) or the features.
    let is_feature_descriptor = |(n, fam): &(String, String)| {
        fam == "descriptor" && FEATURE_DESCRIPTORS.contains(&n.as_str())
    };
    let mut not_features: Vec<String> = keys
        .iter()
        .filter(|k| !is_feature_descriptor(k))
        .map(|k| k.0.clone())
        .collect();
    not_features.extend(labels.into_iter().map(|l| l.0).filter(|l| l != target));
    not_features.extend(
        names("features")
            .into_iter()
            .filter(|c| c.1 == "descriptor" && !is_feature_descriptor(c))
            .map(|(n, _)| n),
    );
    let time = if keys.iter().any(|k| k.0 == "as_of") {
        "as_of"
    } else {
        "contacted_at"
    };
    Ok(Some(FeatureTableRoles {
        not_features,
        time: time.to_owned(),
    }))
}

/// Reads `spec.path` and splits its columns into target, id and features.
///
/// A table written by `recoup features` (it has a `.schema.json` beside it) is read by its
/// schema: keys, the other labels and logging descriptors are not features, rows whose label
/// is still open (null) are left out, and the as-of date (or contact instant) becomes the time
/// column for a time-based split.
pub fn load_table(spec: &TableSpec) -> Result<LoadedTable, TrainError> {
    let mut df = read_frame(&spec.path)?;
    let Some(roles) = feature_table_roles(&spec.path, &spec.target)? else {
        return frame_to_dataset(&df, spec);
    };
    let before = df.height();
    df = df
        .lazy()
        .filter(col(spec.target.as_str()).is_not_null())
        .collect()
        .map_err(|e| read_error(&spec.path, e))?;
    let time: Vec<i64> = {
        let c = df
            .column(&roles.time)
            .map_err(|_| TrainError::ColumnNotFound {
                file: spec.path.clone(),
                column: roles.time.clone(),
            })?;
        let days = match c.dtype() {
            DataType::Date => c.cast(&DataType::Int32),
            _ => c
                .cast(&DataType::Int64)
                .map(|c| (c.as_materialized_series() / 86_400_000_000i64).into()),
        }
        .and_then(|c| c.cast(&DataType::Int64))
        .map_err(|e| read_error(&spec.path, e))?;
        days.i64()
            .map_err(|e| read_error(&spec.path, e))?
            .iter()
            .map(Option::unwrap_or_default)
            .collect()
    };
    let mut drop = spec.drop.clone();
    drop.extend(
        roles
            .not_features
            .iter()
            .filter(|n| df.column(n).is_ok() && Some(n.as_str()) != spec.id.as_deref())
            .cloned(),
    );
    let id = spec.id.clone().or_else(|| {
        ["contact_id", "account_id"]
            .into_iter()
            .find(|c| df.column(c).is_ok())
            .map(str::to_owned)
    });
    drop.retain(|d| Some(d) != id.as_ref());
    let mut out = frame_to_dataset(
        &df,
        &TableSpec {
            path: spec.path.clone(),
            target: spec.target.clone(),
            id,
            drop,
            weight: spec.weight.clone(),
        },
    )?;
    out.notes.push(format!(
        "recoup feature table: {} feature(s), {} row(s) with a closed label (of {before}), time from `{}`",
        out.data.n_features(),
        df.height(),
        roles.time
    ));
    out.time = Some(time);
    Ok(out)
}

/// The positive class of a two-valued text target.
fn positive_label(values: &[&str]) -> Option<usize> {
    const POSITIVE: [&str; 6] = ["1", "yes", "true", "y", "t", "positive"];
    let hits: Vec<usize> = (0..values.len())
        .filter(|&i| POSITIVE.contains(&values[i].to_ascii_lowercase().as_str()))
        .collect();
    (hits.len() == 1).then(|| hits[0])
}

pub fn frame_to_dataset(df: &DataFrame, spec: &TableSpec) -> Result<LoadedTable, TrainError> {
    frame_to_dataset_as(df, spec, true)
}

/// As [`frame_to_dataset`], with a real-valued target (finite numbers, such as an amount) for
/// squared-error trees.
pub fn frame_to_dataset_continuous(
    df: &DataFrame,
    spec: &TableSpec,
) -> Result<LoadedTable, TrainError> {
    frame_to_dataset_as(df, spec, false)
}

fn frame_to_dataset_as(
    df: &DataFrame,
    spec: &TableSpec,
    binary: bool,
) -> Result<LoadedTable, TrainError> {
    let file = &spec.path;
    if df.height() == 0 {
        return Err(TrainError::Empty);
    }
    let col = |name: &str| {
        df.column(name).map_err(|_| TrainError::ColumnNotFound {
            file: file.clone(),
            column: name.to_owned(),
        })
    };
    let mut notes = Vec::new();
    for d in &spec.drop {
        col(d)?;
    }
    let id_name = match &spec.id {
        Some(id) => {
            col(id)?;
            Some(id.clone())
        }
        None => {
            let first = df.get_column_names()[0].as_str().to_owned();
            if first.is_empty() || first.starts_with("Unnamed") {
                notes.push(
                    "column 1 has no name: taken as the row id (use --id to name another)".into(),
                );
                Some(first)
            } else {
                None
            }
        }
    };

    let t = col(&spec.target)?;
    let target: Vec<f64> = match t.dtype() {
        DataType::String if binary => {
            let ca = t.str().map_err(|e| read_error(file, e))?;
            let mut values: Vec<&str> = ca.iter().flatten().collect();
            values.sort_unstable();
            values.dedup();
            if values.len() != 2 {
                return Err(TrainError::NotBinary {
                    column: spec.target.clone(),
                    row: 0,
                    value: format!(
                        "{} distinct values ({})",
                        values.len(),
                        values
                            .iter()
                            .take(5)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            let pos = positive_label(&values).unwrap_or(1);
            notes.push(format!(
                "target `{}`: `{}` is the positive class",
                spec.target, values[pos]
            ));
            ca.iter()
                .enumerate()
                .map(|(row, v)| match v {
                    Some(v) => Ok(f64::from(v == values[pos])),
                    None => Err(TrainError::NotBinary {
                        column: spec.target.clone(),
                        row: row + 1,
                        value: "missing".into(),
                    }),
                })
                .collect::<Result<_, _>>()?
        }
        _ => {
            let c = t
                .cast(&DataType::Float64)
                .map_err(|e| read_error(file, e))?;
            c.f64()
                .map_err(|e| read_error(file, e))?
                .iter()
                .enumerate()
                .map(|(row, v)| match v {
                    Some(v) if v == 0.0 || v == 1.0 => Ok(v),
                    Some(v) if !binary && v.is_finite() => Ok(v),
                    other if !binary => Err(TrainError::Read {
                        file: file.clone(),
                        message: format!(
                            "column `{}`, row {}: value `{}`: the target must be a finite number",
                            spec.target,
                            row + 1,
                            other.map_or("missing".into(), |v| v.to_string())
                        ),
                    }),
                    other => Err(TrainError::NotBinary {
                        column: spec.target.clone(),
                        row: row + 1,
                        value: other.map_or("missing".into(), |v| v.to_string()),
                    }),
                })
                .collect::<Result<_, _>>()?
        }
    };

    let ids = match &id_name {
        Some(name) => Some(
            col(name)?
                .cast(&DataType::String)
                .map_err(|e| read_error(file, e))?
                .str()
                .map_err(|e| read_error(file, e))?
                .iter()
                .map(|v| v.unwrap_or_default().to_owned())
                .collect(),
        ),
        None => None,
    };

    let mut names = Vec::new();
    let mut dtypes = Vec::new();
    let mut kinds = Vec::new();
    let mut columns = Vec::new();
    for c in df.columns() {
        let name = c.name().as_str();
        if name == spec.target
            || Some(name) == id_name.as_deref()
            || Some(name) == spec.weight.as_deref()
            || spec.drop.iter().any(|d| d == name)
        {
            continue;
        }
        if c.null_count() == c.len() {
            return Err(TrainError::AllMissing {
                file: file.clone(),
                column: name.to_owned(),
            });
        }
        let (kind, values) = match c.dtype() {
            DataType::String => {
                let ca = c.str().map_err(|e| read_error(file, e))?;
                let mut levels: Vec<&str> = ca.iter().flatten().collect();
                levels.sort_unstable();
                levels.dedup();
                let values = ca
                    .iter()
                    .map(|v| {
                        v.map_or(f64::NAN, |v| {
                            levels.binary_search(&v).map_or(f64::NAN, |i| i as f64)
                        })
                    })
                    .collect();
                (
                    FeatureKind::Categorical {
                        levels: levels.iter().map(|s| (*s).to_owned()).collect(),
                    },
                    values,
                )
            }
            dt if dt.is_primitive_numeric() || dt.is_bool() => {
                let f = c
                    .cast(&DataType::Float64)
                    .map_err(|e| read_error(file, e))?;
                let values: Vec<f64> = f
                    .f64()
                    .map_err(|e| read_error(file, e))?
                    .iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect();
                if let Some((row, v)) = values.iter().enumerate().find(|(_, v)| v.is_infinite()) {
                    return Err(TrainError::NonFinite {
                        column: format!("{}: {name}", file.display()),
                        row: row + 1,
                        value: v.to_string(),
                    });
                }
                (FeatureKind::Numeric, values)
            }
            other => {
                return Err(TrainError::Read {
                    file: file.clone(),
                    message: format!(
                        "column `{name}` has type {other}; numbers, booleans or text are supported (use --drop {name})"
                    ),
                });
            }
        };
        names.push(name.to_owned());
        dtypes.push(
            match c.dtype() {
                DataType::String => "string",
                DataType::Boolean => "bool",
                dt if dt.is_float() => "float64",
                _ => "int64",
            }
            .to_owned(),
        );
        kinds.push(kind);
        columns.push(values);
    }
    let weight = match &spec.weight {
        None => None,
        Some(w) => {
            let c = col(w)?
                .cast(&DataType::Float64)
                .map_err(|e| read_error(file, e))?;
            let values: Vec<f64> = c
                .f64()
                .map_err(|e| read_error(file, e))?
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect();
            if let Some((row, v)) = values
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite() || **v < 0.0)
            {
                return Err(TrainError::NonFinite {
                    column: format!("{}: {w} (weights must be finite and >= 0)", file.display()),
                    row: row + 1,
                    value: if v.is_nan() {
                        "missing".into()
                    } else {
                        v.to_string()
                    },
                });
            }
            Some(values)
        }
    };
    let data = if binary {
        Dataset::new(names, kinds, columns, target, weight)?
    } else {
        Dataset::new_continuous(names, kinds, columns, target, weight)?
    };
    Ok(LoadedTable {
        data,
        dtypes,
        ids,
        time: None,
        notes,
    })
}
