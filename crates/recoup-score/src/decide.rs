//! The nightly batch: one decision per account in collections.
//!
//! Pass 1 streams the snapshot table (the rows of one as-of date) in batches: it scores the
//! propensity to pay and its reason codes, scores every catalog treatment with the treatment
//! models (probability of paying given the treatment, of responding on its channel), applies
//! the contact rules and ranks the treatments by net value ([`crate::ranking`]). Everything
//! but the choice goes to a spill file next to the output; what the portfolio-wide capacity
//! assignment needs (each account's ranked options, a few numbers each) stays in memory.
//! Pass 2 assigns treatments under the channels' daily capacity ([`crate::capacity`]) and
//! streams the spill into the decisions file, adding the chosen treatment. Memory is bounded
//! by a batch plus about 60 bytes per ranked option, whatever the width of the input.
//!
//! The decisions file is written under a temporary name and renamed when complete; the same
//! inputs and settings give the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int32Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StringArray, StructArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use recoup_core::{Channel, TreatmentCatalog};
use serde::Serialize;

use crate::capacity::{self, Candidate};
use crate::columns::{Numbers, ParquetBatches, Texts, column, days};
use crate::error::ScoreError;
use crate::explain::reason_codes;
use crate::inputs::{FeatureMap, views};
use crate::models::ScoringModel;
use crate::ranking::{self, AccountMoney, Estimate};
use crate::rule_inputs::RuleInputs;
use crate::rules::{AccountRules, RuleSettings};

const DAY_US: i64 = 86_400_000_000;

/// A channel's daily capacity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChannelCapacity {
    pub channel: Channel,
    /// Units available on the decision day (e.g. call minutes, SMS budget in messages).
    pub per_day: f64,
    /// Units one contact uses (e.g. 4 minutes a call; 1 a message).
    pub per_contact: f64,
}

/// Settings of a scoring run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreSettings {
    /// The as-of date whose snapshot rows are scored; `None`: the latest in the table.
    pub asof: Option<NaiveDate>,
    /// Accounts with fewer days past due get no decision.
    pub min_days_past_due: i64,
    /// Ranked alternatives kept per account.
    pub top_k: usize,
    /// Reason codes per account (largest TreeSHAP contributions to the propensity).
    pub reason_codes: usize,
    /// Rows per input batch.
    pub batch_rows: usize,
    pub rules: RuleSettings,
    pub capacity: Vec<ChannelCapacity>,
    /// Segment per account (`recoup segment`: `account_id`, `segment`), carried into each
    /// decision and counted per treatment; accounts without one get none.
    pub segments: Option<PathBuf>,
    /// Treatments excluded per segment (needs `segments`): the segment as an input to the
    /// ranking.
    pub segment_policy: Option<crate::segment_policy::SegmentPolicy>,
}

impl Default for ScoreSettings {
    fn default() -> Self {
        Self {
            asof: None,
            min_days_past_due: 1,
            top_k: 3,
            reason_codes: 3,
            batch_rows: 65_536,
            rules: RuleSettings::default(),
            capacity: Vec::new(),
            segments: None,
            segment_policy: None,
        }
    }
}

impl ScoreSettings {
    pub fn check(&self) -> Result<(), recoup_core::InvalidSetting> {
        use recoup_core::InvalidSetting as E;
        if self.batch_rows == 0 {
            return Err(E::new("batch_rows", 0, "at least 1"));
        }
        if self.top_k == 0 {
            return Err(E::new("top_k", 0, "at least 1"));
        }
        for c in &self.capacity {
            if c.channel == Channel::None {
                return Err(E::new("capacity", "none", "a contact channel"));
            }
            if !(c.per_day.is_finite() && c.per_day >= 0.0) {
                return Err(E::new(
                    format!("capacity.{}", c.channel),
                    c.per_day,
                    "a finite number >= 0",
                ));
            }
            if !(c.per_contact.is_finite() && c.per_contact > 0.0) {
                return Err(E::new(
                    format!("usage.{}", c.channel),
                    c.per_contact,
                    "a finite number > 0",
                ));
            }
            if self
                .capacity
                .iter()
                .filter(|d| d.channel == c.channel)
                .count()
                > 1
            {
                return Err(E::new("capacity", c.channel, "each channel once"));
            }
        }
        Ok(())
    }
}

/// The models of a run.
#[derive(Debug, Clone, Copy)]
pub struct Models<'a> {
    /// Propensity to pay, on the snapshot table: the account's score and reason codes.
    pub propensity: &'a ScoringModel,
    /// Probability of a payment given the treatment (reads `treatment_id` and/or `channel`).
    pub pay: &'a ScoringModel,
    /// Probability of a response on the treatment's channel.
    pub response: &'a ScoringModel,
}

