//! Reading, writing and validating recoup's raw tables.
//!
//! A raw folder holds one file per table of the contract (`accounts.parquet` or
//! `accounts.csv`, and so on), the treatment catalog `treatments.toml` and the export
//! manifest `export.toml`. [`read_table`] loads a table converted to the contract's types,
//! [`validate::validate_dir`] checks a whole folder, and [`write`] writes files atomically.

pub mod convert;
pub mod error;
pub mod read;
pub mod runs;
pub mod validate;
pub mod write;

pub use error::TableError;
pub use read::{TableFile, locate_table, read_raw, read_table};
pub use validate::{
    Problem, ProblemClass, Severity, ValidationOptions, ValidationReport, validate_and_load,
    validate_dir,
};
pub use write::{AtomicFile, ParquetTableWriter, write_parquet_atomic, write_text_atomic};
