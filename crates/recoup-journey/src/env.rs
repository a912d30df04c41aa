//! The simulator as a daily environment.
//!
//! Each account in collections at the export starts from the state the monthly simulator left
//! it in, with its latent traits, and moves one day at a time: a policy's contact (if any) is
//! answered by the simulator's behavioural model (`recoup_sim::model`), payments arrive, due
//! dates pass and accounts roll. Every random draw is a pure function of (seed, account, day,
//! draw), so two policies run on the same seed share their luck wherever they act alike
//! (common random numbers), and accounts can be run in any order or thread.
//!
//! Daily dynamics from the monthly model: the monthly payment logit (`base_pay_logit` plus the
//! effect of the best engagement or awareness of the last `effect_days`) becomes a daily hazard
//! `1 - (1 - p)^(1/30)`, and at most one payment is made per billing cycle outside promises
//! and arrangements. A call that reaches the customer may end in a promise to pay (kept with
//! `promise_kept_prob`); an engaged plan offer that is paid becomes an arrangement (monthly
//! instalments, each kept with the same probability); a hardship referral that is paid becomes a
//! three-month arrangement of half instalments; a settlement closes the account. Contacts in the
//! previous seven days lower engagement and raise opt-outs (fatigue, `EnvSettings`).

use recoup_core::{AccountStatus, Channel, ContactOutcome, Offer, Product, TreatmentCatalog};
use recoup_sim::config::SimConfig;
use recoup_sim::engine::charge_off_at;
use recoup_sim::model::{self, PaymentKind, Situation, logit, sigmoid};
use serde::Serialize;

use crate::portfolio::{Observed, StartState};

/// How the environment turns the monthly model into days.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvSettings {
    /// Days an engagement (or a reach without engagement) moves the payment decision: the
    /// monthly model's window.
    pub effect_days: i32,
    /// Engagement logit lost per contact in the previous seven days.
    pub fatigue_logit: f64,
    /// Opt-out probability multiplied by `1 + fatigue_opt_out * n` after `n` contacts in the
    /// previous seven days.
    pub fatigue_opt_out: f64,
    /// Monthly instalments of a hardship arrangement (half an instalment each).
    pub hardship_months: u32,
}

impl Default for EnvSettings {
    fn default() -> Self {
        Self {
            effect_days: 30,
            fatigue_logit: 0.3,
            fatigue_opt_out: 0.5,
            hardship_months: 3,
        }
    }
}

impl EnvSettings {
    pub fn check(&self) -> Result<(), recoup_core::InvalidSetting> {
        use recoup_core::InvalidSetting as E;
        if !(1..=120).contains(&self.effect_days) {
            return Err(E::new("effect_days", self.effect_days, "1 to 120 days"));
        }
        if !(0.0..=5.0).contains(&self.fatigue_logit) {
            return Err(E::new("fatigue_logit", self.fatigue_logit, "0 to 5"));
        }
        if !(0.0..=10.0).contains(&self.fatigue_opt_out) {
            return Err(E::new("fatigue_opt_out", self.fatigue_opt_out, "0 to 10"));
        }
        if !(1..=24).contains(&self.hardship_months) {
            return Err(E::new("hardship_months", self.hardship_months, "1 to 24"));
        }
        Ok(())
    }
}

