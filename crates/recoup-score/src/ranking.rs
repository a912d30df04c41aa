//! Ranking an account's treatments by net expected value against doing nothing.
//!
//! For each treatment of the catalog the caller supplies the model estimates: the probability
//! that the customer responds on the treatment's channel and the probability of a payment
//! within the horizon given the treatment (e.g. a model trained on the contact table with the
//! treatment as a feature). The ranking adds the money:
//! - amount if paid: the amount due for reminders, hardship help and no contact; the first
//!   instalment (amount due / months) for a payment plan; the discounted balance for a
//!   settlement;
//! - expected collected = p(pay | treatment) x amount if paid;
//! - value given away = p(pay | treatment) x balance x discount (settlements only; reported,
//!   already absent from the amount collected);
//! - net value = expected collected - unit cost - expected collected under no contact.
//!
//! Treatments the catalog makes ineligible (days past due, product) or that a contact rule
//! excludes are listed with the reason and never ranked.

use chrono::NaiveDate;
use recoup_core::{Channel, Offer, Product, TreatmentCatalog};

use crate::rules::{self, AccountRules, RuleSettings};

/// What the models estimate for one treatment of one account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Probability of a response on the treatment's channel (1 for no contact).
    pub p_respond: f64,
    /// Probability of a payment within the horizon if the treatment is applied (NaN when a
    /// model predicts the amount instead).
    pub p_pay: f64,
    /// The expected amount collected within the horizon if the treatment is applied, when a
    /// model predicts it directly (an uplift model of the amount paid); otherwise it is
    /// `p_pay` times the offer's amount.
    pub collected: Option<f64>,
}

/// The account's money and state.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountMoney {
    pub product: Product,
    pub days_past_due: i32,
    pub amount_due: f64,
    pub balance: f64,
}

/// One ranked option.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub treatment: String,
    /// Position of the treatment in the catalog.
    pub index: usize,
    pub channel: Channel,
    pub p_respond: f64,
    pub p_pay: f64,
    pub expected_collected: f64,
    pub cost: f64,
    pub value_given_away: f64,
    pub net_value: f64,
    /// Proposed local send hour (none for letters and no contact).
    pub send_hour: Option<u32>,
    /// The proposed send instant, UTC.
    pub send_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A treatment that was not ranked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    pub treatment: String,
    pub rule: &'static str,
    pub detail: String,
}

