//! Import runs: one row per import, from its start to how it ended.
//!
//! A run is `running` while rows arrive and its process beats (every
//! [`HEARTBEAT`]); it ends `finished`, or `cancelled` when its client or
//! operator stopped it (whole batches kept), and a run whose process died
//! (kill -9, power loss) is found by its silence and marked `interrupted`.
//! Accepted, rejected and moved rows are added in each batch's own
//! transaction, so the counts always say what the database holds.

use crate::entity::{campaign, import_run};
use crate::{now_ms, Result, Store};
use huikuan_core::ImportState;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use std::time::Duration;

/// How often a running import says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// A running import silent for this long has died.
pub const SILENCE: Duration = Duration::from_secs(60);

/// One import run as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRunView {
    pub id: String,
    pub campaign: String,
    pub source: String,
    pub state: ImportState,
    pub accepted: i64,
    pub rejected: i64,
    pub moved: i64,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

/// What one batch adds to its run, written in the batch's transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    pub accepted: u64,
    pub rejected: u64,
    pub moved: u64,
}

/// The SQL that adds a batch's progress to its run (`?` placeholders:
/// accepted, rejected, moved, heartbeat, run id).
pub(crate) const ADD_PROGRESS: &str = "UPDATE import_runs SET accepted = accepted + ?, \
     rejected = rejected + ?, moved = moved + ?, heartbeat_at_ms = ? WHERE id = ?";

pub(crate) fn add_progress(backend: DatabaseBackend, run_id: &str, p: Progress) -> Statement {
    crate::dispatch::stmt(
        backend,
        ADD_PROGRESS,
        vec![
            (p.accepted as i64).into(),
            (p.rejected as i64).into(),
            (p.moved as i64).into(),
            now_ms().into(),
            run_id.into(),
        ],
    )
}

/// This machine's host name (Linux), for telling which runs are local.
fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Whether `HOST:PID` names a process of this host that has ended (on
/// hosts without /proc nothing is known, and only silence tells).
fn process_gone(owner: &str) -> bool {
    let Some((host, pid)) = owner.rsplit_once(':') else {
        return false;
    };
    if host != this_host() || !std::path::Path::new("/proc/self").exists() {
        return false;
    }
    match pid.parse::<u32>() {
        Ok(pid) => !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        Err(_) => false,
    }
}

impl Store {
    /// Records the start of an import; returns the run id.
    pub async fn start_import_run(
        &self,
        source: &str,
        sha256: Option<String>,
        campaign_id: &str,
    ) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_ms();
        let model = import_run::ActiveModel {
            id: Set(id.clone()),
            source: Set(huikuan_core::truncate(source, 512).into_owned()),
            sha256: Set(sha256),
            campaign_id: Set(campaign_id.to_string()),
            accepted: Set(0),
            rejected: Set(0),
            started_at_ms: Set(now),
            finished_at_ms: Set(None),
            state: Set(ImportState::Running.as_str().to_string()),
            moved: Set(0),
            heartbeat_at_ms: Set(Some(now)),
            owner: Set(Some(format!("{}:{}", this_host(), std::process::id()))),
        };
        let _guard = self.write_guard().await;
        import_run::Entity::insert(model)
            .exec_without_returning(&self.db)
            .await?;
        Ok(id)
    }

    /// Adds rows counted outside any batch (rejected after the last one)
    /// and records how the run ended.
    pub(crate) async fn end_import_run(
        &self,
        id: &str,
        state: ImportState,
        rest: Progress,
    ) -> Result<()> {
        let _guard = self.write_guard().await;
        use sea_orm::ConnectionTrait;
        self.db
            .execute(add_progress(self.backend(), id, rest))
            .await?;
        import_run::Entity::update_many()
            .col_expr(import_run::Column::State, Expr::value(state.as_str()))
            .col_expr(import_run::Column::FinishedAtMs, Expr::value(now_ms()))
            .filter(import_run::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// A running import's sign of life.
    pub(crate) async fn import_heartbeat(&self, id: &str) -> Result<()> {
        let _guard = self.write_guard().await;
        import_run::Entity::update_many()
            .col_expr(import_run::Column::HeartbeatAtMs, Expr::value(now_ms()))
            .filter(import_run::Column::Id.eq(id))
            .filter(import_run::Column::State.eq(ImportState::Running.as_str()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Marks as interrupted the running imports whose process is gone:
    /// silent for [`SILENCE`], or run by a process of this host that no
    /// longer exists. Returns how many.
    pub async fn mark_interrupted_imports(&self) -> Result<u64> {
        let silent_since = now_ms() - SILENCE.as_millis() as i64;
        let running = import_run::Entity::find()
            .filter(import_run::Column::State.eq(ImportState::Running.as_str()))
            .all(&self.db)
            .await?;
        let gone: Vec<String> = running
            .into_iter()
            .filter(|r| {
                r.heartbeat_at_ms.is_none_or(|t| t < silent_since)
                    || r.owner.as_deref().is_some_and(process_gone)
            })
            .map(|r| r.id)
            .collect();
        if gone.is_empty() {
            return Ok(0);
        }
        let _guard = self.write_guard().await;
        let res = import_run::Entity::update_many()
            .col_expr(
                import_run::Column::State,
                Expr::value(ImportState::Interrupted.as_str()),
            )
            .filter(import_run::Column::Id.is_in(gone))
            .filter(import_run::Column::State.eq(ImportState::Running.as_str()))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected)
    }

    /// The latest import runs, newest first (of one campaign when given),
    /// with silent ones marked interrupted first.
    pub async fn list_import_runs(
        &self,
        campaign_id: Option<&str>,
        limit: u64,
    ) -> Result<Vec<ImportRunView>> {
        self.mark_interrupted_imports().await?;
        let mut q = import_run::Entity::find();
        if let Some(c) = campaign_id {
            q = q.filter(import_run::Column::CampaignId.eq(c));
        }
        let runs = q
            .order_by_desc(import_run::Column::StartedAtMs)
            .order_by_desc(import_run::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let names: std::collections::HashMap<String, String> = campaign::Entity::find()
            .filter(campaign::Column::Id.is_in(runs.iter().map(|r| r.campaign_id.as_str())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        runs.into_iter()
            .map(|r| {
                Ok(ImportRunView {
                    campaign: names.get(&r.campaign_id).cloned().unwrap_or(r.campaign_id),
                    state: r.state.parse().map_err(crate::StoreError::Conflict)?,
                    id: r.id,
                    source: r.source,
                    accepted: r.accepted,
                    rejected: r.rejected,
                    moved: r.moved,
                    started_at_ms: r.started_at_ms,
                    finished_at_ms: r.finished_at_ms,
                })
            })
            .collect()
    }
}
