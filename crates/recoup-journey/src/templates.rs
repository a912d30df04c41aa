//! The champion: declarative journey templates, one per delinquency stage, as a collections
//! team writes them (TOML):
//!
//! ```toml
//! [[journey]]
//! stage = "early"             # early | mid | late | recovery | hardship
//! # segment = "willing_but_unable"   # optional: only this ability/willingness quadrant
//! restart_after_days = 10     # after the last step, days before the journey starts over
//!
//! [[journey.step]]
//! wait_days = 0               # days after the previous step (the first: after the start)
//! treatments = ["sms_reminder", "email_reminder"]   # the first the rules allow is sent
//!
//! [[journey.step]]
//! wait_days = 4
//! when = "silent"             # always (default) | silent | responded | paid | unpaid |
//!                             # broken_promise: since the journey began
//! treatments = ["call_reminder"]
//! hour = 18                   # local send hour; default 10 (digital), 9 (letter), 11 (call)
//! ```
//!
//! Branches: a promise or an arrangement pauses the journey (the rules hold all contact), a
//! payment that brings the account current ends it, and a change of stage starts the new
//! stage's journey from its first step. A step whose treatments are all refused by the rules is
//! retried the next day, for up to `retry_days`, then skipped.

use std::path::{Path, PathBuf};

use recoup_core::{AccountStatus, TreatmentCatalog};
use serde::Deserialize;

use crate::env::AccountView;
use crate::error::JourneyError;
use crate::policy::{Allowed, Policy, Proposal, default_hour};
use crate::portfolio::{Quadrant, Stage};

const DEFAULT_TEMPLATES: &str = include_str!("default_journeys.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    #[default]
    Always,
    /// Only if the customer has not responded since the journey began (escalation).
    Silent,
    /// Only if the customer has responded since the journey began.
    Responded,
    /// Only if a payment (not returned unpaid) came in since the journey began.
    Paid,
    /// Only if no payment came in since the journey began.
    Unpaid,
    /// Only if a promise to pay made since the journey began was broken.
    BrokenPromise,
}

