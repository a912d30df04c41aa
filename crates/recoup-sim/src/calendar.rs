//! Dates of the simulation and local-time conversion.

use chrono::{Months, NaiveDate, Offset as _, TimeZone as _};
use chrono_tz::Tz;

/// Month boundaries: `as_of[m]` is the first instant of month `m`; `as_of[months]` is the export.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub start: NaiveDate,
    pub months: u32,
    pub as_of: Vec<NaiveDate>,
    /// Day index (from `start`) of each as-of date.
    pub as_of_day: Vec<i32>,
}

/// Day of the month (0-based offset from the as-of date) on which instalments fall due.
pub const DUE_OFFSET_DAYS: i32 = 14;

impl Calendar {
    pub fn new(start: NaiveDate, months: u32) -> Self {
        let as_of: Vec<NaiveDate> = (0..=months)
            .map(|m| month_start(start, i64::from(m)))
            .collect();
        let as_of_day = as_of
            .iter()
            .map(|d| (*d - start).num_days() as i32)
            .collect();
        Self {
            start,
            months,
            as_of,
            as_of_day,
        }
    }

    pub fn days(&self) -> i32 {
        self.as_of_day[self.months as usize]
    }

    pub fn month_len(&self, m: usize) -> i32 {
        self.as_of_day[m + 1] - self.as_of_day[m]
    }

    /// Days past due at as-of `m` for an account `missed` instalments behind.
    pub fn days_past_due(&self, m: usize, missed: u32) -> i32 {
        if missed == 0 {
            return 0;
        }
        let due = month_start(self.start, m as i64 - i64::from(missed))
            + chrono::Days::new(DUE_OFFSET_DAYS as u64);
        (self.as_of[m] - due).num_days() as i32
    }

    pub fn date_of_day(&self, day: i32) -> NaiveDate {
        self.start + chrono::Days::new(day as u64)
    }
}

/// `start` moved by `m` months (negative goes back).
pub fn month_start(start: NaiveDate, m: i64) -> NaiveDate {
    if m >= 0 {
        start.checked_add_months(Months::new(m as u32))
    } else {
        start.checked_sub_months(Months::new((-m) as u32))
    }
    .expect("dates within the simulated range")
}

/// The time zones customers live in, with population weights and ISO 3166-2 regions.
pub const ZONES: &[(&str, f64, &[&str])] = &[
    (
        "America/New_York",
        0.47,
        &[
            "US-NY", "US-FL", "US-PA", "US-OH", "US-GA", "US-NC", "US-MI", "US-NJ", "US-VA",
            "US-MA",
        ],
    ),
    (
        "America/Chicago",
        0.29,
        &[
            "US-TX", "US-IL", "US-MN", "US-WI", "US-MO", "US-TN", "US-AL", "US-LA",
        ],
    ),
    ("America/Denver", 0.06, &["US-CO", "US-UT", "US-NM"]),
    ("America/Phoenix", 0.02, &["US-AZ"]),
    (
        "America/Los_Angeles",
        0.15,
        &["US-CA", "US-WA", "US-OR", "US-NV"],
    ),
    ("America/Anchorage", 0.005, &["US-AK"]),
    ("Pacific/Honolulu", 0.005, &["US-HI"]),
];

/// UTC offsets of every zone for every local hour of every simulated day, so converting a
/// local time is a table look-up (daylight-saving changes included).
#[derive(Debug, Clone)]
pub struct LocalTime {
    epoch_day: i64,
    days: usize,
    /// `[zone][day][hour]` -> seconds to subtract from local time to get UTC.
    offsets: Vec<i32>,
}

impl LocalTime {
    pub fn new(cal: &Calendar) -> Self {
        let days = cal.days() as usize + 2;
        let mut offsets = Vec::with_capacity(ZONES.len() * days * 24);
        for (name, _, _) in ZONES {
            let tz: Tz = name.parse().expect("zone names are valid");
            for d in 0..days {
                let date = cal.start + chrono::Days::new(d as u64);
                for h in 0..24u32 {
                    let naive = date.and_hms_opt(h, 0, 0).expect("valid hour");
                    // A local hour skipped by a DST change is read as the hour after it.
                    let local = tz
                        .from_local_datetime(&naive)
                        .earliest()
                        .or_else(|| {
                            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                                .earliest()
                        })
                        .expect("one of two consecutive hours exists");
                    offsets.push(local.offset().fix().local_minus_utc());
                }
            }
        }
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        Self {
            epoch_day: (cal.start - epoch).num_days(),
            days,
            offsets,
        }
    }

    /// Microseconds since the UTC epoch of local `hour:minute` on simulation day `day` in `zone`.
    pub fn to_utc_micros(&self, zone: usize, day: i32, hour: u32, minute: u32) -> i64 {
        let d = (day.max(0) as usize).min(self.days - 1);
        let offset = self.offsets[(zone * self.days + d) * 24 + hour as usize];
        let local_secs = (self.epoch_day + i64::from(day)) * 86_400
            + i64::from(hour) * 3600
            + i64::from(minute) * 60;
        (local_secs - i64::from(offset)) * 1_000_000
    }
}

pub use recoup_io::convert::date_to_days as days_since_epoch;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn local_time_follows_daylight_saving() {
        let cal = Calendar::new(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), 12);
        let lt = LocalTime::new(&cal);
        let ny = 0;
        // 2026-01-15 10:00 in New York is 15:00 UTC (EST); 2026-07-15 10:00 is 14:00 UTC (EDT).
        let jan = (NaiveDate::from_ymd_opt(2026, 1, 15).unwrap() - cal.start).num_days() as i32;
        let jul = (NaiveDate::from_ymd_opt(2026, 7, 15).unwrap() - cal.start).num_days() as i32;
        let t = DateTime::from_timestamp_micros(lt.to_utc_micros(ny, jan, 10, 0)).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-15T15:00:00+00:00");
        let t = DateTime::from_timestamp_micros(lt.to_utc_micros(ny, jul, 10, 0)).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-07-15T14:00:00+00:00");
        // Phoenix has no DST: 10:00 is 17:00 UTC all year.
        let t = DateTime::from_timestamp_micros(lt.to_utc_micros(3, jul, 10, 0)).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-07-15T17:00:00+00:00");
    }

    #[test]
    fn days_past_due_by_missed_instalments() {
        let cal = Calendar::new(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), 12);
        assert_eq!(cal.days_past_due(3, 0), 0);
        // As of 2026-04-01, one missed due (2026-03-15) is 17 days late.
        assert_eq!(cal.days_past_due(3, 1), 17);
        assert_eq!(cal.days_past_due(3, 2), 17 + 28);
        assert!((150..180).contains(&cal.days_past_due(8, 6)));
        // Before the first simulated month as well.
        assert_eq!(cal.days_past_due(0, 1), 17);
    }
}
