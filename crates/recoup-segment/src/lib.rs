//! Behavioural segments of the accounts in collections at one as-of date.
//!
//! Two segmentations, each profiled:
//! - **Ability and willingness.** Willingness is the propensity-to-pay model's probability
//!   (`--propensity`), or without a model the payment record (`0.5 min(1, payments_180d / 6) +
//!   0.5 promise_kept_rate`). Ability is a capacity score, the mean of the signals an account
//!   has: no reversed payment in a year (1, else 0), the last payment over the amount due
//!   (capped at 1; 0 without a payment), credit headroom `1 - utilisation` (revolving
//!   products) and the share of settled promises that were kept (when any were). An account
//!   is *willing* when its willingness is above the median of the accounts segmented (a block
//!   tied at the median, such as everyone with no payment and no promise, stays below it),
//!   *able* likewise; the four quadrants are `willing_and_able`,
//!   `willing_but_unable`, `able_but_unwilling` and `neither`, and the thresholds used are
//!   reported.
//! - **Clusters.** k-means on the standardised behavioural features of [`CLUSTER_FEATURES`],
//!   with k chosen in `k_min..=k_max` by the mean silhouette on a seeded sample (ties to the
//!   smaller k), unless k is given.
//!
//! Each segment's profile: size and share, mean willingness and ability, the clustering
//! features' means, the pay and cure rates after the as-of date (the table's labels, when it
//! has them), mean response rate per channel, and, given the contact table, the treatments
//! that collected most per contact in the segment (self-normalised inverse-propensity means of
//! the amount paid in the window, against logged no-contact decisions).

pub mod kmeans;
pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use recoup_model::ModelFile;
use serde::Serialize;

pub use kmeans::KMeans;

/// The behavioural features the clusters are built on (standardised; how missing values are
/// filled is in [`cluster_value`]).
pub const CLUSTER_FEATURES: [&str; 15] = [
    "days_past_due",
    "balance",
    "amount_due",
    "payments_365d",
    "paid_to_due_30d",
    "promises_made_365d",
    "promise_kept_rate",
    "reversed_payments_365d",
    "days_since_last_payment",
    "cures_365d",
    "response_rate_sms",
    "response_rate_email",
    "response_rate_call",
    "response_rate_letter",
    "response_rate_push",
];

const CHANNELS: [&str; 5] = ["sms", "email", "call", "letter", "push"];

