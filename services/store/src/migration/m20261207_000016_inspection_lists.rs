//! An index for the console's list of inspected calls by the agent who
//! spoke for the lender, newest first (by time and by flag type are
//! indexed since the tables were made).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] =
    &["CREATE INDEX ix_inspections_agent ON inspections (agent_name, finished_at_ms)"];

const DOWN: &[&str] = &["DROP INDEX ix_inspections_agent"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        super::execute_all(m, UP).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        super::execute_all(m, DOWN).await
    }
}
