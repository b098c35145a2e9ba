//! What a call left behind, kept with its attempt: the recording's path,
//! the timed transcript of both sides (JSON) and the call's measured
//! figures (JSON: response times, barge-ins).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CallAttempts {
    Table,
    RecordingPath,
    Transcript,
    Metrics,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            CallAttempts::RecordingPath,
            CallAttempts::Transcript,
            CallAttempts::Metrics,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CallAttempts::Table)
                        .add_column(ColumnDef::new(col).text().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            CallAttempts::RecordingPath,
            CallAttempts::Transcript,
            CallAttempts::Metrics,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(CallAttempts::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