/// Errors of the segmentation stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentError {
    #[error("{file}: column `{column}` not found{context}")]
    ColumnNotFound {
        file: PathBuf,
        column: String,
        context: String,
    },
    #[error("{file}: column `{column}`: {message}")]
    Column {
        file: PathBuf,
        column: String,
        message: String,
    },
    #[error("{file}: no account in collections at {as_of} (days past due > 0 or charged off)")]
    NoAccounts { file: PathBuf, as_of: String },
    #[error(transparent)]
    InvalidSetting(#[from] recoup_core::InvalidSetting),
    #[error(transparent)]
    Train(#[from] recoup_train::TrainError),
    #[error(transparent)]
    Model(#[from] recoup_model::ModelError),
    #[error(transparent)]
    Table(#[from] recoup_io::TableError),
}

/// How to segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentSettings {
    /// A fixed number of clusters; `None` chooses it by silhouette.
    pub k: Option<usize>,
    pub k_min: usize,
    pub k_max: usize,
    pub seed: u64,
    /// Rows the silhouette is measured on (a seeded sample).
    pub silhouette_rows: usize,
    /// Seeded k-means starts; the lowest inertia is kept.
    pub starts: usize,
}

impl Default for SegmentSettings {
    fn default() -> Self {
        Self {
            k: None,
            k_min: 2,
            k_max: 8,
            seed: 0,
            silhouette_rows: 2_000,
            starts: 4,
        }
    }
}

impl SegmentSettings {
    pub fn check(&self) -> Result<(), recoup_core::InvalidSetting> {
        use recoup_core::InvalidSetting as E;
        if let Some(k) = self.k
            && !(1..=50).contains(&k)
        {
            return Err(E::new("k", k, "1 to 50"));
        }
        if self.k_min < 2 || self.k_max < self.k_min || self.k_max > 50 {
            return Err(E::new(
                "k range",
                format!("{}..={}", self.k_min, self.k_max),
                "2 <= k_min <= k_max <= 50",
            ));
        }
        if self.silhouette_rows < 10 {
            return Err(E::new(
                "silhouette_rows",
                self.silhouette_rows,
                "at least 10",
            ));
        }
        if !(1..=100).contains(&self.starts) {
            return Err(E::new("starts", self.starts, "1 to 100"));
        }
        Ok(())
    }
}

/// Willingness from the payment record when there is no model:
/// `0.5 min(1, payments_180d / 6) + 0.5 promise_kept_rate` (a missing rate counts 0.5).
pub fn willingness_from_record(payments_180d: f64, promise_kept_rate: f64) -> f64 {
    let rate = if promise_kept_rate.is_nan() {
        0.5
    } else {
        promise_kept_rate
    };
    0.5 * (payments_180d.max(0.0) / 6.0).min(1.0) + 0.5 * rate
}

/// The capacity signals of one account (NaN where the account has none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacitySignals {
    pub reversed_365d: f64,
    pub last_payment: f64,
    pub amount_due: f64,
    /// Balance over credit limit (revolving products).
    pub utilisation: f64,
    pub promises_kept: f64,
    pub promises_broken: f64,
}

impl CapacitySignals {
    /// The mean of the signals the account has: no reversed payment (1, else 0), the last
    /// payment over the amount due (capped at 1; 0 without a payment), credit headroom and the
    /// kept share of settled promises.
    pub fn ability(&self) -> f64 {
        let mut signals = vec![if self.reversed_365d > 0.0 { 0.0 } else { 1.0 }];
        let paid_share =
            if self.last_payment.is_nan() || self.amount_due.is_nan() || self.amount_due <= 0.0 {
                0.0
            } else {
                (self.last_payment / self.amount_due).clamp(0.0, 1.0)
            };
        signals.push(paid_share);
        if self.utilisation.is_finite() {
            signals.push(1.0 - self.utilisation.clamp(0.0, 1.0));
        }
        let settled = self.promises_kept.max(0.0) + self.promises_broken.max(0.0);
        if settled > 0.0 {
            signals.push(self.promises_kept.max(0.0) / settled);
        }
        signals.iter().sum::<f64>() / signals.len() as f64
    }
}

/// The median of the finite values (NaN when there is none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len().is_multiple_of(2) {
        0.5 * (v[m - 1] + v[m])
    } else {
        v[m]
    }
}

/// An ability/willingness quadrant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Quadrant {
    WillingAndAble,
    WillingButUnable,
    AbleButUnwilling,
    Neither,
}

impl Quadrant {
    pub const ALL: [Quadrant; 4] = [
        Quadrant::WillingAndAble,
        Quadrant::WillingButUnable,
        Quadrant::AbleButUnwilling,
        Quadrant::Neither,
    ];

    pub fn of(willing: bool, able: bool) -> Self {
        match (willing, able) {
            (true, true) => Quadrant::WillingAndAble,
            (true, false) => Quadrant::WillingButUnable,
            (false, true) => Quadrant::AbleButUnwilling,
            (false, false) => Quadrant::Neither,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Quadrant::WillingAndAble => "willing_and_able",
            Quadrant::WillingButUnable => "willing_but_unable",
            Quadrant::AbleButUnwilling => "able_but_unwilling",
            Quadrant::Neither => "neither",
        }
    }
}

