//! Journey rules across days, the closed loop's determinism and independence of accounts, and
//! the policies on a small simulated portfolio.
#![allow(clippy::unwrap_used)]

use recoup_core::{AccountStatus, Channel, ContactOutcome, Product, TreatmentCatalog};
use recoup_journey::env::{AccountLog, AccountView, ArrangementEvent, ContactEvent, PromiseEvent};
use recoup_journey::policy::{Allowed, Proposal};
use recoup_journey::portfolio::{Observed, StartState};
use recoup_journey::{
    Adaptive, AdaptiveSettings, Champion, JourneyRules, JourneyTemplates, NoContact, Policy,
    Portfolio, Rule, RunSettings, run_policy,
};
use recoup_sim::model::Traits;

fn catalog() -> TreatmentCatalog {
    TreatmentCatalog::default_catalog()
}

fn id(catalog: &TreatmentCatalog, name: &str) -> u16 {
    catalog
        .treatments
        .iter()
        .position(|t| t.id == name)
        .unwrap() as u16
}

fn view<'a>(day: i32, log: &'a AccountLog, observed: &'a Observed) -> AccountView<'a> {
    AccountView {
        index: 0,
        day,
        product: Product::Card,
        status: AccountStatus::Open,
        dpd: 40,
        balance: 2000.0,
        amount_due: 180.0,
        consent: [true; 5],
        dnc: false,
        hardship: false,
        calls_last_7_days: 0,
        last_conversation_day: -100,
        promise_due: None,
        in_arrangement: false,
        log,
        observed,
        segment: recoup_journey::portfolio::Quadrant::Neither,
    }
}

fn contact(
    catalog: &TreatmentCatalog,
    day: i32,
    name: &str,
    outcome: ContactOutcome,
) -> ContactEvent {
    let t = id(catalog, name);
    ContactEvent {
        day,
        treatment: t,
        channel: catalog.treatments[t as usize].channel,
        hour: 10,
        outcome,
    }
}

#[test]
fn the_weekly_cap_counts_contacts_across_days() {
    let c = catalog();
    let rules = JourneyRules::default();
    let obs = Observed::default();
    let log = AccountLog {
        contacts: vec![
            contact(&c, 10, "sms_reminder", ContactOutcome::Delivered),
            contact(&c, 12, "email_reminder", ContactOutcome::Delivered),
            contact(&c, 14, "sms_reminder", ContactOutcome::Delivered),
        ],
        ..Default::default()
    };
    let sms = id(&c, "sms_reminder");
    for day in 14..17 {
        assert_eq!(
            rules.check(&view(day, &log, &obs), &c, sms, 10),
            Err(Rule::WeeklyContactCap),
            "day {day}"
        );
    }
    // Day 17: the contact of day 10 has left the seven-day window (an email: two SMS in 14
    // days already reach the repeat limit).
    let email = id(&c, "email_reminder");
    assert_eq!(rules.check(&view(17, &log, &obs), &c, email, 10), Ok(()));
    assert_eq!(
        rules.check(&view(17, &log, &obs), &c, sms, 10),
        Err(Rule::RepeatLimit)
    );
    // The audit finds a fourth contact within seven days.
    let mut over = log.clone();
    over.contacts
        .push(contact(&c, 16, "email_reminder", ContactOutcome::Delivered));
    let violations = rules.audit(&start(), &over);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(
        (violations[0].day, violations[0].rule),
        (16, Rule::WeeklyContactCap)
    );
    // The same treatment a third time within 14 days: refused, and found by the audit.
    let sms_log = AccountLog {
        contacts: vec![
            contact(&c, 10, "sms_reminder", ContactOutcome::Delivered),
            contact(&c, 18, "sms_reminder", ContactOutcome::Delivered),
        ],
        ..Default::default()
    };
    assert_eq!(
        rules.check(&view(23, &sms_log, &obs), &c, sms, 10),
        Err(Rule::RepeatLimit)
    );
    assert_eq!(
        rules.check(&view(23, &sms_log, &obs), &c, email, 10),
        Ok(())
    );
    assert_eq!(rules.check(&view(24, &sms_log, &obs), &c, sms, 10), Ok(()));
    let mut third = sms_log.clone();
    third
        .contacts
        .push(contact(&c, 23, "sms_reminder", ContactOutcome::Delivered));
    assert_eq!(audited(&rules, &third), vec![(23, Rule::RepeatLimit)]);
}

