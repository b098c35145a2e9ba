//! Who a released call is for: `call_attempts.plan_channel`, set with the
//! plan's time when an approved plan releases the call (`robot` or
//! `agent`; NULL on attempts released before, which are the robot's).
//! Robot dialers lease robot calls; a call planned for an agent is leased
//! only when an agent who speaks the debtor's dialect is free, to a
//! dialer that hands it to the agent desk as soon as the debtor answers.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("ALTER TABLE call_attempts ADD COLUMN plan_channel TEXT")
            .await?;
        // The agents' calls due: few beside the robot's, found without
        // scanning those.
        db.execute_unprepared(
            "CREATE INDEX ix_attempts_agent ON call_attempts (not_before_ms) \
             WHERE status = 'queued' AND plan_channel = 'agent'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX ix_attempts_agent")
            .await?;
        db.execute_unprepared("ALTER TABLE call_attempts DROP COLUMN plan_channel")
            .await?;
        Ok(())
    }
}
