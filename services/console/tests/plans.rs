//! The managers' plan pages through the console's HTTP interface, as a
//! browser uses them: the campaigns' plans, a day's plan with its chart
//! and its filtered, paged table, changing one call (refused with the
//! field named when wrong), approving (refused without a reason, and
//! twice), the role checks, and the audit lines each change leaves; the
//! dashboard's figures and chart. SQLite always; PostgreSQL too when
//! HUIKUAN_TEST_PG is set.

mod common;

use axum::http::{header, StatusCode};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use common::*;
use huikuan_console::ConsoleConfig;
use huikuan_core::staff::Role;
use huikuan_core::{PlanStatus, PlannedCallState};
use huikuan_planner::plan::CapacityRecord;
use huikuan_planner::PlanBasis;
use huikuan_store::{NewPlan, PlanDay, PlannedCallRow, SkipRow, Store};
use std::collections::BTreeMap;

const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// A draft plan for tomorrow (Beijing) with a robot call per imported
/// account, one an hour from 09:00, and one account left off.
async fn draft(store: &Store, campaign: &str, accounts: usize) -> (PlanDay, NaiveDate) {
    import_synthetic(store, campaign, accounts as u64 + 1).await;
    let c = store.find_campaign(campaign).await.unwrap();
    let day = (Utc::now().with_timezone(&TZ) + Duration::days(1)).date_naive();
    let page = store
        .list_accounts(&Default::default(), 100, None)
        .await
        .unwrap();
    let mut calls = Vec::new();
    for (i, a) in page.accounts.iter().take(accounts).enumerate() {
        let view = store.get_account(&a.id).await.unwrap();
        let hour = 9 + i as u32;
        let at = TZ
            .from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
            .unwrap();
        calls.push(PlannedCallRow {
            account_id: a.id.clone(),
            contact_id: view.contacts[0].id.clone(),
            phone: view.contacts[0].phone.clone(),
            channel: "robot".into(),
            dialect: "mandarin".into(),
            time_zone: TZ.name().into(),
            planned_at_ms: at.timestamp_millis(),
            centre_hour: hour as i32,
            priority: 100 - i as i32,
            expected_fen: 12_345,
            reasons: format!(
                "best contact hour {hour}:00 from 14 past answers; 3 of 3 attempts left today"
            ),
            state: PlannedCallState::Planned,
        });
    }
    let left_off = page.accounts[accounts].id.clone();
    let mut hourly = [0u32; 24];
    hourly[8..21].fill(2);
    let capacity = CapacityRecord {
        tz: TZ.name().into(),
        robot: hourly,
        agents: BTreeMap::from([("mandarin".to_string(), hourly)]),
        specialist: [0; 24],
    };
    let plan = store
        .save_plan(NewPlan {
            campaign_id: c.id,
            day,
            made_by: "planner".into(),
            ends_at_ms: TZ
                .from_local_datetime(&day.and_hms_opt(21, 0, 0).unwrap())
                .unwrap()
                .timestamp_millis(),
            capacity: serde_json::to_string(&capacity).unwrap(),
            room: serde_json::to_string(&capacity).unwrap(),
            notes: vec!["2 robot lines".into()],
            model: serde_json::to_string(&PlanBasis::default()).unwrap(),
            calls,
            skips: vec![SkipRow {
                account_id: left_off,
                rule: "do_not_call".into(),
                why: "every number is on the do-not-call list".into(),
            }],
        })
        .await
        .unwrap();
    (plan, day)
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test]
async fn a_manager_reviews_changes_and_approves_the_days_plan() {
    for db in databases().await {
        let store = &db.store;
        let (plan, _) = draft(store, "c1", 3).await;
        add_user(store, "mgr1", Role::Manager, "").await;
        add_user(store, "sup1", Role::Supervisor, "mandarin").await;
        let console = app(store, ConsoleConfig::default(), false);
        let (cookie, csrf) = login(&console, "mgr1").await;
        let calls = store
            .planned_calls(&plan.id, &Default::default(), 0, 10)
            .await
            .unwrap()
            .0;
        let first = calls[0].account_id.clone();
        let plan_url = format!("/plans/{}", plan.id);

        // The campaigns' plans.
        let res = send(&console, get("/plans", &cookie)).await;
        assert_eq!(res.status(), StatusCode::OK, "{}", db.name);
        let html = body_text(res).await;
        assert!(html.contains("c1") && html.contains(&plan.day.to_string()));
        assert!(html.contains(&plan_url) && html.contains("draft"));

        // The day's plan: every call with its reasons, numbers masked.
        let html = body_text(send(&console, get(&plan_url, &cookie)).await).await;
        for c in &calls {
            assert!(html.contains(&c.account_id), "{}", db.name);
            assert!(!html.contains(&c.phone), "a full number on the page");
            assert!(html.contains(&huikuan_core::phone::mask(&c.phone)));
        }
        assert!(html.contains("best contact hour 9:00 from 14 past answers"));
        assert!(html.contains("do_not_call: 1"), "the skip counts");
        assert!(html.contains(r#"value="approve""#));
        // Each account left off, with its rule and why; a rule the plan
        // never used is named as wrong.
        let skipped = body_text(
            send(
                &console,
                get(&format!("{plan_url}/skipped?rule=do_not_call"), &cookie),
            )
            .await,
        )
        .await;
        assert!(skipped.contains("every number is on the do-not-call list"));
        assert!(skipped.contains("1 accounts"));
        let res = send(
            &console,
            get(&format!("{plan_url}/skipped?rule=holiday"), &cookie),
        )
        .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(res).await.starts_with("rule:"));
        // Filtered: by hour, by channel; a wrong filter names its field.
        let html =
            body_text(send(&console, get(&format!("{plan_url}?hour=10"), &cookie)).await).await;
        assert!(html.contains(&calls[1].account_id) && !html.contains(&format!(">{first}<")));
        let html =
            body_text(send(&console, get(&format!("{plan_url}?channel=agent"), &cookie)).await)
                .await;
        assert!(html.contains("No planned call matches"));
        let res = send(&console, get(&format!("{plan_url}?hour=25"), &cookie)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(res).await.starts_with("hour:"));
        // The chart: planned calls against capacity.
        let res = send(&console, get(&format!("{plan_url}/chart.svg"), &cookie)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "image/svg+xml");
        let svg = body_text(res).await;
        assert!(svg.contains("robot capacity") && svg.contains("agent capacity"));

        // Changing one call: each refusal names what is wrong and changes
        // nothing.
        let call_url = format!("{plan_url}/calls/{first}");
        let html = body_text(send(&console, get(&call_url, &cookie)).await).await;
        assert!(html.contains("edit-exclude") && html.contains("edit-move"));
        for (pairs, says) in [
            (vec![("edit", "exclude"), ("why", " ")], "why:"),
            (
                vec![("edit", "move"), ("value", "22:30"), ("why", "late")],
                "outside the calling window",
            ),
            (
                vec![("edit", "move"), ("value", "9 am"), ("why", "x")],
                "value: a time HH:MM",
            ),
            (
                vec![("edit", "priority"), ("value", "high"), ("why", "x")],
                "value:",
            ),
            (
                vec![("edit", "channel"), ("value", "fax"), ("why", "x")],
                "is not one of robot, agent, specialist",
            ),
            (vec![("edit", "delete"), ("why", "x")], "edit:"),
        ] {
            let mut body = pairs.clone();
            body.push(("csrf", &csrf));
            let res = send(&console, form(&call_url, &cookie, &form_body(&body))).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{pairs:?}");
            let html = body_text(res).await;
            assert!(html.contains(says), "{pairs:?}: {says} not on the page");
        }
        assert_eq!(
            store.planned_call(&plan.id, &first).await.unwrap().unwrap(),
            calls[0]
        );

        let ok = |pairs: &[(&str, &str)]| {
            let mut body = pairs.to_vec();
            body.push(("csrf", &csrf));
            form(&call_url, &cookie, &form_body(&body))
        };
        let res = send(
            &console,
            ok(&[
                ("edit", "move"),
                ("value", "15:30"),
                ("why", "debtor works mornings"),
            ]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let moved = store.planned_call(&plan.id, &first).await.unwrap().unwrap();
        let want = TZ
            .from_local_datetime(&plan.day.and_hms_opt(15, 30, 0).unwrap())
            .unwrap();
        assert_eq!(moved.planned_at_ms, want.timestamp_millis());
        assert_eq!(moved.centre_hour, 15, "the chart counts it at 15:00");
        let res = send(
            &console,
            ok(&[("edit", "exclude"), ("why", "in hospital, family called")]),
        )
        .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            res.headers()[header::LOCATION].to_str().unwrap(),
            format!("{plan_url}?account={first}")
        );
        let excluded = store.planned_call(&plan.id, &first).await.unwrap().unwrap();
        assert_eq!(excluded.state, PlannedCallState::Excluded);
        assert_eq!(
            store.plan_call_counts(&plan.id).await.unwrap(),
            [("excluded".to_string(), 1), ("planned".to_string(), 2)]
        );
        let list = body_text(send(&console, get("/plans", &cookie)).await).await;
        assert!(
            list.contains("<td>3</td><td>1</td><td>1</td>"),
            "3 planned, 1 excluded, 1 left off: {list}"
        );
        let html = body_text(
            send(
                &console,
                get(&format!("{plan_url}?state=excluded"), &cookie),
            )
            .await,
        )
        .await;
        assert!(html.contains(&first) && html.contains("1 matching"));

        // A supervisor may not approve; a manager must say why, and only
        // once.
        let (sup_cookie, sup_csrf) = login(&console, "sup1").await;
        let action_url = format!("{plan_url}/action");
        let res = send(
            &console,
            form(
                &action_url,
                &sup_cookie,
                &form_body(&[("action", "approve"), ("why", "x"), ("csrf", &sup_csrf)]),
            ),
        )
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let approve = |why: &str| {
            form(
                &action_url,
                &cookie,
                &form_body(&[("action", "approve"), ("why", why), ("csrf", &csrf)]),
            )
        };
        let res = send(&console, approve("")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(res).await.contains("why:"));
        assert_eq!(
            store.plan(&plan.id).await.unwrap().status,
            PlanStatus::Draft
        );
        let res = send(&console, approve("checked the excluded account")).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let approved = store.plan(&plan.id).await.unwrap();
        assert_eq!(approved.status, PlanStatus::Approved);
        assert_eq!(approved.approved_by.as_deref(), Some("mgr1"));
        // The dashboard's "planned" line: the approved plan's calls per
        // hour, the excluded one left out.
        let day_start = TZ
            .from_local_datetime(&plan.day.and_hms_opt(0, 0, 0).unwrap())
            .unwrap()
            .timestamp_millis();
        let per_hour = store
            .planned_per_hour(day_start, day_start + 24 * 3_600_000)
            .await
            .unwrap();
        let hour_ms = |h: i64| day_start + h * 3_600_000;
        assert_eq!(
            per_hour.into_iter().collect::<Vec<_>>(),
            [(hour_ms(10), 1), (hour_ms(11), 1)],
            "{}",
            db.name
        );
        let res = send(&console, approve("again")).await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert!(body_text(res).await.contains("cannot be approved"));
        let html = body_text(send(&console, get(&plan_url, &cookie)).await).await;
        assert!(html.contains(r#"value="pause""#) && !html.contains(r#"value="approve""#));

        // The audit log: each change, by whom, with why.
        let entries = store
            .audit_entries(&huikuan_store::AuditFilter {
                actor: Some("mgr1".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let changes: Vec<(String, String)> = entries
            .iter()
            .filter(|e| e.action.starts_with("plan_"))
            .map(|e| (e.action.clone(), e.detail.clone()))
            .collect();
        assert_eq!(changes.len(), 3, "{changes:?}");
        for (action, detail) in [
            ("plan_edit", "debtor works mornings"),
            ("plan_edit", "in hospital, family called"),
            ("plan_approve", "checked the excluded account"),
        ] {
            assert!(
                changes
                    .iter()
                    .any(|(a, d)| a == action && d.contains(detail)),
                "{action} {detail}: {changes:?}"
            );
        }
        assert!(entries.iter().any(|e| e.remote == "10.1.2.3"));
    }
}

#[tokio::test]
async fn the_dashboard_shows_the_days_figures_and_refreshes_them_as_json() {
    for db in databases().await {
        let store = &db.store;
        draft(store, "c1", 2).await;
        add_user(store, "sup1", Role::Supervisor, "mandarin").await;
        let console = app(store, ConsoleConfig::default(), false);
        let (cookie, _) = login(&console, "sup1").await;
        let html = body_text(send(&console, get("/dashboard", &cookie)).await).await;
        for label in [
            "Calls in progress",
            "Contact rate",
            "Right-party rate",
            "Promise rate",
            "Promises kept",
            "Robot containment",
            "Handoffs",
            "Abandoned in the queue",
        ] {
            assert!(html.contains(label), "{label}");
        }
        assert!(html.contains("No call has ended today yet"));
        let res = send(&console, get("/api/dashboard", &cookie)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
        assert_eq!(v["kpis"].as_array().unwrap().len(), 10);
        assert_eq!(v["time_zone"], "Asia/Shanghai");
        let res = send(&console, get("/dashboard/hours.svg", &cookie)).await;
        assert_eq!(res.headers()[header::CONTENT_TYPE], "image/svg+xml");
        let svg = body_text(res).await;
        assert!(svg.contains("answered") && svg.contains("planned"));
    }
}
