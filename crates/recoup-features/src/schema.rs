//! The feature schema: names, dtypes, order and a hash, written beside every output as
//! `<output>.schema.json` so training and scoring can check that they agree.

use std::fmt;

use recoup_core::{Channel, Product};
use serde::{Deserialize, Serialize};

use crate::config::FeatureConfig;

/// Version of the schema file format.
pub const SCHEMA_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Float64,
    Int64,
    Bool,
    String,
    Date,
    /// Instant in UTC, microseconds.
    Timestamp,
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dtype::Float64 => "float64",
            Dtype::Int64 => "int64",
            Dtype::Bool => "bool",
            Dtype::String => "string",
            Dtype::Date => "date",
            Dtype::Timestamp => "timestamp",
        })
    }
}

/// One output column with its documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub name: String,
    pub dtype: Dtype,
    pub family: String,
    /// Look-back (features) or look-ahead (labels) window in days, if any.
    pub window_days: Option<u32>,
    pub doc: String,
}

fn spec(
    name: impl Into<String>,
    dtype: Dtype,
    family: &str,
    window_days: Option<u32>,
    doc: impl Into<String>,
) -> FeatureSpec {
    FeatureSpec {
        name: name.into(),
        dtype,
        family: family.into(),
        window_days,
        doc: doc.into(),
    }
}

/// Channels that features are computed for (all contactable ones).
pub const CHANNELS: &[Channel] = Channel::CONTACTABLE;

/// The key columns of the snapshot table.
pub fn key_specs() -> Vec<FeatureSpec> {
    vec![
        spec("account_id", Dtype::String, "key", None, "Account."),
        spec(
            "as_of",
            Dtype::Date,
            "key",
            None,
            "As-of date: features use events strictly before 00:00 UTC of it, labels events from it on.",
        ),
    ]
}

