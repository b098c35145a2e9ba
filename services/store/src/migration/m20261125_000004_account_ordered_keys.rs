//! Account-ordered keys for contacts, debts and call attempts.
//!
//! Their ids were UUIDv5 hashes of the natural keys, so every imported row
//! landed at a random place in three primary-key B-trees (and the attempt's
//! contact foreign key looked a random one up), which outgrow the page
//! cache on large portfolios. The ids are now the natural keys themselves,
//! led by the account id, so a portfolio sorted by account appends to every
//! B-tree instead (see `crate::ids` for the formats):
//!
//! - contact: `ACCOUNT/E164`
//! - debt: `ACCOUNT/LOAN`
//! - call attempt: `ACCOUNT/E164/CAMPAIGN/SEQ`
//!
//! Existing rows are rewritten to the new ids, and a promise follows its
//! attempt. A lease handed out before the upgrade names an old attempt id:
//! its report is refused as unknown and the attempt returns to the queue
//! when the lease expires, so stop dialer workers before upgrading.
//!
//! Contacts are referenced by attempts (a foreign key without ON UPDATE),
//! so they are rewritten by copying each under its new id, pointing the
//! attempts at the copy, then deleting the original; the unique
//! (account, phone) index is set aside meanwhile. Every step skips rows
//! already in the new form, so the migration can be run again after an
//! interruption.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CONTACT_KEY: &str = "account_id || '/' || phone";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let old_contact = format!("id <> {CONTACT_KEY}");
        db.execute_unprepared("DROP INDEX IF EXISTS ux_contacts_account_phone")
            .await?;
        db.execute_unprepared(&format!(
            "INSERT INTO contacts (id, account_id, phone, priority, dnc, attempts_day, attempts_today) \
             SELECT {CONTACT_KEY}, account_id, phone, priority, dnc, attempts_day, attempts_today \
             FROM contacts WHERE {old_contact}"
        ))
        .await?;
        // The attempt's new id, read through its contact's old row.
        let new_attempt = "(SELECT c.account_id || '/' || c.phone || '/' || a.campaign_id || '/' || CAST(a.seq AS TEXT) \
             FROM call_attempts a JOIN contacts c ON c.id = a.contact_id WHERE a.id = promises.attempt_id)";
        db.execute_unprepared(&format!(
            "UPDATE promises SET attempt_id = {new_attempt} WHERE {new_attempt} IS NOT NULL"
        ))
        .await?;
        let new_contact = "(SELECT c.account_id || '/' || c.phone FROM contacts c WHERE c.id = call_attempts.contact_id)";
        db.execute_unprepared(&format!(
            "UPDATE call_attempts SET \
             id = {new_contact} || '/' || campaign_id || '/' || CAST(seq AS TEXT), \
             contact_id = {new_contact} \
             WHERE contact_id IN (SELECT id FROM contacts WHERE {old_contact})"
        ))
        .await?;
        db.execute_unprepared(&format!("DELETE FROM contacts WHERE {old_contact}"))
            .await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_contacts_account_phone ON contacts (account_id, phone)",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE debts SET id = account_id || '/' || loan_id WHERE id <> account_id || '/' || loan_id",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "account-ordered keys cannot be turned back into hashed ids; restore a backup taken before the upgrade".into(),
        ))
    }
}
