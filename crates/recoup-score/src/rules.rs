//! The rules of the trade, applied to each (account, channel) before any ranking: consent per
//! channel, do-not-contact flags, US Regulation F's call frequency limits, and local contact
//! hours with a proposed send time. An exclusion names its rule, so every decision can say why
//! an option was not taken.
//!
//! Sources: Regulation F, 12 CFR 1006.14(b)(2) (a debt collector is presumed to harass when it
//! calls more than 7 times within 7 consecutive days, or within 7 days after a telephone
//! conversation about the debt) and 1006.6(b)(1)(i) (no communication before 8 a.m. or after
//! 9 p.m. at the consumer's location); see `../shared/reference/collections-base-rates.md`.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use recoup_core::Channel;

/// Rule names as they appear in decisions.
pub mod rule {
    pub const CONSENT: &str = "consent";
    pub const DO_NOT_CONTACT: &str = "do_not_contact";
    pub const REG_F_CALL_FREQUENCY: &str = "reg_f_7_calls_in_7_days";
    pub const REG_F_AFTER_CONVERSATION: &str = "reg_f_7_days_after_conversation";
    pub const CONTACT_HOURS: &str = "contact_hours";
}

/// Settings of the rules; the defaults are Regulation F's.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleSettings {
    /// First local hour a contact may start.
    pub earliest_hour: u32,
    /// Local hour by which contact must have ended (contacts start at most an hour before).
    pub latest_hour: u32,
    pub max_calls: usize,
    pub call_window_days: i64,
    pub quiet_days_after_conversation: i64,
    /// Send hour when the customer has no usual response hour.
    pub default_hour: u32,
}

impl Default for RuleSettings {
    fn default() -> Self {
        Self {
            earliest_hour: 8,
            latest_hour: 21,
            max_calls: 7,
            call_window_days: 7,
            quiet_days_after_conversation: 7,
            default_hour: 10,
        }
    }
}

/// What the rules need to know about one account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRules {
    /// Consent per channel, in [`Channel::CONTACTABLE`] order.
    pub consent: [bool; 5],
    /// Set do-not-contact flags by name (e.g. `dnc_dispute`); any stops every contact.
    pub do_not_contact: Vec<&'static str>,
    pub time_zone: Tz,
    /// Call attempts before the decision (at least those of the last `call_window_days`).
    pub call_attempts: Vec<DateTime<Utc>>,
    /// The latest telephone conversation (right-party contact by call) before the decision.
    pub last_conversation: Option<DateTime<Utc>>,
    /// The customer's usual response hour, local (0-23).
    pub usual_response_hour: Option<u32>,
}

/// Why an option was excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    pub rule: &'static str,
    pub detail: String,
}

/// An allowed contact: when to send it (`None` for no contact and for letters, which are
/// posted, not timed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub send_at: Option<DateTime<Utc>>,
    /// Local hour of `send_at`.
    pub local_hour: Option<u32>,
}

/// The instant of `hour:00` local time on `day`: the earlier of two instants in a repeated
/// hour, the first hour after a skipped one.
fn local_instant(tz: Tz, day: NaiveDate, hour: u32) -> Option<DateTime<Utc>> {
    for h in hour..24 {
        let t = day.and_time(NaiveTime::from_hms_opt(h, 0, 0)?);
        match tz.from_local_datetime(&t) {
            LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => {
                return Some(d.with_timezone(&Utc));
            }
            LocalResult::None => continue,
        }
    }
    None
}

