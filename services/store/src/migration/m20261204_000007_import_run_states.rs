//! Every import run records how it ended: `running` while rows arrive,
//! then `finished`, `cancelled` (the client or the operator stopped it) or
//! `interrupted` (its process died: no heartbeat for a minute), with the
//! rows accepted, rejected and moved from another campaign. The counts
//! are written in each batch's own transaction, so they are exact after
//! a crash too.
//!
//! The run's `owner` (host and process id) lets a process on the same
//! host tell at once that a run's process is gone.
//!
//! Runs from before this migration without an end are `interrupted`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportRuns {
    Table,
    State,
    Moved,
    HeartbeatAtMs,
    Owner,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in [
            ColumnDef::new(ImportRuns::State)
                .text()
                .not_null()
                .default("finished")
                .to_owned(),
            ColumnDef::new(ImportRuns::Moved)
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(ImportRuns::HeartbeatAtMs)
                .big_integer()
                .null()
                .to_owned(),
            ColumnDef::new(ImportRuns::Owner).text().null().to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(ImportRuns::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.get_connection()
            .execute_unprepared(
                "UPDATE import_runs SET state = 'interrupted' WHERE finished_at_ms IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ImportRuns::State,
            ImportRuns::Moved,
            ImportRuns::HeartbeatAtMs,
            ImportRuns::Owner,
        ] {
            m.alter_table(
                Table::alter()
                    .table(ImportRuns::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
