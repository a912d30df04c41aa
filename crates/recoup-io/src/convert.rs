//! Converting a stored column to the contract's type.
//!
//! Typed sources (parquet) are cast when the conversion cannot lose information; string
//! sources (CSV, or strings in parquet) are parsed value by value so that a bad value can be
//! reported with its row.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use polars::prelude::*;
use recoup_core::ColumnType;

/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// How a column failed to convert.
#[derive(Debug, Clone, PartialEq)]
pub enum ConvertError {
    /// The stored type cannot hold the contract's type at all.
    Type { found: String },
    /// Some values could not be parsed: their count and the first few (0-based row, value).
    Values {
        count: usize,
        examples: Vec<(usize, String)>,
    },
}

/// The polars dtype a contract type is held in once loaded.
pub fn polars_dtype(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Id
        | ColumnType::Text
        | ColumnType::Enum(_)
        | ColumnType::TimeZone
        | ColumnType::Currency => DataType::String,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Date => DataType::Date,
        ColumnType::Timestamp => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
    }
}

pub fn date_to_days(d: NaiveDate) -> i32 {
    use chrono::Datelike;
    d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
}

pub fn days_to_date(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_DAYS_FROM_CE).unwrap_or(NaiveDate::MIN)
}

pub fn micros_to_datetime(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "True" | "TRUE" | "1" => Some(true),
        "false" | "False" | "FALSE" | "0" => Some(false),
        _ => None,
    }
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// RFC 3339 with any offset (converted to UTC), or a naive `YYYY-MM-DD[ T]HH:MM:SS[.f]` read as UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

const MAX_EXAMPLES: usize = 5;

/// Converts every non-null value with `convert`; on any failure, reports how many failed and
/// the first few (row, shown value).
fn convert_values<V: Copy, T>(
    values: impl Iterator<Item = Option<V>>,
    convert: impl Fn(V) -> Option<T>,
    show: impl Fn(V) -> String,
) -> Result<Vec<Option<T>>, ConvertError> {
    let mut out = Vec::with_capacity(values.size_hint().0);
    let mut count = 0;
    let mut examples = Vec::new();
    for (row, v) in values.enumerate() {
        let Some(v) = v else {
            out.push(None);
            continue;
        };
        let converted = convert(v);
        if converted.is_none() {
            count += 1;
            if examples.len() < MAX_EXAMPLES {
                examples.push((row, show(v)));
            }
        }
        out.push(converted);
    }
    if count > 0 {
        Err(ConvertError::Values { count, examples })
    } else {
        Ok(out)
    }
}

