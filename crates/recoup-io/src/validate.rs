//! `recoup validate`: checks a raw folder against the data contract.
//!
//! Every problem class is reported once per file and column, with a count and the first
//! offending rows and values. Nothing in the folder is modified.

use std::collections::HashMap;

use rayon::prelude::*;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use polars::prelude::*;
use recoup_core::schema::{ColumnSpec, ColumnType, ValueRule};
use recoup_core::{Channel, ContactOutcome, ExportManifest, Table, TreatmentCatalog};
use serde::Serialize;

use crate::convert::{ConvertError, convert_column, days_to_date, micros_to_datetime};
use crate::error::TableError;
use crate::read::{TableFile, locate_table, read_raw};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// The kinds of problem the validator reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ProblemClass {
    MissingTable,
    UnreadableFile,
    NoExportManifest,
    BadCatalog,
    MissingColumn,
    ExtraColumn,
    WrongType,
    NullValue,
    NegativeAmount,
    OutOfRange,
    UnknownEnumValue,
    InvalidTimeZone,
    InvalidCurrency,
    DuplicateId,
    OrphanAccountId,
    OrphanContactId,
    AfterExportDate,
    ContactWithoutConsent,
    OutcomeNotPossibleOnChannel,
    UnknownTreatment,
    TreatmentChannelMismatch,
    PromiseDueBeforeMade,
    AccountWithoutStates,
}

impl ProblemClass {
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// One offending value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Example {
    /// 1-based data row (the CSV header is not counted); `None` for whole-file problems.
    pub row: Option<usize>,
    pub value: String,
}

/// One class of problem in one file (and column).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub class: ProblemClass,
    pub file: String,
    pub column: Option<String>,
    /// How many rows (or items) have the problem.
    pub count: usize,
    pub message: String,
    pub examples: Vec<Example>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}] {}", self.class.name(), self.file)?;
        if let Some(c) = &self.column {
            write!(f, ": column `{c}`")?;
        }
        write!(f, ": {}", self.message)?;
        if self.count > 1 || self.examples.iter().any(|e| e.row.is_some()) {
            write!(
                f,
                " ({} row{})",
                self.count,
                if self.count == 1 { "" } else { "s" }
            )?;
        }
        if !self.examples.is_empty() {
            let shown: Vec<String> = self
                .examples
                .iter()
                .map(|e| match e.row {
                    Some(r) => format!("row {r}: `{}`", e.value),
                    None => format!("`{}`", e.value),
                })
                .collect();
            write!(f, "; first: {}", shown.join(", "))?;
        }
        Ok(())
    }
}

/// Row count of one table as read.
#[derive(Debug, Clone, Serialize)]
pub struct TableSummary {
    pub table: &'static str,
    pub file: String,
    pub rows: usize,
}

/// Everything the validator found.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    pub dir: PathBuf,
    pub export_at: DateTime<Utc>,
    pub tables: Vec<TableSummary>,
    pub problems: Vec<Problem>,
}

impl ValidationReport {
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Warning)
    }
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
    /// Problems of one class, for tests and tools.
    pub fn of_class(&self, class: ProblemClass) -> Vec<&Problem> {
        self.problems.iter().filter(|p| p.class == class).collect()
    }
}

/// Settings of a validation run.
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// The export instant; by default taken from `export.toml`, else the current time.
    pub export_at: Option<DateTime<Utc>>,
    /// How many offending values to show per problem.
    pub max_examples: usize,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        Self {
            export_at: None,
            max_examples: 5,
        }
    }
}

struct Hits {
    count: usize,
    examples: Vec<Example>,
    max: usize,
}

impl Hits {
    fn new(max: usize) -> Self {
        Self {
            count: 0,
            examples: Vec::new(),
            max,
        }
    }
    /// Records an offending value at 0-based `row`.
    fn hit(&mut self, row: usize, value: impl FnOnce() -> String) {
        self.count += 1;
        if self.examples.len() < self.max {
            self.examples.push(Example {
                row: Some(row + 1),
                value: value(),
            });
        }
    }
}

