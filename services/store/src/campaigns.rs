//! Campaigns: a named set of accounts whose calls are dispatched while the
//! campaign is active.

use crate::entity::campaign;
use crate::{now_ms, Result, Store, StoreError};
use huikuan_core::{AttemptStatus, CampaignStatus};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub status: CampaignStatus,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The number this campaign's calls present (the SIP From user);
    /// `None`: the trunk's own caller id.
    pub caller_id: Option<String>,
}

/// How far a campaign has got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignStats {
    pub accounts: u64,
    pub queued: u64,
    pub leased: u64,
    pub completed: u64,
}

impl TryFrom<campaign::Model> for Campaign {
    type Error = StoreError;
    fn try_from(m: campaign::Model) -> Result<Self> {
        let status = m.status.parse().map_err(StoreError::Conflict)?;
        Ok(Campaign {
            id: m.id,
            name: m.name,
            status,
            created_at_ms: m.created_at_ms,
            updated_at_ms: m.updated_at_ms,
            caller_id: m.caller_id,
        })
    }
}

fn validate_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(StoreError::InvalidArgument {
            field: "name",
            reason: "campaign name must be 1-64 printable characters".into(),
        });
    }
    Ok(name)
}

/// A caller id as carriers accept it: digits, optionally after `+`,
/// 3-20 of them (mobile, landline, 400/95 service numbers, E.164).
/// Blank means none.
fn validate_caller_id(caller_id: Option<&str>) -> Result<Option<String>> {
    let Some(c) = caller_id.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let digits = c.strip_prefix('+').unwrap_or(c);
    if !(3..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StoreError::InvalidArgument {
            field: "caller_id",
            reason: format!(
                "'{}' is not a phone number (3-20 digits, optionally after +)",
                huikuan_core::truncate(c, huikuan_core::ECHO_CHARS)
            ),
        });
    }
    Ok(Some(c.to_string()))
}