#[test]
fn regulation_f_call_limits_span_days() {
    let c = catalog();
    let rules = JourneyRules {
        max_contacts_per_week: 20,
        ..Default::default()
    };
    let obs = Observed::default();
    let log = AccountLog::default();
    let call = id(&c, "call_reminder");
    let mut v = view(20, &log, &obs);
    v.calls_last_7_days = 7;
    assert_eq!(rules.check(&v, &c, call, 11), Err(Rule::CallFrequency));
    v.calls_last_7_days = 6;
    v.last_conversation_day = 14;
    assert_eq!(
        rules.check(&v, &c, call, 11),
        Err(Rule::CallAfterConversation)
    );
    v.day = 21;
    assert_eq!(rules.check(&v, &c, call, 11), Ok(()));
    // Other channels are not held by a conversation.
    v.day = 20;
    assert_eq!(rules.check(&v, &c, id(&c, "sms_reminder"), 11), Ok(()));
    assert_eq!(rules.check(&v, &c, call, 21), Err(Rule::ContactHours));

    // The audit re-derives both limits from the log alone.
    let mut log = AccountLog::default();
    log.contacts.push(contact(
        &c,
        3,
        "call_reminder",
        ContactOutcome::RightPartyContact,
    ));
    log.contacts
        .push(contact(&c, 8, "call_reminder", ContactOutcome::NoAnswer));
    // Seven calls on seven days, then an eighth on the seventh day.
    for day in 10..17 {
        log.contacts
            .push(contact(&c, day, "call_reminder", ContactOutcome::NoAnswer));
    }
    log.contacts
        .push(contact(&c, 16, "call_reminder", ContactOutcome::Voicemail));
    let rules_ok = JourneyRules {
        max_contacts_per_week: 49,
        max_repeats_per_fortnight: 98,
        ..Default::default()
    };
    let found = audited(&rules_ok, &log);
    assert_eq!(
        found,
        vec![(8, Rule::CallAfterConversation), (16, Rule::CallFrequency)]
    );
}

#[test]
fn promises_hold_contact_until_after_their_due_day() {
    let c = catalog();
    let rules = JourneyRules::default();
    let obs = Observed::default();
    let sms = id(&c, "sms_reminder");
    let mut log = AccountLog {
        contacts: vec![contact(
            &c,
            5,
            "call_reminder",
            ContactOutcome::PromiseToPay,
        )],
        promises: vec![PromiseEvent {
            made: 5,
            due: 12,
            amount: 150.0,
            kept: None,
        }],
        ..Default::default()
    };
    let mut v = view(8, &log, &obs);
    v.promise_due = Some(12);
    assert_eq!(rules.check(&v, &c, sms, 10), Err(Rule::PromiseQuietPeriod));
    // Broken on day 12: quiet for two more days.
    log.promises[0].kept = Some(false);
    for (day, expected) in [
        (13, Err(Rule::PromiseQuietPeriod)),
        (14, Err(Rule::PromiseQuietPeriod)),
        (15, Ok(())),
    ] {
        assert_eq!(
            rules.check(&view(day, &log, &obs), &c, sms, 10),
            expected,
            "day {day}"
        );
    }
    log.contacts
        .push(contact(&c, 14, "sms_reminder", ContactOutcome::Delivered));
    let found: Vec<Rule> = rules.audit(&start(), &log).iter().map(|v| v.rule).collect();
    assert_eq!(found, vec![Rule::PromiseQuietPeriod]);
}

#[test]
fn no_contact_during_an_arrangement_or_after_an_opt_out() {
    let c = catalog();
    let rules = JourneyRules::default();
    let obs = Observed::default();
    let mut log = AccountLog {
        contacts: vec![contact(&c, 2, "sms_plan_3m", ContactOutcome::Clicked)],
        arrangements: vec![ArrangementEvent {
            start: 4,
            end: None,
            hardship: false,
        }],
        ..Default::default()
    };
    let mut v = view(20, &log, &obs);
    v.in_arrangement = true;
    assert_eq!(
        rules.check(&v, &c, id(&c, "email_reminder"), 10),
        Err(Rule::ArrangementHold)
    );
    log.contacts
        .push(contact(&c, 20, "email_reminder", ContactOutcome::OptOut));
    log.contacts
        .push(contact(&c, 30, "email_reminder", ContactOutcome::Delivered));
    let found = audited(&rules, &log);
    assert_eq!(
        found,
        vec![
            (20, Rule::ArrangementHold),
            (30, Rule::Consent),
            (30, Rule::ArrangementHold)
        ]
    );
    let mut v = view(40, &log, &obs);
    v.consent[Channel::Email.index()] = false;
    assert_eq!(
        rules.check(&v, &c, id(&c, "email_reminder"), 10),
        Err(Rule::Consent)
    );
}

