use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    /// `ACCOUNT/E164`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    /// E.164.
    pub phone: String,
    /// 0 is dialled first.
    pub priority: i32,
    pub dnc: bool,
    /// The debtor-local day `attempts_today` counts (YYYY-MM-DD).
    pub attempts_day: Option<String>,
    pub attempts_today: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
