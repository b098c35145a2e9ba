//! The console's security, through its HTTP interface as a browser uses
//! it: login and sessions that survive a restart, CSRF on every
//! state-changing request, lockout after wrong passwords, the per-address
//! rate limit, role checks, masking, and the audit lines each leaves.
//! SQLite always; PostgreSQL too when HUIKUAN_TEST_PG is set.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use huikuan_console::{password, ConsoleConfig};
use huikuan_core::staff::Role;
use huikuan_store::testing;
use huikuan_store::AuditFilter;

mod common;
use common::*;

#[tokio::test]
async fn a_login_opens_a_session_that_survives_a_restart_and_logout_ends_it() {
    for db in databases().await {
        add_user(&db.store, "li.wei", Role::Agent, "mandarin").await;
        let console = app(&db.store, ConsoleConfig::default(), false);
        let res = try_login(&console, "li.wei", PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", db.name);
        let line = set_cookie_line(&res, "hk_session");
        assert!(
            line.contains("HttpOnly") && line.contains("SameSite=Strict"),
            "{line}"
        );
        assert!(
            !line.contains("Secure"),
            "plain HTTP: no Secure flag: {line}"
        );
        let cookie = format!("hk_session={}", cookie_value(&res, "hk_session").unwrap());

        // A new console process on the same database knows the session.
        let restarted = app(&db.store, ConsoleConfig::default(), false);
        let page = send(&restarted, get("/agent", &cookie)).await;
        assert_eq!(page.status(), StatusCode::OK);
        let headers = page.headers().clone();
        let html = body_text(page).await;
        assert!(html.contains("li.wei") && html.contains("mandarin"));
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'"));
        assert_eq!(headers["x-frame-options"], "DENY");

        let csrf = hidden(&html, "csrf");
        let out = send(
            &restarted,
            form("/logout", &cookie, &format!("csrf={csrf}")),
        )
        .await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        let after = send(&restarted, get("/agent", &cookie)).await;
        assert_eq!(
            after.status(),
            StatusCode::SEE_OTHER,
            "logged out: back to login"
        );
        assert_eq!(after.headers()[header::LOCATION], "/login");
        let actions = audit_actions(&db.store, "li.wei").await;
        assert!(
            actions.contains(&"login".into()) && actions.contains(&"logout".into()),
            "{actions:?}"
        );
    }
}

#[tokio::test]
async fn under_tls_the_session_cookie_is_secure() {
    let db = testing::sqlite().await;
    add_user(&db.store, "li.wei", Role::Agent, "mandarin").await;
    let console = app(&db.store, ConsoleConfig::default(), true);
    let res = try_login(&console, "li.wei", PASSWORD).await;
    assert!(set_cookie_line(&res, "hk_session").contains("Secure"));
}

#[tokio::test]
async fn a_state_change_without_the_sessions_csrf_token_is_refused_and_audited() {
    for db in databases().await {
        add_user(&db.store, "li.wei", Role::Agent, "mandarin").await;
        let console = app(&db.store, ConsoleConfig::default(), false);
        let (cookie, csrf) = login(&console, "li.wei").await;

        let none = send(&console, form("/agent/state", &cookie, "state=available")).await;
        assert_eq!(none.status(), StatusCode::FORBIDDEN, "{}", db.name);
        let wrong = send(
            &console,
            form(
                "/agent/state",
                &cookie,
                &format!("state=available&csrf={}", "0".repeat(64)),
            ),
        )
        .await;
        assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
        // JSON and scripts: the header, wrong.
        let json = Request::post("/agent/state")
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", "nope")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        assert_eq!(send(&console, json).await.status(), StatusCode::FORBIDDEN);
        // From another site, even with the right token.
        let cross = Request::post("/agent/state")
            .header(header::COOKIE, &cookie)
            .header(header::HOST, "console.example")
            .header(header::ORIGIN, "https://evil.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("state=available&csrf={csrf}")))
            .unwrap();
        assert_eq!(send(&console, cross).await.status(), StatusCode::FORBIDDEN);
        let page = body_text(send(&console, get("/agent", &cookie)).await).await;
        assert!(page.contains("state-offline"), "nothing changed");

        let ok = send(
            &console,
            form(
                "/agent/state",
                &cookie,
                &format!("state=available&csrf={csrf}"),
            ),
        )
        .await;
        assert_eq!(ok.status(), StatusCode::SEE_OTHER);
        let page = body_text(send(&console, get("/agent", &cookie)).await).await;
        assert!(page.contains("state-available"));

        let rejected = audit_actions(&db.store, "li.wei")
            .await
            .iter()
            .filter(|a| *a == "csrf_rejected")
            .count();
        assert_eq!(
            rejected, 3,
            "the cross-site one is refused before the session is read"
        );

        // The login form: without its cookie's token, refused.
        let res = send(
            &console,
            form(
                "/login",
                "",
                &format!("name=li.wei&password={PASSWORD}&csrf=x"),
            ),
        )
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_user_until_an_admin_sets_a_new_one() {
    for db in databases().await {
        add_user(&db.store, "li.wei", Role::Agent, "mandarin").await;
        let config = ConsoleConfig {
            max_failed_logins: 3,
            ..ConsoleConfig::default()
        };
        let console = app(&db.store, config, false);
        for _ in 0..2 {
            let res = try_login(&console, "li.wei", "wrong-password-1").await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            assert!(body_text(res).await.contains("Wrong user name or password"));
        }
        let third = try_login(&console, "li.wei", "wrong-password-1").await;
        assert!(
            body_text(third).await.contains("locked until"),
            "{}",
            db.name
        );
        // Locked: the right password is refused too.
        let right = try_login(&console, "li.wei", PASSWORD).await;
        assert_eq!(right.status(), StatusCode::UNAUTHORIZED);
        assert!(body_text(right).await.contains("locked until"));
        // An unknown name gets the generic answer, not "locked".
        let ghost = try_login(&console, "nobody", PASSWORD).await;
        assert!(body_text(ghost)
            .await
            .contains("Wrong user name or password"));

        db.store
            .set_password_hash("li.wei", &password::hash(PASSWORD).unwrap())
            .await
            .unwrap();
        assert_eq!(
            try_login(&console, "li.wei", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        let actions = audit_actions(&db.store, "li.wei").await;
        for want in ["login_failed", "login_locked", "login"] {
            assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
        }
    }
}

#[tokio::test]
async fn login_attempts_from_one_address_are_rate_limited() {
    let db = testing::sqlite().await;
    add_user(&db.store, "li.wei", Role::Agent, "mandarin").await;
    let config = ConsoleConfig {
        login_attempts_per_minute: 3,
        max_failed_logins: 100,
        ..ConsoleConfig::default()
    };
    let console = app(&db.store, config, false);
    for _ in 0..3 {
        assert_eq!(
            try_login(&console, "li.wei", "wrong-password-1")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = try_login(&console, "li.wei", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn each_role_opens_only_its_own_pages_and_refusals_are_audited() {
    for db in databases().await {
        add_user(&db.store, "agent1", Role::Agent, "cantonese").await;
        add_user(&db.store, "sup1", Role::Supervisor, "mandarin").await;
        add_user(&db.store, "mgr1", Role::Manager, "").await;
        add_user(&db.store, "root1", Role::Admin, "").await;
        let console = app(&db.store, ConsoleConfig::default(), false);
        let pages = [
            "/agent",
            "/supervisor",
            "/api/floor",
            "/admin/users",
            "/audit",
            "/accounts/A1",
            "/dashboard",
            "/api/dashboard",
            "/plans",
            "/plans/P1",
        ];
        // 200 allowed, 403 refused; 404 means allowed but no such account
        // or plan.
        let expect = [
            ("agent1", [200, 403, 403, 403, 403, 403, 403, 403, 403, 403]),
            ("sup1", [200, 200, 200, 403, 403, 404, 200, 200, 403, 403]),
            ("mgr1", [403, 200, 200, 403, 200, 404, 200, 200, 200, 404]),
            ("root1", [403, 200, 200, 200, 200, 404, 200, 200, 200, 404]),
        ];
        for (user, codes) in expect {
            let res = try_login(&console, user, PASSWORD).await;
            let cookie = format!("hk_session={}", cookie_value(&res, "hk_session").unwrap());
            for (page, code) in pages.iter().zip(codes) {
                let status = send(&console, get(page, &cookie)).await.status();
                assert_eq!(status.as_u16(), code, "{} {user} {page}", db.name);
            }
        }
        let refused = audit_actions(&db.store, "agent1")
            .await
            .iter()
            .filter(|a| *a == "forbidden")
            .count();
        assert_eq!(refused, 9);
        // Without a session every page goes to the login page.
        let anon = send(&console, get("/supervisor", "")).await;
        assert_eq!(anon.headers()[header::LOCATION], "/login");
    }
}

#[tokio::test]
async fn an_account_page_masks_phone_numbers_and_every_view_is_audited() {
    let db = testing::sqlite().await;
    import_synthetic(&db.store, "c1", 1).await;
    let page = db
        .store
        .list_accounts(&Default::default(), 10, None)
        .await
        .unwrap();
    let account_id = page.accounts[0].id.clone();
    let phone = db.store.get_account(&account_id).await.unwrap().contacts[0]
        .phone
        .clone();

    add_user(&db.store, "sup1", Role::Supervisor, "mandarin").await;
    let console = app(&db.store, ConsoleConfig::default(), false);
    let res = try_login(&console, "sup1", PASSWORD).await;
    let cookie = format!("hk_session={}", cookie_value(&res, "hk_session").unwrap());
    let res = send(&console, get(&format!("/accounts/{account_id}"), &cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = body_text(res).await;
    assert!(
        !html.contains(&phone),
        "the full number is never on the page"
    );
    assert!(html.contains(&huikuan_core::phone::mask(&phone)));
    let views = db
        .store
        .audit_entries(&AuditFilter {
            action: Some("view_account".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(
        (views[0].actor.as_str(), views[0].subject.as_str()),
        ("sup1", account_id.as_str())
    );
    assert_eq!(views[0].remote, "10.1.2.3");
}

#[tokio::test]
async fn an_admin_adds_a_user_who_can_log_in_and_disabling_ends_their_sessions() {
    for db in databases().await {
        add_user(&db.store, "root1", Role::Admin, "").await;
        let console = app(&db.store, ConsoleConfig::default(), false);
        let (cookie, csrf) = login(&console, "root1").await;
        // Bad input names its field and adds nobody.
        let bad = send(
            &console,
            form(
                "/admin/users",
                &cookie,
                &format!("csrf={csrf}&name=wang&role=agent&skills=klingon"),
            ),
        )
        .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(bad).await.starts_with("skills:"));
        assert!(db.store.user("wang").await.unwrap().is_none());

        let res = send(
            &console,
            form(
                "/admin/users",
                &cookie,
                &format!("csrf={csrf}&name=wang&role=agent&skills=cantonese,mandarin"),
            ),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK, "{}", db.name);
        let html = body_text(res).await;
        let shown = html
            .split("(shown once): ")
            .nth(1)
            .expect("generated password shown");
        let pw: String = shown
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert_eq!(pw.len(), 16);
        let wang = db.store.user("wang").await.unwrap().unwrap();
        assert_eq!(
            (wang.role, wang.skills.to_string().as_str()),
            (Role::Agent, "cantonese,mandarin")
        );

        let res = try_login(&console, "wang", &pw).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let wang_cookie = format!("hk_session={}", cookie_value(&res, "hk_session").unwrap());
        assert_eq!(
            send(&console, get("/agent", &wang_cookie)).await.status(),
            StatusCode::OK
        );

        let res = send(
            &console,
            form(
                "/admin/users/wang/disable",
                &cookie,
                &format!("csrf={csrf}"),
            ),
        )
        .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            send(&console, get("/agent", &wang_cookie)).await.status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            try_login(&console, "wang", &pw).await.status(),
            StatusCode::UNAUTHORIZED
        );
        let actions = audit_actions(&db.store, "root1").await;
        assert!(actions.contains(&"user_add".into()) && actions.contains(&"user_disable".into()));
    }
}
