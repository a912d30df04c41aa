//! Segments as an input to the ranking: a segment policy names, per segment, treatments its
//! accounts are not offered (for example no settlement offers to `willing_and_able` accounts,
//! who pay in full). Excluded options are reported with rule `segment_policy`, like any rule.
//!
//! ```toml
//! [[segment]]
//! name = "willing_and_able"
//! exclude = ["email_settlement_30", "letter_settlement_40"]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use recoup_core::{Channel, TreatmentCatalog};
use serde::{Deserialize, Serialize};

use crate::error::ScoreError;

/// Rule name of the exclusions a segment policy makes.
pub const RULE: &str = "segment_policy";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    segment: Vec<SegmentEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentEntry {
    name: String,
    exclude: Vec<String>,
}

/// Treatments excluded per segment, by catalog id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentPolicy {
    pub source: PathBuf,
    pub exclude: BTreeMap<String, Vec<String>>,
}

impl SegmentPolicy {
    /// Reads a policy file; every treatment must be in `catalog` and none may be the
    /// no-contact baseline.
    pub fn load(path: &Path, catalog: &TreatmentCatalog) -> Result<Self, ScoreError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| recoup_core::FileError::new(path, e))?;
        Self::parse(&text, path, catalog)
    }

    pub fn parse(text: &str, path: &Path, catalog: &TreatmentCatalog) -> Result<Self, ScoreError> {
        let bad = |row: usize, column: &str, value: String| ScoreError::InvalidValue {
            file: path.to_path_buf(),
            column: column.into(),
            row,
            value,
        };
        let file: PolicyFile = toml::from_str(text).map_err(|e| ScoreError::SegmentPolicy {
            file: path.to_path_buf(),
            message: e.message().to_owned(),
        })?;
        let mut exclude = BTreeMap::new();
        for (k, s) in file.segment.into_iter().enumerate() {
            if s.name.trim().is_empty() {
                return Err(bad(k + 1, "name", "an empty segment name".into()));
            }
            let mut ids = Vec::with_capacity(s.exclude.len());
            for id in &s.exclude {
                let Some(i) = catalog.treatments.iter().position(|t| &t.id == id) else {
                    return Err(bad(
                        k + 1,
                        "exclude",
                        format!(
                            "segment `{}`: `{id}` is not in the treatment catalog",
                            s.name
                        ),
                    ));
                };
                if catalog.treatments[i].channel == Channel::None {
                    return Err(bad(
                        k + 1,
                        "exclude",
                        format!(
                            "segment `{}`: `{id}` is the no-contact baseline, which every account keeps",
                            s.name
                        ),
                    ));
                }
                ids.push(id.clone());
            }
            if exclude.insert(s.name.clone(), ids).is_some() {
                return Err(bad(
                    k + 1,
                    "name",
                    format!("segment `{}` appears twice", s.name),
                ));
            }
        }
        Ok(Self {
            source: path.to_path_buf(),
            exclude,
        })
    }

    /// Whether `segment`'s accounts are refused the treatment with catalog id `treatment`.
    pub fn excludes(&self, segment: &str, treatment: &str) -> bool {
        self.exclude
            .get(segment)
            .is_some_and(|ts| ts.iter().any(|t| t == treatment))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<SegmentPolicy, ScoreError> {
        SegmentPolicy::parse(
            text,
            Path::new("policy.toml"),
            &TreatmentCatalog::default_catalog(),
        )
    }

    #[test]
    fn a_policy_names_treatments_per_segment() {
        let p = parse(
            "[[segment]]\nname = \"willing_and_able\"\nexclude = [\"email_settlement_30\", \"letter_settlement_40\"]\n[[segment]]\nname = \"neither\"\nexclude = []\n",
        )
        .unwrap();
        assert!(p.excludes("willing_and_able", "letter_settlement_40"));
        assert!(!p.excludes("willing_and_able", "sms_reminder"));
        assert!(!p.excludes("neither", "letter_settlement_40"));
        assert!(!p.excludes("other", "letter_settlement_40"));
    }

    #[test]
    fn bad_policies_name_the_file_segment_and_value() {
        let e = parse("[[segment]]\nname = \"neither\"\nexclude = [\"fax_reminder\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("policy.toml") && e.contains("neither") && e.contains("fax_reminder"),
            "{e}"
        );
        let e = parse("[[segment]]\nname = \"neither\"\nexclude = [\"no_contact\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no-contact baseline"), "{e}");
        let e = parse(
            "[[segment]]\nname = \"a\"\nexclude = []\n[[segment]]\nname = \"a\"\nexclude = []\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("appears twice") && e.contains("row 2"), "{e}");
        let e = parse("[[segment]]\nname = \"a\"\nexclud = []\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("policy.toml") && e.contains("exclud"), "{e}");
    }
}
