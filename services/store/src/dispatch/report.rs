//! Recording outcome reports, one or many in a transaction: each judged
//! against its attempt ([`super::judge`]), written with its promise, and
//! followed by the attempt `huikuan_core::schedule` decides on.

use super::judge::{as_recorded, check_report, judge, owed_by};
use super::{stmt, DispatchPolicy, OutcomeReport, ReportResult};
use crate::entity::{call_attempt, contact, promise};
use crate::{ids, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use huikuan_core::disposition::FollowUp;
use huikuan_core::schedule::{next_attempt, ContactChoice, Ended};
use huikuan_core::{AttemptStatus, Disposition, PromiseStatus};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    EntityTrait, QueryFilter, TransactionTrait, Value,
};
use std::collections::HashMap;

impl Store {
    /// Records how an attempt ended. Idempotent: the same report twice is
    /// `AlreadyRecorded`; a report from a lease that was since re-leased to
    /// another worker is a conflict.
    pub async fn report_outcome(
        &self,
        report: &OutcomeReport,
        now: DateTime<Utc>,
        policy: &DispatchPolicy,
    ) -> Result<ReportResult> {
        check_report(report)?;
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        let attempts = self
            .lock_attempts(&txn, std::slice::from_ref(&report.attempt_id))
            .await?;
        let attempt = attempts
            .get(&report.attempt_id)
            .ok_or_else(|| StoreError::NotFound(format!("attempt {}", report.attempt_id)))?;
        let owed = owed_by(&txn, std::slice::from_ref(report), &attempts).await?;
        if let Some(done) = judge(
            attempt,
            report,
            owed.get(&attempt.account_id).copied(),
            now,
            &policy.outcome,
        )? {
            return Ok(done);
        }
        let result = self
            .write_outcome(&txn, attempt, report, now, policy)
            .await?;
        txn.commit().await?;
        Ok(result)
    }

    /// Records many reports in one transaction: every attempt is read (and
    /// locked) in one statement, each report is judged against it, and only
    /// the good ones are written. One result per report, in order; a report
    /// that fails (bad, stale, unknown) leaves the others recorded, and a
    /// repeat inside the batch is `AlreadyRecorded`. Only a database failure
    /// fails the whole call, and then nothing of it is kept.
    pub async fn report_outcomes(
        &self,
        reports: &[OutcomeReport],
        now: DateTime<Utc>,
        policy: &DispatchPolicy,
    ) -> Result<Vec<Result<ReportResult>>> {
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        let mut ids: Vec<String> = reports.iter().map(|r| r.attempt_id.clone()).collect();
        ids.sort();
        ids.dedup();
        let mut attempts = self.lock_attempts(&txn, &ids).await?;
        let owed = owed_by(&txn, reports, &attempts).await?;
        let mut results = Vec::with_capacity(reports.len());
        for report in reports {
            let result = async {
                check_report(report)?;
                let attempt = attempts.get(&report.attempt_id).ok_or_else(|| {
                    StoreError::NotFound(format!("attempt {}", report.attempt_id))
                })?;
                let owes = owed.get(&attempt.account_id).copied();
                if let Some(done) = judge(attempt, report, owes, now, &policy.outcome)? {
                    return Ok(done);
                }
                self.write_outcome(&txn, attempt, report, now, policy).await
            }
            .await;
            if let (Ok(ReportResult::Recorded { .. }), Some(a)) =
                (&result, attempts.get_mut(&report.attempt_id))
            {
                as_recorded(a, report, now);
            }
            match result {
                Err(StoreError::Db(e)) => return Err(StoreError::Db(e)),
                other => results.push(other),
            }
        }
        txn.commit().await?;
        Ok(results)
    }

