//! One B-tree per row where the import writes most.
//!
//! SQLite (the all-in-one default): accounts, contacts, debts, call
//! attempts and promises are rebuilt as `WITHOUT ROWID` tables, clustered
//! on their text primary keys. A rowid table with a text key keeps two
//! B-trees per row (the rows by rowid, and the key's own index); clustered,
//! it keeps one. The account-led keys of contacts, debts and attempts (see
//! `crate::ids`) make the indexes `ux_contacts_account_phone`,
//! `ux_debts_account_loan` and `ix_attempts_account` redundant there: the
//! key is unique on its own, and an account's rows are a key range
//! (`crate::of_accounts`). They are dropped on SQLite. PostgreSQL keeps them:
//! its text order follows the database collation, so a key range there
//! would not be an account's rows.
//!
//! Both backends: the queue's two status indexes become partial ones over
//! the rows they serve (queued attempts by due time, leased attempts by
//! lease expiry), so a finished attempt leaves them and an imported one
//! enters only the first. Queries name those statuses as literals so the
//! planners can use them.
//!
//! The rebuild runs in one transaction: new tables are made beside the old
//! ones with their foreign keys pointing at each other, filled, the old
//! tables dropped child first (no row refers to them any more), and the
//! new ones renamed into place (renaming rewrites the references).

use sea_orm::{DatabaseBackend, TransactionTrait};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, its columns and constraints, with `{}` where the suffix of the
/// new tables goes in a reference to another rebuilt table). Parents
/// before children.
const TABLES: [(&str, &str); 5] = [
    (
        "accounts",
        r#""id" varchar NOT NULL PRIMARY KEY, "campaign_id" varchar NULL, "name" varchar NOT NULL,
        "dialect" varchar NOT NULL, "province" varchar NOT NULL, "city" varchar NULL,
        "time_zone" varchar NOT NULL, "created_at_ms" bigint NOT NULL, "updated_at_ms" bigint NOT NULL,
        FOREIGN KEY ("campaign_id") REFERENCES "campaigns" ("id")"#,
    ),
    (
        "contacts",
        r#""id" varchar NOT NULL PRIMARY KEY, "account_id" varchar NOT NULL, "phone" varchar NOT NULL,
        "priority" integer NOT NULL, "dnc" boolean NOT NULL, "attempts_day" varchar NULL,
        "attempts_today" integer NOT NULL DEFAULT 0,
        FOREIGN KEY ("account_id") REFERENCES "accounts{}" ("id")"#,
    ),
    (
        "debts",
        r#""id" varchar NOT NULL PRIMARY KEY, "account_id" varchar NOT NULL, "loan_id" varchar NOT NULL,
        "product" varchar NOT NULL, "principal_fen" bigint NOT NULL, "overdue_fen" bigint NOT NULL,
        "due_date" varchar NOT NULL, "days_past_due" integer NOT NULL, "updated_at_ms" bigint NOT NULL,
        FOREIGN KEY ("account_id") REFERENCES "accounts{}" ("id")"#,
    ),
    (
        "call_attempts",
        r#""id" varchar NOT NULL PRIMARY KEY, "campaign_id" varchar NOT NULL, "account_id" varchar NOT NULL,
        "contact_id" varchar NOT NULL, "seq" integer NOT NULL, "status" varchar NOT NULL,
        "not_before_ms" bigint NOT NULL, "time_zone" varchar NOT NULL, "lease_owner" varchar NULL,
        "lease_token" bigint NOT NULL DEFAULT 0, "leased_at_ms" bigint NULL,
        "lease_expires_at_ms" bigint NULL, "disposition" varchar NULL, "note" varchar NULL,
        "duration_ms" bigint NULL, "promise_date" varchar NULL, "promise_fen" bigint NULL,
        "callback_at_ms" bigint NULL, "reported_at_ms" bigint NULL, "created_at_ms" bigint NOT NULL,
        "recording_path" text NULL, "transcript" text NULL, "metrics" text NULL,
        FOREIGN KEY ("campaign_id") REFERENCES "campaigns" ("id"),
        FOREIGN KEY ("contact_id") REFERENCES "contacts{}" ("id")"#,
    ),
    (
        "promises",
        r#""id" varchar NOT NULL PRIMARY KEY, "account_id" varchar NOT NULL,
        "attempt_id" varchar NOT NULL UNIQUE, "promised_date" varchar NOT NULL,
        "amount_fen" bigint NOT NULL, "status" varchar NOT NULL, "created_at_ms" bigint NOT NULL,
        FOREIGN KEY ("account_id") REFERENCES "accounts{}" ("id")"#,
    ),
];

const NEW: &str = "__v5";

/// Indexes the rebuilt SQLite tables keep (the partial ones are made for
/// both backends below).
const SQLITE_INDEXES: [&str; 2] = [
    r#"CREATE INDEX "ix_accounts_campaign" ON "accounts" ("campaign_id", "id")"#,
    r#"CREATE INDEX "ix_promises_account" ON "promises" ("account_id")"#,
];

const PARTIAL_INDEXES: [&str; 2] = [
    r#"CREATE INDEX "ix_attempts_queued" ON "call_attempts" ("not_before_ms") WHERE "status" = 'queued'"#,
    r#"CREATE INDEX "ix_attempts_leased" ON "call_attempts" ("lease_expires_at_ms") WHERE "status" = 'leased'"#,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if db.get_database_backend() == DatabaseBackend::Sqlite {
            let txn = db.begin().await?;
            for (table, columns) in TABLES {
                txn.execute_unprepared(&format!(
                    r#"CREATE TABLE "{table}{NEW}" ({}) WITHOUT ROWID"#,
                    columns.replace("{}", NEW)
                ))
                .await?;
                txn.execute_unprepared(&format!(
                    r#"INSERT INTO "{table}{NEW}" SELECT {cols} FROM "{table}""#,
                    cols = column_names(columns).join(", ")
                ))
                .await?;
            }
            for (table, _) in TABLES.iter().rev() {
                txn.execute_unprepared(&format!(r#"DROP TABLE "{table}""#))
                    .await?;
            }
            for (table, _) in TABLES {
                txn.execute_unprepared(&format!(
                    r#"ALTER TABLE "{table}{NEW}" RENAME TO "{table}""#
                ))
                .await?;
            }
            for index in SQLITE_INDEXES.iter().chain(&PARTIAL_INDEXES) {
                txn.execute_unprepared(index).await?;
            }
            txn.commit().await?;
        } else {
            for old in ["ix_attempts_due", "ix_attempts_lease"] {
                db.execute_unprepared(&format!(r#"DROP INDEX IF EXISTS "{old}""#))
                    .await?;
            }
            for index in PARTIAL_INDEXES {
                db.execute_unprepared(index).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "clustered tables are not turned back into rowid tables; restore a backup taken before the upgrade".into(),
        ))
    }
}

/// The quoted column names of a table definition (its lines that start
/// with a quoted name; constraints start with a keyword).
fn column_names(definition: &str) -> Vec<&str> {
    definition
        .split(',')
        .map(str::trim)
        .filter(|part| part.starts_with('"'))
        .filter_map(|part| part.split_whitespace().next())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_column_and_no_constraint() {
        let (_, attempts) = TABLES[3];
        let cols = column_names(attempts);
        assert_eq!(cols.len(), 23);
        assert_eq!(cols[0], r#""id""#);
        assert_eq!(cols[22], r#""metrics""#);
        let (_, promises) = TABLES[4];
        assert_eq!(column_names(promises).len(), 7);
    }
}