/// Checks one channel for one account on a decision day (the customer's local date) and, if
/// allowed, proposes the send time: the customer's usual response hour moved into the allowed
/// hours.
pub fn check(
    channel: Channel,
    account: &AccountRules,
    day: NaiveDate,
    settings: &RuleSettings,
) -> Result<Allowed, Exclusion> {
    if channel == Channel::None {
        return Ok(Allowed {
            send_at: None,
            local_hour: None,
        });
    }
    if let Some(flag) = account.do_not_contact.first() {
        return Err(Exclusion {
            rule: rule::DO_NOT_CONTACT,
            detail: format!("`{flag}` is set"),
        });
    }
    let k = Channel::CONTACTABLE
        .iter()
        .position(|&c| c == channel)
        .unwrap_or_default();
    if !account.consent[k] {
        return Err(Exclusion {
            rule: rule::CONSENT,
            detail: format!("no consent for {channel}"),
        });
    }
    if channel == Channel::Letter {
        return Ok(Allowed {
            send_at: None,
            local_hour: None,
        });
    }
    let last_start = settings.latest_hour.saturating_sub(1);
    if settings.earliest_hour > last_start {
        return Err(Exclusion {
            rule: rule::CONTACT_HOURS,
            detail: format!(
                "no hour between {}:00 and {}:00",
                settings.earliest_hour, settings.latest_hour
            ),
        });
    }
    let hour = account
        .usual_response_hour
        .unwrap_or(settings.default_hour)
        .clamp(settings.earliest_hour, last_start);
    let send_at = local_instant(account.time_zone, day, hour).ok_or_else(|| Exclusion {
        rule: rule::CONTACT_HOURS,
        detail: format!("no valid local time on {day} in {}", account.time_zone),
    })?;
    let local_hour = {
        use chrono::Timelike;
        send_at.with_timezone(&account.time_zone).hour()
    };
    if local_hour < settings.earliest_hour || local_hour > last_start {
        return Err(Exclusion {
            rule: rule::CONTACT_HOURS,
            detail: format!("the only local send time on {day} is {local_hour}:00"),
        });
    }
    if channel == Channel::Call {
        let since = send_at - Duration::days(settings.call_window_days);
        let recent = account
            .call_attempts
            .iter()
            .filter(|&&t| t >= since && t < send_at)
            .count();
        if recent >= settings.max_calls {
            return Err(Exclusion {
                rule: rule::REG_F_CALL_FREQUENCY,
                detail: format!(
                    "{recent} call attempts in the {} days before {send_at}",
                    settings.call_window_days
                ),
            });
        }
        if let Some(c) = account.last_conversation
            && c < send_at
            && send_at - c < Duration::days(settings.quiet_days_after_conversation)
        {
            return Err(Exclusion {
                rule: rule::REG_F_AFTER_CONVERSATION,
                detail: format!("telephone conversation at {c}"),
            });
        }
    }
    Ok(Allowed {
        send_at: Some(send_at),
        local_hour: Some(local_hour),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountRules {
        AccountRules {
            consent: [true; 5],
            do_not_contact: Vec::new(),
            time_zone: chrono_tz::America::New_York,
            call_attempts: Vec::new(),
            last_conversation: None,
            usual_response_hour: Some(19),
        }
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn allowed_contacts_get_a_local_send_time_from_the_usual_hour() {
        let s = RuleSettings::default();
        let a = check(Channel::Sms, &account(), day(), &s).unwrap();
        // 19:00 in New York (EDT, UTC-4) is 23:00 UTC.
        assert_eq!(a.send_at, Some(utc("2026-06-15T23:00:00Z")));
        assert_eq!(a.local_hour, Some(19));
        // A usual hour of 23:00 or 06:00 moves into 08:00-20:00.
        let late = AccountRules {
            usual_response_hour: Some(23),
            ..account()
        };
        assert_eq!(
            check(Channel::Call, &late, day(), &s).unwrap().local_hour,
            Some(20)
        );
        let early = AccountRules {
            usual_response_hour: Some(6),
            ..account()
        };
        assert_eq!(
            check(Channel::Email, &early, day(), &s).unwrap().local_hour,
            Some(8)
        );
        let none = AccountRules {
            usual_response_hour: None,
            ..account()
        };
        assert_eq!(
            check(Channel::Push, &none, day(), &s).unwrap().local_hour,
            Some(10)
        );
        // Tokyo has no daylight saving: 10:00 JST is 01:00 UTC the same day.
        let tokyo = AccountRules {
            time_zone: chrono_tz::Asia::Tokyo,
            usual_response_hour: None,
            ..account()
        };
        assert_eq!(
            check(Channel::Sms, &tokyo, day(), &s).unwrap().send_at,
            Some(utc("2026-06-15T01:00:00Z"))
        );
        // Letters are posted, and "no contact" is always allowed, even under do-not-contact.
        assert_eq!(
            check(Channel::Letter, &account(), day(), &s)
                .unwrap()
                .send_at,
            None
        );
        let dnc = AccountRules {
            do_not_contact: vec!["dnc_deceased"],
            ..account()
        };
        assert!(check(Channel::None, &dnc, day(), &s).is_ok());
    }

    #[test]
    fn consent_and_do_not_contact_exclude_with_their_rule() {
        let s = RuleSettings::default();
        let mut a = account();
        a.consent[2] = false;
        assert_eq!(
            check(Channel::Call, &a, day(), &s).unwrap_err().rule,
            rule::CONSENT
        );
        assert!(check(Channel::Sms, &a, day(), &s).is_ok());
        let dnc = AccountRules {
            do_not_contact: vec!["dnc_dispute"],
            ..account()
        };
        for c in Channel::CONTACTABLE {
            let e = check(*c, &dnc, day(), &s).unwrap_err();
            assert_eq!(e.rule, rule::DO_NOT_CONTACT);
            assert!(e.detail.contains("dnc_dispute"));
        }
    }

    #[test]
    fn regulation_f_caps_calls_and_quiets_after_a_conversation() {
        let s = RuleSettings::default();
        // Send time 2026-06-15 23:00 UTC; seven attempts within the 7 days before it.
        let attempts: Vec<DateTime<Utc>> = (0..7)
            .map(|d| utc("2026-06-15T22:00:00Z") - Duration::days(d) + Duration::minutes(30))
            .collect();
        let capped = AccountRules {
            call_attempts: attempts.clone(),
            ..account()
        };
        assert_eq!(
            check(Channel::Call, &capped, day(), &s).unwrap_err().rule,
            rule::REG_F_CALL_FREQUENCY
        );
        // SMS is not a call.
        assert!(check(Channel::Sms, &capped, day(), &s).is_ok());
        // The oldest attempt falls out of the window a day later: six remain.
        let next_day = day().succ_opt().unwrap();
        let mut moved = capped.clone();
        moved.call_attempts[6] = utc("2026-06-08T22:00:00Z");
        assert!(check(Channel::Call, &moved, next_day, &s).is_ok());
        // Six attempts are allowed.
        let six = AccountRules {
            call_attempts: attempts[..6].to_vec(),
            ..account()
        };
        assert!(check(Channel::Call, &six, day(), &s).is_ok());
        // A conversation 6 days 23 hours before the send time blocks; 7 days does not.
        let talked = AccountRules {
            last_conversation: Some(utc("2026-06-09T00:00:00Z")),
            ..account()
        };
        assert_eq!(
            check(Channel::Call, &talked, day(), &s).unwrap_err().rule,
            rule::REG_F_AFTER_CONVERSATION
        );
        let long_ago = AccountRules {
            last_conversation: Some(utc("2026-06-08T23:00:00Z")),
            ..account()
        };
        assert!(check(Channel::Call, &long_ago, day(), &s).is_ok());
    }

    #[test]
    fn daylight_saving_days_keep_local_hours() {
        let s = RuleSettings::default();
        // 2026-03-08: New York springs forward at 02:00; 10:00 EDT is 14:00 UTC.
        let spring = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        let a = AccountRules {
            usual_response_hour: None,
            ..account()
        };
        assert_eq!(
            check(Channel::Sms, &a, spring, &s).unwrap().send_at,
            Some(utc("2026-03-08T14:00:00Z"))
        );
        // Hours that leave no allowed start are an exclusion by the hours rule.
        let closed = RuleSettings {
            earliest_hour: 21,
            ..RuleSettings::default()
        };
        assert_eq!(
            check(Channel::Sms, &a, spring, &closed).unwrap_err().rule,
            rule::CONTACT_HOURS
        );
    }
}
