//! What happens to a plan after it is made: managers approve, pause and
//! resume it and edit its calls; the orchestrator re-plans an account
//! after its outcome and closes plans whose day is over.
//!
//! Mechanism: a plan in force (approved or executing) releases its
//! planned robot calls into the dispatch queue: the account's queued
//! attempt in the campaign gets the plan's id, the planned time as its
//! due time and the call's priority. Leasing takes released attempts of
//! plans in force only (`dispatch::lease`), so pausing a plan stops its
//! calls at once and resuming restarts them, without touching the queue.
//! Excluding an account, moving its call off the robot or closing the plan
//! takes its attempt back.
//!
//! Guarantees: each change and its audit entry (who, what, why) are one
//! transaction; a change a plan's status does not allow is refused naming
//! the status; approving a day's plan closes the campaign's earlier ones.

use super::{planned_call_in, put_call, PlanDay, PlannedCallRow};
use crate::dispatch::stmt;
use crate::{now_ms, Result, Store, StoreError};
use huikuan_core::{AttemptStatus, Channel, PlanAction, PlanStatus, PlannedCallState};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, TransactionTrait, Value};

/// A manager's change to one planned call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanEdit {
    Exclude,
    /// Undoes an exclusion.
    Include,
    Priority(i32),
    /// `robot`, `agent` or `specialist`.
    Channel(Channel),
    /// A new planned time (epoch ms) and the centre's hour it falls in;
    /// the caller has checked it against the campaign's rules.
    Move {
        at_ms: i64,
        centre_hour: i32,
    },
}

impl PlanEdit {
    fn describe(&self) -> String {
        match self {
            PlanEdit::Exclude => "exclude".into(),
            PlanEdit::Include => "include".into(),
            PlanEdit::Priority(p) => format!("priority {p}"),
            PlanEdit::Channel(c) => format!("channel {c}"),
            PlanEdit::Move { at_ms, .. } => format!(
                "move to {}",
                chrono::DateTime::from_timestamp_millis(*at_ms)
                    .map_or_else(|| at_ms.to_string(), |t| t.to_rfc3339())
            ),
        }
    }
}

/// What re-planning one account decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replanned {
    /// Its next call.
    Call(PlannedCallRow),
    /// No more calls today, and why.
    Off { rule: String, why: String },
}

/// Who changed a plan, and why, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub who: &'a str,
    pub why: &'a str,
    pub remote: &'a str,
}

fn check_why(why: &str) -> Result<()> {
    let n = why.trim().chars().count();
    if n == 0 || n > 500 {
        return Err(StoreError::InvalidArgument {
            field: "why",
            reason: "say why in 1-500 characters: it is kept in the audit log".into(),
        });
    }
    Ok(())
}

/// `call_attempts` rows of one account: a key range on SQLite (its rows'
/// keys lead with the account), the account index on PostgreSQL.
fn of_account(backend: DatabaseBackend, account_id: &str) -> (&'static str, Vec<Value>) {
    if backend == DatabaseBackend::Sqlite {
        (
            "id > ? AND id < ?",
            vec![
                format!("{account_id}/").into(),
                format!("{account_id}0").into(),
            ],
        )
    } else {
        ("account_id = ?", vec![account_id.into()])
    }
}

async fn audit_in(
    txn: &DatabaseTransaction,
    change: Change<'_>,
    action: &str,
    subject: &str,
    detail: String,
) -> Result<()> {
    txn.execute(stmt(
        txn.get_database_backend(),
        "INSERT INTO audit_log (at_ms, actor, action, subject, detail, remote) VALUES (?,?,?,?,?,?)",
        vec![
            now_ms().into(),
            change.who.into(),
            action.into(),
            subject.into(),
            detail.into(),
            change.remote.into(),
        ],
    ))
    .await?;
    Ok(())
}

async fn plan_in(txn: &DatabaseTransaction, plan_id: &str) -> Result<PlanDay> {
    super::plan_by_id(txn, plan_id, true).await
}

async fn set_status(txn: &DatabaseTransaction, plan_id: &str, status: PlanStatus) -> Result<()> {
    txn.execute(stmt(
        txn.get_database_backend(),
        "UPDATE plan_days SET status = ?, updated_at_ms = ? WHERE id = ?",
        vec![status.as_str().into(), now_ms().into(), plan_id.into()],
    ))
    .await?;
    Ok(())
}

