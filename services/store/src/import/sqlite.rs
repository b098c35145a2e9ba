//! The import's writer for SQLite databases: its own connection to the
//! database file, prepared statements bound straight from the records, one
//! transaction per batch.
//!
//! It writes the same rows as the portable writer (`super::write_chunk`)
//! with the same rules, but without building SQL text per batch or
//! converting values for an async driver, which cost more than SQLite's
//! own work on large portfolios. Foreign-key checks are off on this
//! connection only: every row it writes refers to a row it has just
//! written or found (the campaign exists before an import starts), and a
//! test checks the result with `PRAGMA foreign_key_check`.

use super::{owes_nothing, runs, stale_attempts, BatchOutcome, ExistingAttempt, NumberedRecord};
use crate::ids;
use crate::migration::m20261204_000009_campaign_counts as counting;
use huikuan_core::{AccountRecord, AttemptStatus};
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub struct SqliteWriter {
    conn: Connection,
    /// Copies committed pages from the WAL into the database file while
    /// the next batch is written (`conn` does not checkpoint itself).
    checkpointer: Arc<std::sync::Mutex<Connection>>,
}

/// One batch as the writer binds it. The reading side makes it (the latest
/// row per account, every id, the dates as text), so the thread holding
/// SQLite's write lock does SQLite's work and little else.
pub struct SqliteBatch {
    campaign_id: String,
    run_id: String,
    no_move: bool,
    now: i64,
    rows: Vec<PreparedRow>,
    time_zones: BTreeSet<&'static str>,
    /// Rows in the batch, repeats of an account id included.
    total: u64,
}

struct PreparedRow {
    line: u64,
    record: AccountRecord,
    debt_id: String,
    due_date: String,
    /// The ids of `record.contacts`, in their order.
    contact_ids: Vec<String>,
    /// The first callable contact's seq-0 attempt: (attempt id, contact index).
    attempt: Option<(String, usize)>,
}

impl SqliteBatch {
    pub fn prepare(
        keys: &crate::ContactKeys,
        campaign_id: &str,
        run_id: &str,
        no_move: bool,
        records: Vec<NumberedRecord>,
    ) -> SqliteBatch {
        let total = records.len() as u64;
        let rows: Vec<PreparedRow> = super::last_of_each(records)
            .into_iter()
            .map(|(line, record)| PreparedRow::new(keys, campaign_id, line, record))
            .collect();
        SqliteBatch {
            campaign_id: campaign_id.to_string(),
            run_id: run_id.to_string(),
            no_move,
            now: crate::now_ms(),
            time_zones: rows
                .iter()
                .map(|r| r.record.region.time_zone.name())
                .collect(),
            total,
            rows,
        }
    }
}

impl PreparedRow {
    fn new(
        keys: &crate::ContactKeys,
        campaign_id: &str,
        line: u64,
        record: AccountRecord,
    ) -> PreparedRow {
        let id = record.external_id.as_str();
        let contact_ids: Vec<String> = record
            .contacts
            .iter()
            .map(|c| keys.contact_id(id, c.phone.e164()))
            .collect();
        let attempt = record
            .contacts
            .iter()
            .position(|c| !c.dnc)
            .filter(|_| !owes_nothing(&record))
            .map(|i| (ids::attempt(campaign_id, &contact_ids[i], 0), i));
        PreparedRow {
            line,
            debt_id: ids::debt(id, &record.debt.loan_id),
            due_date: record.debt.due_date.to_string(),
            contact_ids,
            attempt,
            record,
        }
    }

    /// Ids of the contacts marked do-not-call.
    fn dnc_contacts(&self) -> impl Iterator<Item = &str> {
        self.record
            .contacts
            .iter()
            .zip(&self.contact_ids)
            .filter(|(c, _)| c.dnc)
            .map(|(_, id)| id.as_str())
    }
}

const ACCOUNT: &str = "INSERT INTO accounts \
    (id, campaign_id, name, dialect, province, city, time_zone, created_at_ms, updated_at_ms) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
    ON CONFLICT (id) DO UPDATE SET campaign_id = excluded.campaign_id, name = excluded.name, \
    dialect = excluded.dialect, province = excluded.province, city = excluded.city, \
    time_zone = excluded.time_zone, updated_at_ms = excluded.updated_at_ms";

const DEBT: &str = "INSERT INTO debts \
    (id, account_id, loan_id, product, principal_fen, overdue_fen, due_date, days_past_due, updated_at_ms) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
    ON CONFLICT (id) DO UPDATE SET product = excluded.product, \
    principal_fen = excluded.principal_fen, overdue_fen = excluded.overdue_fen, \
    due_date = excluded.due_date, days_past_due = excluded.days_past_due, \
    updated_at_ms = excluded.updated_at_ms";

