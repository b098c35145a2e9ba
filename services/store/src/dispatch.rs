//! The call-attempt queue: leases for dialer workers, lease expiry, and
//! outcome reports.
//!
//! States: `queued -> leased -> completed`, `leased -> queued` on expiry,
//! `queued -> cancelled` when the number became do-not-call. Every transition
//! is a conditional update on the current state, so two workers can never
//! hold the same attempt and a repeated report is recognised, not re-applied.
//! Until the planner lands, "due" means: campaign active, `not_before`
//! passed, the debtor's local time inside the calling window, and the
//! contact under its daily cap (counted per lease, conservatively: a lease
//! may have dialled even if its report never came).

use crate::entity::{account, call_attempt, campaign, contact, debt, promise};
use crate::{ids, Result, Store, StoreError, DEBTOR_TIME_ZONES, DEBTOR_TIME_ZONE_COLUMN};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use huikuan_core::disposition::FollowUp;
use huikuan_core::outcome::Owed;
use huikuan_core::{
    AttemptStatus, CallingRules, Dialect, Disposition, Money, OutcomeLimits, PromiseStatus, Region,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    EntityTrait, QueryFilter, Statement, TransactionTrait, Value,
};
use std::collections::HashMap;
use std::time::Duration;

/// How the queue follows up an attempt until the planner decides instead.
#[derive(Debug, Clone, Copy)]
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// What the call left behind (absent for calls never answered).
    pub record: CallRecord,
}

/// The recording path, transcript and measurements of a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallRecord {
    pub recording_path: Option<String>,
    /// JSON.
    pub transcript: Option<String>,
    /// JSON.
    pub metrics: Option<String>,
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
fn new_lease_token() -> i64 {
    ((rand::random::<u64>() >> 1) as i64).max(1)
}

pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

struct Candidate {
    id: String,
    contact_id: String,
    time_zone: String,
}