/// Every feature, in output order. The query in `snapshot.rs` produces exactly these columns.
pub fn feature_specs(cfg: &FeatureConfig) -> Vec<FeatureSpec> {
    use Dtype::*;
    let max = cfg.max_window();
    let min = cfg.min_window();
    let mut v = vec![
        spec(
            "balance",
            Float64,
            "state",
            None,
            "Outstanding balance in the latest account state at or before the as-of date.",
        ),
        spec(
            "amount_due",
            Float64,
            "state",
            None,
            "Amount needed to be current, latest state.",
        ),
        spec(
            "days_past_due",
            Int64,
            "state",
            None,
            "Days past due, latest state.",
        ),
        spec(
            "dpd_bucket",
            Int64,
            "state",
            None,
            "DPD bucket: 0 current, 1 = 1-29, 2 = 30-59, ... 6 = 150-179, 7 = 180+.",
        ),
        spec(
            "charged_off",
            Bool,
            "state",
            None,
            "The account is charged off.",
        ),
        spec(
            "utilisation",
            Float64,
            "state",
            None,
            "Balance over credit limit (revolving products); null without a limit.",
        ),
        spec(
            "state_age_days",
            Int64,
            "state",
            None,
            "Days between the latest state and the as-of date (staleness).",
        ),
        spec(
            format!("max_dpd_{max}d"),
            Int64,
            "state",
            Some(max),
            "Highest days past due among states in the window.",
        ),
        spec(
            format!("cures_{max}d"),
            Int64,
            "state",
            Some(max),
            "Times the account went from 30+ DPD to current between consecutive states in the window.",
        ),
        spec(
            "tenure_days",
            Int64,
            "account",
            None,
            "Days since the account was opened.",
        ),
        spec(
            "credit_limit",
            Float64,
            "account",
            None,
            "Credit limit (revolving products); null otherwise.",
        ),
        spec(
            "original_principal",
            Float64,
            "account",
            None,
            "Original principal (instalment products); null otherwise.",
        ),
        spec(
            "autopay_enrolled",
            Bool,
            "account",
            None,
            "Enrolled in automatic payments (as of the export).",
        ),
    ];
    for p in Product::ALL {
        v.push(spec(
            format!("product_{p}"),
            Bool,
            "account",
            None,
            format!("The product is `{p}`."),
        ));
    }
    for c in CHANNELS {
        v.push(spec(
            format!("consent_{c}"),
            Bool,
            "consent",
            None,
            format!("Consent to {c} at the as-of instant: consent at the export, or an opt-out on {c} at or after the as-of instant."),
        ));
    }
    for &w in &cfg.windows_days {
        v.push(spec(
            format!("payments_{w}d"),
            Int64,
            "payments",
            Some(w),
            "Non-reversed payments in the window (frequency).",
        ));
        v.push(spec(
            format!("paid_amount_{w}d"),
            Float64,
            "payments",
            Some(w),
            "Sum of non-reversed payments in the window (monetary).",
        ));
    }
    v.extend([
        spec(
            format!("reversed_payments_{max}d"),
            Int64,
            "payments",
            Some(max),
            "Payments later reversed (NSF, chargeback) in the window.",
        ),
        spec(
            "days_since_last_payment",
            Float64,
            "payments",
            Some(max),
            "Days since the last non-reversed payment (recency); null if none in the window.",
        ),
        spec(
            "last_payment_amount",
            Float64,
            "payments",
            Some(max),
            "Amount of the last non-reversed payment; null if none in the window.",
        ),
        spec(
            "payment_interval_mean_days",
            Float64,
            "payments",
            Some(max),
            "Mean days between consecutive non-reversed payments in the window; null with fewer than 2.",
        ),
        spec(
            "payment_interval_cv",
            Float64,
            "payments",
            Some(max),
            "Regularity: standard deviation (n - 1) over mean of those intervals, 0 for a metronome; null with fewer than 3 payments.",
        ),
        spec(
            format!("paid_to_due_{min}d"),
            Float64,
            "payments",
            Some(min),
            "Non-reversed payments in the shortest window over the amount due now; null when nothing is due.",
        ),
        spec(
            format!("promises_made_{max}d"),
            Int64,
            "promises",
            Some(max),
            "Promises to pay made in the window.",
        ),
        spec(
            format!("promises_kept_{max}d"),
            Int64,
            "promises",
            Some(max),
            "Promises made in the window, due before the as-of date, and kept.",
        ),
        spec(
            format!("promises_broken_{max}d"),
            Int64,
            "promises",
            Some(max),
            "Promises made in the window, due before the as-of date, and broken.",
        ),
        spec(
            "promise_kept_rate",
            Float64,
            "promises",
            Some(max),
            "(kept + 1) / (kept + broken + 2): kept share with a uniform prior.",
        ),
        spec(
            "promise_open",
            Bool,
            "promises",
            Some(max),
            "A promise made before the as-of date falls due on or after it.",
        ),
    ]);
    for c in CHANNELS {
        for &w in &cfg.windows_days {
            v.push(spec(
                format!("attempts_{c}_{w}d"),
                Int64,
                "contacts",
                Some(w),
                format!("Contact attempts by {c} in the window."),
            ));
            v.push(spec(
                format!("responses_{c}_{w}d"),
                Int64,
                "contacts",
                Some(w),
                format!(
                    "Responses to {c} in the window (open, click, right-party contact, promise)."
                ),
            ));
        }
        v.push(spec(
            format!("response_rate_{c}"),
            Float64,
            "contacts",
            Some(max),
            format!("Smoothed {c} response rate: (responses + k * portfolio rate) / (attempts + k) over the window, k = rate_prior_strength; the portfolio rate is computed from contacts before the as-of date."),
        ));
        v.push(spec(
            format!("hours_since_last_{c}"),
            Float64,
            "contacts",
            Some(max),
            format!("Hours since the last {c} attempt; null if none in the window."),
        ));
    }
    v.push(spec(
        "usual_response_hour",
        Int64,
        "contacts",
        Some(max),
        "The customer's usual response hour: the most frequent local hour (0-23, in the account's time zone) of responses in the window, the earliest on ties; null without responses.",
    ));
    v.push(spec(
        "days_since_last_rpc",
        Float64,
        "contacts",
        Some(max),
        "Days since the last right-party contact (or promise) by call; null if none in the window.",
    ));
    v
}

/// Label columns (null when the horizon reaches past the export, or does not apply).
pub fn label_specs(cfg: &FeatureConfig) -> Vec<FeatureSpec> {
    let h = cfg.label_horizon_days;
    vec![
        spec(
            format!("paid_any_{h}d"),
            Dtype::Bool,
            "label",
            Some(h),
            "A non-reversed payment in the horizon after the as-of instant.",
        ),
        spec(
            format!("paid_{h}d"),
            Dtype::Bool,
            "label",
            Some(h),
            "Non-reversed payments in the horizon cover the amount due at the as-of date.",
        ),
        spec(
            format!("amount_paid_{h}d"),
            Dtype::Float64,
            "label",
            Some(h),
            "Sum of non-reversed payments in the horizon.",
        ),
        spec(
            format!("cured_{h}d"),
            Dtype::Bool,
            "label",
            Some(h),
            "Past due at the as-of date and current (or closed) at the last state within the horizon; null if not past due.",
        ),
    ]
}