/// One ranked option, as the assignment and the output need it.
#[derive(Debug, Clone, Copy)]
struct Opt {
    treatment: u16,
    send_hour: i8,
    send_at_us: i64,
    p_respond: f64,
    p_pay: f64,
    collected: f64,
    given_away: f64,
    net: f64,
}

/// The run manifest: what went in, what came out, how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct RunManifest {
    pub recoup_version: String,
    pub asof: NaiveDate,
    pub inputs: Vec<InputFile>,
    pub models: Vec<ModelEntry>,
    pub settings: ScoreSettings,
    /// The rules applied, by the names exclusions carry.
    pub rules: Vec<String>,
    pub catalog: Vec<String>,
    pub counts: Counts,
    pub capacity: Vec<CapacityUse>,
    pub output: PathBuf,
    pub timings_s: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    pub role: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub blake3: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelEntry {
    pub role: String,
    pub path: PathBuf,
    pub label: String,
    pub engine: String,
    pub hash: String,
    pub target: Option<String>,
    pub features: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Rows of the input table.
    pub rows_read: usize,
    /// Rows of other as-of dates.
    pub rows_other_dates: usize,
    /// Rows below `min_days_past_due`.
    pub rows_not_past_due: usize,
    pub decisions: usize,
    pub decisions_by_treatment: BTreeMap<String, usize>,
    pub decisions_by_channel: BTreeMap<String, usize>,
    /// Decisions per segment and treatment (with `segments`).
    pub decisions_by_segment: BTreeMap<String, BTreeMap<String, usize>>,
    /// Options excluded, by rule (eligibility included).
    pub exclusions_by_rule: BTreeMap<String, usize>,
    /// Accounts with at least one option excluded by the rule.
    pub accounts_excluded_by_rule: BTreeMap<String, usize>,
    /// Accounts whose top-ranked treatment was replaced because of capacity.
    pub moved_by_capacity: usize,
    pub expected_value: f64,
    /// Expected value had every account its top-ranked treatment (capacity ignored).
    pub expected_value_unconstrained: f64,
    pub expected_collected: f64,
    pub cost: f64,
    pub value_given_away: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CapacityUse {
    pub channel: Channel,
    pub per_day: f64,
    pub per_contact: f64,
    /// Units the top-ranked choices would use.
    pub wanted: f64,
    pub used: f64,
    /// The Lagrangian price per unit that rationed it.
    pub price: f64,
}

fn file_entry(role: &str, path: &Path) -> Result<InputFile, ScoreError> {
    let io = |e| ScoreError::from(recoup_core::FileError::new(path, e));
    let mut hasher = blake3::Hasher::new();
    let f = std::fs::File::open(path).map_err(io)?;
    hasher.update_reader(f).map_err(io)?;
    Ok(InputFile {
        role: role.into(),
        path: path.to_path_buf(),
        bytes: std::fs::metadata(path).map_err(io)?.len(),
        blake3: hasher.finalize().to_hex().to_string(),
    })
}

/// The latest as-of date of a snapshot table.
pub fn latest_asof(features: &Path) -> Result<NaiveDate, ScoreError> {
    let mut best: Option<i32> = None;
    for b in ParquetBatches::open(features, Some(&["as_of"]), 1 << 20, "the as-of date")? {
        let b = b?;
        let c = column(&b, features, "as_of", "the as-of date")?;
        let d = days(c.as_ref()).ok_or_else(|| {
            crate::columns::kind_mismatch(c.as_ref(), features, "as_of", "a date")
        })?;
        best = d.into_iter().flatten().chain(best).max();
    }
    let d = best.ok_or_else(|| ScoreError::InvalidValue {
        file: features.to_path_buf(),
        column: "as_of".into(),
        row: 0,
        value: "no rows".into(),
    })?;
    Ok(NaiveDate::from_num_days_from_ce_opt(d + 719_163).unwrap_or_default())
}

fn list_array(fields: Fields, children: Vec<ArrayRef>, lengths: Vec<usize>) -> ArrayRef {
    let values = StructArray::new(fields.clone(), children, None);
    let item = Arc::new(Field::new("item", DataType::Struct(fields), false));
    Arc::new(ListArray::new(
        item,
        OffsetBuffer::from_lengths(lengths),
        Arc::new(values),
        None,
    ))
}

fn alt_fields() -> Fields {
    Fields::from(vec![
        Field::new("treatment", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("net_value", DataType::Float64, false),
        Field::new("p_pay", DataType::Float64, false),
        Field::new("p_respond", DataType::Float64, false),
        Field::new("send_hour", DataType::Int32, true),
    ])
}

fn reason_fields() -> Fields {
    Fields::from(vec![
        Field::new("feature", DataType::Utf8, false),
        Field::new("contribution", DataType::Float64, false),
    ])
}

fn excluded_fields() -> Fields {
    Fields::from(vec![
        Field::new("treatment", DataType::Utf8, false),
        Field::new("rule", DataType::Utf8, false),
        Field::new("detail", DataType::Utf8, false),
    ])
}

fn list_type(fields: Fields) -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(fields),
        false,
    )))
}