/// One segment's profile.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// `quadrant` or `cluster`.
    pub kind: &'static str,
    pub name: String,
    pub size: usize,
    pub share: f64,
    pub willingness: f64,
    pub ability: f64,
    /// Means of [`CLUSTER_FEATURES`] in their own units (missing values left out).
    pub feature_means: Vec<(String, f64)>,
    /// Share of accounts with a payment in the label window (`paid_any_30d`).
    pub pay_rate: Option<f64>,
    /// Share of accounts cured in the label window (`cured_30d`).
    pub cure_rate: Option<f64>,
    /// Mean smoothed response rate per channel (sms, email, call, letter, push).
    pub response_rates: [f64; 5],
    /// Treatments by amount collected per contact in this segment, best first, with the
    /// amount and the number of logged contacts (given the contact table).
    pub best_treatments: Vec<TreatmentValue>,
    /// Mean latent traits (given the simulator's truth): ability, willingness.
    pub latent: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TreatmentValue {
    pub treatment: String,
    /// Self-normalised IPS mean amount paid in the window after the contact.
    pub amount: f64,
    /// Over the logged no-contact decisions of the segment.
    pub lift: Option<f64>,
    pub contacts: usize,
}

/// The segmentation of one as-of date.
#[derive(Debug, Clone, Serialize)]
pub struct Segmentation {
    pub file: PathBuf,
    /// As-of date (days since 1970-01-01) and as text.
    pub as_of: i32,
    pub as_of_text: String,
    /// Where willingness came from: `model <label>` or `payment record`.
    pub willingness_source: String,
    pub willingness_threshold: f64,
    pub ability_threshold: f64,
    pub k: usize,
    /// Mean silhouette per k tried.
    pub silhouettes: Vec<(usize, f64)>,
    /// Cluster names: the two features furthest from the mean, in standard deviations.
    pub cluster_names: Vec<String>,
    #[serde(skip)]
    pub accounts: Vec<String>,
    #[serde(skip)]
    pub willingness: Vec<f64>,
    #[serde(skip)]
    pub ability: Vec<f64>,
    #[serde(skip)]
    pub quadrant: Vec<Quadrant>,
    #[serde(skip)]
    pub cluster: Vec<usize>,
    pub profiles: Vec<Profile>,
}

/// Optional inputs that enrich the profiles.
#[derive(Debug, Default)]
pub struct ProfileInputs<'a> {
    /// The contact table (`recoup features --table contacts`): best treatments per segment.
    pub contacts: Option<&'a Path>,
    /// The simulator's `truth/customers.parquet`: mean latent traits per segment.
    pub truth: Option<&'a Path>,
}

struct Table<'a> {
    df: &'a DataFrame,
    file: &'a Path,
}

impl Table<'_> {
    fn column(&self, name: &str, context: &str) -> Result<&Column, SegmentError> {
        self.df
            .column(name)
            .map_err(|_| SegmentError::ColumnNotFound {
                file: self.file.to_path_buf(),
                column: name.into(),
                context: context.into(),
            })
    }

    fn error(&self, name: &str) -> impl Fn(PolarsError) -> SegmentError + '_ {
        let column = name.to_owned();
        move |e| SegmentError::Column {
            file: self.file.to_path_buf(),
            column: column.clone(),
            message: e.to_string(),
        }
    }

    /// A column cast to `dtype`, with errors naming the file and column.
    fn cast(&self, name: &str, context: &str, dtype: &DataType) -> Result<Column, SegmentError> {
        self.column(name, context)?
            .cast(dtype)
            .map_err(self.error(name))
    }

    /// A column as numbers (missing values as NaN).
    fn f64s(&self, name: &str, context: &str) -> Result<Vec<f64>, SegmentError> {
        let c = self.cast(name, context, &DataType::Float64)?;
        let values = c.f64().map_err(self.error(name))?;
        Ok(values.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }

    /// A column as text (missing values as `None`).
    fn strings(&self, name: &str, context: &str) -> Result<Vec<Option<String>>, SegmentError> {
        let c = self.cast(name, context, &DataType::String)?;
        let values = c.str().map_err(self.error(name))?;
        Ok(values.iter().map(|v| v.map(str::to_owned)).collect())
    }

    fn has(&self, name: &str) -> bool {
        self.df.column(name).is_ok()
    }
}

/// Reads a table (parquet or CSV) with polars.
pub fn read_table(path: &Path) -> Result<DataFrame, SegmentError> {
    Ok(recoup_train::table::read_frame(path)?)
}

