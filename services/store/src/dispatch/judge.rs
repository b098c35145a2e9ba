//! Judging a report against the attempt it is for, before anything is
//! written: a retry of the recorded report, a conflicting one (refused
//! naming the field), a report from a lease that is not the reporter's, or
//! a promise or callback that cannot be.

use super::OutcomeReport;
use super::ReportResult;
use crate::entity::{call_attempt, debt};
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huikuan_core::outcome::Owed;
use huikuan_core::{AttemptStatus, Disposition, Money, OutcomeLimits};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use std::collections::HashMap;

/// What the accounts of these reports' promises owe (debts summed per
/// account); accounts without a promise in the reports are not read.
pub(super) async fn owed_by(
    txn: &DatabaseTransaction,
    reports: &[OutcomeReport],
    attempts: &HashMap<String, call_attempt::Model>,
) -> Result<HashMap<String, Owed>> {
    let accounts: std::collections::BTreeSet<&str> = reports
        .iter()
        .filter(|r| r.promise.is_some())
        .filter_map(|r| attempts.get(&r.attempt_id))
        .map(|a| a.account_id.as_str())
        .collect();
    let mut owed: HashMap<String, Owed> = HashMap::new();
    if accounts.is_empty() {
        return Ok(owed);
    }
    for d in debt::Entity::find()
        .filter(crate::of_accounts(
            txn.get_database_backend(),
            debt::Column::Id,
            debt::Column::AccountId,
            accounts,
        ))
        .all(txn)
        .await?
    {
        let o = owed.entry(d.account_id).or_insert(Owed {
            overdue: Money::from_fen(0),
            balance: Money::from_fen(0),
        });
        o.overdue = Money::from_fen(o.overdue.fen() + d.overdue_fen);
        o.balance = Money::from_fen(o.balance.fen() + d.overdue_fen + d.principal_fen);
    }
    Ok(owed)
}

/// What a report must carry for its disposition, checked before any write.
/// A callback may come without a time: a debtor who asks to be called
/// later and names none when asked ("晚点再打") is called again after the
/// retry interval (`schedule::next_attempt`).
pub(super) fn check_report(report: &OutcomeReport) -> Result<()> {
    match report.disposition {
        Disposition::PromiseToPay if report.promise.is_none() => Err(StoreError::InvalidArgument {
            field: "promise",
            reason: "promise_to_pay needs a date and an amount".into(),
        }),
        _ => Ok(()),
    }
}

/// The first field in which a report differs from the outcome recorded
/// for its attempt, or `None` when it is the same report again (a retry).
fn first_difference(attempt: &call_attempt::Model, report: &OutcomeReport) -> Option<&'static str> {
    let promise = report.promise;
    let checks: [(&'static str, bool); 10] = [
        (
            "disposition",
            attempt.disposition.as_deref() == Some(report.disposition.as_str()),
        ),
        ("lease_token", attempt.lease_token == report.lease_token),
        (
            "worker_id",
            attempt.lease_owner.as_deref() == Some(report.worker_id.as_str()),
        ),
        (
            "promise_date",
            attempt.promise_date == promise.map(|(d, _)| d.format("%Y-%m-%d").to_string()),
        ),
        (
            "promise_amount",
            attempt.promise_fen == promise.map(|(_, m)| m.fen()),
        ),
        (
            "callback_at",
            attempt.callback_at_ms == report.callback_at.map(|t| t.timestamp_millis()),
        ),
        ("note", attempt.note == report.note),
        (
            "duration_ms",
            attempt.duration_ms == Some(report.duration_ms),
        ),
        (
            "recording_path",
            attempt.recording_path == report.recording_path,
        ),
        ("record", attempt.call_record == report.call_json()),
    ];
    checks
        .iter()
        .find(|(_, same)| !same)
        .map(|(field, _)| *field)
}

