use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub source: String,
    pub sha256: Option<String>,
    pub campaign_id: String,
    pub accepted: i64,
    pub rejected: i64,
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    /// `running`, `finished`, `cancelled` or `interrupted`.
    pub state: String,
    /// Accounts this run moved here from another campaign.
    pub moved: i64,
    /// Last sign of life of the process running the import.
    pub heartbeat_at_ms: Option<i64>,
    /// `HOST:PID` of the process running the import.
    pub owner: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
