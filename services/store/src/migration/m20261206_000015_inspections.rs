//! The quality inspection of every recorded call: its queue
//! (`inspection_jobs`, one row per reported attempt with a recording,
//! written with the outcome; leased by QA workers like calls are by
//! dialers), its results (`inspections`, one per attempt, and their
//! `inspection_flags` for filtering), and each hour's report
//! (`inspection_hours`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "CREATE TABLE inspection_jobs (
        attempt_id TEXT NOT NULL PRIMARY KEY,
        recording_path TEXT NOT NULL,
        finished_at_ms BIGINT NOT NULL,
        status TEXT NOT NULL,
        worker TEXT,
        lease_token BIGINT NOT NULL DEFAULT 0,
        lease_expires_at_ms BIGINT,
        tries INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        done_at_ms BIGINT)",
    "CREATE INDEX ix_inspection_jobs_queue ON inspection_jobs (status, finished_at_ms)",
    "CREATE INDEX ix_inspection_jobs_hour ON inspection_jobs (finished_at_ms)",
    "CREATE TABLE inspections (
        attempt_id TEXT NOT NULL PRIMARY KEY,
        finished_at_ms BIGINT NOT NULL,
        inspected_at_ms BIGINT NOT NULL,
        campaign_id TEXT NOT NULL,
        agent_name TEXT,
        dialect TEXT NOT NULL,
        score DOUBLE PRECISION NOT NULL,
        flag_count INTEGER NOT NULL,
        result TEXT NOT NULL)",
    "CREATE INDEX ix_inspections_hour ON inspections (finished_at_ms)",
    "CREATE TABLE inspection_flags (
        attempt_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        channel TEXT NOT NULL,
        start_ms BIGINT NOT NULL,
        end_ms BIGINT NOT NULL,
        rule TEXT NOT NULL,
        evidence TEXT NOT NULL,
        PRIMARY KEY (attempt_id, seq))",
    "CREATE INDEX ix_inspection_flags_kind ON inspection_flags (kind, attempt_id)",
    "CREATE TABLE inspection_hours (
        hour_start_ms BIGINT NOT NULL PRIMARY KEY,
        made_at_ms BIGINT NOT NULL,
        calls INTEGER NOT NULL,
        inspected INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        report TEXT NOT NULL)",
];

const DOWN: &[&str] = &[
    "DROP TABLE inspection_hours",
    "DROP TABLE inspection_flags",
    "DROP TABLE inspections",
    "DROP TABLE inspection_jobs",
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
