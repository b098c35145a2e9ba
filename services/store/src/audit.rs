//! The audit log: who did or saw what, when, and from where.
//!
//! Append-only: the store offers no way to change or delete an entry.
//! Every line is written before the action's answer goes back, so an
//! action whose entry could not be written fails instead of going
//! unrecorded.

use crate::entity::audit_entry;
use crate::{Result, Store};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub actor: String,
    /// What happened, a short verb phrase (`login`, `login_failed`,
    /// `view_account`, `disposition`, `listen_in`, `user_add`, ...).
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub remote: String,
}

impl From<audit_entry::Model> for AuditEntry {
    fn from(m: audit_entry::Model) -> AuditEntry {
        AuditEntry {
            at_ms: m.at_ms,
            actor: m.actor,
            action: m.action,
            subject: m.subject,
            detail: m.detail,
            remote: m.remote,
        }
    }
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// At most this many, newest first (0: 100).
    pub limit: u64,
}

impl Store {
    /// Appends an entry stamped now.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
        remote: &str,
    ) -> Result<()> {
        let model = audit_entry::ActiveModel {
            at_ms: Set(crate::now_ms()),
            actor: Set(actor.to_string()),
            action: Set(action.to_string()),
            subject: Set(subject.to_string()),
            detail: Set(detail.to_string()),
            remote: Set(remote.to_string()),
            ..Default::default()
        };
        let _w = self.write_guard().await;
        audit_entry::Entity::insert(model).exec(&self.db).await?;
        Ok(())
    }

    /// Entries matching the filter, newest first.
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut q = audit_entry::Entity::find();
        if let Some(actor) = &filter.actor {
            q = q.filter(audit_entry::Column::Actor.eq(actor.as_str()));
        }
        if let Some(action) = &filter.action {
            q = q.filter(audit_entry::Column::Action.eq(action.as_str()));
        }
        let limit = if filter.limit == 0 { 100 } else { filter.limit };
        Ok(q.order_by_desc(audit_entry::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(AuditEntry::from)
            .collect())
    }
}
