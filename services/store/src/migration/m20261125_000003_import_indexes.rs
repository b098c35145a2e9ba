//! Leaner bulk import: every index on the import path costs a B-tree
//! insert per portfolio row.
//!
//! - `ix_attempts_contact` served no query (attempts are found by id,
//!   account or status) and was keyed by a random id: dropped.
//! - `ix_accounts_time_zone` only answered "which time zones do debtors
//!   live in?" for the calling-window check. That set now lives in its own
//!   small table, `debtor_time_zones`, which the import keeps up to date
//!   (one row per zone, not per account), and the index is dropped.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DebtorTimeZones {
    Table,
    TimeZone,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    TimeZone,
}

#[derive(DeriveIden)]
enum CallAttempts {
    Table,
    ContactId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DebtorTimeZones::Table)
                .col(
                    ColumnDef::new(DebtorTimeZones::TimeZone)
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .to_owned(),
        )
        .await?;
        let fill = Query::insert()
            .into_table(DebtorTimeZones::Table)
            .columns([DebtorTimeZones::TimeZone])
            .select_from(
                Query::select()
                    .distinct()
                    .column(Accounts::TimeZone)
                    .from(Accounts::Table)
                    .to_owned(),
            )
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .to_owned();
        m.exec_stmt(fill).await?;
        m.drop_index(
            Index::drop()
                .name("ix_accounts_time_zone")
                .table(Accounts::Table)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ix_attempts_contact")
                .table(CallAttempts::Table)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("ix_attempts_contact")
                .table(CallAttempts::Table)
                .col(CallAttempts::ContactId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_accounts_time_zone")
                .table(Accounts::Table)
                .col(Accounts::TimeZone)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(DebtorTimeZones::Table).to_owned())
            .await
    }
}
