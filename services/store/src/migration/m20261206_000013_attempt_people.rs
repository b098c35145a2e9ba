//! Who besides the robot took part in a reported call:
//! `call_attempts.handed_over` (1 when the robot handed the call to a
//! person, whether or not one took it) and `agent_name` (the agent who
//! took it over). Written with the outcome from its call record, so the
//! managers' dashboard counts handoffs and robot containment, and later
//! reports group by agent, without reading call records.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &[
    "ALTER TABLE call_attempts ADD COLUMN handed_over SMALLINT NOT NULL DEFAULT 0",
    "ALTER TABLE call_attempts ADD COLUMN agent_name TEXT",
];

const DOWN: &[&str] = &[
    "ALTER TABLE call_attempts DROP COLUMN agent_name",
    "ALTER TABLE call_attempts DROP COLUMN handed_over",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        super::execute_all(m, UP).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        super::execute_all(m, DOWN).await
    }
}
