//! Campaign counters kept by the database: accounts, and attempts by
//! status, per campaign, in `campaign_counts (campaign_id, what, n)`.
//!
//! `GetCampaign` used to count rows (88 ms on a 200,000-account campaign,
//! and a flood of them starved dispatch). Triggers now keep the counts as
//! rows change, whoever changes them (the import's direct SQLite writer,
//! sea-orm statements, the lease queries), so a campaign's figures are one
//! indexed read and always agree with the rows. SQLite fires per row and
//! updates the counts in place (it has one writer). PostgreSQL fires per
//! statement over its transition tables and appends one grouped delta per
//! statement to `campaign_count_deltas` (an import chunk of 500 rows is
//! one row there), skipping statements that change no count: appending
//! locks nothing, where updating the count rows in place made concurrent
//! leases and reports deadlock on them. Reads add the deltas to the
//! counts; the orchestrator folds the deltas in every second
//! (`Store::fold_count_deltas`).
//!
//! On SQLite the import's direct writer counts its own rows in bulk: it
//! drops the triggers inside its batch's transaction, adds its grouped
//! deltas and creates them again before committing. DDL is transactional
//! in SQLite and the transaction holds the only write lock, so no other
//! connection ever sees the tables without their triggers; and a
//! million-row import does not pay for them (a table with triggers makes
//! SQLite journal every statement, which tripled the import's time).
//!
//! Existing rows are counted once here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "CREATE TABLE campaign_counts (
    campaign_id TEXT NOT NULL,
    what TEXT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, what))";

const DELTAS: &[&str] = &[
    "CREATE TABLE campaign_count_deltas (campaign_id TEXT NOT NULL, what TEXT NOT NULL, n BIGINT NOT NULL)",
    "CREATE INDEX ix_campaign_count_deltas ON campaign_count_deltas (campaign_id)",
];

const BACKFILL: &[&str] = &[
    "INSERT INTO campaign_counts (campaign_id, what, n) \
     SELECT campaign_id, 'accounts', COUNT(*) FROM accounts WHERE campaign_id IS NOT NULL GROUP BY campaign_id",
    "INSERT INTO campaign_counts (campaign_id, what, n) \
     SELECT campaign_id, status, COUNT(*) FROM call_attempts GROUP BY campaign_id, status",
];

/// The SQLite triggers' names, for dropping them.
pub const SQLITE_TRIGGERS: [&str; 6] = [
    "count_accounts_insert",
    "count_accounts_update",
    "count_accounts_delete",
    "count_attempts_insert",
    "count_attempts_update",
    "count_attempts_delete",
];

/// SQLite: a count row is made when missing, then moved by one. (Not with
/// `INSERT OR IGNORE`: inside a trigger the outer statement's conflict
/// handling wins, and the import's upserts would fail on it.) In the order
/// of [`SQLITE_TRIGGERS`].
pub fn sqlite_triggers() -> Vec<String> {
    let add = |campaign: &str, what: &str, by: &str| {
        format!(
            "INSERT INTO campaign_counts (campaign_id, what, n) SELECT {campaign}, {what}, 0 \
             WHERE {campaign} IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM campaign_counts WHERE campaign_id = {campaign} AND what = {what}); \
             UPDATE campaign_counts SET n = n {by} 1 WHERE campaign_id = {campaign} AND what = {what};"
        )
    };
    vec![
        format!(
            "CREATE TRIGGER count_accounts_insert AFTER INSERT ON accounts \
             WHEN NEW.campaign_id IS NOT NULL BEGIN {} END",
            add("NEW.campaign_id", "'accounts'", "+")
        ),
        format!(
            "CREATE TRIGGER count_accounts_update AFTER UPDATE OF campaign_id ON accounts \
             WHEN OLD.campaign_id IS NOT NEW.campaign_id BEGIN {} {} END",
            add("OLD.campaign_id", "'accounts'", "-"),
            add("NEW.campaign_id", "'accounts'", "+")
        ),
        format!(
            "CREATE TRIGGER count_accounts_delete AFTER DELETE ON accounts \
             WHEN OLD.campaign_id IS NOT NULL BEGIN {} END",
            add("OLD.campaign_id", "'accounts'", "-")
        ),
        format!(
            "CREATE TRIGGER count_attempts_insert AFTER INSERT ON call_attempts BEGIN {} END",
            add("NEW.campaign_id", "NEW.status", "+")
        ),
        format!(
            "CREATE TRIGGER count_attempts_update AFTER UPDATE OF status, campaign_id ON call_attempts \
             WHEN OLD.status IS NOT NEW.status OR OLD.campaign_id IS NOT NEW.campaign_id \
             BEGIN {} {} END",
            add("OLD.campaign_id", "OLD.status", "-"),
            add("NEW.campaign_id", "NEW.status", "+")
        ),
        format!(
            "CREATE TRIGGER count_attempts_delete AFTER DELETE ON call_attempts BEGIN {} END",
            add("OLD.campaign_id", "OLD.status", "-")
        ),
    ]
}

