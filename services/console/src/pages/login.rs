//! The login page, logging in and out.

use crate::audit::Action;
use crate::csrf::LOGIN_COOKIE;
use crate::error::ConsoleError;
use crate::session::{random_token, remote_of, CurrentUser};
use crate::Console;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::http::{Extensions, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

fn login_cookie(console: &Console, token: String) -> Cookie<'static> {
    Cookie::build((LOGIN_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(console.inner.secure_cookies)
        .path("/login")
        .build()
}

fn form(
    console: &Console,
    token: &str,
    message: Option<&str>,
    name: &str,
) -> Result<axum::response::Html<String>, ConsoleError> {
    let mut ctx = tera::Context::new();
    ctx.insert("login_token", token);
    ctx.insert("message", &message);
    ctx.insert("name", name);
    console.render_plain("login.html", &ctx)
}

pub(super) async fn page(
    State(console): State<Console>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<Response, ConsoleError> {
    if console.session_of(&headers).await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let token = random_token();
    let page = form(&console, &token, None, "")?;
    Ok((jar.add(login_cookie(&console, token)), page).into_response())
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub(super) async fn submit(
    State(console): State<Console>,
    extensions: Extensions,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    let remote = remote_of(&extensions);
    if f.name.len() > 256 || f.password.len() > 1024 {
        return Err(ConsoleError::BadInput {
            field: "name",
            reason: "too long".into(),
        });
    }
    match console.login(&f.name, &f.password, &remote).await? {
        Ok(session) => {
            let jar = jar
                .add(session)
                .remove(Cookie::build(LOGIN_COOKIE).path("/login"));
            Ok((jar, Redirect::to("/")).into_response())
        }
        Err(refused) => {
            let page = form(&console, &f.csrf, Some(&refused.0), &f.name)?;
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
    }
}

pub(super) async fn logout(
    State(console): State<Console>,
    me: CurrentUser,
    jar: CookieJar,
) -> Result<Response, ConsoleError> {
    console.store().end_session(&me.session.token_hash).await?;
    console.floor().sign_off(&me.user.name);
    console
        .audit_by(&me, Action::Logout, &me.user.name, "")
        .await?;
    Ok((
        jar.add(console.cookie(String::new())),
        Redirect::to("/login"),
    )
        .into_response())
}
