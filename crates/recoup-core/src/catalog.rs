//! The treatment catalog: what the collections team can do for an account.
//!
//! Stored as TOML, one `[[treatment]]` table per treatment:
//!
//! ```toml
//! [[treatment]]
//! id = "sms_plan_3m"
//! channel = "sms"
//! kind = "payment_plan"
//! plan_months = 3          # payment_plan only
//! # discount_pct = 40      # settlement only
//! unit_cost = 0.03
//! min_dpd = 30
//! max_dpd = 179            # omit for no upper limit
//! products = ["card"]      # omit for every product
//! description = "Text offering to spread the arrears over three months"
//! ```
//!
//! The catalog recoup ships with is [`TreatmentCatalog::default_catalog`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ContractError;
use crate::vocab::{Channel, Product, TreatmentKind};

/// What a treatment offers, with the offer's terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offer {
    Reminder,
    /// Spread the arrears over `months` instalments.
    PaymentPlan {
        months: u32,
    },
    /// Settle the whole balance for `(100 - discount_pct)%` of it.
    Settlement {
        discount_pct: f64,
    },
    HardshipReferral,
    NoContact,
}

impl Offer {
    pub const fn kind(&self) -> TreatmentKind {
        match self {
            Offer::Reminder => TreatmentKind::Reminder,
            Offer::PaymentPlan { .. } => TreatmentKind::PaymentPlan,
            Offer::Settlement { .. } => TreatmentKind::Settlement,
            Offer::HardshipReferral => TreatmentKind::HardshipReferral,
            Offer::NoContact => TreatmentKind::NoContact,
        }
    }
}

/// Which accounts a treatment may be applied to.
#[derive(Debug, Clone, PartialEq)]
pub struct Eligibility {
    pub min_dpd: i32,
    /// Inclusive; `None` means no upper limit.
    pub max_dpd: Option<i32>,
    /// Empty means every product.
    pub products: Vec<Product>,
}

impl Eligibility {
    pub fn allows(&self, dpd: i32, product: Product) -> bool {
        dpd >= self.min_dpd
            && self.max_dpd.is_none_or(|m| dpd <= m)
            && (self.products.is_empty() || self.products.contains(&product))
    }
}

/// One treatment of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Treatment {
    pub id: String,
    pub channel: Channel,
    pub offer: Offer,
    /// Cost of applying the treatment once, in the account's currency.
    pub unit_cost: f64,
    pub eligibility: Eligibility,
    pub description: String,
}

/// The set of treatments, in catalog order.
#[derive(Debug, Clone, PartialEq)]
pub struct TreatmentCatalog {
    pub treatments: Vec<Treatment>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    treatment: Vec<RawTreatment>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTreatment {
    id: String,
    channel: Channel,
    kind: TreatmentKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan_months: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    discount_pct: Option<f64>,
    unit_cost: f64,
    #[serde(default)]
    min_dpd: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_dpd: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    products: Vec<Product>,
    #[serde(default)]
    description: String,
}

const DEFAULT_CATALOG: &str = include_str!("default_catalog.toml");

impl TreatmentCatalog {
    /// The catalog recoup ships with (`default_catalog.toml` in this crate).
    pub fn default_catalog() -> Self {
        Self::from_toml_str(DEFAULT_CATALOG, Path::new("<built-in catalog>"))
            .expect("the built-in catalog is valid (checked by a unit test)")
    }

    pub fn load(path: &Path) -> Result<Self, ContractError> {
        let text = std::fs::read_to_string(path).map_err(|e| ContractError::io(path, e))?;
        Self::from_toml_str(&text, path)
    }