/// The attempt as it stands once `report` is recorded over it (what
/// `write_outcome` writes), so a later report in the same batch is judged
/// against it.
pub(super) fn as_recorded(
    attempt: &mut call_attempt::Model,
    report: &OutcomeReport,
    now: DateTime<Utc>,
) {
    attempt.status = AttemptStatus::Completed.as_str().to_string();
    attempt.disposition = Some(report.disposition.as_str().to_string());
    attempt.lease_owner = Some(report.worker_id.clone());
    attempt.promise_date = report
        .promise
        .map(|(d, _)| d.format("%Y-%m-%d").to_string());
    attempt.promise_fen = report.promise.map(|(_, m)| m.fen());
    attempt.callback_at_ms = report.callback_at.map(|t| t.timestamp_millis());
    attempt.note = report.note.clone();
    attempt.duration_ms = Some(report.duration_ms);
    attempt.recording_path = report.recording_path.clone();
    attempt.call_record = report.call_json();
    attempt.reported_at_ms = Some(now.timestamp_millis());
    attempt.lease_expires_at_ms = None;
}

/// Whether a report may be written over the attempt as it stands:
/// `Some(AlreadyRecorded)` for a repeat of the recorded report, `None` to
/// write it, an error when it conflicts (another outcome, a cancelled
/// attempt, a lease that is not the reporter's) or promises what cannot be
/// (checked against `owed` and the call's day).
///
/// Errors never repeat the attempt's current lease token or who holds it.
pub(super) fn judge(
    attempt: &call_attempt::Model,
    report: &OutcomeReport,
    owed: Option<Owed>,
    now: DateTime<Utc>,
    limits: &OutcomeLimits,
) -> Result<Option<ReportResult>> {
    let status: AttemptStatus = attempt.status.parse().map_err(StoreError::Conflict)?;
    if status == AttemptStatus::Completed {
        return match first_difference(attempt, report) {
            None => Ok(Some(ReportResult::AlreadyRecorded {
                campaign_id: attempt.campaign_id.clone(),
            })),
            Some(field) => Err(StoreError::Conflict(format!(
                "attempt {} was already reported (as {}); this report differs in {field}: it is refused, the first report stands",
                attempt.id,
                attempt.disposition.as_deref().unwrap_or_default()
            ))),
        };
    }
    if status == AttemptStatus::Cancelled {
        return Err(StoreError::Conflict(format!(
            "attempt {} was cancelled",
            attempt.id
        )));
    }
    if attempt.lease_token != report.lease_token || attempt.lease_token == 0 {
        return Err(StoreError::Conflict(format!(
            "lease_token: not the current lease of attempt {} (it expired and was handed out again, or was never given)",
            attempt.id
        )));
    }
    if attempt.lease_owner.as_deref() != Some(report.worker_id.as_str()) {
        return Err(StoreError::Conflict(format!(
            "worker_id: attempt {} is not leased to worker '{}'",
            attempt.id,
            huikuan_core::truncate(&report.worker_id, huikuan_core::ECHO_CHARS)
        )));
    }
    let invalid = |r: huikuan_core::outcome::Refusal| StoreError::InvalidArgument {
        field: r.field,
        reason: r.reason,
    };
    if let Some((date, amount)) = report.promise {
        let owed = owed.ok_or_else(|| {
            StoreError::Conflict(format!("attempt {}: the account has no debt", attempt.id))
        })?;
        let tz: Tz = attempt
            .time_zone
            .parse()
            .unwrap_or(huikuan_core::region::CHINA_TIME);
        let called = attempt
            .leased_at_ms
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .unwrap_or(now);
        let call_day = called.with_timezone(&tz).date_naive();
        limits
            .check_promise(date, amount, report.settles_balance, call_day, owed)
            .map_err(invalid)?;
    }
    if let Some(at) = report.callback_at {
        limits.check_callback(at, now).map_err(invalid)?;
    }
    Ok(None)
}
