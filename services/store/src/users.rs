//! Console users and their sessions.
//!
//! The store keeps what the console decides: password hashes arrive
//! hashed, session tokens arrive as their SHA-256, and the lockout policy
//! (how many failures, for how long) is the caller's. What the store
//! guarantees: a failed login is counted atomically (two wrong passwords
//! at once both count), disabling a user or changing their password ends
//! every session they have, and a session is only found while it has not
//! expired and its user is enabled.

use crate::entity::{console_session, user};
use crate::{Result, Store, StoreError};
use huikuan_core::staff::{Role, Skills};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

/// A console user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub skills: Skills,
    pub password_hash: String,
    pub disabled: bool,
    pub failed_logins: i32,
    pub locked_until_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl User {
    /// Locked out at `now_ms`?
    pub fn locked_at(&self, now_ms: i64) -> bool {
        self.locked_until_ms.is_some_and(|until| until > now_ms)
    }
}

impl TryFrom<user::Model> for User {
    type Error = StoreError;
    fn try_from(m: user::Model) -> Result<User> {
        Ok(User {
            role: m.role.parse().map_err(StoreError::Conflict)?,
            skills: m.skills.parse().map_err(StoreError::Conflict)?,
            name: m.name,
            password_hash: m.password_hash,
            disabled: m.disabled,
            failed_logins: m.failed_logins,
            locked_until_ms: m.locked_until_ms,
            created_at_ms: m.created_at_ms,
            updated_at_ms: m.updated_at_ms,
        })
    }
}

/// A logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub user_name: String,
    pub csrf_token: String,
    pub remote: String,
    pub created_at_ms: i64,
    pub last_seen_at_ms: i64,
    pub expires_at_ms: i64,
}

impl From<console_session::Model> for Session {
    fn from(m: console_session::Model) -> Session {
        Session {
            token_hash: m.token_hash,
            user_name: m.user_name,
            csrf_token: m.csrf_token,
            remote: m.remote,
            created_at_ms: m.created_at_ms,
            last_seen_at_ms: m.last_seen_at_ms,
            expires_at_ms: m.expires_at_ms,
        }
    }
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound(format!("user '{name}'"))
}

