//! What a policy is: each day, for each account, the treatment to apply (or none) and the local
//! hour, from what is observable. Per-account memory is the policy's own `State`.

use recoup_core::TreatmentCatalog;

use crate::env::AccountView;
use crate::rules::{JourneyRules, Rule};

/// A contact a policy wants made today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proposal {
    /// Catalog index.
    pub treatment: u16,
    /// Local hour.
    pub hour: u8,
}

/// The rules as a policy sees them: whether a proposal would pass today.
#[derive(Debug, Clone, Copy)]
pub struct Allowed<'a> {
    pub rules: &'a JourneyRules,
    pub catalog: &'a TreatmentCatalog,
    pub view: &'a AccountView<'a>,
}

impl Allowed<'_> {
    pub fn check(&self, p: Proposal) -> Result<(), Rule> {
        self.rules
            .check(self.view, self.catalog, p.treatment, p.hour)
    }
}

/// A journey policy. `Sync`: one policy serves every account, in parallel; its per-account
/// memory is `State`.
pub trait Policy: Sync {
    type State: Default + Send;

    fn name(&self) -> &str;

    /// Today's contact for this account, if any. The runner checks the proposal against the
    /// rules again and counts a refusal as a blocked proposal.
    fn decide(
        &self,
        view: &AccountView<'_>,
        state: &mut Self::State,
        allowed: &Allowed<'_>,
    ) -> Option<Proposal>;
}

/// Nobody is contacted: the portfolio as it would run on its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContact;

impl Policy for NoContact {
    type State = ();

    fn name(&self) -> &str {
        "none"
    }

    fn decide(&self, _: &AccountView<'_>, _: &mut (), _: &Allowed<'_>) -> Option<Proposal> {
        None
    }
}

/// The default send hour of a channel for policies that know nothing better: digital at 10:00,
/// letters at 09:00, calls at 11:00.
pub fn default_hour(channel: recoup_core::Channel) -> u8 {
    match channel {
        recoup_core::Channel::Letter => 9,
        recoup_core::Channel::Call => 11,
        _ => 10,
    }
}
