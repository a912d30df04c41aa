//! Simulation of one account over the whole horizon.
//!
//! Every account draws from its own random stream, seeded from the run's seed and the
//! account's index, so the output does not depend on how accounts are split across threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, LogNormal, StandardNormal};
use recoup_core::{
    AccountStatus, Channel, ContactOutcome, Offer, PaymentMethod, PaymentVia, PolicyArm, Product,
    TreatmentCatalog, TreatmentKind,
};

use crate::calendar::{Calendar, DUE_OFFSET_DAYS, LocalTime, ZONES, days_since_epoch};
use crate::config::SimConfig;
use crate::model::{self, PaymentKind, Situation, Traits, round_cents, sigmoid};
use crate::tables::Rows;

/// Shared, read-only inputs of a run.
#[derive(Debug)]
pub struct Engine<'a> {
    pub cfg: &'a SimConfig,
    pub cal: &'a Calendar,
    pub local: &'a LocalTime,
    pub catalog: &'a TreatmentCatalog,
    zone_cdf: Vec<f64>,
    product_cdf: Vec<f64>,
}

/// The champion strategy's preferences, as (channel, kind) in order, by stage and decision.
fn champion_ladder(
    missed: u32,
    charged_off: bool,
    hardship: bool,
    decision: usize,
) -> &'static [(Channel, TreatmentKind)] {
    use Channel as C;
    use TreatmentKind as K;
    if hardship && !charged_off {
        return &[(C::Call, K::HardshipReferral), (C::Letter, K::Reminder)];
    }
    match (charged_off, missed, decision % 2) {
        (true, _, 0) => &[(C::Letter, K::Settlement), (C::Letter, K::Reminder)],
        (true, _, _) => &[
            (C::Call, K::Reminder),
            (C::Email, K::Settlement),
            (C::Letter, K::Reminder),
        ],
        (false, 1, _) => &[
            (C::Sms, K::Reminder),
            (C::Email, K::Reminder),
            (C::Push, K::Reminder),
            (C::Letter, K::Reminder),
        ],
        (false, 2..=3, 0) => &[
            (C::Call, K::Reminder),
            (C::Sms, K::Reminder),
            (C::Email, K::Reminder),
            (C::Letter, K::Reminder),
        ],
        (false, 2..=3, _) => &[
            (C::Sms, K::PaymentPlan),
            (C::Email, K::Reminder),
            (C::Letter, K::Reminder),
        ],
        (false, _, 0) => &[
            (C::Call, K::PaymentPlan),
            (C::Call, K::Reminder),
            (C::Letter, K::Reminder),
        ],
        (false, _, _) => &[
            (C::Email, K::Settlement),
            (C::Sms, K::PaymentPlan),
            (C::Letter, K::Reminder),
        ],
    }
}

/// Decision days (offsets from the month's as-of date) of the logging policy.
fn decision_days(missed: u32, charged_off: bool) -> &'static [i32] {
    if charged_off {
        &[4, 18]
    } else if missed <= 1 {
        &[2, 9, 20]
    } else {
        &[2, 8, 15, 22]
    }
}

/// Missed instalments at which an account is charged off (180 DPD revolving, 120 DPD instalment).
pub fn charge_off_at(product: Product) -> u32 {
    match product {
        Product::PersonalLoan | Product::AutoLoan => 5,
        _ => 7,
    }
}

/// An account's state as the engine moves it month by month; [`Engine::simulate_account`]
/// returns it as it stands at the export. Days are indices from the calendar's start.
#[derive(Debug, Clone)]
pub struct Account {
    pub product: Product,
    pub zone: usize,
    pub status: AccountStatus,
    pub balance: f64,
    pub instalment: f64,
    pub arrears: f64,
    pub missed: u32,
    pub apr: f64,
    pub limit: f64,
    pub shock_left: u32,
    pub consent: [bool; 5],
    pub dnc: bool,
    pub hardship: bool,
    pub autopay: bool,
    pub last_conversation_day: i32,
    pub call_days: Vec<i32>,
    pub pay_seq: u16,
    pub contact_seq: u16,
    pub promise_seq: u16,
}

impl Account {
    pub fn charged_off(&self) -> bool {
        self.status == AccountStatus::ChargedOff
    }
    pub fn amount_due(&self) -> f64 {
        if self.charged_off() {
            self.balance
        } else if self.status == AccountStatus::Open {
            round_cents((self.arrears + self.instalment).min(self.balance))
        } else {
            0.0
        }
    }
    pub fn situation(&self) -> Situation {
        Situation {
            missed: self.missed,
            charged_off: self.charged_off(),
            in_shock: self.shock_left > 0,
            balance: self.balance,
            instalment: self.instalment,
            amount_due: self.amount_due(),
        }
    }
    pub fn call_allowed(&self, day: i32) -> bool {
        // Regulation F 1006.14(b)(2): at most 7 calls in 7 days, none in the 7 days after a conversation.
        day >= self.last_conversation_day + 7
            && self.call_days.iter().filter(|&&d| d > day - 7).count() < 7
    }
}