/// The columns of the contact table before the account features: the contact itself.
pub fn contact_key_specs() -> Vec<FeatureSpec> {
    use Dtype::*;
    vec![
        spec(
            "contact_id",
            String,
            "key",
            None,
            "Contact (or logged decision not to contact).",
        ),
        spec("account_id", String, "key", None, "Account."),
        spec(
            "contacted_at",
            Timestamp,
            "key",
            None,
            "Instant of the contact (UTC): features use events strictly before it, labels events from it on.",
        ),
        spec(
            "channel",
            String,
            "descriptor",
            None,
            "Channel, `none` for a decision not to contact.",
        ),
        spec(
            "treatment_id",
            String,
            "descriptor",
            None,
            "Treatment of the catalog.",
        ),
        spec(
            "policy_arm",
            String,
            "descriptor",
            None,
            "Part of the logging policy that chose the treatment.",
        ),
        spec(
            "propensity",
            Float64,
            "descriptor",
            None,
            "Probability the logging policy gave the chosen treatment.",
        ),
        spec(
            "snapshot_as_of",
            Date,
            "descriptor",
            None,
            "As-of date of the snapshot the account features come from: the latest snapshot date at or before the contact.",
        ),
        spec(
            "label_window_days",
            Int64,
            "descriptor",
            None,
            "Days after the contact that the window labels look at (per channel, `contact_label_days`).",
        ),
    ]
}

/// Features computed exactly at each contact instant, ahead of the snapshot features.
pub fn contact_feature_specs(cfg: &FeatureConfig) -> Vec<FeatureSpec> {
    use Dtype::*;
    let max = cfg.max_window();
    vec![
        spec(
            "local_hour",
            Int64,
            "contact",
            None,
            "Hour of the contact (0-23) in the customer's time zone.",
        ),
        spec(
            "local_weekday",
            Int64,
            "contact",
            None,
            "Day of the week of the contact in the customer's time zone, 1 = Monday ... 7 = Sunday.",
        ),
        spec(
            "hours_since_snapshot",
            Float64,
            "contact",
            None,
            "Hours from the snapshot's as-of instant to the contact: how old the account features are.",
        ),
        spec(
            "hours_since_prev_contact",
            Float64,
            "contact",
            None,
            "Hours since the previous contact attempt on any channel (not `none`); null if none before.",
        ),
        spec(
            "hours_since_prev_same_channel",
            Float64,
            "contact",
            None,
            "Hours since the previous contact on this channel; null if none before.",
        ),
        spec(
            "attempts_any_channel_7d",
            Int64,
            "contact",
            Some(7),
            "Contact attempts on any channel (not `none`) in the 7 days before the contact.",
        ),
        spec(
            "attempts_same_channel_7d",
            Int64,
            "contact",
            Some(7),
            "Contacts on this channel in the 7 days before the contact.",
        ),
        spec(
            format!("attempts_same_channel_{max}d"),
            Int64,
            "contact",
            Some(max),
            "Contacts on this channel in the window before the contact.",
        ),
        spec(
            format!("responses_same_channel_{max}d"),
            Int64,
            "contact",
            Some(max),
            "Responses (open, click, right-party contact, promise) to this channel in the window before the contact.",
        ),
        spec(
            "hours_since_last_payment",
            Float64,
            "contact",
            Some(max),
            "Hours since the last non-reversed payment before the contact; null if none in the window.",
        ),
    ]
}

/// The labels of the contact table.
pub fn contact_label_specs() -> Vec<FeatureSpec> {
    use Dtype::*;
    vec![
        spec(
            "responded",
            Bool,
            "label",
            None,
            "The contact's outcome is a response: opened, clicked, right-party contact or promise to pay. Null for `none`.",
        ),
        spec(
            "right_party",
            Bool,
            "label",
            None,
            "The contact reached the customer: right-party contact or promise to pay. Null for `none`.",
        ),
        spec(
            "opted_out",
            Bool,
            "label",
            None,
            "The customer opted out of the channel in this contact. Null for `none`.",
        ),
        spec(
            "promise_in_window",
            Bool,
            "label",
            None,
            "A promise to pay was made in the label window from the contact instant; null when the window reaches past the export.",
        ),
        spec(
            "paid_in_window",
            Bool,
            "label",
            None,
            "A non-reversed payment in the label window; null when the window reaches past the export.",
        ),
        spec(
            "amount_paid_in_window",
            Float64,
            "label",
            None,
            "Sum of non-reversed payments in the label window; null when the window reaches past the export.",
        ),
    ]
}

