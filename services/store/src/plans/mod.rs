//! The day's plans as the store keeps them: a plan per campaign and
//! debtor-local day with its lifecycle, its planned calls with their
//! reasons, and the accounts it left off with the rule that did.
//!
//! The store decides nothing here: the plan is made by the planner (in the
//! orchestrator) and saved whole as a draft ([`Store::save_plan`]); managers
//! approve, pause, resume and edit it ([`lifecycle`]), every change audited
//! with who and why; the orchestrator re-plans one account after its
//! outcome ([`Store::replan_account`]). A plan in force releases its robot
//! calls into the dispatch queue: the account's queued attempt is tagged
//! with the plan (`call_attempts.plan_day_id`) and due at the planned
//! time, and leasing takes only attempts released by a plan that is
//! approved or executing. Without one, nothing is dialled.
//!
//! What planning reads is in [`inputs`].

pub mod inputs;
pub mod lifecycle;
mod save;

use crate::dispatch::stmt;
use crate::{Result, Store, StoreError};
use chrono::NaiveDate;
use huikuan_core::{PlanStatus, PlannedCallState};
use sea_orm::{ConnectionTrait, DatabaseTransaction, QueryResult, Value};

pub use lifecycle::PlanEdit;

/// One planned call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCallRow {
    pub account_id: String,
    pub contact_id: String,
    /// E.164.
    pub phone: String,
    /// `robot`, `agent` or `specialist`.
    pub channel: String,
    pub dialect: String,
    pub time_zone: String,
    pub planned_at_ms: i64,
    /// The hour of the centre's day the call falls in (capacity's hours).
    pub centre_hour: i32,
    /// Higher first.
    pub priority: i32,
    pub expected_fen: i64,
    /// In words a manager reads, `; ` between them.
    pub reasons: String,
    pub state: PlannedCallState,
}

/// An account the plan left off, with the rule that did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipRow {
    pub account_id: String,
    pub rule: String,
    pub why: String,
}

/// A plan as saved: made by the planner, not yet anything else.
#[derive(Debug, Clone)]
pub struct NewPlan {
    pub campaign_id: String,
    pub day: NaiveDate,
    pub made_by: String,
    /// When the day's last calling window closes for the campaign's
    /// debtors: the plan is done then.
    pub ends_at_ms: i64,
    /// The capacity the plan was made for, and what it left (JSON; the
    /// planner's, opaque here).
    pub capacity: String,
    pub room: String,
    pub notes: Vec<String>,
    /// The models the plan was made with (JSON, the planner's), for
    /// re-planning with them.
    pub model: String,
    pub calls: Vec<PlannedCallRow>,
    pub skips: Vec<SkipRow>,
}

/// A campaign's plan for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDay {
    pub id: String,
    pub campaign_id: String,
    pub day: NaiveDate,
    pub status: PlanStatus,
    pub made_at_ms: i64,
    pub made_by: String,
    pub approved_at_ms: Option<i64>,
    pub approved_by: Option<String>,
    pub updated_at_ms: i64,
    pub ends_at_ms: i64,
    pub capacity: String,
    pub room: String,
    pub notes: Vec<String>,
    pub model: String,
}

/// Which planned calls to read.
#[derive(Debug, Clone, Default)]
pub struct PlanCallFilter {
    pub channel: Option<String>,
    pub dialect: Option<String>,
    pub state: Option<PlannedCallState>,
    /// Account ids starting with this.
    pub account: Option<String>,
    /// The centre's hour.
    pub hour: Option<i32>,
}

/// Planned calls per centre hour, channel and dialect (excluded ones not
/// counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    pub hour: i32,
    pub channel: String,
    pub dialect: String,
    pub calls: u64,
}

pub(crate) const PLAN_COLUMNS: &str = "id, campaign_id, day, status, made_at_ms, made_by, approved_at_ms, approved_by, updated_at_ms, ends_at_ms, capacity, room, notes, model";

const CALL_COLUMNS: &str = "account_id, contact_id, phone, channel, dialect, time_zone, planned_at_ms, centre_hour, priority, expected_fen, reasons, state";

pub(crate) fn plan_from_row(r: &QueryResult) -> Result<PlanDay> {
    let status: String = r.try_get("", "status")?;
    let day: String = r.try_get("", "day")?;
    let notes: String = r.try_get("", "notes")?;
    Ok(PlanDay {
        id: r.try_get("", "id")?,
        campaign_id: r.try_get("", "campaign_id")?,
        day: day
            .parse()
            .map_err(|e| StoreError::Conflict(format!("plan day '{day}': {e}")))?,
        status: status.parse().map_err(StoreError::Conflict)?,
        made_at_ms: r.try_get("", "made_at_ms")?,
        made_by: r.try_get("", "made_by")?,
        approved_at_ms: r.try_get("", "approved_at_ms")?,
        approved_by: r.try_get("", "approved_by")?,
        updated_at_ms: r.try_get("", "updated_at_ms")?,
        ends_at_ms: r.try_get("", "ends_at_ms")?,
        capacity: r.try_get("", "capacity")?,
        room: r.try_get("", "room")?,
        notes: notes
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        model: r.try_get("", "model")?,
    })
}