/// PostgreSQL: per statement, the grouped difference between the rows
/// after and before (`what` is a literal or a column of the table).
fn postgres_function(name: &str, what: &str, only: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO campaign_count_deltas (campaign_id, what, n)
      SELECT campaign_id, {what}, COUNT(*) FROM new_rows WHERE {only} GROUP BY 1, 2;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO campaign_count_deltas (campaign_id, what, n)
      SELECT campaign_id, {what}, -COUNT(*) FROM old_rows WHERE {only} GROUP BY 1, 2;
  ELSE
    INSERT INTO campaign_count_deltas (campaign_id, what, n)
      SELECT campaign_id, what, SUM(k)::BIGINT FROM (
        SELECT campaign_id, {what} AS what, COUNT(*) AS k FROM new_rows WHERE {only} GROUP BY 1, 2
        UNION ALL
        SELECT campaign_id, {what} AS what, -COUNT(*) AS k FROM old_rows WHERE {only} GROUP BY 1, 2
      ) d GROUP BY 1, 2 HAVING SUM(k) <> 0;
  END IF;
  RETURN NULL;
END $$"
    )
}

fn postgres_triggers() -> Vec<String> {
    let mut out = vec![
        postgres_function(
            "huikuan_count_accounts",
            "'accounts'::TEXT",
            "campaign_id IS NOT NULL",
        ),
        postgres_function("huikuan_count_attempts", "status", "TRUE"),
    ];
    for (table, function) in [
        ("accounts", "huikuan_count_accounts"),
        ("call_attempts", "huikuan_count_attempts"),
    ] {
        for (event, referencing) in [
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ] {
            out.push(format!(
                "CREATE TRIGGER count_{table}_{e} AFTER {event} ON {table} REFERENCING {referencing} \
                 FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
                e = event.to_lowercase()
            ));
        }
    }
    out
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let backend = db.get_database_backend();
        let table = if backend == DatabaseBackend::Sqlite {
            format!("{TABLE} WITHOUT ROWID")
        } else {
            TABLE.to_string()
        };
        db.execute_unprepared(&table).await?;
        for sql in BACKFILL {
            db.execute_unprepared(sql).await?;
        }
        let triggers = if backend == DatabaseBackend::Postgres {
            for sql in DELTAS {
                db.execute_unprepared(sql).await?;
            }
            postgres_triggers()
        } else {
            sqlite_triggers()
        };
        for sql in triggers {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for table in ["accounts", "call_attempts"] {
            for event in ["insert", "update", "delete"] {
                let drop = if db.get_database_backend() == DatabaseBackend::Postgres {
                    format!("DROP TRIGGER IF EXISTS count_{table}_{event} ON {table}")
                } else {
                    format!("DROP TRIGGER IF EXISTS count_{table}_{event}")
                };
                db.execute_unprepared(&drop).await?;
            }
        }
        db.execute_unprepared("DROP TABLE IF EXISTS campaign_counts")
            .await?;
        db.execute_unprepared("DROP TABLE IF EXISTS campaign_count_deltas")
            .await?;
        Ok(())
    }
}
