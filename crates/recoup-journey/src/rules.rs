//! Journey rules: the contact rules of a single night plus those that span days. Every policy's
//! proposal passes [`JourneyRules::check`] before the environment carries it out, and
//! [`JourneyRules::audit`] re-derives every rule from a finished journey's log alone, so a
//! violation is counted even if `check` had a bug.

use recoup_core::{Channel, ContactOutcome, TreatmentCatalog};
use serde::{Deserialize, Serialize};

use crate::env::{AccountLog, AccountView};
use crate::portfolio::StartState;

/// A rule a contact can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The treatment's DPD range and products (catalog), and an account still in collections.
    Eligibility,
    /// Consent for the channel, withdrawn by an opt-out.
    Consent,
    DoNotContact,
    /// Local send hours.
    ContactHours,
    /// Regulation F 1006.14(b)(2)(i): at most seven calls in seven days.
    CallFrequency,
    /// Regulation F 1006.14(b)(2)(ii): no call within seven days after a conversation.
    CallAfterConversation,
    /// At most `max_contacts_per_week` contacts in any seven days, all channels.
    WeeklyContactCap,
    /// At most `max_repeats_per_fortnight` contacts with the same treatment in 14 days.
    RepeatLimit,
    /// No contact from a promise until `quiet_days_after_promise` after its due day.
    PromiseQuietPeriod,
    /// No contact while a payment arrangement is running.
    ArrangementHold,
}

impl Rule {
    pub const ALL: [Rule; 10] = [
        Rule::Eligibility,
        Rule::Consent,
        Rule::DoNotContact,
        Rule::ContactHours,
        Rule::CallFrequency,
        Rule::CallAfterConversation,
        Rule::WeeklyContactCap,
        Rule::RepeatLimit,
        Rule::PromiseQuietPeriod,
        Rule::ArrangementHold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Eligibility => "eligibility",
            Rule::Consent => "consent",
            Rule::DoNotContact => "do_not_contact",
            Rule::ContactHours => "contact_hours",
            Rule::CallFrequency => "call_frequency",
            Rule::CallAfterConversation => "call_after_conversation",
            Rule::WeeklyContactCap => "weekly_contact_cap",
            Rule::RepeatLimit => "repeat_limit",
            Rule::PromiseQuietPeriod => "promise_quiet_period",
            Rule::ArrangementHold => "arrangement_hold",
        }
    }
}

/// The settings of the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JourneyRules {
    /// Contacts of any channel in any seven consecutive days.
    pub max_contacts_per_week: u32,
    /// Contacts with the same treatment in any 14 consecutive days.
    pub max_repeats_per_fortnight: u32,
    /// Days after a promise's due day before contact may resume (a broken promise).
    pub quiet_days_after_promise: i32,
    /// Earliest and latest local hour a contact may start (Regulation F: 08:00-21:00).
    pub earliest_hour: u8,
    pub latest_hour: u8,
}

impl Default for JourneyRules {
    fn default() -> Self {
        Self {
            max_contacts_per_week: 3,
            max_repeats_per_fortnight: 2,
            quiet_days_after_promise: 2,
            earliest_hour: 8,
            latest_hour: 20,
        }
    }
}

/// A contact of a finished journey that broke a rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Violation {
    pub account: u32,
    pub day: i32,
    pub treatment: u16,
    pub rule: Rule,
}

impl JourneyRules {
    pub fn check_settings(&self) -> Result<(), recoup_core::InvalidSetting> {
        use recoup_core::InvalidSetting as E;
        if !(1..=49).contains(&self.max_contacts_per_week) {
            return Err(E::new(
                "max_contacts_per_week",
                self.max_contacts_per_week,
                "1 to 49",
            ));
        }
        if !(1..=98).contains(&self.max_repeats_per_fortnight) {
            return Err(E::new(
                "max_repeats_per_fortnight",
                self.max_repeats_per_fortnight,
                "1 to 98",
            ));
        }
        if !(0..=60).contains(&self.quiet_days_after_promise) {
            return Err(E::new(
                "quiet_days_after_promise",
                self.quiet_days_after_promise,
                "0 to 60 days",
            ));
        }
        if self.earliest_hour < 8 || self.latest_hour > 20 || self.earliest_hour > self.latest_hour
        {
            return Err(E::new(
                "earliest_hour..latest_hour",
                format!("{}..{}", self.earliest_hour, self.latest_hour),
                "hours within 8..20 (Regulation F: no contact before 08:00 or after 21:00)",
            ));
        }
        Ok(())
    }