    /// Parses and checks a catalog; `file` is only used in error messages.
    pub fn from_toml_str(text: &str, file: &Path) -> Result<Self, ContractError> {
        let raw: RawCatalog = toml::from_str(text).map_err(|e| ContractError::Toml {
            file: file.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut seen = HashSet::new();
        let mut treatments = Vec::with_capacity(raw.treatment.len());
        for r in raw.treatment {
            let bad = |reason: String| ContractError::Catalog {
                file: file.to_path_buf(),
                treatment: r.id.clone(),
                reason,
            };
            if r.id.trim().is_empty() {
                return Err(bad("`id` is empty".into()));
            }
            if !seen.insert(r.id.clone()) {
                return Err(bad("`id` appears more than once".into()));
            }
            let offer = match (r.kind, r.plan_months, r.discount_pct) {
                (TreatmentKind::PaymentPlan, Some(m), None) if (2..=60).contains(&m) => {
                    Offer::PaymentPlan { months: m }
                }
                (TreatmentKind::PaymentPlan, Some(m), None) => {
                    return Err(bad(format!("`plan_months` = {m}, expected 2 to 60")));
                }
                (TreatmentKind::PaymentPlan, None, _) => {
                    return Err(bad("kind `payment_plan` needs `plan_months`".into()));
                }
                (TreatmentKind::Settlement, None, Some(d)) if d > 0.0 && d < 100.0 => {
                    Offer::Settlement { discount_pct: d }
                }
                (TreatmentKind::Settlement, None, Some(d)) => {
                    return Err(bad(format!(
                        "`discount_pct` = {d}, expected more than 0 and less than 100"
                    )));
                }
                (TreatmentKind::Settlement, _, None) => {
                    return Err(bad("kind `settlement` needs `discount_pct`".into()));
                }
                (kind, Some(_), _) => {
                    return Err(bad(format!(
                        "`plan_months` is only for `payment_plan`, not `{kind}`"
                    )));
                }
                (kind, _, Some(_)) => {
                    return Err(bad(format!(
                        "`discount_pct` is only for `settlement`, not `{kind}`"
                    )));
                }
                (TreatmentKind::Reminder, None, None) => Offer::Reminder,
                (TreatmentKind::HardshipReferral, None, None) => Offer::HardshipReferral,
                (TreatmentKind::NoContact, None, None) => Offer::NoContact,
            };
            if (offer == Offer::NoContact) != (r.channel == Channel::None) {
                return Err(bad(format!(
                    "kind `{}` with channel `{}`: `no_contact` goes with channel `none` and only with it",
                    r.kind, r.channel
                )));
            }
            if !(r.unit_cost.is_finite() && r.unit_cost >= 0.0) {
                return Err(bad(format!(
                    "`unit_cost` = {}, expected a finite amount >= 0",
                    r.unit_cost
                )));
            }
            if r.min_dpd < 0 {
                return Err(bad(format!("`min_dpd` = {}, expected >= 0", r.min_dpd)));
            }
            if let Some(max) = r.max_dpd
                && max < r.min_dpd
            {
                return Err(bad(format!(
                    "`max_dpd` = {max} is below `min_dpd` = {}",
                    r.min_dpd
                )));
            }
            treatments.push(Treatment {
                id: r.id,
                channel: r.channel,
                offer,
                unit_cost: r.unit_cost,
                eligibility: Eligibility {
                    min_dpd: r.min_dpd,
                    max_dpd: r.max_dpd,
                    products: r.products,
                },
                description: r.description,
            });
        }
        if treatments.is_empty() {
            return Err(ContractError::Catalog {
                file: file.to_path_buf(),
                treatment: String::new(),
                reason: "the catalog has no `[[treatment]]`".into(),
            });
        }
        Ok(Self { treatments })
    }

    /// The catalog as TOML, in the form [`Self::from_toml_str`] reads.
    pub fn to_toml_string(&self) -> String {
        let raw = RawCatalog {
            treatment: self
                .treatments
                .iter()
                .map(|t| RawTreatment {
                    id: t.id.clone(),
                    channel: t.channel,
                    kind: t.offer.kind(),
                    plan_months: match t.offer {
                        Offer::PaymentPlan { months } => Some(months),
                        _ => None,
                    },
                    discount_pct: match t.offer {
                        Offer::Settlement { discount_pct } => Some(discount_pct),
                        _ => None,
                    },
                    unit_cost: t.unit_cost,
                    min_dpd: t.eligibility.min_dpd,
                    max_dpd: t.eligibility.max_dpd,
                    products: t.eligibility.products.clone(),
                    description: t.description.clone(),
                })
                .collect(),
        };
        toml::to_string(&raw).expect("a catalog always serialises")
    }

    pub fn get(&self, id: &str) -> Option<&Treatment> {
        self.treatments.iter().find(|t| t.id == id)
    }

    pub fn position(&self, id: &str) -> Option<usize> {
        self.treatments.iter().position(|t| t.id == id)
    }

    /// The path conventionally holding the catalog in a raw folder.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join("treatments.toml")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_is_valid_and_round_trips() {
        let c = TreatmentCatalog::default_catalog();
        assert!(c.treatments.iter().any(|t| t.offer == Offer::NoContact));
        let again = TreatmentCatalog::from_toml_str(&c.to_toml_string(), Path::new("x")).unwrap();
        assert_eq!(c, again);
    }

    fn err(text: &str) -> String {
        TreatmentCatalog::from_toml_str(text, Path::new("cat.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_catalogs_name_the_treatment_and_field() {
        let e = err("[[treatment]]\nid='p'\nchannel='sms'\nkind='payment_plan'\nunit_cost=1.0\n");
        assert!(
            e.contains("cat.toml") && e.contains("`p`") && e.contains("plan_months"),
            "{e}"
        );
        let e = err(
            "[[treatment]]\nid='s'\nchannel='sms'\nkind='settlement'\ndiscount_pct=140\nunit_cost=1.0\n",
        );
        assert!(e.contains("discount_pct") && e.contains("140"), "{e}");
        let e = err("[[treatment]]\nid='n'\nchannel='sms'\nkind='no_contact'\nunit_cost=0.0\n");
        assert!(e.contains("none"), "{e}");
        let e = err("[[treatment]]\nid='x'\nchannel='fax'\nkind='reminder'\nunit_cost=0.0\n");
        assert!(e.contains("fax"), "{e}");
        let e = err(
            "[[treatment]]\nid='a'\nchannel='sms'\nkind='reminder'\nunit_cost=1.0\n[[treatment]]\nid='a'\nchannel='sms'\nkind='reminder'\nunit_cost=1.0\n",
        );
        assert!(e.contains("more than once"), "{e}");
        let e = err(
            "[[treatment]]\nid='d'\nchannel='sms'\nkind='reminder'\nunit_cost=1.0\nmin_dpd=30\nmax_dpd=10\n",
        );
        assert!(e.contains("max_dpd"), "{e}");
    }

    #[test]
    fn eligibility() {
        let e = Eligibility {
            min_dpd: 30,
            max_dpd: Some(179),
            products: vec![Product::Card],
        };
        assert!(e.allows(30, Product::Card));
        assert!(!e.allows(29, Product::Card));
        assert!(!e.allows(180, Product::Card));
        assert!(!e.allows(60, Product::Utility));
    }
}