const CONTACT: &str = "INSERT INTO contacts \
    (id, account_id, phone, priority, dnc, attempts_today) VALUES (?1, ?2, ?3, ?4, ?5, 0) \
    ON CONFLICT (id) DO UPDATE SET priority = excluded.priority, dnc = excluded.dnc";

const ATTEMPT: &str = "INSERT INTO call_attempts \
    (id, campaign_id, account_id, contact_id, seq, status, not_before_ms, time_zone, lease_token, created_at_ms) \
    VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, 0, ?6) ON CONFLICT (id) DO NOTHING";

/// An account's attempts: the key range after `ACCOUNT/` (see `crate::of_accounts`).
const ATTEMPTS_OF_ACCOUNT: &str =
    "SELECT id, campaign_id, contact_id, status FROM call_attempts WHERE id > ?1 AND id < ?2";

/// The campaign an account is stored in, and its name.
const STORED_IN: &str = "SELECT a.campaign_id, c.name FROM accounts a \
    LEFT JOIN campaigns c ON c.id = a.campaign_id WHERE a.id = ?1";

const CANCEL: &str = "UPDATE call_attempts SET status = ?2 WHERE id = ?1 AND status = ?3";

fn db_error(e: rusqlite::Error) -> crate::StoreError {
    crate::StoreError::Db(sea_orm::DbErr::Custom(format!("sqlite import: {e}")))
}

impl SqliteWriter {
    pub fn open(file: &Path) -> crate::Result<SqliteWriter> {
        let connect = || -> rusqlite::Result<Connection> {
            let conn = Connection::open_with_flags(
                file,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(Duration::from_secs(30))?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            Ok(conn)
        };
        let conn = connect().map_err(db_error)?;
        for (pragma, value) in [
            ("cache_size", "-65536"),
            ("temp_store", "MEMORY"),
            ("foreign_keys", "OFF"),
            ("wal_autocheckpoint", "0"),
        ] {
            conn.pragma_update(None, pragma, value).map_err(db_error)?;
        }
        Ok(SqliteWriter {
            conn,
            checkpointer: Arc::new(std::sync::Mutex::new(connect().map_err(db_error)?)),
        })
    }

    /// Starts a passive checkpoint on the blocking pool unless one is still
    /// running; it waits for no one and no one waits for it.
    fn checkpoint_in_background(&self) {
        let checkpointer = self.checkpointer.clone();
        tokio::task::spawn_blocking(move || {
            if let Ok(conn) = checkpointer.try_lock() {
                if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "import checkpoint");
                }
            }
        });
    }

    /// Writes a prepared batch in one transaction, with its run's counts
    /// (`rejected`: rows rejected since the last batch).
    pub fn write(&mut self, batch: &SqliteBatch, rejected: u64) -> crate::Result<BatchOutcome> {
        self.write_rows(batch, rejected).map_err(db_error)
    }

    fn write_rows(&mut self, batch: &SqliteBatch, rejected: u64) -> rusqlite::Result<BatchOutcome> {
        let mut outcome = BatchOutcome::default();
        let queued = AttemptStatus::Queued.as_str();
        let campaign_id = batch.campaign_id.as_str();
        let now = batch.now;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // This batch counts its own rows (below): the counting triggers
        // are dropped for it and made again before the commit, so no other
        // connection sees them missing (migration 9).
        for name in counting::SQLITE_TRIGGERS {
            tx.execute(&format!("DROP TRIGGER IF EXISTS {name}"), [])?;
        }
        let mut counts = CountDeltas::default();
        let cancelled_status = AttemptStatus::Cancelled.as_str();
        {
            let mut stored_in = tx.prepare_cached(STORED_IN)?;
            let mut account = tx.prepare_cached(ACCOUNT)?;
            let mut debt = tx.prepare_cached(DEBT)?;
            let mut contact = tx.prepare_cached(CONTACT)?;
            let mut attempt = tx.prepare_cached(ATTEMPT)?;
            let mut attempts_of = tx.prepare_cached(ATTEMPTS_OF_ACCOUNT)?;
            let mut cancel = tx.prepare_cached(CANCEL)?;
            for row in &batch.rows {
                let r = &row.record;
                let id = r.external_id.as_str();
                let time_zone = r.region.time_zone.name();
                let stored: Option<(Option<String>, Option<String>)> = stored_in
                    .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })?;
                let existed = stored.is_some();
                match &stored {
                    Some((Some(from), name)) if from != campaign_id => {
                        if batch.no_move {
                            outcome
                                .refused
                                .push((row.line, name.clone().unwrap_or_else(|| from.clone())));
                            continue;
                        }
                        outcome.moved += 1;
                        counts.add(from, ACCOUNTS, -1);
                        counts.add(campaign_id, ACCOUNTS, 1);
                    }
                    Some(_) => {}
                    None => counts.add(campaign_id, ACCOUNTS, 1),
                }
                account.execute(params![
                    id,
                    campaign_id,
                    r.name,
                    r.dialect.as_str(),
                    r.region.province,
                    r.region.city,
                    time_zone,
                    now,
                ])?;
                let d = &r.debt;
                debt.execute(params![
                    row.debt_id,
                    id,
                    d.loan_id,
                    d.product,
                    d.principal.fen(),
                    d.overdue_amount.fen(),
                    row.due_date,
                    d.days_past_due,
                    now,
                ])?;
                for (priority, (c, contact_id)) in
                    r.contacts.iter().zip(&row.contact_ids).enumerate()
                {
                    contact.execute(params![
                        contact_id,
                        id,
                        c.phone.e164(),
                        priority as i64,
                        c.dnc
                    ])?;
                }
                if existed {
                    let existing = attempts_of
                        .query_map([format!("{id}/"), format!("{id}0")], |row| {
                            Ok(ExistingAttempt {
                                account_id: id.to_string(),
                                id: row.get(0)?,
                                campaign_id: row.get(1)?,
                                contact_id: row.get(2)?,
                                status: row.get(3)?,
                            })
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    let dnc: Vec<&str> = row.dnc_contacts().collect();
                    let settled = owes_nothing(r);
                    for stale in
                        stale_attempts(&existing, campaign_id, |c| dnc.contains(&c), |_| settled)
                    {
                        let cancelled = cancel.execute(params![
                            stale.id,
                            AttemptStatus::Cancelled.as_str(),
                            queued
                        ])?;
                        counts.add(&stale.campaign_id, queued, -(cancelled as i64));
                        counts.add(&stale.campaign_id, cancelled_status, cancelled as i64);
                    }
                }
                if let Some((attempt_id, contact)) = &row.attempt {
                    let added = attempt.execute(params![
                        attempt_id,
                        campaign_id,
                        id,
                        row.contact_ids[*contact],
                        queued,
                        now,
                        time_zone,
                    ])?;
                    counts.add(campaign_id, queued, added as i64);
                }
            }
            let mut zone = tx.prepare_cached(&format!(
                "INSERT INTO {} ({}) VALUES (?1) ON CONFLICT DO NOTHING",
                crate::DEBTOR_TIME_ZONES,
                crate::DEBTOR_TIME_ZONE_COLUMN
            ))?;
            for z in &batch.time_zones {
                zone.execute([z])?;
            }
            counts.write(&tx)?;
            outcome.written = batch.total - outcome.refused.len() as u64;
            let mut progress = tx.prepare_cached(runs::ADD_PROGRESS)?;
            progress.execute(params![
                outcome.written as i64,
                (rejected + outcome.refused.len() as u64) as i64,
                outcome.moved as i64,
                crate::now_ms(),
                batch.run_id,
            ])?;
        }
        for sql in counting::sqlite_triggers() {
            tx.execute(&sql, [])?;
        }
        tx.commit()?;
        Ok(outcome)
    }
}

