//! Saving a day's plan whole, as its campaign's draft for the day: the
//! plan's row, its planned calls and the accounts it left off, in one
//! transaction that also drops the day's earlier draft (on PostgreSQL,
//! two transactions on two connections, committed in an order that never
//! shows a plan without its skips; see `save_to_postgres`).
//!
//! A plan is a million rows for a million accounts, so each backend gets
//! its fastest bulk path, from the same rows ([`Field`]): a SQLite file is
//! written on a connection of its own on a blocking thread, one prepared
//! insert per row; PostgreSQL takes the rows through `COPY`, calls and
//! skips at once on two connections; anything else (an in-memory SQLite)
//! through the pool in multi-row inserts. Through
//! the pool, binding and handing over the values took most of the time.
//! The in-process write lock is held throughout, so no other write of ours
//! waits on SQLite's busy timeout meanwhile.

use super::{plan_of, NewPlan, PlanDay, PlannedCallRow, SkipRow, CALL_COLUMNS, PLAN_COLUMNS};
use crate::dispatch::{placeholders, stmt};
use crate::{now_ms, Result, Store, StoreError};
use huikuan_core::PlanStatus;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OpenFlags, TransactionBehavior};
use sea_orm::{ConnectionTrait, DatabaseBackend, TransactionTrait, Value};
use std::path::Path;
use std::time::Duration;

/// Rows per multi-row INSERT: 13 values each, far under both backends'
/// limits on bound values.
const INSERT_ROWS: usize = 400;

/// Bytes of `COPY` data sent at a time.
const COPY_CHUNK: usize = 1 << 20;

const PLAN_OF_DAY: &str = "SELECT id, status FROM plan_days WHERE campaign_id = ? AND day = ?";
const DROP_SKIPS: &str = "DELETE FROM plan_skips WHERE plan_day_id = ?";
const DROP_DRAFT: [&str; 3] = [
    "DELETE FROM planned_calls WHERE plan_day_id = ?",
    DROP_SKIPS,
    "DELETE FROM plan_days WHERE id = ?",
];
const SKIP_COLUMNS: &str = "plan_day_id, account_id, rule, why";

/// One value of a saved row.
#[derive(Debug, Clone, Copy)]
enum Field<'a> {
    Text(&'a str),
    Int(i64),
    Int32(i32),
    NullText,
    NullInt,
}

impl From<Field<'_>> for Value {
    fn from(f: Field<'_>) -> Value {
        match f {
            Field::Text(s) => s.into(),
            Field::Int(n) => n.into(),
            Field::Int32(n) => n.into(),
            Field::NullText => Value::String(None),
            Field::NullInt => Value::BigInt(None),
        }
    }
}

impl rusqlite::ToSql for Field<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Field::Text(s) => ValueRef::Text(s.as_bytes()),
            Field::Int(n) => ValueRef::Integer(n),
            Field::Int32(n) => ValueRef::Integer(n.into()),
            Field::NullText | Field::NullInt => ValueRef::Null,
        }))
    }
}

impl Field<'_> {
    /// Appends the field in `COPY`'s text format.
    fn copy_into(self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Field::Text(s) if !s.contains(['\\', '\t', '\n', '\r']) => out.push_str(s),
            Field::Text(s) => {
                for ch in s.chars() {
                    match ch {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
            Field::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Field::Int32(n) => {
                let _ = write!(out, "{n}");
            }
            Field::NullText | Field::NullInt => out.push_str("\\N"),
        }
    }
}

/// The plan's row, in [`PLAN_COLUMNS`]' order.
fn plan_row<'a>(id: &'a str, day: &'a str, plan: &'a NewPlan, notes: &'a str) -> [Field<'a>; 14] {
    let now = now_ms();
    [
        Field::Text(id),
        Field::Text(&plan.campaign_id),
        Field::Text(day),
        Field::Text(PlanStatus::Draft.as_str()),
        Field::Int(now),
        Field::Text(&plan.made_by),
        Field::NullInt,
        Field::NullText,
        Field::Int(now),
        Field::Int(plan.ends_at_ms),
        Field::Text(&plan.capacity),
        Field::Text(&plan.room),
        Field::Text(notes),
        Field::Text(&plan.model),
    ]
}

/// A planned call's row: the plan's id, then [`CALL_COLUMNS`].
fn call_row<'a>(plan_id: &'a str, c: &'a PlannedCallRow) -> [Field<'a>; 13] {
    [
        Field::Text(plan_id),
        Field::Text(&c.account_id),
        Field::Text(&c.contact_id),
        Field::Text(&c.phone),
        Field::Text(&c.channel),
        Field::Text(&c.dialect),
        Field::Text(&c.time_zone),
        Field::Int(c.planned_at_ms),
        Field::Int32(c.centre_hour),
        Field::Int32(c.priority),
        Field::Int(c.expected_fen),
        Field::Text(&c.reasons),
        Field::Text(c.state.as_str()),
    ]
}

