//! Store behaviour on every configured backend (SQLite always, PostgreSQL
//! when HUIKUAN_TEST_PG is set): import, idempotency, leasing, expiry,
//! reports, calling window and daily cap.

use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, TimeZone, Utc};
use huikuan_core::portfolio::{read_raw, Format};
use huikuan_core::{CallingRules, Disposition, Money};
use huikuan_store::dispatch::DispatchPolicy;
use huikuan_store::import::{ImportOptions, Importer};
use huikuan_store::testing::{self, TestDb};
use huikuan_store::{OutcomeReport, ReportResult, Store, StoreError};
use sea_orm::{ConnectionTrait, Statement};
use std::collections::HashSet;
use std::time::Duration;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

/// `hour`:00 Beijing time on a day after the real clock, so everything the
/// store stamped with the real clock is already due.
fn beijing(days_ahead: i64, hour: u32) -> DateTime<Utc> {
    let day = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        + ChronoDuration::days(days_ahead);
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// The Beijing calendar day `days` after the one `now` falls on.
fn day_after(now: DateTime<Utc>, days: i64) -> NaiveDate {
    now.with_timezone(&chrono_tz::Asia::Shanghai).date_naive() + ChronoDuration::days(days)
}

async fn import_text(store: &Store, campaign: &str, text: &str) -> (u64, Vec<String>) {
    let c = store.ensure_campaign(campaign).await.unwrap();
    let mut imp = Importer::start(store, &c.id, "test.csv", None, today())
        .await
        .unwrap()
        .with_batch_rows(7);
    let mut errors = Vec::new();
    for item in read_raw(std::io::Cursor::new(text.as_bytes().to_vec()), Format::Csv).unwrap() {
        let (line, raw) = item.unwrap();
        for e in imp.push(line, raw).await.unwrap() {
            errors.push(e.to_string());
        }
    }
    let (run, late) = imp.finish().await.unwrap();
    errors.extend(late.iter().map(|e| e.to_string()));
    (run.accepted, errors)
}

fn synthetic(rows: u64, prefix: &str) -> String {
    let mut out = Vec::new();
    huikuan_core::synthetic::write_csv(&mut out, rows, 42, prefix).unwrap();
    String::from_utf8(out).unwrap()
}

/// Rows in a plan's two tables (calls and skips) whose plan id meets
/// `condition` (e.g. `= 'ID'`).
async fn plan_rows(store: &Store, condition: &str) -> i64 {
    let mut n = 0;
    for table in ["planned_calls", "plan_skips"] {
        n += count(
            store,
            &format!("SELECT COUNT(*) AS n FROM {table} WHERE plan_day_id {condition}"),
        )
        .await;
    }
    n
}

async fn count(store: &Store, sql: &str) -> i64 {
    let row = store
        .connection()
        .query_one(Statement::from_string(store.backend(), sql.to_string()))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn table_counts(store: &Store) -> [i64; 4] {
    [
        count(store, "SELECT COUNT(*) FROM accounts").await,
        count(store, "SELECT COUNT(*) FROM contacts").await,
        count(store, "SELECT COUNT(*) FROM debts").await,
        count(store, "SELECT COUNT(*) FROM call_attempts").await,
    ]
}

const HEADER: &str = huikuan_core::synthetic::CSV_HEADER;

async fn each_backend<F, Fut>(f: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in testing::all().await {
        eprintln!("backend: {}", db.name);
        f(db).await;
    }
}

/// Runs `f` once per backend with its store; the database outlives `f`.
async fn each_store<F, Fut>(f: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    each_backend(|db: TestDb| {
        let fut = f(db.store.clone());
        async move {
            fut.await;
            drop(db);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_keeps_good_rows_and_reports_bad_ones_by_line() {
    each_store(|store| async move {
        let text = format!(
            "{HEADER}\nA1,张三,13812345678,,sichuanese,四川,成都,,,消费贷,5000,1200.50,2026-10-01,\n\
             A2,李四,not-a-phone,,,广东,,,,现金贷,100,50,2026-10-01,\n\
             A3,王五,13912345678,,,北京,,,,现金贷,100,-1,2026-10-01,\n\
             A4,赵六,13712345678;02885123456,13712345678,,重庆,,,,车贷,100000,20000,2026-09-01,\n"
        );
        let (accepted, errors) = import_text(&store, "c1", &text).await;
        assert_eq!(accepted, 2);
        assert_eq!(
            errors,
            vec![
                "line 3: phones: 'not-a-phone' is not a mainland mobile/landline or E.164 number".to_string(),
                "line 4: overdue_amount: must not be negative".to_string(),
            ]
        );
        let a1 = store.get_account("A1").await.unwrap();
        assert_eq!(a1.debts[0].overdue_fen, 120_050);
        assert_eq!(a1.account.time_zone, "Asia/Shanghai");
        let a4 = store.get_account("A4").await.unwrap();
        assert_eq!(a4.contacts.len(), 2);
        assert!(a4.contacts[0].dnc);
        // The initial attempt goes to the first callable number, the landline.
        assert_eq!(a4.attempts.len(), 1);
        assert_eq!(a4.attempts[0].contact_id, a4.contacts[1].id);
        assert!(matches!(store.get_account("A2").await, Err(StoreError::NotFound(_))));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reimport_is_idempotent_and_applies_changes() {
    each_store(|store| async move {
        let text = synthetic(300, "R");
        let (first, _) = import_text(&store, "c1", &text).await;
        let before = table_counts(&store).await;
        let (second, _) = import_text(&store, "c1", &text).await;
        assert_eq!((first, second), (300, 300));
        assert_eq!(table_counts(&store).await, before);
        assert_eq!(before[0], 300);
        // A changed amount and a new do-not-call mark are applied in place.
        let changed = format!("{HEADER}\nR00000001,改名,13800000001,13800000001,,北京,,,R00000001,消费贷,100,99.99,2026-10-01,\n");
        import_text(&store, "c1", &changed).await;
        let acc = store.get_account("R00000001").await.unwrap();
        assert_eq!(acc.account.name, "改名");
        assert!(acc.debts.iter().any(|d| d.overdue_fen == 9_999));
        // Duplicate ids inside one file: the later row is an error, the
        // first stands (see repeats_and_moves_are_reported_not_silent).
        let dup = format!(
            "{HEADER}\nD1,甲,13800000002,,,北京,,,,p,1,1,2026-10-01,\nD1,乙,13800000002,,,北京,,,,p,1,2,2026-10-01,\n"
        );
        let (accepted, errors) = import_text(&store, "c1", &dup).await;
        assert_eq!((accepted, errors.len()), (1, 1));
        assert_eq!(store.get_account("D1").await.unwrap().account.name, "甲");
    })
    .await;
}

/// Leases as a dialer does, once what is queued has been released the
/// way an approved plan releases it (only released calls are dialled).
async fn lease(
    store: &Store,
    worker: &str,
    max: u32,
    ttl: Duration,
    now: DateTime<Utc>,
    policy: &DispatchPolicy,
) -> huikuan_store::Result<Vec<huikuan_store::Lease>> {
    for c in store.list_campaigns().await.unwrap() {
        testing::release_queued(store, &c.id, now).await;
    }
    store.lease_calls(worker, max, ttl, now, policy).await
}

fn policy() -> DispatchPolicy {
    DispatchPolicy {
        retry_after: Duration::ZERO,
        ..DispatchPolicy::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_workers_never_share_a_lease() {
    each_store(|store| async move {
        let (n, _) = import_text(&store, "c1", &synthetic(400, "L")).await;
        let now = beijing(1, 10);
        let c1 = store.find_campaign("c1").await.unwrap();
        testing::release_queued(&store, &c1.id, now).await;
        let mut tasks = Vec::new();
        for w in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let leases = store
                        .lease_calls(&format!("w{w}"), 7, Duration::from_secs(60), now, &policy())
                        .await
                        .unwrap();
                    if leases.is_empty() {
                        break;
                    }
                    got.extend(leases.into_iter().map(|l| l.attempt_id));
                }
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len(), "an attempt was leased twice");
        assert_eq!(
            all.len() as u64,
            n,
            "every queued attempt leased exactly once"
        );
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM call_attempts WHERE status = 'queued'"
            )
            .await,
            0
        );
    })
    .await;
}

/// A report from worker `w`, the one most tests lease as.
fn report(lease: &huikuan_store::Lease, d: Disposition) -> OutcomeReport {
    report_by("w", lease, d)
}

fn report_by(worker: &str, lease: &huikuan_store::Lease, d: Disposition) -> OutcomeReport {
    OutcomeReport {
        attempt_id: lease.attempt_id.clone(),
        lease_token: lease.lease_token,
        worker_id: worker.into(),
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
async fn expired_lease_returns_to_the_queue_and_stale_reports_are_refused() {
    each_store(|store| async move {
        import_text(
            &store,
            "c1",
            &format!("{HEADER}\nE1,张三,13812345678,,,北京,,,,p,1,1,2026-10-01,\n"),
        )
        .await;
        let t0 = beijing(1, 10);
        let first = lease(&store, "w1", 5, Duration::from_secs(30), t0, &policy())
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert!(lease(&store, "w2", 5, Duration::from_secs(30), t0, &policy())
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .expire_leases(t0 + ChronoDuration::seconds(29))
            .await
            .unwrap()
            .is_empty());
        let expired = store
            .expire_leases(t0 + ChronoDuration::seconds(31))
            .await
            .unwrap();
        assert_eq!(
            expired,
            vec![(first[0].attempt_id.clone(), first[0].campaign_id.clone())]
        );
        let t1 = t0 + ChronoDuration::seconds(32);
        let second = lease(&store, "w2", 5, Duration::from_secs(30), t1, &policy())
            .await
            .unwrap();
        assert_eq!(second[0].attempt_id, first[0].attempt_id);
        assert_ne!(second[0].lease_token, first[0].lease_token);
        let stale = store
            .report_outcome(
                &report_by("w1", &first[0], Disposition::Refused),
                t1,
                &policy(),
            )
            .await;
        assert!(
            matches!(stale, Err(StoreError::Conflict(ref m)) if m.contains("not the current lease")),
            "{stale:?}"
        );
        let ok = store
            .report_outcome(
                &report_by("w2", &second[0], Disposition::Refused),
                t1,
                &policy(),
            )
            .await
            .unwrap();
        assert!(matches!(
            ok,
            ReportResult::Recorded {
                follow_up: None,
                ..
            }
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_outcome_report_is_recorded_once() {
    each_store(|store| async move {
        import_text(
            &store,
            "c1",
            &format!("{HEADER}\nP1,张三,13812345678,,,北京,,,,p,9000,4000,2026-10-01,\n"),
        )
        .await;
        let now = beijing(1, 11);
        let lease = lease(&store, "w", 1, Duration::from_secs(60), now, &policy())
            .await
            .unwrap()
            .remove(0);
        let mut r = report(&lease, Disposition::PromiseToPay);
        assert!(matches!(
            store.report_outcome(&r, now, &policy()).await,
            Err(StoreError::InvalidArgument {
                field: "promise",
                ..
            })
        ));
        r.promise = Some((day_after(now, 3), "3250.50".parse::<Money>().unwrap()));
        let first = store.report_outcome(&r, now, &policy()).await.unwrap();
        let again = store.report_outcome(&r, now, &policy()).await.unwrap();
        assert!(matches!(first, ReportResult::Recorded { .. }));
        assert!(matches!(again, ReportResult::AlreadyRecorded { .. }));
        let acc = store.get_account("P1").await.unwrap();
        assert_eq!(acc.promises.len(), 1);
        assert_eq!(
            (
                acc.promises[0].promised_date.as_str(),
                acc.promises[0].amount_fen
            ),
            (day_after(now, 3).to_string().as_str(), 325_050)
        );
        let mut other = r.clone();
        other.disposition = Disposition::Refused;
        assert!(matches!(
            store.report_outcome(&other, now, &policy()).await,
            Err(StoreError::Conflict(_))
        ));
        let mut unknown = r.clone();
        unknown.attempt_id = "nope".into();
        assert!(matches!(
            store.report_outcome(&unknown, now, &policy()).await,
            Err(StoreError::NotFound(_))
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_reports_keeps_the_good_ones_and_names_each_failure() {
    each_store(|store| async move {
        import_text(
            &store,
            "c1",
            &format!(
                "{HEADER}\nB1,张三,13812345671,,,北京,,,,p,1000,1000,2026-10-01,\n\
                 B2,李四,13812345672,,,北京,,,,p,1000,1000,2026-10-01,\n\
                 B3,王五,13812345673,,,北京,,,,p,1000,1000,2026-10-01,\n"
            ),
        )
        .await;
        let now = beijing(1, 11);
        let leases = lease(&store, "w", 3, Duration::from_secs(60), now, &policy())
            .await
            .unwrap();
        assert_eq!(leases.len(), 3);
        let good = report(&leases[0], Disposition::Refused);
        let mut no_promise = report(&leases[1], Disposition::PromiseToPay);
        no_promise.promise = None;
        let mut stale = report(&leases[2], Disposition::Busy);
        stale.lease_token += 1;
        let mut unknown = good.clone();
        unknown.attempt_id = "nope".into();
        let mut contradicting = good.clone();
        contradicting.disposition = Disposition::Busy;
        let batch = [
            good.clone(),
            no_promise,
            stale,
            unknown,
            good.clone(),
            contradicting,
        ];
        let results = store.report_outcomes(&batch, now, &policy()).await.unwrap();
        assert_eq!(results.len(), 6);
        assert!(matches!(results[5], Err(StoreError::Conflict(_))));
        assert!(matches!(results[0], Ok(ReportResult::Recorded { .. })));
        assert!(matches!(
            results[1],
            Err(StoreError::InvalidArgument {
                field: "promise",
                ..
            })
        ));
        assert!(matches!(results[2], Err(StoreError::Conflict(_))));
        assert!(matches!(results[3], Err(StoreError::NotFound(_))));
        assert!(matches!(
            results[4],
            Ok(ReportResult::AlreadyRecorded { .. })
        ));
        // Only the good report was written; the failed ones are still leased
        // and can be reported correctly afterwards.
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM call_attempts WHERE status = 'completed'"
            )
            .await,
            1
        );
        let mut fixed = report(&leases[1], Disposition::PromiseToPay);
        fixed.promise = Some((day_after(now, 1), "800".parse::<Money>().unwrap()));
        let again = store
            .report_outcomes(
                &[fixed, report(&leases[2], Disposition::Busy)],
                now,
                &policy(),
            )
            .await
            .unwrap();
        assert!(again
            .iter()
            .all(|r| matches!(r, Ok(ReportResult::Recorded { .. }))));
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM call_attempts WHERE status = 'completed'"
            )
            .await,
            3
        );
        let promised = store.get_account(&leases[1].account_id).await.unwrap();
        assert_eq!(promised.promises.len(), 1);
    })
    .await;
}

/// A debtor who asks to be called back and names no time (晚点再打, and
/// nothing when asked when): the outcome is recorded, not refused, and
/// the number is called again after the retry interval, not at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_with_no_time_named_is_kept_and_called_again_later() {
    each_store(|store| async move {
        import_text(
            &store,
            "c1",
            &format!("{HEADER}\nU1,张三,13812345671,,,北京,,,,p,1000,1000,2026-10-01,\n"),
        )
        .await;
        let p = DispatchPolicy::default();
        let now = beijing(1, 11);
        let ttl = Duration::from_secs(60);
        let first = lease(&store, "w", 1, ttl, now, &p).await.unwrap();
        assert_eq!(first.len(), 1);
        let r = store
            .report_outcome(&report(&first[0], Disposition::CallbackRequested), now, &p)
            .await;
        assert!(matches!(r, Ok(ReportResult::Recorded { .. })), "{r:?}");
        let early =
            now + ChronoDuration::from_std(p.retry_after).unwrap() - ChronoDuration::minutes(1);
        assert!(lease(&store, "w", 1, ttl, early, &p)
            .await
            .unwrap()
            .is_empty());
        let later = early + ChronoDuration::minutes(2);
        let again = lease(&store, "w", 1, ttl, later, &p).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].account_id, first[0].account_id);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_only_leased_inside_the_debtors_calling_window() {
    each_store(|store| async move {
        let text = format!(
            "{HEADER}\nW1,张三,13812345678,,,北京,,,,p,1,1,2026-10-01,\nW2,李四,13912345678,,,新疆,,Asia/Urumqi,,p,1,1,2026-10-01,\n"
        );
        import_text(&store, "c1", &text).await;
        let p = policy();
        for at in [beijing(0, 23), beijing(1, 7)] {
            let leases = lease(&store, "w", 10, Duration::from_secs(60), at, &p).await.unwrap();
            assert!(leases.is_empty(), "leased at {at}");
        }
        // 08:30 Beijing is 06:30 in Urumqi (UTC+6): only the Beijing debtor is callable.
        let at = beijing(1, 8) + ChronoDuration::minutes(30);
        let leases = lease(&store, "w", 10, Duration::from_secs(60), at, &p).await.unwrap();
        assert_eq!(leases.iter().map(|l| l.account_id.as_str()).collect::<Vec<_>>(), vec!["W1"]);
        // 21:00 Beijing is 19:00 in Urumqi: now only the Urumqi debtor is.
        let later = lease(&store, "w", 10, Duration::from_secs(60), beijing(1, 21), &p).await.unwrap();
        assert_eq!(later.iter().map(|l| l.account_id.as_str()).collect::<Vec<_>>(), vec!["W2"]);
        // A paused campaign dispatches nothing.
        let c = store.campaign_by_name("c1").await.unwrap().unwrap();
        store.set_campaign_status(&c.id, huikuan_core::CampaignStatus::Paused).await.unwrap();
        store.expire_leases(beijing(2, 12)).await.unwrap();
        assert!(lease(&store, "w", 10, Duration::from_secs(60), beijing(2, 12), &p).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaigns_caller_id_goes_with_its_leases() {
    each_store(|store| async move {
        let e = store
            .create_campaign("bad", Some("95-555"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("caller_id"), "{e}");
        assert!(store.campaign_by_name("bad").await.unwrap().is_none());
        let shown = store
            .create_campaign("shown", Some(" +864008001234 "))
            .await
            .unwrap();
        assert_eq!(shown.caller_id.as_deref(), Some("+864008001234"));
        import_text(
            &store,
            "shown",
            &format!("{HEADER}\nS1,张三,13812345678,,,北京,,,,p,1,1,2026-10-01,\n"),
        )
        .await;
        import_text(
            &store,
            "plain",
            &format!("{HEADER}\nP1,李四,13912345678,,,北京,,,,p,1,1,2026-10-01,\n"),
        )
        .await;
        let p = policy();
        let leases = lease(&store, "w", 10, Duration::from_secs(60), beijing(1, 10), &p)
            .await
            .unwrap();
        let caller = |acc: &str| {
            leases
                .iter()
                .find(|l| l.account_id == acc)
                .map(|l| l.caller_id.clone())
        };
        assert_eq!(caller("S1"), Some(Some("+864008001234".to_string())));
        assert_eq!(caller("P1"), Some(None));
        // Cleared, the campaign's next calls present the trunk's number; a
        // bad change is refused and keeps the number it had.
        let plain = store.campaign_by_name("plain").await.unwrap().unwrap();
        let set = store
            .set_campaign_caller_id(&plain.id, Some("95555"))
            .await
            .unwrap();
        assert_eq!(set.caller_id.as_deref(), Some("95555"));
        assert!(store
            .set_campaign_caller_id(&plain.id, Some("nine"))
            .await
            .is_err());
        assert_eq!(
            store
                .get_campaign(&plain.id)
                .await
                .unwrap()
                .caller_id
                .as_deref(),
            Some("95555")
        );
        let cleared = store
            .set_campaign_caller_id(&shown.id, Some(" "))
            .await
            .unwrap();
        assert_eq!(cleared.caller_id, None);
        store.expire_leases(beijing(1, 11)).await.unwrap();
        let again = lease(&store, "w", 10, Duration::from_secs(60), beijing(1, 11), &p)
            .await
            .unwrap();
        let caller = |acc: &str| {
            again
                .iter()
                .find(|l| l.account_id == acc)
                .map(|l| l.caller_id.clone())
        };
        assert_eq!(caller("S1"), Some(None));
        assert_eq!(caller("P1"), Some(Some("95555".to_string())));
        assert!(store
            .set_campaign_caller_id("no-such-campaign", None)
            .await
            .is_err());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_cap_stops_a_contact_until_the_next_local_day() {
    each_store(|store| async move {
        import_text(
            &store,
            "c1",
            &format!("{HEADER}\nC1,张三,13812345678,,,北京,,,,p,1,1,2026-10-01,\n"),
        )
        .await;
        let p = DispatchPolicy {
            rules: CallingRules {
                daily_cap: 2,
                ..CallingRules::default()
            },
            ..policy()
        };
        let mut t = beijing(1, 9);
        for round in 0..2 {
            let leases = lease(&store, "w", 5, Duration::from_secs(60), t, &p)
                .await
                .unwrap();
            assert_eq!(leases.len(), 1, "round {round}");
            let res = store
                .report_outcome(&report(&leases[0], Disposition::NoAnswer), t, &p)
                .await
                .unwrap();
            assert!(matches!(
                res,
                ReportResult::Recorded {
                    follow_up: Some(_),
                    ..
                }
            ));
            t += ChronoDuration::minutes(30);
        }
        // Third try the same day: capped, and parked until tomorrow's window.
        assert!(lease(&store, "w", 5, Duration::from_secs(60), t, &p)
            .await
            .unwrap()
            .is_empty());
        assert!(
            lease(&store, "w", 5, Duration::from_secs(60), beijing(1, 20), &p)
                .await
                .unwrap()
                .is_empty()
        );
        let tomorrow = lease(&store, "w", 5, Duration::from_secs(60), beijing(2, 8), &p)
            .await
            .unwrap();
        assert_eq!(tomorrow.len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_number_moves_to_the_next_contact() {
    each_store(|store| async move {
        import_text(
            &store,
            "c1",
            &format!("{HEADER}\nN1,张三,13812345678;13912345678,,,北京,,,,p,1,1,2026-10-01,\n"),
        )
        .await;
        let now = beijing(1, 10);
        let first = lease(&store, "w", 5, Duration::from_secs(60), now, &policy())
            .await
            .unwrap()
            .remove(0);
        assert_eq!(first.phone, "+8613812345678");
        store
            .report_outcome(&report(&first, Disposition::InvalidNumber), now, &policy())
            .await
            .unwrap();
        let next = lease(&store, "w", 5, Duration::from_secs(60), now, &policy())
            .await
            .unwrap()
            .remove(0);
        assert_eq!(next.phone, "+8613912345678");
        store
            .report_outcome(&report(&next, Disposition::WrongParty), now, &policy())
            .await
            .unwrap();
        assert!(
            lease(&store, "w", 5, Duration::from_secs(60), now, &policy())
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

/// A database made before the debtor time-zone set existed: the upgrade
/// fills the set from the accounts already there, and their calls are still
/// dispatched inside their own windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_database_keeps_its_debtors_time_zones() {
    use huikuan_store::migration::Migrator;
    use sea_orm_migration::MigratorTrait;
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![huikuan_store::sqlite_url_for_dir(dir.path()).unwrap()];
    urls.extend(testing::empty_postgres_url().await);
    for url in urls {
        eprintln!("backend: {url}");
        // The schema as the first two migrations left it, with one account.
        let old = sea_orm::Database::connect(&url).await.unwrap();
        Migrator::up(&old, Some(2)).await.unwrap();
        for sql in [
            "INSERT INTO campaigns (id, name, status, created_at_ms, updated_at_ms) VALUES ('c', 'c', 'active', 0, 0)",
            "INSERT INTO accounts (id, campaign_id, name, dialect, province, city, time_zone, created_at_ms, updated_at_ms) \
             VALUES ('U1', 'c', '王五', 'auto', '新疆', NULL, 'Asia/Urumqi', 0, 0)",
            "INSERT INTO contacts (id, account_id, phone, priority, dnc, attempts_today) VALUES ('k', 'U1', '+8613812345678', 0, false, 0)",
            "INSERT INTO call_attempts (id, campaign_id, account_id, contact_id, seq, status, not_before_ms, time_zone, lease_token, created_at_ms) \
             VALUES ('a', 'c', 'U1', 'k', 0, 'queued', 0, 'Asia/Urumqi', 0, 0)",
        ] {
            old.execute_unprepared(sql).await.unwrap();
        }
        old.close().await.unwrap();

        let store = Store::connect(&url).await.unwrap();
        let zones = store
            .connection()
            .query_all(Statement::from_string(
                store.backend(),
                "SELECT time_zone FROM debtor_time_zones",
            ))
            .await
            .unwrap();
        let zones: Vec<String> = zones
            .iter()
            .map(|r| r.try_get_by_index(0).unwrap())
            .collect();
        assert_eq!(zones, vec!["Asia/Urumqi"]);
        // 21:00 Beijing is 19:00 in Urumqi: inside that debtor's window.
        let leases = lease(
            &store,
            "w",
            10,
            Duration::from_secs(60),
            beijing(1, 21),
            &policy(),
        )
        .await
        .unwrap();
        assert_eq!(leases.len(), 1);
        store.close().await.unwrap();
    }
}

/// A database made when contacts, debts and attempts had hashed ids: the
/// upgrade rewrites them to account-ordered keys, the promise follows its
/// attempt, re-importing the same account afterwards creates nothing new,
/// and the queued attempt is leased under its new id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_database_moves_to_account_ordered_keys() {
    use huikuan_store::migration::Migrator;
    use sea_orm_migration::MigratorTrait;
    let dir = tempfile::tempdir().unwrap();
    let mut urls = vec![huikuan_store::sqlite_url_for_dir(dir.path()).unwrap()];
    urls.extend(testing::empty_postgres_url().await);
    for url in urls {
        eprintln!("backend: {url}");
        let old = sea_orm::Database::connect(&url).await.unwrap();
        Migrator::up(&old, Some(3)).await.unwrap();
        for sql in [
            "INSERT INTO campaigns (id, name, status, created_at_ms, updated_at_ms) VALUES ('c', 'c', 'active', 0, 0)",
            "INSERT INTO accounts (id, campaign_id, name, dialect, province, city, time_zone, created_at_ms, updated_at_ms) \
             VALUES ('U1', 'c', '王五', 'mandarin', '北京', NULL, 'Asia/Shanghai', 0, 0)",
            "INSERT INTO contacts (id, account_id, phone, priority, dnc, attempts_today) VALUES \
             ('5b0e1c56-hashed-first', 'U1', '+8613812345678', 0, false, 0), \
             ('0f3a9d2e-hashed-second', 'U1', '+8613912345678', 1, false, 0)",
            "INSERT INTO debts (id, account_id, loan_id, product, principal_fen, overdue_fen, due_date, days_past_due, updated_at_ms) \
             VALUES ('9c1d-hashed-debt', 'U1', 'L1', '现金贷', 500000, 123450, '2026-11-20', 4, 0)",
            "INSERT INTO call_attempts (id, campaign_id, account_id, contact_id, seq, status, not_before_ms, time_zone, lease_token, created_at_ms, disposition) \
             VALUES ('7e2b-hashed-attempt-0', 'c', 'U1', '5b0e1c56-hashed-first', 0, 'completed', 0, 'Asia/Shanghai', 1, 0, 'promise_to_pay')",
            "INSERT INTO call_attempts (id, campaign_id, account_id, contact_id, seq, status, not_before_ms, time_zone, lease_token, created_at_ms) \
             VALUES ('41aa-hashed-attempt-1', 'c', 'U1', '0f3a9d2e-hashed-second', 1, 'queued', 0, 'Asia/Shanghai', 0, 0)",
            "INSERT INTO promises (id, account_id, attempt_id, promised_date, amount_fen, status, created_at_ms) \
             VALUES ('p', 'U1', '7e2b-hashed-attempt-0', '2026-11-30', 123450, 'pending', 0)",
        ] {
            old.execute_unprepared(sql).await.unwrap();
        }
        old.close().await.unwrap();

        let store = Store::connect(&url).await.unwrap();
        let ids = |sql: &'static str| {
            let store = store.clone();
            async move {
                let rows = store
                    .connection()
                    .query_all(Statement::from_string(store.backend(), sql))
                    .await
                    .unwrap();
                rows.iter()
                    .map(|r| r.try_get_by_index::<String>(0).unwrap())
                    .collect::<Vec<_>>()
            }
        };
        // Contacts are keyed by account and a digest of the number
        // (migration 8), attempts by their contact's key, campaign and seq.
        let contacts = ids("SELECT id FROM contacts ORDER BY priority").await;
        assert_eq!(contacts.len(), 2);
        for id in &contacts {
            assert!(id.starts_with("U1/c") && id.len() == 20, "{id}");
        }
        assert_eq!(ids("SELECT id FROM debts").await, vec!["U1/L1"]);
        assert_eq!(
            ids(
                "SELECT c.phone || ' ' || CAST(a.seq AS TEXT) FROM call_attempts a \
                 JOIN contacts c ON c.id = a.contact_id \
                 WHERE a.id = a.contact_id || '/c/' || CAST(a.seq AS TEXT) ORDER BY a.seq"
            )
            .await,
            vec!["+8613812345678 0", "+8613912345678 1"]
        );
        assert_eq!(
            ids(
                "SELECT c.phone FROM promises p JOIN call_attempts a ON a.id = p.attempt_id \
                 JOIN contacts c ON c.id = a.contact_id"
            )
            .await,
            vec!["+8613812345678"]
        );

        let before = table_counts(&store).await;
        let row = "U1,王五,13812345678;13912345678,,mandarin,北京,,,L1,现金贷,5000.00,1234.50,2026-11-20,4";
        let (accepted, errors) = import_text(&store, "c", &format!("{HEADER}\n{row}\n")).await;
        assert_eq!((accepted, errors.len()), (1, 0), "{errors:?}");
        assert_eq!(table_counts(&store).await, before);

        let leases = lease(
            &store,
            "w",
            10,
            Duration::from_secs(60),
            beijing(1, 10),
            &policy(),
        )
        .await
        .unwrap();
        assert_eq!(leases.len(), 1);
        assert_eq!(leases[0].phone, "+8613912345678");
        assert_eq!(leases[0].attempt_id, format!("{}/c/1", contacts[1]));
        store.close().await.unwrap();
    }
}

/// Re-importing an account into another campaign stops its old campaign's
/// queued call; marking its number do-not-call stops every queued call to
/// that number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reimport_cancels_calls_of_a_moved_account_and_of_a_do_not_call_number() {
    each_store(|store| async move {
        let row = |dnc: &str| {
            format!("{HEADER}\nM1,张三,13800000009,{dnc},mandarin,北京,,,,现金贷,1000,500,2026-10-01,\n")
        };
        let status_by_campaign = |store: Store| async move {
            let rows = store
                .connection()
                .query_all(Statement::from_string(
                    store.backend(),
                    "SELECT c.name || ' ' || a.status FROM call_attempts a \
                     JOIN campaigns c ON c.id = a.campaign_id ORDER BY c.name",
                ))
                .await
                .unwrap();
            rows.iter()
                .map(|r| r.try_get_by_index::<String>(0).unwrap())
                .collect::<Vec<_>>()
        };
        import_text(&store, "old", &row("")).await;
        import_text(&store, "new", &row("")).await;
        assert_eq!(
            status_by_campaign(store.clone()).await,
            vec!["new queued", "old cancelled"]
        );
        import_text(&store, "new", &row("13800000009")).await;
        assert_eq!(
            status_by_campaign(store.clone()).await,
            vec!["new cancelled", "old cancelled"]
        );
        let leases = lease(&store, "w", 10, Duration::from_secs(60), beijing(1, 10), &policy())
            .await
            .unwrap();
        assert!(leases.is_empty(), "{leases:?}");
    })
    .await;
}

/// The tables the import writes, and the set of debtor time zones.
const IMPORTED_TABLES: [&str; 6] = [
    "accounts",
    "contacts",
    "debts",
    "call_attempts",
    "promises",
    "debtor_time_zones",
];

/// The rows of a SQLite file's table as text, in key order, columns in
/// their declared order. `stable` leaves out the timestamps (`*_ms`) and
/// writes campaigns by name (sorting again after), so two databases
/// filled the same way compare equal.
fn sqlite_rows(file: &std::path::Path, table: &str, stable: bool) -> Vec<String> {
    use rusqlite::types::Value;
    let conn = rusqlite::Connection::open(file).unwrap();
    let campaigns: Vec<(String, String)> = conn
        .prepare("SELECT id, name FROM campaigns")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    // Contact ids depend on the database's secret: stable dumps write each
    // as ACCOUNT/<number> (attempt ids start with them).
    let mut contact_ids: Vec<(String, String)> = conn
        .prepare("SELECT id, account_id || '/<' || phone || '>' FROM contacts")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    // Longest first, so no id is replaced inside a longer one.
    contact_ids.sort_by_key(|(id, _)| std::cmp::Reverse(id.len()));
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
        .unwrap();
    let names: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let rows = stmt
        .query_map([], |r| {
            let mut cells = Vec::new();
            for (i, name) in names.iter().enumerate() {
                if stable && name.ends_with("_ms") {
                    continue;
                }
                let mut cell = match r.get::<_, Value>(i)? {
                    Value::Null => "NULL".to_string(),
                    Value::Integer(v) => v.to_string(),
                    Value::Real(v) => v.to_string(),
                    Value::Text(v) => v,
                    Value::Blob(v) => format!("{v:?}"),
                };
                if stable {
                    for (id, stable_id) in &contact_ids {
                        if cell.starts_with(id.as_str()) {
                            cell = format!("{stable_id}{}", &cell[id.len()..]);
                            break;
                        }
                    }
                    for (id, name) in &campaigns {
                        cell = cell.replace(id.as_str(), &format!("<{name}>"));
                    }
                }
                cells.push(format!("{name}={cell}"));
            }
            Ok(cells.join(" "))
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    let mut rows = rows;
    if stable {
        // Keys hold campaign ids, which differ between databases.
        rows.sort();
    }
    rows
}

fn sqlite_file(url: &str) -> std::path::PathBuf {
    let path = url.trim_start_matches("sqlite://");
    std::path::PathBuf::from(path.split('?').next().unwrap())
}

/// Imports `text` in batches of 7; gives (accepted, rejected, moved) and
/// the row errors.
async fn import_with(
    store: &Store,
    campaign: &str,
    text: &str,
    portable: bool,
    options: ImportOptions,
) -> ((u64, u64, u64), Vec<String>) {
    let c = store.ensure_campaign(campaign).await.unwrap();
    let mut imp = Importer::start(store, &c.id, "test.csv", None, today())
        .await
        .unwrap()
        .with_options(ImportOptions {
            batch_rows: 7,
            ..options
        });
    if portable {
        imp = imp.with_portable_writer();
    }
    let mut errors = Vec::new();
    for item in read_raw(std::io::Cursor::new(text.as_bytes().to_vec()), Format::Csv).unwrap() {
        let (line, raw) = item.unwrap();
        errors.extend(
            imp.push(line, raw)
                .await
                .unwrap()
                .iter()
                .map(|e| e.to_string()),
        );
    }
    let (run, late) = imp.finish().await.unwrap();
    errors.extend(late.iter().map(|e| e.to_string()));
    ((run.accepted, run.rejected, run.moved), errors)
}

async fn import_csv(store: &Store, campaign: &str, text: &str, portable: bool) -> (u64, u64, u64) {
    let options = ImportOptions {
        last_wins: true,
        ..ImportOptions::default()
    };
    import_with(store, campaign, text, portable, options)
        .await
        .0
}

/// SQLite files are written by a direct writer (prepared statements on
/// its own connection), everything else by the portable one: the same
/// imports through each leave the same rows, and the direct writer's
/// rows keep every foreign key although it does not check them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_direct_sqlite_writer_stores_what_the_portable_writer_stores() {
    let first = synthetic(60, "E");
    // The same accounts again in another campaign: the first 30 move
    // as they are, the next 15 with their first number now do-not-call,
    // one repeated in the same batch with a new amount (the later row
    // wins), and a bad row.
    let mut lines: Vec<String> = first.lines().map(str::to_string).collect();
    for line in &mut lines[31..46] {
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        fields[3] = fields[2].split(';').next().unwrap().to_string();
        *line = fields.join(",");
    }
    let mut repeated: Vec<String> = lines[46].split(',').map(str::to_string).collect();
    repeated[11] = "77.70".into();
    lines.insert(47, repeated.join(","));
    lines.push("E-bad,没电话,,,mandarin,北京,,,,现金贷,100,50,2026-10-01,".into());
    let second = lines.join("\n") + "\n";

    let mut dumps = Vec::new();
    for portable in [false, true] {
        let db = testing::sqlite().await;
        assert_eq!(
            import_csv(&db.store, "old", &first, portable).await,
            (60, 0, 0)
        );
        assert_eq!(
            import_csv(&db.store, "new", &second, portable).await,
            (61, 1, 60)
        );
        let file = sqlite_file(&db.url);
        let dump: Vec<Vec<String>> = IMPORTED_TABLES
            .iter()
            .map(|t| sqlite_rows(&file, t, true))
            .collect();
        if !portable {
            let conn = rusqlite::Connection::open(&file).unwrap();
            let broken: Vec<String> = conn
                .prepare("PRAGMA foreign_key_check")
                .unwrap()
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(
                broken.is_empty(),
                "rows with broken references in {broken:?}"
            );
        }
        dumps.push(dump);
    }
    for (i, table) in IMPORTED_TABLES.iter().enumerate() {
        assert_eq!(dumps[0][i], dumps[1][i], "table {table}");
    }
    // The scenario did what it says: moved and do-not-call calls cancelled,
    // the repeated row's amount kept.
    let with_second_number = lines[31..46]
        .iter()
        .filter(|l| l.split(',').nth(2).unwrap().contains(';'))
        .count();
    let attempts = dumps[0][3].join("\n");
    assert_eq!(attempts.matches("campaign_id=<old>").count(), 60);
    assert_eq!(attempts.matches("status=cancelled").count(), 60);
    assert_eq!(
        attempts.matches("campaign_id=<new>").count(),
        45 + with_second_number
    );
    assert!(dumps[0][2].iter().any(|d| d.contains("overdue_fen=7770")));
}

/// A database as migration 4 left it, with data: migration 5 rebuilds the
/// SQLite tables clustered on their keys (`WITHOUT ROWID`) with every row
/// and every column definition unchanged and every reference intact, and
/// the store reads and leases from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgraded_sqlite_database_gets_clustered_tables_with_its_rows() {
    use huikuan_store::migration::Migrator;
    use sea_orm_migration::MigratorTrait;
    let dir = tempfile::tempdir().unwrap();
    let url = huikuan_store::sqlite_url_for_dir(dir.path()).unwrap();
    let file = sqlite_file(&url);
    let old = sea_orm::Database::connect(&url).await.unwrap();
    Migrator::up(&old, Some(4)).await.unwrap();
    for sql in [
        "INSERT INTO campaigns (id, name, status, created_at_ms, updated_at_ms) VALUES ('c', 'c', 'active', 0, 0)",
        "INSERT INTO accounts (id, campaign_id, name, dialect, province, city, time_zone, created_at_ms, updated_at_ms) \
         VALUES ('U1', 'c', '王五', 'mandarin', '北京', '北京', 'Asia/Shanghai', 1, 2)",
        "INSERT INTO debtor_time_zones (time_zone) VALUES ('Asia/Shanghai')",
        "INSERT INTO contacts (id, account_id, phone, priority, dnc, attempts_day, attempts_today) VALUES \
         ('U1/+8613812345678', 'U1', '+8613812345678', 0, false, '2026-11-30', 1), \
         ('U1/+8613912345678', 'U1', '+8613912345678', 1, true, NULL, 0)",
        "INSERT INTO debts (id, account_id, loan_id, product, principal_fen, overdue_fen, due_date, days_past_due, updated_at_ms) \
         VALUES ('U1/L1', 'U1', 'L1', '现金贷', 500000, 123450, '2026-11-20', 4, 3)",
        "INSERT INTO call_attempts (id, campaign_id, account_id, contact_id, seq, status, not_before_ms, time_zone, \
         lease_token, created_at_ms, disposition, promise_date, promise_fen, transcript, metrics, recording_path) \
         VALUES ('U1/+8613812345678/c/0', 'c', 'U1', 'U1/+8613812345678', 0, 'completed', 0, 'Asia/Shanghai', \
         1, 0, 'promise_to_pay', '2026-11-30', 123450, '[]', '{}', '/r/U1.wav')",
        "INSERT INTO call_attempts (id, campaign_id, account_id, contact_id, seq, status, not_before_ms, time_zone, lease_token, created_at_ms) \
         VALUES ('U1/+8613812345678/c/1', 'c', 'U1', 'U1/+8613812345678', 1, 'queued', 0, 'Asia/Shanghai', 0, 0)",
        "INSERT INTO promises (id, account_id, attempt_id, promised_date, amount_fen, status, created_at_ms) \
         VALUES ('p', 'U1', 'U1/+8613812345678/c/0', '2026-11-30', 123450, 'pending', 0)",
    ] {
        old.execute_unprepared(sql).await.unwrap();
    }
    old.close().await.unwrap();
    let columns = |table: &str| -> Vec<String> {
        let conn = rusqlite::Connection::open(&file).unwrap();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{table}')"
            ))
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(format!(
                    "{} {} {} {:?} {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?.to_lowercase(),
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        rows
    };
    // Rows compared with contact ids written as their numbers: migration
    // 8 gives contacts (and so attempts) keys without the number.
    let before: Vec<(Vec<String>, Vec<String>)> = IMPORTED_TABLES
        .iter()
        .map(|t| (columns(t), sqlite_rows(&file, t, true)))
        .collect();

    let store = Store::connect(&url).await.unwrap();
    // Columns later migrations add (empty in these rows).
    let later = |cells: Vec<String>| -> Vec<String> {
        cells
            .into_iter()
            .filter(|c| {
                !c.starts_with("call_record ")
                    && !c.starts_with("plan_day_id ")
                    && !c.starts_with("plan_priority ")
                    && !c.starts_with("handed_over ")
                    && !c.starts_with("agent_name ")
                    && !c.starts_with("plan_channel ")
            })
            .map(|c| {
                c.replace(" call_record=NULL", "")
                    .replace(" plan_day_id=NULL", "")
                    .replace(" plan_priority=0", "")
                    .replace(" handed_over=0", "")
                    .replace(" agent_name=NULL", "")
                    .replace(" plan_channel=NULL", "")
            })
            .collect()
    };
    for (i, table) in IMPORTED_TABLES.iter().enumerate() {
        assert_eq!(later(columns(table)), before[i].0, "columns of {table}");
        assert_eq!(
            later(sqlite_rows(&file, table, true)),
            before[i].1,
            "rows of {table}"
        );
    }
    assert!(
        sqlite_rows(&file, "call_attempts", false)
            .iter()
            .all(|row| !row.contains("id=U1/+86")),
        "attempt ids without numbers"
    );
    let conn = rusqlite::Connection::open(&file).unwrap();
    for table in &IMPORTED_TABLES[..5] {
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.ends_with("WITHOUT ROWID"), "{table}: {sql}");
    }
    let broken: i64 = conn
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(broken, 0);

    let view = store.get_account("U1").await.unwrap();
    assert_eq!(
        (view.contacts.len(), view.debts.len(), view.attempts.len()),
        (2, 1, 2)
    );
    let leases = lease(
        &store,
        "w",
        10,
        Duration::from_secs(60),
        beijing(1, 10),
        &policy(),
    )
    .await
    .unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(
        (
            leases[0].phone.as_str(),
            leases[0].attempt_id.ends_with("/c/1")
        ),
        ("+8613812345678", true)
    );
    assert!(!leases[0].attempt_id.contains("13812345678"));
    store.close().await.unwrap();
}

/// Single reports sent at once through the group-commit queue get the
/// results they would get alone: per attempt exactly one report is
/// recorded, a repeat is already recorded, a contradiction a conflict,
/// and stale, unknown or incomplete reports their own errors, whatever
/// groups they were written in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_sent_together_are_each_judged_as_if_alone() {
    each_store(|store| async move {
        let rows: String = (0..40)
            .map(|i| format!("G{i:02},张三,138123456{i:02},,,北京,,,,p,1,1,2026-10-01,\n"))
            .collect();
        import_text(&store, "c1", &format!("{HEADER}\n{rows}")).await;
        let leases = lease(
            &store,
            "w",
            40,
            Duration::from_secs(600),
            beijing(1, 11),
            &policy(),
        )
        .await
        .unwrap();
        assert_eq!(leases.len(), 40);
        let queue = huikuan_store::ReportQueue::start(store.clone(), policy());
        // (attempt index, report, what it must get)
        let mut sent = Vec::new();
        for (i, lease) in leases.iter().enumerate() {
            let r = report(lease, Disposition::Refused);
            match i % 5 {
                0 => sent.push((i, r.clone(), "recorded-or-repeat")),
                1 => {
                    let mut other = r.clone();
                    other.disposition = Disposition::Busy;
                    sent.push((i, other, "recorded-or-conflict"));
                }
                2 => {
                    let mut stale = r.clone();
                    stale.lease_token += 1;
                    sent.push((i, stale, "conflict"));
                }
                3 => {
                    let mut bad = report(lease, Disposition::PromiseToPay);
                    bad.promise = None;
                    sent.push((i, bad, "invalid"));
                }
                _ => {
                    let mut unknown = r.clone();
                    unknown.attempt_id = format!("nope-{i}");
                    sent.push((i, unknown, "not-found"));
                }
            }
            let want = if i % 5 == 1 {
                "recorded-or-conflict"
            } else {
                "recorded-or-repeat"
            };
            sent.push((i, r, want));
        }
        let tasks: Vec<_> = sent
            .into_iter()
            .map(|(i, r, want)| {
                let queue = queue.clone();
                tokio::spawn(async move { (i, want, queue.report(r).await) })
            })
            .collect();
        let mut recorded = vec![0; 40];
        for t in tasks {
            let (i, want, got) = t.await.unwrap();
            match (want, &got) {
                (_, Ok(ReportResult::Recorded { .. })) if want.starts_with("recorded") => {
                    recorded[i] += 1
                }
                ("recorded-or-repeat", Ok(ReportResult::AlreadyRecorded { .. }))
                | ("recorded-or-conflict", Err(StoreError::Conflict(_)))
                | ("conflict", Err(StoreError::Conflict(_)))
                | (
                    "invalid",
                    Err(StoreError::InvalidArgument {
                        field: "promise", ..
                    }),
                )
                | ("not-found", Err(StoreError::NotFound(_))) => {}
                _ => panic!("attempt {i}: wanted {want}, got {got:?}"),
            }
        }
        assert_eq!(recorded, vec![1; 40], "one recorded report per attempt");
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM call_attempts WHERE status = 'completed'"
            )
            .await,
            40
        );
    })
    .await;
}

/// A row per account `id` in `campaign`'s text form, with this overdue amount.
fn account_row(id: &str, phone: &str, overdue: &str) -> String {
    format!("{id},张三,{phone},,,北京,,,,p,5000,{overdue},2026-10-01,\n")
}

async fn queued_in(store: &Store, campaign: &str) -> i64 {
    let c = store.find_campaign(campaign).await.unwrap();
    count(
        store,
        &format!(
            "SELECT COUNT(*) FROM call_attempts WHERE status = 'queued' AND campaign_id = '{}'",
            c.id
        ),
    )
    .await
}

/// The same account id twice in one import is an error on the later line
/// (the first row stands) unless the import lets the last row win; an
/// account in another campaign is counted as moved, or refused with
/// `no_move` (it stays where it was, its call still queued there), on both
/// writers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_and_moves_are_reported_not_silent() {
    for portable in [false, true] {
        for db in testing::all().await {
            if db.name == "postgres" && !portable {
                continue; // PostgreSQL has only the portable writer.
            }
            let store = db.store.clone();
            let text = format!(
                "{HEADER}\n{}{}{}",
                account_row("D1", "13812345601", "100"),
                account_row("D2", "13812345602", "200"),
                account_row("D1", "13812345601", "300"),
            );
            let (counts, errors) =
                import_with(&store, "one", &text, portable, ImportOptions::default()).await;
            assert_eq!(counts, (2, 1, 0), "{}", db.name);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(
                errors[0].starts_with("line 4: account_id: 'D1' repeats line 2"),
                "{errors:?}"
            );
            let d1 = store.get_account("D1").await.unwrap();
            assert_eq!(d1.debts[0].overdue_fen, 10_000, "the first row stands");
            let last_wins = ImportOptions {
                last_wins: true,
                ..ImportOptions::default()
            };
            let (counts, errors) = import_with(&store, "one", &text, portable, last_wins).await;
            assert_eq!(counts, (3, 0, 0));
            assert!(errors.is_empty(), "{errors:?}");
            let d1 = store.get_account("D1").await.unwrap();
            assert_eq!(d1.debts[0].overdue_fen, 30_000, "the later row won");

            // Moves: refused with no_move (batches of 7: the refusals come
            // back with their lines after the batch is written) ...
            let mut moving = format!("{HEADER}\n");
            for i in 0..9 {
                moving.push_str(&account_row(
                    &format!("N{i}"),
                    &format!("1391234560{i}"),
                    "50",
                ));
            }
            moving.push_str(&account_row("D2", "13812345602", "200"));
            let no_move = ImportOptions {
                no_move: true,
                ..ImportOptions::default()
            };
            let (counts, errors) = import_with(&store, "two", &moving, portable, no_move).await;
            assert_eq!(counts, (9, 1, 0), "{}", db.name);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(
                errors[0].starts_with("line 11: account_id: the account is in campaign 'one'"),
                "{errors:?}"
            );
            let one = store.find_campaign("one").await.unwrap();
            let d2 = store.get_account("D2").await.unwrap();
            assert_eq!(d2.account.campaign_id.as_deref(), Some(one.id.as_str()));
            assert_eq!(queued_in(&store, "one").await, 2, "D2's call stays queued");
            // ... and counted when allowed.
            let (counts, errors) =
                import_with(&store, "two", &moving, portable, ImportOptions::default()).await;
            assert_eq!(counts, (10, 0, 1), "{}", db.name);
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(queued_in(&store, "one").await, 1, "D2's old call cancelled");

            // Every run is on record with its counts and end.
            let runs = store.list_import_runs(None, 10).await.unwrap();
            let counts: Vec<(i64, i64, i64, &str)> = runs
                .iter()
                .map(|r| (r.accepted, r.rejected, r.moved, r.state.as_str()))
                .collect();
            assert_eq!(
                counts,
                vec![
                    (10, 0, 1, "finished"),
                    (9, 1, 0, "finished"),
                    (3, 0, 0, "finished"),
                    (2, 1, 0, "finished")
                ],
                "{}",
                db.name
            );
        }
    }
}

/// An account that owes nothing is kept up to date but never called: no
/// call is queued for it, and a re-import saying it owes nothing cancels
/// the one queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_owing_nothing_are_not_called() {
    each_store(|store| async move {
        let (n, errors) = import_text(
            &store,
            "c1",
            &format!(
                "{HEADER}\n{}{}",
                account_row("Z1", "13812345611", "0"),
                account_row("Z2", "13812345612", "80")
            ),
        )
        .await;
        assert_eq!((n, errors.len()), (2, 0));
        assert_eq!(queued_in(&store, "c1").await, 1);
        import_text(
            &store,
            "c1",
            &format!("{HEADER}\n{}", account_row("Z2", "13812345612", "0.00")),
        )
        .await;
        assert_eq!(queued_in(&store, "c1").await, 0);
        assert!(lease(
            &store,
            "w",
            5,
            Duration::from_secs(60),
            beijing(1, 10),
            &policy()
        )
        .await
        .unwrap()
        .is_empty());
    })
    .await;
}

/// A cancelled import keeps whole batches only and is recorded as
/// cancelled with exactly what it kept; one whose process died is found
/// interrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_runs_record_how_they_ended() {
    each_store(|store| async move {
        let c = store.ensure_campaign("c1").await.unwrap();
        let text = synthetic(20, "K");
        let start = || async {
            Importer::start(&store, &c.id, "test.csv", None, today())
                .await
                .unwrap()
                .with_batch_rows(7)
        };
        let mut imp = start().await;
        let mut pushed = 0;
        for item in read_raw(std::io::Cursor::new(text.clone().into_bytes()), Format::Csv).unwrap()
        {
            let (line, raw) = item.unwrap();
            imp.push(line, raw).await.unwrap();
            pushed += 1;
            if pushed == 17 {
                break;
            }
        }
        let (run, _) = imp.cancel().await.unwrap();
        assert_eq!((run.accepted, run.state.as_str()), (14, "cancelled"));
        assert_eq!(count(&store, "SELECT COUNT(*) FROM accounts").await, 14);

        // An importer that vanishes without ending (its process died).
        let mut imp = start().await;
        let id = imp.run_id().to_string();
        for item in read_raw(std::io::Cursor::new(text.into_bytes()), Format::Csv)
            .unwrap()
            .take(6)
        {
            let (line, raw) = item.unwrap();
            imp.push(line, raw).await.unwrap();
        }
        drop(imp);
        store
            .connection()
            .execute(Statement::from_string(
                store.backend(),
                format!(
                    "UPDATE import_runs SET heartbeat_at_ms = 0, owner = 'elsewhere:1' WHERE id = '{id}'"
                ),
            ))
            .await
            .unwrap();
        let runs = store.list_import_runs(Some(&c.id), 10).await.unwrap();
        let gone = runs.iter().find(|r| r.id == id).unwrap();
        assert_eq!(gone.state.as_str(), "interrupted");
        let cancelled = runs.iter().find(|r| r.id == run.id).unwrap();
        assert_eq!(
            (cancelled.accepted, cancelled.state.as_str()),
            (14, "cancelled")
        );
        assert!(cancelled.finished_at_ms.is_some());
    })
    .await;
}

/// Every campaign's figures as counted from the rows.
async fn counted_stats(store: &Store) -> Vec<(String, [i64; 4])> {
    let mut out = Vec::new();
    for c in store.list_campaigns().await.unwrap() {
        let n = |sql: String| {
            let store = store.clone();
            async move { count(&store, &sql).await }
        };
        let attempts = |status: &str| {
            format!(
                "SELECT COUNT(*) FROM call_attempts WHERE campaign_id = '{}' AND status = '{status}'",
                c.id
            )
        };
        out.push((
            c.name.clone(),
            [
                n(format!(
                    "SELECT COUNT(*) FROM accounts WHERE campaign_id = '{}'",
                    c.id
                ))
                .await,
                n(attempts("queued")).await,
                n(attempts("leased")).await,
                n(attempts("completed")).await,
            ],
        ));
    }
    out
}

async fn kept_stats(store: &Store) -> Vec<(String, [i64; 4])> {
    let mut out = Vec::new();
    for c in store.list_campaigns().await.unwrap() {
        let s = store.campaign_stats(&c.id).await.unwrap();
        out.push((
            c.name,
            [s.accounts, s.queued, s.leased, s.completed].map(|v| v as i64),
        ));
    }
    out
}

/// The counters the database keeps agree with the rows after everything
/// that changes them: imports through both writers (new accounts, moves
/// between campaigns, numbers becoming do-not-call, debts paid off),
/// leases, reports with follow-ups, expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_counters_agree_with_the_rows() {
    for portable in [false, true] {
        for db in testing::all().await {
            let store = db.store.clone();
            let first = synthetic(90, "Q");
            let all = ImportOptions::default();
            import_with(&store, "one", &first, portable, all).await;
            assert_eq!(kept_stats(&store).await, counted_stats(&store).await);
            let leases = lease(
                &store,
                "w",
                30,
                Duration::from_secs(1),
                beijing(1, 10),
                &policy(),
            )
            .await
            .unwrap();
            for (i, l) in leases.iter().enumerate().take(20) {
                let d = [
                    Disposition::NoAnswer,
                    Disposition::Refused,
                    Disposition::WrongParty,
                ][i % 3];
                store
                    .report_outcome(&report(l, d), beijing(1, 10), &policy())
                    .await
                    .unwrap();
            }
            let counted = counted_stats(&store).await;
            assert_eq!(kept_stats(&store).await, counted);
            // The floor's count of calls in progress: every campaign's leases.
            let leased: i64 = counted.iter().map(|(_, c)| c[2]).sum();
            assert_eq!(leased, 10);
            assert_eq!(store.calls_in_progress().await.unwrap(), 10);
            store.expire_leases(beijing(1, 11)).await.unwrap();
            assert_eq!(store.calls_in_progress().await.unwrap(), 0);
            // Half the accounts move, some numbers become do-not-call, some
            // debts are paid off.
            let mut lines: Vec<String> = first.lines().map(str::to_string).collect();
            for (i, line) in lines.iter_mut().enumerate().skip(1) {
                let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
                match i % 3 {
                    0 => f[3] = f[2].split(';').next().unwrap().to_string(),
                    1 => f[11] = "0".into(),
                    _ => {}
                }
                *line = f.join(",");
            }
            let half = lines[..46].join("\n") + "\n";
            import_with(&store, "two", &half, portable, all).await;
            let counted = counted_stats(&store).await;
            assert_eq!(kept_stats(&store).await, counted, "{}", db.name);
            // Folding PostgreSQL's deltas into the counts changes nothing read.
            store.fold_count_deltas().await.unwrap();
            assert_eq!(kept_stats(&store).await, counted, "{}", db.name);
            assert_eq!(store.fold_count_deltas().await.unwrap(), 0);
            assert_eq!(counted[0].1[0] + counted[1].1[0], 90, "{counted:?}");
            assert!(counted[1].1[0] == 45, "{counted:?}");
        }
    }
}

/// A reported call's record reads back as it was sent; an attempt
/// reported before the record existed (transcript and metrics as JSON)
/// reads into one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_records_read_back_whether_written_now_or_the_old_way() {
    use huikuan_core::call::{CallRecord, Event, Speaker, TranscriptLine};
    each_store(|store| async move {
        let rows = format!(
            "{HEADER}\n{}{}",
            account_row("C1", "13812345621", "100"),
            account_row("C2", "13812345622", "100")
        );
        import_text(&store, "c1", &rows).await;
        let now = beijing(1, 10);
        let leases = lease(&store, "w", 5, Duration::from_secs(60), now, &policy())
            .await
            .unwrap();
        let mut call = CallRecord::new(Disposition::Refused);
        call.note(0, Event::Answered);
        call.transcript.push(TranscriptLine {
            speaker: Speaker::Debtor,
            at_ms: 1_200,
            text: "我不还".into(),
            interrupted: false,
            intent: Some("refuse".into()),
        });
        call.recording = Some("2026-12-04/aa.wav".into());
        let mut r = report(&leases[0], Disposition::Refused);
        r.call = Some(call.clone());
        r.recording_path = call.recording.clone();
        store.report_outcome(&r, now, &policy()).await.unwrap();
        assert_eq!(
            store.call_record(&leases[0].attempt_id).await.unwrap(),
            Some(call.clone())
        );
        // The same report again is a retry; with another record, a conflict.
        assert!(matches!(
            store.report_outcome(&r, now, &policy()).await.unwrap(),
            ReportResult::AlreadyRecorded { .. }
        ));
        let mut other = r.clone();
        other.call.as_mut().unwrap().transcript[0].text = "我还".into();
        assert!(matches!(
            store.report_outcome(&other, now, &policy()).await,
            Err(StoreError::Conflict(m)) if m.contains("record")
        ));

        // An attempt reported the old way.
        store
            .report_outcome(&report(&leases[1], Disposition::HandedToAgent), now, &policy())
            .await
            .unwrap();
        store
            .connection()
            .execute(Statement::from_string(
                store.backend(),
                format!(
                    "UPDATE call_attempts SET transcript = '[{{\"speaker\":\"robot\",\"at_ms\":900,\"text\":\"您好\"}},\
                     {{\"speaker\":\"debtor\",\"at_ms\":100,\"text\":\"已关机\",\"intent\":\"early media\"}}]', \
                     metrics = '{{\"response_ms\":[640],\"handoff_reason\":\"request_human\"}}', \
                     recording_path = 'old.wav' WHERE id = '{}'",
                    leases[1].attempt_id
                ),
            ))
            .await
            .unwrap();
        let old = store
            .call_record(&leases[1].attempt_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old.disposition, Disposition::HandedToAgent);
        assert_eq!(
            old.transcript.iter().map(|l| l.speaker).collect::<Vec<_>>(),
            vec![Speaker::Announcement, Speaker::Robot]
        );
        assert_eq!(old.figures.response_ms, vec![640]);
        assert_eq!(old.recording.as_deref(), Some("old.wav"));
    })
    .await;
}

/// The managers' dashboard reads the day's reported calls by disposition
/// and hour, who took part (the robot alone, a handoff, an agent) and the
/// promises taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_days_figures_count_contacts_handoffs_and_promises() {
    use huikuan_core::call::{CallRecord, Event, Leg, Party};
    each_store(|store| async move {
        let rows = format!(
            "{HEADER}\n{}{}{}{}",
            account_row("F1", "13812345631", "100"),
            account_row("F2", "13812345632", "100"),
            account_row("F3", "13812345633", "100"),
            account_row("F4", "13812345634", "100")
        );
        import_text(&store, "c1", &rows).await;
        let now = beijing(1, 10);
        let mut leases = lease(&store, "w", 5, Duration::from_secs(60), now, &policy())
            .await
            .unwrap();
        leases.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        let handed = |agent: Option<&str>, d: Disposition| {
            let mut c = CallRecord::new(d);
            c.note(0, Event::Answered);
            c.note(
                5_000,
                Event::HandoffRequested {
                    reason: "request_human".into(),
                },
            );
            if let Some(a) = agent {
                c.note(9_000, Event::AgentJoined { agent: a.into() });
                c.legs.push(Leg {
                    party: Party::Agent,
                    who: Some(a.into()),
                    joined_ms: 9_000,
                    left_ms: None,
                });
            }
            c
        };
        let mut promise = report(&leases[0], Disposition::PromiseToPay);
        promise.promise = Some((day_after(now, 3), "80.00".parse::<Money>().unwrap()));
        promise.call = Some(CallRecord::new(Disposition::PromiseToPay));
        let mut by_agent = report(&leases[1], Disposition::Refused);
        by_agent.call = Some(handed(Some("ann"), Disposition::Refused));
        let no_answer = report(&leases[2], Disposition::NoAnswer);
        let mut not_taken = report(&leases[3], Disposition::HandedToAgent);
        not_taken.call = Some(handed(None, Disposition::HandedToAgent));
        for r in [&promise, &by_agent, &no_answer, &not_taken] {
            store.report_outcome(r, now, &policy()).await.unwrap();
        }
        let hour = 3_600_000;
        let f = store
            .call_figures(now.timestamp_millis() - hour, now.timestamp_millis() + 1)
            .await
            .unwrap();
        assert_eq!(f.total(), 4);
        assert_eq!(f.contacts(), 3, "{f:?}");
        assert_eq!(f.of(Disposition::NoAnswer), 1);
        assert_eq!((f.handed_over, f.taken_by_agent), (2, 1));
        assert_eq!(
            (f.abandoned, f.given_up),
            (1, 0),
            "the debtor left the queue before anyone took the call"
        );
        assert_eq!(
            f.contacts_robot_only, 1,
            "only the promise was the robot's alone"
        );
        assert_eq!(f.promised_fen, 8_000);
        let at = now.timestamp_millis();
        assert_eq!(f.by_hour.get(&(at - at % hour)), Some(&4));
        assert_eq!(f.contacts_by_hour.get(&(at - at % hour)), Some(&3));
        // Reported before the range: not counted.
        let later = store
            .call_figures(now.timestamp_millis() + 1, now.timestamp_millis() + hour)
            .await
            .unwrap();
        assert_eq!(later.total(), 0);
    })
    .await;
}

/// A plan is saved whole through each backend's bulk path (a prepared
/// insert per row on a SQLite file, `COPY` on PostgreSQL): every row reads
/// back as it was, text with tabs, new lines and backslashes included; a
/// new draft replaces the day's draft, a plan that cannot be saved whole
/// leaves nothing of itself, and an approved plan is not replaced.
#[tokio::test]
async fn a_saved_plan_reads_back_as_it_was_and_a_new_draft_replaces_the_old() {
    use huikuan_core::PlannedCallState;
    use huikuan_store::{NewPlan, PlanCallFilter, PlannedCallRow, SkipRow};
    for db in testing::all().await {
        let store = &db.store;
        let campaign = store.ensure_campaign("plans").await.unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        let call = |n: u32, reasons: &str| PlannedCallRow {
            account_id: format!("A{n:03}"),
            contact_id: format!("A{n:03}/c1"),
            phone: format!("+86138000{n:05}"),
            channel: "robot".into(),
            dialect: "mandarin".into(),
            time_zone: "Asia/Shanghai".into(),
            planned_at_ms: 1_765_238_400_000 + i64::from(n) * 60_000,
            centre_hour: 8 + (n % 12) as i32,
            priority: 80 - n as i32,
            expected_fen: 10_000 * i64::from(n),
            reasons: reasons.into(),
            state: PlannedCallState::Planned,
        };
        let awkward = "tab\there; new line\nthere; back\\slash \\N; 中文 \r end";
        // A plan's notes are kept a line each.
        let notes = vec![
            "first note".to_string(),
            "tab\t and back\\slash \\N".to_string(),
        ];
        let plan = |calls: Vec<PlannedCallRow>, skips: Vec<SkipRow>| NewPlan {
            campaign_id: campaign.id.clone(),
            day,
            made_by: "planner".into(),
            ends_at_ms: 1_765_285_200_000,
            capacity: "{\"robot\": 1}".into(),
            room: "{}".into(),
            notes: notes.clone(),
            model: String::new(),
            calls,
            skips,
        };
        let calls: Vec<_> = (0..50)
            .map(|n| call(n, &format!("reason {n}; {awkward}")))
            .collect();
        let skips = vec![SkipRow {
            account_id: "Z999".into(),
            rule: "no_capacity".into(),
            why: awkward.into(),
        }];
        let first = store
            .save_plan(plan(calls.clone(), skips.clone()))
            .await
            .unwrap();
        assert_eq!(first.notes, notes, "{}", db.name);
        let (mut read, total) = store
            .planned_calls(&first.id, &PlanCallFilter::default(), 0, 100)
            .await
            .unwrap();
        assert_eq!(total, 50, "{}", db.name);
        read.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        assert_eq!(read, calls, "{}", db.name);
        let (read_skips, _) = store.plan_skips(&first.id, None, 0, 10).await.unwrap();
        assert_eq!(read_skips, skips, "{}", db.name);

        // A new draft for the day replaces the old one, rows and all.
        let second = store
            .save_plan(plan(vec![call(7, "only")], vec![]))
            .await
            .unwrap();
        assert_ne!(second.id, first.id);
        let (read, total) = store
            .planned_calls(&second.id, &PlanCallFilter::default(), 0, 100)
            .await
            .unwrap();
        assert_eq!(
            (total, read[0].reasons.as_str()),
            (1, "only"),
            "{}",
            db.name
        );
        let old_rows = plan_rows(store, &format!("= '{}'", first.id)).await;
        assert_eq!(old_rows, 0, "{}", db.name);

        // A plan that cannot be saved whole (an account skipped twice, or
        // called twice while its skips are sound) is not saved at all: the
        // standing draft stays, and nothing of the refused plan is left,
        // its calls or its skips.
        let twice = SkipRow {
            account_id: "Z998".into(),
            rule: "dnc".into(),
            why: "twice".into(),
        };
        let mut calls_twice = calls.clone();
        calls_twice.push(calls[0].clone());
        for (calls, skips) in [
            (calls.clone(), vec![twice.clone(), twice.clone()]),
            (calls_twice, skips.clone()),
        ] {
            let refused = store.save_plan(plan(calls, skips)).await;
            assert!(refused.is_err(), "{}", db.name);
        }
        let standing = store.plan_for(&campaign.id, day).await.unwrap();
        assert_eq!(
            standing.map(|p| p.id),
            Some(second.id.clone()),
            "{}",
            db.name
        );
        let stray = plan_rows(store, &format!("<> '{}'", second.id)).await;
        assert_eq!(stray, 0, "{}", db.name);

        // An approved plan is not made again.
        let change = huikuan_store::plans::lifecycle::Change {
            who: "mgr",
            why: "reviewed",
            remote: "test",
        };
        store
            .plan_action(&second.id, huikuan_core::PlanAction::Approve, change)
            .await
            .unwrap();
        let e = store
            .save_plan(plan(calls.clone(), vec![]))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{}: {e}", db.name);
        let (kept, total) = store
            .planned_calls(&second.id, &PlanCallFilter::default(), 0, 100)
            .await
            .unwrap();
        assert_eq!(
            (total, kept[0].reasons.as_str()),
            (1, "only"),
            "{}",
            db.name
        );
    }
}

/// Reports `n` leased calls answered at `now`, every other one with a
/// recording; returns the attempts that have one.
async fn recorded_calls(store: &Store, n: u32, now: DateTime<Utc>) -> Vec<String> {
    let leases = lease(store, "w", n, Duration::from_secs(60), now, &policy())
        .await
        .unwrap();
    let mut recorded = Vec::new();
    for (i, l) in leases.iter().enumerate() {
        let mut r = report(l, Disposition::Refused);
        if i % 2 == 0 {
            r.recording_path = Some(format!("2026-12-06/{i}.wav"));
            recorded.push(l.attempt_id.clone());
        }
        store.report_outcome(&r, now, &policy()).await.unwrap();
        // A repeated report queues nothing more.
        store.report_outcome(&r, now, &policy()).await.unwrap();
    }
    recorded
}

fn inspection(score: f64, flags: usize) -> huikuan_store::NewInspection {
    huikuan_store::NewInspection {
        dialect: "mandarin".into(),
        score,
        flags: (0..flags)
            .map(|i| huikuan_store::StoredFlag {
                kind: if i % 2 == 0 {
                    "talk_over"
                } else {
                    "long_silence"
                }
                .into(),
                channel: "agent".into(),
                start_ms: 1000 * i as i64,
                end_ms: 1000 * i as i64 + 500,
                rule: "r".into(),
                evidence: "e\t\n'\"".into(),
            })
            .collect(),
        result: "{}".into(),
    }
}

/// Every recorded call is queued with its outcome and inspected once:
/// four workers share the queue, one of them dies holding a job (its
/// lease runs out and another takes the job; its own late result is
/// refused), and a job that keeps failing is given up after three tries.
/// The hour's report waits for its last call, unless the next hour ends
/// first, and is made again when the last call is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recorded_call_is_inspected_once_whatever_its_workers_do() {
    use huikuan_store::inspections::HOUR_MS;
    each_store(|store| async move {
        import_text(&store, "c1", &synthetic(24, "Q")).await;
        let now = beijing(1, 10);
        let recorded = recorded_calls(&store, 24, now).await;
        assert_eq!(recorded.len(), 12);
        assert_eq!(store.inspection_backlog().await.unwrap(), 12);
        let t0 = now.timestamp_millis();
        let lease_ms = 60_000;
        // A worker that dies holding a job.
        let dead = store
            .lease_inspection("dead", t0, lease_ms)
            .await
            .unwrap()
            .unwrap();
        // One that fails on every try.
        let bad = store
            .lease_inspection("w0", t0, lease_ms)
            .await
            .unwrap()
            .unwrap();
        store
            .fail_inspection(&bad, "unreadable recording", t0)
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for w in 0..4 {
            let (store, bad_id) = (store.clone(), bad.attempt_id.clone());
            tasks.push(tokio::spawn(async move {
                let mut done = Vec::new();
                // All at one instant: the dead worker's lease still runs.
                while let Some(job) = store
                    .lease_inspection(&format!("w{w}"), t0, lease_ms)
                    .await
                    .unwrap()
                {
                    if job.attempt_id == bad_id {
                        store
                            .fail_inspection(&job, "unreadable recording", t0)
                            .await
                            .unwrap();
                        continue;
                    }
                    assert!(store
                        .finish_inspection(&job, inspection(80.0, 2), t0)
                        .await
                        .unwrap());
                    done.push(job.attempt_id);
                }
                done
            }));
        }
        let mut done = Vec::new();
        for t in tasks {
            done.extend(t.await.unwrap());
        }
        // Once its lease has run out, the dead worker's call is taken over.
        let late = t0 + lease_ms + 1;
        let job = store
            .lease_inspection("w9", late, lease_ms)
            .await
            .unwrap()
            .expect("the dead worker's call");
        assert_eq!(job.attempt_id, dead.attempt_id);
        assert!(store
            .finish_inspection(&job, inspection(80.0, 2), late)
            .await
            .unwrap());
        done.push(job.attempt_id);
        assert!(store
            .lease_inspection("w9", late, lease_ms)
            .await
            .unwrap()
            .is_none());
        let unique: HashSet<_> = done.iter().collect();
        assert_eq!(unique.len(), done.len(), "a call inspected twice");
        assert_eq!(done.len(), 11, "{done:?}");
        assert!(
            done.contains(&dead.attempt_id),
            "the dead worker's job was not taken over"
        );
        assert!(!done.contains(&bad.attempt_id));
        // The dead worker comes back: its result is refused.
        assert!(!store
            .finish_inspection(&dead, inspection(10.0, 0), t0 + 500_000)
            .await
            .unwrap());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM inspections").await, 11);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM inspection_flags").await,
            22
        );
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM inspection_jobs WHERE status = 'failed'"
            )
            .await,
            1
        );
        assert_eq!(store.inspection_backlog().await.unwrap(), 0);
        let (score, _) = store
            .inspection_result(&dead.attempt_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(score, 80.0);

        // The hour's report: none while the hour runs; then complete.
        let hour = t0.div_euclid(HOUR_MS) * HOUR_MS;
        assert!(store
            .make_due_hour_reports(hour + HOUR_MS - 1)
            .await
            .unwrap()
            .is_empty());
        let made = store
            .make_due_hour_reports(hour + HOUR_MS + 1)
            .await
            .unwrap();
        assert_eq!(made.len(), 1);
        let r = &made[0];
        assert_eq!((r.calls, r.inspected, r.failed), (12, 11, 1));
        assert!(r.complete());
        assert_eq!(r.flags["talk_over"], 11);
        assert_eq!(r.by_collector["robot:mandarin"].calls, 11);
        assert_eq!(r.mean_score, Some(80.0));
        assert_eq!(store.hour_report(hour).await.unwrap().as_ref(), Some(r));
        assert!(store
            .make_due_hour_reports(hour + HOUR_MS + 2)
            .await
            .unwrap()
            .is_empty());

        // The next hour's calls: one not yet inspected when its hour
        // ends; its report is made at the deadline, incomplete, and
        // again once the call is done.
        let later = now + ChronoDuration::hours(1);
        import_text(&store, "c2", &synthetic(2, "R")).await;
        let recorded = recorded_calls(&store, 2, later).await;
        assert_eq!(recorded.len(), 1);
        let next = hour + HOUR_MS;
        assert!(store
            .make_due_hour_reports(next + HOUR_MS + 5)
            .await
            .unwrap()
            .is_empty());
        let made = store
            .make_due_hour_reports(next + 2 * HOUR_MS)
            .await
            .unwrap();
        assert_eq!(made.len(), 1);
        assert!(!made[0].complete());
        let job = store
            .lease_inspection("w", next + 2 * HOUR_MS, lease_ms)
            .await
            .unwrap()
            .unwrap();
        assert!(store
            .finish_inspection(&job, inspection(100.0, 0), next + 2 * HOUR_MS)
            .await
            .unwrap());
        let made = store
            .make_due_hour_reports(next + 2 * HOUR_MS + 1)
            .await
            .unwrap();
        assert_eq!(made.len(), 1);
        assert!(made[0].complete());
        assert_eq!(made[0].inspected, 1);
    })
    .await;
}

/// The quality pages' reads: inspected calls newest first, filtered by
/// flag type, collector, score and time, a page at a time with the total;
/// one call whole (its recording, result and flags); the hourly reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspected_calls_are_listed_filtered_paged_and_read_whole() {
    use huikuan_store::inspections::HOUR_MS;
    use huikuan_store::{Collector, InspectionFilter};
    each_store(|store| async move {
        import_text(&store, "c1", &synthetic(12, "L")).await;
        let now = beijing(1, 10);
        let recorded = recorded_calls(&store, 12, now).await;
        assert_eq!(recorded.len(), 6);
        let t0 = now.timestamp_millis();
        // Job i: scored 100 - 10 i, with i flags (talk_over, long_silence,
        // talk_over, ...).
        let mut scored = Vec::new();
        for i in 0..6 {
            let job = store
                .lease_inspection("w", t0, 60_000)
                .await
                .unwrap()
                .unwrap();
            let mut result = inspection(100.0 - 10.0 * i as f64, i);
            result.result = format!("{{\"n\":{i}}}");
            assert!(store.finish_inspection(&job, result, t0).await.unwrap());
            scored.push((job.attempt_id, i));
        }
        // The last two were an agent's calls.
        for (id, _) in &scored[4..] {
            store
                .connection()
                .execute(Statement::from_sql_and_values(
                    store.backend(),
                    match store.backend() {
                        sea_orm::DatabaseBackend::Postgres => {
                            "UPDATE inspections SET agent_name = 'wang' WHERE attempt_id = $1"
                        }
                        _ => "UPDATE inspections SET agent_name = 'wang' WHERE attempt_id = ?",
                    },
                    [id.as_str().into()],
                ))
                .await
                .unwrap();
        }
        let all = InspectionFilter::default();
        let (page, total) = store.inspections(&all, 0, 4).await.unwrap();
        assert_eq!((page.len(), total), (4, 6));
        let (rest, _) = store.inspections(&all, 4, 4).await.unwrap();
        assert_eq!(rest.len(), 2);
        let ids: HashSet<_> = page
            .iter()
            .chain(&rest)
            .map(|r| r.attempt_id.clone())
            .collect();
        assert_eq!(ids.len(), 6, "a page repeats a call");
        let row = |id: &str| {
            page.iter()
                .chain(&rest)
                .find(|r| r.attempt_id == id)
                .unwrap()
        };
        let (two, _) = &scored[2];
        assert_eq!(row(two).kinds, ["talk_over", "long_silence"]);
        assert_eq!((row(two).score, row(two).flag_count), (80.0, 2));
        assert!(row(&scored[0].0).kinds.is_empty());
        assert!(row(two).account_id.starts_with('L'), "{:?}", row(two));

        let count = |f: InspectionFilter| {
            let store = store.clone();
            async move { store.inspections(&f, 0, 100).await.unwrap().1 }
        };
        let kind = |k: &str| InspectionFilter {
            kind: Some(k.into()),
            ..Default::default()
        };
        assert_eq!(count(kind("talk_over")).await, 5);
        assert_eq!(count(kind("long_silence")).await, 4);
        assert_eq!(count(kind("agitation")).await, 0);
        let by = |c: Collector| InspectionFilter {
            collector: Some(c),
            ..Default::default()
        };
        assert_eq!(count(by(Collector::Robot)).await, 4);
        assert_eq!(count(by(Collector::Agent("wang".into()))).await, 2);
        assert_eq!(count(by(Collector::Agent("li".into()))).await, 0);
        let low = InspectionFilter {
            max_score: Some(70.0),
            collector: Some(Collector::Robot),
            ..Default::default()
        };
        assert_eq!(count(low).await, 1);
        let window = |since: i64, until: i64| InspectionFilter {
            since_ms: Some(since),
            until_ms: Some(until),
            ..Default::default()
        };
        assert_eq!(count(window(t0, t0 + 1)).await, 6);
        assert_eq!(count(window(t0 + 1, t0 + HOUR_MS)).await, 0);
        assert_eq!(store.inspected_agents().await.unwrap(), ["wang"]);

        let view = store.inspection(two).await.unwrap().unwrap();
        assert_eq!(view.result, "{\"n\":2}");
        assert_eq!(view.flags.len(), 2);
        assert_eq!(view.flags[1].evidence, "e\t\n'\"");
        assert!(view.recording_path.unwrap().ends_with(".wav"));
        assert!(store.inspection("nope").await.unwrap().is_none());

        let hour = t0.div_euclid(HOUR_MS) * HOUR_MS;
        store
            .make_due_hour_reports(hour + 2 * HOUR_MS)
            .await
            .unwrap();
        let reports = store
            .hour_reports(hour - HOUR_MS, hour + HOUR_MS)
            .await
            .unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!((reports[0].calls, reports[0].inspected), (6, 6));
        assert_eq!(reports[0].by_collector["wang"].calls, 2);
        assert!(store
            .hour_reports(hour + HOUR_MS, hour + 2 * HOUR_MS)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
}