/// The value a clustering feature takes: missing payment ratios count as 0, a missing last
/// payment as a year ago, money on a log scale.
pub fn cluster_value(feature: &str, v: f64) -> f64 {
    match feature {
        "balance" | "amount_due" => v.max(0.0).ln_1p(),
        "paid_to_due_30d" if v.is_nan() => 0.0,
        "paid_to_due_30d" => v.clamp(0.0, 2.0),
        "days_since_last_payment" if v.is_nan() => 365.0,
        _ if v.is_nan() => 0.0,
        _ => v,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = values
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| s / n as f64)
}

/// The model's input rows for a frame: each schema column by name, categorical levels as
/// their index (unknown levels and missing values as NaN).
fn model_rows(table: &Table<'_>, model: &ModelFile, label: &str) -> Result<Vec<f64>, SegmentError> {
    let columns = &model.header.schema.columns;
    let n = table.df.height();
    let mut rows = vec![f64::NAN; n * columns.len()];
    let context = format!(" (a feature of the propensity model {label})");
    for (j, c) in columns.iter().enumerate() {
        let values: Vec<f64> = match &c.categories {
            Some(levels) => table
                .strings(&c.name, &context)?
                .iter()
                .map(|v| {
                    v.as_ref()
                        .and_then(|v| levels.iter().position(|l| l == v))
                        .map_or(f64::NAN, |k| k as f64)
                })
                .collect(),
            None => table.f64s(&c.name, &context)?,
        };
        for (i, v) in values.into_iter().enumerate() {
            rows[i * columns.len() + j] = v;
        }
    }
    Ok(rows)
}