/// The independent draws of one account-day.
#[derive(Debug, Clone, Copy)]
enum Draw {
    Shock = 1,
    ShockLength,
    Pay,
    PayKind,
    Reversal,
    Reach,
    OptOut,
    Engage,
    Open,
    Promise,
    PromiseKept,
    PromiseDue,
    PromiseDay,
    Instalment,
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform draw in [0, 1) that depends only on its four keys (SplitMix64 finaliser).
fn uniform(seed: u64, account: u32, day: i32, draw: Draw) -> f64 {
    let mut z = mix(seed.wrapping_add(0x9E37_79B9_7F4A_7C15));
    z = mix(z ^ u64::from(account).wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = mix(z ^ (i64::from(day) as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    z = mix(z ^ (draw as u64).wrapping_mul(0x9FB2_1C65_1E98_DF25));
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Why a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentReason {
    /// The customer's own decision (possibly moved by a contact).
    Unprompted,
    /// A kept promise to pay.
    Promise,
    /// The first or a later instalment of a payment plan.
    Plan,
    /// A hardship arrangement's instalment.
    Hardship,
    /// A settlement: the account is closed.
    Settlement,
}

impl PaymentReason {
    /// The reason of a payment of this kind made on the customer's own decision.
    fn of(kind: PaymentKind) -> Self {
        match kind {
            PaymentKind::Plan { .. } => PaymentReason::Plan,
            PaymentKind::Settlement { .. } => PaymentReason::Settlement,
            PaymentKind::Hardship => PaymentReason::Hardship,
            PaymentKind::Full | PaymentKind::Partial => PaymentReason::Unprompted,
        }
    }
}

/// One contact the environment carried out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ContactEvent {
    pub day: i32,
    /// Index in the treatment catalog.
    pub treatment: u16,
    pub channel: Channel,
    /// Local hour at which it was sent or dialled.
    pub hour: u8,
    pub outcome: ContactOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PaymentEvent {
    pub day: i32,
    pub amount: f64,
    pub reason: PaymentReason,
    /// Returned unpaid (NSF): nothing was collected.
    pub reversed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PromiseEvent {
    pub made: i32,
    pub due: i32,
    pub amount: f64,
    /// Known once the promise is settled: on payment, or at the end of its due day.
    pub kept: Option<bool>,
}

/// A payment arrangement (plan or hardship) from its first payment to its end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ArrangementEvent {
    pub start: i32,
    /// The day it was completed or broken; `None` while it runs.
    pub end: Option<i32>,
    pub hardship: bool,
}

/// Everything observable that happened to an account during its journey.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccountLog {
    pub contacts: Vec<ContactEvent>,
    pub payments: Vec<PaymentEvent>,
    pub promises: Vec<PromiseEvent>,
    pub arrangements: Vec<ArrangementEvent>,
}

impl AccountLog {
    /// Money collected (payments that were not reversed).
    pub fn collected(&self) -> f64 {
        self.payments
            .iter()
            .filter(|p| !p.reversed)
            .map(|p| p.amount)
            .sum()
    }
}

#[derive(Debug, Clone, Copy)]
struct Engagement {
    effect: f64,
    payment: Option<PaymentKind>,
    until: i32,
}

#[derive(Debug, Clone, Copy)]
struct OpenPromise {
    due: i32,
    amount: f64,
    payment: Option<PaymentKind>,
    /// The day a kept promise is paid; `None` for one that will be broken.
    pay_day: Option<i32>,
}

#[derive(Debug, Clone, Copy)]
struct Arrangement {
    amount: f64,
    next_due: i32,
    left: u32,
    hardship: bool,
}

/// What a policy and the rules may see of an account on a day: its contract data, its state
/// and its history, never its latent traits.
#[derive(Debug, Clone, Copy)]
pub struct AccountView<'a> {
    pub index: u32,
    pub day: i32,
    pub product: Product,
    pub status: AccountStatus,
    pub dpd: i32,
    pub balance: f64,
    pub amount_due: f64,
    /// Consent per channel (`Channel::CONTACTABLE` order) after any opt-outs.
    pub consent: [bool; 5],
    pub dnc: bool,
    pub hardship: bool,
    /// Calls dialled in the last seven days, before the journey included.
    pub calls_last_7_days: u32,
    /// The day of the last conversation with the customer (before the journey: negative).
    pub last_conversation_day: i32,
    /// An open promise's due day.
    pub promise_due: Option<i32>,
    pub in_arrangement: bool,
    pub log: &'a AccountLog,
    pub observed: &'a Observed,
    /// Ability/willingness quadrant at the start (from the record before the export).
    pub segment: crate::portfolio::Quadrant,
}

impl AccountView<'_> {
    /// Still owes an overdue amount (open and past due, or charged off with a balance).
    pub fn in_collections(&self) -> bool {
        match self.status {
            AccountStatus::ChargedOff => self.balance >= 0.01,
            AccountStatus::Open => self.dpd > 0,
            _ => false,
        }
    }
}

/// One account moving through its journey.
#[derive(Debug, Clone)]
pub struct AccountEnv<'a> {
    start: &'a StartState,
    cfg: &'a SimConfig,
    settings: &'a EnvSettings,
    catalog: &'a TreatmentCatalog,
    seed: u64,
    /// Journey days on which instalments fall due.
    due_days: &'a [i32],
    status: AccountStatus,
    balance: f64,
    instalment: f64,
    arrears: f64,
    /// Journey days of the missed due dates, oldest first (one per missed instalment).
    unpaid_dues: Vec<i32>,
    /// Paid towards the instalment of the current billing cycle.
    bill_paid: f64,
    shock_days: i32,
    consent: [bool; 5],
    hardship: bool,
    last_conversation_day: i32,
    call_days: Vec<i32>,
    engaged: Option<Engagement>,
    aware_until: i32,
    /// An unprompted payment was made in this billing cycle.
    paid_this_cycle: bool,
    promise: Option<OpenPromise>,
    arrangement: Option<Arrangement>,
    log: AccountLog,
}

impl<'a> AccountEnv<'a> {
    pub fn new(
        start: &'a StartState,
        cfg: &'a SimConfig,
        settings: &'a EnvSettings,
        catalog: &'a TreatmentCatalog,
        due_days: &'a [i32],
        seed: u64,
    ) -> Self {
        Self {
            start,
            cfg,
            settings,
            catalog,
            seed,
            due_days,
            status: start.status,
            balance: start.balance,
            instalment: start.instalment,
            arrears: start.arrears,
            unpaid_dues: start.unpaid_dues.clone(),
            bill_paid: 0.0,
            shock_days: start.shock_days,
            consent: start.consent,
            hardship: start.hardship,
            last_conversation_day: start.last_conversation_day,
            call_days: start.call_days.clone(),
            engaged: None,
            aware_until: i32::MIN / 2,
            paid_this_cycle: false,
            promise: None,
            arrangement: None,
            log: AccountLog::default(),
        }
    }

