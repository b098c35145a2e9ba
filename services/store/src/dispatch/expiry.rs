//! Leases whose worker never reported go back to the queue.

use super::stmt;
use crate::{Result, Store};
use chrono::{DateTime, Utc};
use huikuan_core::AttemptStatus;
use sea_orm::ConnectionTrait;

impl Store {
    /// Returns expired leases to the queue; gives (attempt id, campaign id)
    /// of each attempt re-queued.
    pub async fn expire_leases(&self, now: DateTime<Utc>) -> Result<Vec<(String, String)>> {
        let backend = self.backend();
        let _guard = self.write_guard().await;
        let rows = self
            .db
            .query_all(stmt(
                backend,
                &format!(
                    "UPDATE call_attempts SET status = '{queued}', lease_owner = NULL, lease_expires_at_ms = NULL \
                     WHERE status = '{leased}' AND lease_expires_at_ms < ? RETURNING id, campaign_id",
                    queued = AttemptStatus::Queued.as_str(),
                    leased = AttemptStatus::Leased.as_str(),
                ),
                vec![now.timestamp_millis().into()],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String>("", "id")?,
                    r.try_get::<String>("", "campaign_id")?,
                ))
            })
            .collect()
    }
}
