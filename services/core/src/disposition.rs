//! How a call attempt ended: a closed set, shared by the robot, human agents
//! and the dialer's network-level results.

use std::fmt;
use std::str::FromStr;

macro_rules! dispositions {
    ($($variant:ident => $name:literal, filed_by_agent: $agent:literal;)+) => {
        /// The result of one call attempt.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Disposition { $($variant),+ }

        impl Disposition {
            pub const ALL: &'static [Disposition] = &[$(Disposition::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Disposition::$variant => $name),+ }
            }

            /// An agent may file this after a call they talked on; the
            /// others are what the network or the robot's own handling
            /// says.
            pub fn filed_by_agent(self) -> bool {
                match self { $(Disposition::$variant => $agent),+ }
            }
        }

        impl FromStr for Disposition {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $($name => Ok(Disposition::$variant),)+
                    other => Err(format!("unknown disposition '{}'", crate::truncate(other, crate::ECHO_CHARS))),
                }
            }
        }
    };
}

dispositions! {
    PromiseToPay => "promise_to_pay", filed_by_agent: true;
    Paid => "paid", filed_by_agent: true;
    Refused => "refused", filed_by_agent: true;
    WrongParty => "wrong_party", filed_by_agent: true;
    NoAnswer => "no_answer", filed_by_agent: false;
    Busy => "busy", filed_by_agent: false;
    Voicemail => "voicemail", filed_by_agent: false;
    InvalidNumber => "invalid_number", filed_by_agent: false;
    PoweredOff => "powered_off", filed_by_agent: false;
    CallbackRequested => "callback_requested", filed_by_agent: true;
    HandedToAgent => "handed_to_agent", filed_by_agent: false;
    Dispute => "dispute", filed_by_agent: true;
    Hardship => "hardship", filed_by_agent: true;
    Complaint => "complaint", filed_by_agent: true;
    Dropped => "dropped", filed_by_agent: false;
    Failed => "failed", filed_by_agent: false;
}

/// What the dispatch queue does after an attempt ends with a disposition,
/// until the planner takes over scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    /// Try the same contact again later.
    RetrySameContact,
    /// This number is no good for this debtor: move to the account's next contact.
    NextContact,
    /// Call back at the time the debtor asked for.
    Callback,
    /// Nothing automatic: the case is settled or needs a person's decision.
    None,
}

impl Disposition {
    pub fn follow_up(self) -> FollowUp {
        use Disposition::*;
        match self {
            NoAnswer | Busy | Voicemail | PoweredOff | Dropped | Failed => {
                FollowUp::RetrySameContact
            }
            WrongParty | InvalidNumber => FollowUp::NextContact,
            CallbackRequested => FollowUp::Callback,
            PromiseToPay | Paid | Refused | HandedToAgent | Dispute | Hardship | Complaint => {
                FollowUp::None
            }
        }
    }

    /// True when the debtor (or someone) was actually reached.
    pub fn is_contact(self) -> bool {
        use Disposition::*;
        matches!(
            self,
            PromiseToPay
                | Paid
                | Refused
                | WrongParty
                | CallbackRequested
                | HandedToAgent
                | Dispute
                | Hardship
                | Complaint
        )
    }
}

/// As its name (`"promise_to_pay"`).
impl serde::Serialize for Disposition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Disposition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_disposition_round_trips_through_its_name() {
        for d in Disposition::ALL {
            assert_eq!(d.as_str().parse::<Disposition>().unwrap(), *d);
        }
        assert!("promised".parse::<Disposition>().is_err());
    }

    #[test]
    fn retry_policy_separates_network_results_from_settled_cases() {
        assert_eq!(Disposition::Busy.follow_up(), FollowUp::RetrySameContact);
        assert_eq!(
            Disposition::InvalidNumber.follow_up(),
            FollowUp::NextContact
        );
        assert_eq!(Disposition::PromiseToPay.follow_up(), FollowUp::None);
        assert_eq!(
            Disposition::CallbackRequested.follow_up(),
            FollowUp::Callback
        );
    }
}
