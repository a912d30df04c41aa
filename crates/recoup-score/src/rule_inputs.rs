//! What the contact rules need to know of each account at the decision instant, read from the
//! raw folder's `accounts.parquet` and `contacts.parquet`: time zone, product, consent and
//! do-not-contact flags (as of the export), and the call attempts and the latest telephone
//! conversation strictly before the decision instant, within the rules' windows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use recoup_core::{Channel, ContactOutcome, Product};

use crate::columns::{ParquetBatches, Texts, column, instants_us};
use crate::error::ScoreError;
use crate::rules::RuleSettings;

const DAY_US: i64 = 86_400_000_000;
const BATCH: usize = 65_536;

/// Do-not-contact flags of the accounts table, as decisions name them.
pub const DO_NOT_CONTACT_FLAGS: [&str; 4] = [
    "dnc_dispute",
    "dnc_bankruptcy",
    "dnc_cease_and_desist",
    "dnc_deceased",
];

/// One account's standing facts.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountFacts {
    pub product: Product,
    pub time_zone: Tz,
    /// In [`Channel::CONTACTABLE`] order.
    pub consent: [bool; 5],
    pub do_not_contact: Vec<&'static str>,
}

/// Every account's facts and its recent contact history.
#[derive(Debug, Default)]
pub struct RuleInputs {
    pub accounts: HashMap<String, AccountFacts>,
    pub call_attempts: HashMap<String, Vec<DateTime<Utc>>>,
    pub last_conversation: HashMap<String, DateTime<Utc>>,
    /// Contacts read, and those kept (calls within the windows).
    pub contacts_read: usize,
    pub files: Vec<PathBuf>,
}

fn table(raw: &Path, stem: &str) -> Result<PathBuf, ScoreError> {
    let p = raw.join(format!("{stem}.parquet"));
    if p.is_file() {
        return Ok(p);
    }
    let csv = raw.join(format!("{stem}.csv"));
    let why = if csv.is_file() {
        format!(
            "the scorer reads raw tables as parquet; {} is CSV (convert it, e.g. with polars)",
            csv.display()
        )
    } else {
        "not found".to_owned()
    };
    Err(
        recoup_core::FileError::new(&p, std::io::Error::new(std::io::ErrorKind::NotFound, why))
            .into(),
    )
}

fn bad(file: &Path, column: &str, row: usize, value: String) -> ScoreError {
    ScoreError::InvalidValue {
        file: file.to_path_buf(),
        column: column.to_owned(),
        row,
        value,
    }
}

impl RuleInputs {
    /// Reads `raw` for a decision at `decision_us` (UTC microseconds): contacts at or after
    /// it are ignored, so a decision never sees its own future.
    pub fn read(raw: &Path, decision_us: i64, rules: &RuleSettings) -> Result<Self, ScoreError> {
        let mut out = Self::default();
        let accounts = table(raw, "accounts")?;
        let mut cols: Vec<&str> = vec!["account_id", "product", "time_zone"];
        let consent: Vec<&str> = Channel::CONTACTABLE
            .iter()
            .filter_map(|c| c.consent_column())
            .collect();
        cols.extend(&consent);
        cols.extend(DO_NOT_CONTACT_FLAGS);
        let needed = "the contact rules";
        let mut zones: HashMap<String, Tz> = HashMap::new();
        let mut row0 = 0;
        for batch in ParquetBatches::open(&accounts, Some(&cols), BATCH, needed)? {
            let batch = batch?;
            let text = |name: &str| -> Result<Texts<'_>, ScoreError> {
                Texts::require(column(&batch, &accounts, name, needed)?, &accounts, name)
            };
            let flags = |name: &str| -> Result<&arrow_array::BooleanArray, ScoreError> {
                let c = column(&batch, &accounts, name, needed)?;
                c.as_any()
                    .downcast_ref::<arrow_array::BooleanArray>()
                    .ok_or_else(|| {
                        crate::columns::kind_mismatch(c.as_ref(), &accounts, name, "a boolean")
                    })
            };
            let (ids, products, tzs) = (text("account_id")?, text("product")?, text("time_zone")?);
            let consents = consent
                .iter()
                .map(|c| flags(c))
                .collect::<Result<Vec<_>, _>>()?;
            let dnc = DO_NOT_CONTACT_FLAGS
                .iter()
                .map(|c| flags(c))
                .collect::<Result<Vec<_>, _>>()?;
            use arrow_array::Array;
            for i in 0..batch.num_rows() {
                let row = row0 + i + 1;
                let id = ids
                    .get(i)
                    .ok_or_else(|| bad(&accounts, "account_id", row, "missing".into()))?;
                let product = products
                    .get(i)
                    .unwrap_or_default()
                    .parse::<Product>()
                    .map_err(|e| bad(&accounts, "product", row, e.to_string()))?;
                let zone = tzs.get(i).unwrap_or_default();
                let tz = match zones.get(zone) {
                    Some(tz) => *tz,
                    None => {
                        let tz = zone.parse::<Tz>().map_err(|_| {
                            bad(
                                &accounts,
                                "time_zone",
                                row,
                                format!("`{zone}` is not an IANA time zone name"),
                            )
                        })?;
                        zones.insert(zone.to_owned(), tz);
                        tz
                    }
                };
                let mut c = [false; 5];
                for (k, a) in consents.iter().enumerate() {
                    // A missing consent is no consent.
                    c[k] = !a.is_null(i) && a.value(i);
                }
                let flags_set = DO_NOT_CONTACT_FLAGS
                    .iter()
                    .zip(&dnc)
                    .filter(|(_, a)| !a.is_null(i) && a.value(i))
                    .map(|(n, _)| *n)
                    .collect();
                out.accounts.insert(
                    id.to_owned(),
                    AccountFacts {
                        product,
                        time_zone: tz,
                        consent: c,
                        do_not_contact: flags_set,
                    },
                );
            }
            row0 += batch.num_rows();
        }
        out.files.push(accounts);

