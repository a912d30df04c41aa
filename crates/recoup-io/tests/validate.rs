#![allow(clippy::unwrap_used)]

//! One fixture per problem class of `recoup validate`: a small valid raw folder, written as
//! CSV, with exactly one thing broken. Each test checks that the problem is reported with its
//! file, column and offending value.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use recoup_core::TreatmentCatalog;
use recoup_io::{ProblemClass, Severity, ValidationOptions, ValidationReport, validate_dir};

/// A raw folder as CSV text: table name -> header + rows.
#[derive(Clone)]
struct Fixture {
    tables: BTreeMap<&'static str, Vec<Vec<String>>>,
    catalog: Option<String>,
    manifest: Option<String>,
}

fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

impl Fixture {
    fn valid() -> Self {
        let mut tables = BTreeMap::new();
        tables.insert(
            "accounts",
            rows("
                account_id,customer_id,product,opened_on,credit_limit,original_principal,currency,time_zone,region,consent_sms,consent_email,consent_call,consent_letter,consent_push,dnc_dispute,dnc_bankruptcy,dnc_cease_and_desist,dnc_deceased,hardship,autopay_enrolled,preferred_language
                A1,C1,card,2020-05-01,5000,,USD,America/Chicago,US-TX,true,true,true,true,false,false,false,false,false,false,false,en
                A2,C2,personal_loan,2023-02-10,,12000,USD,America/New_York,US-NY,false,true,true,true,false,false,false,false,false,false,true,es
                A3,C3,utility,2019-11-20,,,USD,Pacific/Honolulu,US-HI,true,false,true,true,true,false,false,false,false,true,false,en
            "),
        );
        tables.insert(
            "account_states",
            rows(
                "
                account_id,as_of,status,balance,amount_due,days_past_due
                A1,2026-11-01,open,1200.5,36,0
                A1,2026-12-01,open,1250,72,17
                A2,2026-12-01,open,8000,300,0
                A3,2026-12-01,charged_off,410,410,200
            ",
            ),
        );
        tables.insert(
            "payments",
            rows(
                "
                payment_id,account_id,paid_at,amount,method,via,reversed
                P1,A1,2026-11-10T15:00:00Z,36,debit_card,portal,false
                P2,A2,2026-11-14 18:30:00,300,direct_debit,autopay,false
                P3,A3,2026-11-20T20:00:00-10:00,25,check,mail,true
            ",
            ),
        );
        tables.insert(
            "contacts",
            rows("
                contact_id,account_id,contacted_at,channel,treatment_id,outcome,policy_arm,propensity
                K1,A1,2026-12-03T16:00:00Z,sms,sms_reminder,clicked,champion,0.85
                K2,A1,2026-12-10T17:00:00Z,call,call_reminder,promise_to_pay,explore,0.05
                K3,A3,2026-12-05T19:00:00Z,none,no_contact,not_contacted,explore,0.05
                K4,A2,2026-12-06T15:00:00Z,sms,sms_reminder,opt_out,champion,0.8
                K5,A2,2026-12-02T15:00:00Z,sms,sms_reminder,delivered,champion,0.8
                K6,A1,2026-12-11T18:00:00Z,call,call_reminder,answered,explore,0.05
            "),
        );
        tables.insert(
            "promises",
            rows(
                "
                promise_id,account_id,contact_id,made_at,due_on,amount,kept
                R1,A1,K2,2026-12-10T17:05:00Z,2026-12-17,72,
                R2,A3,,2026-11-02T10:00:00Z,2026-11-09,50,false
            ",
            ),
        );
        Fixture {
            tables,
            catalog: Some(TreatmentCatalog::default_catalog().to_toml_string()),
            manifest: Some("export_at = \"2026-12-15T00:00:00Z\"\nproducer = \"fixture\"\n".into()),
        }
    }

    /// Sets the cell of data row `row` (0-based, header excluded) and `column`.
    fn set(mut self, table: &str, row: usize, column: &str, value: &str) -> Self {
        let t = self.tables.get_mut(table).unwrap();
        let col = t[0]
            .iter()
            .position(|c| c == column)
            .unwrap_or_else(|| panic!("{table} has no {column}"));
        t[row + 1][col] = value.to_owned();
        self
    }

    fn drop_column(mut self, table: &str, column: &str) -> Self {
        let t = self.tables.get_mut(table).unwrap();
        let col = t[0].iter().position(|c| c == column).unwrap();
        for r in t.iter_mut() {
            r.remove(col);
        }
        self
    }

    fn add_column(mut self, table: &str, column: &str, value: &str) -> Self {
        let t = self.tables.get_mut(table).unwrap();
        t[0].push(column.to_owned());
        for r in t.iter_mut().skip(1) {
            r.push(value.to_owned());
        }
        self
    }

    fn push_row(mut self, table: &str, row: &str) -> Self {
        self.tables
            .get_mut(table)
            .unwrap()
            .push(row.split(',').map(str::to_owned).collect());
        self
    }

    fn write(&self, dir: &Path) {
        for (name, rows) in &self.tables {
            let text: String = rows.iter().map(|r| r.join(",") + "\n").collect();
            std::fs::write(dir.join(format!("{name}.csv")), text).unwrap();
        }
        if let Some(c) = &self.catalog {
            std::fs::write(dir.join("treatments.toml"), c).unwrap();
        }
        if let Some(m) = &self.manifest {
            std::fs::write(dir.join("export.toml"), m).unwrap();
        }
    }

    fn validate(&self) -> ValidationReport {
        let dir = tempfile::tempdir().unwrap();
        self.write(dir.path());
        validate_dir(dir.path(), &ValidationOptions::default()).unwrap()
    }
}

/// Asserts a problem of `class` with this severity is reported and its text names every `needle`.
fn assert_problem(
    report: &ValidationReport,
    class: ProblemClass,
    severity: Severity,
    needles: &[&str],
) {
    let found = report.of_class(class);
    assert!(!found.is_empty(), "no {class:?} in:\n{}", render(report));
    let text: Vec<String> = found.iter().map(|p| p.to_string()).collect();
    assert!(found.iter().all(|p| p.severity == severity), "{text:?}");
    for n in needles {
        assert!(text.iter().any(|t| t.contains(n)), "`{n}` not in {text:?}");
    }
}

fn render(report: &ValidationReport) -> String {
    report
        .problems
        .iter()
        .map(|p| p.to_string() + "\n")
        .collect()
}

fn assert_error(f: Fixture, class: ProblemClass, needles: &[&str]) {
    let report = f.validate();
    assert!(report.has_errors());
    assert_problem(&report, class, Severity::Error, needles);
}

#[test]
fn valid_fixture_has_no_problems() {
    let report = Fixture::valid().validate();
    assert!(report.problems.is_empty(), "{}", render(&report));
    assert_eq!(report.tables.len(), 5);
}

#[test]
fn missing_table() {
    let mut f = Fixture::valid();
    f.tables.remove("promises");
    assert_error(
        f,
        ProblemClass::MissingTable,
        &["promises.parquet", "promises.csv"],
    );
}

#[test]
fn missing_column() {
    assert_error(
        Fixture::valid().drop_column("payments", "amount"),
        ProblemClass::MissingColumn,
        &["payments.csv", "`amount`"],
    );
}

#[test]
fn extra_column_is_a_warning() {
    let report = Fixture::valid()
        .add_column("accounts", "shoe_size", "42")
        .validate();
    assert!(!report.has_errors(), "{}", render(&report));
    assert_problem(
        &report,
        ProblemClass::ExtraColumn,
        Severity::Warning,
        &["accounts.csv", "`shoe_size`"],
    );
}

#[test]
fn unparseable_value_is_a_wrong_type() {
    assert_error(
        Fixture::valid().set("account_states", 1, "as_of", "2026-13-01"),
        ProblemClass::WrongType,
        &["account_states.csv", "`as_of`", "row 2", "`2026-13-01`"],
    );
    assert_error(
        Fixture::valid().set("payments", 0, "amount", "12,50".replace(',', ";").as_str()),
        ProblemClass::WrongType,
        &["payments.csv", "`amount`", "row 1", "`12;50`"],
    );
}

#[test]
fn wrong_parquet_dtype() {
    let dir = tempfile::tempdir().unwrap();
    Fixture::valid().write(dir.path());
    std::fs::remove_file(dir.path().join("account_states.csv")).unwrap();
    let mut df = df!(
        "account_id" => ["A1", "A2", "A3"],
        "as_of" => [true, false, true],
        "status" => ["open", "open", "open"],
        "balance" => [1.0, 2.0, 3.0],
        "amount_due" => [1.0, 2.0, 3.0],
        "days_past_due" => [0i64, 0, 0],
    )
    .unwrap();
    recoup_io::write_parquet_atomic(&mut df, &dir.path().join("account_states.parquet")).unwrap();
    let report = validate_dir(dir.path(), &ValidationOptions::default()).unwrap();
    assert_problem(
        &report,
        ProblemClass::WrongType,
        Severity::Error,
        &["account_states.parquet", "`as_of`", "bool", "date"],
    );
}

#[test]
fn null_where_required() {
    assert_error(
        Fixture::valid().set("accounts", 1, "product", ""),
        ProblemClass::NullValue,
        &["accounts.csv", "`product`", "row 2"],
    );
}

#[test]
fn negative_amount() {
    assert_error(
        Fixture::valid().set("payments", 2, "amount", "-25"),
        ProblemClass::NegativeAmount,
        &["payments.csv", "`amount`", "row 3", "`-25`"],
    );
    assert_error(
        Fixture::valid().set("account_states", 0, "balance", "-0.5"),
        ProblemClass::NegativeAmount,
        &["`balance`", "`-0.5`"],
    );
}

#[test]
fn propensity_out_of_range() {
    assert_error(
        Fixture::valid().set("contacts", 0, "propensity", "1.5"),
        ProblemClass::OutOfRange,
        &["contacts.csv", "`propensity`", "`1.5`"],
    );
}

#[test]
fn unknown_enum_value() {
    assert_error(
        Fixture::valid().set("contacts", 1, "channel", "fax"),
        ProblemClass::UnknownEnumValue,
        &["contacts.csv", "`channel`", "row 2", "`fax`"],
    );
    assert_error(
        Fixture::valid().set("accounts", 0, "product", "mortgage"),
        ProblemClass::UnknownEnumValue,
        &["`product`", "`mortgage`"],
    );
}

#[test]
fn invalid_time_zone_and_currency() {
    assert_error(
        Fixture::valid().set("accounts", 2, "time_zone", "Mars/Olympus"),
        ProblemClass::InvalidTimeZone,
        &["`time_zone`", "`Mars/Olympus`"],
    );
    assert_error(
        Fixture::valid().set("accounts", 0, "currency", "usd"),
        ProblemClass::InvalidCurrency,
        &["`currency`", "`usd`"],
    );
}

#[test]
fn duplicate_ids() {
    assert_error(
        Fixture::valid().set("payments", 1, "payment_id", "P1"),
        ProblemClass::DuplicateId,
        &["payments.csv", "payment_id", "row 2", "`P1`"],
    );
    assert_error(
        Fixture::valid().set("account_states", 0, "as_of", "2026-12-01"),
        ProblemClass::DuplicateId,
        &[
            "account_states.csv",
            "account_id, as_of",
            "`A1, 2026-12-01`",
        ],
    );
    // Keys out of order take the hash-set path: P1, P2, P1.
    assert_error(
        Fixture::valid().set("payments", 2, "payment_id", "P1"),
        ProblemClass::DuplicateId,
        &["payments.csv", "row 3", "`P1`"],
    );
}

#[test]
fn orphan_ids() {
    assert_error(
        Fixture::valid().set("payments", 0, "account_id", "A9"),
        ProblemClass::OrphanAccountId,
        &["payments.csv", "`account_id`", "`A9`"],
    );
    assert_error(
        Fixture::valid().set("promises", 0, "contact_id", "K99"),
        ProblemClass::OrphanContactId,
        &["promises.csv", "`contact_id`", "`K99`"],
    );
}

#[test]
fn events_after_the_export() {
    assert_error(
        Fixture::valid().set("payments", 0, "paid_at", "2026-12-20T09:00:00Z"),
        ProblemClass::AfterExportDate,
        &[
            "payments.csv",
            "`paid_at`",
            "2026-12-20T09:00:00+00:00",
            "2026-12-15",
        ],
    );
    assert_error(
        Fixture::valid().set("account_states", 3, "as_of", "2027-01-01"),
        ProblemClass::AfterExportDate,
        &["`as_of`", "2027-01-01"],
    );
}

#[test]
fn contacts_without_consent() {
    // A2 has no SMS consent at the export; its SMS contacts up to its opt-out (K4) are fine.
    assert!(
        Fixture::valid()
            .validate()
            .of_class(ProblemClass::ContactWithoutConsent)
            .is_empty()
    );
    let late = Fixture::valid().push_row(
        "contacts",
        "K9,A2,2026-12-08T15:00:00Z,sms,sms_reminder,delivered,champion,0.8",
    );
    assert_error(
        late,
        ProblemClass::ContactWithoutConsent,
        &["contacts.csv", "`channel`", "A2 by sms"],
    );
    // A3 never consented to email and never opted out.
    let never = Fixture::valid().push_row(
        "contacts",
        "K7,A3,2026-12-08T15:00:00Z,email,email_reminder,opened,champion,0.8",
    );
    assert_error(never, ProblemClass::ContactWithoutConsent, &["A3 by email"]);
}

#[test]
fn outcome_and_treatment_consistency() {
    assert_error(
        Fixture::valid().set("contacts", 0, "outcome", "voicemail"),
        ProblemClass::OutcomeNotPossibleOnChannel,
        &["`outcome`", "voicemail on sms"],
    );
    assert_error(
        Fixture::valid().set("contacts", 0, "treatment_id", "carrier_pigeon"),
        ProblemClass::UnknownTreatment,
        &["`treatment_id`", "`carrier_pigeon`"],
    );
    assert_error(
        Fixture::valid().set("contacts", 0, "treatment_id", "email_reminder"),
        ProblemClass::TreatmentChannelMismatch,
        &["email_reminder (a email treatment) on sms"],
    );
}

#[test]
fn promise_due_before_made() {
    assert_error(
        Fixture::valid().set("promises", 0, "due_on", "2026-12-01"),
        ProblemClass::PromiseDueBeforeMade,
        &["promises.csv", "`due_on`", "due 2026-12-01"],
    );
}

#[test]
fn catalog_and_manifest_problems() {
    let mut f = Fixture::valid();
    f.catalog =
        Some("[[treatment]]\nid='x'\nchannel='sms'\nkind='settlement'\nunit_cost=1.0\n".into());
    assert_error(
        f,
        ProblemClass::BadCatalog,
        &["treatments.toml", "`x`", "discount_pct"],
    );
    let mut f = Fixture::valid();
    f.manifest = None;
    let report = f.validate();
    assert_problem(
        &report,
        ProblemClass::NoExportManifest,
        Severity::Warning,
        &["export.toml"],
    );
}

#[test]
fn accounts_without_states_is_a_warning() {
    let f = Fixture::valid().push_row(
        "accounts",
        "A4,C4,bnpl,2026-10-01,,400,USD,America/Denver,US-CO,true,true,true,true,true,false,false,false,false,false,false,en",
    );
    let report = f.validate();
    assert!(!report.has_errors(), "{}", render(&report));
    assert_problem(
        &report,
        ProblemClass::AccountWithoutStates,
        Severity::Warning,
        &["`account_id`", "`A4`"],
    );
}

#[test]
fn validation_never_modifies_the_input() {
    let dir = tempfile::tempdir().unwrap();
    Fixture::valid()
        .set("payments", 0, "amount", "-1")
        .write(dir.path());
    let snapshot = || {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let before = snapshot();
    let report = validate_dir(dir.path(), &ValidationOptions::default()).unwrap();
    assert!(report.has_errors());
    assert_eq!(before, snapshot());
}

#[test]
fn read_table_converts_and_names_bad_values() {
    let dir = tempfile::tempdir().unwrap();
    Fixture::valid().write(dir.path());
    let df = recoup_io::read_table(dir.path(), recoup_core::Table::Payments).unwrap();
    assert_eq!(
        df.column("paid_at").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
    );
    // 2026-11-20T20:00:00-10:00 is 2026-11-21T06:00:00Z.
    let ts = df
        .column("paid_at")
        .unwrap()
        .datetime()
        .unwrap()
        .physical()
        .get(2)
        .unwrap();
    assert_eq!(
        chrono::DateTime::from_timestamp_micros(ts)
            .unwrap()
            .to_rfc3339(),
        "2026-11-21T06:00:00+00:00"
    );

    let dir = tempfile::tempdir().unwrap();
    Fixture::valid()
        .set("payments", 1, "paid_at", "yesterday")
        .write(dir.path());
    let err = recoup_io::read_table(dir.path(), recoup_core::Table::Payments)
        .unwrap_err()
        .to_string();
    for needle in ["payments.csv", "`paid_at`", "row 2", "`yesterday`"] {
        assert!(err.contains(needle), "{needle} not in {err}");
    }
}

/// Columns as pandas writes them: categorical strings, dates as midnight timestamps, integers
/// turned into floats by missing values. Accepted when lossless, reported by row otherwise.
#[test]
fn pandas_style_parquet_is_accepted_when_lossless() {
    let dir = tempfile::tempdir().unwrap();
    Fixture::valid().write(dir.path());
    std::fs::remove_file(dir.path().join("account_states.csv")).unwrap();
    let day = 86_400_000_000_000i64;
    let states = |as_of: [i64; 4], dpd: [f64; 4]| {
        let mut df = df!(
            "account_id" => ["A1", "A1", "A2", "A3"],
            "as_of" => as_of,
            "status" => ["open", "open", "open", "charged_off"],
            "balance" => [1200.5, 1250.0, 8000.0, 410.0],
            "amount_due" => [36.0, 72.0, 300.0, 410.0],
            "days_past_due" => dpd,
        )
        .unwrap();
        let ts = df
            .column("as_of")
            .unwrap()
            .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
            .unwrap();
        df.with_column(ts).unwrap();
        let status = df
            .column("status")
            .unwrap()
            .cast(&DataType::from_categories(Categories::global()))
            .unwrap();
        df.with_column(status).unwrap();
        recoup_io::write_parquet_atomic(&mut df, &dir.path().join("account_states.parquet"))
            .unwrap();
    };
    let nov1 = 20_758 * day;
    let dec1 = 20_788 * day;
    states([nov1, dec1, dec1, dec1], [0.0, 17.0, 0.0, 200.0]);
    let report = validate_dir(dir.path(), &ValidationOptions::default()).unwrap();
    assert!(report.problems.is_empty(), "{}", render(&report));
    let df = recoup_io::read_table(dir.path(), recoup_core::Table::AccountStates).unwrap();
    assert_eq!(df.column("as_of").unwrap().dtype(), &DataType::Date);
    assert_eq!(
        df.column("days_past_due").unwrap().dtype(),
        &DataType::Int64
    );

    states(
        [nov1, dec1 + 3_600_000_000_000, dec1, dec1],
        [0.0, 17.5, 0.0, 200.0],
    );
    let report = validate_dir(dir.path(), &ValidationOptions::default()).unwrap();
    assert_problem(
        &report,
        ProblemClass::WrongType,
        Severity::Error,
        &["`as_of`", "row 2", "2026-12-01T01:00:00+00:00"],
    );
    assert_problem(
        &report,
        ProblemClass::WrongType,
        Severity::Error,
        &["`days_past_due`", "row 2", "`17.5`"],
    );
}
