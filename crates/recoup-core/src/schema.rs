//! The raw tables of the contract, as plain descriptors.
//!
//! Every table a lender exports is described here once: its file name, columns, types,
//! nullability, value rules, keys and references. The validator, the readers, the simulator
//! and `data/README.md` (see [`contract_markdown`]) all derive from these descriptors.

use std::fmt;

use crate::vocab::{
    AccountStatus, Channel, ContactOutcome, PaymentMethod, PaymentVia, PolicyArm, Product,
};

/// The logical type of a column. Files store them as noted on each variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// An identifier, stored as a string.
    Id,
    /// Free text, stored as a string.
    Text,
    Bool,
    /// 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// Calendar date (parquet DATE; CSV `YYYY-MM-DD`).
    Date,
    /// Instant in UTC (parquet TIMESTAMP with time zone UTC or without one; CSV RFC 3339,
    /// e.g. `2026-03-01T14:05:00Z`, or `YYYY-MM-DD HH:MM:SS` read as UTC).
    Timestamp,
    /// One of a closed set of names, stored as a string.
    Enum(&'static [&'static str]),
    /// An IANA time zone name such as `America/Chicago`, stored as a string.
    TimeZone,
    /// An ISO 4217 currency code such as `USD`, stored as a string.
    Currency,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Id => f.write_str("id (string)"),
            ColumnType::Text => f.write_str("string"),
            ColumnType::Bool => f.write_str("bool"),
            ColumnType::Int => f.write_str("int64"),
            ColumnType::Float => f.write_str("float64"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Timestamp => f.write_str("timestamp (UTC)"),
            ColumnType::Enum(_) => f.write_str("enum (string)"),
            ColumnType::TimeZone => f.write_str("IANA time zone (string)"),
            ColumnType::Currency => f.write_str("ISO 4217 code (string)"),
        }
    }
}

/// A rule on a column's values beyond its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueRule {
    None,
    /// `>= 0`
    NonNegative,
    /// `> 0`
    Positive,
    /// `0 < p <= 1`
    Probability,
}

/// One column of a raw table.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    pub rule: ValueRule,
    /// The value must be an `account_id` present in `accounts`.
    pub references_account: bool,
    /// The value is when something happened or was observed: it must not be after the export instant.
    pub event_time: bool,
    pub doc: &'static str,
}

impl ColumnSpec {
    const fn new(name: &'static str, ty: ColumnType, doc: &'static str) -> Self {
        Self {
            name,
            ty,
            nullable: false,
            rule: ValueRule::None,
            references_account: false,
            event_time: false,
            doc,
        }
    }
    const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }
    const fn rule(mut self, rule: ValueRule) -> Self {
        self.rule = rule;
        self
    }
    const fn account_ref(mut self) -> Self {
        self.references_account = true;
        self
    }
    const fn event(mut self) -> Self {
        self.event_time = true;
        self
    }
}

/// A raw table of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Accounts,
    AccountStates,
    Payments,
    Contacts,
    Promises,
}

impl Table {
    pub const ALL: &'static [Table] = &[
        Table::Accounts,
        Table::AccountStates,
        Table::Payments,
        Table::Contacts,
        Table::Promises,
    ];

    /// The file stem: a table is stored as `<stem>.parquet` or `<stem>.csv` in the raw folder.
    pub const fn stem(self) -> &'static str {
        self.schema().name
    }

    pub const fn schema(self) -> &'static TableSchema {
        match self {
            Table::Accounts => &ACCOUNTS,
            Table::AccountStates => &ACCOUNT_STATES,
            Table::Payments => &PAYMENTS,
            Table::Contacts => &CONTACTS,
            Table::Promises => &PROMISES,
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stem())
    }
}

/// The descriptor of one raw table.
#[derive(Debug)]
pub struct TableSchema {
    pub name: &'static str,
    pub doc: &'static str,
    pub columns: &'static [ColumnSpec],
    /// Columns whose values together are unique in the table.
    pub primary_key: &'static [&'static str],
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|c| c.name)
    }
}

use ColumnType as T;
use ValueRule as R;

const fn id(name: &'static str, doc: &'static str) -> ColumnSpec {
    ColumnSpec::new(name, T::Id, doc)
}
const fn flag(name: &'static str, doc: &'static str) -> ColumnSpec {
    ColumnSpec::new(name, T::Bool, doc)
}