    /// Reads the attempts with these ids inside `txn`, holding them for the
    /// rest of it: on SQLite by taking the write lock with a no-op update
    /// first, on PostgreSQL with `FOR UPDATE` in id order.
    async fn lock_attempts(
        &self,
        txn: &DatabaseTransaction,
        ids: &[String],
    ) -> Result<HashMap<String, call_attempt::Model>> {
        let backend = self.backend();
        let mut found = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let values: Vec<Value> = chunk.iter().map(|id| id.clone().into()).collect();
            let sql = if backend == DatabaseBackend::Postgres {
                format!("SELECT id FROM call_attempts WHERE id IN ({marks}) ORDER BY id FOR UPDATE")
            } else {
                format!("UPDATE call_attempts SET lease_token = lease_token WHERE id IN ({marks})")
            };
            txn.execute(stmt(backend, &sql, values)).await?;
            for a in call_attempt::Entity::find()
                .filter(call_attempt::Column::Id.is_in(chunk.iter().cloned()))
                .all(txn)
                .await?
            {
                found.insert(a.id.clone(), a);
            }
        }
        Ok(found)
    }

    /// Writes a judged report: the attempt's outcome, a promise, the
    /// follow-up attempt.
    async fn write_outcome(
        &self,
        txn: &DatabaseTransaction,
        attempt: &call_attempt::Model,
        report: &OutcomeReport,
        now: DateTime<Utc>,
        policy: &DispatchPolicy,
    ) -> Result<ReportResult> {
        let now_ms = now.timestamp_millis();
        let promise = report.promise;
        call_attempt::Entity::update_many()
            .col_expr(
                call_attempt::Column::Status,
                AttemptStatus::Completed.as_str().into(),
            )
            .col_expr(
                call_attempt::Column::Disposition,
                report.disposition.as_str().into(),
            )
            .col_expr(call_attempt::Column::Note, report.note.clone().into())
            .col_expr(
                call_attempt::Column::DurationMs,
                Some(report.duration_ms).into(),
            )
            .col_expr(
                call_attempt::Column::PromiseDate,
                promise
                    .map(|(d, _)| d.format("%Y-%m-%d").to_string())
                    .into(),
            )
            .col_expr(
                call_attempt::Column::PromiseFen,
                promise.map(|(_, m)| m.fen()).into(),
            )
            .col_expr(
                call_attempt::Column::CallbackAtMs,
                report.callback_at.map(|t| t.timestamp_millis()).into(),
            )
            .col_expr(call_attempt::Column::ReportedAtMs, Some(now_ms).into())
            .col_expr(
                call_attempt::Column::RecordingPath,
                report.recording_path.clone().into(),
            )
            .col_expr(call_attempt::Column::CallRecord, report.call_json().into())
            .col_expr(
                call_attempt::Column::HandedOver,
                i16::from(report.call.as_ref().is_some_and(|c| c.handed_over())).into(),
            )
            .col_expr(
                call_attempt::Column::AgentName,
                report
                    .call
                    .as_ref()
                    .and_then(|c| c.agent())
                    .map(str::to_string)
                    .into(),
            )
            .col_expr(
                call_attempt::Column::LeaseOwner,
                Some(report.worker_id.clone()).into(),
            )
            .col_expr(
                call_attempt::Column::LeaseExpiresAtMs,
                Option::<i64>::None.into(),
            )
            .filter(call_attempt::Column::Id.eq(attempt.id.as_str()))
            .exec(txn)
            .await?;
        // Every recorded call is inspected: queued with its outcome.
        if let Some(recording) = &report.recording_path {
            crate::inspections::enqueue(txn, &attempt.id, recording, now_ms).await?;
        }
        if let (Disposition::PromiseToPay, Some((date, amount))) = (report.disposition, promise) {
            let p = promise::ActiveModel {
                id: Set(
                    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, attempt.id.as_bytes())
                        .to_string(),
                ),
                account_id: Set(attempt.account_id.clone()),
                attempt_id: Set(attempt.id.clone()),
                promised_date: Set(date.format("%Y-%m-%d").to_string()),
                amount_fen: Set(amount.fen()),
                status: Set(PromiseStatus::Pending.as_str().to_string()),
                created_at_ms: Set(now_ms),
            };
            promise::Entity::insert(p)
                .on_conflict(
                    OnConflict::column(promise::Column::AttemptId)
                        .do_nothing()
                        .to_owned(),
                )
                .do_nothing()
                .exec(txn)
                .await?;
        }
        let follow_up = self
            .queue_follow_up(txn, attempt, report, now, policy)
            .await?;
        Ok(ReportResult::Recorded {
            campaign_id: attempt.campaign_id.clone(),
            account_id: attempt.account_id.clone(),
            follow_up,
        })
    }

    async fn queue_follow_up(
        &self,
        txn: &DatabaseTransaction,
        attempt: &call_attempt::Model,
        report: &OutcomeReport,
        now: DateTime<Utc>,
        policy: &DispatchPolicy,
    ) -> Result<Option<String>> {
        // The account's numbers are read only when the decision may move
        // to another one.
        let contacts = if report.disposition.follow_up() == FollowUp::NextContact {
            contact::Entity::find()
                .filter(crate::of_accounts(
                    txn.get_database_backend(),
                    contact::Column::Id,
                    contact::Column::AccountId,
                    [attempt.account_id.as_str()],
                ))
                .all(txn)
                .await?
        } else {
            Vec::new()
        };
        let choices: Vec<ContactChoice<'_>> = contacts
            .iter()
            .map(|c| ContactChoice {
                id: &c.id,
                priority: c.priority,
                dnc: c.dnc,
            })
            .collect();
        let ended = Ended {
            contact_id: &attempt.contact_id,
            seq: attempt.seq,
            disposition: report.disposition,
            callback_at: report.callback_at,
        };
        let Some(next) = next_attempt(ended, &choices, now, policy) else {
            return Ok(None);
        };
        let (contact_id, seq, not_before) = (next.contact_id, next.seq, next.not_before);
        let id = ids::attempt(&attempt.campaign_id, &contact_id, seq);
        let model = call_attempt::ActiveModel {
            id: Set(id.clone()),
            campaign_id: Set(attempt.campaign_id.clone()),
            account_id: Set(attempt.account_id.clone()),
            contact_id: Set(contact_id),
            seq: Set(seq),
            status: Set(AttemptStatus::Queued.as_str().to_string()),
            not_before_ms: Set(not_before.timestamp_millis()),
            time_zone: Set(attempt.time_zone.clone()),
            lease_owner: Set(None),
            lease_token: Set(0),
            leased_at_ms: Set(None),
            lease_expires_at_ms: Set(None),
            disposition: Set(None),
            note: Set(None),
            duration_ms: Set(None),
            promise_date: Set(None),
            promise_fen: Set(None),
            callback_at_ms: Set(None),
            reported_at_ms: Set(None),
            created_at_ms: Set(now.timestamp_millis()),
            recording_path: Set(None),
            transcript: Set(None),
            metrics: Set(None),
            call_record: Set(None),
            handed_over: Set(0),
            agent_name: Set(None),
        };
        call_attempt::Entity::insert(model)
            .on_conflict(
                OnConflict::column(call_attempt::Column::Id)
                    .do_nothing()
                    .to_owned(),
            )
            .do_nothing()
            .exec(txn)
            .await?;
        Ok(Some(id))
    }
}