impl When {
    /// Whether a step with this condition applies to the account, `since` being the day its
    /// journey (or the journey's restart) began and `first_contact` its log's length then.
    fn holds(self, view: &AccountView<'_>, since: i32, first_contact: usize) -> bool {
        let log = view.log;
        let paid = || log.payments.iter().any(|p| p.day >= since && !p.reversed);
        match self {
            When::Always => true,
            When::Silent | When::Responded => {
                let responded = log.contacts[first_contact.min(log.contacts.len())..]
                    .iter()
                    .any(|c| c.outcome.is_response());
                responded == (self == When::Responded)
            }
            When::Paid => paid(),
            When::Unpaid => !paid(),
            When::BrokenPromise => log
                .promises
                .iter()
                .any(|p| p.made >= since && p.kept == Some(false)),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    wait_days: i32,
    #[serde(default)]
    when: When,
    treatments: Vec<String>,
    #[serde(default)]
    hour: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJourney {
    stage: Stage,
    /// Only for accounts of this ability/willingness quadrant; without it, for the stage's
    /// other accounts.
    #[serde(default)]
    segment: Option<Quadrant>,
    restart_after_days: i32,
    #[serde(default = "default_retry")]
    retry_days: i32,
    step: Vec<RawStep>,
}

fn default_retry() -> i32 {
    2
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplates {
    journey: Vec<RawJourney>,
}

/// One step of a journey, with its treatments resolved to catalog indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub wait_days: i32,
    pub when: When,
    /// (catalog index, local hour), in order of preference.
    pub options: Vec<(u16, u8)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    pub stage: Stage,
    pub segment: Option<Quadrant>,
    pub restart_after_days: i32,
    pub retry_days: i32,
    pub steps: Vec<Step>,
}

/// The champion strategy: a journey per stage.
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyTemplates {
    journeys: Vec<Journey>,
    pub source: PathBuf,
}

impl JourneyTemplates {
    /// The templates recoup ships with (`recoup journey templates` prints them).
    pub fn default_toml() -> &'static str {
        DEFAULT_TEMPLATES
    }

    pub fn default_templates(catalog: &TreatmentCatalog) -> Result<Self, JourneyError> {
        Self::parse(DEFAULT_TEMPLATES, Path::new("<built-in journeys>"), catalog)
    }

    pub fn load(path: &Path, catalog: &TreatmentCatalog) -> Result<Self, JourneyError> {
        let text = std::fs::read_to_string(path).map_err(|source| JourneyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, catalog)
    }

    pub fn parse(
        text: &str,
        file: &Path,
        catalog: &TreatmentCatalog,
    ) -> Result<Self, JourneyError> {
        let bad = |message: String| JourneyError::Template {
            file: file.to_path_buf(),
            message,
        };
        let raw: RawTemplates = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut journeys: Vec<Journey> = Vec::new();
        for j in raw.journey {
            let name = match j.segment {
                Some(q) => format!("{} / {}", j.stage.as_str(), q.as_str()),
                None => j.stage.as_str().to_owned(),
            };
            let name = name.as_str();
            if journeys
                .iter()
                .any(|x| x.stage == j.stage && x.segment == j.segment)
            {
                return Err(bad(format!("`{name}` has two journeys")));
            }
            if j.step.is_empty() {
                return Err(bad(format!("journey `{name}` has no step")));
            }
            if !(1..=365).contains(&j.restart_after_days) {
                return Err(bad(format!(
                    "journey `{name}`: restart_after_days = {} (expected 1 to 365)",
                    j.restart_after_days
                )));
            }
            if !(0..=30).contains(&j.retry_days) {
                return Err(bad(format!(
                    "journey `{name}`: retry_days = {} (expected 0 to 30)",
                    j.retry_days
                )));
            }
            let mut steps = Vec::with_capacity(j.step.len());
            for (k, s) in j.step.iter().enumerate() {
                if !(0..=365).contains(&s.wait_days) {
                    return Err(bad(format!(
                        "journey `{name}`, step {}: wait_days = {} (expected 0 to 365)",
                        k + 1,
                        s.wait_days
                    )));
                }
                if s.treatments.is_empty() {
                    return Err(bad(format!(
                        "journey `{name}`, step {}: no treatments",
                        k + 1
                    )));
                }
                if let Some(h) = s.hour
                    && !(8..=20).contains(&h)
                {
                    return Err(bad(format!(
                        "journey `{name}`, step {}: hour = {h} (expected 8 to 20, Regulation F)",
                        k + 1
                    )));
                }
                let mut options = Vec::with_capacity(s.treatments.len());
                for id in &s.treatments {
                    let Some(i) = catalog.treatments.iter().position(|t| &t.id == id) else {
                        return Err(JourneyError::UnknownTreatment {
                            file: file.to_path_buf(),
                            journey: name.into(),
                            step: k + 1,
                            treatment: id.clone(),
                        });
                    };
                    let hour = s
                        .hour
                        .unwrap_or_else(|| default_hour(catalog.treatments[i].channel));
                    options.push((i as u16, hour));
                }
                steps.push(Step {
                    wait_days: s.wait_days,
                    when: s.when,
                    options,
                });
            }
            journeys.push(Journey {
                stage: j.stage,
                segment: j.segment,
                restart_after_days: j.restart_after_days,
                retry_days: j.retry_days,
                steps,
            });
        }
        Ok(Self {
            journeys,
            source: file.to_path_buf(),
        })
    }

    /// The journey of a stage for an account of `segment`: the segment's own, else the
    /// stage's general one.
    pub fn journey(&self, stage: Stage, segment: Quadrant) -> Option<&Journey> {
        self.journeys
            .iter()
            .find(|j| j.stage == stage && j.segment == Some(segment))
            .or_else(|| {
                self.journeys
                    .iter()
                    .find(|j| j.stage == stage && j.segment.is_none())
            })
    }
}

/// Where an account is in its journey.
#[derive(Debug, Clone, Default)]
pub struct JourneyState {
    stage: Option<Stage>,
    step: usize,
    next_day: i32,
    /// Contacts in the log when the journey (or its restart) began.
    first_contact: usize,
    /// The day the journey (or its restart) began.
    since: i32,
    blocked_days: i32,
}

/// The champion policy: the stage's journey template, step by step.
#[derive(Debug, Clone)]
pub struct Champion {
    pub templates: JourneyTemplates,
    /// Personal journeys: the same templates and treatments, each sent at the hour this
    /// customer answers (their last response on the channel, else the channel's best hour).
    pub personal: Option<Personal>,
}

/// What personal journeys learnt from the history (channel response rates and best hours).
/// Choosing the channel by response rate instead of the team's order was tried and collected
/// less (calls answered rarely still bring promises): only the hour is personal.
#[derive(Debug, Clone)]
pub struct Personal {
    pub values: crate::adaptive::LearntValues,
    pub prior_strength: f64,
}

impl Policy for Champion {
    type State = JourneyState;

    fn name(&self) -> &str {
        if self.personal.is_some() {
            "personal"
        } else {
            "champion"
        }
    }

    fn decide(
        &self,
        view: &AccountView<'_>,
        state: &mut JourneyState,
        allowed: &Allowed<'_>,
    ) -> Option<Proposal> {
        if !view.in_collections() {
            *state = JourneyState::default();
            return None;
        }
        let stage = Stage::of(
            view.dpd,
            view.status == AccountStatus::ChargedOff,
            view.hardship,
        );
        if state.stage != Some(stage) {
            *state = JourneyState {
                stage: Some(stage),
                step: 0,
                next_day: view.day,
                first_contact: view.log.contacts.len(),
                since: view.day,
                blocked_days: 0,
            };
            if let Some(j) = self.templates.journey(stage, view.segment) {
                state.next_day += j.steps[0].wait_days;
            }
        }
        let journey = self.templates.journey(stage, view.segment)?;
        if view.promise_due.is_some() || view.in_arrangement {
            return None;
        }
        while view.day >= state.next_day {
            if state.step >= journey.steps.len() {
                state.step = 0;
                state.first_contact = view.log.contacts.len();
                state.since = view.day;
                state.next_day = view.day + journey.steps[0].wait_days;
                continue;
            }
            let step = &journey.steps[state.step];
            let applies = step.when.holds(view, state.since, state.first_contact);
            let chosen = if !applies {
                None
            } else if let Some(personal) = &self.personal {
                step.options
                    .iter()
                    .map(|&(treatment, _)| {
                        let channel = allowed.catalog.treatments[treatment as usize].channel;
                        let (_, hour) =
                            personal
                                .values
                                .customer(view, channel, personal.prior_strength);
                        Proposal { treatment, hour }
                    })
                    .find(|&p| allowed.check(p).is_ok())
            } else {
                step.options
                    .iter()
                    .map(|&(treatment, hour)| Proposal { treatment, hour })
                    .find(|&p| allowed.check(p).is_ok())
            };
            if applies && chosen.is_none() && state.blocked_days < journey.retry_days {
                state.blocked_days += 1;
                return None;
            }
            state.blocked_days = 0;
            state.step += 1;
            state.next_day = view.day
                + journey
                    .steps
                    .get(state.step)
                    .map_or(journey.restart_after_days, |s| s.wait_days);
            if chosen.is_some() {
                return chosen;
            }
        }
        None
    }
}