/// Segments the accounts in collections of a snapshot feature table at `as_of` (days since
/// 1970-01-01; the table's latest as-of date by default).
pub fn segment(
    df: &DataFrame,
    file: &Path,
    as_of: Option<i32>,
    propensity: Option<(&ModelFile, &str)>,
    settings: &SegmentSettings,
    inputs: &ProfileInputs<'_>,
) -> Result<Segmentation, SegmentError> {
    settings.check()?;
    let all = Table { df, file };
    let dates: Vec<i32> = all
        .f64s("as_of", " (the snapshot table's as-of date)")?
        .iter()
        .map(|&d| d as i32)
        .collect();
    let as_of = match as_of {
        Some(d) => d,
        None => dates.iter().copied().max().unwrap_or(0),
    };
    let dpd = all.f64s("days_past_due", "")?;
    let charged_off = all.f64s("charged_off", "")?;
    let keep: Vec<bool> = (0..df.height())
        .map(|i| dates[i] == as_of && (dpd[i] > 0.0 || charged_off[i] > 0.5))
        .collect();
    let as_of_text = (chrono_epoch() + chrono::Duration::days(i64::from(as_of)))
        .format("%Y-%m-%d")
        .to_string();
    let mask = BooleanChunked::from_slice("keep".into(), &keep);
    let sub = df.filter(&mask).map_err(|e| SegmentError::Column {
        file: file.to_path_buf(),
        column: "as_of".into(),
        message: e.to_string(),
    })?;
    if sub.height() == 0 {
        return Err(SegmentError::NoAccounts {
            file: file.to_path_buf(),
            as_of: as_of_text,
        });
    }
    let t = Table { df: &sub, file };
    let n = sub.height();
    let accounts: Vec<String> = t
        .strings("account_id", "")?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();

    let (willingness, willingness_source) = match propensity {
        Some((model, label)) => {
            let rows = model_rows(&t, model, label)?;
            let width = model.header.schema.columns.len().max(1);
            let p: Vec<f64> = rows
                .par_chunks(width)
                .map(|r| model.body.predict_proba(r))
                .collect();
            (p, format!("model {label}"))
        }
        None => {
            let pays = t.f64s("payments_180d", " (willingness without a model)")?;
            let kept = t.f64s("promise_kept_rate", " (willingness without a model)")?;
            let w = pays
                .iter()
                .zip(&kept)
                .map(|(&p, &k)| willingness_from_record(p, k))
                .collect();
            (w, "payment record".to_owned())
        }
    };
    let reversed = t.f64s("reversed_payments_365d", " (ability)")?;
    let last = t.f64s("last_payment_amount", " (ability)")?;
    let due = t.f64s("amount_due", " (ability)")?;
    let utilisation = t.f64s("utilisation", " (ability)")?;
    let kept = t.f64s("promises_kept_365d", " (ability)")?;
    let broken = t.f64s("promises_broken_365d", " (ability)")?;
    let ability: Vec<f64> = (0..n)
        .map(|i| {
            CapacitySignals {
                reversed_365d: reversed[i],
                last_payment: last[i],
                amount_due: due[i],
                utilisation: utilisation[i],
                promises_kept: kept[i],
                promises_broken: broken[i],
            }
            .ability()
        })
        .collect();
    let willingness_threshold = median(&willingness);
    let ability_threshold = median(&ability);
    let quadrant: Vec<Quadrant> = (0..n)
        .map(|i| {
            Quadrant::of(
                willingness[i] > willingness_threshold,
                ability[i] > ability_threshold,
            )
        })
        .collect();

    // Clusters on standardised features.
    let dims = CLUSTER_FEATURES.len();
    let mut raw = Vec::with_capacity(dims);
    for f in CLUSTER_FEATURES {
        raw.push(t.f64s(f, " (a clustering feature)")?);
    }
    let mut rows = vec![0.0; n * dims];
    let mut centre = vec![0.0; dims];
    let mut scale = vec![1.0; dims];
    for (j, f) in CLUSTER_FEATURES.iter().enumerate() {
        let v: Vec<f64> = raw[j].iter().map(|&x| cluster_value(f, x)).collect();
        let m = v.iter().sum::<f64>() / n as f64;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64).sqrt();
        centre[j] = m;
        scale[j] = if sd > 1e-12 { sd } else { 1.0 };
        for (i, x) in v.iter().enumerate() {
            rows[i * dims + j] = (x - m) / scale[j];
        }
    }
    let mut sample: Vec<usize> = (0..n).collect();
    sample.shuffle(&mut ChaCha8Rng::seed_from_u64(settings.seed));
    sample.truncate(settings.silhouette_rows);
    sample.sort_unstable();
    let sample_rows: Vec<f64> = sample
        .iter()
        .flat_map(|&i| rows[i * dims..(i + 1) * dims].iter().copied())
        .collect();
    let candidates: Vec<usize> = match settings.k {
        Some(k) => vec![k.min(n)],
        None => (settings.k_min..=settings.k_max.min(n.saturating_sub(1)).max(settings.k_min))
            .filter(|&k| k <= n)
            .collect(),
    };
    let mut silhouettes = Vec::new();
    let mut best: Option<(f64, KMeans)> = None;
    for &k in &candidates {
        let model = KMeans::fit(&rows, dims, k, settings.starts, settings.seed);
        let labels: Vec<usize> = sample_rows
            .chunks(dims)
            .map(|r| model.nearest(r).0)
            .collect();
        let s = if k >= 2 {
            kmeans::silhouette(&sample_rows, dims, &labels, k)
        } else {
            0.0
        };
        silhouettes.push((k, s));
        if best.as_ref().is_none_or(|(b, _)| s > *b + 1e-12) {
            best = Some((s, model));
        }
    }
    let (_, model) =
        best.ok_or_else(|| recoup_core::InvalidSetting::new("k", 0, "at least one k to try"))?;
    let cluster: Vec<usize> = rows.chunks(dims).map(|r| model.nearest(r).0).collect();
    let cluster_names: Vec<String> = (0..model.k)
        .map(|c| {
            let centroid = &model.centroids[c * dims..(c + 1) * dims];
            let mut order: Vec<usize> = (0..dims).collect();
            order.sort_by(|&a, &b| centroid[b].abs().total_cmp(&centroid[a].abs()));
            let parts: Vec<String> = order
                .iter()
                .take(2)
                .map(|&j| {
                    format!(
                        "{} {}",
                        if centroid[j] >= 0.0 { "high" } else { "low" },
                        CLUSTER_FEATURES[j]
                    )
                })
                .collect();
            format!("c{}: {}", c + 1, parts.join(", "))
        })
        .collect();

    let mut seg = Segmentation {
        file: file.to_path_buf(),
        as_of,
        as_of_text,
        willingness_source,
        willingness_threshold,
        ability_threshold,
        k: model.k,
        silhouettes,
        cluster_names,
        accounts,
        willingness,
        ability,
        quadrant,
        cluster,
        profiles: Vec::new(),
    };
    seg.profiles = profiles(&seg, &t, &raw, inputs)?;
    Ok(seg)
}

