//! The day's plans: a plan per campaign and debtor-local day
//! (`plan_days`, with its lifecycle status, the capacity it was made for
//! and what is left of it, and the
//! contact model it was made with, for re-planning), its planned calls with their reasons
//! (`planned_calls`) and the accounts it left off with the rule that did
//! (`plan_skips`). An attempt is dialled only once a plan in force has
//! released it: `call_attempts.plan_day_id` names that plan and
//! `plan_priority` orders attempts due together. Reported attempts are
//! indexed by report time, for the managers' dashboard of the day.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE plan_days (
        id TEXT NOT NULL PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        day TEXT NOT NULL,
        status TEXT NOT NULL,
        made_at_ms BIGINT NOT NULL,
        made_by TEXT NOT NULL,
        approved_at_ms BIGINT,
        approved_by TEXT,
        updated_at_ms BIGINT NOT NULL,
        ends_at_ms BIGINT NOT NULL,
        capacity TEXT NOT NULL,
        room TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        UNIQUE (campaign_id, day))",
    "CREATE TABLE planned_calls (
        plan_day_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        phone TEXT NOT NULL,
        channel TEXT NOT NULL,
        dialect TEXT NOT NULL,
        time_zone TEXT NOT NULL,
        planned_at_ms BIGINT NOT NULL,
        centre_hour INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        expected_fen BIGINT NOT NULL,
        reasons TEXT NOT NULL,
        state TEXT NOT NULL,
        PRIMARY KEY (plan_day_id, account_id))",
    "CREATE INDEX ix_planned_calls_time ON planned_calls (plan_day_id, planned_at_ms)",
    "CREATE TABLE plan_skips (
        plan_day_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        why TEXT NOT NULL,
        PRIMARY KEY (plan_day_id, account_id))",
    "CREATE INDEX ix_plan_skips_rule ON plan_skips (plan_day_id, rule)",
    "ALTER TABLE call_attempts ADD COLUMN plan_day_id TEXT",
    "ALTER TABLE call_attempts ADD COLUMN plan_priority INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX ix_attempts_released ON call_attempts (not_before_ms) \
     WHERE status = 'queued' AND plan_day_id IS NOT NULL",
    "CREATE INDEX ix_attempts_plan ON call_attempts (plan_day_id) WHERE plan_day_id IS NOT NULL",
    "CREATE INDEX ix_attempts_reported ON call_attempts (reported_at_ms) WHERE reported_at_ms IS NOT NULL",
];

const DOWN: &[&str] = &[
    "DROP INDEX ix_attempts_reported",
    "DROP INDEX ix_attempts_plan",
    "DROP INDEX ix_attempts_released",
    "ALTER TABLE call_attempts DROP COLUMN plan_priority",
    "ALTER TABLE call_attempts DROP COLUMN plan_day_id",
    "DROP TABLE plan_skips",
    "DROP TABLE planned_calls",
    "DROP TABLE plan_days",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        super::execute_clustered(m, UP).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        super::execute_all(m, DOWN).await
    }
}
