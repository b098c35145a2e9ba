//! What a reported call outcome may promise or ask for: checked against the
//! debt and the day of the call before anything is stored.
//!
//! A promise to pay is a number a collections department acts on (it stops
//! the calls until its date and is followed up after), so an impossible one
//! must be refused with the field that is wrong rather than stored:
//! a date before the call or beyond the horizon, an amount of nothing, or
//! more than is owed. A callback asked for in the past would queue a call
//! at once, one years ahead would never come: both are refused.

use crate::Money;
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// How far ahead promises and callbacks may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutcomeLimits {
    /// A promise's date at most this many days after the call's day.
    pub promise_horizon_days: u32,
    /// A callback at most this many days after the report.
    pub callback_horizon_days: u32,
    /// A callback this much in the past is still taken (clocks differ
    /// between hosts; the call is then queued at once).
    pub clock_skew_secs: u32,
}

impl Default for OutcomeLimits {
    fn default() -> Self {
        OutcomeLimits {
            promise_horizon_days: 60,
            callback_horizon_days: 30,
            clock_skew_secs: 300,
        }
    }
}

/// What the debtor owes, as the promise is judged against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owed {
    /// The overdue amount over all the account's loans.
    pub overdue: Money,
    /// The whole outstanding balance (principal and overdue amounts): the
    /// most a promise that settles the account may be for.
    pub balance: Money,
}

/// A field of the report and why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: &'static str,
    pub reason: String,
}

fn refuse(field: &'static str, reason: String) -> Refusal {
    Refusal { field, reason }
}

impl OutcomeLimits {
    pub fn validate(&self) -> Result<(), String> {
        if self.promise_horizon_days == 0 {
            return Err("promise horizon must be at least 1 day".into());
        }
        if self.callback_horizon_days == 0 {
            return Err("callback horizon must be at least 1 day".into());
        }
        Ok(())
    }

    /// Checks a promise made on `call_day` (the debtor's local date).
    /// `settles_balance`: the debtor promised to clear the whole account,
    /// so the amount may exceed the overdue part, up to the balance.
    pub fn check_promise(
        &self,
        date: NaiveDate,
        amount: Money,
        settles_balance: bool,
        call_day: NaiveDate,
        owed: Owed,
    ) -> Result<(), Refusal> {
        if date < call_day {
            return Err(refuse(
                "promise_date",
                format!("{date} is before the call's day {call_day}"),
            ));
        }
        let last = call_day + Duration::days(i64::from(self.promise_horizon_days));
        if date > last {
            return Err(refuse(
                "promise_date",
                format!(
                    "{date} is more than {} days after the call's day {call_day} (latest {last})",
                    self.promise_horizon_days
                ),
            ));
        }
        if amount.fen() <= 0 {
            return Err(refuse(
                "promise_amount",
                format!("{amount} is not a payment (must be more than 0)"),
            ));
        }
        if settles_balance {
            if amount > owed.balance {
                return Err(refuse(
                    "promise_amount",
                    format!(
                        "{amount} is more than the account's whole balance {}",
                        owed.balance
                    ),
                ));
            }
        } else if amount > owed.overdue {
            return Err(refuse(
                "promise_amount",
                format!(
                    "{amount} is more than the overdue amount {} (set settles_balance for a payment that clears the account)",
                    owed.overdue
                ),
            ));
        }
        Ok(())
    }

    /// Checks a callback time asked for at `now`.
    pub fn check_callback(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Refusal> {
        if at < now - Duration::seconds(i64::from(self.clock_skew_secs)) {
            return Err(refuse(
                "callback_at",
                format!("{} is in the past", at.to_rfc3339()),
            ));
        }
        if at > now + Duration::days(i64::from(self.callback_horizon_days)) {
            return Err(refuse(
                "callback_at",
                format!(
                    "{} is more than {} days ahead",
                    at.to_rfc3339(),
                    self.callback_horizon_days
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn yuan(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn owed() -> Owed {
        Owed {
            overdue: yuan("19138.93"),
            balance: yuan("52000"),
        }
    }

    #[test]
    fn promises_inside_the_horizon_and_the_debt_are_taken() {
        let l = OutcomeLimits::default();
        let call = day("2026-12-04");
        for (date, amount) in [
            ("2026-12-04", "1"),
            ("2027-02-02", "19138.93"),
            ("2026-12-10", "500"),
        ] {
            assert_eq!(
                l.check_promise(day(date), yuan(amount), false, call, owed()),
                Ok(())
            );
        }
    }

    #[test]
    fn impossible_promises_name_the_field() {
        let l = OutcomeLimits::default();
        let call = day("2026-12-04");
        let field = |date: &str, amount: &str, settles: bool| {
            l.check_promise(day(date), yuan(amount), settles, call, owed())
                .unwrap_err()
                .field
        };
        assert_eq!(field("2026-12-03", "100", false), "promise_date");
        assert_eq!(field("2027-02-03", "100", false), "promise_date");
        assert_eq!(field("2029-01-01", "100", false), "promise_date");
        assert_eq!(field("2026-12-05", "0", false), "promise_amount");
        assert_eq!(field("2026-12-05", "99999999", false), "promise_amount");
        assert_eq!(field("2026-12-05", "19138.94", false), "promise_amount");
        assert_eq!(field("2026-12-05", "52000.01", true), "promise_amount");
        // Settling the account may promise more than the overdue part.
        assert!(l
            .check_promise(day("2026-12-05"), yuan("52000"), true, call, owed())
            .is_ok());
    }

    #[test]
    fn callbacks_in_the_past_or_far_ahead_are_refused() {
        let l = OutcomeLimits::default();
        let now: DateTime<Utc> = "2026-12-04T06:00:00Z".parse().unwrap();
        assert!(l.check_callback(now + Duration::hours(2), now).is_ok());
        assert!(l.check_callback(now - Duration::seconds(60), now).is_ok());
        assert_eq!(
            l.check_callback(now - Duration::hours(1), now)
                .unwrap_err()
                .field,
            "callback_at"
        );
        assert!(l.check_callback(now + Duration::days(31), now).is_err());
    }
}