    fn u(&self, day: i32, draw: Draw) -> f64 {
        uniform(self.seed, self.start.index, day, draw)
    }

    pub fn status(&self) -> AccountStatus {
        self.status
    }

    pub fn log(&self) -> &AccountLog {
        &self.log
    }

    pub fn into_log(self) -> AccountLog {
        self.log
    }

    pub fn balance(&self) -> f64 {
        self.balance
    }

    /// Missed instalments not yet paid.
    pub fn missed(&self) -> usize {
        self.unpaid_dues.len()
    }

    pub fn dpd(&self, day: i32) -> i32 {
        self.unpaid_dues.first().map_or(0, |&d| (day - d).max(1))
    }

    fn charged_off(&self) -> bool {
        self.status == AccountStatus::ChargedOff
    }

    pub fn amount_due(&self) -> f64 {
        match self.status {
            AccountStatus::ChargedOff => self.balance,
            AccountStatus::Open => {
                ((self.arrears + self.instalment - self.bill_paid).max(0.0)).min(self.balance)
            }
            _ => 0.0,
        }
    }

    fn situation(&self) -> Situation {
        Situation {
            missed: self.unpaid_dues.len() as u32,
            charged_off: self.charged_off(),
            in_shock: self.shock_days > 0,
            balance: self.balance,
            instalment: self.instalment,
            amount_due: self.amount_due(),
        }
    }