fn cdf(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect()
}

fn pick(cdf: &[f64], u: f64) -> usize {
    cdf.iter().position(|&c| u < c).unwrap_or(cdf.len() - 1)
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// A per-account stream: the run seed and account index mixed by SplitMix64.
pub fn account_rng(seed: u64, index: u32) -> ChaCha8Rng {
    let mut z = seed ^ (u64::from(index).wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(z ^ (z >> 31))
}

struct Engaged {
    effect: f64,
    payment: Option<PaymentKind>,
    day: i32,
    channel: Channel,
}

struct MonthPayment {
    amount: f64,
    day: i32,
    via: PaymentVia,
    kind: Option<PaymentKind>,
    reversed: bool,
}

struct Promise {
    amount: f64,
    made_day: i32,
    due_day: i32,
    kept: bool,
}

impl<'a> Engine<'a> {
    pub fn new(
        cfg: &'a SimConfig,
        cal: &'a Calendar,
        local: &'a LocalTime,
        catalog: &'a TreatmentCatalog,
    ) -> Self {
        Self {
            cfg,
            cal,
            local,
            catalog,
            zone_cdf: cdf(&ZONES.iter().map(|z| z.1).collect::<Vec<_>>()),
            product_cdf: cdf(&cfg.product_mix.weights()),
        }
    }

    fn draw_traits(&self, rng: &mut ChaCha8Rng) -> Traits {
        let general = normal(rng);
        let mut engagement = [0.0; 5];
        for e in &mut engagement {
            *e = 0.6 * general + 0.8 * normal(rng);
        }
        // Preferred hours: a morning, a lunchtime and an evening group.
        let preferred_hour = match rng.random::<f64>() {
            u if u < 0.30 => rng.random_range(8..=11),
            u if u < 0.55 => rng.random_range(12..=14),
            _ => rng.random_range(17..=20),
        };
        let m = self.cfg.behaviour.promise_kept_mean;
        let reliability = Beta::new(8.0 * m, 8.0 * (1.0 - m))
            .map_or(m, |b| b.sample(rng))
            .clamp(0.01, 0.99);
        Traits {
            ability: normal(rng),
            willingness: normal(rng),
            engagement,
            preferred_hour,
            plan_affinity: normal(rng),
            settlement_affinity: normal(rng),
            promise_reliability: reliability,
            contact_averse: rng.random::<f64>() < self.cfg.behaviour.contact_averse_share,
        }
    }

    fn local_micros(&self, acct: &Account, day: i32, hour: u32, minute: u32) -> i64 {
        self.local.to_utc_micros(acct.zone, day, hour, minute)
    }

    /// Simulates account `index`, appends its rows and returns its traits and its state at
    /// the export.
    pub fn simulate_account(&self, index: u32, rows: &mut Rows) -> (Traits, Account) {
        let cfg = self.cfg;
        let cal = self.cal;
        let mut rng = account_rng(cfg.seed, index);
        let traits = self.draw_traits(&mut rng);
        let product = Product::ALL[pick(&self.product_cdf, rng.random())];
        let zone = pick(&self.zone_cdf, rng.random());
        let regions = ZONES[zone].2;
        let region = regions[rng.random_range(0..regions.len())];
        let start_day = days_since_epoch(cal.start);

        // Product terms and the balance at the first as-of date.
        let lognormal = |rng: &mut ChaCha8Rng, median: f64, sigma: f64| {
            LogNormal::new(median.ln(), sigma).map_or(median, |d| d.sample(rng))
        };
        let (limit, principal, balance, instalment, apr, opened_days_ago) = match product {
            Product::Card => {
                let limit = (lognormal(&mut rng, 4000.0, 0.7) / 100.0)
                    .round()
                    .clamp(3.0, 500.0)
                    * 100.0;
                let balance =
                    round_cents(limit * rng.random::<f64>().powf(0.8) * 0.95 + 50.0).min(limit);
                (limit, None, balance, 0.0, 0.24, rng.random_range(90..3650))
            }
            Product::PersonalLoan | Product::AutoLoan => {
                let (median, sigma, terms, apr): (f64, f64, &[u32], f64) =
                    if product == Product::PersonalLoan {
                        (8000.0, 0.6, &[36, 48, 60], 0.14)
                    } else {
                        (22000.0, 0.45, &[60, 72], 0.09)
                    };
                let principal =
                    round_cents(lognormal(&mut rng, median, sigma).clamp(1000.0, 90_000.0));
                let term = terms[rng.random_range(0..terms.len())];
                let r = apr / 12.0;
                let payment = round_cents(principal * r / (1.0 - (1.0 + r).powi(-(term as i32))));
                let elapsed = rng.random_range(1..term - 6);
                let remaining = term - elapsed;
                let balance =
                    round_cents(payment * (1.0 - (1.0 + r).powi(-(remaining as i32))) / r);
                (
                    0.0,
                    Some(principal),
                    balance,
                    payment,
                    apr,
                    elapsed as i32 * 30 + rng.random_range(0..30),
                )
            }
            Product::Utility | Product::Telecom => {
                let (mean, sd) = if product == Product::Utility {
                    (120.0, 35.0)
                } else {
                    (75.0, 25.0)
                };
                let bill =
                    round_cents((mean + sd * normal(&mut rng)).clamp(mean * 0.25, mean * 3.5));
                (0.0, None, bill, bill, 0.0, rng.random_range(180..5400))
            }
            Product::Bnpl => {
                let principal = round_cents(rng.random_range(80.0..1200.0));
                let payment = round_cents(principal / 4.0);
                let remaining = rng.random_range(2..=4);
                (
                    0.0,
                    Some(principal),
                    round_cents(payment * f64::from(remaining)),
                    payment,
                    0.0,
                    (4 - remaining) * 30 + rng.random_range(0..25),
                )
            }
        };
        let mut acct = Account {
            product,
            zone,
            status: AccountStatus::Open,
            balance,
            instalment,
            arrears: 0.0,
            missed: 0,
            apr,
            limit,
            shock_left: 0,
            consent: [
                rng.random::<f64>() < 0.75,
                rng.random::<f64>() < 0.85,
                rng.random::<f64>() < 0.92,
                rng.random::<f64>() < 0.99,
                rng.random::<f64>() < 0.35,
            ],
            dnc: false,
            hardship: false,
            autopay: false,
            last_conversation_day: i32::MIN / 2,
            call_days: Vec::new(),
            pay_seq: 0,
            contact_seq: 0,
            promise_seq: 0,
        };
        if product == Product::Card {
            acct.instalment = card_instalment(acct.balance);
        }
        let b = &cfg.behaviour;
        let p_delinquent = sigmoid(
            model::logit(b.initial_delinquent_share)
                - 0.8 * traits.ability
                - 0.5 * traits.willingness,
        );
        let delinquent = rng.random::<f64>() < p_delinquent;
        if delinquent {
            let k = pick(
                &cdf(&[0.35, 0.2, 0.13, 0.1, 0.08, 0.07, 0.07]),
                rng.random(),
            ) as u32
                + 1;
            let co = charge_off_at(product);
            if k >= co || k == 7 {
                acct.status = AccountStatus::ChargedOff;
                acct.missed = co + rng.random_range(0..6);
            } else {
                acct.missed = k;
                if product != Product::Card {
                    acct.balance = round_cents(acct.balance + f64::from(k) * acct.instalment);
                }
                acct.arrears = round_cents(
                    (f64::from(k) * acct.instalment)
                        .min(acct.balance - acct.instalment)
                        .max(acct.instalment),
                );
            }
        }
        acct.autopay = !delinquent && rng.random::<f64>() < 0.35;
        let dnc_scale = if delinquent { 4.0 } else { 1.0 };
        let dnc = [
            rng.random::<f64>() < 0.005 * dnc_scale,
            rng.random::<f64>() < 0.002 * dnc_scale,
            rng.random::<f64>() < 0.002 * dnc_scale,
            rng.random::<f64>() < 0.0005,
        ];
        acct.dnc = dnc.iter().any(|&d| d);
        let language = match rng.random::<f64>() {
            u if u < 0.86 => "en",
            u if u < 0.98 => "es",
            u if u < 0.99 => "zh",
            _ => "vi",
        };
        let opened_on = start_day - opened_days_ago;

        let months = cal.months as usize;
        let mut eligible: Vec<u16> = Vec::with_capacity(self.catalog.treatments.len());
        for m in 0..=months {
            if acct.shock_left > 0 {
                acct.shock_left -= 1;
            } else if rng.random::<f64>() < b.shock_hazard {
                let p = 1.0 / b.shock_mean_months;
                let mut len = 1;
                while rng.random::<f64>() >= p && len < 24 {
                    len += 1;
                }
                acct.shock_left = len;
            }
            let dpd = if acct.status == AccountStatus::Open || acct.charged_off() {
                cal.days_past_due(m, acct.missed)
            } else {
                0
            };
            rows.states.index.push(index);
            rows.states.as_of.push(start_day + cal.as_of_day[m]);
            rows.states.status.push(acct.status);
            rows.states.balance.push(round_cents(acct.balance));
            rows.states.amount_due.push(acct.amount_due());
            rows.states.dpd.push(i64::from(dpd));
            if m == months {
                let in_collections =
                    (acct.status == AccountStatus::Open && acct.missed > 0) || acct.charged_off();
                if in_collections {
                    self.ground_truth(index, &acct, &traits, dpd, rows);
                }
                break;
            }
            match acct.status {
                AccountStatus::Open if acct.missed == 0 => {
                    self.current_month(index, m, &mut acct, &traits, &mut rng, rows)
                }
                AccountStatus::Open | AccountStatus::ChargedOff => self.collections_month(
                    index,
                    m,
                    dpd,
                    &mut acct,
                    &traits,
                    &mut rng,
                    rows,
                    &mut eligible,
                ),
                AccountStatus::Closed | AccountStatus::Settled => {}
            }
        }

        let r = &mut rows.accounts;
        r.index.push(index);
        r.product.push(product);
        r.opened_on.push(opened_on);
        r.credit_limit
            .push((product == Product::Card).then_some(limit));
        r.original_principal.push(principal);
        r.zone.push(zone as u8);
        r.region.push(region);
        r.consent.push(acct.consent);
        r.dnc.push(dnc);
        r.hardship.push(acct.hardship);
        r.autopay.push(acct.autopay);
        r.language.push(language);

        let t = &mut rows.traits;
        t.index.push(index);
        t.ability.push(traits.ability);
        t.willingness.push(traits.willingness);
        t.engagement.push(traits.engagement);
        t.preferred_hour.push(i32::from(traits.preferred_hour));
        t.plan_affinity.push(traits.plan_affinity);
        t.settlement_affinity.push(traits.settlement_affinity);
        t.promise_reliability.push(traits.promise_reliability);
        t.contact_averse.push(traits.contact_averse);
        t.in_shock_at_export.push(acct.shock_left > 0);
        (traits, acct)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_payment(
        &self,
        index: u32,
        acct: &mut Account,
        at: i64,
        amount: f64,
        via: PaymentVia,
        reversed: bool,
        rng: &mut ChaCha8Rng,
        rows: &mut Rows,
    ) {
        let method = match via {
            PaymentVia::Autopay => PaymentMethod::DirectDebit,
            PaymentVia::Mail => PaymentMethod::Check,
            PaymentVia::Ivr => PaymentMethod::DebitCard,
            PaymentVia::Portal | PaymentVia::Agent => {
                if rng.random::<f64>() < 0.65 {
                    PaymentMethod::DebitCard
                } else {
                    PaymentMethod::BankTransfer
                }
            }
        };
        acct.pay_seq += 1;
        let p = &mut rows.payments;
        p.index.push(index);
        p.seq.push(acct.pay_seq);
        p.paid_at.push(at);
        p.amount.push(round_cents(amount));
        p.method.push(method);
        p.via.push(via);
        p.reversed.push(reversed);
    }

    fn payment_hour(rng: &mut ChaCha8Rng) -> u32 {
        (12.0 + 3.5 * normal(rng)).round().clamp(7.0, 22.0) as u32
    }

    /// A month in which the account starts current: it pays the instalment or misses it.
    fn current_month(
        &self,
        index: u32,
        m: usize,
        acct: &mut Account,
        traits: &Traits,
        rng: &mut ChaCha8Rng,
        rows: &mut Rows,
    ) {
        let cfg = self.cfg;
        let s = acct.situation();
        let month_day = self.cal.as_of_day[m];
        let due_day = month_day + DUE_OFFSET_DAYS;
        let missed = rng.random::<f64>() < sigmoid(model::miss_logit(cfg, traits, s.in_shock));
        let mut paid = 0.0;
        let mut paid_in_full = false;
        if acct.autopay {
            // An autopay that fails is a reversed debit; a success is a debit on the due date.
            let at = self.local_micros(acct, due_day, 6, rng.random_range(0..60));
            let amount = if acct.product == Product::Card {
                acct.balance
            } else {
                acct.instalment
            };
            self.push_payment(
                index,
                acct,
                at,
                amount,
                PaymentVia::Autopay,
                missed,
                rng,
                rows,
            );
            if !missed {
                paid = amount;
                paid_in_full = true;
            }
        } else if !missed {
            let amount = if acct.product == Product::Card {
                match rng.random::<f64>() {
                    u if u < 0.35 + 0.1 * traits.ability.clamp(-1.0, 1.0) => {
                        paid_in_full = true;
                        acct.balance
                    }
                    u if u < 0.63 => {
                        acct.instalment
                            + rng.random::<f64>() * (acct.balance - acct.instalment).max(0.0)
                    }
                    _ => acct.instalment,
                }
            } else {
                acct.instalment
            };
            let day = due_day - rng.random_range(0..9);
            let at = self.local_micros(acct, day, Self::payment_hour(rng), rng.random_range(0..60));
            let via = if rng.random::<f64>() < 0.85 {
                PaymentVia::Portal
            } else {
                PaymentVia::Ivr
            };
            let reversed = rng.random::<f64>() < model::reversal_prob(cfg, traits, &s);
            self.push_payment(index, acct, at, amount, via, reversed, rng, rows);
            if !reversed {
                paid = amount;
            }
        }
        self.settle_month(acct, paid, paid_in_full, false, rng);
    }

    fn eligible_treatments(&self, acct: &Account, dpd: i32, day: i32, out: &mut Vec<u16>) {
        out.clear();
        for (i, t) in self.catalog.treatments.iter().enumerate() {
            let ok_channel = match t.channel {
                Channel::None => true,
                Channel::Call => acct.consent[2] && acct.call_allowed(day),
                c => acct.consent[c.index()],
            };
            if ok_channel && t.eligibility.allows(dpd, acct.product) {
                out.push(i as u16);
            }
        }
    }

    /// A month in collections: the logging policy contacts the account, then it pays or rolls.
    #[allow(clippy::too_many_arguments)]
    fn collections_month(
        &self,
        index: u32,
        m: usize,
        dpd_at_start: i32,
        acct: &mut Account,
        traits: &Traits,
        rng: &mut ChaCha8Rng,
        rows: &mut Rows,
        eligible: &mut Vec<u16>,
    ) {
        let cfg = self.cfg;
        let month_day = self.cal.as_of_day[m];
        let month_len = self.cal.month_len(m);
        let s = acct.situation();
        let mut best: Option<Engaged> = None;
        let mut aware = false;
        let mut promise: Option<Promise> = None;

        if !acct.dnc {
            for (decision, &offset) in decision_days(acct.missed, acct.charged_off())
                .iter()
                .enumerate()
            {
                let day = month_day + offset;
                self.eligible_treatments(acct, dpd_at_start + offset, day, eligible);
                if eligible.is_empty() {
                    continue;
                }
                let ladder =
                    champion_ladder(acct.missed, acct.charged_off(), acct.hardship, decision);
                let champion = ladder
                    .iter()
                    .find_map(|&(ch, kind)| {
                        eligible.iter().copied().find(|&i| {
                            let t = &self.catalog.treatments[i as usize];
                            t.channel == ch && t.offer.kind() == kind
                        })
                    })
                    .or_else(|| {
                        eligible.iter().copied().find(|&i| {
                            self.catalog.treatments[i as usize].offer == Offer::NoContact
                        })
                    })
                    .unwrap_or(eligible[0]);
                let explore = rng.random::<f64>() < cfg.exploration;
                let chosen = if explore {
                    eligible[rng.random_range(0..eligible.len())]
                } else {
                    champion
                };
                let n = eligible.len() as f64;
                let propensity = (1.0 - cfg.exploration) * f64::from(u8::from(chosen == champion))
                    + cfg.exploration / n;
                let treatment = &self.catalog.treatments[chosen as usize];
                let channel = treatment.channel;
                let (hour, minute) = if explore {
                    (rng.random_range(8..=20), rng.random_range(0..60))
                } else {
                    match channel {
                        Channel::Call => (rng.random_range(9..=19), rng.random_range(0..60)),
                        Channel::Letter => (9, 0),
                        _ => (10, rng.random_range(0..60)),
                    }
                };
                let at = self.local_micros(acct, day, hour, minute);
                let outcome = self.contact_outcome(
                    acct,
                    traits,
                    &s,
                    channel,
                    &treatment.offer,
                    hour as u8,
                    day,
                    rng,
                    &mut best,
                    &mut aware,
                );
                acct.contact_seq += 1;
                let c = &mut rows.contacts;
                c.index.push(index);
                c.seq.push(acct.contact_seq);
                c.at.push(at);
                c.channel.push(channel);
                c.treatment.push(chosen);
                c.local_hour.push(hour as u8);
                c.outcome.push(outcome);
                c.arm.push(if explore {
                    PolicyArm::Explore
                } else {
                    PolicyArm::Champion
                });
                c.propensity.push(propensity);
                if outcome == ContactOutcome::PromiseToPay {
                    let pr = self.draw_promise(
                        traits,
                        &s,
                        &treatment.offer,
                        day,
                        month_day,
                        month_len,
                        rng,
                    );
                    acct.promise_seq += 1;
                    let p = &mut rows.promises;
                    p.index.push(index);
                    p.seq.push(acct.promise_seq);
                    p.contact_seq.push(acct.contact_seq);
                    p.made_at.push(at);
                    p.due_on.push(days_since_epoch(self.cal.start) + pr.due_day);
                    p.amount.push(round_cents(pr.amount));
                    p.kept.push(Some(pr.kept));
                    promise = Some(pr);
                    // Collections hold further contact while a promise is open.
                    break;
                }
            }
        }

        let payment = self.resolve_payment(
            traits,
            &s,
            best.as_ref(),
            aware,
            promise.as_ref(),
            month_day,
            month_len,
            rng,
        );
        let mut paid = 0.0;
        let mut settled = false;
        let mut hardship_arrangement = false;
        if let Some(MonthPayment {
            amount,
            day,
            via,
            kind,
            reversed,
        }) = payment
        {
            let at = self.local_micros(acct, day, Self::payment_hour(rng), rng.random_range(0..60));
            self.push_payment(index, acct, at, amount, via, reversed, rng, rows);
            if !reversed {
                paid = amount;
                settled = matches!(kind, Some(PaymentKind::Settlement { .. }));
                hardship_arrangement = matches!(kind, Some(PaymentKind::Hardship));
            }
        }
        if settled {
            acct.status = AccountStatus::Settled;
            acct.balance = 0.0;
            acct.arrears = 0.0;
            acct.missed = 0;
            return;
        }
        self.settle_month(acct, paid, false, hardship_arrangement, rng);
    }

    /// The terms of a promise made on `day`, and whether it will be kept.
    #[allow(clippy::too_many_arguments)]
    fn draw_promise(
        &self,
        traits: &Traits,
        s: &Situation,
        offer: &Offer,
        day: i32,
        month_day: i32,
        month_len: i32,
        rng: &mut ChaCha8Rng,
    ) -> Promise {
        let amount = model::promised_amount(s, offer);
        let last_day = month_day + month_len - 3;
        let due_day = (day + rng.random_range(3..=10)).min(last_day).max(day);
        Promise {
            amount,
            made_day: day,
            due_day,
            kept: rng.random::<f64>() < model::promise_kept_prob(traits, s),
        }
    }

    /// Whether and how much the customer pays this month, given the month's contacts.
    #[allow(clippy::too_many_arguments)]
    fn resolve_payment(
        &self,
        traits: &Traits,
        s: &Situation,
        best: Option<&Engaged>,
        aware: bool,
        promise: Option<&Promise>,
        month_day: i32,
        month_len: i32,
        rng: &mut ChaCha8Rng,
    ) -> Option<MonthPayment> {
        let cfg = self.cfg;
        let base = model::base_pay_logit(cfg, traits, s);
        let usual = |rng: &mut ChaCha8Rng| {
            if rng.random::<f64>() < model::full_payment_prob(traits, s) {
                PaymentKind::Full
            } else {
                PaymentKind::Partial
            }
        };
        // The last event day of a month is its second-to-last local day: a local evening of the
        // last day is already the next month in UTC (up to 10 h later in Hawaii), which would
        // put an event of this month after the next as-of instant.
        let month_end = month_day + month_len - 2;
        let payment: Option<(f64, i32, PaymentVia, Option<PaymentKind>)> = if let Some(pr) = promise
        {
            if pr.kept {
                let via = if rng.random::<f64>() < 0.5 {
                    PaymentVia::Agent
                } else {
                    PaymentVia::Portal
                };
                Some((
                    pr.amount,
                    rng.random_range(pr.made_day..=pr.due_day),
                    via,
                    None,
                ))
            } else if rng.random::<f64>() < sigmoid(base) && pr.due_day < month_end {
                let kind = usual(rng);
                Some((
                    model::payment_amount(s, kind),
                    rng.random_range(pr.due_day + 1..=month_end),
                    PaymentVia::Portal,
                    Some(kind),
                ))
            } else {
                None
            }
        } else {
            let (logit, kind, day, via) = match best {
                Some(e) => {
                    let via = match e.channel {
                        Channel::Call => PaymentVia::Agent,
                        Channel::Letter => PaymentVia::Mail,
                        _ => PaymentVia::Portal,
                    };
                    (base + e.effect, e.payment, Some(e.day), via)
                }
                None if aware => (
                    base + model::awareness_effect(cfg, traits),
                    None,
                    None,
                    PaymentVia::Portal,
                ),
                None => (base, None, None, PaymentVia::Portal),
            };
            if rng.random::<f64>() < sigmoid(logit) {
                let kind = kind.unwrap_or_else(|| usual(rng));
                let day = match day {
                    Some(d) => (d + rng.random_range(0..=4)).min(month_end),
                    None => rng.random_range(month_day..=month_end),
                };
                let via = if via == PaymentVia::Portal && rng.random::<f64>() < 0.25 {
                    PaymentVia::Ivr
                } else {
                    via
                };
                Some((model::payment_amount(s, kind), day, via, Some(kind)))
            } else {
                None
            }
        };
        payment.map(|(amount, day, via, kind)| MonthPayment {
            amount,
            day,
            via,
            kind,
            reversed: rng.random::<f64>() < model::reversal_prob(cfg, traits, s),
        })
    }

    /// Draws the outcome of one contact and records its effect on this month's payment.
    #[allow(clippy::too_many_arguments)]
    fn contact_outcome(
        &self,
        acct: &mut Account,
        traits: &Traits,
        s: &Situation,
        channel: Channel,
        offer: &Offer,
        local_hour: u8,
        day: i32,
        rng: &mut ChaCha8Rng,
        best: &mut Option<Engaged>,
        aware: &mut bool,
    ) -> ContactOutcome {
        use ContactOutcome as O;
        if channel == Channel::None {
            return O::NotContacted;
        }
        if channel == Channel::Call {
            acct.call_days.retain(|&d| d > day - 7);
            acct.call_days.push(day);
        }
        let p = model::contact_probs(self.cfg, traits, channel, local_hour);
        if rng.random::<f64>() >= p.reach {
            return match channel {
                Channel::Sms | Channel::Push => O::Failed,
                Channel::Email => O::Bounced,
                Channel::Call if rng.random::<f64>() < 0.5 => O::Voicemail,
                Channel::Call => O::NoAnswer,
                _ => O::ReturnedMail,
            };
        }
        if rng.random::<f64>() < p.opt_out {
            acct.consent[channel.index()] = false;
            return O::OptOut;
        }
        let u = rng.random::<f64>();
        let engaged = u < p.engage;
        if !engaged {
            *aware = true;
            return match channel {
                Channel::Email if u < p.open => O::Opened,
                Channel::Call => O::WrongParty,
                Channel::Letter => O::Sent,
                _ => O::Delivered,
            };
        }
        let effect = model::engaged_effect(self.cfg, traits, s, offer);
        if best.as_ref().is_none_or(|b| effect > b.effect) {
            *best = Some(Engaged {
                effect,
                payment: model::offer_payment(offer),
                day,
                channel,
            });
        }
        if matches!(offer, Offer::HardshipReferral)
            || (channel == Channel::Call && s.in_shock && rng.random::<f64>() < 0.3)
        {
            acct.hardship = true;
        }
        match channel {
            Channel::Call => {
                acct.last_conversation_day = day;
                if rng.random::<f64>() < model::promise_prob(self.cfg, traits) {
                    O::PromiseToPay
                } else {
                    O::RightPartyContact
                }
            }
            Channel::Push => O::Opened,
            Channel::Letter => O::Sent,
            _ => O::Clicked,
        }
    }

    /// Applies the month's payment to the balance and moves the delinquency state.
    fn settle_month(
        &self,
        acct: &mut Account,
        paid: f64,
        paid_in_full: bool,
        hardship_arrangement: bool,
        rng: &mut ChaCha8Rng,
    ) {
        if acct.charged_off() {
            acct.balance = round_cents((acct.balance - paid).max(0.0));
            if acct.balance < 0.01 {
                acct.status = AccountStatus::Closed;
                acct.missed = 0;
            } else if paid < acct.balance {
                acct.missed += 1;
            }
            return;
        }
        let inst = acct.instalment;
        let due = acct.arrears + inst;
        let remaining = (due - paid).max(0.0);
        let was_missed = acct.missed;
        if remaining < 0.01 {
            acct.missed = 0;
            acct.arrears = 0.0;
        } else if hardship_arrangement {
            acct.arrears = remaining;
        } else if paid + 0.005 >= inst {
            acct.arrears = remaining;
            acct.missed = ((remaining / inst - 1e-6).ceil() as u32).clamp(1, was_missed.max(1));
        } else {
            acct.arrears = remaining;
            acct.missed = was_missed + 1;
        }
        let rolled = acct.missed > was_missed;
        let r = acct.apr / 12.0;
        match acct.product {
            Product::Card => {
                let interest = if paid_in_full { 0.0 } else { acct.balance * r };
                let fee = if rolled { 30.0 } else { 0.0 };
                let spend = if acct.missed == 0 {
                    acct.limit * rng.random::<f64>() * 0.08
                } else {
                    0.0
                };
                acct.balance = round_cents((acct.balance + interest + fee - paid).max(0.0) + spend)
                    .min(acct.limit.max(acct.balance));
                acct.instalment = card_instalment(acct.balance);
            }
            Product::PersonalLoan | Product::AutoLoan | Product::Bnpl => {
                acct.balance = round_cents((acct.balance * (1.0 + r) - paid).max(0.0));
                acct.instalment = acct.instalment.min(acct.balance);
            }
            Product::Utility | Product::Telecom => {
                let bill =
                    round_cents(acct.instalment * (1.0 + 0.08 * normal(rng)).clamp(0.5, 1.6));
                acct.balance = round_cents(remaining + bill);
                acct.instalment = bill;
            }
        }
        acct.arrears = acct.arrears.min(acct.balance);
        if acct.balance < 0.01 {
            acct.status = AccountStatus::Closed;
            acct.missed = 0;
            acct.arrears = 0.0;
        } else if acct.missed >= charge_off_at(acct.product) {
            acct.status = AccountStatus::ChargedOff;
        }
    }

    /// The true response of the account to every treatment of the catalog at the export.
    fn ground_truth(&self, index: u32, acct: &Account, traits: &Traits, dpd: i32, rows: &mut Rows) {
        let s = acct.situation();
        let hour = traits.preferred_hour.clamp(8, 20);
        for (i, t) in self.catalog.treatments.iter().enumerate() {
            let consent = match t.channel {
                Channel::None => true,
                c => acct.consent[c.index()],
            };
            let eligible = t.eligibility.allows(dpd, acct.product)
                && consent
                && (!acct.dnc || t.channel == Channel::None);
            let truth = model::treatment_truth(self.cfg, traits, &s, t.channel, &t.offer, hour);
            let r = &mut rows.truth;
            r.index.push(index);
            r.treatment.push(i as u16);
            r.eligible.push(eligible);
            r.p_engage.push(truth.p_engage);
            r.p_pay.push(truth.p_pay);
            r.expected_amount.push(round_cents(truth.expected_amount));
        }
    }
}

/// A card's minimum payment: 3% of the balance, at least 25.
pub fn card_instalment(balance: f64) -> f64 {
    round_cents((0.03 * balance).max(25.0).min(balance))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn account(missed: u32, charged_off: bool, in_shock: bool) -> Account {
        Account {
            product: Product::Card,
            zone: 0,
            status: if charged_off {
                AccountStatus::ChargedOff
            } else {
                AccountStatus::Open
            },
            balance: 2400.0,
            instalment: 72.0,
            arrears: 72.0 * f64::from(missed),
            missed,
            apr: 0.24,
            limit: 3000.0,
            shock_left: u32::from(in_shock) * 3,
            consent: [true; 5],
            dnc: false,
            hardship: false,
            autopay: false,
            last_conversation_day: -100,
            call_days: Vec::new(),
            pay_seq: 0,
            contact_seq: 0,
            promise_seq: 0,
        }
    }

    fn customer(contact_averse: bool, engagement: f64) -> Traits {
        Traits {
            ability: -0.3,
            willingness: 0.4,
            engagement: [engagement; 5],
            preferred_hour: 18,
            plan_affinity: 0.8,
            settlement_affinity: -0.2,
            promise_reliability: 0.6,
            contact_averse,
        }
    }

    /// The ground truth of a treatment must be the exact expectation of what the engine does
    /// in a month with that one contact: checked by driving the engine's own contact and
    /// payment code many times.
    #[test]
    fn ground_truth_is_the_expectation_of_a_simulated_month() {
        let cfg = SimConfig::default();
        let cal = Calendar::new(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), 2);
        let local = LocalTime::new(&cal);
        let catalog = TreatmentCatalog::default_catalog();
        let engine = Engine::new(&cfg, &cal, &local, &catalog);
        let cases = [
            (
                "no_contact",
                account(1, false, false),
                customer(false, 0.0),
                10,
            ),
            (
                "sms_reminder",
                account(1, false, false),
                customer(false, 1.0),
                18,
            ),
            (
                "email_reminder",
                account(2, false, false),
                customer(false, 0.5),
                9,
            ),
            (
                "call_reminder",
                account(2, false, false),
                customer(false, 0.5),
                17,
            ),
            (
                "call_plan_6m",
                account(3, false, true),
                customer(false, 0.0),
                18,
            ),
            (
                "call_hardship",
                account(2, false, true),
                customer(false, 0.0),
                12,
            ),
            (
                "email_settlement_30",
                account(5, false, false),
                customer(false, 1.5),
                18,
            ),
            (
                "letter_settlement_40",
                account(9, true, false),
                customer(false, 0.0),
                9,
            ),
            (
                "sms_reminder",
                account(1, false, false),
                customer(true, 0.5),
                18,
            ),
        ];
        let n = 60_000;
        for (tid, acct, traits, hour) in cases {
            let t = catalog.get(tid).unwrap();
            let s = acct.situation();
            let truth = model::treatment_truth(&cfg, &traits, &s, t.channel, &t.offer, hour);
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            let (mut pays, mut engaged, mut total, mut total_sq) = (0u32, 0u32, 0.0, 0.0);
            for _ in 0..n {
                let mut a = acct.clone();
                let mut best = None;
                let mut aware = false;
                let day = 1;
                let outcome = engine.contact_outcome(
                    &mut a, &traits, &s, t.channel, &t.offer, hour, day, &mut rng, &mut best,
                    &mut aware,
                );
                engaged += u32::from(best.is_some());
                let promise = (outcome == ContactOutcome::PromiseToPay)
                    .then(|| engine.draw_promise(&traits, &s, &t.offer, day, 0, 31, &mut rng));
                if let Some(p) = engine.resolve_payment(
                    &traits,
                    &s,
                    best.as_ref(),
                    aware,
                    promise.as_ref(),
                    0,
                    31,
                    &mut rng,
                ) && !p.reversed
                {
                    pays += 1;
                    total += p.amount;
                    total_sq += p.amount * p.amount;
                }
            }
            let nf = f64::from(n);
            let p_pay = f64::from(pays) / nf;
            let se = (truth.p_pay * (1.0 - truth.p_pay) / nf).sqrt();
            assert!(
                (p_pay - truth.p_pay).abs() < 5.0 * se + 1e-4,
                "{tid}: simulated {p_pay:.4} vs truth {:.4}",
                truth.p_pay
            );
            let p_eng = f64::from(engaged) / nf;
            let se = (truth.p_engage * (1.0 - truth.p_engage) / nf).sqrt();
            assert!(
                (p_eng - truth.p_engage).abs() < 5.0 * se + 1e-4,
                "{tid}: engaged {p_eng:.4} vs truth {:.4}",
                truth.p_engage
            );
            let mean = total / nf;
            let se = ((total_sq / nf - mean * mean) / nf).sqrt();
            assert!(
                (mean - truth.expected_amount).abs() < 5.0 * se + 0.01,
                "{tid}: amount {mean:.2} vs truth {:.2}",
                truth.expected_amount
            );
        }
    }

    #[test]
    fn regulation_f_call_limits() {
        let mut a = account(2, false, false);
        a.last_conversation_day = 10;
        assert!(!a.call_allowed(16), "within 7 days after a conversation");
        assert!(a.call_allowed(17));
        a.last_conversation_day = -100;
        a.call_days = (20..27).collect();
        assert!(!a.call_allowed(26), "7 calls in the last 7 days");
        assert!(a.call_allowed(27));
    }
}