struct Loaded {
    file: TableFile,
    name: String,
    /// The contract's columns that exist and converted, with contract types.
    df: DataFrame,
}

impl Loaded {
    fn col(&self, name: &str) -> Option<&Column> {
        self.df.column(name).ok()
    }
}

struct Validator {
    export_at: DateTime<Utc>,
    max_examples: usize,
    problems: Vec<Problem>,
}

impl Validator {
    fn push(
        &mut self,
        severity: Severity,
        class: ProblemClass,
        file: &str,
        column: Option<&str>,
        message: String,
        hits: Hits,
    ) {
        self.problems.push(Problem {
            severity,
            class,
            file: file.to_owned(),
            column: column.map(str::to_owned),
            count: hits.count,
            message,
            examples: hits.examples,
        });
    }

    fn push_hits(
        &mut self,
        class: ProblemClass,
        t: &Loaded,
        column: &str,
        message: String,
        hits: Hits,
    ) {
        if hits.count > 0 {
            self.push(Severity::Error, class, &t.name, Some(column), message, hits);
        }
    }

    fn whole_file(
        &mut self,
        severity: Severity,
        class: ProblemClass,
        file: &str,
        column: Option<&str>,
        message: String,
    ) {
        let mut hits = Hits::new(0);
        hits.count = 1;
        self.push(severity, class, file, column, message, hits);
    }

    fn hits(&self) -> Hits {
        Hits::new(self.max_examples)
    }

    fn load(&mut self, dir: &Path, table: Table) -> Option<Loaded> {
        let file = match locate_table(dir, table) {
            Ok(f) => f,
            Err(e) => {
                self.whole_file(
                    Severity::Error,
                    ProblemClass::MissingTable,
                    &format!("{}.*", table.stem()),
                    None,
                    e.to_string(),
                );
                return None;
            }
        };
        let name = file.display_name();
        let raw = match read_raw(&file) {
            Ok(df) => df,
            Err(e) => {
                self.whole_file(
                    Severity::Error,
                    ProblemClass::UnreadableFile,
                    &name,
                    None,
                    e.to_string(),
                );
                return None;
            }
        };
        let schema = table.schema();
        for c in raw.get_column_names() {
            if schema.column(c.as_str()).is_none() {
                self.whole_file(
                    Severity::Warning,
                    ProblemClass::ExtraColumn,
                    &name,
                    Some(c.as_str()),
                    "not part of the contract; it is ignored".into(),
                );
            }
        }
        let mut columns = Vec::new();
        for spec in schema.columns {
            let Ok(col) = raw.column(spec.name) else {
                self.whole_file(
                    Severity::Error,
                    ProblemClass::MissingColumn,
                    &name,
                    Some(spec.name),
                    format!("required column is missing (type {})", spec.ty),
                );
                continue;
            };
            match convert_column(col, spec.ty) {
                Ok(c) => columns.push(c),
                Err(ConvertError::Type { found }) => self.whole_file(
                    Severity::Error,
                    ProblemClass::WrongType,
                    &name,
                    Some(spec.name),
                    format!("stored as {found}, expected {}", spec.ty),
                ),
                Err(ConvertError::Values { count, examples }) => {
                    let mut hits = self.hits();
                    hits.count = count;
                    hits.examples = examples
                        .into_iter()
                        .take(self.max_examples)
                        .map(|(row, value)| Example {
                            row: Some(row + 1),
                            value,
                        })
                        .collect();
                    self.push(
                        Severity::Error,
                        ProblemClass::WrongType,
                        &name,
                        Some(spec.name),
                        format!("values are not a valid {}", spec.ty),
                        hits,
                    );
                }
            }
        }
        let df = DataFrame::new(raw.height(), columns).ok()?;
        Some(Loaded { file, name, df })
    }

    /// A validator for one task of a parallel run; its problems are appended in a fixed order.
    fn child(&self) -> Self {
        Self {
            export_at: self.export_at,
            max_examples: self.max_examples,
            problems: Vec::new(),
        }
    }

