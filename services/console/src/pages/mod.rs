//! Routes, and what every page shares: rendering with the user's
//! navigation and CSRF token, role checks that leave an audit line, and
//! the security headers.

mod accounts;
mod admin;
mod agent;
mod dashboard;
mod desk;
mod listen;
mod login;
mod page_socket;
mod paging;
mod plans;
mod qa;
mod supervisor;

use crate::audit::Action;
use crate::error::ConsoleError;
use crate::session::CurrentUser;
use crate::Console;
use axum::extract::{Path, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use huikuan_core::staff::{Permission, Role};

pub(crate) fn routes(console: Console) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/agent", get(agent::page))
        .route("/agent/state", post(agent::set_state))
        .route("/agent/ws", get(desk::socket))
        .route("/agent/wrapup", post(desk::wrap_up))
        .route("/supervisor", get(supervisor::page))
        .route("/api/floor", get(supervisor::floor))
        .route("/supervisor/ws", get(listen::socket))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/hours.svg", get(dashboard::hours_chart))
        .route("/api/dashboard", get(dashboard::api))
        .route("/plans", get(plans::list))
        .route("/plans/{id}", get(plans::page))
        .route("/plans/{id}/chart.svg", get(plans::chart))
        .route("/plans/{id}/skipped", get(plans::skipped))
        .route("/plans/{id}/action", post(plans::act))
        .route(
            "/plans/{id}/calls/{account}",
            get(plans::call).post(plans::edit),
        )
        .route("/qa", get(qa::list))
        .route("/qa/hours/{start}/report.csv", get(qa::hour_csv))
        .route("/qa/call", get(qa::call))
        .route("/qa/call/chart.svg", get(qa::chart))
        .route("/qa/call/audio", get(qa::audio))
        .route("/accounts/{id}", get(accounts::page))
        .route("/admin/users", get(admin::users).post(admin::add_user))
        .route("/admin/users/{name}/{change}", post(admin::change_user))
        .route("/audit", get(admin::audit))
        .route("/static/{file}", get(static_file))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
        .layer(from_fn_with_state(console.clone(), crate::csrf::guard))
        .layer(from_fn(security_headers))
        .with_state(console)
}

/// Bad input in `field`, and why.
fn bad(field: &'static str, reason: impl Into<String>) -> ConsoleError {
    ConsoleError::BadInput {
        field,
        reason: reason.into(),
    }
}

/// An instant as a person reads it in `tz`: `YYYY-MM-DD HH:MM`.
fn when(ms: i64, tz: chrono_tz::Tz) -> String {
    use chrono::TimeZone;
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// A form's refusal, shown on the form's page: bad input and conflicts
/// with their message and status; anything else stays the request's
/// error.
fn form_error(e: ConsoleError) -> Result<(StatusCode, String), ConsoleError> {
    match e {
        ConsoleError::BadInput { .. } | ConsoleError::Conflict(_) => {
            Ok((e.status(), e.to_string()))
        }
        other => Err(other),
    }
}

/// Each role's start page.
async fn home(me: CurrentUser) -> Redirect {
    Redirect::to(match me.user.role {
        Role::Agent => "/agent",
        Role::Supervisor => "/supervisor",
        Role::Manager => "/plans",
        Role::Admin => "/admin/users",
    })
}

/// Links in the header, for the pages this role may open.
fn nav(role: Role) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if role.may(Permission::TakeCalls) {
        out.push(("/agent", "Desktop"));
    }
    if role.may(Permission::WatchFloor) {
        out.push(("/supervisor", "Floor"));
        out.push(("/dashboard", "Dashboard"));
    }
    if role.may(Permission::ManageSchedules) {
        out.push(("/plans", "Plans"));
    }
    if role.may(Permission::ReadAllCalls) {
        out.push(("/qa", "Quality"));
    }
    if role.may(Permission::ManageUsers) {
        out.push(("/admin/users", "Users"));
    }
    if role.may(Permission::ReadAudit) {
        out.push(("/audit", "Audit log"));
    }
    out
}

impl Console {
    /// Renders a page for the logged-in user.
    pub(crate) fn render(
        &self,
        me: &CurrentUser,
        template: &str,
        mut ctx: tera::Context,
    ) -> Result<Html<String>, ConsoleError> {
        ctx.insert("me_name", &me.user.name);
        ctx.insert("me_role", me.user.role.as_str());
        ctx.insert("csrf", &me.session.csrf_token);
        ctx.insert("nav", &nav(me.user.role));
        self.render_plain(template, &ctx)
    }

    pub(crate) fn render_plain(
        &self,
        template: &str,
        ctx: &tera::Context,
    ) -> Result<Html<String>, ConsoleError> {
        self.inner
            .templates
            .render(template, ctx)
            .map(Html)
            .map_err(|e| ConsoleError::Internal(anyhow::anyhow!("template {template}: {e:?}")))
    }

    /// `me` may do `p`; a refusal is audited.
    pub(crate) async fn allow(
        &self,
        me: &CurrentUser,
        p: Permission,
        what: &str,
    ) -> Result<(), ConsoleError> {
        if let Err(e) = me.require(p) {
            self.audit_by(me, Action::Forbidden, what, me.user.role.as_str())
                .await?;
            return Err(e);
        }
        Ok(())
    }
}

async fn static_file(Path(file): Path<String>) -> Response {
    match crate::templates::STATIC
        .iter()
        .find(|(name, _, _)| *name == file)
    {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// Headers on every answer: no framing, no sniffing, no referrer to other
/// sites, scripts
/// and styles from this origin only, and no caching of pages that show
/// personal data.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(h, "x-frame-options", "DENY");
    set(h, "x-content-type-options", "nosniff");
    // Not `no-referrer`: under it browsers send `Origin: null` on a
    // form post, and the CSRF check wants the real origin.
    set(h, "referrer-policy", "same-origin");
    set(h, "cache-control", "no-store");
    res
}
