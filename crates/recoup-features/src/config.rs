//! Feature-extraction settings (TOML, every key optional).

use serde::{Deserialize, Serialize};

use crate::error::FeatureError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeatureConfig {
    /// Look-back windows, in days, of the windowed counts and sums (at most 365).
    pub windows_days: Vec<u32>,
    /// Days after the as-of instant that labels look at.
    pub label_horizon_days: u32,
    /// Weight, in pseudo-contacts, of the portfolio-wide response rate in each account's
    /// smoothed per-channel response rate.
    pub rate_prior_strength: f64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            windows_days: vec![30, 90, 180, 365],
            label_horizon_days: 30,
            rate_prior_strength: 5.0,
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
        Ok(())
    }

    /// The longest look-back window: no event older than this feeds a feature.
    pub fn max_window(&self) -> u32 {
        self.windows_days.iter().copied().max().unwrap_or(365)
    }
}