pub(crate) fn call_from_row(r: &QueryResult) -> Result<PlannedCallRow> {
    let state: String = r.try_get("", "state")?;
    Ok(PlannedCallRow {
        account_id: r.try_get("", "account_id")?,
        contact_id: r.try_get("", "contact_id")?,
        phone: r.try_get("", "phone")?,
        channel: r.try_get("", "channel")?,
        dialect: r.try_get("", "dialect")?,
        time_zone: r.try_get("", "time_zone")?,
        planned_at_ms: r.try_get("", "planned_at_ms")?,
        centre_hour: r.try_get("", "centre_hour")?,
        priority: r.try_get("", "priority")?,
        expected_fen: r.try_get("", "expected_fen")?,
        reasons: r.try_get("", "reasons")?,
        state: state.parse().map_err(StoreError::Conflict)?,
    })
}

fn skip_from_row(r: &QueryResult) -> Result<SkipRow, sea_orm::DbErr> {
    Ok(SkipRow {
        account_id: r.try_get("", "account_id")?,
        rule: r.try_get("", "rule")?,
        why: r.try_get("", "why")?,
    })
}

impl PlanCallFilter {
    fn conditions(&self, sql: &mut String, values: &mut Vec<Value>) {
        if let Some(c) = &self.channel {
            sql.push_str(" AND channel = ?");
            values.push(c.as_str().into());
        }
        if let Some(d) = &self.dialect {
            sql.push_str(" AND dialect = ?");
            values.push(d.as_str().into());
        }
        if let Some(s) = self.state {
            sql.push_str(" AND state = ?");
            values.push(s.as_str().into());
        }
        if let Some(a) = self.account.as_deref().filter(|a| !a.is_empty()) {
            let escaped = a
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            sql.push_str(" AND account_id LIKE ? ESCAPE '\\'");
            values.push(format!("{escaped}%").into());
        }
        if let Some(h) = self.hour {
            sql.push_str(" AND centre_hour = ?");
            values.push(h.into());
        }
    }
}

impl Store {
    /// The campaign's plan for `day`, if one was made.
    pub async fn plan_for(&self, campaign_id: &str, day: NaiveDate) -> Result<Option<PlanDay>> {
        plan_of(&self.db, campaign_id, &day.format("%Y-%m-%d").to_string()).await
    }

    /// A plan by id.
    pub async fn plan(&self, plan_id: &str) -> Result<PlanDay> {
        plan_by_id(&self.db, plan_id, false).await
    }

    /// The campaign's plans, newest day first (at most `limit`).
    pub async fn plans_of(&self, campaign_id: &str, limit: u64) -> Result<Vec<PlanDay>> {
        self.db
            .query_all(stmt(
                self.backend(),
                &format!(
                    "SELECT {PLAN_COLUMNS} FROM plan_days WHERE campaign_id = ? ORDER BY day DESC LIMIT ?"
                ),
                vec![campaign_id.into(), (limit as i64).into()],
            ))
            .await?
            .iter()
            .map(plan_from_row)
            .collect()
    }

