//! Parquet in, through arrow-rs: record batches of the projected columns, and typed views of
//! a batch's columns that read any width of integer or float, booleans and every string
//! layout polars or pyarrow writes (`Utf8`, `LargeUtf8`, `Utf8View`).

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::error::ScoreError;

/// A parquet file read as record batches of `batch_rows` rows holding the chosen columns.
#[derive(Debug)]
pub struct ParquetBatches {
    file: PathBuf,
    reader: ParquetRecordBatchReader,
    schema: SchemaRef,
    rows: usize,
}

impl ParquetBatches {
    /// Opens `path`, keeping the `columns` named (all when `None`); a missing column is a
    /// [`ScoreError::ColumnNotFound`] naming `needed_by`.
    pub fn open(
        path: &Path,
        columns: Option<&[&str]>,
        batch_rows: usize,
        needed_by: &str,
    ) -> Result<Self, ScoreError> {
        let f = File::open(path).map_err(|e| recoup_core::FileError::new(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(f)
            .map_err(|e| ScoreError::parquet(path, e))?;
        let rows = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        let builder = match columns {
            None => builder,
            Some(names) => {
                let schema = builder.schema().clone();
                let mut roots = Vec::with_capacity(names.len());
                for name in names {
                    let (i, _) = schema.column_with_name(name).ok_or_else(|| {
                        ScoreError::ColumnNotFound {
                            file: path.to_path_buf(),
                            column: (*name).to_owned(),
                            needed_by: needed_by.to_owned(),
                        }
                    })?;
                    roots.push(i);
                }
                let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
                builder.with_projection(mask)
            }
        };
        let reader = builder
            .with_batch_size(batch_rows.max(1))
            .build()
            .map_err(|e| ScoreError::parquet(path, e))?;
        let schema = reader.schema();
        Ok(Self {
            file: path.to_path_buf(),
            reader,
            schema,
            rows,
        })
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows in the file (from its footer).
    pub fn rows(&self) -> usize {
        self.rows
    }
}

impl Iterator for ParquetBatches {
    type Item = Result<RecordBatch, ScoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.reader
            .next()
            .map(|r| r.map_err(|e| ScoreError::parquet(&self.file, e)))
    }
}

/// The column of `batch` named `name`.
pub fn column<'a>(
    batch: &'a RecordBatch,
    file: &Path,
    name: &str,
    needed_by: &str,
) -> Result<&'a ArrayRef, ScoreError> {
    batch
        .column_by_name(name)
        .ok_or_else(|| ScoreError::ColumnNotFound {
            file: file.to_path_buf(),
            column: name.to_owned(),
            needed_by: needed_by.to_owned(),
        })
}

/// `column` of `file` is not of the `expected` kind.
pub fn kind_mismatch(a: &dyn Array, file: &Path, column: &str, expected: &str) -> ScoreError {
    ScoreError::SchemaMismatch {
        file: file.to_path_buf(),
        column: column.to_owned(),
        expected: expected.to_owned(),
        found: a.data_type().to_string(),
    }
}

