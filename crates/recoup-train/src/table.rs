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
}

/// A loaded table: the dataset, the ids (if any) and notes about what was done to the columns.
#[derive(Debug, Clone)]
pub struct LoadedTable {
    pub data: Dataset,
    /// Each feature's dtype, named as in recoup's feature schemas (`float64`, `int64`, `bool`,
    /// `string`).
    pub dtypes: Vec<String>,
    pub ids: Option<Vec<String>>,
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

/// Reads `spec.path` and splits its columns into target, id and features.
pub fn load_table(spec: &TableSpec) -> Result<LoadedTable, TrainError> {
    let df = read_frame(&spec.path)?;
    frame_to_dataset(&df, spec)
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
        DataType::String => {
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
    let data = Dataset::new(names, kinds, columns, target, None)?;
    Ok(LoadedTable {
        data,
        dtypes,
        ids,
        notes,
    })
}