    /// Checks every column's values and the key; returns which accounts the table refers to.
    fn check_columns(
        &mut self,
        t: &Loaded,
        account_ids: Option<&IdIndex<'_>>,
    ) -> Option<Vec<bool>> {
        let schema = t.file.table.schema();
        let mut seen = None;
        for spec in schema.columns {
            let Some(col) = t.col(spec.name) else {
                continue;
            };
            self.check_nulls(t, spec, col);
            self.check_values(t, spec, col);
            if spec.event_time {
                self.check_event_time(t, spec, col);
            }
            if spec.references_account
                && let Some(ids) = account_ids
            {
                seen = self.check_reference(
                    t,
                    spec.name,
                    ids,
                    ProblemClass::OrphanAccountId,
                    "account id not found in `accounts`",
                );
            }
        }
        self.check_primary_key(t);
        seen
    }

    /// Every non-null value of `column` must be one of `ids`; returns which of them occur.
    fn check_reference(
        &mut self,
        t: &Loaded,
        column: &str,
        ids: &IdIndex<'_>,
        class: ProblemClass,
        message: &str,
    ) -> Option<Vec<bool>> {
        let ca = t.col(column)?.str().ok()?;
        let mut seen = vec![false; ids.len()];
        let mut hits = self.hits();
        let mut found = None;
        for (row, v, new_run) in crate::runs::rows_with_runs(ca) {
            let Some(v) = v else { continue };
            if new_run {
                found = ids.get(v);
                if let Some(i) = found {
                    seen[i as usize] = true;
                }
            }
            if found.is_none() {
                hits.hit(row, || v.to_owned());
            }
        }
        self.push_hits(class, t, column, message.into(), hits);
        Some(seen)
    }

    fn check_nulls(&mut self, t: &Loaded, spec: &ColumnSpec, col: &Column) {
        if spec.nullable || col.null_count() == 0 {
            return;
        }
        let mut hits = self.hits();
        let mask = col.is_null();
        for (row, null) in mask.iter().enumerate() {
            if null == Some(true) {
                hits.hit(row, || "null".into());
            }
        }
        self.push_hits(
            ProblemClass::NullValue,
            t,
            spec.name,
            "null where a value is required".into(),
            hits,
        );
    }

