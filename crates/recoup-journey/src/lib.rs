//! Treatment journeys in closed loop.
//!
//! A journey is the sequence of treatments an account receives over a horizon under a policy.
//! This crate turns the simulator into a daily environment ([`env`]) that starts from a
//! simulated portfolio's accounts in collections at the export ([`portfolio`]), enforces the
//! rules that span days ([`rules`]: Regulation F call limits, weekly contact caps, a limit on
//! repeating a treatment, quiet periods after a promise, holds during arrangements, consent after opt-outs), and runs
//! policies against it with common random numbers ([`run`]): contacting nobody, the champion
//! journey templates a collections team writes ([`templates`]) and the adaptive
//! next-best-action policy ([`adaptive`]). See `docs/journeys.md`.
//!
//! ```no_run
//! use recoup_journey::{Champion, JourneyTemplates, Portfolio, RunSettings, run_policy};
//! let sim = recoup_sim::SimConfig { accounts: 2_000, ..Default::default() };
//! let catalog = recoup_core::TreatmentCatalog::default_catalog();
//! let portfolio = Portfolio::simulate(&sim, &catalog)?;
//! let champion = Champion { templates: JourneyTemplates::default_templates(&catalog)?, personal: None };
//! let settings = RunSettings { days: 60, seed: 1, env: Default::default(), rules: Default::default() };
//! let journeys = run_policy(&portfolio, &champion, &settings);
//! println!("{} accounts", journeys.len());
//! # Ok::<(), recoup_journey::JourneyError>(())
//! ```

pub mod adaptive;
pub mod compare;
pub mod env;
pub mod error;
pub mod policy;
pub mod portfolio;
pub mod report;
pub mod rules;
pub mod run;
pub mod templates;

pub use adaptive::{Adaptive, AdaptiveSettings};
pub use compare::{Comparison, PolicyKind, compare};
pub use env::EnvSettings;
pub use error::JourneyError;
pub use policy::{NoContact, Policy};
pub use portfolio::{Portfolio, Stage};
pub use rules::{JourneyRules, Rule};
pub use run::{Outcome, PolicyReport, RunSettings, run_policy};
pub use templates::{Champion, JourneyTemplates};
