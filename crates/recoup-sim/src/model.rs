//! The behavioural model: how a customer with given latent traits responds to a contact and
//! decides to pay. The simulator draws from these probabilities and the ground truth takes
//! their expectation, so both always agree.

use recoup_core::{Channel, Offer};

use crate::config::SimConfig;

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// A customer's latent traits. Logit-scale traits are standard normal across the portfolio.
#[derive(Debug, Clone, PartialEq)]
pub struct Traits {
    /// Capacity to pay (income level and stability).
    pub ability: f64,
    /// Intention to pay what is owed.
    pub willingness: f64,
    /// Responsiveness per contactable channel (`Channel::CONTACTABLE` order).
    pub engagement: [f64; 5],
    /// Local hour at which the customer is most likely to engage (8..=20).
    pub preferred_hour: u8,
    /// How much a payment plan helps this customer.
    pub plan_affinity: f64,
    /// How much a settlement offer helps this customer.
    pub settlement_affinity: f64,
    /// Probability this customer keeps a promise, before ability and shocks.
    pub promise_reliability: f64,
    /// Contact lowers, rather than raises, this customer's chance to pay ("sleeping dog").
    pub contact_averse: bool,
}

/// What the model needs to know about an account in a given month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Situation {
    /// Missed instalments (0 = current); ignored when charged off.
    pub missed: u32,
    pub charged_off: bool,
    pub in_shock: bool,
    pub balance: f64,
    pub instalment: f64,
    /// Arrears plus this month's instalment (the whole balance once charged off).
    pub amount_due: f64,
}

impl Situation {
    pub fn arrears(&self) -> f64 {
        (self.amount_due - self.instalment).max(0.0)
    }
}

/// The stage probabilities of one contact attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContactProbs {
    /// Delivered, answered, or (letters) not returned.
    pub reach: f64,
    /// Opt-out given reach.
    pub opt_out: f64,
    /// Email only: opened given reach and no opt-out.
    pub open: f64,
    /// Engaged given reach and no opt-out (click, push open, right-party contact, letter acted on).
    pub engage: f64,
}

impl ContactProbs {
    pub fn p_engaged(&self) -> f64 {
        self.reach * (1.0 - self.opt_out) * self.engage
    }
}

/// Circular distance in hours between two hours of the day.
fn hour_distance(a: u8, b: u8) -> f64 {
    let d = (i32::from(a) - i32::from(b)).rem_euclid(24);
    f64::from(d.min(24 - d))
}

/// Engagement logit shift of contacting at `local_hour`: positive near the preferred hour.
pub fn hour_effect(cfg: &SimConfig, traits: &Traits, local_hour: u8) -> f64 {
    let d = hour_distance(local_hour, traits.preferred_hour);
    cfg.channels.hour_match_boost * ((-d * d / 8.0).exp() - 0.35)
}

pub fn contact_probs(
    cfg: &SimConfig,
    traits: &Traits,
    channel: Channel,
    local_hour: u8,
) -> ContactProbs {
    let c = &cfg.channels;
    let h = hour_effect(cfg, traits, local_hour);
    let eng = |k: usize| traits.engagement[k];
    let opt_out = if traits.contact_averse {
        (c.opt_out * 10.0).min(0.5)
    } else {
        c.opt_out
    };
    match channel {
        Channel::Sms => ContactProbs {
            reach: c.sms_delivered,
            opt_out,
            open: 0.0,
            engage: sigmoid(logit(c.sms_click) + eng(0) + h),
        },
        Channel::Email => {
            let open = sigmoid(logit(c.email_open) + eng(1) + h);
            ContactProbs {
                reach: c.email_delivered,
                opt_out,
                open,
                engage: open * sigmoid(logit(c.email_click_given_open) + 0.5 * eng(1)),
            }
        }
        Channel::Call => ContactProbs {
            reach: sigmoid(logit(c.call_answer) + 0.5 * eng(2) + 1.5 * h),
            opt_out,
            open: 0.0,
            engage: c.call_right_party,
        },
        Channel::Letter => ContactProbs {
            reach: 1.0 - c.letter_returned,
            opt_out: 0.0,
            open: 0.0,
            engage: sigmoid(logit(c.letter_engaged) + eng(3)),
        },
        Channel::Push => ContactProbs {
            reach: c.push_delivered,
            opt_out,
            open: 0.0,
            engage: sigmoid(logit(c.push_open) + eng(4) + h),
        },
        Channel::None => ContactProbs {
            reach: 0.0,
            opt_out: 0.0,
            open: 0.0,
            engage: 0.0,
        },
    }
}

