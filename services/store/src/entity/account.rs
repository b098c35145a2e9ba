use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    /// The lender's external account id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub campaign_id: Option<String>,
    pub name: String,
    pub dialect: String,
    pub province: String,
    pub city: Option<String>,
    pub time_zone: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