/// What the audit finds in a log: (day, rule) of every violation.
fn audited(rules: &JourneyRules, log: &AccountLog) -> Vec<(i32, Rule)> {
    rules
        .audit(&start(), log)
        .iter()
        .map(|v| (v.day, v.rule))
        .collect()
}

fn start() -> StartState {
    StartState {
        index: 0,
        traits: Traits {
            ability: 0.0,
            willingness: 0.0,
            engagement: [0.0; 5],
            preferred_hour: 12,
            plan_affinity: 0.0,
            settlement_affinity: 0.0,
            promise_reliability: 0.6,
            contact_averse: false,
        },
        product: Product::Card,
        status: AccountStatus::Open,
        balance: 2000.0,
        instalment: 60.0,
        arrears: 120.0,
        unpaid_dues: vec![-40, -10],
        shock_days: 0,
        consent: [true; 5],
        dnc: false,
        hardship: false,
        last_conversation_day: -100,
        call_days: Vec::new(),
        observed: Observed::default(),
        segment: recoup_journey::portfolio::Quadrant::Neither,
    }
}

fn portfolio() -> Portfolio {
    let sim = recoup_sim::SimConfig {
        accounts: 3_000,
        months: 6,
        seed: 5,
        ..Default::default()
    };
    Portfolio::simulate(&sim, &catalog()).unwrap()
}

fn settings(seed: u64) -> RunSettings {
    RunSettings {
        days: 60,
        seed,
        env: Default::default(),
        rules: Default::default(),
    }
}

#[test]
fn closed_loop_runs_are_deterministic_and_keep_every_rule() {
    let p = portfolio();
    assert!(
        p.accounts.len() > 200,
        "{} accounts in collections",
        p.accounts.len()
    );
    let c = catalog();
    let champion = Champion {
        templates: JourneyTemplates::default_templates(&c).unwrap(),
        personal: None,
    };
    let adaptive = Adaptive::fit(
        &p,
        // A small history: its lifts do not survive a standard error's discount.
        AdaptiveSettings {
            lift_standard_errors: 0.0,
            ..AdaptiveSettings::default()
        },
    );
    let a = run_policy(&p, &champion, &settings(9));
    let b = run_policy(&p, &champion, &settings(9));
    let json = |j: &[recoup_journey::run::AccountJourney]| serde_json::to_string(j).unwrap();
    assert_eq!(json(&a), json(&b), "same seed, same journeys");
    assert_ne!(json(&a), json(&run_policy(&p, &champion, &settings(10))));

    for (name, journeys) in [
        ("champion", a),
        ("adaptive", run_policy(&p, &adaptive, &settings(9))),
    ] {
        let o = recoup_journey::Outcome::of(&journeys, &c);
        assert_eq!(
            o.violations,
            0,
            "{name}: {:?}",
            journeys
                .iter()
                .flat_map(|j| &j.violations)
                .take(5)
                .collect::<Vec<_>>()
        );
        assert_eq!(o.contacts_after_opt_out, 0, "{name}");
        assert!(o.contacts > 500, "{name}: {} contacts", o.contacts);
        assert!(o.arrangements > 0, "{name}: {o:?}");
        // Stop after arrangement: nothing is sent while one runs.
        for j in &journeys {
            for arr in &j.log.arrangements {
                assert!(
                    j.log
                        .contacts
                        .iter()
                        .all(|c| c.day <= arr.start || arr.end.is_some_and(|e| c.day > e)),
                    "{name}: account {} contacted during an arrangement",
                    j.account
                );
            }
        }
    }
}

/// Proposes one SMS reminder on day 3 to one account only.
struct OneSms {
    account: u32,
    sms: u16,
}

impl Policy for OneSms {
    type State = ();
    fn name(&self) -> &str {
        "one_sms"
    }
    fn decide(&self, view: &AccountView<'_>, _: &mut (), _: &Allowed<'_>) -> Option<Proposal> {
        (view.index == self.account && view.day == 3).then_some(Proposal {
            treatment: self.sms,
            hour: 10,
        })
    }
}