/// Releases the plan's planned calls of the dialled channels (robot and
/// agent; see [`Channel::is_dialled`]), all or one account's, each with
/// its time, priority and channel.
async fn release(txn: &DatabaseTransaction, plan: &PlanDay, account: Option<&str>) -> Result<u64> {
    let backend = txn.get_database_backend();
    let pick = "SELECT p.{} FROM planned_calls p WHERE p.plan_day_id = ? AND p.account_id = call_attempts.account_id";
    let mut sql = format!(
        "UPDATE call_attempts SET plan_day_id = ?, not_before_ms = ({}), plan_priority = ({}), plan_channel = ({}) \
         WHERE campaign_id = ? AND status = '{queued}'",
        pick.replace("{}", "planned_at_ms"),
        pick.replace("{}", "priority"),
        pick.replace("{}", "channel"),
        queued = AttemptStatus::Queued.as_str(),
    );
    let mut values: Vec<Value> = vec![
        plan.id.as_str().into(),
        plan.id.as_str().into(),
        plan.id.as_str().into(),
        plan.id.as_str().into(),
        plan.campaign_id.as_str().into(),
    ];
    if let Some(a) = account {
        let (cond, v) = of_account(backend, a);
        sql.push_str(&format!(" AND {cond}"));
        values.extend(v);
    }
    sql.push_str(&format!(
        " AND account_id IN (SELECT account_id FROM planned_calls WHERE plan_day_id = ? AND channel IN ('{}') AND state = ?)",
        Channel::ALL
            .into_iter()
            .filter(|c| c.is_dialled())
            .map(Channel::as_str)
            .collect::<Vec<_>>()
            .join("','")
    ));
    values.push(plan.id.as_str().into());
    values.push(PlannedCallState::Planned.as_str().into());
    Ok(txn
        .execute(stmt(backend, &sql, values))
        .await?
        .rows_affected())
}

/// Takes back the plan's released, undialled attempts (all, or one
/// account's).
async fn unrelease(txn: &DatabaseTransaction, plan_id: &str, account: Option<&str>) -> Result<u64> {
    let backend = txn.get_database_backend();
    let mut sql = format!(
        "UPDATE call_attempts SET plan_day_id = NULL, plan_channel = NULL WHERE plan_day_id = ? AND status = '{}'",
        AttemptStatus::Queued.as_str()
    );
    let mut values: Vec<Value> = vec![plan_id.into()];
    if let Some(a) = account {
        let (cond, v) = of_account(backend, a);
        sql.push_str(&format!(" AND {cond}"));
        values.extend(v);
    }
    Ok(txn
        .execute(stmt(backend, &sql, values))
        .await?
        .rows_affected())
}

impl Store {
    /// Approves, pauses or resumes a plan. Approving releases its robot
    /// calls and closes the campaign's plans of earlier days.
    pub async fn plan_action(
        &self,
        plan_id: &str,
        action: PlanAction,
        change: Change<'_>,
    ) -> Result<PlanDay> {
        check_why(change.why)?;
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        let plan = plan_in(&txn, plan_id).await?;
        let next = plan
            .status
            .after(action)
            .map_err(|e| StoreError::Conflict(format!("plan for {}: {e}", plan.day)))?;
        let backend = self.backend();
        if action == PlanAction::Approve {
            let earlier = txn
                .query_all(stmt(
                    backend,
                    "SELECT id FROM plan_days WHERE campaign_id = ? AND day < ? AND status <> ?",
                    vec![
                        plan.campaign_id.as_str().into(),
                        plan.day.format("%Y-%m-%d").to_string().into(),
                        PlanStatus::Done.as_str().into(),
                    ],
                ))
                .await?;
            for r in earlier {
                let id: String = r.try_get("", "id")?;
                unrelease(&txn, &id, None).await?;
                set_status(&txn, &id, PlanStatus::Done).await?;
            }
            txn.execute(stmt(
                backend,
                "UPDATE plan_days SET approved_at_ms = ?, approved_by = ? WHERE id = ?",
                vec![now_ms().into(), change.who.into(), plan_id.into()],
            ))
            .await?;
            release(&txn, &plan, None).await?;
        }
        set_status(&txn, plan_id, next).await?;
        audit_in(
            &txn,
            change,
            &format!("plan_{}", action.as_str()),
            &format!("plan {} {}", plan.campaign_id, plan.day),
            change.why.trim().to_string(),
        )
        .await?;
        let plan = plan_in(&txn, plan_id).await?;
        txn.commit().await?;
        Ok(plan)
    }

