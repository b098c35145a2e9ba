use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "call_attempts")]
pub struct Model {
    /// Deterministic: `ACCOUNT/E164/CAMPAIGN/SEQ` (contact, campaign and
    /// sequence number), so that re-imports and repeated outcome reports
    /// never create a second row.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub campaign_id: String,
    pub account_id: String,
    pub contact_id: String,
    pub seq: i32,
    pub status: String,
    pub not_before_ms: i64,
    pub time_zone: String,
    pub lease_owner: Option<String>,
    /// Incremented on every lease; a report must carry the current one.
    pub lease_token: i64,
    pub leased_at_ms: Option<i64>,
    pub lease_expires_at_ms: Option<i64>,
    pub disposition: Option<String>,
    pub note: Option<String>,
    pub duration_ms: Option<i64>,
    pub promise_date: Option<String>,
    pub promise_fen: Option<i64>,
    pub callback_at_ms: Option<i64>,
    pub reported_at_ms: Option<i64>,
    pub created_at_ms: i64,
    pub recording_path: Option<String>,
    /// Rows reported before migration 10: the timed transcript of both
    /// sides (JSON array) and what the call measured (JSON object); read
    /// through `CallRecord::from_legacy`.
    pub transcript: Option<String>,
    pub metrics: Option<String>,
    /// The call record (`huikuan_core::call::CallRecord` as JSON).
    pub call_record: Option<String>,
    /// 1 when the robot handed the call over to a person.
    pub handed_over: i16,
    /// The agent who took the call over.
    pub agent_name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
