//! The call-attempt queue: leases for dialer workers ([`lease`]), lease
//! expiry ([`expiry`]), and outcome reports ([`report`], judged by
//! [`judge`]).
//!
//! States: `queued -> leased -> completed`, `leased -> queued` on expiry,
//! `queued -> cancelled` when the number became do-not-call. Every transition
//! is a conditional update on the current state, so two workers can never
//! hold the same attempt and a repeated report is recognised, not re-applied.
//! "Due" means: released by a plan in force (approved or executing, see
//! `crate::plans`), campaign active, `not_before` (the planned time)
//! passed, the debtor's local time inside the calling window, and the
//! contact under its daily cap (counted per lease, conservatively: a lease
//! may have dialled even if its report never came). What follows an attempt
//! is decided in `huikuan_core::schedule`, not here.

mod expiry;
mod judge;
mod lease;
mod report;

use chrono::{DateTime, NaiveDate, Utc};
use huikuan_core::call::CallRecord;
use huikuan_core::{Dialect, Disposition, Money};
use sea_orm::{DatabaseBackend, Statement, Value};

pub use huikuan_core::schedule::DispatchPolicy;

/// One attempt handed to a dialer worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub attempt_id: String,
    /// Must accompany the outcome report.
    pub lease_token: i64,
    pub expires_at_ms: i64,
    pub campaign_id: String,
    /// The campaign's caller id; `None`: the trunk's own.
    pub caller_id: Option<String>,
    pub account_id: String,
    pub debtor_name: String,
    pub phone: String,
    pub dialect: Dialect,
    pub time_zone: String,
    pub overdue_fen: i64,
    pub product: String,
    pub due_date: String,
    pub days_past_due: i32,
    /// Who the call is for: the robot, or an agent (hand it to the agent
    /// desk as soon as the debtor answers).
    pub channel: huikuan_core::Channel,
}

/// Planned agent calls that may be leased now, by the dialect the agent
/// must speak: one for each free agent who speaks it, less the calls
/// already on their way to one. Empty: none.
pub type AgentRoom = std::collections::BTreeMap<String, u32>;

#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeReport {
    pub attempt_id: String,
    pub lease_token: i64,
    pub worker_id: String,
    pub disposition: Disposition,
    pub note: Option<String>,
    pub duration_ms: i64,
    pub promise: Option<(NaiveDate, Money)>,
    /// The promise clears the whole account, so it may be for more than
    /// the overdue amount (up to the balance).
    pub settles_balance: bool,
    pub callback_at: Option<DateTime<Utc>>,
    /// The call's recording, inside the recordings directory.
    pub recording_path: Option<String>,
    /// What the call left behind (absent for calls never answered).
    pub call: Option<CallRecord>,
}

impl OutcomeReport {
    /// The call record as the store keeps it (its JSON).
    pub(crate) fn call_json(&self) -> Option<String> {
        self.call
            .as_ref()
            .map(|c| serde_json::to_string(c).expect("a call record serializes"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportResult {
    /// Recorded now; `follow_up` is the attempt queued after it, if any.
    Recorded {
        campaign_id: String,
        account_id: String,
        follow_up: Option<String>,
    },
    /// The same report was recorded before: nothing changed.
    AlreadyRecorded { campaign_id: String },
}

/// Writes `?` placeholders as the backend wants them.
pub(crate) fn stmt(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(ch);
                }
            }
            out
        }
        _ => sql.to_string(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// A fresh lease token: 63 random bits (never 0, which means "never
/// leased"), from the thread-local generator seeded by the OS (ChaCha).
pub(crate) fn new_lease_token() -> i64 {
    ((rand::random::<u64>() >> 1) as i64).max(1)
}

pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}
