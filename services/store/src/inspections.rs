//! The quality inspection's queue and results.
//!
//! Every reported attempt with a recording is queued for inspection in
//! the same transaction as its outcome, so no call escapes it. QA workers
//! lease jobs as dialers lease calls: a conditional update hands a job to
//! one worker with a fresh token and an expiry (PostgreSQL also skips
//! rows another worker holds); a worker that dies loses its lease when it
//! expires and the job goes to the next. A result is stored only by the
//! holder of the current lease, in the transaction that marks the job
//! done, so a call is never inspected into the results twice. A job that
//! fails (or whose worker dies) [`MAX_TRIES`] times is marked failed and
//! counted as such.
//!
//! Each hour's report is made once every call that ended in the hour is
//! inspected (or failed), or when the next hour ends, whichever is first;
//! an incomplete report is made again when its last call is done.

use crate::dispatch::{new_lease_token, stmt};
use crate::{Result, Store};
use sea_orm::{ConnectionTrait, DatabaseBackend, TransactionTrait, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Leases (or deaths of its worker) before a job is given up as failed.
pub const MAX_TRIES: i32 = 3;
pub const HOUR_MS: i64 = 3_600_000;

/// A call to inspect, leased to one worker.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionJob {
    pub attempt_id: String,
    /// Inside the recordings directory.
    pub recording_path: String,
    pub finished_at_ms: i64,
    pub lease_token: i64,
    pub campaign_id: String,
    /// The debtor's dialect as the account has it.
    pub dialect: String,
    /// The agent who talked on the call; none: the robot alone.
    pub agent_name: Option<String>,
    /// The call's record (JSON), as the dialer saved it.
    pub call_record: Option<String>,
}

/// One flag of a result, as stored for filtering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFlag {
    pub kind: String,
    pub channel: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub rule: String,
    pub evidence: String,
}

/// What the inspection of a call found.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInspection {
    pub dialect: String,
    pub score: f64,
    pub flags: Vec<StoredFlag>,
    /// The whole inspection as JSON (transcript, measurements, tracks).
    pub result: String,
}

/// An hour's report: every call that ended in it, inspected or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourReport {
    pub hour_start_ms: i64,
    pub made_at_ms: i64,
    pub calls: i64,
    pub inspected: i64,
    pub failed: i64,
    pub mean_score: Option<f64>,
    /// Flags by type.
    pub flags: BTreeMap<String, i64>,
    /// By who spoke for the lender: an agent's name, or `robot:DIALECT`
    /// for the robot's script in a dialect.
    pub by_collector: BTreeMap<String, CollectorFigures>,
}

