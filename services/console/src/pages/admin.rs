//! Users (admins) and the audit log (managers and admins).

use crate::audit::Action;
use crate::error::ConsoleError;
use crate::password;
use crate::session::CurrentUser;
use crate::Console;
use axum::extract::{Form, Path, Query, State};
use axum::response::Html;
use huikuan_core::staff::{Permission, Role, Skills};
use huikuan_store::AuditFilter;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct UserRow {
    name: String,
    role: &'static str,
    skills: String,
    disabled: bool,
    locked: bool,
    failed_logins: i32,
    created: String,
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// The users page, with an optional notice (e.g. a new password, shown
/// once).
async fn users_page(
    console: &Console,
    me: &CurrentUser,
    notice: Option<String>,
) -> Result<Html<String>, ConsoleError> {
    let now = crate::now_ms();
    let users: Vec<UserRow> = console
        .store()
        .users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            locked: u.locked_at(now),
            role: u.role.as_str(),
            skills: u.skills.to_string(),
            disabled: u.disabled,
            failed_logins: u.failed_logins,
            created: when(u.created_at_ms),
            name: u.name,
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("users", &users);
    ctx.insert("roles", &Role::ALL.map(|r| r.as_str()));
    ctx.insert("notice", &notice);
    console.render(me, "users.html", ctx)
}

pub(super) async fn users(
    State(console): State<Console>,
    me: CurrentUser,
) -> Result<Html<String>, ConsoleError> {
    console
        .allow(&me, Permission::ManageUsers, "/admin/users")
        .await?;
    users_page(&console, &me, None).await
}

#[derive(Deserialize)]
pub(super) struct NewUser {
    name: String,
    role: String,
    #[serde(default)]
    skills: String,
    /// Blank: one is generated and shown once.
    #[serde(default)]
    password: String,
}

fn bad(field: &'static str) -> impl Fn(String) -> ConsoleError {
    move |reason| ConsoleError::BadInput { field, reason }
}

/// Hashes off the async runtime (argon2 takes tens of milliseconds).
async fn hash(password: String) -> Result<String, ConsoleError> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?
        .map_err(ConsoleError::Internal)
}

/// A password given, checked; or a generated one.
fn chosen_password(given: &str, name: &str) -> Result<(String, bool), ConsoleError> {
    if given.is_empty() {
        return Ok((password::generate(), true));
    }
    password::check_new(given, name).map_err(bad("password"))?;
    Ok((given.to_string(), false))
}

pub(super) async fn add_user(
    State(console): State<Console>,
    me: CurrentUser,
    Form(f): Form<NewUser>,
) -> Result<Html<String>, ConsoleError> {
    console
        .allow(&me, Permission::ManageUsers, "/admin/users")
        .await?;
    let name = huikuan_core::staff::validate_user_name(f.name.trim()).map_err(bad("name"))?;
    let role: Role = f.role.parse().map_err(bad("role"))?;
    let skills: Skills = f.skills.parse().map_err(bad("skills"))?;
    if role == Role::Agent && skills.is_empty() {
        return Err(bad("skills")("an agent needs at least one dialect".into()));
    }
    let (pw, generated) = chosen_password(&f.password, name)?;
    let phc = hash(pw.clone()).await?;
    console
        .store()
        .create_user(name, role, &skills, &phc)
        .await?;
    console
        .audit_by(
            &me,
            Action::UserAdd,
            name,
            &format!("role={role} skills={skills}"),
        )
        .await?;
    let notice = if generated {
        format!("User {name} created. Password (shown once): {pw}")
    } else {
        format!("User {name} created.")
    };
    users_page(&console, &me, Some(notice)).await
}

#[derive(Deserialize)]
pub(super) struct Change {
    #[serde(default)]
    role: String,
    #[serde(default)]
    skills: String,
}

/// `disable`, `enable`, `password` (a new one generated and shown once)
/// or `role`.
pub(super) async fn change_user(
    State(console): State<Console>,
    me: CurrentUser,
    Path((name, change)): Path<(String, String)>,
    Form(f): Form<Change>,
) -> Result<Html<String>, ConsoleError> {
    console
        .allow(&me, Permission::ManageUsers, "/admin/users")
        .await?;
    let store = console.store();
    if store.user(&name).await?.is_none() {
        return Err(ConsoleError::NotFound(format!("user '{name}'")));
    }
    let notice = match change.as_str() {
        "disable" => {
            if name == me.user.name {
                return Err(ConsoleError::Conflict("you cannot disable yourself".into()));
            }
            store.set_user_disabled(&name, true).await?;
            console.floor().sign_off(&name);
            console
                .audit_by(&me, Action::UserDisable, &name, "")
                .await?;
            format!("User {name} disabled; their sessions are ended.")
        }
        "enable" => {
            store.set_user_disabled(&name, false).await?;
            console.audit_by(&me, Action::UserEnable, &name, "").await?;
            format!("User {name} enabled.")
        }
        "password" => {
            let pw = password::generate();
            store
                .set_password_hash(&name, &hash(pw.clone()).await?)
                .await?;
            console
                .audit_by(&me, Action::UserPassword, &name, "reset")
                .await?;
            format!("New password for {name} (shown once): {pw}")
        }
        "role" => {
            let role: Role = f.role.parse().map_err(bad("role"))?;
            let skills: Skills = f.skills.parse().map_err(bad("skills"))?;
            if name == me.user.name && role != Role::Admin {
                return Err(ConsoleError::Conflict(
                    "you cannot take away your own admin role".into(),
                ));
            }
            store.set_user_role(&name, role, &skills).await?;
            console
                .audit_by(
                    &me,
                    Action::UserRole,
                    &name,
                    &format!("role={role} skills={skills}"),
                )
                .await?;
            format!("User {name} is now {role} ({skills}).")
        }
        _ => {
            return Err(ConsoleError::NotFound(format!("change '{change}'")));
        }
    };
    users_page(&console, &me, Some(notice)).await
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
}

#[derive(Serialize)]
struct AuditRow {
    at: String,
    actor: String,
    action: String,
    subject: String,
    detail: String,
    remote: String,
}

pub(super) async fn audit(
    State(console): State<Console>,
    me: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, ConsoleError> {
    console.allow(&me, Permission::ReadAudit, "/audit").await?;
    let filter = AuditFilter {
        actor: Some(q.actor.trim().to_string()).filter(|s| !s.is_empty()),
        action: Some(q.action.trim().to_string()).filter(|s| !s.is_empty()),
        limit: 500,
    };
    let rows: Vec<AuditRow> = console
        .store()
        .audit_entries(&filter)
        .await?
        .into_iter()
        .map(|e| AuditRow {
            at: when(e.at_ms),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            detail: e.detail,
            remote: e.remote,
        })
        .collect();
    console
        .audit_by(
            &me,
            Action::ViewAudit,
            "audit_log",
            &format!("actor={} action={}", q.actor, q.action),
        )
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("rows", &rows);
    ctx.insert("actor", &q.actor);
    ctx.insert("action", &q.action);
    console.render(&me, "audit.html", ctx)
}