        let contacts = table(raw, "contacts")?;
        let calls_from = decision_us - rules.call_window_days * DAY_US;
        let talk_from = decision_us - rules.quiet_days_after_conversation * DAY_US;
        let cols = ["account_id", "contacted_at", "channel", "outcome"];
        let mut row0 = 0;
        for batch in ParquetBatches::open(&contacts, Some(&cols), BATCH, needed)? {
            let batch = batch?;
            let text = |name: &str| -> Result<Texts<'_>, ScoreError> {
                Texts::require(column(&batch, &contacts, name, needed)?, &contacts, name)
            };
            let (ids, channels, outcomes) =
                (text("account_id")?, text("channel")?, text("outcome")?);
            let at_col = column(&batch, &contacts, "contacted_at", needed)?;
            let at = instants_us(at_col.as_ref()).ok_or_else(|| {
                crate::columns::kind_mismatch(
                    at_col.as_ref(),
                    &contacts,
                    "contacted_at",
                    "a timestamp",
                )
            })?;
            for (i, t) in at.iter().enumerate() {
                let row = row0 + i + 1;
                let Some(t) = *t else {
                    return Err(bad(&contacts, "contacted_at", row, "missing".into()));
                };
                if t >= decision_us || t < calls_from.min(talk_from) {
                    continue;
                }
                let channel = channels.get(i).unwrap_or_default();
                if channel != Channel::Call.as_str() {
                    continue;
                }
                let id = ids
                    .get(i)
                    .ok_or_else(|| bad(&contacts, "account_id", row, "missing".into()))?;
                let outcome = outcomes
                    .get(i)
                    .unwrap_or_default()
                    .parse::<ContactOutcome>()
                    .map_err(|e| bad(&contacts, "outcome", row, e.to_string()))?;
                let when = DateTime::from_timestamp_micros(t).ok_or_else(|| {
                    bad(
                        &contacts,
                        "contacted_at",
                        row,
                        format!("{t} µs is out of range"),
                    )
                })?;
                if t >= calls_from {
                    out.call_attempts
                        .entry(id.to_owned())
                        .or_default()
                        .push(when);
                }
                let talked = matches!(
                    outcome,
                    ContactOutcome::RightPartyContact | ContactOutcome::PromiseToPay
                );
                if talked && t >= talk_from {
                    let e = out.last_conversation.entry(id.to_owned()).or_insert(when);
                    if when > *e {
                        *e = when;
                    }
                }
            }
            row0 += batch.num_rows();
            out.contacts_read += batch.num_rows();
        }
        for v in out.call_attempts.values_mut() {
            v.sort_unstable();
        }
        out.files.push(contacts);
        Ok(out)
    }
}