impl Store {
    /// Returns expired leases to the queue; gives (attempt id, campaign id)
    /// of each attempt re-queued.
    pub async fn expire_leases(&self, now: DateTime<Utc>) -> Result<Vec<(String, String)>> {
        let backend = self.backend();
        let _guard = self.write_guard().await;
        let rows = self
            .db
            .query_all(stmt(
                backend,
                &format!(
                    "UPDATE call_attempts SET status = '{queued}', lease_owner = NULL, lease_expires_at_ms = NULL \
                     WHERE status = '{leased}' AND lease_expires_at_ms < ? RETURNING id, campaign_id",
                    queued = AttemptStatus::Queued.as_str(),
                    leased = AttemptStatus::Leased.as_str(),
                ),
                vec![now.timestamp_millis().into()],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String>("", "id")?,
                    r.try_get::<String>("", "campaign_id")?,
                ))
            })
            .collect()
    }

    /// The time zones debtors live in: few, so the window check can be
    /// pushed into the candidate query as `time_zone IN (...)`. Cached for a
    /// few seconds; imports in this process invalidate it at once.
    async fn debtor_time_zones(&self) -> Result<Vec<String>> {
        if let Some(zones) = self.tz_cache.get() {
            return Ok(zones);
        }
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                &format!("SELECT {DEBTOR_TIME_ZONE_COLUMN} FROM {DEBTOR_TIME_ZONES}"),
                vec![],
            ))
            .await?;
        let zones = rows
            .iter()
            .map(|r| {
                r.try_get::<String>("", DEBTOR_TIME_ZONE_COLUMN)
                    .map_err(StoreError::from)
            })
            .collect::<Result<Vec<_>>>()?;
        self.tz_cache.put(zones.clone());
        Ok(zones)
    }

    /// Leases up to `max` due attempts to `worker` for `ttl`.
    pub async fn lease_calls(
        &self,
        worker: &str,
        max: u32,
        ttl: Duration,
        now: DateTime<Utc>,
        policy: &DispatchPolicy,
    ) -> Result<Vec<Lease>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let rules = &policy.rules;
        let open: Vec<String> = self
            .debtor_time_zones()
            .await?
            .into_iter()
            .filter(|tz| {
                tz.parse::<Tz>()
                    .map(|tz| rules.in_window(now, tz))
                    .unwrap_or(false)
            })
            .collect();
        if open.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.backend();
        let now_ms = now.timestamp_millis();
        let expires = now_ms + ttl.as_millis() as i64;
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        let lock = if backend == DatabaseBackend::Postgres {
            " FOR UPDATE OF a SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "SELECT a.id, a.contact_id, a.time_zone FROM call_attempts a JOIN campaigns c ON c.id = a.campaign_id \
             WHERE a.status = '{queued}' AND a.not_before_ms <= ? AND c.status = 'active' AND a.time_zone IN ({}) \
             ORDER BY a.not_before_ms LIMIT ?{lock}",
            placeholders(open.len()),
            queued = AttemptStatus::Queued.as_str(),
        );
        let mut values: Vec<Value> = vec![now_ms.into()];
        values.extend(open.iter().map(|tz| Value::from(tz.as_str())));
        values.push(i64::from(max).into());
        let candidates: Vec<Candidate> = txn
            .query_all(stmt(backend, &sql, values))
            .await?
            .iter()
            .map(|r| {
                Ok(Candidate {
                    id: r.try_get("", "id")?,
                    contact_id: r.try_get("", "contact_id")?,
                    time_zone: r.try_get("", "time_zone")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()?;

        // One attempt per contact per batch: two campaigns must not ring the
        // same phone at once. The others stay queued for the next call.
        let mut seen = std::collections::HashSet::new();
        let candidates: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| seen.insert(c.contact_id.clone()))
            .collect();

        // Count the attempt against each contact's daily cap, set-based per
        // local day (usually one), only where the contact is callable.
        let mut by_day: HashMap<String, Vec<&Candidate>> = HashMap::new();
        for c in &candidates {
            let tz: Tz = c.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
            let day = rules.local_day(now, tz).format("%Y-%m-%d").to_string();
            by_day.entry(day).or_default().push(c);
        }
        let mut counted: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (day, group) in &by_day {
            let sql = format!(
                "UPDATE contacts SET attempts_today = CASE WHEN attempts_day = ? THEN attempts_today + 1 ELSE 1 END, \
                 attempts_day = ? WHERE id IN ({}) AND dnc = ? AND (attempts_day IS NULL OR attempts_day <> ? OR attempts_today < ?) \
                 RETURNING id",
                placeholders(group.len())
            );
            let mut values: Vec<Value> = vec![day.clone().into(), day.clone().into()];
            values.extend(group.iter().map(|c| Value::from(c.contact_id.as_str())));
            values.extend([
                false.into(),
                day.clone().into(),
                (rules.daily_cap as i32).into(),
            ]);
            for r in txn.query_all(stmt(backend, &sql, values)).await? {
                counted.insert(r.try_get_by_index::<String>(0)?);
            }
        }
        let (callable, uncallable): (Vec<&Candidate>, Vec<&Candidate>) = candidates
            .iter()
            .partition(|c| counted.contains(&c.contact_id));
        for c in uncallable {
            let tz: Tz = c.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
            self.park_uncallable(&txn, c, now, tz, rules).await?;
        }

        let mut leased: Vec<(String, i64)> = Vec::with_capacity(callable.len());
        if !callable.is_empty() {
            // `+status` keeps SQLite's planner on the primary key: with the
            // status index it would scan every queued attempt.
            let status = if backend == DatabaseBackend::Sqlite {
                "+status"
            } else {
                "status"
            };
            // Each lease gets a token of its own from the operating
            // system's random source: a report must carry it, so nobody
            // can report on a lease they were not given by guessing.
            let sql = format!(
                "UPDATE call_attempts SET status = ?, lease_owner = ?, lease_token = CASE id {} END, \
                 leased_at_ms = ?, lease_expires_at_ms = ? WHERE id IN ({}) AND {status} = ? RETURNING id, lease_token",
                "WHEN ? THEN ? ".repeat(callable.len()),
                placeholders(callable.len())
            );
            let mut values: Vec<Value> = vec![AttemptStatus::Leased.as_str().into(), worker.into()];
            for c in &callable {
                values.push(c.id.as_str().into());
                values.push(new_lease_token().into());
            }
            values.extend([now_ms.into(), expires.into()]);
            values.extend(callable.iter().map(|c| Value::from(c.id.as_str())));
            values.push(AttemptStatus::Queued.as_str().into());
            for r in txn.query_all(stmt(backend, &sql, values)).await? {
                leased.push((r.try_get_by_index(0)?, r.try_get_by_index(1)?));
            }
        }
        if leased.len() < callable.len() {
            // Another process took some between our read and write: give
            // their counts back.
            let got: std::collections::HashSet<&str> =
                leased.iter().map(|(id, _)| id.as_str()).collect();
            for c in callable.iter().filter(|c| !got.contains(c.id.as_str())) {
                txn.execute(stmt(
                    backend,
                    "UPDATE contacts SET attempts_today = attempts_today - 1 WHERE id = ?",
                    vec![c.contact_id.clone().into()],
                ))
                .await?;
            }
        }
        let leases = self.describe_leases(&txn, &leased, expires).await?;
        txn.commit().await?;
        Ok(leases)
    }

    /// A candidate whose contact is do-not-call is cancelled; one whose
    /// contact is at today's cap waits for the next day's window.
    async fn park_uncallable(
        &self,
        txn: &DatabaseTransaction,
        c: &Candidate,
        now: DateTime<Utc>,
        tz: Tz,
        rules: &CallingRules,
    ) -> Result<()> {
        let contact = contact::Entity::find_by_id(c.contact_id.clone())
            .one(txn)
            .await?;
        let mut update =
            call_attempt::Entity::update_many().filter(call_attempt::Column::Id.eq(c.id.as_str()));
        update = match contact {
            Some(ct) if !ct.dnc => update.col_expr(
                call_attempt::Column::NotBeforeMs,
                sea_orm::sea_query::Expr::value(
                    rules.next_window_open(now, tz, true).timestamp_millis(),
                ),
            ),
            _ => update.col_expr(
                call_attempt::Column::Status,
                sea_orm::sea_query::Expr::value(AttemptStatus::Cancelled.as_str()),
            ),
        };
        update.exec(txn).await?;
        Ok(())
    }

    async fn describe_leases(
        &self,
        txn: &DatabaseTransaction,
        leased: &[(String, i64)],
        expires: i64,
    ) -> Result<Vec<Lease>> {
        if leased.is_empty() {
            return Ok(Vec::new());
        }
        let attempts = call_attempt::Entity::find()
            .filter(call_attempt::Column::Id.is_in(leased.iter().map(|(id, _)| id.as_str())))
            .all(txn)
            .await?;
        let account_ids: Vec<&str> = attempts.iter().map(|a| a.account_id.as_str()).collect();
        let accounts: HashMap<String, account::Model> = account::Entity::find()
            .filter(account::Column::Id.is_in(account_ids.iter().copied()))
            .all(txn)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let contacts: HashMap<String, contact::Model> = contact::Entity::find()
            .filter(contact::Column::Id.is_in(attempts.iter().map(|a| a.contact_id.as_str())))
            .all(txn)
            .await?
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let caller_ids: HashMap<String, Option<String>> = campaign::Entity::find()
            .filter(campaign::Column::Id.is_in(attempts.iter().map(|a| a.campaign_id.as_str())))
            .all(txn)
            .await?
            .into_iter()
            .map(|c| (c.id, c.caller_id))
            .collect();
        let mut debts: HashMap<String, debt::Model> = HashMap::new();
        for d in debt::Entity::find()
            .filter(crate::of_accounts(
                txn.get_database_backend(),
                debt::Column::Id,
                debt::Column::AccountId,
                account_ids,
            ))
            .all(txn)
            .await?
        {
            // Several loans: the call is about the total, due date of the oldest.
            debts
                .entry(d.account_id.clone())
                .and_modify(|acc| {
                    acc.overdue_fen += d.overdue_fen;
                    acc.days_past_due = acc.days_past_due.max(d.days_past_due);
                    if d.due_date < acc.due_date {
                        acc.due_date = d.due_date.clone();
                    }
                })
                .or_insert(d);
        }
        let tokens: HashMap<&str, i64> = leased.iter().map(|(id, t)| (id.as_str(), *t)).collect();
        let mut out = Vec::with_capacity(attempts.len());
        for a in attempts {
            let (Some(acc), Some(ct)) = (accounts.get(&a.account_id), contacts.get(&a.contact_id))
            else {
                return Err(StoreError::Conflict(format!(
                    "attempt {} refers to a missing account or contact",
                    a.id
                )));
            };
            let d = debts.get(&a.account_id);
            let stated: Dialect = acc.dialect.parse().unwrap_or(Dialect::Auto);
            let dialect = match stated {
                Dialect::Auto => Region::new(&acc.province, None, None)
                    .map(|r| r.dialect_prior())
                    .unwrap_or(Dialect::Mandarin),
                d => d,
            };
            out.push(Lease {
                lease_token: tokens.get(a.id.as_str()).copied().unwrap_or(a.lease_token),
                attempt_id: a.id,
                expires_at_ms: expires,
                caller_id: caller_ids.get(&a.campaign_id).cloned().flatten(),
                campaign_id: a.campaign_id,
                account_id: a.account_id,
                debtor_name: acc.name.clone(),
                phone: ct.phone.clone(),
                dialect,
                time_zone: acc.time_zone.clone(),
                overdue_fen: d.map(|d| d.overdue_fen).unwrap_or(0),
                product: d.map(|d| d.product.clone()).unwrap_or_default(),
                due_date: d.map(|d| d.due_date.clone()).unwrap_or_default(),
                days_past_due: d.map(|d| d.days_past_due).unwrap_or(0),
            });
        }
        Ok(out)
    }

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
                report.record.recording_path.clone().into(),
            )
            .col_expr(
                call_attempt::Column::Transcript,
                report.record.transcript.clone().into(),
            )
            .col_expr(
                call_attempt::Column::Metrics,
                report.record.metrics.clone().into(),
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
        if attempt.seq + 1 >= policy.max_attempts {
            return Ok(None);
        }
        let (contact_id, not_before) = match report.disposition.follow_up() {
            FollowUp::None => return Ok(None),
            FollowUp::RetrySameContact => (attempt.contact_id.clone(), now + policy.retry_after),
            FollowUp::Callback => (
                attempt.contact_id.clone(),
                report.callback_at.unwrap_or(now),
            ),
            FollowUp::NextContact => {
                let contacts = contact::Entity::find()
                    .filter(crate::of_accounts(
                        txn.get_database_backend(),
                        contact::Column::Id,
                        contact::Column::AccountId,
                        [attempt.account_id.as_str()],
                    ))
                    .all(txn)
                    .await?;
                let current = contacts
                    .iter()
                    .find(|c| c.id == attempt.contact_id)
                    .map(|c| c.priority)
                    .unwrap_or(i32::MAX);
                match contacts
                    .iter()
                    .filter(|c| !c.dnc && c.priority > current)
                    .min_by_key(|c| c.priority)
                {
                    Some(next) => (next.id.clone(), now),
                    None => return Ok(None),
                }
            }
        };
        let seq = attempt.seq + 1;
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

/// What the accounts of these reports' promises owe (debts summed per
/// account); accounts without a promise in the reports are not read.
async fn owed_by(
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
fn check_report(report: &OutcomeReport) -> Result<()> {
    match report.disposition {
        Disposition::PromiseToPay if report.promise.is_none() => Err(StoreError::InvalidArgument {
            field: "promise",
            reason: "promise_to_pay needs a date and an amount".into(),
        }),
        Disposition::CallbackRequested if report.callback_at.is_none() => {
            Err(StoreError::InvalidArgument {
                field: "callback_at",
                reason: "callback_requested needs a callback time".into(),
            })
        }
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
            attempt.recording_path == report.record.recording_path,
        ),
        (
            "transcript",
            attempt.transcript == report.record.transcript
                && attempt.metrics == report.record.metrics,
        ),
    ];
    checks
        .iter()
        .find(|(_, same)| !same)
        .map(|(field, _)| *field)
}

/// The attempt as it stands once `report` is recorded over it (what
/// `write_outcome` writes), so a later report in the same batch is judged
/// against it.
fn as_recorded(attempt: &mut call_attempt::Model, report: &OutcomeReport, now: DateTime<Utc>) {
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
    attempt.recording_path = report.record.recording_path.clone();
    attempt.transcript = report.record.transcript.clone();
    attempt.metrics = report.record.metrics.clone();
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
fn judge(
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
            .unwrap_or(chrono_tz::Asia::Shanghai);
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