fn chrono_epoch() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

fn profiles(
    seg: &Segmentation,
    t: &Table<'_>,
    raw: &[Vec<f64>],
    inputs: &ProfileInputs<'_>,
) -> Result<Vec<Profile>, SegmentError> {
    let n = seg.accounts.len();
    let label = |name: &str| -> Result<Option<Vec<f64>>, SegmentError> {
        if t.has(name) {
            Ok(Some(t.f64s(name, "")?))
        } else {
            Ok(None)
        }
    };
    let paid = label("paid_any_30d")?;
    let cured = label("cured_30d")?;
    let mut response = Vec::new();
    for ch in CHANNELS {
        response.push(t.f64s(&format!("response_rate_{ch}"), "")?);
    }
    let contacts = match inputs.contacts {
        Some(path) => Some(contact_values(path, seg)?),
        None => None,
    };
    let latent = match inputs.truth {
        Some(path) => Some(latent_traits(path, &seg.accounts)?),
        None => None,
    };
    let mut groups: Vec<(&'static str, String, Vec<usize>, SegmentKey)> = Vec::new();
    for q in Quadrant::ALL {
        let members: Vec<usize> = (0..n).filter(|&i| seg.quadrant[i] == q).collect();
        groups.push((
            "quadrant",
            q.as_str().into(),
            members,
            SegmentKey::Quadrant(q),
        ));
    }
    for c in 0..seg.k {
        let members: Vec<usize> = (0..n).filter(|&i| seg.cluster[i] == c).collect();
        groups.push((
            "cluster",
            seg.cluster_names[c].clone(),
            members,
            SegmentKey::Cluster(c),
        ));
    }
    Ok(groups
        .into_iter()
        .map(|(kind, name, members, key)| {
            let of = |v: &[f64]| mean(members.iter().map(|&i| v[i]));
            let mut response_rates = [0.0; 5];
            for (r, v) in response_rates.iter_mut().zip(&response) {
                *r = of(v).unwrap_or(f64::NAN);
            }
            Profile {
                kind,
                name,
                size: members.len(),
                share: members.len() as f64 / n as f64,
                willingness: of(&seg.willingness).unwrap_or(f64::NAN),
                ability: of(&seg.ability).unwrap_or(f64::NAN),
                feature_means: CLUSTER_FEATURES
                    .iter()
                    .zip(raw)
                    .map(|(f, v)| ((*f).to_owned(), of(v).unwrap_or(f64::NAN)))
                    .collect(),
                pay_rate: paid.as_deref().and_then(of),
                cure_rate: cured.as_deref().and_then(of),
                response_rates,
                best_treatments: contacts
                    .as_ref()
                    .and_then(|c| c.get(&key).cloned())
                    .unwrap_or_default(),
                latent: latent.as_ref().and_then(|l| {
                    Some((
                        mean(members.iter().map(|&i| l[i].0))?,
                        mean(members.iter().map(|&i| l[i].1))?,
                    ))
                }),
            }
        })
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SegmentKey {
    Quadrant(Quadrant),
    Cluster(usize),
}

/// Per segment, the treatments of the logged contacts of its accounts, by SNIPS mean amount
/// paid in the window, best first.
fn contact_values(
    path: &Path,
    seg: &Segmentation,
) -> Result<BTreeMap<SegmentKey, Vec<TreatmentValue>>, SegmentError> {
    let df = read_table(path)?;
    let t = Table {
        df: &df,
        file: path,
    };
    let context = " (the contact table)";
    let str_col = |name: &str| -> Result<Vec<String>, SegmentError> {
        Ok(t.strings(name, context)?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect())
    };
    let accounts = str_col("account_id")?;
    let treatments = str_col("treatment_id")?;
    let propensity = t.f64s("propensity", context)?;
    let amount = t.f64s("amount_paid_in_window", context)?;
    let index: std::collections::HashMap<&str, usize> = seg
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.as_str(), i))
        .collect();
    // (sum w, sum w y, count) per segment and treatment.
    let mut acc: BTreeMap<SegmentKey, BTreeMap<String, (f64, f64, usize)>> = BTreeMap::new();
    for r in 0..df.height() {
        let Some(&i) = index.get(accounts[r].as_str()) else {
            continue;
        };
        if propensity[r].is_nan() || propensity[r] <= 0.0 || amount[r].is_nan() {
            continue;
        }
        let w = 1.0 / propensity[r];
        for key in [
            SegmentKey::Quadrant(seg.quadrant[i]),
            SegmentKey::Cluster(seg.cluster[i]),
        ] {
            let e = acc
                .entry(key)
                .or_default()
                .entry(treatments[r].clone())
                .or_insert((0.0, 0.0, 0));
            e.0 += w;
            e.1 += w * amount[r];
            e.2 += 1;
        }
    }
    Ok(acc
        .into_iter()
        .map(|(key, by_t)| {
            let none = by_t.get("no_contact").map(|e| e.1 / e.0);
            let mut values: Vec<TreatmentValue> = by_t
                .iter()
                .filter(|(id, e)| id.as_str() != "no_contact" && e.2 >= 20)
                .map(|(id, e)| TreatmentValue {
                    treatment: id.clone(),
                    amount: e.1 / e.0,
                    lift: none.map(|b| e.1 / e.0 - b),
                    contacts: e.2,
                })
                .collect();
            values.sort_by(|a, b| b.amount.total_cmp(&a.amount));
            values.truncate(3);
            (key, values)
        })
        .collect())
}

/// Latent (ability, willingness) of each account, from the simulator's truth.
fn latent_traits(path: &Path, accounts: &[String]) -> Result<Vec<(f64, f64)>, SegmentError> {
    let df = read_table(path)?;
    let t = Table {
        df: &df,
        file: path,
    };
    let ids: Vec<String> = t
        .strings("account_id", " (the simulator's truth)")?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let ability = t.f64s("ability", "")?;
    let willingness = t.f64s("willingness", "")?;
    let index: std::collections::HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, a)| (a.as_str(), i))
        .collect();
    Ok(accounts
        .iter()
        .map(|a| {
            index
                .get(a.as_str())
                .map_or((f64::NAN, f64::NAN), |&i| (ability[i], willingness[i]))
        })
        .collect())
}