impl Store {
    /// Creates an active campaign; its calls present `caller_id` (blank or
    /// `None`: the trunk's own).
    pub async fn create_campaign(&self, name: &str, caller_id: Option<&str>) -> Result<Campaign> {
        let name = validate_name(name)?;
        let caller_id = validate_caller_id(caller_id)?;
        if self.campaign_by_name(name).await?.is_some() {
            return Err(StoreError::AlreadyExists(format!("campaign '{name}'")));
        }
        let now = now_ms();
        let model = campaign::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            name: Set(name.to_string()),
            status: Set(CampaignStatus::Active.as_str().to_string()),
            created_at_ms: Set(now),
            updated_at_ms: Set(now),
            caller_id: Set(caller_id),
        };
        let _guard = self.write_guard().await;
        let inserted = campaign::Entity::insert(model)
            .exec_with_returning(&self.db)
            .await;
        match inserted {
            Ok(m) => m.try_into(),
            // Lost a race with another creator of the same name.
            Err(e) if e.to_string().to_lowercase().contains("unique") => {
                Err(StoreError::AlreadyExists(format!("campaign '{name}'")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The campaign of this name, created active if it does not exist yet.
    pub async fn ensure_campaign(&self, name: &str) -> Result<Campaign> {
        match self.create_campaign(name, None).await {
            Err(StoreError::AlreadyExists(_)) => self
                .campaign_by_name(name.trim())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("campaign '{name}'"))),
            other => other,
        }
    }

    pub async fn campaign_by_name(&self, name: &str) -> Result<Option<Campaign>> {
        campaign::Entity::find()
            .filter(campaign::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .map(Campaign::try_from)
            .transpose()
    }

    pub async fn get_campaign(&self, id: &str) -> Result<Campaign> {
        campaign::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("campaign {id}")))?
            .try_into()
    }

    /// Looks a campaign up by id, then by name: what a person types.
    pub async fn find_campaign(&self, id_or_name: &str) -> Result<Campaign> {
        match self.get_campaign(id_or_name).await {
            Err(StoreError::NotFound(_)) => {
                self.campaign_by_name(id_or_name).await?.ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "campaign '{}'",
                        huikuan_core::truncate(id_or_name, huikuan_core::ECHO_CHARS)
                    ))
                })
            }
            other => other,
        }
    }

    pub async fn list_campaigns(&self) -> Result<Vec<Campaign>> {
        campaign::Entity::find()
            .order_by_asc(campaign::Column::CreatedAtMs)
            .order_by_asc(campaign::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Campaign::try_from)
            .collect()
    }

    pub async fn set_campaign_status(&self, id: &str, status: CampaignStatus) -> Result<Campaign> {
        self.update_campaign(id, campaign::Column::Status, status.as_str().into())
            .await
    }

    /// Changes the number a campaign's calls present (blank or `None`:
    /// the trunk's own); calls already leased keep the one they had.
    pub async fn set_campaign_caller_id(
        &self,
        id: &str,
        caller_id: Option<&str>,
    ) -> Result<Campaign> {
        let caller_id = validate_caller_id(caller_id)?;
        self.update_campaign(id, campaign::Column::CallerId, caller_id.into())
            .await
    }

    async fn update_campaign(
        &self,
        id: &str,
        column: campaign::Column,
        value: sea_orm::Value,
    ) -> Result<Campaign> {
        let _guard = self.write_guard().await;
        let res = campaign::Entity::update_many()
            .col_expr(column, sea_orm::sea_query::Expr::value(value))
            .col_expr(
                campaign::Column::UpdatedAtMs,
                sea_orm::sea_query::Expr::value(now_ms()),
            )
            .filter(campaign::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        drop(_guard);
        if res.rows_affected == 0 {
            return Err(StoreError::NotFound(format!("campaign {id}")));
        }
        self.get_campaign(id).await
    }

    /// Folds PostgreSQL's appended count deltas into the counts (a no-op
    /// on SQLite, which counts in place); returns the delta rows folded.
    /// Safe beside other folders: each delta row is taken by one of them,
    /// and counts are updated in key order.
    pub async fn fold_count_deltas(&self) -> Result<u64> {
        if self.backend() != sea_orm::DatabaseBackend::Postgres {
            return Ok(0);
        }
        let row = self
            .db
            .query_one(crate::dispatch::stmt(
                self.backend(),
                "WITH taken AS (DELETE FROM campaign_count_deltas RETURNING campaign_id, what, n), \
                 folded AS (INSERT INTO campaign_counts (campaign_id, what, n) \
                   SELECT campaign_id, what, SUM(n)::BIGINT FROM taken GROUP BY 1, 2 ORDER BY 1, 2 \
                   ON CONFLICT (campaign_id, what) DO UPDATE SET n = campaign_counts.n + EXCLUDED.n \
                   RETURNING 1) \
                 SELECT COUNT(*) FROM taken",
                vec![],
            ))
            .await?;
        count(row)
    }

    /// Calls dialers hold right now (leased attempts), over every
    /// campaign: one read of the kept counts.
    pub async fn calls_in_progress(&self) -> Result<u64> {
        let leased = AttemptStatus::Leased.as_str();
        let (sql, values) = if self.backend() == sea_orm::DatabaseBackend::Postgres {
            (
                "SELECT COALESCE(SUM(n), 0)::BIGINT FROM (SELECT n FROM campaign_counts WHERE what = ? \
                 UNION ALL SELECT n FROM campaign_count_deltas WHERE what = ?) c",
                vec![leased.into(), leased.into()],
            )
        } else {
            (
                "SELECT COALESCE(SUM(n), 0) FROM campaign_counts WHERE what = ?",
                vec![leased.into()],
            )
        };
        let row = self
            .db
            .query_one(crate::dispatch::stmt(self.backend(), sql, values))
            .await?;
        count(row)
    }

    /// The campaign's figures as the database keeps them (migration 9):
    /// one indexed read, however large the campaign (on PostgreSQL the
    /// counts plus the deltas not folded in yet).
    pub async fn campaign_stats(&self, id: &str) -> Result<CampaignStats> {
        let (sql, values) = if self.backend() == sea_orm::DatabaseBackend::Postgres {
            (
                "SELECT what, SUM(n)::BIGINT FROM (SELECT what, n FROM campaign_counts WHERE campaign_id = ? \
                 UNION ALL SELECT what, n FROM campaign_count_deltas WHERE campaign_id = ?) c GROUP BY what",
                vec![id.into(), id.into()],
            )
        } else {
            (
                "SELECT what, n FROM campaign_counts WHERE campaign_id = ?",
                vec![id.into()],
            )
        };
        let rows = self
            .db
            .query_all(crate::dispatch::stmt(self.backend(), sql, values))
            .await?;
        let mut stats = CampaignStats::default();
        for row in rows {
            let (what, n): (String, i64) = row.try_get_many_by_index()?;
            let n = n.max(0) as u64;
            match what.as_str() {
                "accounts" => stats.accounts = n,
                s if s == AttemptStatus::Queued.as_str() => stats.queued = n,
                s if s == AttemptStatus::Leased.as_str() => stats.leased = n,
                s if s == AttemptStatus::Completed.as_str() => stats.completed = n,
                _ => {}
            }
        }
        Ok(stats)
    }
}

/// The count a one-row, one-column read gave (0 without a row).
fn count(row: Option<sea_orm::QueryResult>) -> Result<u64> {
    Ok(row
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0)
        .max(0) as u64)
}