#[test]
fn common_random_numbers_leave_untouched_accounts_as_they_were() {
    let p = portfolio();
    let c = catalog();
    let target = p
        .accounts
        .iter()
        .find(|a| a.consent[0] && !a.dnc && a.status == AccountStatus::Open)
        .unwrap()
        .index;
    let none = run_policy(&p, &NoContact, &settings(3));
    let one = run_policy(
        &p,
        &OneSms {
            account: target,
            sms: id(&c, "sms_reminder"),
        },
        &settings(3),
    );
    let mut touched = 0;
    for (a, b) in none.iter().zip(&one) {
        if a.account == target {
            assert_eq!(b.log.contacts.len(), 1);
            touched += 1;
        } else {
            assert_eq!(a.log, b.log, "account {}", a.account);
        }
    }
    assert_eq!(touched, 1);
}

#[test]
fn a_segment_s_own_journey_is_chosen_before_the_stage_s() {
    use recoup_journey::portfolio::{Quadrant, Stage};
    let c = catalog();
    let text = "[[journey]]\nstage = \"mid\"\nrestart_after_days = 7\n[[journey.step]]\nwait_days = 0\ntreatments = [\"call_reminder\"]\n\n[[journey]]\nstage = \"mid\"\nsegment = \"willing_but_unable\"\nrestart_after_days = 7\n[[journey.step]]\nwait_days = 0\ntreatments = [\"sms_plan_3m\"]\n";
    let t = JourneyTemplates::parse(text, std::path::Path::new("j.toml"), &c).unwrap();
    let first = |q| t.journey(Stage::Mid, q).unwrap().steps[0].options[0].0;
    assert_eq!(first(Quadrant::WillingButUnable), id(&c, "sms_plan_3m"));
    assert_eq!(first(Quadrant::Neither), id(&c, "call_reminder"));
    assert!(t.journey(Stage::Late, Quadrant::Neither).is_none());
    let twice = format!("{text}{}", &text[text.find("\n\n").unwrap()..]);
    let e = JourneyTemplates::parse(&twice, std::path::Path::new("j.toml"), &c).unwrap_err();
    assert!(
        e.to_string()
            .contains("`mid / willing_but_unable` has two journeys"),
        "{e}"
    );
}

#[test]
fn templates_naming_unknown_treatments_or_bad_hours_are_refused() {
    let c = catalog();
    let bad = "[[journey]]\nstage = \"early\"\nrestart_after_days = 5\n[[journey.step]]\nwait_days = 0\ntreatments = [\"fax_reminder\"]\n";
    let e = JourneyTemplates::parse(bad, std::path::Path::new("j.toml"), &c).unwrap_err();
    assert!(
        e.to_string()
            .contains("j.toml: journey `early`, step 1: treatment `fax_reminder`"),
        "{e}"
    );
    let late = bad.replace("fax_reminder\"]", "sms_reminder\"]\nhour = 22");
    let e = JourneyTemplates::parse(&late, std::path::Path::new("j.toml"), &c).unwrap_err();
    assert!(e.to_string().contains("hour = 22"), "{e}");
    assert!(JourneyTemplates::default_templates(&c).is_ok());
}

#[test]
fn a_larger_book_s_history_leaves_the_journey_accounts_as_they_were() {
    let sim = recoup_sim::SimConfig {
        accounts: 1_500,
        months: 6,
        seed: 5,
        ..Default::default()
    };
    let own = Portfolio::simulate(&sim, &catalog()).unwrap();
    let book = Portfolio::simulate_with_history(&sim, &catalog(), 4_000).unwrap();
    assert!(
        book.history.len() > 2 * own.history.len(),
        "{} decisions in the book's history, {} in the portfolio's",
        book.history.len(),
        own.history.len()
    );
    assert_eq!(own.accounts.len(), book.accounts.len());
    for (a, b) in own.accounts.iter().zip(&book.accounts) {
        assert_eq!(
            (a.index, a.balance, a.arrears, a.segment),
            (b.index, b.balance, b.arrears, b.segment)
        );
    }
    let champion = Champion {
        templates: JourneyTemplates::default_templates(&catalog()).unwrap(),
        personal: None,
    };
    let (x, y) = (
        run_policy(&own, &champion, &settings(9)),
        run_policy(&book, &champion, &settings(9)),
    );
    assert!(x.iter().zip(&y).all(|(a, b)| a.log == b.log));
    let err = Portfolio::simulate_with_history(&sim, &catalog(), 1_000).unwrap_err();
    assert!(err.to_string().contains("history_accounts"), "{err}");
    assert!(err.to_string().contains("1000"), "{err}");
}

