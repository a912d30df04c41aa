//! The closed vocabularies used in the raw tables, as typed enums.
//!
//! Each enum is stored in files as its lower-case `snake_case` name (see [`Channel::as_str`]);
//! the list of accepted names is `ALL_NAMES`, which the validator and the schema share.

use std::fmt;
use std::str::FromStr;

/// A value that is not one of an enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a known {kind} (expected one of: {expected})")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The name of every variant as written in files, in declaration order.
            pub const ALL_NAMES: &'static [&'static str] = &[$($text),+];

            /// The name written in files.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Position in [`Self::ALL`]; stable across runs, usable as an array index.
            pub const fn index(self) -> usize {
                self as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: Self::ALL_NAMES.join(", "),
                    }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

named_enum!(
    /// The credit product an account belongs to.
    Product, "product" {
        Card = "card",
        PersonalLoan = "personal_loan",
        AutoLoan = "auto_loan",
        Utility = "utility",
        Telecom = "telecom",
        Bnpl = "bnpl",
    }
);

named_enum!(
    /// A contact channel. `None` marks a logged decision not to contact.
    Channel, "channel" {
        Sms = "sms",
        Email = "email",
        Call = "call",
        Letter = "letter",
        Push = "push",
        None = "none",
    }
);

impl Channel {
    /// The channels through which a customer can actually be reached (all but `None`).
    pub const CONTACTABLE: &'static [Channel] = &[
        Channel::Sms,
        Channel::Email,
        Channel::Call,
        Channel::Letter,
        Channel::Push,
    ];

    /// The `accounts` column that holds the customer's consent for this channel.
    pub const fn consent_column(self) -> Option<&'static str> {
        match self {
            Channel::Sms => Some("consent_sms"),
            Channel::Email => Some("consent_email"),
            Channel::Call => Some("consent_call"),
            Channel::Letter => Some("consent_letter"),
            Channel::Push => Some("consent_push"),
            Channel::None => None,
        }
    }
}

named_enum!(
    /// What a treatment offers the customer.
    TreatmentKind, "treatment kind" {
        Reminder = "reminder",
        PaymentPlan = "payment_plan",
        Settlement = "settlement",
        HardshipReferral = "hardship_referral",
        NoContact = "no_contact",
    }
);

named_enum!(
    /// The furthest observed result of one contact attempt.
    ContactOutcome, "contact outcome" {
        /// Logged decision not to contact (channel `none`).
        NotContacted = "not_contacted",
        /// Letter posted; nothing more is observable.
        Sent = "sent",
        Delivered = "delivered",
        /// SMS or push could not be delivered (invalid number, app removed).
        Failed = "failed",
        /// Email rejected by the receiving server.
        Bounced = "bounced",
        Opened = "opened",
        Clicked = "clicked",
        /// A call was answered but the person was not identified (dialer connect).
        Answered = "answered",
        NoAnswer = "no_answer",
        Voicemail = "voicemail",
        /// Someone answered who is not the customer.
        WrongParty = "wrong_party",
        RightPartyContact = "right_party_contact",
        PromiseToPay = "promise_to_pay",
        /// The customer withdrew consent for this channel.
        OptOut = "opt_out",
        ReturnedMail = "returned_mail",
    }
);

impl ContactOutcome {
    /// Outcomes that mean the customer was reached in person or engaged with the message.
    pub const fn is_response(self) -> bool {
        matches!(
            self,
            ContactOutcome::Opened
                | ContactOutcome::Clicked
                | ContactOutcome::RightPartyContact
                | ContactOutcome::PromiseToPay
        )
    }
}

named_enum!(
    /// How money was paid.
    PaymentMethod, "payment method" {
        DebitCard = "debit_card",
        BankTransfer = "bank_transfer",
        DirectDebit = "direct_debit",
        Check = "check",
        Cash = "cash",
    }
);

named_enum!(
    /// Through which route a payment arrived.
    PaymentVia, "payment route" {
        Portal = "portal",
        Ivr = "ivr",
        Agent = "agent",
        Autopay = "autopay",
        Mail = "mail",
    }
);

named_enum!(
    /// Lifecycle status of an account at an as-of date.
    AccountStatus, "account status" {
        Open = "open",
        /// Fully repaid or closed in good standing.
        Closed = "closed",
        /// Closed by a settlement for less than the balance.
        Settled = "settled",
        ChargedOff = "charged_off",
    }
);

named_enum!(
    /// Which part of the logging policy chose a contact.
    PolicyArm, "policy arm" {
        /// The production strategy's choice.
        Champion = "champion",
        /// Uniform exploration among eligible treatments.
        Explore = "explore",
    }
);

/// The conventional delinquency bucket of a days-past-due value.
pub const fn dpd_bucket(dpd: i32) -> &'static str {
    match dpd {
        i32::MIN..=0 => "current",
        1..=29 => "1-29",
        30..=59 => "30-59",
        60..=89 => "60-89",
        90..=119 => "90-119",
        120..=149 => "120-149",
        150..=179 => "150-179",
        _ => "180+",
    }
}

impl ContactOutcome {
    /// The outcomes that can be observed on a channel.
    pub const fn possible_on(channel: Channel) -> &'static [ContactOutcome] {
        use ContactOutcome as O;
        match channel {
            Channel::Sms => &[O::Delivered, O::Failed, O::Clicked, O::OptOut],
            Channel::Email => &[O::Delivered, O::Bounced, O::Opened, O::Clicked, O::OptOut],
            Channel::Push => &[O::Delivered, O::Failed, O::Opened, O::OptOut],
            Channel::Call => &[
                O::Answered,
                O::NoAnswer,
                O::Voicemail,
                O::WrongParty,
                O::RightPartyContact,
                O::PromiseToPay,
                O::OptOut,
            ],
            Channel::Letter => &[O::Sent, O::ReturnedMail],
            Channel::None => &[O::NotContacted],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>().unwrap(), *c);
        }
        for o in ContactOutcome::ALL {
            assert_eq!(o.as_str().parse::<ContactOutcome>().unwrap(), *o);
        }
        assert_eq!(Product::ALL.len(), Product::ALL_NAMES.len());
    }

    #[test]
    fn unknown_name_lists_expected() {
        let err = "fax".parse::<Channel>().unwrap_err();
        assert!(err.to_string().contains("`fax`"));
        assert!(err.to_string().contains("sms, email"));
    }

    #[test]
    fn buckets() {
        assert_eq!(dpd_bucket(0), "current");
        assert_eq!(dpd_bucket(17), "1-29");
        assert_eq!(dpd_bucket(30), "30-59");
        assert_eq!(dpd_bucket(200), "180+");
    }
}