pub static ACCOUNTS: TableSchema = TableSchema {
    name: "accounts",
    doc: "One row per account: who the customer is, what they owe on, and how they may be contacted. \
          Consent and do-not-contact flags are as of the export.",
    primary_key: &["account_id"],
    columns: &[
        id("account_id", "Account identifier, unique in the table."),
        id("customer_id", "Customer identifier; one customer may hold several accounts."),
        ColumnSpec::new("product", T::Enum(Product::ALL_NAMES), "Credit product."),
        ColumnSpec::new("opened_on", T::Date, "Date the account was opened.").event(),
        ColumnSpec::new("credit_limit", T::Float, "Credit limit of revolving products (card); null otherwise.")
            .nullable()
            .rule(R::NonNegative),
        ColumnSpec::new(
            "original_principal",
            T::Float,
            "Amount lent or first billed for instalment products (loans, BNPL); null for revolving and billed products.",
        )
        .nullable()
        .rule(R::Positive),
        ColumnSpec::new("currency", T::Currency, "Currency of every amount on this account."),
        ColumnSpec::new("time_zone", T::TimeZone, "The customer's IANA time zone; contact hours are local to it."),
        ColumnSpec::new("region", T::Text, "ISO 3166-2 subdivision of the customer's address, e.g. `US-TX`."),
        flag("consent_sms", "The customer may be texted."),
        flag("consent_email", "The customer may be emailed."),
        flag("consent_call", "The customer may be called."),
        flag("consent_letter", "The customer may be written to by post."),
        flag("consent_push", "The customer may receive app push notifications."),
        flag("dnc_dispute", "Do not contact: the debt is disputed."),
        flag("dnc_bankruptcy", "Do not contact: the customer is in bankruptcy."),
        flag("dnc_cease_and_desist", "Do not contact: the customer asked in writing that contact stop."),
        flag("dnc_deceased", "Do not contact: the customer is deceased."),
        flag("hardship", "The customer has declared financial hardship."),
        flag("autopay_enrolled", "The customer pays by automatic debit."),
        ColumnSpec::new("preferred_language", T::Text, "BCP 47 language tag, e.g. `en`, `es`."),
    ],
};

pub static ACCOUNT_STATES: TableSchema = TableSchema {
    name: "account_states",
    doc: "Time-varying state, one row per account and as-of date (typically each monthly cycle). \
          The row describes the account at 00:00 UTC of `as_of`.",
    primary_key: &["account_id", "as_of"],
    columns: &[
        id("account_id", "Account the state belongs to.").account_ref(),
        ColumnSpec::new("as_of", T::Date, "Date of the snapshot.").event(),
        ColumnSpec::new(
            "status",
            T::Enum(AccountStatus::ALL_NAMES),
            "Lifecycle status.",
        ),
        ColumnSpec::new("balance", T::Float, "Outstanding balance.").rule(R::NonNegative),
        ColumnSpec::new(
            "amount_due",
            T::Float,
            "Amount needed by the next due date to be current (arrears plus the instalment).",
        )
        .rule(R::NonNegative),
        ColumnSpec::new(
            "days_past_due",
            T::Int,
            "Days since the oldest unpaid due date; 0 when current.",
        )
        .rule(R::NonNegative),
    ],
};

pub static PAYMENTS: TableSchema = TableSchema {
    name: "payments",
    doc: "One row per payment received, including those later reversed.",
    primary_key: &["payment_id"],
    columns: &[
        id("payment_id", "Payment identifier, unique in the table."),
        id("account_id", "Account paid into.").account_ref(),
        ColumnSpec::new("paid_at", T::Timestamp, "When the payment was made (UTC).").event(),
        ColumnSpec::new("amount", T::Float, "Amount paid.").rule(R::Positive),
        ColumnSpec::new(
            "method",
            T::Enum(PaymentMethod::ALL_NAMES),
            "Instrument used.",
        ),
        ColumnSpec::new(
            "via",
            T::Enum(PaymentVia::ALL_NAMES),
            "Route the payment came through.",
        ),
        flag(
            "reversed",
            "The payment was later reversed (insufficient funds, chargeback).",
        ),
    ],
};