impl Store {
    /// Adds a user; a name already taken is refused.
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        skills: &Skills,
        password_hash: &str,
    ) -> Result<User> {
        let name = huikuan_core::staff::validate_user_name(name).map_err(|reason| {
            StoreError::InvalidArgument {
                field: "name",
                reason,
            }
        })?;
        let _w = self.write_guard().await;
        if user::Entity::find_by_id(name)
            .one(&self.db)
            .await?
            .is_some()
        {
            return Err(StoreError::AlreadyExists(format!("user '{name}'")));
        }
        let now = crate::now_ms();
        let model = user::ActiveModel {
            name: Set(name.to_string()),
            role: Set(role.as_str().to_string()),
            skills: Set(skills.to_string()),
            password_hash: Set(password_hash.to_string()),
            disabled: Set(false),
            failed_logins: Set(0),
            locked_until_ms: Set(None),
            created_at_ms: Set(now),
            updated_at_ms: Set(now),
        };
        user::Entity::insert(model).exec(&self.db).await?;
        self.user(name).await?.ok_or_else(|| not_found(name))
    }

    pub async fn user(&self, name: &str) -> Result<Option<User>> {
        user::Entity::find_by_id(name)
            .one(&self.db)
            .await?
            .map(User::try_from)
            .transpose()
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>> {
        user::Entity::find()
            .order_by_asc(user::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(User::try_from)
            .collect()
    }

    /// Disables (or enables) a user; disabling ends their sessions.
    pub async fn set_user_disabled(&self, name: &str, disabled: bool) -> Result<()> {
        let _w = self.write_guard().await;
        let changed = user::Entity::update_many()
            .col_expr(user::Column::Disabled, Expr::value(disabled))
            .col_expr(user::Column::UpdatedAtMs, Expr::value(crate::now_ms()))
            .filter(user::Column::Name.eq(name))
            .exec(&self.db)
            .await?
            .rows_affected;
        if changed == 0 {
            return Err(not_found(name));
        }
        if disabled {
            self.end_sessions_of(name).await?;
        }
        Ok(())
    }

    /// Sets a new password hash, lifts any lockout and ends the user's
    /// sessions.
    pub async fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<()> {
        let _w = self.write_guard().await;
        let changed = user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
            .col_expr(user::Column::FailedLogins, Expr::value(0))
            .col_expr(
                user::Column::LockedUntilMs,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(user::Column::UpdatedAtMs, Expr::value(crate::now_ms()))
            .filter(user::Column::Name.eq(name))
            .exec(&self.db)
            .await?
            .rows_affected;
        if changed == 0 {
            return Err(not_found(name));
        }
        self.end_sessions_of(name).await
    }

    /// Changes a user's role and skills.
    pub async fn set_user_role(&self, name: &str, role: Role, skills: &Skills) -> Result<()> {
        let _w = self.write_guard().await;
        let changed = user::Entity::update_many()
            .col_expr(user::Column::Role, Expr::value(role.as_str()))
            .col_expr(user::Column::Skills, Expr::value(skills.to_string()))
            .col_expr(user::Column::UpdatedAtMs, Expr::value(crate::now_ms()))
            .filter(user::Column::Name.eq(name))
            .exec(&self.db)
            .await?
            .rows_affected;
        if changed == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }

    /// Counts a failed login; from the `max_failures`-th failure in a row
    /// the user is locked until `lock_until_ms`. Returns the user as now
    /// stored (`None`: no such user).
    pub async fn record_login_failure(
        &self,
        name: &str,
        max_failures: i32,
        lock_until_ms: i64,
    ) -> Result<Option<User>> {
        let _w = self.write_guard().await;
        user::Entity::update_many()
            .col_expr(
                user::Column::FailedLogins,
                Expr::col(user::Column::FailedLogins).add(1),
            )
            .col_expr(
                user::Column::LockedUntilMs,
                Expr::case(
                    Expr::col(user::Column::FailedLogins).gte(max_failures.saturating_sub(1)),
                    lock_until_ms,
                )
                .finally(Expr::col(user::Column::LockedUntilMs))
                .into(),
            )
            .filter(user::Column::Name.eq(name))
            .exec(&self.db)
            .await?;
        drop(_w);
        self.user(name).await
    }

    /// A successful login: the failure count starts again.
    pub async fn record_login_success(&self, name: &str) -> Result<()> {
        let _w = self.write_guard().await;
        user::Entity::update_many()
            .col_expr(user::Column::FailedLogins, Expr::value(0))
            .col_expr(
                user::Column::LockedUntilMs,
                Expr::value(Option::<i64>::None),
            )
            .filter(user::Column::Name.eq(name))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn create_session(&self, s: &Session) -> Result<()> {
        let _w = self.write_guard().await;
        let model = console_session::ActiveModel {
            token_hash: Set(s.token_hash.clone()),
            user_name: Set(s.user_name.clone()),
            csrf_token: Set(s.csrf_token.clone()),
            remote: Set(s.remote.clone()),
            created_at_ms: Set(s.created_at_ms),
            last_seen_at_ms: Set(s.last_seen_at_ms),
            expires_at_ms: Set(s.expires_at_ms),
        };
        console_session::Entity::insert(model)
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The live session with this token hash and its enabled user.
    pub async fn session(&self, token_hash: &str, now_ms: i64) -> Result<Option<(Session, User)>> {
        let Some(s) = console_session::Entity::find_by_id(token_hash)
            .filter(console_session::Column::ExpiresAtMs.gt(now_ms))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let Some(u) = self.user(&s.user_name).await? else {
            return Ok(None);
        };
        Ok((!u.disabled).then(|| (Session::from(s), u)))
    }

    /// Marks a session used now and moves its expiry (sliding sessions).
    pub async fn touch_session(
        &self,
        token_hash: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<()> {
        let _w = self.write_guard().await;
        console_session::Entity::update_many()
            .col_expr(console_session::Column::LastSeenAtMs, Expr::value(now_ms))
            .col_expr(
                console_session::Column::ExpiresAtMs,
                Expr::value(expires_at_ms),
            )
            .filter(console_session::Column::TokenHash.eq(token_hash))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn end_session(&self, token_hash: &str) -> Result<()> {
        let _w = self.write_guard().await;
        console_session::Entity::delete_by_id(token_hash)
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Removes sessions that expired before `now_ms`; returns how many.
    pub async fn purge_expired_sessions(&self, now_ms: i64) -> Result<u64> {
        let _w = self.write_guard().await;
        Ok(console_session::Entity::delete_many()
            .filter(console_session::Column::ExpiresAtMs.lte(now_ms))
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    /// Called with the write guard held.
    async fn end_sessions_of(&self, name: &str) -> Result<()> {
        console_session::Entity::delete_many()
            .filter(console_session::Column::UserName.eq(name))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