    fn check_values(&mut self, t: &Loaded, spec: &ColumnSpec, col: &Column) {
        match spec.ty {
            ColumnType::Float => {
                let Ok(ca) = col.f64() else { return };
                // One branch-free pass over the value buffers decides the common case; the
                // rows are only walked (respecting nulls) when some slot fails.
                let passes = |v: f64| match spec.rule {
                    ValueRule::NonNegative => v >= 0.0 && v.is_finite(),
                    ValueRule::Positive => v > 0.0 && v.is_finite(),
                    ValueRule::Probability => v > 0.0 && v <= 1.0,
                    ValueRule::None => v.is_finite(),
                };
                if ca
                    .downcast_iter()
                    .all(|arr| arr.values().iter().fold(true, |ok, &v| ok & passes(v)))
                {
                    return;
                }
                let mut neg = self.hits();
                let mut range = self.hits();
                for (row, v) in ca.iter().enumerate() {
                    let Some(v) = v else { continue };
                    if !v.is_finite() {
                        range.hit(row, || v.to_string());
                        continue;
                    }
                    match spec.rule {
                        ValueRule::NonNegative if v < 0.0 => neg.hit(row, || v.to_string()),
                        ValueRule::Positive if v <= 0.0 => neg.hit(row, || v.to_string()),
                        ValueRule::Probability if !(v > 0.0 && v <= 1.0) => {
                            range.hit(row, || v.to_string())
                        }
                        _ => {}
                    }
                }
                let msg = if spec.rule == ValueRule::Positive {
                    "amount must be above 0"
                } else {
                    "value must not be negative"
                };
                self.push_hits(ProblemClass::NegativeAmount, t, spec.name, msg.into(), neg);
                let msg = if spec.rule == ValueRule::Probability {
                    "value must be a probability in (0, 1]"
                } else {
                    "value must be a finite number"
                };
                self.push_hits(ProblemClass::OutOfRange, t, spec.name, msg.into(), range);
            }
            ColumnType::Int => {
                let Ok(ca) = col.i64() else { return };
                if spec.rule == ValueRule::NonNegative && ca.min().is_some_and(|m| m < 0) {
                    let mut neg = self.hits();
                    for (row, v) in ca.iter().enumerate() {
                        if let Some(v) = v
                            && v < 0
                        {
                            neg.hit(row, || v.to_string());
                        }
                    }
                    self.push_hits(
                        ProblemClass::NegativeAmount,
                        t,
                        spec.name,
                        "value must not be negative".into(),
                        neg,
                    );
                }
            }
            ColumnType::Enum(names) => {
                let Ok(ca) = col.str() else { return };
                if distinct_all(ca, |v| names.contains(&v)) {
                    return;
                }
                let mut hits = self.hits();
                for (row, v) in ca.iter().enumerate() {
                    if let Some(v) = v
                        && !names.contains(&v)
                    {
                        hits.hit(row, || v.to_owned());
                    }
                }
                let msg = format!("unknown value (expected one of: {})", names.join(", "));
                self.push_hits(ProblemClass::UnknownEnumValue, t, spec.name, msg, hits);
            }
            ColumnType::TimeZone => {
                let Ok(ca) = col.str() else { return };
                if distinct_all(ca, |v| v.parse::<chrono_tz::Tz>().is_ok()) {
                    return;
                }
                let mut hits = self.hits();
                let mut known: PlHashMap<&str, bool> = PlHashMap::default();
                for (row, v) in ca.iter().enumerate() {
                    let Some(v) = v else { continue };
                    let ok = *known
                        .entry(v)
                        .or_insert_with(|| v.parse::<chrono_tz::Tz>().is_ok());
                    if !ok {
                        hits.hit(row, || v.to_owned());
                    }
                }
                self.push_hits(
                    ProblemClass::InvalidTimeZone,
                    t,
                    spec.name,
                    "not an IANA time zone name".into(),
                    hits,
                );
            }
            ColumnType::Currency => {
                let Ok(ca) = col.str() else { return };
                if distinct_all(ca, is_currency_code) {
                    return;
                }
                let mut hits = self.hits();
                for (row, v) in ca.iter().enumerate() {
                    if let Some(v) = v
                        && !is_currency_code(v)
                    {
                        hits.hit(row, || v.to_owned());
                    }
                }
                self.push_hits(
                    ProblemClass::InvalidCurrency,
                    t,
                    spec.name,
                    "not an ISO 4217 code (three capital letters)".into(),
                    hits,
                );
            }
            _ => {}
        }
    }

    fn check_event_time(&mut self, t: &Loaded, spec: &ColumnSpec, col: &Column) {
        let mut hits = self.hits();
        let limit_us = self.export_at.timestamp_micros();
        match spec.ty {
            ColumnType::Date => {
                let Ok(ca) = col.date() else { return };
                if ca
                    .physical()
                    .max()
                    .is_none_or(|d| i64::from(d) * 86_400_000_000 <= limit_us)
                {
                    return;
                }
                for (row, d) in ca.physical().iter().enumerate() {
                    if let Some(d) = d
                        && i64::from(d) * 86_400_000_000 > limit_us
                    {
                        hits.hit(row, || days_to_date(d).to_string());
                    }
                }
            }
            ColumnType::Timestamp => {
                let Ok(ca) = col.datetime() else { return };
                if ca.physical().max().is_none_or(|us| us <= limit_us) {
                    return;
                }
                for (row, us) in ca.physical().iter().enumerate() {
                    if let Some(us) = us
                        && us > limit_us
                    {
                        hits.hit(row, || micros_to_datetime(us).to_rfc3339());
                    }
                }
            }
            _ => return,
        }
        let msg = format!(
            "dated after the export instant {}",
            self.export_at.to_rfc3339()
        );
        self.push_hits(ProblemClass::AfterExportDate, t, spec.name, msg, hits);
    }