/// A left-off account's row, in [`SKIP_COLUMNS`]' order.
fn skip_row<'a>(plan_id: &'a str, s: &'a SkipRow) -> [Field<'a>; 4] {
    [
        Field::Text(plan_id),
        Field::Text(&s.account_id),
        Field::Text(&s.rule),
        Field::Text(&s.why),
    ]
}

/// A planned call's values for one insert through the pool (re-planning
/// and edits write one call at a time).
pub(super) fn call_values(plan_id: &str, c: &PlannedCallRow) -> Vec<Value> {
    call_row(plan_id, c).into_iter().map(Value::from).collect()
}

fn insert_plan() -> String {
    format!(
        "INSERT INTO plan_days ({PLAN_COLUMNS}) VALUES ({})",
        placeholders(14)
    )
}

pub(super) fn insert_calls(rows: usize) -> String {
    let row = format!("({})", placeholders(13));
    format!(
        "INSERT INTO planned_calls (plan_day_id, {CALL_COLUMNS}) VALUES {}",
        vec![row.as_str(); rows].join(",")
    )
}

fn insert_skips(rows: usize) -> String {
    format!(
        "INSERT INTO plan_skips ({SKIP_COLUMNS}) VALUES {}",
        vec!["(?,?,?,?)"; rows].join(",")
    )
}

/// A plan of another status than draft is not made again.
fn replaceable(day: &str, status: &str) -> Result<()> {
    let status: PlanStatus = status.parse().map_err(StoreError::Conflict)?;
    if status == PlanStatus::Draft {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "the plan for {day} is {status}: it is not made again (pause it and edit its calls)"
        )))
    }
}

fn db_error(message: String) -> StoreError {
    StoreError::Db(sea_orm::DbErr::Custom(message))
}

impl Store {
    /// Saves a plan as the draft for its campaign and day, replacing an
    /// earlier draft; a plan already approved is not replaced (pause and
    /// edit it instead).
    pub async fn save_plan(&self, plan: NewPlan) -> Result<PlanDay> {
        let day = plan.day.format("%Y-%m-%d").to_string();
        let _guard = self.write_guard().await;
        let id = uuid::Uuid::new_v4().to_string();
        if let Some(file) = self.sqlite_file() {
            let (file, campaign_id) = (file.to_path_buf(), plan.campaign_id.clone());
            let (saving, plan_id) = (day.clone(), id.clone());
            tokio::task::spawn_blocking(move || save_to_file(&file, &plan_id, &saving, &plan))
                .await
                .map_err(|e| db_error(format!("saving a plan: {e}")))??;
            return plan_of(&self.db, &campaign_id, &day)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("plan for {day}")));
        }
        if self.backend() == DatabaseBackend::Postgres {
            save_to_postgres(self.db.get_postgres_connection_pool(), &id, &day, &plan).await?;
            return plan_of(&self.db, &plan.campaign_id, &day)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("plan for {day}")));
        }
        let backend = self.backend();
        let txn = self.db.begin().await?;
        if let Some(old) = plan_of(&txn, &plan.campaign_id, &day).await? {
            replaceable(&day, old.status.as_str())?;
            for sql in DROP_DRAFT {
                txn.execute(stmt(backend, sql, vec![old.id.as_str().into()]))
                    .await?;
            }
        }
        let notes = plan.notes.join("\n");
        let row = plan_row(&id, &day, &plan, &notes).map(Value::from);
        txn.execute(stmt(backend, &insert_plan(), row.to_vec()))
            .await?;
        for chunk in plan.calls.chunks(INSERT_ROWS) {
            let values = chunk
                .iter()
                .flat_map(|c| call_row(&id, c).map(Value::from))
                .collect();
            txn.execute(stmt(backend, &insert_calls(chunk.len()), values))
                .await?;
        }
        for chunk in plan.skips.chunks(INSERT_ROWS) {
            let values = chunk
                .iter()
                .flat_map(|s| skip_row(&id, s).map(Value::from))
                .collect();
            txn.execute(stmt(backend, &insert_skips(chunk.len()), values))
                .await?;
        }
        let saved = plan_of(&txn, &plan.campaign_id, &day)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("plan for {day}")))?;
        txn.commit().await?;
        Ok(saved)
    }
}

/// [`Store::save_plan`] on a SQLite file.
fn save_to_file(file: &Path, id: &str, day: &str, plan: &NewPlan) -> Result<()> {
    let sqlite = |e: rusqlite::Error| db_error(format!("saving a plan: {e}"));
    let mut conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite)?;
    conn.busy_timeout(Duration::from_secs(30)).map_err(sqlite)?;
    for (pragma, value) in [
        ("synchronous", "NORMAL"),
        ("cache_size", "-65536"),
        ("temp_store", "MEMORY"),
    ] {
        conn.pragma_update(None, pragma, value).map_err(sqlite)?;
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    let old: Option<(String, String)> = {
        let mut q = tx.prepare(PLAN_OF_DAY).map_err(sqlite)?;
        let mut rows = q.query(params![plan.campaign_id, day]).map_err(sqlite)?;
        match rows.next().map_err(sqlite)? {
            Some(r) => Some((r.get(0).map_err(sqlite)?, r.get(1).map_err(sqlite)?)),
            None => None,
        }
    };
    if let Some((old, status)) = old {
        replaceable(day, &status)?;
        for sql in DROP_DRAFT {
            tx.execute(sql, params![old]).map_err(sqlite)?;
        }
    }
    let notes = plan.notes.join("\n");
    tx.execute(
        &insert_plan(),
        params_from_iter(plan_row(id, day, plan, &notes)),
    )
    .map_err(sqlite)?;
    {
        let mut call = tx.prepare(&insert_calls(1)).map_err(sqlite)?;
        for c in &plan.calls {
            call.execute(params_from_iter(call_row(id, c)))
                .map_err(sqlite)?;
        }
        let mut skip = tx.prepare(&insert_skips(1)).map_err(sqlite)?;
        for s in &plan.skips {
            skip.execute(params_from_iter(skip_row(id, s)))
                .map_err(sqlite)?;
        }
    }
    tx.commit().map_err(sqlite)
}