fn spill_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("account_id", DataType::Utf8, false),
        Field::new("as_of", DataType::Date32, false),
        Field::new("p_pay", DataType::Float64, false),
        Field::new("reason_codes", list_type(reason_fields()), false),
        Field::new("alternatives", list_type(alt_fields()), false),
        Field::new("excluded", list_type(excluded_fields()), false),
    ]))
}

/// The decisions file's schema.
pub fn decisions_schema() -> Arc<Schema> {
    let spill = spill_schema();
    let mut fields: Vec<Field> = vec![
        spill.field(0).clone(),
        spill.field(1).clone(),
        Field::new("treatment", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("send_hour", DataType::Int32, true),
        Field::new(
            "send_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("expected_value", DataType::Float64, false),
        Field::new("expected_collected", DataType::Float64, false),
        Field::new("cost", DataType::Float64, false),
        Field::new("value_given_away", DataType::Float64, false),
        Field::new("p_pay_treatment", DataType::Float64, false),
        Field::new("p_respond", DataType::Float64, false),
        Field::new("top_ranked", DataType::Utf8, false),
        Field::new("moved_by_capacity", DataType::Boolean, false),
    ];
    fields.extend(spill.fields().iter().skip(2).map(|f| f.as_ref().clone()));
    fields.push(Field::new("propensity_model", DataType::Utf8, false));
    fields.push(Field::new("pay_model", DataType::Utf8, false));
    fields.push(Field::new("response_model", DataType::Utf8, false));
    fields.push(Field::new("segment", DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

fn writer_props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build()
}

/// `account_id` -> `segment` of a segments file (`recoup segment`).
fn read_segments(path: &Path) -> Result<std::collections::HashMap<String, String>, ScoreError> {
    let mut map = std::collections::HashMap::new();
    for b in ParquetBatches::open(path, Some(&["account_id", "segment"]), 65_536, "segments")? {
        let b = b?;
        let ids = Texts::require(b.column(0).as_ref(), path, "account_id")?;
        let segs = Texts::require(b.column(1).as_ref(), path, "segment")?;
        for i in 0..b.num_rows() {
            if let (Some(id), Some(seg)) = (ids.get(i), segs.get(i)) {
                map.insert(id.to_owned(), seg.to_owned());
            }
        }
    }
    Ok(map)
}

/// Removes the spill file however the run ends.
struct Spill(PathBuf);

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Scores `features` (a snapshot table) against the raw folder `raw` (accounts, contacts)
/// and writes one decision per account to `out`, returning the run manifest (not written;
/// see [`write_manifest`]). `progress(done, total)` reports input rows.
pub fn score(
    features: &Path,
    raw: &Path,
    catalog: &TreatmentCatalog,
    models: Models<'_>,
    settings: &ScoreSettings,
    out: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<RunManifest, ScoreError> {
    let started = Instant::now();
    let mut timings = BTreeMap::new();
    settings.check()?;
    if catalog.treatments.len() > usize::from(u16::MAX) {
        return Err(ScoreError::Ranking("more than 65535 treatments".into()));
    }
    if !catalog
        .treatments
        .iter()
        .any(|t| matches!(t.offer, recoup_core::Offer::NoContact))
    {
        return Err(ScoreError::Ranking(
            "the catalog has no no-contact treatment (the baseline)".into(),
        ));
    }
    let asof = match settings.asof {
        Some(d) => d,
        None => latest_asof(features)?,
    };
    let asof_days = i32::try_from(
        asof.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default())
            .num_days(),
    )
    .unwrap_or_default();
    let decision_us = i64::from(asof_days) * DAY_US;
    let t0 = Instant::now();
    let facts = RuleInputs::read(raw, decision_us, &settings.rules)?;
    timings.insert("read_rule_inputs".into(), t0.elapsed().as_secs_f64());
    let segments = match &settings.segments {
        Some(path) => Some(read_segments(path)?),
        None => None,
    };
    if let (Some(policy), None) = (&settings.segment_policy, &segments) {
        return Err(recoup_core::InvalidSetting::new(
            "segment_policy",
            policy.source.display(),
            "a segments file as well (segments)",
        )
        .into());
    }

    // The columns the run reads: keys, money, rule inputs and every model input.
    let probe = ParquetBatches::open(features, None, 1, "scoring")?;
    let full = probe.schema().clone();
    drop(probe);
    let mut wanted: Vec<&str> = vec![
        "account_id",
        "as_of",
        "balance",
        "amount_due",
        "days_past_due",
    ];
    let optional = ["usual_response_hour"];
    let consent_cols: Vec<&str> = Channel::CONTACTABLE
        .iter()
        .filter_map(|c| c.consent_column())
        .collect();
    for c in optional.iter().chain(&consent_cols) {
        if full.column_with_name(c).is_some() {
            wanted.push(c);
        }
    }
    for m in [models.propensity, models.pay, models.response] {
        for c in &m.columns {
            if full.column_with_name(&c.name).is_some() && !wanted.contains(&c.name.as_str()) {
                wanted.push(&c.name);
            }
        }
    }
    let input = ParquetBatches::open(features, Some(&wanted), settings.batch_rows, "scoring")?;
    let schema = input.schema().clone();
    let prop_map = FeatureMap::new(models.propensity, &schema, features, None)?;
    let pay_map = FeatureMap::new(models.pay, &schema, features, Some(catalog))?;
    let resp_map = FeatureMap::new(models.response, &schema, features, Some(catalog))?;
    // An uplift pay model gives p(pay | treatment) = baseline + the treatment's effect; each
    // catalog treatment is matched to its arm by id (a treatment without an arm gets none).
    // A 0/1 outcome gives p(pay | treatment); a real-valued one (the amount paid) gives the
    // amount collected directly.
    let uplift_arm: Option<(Vec<Option<usize>>, bool)> = match models.pay.uplift_arms() {
        Some((arms, binary)) => {
            let map: Vec<Option<usize>> = catalog
                .treatments
                .iter()
                .map(|t| arms.iter().position(|a| *a == t.id))
                .collect();
            let missing: Vec<&str> = catalog
                .treatments
                .iter()
                .zip(&map)
                .filter(|(_, a)| a.is_none())
                .map(|(t, _)| t.id.as_str())
                .collect();
            if !missing.is_empty() {
                tracing::warn!(
                    "the uplift pay model has no arm for {}: scored with no effect",
                    missing.join(", ")
                );
            }
            Some((map, binary))
        }
        None => None,
    };
    if uplift_arm.is_none() && !pay_map.uses_candidate() {
        return Err(ScoreError::ModelInput {
            model: models.pay.path.clone(),
            message: "the pay model reads neither `treatment_id` nor `channel`: it cannot tell treatments apart".into(),
        });
    }
    let explain = models
        .propensity
        .trees()
        .filter(|t| settings.reason_codes > 0 && t.trees.iter().all(|x| !x.leaf_cover.is_empty()));
    if settings.reason_codes > 0 && explain.is_none() {
        tracing::warn!(
            "no reason codes: the propensity model {} is not a native tree model with training covers",
            models.propensity.label
        );
    }
    let prop_names: Vec<&str> = models
        .propensity
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();

    let total_rows = input.rows();
    let spill_path = out.with_file_name(format!(
        "{}.spill-{}",
        out.file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let spill_file = std::fs::File::create(&spill_path)
        .map_err(|e| recoup_core::FileError::new(&spill_path, e))?;
    let _spill_guard = Spill(spill_path.clone());
    let mut spill = ArrowWriter::try_new(spill_file, spill_schema(), Some(writer_props()))
        .map_err(|e| ScoreError::parquet(&spill_path, e))?;

    let nt = catalog.treatments.len();
    let mut counts = Counts::default();
    let mut options: Vec<Vec<Opt>> = Vec::new();
    let mut done = 0;
    let t0 = Instant::now();
    let day = asof;
    for batch in input {
        let batch = batch?;
        let n = batch.num_rows();
        counts.rows_read += n;
        let v = views(&batch);
        let idx = |name: &str| schema.index_of(name).ok();
        let num = |name: &str| -> Result<Numbers<'_>, ScoreError> {
            Numbers::require(
                column(&batch, features, name, "scoring")?.as_ref(),
                features,
                name,
            )
        };
        let ids = Texts::require(
            column(&batch, features, "account_id", "scoring")?.as_ref(),
            features,
            "account_id",
        )?;
        let as_of_col = column(&batch, features, "as_of", "scoring")?;
        let as_ofs = days(as_of_col.as_ref()).ok_or_else(|| {
            crate::columns::kind_mismatch(as_of_col.as_ref(), features, "as_of", "a date")
        })?;
        let (balance, due, dpd) = (num("balance")?, num("amount_due")?, num("days_past_due")?);
        let usual = idx("usual_response_hour").map(|i| &v[i]);
        let consents: Vec<Option<usize>> = consent_cols.iter().map(|c| idx(c)).collect();
        let mut rows = Vec::with_capacity(n);
        for (r, d) in as_ofs.iter().enumerate() {
            if *d != Some(asof_days) {
                counts.rows_other_dates += 1;
            } else if dpd.get(r).is_nan() || dpd.get(r) < settings.min_days_past_due as f64 {
                counts.rows_not_past_due += 1;
            } else {
                rows.push(r);
            }
        }
        let m = rows.len();
        let fill = |map: &FeatureMap, per_row: usize| -> Vec<f64> {
            let nf = map.n_features();
            let mut x = vec![0.0; m * per_row * nf];
            x.par_chunks_mut((per_row * nf).max(1))
                .zip(rows.par_iter())
                .for_each(|(chunk, &r)| {
                    // Row k is candidate treatment k; maps without candidate columns ignore it.
                    for k in 0..per_row {
                        map.fill(&v, r, Some(k), &mut chunk[k * nf..(k + 1) * nf]);
                    }
                });
            x
        };
        let xp = fill(&prop_map, 1);
        let mut p_now = vec![0.0; m];
        models.propensity.predict_proba(&xp, &mut p_now)?;
        let mut p_pay = vec![0.0; m * nt];
        let mut collected: Option<Vec<f64>> = None;
        match &uplift_arm {
            Some((arm_of, binary)) => {
                let (baseline, effects) = models.pay.predict_uplift(&fill(&pay_map, 1))?;
                let mut values = vec![0.0; m * nt];
                for (k, chunk) in values.chunks_mut(nt).enumerate() {
                    for (v, arm) in chunk.iter_mut().zip(arm_of) {
                        let effect = match arm {
                            Some(a) if *a > 0 => effects[a - 1][k],
                            _ => 0.0,
                        };
                        *v = baseline[k] + effect;
                    }
                }
                if *binary {
                    for (p, v) in p_pay.iter_mut().zip(&values) {
                        *p = v.clamp(0.0, 1.0);
                    }
                } else {
                    p_pay.iter_mut().for_each(|p| *p = f64::NAN);
                    collected = Some(values.into_iter().map(|v| v.max(0.0)).collect());
                }
            }
            None => models.pay.predict_proba(&fill(&pay_map, nt), &mut p_pay)?,
        }
        let mut p_resp = vec![0.0; m * nt];
        models
            .response
            .predict_proba(&fill(&resp_map, nt), &mut p_resp)?;

        type Row = (Vec<Opt>, Vec<ranking::Excluded>, Vec<(usize, f64)>);
        let results: Vec<Result<Row, ScoreError>> = rows
            .par_iter()
            .enumerate()
            .map(|(k, &r)| {
                let row_no = done + r + 1;
                let id = ids.get(r).ok_or_else(|| ScoreError::InvalidValue {
                    file: features.to_path_buf(),
                    column: "account_id".into(),
                    row: row_no,
                    value: "missing".into(),
                })?;
                let f = facts
                    .accounts
                    .get(id)
                    .ok_or_else(|| ScoreError::InvalidValue {
                        file: features.to_path_buf(),
                        column: "account_id".into(),
                        row: row_no,
                        value: format!(
                            "`{id}` is not in {}",
                            raw.join("accounts.parquet").display()
                        ),
                    })?;
                let mut consent = f.consent;
                for (c, i) in consent.iter_mut().zip(&consents) {
                    if let Some(i) = i
                        && let crate::inputs::View::Number(n) = &v[*i]
                        && n.get(r) == 0.0
                    {
                        // Consent at the as-of date, reconstructed by the feature stage, can
                        // only withdraw what the export grants.
                        *c = false;
                    }
                }
                let hour = usual.and_then(|u| match u {
                    crate::inputs::View::Number(n) => {
                        let h = n.get(r);
                        (h.is_finite() && (0.0..24.0).contains(&h)).then_some(h as u32)
                    }
                    crate::inputs::View::Text(_) => None,
                });
                let rules_in = AccountRules {
                    consent,
                    do_not_contact: f.do_not_contact.clone(),
                    time_zone: f.time_zone,
                    call_attempts: facts.call_attempts.get(id).cloned().unwrap_or_default(),
                    last_conversation: facts.last_conversation.get(id).copied(),
                    usual_response_hour: hour,
                };
                let money = AccountMoney {
                    product: f.product,
                    days_past_due: dpd.get(r) as i32,
                    amount_due: zero_if_missing(due.get(r)),
                    balance: zero_if_missing(balance.get(r)),
                };
                let estimates: Vec<Estimate> = (0..nt)
                    .map(|t| Estimate {
                        p_respond: if catalog.treatments[t].channel == Channel::None {
                            1.0
                        } else {
                            p_resp[k * nt + t]
                        },
                        p_pay: p_pay[k * nt + t],
                        collected: collected.as_ref().map(|c| c[k * nt + t]),
                    })
                    .collect();
                let (mut ranked, mut excluded) =
                    ranking::rank(catalog, &estimates, &money, &rules_in, day, &settings.rules)
                        .map_err(ScoreError::Ranking)?;
                if let (Some(policy), Some(segment)) = (
                    &settings.segment_policy,
                    segments.as_ref().and_then(|m| m.get(id)),
                ) {
                    ranked.retain(|x| {
                        let id = &catalog.treatments[x.index].id;
                        let out = policy.excludes(segment, id);
                        if out {
                            excluded.push(ranking::Excluded {
                                treatment: id.clone(),
                                rule: crate::segment_policy::RULE,
                                detail: format!("segment `{segment}` is not offered it"),
                            });
                        }
                        !out
                    });
                }
                let opts = ranked
                    .iter()
                    .map(|x| Opt {
                        treatment: x.index as u16,
                        send_hour: x.send_hour.map_or(-1, |h| h as i8),
                        send_at_us: x.send_at.map_or(i64::MIN, |t| t.timestamp_micros()),
                        p_respond: x.p_respond,
                        p_pay: x.p_pay,
                        collected: x.expected_collected,
                        given_away: x.value_given_away,
                        net: x.net_value,
                    })
                    .collect();
                let reasons = match explain {
                    Some(e) => reason_codes(
                        e,
                        &xp[k * prop_names.len()..(k + 1) * prop_names.len()],
                        settings.reason_codes,
                    )
                    .map_err(ScoreError::Ranking)?,
                    None => Vec::new(),
                };
                Ok((opts, excluded, reasons))
            })
            .collect();

        let mut id_b = StringBuilder::new();
        let mut asof_b = Date32Builder::new();
        let mut p_b = Float64Builder::new();
        let (mut r_feat, mut r_val, mut r_len) =
            (StringBuilder::new(), Float64Builder::new(), Vec::new());
        let mut a_t = StringBuilder::new();
        let mut a_c = StringBuilder::new();
        let (mut a_net, mut a_pay, mut a_resp) = (
            Float64Builder::new(),
            Float64Builder::new(),
            Float64Builder::new(),
        );
        let mut a_hour = Int32Builder::new();
        let mut a_len = Vec::new();
        let (mut x_t, mut x_r, mut x_d, mut x_len) = (
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            Vec::new(),
        );
        for ((k, &r), res) in rows.iter().enumerate().zip(results) {
            let (opts, excluded, reasons) = res?;
            id_b.append_value(ids.get(r).unwrap_or_default());
            asof_b.append_value(asof_days);
            p_b.append_value(p_now[k]);
            r_len.push(reasons.len());
            for (f, val) in &reasons {
                r_feat.append_value(prop_names[*f]);
                r_val.append_value(*val);
            }
            let top = opts.len().min(settings.top_k);
            a_len.push(top);
            for o in &opts[..top] {
                let t = &catalog.treatments[usize::from(o.treatment)];
                a_t.append_value(&t.id);
                a_c.append_value(t.channel.as_str());
                a_net.append_value(o.net);
                a_pay.append_value(o.p_pay);
                a_resp.append_value(o.p_respond);
                a_hour.append_option((o.send_hour >= 0).then_some(i32::from(o.send_hour)));
            }
            x_len.push(excluded.len());
            let mut rules_hit: Vec<&str> = Vec::new();
            for x in &excluded {
                x_t.append_value(&x.treatment);
                x_r.append_value(x.rule);
                x_d.append_value(&x.detail);
                *counts
                    .exclusions_by_rule
                    .entry(x.rule.to_owned())
                    .or_default() += 1;
                if !rules_hit.contains(&x.rule) {
                    rules_hit.push(x.rule);
                }
            }
            for rule in rules_hit {
                *counts
                    .accounts_excluded_by_rule
                    .entry(rule.to_owned())
                    .or_default() += 1;
            }
            options.push(opts);
        }
        if m > 0 {
            let cols: Vec<ArrayRef> = vec![
                Arc::new(id_b.finish()),
                Arc::new(asof_b.finish()),
                Arc::new(p_b.finish()),
                list_array(
                    reason_fields(),
                    vec![Arc::new(r_feat.finish()), Arc::new(r_val.finish())],
                    r_len,
                ),
                list_array(
                    alt_fields(),
                    vec![
                        Arc::new(a_t.finish()),
                        Arc::new(a_c.finish()),
                        Arc::new(a_net.finish()),
                        Arc::new(a_pay.finish()),
                        Arc::new(a_resp.finish()),
                        Arc::new(a_hour.finish()),
                    ],
                    a_len,
                ),
                list_array(
                    excluded_fields(),
                    vec![
                        Arc::new(x_t.finish()),
                        Arc::new(x_r.finish()),
                        Arc::new(x_d.finish()),
                    ],
                    x_len,
                ),
            ];
            let b = RecordBatch::try_new(spill_schema(), cols)
                .map_err(|e| ScoreError::parquet(&spill_path, e))?;
            spill
                .write(&b)
                .map_err(|e| ScoreError::parquet(&spill_path, e))?;
        }
        done += n;
        progress(done, total_rows);
    }
    spill
        .close()
        .map_err(|e| ScoreError::parquet(&spill_path, e))?;
    timings.insert("score_and_rank".into(), t0.elapsed().as_secs_f64());

    // Pass 2: the portfolio-wide choice under capacity.
    let t0 = Instant::now();
    let cap_of = |t: usize| {
        settings
            .capacity
            .iter()
            .position(|c| c.channel == catalog.treatments[t].channel)
    };
    let (choice, prices, used) = if settings.capacity.is_empty() {
        (vec![0; options.len()], Vec::new(), Vec::new())
    } else {
        let candidates: Vec<Vec<Candidate>> = options
            .par_iter()
            .map(|opts| {
                opts.iter()
                    .map(|o| {
                        let c = cap_of(usize::from(o.treatment));
                        Candidate {
                            value: o.net,
                            channel: c,
                            usage: c.map_or(0.0, |c| settings.capacity[c].per_contact),
                        }
                    })
                    .collect()
            })
            .collect();
        let per_day: Vec<f64> = settings.capacity.iter().map(|c| c.per_day).collect();
        let a = capacity::assign(&candidates, &per_day);
        (a.choice, a.prices, a.used)
    };
    let mut wanted = vec![0.0; settings.capacity.len()];
    for (opts, &c) in options.iter().zip(&choice) {
        let (Some(top), Some(o)) = (opts.first(), opts.get(c)) else {
            continue;
        };
        let t = &catalog.treatments[usize::from(o.treatment)];
        counts.decisions += 1;
        *counts
            .decisions_by_treatment
            .entry(t.id.clone())
            .or_default() += 1;
        *counts
            .decisions_by_channel
            .entry(t.channel.as_str().to_owned())
            .or_default() += 1;
        counts.moved_by_capacity += usize::from(c != 0);
        counts.expected_value += o.net;
        counts.expected_value_unconstrained += top.net;
        counts.expected_collected += o.collected;
        counts.cost += t.unit_cost;
        counts.value_given_away += o.given_away;
        if let Some(k) = cap_of(usize::from(top.treatment)) {
            wanted[k] += settings.capacity[k].per_contact;
        }
    }
    timings.insert("assign".into(), t0.elapsed().as_secs_f64());

    let t0 = Instant::now();
    let mut file = recoup_core::AtomicFile::create(out)?;
    let schema_out = decisions_schema();
    let mut writer = ArrowWriter::try_new(file.writer(), schema_out.clone(), Some(writer_props()))
        .map_err(|e| ScoreError::parquet(out, e))?;
    let ids_of = |m: &ScoringModel, rows: usize| -> ArrayRef {
        Arc::new(StringArray::from(vec![m.id(); rows]))
    };
    let mut at = 0;
    for b in ParquetBatches::open(&spill_path, None, settings.batch_rows, "the spill file")? {
        let b = b?;
        let n = b.num_rows();
        let mut treatment = StringBuilder::new();
        let mut channel = StringBuilder::new();
        let mut hour = Int32Builder::new();
        let mut send = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        let mut f64s: Vec<Float64Builder> = (0..6).map(|_| Float64Builder::new()).collect();
        let mut top_b = StringBuilder::new();
        let mut moved = BooleanBuilder::new();
        let mut segment = StringBuilder::new();
        let ids = Texts::require(b.column(0).as_ref(), &spill_path, "account_id")?;
        for i in 0..n {
            let opts = &options[at + i];
            let c = choice[at + i];
            let (Some(o), Some(top)) = (opts.get(c), opts.first()) else {
                return Err(ScoreError::Ranking(format!(
                    "account in row {} of the decisions has no option",
                    at + i + 1
                )));
            };
            let t = &catalog.treatments[usize::from(o.treatment)];
            treatment.append_value(&t.id);
            channel.append_value(t.channel.as_str());
            hour.append_option((o.send_hour >= 0).then_some(i32::from(o.send_hour)));
            send.append_option((o.send_at_us != i64::MIN).then_some(o.send_at_us));
            for (bld, val) in f64s.iter_mut().zip([
                o.net,
                o.collected,
                t.unit_cost,
                o.given_away,
                o.p_pay,
                o.p_respond,
            ]) {
                bld.append_value(val);
            }
            top_b.append_value(&catalog.treatments[usize::from(top.treatment)].id);
            moved.append_value(c != 0);
            let seg = segments
                .as_ref()
                .and_then(|m| ids.get(i).and_then(|id| m.get(id)));
            segment.append_option(seg);
            if let Some(seg) = seg {
                *counts
                    .decisions_by_segment
                    .entry(seg.clone())
                    .or_default()
                    .entry(t.id.clone())
                    .or_default() += 1;
            }
        }
        at += n;
        let mut cols: Vec<ArrayRef> = vec![
            b.column(0).clone(),
            b.column(1).clone(),
            Arc::new(treatment.finish()),
            Arc::new(channel.finish()),
            Arc::new(hour.finish()),
            Arc::new(send.finish()),
        ];
        cols.extend(f64s.iter_mut().map(|x| Arc::new(x.finish()) as ArrayRef));
        cols.push(Arc::new(top_b.finish()));
        cols.push(Arc::new(moved.finish()));
        cols.extend(b.columns().iter().skip(2).cloned());
        cols.push(ids_of(models.propensity, n));
        cols.push(ids_of(models.pay, n));
        cols.push(ids_of(models.response, n));
        cols.push(Arc::new(segment.finish()));
        let batch = RecordBatch::try_new(schema_out.clone(), cols)
            .map_err(|e| ScoreError::parquet(out, e))?;
        writer
            .write(&batch)
            .map_err(|e| ScoreError::parquet(out, e))?;
    }
    writer.close().map_err(|e| ScoreError::parquet(out, e))?;
    file.commit()?;
    timings.insert("write".into(), t0.elapsed().as_secs_f64());
    timings.insert("total".into(), started.elapsed().as_secs_f64());

    let mut inputs = vec![file_entry("features", features)?];
    if let Some(path) = &settings.segments {
        inputs.push(file_entry("segments", path)?);
    }
    for f in &facts.files {
        inputs.push(file_entry("raw", f)?);
    }
    let model_entry = |role: &str, m: &ScoringModel| ModelEntry {
        role: role.into(),
        path: m.path.clone(),
        label: m.label.clone(),
        engine: m.engine().into(),
        hash: m.hash.clone(),
        target: m.target.clone(),
        features: m.n_features(),
    };
    Ok(RunManifest {
        recoup_version: env!("CARGO_PKG_VERSION").into(),
        asof,
        inputs,
        models: vec![
            model_entry("propensity", models.propensity),
            model_entry("pay", models.pay),
            model_entry("response", models.response),
        ],
        settings: ScoreSettings {
            asof: Some(asof),
            ..settings.clone()
        },
        rules: [
            "eligibility",
            crate::rules::rule::DO_NOT_CONTACT,
            crate::rules::rule::CONSENT,
            crate::rules::rule::CONTACT_HOURS,
            crate::rules::rule::REG_F_CALL_FREQUENCY,
            crate::rules::rule::REG_F_AFTER_CONVERSATION,
        ]
        .into_iter()
        .chain(
            settings
                .segment_policy
                .as_ref()
                .map(|_| crate::segment_policy::RULE),
        )
        .map(str::to_owned)
        .collect(),
        catalog: catalog.treatments.iter().map(|t| t.id.clone()).collect(),
        counts,
        capacity: settings
            .capacity
            .iter()
            .enumerate()
            .map(|(k, c)| CapacityUse {
                channel: c.channel,
                per_day: c.per_day,
                per_contact: c.per_contact,
                wanted: wanted[k],
                used: used.get(k).copied().unwrap_or(wanted[k]),
                price: prices.get(k).copied().unwrap_or(0.0),
            })
            .collect(),
        output: out.to_path_buf(),
        timings_s: timings,
    })
}

fn zero_if_missing(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// Writes the manifest as pretty JSON, atomically.
pub fn write_manifest(manifest: &RunManifest, path: &Path) -> Result<(), ScoreError> {
    let json = serde_json::to_string_pretty(manifest).map_err(|e| ScoreError::Parquet {
        file: path.to_path_buf(),
        message: e.to_string(),
    })?;
    recoup_core::write_atomic(path, format!("{json}\n").as_bytes())?;
    Ok(())
}

/// `<decisions>.manifest.json`.
pub fn manifest_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".parquet").unwrap_or(&name);
    out.with_file_name(format!("{stem}.manifest.json"))
}
