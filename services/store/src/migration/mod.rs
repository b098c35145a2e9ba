//! Schema migrations, applied in order by `Store::connect`.

use sea_orm_migration::prelude::*;

mod m20261124_000001_foundation;
mod m20261124_000002_call_record;
mod m20261125_000003_import_indexes;
mod m20261125_000004_account_ordered_keys;
mod m20261201_000005_clustered_keys;
mod m20261202_000006_campaign_caller_id;
mod m20261204_000007_import_run_states;
pub(crate) mod m20261204_000008_contact_keys;
pub(crate) mod m20261204_000009_campaign_counts;
mod m20261204_000010_call_records;
mod m20261205_000011_console_users;
mod m20261205_000012_plans;
mod m20261206_000013_attempt_people;
mod m20261206_000014_plan_channel;
mod m20261206_000015_inspections;
mod m20261207_000016_inspection_lists;

pub struct Migrator;

/// Runs a migration's statements in order; in SQLite a table created is
/// clustered on its key (`WITHOUT ROWID`), as the row-keyed tables are.
pub(crate) async fn execute_clustered(
    m: &SchemaManager<'_>,
    statements: &[&str],
) -> Result<(), DbErr> {
    let db = m.get_connection();
    let sqlite = db.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Sqlite;
    for sql in statements {
        let sql = if sqlite && sql.starts_with("CREATE TABLE") {
            format!("{sql} WITHOUT ROWID")
        } else {
            (*sql).to_owned()
        };
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Runs a migration's statements in order, as they are.
pub(crate) async fn execute_all(m: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = m.get_connection();
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_foundation::Migration),
            Box::new(m20261124_000002_call_record::Migration),
            Box::new(m20261125_000003_import_indexes::Migration),
            Box::new(m20261125_000004_account_ordered_keys::Migration),
            Box::new(m20261201_000005_clustered_keys::Migration),
            Box::new(m20261202_000006_campaign_caller_id::Migration),
            Box::new(m20261204_000007_import_run_states::Migration),
            Box::new(m20261204_000008_contact_keys::Migration),
            Box::new(m20261204_000009_campaign_counts::Migration),
            Box::new(m20261204_000010_call_records::Migration),
            Box::new(m20261205_000011_console_users::Migration),
            Box::new(m20261205_000012_plans::Migration),
            Box::new(m20261206_000013_attempt_people::Migration),
            Box::new(m20261206_000014_plan_channel::Migration),
            Box::new(m20261206_000015_inspections::Migration),
            Box::new(m20261207_000016_inspection_lists::Migration),
        ]
    }
}
