//! The console's people: users (role, dialect skills, argon2 password hash,
//! failed logins and lockout), their sessions (kept here so a console
//! restart logs nobody out; only a SHA-256 of each session token is stored,
//! so a copy of the database opens no session), and the audit log of who
//! did or saw what, when and from where.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Name,
    Role,
    Skills,
    PasswordHash,
    Disabled,
    FailedLogins,
    LockedUntilMs,
    CreatedAtMs,
    UpdatedAtMs,
}

#[derive(DeriveIden)]
enum ConsoleSessions {
    Table,
    TokenHash,
    UserName,
    CsrfToken,
    Remote,
    CreatedAtMs,
    LastSeenAtMs,
    ExpiresAtMs,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    AtMs,
    Actor,
    Action,
    Subject,
    Detail,
    Remote,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(ColumnDef::new(Users::Name).text().not_null().primary_key())
                .col(ColumnDef::new(Users::Role).text().not_null())
                .col(ColumnDef::new(Users::Skills).text().not_null().default(""))
                .col(ColumnDef::new(Users::PasswordHash).text().not_null())
                .col(
                    ColumnDef::new(Users::Disabled)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(
                    ColumnDef::new(Users::FailedLogins)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(ColumnDef::new(Users::LockedUntilMs).big_integer().null())
                .col(ColumnDef::new(Users::CreatedAtMs).big_integer().not_null())
                .col(ColumnDef::new(Users::UpdatedAtMs).big_integer().not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ConsoleSessions::Table)
                .col(
                    ColumnDef::new(ConsoleSessions::TokenHash)
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(ConsoleSessions::UserName).text().not_null())
                .col(ColumnDef::new(ConsoleSessions::CsrfToken).text().not_null())
                .col(ColumnDef::new(ConsoleSessions::Remote).text().not_null())
                .col(
                    ColumnDef::new(ConsoleSessions::CreatedAtMs)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ConsoleSessions::LastSeenAtMs)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ConsoleSessions::ExpiresAtMs)
                        .big_integer()
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ConsoleSessions::Table, ConsoleSessions::UserName)
                        .to(Users::Table, Users::Name)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("console_sessions_by_user")
                .table(ConsoleSessions::Table)
                .col(ConsoleSessions::UserName)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(
                    ColumnDef::new(AuditLog::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(AuditLog::AtMs).big_integer().not_null())
                .col(ColumnDef::new(AuditLog::Actor).text().not_null())
                .col(ColumnDef::new(AuditLog::Action).text().not_null())
                .col(ColumnDef::new(AuditLog::Subject).text().not_null())
                .col(ColumnDef::new(AuditLog::Detail).text().not_null())
                .col(ColumnDef::new(AuditLog::Remote).text().not_null())
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("audit_log_by_time", AuditLog::AtMs),
            ("audit_log_by_actor", AuditLog::Actor),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(AuditLog::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AuditLog::Table.into_iden(),
            ConsoleSessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