/// Ranks the catalog for one account: options best first (ties: catalog order), and the
/// exclusions. `estimates[i]` belongs to `catalog.treatments[i]`; the catalog must contain a
/// `no_contact` treatment, the baseline.
pub fn rank(
    catalog: &TreatmentCatalog,
    estimates: &[Estimate],
    money: &AccountMoney,
    rules_input: &AccountRules,
    day: NaiveDate,
    settings: &RuleSettings,
) -> Result<(Vec<Ranked>, Vec<Excluded>), String> {
    if estimates.len() != catalog.treatments.len() {
        return Err(format!(
            "{} estimates for {} treatments",
            estimates.len(),
            catalog.treatments.len()
        ));
    }
    let amount_if_paid = |offer: &Offer| match offer {
        Offer::PaymentPlan { months } => money.amount_due / f64::from((*months).max(1)),
        Offer::Settlement { discount_pct } => money.balance * (1.0 - discount_pct / 100.0),
        _ => money.amount_due,
    };
    let baseline = catalog
        .treatments
        .iter()
        .position(|t| matches!(t.offer, Offer::NoContact))
        .ok_or("the catalog has no no-contact treatment (the baseline)")?;
    let collected_of = |t: &recoup_core::Treatment, e: &Estimate| {
        e.collected
            .unwrap_or_else(|| e.p_pay * amount_if_paid(&t.offer))
    };
    let base_collected = collected_of(&catalog.treatments[baseline], &estimates[baseline]);
    let mut ranked = Vec::new();
    let mut excluded = Vec::new();
    for (index, (t, e)) in catalog.treatments.iter().zip(estimates).enumerate() {
        if !t.eligibility.allows(money.days_past_due, money.product) {
            excluded.push(Excluded {
                treatment: t.id.clone(),
                rule: "eligibility",
                detail: format!(
                    "{} days past due, product {}",
                    money.days_past_due, money.product
                ),
            });
            continue;
        }
        let allowed = match rules::check(t.channel, rules_input, day, settings) {
            Ok(a) => a,
            Err(x) => {
                excluded.push(Excluded {
                    treatment: t.id.clone(),
                    rule: x.rule,
                    detail: x.detail,
                });
                continue;
            }
        };
        let collected = collected_of(t, e);
        // A settlement gives away its discount on the balance; from an amount model, the
        // settled share is what was paid over the offer's price.
        let given_away = match t.offer {
            Offer::Settlement { discount_pct } => match e.collected {
                None => e.p_pay * money.balance * discount_pct / 100.0,
                Some(c) => c.max(0.0) * discount_pct / (100.0 - discount_pct).max(1e-9),
            },
            _ => 0.0,
        };
        ranked.push(Ranked {
            treatment: t.id.clone(),
            index,
            channel: t.channel,
            p_respond: e.p_respond,
            p_pay: e.p_pay,
            expected_collected: collected,
            cost: t.unit_cost,
            value_given_away: given_away,
            net_value: collected - t.unit_cost - base_collected,
            send_hour: allowed.local_hour,
            send_at: allowed.send_at,
        });
    }
    // Stable sort: equal values keep catalog order.
    ranked.sort_by(|a, b| b.net_value.total_cmp(&a.net_value));
    Ok((ranked, excluded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_input() -> AccountRules {
        AccountRules {
            consent: [true, true, false, true, true],
            do_not_contact: Vec::new(),
            time_zone: chrono_tz::America::Chicago,
            call_attempts: Vec::new(),
            last_conversation: None,
            usual_response_hour: Some(18),
        }
    }

    #[test]
    fn ranks_by_net_value_against_no_contact_and_lists_exclusions() {
        let catalog = TreatmentCatalog::default_catalog();
        let n = catalog.treatments.len();
        let money = AccountMoney {
            product: Product::Card,
            days_past_due: 45,
            amount_due: 200.0,
            balance: 2000.0,
        };
        // Every treatment: p_pay 0.30, except a few we know by id.
        let estimates: Vec<Estimate> = catalog
            .treatments
            .iter()
            .map(|t| Estimate {
                p_respond: 0.5,
                p_pay: match t.id.as_str() {
                    "no_contact" => 0.20,
                    "sms_reminder" => 0.35,
                    _ => 0.30,
                },
                collected: None,
            })
            .collect();
        let day = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        let (ranked, excluded) = rank(
            &catalog,
            &estimates,
            &money,
            &rules_input(),
            day,
            &RuleSettings::default(),
        )
        .unwrap();
        assert_eq!(ranked.len() + excluded.len(), n);
        // Calls are excluded by consent, with the rule named.
        for t in catalog
            .treatments
            .iter()
            .filter(|t| t.channel == Channel::Call)
        {
            assert!(
                excluded.iter().any(|x| x.treatment == t.id
                    && (x.rule == rules::rule::CONSENT || x.rule == "eligibility")),
                "{}",
                t.id
            );
        }
        // Sorted by net value; no contact nets exactly zero.
        assert!(ranked.windows(2).all(|w| w[0].net_value >= w[1].net_value));
        let none = ranked.iter().find(|r| r.treatment == "no_contact").unwrap();
        assert_eq!(none.net_value, 0.0);
        assert_eq!(none.send_hour, None);
        let sms = ranked
            .iter()
            .find(|r| r.treatment == "sms_reminder")
            .unwrap();
        assert!((sms.net_value - (0.35 * 200.0 - 0.03 - 0.20 * 200.0)).abs() < 1e-12);
        assert_eq!(sms.send_hour, Some(18));
        for r in &ranked {
            let t = catalog.get(&r.treatment).unwrap();
            if let Offer::Settlement { discount_pct } = t.offer {
                assert!(
                    (r.expected_collected - 0.30 * 2000.0 * (1.0 - discount_pct / 100.0)).abs()
                        < 1e-9
                );
                assert!((r.value_given_away - 0.30 * 2000.0 * discount_pct / 100.0).abs() < 1e-9);
            }
        }
        let wrong = rank(
            &catalog,
            &estimates[1..],
            &money,
            &rules_input(),
            day,
            &RuleSettings::default(),
        );
        assert!(wrong.is_err());
    }
}
