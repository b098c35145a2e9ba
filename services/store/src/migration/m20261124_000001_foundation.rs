//! Campaigns, accounts, contacts, debts, call attempts, promises and import
//! runs. Money is integer fen; instants are UTC epoch milliseconds; the
//! debtor's time zone is kept beside them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    Name,
    Status,
    CreatedAtMs,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    CampaignId,
    Name,
    Dialect,
    Province,
    City,
    TimeZone,
    CreatedAtMs,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    AccountId,
    Phone,
    Priority,
    Dnc,
    AttemptsDay,
    AttemptsToday,
}

#[derive(DeriveIden)]
enum Debts {
    Table,
    Id,
    AccountId,
    LoanId,
    Product,
    PrincipalFen,
    OverdueFen,
    DueDate,
    DaysPastDue,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum CallAttempts {
    Table,
    Id,
    CampaignId,
    AccountId,
    ContactId,
    Seq,
    Status,
    NotBeforeMs,
    TimeZone,
    LeaseOwner,
    LeaseToken,
    LeasedAtMs,
    LeaseExpiresAtMs,
    Disposition,
    Note,
    DurationMs,
    PromiseDate,
    PromiseFen,
    CallbackAtMs,
    ReportedAtMs,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum Promises {
    Table,
    Id,
    AccountId,
    AttemptId,
    PromisedDate,
    AmountFen,
    Status,
    CreatedAtMs,
}

#[derive(DeriveIden)]
enum ImportRuns {
    Table,
    Id,
    Source,
    Sha256,
    CampaignId,
    Accepted,
    Rejected,
    StartedAtMs,
    FinishedAtMs,
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().not_null().to_owned()
}
fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string().null().to_owned()
}
fn big(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}
fn big_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().null().to_owned()
}
fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Campaigns::Table)
                .col(text(Campaigns::Id).primary_key())
                .col(text(Campaigns::Name).unique_key())
                .col(text(Campaigns::Status))
                .col(big(Campaigns::CreatedAtMs))
                .col(big(Campaigns::UpdatedAtMs))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Accounts::Table)
                .col(text(Accounts::Id).primary_key())
                .col(text_null(Accounts::CampaignId))
                .col(text(Accounts::Name))
                .col(text(Accounts::Dialect))
                .col(text(Accounts::Province))
                .col(text_null(Accounts::City))
                .col(text(Accounts::TimeZone))
                .col(big(Accounts::CreatedAtMs))
                .col(big(Accounts::UpdatedAtMs))
                .foreign_key(
                    ForeignKey::create()
                        .from(Accounts::Table, Accounts::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
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
        m.create_index(
            Index::create()
                .name("ix_accounts_campaign")
                .table(Accounts::Table)
                .col(Accounts::CampaignId)
                .col(Accounts::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Contacts::Table)
                .col(text(Contacts::Id).primary_key())
                .col(text(Contacts::AccountId))
                .col(text(Contacts::Phone))
                .col(int(Contacts::Priority))
                .col(ColumnDef::new(Contacts::Dnc).boolean().not_null())
                .col(text_null(Contacts::AttemptsDay))
                .col(int(Contacts::AttemptsToday).default(0))
                .foreign_key(
                    ForeignKey::create()
                        .from(Contacts::Table, Contacts::AccountId)
                        .to(Accounts::Table, Accounts::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_contacts_account_phone")
                .table(Contacts::Table)
                .col(Contacts::AccountId)
                .col(Contacts::Phone)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Debts::Table)
                .col(text(Debts::Id).primary_key())
                .col(text(Debts::AccountId))
                .col(text(Debts::LoanId))
                .col(text(Debts::Product))
                .col(big(Debts::PrincipalFen))
                .col(big(Debts::OverdueFen))
                .col(text(Debts::DueDate))
                .col(int(Debts::DaysPastDue))
                .col(big(Debts::UpdatedAtMs))
                .foreign_key(
                    ForeignKey::create()
                        .from(Debts::Table, Debts::AccountId)
                        .to(Accounts::Table, Accounts::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_debts_account_loan")
                .table(Debts::Table)
                .col(Debts::AccountId)
                .col(Debts::LoanId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(CallAttempts::Table)
                .col(text(CallAttempts::Id).primary_key())
                .col(text(CallAttempts::CampaignId))
                .col(text(CallAttempts::AccountId))
                .col(text(CallAttempts::ContactId))
                .col(int(CallAttempts::Seq))
                .col(text(CallAttempts::Status))
                .col(big(CallAttempts::NotBeforeMs))
                .col(text(CallAttempts::TimeZone))
                .col(text_null(CallAttempts::LeaseOwner))
                .col(big(CallAttempts::LeaseToken).default(0))
                .col(big_null(CallAttempts::LeasedAtMs))
                .col(big_null(CallAttempts::LeaseExpiresAtMs))
                .col(text_null(CallAttempts::Disposition))
                .col(text_null(CallAttempts::Note))
                .col(big_null(CallAttempts::DurationMs))
                .col(text_null(CallAttempts::PromiseDate))
                .col(big_null(CallAttempts::PromiseFen))
                .col(big_null(CallAttempts::CallbackAtMs))
                .col(big_null(CallAttempts::ReportedAtMs))
                .col(big(CallAttempts::CreatedAtMs))
                .foreign_key(
                    ForeignKey::create()
                        .from(CallAttempts::Table, CallAttempts::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(CallAttempts::Table, CallAttempts::ContactId)
                        .to(Contacts::Table, Contacts::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_attempts_due")
                .table(CallAttempts::Table)
                .col(CallAttempts::Status)
                .col(CallAttempts::NotBeforeMs)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_attempts_lease")
                .table(CallAttempts::Table)
                .col(CallAttempts::Status)
                .col(CallAttempts::LeaseExpiresAtMs)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_attempts_account")
                .table(CallAttempts::Table)
                .col(CallAttempts::AccountId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_attempts_contact")
                .table(CallAttempts::Table)
                .col(CallAttempts::ContactId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Promises::Table)
                .col(text(Promises::Id).primary_key())
                .col(text(Promises::AccountId))
                .col(text(Promises::AttemptId).unique_key())
                .col(text(Promises::PromisedDate))
                .col(big(Promises::AmountFen))
                .col(text(Promises::Status))
                .col(big(Promises::CreatedAtMs))
                .foreign_key(
                    ForeignKey::create()
                        .from(Promises::Table, Promises::AccountId)
                        .to(Accounts::Table, Accounts::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_promises_account")
                .table(Promises::Table)
                .col(Promises::AccountId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ImportRuns::Table)
                .col(text(ImportRuns::Id).primary_key())
                .col(text(ImportRuns::Source))
                .col(text_null(ImportRuns::Sha256))
                .col(text(ImportRuns::CampaignId))
                .col(big(ImportRuns::Accepted))
                .col(big(ImportRuns::Rejected))
                .col(big(ImportRuns::StartedAtMs))
                .col(big_null(ImportRuns::FinishedAtMs))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ImportRuns::Table.into_iden(),
            Promises::Table.into_iden(),
            CallAttempts::Table.into_iden(),
            Debts::Table.into_iden(),
            Contacts::Table.into_iden(),
            Accounts::Table.into_iden(),
            Campaigns::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