    pub fn view(&self, day: i32) -> AccountView<'_> {
        AccountView {
            index: self.start.index,
            day,
            product: self.start.product,
            status: self.status,
            dpd: self.dpd(day),
            balance: self.balance,
            amount_due: self.amount_due(),
            consent: self.consent,
            dnc: self.start.dnc,
            hardship: self.hardship,
            calls_last_7_days: self.call_days.iter().filter(|&&d| d > day - 7).count() as u32,
            last_conversation_day: self.last_conversation_day,
            promise_due: self.promise.map(|p| p.due),
            in_arrangement: self.arrangement.is_some(),
            log: &self.log,
            observed: &self.start.observed,
            segment: self.start.segment,
        }
    }

    /// Starts the day: income shocks come and go.
    pub fn begin_day(&mut self, day: i32) {
        if self.shock_days > 0 {
            self.shock_days -= 1;
        } else if self.u(day, Draw::Shock) < self.cfg.behaviour.shock_hazard / 30.0 {
            // Geometric length with the monthly model's mean, in days.
            let mean = self.cfg.behaviour.shock_mean_months * 30.0;
            let u = self.u(day, Draw::ShockLength).max(1e-12);
            self.shock_days = (-(u.ln()) * mean).ceil().clamp(1.0, 720.0) as i32;
        }
    }

    /// Carries out one contact with catalog treatment `treatment` at local `hour`.
    pub fn contact(&mut self, day: i32, treatment: u16, hour: u8) -> ContactOutcome {
        use ContactOutcome as O;
        let t = &self.catalog.treatments[treatment as usize];
        let channel = t.channel;
        if channel == Channel::None {
            return O::NotContacted;
        }
        let recent = self
            .log
            .contacts
            .iter()
            .filter(|c| c.day > day - 7 && c.day < day)
            .count() as f64;
        if channel == Channel::Call {
            self.call_days.retain(|&d| d > day - 7);
            self.call_days.push(day);
        }
        let traits = &self.start.traits;
        let mut p = model::contact_probs(self.cfg, traits, channel, hour);
        p.opt_out = (p.opt_out * (1.0 + self.settings.fatigue_opt_out * recent)).min(0.9);
        if recent > 0.0 && p.engage > 0.0 {
            let shift = self.settings.fatigue_logit * recent;
            let engage = p.engage.clamp(1e-9, 1.0 - 1e-9);
            p.open = sigmoid(logit(p.open.clamp(1e-9, 1.0 - 1e-9)) - shift);
            p.engage = sigmoid(logit(engage) - shift);
        }
        let s = self.situation();
        let outcome = if self.u(day, Draw::Reach) >= p.reach {
            match channel {
                Channel::Sms | Channel::Push => O::Failed,
                Channel::Email => O::Bounced,
                Channel::Call => O::NoAnswer,
                _ => O::ReturnedMail,
            }
        } else if self.u(day, Draw::OptOut) < p.opt_out {
            self.consent[channel.index()] = false;
            O::OptOut
        } else if self.u(day, Draw::Engage) < p.engage {
            let effect = model::engaged_effect(self.cfg, traits, &s, &t.offer);
            if self
                .engaged
                .is_none_or(|e| e.until < day || effect > e.effect)
            {
                self.engaged = Some(Engagement {
                    effect,
                    payment: model::offer_payment(&t.offer),
                    until: day + self.settings.effect_days,
                });
            }
            if matches!(t.offer, Offer::HardshipReferral) {
                self.hardship = true;
            }
            match channel {
                Channel::Call => {
                    self.last_conversation_day = day;
                    if self.u(day, Draw::Promise) < model::promise_prob(self.cfg, traits) {
                        self.make_promise(day, &s, &t.offer);
                        O::PromiseToPay
                    } else {
                        O::RightPartyContact
                    }
                }
                Channel::Push => O::Opened,
                Channel::Letter => O::Sent,
                _ => O::Clicked,
            }
        } else {
            self.aware_until = day + self.settings.effect_days;
            match channel {
                Channel::Email if self.u(day, Draw::Open) < p.open => O::Opened,
                Channel::Call => O::WrongParty,
                Channel::Letter => O::Sent,
                _ => O::Delivered,
            }
        };
        self.log.contacts.push(ContactEvent {
            day,
            treatment,
            channel,
            hour,
            outcome,
        });
        outcome
    }