    /// Whether catalog treatment `treatment` may be applied today at local `hour`; the first
    /// rule it breaks otherwise.
    pub fn check(
        &self,
        view: &AccountView<'_>,
        catalog: &TreatmentCatalog,
        treatment: u16,
        hour: u8,
    ) -> Result<(), Rule> {
        let t = &catalog.treatments[treatment as usize];
        if t.channel == Channel::None {
            return Ok(());
        }
        if !view.in_collections() || !t.eligibility.allows(view.dpd, view.product) {
            return Err(Rule::Eligibility);
        }
        if view.dnc {
            return Err(Rule::DoNotContact);
        }
        if !view.consent[t.channel.index()] {
            return Err(Rule::Consent);
        }
        if hour < self.earliest_hour || hour > self.latest_hour {
            return Err(Rule::ContactHours);
        }
        if t.channel == Channel::Call {
            if view.calls_last_7_days >= 7 {
                return Err(Rule::CallFrequency);
            }
            if view.day < view.last_conversation_day + 7 {
                return Err(Rule::CallAfterConversation);
            }
        }
        if view.promise_due.is_some() {
            return Err(Rule::PromiseQuietPeriod);
        }
        if view.log.promises.last().is_some_and(|p| {
            p.kept == Some(false) && view.day <= p.due + self.quiet_days_after_promise
        }) {
            return Err(Rule::PromiseQuietPeriod);
        }
        if view.in_arrangement {
            return Err(Rule::ArrangementHold);
        }
        let week = view
            .log
            .contacts
            .iter()
            .filter(|c| c.day > view.day - 7)
            .count() as u32;
        if week >= self.max_contacts_per_week {
            return Err(Rule::WeeklyContactCap);
        }
        let repeats = view
            .log
            .contacts
            .iter()
            .filter(|c| c.treatment == treatment && c.day > view.day - 14)
            .count() as u32;
        if repeats >= self.max_repeats_per_fortnight {
            return Err(Rule::RepeatLimit);
        }
        Ok(())
    }

    /// Every contact rule broken by a finished journey, derived from its start and its log
    /// only. Eligibility (the catalog's DPD ranges) is a business rule checked before each
    /// contact, not re-derived here.
    pub fn audit(&self, start: &StartState, log: &AccountLog) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut consent = start.consent;
        let mut last_conversation = start.last_conversation_day;
        let mut calls: Vec<i32> = start.call_days.clone();
        for (k, c) in log.contacts.iter().enumerate() {
            let mut flag = |rule| {
                out.push(Violation {
                    account: start.index,
                    day: c.day,
                    treatment: c.treatment,
                    rule,
                })
            };
            if start.dnc {
                flag(Rule::DoNotContact);
            }
            if !consent[c.channel.index()] {
                flag(Rule::Consent);
            }
            if c.hour < self.earliest_hour || c.hour > self.latest_hour {
                flag(Rule::ContactHours);
            }
            if c.channel == Channel::Call {
                if calls.iter().filter(|&&d| d > c.day - 7).count() >= 7 {
                    flag(Rule::CallFrequency);
                }
                if c.day < last_conversation + 7 {
                    flag(Rule::CallAfterConversation);
                }
                calls.push(c.day);
            }
            let promise_quiet = log.promises.iter().any(|p| {
                let until = match p.kept {
                    Some(false) => p.due + self.quiet_days_after_promise,
                    _ => log
                        .payments
                        .iter()
                        .find(|pay| pay.day >= p.made && pay.day <= p.due)
                        .map_or(p.due, |pay| pay.day),
                };
                c.day > p.made && c.day <= until
            });
            if promise_quiet {
                flag(Rule::PromiseQuietPeriod);
            }
            if log
                .arrangements
                .iter()
                .any(|a| c.day > a.start && a.end.is_none_or(|e| c.day <= e))
            {
                flag(Rule::ArrangementHold);
            }
            let week = log.contacts[..k]
                .iter()
                .filter(|p| p.day > c.day - 7)
                .count() as u32;
            if week >= self.max_contacts_per_week {
                flag(Rule::WeeklyContactCap);
            }
            let repeats = log.contacts[..k]
                .iter()
                .filter(|p| p.treatment == c.treatment && p.day > c.day - 14)
                .count() as u32;
            if repeats >= self.max_repeats_per_fortnight {
                flag(Rule::RepeatLimit);
            }
            match c.outcome {
                ContactOutcome::OptOut => consent[c.channel.index()] = false,
                ContactOutcome::RightPartyContact | ContactOutcome::PromiseToPay => {
                    last_conversation = c.day;
                }
                _ => {}
            }
        }
        out
    }
}
