//! Contact ids without the phone number.
//!
//! Contact ids were `ACCOUNT/E164`, and every call attempt's id starts
//! with its contact's id, so a debtor's number was in every attempt id:
//! in logs, in API answers, in recording file names. A contact's id is
//! now `ACCOUNT/c` and 16 hex digits of SHA-256 over a secret of this
//! database (the `contact_key_salt` setting, made here) and the number:
//! still derived from the natural key, so re-imports and repeated reports
//! stay idempotent, but not reversible without the database, which holds
//! the number anyway.
//!
//! Existing contacts are copied under their new ids, their attempts (and
//! the promises naming those attempts) are pointed at the copies, and the
//! originals deleted, as migration 4 did. Stop dialer workers before
//! upgrading: a lease handed out before names an old attempt id, its
//! report is refused as unknown, and the attempt is called again after the
//! lease expires.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The setting that holds the secret contact ids are derived with.
pub const SALT_KEY: &str = "contact_key_salt";

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Settings::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Settings::Key)
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Settings::Value).text().not_null())
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let backend = db.get_database_backend();
        let salt = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        db.execute(Statement::from_sql_and_values(
            backend,
            ph(
                backend,
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
            ),
            [SALT_KEY.into(), salt.into()],
        ))
        .await?;
        let salt: String = db
            .query_one(Statement::from_sql_and_values(
                backend,
                ph(backend, "SELECT value FROM settings WHERE key = ?"),
                [SALT_KEY.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::Migration("contact key salt missing".into()))?
            .try_get_by_index(0)?;
        let keys = crate::ContactKeys::new(&salt);

        // The new id of every contact still under an old one.
        db.execute_unprepared(
            "CREATE TABLE contact_id_map (old_id TEXT NOT NULL PRIMARY KEY, new_id TEXT NOT NULL)",
        )
        .await?;
        let contacts = db
            .query_all(Statement::from_string(
                backend,
                "SELECT id, account_id, phone FROM contacts".to_string(),
            ))
            .await?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for row in contacts {
            let (id, account, phone): (String, String, String) = row.try_get_many_by_index()?;
            let new_id = keys.contact_id(&account, &phone);
            if new_id != id {
                pairs.push((id, new_id));
            }
        }
        for chunk in pairs.chunks(400) {
            let marks = vec!["(?, ?)"; chunk.len()].join(", ");
            let values: Vec<Value> = chunk
                .iter()
                .flat_map(|(o, n)| [o.as_str().into(), n.as_str().into()])
                .collect();
            db.execute(Statement::from_sql_and_values(
                backend,
                ph(
                    backend,
                    &format!("INSERT INTO contact_id_map (old_id, new_id) VALUES {marks}"),
                ),
                values,
            ))
            .await?;
        }
        db.execute_unprepared("DROP INDEX IF EXISTS ux_contacts_account_phone")
            .await?;
        db.execute_unprepared(
            "INSERT INTO contacts (id, account_id, phone, priority, dnc, attempts_day, attempts_today) \
             SELECT m.new_id, c.account_id, c.phone, c.priority, c.dnc, c.attempts_day, c.attempts_today \
             FROM contacts c JOIN contact_id_map m ON m.old_id = c.id",
        )
        .await?;
        // An attempt's id is its contact's id, then `/CAMPAIGN/SEQ`.
        let new_attempt = "(SELECT m.new_id || substr(a.id, length(m.old_id) + 1) \
             FROM call_attempts a JOIN contact_id_map m ON m.old_id = a.contact_id \
             WHERE a.id = promises.attempt_id)";
        db.execute_unprepared(&format!(
            "UPDATE promises SET attempt_id = {new_attempt} WHERE {new_attempt} IS NOT NULL"
        ))
        .await?;
        let new_contact =
            "(SELECT m.new_id FROM contact_id_map m WHERE m.old_id = call_attempts.contact_id)";
        db.execute_unprepared(&format!(
            "UPDATE call_attempts SET \
             id = {new_contact} || substr(id, length(contact_id) + 1), \
             contact_id = {new_contact} \
             WHERE contact_id IN (SELECT old_id FROM contact_id_map)"
        ))
        .await?;
        db.execute_unprepared(
            "DELETE FROM contacts WHERE id IN (SELECT old_id FROM contact_id_map)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_contacts_account_phone ON contacts (account_id, phone)",
        )
        .await?;
        db.execute_unprepared("DROP TABLE contact_id_map").await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "contact ids cannot be turned back into phone numbers; restore a backup taken before the upgrade".into(),
        ))
    }
}

/// `?` placeholders as the backend wants them.
fn ph(backend: sea_orm_migration::sea_orm::DatabaseBackend, sql: &str) -> String {
    crate::dispatch::stmt(backend, sql, vec![]).sql
}
