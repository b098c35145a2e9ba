use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "debts")]
pub struct Model {
    /// `ACCOUNT/LOAN`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub loan_id: String,
    pub product: String,
    pub principal_fen: i64,
    pub overdue_fen: i64,
    /// YYYY-MM-DD.
    pub due_date: String,
    pub days_past_due: i32,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