impl HourReport {
    /// Every call of the hour inspected or given up.
    pub fn complete(&self) -> bool {
        self.inspected + self.failed >= self.calls
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectorFigures {
    pub calls: i64,
    pub mean_score: f64,
    pub flags: BTreeMap<String, i64>,
}

const QUEUED: &str = "queued";
const WORKING: &str = "working";
const DONE: &str = "done";
const FAILED: &str = "failed";

/// Queues an attempt's recording for inspection (once: a repeated report
/// queues nothing more).
pub(crate) async fn enqueue(
    txn: &impl ConnectionTrait,
    attempt_id: &str,
    recording_path: &str,
    finished_at_ms: i64,
) -> Result<()> {
    let backend = txn.get_database_backend();
    txn.execute(stmt(
        backend,
        "INSERT INTO inspection_jobs (attempt_id, recording_path, finished_at_ms, status) \
         VALUES (?, ?, ?, ?) ON CONFLICT (attempt_id) DO NOTHING",
        vec![
            attempt_id.into(),
            recording_path.into(),
            finished_at_ms.into(),
            QUEUED.into(),
        ],
    ))
    .await?;
    Ok(())
}

impl Store {
    /// The oldest call waiting for inspection (or whose worker's lease
    /// expired), leased to `worker` until `now_ms + lease_ms`.
    pub async fn lease_inspection(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<InspectionJob>> {
        let backend = self.backend();
        let lock = if backend == DatabaseBackend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        if backend == DatabaseBackend::Sqlite {
            // Take the write lock before reading: a transaction that reads
            // first and then writes is refused at once ("database is
            // locked", no busy wait) when another process's worker wrote
            // in between; one that writes first waits its turn.
            txn.execute(stmt(
                backend,
                "UPDATE inspection_jobs SET status = status WHERE 1 = 0",
                vec![],
            ))
            .await?;
        }
        loop {
            let found = txn
                .query_one(stmt(
                    backend,
                    &format!(
                        "SELECT attempt_id, tries FROM inspection_jobs \
                         WHERE status = '{QUEUED}' OR (status = '{WORKING}' AND lease_expires_at_ms <= ?) \
                         ORDER BY finished_at_ms, attempt_id LIMIT 1{lock}"
                    ),
                    vec![now_ms.into()],
                ))
                .await?;
            let Some(row) = found else {
                txn.commit().await?;
                return Ok(None);
            };
            let id: String = row.try_get_by_index(0)?;
            let tries: i32 = row.try_get_by_index(1)?;
            if tries >= MAX_TRIES {
                txn.execute(stmt(
                    backend,
                    &format!(
                        "UPDATE inspection_jobs SET status = '{FAILED}', worker = NULL, lease_expires_at_ms = NULL, \
                         done_at_ms = ?, error = COALESCE(error, ?) WHERE attempt_id = ?"
                    ),
                    vec![
                        now_ms.into(),
                        format!("its worker stopped {tries} times while inspecting it").into(),
                        id.as_str().into(),
                    ],
                ))
                .await?;
                tracing::warn!(attempt = %id, tries, "inspection given up");
                continue;
            }
            let token = new_lease_token();
            txn.execute(stmt(
                backend,
                &format!(
                    "UPDATE inspection_jobs SET status = '{WORKING}', worker = ?, lease_token = ?, \
                     lease_expires_at_ms = ?, tries = tries + 1 WHERE attempt_id = ?"
                ),
                vec![
                    worker.into(),
                    token.into(),
                    (now_ms + lease_ms).into(),
                    id.as_str().into(),
                ],
            ))
            .await?;
            let job = txn
                .query_one(stmt(
                    backend,
                    "SELECT j.attempt_id, j.recording_path, j.finished_at_ms, a.campaign_id, \
                     COALESCE(c.dialect, 'mandarin'), a.agent_name, a.call_record \
                     FROM inspection_jobs j JOIN call_attempts a ON a.id = j.attempt_id \
                     LEFT JOIN accounts c ON c.id = a.account_id WHERE j.attempt_id = ?",
                    vec![id.as_str().into()],
                ))
                .await?;
            txn.commit().await?;
            let Some(r) = job else {
                return Ok(None);
            };
            return Ok(Some(InspectionJob {
                attempt_id: r.try_get_by_index(0)?,
                recording_path: r.try_get_by_index(1)?,
                finished_at_ms: r.try_get_by_index(2)?,
                lease_token: token,
                campaign_id: r.try_get_by_index(3)?,
                dialect: r.try_get_by_index(4)?,
                agent_name: r.try_get_by_index(5)?,
                call_record: r.try_get_by_index(6)?,
            }));
        }
    }

    /// Stores a job's result and marks it done, if the job is still this
    /// lease's; returns whether it was (a worker whose lease ran out and
    /// was taken over stores nothing).
    pub async fn finish_inspection(
        &self,
        job: &InspectionJob,
        result: NewInspection,
        now_ms: i64,
    ) -> Result<bool> {
        let backend = self.backend();
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        let marked = txn
            .execute(stmt(
                backend,
                &format!(
                    "UPDATE inspection_jobs SET status = '{DONE}', done_at_ms = ?, lease_expires_at_ms = NULL, error = NULL \
                     WHERE attempt_id = ? AND status = '{WORKING}' AND lease_token = ?"
                ),
                vec![
                    now_ms.into(),
                    job.attempt_id.as_str().into(),
                    job.lease_token.into(),
                ],
            ))
            .await?;
        if marked.rows_affected() != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        txn.execute(stmt(
            backend,
            "INSERT INTO inspections (attempt_id, finished_at_ms, inspected_at_ms, campaign_id, agent_name, \
             dialect, score, flag_count, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                job.attempt_id.as_str().into(),
                job.finished_at_ms.into(),
                now_ms.into(),
                job.campaign_id.as_str().into(),
                job.agent_name.clone().into(),
                result.dialect.as_str().into(),
                result.score.into(),
                (result.flags.len() as i32).into(),
                result.result.into(),
            ],
        ))
        .await?;
        for (seq, f) in result.flags.iter().enumerate() {
            txn.execute(stmt(
                backend,
                "INSERT INTO inspection_flags (attempt_id, seq, kind, channel, start_ms, end_ms, rule, evidence) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    job.attempt_id.as_str().into(),
                    (seq as i32).into(),
                    f.kind.as_str().into(),
                    f.channel.as_str().into(),
                    f.start_ms.into(),
                    f.end_ms.into(),
                    f.rule.as_str().into(),
                    f.evidence.as_str().into(),
                ],
            ))
            .await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// A job that could not be inspected (an unreadable recording): back
    /// in the queue, or failed for good after [`MAX_TRIES`].
    pub async fn fail_inspection(
        &self,
        job: &InspectionJob,
        error: &str,
        now_ms: i64,
    ) -> Result<()> {
        let backend = self.backend();
        let _guard = self.write_guard().await;
        self.db
            .execute(stmt(
                backend,
                &format!(
                    "UPDATE inspection_jobs SET status = CASE WHEN tries >= ? THEN '{FAILED}' ELSE '{QUEUED}' END, \
                     done_at_ms = CASE WHEN tries >= ? THEN ? ELSE NULL END, \
                     worker = NULL, lease_expires_at_ms = NULL, error = ? \
                     WHERE attempt_id = ? AND status = '{WORKING}' AND lease_token = ?"
                ),
                vec![
                    MAX_TRIES.into(),
                    MAX_TRIES.into(),
                    now_ms.into(),
                    huikuan_core::truncate(error, 500).into_owned().into(),
                    job.attempt_id.as_str().into(),
                    job.lease_token.into(),
                ],
            ))
            .await?;
        Ok(())
    }

    /// Every job's state: (attempt, status, worker, tries), oldest first.
    pub async fn inspection_jobs(&self) -> Result<Vec<(String, String, Option<String>, i32)>> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                "SELECT attempt_id, status, worker, tries FROM inspection_jobs ORDER BY finished_at_ms, attempt_id",
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get_by_index(0)?,
                    r.try_get_by_index(1)?,
                    r.try_get_by_index(2)?,
                    r.try_get_by_index(3)?,
                ))
            })
            .collect()
    }

    /// Calls waiting for inspection or being inspected.
    pub async fn inspection_backlog(&self) -> Result<i64> {
        let row = self
            .db
            .query_one(stmt(
                self.backend(),
                &format!(
                    "SELECT COUNT(*) FROM inspection_jobs WHERE status IN ('{QUEUED}', '{WORKING}')"
                ),
                vec![],
            ))
            .await?;
        Ok(row
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0))
    }

    /// The result stored for an attempt: its score and the inspection's
    /// JSON.
    pub async fn inspection_result(&self, attempt_id: &str) -> Result<Option<(f64, String)>> {
        let row = self
            .db
            .query_one(stmt(
                self.backend(),
                "SELECT score, result FROM inspections WHERE attempt_id = ?",
                vec![attempt_id.into()],
            ))
            .await?;
        Ok(match row {
            Some(r) => Some((r.try_get_by_index(0)?, r.try_get_by_index(1)?)),
            None => None,
        })
    }

    /// Makes the reports that are due at `now_ms` (see the module's doc)
    /// and returns them.
    pub async fn make_due_hour_reports(&self, now_ms: i64) -> Result<Vec<HourReport>> {
        let backend = self.backend();
        let this_hour = now_ms.div_euclid(HOUR_MS) * HOUR_MS;
        let since = this_hour - 48 * HOUR_MS;
        let hours = self
            .db
            .query_all(stmt(
                backend,
                &format!(
                    "SELECT j.finished_at_ms / {HOUR_MS} AS h, CAST(COUNT(*) AS BIGINT), \
                     CAST(COALESCE(SUM(CASE WHEN j.status = '{DONE}' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                     CAST(COALESCE(SUM(CASE WHEN j.status = '{FAILED}' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                     CAST(MAX(r.inspected) AS BIGINT) \
                     FROM inspection_jobs j LEFT JOIN inspection_hours r ON r.hour_start_ms = (j.finished_at_ms / {HOUR_MS}) * {HOUR_MS} \
                     WHERE j.finished_at_ms >= ? AND j.finished_at_ms < ? GROUP BY j.finished_at_ms / {HOUR_MS} ORDER BY h"
                ),
                vec![since.into(), this_hour.into()],
            ))
            .await?;
        let mut made = Vec::new();
        for row in hours {
            let hour: i64 = row.try_get_by_index(0)?;
            let calls: i64 = row.try_get_by_index(1)?;
            let done: i64 = row.try_get_by_index::<i64>(2)?;
            let failed: i64 = row.try_get_by_index::<i64>(3)?;
            let reported: Option<i64> = row.try_get_by_index(4)?;
            let start = hour * HOUR_MS;
            let complete = done + failed >= calls;
            let deadline = now_ms >= start + 2 * HOUR_MS;
            let due = match reported {
                None => complete || deadline,
                // Made again once its last call is done.
                Some(inspected) => complete && inspected < done,
            };
            if due {
                made.push(self.make_hour_report(start, now_ms).await?);
            }
        }
        Ok(made)
    }

    /// The report of the hour starting at `start_ms`, made now (and kept).
    pub async fn make_hour_report(&self, start_ms: i64, now_ms: i64) -> Result<HourReport> {
        let backend = self.backend();
        let end = start_ms + HOUR_MS;
        let counts = self
            .db
            .query_one(stmt(
                backend,
                &format!(
                    "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN status = '{DONE}' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                     CAST(COALESCE(SUM(CASE WHEN status = '{FAILED}' THEN 1 ELSE 0 END), 0) AS BIGINT) \
                     FROM inspection_jobs WHERE finished_at_ms >= ? AND finished_at_ms < ?"
                ),
                vec![start_ms.into(), end.into()],
            ))
            .await?;
        let (calls, inspected, failed) = match counts {
            Some(r) => (
                r.try_get_by_index::<i64>(0)?,
                r.try_get_by_index::<i64>(1)?,
                r.try_get_by_index::<i64>(2)?,
            ),
            None => (0, 0, 0),
        };
        let rows = self
            .db
            .query_all(stmt(
                backend,
                "SELECT i.attempt_id, i.agent_name, i.dialect, i.score, f.kind FROM inspections i \
                 LEFT JOIN inspection_flags f ON f.attempt_id = i.attempt_id \
                 WHERE i.finished_at_ms >= ? AND i.finished_at_ms < ? ORDER BY i.attempt_id",
                vec![start_ms.into(), end.into()],
            ))
            .await?;
        let mut flags: BTreeMap<String, i64> = BTreeMap::new();
        let mut by_collector: BTreeMap<String, CollectorFigures> = BTreeMap::new();
        let mut scores: Vec<f64> = Vec::new();
        let mut last: Option<String> = None;
        for r in rows {
            let id: String = r.try_get_by_index(0)?;
            let agent: Option<String> = r.try_get_by_index(1)?;
            let dialect: String = r.try_get_by_index(2)?;
            let score: f64 = r.try_get_by_index(3)?;
            let kind: Option<String> = r.try_get_by_index(4)?;
            let who = agent.unwrap_or_else(|| format!("robot:{dialect}"));
            let figures = by_collector.entry(who).or_default();
            if last.as_deref() != Some(id.as_str()) {
                scores.push(score);
                figures.mean_score = (figures.mean_score * figures.calls as f64 + score)
                    / (figures.calls + 1) as f64;
                figures.calls += 1;
                last = Some(id);
            }
            if let Some(kind) = kind {
                *flags.entry(kind.clone()).or_default() += 1;
                *figures.flags.entry(kind).or_default() += 1;
            }
        }
        let report = HourReport {
            hour_start_ms: start_ms,
            made_at_ms: now_ms,
            calls,
            inspected,
            failed,
            mean_score: (!scores.is_empty())
                .then(|| scores.iter().sum::<f64>() / scores.len() as f64),
            flags,
            by_collector,
        };
        let json = serde_json::to_string(&report)
            .map_err(|e| crate::StoreError::Conflict(format!("hour report {start_ms}: {e}")))?;
        let _guard = self.write_guard().await;
        self.db
            .execute(stmt(
                backend,
                "INSERT INTO inspection_hours (hour_start_ms, made_at_ms, calls, inspected, failed, report) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hour_start_ms) DO UPDATE SET \
                 made_at_ms = excluded.made_at_ms, calls = excluded.calls, inspected = excluded.inspected, \
                 failed = excluded.failed, report = excluded.report",
                vec![
                    start_ms.into(),
                    now_ms.into(),
                    calls.into(),
                    inspected.into(),
                    failed.into(),
                    json.into(),
                ],
            ))
            .await?;
        Ok(report)
    }

    /// The report kept for the hour starting at `start_ms`.
    pub async fn hour_report(&self, start_ms: i64) -> Result<Option<HourReport>> {
        let row = self
            .db
            .query_one(stmt(
                self.backend(),
                "SELECT report FROM inspection_hours WHERE hour_start_ms = ?",
                vec![Value::from(start_ms)],
            ))
            .await?;
        match row {
            Some(r) => {
                let json: String = r.try_get_by_index(0)?;
                serde_json::from_str(&json).map(Some).map_err(|e| {
                    crate::StoreError::Conflict(format!("hour report {start_ms}: {e}"))
                })
            }
            None => Ok(None),
        }
    }
}
