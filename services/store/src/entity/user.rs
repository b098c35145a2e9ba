use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// `agent`, `supervisor`, `manager` or `admin`.
    pub role: String,
    /// Dialects, comma-separated (`cantonese,mandarin`).
    pub skills: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub disabled: bool,
    /// Failed logins since the last successful one.
    pub failed_logins: i32,
    pub locked_until_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
