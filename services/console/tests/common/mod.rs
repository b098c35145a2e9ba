//! What the console's HTTP tests share: a console on a test database
//! behind a mock client address, users, requests as a browser sends them,
//! logging in, reading pages and the audit log, importing debtors.

#![allow(dead_code)]

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use huikuan_console::{password, Console, ConsoleConfig};
use huikuan_core::staff::{Role, Skills};
use huikuan_store::testing::{self, TestDb};
use huikuan_store::{AuditFilter, Store};
use std::net::SocketAddr;
use tower::ServiceExt;

pub const PASSWORD: &str = "s3cure-enough-pw";

pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![testing::sqlite().await];
    dbs.extend(testing::postgres().await);
    dbs
}

pub fn app(store: &Store, config: ConsoleConfig, secure: bool) -> Router {
    // A failing request's reason, in the test's output.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("huikuan_console=warn")
        .try_init();
    Console::new(store.clone(), config, secure)
        .unwrap()
        .router()
        .layer(MockConnectInfo(SocketAddr::from(([10, 1, 2, 3], 40000))))
}

pub async fn add_user(store: &Store, name: &str, role: Role, skills: &str) {
    let skills: Skills = skills.parse().unwrap();
    store
        .create_user(name, role, &skills, &password::hash(PASSWORD).unwrap())
        .await
        .unwrap();
}

pub async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.unwrap()
}

pub async fn body_text(res: Response<Body>) -> String {
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

pub fn cookie_value(res: &Response<Body>, name: &str) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| {
            c[name.len() + 1..]
                .split(';')
                .next()
                .unwrap_or("")
                .to_string()
        })
}

pub fn set_cookie_line(res: &Response<Body>, name: &str) -> String {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_default()
        .to_string()
}

/// The value of `name="..."`'s `value` attribute in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).expect(name);
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

pub fn form(uri: &str, cookie: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap()
}

pub fn get(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// Logs in as a browser does; the login answer.
pub async fn try_login(app: &Router, name: &str, pw: &str) -> Response<Body> {
    let page = send(app, get("/login", "")).await;
    let login_cookie = cookie_value(&page, "hk_login").expect("login page sets hk_login");
    let token = hidden(&body_text(page).await, "csrf");
    let body = format!("name={name}&password={pw}&csrf={token}");
    send(
        app,
        form("/login", &format!("hk_login={login_cookie}"), &body),
    )
    .await
}

/// A logged-in browser: its cookie header and its CSRF token.
pub async fn login(app: &Router, name: &str) -> (String, String) {
    let res = try_login(app, name, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "login of {name}");
    let cookie = format!("hk_session={}", cookie_value(&res, "hk_session").unwrap());
    let page = send(app, get("/agent", &cookie)).await;
    let html = body_text(page).await;
    let csrf = if html.contains("name=\"csrf\"") {
        hidden(&html, "csrf")
    } else {
        // Roles without the desktop: take the token from their start page.
        let res = send(app, get("/audit", &cookie)).await;
        hidden(&body_text(res).await, "csrf")
    };
    (cookie, csrf)
}

pub async fn audit_actions(store: &Store, actor: &str) -> Vec<String> {
    store
        .audit_entries(&AuditFilter {
            actor: Some(actor.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// Imports `n` synthetic debtors into `campaign`.
pub async fn import_synthetic(store: &Store, campaign: &str, n: u64) {
    let c = store.ensure_campaign(campaign).await.unwrap();
    let mut csv = Vec::new();
    huikuan_core::synthetic::write_csv(&mut csv, n, 7, "A").unwrap();
    let today = chrono::Utc::now().date_naive();
    let mut imp = huikuan_store::import::Importer::start(store, &c.id, "t.csv", None, today)
        .await
        .unwrap();
    for item in huikuan_core::portfolio::read_raw(
        std::io::Cursor::new(csv),
        huikuan_core::portfolio::Format::Csv,
    )
    .unwrap()
    {
        let (line, raw) = item.unwrap();
        assert!(imp.push(line, raw).await.unwrap().is_empty());
    }
    imp.finish().await.unwrap();
}