/// Logit of paying something this month without any contact.
pub fn base_pay_logit(cfg: &SimConfig, traits: &Traits, s: &Situation) -> f64 {
    let b = &cfg.behaviour;
    let intercept = if s.charged_off {
        b.pay_logit_charged_off
    } else {
        b.pay_logit_by_missed[(s.missed.clamp(1, 6) - 1) as usize]
    };
    intercept + 0.9 * traits.ability + 0.7 * traits.willingness - if s.in_shock { 1.6 } else { 0.0 }
}

/// Logit of missing the month's due payment when current.
pub fn miss_logit(cfg: &SimConfig, traits: &Traits, in_shock: bool) -> f64 {
    cfg.behaviour.miss_logit - 1.0 * traits.ability - 0.6 * traits.willingness
        + if in_shock { 1.8 } else { 0.0 }
}

/// Payment-logit effect of engaging with an offer.
pub fn engaged_effect(cfg: &SimConfig, traits: &Traits, s: &Situation, offer: &Offer) -> f64 {
    let b = &cfg.behaviour;
    if traits.contact_averse && *offer != Offer::NoContact {
        return b.effect_averse;
    }
    match offer {
        Offer::Reminder => b.effect_reminder,
        Offer::PaymentPlan { .. } => {
            b.effect_plan + 0.5 * traits.plan_affinity + if s.in_shock { 0.6 } else { 0.0 }
        }
        Offer::Settlement { .. } => {
            b.effect_settlement
                + 0.6 * traits.settlement_affinity
                + if s.charged_off || s.missed >= 4 {
                    0.4
                } else {
                    0.0
                }
        }
        Offer::HardshipReferral => {
            if s.in_shock {
                b.effect_hardship_in_shock
            } else {
                0.2
            }
        }
        Offer::NoContact => 0.0,
    }
}

/// Payment-logit effect of a contact that reached the customer without engaging them.
pub fn awareness_effect(cfg: &SimConfig, traits: &Traits) -> f64 {
    if traits.contact_averse {
        -0.3
    } else {
        cfg.behaviour.effect_awareness
    }
}

/// Probability that a right-party contact ends in a promise to pay.
pub fn promise_prob(cfg: &SimConfig, traits: &Traits) -> f64 {
    sigmoid(cfg.behaviour.promise_logit + 0.8 * traits.willingness)
}

/// Probability that a promise is kept.
pub fn promise_kept_prob(traits: &Traits, s: &Situation) -> f64 {
    sigmoid(
        logit(traits.promise_reliability) + 0.5 * traits.ability
            - if s.in_shock { 1.5 } else { 0.0 },
    )
}

pub fn reversal_prob(cfg: &SimConfig, traits: &Traits, s: &Situation) -> f64 {
    sigmoid(
        cfg.behaviour.reversal_logit - 0.8 * traits.ability + if s.in_shock { 1.0 } else { 0.0 },
    )
}

/// Probability that an unprompted payment clears all arrears (rather than one instalment).
pub fn full_payment_prob(traits: &Traits, s: &Situation) -> f64 {
    if s.charged_off {
        sigmoid(-3.0 + 0.8 * traits.ability)
    } else {
        sigmoid(0.3 + 0.8 * traits.ability)
    }
}

/// The amounts a customer pays, by what moved them to pay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PaymentKind {
    /// Unprompted or after a reminder: all arrears or one instalment.
    Full,
    Partial,
    Plan {
        months: u32,
    },
    Settlement {
        discount_pct: f64,
    },
    Hardship,
}