    /// A page of the plan's calls matching `filter`, by time then account,
    /// and how many match in all.
    pub async fn planned_calls(
        &self,
        plan_id: &str,
        filter: &PlanCallFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<PlannedCallRow>, u64)> {
        let mut cond = String::from(" WHERE plan_day_id = ?");
        let mut values: Vec<Value> = vec![plan_id.into()];
        filter.conditions(&mut cond, &mut values);
        let total = self
            .count(&format!("FROM planned_calls{cond}"), values.clone())
            .await?;
        values.push((limit as i64).into());
        values.push((offset as i64).into());
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                &format!(
                    "SELECT {CALL_COLUMNS} FROM planned_calls{cond} ORDER BY planned_at_ms, account_id LIMIT ? OFFSET ?"
                ),
                values,
            ))
            .await?;
        let calls = rows.iter().map(call_from_row).collect::<Result<_>>()?;
        Ok((calls, total))
    }

    /// One account's planned call, if the plan has one.
    pub async fn planned_call(
        &self,
        plan_id: &str,
        account_id: &str,
    ) -> Result<Option<PlannedCallRow>> {
        planned_call_in(&self.db, plan_id, account_id).await
    }

    /// A page of the accounts the plan left off (by account; `rule` keeps
    /// one rule's), and how many in all.
    pub async fn plan_skips(
        &self,
        plan_id: &str,
        rule: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<SkipRow>, u64)> {
        let mut cond = String::from(" WHERE plan_day_id = ?");
        let mut values: Vec<Value> = vec![plan_id.into()];
        if let Some(rule) = rule {
            cond.push_str(" AND rule = ?");
            values.push(rule.into());
        }
        let total = self
            .count(&format!("FROM plan_skips{cond}"), values.clone())
            .await?;
        values.push((limit as i64).into());
        values.push((offset as i64).into());
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                &format!(
                    "SELECT account_id, rule, why FROM plan_skips{cond} ORDER BY account_id LIMIT ? OFFSET ?"
                ),
                values,
            ))
            .await?;
        let skips = rows
            .iter()
            .map(skip_from_row)
            .collect::<Result<_, sea_orm::DbErr>>()?;
        Ok((skips, total))
    }

    /// One account's skip, if the plan left it off.
    pub async fn plan_skip(&self, plan_id: &str, account_id: &str) -> Result<Option<SkipRow>> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                "SELECT account_id, rule, why FROM plan_skips WHERE plan_day_id = ? AND account_id = ?",
                vec![plan_id.into(), account_id.into()],
            ))
            .await?;
        Ok(rows.first().map(skip_from_row).transpose()?)
    }

    /// How many of the plan's calls are in each state (by state name).
    pub async fn plan_call_counts(&self, plan_id: &str) -> Result<Vec<(String, u64)>> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                "SELECT state, COUNT(*) AS n FROM planned_calls WHERE plan_day_id = ? GROUP BY state ORDER BY state",
                vec![plan_id.into()],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "state")?, r.try_get::<i64>("", "n")? as u64)))
            .collect()
    }

    /// How many accounts each rule left off.
    pub async fn plan_skip_counts(&self, plan_id: &str) -> Result<Vec<(String, u64)>> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                "SELECT rule, COUNT(*) AS n FROM plan_skips WHERE plan_day_id = ? GROUP BY rule ORDER BY rule",
                vec![plan_id.into()],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "rule")?, r.try_get::<i64>("", "n")? as u64)))
            .collect()
    }

    /// Planned calls per centre hour, channel and dialect.
    pub async fn plan_hours(&self, plan_id: &str) -> Result<Vec<HourCount>> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                "SELECT centre_hour, channel, dialect, COUNT(*) AS n FROM planned_calls \
                 WHERE plan_day_id = ? AND state <> ? GROUP BY centre_hour, channel, dialect \
                 ORDER BY centre_hour, channel, dialect",
                vec![plan_id.into(), PlannedCallState::Excluded.as_str().into()],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(HourCount {
                    hour: r.try_get("", "centre_hour")?,
                    channel: r.try_get("", "channel")?,
                    dialect: r.try_get("", "dialect")?,
                    calls: r.try_get::<i64>("", "n")? as u64,
                })
            })
            .collect()
    }

    async fn count(&self, from: &str, values: Vec<Value>) -> Result<u64> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                &format!("SELECT COUNT(*) AS n {from}"),
                values,
            ))
            .await?;
        Ok(rows
            .first()
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0) as u64)
    }
}

pub(crate) async fn plan_of<C: ConnectionTrait>(
    db: &C,
    campaign_id: &str,
    day: &str,
) -> Result<Option<PlanDay>> {
    let rows = db
        .query_all(stmt(
            db.get_database_backend(),
            &format!("SELECT {PLAN_COLUMNS} FROM plan_days WHERE campaign_id = ? AND day = ?"),
            vec![campaign_id.into(), day.into()],
        ))
        .await?;
    rows.first().map(plan_from_row).transpose()
}

/// A plan by id; `lock`: held for the transaction's changes (PostgreSQL
/// locks the row; SQLite's single writer needs nothing).
pub(crate) async fn plan_by_id<C: ConnectionTrait>(
    db: &C,
    plan_id: &str,
    lock: bool,
) -> Result<PlanDay> {
    let backend = db.get_database_backend();
    let lock = if lock && backend == sea_orm::DatabaseBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let rows = db
        .query_all(stmt(
            backend,
            &format!("SELECT {PLAN_COLUMNS} FROM plan_days WHERE id = ?{lock}"),
            vec![plan_id.into()],
        ))
        .await?;
    rows.first()
        .map(plan_from_row)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("plan {plan_id}")))
}

pub(crate) async fn planned_call_in<C: ConnectionTrait>(
    db: &C,
    plan_id: &str,
    account_id: &str,
) -> Result<Option<PlannedCallRow>> {
    let rows = db
        .query_all(stmt(
            db.get_database_backend(),
            &format!(
                "SELECT {CALL_COLUMNS} FROM planned_calls WHERE plan_day_id = ? AND account_id = ?"
            ),
            vec![plan_id.into(), account_id.into()],
        ))
        .await?;
    rows.first().map(call_from_row).transpose()
}

/// Upserts one planned call (re-planning, edits).
pub(crate) async fn put_call(
    txn: &DatabaseTransaction,
    plan_id: &str,
    c: &PlannedCallRow,
) -> Result<()> {
    let backend = txn.get_database_backend();
    txn.execute(stmt(
        backend,
        "DELETE FROM planned_calls WHERE plan_day_id = ? AND account_id = ?",
        vec![plan_id.into(), c.account_id.as_str().into()],
    ))
    .await?;
    txn.execute(stmt(
        backend,
        &save::insert_calls(1),
        save::call_values(plan_id, c),
    ))
    .await?;
    Ok(())
}