    fn check_primary_key(&mut self, t: &Loaded) {
        let key = t.file.table.schema().primary_key;
        let mut hits = self.hits();
        match key {
            [one] => {
                let Some(Ok(ca)) = t.col(one).map(|c| c.str()) else {
                    return;
                };
                find_duplicates(|| ca.iter(), &mut hits, |v| v.to_owned());
            }
            [id, date] => {
                let (Some(Ok(ids)), Some(Ok(dates))) =
                    (t.col(id).map(|c| c.str()), t.col(date).map(|c| c.date()))
                else {
                    return;
                };
                let keys = || {
                    ids.iter()
                        .zip(dates.physical().iter())
                        .map(|(v, d)| v.zip(d))
                };
                find_duplicates(keys, &mut hits, |(v, d)| {
                    format!("{v}, {}", days_to_date(d))
                });
            }
            _ => unreachable!("keys have one or two columns"),
        }
        let msg = format!("duplicate key ({})", key.join(", "));
        self.push_hits(ProblemClass::DuplicateId, t, &key.join("+"), msg, hits);
    }

    fn check_contacts(
        &mut self,
        t: &Loaded,
        accounts: Option<&Loaded>,
        catalog: Option<&TreatmentCatalog>,
    ) {
        let (Some(Ok(acc)), Some(Ok(chan)), Some(Ok(outcome)), Some(Ok(at))) = (
            t.col("account_id").map(|c| c.str()),
            t.col("channel").map(|c| c.str()),
            t.col("outcome").map(|c| c.str()),
            t.col("contacted_at").map(|c| c.datetime()),
        ) else {
            return;
        };
        let at = at.physical();
        let mut bad_outcome = self.hits();
        for (row, (c, o)) in chan.iter().zip(outcome.iter()).enumerate() {
            if let (Some(Ok(c)), Some(Ok(o))) = (
                c.map(str::parse::<Channel>),
                o.map(str::parse::<ContactOutcome>),
            ) && !ContactOutcome::possible_on(c).contains(&o)
            {
                bad_outcome.hit(row, || format!("{o} on {c}"));
            }
        }
        self.push_hits(
            ProblemClass::OutcomeNotPossibleOnChannel,
            t,
            "outcome",
            "outcome cannot happen on the contact's channel".into(),
            bad_outcome,
        );

        if let (Some(catalog), Some(Ok(treat))) = (catalog, t.col("treatment_id").map(|c| c.str()))
        {
            let mut unknown = self.hits();
            let mut mismatch = self.hits();
            for (row, (tid, c)) in treat.iter().zip(chan.iter()).enumerate() {
                let Some(tid) = tid else { continue };
                match catalog.get(tid) {
                    None => unknown.hit(row, || tid.to_owned()),
                    Some(tr) => {
                        if let Some(Ok(c)) = c.map(str::parse::<Channel>)
                            && c != tr.channel
                        {
                            mismatch
                                .hit(row, || format!("{tid} (a {} treatment) on {c}", tr.channel));
                        }
                    }
                }
            }
            self.push_hits(
                ProblemClass::UnknownTreatment,
                t,
                "treatment_id",
                "treatment not in `treatments.toml`".into(),
                unknown,
            );
            self.push_hits(
                ProblemClass::TreatmentChannelMismatch,
                t,
                "channel",
                "channel differs from the treatment's channel in the catalog".into(),
                mismatch,
            );
        }

        // Consent is as of the export: a channel without consent may only have been used up to the
        // customer's first opt-out on it.
        let Some(accounts) = accounts else { return };
        let Some(Ok(ids)) = accounts.col("account_id").map(|c| c.str()) else {
            return;
        };
        // Only customers who refused some channel can fail this check.
        let mut consent: PlHashMap<&str, [bool; 5]> = PlHashMap::default();
        let consent_cols: Vec<Option<&BooleanChunked>> = Channel::CONTACTABLE
            .iter()
            .map(|c| {
                accounts
                    .col(c.consent_column().unwrap_or_default())
                    .and_then(|col| col.bool().ok())
            })
            .collect();
        if consent_cols.iter().any(Option::is_none) {
            return;
        }
        for (row, id) in ids.iter().enumerate() {
            let Some(id) = id else { continue };
            let mut flags = [true; 5];
            for (k, col) in consent_cols.iter().enumerate() {
                flags[k] = col.and_then(|c| c.get(row)).unwrap_or(true);
            }
            if flags.contains(&false) {
                consent.insert(id, flags);
            }
        }
        let mut first_opt_out: PlHashMap<(&str, usize), i64> = PlHashMap::default();
        for ((a, (c, o)), ts) in acc
            .iter()
            .zip(chan.iter().zip(outcome.iter()))
            .zip(at.iter())
        {
            if let (Some(a), Some(Ok(c)), Some("opt_out"), Some(ts)) =
                (a, c.map(str::parse::<Channel>), o, ts)
                && c != Channel::None
            {
                let e = first_opt_out.entry((a, c.index())).or_insert(ts);
                *e = (*e).min(ts);
            }
        }
        let mut hits = self.hits();
        for (row, ((a, c), ts)) in acc.iter().zip(chan.iter()).zip(at.iter()).enumerate() {
            let (Some(a), Some(Ok(c)), Some(ts)) = (a, c.map(str::parse::<Channel>), ts) else {
                continue;
            };
            if c == Channel::None {
                continue;
            }
            let Some(flags) = consent.get(a) else {
                continue;
            };
            if flags[c.index()] {
                continue;
            }
            let allowed = first_opt_out
                .get(&(a, c.index()))
                .is_some_and(|&opt| ts <= opt);
            if !allowed {
                hits.hit(row, || {
                    format!("{a} by {c} at {}", micros_to_datetime(ts).to_rfc3339())
                });
            }
        }
        self.push_hits(
            ProblemClass::ContactWithoutConsent,
            t,
            "channel",
            "contact on a channel the customer has not consented to (and did not opt out of afterwards)".into(),
            hits,
        );
    }

