//! Feature-extraction settings (TOML, every key optional).

use serde::{Deserialize, Serialize};

use crate::error::FeatureError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureConfig {
    /// As-of dates: `YYYY-MM-DD`, or `FROM..TO` stepped monthly; the export date when absent.
    /// `recoup features --asof` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asof: Option<String>,
    /// Look-back windows, in days, of the windowed counts and sums (at most 365).
    pub windows_days: Vec<u32>,
    /// Days after the as-of instant that labels look at.
    pub label_horizon_days: u32,
    /// Weight, in pseudo-contacts, of the portfolio-wide response rate in each account's
    /// smoothed per-channel response rate.
    pub rate_prior_strength: f64,
    /// Contact table: account features come from snapshots taken every this many days
    /// (00:00 UTC of days divisible by it since 1970-01-01), the latest one at or before each
    /// contact. 1 makes them exact to the day; larger values are faster and staler.
    pub contact_snapshot_every_days: u32,
    /// Contact table: days after a contact in which a promise or a payment counts as its
    /// outcome, per channel.
    pub contact_label_days: ContactLabelDays,
}

/// The outcome window of each channel, in days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContactLabelDays {
    pub sms: u32,
    pub email: u32,
    pub call: u32,
    pub letter: u32,
    pub push: u32,
    /// For logged decisions not to contact: the no-contact baseline.
    pub none: u32,
}

impl Default for ContactLabelDays {
    fn default() -> Self {
        // Messages are read within days; a letter takes days to arrive and be acted on.
        Self {
            sms: 7,
            email: 7,
            call: 7,
            letter: 14,
            push: 7,
            none: 7,
        }
    }
}

impl ContactLabelDays {
    pub fn get(&self, channel: recoup_core::Channel) -> u32 {
        use recoup_core::Channel::*;
        match channel {
            Sms => self.sms,
            Email => self.email,
            Call => self.call,
            Letter => self.letter,
            Push => self.push,
            None => self.none,
        }
    }
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            asof: None,
            windows_days: vec![30, 90, 180, 365],
            label_horizon_days: 30,
            rate_prior_strength: 5.0,
            contact_snapshot_every_days: 7,
            contact_label_days: ContactLabelDays::default(),
        }
    }
}

impl FeatureConfig {
    pub fn from_toml_str(text: &str, file: &std::path::Path) -> Result<Self, FeatureError> {
        toml::from_str(text).map_err(|e| FeatureError::Config {
            file: file.to_path_buf(),
            message: e.to_string(),
        })
    }

    pub fn check(&self) -> Result<(), FeatureError> {
        let bad = |field: &str, value: String, expected: &str| {
            Err(recoup_core::InvalidSetting::new(field, value, expected).into())
        };
        if self.windows_days.is_empty() || self.windows_days.iter().any(|&w| w == 0 || w > 365) {
            return bad(
                "windows_days",
                format!("{:?}", self.windows_days),
                "one or more windows of 1 to 365 days",
            );
        }
        let mut sorted = self.windows_days.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted != self.windows_days {
            return bad(
                "windows_days",
                format!("{:?}", self.windows_days),
                "increasing windows without repeats",
            );
        }
        if self.label_horizon_days == 0 || self.label_horizon_days > 365 {
            return bad(
                "label_horizon_days",
                self.label_horizon_days.to_string(),
                "1 to 365",
            );
        }
        if !(self.rate_prior_strength.is_finite() && self.rate_prior_strength > 0.0) {
            return bad(
                "rate_prior_strength",
                self.rate_prior_strength.to_string(),
                "a positive number",
            );
        }
        if self.contact_snapshot_every_days == 0 || self.contact_snapshot_every_days > 365 {
            return bad(
                "contact_snapshot_every_days",
                self.contact_snapshot_every_days.to_string(),
                "1 to 365",
            );
        }
        for &c in recoup_core::Channel::ALL {
            let d = self.contact_label_days.get(c);
            if d == 0 || d > 365 {
                return bad(
                    &format!("contact_label_days.{c}"),
                    d.to_string(),
                    "1 to 365",
                );
            }
        }
        Ok(())
    }

    /// The shortest look-back window.
    pub fn min_window(&self) -> u32 {
        self.windows_days.iter().copied().min().unwrap_or(30)
    }

    /// The longest look-back window: no event older than this feeds a feature.
    pub fn max_window(&self) -> u32 {
        self.windows_days.iter().copied().max().unwrap_or(365)
    }
}

/// Parses `YYYY-MM-DD` or `FROM..TO` (inclusive, stepped by calendar month from FROM).
pub fn parse_asof(text: &str) -> Result<Vec<chrono::NaiveDate>, FeatureError> {
    let bad = |expected: &str| {
        FeatureError::from(recoup_core::InvalidSetting::new("asof", text, expected))
    };
    let parse = |d: &str| {
        chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| bad("YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD"))
    };
    match text.split_once("..") {
        None => Ok(vec![parse(text)?]),
        Some((from, to)) => {
            let (from, to) = (parse(from)?, parse(to)?);
            if from > to {
                return Err(bad("a range whose start is not after its end"));
            }
            Ok((0..)
                .map_while(|m| {
                    from.checked_add_months(chrono::Months::new(m))
                        .filter(|d| *d <= to)
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn asof_ranges_step_monthly() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(parse_asof("2026-06-01").unwrap(), vec![d(2026, 6, 1)]);
        assert_eq!(
            parse_asof("2026-11-01..2027-01-01").unwrap(),
            vec![d(2026, 11, 1), d(2026, 12, 1), d(2027, 1, 1)]
        );
        assert!(
            parse_asof("2026-07-01..2026-06-01")
                .unwrap_err()
                .to_string()
                .contains("asof")
        );
        assert!(parse_asof("June").unwrap_err().to_string().contains("June"));
    }
}