/// A column read as numbers: booleans as 0/1, nulls as NaN.
#[derive(Debug, Clone, Copy)]
pub enum Numbers<'a> {
    F64(&'a arrow_array::Float64Array),
    F32(&'a arrow_array::Float32Array),
    I64(&'a arrow_array::Int64Array),
    I32(&'a arrow_array::Int32Array),
    I16(&'a arrow_array::Int16Array),
    I8(&'a arrow_array::Int8Array),
    U64(&'a arrow_array::UInt64Array),
    U32(&'a arrow_array::UInt32Array),
    U16(&'a arrow_array::UInt16Array),
    U8(&'a arrow_array::UInt8Array),
    Bool(&'a arrow_array::BooleanArray),
    Null,
}

impl<'a> Numbers<'a> {
    /// `None` when the column is not numeric or boolean.
    pub fn of(a: &'a dyn Array) -> Option<Self> {
        Some(match a.data_type() {
            DataType::Float64 => Self::F64(a.as_primitive::<Float64Type>()),
            DataType::Float32 => Self::F32(a.as_primitive::<Float32Type>()),
            DataType::Int64 => Self::I64(a.as_primitive::<Int64Type>()),
            DataType::Int32 => Self::I32(a.as_primitive::<Int32Type>()),
            DataType::Int16 => Self::I16(a.as_primitive::<Int16Type>()),
            DataType::Int8 => Self::I8(a.as_primitive::<Int8Type>()),
            DataType::UInt64 => Self::U64(a.as_primitive::<UInt64Type>()),
            DataType::UInt32 => Self::U32(a.as_primitive::<UInt32Type>()),
            DataType::UInt16 => Self::U16(a.as_primitive::<UInt16Type>()),
            DataType::UInt8 => Self::U8(a.as_primitive::<UInt8Type>()),
            DataType::Boolean => Self::Bool(a.as_boolean()),
            DataType::Null => Self::Null,
            _ => return None,
        })
    }

    /// Like [`Numbers::of`], with an error naming the file and column.
    pub fn require(a: &'a dyn Array, file: &Path, name: &str) -> Result<Self, ScoreError> {
        Self::of(a).ok_or_else(|| kind_mismatch(a, file, name, "a number or boolean"))
    }

    #[inline]
    pub fn get(&self, i: usize) -> f64 {
        macro_rules! num {
            ($a:expr) => {
                if $a.is_null(i) {
                    f64::NAN
                } else {
                    $a.value(i) as f64
                }
            };
        }
        match self {
            Self::F64(a) => num!(a),
            Self::F32(a) => num!(a),
            Self::I64(a) => num!(a),
            Self::I32(a) => num!(a),
            Self::I16(a) => num!(a),
            Self::I8(a) => num!(a),
            Self::U64(a) => num!(a),
            Self::U32(a) => num!(a),
            Self::U16(a) => num!(a),
            Self::U8(a) => num!(a),
            Self::Bool(a) => {
                if a.is_null(i) {
                    f64::NAN
                } else {
                    f64::from(u8::from(a.value(i)))
                }
            }
            Self::Null => f64::NAN,
        }
    }
}

/// A column read as text.
#[derive(Debug, Clone, Copy)]
pub enum Texts<'a> {
    Utf8(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    Null,
}

impl<'a> Texts<'a> {
    pub fn of(a: &'a dyn Array) -> Option<Self> {
        Some(match a.data_type() {
            DataType::Utf8 => Self::Utf8(a.as_string::<i32>()),
            DataType::LargeUtf8 => Self::Large(a.as_string::<i64>()),
            DataType::Utf8View => Self::View(a.as_string_view()),
            DataType::Null => Self::Null,
            _ => return None,
        })
    }

    pub fn require(a: &'a dyn Array, file: &Path, name: &str) -> Result<Self, ScoreError> {
        Self::of(a).ok_or_else(|| kind_mismatch(a, file, name, "text"))
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Self::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            Self::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            Self::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            Self::Null => None,
        }
    }
}

/// Microseconds since the epoch (UTC) of a timestamp column, any unit; dates as their
/// midnight. `None` when the column is neither.
pub fn instants_us(a: &dyn Array) -> Option<Vec<Option<i64>>> {
    use arrow_array::types::{
        Date32Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    use arrow_schema::TimeUnit;
    let collect = |f: &dyn Fn(usize) -> i64| -> Vec<Option<i64>> {
        (0..a.len())
            .map(|i| (!a.is_null(i)).then(|| f(i)))
            .collect()
    };
    Some(match a.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let p = a.as_primitive::<TimestampMicrosecondType>();
            collect(&|i| p.value(i))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let p = a.as_primitive::<TimestampMillisecondType>();
            collect(&|i| p.value(i) * 1_000)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            let p = a.as_primitive::<TimestampNanosecondType>();
            collect(&|i| p.value(i).div_euclid(1_000))
        }
        DataType::Timestamp(TimeUnit::Second, _) => {
            let p = a.as_primitive::<TimestampSecondType>();
            collect(&|i| p.value(i) * 1_000_000)
        }
        DataType::Date32 => {
            let p = a.as_primitive::<Date32Type>();
            collect(&|i| i64::from(p.value(i)) * 86_400_000_000)
        }
        _ => return None,
    })
}

/// Days since the epoch of a date column (`Date32`).
pub fn days(a: &dyn Array) -> Option<Vec<Option<i32>>> {
    match a.data_type() {
        DataType::Date32 => {
            let p = a.as_primitive::<arrow_array::types::Date32Type>();
            Some(
                (0..a.len())
                    .map(|i| (!a.is_null(i)).then(|| p.value(i)))
                    .collect(),
            )
        }
        _ => None,
    }
}