    fn check_promises(&mut self, t: &Loaded, contact_ids: Option<&IdIndex<'_>>) {
        if let (Some(Ok(made)), Some(Ok(due))) = (
            t.col("made_at").map(|c| c.datetime()),
            t.col("due_on").map(|c| c.date()),
        ) {
            let mut hits = self.hits();
            for (row, (m, d)) in made
                .physical()
                .iter()
                .zip(due.physical().iter())
                .enumerate()
            {
                if let (Some(m), Some(d)) = (m, d)
                    && i64::from(d) < m.div_euclid(86_400_000_000)
                {
                    hits.hit(row, || {
                        format!(
                            "due {} made {}",
                            days_to_date(d),
                            micros_to_datetime(m).to_rfc3339()
                        )
                    });
                }
            }
            self.push_hits(
                ProblemClass::PromiseDueBeforeMade,
                t,
                "due_on",
                "due before the promise was made".into(),
                hits,
            );
        }
        if let Some(ids) = contact_ids {
            self.check_reference(
                t,
                "contact_id",
                ids,
                ProblemClass::OrphanContactId,
                "contact id not found in `contacts`",
            );
        }
    }
}

/// Records every repeated key. Exports are usually sorted by their key, and then repeats are
/// neighbours: one linear pass finds them. When a key is out of order, a hash set does.
fn find_duplicates<K: Copy + Ord + std::hash::Hash, I: Iterator<Item = Option<K>>>(
    keys: impl Fn() -> I,
    hits: &mut Hits,
    show: impl Fn(K) -> String,
) {
    let mut neighbours = Hits::new(hits.max);
    let mut prev = None;
    let mut sorted = true;
    for (row, k) in keys().enumerate() {
        let Some(k) = k else { continue };
        match prev {
            Some(p) if p == k => neighbours.hit(row, || show(k)),
            Some(p) if p > k => {
                sorted = false;
                break;
            }
            _ => {}
        }
        prev = Some(k);
    }
    if sorted {
        *hits = neighbours;
        return;
    }
    let mut seen = PlHashSet::default();
    for (row, k) in keys().enumerate() {
        if let Some(k) = k
            && !seen.insert(k)
        {
            hits.hit(row, || show(k));
        }
    }
}