    fn make_promise(&mut self, day: i32, s: &Situation, offer: &Offer) {
        let due = day + 3 + (self.u(day, Draw::PromiseDue) * 8.0).floor() as i32;
        let kept = self.u(day, Draw::PromiseKept) < model::promise_kept_prob(&self.start.traits, s);
        let pay_day =
            kept.then(|| day + (self.u(day, Draw::PromiseDay) * f64::from(due - day + 1)) as i32);
        let amount = model::promised_amount(s, offer);
        self.promise = Some(OpenPromise {
            due,
            amount,
            payment: model::offer_payment(offer),
            pay_day,
        });
        self.log.promises.push(PromiseEvent {
            made: day,
            due,
            amount,
            kept: None,
        });
    }

    /// The day's payments, then due dates, charge-off and the end of promises.
    pub fn end_day(&mut self, day: i32) {
        if matches!(self.status, AccountStatus::Open | AccountStatus::ChargedOff) {
            self.payments(day);
        }
        if let Some(p) = self.promise
            && day >= p.due
        {
            self.promise = None;
            if let Some(last) = self.log.promises.last_mut() {
                last.kept.get_or_insert(false);
            }
        }
        if self.due_days.contains(&day) {
            self.due_date_passes(day);
        }
    }

    fn payments(&mut self, day: i32) {
        let s = self.situation();
        let traits = &self.start.traits;
        if let Some(p) = self.promise {
            if p.pay_day == Some(day) {
                self.promise = None;
                if let Some(last) = self.log.promises.last_mut() {
                    last.kept = Some(true);
                }
                let reason = p.payment.map_or(PaymentReason::Promise, |k| match k {
                    PaymentKind::Full | PaymentKind::Partial => PaymentReason::Promise,
                    k => PaymentReason::of(k),
                });
                self.pay(day, p.amount, reason, p.payment, &s);
            }
            return;
        }
        if let Some(a) = self.arrangement {
            if day == a.next_due {
                if self.u(day, Draw::Instalment) < model::promise_kept_prob(traits, &s) {
                    let reason = if a.hardship {
                        PaymentReason::Hardship
                    } else {
                        PaymentReason::Plan
                    };
                    self.pay(day, a.amount.min(self.balance), reason, None, &s);
                    if let Some(arr) = self.arrangement.as_mut() {
                        arr.left = arr.left.saturating_sub(1);
                        arr.next_due = day + 30;
                        if arr.left == 0 {
                            self.end_arrangement(day);
                        }
                    }
                } else {
                    self.end_arrangement(day);
                }
            }
            return;
        }
        if self.paid_this_cycle || self.amount_due() < 0.01 {
            return;
        }
        let base = model::base_pay_logit(self.cfg, traits, &s);
        let engaged = self.engaged.filter(|e| e.until >= day);
        let boost = match engaged {
            Some(e) => e.effect,
            None if self.aware_until >= day => model::awareness_effect(self.cfg, traits),
            None => 0.0,
        };
        let p_month = sigmoid(base + boost);
        let hazard = 1.0 - (1.0 - p_month).powf(1.0 / 30.0);
        if self.u(day, Draw::Pay) >= hazard {
            return;
        }
        let kind = engaged.and_then(|e| e.payment).unwrap_or_else(|| {
            if self.u(day, Draw::PayKind) < model::full_payment_prob(traits, &s) {
                PaymentKind::Full
            } else {
                PaymentKind::Partial
            }
        });
        self.pay(
            day,
            model::payment_amount(&s, kind),
            PaymentReason::of(kind),
            Some(kind),
            &s,
        );
    }