#[test]
fn the_adaptive_policy_charges_each_channel_its_opt_out_risk() {
    let c = catalog();
    let stage = recoup_journey::portfolio::Stage::Mid.index();
    let mut lift =
        vec![vec![None; c.treatments.len()]; recoup_journey::portfolio::Stage::ALL.len()];
    // An e-mail and an SMS reminder that are worth the same, but customers opt out of e-mail
    // one time in ten.
    lift[stage][id(&c, "email_reminder") as usize] = Some(0.2);
    lift[stage][id(&c, "sms_reminder") as usize] = Some(0.2);
    let mut values = recoup_journey::adaptive::LearntValues {
        lift,
        response_rate: [0.2; 5],
        best_hour: [12; 5],
        opt_out_rate: [0.0; 5],
    };
    values.opt_out_rate[Channel::Email.index()] = 0.1;
    let decide = |values: &recoup_journey::adaptive::LearntValues, opt_out_cost: f64| {
        let policy = Adaptive {
            values: values.clone(),
            settings: AdaptiveSettings {
                opt_out_cost,
                ..Default::default()
            },
            catalog: c.clone(),
        };
        let (log, observed) = (AccountLog::default(), Observed::default());
        let v = view(0, &log, &observed);
        let rules = JourneyRules::default();
        let allowed = Allowed {
            rules: &rules,
            catalog: &c,
            view: &v,
        };
        policy
            .decide(&v, &mut (), &allowed)
            .map(|p| c.treatments[p.treatment as usize].id.clone())
    };
    // Without the charge, the cheaper e-mail wins; with it, the SMS.
    assert_eq!(decide(&values, 0.0).as_deref(), Some("email_reminder"));
    assert_eq!(decide(&values, 200.0).as_deref(), Some("sms_reminder"));
    // A charge larger than any gain: no contact at all.
    values.opt_out_rate = [0.1; 5];
    assert_eq!(decide(&values, 1_000.0), None);
}

#[test]
fn template_steps_branch_on_broken_promises_and_payments() {
    use recoup_journey::env::{PaymentEvent, PaymentReason};
    let c = catalog();
    let text = "[[journey]]\nstage = \"mid\"\nrestart_after_days = 30\n\
        [[journey.step]]\nwait_days = 0\ntreatments = [\"letter_reminder\"]\n\
        [[journey.step]]\nwait_days = 10\nwhen = \"broken_promise\"\ntreatments = [\"call_plan_6m\"]\n\
        [[journey.step]]\nwait_days = 0\nwhen = \"unpaid\"\ntreatments = [\"sms_reminder\"]\n\
        [[journey.step]]\nwait_days = 0\nwhen = \"paid\"\ntreatments = [\"email_reminder\"]\n";
    let champion = Champion {
        templates: JourneyTemplates::parse(text, std::path::Path::new("j.toml"), &c).unwrap(),
        personal: None,
    };
    let rules = JourneyRules::default();
    let observed = Observed::default();
    // Day 0 starts the journey with its letter; day 10 takes the branches that hold.
    let day_ten = |kept: bool, paid: bool| {
        let mut state = Default::default();
        let empty = AccountLog::default();
        let v = view(0, &empty, &observed);
        let allowed = Allowed {
            rules: &rules,
            catalog: &c,
            view: &v,
        };
        let first = champion.decide(&v, &mut state, &allowed).unwrap();
        assert_eq!(first.treatment, id(&c, "letter_reminder"));
        let log = AccountLog {
            contacts: vec![contact(&c, 0, "letter_reminder", ContactOutcome::Sent)],
            promises: vec![PromiseEvent {
                made: 2,
                due: 6,
                amount: 100.0,
                kept: Some(kept),
            }],
            payments: if paid {
                vec![PaymentEvent {
                    day: 6,
                    amount: 100.0,
                    reason: PaymentReason::Promise,
                    reversed: false,
                }]
            } else {
                Vec::new()
            },
            ..Default::default()
        };
        let v = view(10, &log, &observed);
        let allowed = Allowed {
            rules: &rules,
            catalog: &c,
            view: &v,
        };
        let chosen = champion.decide(&v, &mut state, &allowed);
        chosen.map(|p| c.treatments[p.treatment as usize].id.clone())
    };
    assert_eq!(day_ten(false, false).as_deref(), Some("call_plan_6m"));
    assert_eq!(day_ten(true, true).as_deref(), Some("email_reminder"));
    assert_eq!(day_ten(true, false).as_deref(), Some("sms_reminder"));
    let bad = text.replace("\"broken_promise\"", "\"promised\"");
    let e = JourneyTemplates::parse(&bad, std::path::Path::new("j.toml"), &c).unwrap_err();
    assert!(e.to_string().contains("promised"), "{e}");
}
