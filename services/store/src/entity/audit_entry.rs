use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at_ms: i64,
    /// The user who acted (or the name tried, for a failed login).
    pub actor: String,
    pub action: String,
    /// What was acted on or seen: an account, a call, a user.
    pub subject: String,
    pub detail: String,
    /// The client's address.
    pub remote: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
