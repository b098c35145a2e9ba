//! Cross-site request forgery: one middleware in front of every route, so
//! no state-changing request can be added without the check.
//!
//! A request whose method can change state (anything but GET, HEAD and
//! OPTIONS) must
//! * not come from another site: `Sec-Fetch-Site: cross-site` or
//!   `same-site` is refused, and an `Origin` header must name this host
//!   (`null` included: pages are served with `Referrer-Policy:
//!   same-origin`, under which browsers send the real origin);
//! * carry its session's CSRF token, in the `X-CSRF-Token` header (the
//!   page's scripts) or in a `csrf` form field (plain forms), compared in
//!   constant time.
//!
//! The login form has no session yet: it carries the token of a
//! short-lived `hk_login` cookie instead (double submit), which
//! `SameSite=Strict` keeps from other sites.

use crate::audit::Action;
use crate::error::ConsoleError;
use crate::session::{remote_of, CurrentUser};
use crate::Console;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// The pre-login cookie of the login form.
pub const LOGIN_COOKIE: &str = "hk_login";
/// The header scripts send the token in.
pub const HEADER: &str = "x-csrf-token";
/// Largest form body read to find the token.
const MAX_FORM_BYTES: usize = 256 * 1024;

pub async fn guard(State(console): State<Console>, req: Request, next: Next) -> Response {
    match check(&console, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

pub(crate) fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

async fn check(console: &Console, req: Request) -> Result<Request, ConsoleError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(req);
    }
    let (mut parts, body) = req.into_parts();
    let header_str = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    if matches!(
        header_str("sec-fetch-site"),
        Some("cross-site" | "same-site")
    ) {
        return Err(ConsoleError::Csrf("the request came from another site"));
    }
    if let Some(origin) = header_str(header::ORIGIN.as_str()) {
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if Some(origin_host) != header_str(header::HOST.as_str()) {
            return Err(ConsoleError::Csrf("the request's Origin is another site"));
        }
    }
    let from_header = header_str(HEADER).map(str::to_string);
    let is_form = header_str(header::CONTENT_TYPE.as_str())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let (token, body) = match (from_header, is_form) {
        (Some(t), _) => (Some(t), body),
        (None, true) => {
            let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|_| ConsoleError::BadInput {
                    field: "body",
                    reason: format!("a form is at most {MAX_FORM_BYTES} bytes"),
                })?;
            let token = form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v.into_owned());
            (token, Body::from(bytes))
        }
        (None, false) => (None, body),
    };
    let token = token.unwrap_or_default();
    let remote = remote_of(&parts.extensions);
    if parts.method == Method::POST && parts.uri.path() == "/login" {
        let jar = axum_extra::extract::CookieJar::from_headers(&parts.headers);
        let expected = jar
            .get(LOGIN_COOKIE)
            .map(|c| c.value().to_string())
            .unwrap_or_default();
        if !same(&token, &expected) {
            return Err(ConsoleError::Csrf(
                "the login form expired; reload the page",
            ));
        }
        return Ok(Request::from_parts(parts, body));
    }
    let Some((session, user)) = console.session_of(&parts.headers).await? else {
        return Err(ConsoleError::LoginRequired);
    };
    if !same(&token, &session.csrf_token) {
        console
            .audit(
                &user.name,
                Action::CsrfRejected,
                parts.uri.path(),
                "missing or wrong token",
                &remote,
            )
            .await?;
        return Err(ConsoleError::Csrf("missing or wrong CSRF token"));
    }
    parts.extensions.insert(CurrentUser {
        user,
        session,
        remote,
    });
    Ok(Request::from_parts(parts, body))
}
