//! Locating and loading raw tables.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use recoup_core::{ContractError, Table};

use crate::convert::{ConvertError, convert_column};
use crate::error::TableError;

/// The on-disk format of a table file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
}

/// Where a table lives in a raw folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFile {
    pub table: Table,
    pub path: PathBuf,
    pub format: Format,
}

impl TableFile {
    /// The file name shown in messages (`accounts.csv`).
    pub fn display_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

/// Finds `<table>.parquet` or `<table>.csv` in `dir`.
pub fn locate_table(dir: &Path, table: Table) -> Result<TableFile, TableError> {
    let parquet = dir.join(format!("{}.parquet", table.stem()));
    let csv = dir.join(format!("{}.csv", table.stem()));
    match (parquet.is_file(), csv.is_file()) {
        (true, false) => Ok(TableFile {
            table,
            path: parquet,
            format: Format::Parquet,
        }),
        (false, true) => Ok(TableFile {
            table,
            path: csv,
            format: Format::Csv,
        }),
        (true, true) => Err(TableError::AmbiguousTable {
            dir: dir.to_path_buf(),
            table: table.stem(),
        }),
        (false, false) => Err(TableError::MissingTable {
            dir: dir.to_path_buf(),
            table: table.stem(),
        }),
    }
}

/// Reads a table file as stored: parquet with its own types, CSV with every column as a string.
pub fn read_raw(file: &TableFile) -> Result<DataFrame, TableError> {
    let path = &file.path;
    match file.format {
        Format::Parquet => {
            let f = File::open(path).map_err(|e| TableError::io(path, e))?;
            ParquetReader::new(f)
                .finish()
                .map_err(|e| TableError::polars(path, e))
        }
        Format::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.clone()))
            .and_then(|r| r.finish())
            .map_err(|e| TableError::polars(path, e)),
    }
}

/// Loads a table converted to the contract's types, with only the contract's columns, in
/// contract order. Any column that is missing or cannot be converted is an error naming the
/// file, column, row and value. Value rules (enums, ranges, keys) are checked by
/// [`crate::validate_dir`], not here.
pub fn read_table(dir: &Path, table: Table) -> Result<DataFrame, TableError> {
    let file = locate_table(dir, table)?;
    let raw = read_raw(&file)?;
    let schema = table.schema();
    let mut columns = Vec::with_capacity(schema.columns.len());
    for spec in schema.columns {
        let col = raw
            .column(spec.name)
            .map_err(|_| ContractError::ColumnNotFound {
                file: file.path.clone(),
                table: schema.name,
                column: spec.name.to_owned(),
            })?;
        let converted = convert_column(col, spec.ty).map_err(|e| match e {
            ConvertError::Type { found } => ContractError::SchemaMismatch {
                file: file.path.clone(),
                column: spec.name.to_owned(),
                expected: spec.ty.to_string(),
                found,
            },
            ConvertError::Values { examples, .. } => {
                let (row, value) = examples.into_iter().next().unwrap_or_default();
                ContractError::InvalidValue {
                    file: file.path.clone(),
                    column: spec.name.to_owned(),
                    row: row + 1,
                    value,
                    reason: format!("is not a valid {}", spec.ty),
                }
            }
        })?;
        columns.push(converted);
    }
    DataFrame::new(raw.height(), columns).map_err(|e| TableError::polars(&file.path, e))
}