pub static CONTACTS: TableSchema = TableSchema {
    name: "contacts",
    doc: "The decision log: one row per contact attempt, and per logged decision not to contact \
          (channel `none`), with the logging policy's arm and the probability it gave the chosen \
          treatment (needed for off-policy evaluation).",
    primary_key: &["contact_id"],
    columns: &[
        id("contact_id", "Contact identifier, unique in the table."),
        id("account_id", "Account the contact was about.").account_ref(),
        ColumnSpec::new(
            "contacted_at",
            T::Timestamp,
            "When the attempt was made (UTC).",
        )
        .event(),
        ColumnSpec::new(
            "channel",
            T::Enum(Channel::ALL_NAMES),
            "Channel used; `none` for a decision not to contact.",
        ),
        id(
            "treatment_id",
            "Treatment applied; an `id` of the treatment catalog.",
        ),
        ColumnSpec::new(
            "outcome",
            T::Enum(ContactOutcome::ALL_NAMES),
            "Furthest result observed.",
        ),
        ColumnSpec::new(
            "policy_arm",
            T::Enum(PolicyArm::ALL_NAMES),
            "Which part of the logging policy chose the treatment.",
        ),
        ColumnSpec::new(
            "propensity",
            T::Float,
            "Probability with which the logging policy chose this treatment.",
        )
        .rule(R::Probability),
    ],
};

pub static PROMISES: TableSchema = TableSchema {
    name: "promises",
    doc: "Promises to pay made by customers.",
    primary_key: &["promise_id"],
    columns: &[
        id("promise_id", "Promise identifier, unique in the table."),
        id("account_id", "Account the promise is about.").account_ref(),
        id(
            "contact_id",
            "Contact in which the promise was made; null if made elsewhere.",
        )
        .nullable(),
        ColumnSpec::new("made_at", T::Timestamp, "When the promise was made (UTC).").event(),
        ColumnSpec::new(
            "due_on",
            T::Date,
            "Date by which the customer promised to pay.",
        ),
        ColumnSpec::new("amount", T::Float, "Amount promised.").rule(R::Positive),
        ColumnSpec::new(
            "kept",
            T::Bool,
            "Whether the promise was kept; null while it is not yet due at the export.",
        )
        .nullable(),
    ],
};

/// Markdown reference of every table, generated from the descriptors (kept in `data/README.md`).
pub fn contract_markdown() -> String {
    let mut out = String::new();
    for table in Table::ALL {
        let s = table.schema();
        out.push_str(&format!("### `{}`\n\n{}\n\n", s.name, s.doc));
        out.push_str(&format!(
            "Key: {}.\n\n| column | type | null | rule | meaning |\n|---|---|---|---|---|\n",
            s.primary_key
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(" + ")
        ));
        for c in s.columns {
            let mut rules = Vec::new();
            match c.rule {
                R::None => {}
                R::NonNegative => rules.push(">= 0".to_owned()),
                R::Positive => rules.push("> 0".to_owned()),
                R::Probability => rules.push("in (0, 1]".to_owned()),
            }
            if let T::Enum(names) = c.ty {
                rules.push(
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
            }
            if c.references_account {
                rules.push("in `accounts`".to_owned());
            }
            if c.event_time {
                rules.push("not after export".to_owned());
            }
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                c.name,
                c.ty,
                if c.nullable { "yes" } else { "no" },
                rules.join("; "),
                c.doc
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn descriptors_are_consistent() {
        for t in Table::ALL {
            let s = t.schema();
            let names: HashSet<_> = s.column_names().collect();
            assert_eq!(
                names.len(),
                s.columns.len(),
                "duplicate column in {}",
                s.name
            );
            for k in s.primary_key {
                let c = s
                    .column(k)
                    .unwrap_or_else(|| panic!("{}: key {k} not a column", s.name));
                assert!(!c.nullable, "{}: key {k} is nullable", s.name);
            }
        }
        for ch in Channel::CONTACTABLE {
            let col = ch.consent_column().unwrap();
            assert_eq!(ACCOUNTS.column(col).unwrap().ty, T::Bool);
        }
    }

    #[test]
    fn markdown_lists_every_column() {
        let md = contract_markdown();
        for t in Table::ALL {
            for c in t.schema().columns {
                assert!(md.contains(&format!("| `{}` |", c.name)));
            }
        }
    }
}

#[cfg(test)]
mod readme_sync {
    /// `data/README.md` carries the generated contract between markers; regenerate it with
    /// `recoup contract` when a descriptor changes.
    #[test]
    fn data_readme_matches_the_descriptors() {
        let readme = include_str!("../../../data/README.md");
        let begin = "<!-- contract:begin -->\n";
        let start = readme.find(begin).expect("begin marker") + begin.len();
        let end = readme.find("<!-- contract:end -->").expect("end marker");
        assert!(
            readme[start..end] == super::contract_markdown(),
            "data/README.md is out of date: replace the part between the contract markers with `recoup contract`"
        );
    }
}
