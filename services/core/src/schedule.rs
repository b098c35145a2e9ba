//! What happens after a call attempt: whether the account is called again,
//! on which of its numbers and from when. A pure decision over plain data;
//! the store carries it out (it queues the attempt this returns), and the
//! planner will take it over.
//!
//! The rule until then: no answer, busy, voicemail, powered off, a dropped
//! or failed call try the same number after `retry_after`; a wrong party or
//! an invalid number moves to the account's next callable number at once;
//! a callback is queued at the time the debtor asked for (after
//! `retry_after` when they named none); a settled or
//! escalated case (promise, payment, refusal, handoff, dispute, hardship,
//! complaint) gets nothing automatic. An account stops being followed up
//! after `max_attempts` attempts.

use crate::disposition::FollowUp;
use crate::{CallingRules, Disposition, OutcomeLimits};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The rules the dispatch queue follows until the planner decides instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchPolicy {
    pub rules: CallingRules,
    /// Delay before retrying a contact after no answer, busy, powered off...
    pub retry_after: Duration,
    /// No automatic follow-up after this many attempts on an account.
    pub max_attempts: i32,
    /// How far ahead reported promises and callbacks may reach.
    pub outcome: OutcomeLimits,
}

impl Default for DispatchPolicy {
    fn default() -> Self {
        DispatchPolicy {
            rules: CallingRules::default(),
            retry_after: Duration::from_secs(2 * 3600),
            max_attempts: 20,
            outcome: OutcomeLimits::default(),
        }
    }
}

/// One of the account's numbers as the decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactChoice<'a> {
    pub id: &'a str,
    /// Dial order: lower first.
    pub priority: i32,
    pub dnc: bool,
}

/// The attempt that just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended<'a> {
    pub contact_id: &'a str,
    /// Its place in the account's attempts (0 for the first).
    pub seq: i32,
    pub disposition: Disposition,
    /// The time the debtor asked to be called back at, if they did.
    pub callback_at: Option<DateTime<Utc>>,
}

/// The attempt to queue next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAttempt {
    pub contact_id: String,
    pub seq: i32,
    pub not_before: DateTime<Utc>,
}

/// Whether, where and from when the account is called again after `ended`.
pub fn next_attempt(
    ended: Ended<'_>,
    contacts: &[ContactChoice<'_>],
    now: DateTime<Utc>,
    policy: &DispatchPolicy,
) -> Option<NextAttempt> {
    if ended.seq + 1 >= policy.max_attempts {
        return None;
    }
    let (contact_id, not_before) = match ended.disposition.follow_up() {
        FollowUp::None => return None,
        FollowUp::RetrySameContact => (ended.contact_id, now + policy.retry_after),
        FollowUp::Callback => (
            ended.contact_id,
            ended.callback_at.unwrap_or(now + policy.retry_after),
        ),
        FollowUp::NextContact => {
            let current = contacts
                .iter()
                .find(|c| c.id == ended.contact_id)
                .map(|c| c.priority)
                .unwrap_or(i32::MAX);
            let next = contacts
                .iter()
                .filter(|c| !c.dnc && c.priority > current)
                .min_by_key(|c| c.priority)?;
            (next.id, now)
        }
    };
    Some(NextAttempt {
        contact_id: contact_id.to_string(),
        seq: ended.seq + 1,
        not_before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn contacts() -> Vec<ContactChoice<'static>> {
        vec![
            ContactChoice {
                id: "A/c1",
                priority: 0,
                dnc: false,
            },
            ContactChoice {
                id: "A/c2",
                priority: 1,
                dnc: true,
            },
            ContactChoice {
                id: "A/c3",
                priority: 2,
                dnc: false,
            },
        ]
    }

    fn ended(d: Disposition) -> Ended<'static> {
        Ended {
            contact_id: "A/c1",
            seq: 0,
            disposition: d,
            callback_at: None,
        }
    }

    #[test]
    fn each_kind_of_ending_has_its_follow_up() {
        let now = at("2026-12-04T02:00:00Z");
        let p = DispatchPolicy::default();
        let next = |e: Ended<'static>| next_attempt(e, &contacts(), now, &p);
        assert_eq!(
            next(ended(Disposition::NoAnswer)),
            Some(NextAttempt {
                contact_id: "A/c1".into(),
                seq: 1,
                not_before: now + p.retry_after
            })
        );
        // The next number skips the do-not-call one.
        assert_eq!(
            next(ended(Disposition::WrongParty)).map(|n| (n.contact_id, n.not_before)),
            Some(("A/c3".to_string(), now))
        );
        let later = at("2026-12-04T10:30:00Z");
        let callback = Ended {
            callback_at: Some(later),
            ..ended(Disposition::CallbackRequested)
        };
        assert_eq!(next(callback).map(|n| n.not_before), Some(later));
        // "Call me later", with no time named: after the retry interval,
        // not at once.
        assert_eq!(
            next(ended(Disposition::CallbackRequested)).map(|n| n.not_before),
            Some(now + p.retry_after)
        );
        for settled in [
            Disposition::PromiseToPay,
            Disposition::Paid,
            Disposition::HandedToAgent,
            Disposition::Complaint,
        ] {
            assert_eq!(next(ended(settled)), None, "{settled}");
        }
        // No number left, no attempt left.
        let last = Ended {
            contact_id: "A/c3",
            ..ended(Disposition::InvalidNumber)
        };
        assert_eq!(next(last), None);
        let tired = Ended {
            seq: p.max_attempts - 1,
            ..ended(Disposition::Busy)
        };
        assert_eq!(next(tired), None);
    }
}