/// What checking one table found: problems of its columns, of the cross-table rules, and (for
/// `account_states`) which accounts it has rows for.
struct TableChecks {
    columns: Vec<Problem>,
    rules: Vec<Problem>,
    accounts_seen: Option<Vec<bool>>,
}

/// Distinct ids numbered in order of first appearance.
#[derive(Default)]
struct IdIndex<'a> {
    index: PlHashMap<&'a str, u32>,
    ids: Vec<&'a str>,
}

impl<'a> IdIndex<'a> {
    fn new(values: impl Iterator<Item = &'a str>) -> Self {
        let mut out = Self::default();
        for v in values {
            out.insert(v);
        }
        out
    }

    fn insert(&mut self, v: &'a str) {
        let next = self.ids.len() as u32;
        self.index.entry(v).or_insert_with(|| {
            self.ids.push(v);
            next
        });
    }

    fn of_column(t: Option<&'a Loaded>, column: &str) -> Option<Self> {
        let mut out = Self::default();
        // Runs of equal ids (one account's rows) are inserted once.
        for (_, v, new_run) in crate::runs::rows_with_runs(t?.col(column)?.str().ok()?) {
            if let (Some(v), true) = (v, new_run) {
                out.insert(v);
            }
        }
        Some(out)
    }

    fn get(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// Whether every distinct non-null value passes `ok`: a few distinct values decide for millions
/// of rows, and the rows are only walked (for examples) when one fails.
fn distinct_all(ca: &StringChunked, ok: impl Fn(&str) -> bool) -> bool {
    match ca.unique() {
        Ok(distinct) => distinct.iter().flatten().all(ok),
        Err(_) => false,
    }
}

fn is_currency_code(v: &str) -> bool {
    v.len() == 3 && v.bytes().all(|b| b.is_ascii_uppercase())
}

/// Checks every table of a raw folder against the contract. `Err` only when the folder
/// itself cannot be read; everything wrong inside it is in the report.
pub fn validate_dir(
    dir: &Path,
    options: &ValidationOptions,
) -> Result<ValidationReport, TableError> {
    validate_and_load(dir, options).map(|(report, _)| report)
}

/// [`validate_dir`], also returning the tables it loaded, in the contract's types and column
/// order (only the contract's columns; a table whose columns failed to load is absent), so a
/// caller that goes on to use them does not read the files twice.
pub fn validate_and_load(
    dir: &Path,
    options: &ValidationOptions,
) -> Result<(ValidationReport, HashMap<Table, DataFrame>), TableError> {
    if !dir.is_dir() {
        return Err(TableError::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        ));
    }
    let mut v = Validator {
        export_at: Utc::now(),
        max_examples: options.max_examples,
        problems: Vec::new(),
    };
    match (options.export_at, ExportManifest::load_from_dir(dir)) {
        (Some(at), _) => v.export_at = at,
        (None, Ok(Some(m))) => v.export_at = m.export_at,
        (None, Ok(None)) => v.whole_file(
            Severity::Warning,
            ProblemClass::NoExportManifest,
            ExportManifest::FILE_NAME,
            None,
            "missing; events are checked against the current time instead of the export instant"
                .into(),
        ),
        (None, Err(e)) => v.whole_file(
            Severity::Error,
            ProblemClass::NoExportManifest,
            ExportManifest::FILE_NAME,
            None,
            e.to_string(),
        ),
    }
    let catalog_path = TreatmentCatalog::path_in(dir);
    let catalog = if catalog_path.is_file() {
        match TreatmentCatalog::load(&catalog_path) {
            Ok(c) => Some(c),
            Err(e) => {
                v.whole_file(
                    Severity::Error,
                    ProblemClass::BadCatalog,
                    "treatments.toml",
                    None,
                    e.to_string(),
                );
                None
            }
        }
    } else {
        v.whole_file(
            Severity::Warning,
            ProblemClass::BadCatalog,
            "treatments.toml",
            None,
            "missing; contacts' treatment ids are not checked".into(),
        );
        None
    };

    let clock = std::time::Instant::now();
    let loaded: HashMap<Table, Loaded> = Table::ALL
        .iter()
        .filter_map(|&t| v.load(dir, t).map(|l| (t, l)))
        .collect();
    tracing::debug!(
        "validate: loaded tables in {:.2} s",
        clock.elapsed().as_secs_f64()
    );
    let accounts = loaded.get(&Table::Accounts);
    let account_ids = IdIndex::of_column(accounts, "account_id");
    // Tables are checked in parallel, each by its own child validator; problems are appended in
    // table order, then the cross-table rules, so reports do not depend on scheduling.
    let checked: Vec<TableChecks> = Table::ALL
        .par_iter()
        .filter_map(|table| loaded.get(table).map(|t| (table, t)))
        .map(|(table, t)| {
            let clock = std::time::Instant::now();
            let mut columns = v.child();
            let seen = columns.check_columns(t, account_ids.as_ref());
            let mut rules = v.child();
            match table {
                Table::Contacts => rules.check_contacts(t, accounts, catalog.as_ref()),
                Table::Promises => {
                    // Promises are few and contacts many: only the contact ids promises refer
                    // to are looked for.
                    let referenced = IdIndex::of_column(Some(t), "contact_id").unwrap_or_default();
                    let found = loaded
                        .get(&Table::Contacts)
                        .and_then(|c| c.col("contact_id")?.str().ok())
                        .map(|ca| {
                            IdIndex::new(
                                ca.iter()
                                    .flatten()
                                    .filter(|id| referenced.get(id).is_some()),
                            )
                        });
                    rules.check_promises(t, found.as_ref());
                }
                _ => {}
            }
            tracing::debug!(
                "validate: checked {table} in {:.2} s",
                clock.elapsed().as_secs_f64()
            );
            TableChecks {
                columns: columns.problems,
                rules: rules.problems,
                accounts_seen: (*table == Table::AccountStates).then_some(seen).flatten(),
            }
        })
        .collect();
    let mut states_seen = None;
    let mut rule_problems = Vec::new();
    for checks in checked {
        v.problems.extend(checks.columns);
        rule_problems.extend(checks.rules);
        states_seen = states_seen.or(checks.accounts_seen);
    }
    v.problems.extend(rule_problems);
    if let (Some(ids), Some(seen)) = (&account_ids, states_seen) {
        let mut missing: Vec<&str> = ids
            .ids
            .iter()
            .zip(&seen)
            .filter(|(_, seen)| !**seen)
            .map(|(id, _)| *id)
            .collect();
        if !missing.is_empty() {
            missing.sort();
            let mut hits = Hits::new(v.max_examples);
            hits.count = missing.len();
            hits.examples = missing
                .iter()
                .take(v.max_examples)
                .map(|id| Example {
                    row: None,
                    value: (*id).to_owned(),
                })
                .collect();
            let name = accounts.map(|a| a.name.clone()).unwrap_or_default();
            v.push(
                Severity::Warning,
                ProblemClass::AccountWithoutStates,
                &name,
                Some("account_id"),
                "accounts with no row in `account_states`".into(),
                hits,
            );
        }
    }
    let mut tables: Vec<TableSummary> = loaded
        .values()
        .map(|l| TableSummary {
            table: l.file.table.stem(),
            file: l.name.clone(),
            rows: l.df.height(),
        })
        .collect();
    tables.sort_by_key(|s| Table::ALL.iter().position(|t| t.stem() == s.table));
    v.problems.sort_by_key(|p| p.severity);
    // The id index borrows from the tables about to be moved out.
    drop(account_ids);
    let frames = loaded
        .into_iter()
        .filter(|(t, l)| l.df.width() == t.schema().columns.len())
        .map(|(t, l)| (t, l.df))
        .collect();
    let report = ValidationReport {
        dir: dir.to_path_buf(),
        export_at: v.export_at,
        tables,
        problems: v.problems,
    };
    Ok((report, frames))
}