/// The `campaign_counts` row of accounts.
const ACCOUNTS: &str = "accounts";

/// The changes a batch makes to campaign counters, added up as rows are
/// written and written at its end (the counting triggers are paused for
/// the batch: migration 9).
#[derive(Default)]
struct CountDeltas(HashMap<(String, &'static str), i64>);

impl CountDeltas {
    fn add(&mut self, campaign_id: &str, what: &'static str, by: i64) {
        if by != 0 {
            *self.0.entry((campaign_id.to_string(), what)).or_default() += by;
        }
    }

    fn write(&self, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        let mut add = tx.prepare_cached(
            "INSERT INTO campaign_counts (campaign_id, what, n) VALUES (?1, ?2, ?3) \
             ON CONFLICT (campaign_id, what) DO UPDATE SET n = n + excluded.n",
        )?;
        for ((campaign, what), by) in &self.0 {
            if *by != 0 {
                add.execute(params![campaign, what, by])?;
            }
        }
        Ok(())
    }
}

/// Writes a prepared batch on the blocking pool, holding the store's write lock.
pub async fn write_batch(
    store: &crate::Store,
    writer: std::sync::Arc<std::sync::Mutex<SqliteWriter>>,
    batch: SqliteBatch,
    rejected: u64,
) -> crate::Result<BatchOutcome> {
    let guard = store.write_guard_owned().await;
    let stats = tokio::task::spawn_blocking(move || {
        let _guard = guard;
        let mut writer = writer.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = writer.write(&batch, rejected)?;
        writer.checkpoint_in_background();
        Ok::<_, crate::StoreError>(outcome)
    })
    .await
    .map_err(|e| {
        crate::StoreError::Db(sea_orm::DbErr::Custom(format!(
            "import batch writer stopped: {e}"
        )))
    })??;
    store.tz_cache.invalidate();
    Ok(stats)
}