    fn pay(
        &mut self,
        day: i32,
        amount: f64,
        reason: PaymentReason,
        kind: Option<PaymentKind>,
        s: &Situation,
    ) {
        let reversed =
            self.u(day, Draw::Reversal) < model::reversal_prob(self.cfg, &self.start.traits, s);
        self.log.payments.push(PaymentEvent {
            day,
            amount,
            reason,
            reversed,
        });
        if reversed {
            if self.arrangement.is_some() {
                self.end_arrangement(day);
            }
            return;
        }
        self.paid_this_cycle = true;
        self.balance = model::round_cents((self.balance - amount).max(0.0));
        let to_arrears = amount.min(self.arrears);
        self.arrears = model::round_cents(self.arrears - to_arrears);
        self.bill_paid += amount - to_arrears;
        let still_missed = if self.arrears < 0.01 || self.instalment < 0.01 {
            0
        } else {
            (self.arrears / self.instalment - 1e-6).ceil() as usize
        };
        if !self.charged_off() {
            let cleared = self.unpaid_dues.len().saturating_sub(still_missed);
            self.unpaid_dues.drain(..cleared);
        }
        if self.balance < 0.01 {
            self.status = AccountStatus::Closed;
            self.unpaid_dues.clear();
            self.arrangement = None;
            return;
        }
        match kind {
            Some(PaymentKind::Settlement { .. }) => {
                self.status = AccountStatus::Settled;
                self.balance = 0.0;
                self.arrears = 0.0;
                self.unpaid_dues.clear();
            }
            Some(PaymentKind::Plan { months }) if self.arrangement.is_none() => {
                self.start_arrangement(day, amount, months.saturating_sub(1), false);
            }
            Some(PaymentKind::Hardship) if self.arrangement.is_none() => {
                let months = self.settings.hardship_months.saturating_sub(1);
                self.start_arrangement(day, amount, months, true);
            }
            _ => {}
        }
    }

    fn start_arrangement(&mut self, day: i32, amount: f64, left: u32, hardship: bool) {
        self.log.arrangements.push(ArrangementEvent {
            start: day,
            end: None,
            hardship,
        });
        if left == 0 {
            self.end_arrangement(day);
            return;
        }
        self.arrangement = Some(Arrangement {
            amount,
            next_due: day + 30,
            left,
            hardship,
        });
    }

    fn end_arrangement(&mut self, day: i32) {
        self.arrangement = None;
        if let Some(a) = self.log.arrangements.last_mut() {
            a.end.get_or_insert(day);
        }
    }

    fn due_date_passes(&mut self, day: i32) {
        self.paid_this_cycle = false;
        if self.status != AccountStatus::Open {
            return;
        }
        let unpaid = (self.instalment - self.bill_paid).max(0.0);
        self.bill_paid = 0.0;
        // An arrangement re-ages the account: its instalments stand in for the bills.
        if self.arrangement.is_some() || unpaid < 0.01 {
            return;
        }
        self.arrears = model::round_cents((self.arrears + unpaid).min(self.balance));
        self.unpaid_dues.push(day);
        if self.start.product == Product::Card {
            self.balance = model::round_cents(self.balance + 30.0);
        }
        if self.unpaid_dues.len() as u32 >= charge_off_at(self.start.product) {
            self.status = AccountStatus::ChargedOff;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_depend_only_on_their_keys() {
        let a = uniform(7, 12, 3, Draw::Pay);
        assert_eq!(a, uniform(7, 12, 3, Draw::Pay));
        assert_ne!(a, uniform(7, 12, 4, Draw::Pay));
        assert_ne!(a, uniform(7, 13, 3, Draw::Pay));
        assert_ne!(a, uniform(8, 12, 3, Draw::Pay));
        assert_ne!(a, uniform(7, 12, 3, Draw::Reach));
        let n = 100_000;
        let mean = (0..n).map(|i| uniform(1, i, 0, Draw::Pay)).sum::<f64>() / f64::from(n);
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
    }
}