    /// Changes one planned call; a plan in force carries the change into
    /// the dispatch queue at once.
    pub async fn edit_planned_call(
        &self,
        plan_id: &str,
        account_id: &str,
        edit: &PlanEdit,
        change: Change<'_>,
    ) -> Result<PlannedCallRow> {
        check_why(change.why)?;
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        let plan = plan_in(&txn, plan_id).await?;
        if !plan.status.editable() {
            return Err(StoreError::Conflict(format!(
                "the plan for {} is {}: its calls cannot change",
                plan.day, plan.status
            )));
        }
        let mut call = planned_call_in(&txn, plan_id, account_id)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "a planned call for account {account_id} in this plan"
                ))
            })?;
        match edit {
            PlanEdit::Exclude => call.state = PlannedCallState::Excluded,
            PlanEdit::Include => {
                if call.state != PlannedCallState::Excluded {
                    return Err(StoreError::Conflict(format!(
                        "account {account_id} is not excluded"
                    )));
                }
                call.state = PlannedCallState::Planned;
            }
            PlanEdit::Priority(p) => call.priority = *p,
            PlanEdit::Channel(c) => call.channel = c.as_str().to_string(),
            PlanEdit::Move { at_ms, centre_hour } => {
                if !(0..24).contains(centre_hour) {
                    return Err(StoreError::InvalidArgument {
                        field: "centre_hour",
                        reason: format!("{centre_hour} is not an hour 0-23"),
                    });
                }
                call.planned_at_ms = *at_ms;
                call.centre_hour = *centre_hour;
            }
        }
        put_call(&txn, plan_id, &call).await?;
        unrelease(&txn, plan_id, Some(account_id)).await?;
        if plan.status.dispatches() {
            release(&txn, &plan, Some(account_id)).await?;
        }
        audit_in(
            &txn,
            change,
            "plan_edit",
            account_id,
            format!(
                "plan {} {}: {}: {}",
                plan.campaign_id,
                plan.day,
                edit.describe(),
                change.why.trim()
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(call)
    }

    /// Records what re-planning one account decided, and what is left of
    /// the plan's capacity (`room`); a plan in force releases the call.
    /// An account a manager excluded stays excluded.
    pub async fn replan_account(
        &self,
        plan_id: &str,
        account_id: &str,
        replanned: &Replanned,
        room: &str,
    ) -> Result<()> {
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        let plan = plan_in(&txn, plan_id).await?;
        if !plan.status.editable() {
            return Ok(());
        }
        let old = planned_call_in(&txn, plan_id, account_id).await?;
        if old.as_ref().map(|c| c.state) == Some(PlannedCallState::Excluded) {
            return Ok(());
        }
        let backend = self.backend();
        match replanned {
            Replanned::Call(call) => {
                let mut call = call.clone();
                // A manager's priority outlives re-planning.
                if let Some(old) = &old {
                    call.priority = old.priority;
                }
                put_call(&txn, plan_id, &call).await?;
                txn.execute(stmt(
                    backend,
                    "DELETE FROM plan_skips WHERE plan_day_id = ? AND account_id = ?",
                    vec![plan_id.into(), account_id.into()],
                ))
                .await?;
            }
            Replanned::Off { rule, why } => {
                if let Some(mut old) = old {
                    old.state = PlannedCallState::Done;
                    old.reasons = format!("no more calls today: {why}");
                    put_call(&txn, plan_id, &old).await?;
                } else {
                    txn.execute(stmt(
                        backend,
                        "DELETE FROM plan_skips WHERE plan_day_id = ? AND account_id = ?",
                        vec![plan_id.into(), account_id.into()],
                    ))
                    .await?;
                    txn.execute(stmt(
                        backend,
                        "INSERT INTO plan_skips (plan_day_id, account_id, rule, why) VALUES (?,?,?,?)",
                        vec![
                            plan_id.into(),
                            account_id.into(),
                            rule.as_str().into(),
                            why.as_str().into(),
                        ],
                    ))
                    .await?;
                }
            }
        }
        txn.execute(stmt(
            backend,
            "UPDATE plan_days SET room = ?, updated_at_ms = ? WHERE id = ?",
            vec![room.into(), now_ms().into(), plan_id.into()],
        ))
        .await?;
        unrelease(&txn, plan_id, Some(account_id)).await?;
        if plan.status.dispatches() {
            release(&txn, &plan, Some(account_id)).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Closes the plans whose day is over at `now_ms`: done, their
    /// undialled calls taken back. Returns how many closed.
    pub async fn finish_plans(&self, now_ms: i64) -> Result<u64> {
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        let rows = txn
            .query_all(stmt(
                self.backend(),
                "SELECT id FROM plan_days WHERE ends_at_ms <= ? AND status <> ? AND status <> ?",
                vec![
                    now_ms.into(),
                    PlanStatus::Done.as_str().into(),
                    PlanStatus::Draft.as_str().into(),
                ],
            ))
            .await?;
        for r in &rows {
            let id: String = r.try_get("", "id")?;
            unrelease(&txn, &id, None).await?;
            set_status(&txn, &id, PlanStatus::Done).await?;
        }
        txn.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Releases every queued call of the campaign not yet released, for
    /// dialling from `at` (or its own due time, if later), without the
    /// planner: the day's plan is made of them and approved by
    /// `change.who` (or, once approved, they are added to it). For drills
    /// and load tests on a test database; the calling window, caps and
    /// do-not-call still hold at dispatch. Returns how many.
    pub async fn release_queued(
        &self,
        campaign_id: &str,
        at: chrono::DateTime<chrono::Utc>,
        change: Change<'_>,
    ) -> Result<u64> {
        check_why(change.why)?;
        use crate::plans::NewPlan;
        use chrono::Timelike;
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                "SELECT a.account_id, a.contact_id, a.time_zone, a.not_before_ms, c.phone, ac.dialect FROM call_attempts a \
                 JOIN contacts c ON c.id = a.contact_id JOIN accounts ac ON ac.id = a.account_id \
                 WHERE a.campaign_id = ? AND a.status = 'queued' AND (a.plan_day_id IS NULL OR a.plan_day_id NOT IN \
             (SELECT id FROM plan_days WHERE campaign_id = ? AND day = ?))",
                vec![
                    campaign_id.into(),
                    campaign_id.into(),
                    at.date_naive().format("%Y-%m-%d").to_string().into(),
                ],
            ))
            .await?;
        let calls = rows
            .iter()
            .map(|r| {
                Ok(PlannedCallRow {
                    account_id: r.try_get("", "account_id")?,
                    contact_id: r.try_get("", "contact_id")?,
                    phone: r.try_get("", "phone")?,
                    channel: Channel::Robot.as_str().into(),
                    dialect: r.try_get("", "dialect")?,
                    time_zone: r.try_get("", "time_zone")?,
                    // Not before the attempt's own due time (a retry's delay).
                    planned_at_ms: at
                        .timestamp_millis()
                        .max(r.try_get::<i64>("", "not_before_ms")?),
                    centre_hour: at.hour() as i32,
                    priority: 10,
                    expected_fen: 0,
                    reasons: format!("released at once by {}: {}", change.who, change.why.trim()),
                    state: PlannedCallState::Planned,
                })
            })
            .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
        let released = calls.len() as u64;
        let day = at.date_naive();
        // Open until well after both the given clock and the real one.
        let ends = at.max(chrono::Utc::now()) + chrono::Duration::days(2);
        match self.plan_for(campaign_id, day).await? {
            Some(plan) if plan.status != PlanStatus::Draft => {
                for call in calls {
                    let account = call.account_id.clone();
                    self.replan_account(&plan.id, &account, &Replanned::Call(call), &plan.room)
                        .await?;
                }
            }
            _ => {
                let plan = self
                    .save_plan(NewPlan {
                        campaign_id: campaign_id.to_string(),
                        day,
                        made_by: change.who.to_string(),
                        ends_at_ms: ends.timestamp_millis(),
                        capacity: "{}".into(),
                        room: "{}".into(),
                        notes: vec![],
                        model: String::new(),
                        calls,
                        skips: vec![],
                    })
                    .await?;
                self.plan_action(&plan.id, PlanAction::Approve, change)
                    .await?;
            }
        }
        Ok(released)
    }

    /// The plans whose released calls are dialled now.
    pub(crate) async fn plans_in_force<C: ConnectionTrait>(db: &C) -> Result<Vec<String>> {
        let rows = db
            .query_all(stmt(
                db.get_database_backend(),
                "SELECT id FROM plan_days WHERE status IN (?, ?)",
                vec![
                    PlanStatus::Approved.as_str().into(),
                    PlanStatus::Executing.as_str().into(),
                ],
            ))
            .await?;
        rows.iter()
            .map(|r| r.try_get("", "id").map_err(StoreError::from))
            .collect()
    }
}
