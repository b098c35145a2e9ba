//! The typed call record (`huikuan_core::call::CallRecord`) kept with each
//! attempt as its JSON, in place of the hand-built transcript and metrics
//! JSON of earlier rows; those stay, and are read into the record
//! (`CallRecord::from_legacy`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CallAttempts {
    Table,
    CallRecord,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(CallAttempts::Table)
                .add_column(ColumnDef::new(CallAttempts::CallRecord).text().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(CallAttempts::Table)
                .drop_column(CallAttempts::CallRecord)
                .to_owned(),
        )
        .await
    }
}