/// Writes one row per segmented account: account, as-of date, willingness, ability, quadrant,
/// cluster (1-based) and cluster name; under a temporary name, then renamed.
pub fn write_assignments(seg: &Segmentation, out: &Path) -> Result<(), SegmentError> {
    let n = seg.accounts.len();
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new("account_id".into(), &seg.accounts),
            Column::new("as_of".into(), vec![seg.as_of; n])
                .cast(&DataType::Date)
                .map_err(|e| SegmentError::Column {
                    file: out.to_path_buf(),
                    column: "as_of".into(),
                    message: e.to_string(),
                })?,
            Column::new("willingness".into(), &seg.willingness),
            Column::new("ability".into(), &seg.ability),
            Column::new(
                "segment".into(),
                seg.quadrant.iter().map(|q| q.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "cluster".into(),
                seg.cluster
                    .iter()
                    .map(|&c| (c + 1) as u32)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "cluster_name".into(),
                seg.cluster
                    .iter()
                    .map(|&c| seg.cluster_names[c].as_str())
                    .collect::<Vec<_>>(),
            ),
        ],
    )
    .map_err(|e| SegmentError::Column {
        file: out.to_path_buf(),
        column: "account_id".into(),
        message: e.to_string(),
    })?;
    recoup_io::write_parquet_atomic(&mut df, out)?;
    Ok(())
}