/// [`Store::save_plan`] on PostgreSQL.
///
/// A server connection works on one core, so the plan is written on two
/// at once: the plan's row and its calls in the transaction that also
/// drops the old draft, and the skipped accounts (two thirds of the rows)
/// in a second transaction on another connection. The second commits
/// first and the first only after it, so a plan is never seen without
/// its skips; every read finds a plan's rows through its `plan_days` row,
/// so skips committed under a plan id that then fails to commit are never
/// read, and are deleted again (only a crash between the two commits
/// would leave them behind, unread).
async fn save_to_postgres(
    pool: &sea_orm::sqlx::PgPool,
    id: &str,
    day: &str,
    plan: &NewPlan,
) -> Result<()> {
    use sea_orm::sqlx;
    let pg = |e: sqlx::Error| db_error(format!("saving a plan: {e}"));
    let pg_sql = |sql: &str| stmt(DatabaseBackend::Postgres, sql, vec![]).sql;
    let mut tx = pool.begin().await.map_err(pg)?;
    let old: Option<(String, String)> = sqlx::query_as(&pg_sql(PLAN_OF_DAY))
        .bind(&plan.campaign_id)
        .bind(day)
        .fetch_optional(&mut *tx)
        .await
        .map_err(pg)?;
    if let Some((old, status)) = old {
        replaceable(day, &status)?;
        for sql in DROP_DRAFT {
            sqlx::query(&pg_sql(sql))
                .bind(&old)
                .execute(&mut *tx)
                .await
                .map_err(pg)?;
        }
    }
    let notes = plan.notes.join("\n");
    copy_rows(
        &mut tx,
        &format!("plan_days ({PLAN_COLUMNS})"),
        std::iter::once(plan_row(id, day, plan, &notes)),
    )
    .await?;
    let calls_table = format!("planned_calls (plan_day_id, {CALL_COLUMNS})");
    let calls = copy_rows(
        &mut tx,
        &calls_table,
        plan.calls.iter().map(|c| call_row(id, c)),
    );
    let skips = async {
        let mut skips_tx = pool.begin().await.map_err(pg)?;
        copy_rows(
            &mut skips_tx,
            &format!("plan_skips ({SKIP_COLUMNS})"),
            plan.skips.iter().map(|s| skip_row(id, s)),
        )
        .await?;
        skips_tx.commit().await.map_err(pg)
    };
    let (calls, skips) = tokio::join!(calls, skips);
    let saved = match (calls, skips) {
        (Ok(()), Ok(())) => tx.commit().await.map_err(pg),
        (Err(e), _) | (Ok(()), Err(e)) => Err(e),
    };
    if saved.is_err() {
        // The skips may have committed; they are unread without their plan.
        let dropped = sqlx::query(&pg_sql(DROP_SKIPS))
            .bind(id)
            .execute(pool)
            .await;
        if let Err(e) = dropped {
            tracing::warn!(plan = id, error = %e, "the skips of a plan not saved were left behind");
        }
    }
    saved
}

/// `rows` into `table (columns)` through `COPY ... FROM STDIN` (text).
async fn copy_rows<'a, const N: usize>(
    tx: &mut sea_orm::sqlx::PgConnection,
    table: &str,
    rows: impl Iterator<Item = [Field<'a>; N]>,
) -> Result<()> {
    let pg = |e: sea_orm::sqlx::Error| db_error(format!("saving a plan: {e}"));
    let mut copy = tx
        .copy_in_raw(&format!("COPY {table} FROM STDIN"))
        .await
        .map_err(pg)?;
    let mut data = String::with_capacity(COPY_CHUNK + 4096);
    for row in rows {
        for (i, field) in row.into_iter().enumerate() {
            if i > 0 {
                data.push('\t');
            }
            field.copy_into(&mut data);
        }
        data.push('\n');
        if data.len() >= COPY_CHUNK {
            copy.send(data.as_bytes()).await.map_err(pg)?;
            data.clear();
        }
    }
    if !data.is_empty() {
        copy.send(data.as_bytes()).await.map_err(pg)?;
    }
    copy.finish().await.map_err(pg)?;
    Ok(())
}