pub fn payment_amount(s: &Situation, kind: PaymentKind) -> f64 {
    let amount = match kind {
        PaymentKind::Full => s.amount_due,
        PaymentKind::Partial if s.charged_off => 0.1 * s.balance,
        PaymentKind::Partial => s.instalment.min(s.amount_due),
        PaymentKind::Plan { months } => s.arrears() / f64::from(months) + s.instalment,
        PaymentKind::Settlement { discount_pct } => s.balance * (1.0 - discount_pct / 100.0),
        PaymentKind::Hardship => 0.5 * s.instalment,
    };
    round_cents(amount.min(s.balance).max(0.01))
}

pub fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The payment an engaged offer leads to, if the customer pays; `None` for the usual full/partial choice.
pub fn offer_payment(offer: &Offer) -> Option<PaymentKind> {
    match *offer {
        Offer::PaymentPlan { months } => Some(PaymentKind::Plan { months }),
        Offer::Settlement { discount_pct } => Some(PaymentKind::Settlement { discount_pct }),
        Offer::HardshipReferral => Some(PaymentKind::Hardship),
        Offer::Reminder | Offer::NoContact => None,
    }
}

/// The amount a customer promises: the offer's terms, else the amount due (a partial payment
/// once charged off, where promises rarely cover the whole balance).
pub fn promised_amount(s: &Situation, offer: &Offer) -> f64 {
    let usual = if s.charged_off {
        PaymentKind::Partial
    } else {
        PaymentKind::Full
    };
    payment_amount(s, offer_payment(offer).unwrap_or(usual))
}

/// Expected amount of an unprompted payment, given that one is made.
pub fn expected_usual_amount(traits: &Traits, s: &Situation) -> f64 {
    let q = full_payment_prob(traits, s);
    q * payment_amount(s, PaymentKind::Full) + (1.0 - q) * payment_amount(s, PaymentKind::Partial)
}

/// Ground truth of one treatment applied once at the start of a 30-day window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreatmentTruth {
    pub p_engage: f64,
    /// Probability of a (non-reversed) payment within the window.
    pub p_pay: f64,
    /// Expected amount paid (non-reversed) within the window.
    pub expected_amount: f64,
}

/// Exact expectation of the simulator's month for one contact with `channel`/`offer` at `local_hour`.
pub fn treatment_truth(
    cfg: &SimConfig,
    traits: &Traits,
    s: &Situation,
    channel: Channel,
    offer: &Offer,
    local_hour: u8,
) -> TreatmentTruth {
    let base = base_pay_logit(cfg, traits, s);
    let keep = 1.0 - reversal_prob(cfg, traits, s);
    let usual = expected_usual_amount(traits, s);
    let p0 = sigmoid(base);
    if channel == Channel::None || *offer == Offer::NoContact {
        return TreatmentTruth {
            p_engage: 0.0,
            p_pay: p0 * keep,
            expected_amount: p0 * usual * keep,
        };
    }
    let cp = contact_probs(cfg, traits, channel, local_hour);
    let p_engaged = cp.p_engaged();
    let p_aware = cp.reach * (1.0 - cp.opt_out) * (1.0 - cp.engage);
    let p_none = 1.0 - p_engaged - p_aware;
    let p_aw_pay = sigmoid(base + awareness_effect(cfg, traits));
    let p_eng_pay = sigmoid(base + engaged_effect(cfg, traits, s, offer));
    let engaged_amount = offer_payment(offer).map_or(usual, |k| payment_amount(s, k));

    let (eng_p, eng_amount) = if channel == Channel::Call {
        let pp = promise_prob(cfg, traits);
        let pk = promise_kept_prob(traits, s);
        let promised = promised_amount(s, offer);
        let p = pp * (pk + (1.0 - pk) * p0) + (1.0 - pp) * p_eng_pay;
        let a = pp * (pk * promised + (1.0 - pk) * p0 * usual)
            + (1.0 - pp) * p_eng_pay * engaged_amount;
        (p, a)
    } else {
        (p_eng_pay, p_eng_pay * engaged_amount)
    };
    let p_pay = p_engaged * eng_p + p_aware * p_aw_pay + p_none * p0;
    let amount = p_engaged * eng_amount + p_aware * p_aw_pay * usual + p_none * p0 * usual;
    TreatmentTruth {
        p_engage: p_engaged,
        p_pay: p_pay * keep,
        expected_amount: amount * keep,
    }
}