/// Which table a schema describes.
pub const SNAPSHOT_TABLE: &str = "account_snapshot";
/// See [`SNAPSHOT_TABLE`].
pub const CONTACT_TABLE: &str = "contacts";

/// A named, ordered, typed set of columns with a stable hash of the feature part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    pub format_version: u32,
    pub producer: String,
    /// [`SNAPSHOT_TABLE`] or [`CONTACT_TABLE`].
    pub table: String,
    /// FNV-1a 64 of `name:dtype\n` for every feature, in order (hex).
    pub feature_hash: String,
    pub keys: Vec<FeatureSpec>,
    pub features: Vec<FeatureSpec>,
    pub labels: Vec<FeatureSpec>,
    pub config: FeatureConfig,
}

impl FeatureSchema {
    /// The account snapshot table.
    pub fn new(cfg: &FeatureConfig) -> Self {
        Self::assemble(
            SNAPSHOT_TABLE,
            cfg,
            key_specs(),
            feature_specs(cfg),
            label_specs(cfg),
        )
    }

    /// The contact table: contact-instant features, then the snapshot features.
    pub fn contacts(cfg: &FeatureConfig) -> Self {
        let mut features = contact_feature_specs(cfg);
        features.extend(feature_specs(cfg));
        Self::assemble(
            CONTACT_TABLE,
            cfg,
            contact_key_specs(),
            features,
            contact_label_specs(),
        )
    }

    fn assemble(
        table: &str,
        cfg: &FeatureConfig,
        keys: Vec<FeatureSpec>,
        features: Vec<FeatureSpec>,
        labels: Vec<FeatureSpec>,
    ) -> Self {
        let dtypes: Vec<String> = features.iter().map(|f| f.dtype.to_string()).collect();
        let feature_hash = recoup_core::schema_hash(
            features
                .iter()
                .zip(&dtypes)
                .map(|(f, d)| (f.name.as_str(), d.as_str())),
        );
        Self {
            format_version: SCHEMA_FORMAT_VERSION,
            producer: format!("recoup-features {}", env!("CARGO_PKG_VERSION")),
            table: table.to_owned(),
            feature_hash,
            keys,
            features,
            labels,
            config: cfg.clone(),
        }
    }

    /// All output columns in order: keys, features, labels.
    pub fn columns(&self) -> impl Iterator<Item = &FeatureSpec> {
        self.keys.iter().chain(&self.features).chain(&self.labels)
    }

    /// Where the schema of an output file is written.
    pub fn path_for(output: &std::path::Path) -> std::path::PathBuf {
        let mut name = output
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".schema.json");
        output.with_file_name(name)
    }
}

/// Markdown tables of the snapshot and contact tables' columns for the default settings, kept
/// in `docs/features.md` (`recoup features --explain --markdown` prints it).
pub fn features_markdown(cfg: &FeatureConfig) -> String {
    let mut out = String::new();
    for (title, schema) in [
        (
            "Account snapshot table (`--table snapshot`)",
            FeatureSchema::new(cfg),
        ),
        (
            "Contact table (`--table contacts`)",
            FeatureSchema::contacts(cfg),
        ),
    ] {
        out.push_str(&format!(
            "### {title}\n\nFeature hash `{}` ({} features, {} columns in all).\n\n| column | dtype | family | window | meaning |\n|---|---|---|---|---|\n",
            schema.feature_hash,
            schema.features.len(),
            schema.columns().count()
        ));
        for f in schema.columns() {
            let w = f.window_days.map_or_else(String::new, |w| format!("{w} d"));
            out.push_str(&format!(
                "| `{}` | {} | {} | {w} | {} |\n",
                f.name, f.dtype, f.family, f.doc
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod docs_sync {
    /// `docs/features.md` carries the generated tables between markers; regenerate them with
    /// `recoup features --explain --markdown` when a feature changes.
    #[test]
    fn features_doc_matches_the_schema() {
        let doc = include_str!("../../../docs/features.md");
        let begin = "<!-- features:begin -->\n";
        let start = doc.find(begin).expect("begin marker") + begin.len();
        let end = doc.find("<!-- features:end -->").expect("end marker");
        assert!(
            doc[start..end].trim_end()
                == super::features_markdown(&crate::FeatureConfig::default()).trim_end(),
            "docs/features.md is out of date: replace the part between the markers with `recoup features --explain --markdown`"
        );
    }
}
