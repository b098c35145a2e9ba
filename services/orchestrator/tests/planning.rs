//! The day's plan from the store to the dispatch queue, on each backend:
//! made from the campaign's accounts with reasons and skip rules, dialled
//! only once approved and only at its times, stopped by a pause, changed
//! by managers' edits (each audited with who and why), re-planned after
//! an outcome, and closed when its day is over.

use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, TimeZone, Utc};
use huikuan_core::portfolio::{read_raw, Format};
use huikuan_core::{Disposition, PlanAction, PlanStatus, PlannedCallState};
use huikuan_orchestrator::planning::{self, PlanSettings};
use huikuan_store::dispatch::DispatchPolicy;
use huikuan_store::import::Importer;
use huikuan_store::plans::lifecycle::{Change, PlanEdit};
use huikuan_store::testing;
use huikuan_store::{AuditFilter, OutcomeReport, PlanCallFilter, Store, StoreError};
use std::time::Duration;

const HEADER: &str = huikuan_core::synthetic::CSV_HEADER;

fn shanghai() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

/// The Beijing day after the real one (so nothing the store stamps with
/// the real clock is in its future).
fn day() -> NaiveDate {
    Utc::now().with_timezone(&shanghai()).date_naive() + ChronoDuration::days(1)
}

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    shanghai()
        .from_local_datetime(&day().and_hms_opt(hour, minute, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn manager(why: &str) -> Change<'_> {
    Change {
        who: "li.manager",
        why,
        remote: "test",
    }
}

async fn import(store: &Store, campaign: &str, rows: &str) -> String {
    let c = store.ensure_campaign(campaign).await.unwrap();
    let mut imp = Importer::start(store, &c.id, "p.csv", None, day())
        .await
        .unwrap();
    let text = format!("{HEADER}\n{rows}");
    for item in read_raw(std::io::Cursor::new(text.into_bytes()), Format::Csv).unwrap() {
        let (line, raw) = item.unwrap();
        let errors = imp.push(line, raw).await.unwrap();
        assert!(errors.is_empty(), "{errors:?}");
    }
    imp.finish().await.unwrap();
    c.id
}

const ROWS: &str = "\
P1,张伟,13800000001,,mandarin,北京,北京,,,消费贷,5000,1200.50,2026-10-01,12\n\
P2,李娜,13800000002,,sichuanese,四川,成都,,,消费贷,5000,800.00,2026-10-01,20\n\
P3,王芳,13800000003,,mandarin,北京,北京,,,消费贷,5000,950.00,2026-10-01,25\n\
BIG,赵强,13800000004,,cantonese,广东,广州,,,经营贷,90000,45000.00,2026-08-01,95\n\
DNC,钱七,13800000005,13800000005,mandarin,北京,北京,,,消费贷,5000,300.00,2026-10-01,40\n";

fn settings() -> planning::settings::Resolved {
    let mut s = PlanSettings::default();
    s.rules.skip_holidays = false;
    s.resolve().unwrap()
}

fn policy() -> DispatchPolicy {
    DispatchPolicy::default()
}

async fn leased(store: &Store, now: DateTime<Utc>) -> Vec<String> {
    let mut ids: Vec<String> = store
        .lease_calls("w", 20, Duration::from_secs(60), now, &policy())
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.account_id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_is_dialled_only_once_approved_at_its_times_and_as_managers_change_it() {
    for db in testing::all().await {
        eprintln!("backend: {}", db.name);
        let store = &db.store;
        let campaign = import(store, "plan", ROWS).await;
        let made = planning::make_plan(
            store,
            &campaign,
            day(),
            at(7, 0),
            &settings(),
            "planner",
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!(made.plan.status, PlanStatus::Draft);
        // Three robot calls; the big balance goes to an agent, and no
        // roster means no agent: skipped, as is the do-not-call account.
        assert_eq!(made.planned, 3, "{made:?}");
        let (calls, total) = store
            .planned_calls(&made.plan.id, &PlanCallFilter::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!(total, 3);
        for c in &calls {
            assert_eq!(c.channel, "robot");
            assert!(c.reasons.contains("contact chance"), "{}", c.reasons);
            assert!(
                c.reasons.contains("3 of 3 attempts left today"),
                "{}",
                c.reasons
            );
            assert!(c.planned_at_ms >= at(8, 0).timestamp_millis());
            assert!(c.phone.starts_with("+86"), "{}", c.phone);
        }
        let (skips, _) = store.plan_skips(&made.plan.id, None, 0, 10).await.unwrap();
        let rules: Vec<(&str, &str)> = skips
            .iter()
            .map(|s| (s.account_id.as_str(), s.rule.as_str()))
            .collect();
        assert_eq!(rules, vec![("BIG", "no_capacity"), ("DNC", "do_not_call")]);
        assert!(skips[0].why.contains("cantonese agent"), "{}", skips[0].why);

        // A draft dials nothing.
        assert!(leased(store, at(10, 0)).await.is_empty());
        let plan_id = made.plan.id.clone();
        // Managers' edits: P2 excluded, P3 moved to 15:00.
        store
            .edit_planned_call(
                &plan_id,
                "P2",
                &PlanEdit::Exclude,
                manager("disputes the debt by letter"),
            )
            .await
            .unwrap();
        let moved = store
            .edit_planned_call(
                &plan_id,
                "P3",
                &PlanEdit::Move {
                    at_ms: at(15, 0).timestamp_millis(),
                    centre_hour: 15,
                },
                manager("works nights"),
            )
            .await
            .unwrap();
        assert_eq!(moved.planned_at_ms, at(15, 0).timestamp_millis());
        assert_eq!(moved.centre_hour, 15);
        let e = store
            .edit_planned_call(&plan_id, "P1", &PlanEdit::Priority(99), manager(" "))
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::InvalidArgument { field: "why", .. }),
            "{e}"
        );
        let approved = store
            .plan_action(&plan_id, PlanAction::Approve, manager("reviewed"))
            .await
            .unwrap();
        assert_eq!(approved.status, PlanStatus::Approved);
        assert_eq!(approved.approved_by.as_deref(), Some("li.manager"));
        let e = store
            .plan_action(&plan_id, PlanAction::Approve, manager("again"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("approved"), "{e}");
        // An approved plan is not made again over.
        let e = planning::make_plan(store, &campaign, day(), at(7, 0), &settings(), "p", &|_| {})
            .await
            .unwrap_err();
        assert!(e.to_string().contains("approved"), "{e}");

        // Before the calls' times, nothing; at 10:00, P1 only (P2 is
        // excluded, P3 moved); paused, nothing; resumed at 15:00, P3.
        assert!(leased(store, at(7, 59)).await.is_empty());
        assert_eq!(leased(store, at(10, 0)).await, vec!["P1"]);
        assert_eq!(
            store.plan(&plan_id).await.unwrap().status,
            PlanStatus::Executing
        );
        store
            .plan_action(&plan_id, PlanAction::Pause, manager("line problems"))
            .await
            .unwrap();
        assert!(leased(store, at(15, 0)).await.is_empty());
        store
            .plan_action(&plan_id, PlanAction::Resume, manager("lines back"))
            .await
            .unwrap();
        assert_eq!(leased(store, at(15, 0)).await, vec!["P3"]);
        // Put back on the robot after exclusion, P2 goes too.
        store
            .edit_planned_call(
                &plan_id,
                "P2",
                &PlanEdit::Include,
                manager("letter answered"),
            )
            .await
            .unwrap();
        assert_eq!(leased(store, at(15, 1)).await, vec!["P2"]);

        // Every change is in the audit log with who and why.
        let audit = store
            .audit_entries(&AuditFilter {
                actor: Some("li.manager".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let actions: Vec<(&str, &str)> = audit
            .iter()
            .rev()
            .map(|e| (e.action.as_str(), e.detail.as_str()))
            .collect();
        assert_eq!(actions.len(), 6, "{actions:?}");
        assert_eq!(actions[0].0, "plan_edit");
        assert!(
            actions[0]
                .1
                .contains("exclude: disputes the debt by letter"),
            "{actions:?}"
        );
        assert!(actions[1].1.contains("move to"), "{actions:?}");
        assert_eq!(actions[2], ("plan_approve", "reviewed"));
        assert_eq!(actions[3], ("plan_pause", "line problems"));
        assert_eq!(actions[4], ("plan_resume", "lines back"));

        // The day over, the plan is done and dials nothing more.
        store
            .finish_plans(at(23, 0).timestamp_millis())
            .await
            .unwrap();
        assert_eq!(store.plan(&plan_id).await.unwrap().status, PlanStatus::Done);
    }
}

fn report(lease: &huikuan_store::Lease, d: Disposition) -> OutcomeReport {
    OutcomeReport {
        attempt_id: lease.attempt_id.clone(),
        lease_token: lease.lease_token,
        worker_id: "w".into(),
        disposition: d,
        note: None,
        duration_ms: 1_000,
        promise: None,
        settles_balance: false,
        callback_at: None,
        recording_path: None,
        call: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_re_plans_its_account_into_the_approved_plan() {
    for db in testing::all().await {
        eprintln!("backend: {}", db.name);
        let store = &db.store;
        let campaign = import(store, "replan", ROWS).await;
        let settings = settings();
        let made = planning::make_plan(
            store,
            &campaign,
            day(),
            at(7, 0),
            &settings,
            "planner",
            &|_| {},
        )
        .await
        .unwrap();
        store
            .plan_action(&made.plan.id, PlanAction::Approve, manager("ok"))
            .await
            .unwrap();
        let now = at(8, 5);
        let leases = store
            .lease_calls("w", 20, Duration::from_secs(60), now, &policy())
            .await
            .unwrap();
        assert_eq!(leases.len(), 3);
        let p1 = leases.iter().find(|l| l.account_id == "P1").unwrap();
        let p2 = leases.iter().find(|l| l.account_id == "P2").unwrap();
        store
            .report_outcome(&report(p1, Disposition::Busy), now, &policy())
            .await
            .unwrap();
        store
            .report_outcome(&report(p2, Disposition::Refused), now, &policy())
            .await
            .unwrap();
        let plan = store.plan(&made.plan.id).await.unwrap();
        // Busy: the next attempt is planned at least the least gap later
        // (two hours by default) and released then, not before.
        let busy = planning::replan_account(store, &plan, "P1", now, &settings)
            .await
            .unwrap()
            .unwrap();
        let huikuan_store::plans::lifecycle::Replanned::Call(next) = busy else {
            panic!("P1 not re-planned: {busy:?}");
        };
        assert!(next.planned_at_ms >= (now + ChronoDuration::minutes(120)).timestamp_millis());
        assert!(
            next.reasons.contains("2 of 3 attempts left today"),
            "{}",
            next.reasons
        );
        assert!(leased(store, at(9, 0)).await.is_empty());
        let due = DateTime::<Utc>::from_timestamp_millis(next.planned_at_ms).unwrap();
        assert_eq!(leased(store, due).await, vec!["P1"]);
        // Refused: nothing is queued, so nothing is planned, with the rule.
        let refused = planning::replan_account(store, &plan, "P2", now, &settings)
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(&refused, huikuan_store::plans::lifecycle::Replanned::Off { rule, .. } if rule == "nothing_queued"),
            "{refused:?}"
        );
        let p2 = store.planned_call(&plan.id, "P2").await.unwrap().unwrap();
        assert_eq!(p2.state, PlannedCallState::Done);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_a_day_closes_the_days_before() {
    let db = testing::sqlite().await;
    let store = &db.store;
    let campaign = import(store, "days", ROWS).await;
    let first = planning::make_plan(store, &campaign, day(), at(7, 0), &settings(), "p", &|_| {})
        .await
        .unwrap();
    store
        .plan_action(&first.plan.id, PlanAction::Approve, manager("day one"))
        .await
        .unwrap();
    let next_day = day() + ChronoDuration::days(1);
    let second = planning::make_plan(
        store,
        &campaign,
        next_day,
        at(7, 0) + ChronoDuration::days(1),
        &settings(),
        "p",
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        store.plan(&first.plan.id).await.unwrap().status,
        PlanStatus::Approved
    );
    store
        .plan_action(&second.plan.id, PlanAction::Approve, manager("day two"))
        .await
        .unwrap();
    assert_eq!(
        store.plan(&first.plan.id).await.unwrap().status,
        PlanStatus::Done
    );
    let plans = store.plans_of(&campaign, 10).await.unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0].day, next_day);
}

/// From `draft_at` in the centre's time the next day's plan is drafted
/// for every active campaign without one, once; a paused campaign and one
/// whose plan was already made are left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tomorrows_plans_are_drafted_once_from_draft_at() {
    use huikuan_orchestrator::planning::drafts;
    for db in testing::all().await {
        let store = &db.store;
        let drafted_campaign = import(store, "evening", ROWS).await;
        let paused = import(
            store,
            "paused",
            "Q1,张伟,13800000011,,mandarin,北京,北京,,,消费贷,5000,100,2026-10-01,12\n",
        )
        .await;
        store
            .set_campaign_status(&paused, huikuan_core::CampaignStatus::Paused)
            .await
            .unwrap();
        let manual = import(
            store,
            "manual",
            "M1,张伟,13800000021,,mandarin,北京,北京,,,消费贷,5000,100,2026-10-01,12\n",
        )
        .await;
        let by_hand = planning::make_plan(
            store,
            &manual,
            day(),
            at(7, 0),
            &settings(),
            "li.manager",
            &|_| {},
        )
        .await
        .unwrap();
        let mut s = PlanSettings::default();
        s.rules.skip_holidays = false;
        s.draft_at = chrono::NaiveTime::from_hms_opt(18, 0, 0);
        let eve = |h: u32, m: u32| {
            shanghai()
                .from_local_datetime(
                    &(day() - ChronoDuration::days(1))
                        .and_hms_opt(h, m, 0)
                        .unwrap(),
                )
                .unwrap()
                .with_timezone(&Utc)
        };
        assert!(
            drafts::draft_due(store, &s, eve(17, 59)).await.is_empty(),
            "{}",
            db.name
        );
        let made = drafts::draft_due(store, &s, eve(18, 30)).await;
        assert_eq!(made.len(), 1, "{made:?}");
        assert_eq!((made[0].campaign.as_str(), made[0].day), ("evening", day()));
        assert_eq!(made[0].planned, 3);
        let plan = store
            .plan_for(&drafted_campaign, day())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (plan.status, plan.made_by.as_str()),
            (PlanStatus::Draft, drafts::MADE_BY)
        );
        assert!(store.plan_for(&paused, day()).await.unwrap().is_none());
        assert_eq!(
            store.plan_for(&manual, day()).await.unwrap().unwrap().id,
            by_hand.plan.id
        );
        assert_eq!(
            store
                .plan_for(&manual, day())
                .await
                .unwrap()
                .unwrap()
                .made_by,
            "li.manager"
        );
        // A minute later, or after a restart: nothing twice.
        assert!(drafts::draft_due(store, &s, eve(18, 31)).await.is_empty());
        // Without draft_at nothing is drafted.
        s.draft_at = None;
        let next_eve = eve(18, 30) + ChronoDuration::days(1);
        assert!(drafts::draft_due(store, &s, next_eve).await.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_planned_for_an_agent_is_leased_only_while_an_agent_of_its_dialect_is_free() {
    for db in testing::all().await {
        eprintln!("backend: {}", db.name);
        let store = &db.store;
        let campaign = import(store, "agents", ROWS).await;
        let mut s = settings();
        s.capacity.agents.insert("cantonese".into(), [2; 24]);
        let made = planning::make_plan(store, &campaign, day(), at(7, 0), &s, "planner", &|_| {})
            .await
            .unwrap();
        let (calls, _) = store
            .planned_calls(&made.plan.id, &PlanCallFilter::default(), 0, 10)
            .await
            .unwrap();
        let big = calls
            .iter()
            .find(|c| c.account_id == "BIG")
            .expect("BIG planned");
        assert_eq!(
            (big.channel.as_str(), big.dialect.as_str()),
            ("agent", "cantonese")
        );
        store
            .plan_action(&made.plan.id, PlanAction::Approve, manager("ok"))
            .await
            .unwrap();
        let when = DateTime::<Utc>::from_timestamp_millis(big.planned_at_ms).unwrap()
            + ChronoDuration::minutes(1);
        let lease = |room: &[(&str, u32)]| {
            let room: huikuan_store::AgentRoom =
                room.iter().map(|(d, n)| (d.to_string(), *n)).collect();
            async move {
                store
                    .lease_calls_with_agents(
                        "w",
                        20,
                        Duration::from_secs(60),
                        when,
                        &policy(),
                        &room,
                    )
                    .await
                    .unwrap()
            }
        };
        // A robot-only worker, or no Cantonese speaker free: not dialled.
        assert!(!leased(store, when).await.contains(&"BIG".to_string()));
        assert!(lease(&[("mandarin", 3)])
            .await
            .iter()
            .all(|l| l.account_id != "BIG"));
        // A Cantonese speaker is free: dialled, for an agent.
        let got = lease(&[("cantonese", 1)]).await;
        let agent: Vec<_> = got
            .iter()
            .filter(|l| l.channel == huikuan_core::Channel::Agent)
            .collect();
        assert_eq!(agent.len(), 1, "{got:?}");
        assert_eq!(agent[0].account_id, "BIG");
        assert!(got
            .iter()
            .filter(|l| l.account_id != "BIG")
            .all(|l| l.channel == huikuan_core::Channel::Robot));
    }
}