fn parse_strings<T>(
    ca: &StringChunked,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<Option<T>>, ConvertError> {
    convert_values(ca.iter(), parse, str::to_owned)
}

fn type_error(col: &Column) -> ConvertError {
    ConvertError::Type {
        found: col.dtype().to_string(),
    }
}

fn timestamp_from_micros(name: PlSmallStr, v: Int64Chunked) -> Series {
    v.with_name(name)
        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
        .into_series()
}

/// Converts `col` to the polars type of `ty`, or says why it cannot.
pub fn convert_column(col: &Column, ty: ColumnType) -> Result<Column, ConvertError> {
    let name = col.name().clone();
    let dtype = col.dtype().clone();
    let target = polars_dtype(ty);
    if dtype == target {
        return Ok(col.clone());
    }
    let out: Series = match (&target, &dtype) {
        (DataType::String, dt) if dt.is_integer() && ty == ColumnType::Id => col
            .cast(&DataType::String)
            .map_err(|_| type_error(col))?
            .take_materialized_series(),
        (_, DataType::String) => {
            let ca = col.str().map_err(|_| type_error(col))?;
            match ty {
                ColumnType::Bool => BooleanChunked::from_iter_options(
                    name,
                    parse_strings(ca, parse_bool)?.into_iter(),
                )
                .into_series(),
                ColumnType::Int => Int64Chunked::from_iter_options(
                    name,
                    parse_strings(ca, |s| s.trim().parse::<i64>().ok())?.into_iter(),
                )
                .into_series(),
                ColumnType::Float => Float64Chunked::from_iter_options(
                    name,
                    parse_strings(ca, |s| s.trim().parse::<f64>().ok())?.into_iter(),
                )
                .into_series(),
                ColumnType::Date => Int32Chunked::from_iter_options(
                    name,
                    parse_strings(ca, |s| parse_date(s).map(date_to_days))?.into_iter(),
                )
                .into_date()
                .into_series(),
                ColumnType::Timestamp => timestamp_from_micros(
                    name.clone(),
                    Int64Chunked::from_iter_options(
                        name,
                        parse_strings(ca, |s| parse_timestamp(s).map(|t| t.timestamp_micros()))?
                            .into_iter(),
                    ),
                ),
                _ => unreachable!("string targets are equal to the source dtype"),
            }
        }
        (DataType::String, dt) if dt.is_categorical() || dt.is_enum() => col
            .cast(&DataType::String)
            .map_err(|_| type_error(col))?
            .take_materialized_series(),
        (DataType::Boolean, _) => return Err(type_error(col)),
        // pandas turns integer columns with missing values into floats: accept whole numbers.
        (DataType::Int64, dt) if dt.is_float() => {
            let floats = col.cast(&DataType::Float64).map_err(|_| type_error(col))?;
            let ca = floats.f64().map_err(|_| type_error(col))?;
            let whole = |v: f64| (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64);
            let values = convert_values(ca.iter(), whole, |v| v.to_string())?;
            Int64Chunked::from_iter_options(name, values.into_iter()).into_series()
        }
        // pandas has no date type and writes dates as timestamps at midnight: accept those.
        (DataType::Date, DataType::Datetime(unit, _)) => {
            let per_day: i64 = match unit {
                TimeUnit::Nanoseconds => 86_400_000_000_000,
                TimeUnit::Microseconds => 86_400_000_000,
                TimeUnit::Milliseconds => 86_400_000,
            };
            let phys = col.datetime().map_err(|_| type_error(col))?.physical();
            let midnight = |v: i64| {
                (v.rem_euclid(per_day) == 0)
                    .then(|| i32::try_from(v.div_euclid(per_day)).ok())
                    .flatten()
            };
            let show = |v: i64| {
                let us = match unit {
                    TimeUnit::Nanoseconds => v.div_euclid(1000),
                    TimeUnit::Microseconds => v,
                    TimeUnit::Milliseconds => v * 1000,
                };
                micros_to_datetime(us).to_rfc3339()
            };
            let days = convert_values(phys.iter(), midnight, show)?;
            Int32Chunked::from_iter_options(name, days.into_iter())
                .into_date()
                .into_series()
        }
        (DataType::Int64, dt) if dt.is_integer() => col
            .cast(&DataType::Int64)
            .map_err(|_| type_error(col))?
            .take_materialized_series(),
        (DataType::Float64, dt) if dt.is_primitive_numeric() => col
            .cast(&DataType::Float64)
            .map_err(|_| type_error(col))?
            .take_materialized_series(),
        (DataType::Datetime(..), DataType::Datetime(unit, _)) => {
            // Arrow timestamps with or without a zone count from the UTC epoch: only the unit changes.
            let phys = col
                .datetime()
                .map_err(|_| type_error(col))?
                .physical()
                .clone();
            let scaled: Int64Chunked = match unit {
                TimeUnit::Nanoseconds => phys.apply_values(|v| v.div_euclid(1000)),
                TimeUnit::Microseconds => phys,
                TimeUnit::Milliseconds => phys.apply_values(|v| v * 1000),
            };
            timestamp_from_micros(name, scaled)
        }
        _ => return Err(type_error(col)),
    };
    Ok(out.into_column())
}
