//! The QA worker against the store, on a simulated clock: each hour's
//! report is complete by the end of the next hour (H+1), and not made
//! before its hour is over. The inspector here answers at once; what
//! inspection costs on real calls is measured by `huikuan dev eval-qa`
//! (docs/benchmarks.md).

use chrono::{DateTime, TimeZone, Utc};
use huikuan_qa::worker::{run, Inspector, WorkerOptions};
use huikuan_store::inspections::HOUR_MS;
use huikuan_store::testing;
use huikuan_store::{InspectionJob, NewInspection, Store, StoredFlag};
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Answers at once, noting what it inspected.
#[derive(Default)]
struct Noting {
    seen: Mutex<Vec<String>>,
}

impl Inspector for Noting {
    fn inspect(&self, job: &InspectionJob) -> Result<NewInspection, String> {
        self.seen.lock().unwrap().push(job.attempt_id.clone());
        Ok(NewInspection {
            dialect: "mandarin".into(),
            score: 75.0,
            flags: vec![StoredFlag {
                kind: "long_silence".into(),
                channel: "agent".into(),
                start_ms: 1000,
                end_ms: 9000,
                rule: "long_silence_ms".into(),
                evidence: "no one spoke for 8.0 s".into(),
            }],
            result: "{}".into(),
        })
    }
}

/// 10:00 Beijing time tomorrow: inside every debtor's calling window.
fn ten_tomorrow() -> DateTime<Utc> {
    let day = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        + chrono::Duration::days(1);
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Waits (on events, polling the store) until `done` says so; a minute at
/// most.
async fn until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "waited a minute for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn an_hours_calls_are_reported_by_the_next_hours_end(store: Store) {
    let hour_start = ten_tomorrow();
    let h = hour_start.timestamp_millis().div_euclid(HOUR_MS) * HOUR_MS;
    // An hour of calls, one ending every minute, every third one without
    // a recording (not answered in full); and a few in the next hour.
    let leases = testing::leased_calls(&store, "qa", 70, hour_start).await;
    let ends: Vec<i64> = (0..70).map(|i| h + (i as i64) * 60_000 + 30_000).collect();
    let clock = Arc::new(AtomicI64::new(h));
    let inspector = Arc::new(Noting::default());
    let stop = tokio_util::sync::CancellationToken::new();
    let worker = tokio::spawn(run(
        store.clone(),
        inspector.clone(),
        {
            let clock = clock.clone();
            Arc::new(move || clock.load(Ordering::SeqCst))
        },
        WorkerOptions {
            id: "w1".into(),
            lease: Duration::from_secs(600),
            idle_wait: Duration::from_millis(2),
            low_priority: false,
        },
        stop.clone().cancelled_owned(),
    ));
    let mut recorded_in_h = 0;
    let mut reported = 0;
    for minute in 0..=120 {
        let now = h + minute * 60_000;
        while reported < leases.len() && ends[reported] <= now {
            let recording = (reported % 3 != 2).then(|| format!("calls/{reported}.wav"));
            if recording.is_some() && ends[reported] < h + HOUR_MS {
                recorded_in_h += 1;
            }
            let at = Utc.timestamp_millis_opt(ends[reported]).unwrap();
            testing::report_recorded(&store, &leases[reported], at, recording).await;
            reported += 1;
        }
        clock.store(now, Ordering::SeqCst);
        until("the queue to drain", || async {
            store.inspection_backlog().await.unwrap() == 0
        })
        .await;
        if now < h + HOUR_MS {
            assert_eq!(
                store.hour_report(h).await.unwrap(),
                None,
                "made before its hour ended"
            );
        }
        if now == h + HOUR_MS + 60_000 {
            until("the hour's report", || async {
                store.hour_report(h).await.unwrap().is_some()
            })
            .await;
            let r = store.hour_report(h).await.unwrap().unwrap();
            assert!(r.made_at_ms < h + 2 * HOUR_MS);
            assert!(r.complete(), "{r:?}");
            assert_eq!(
                (r.calls, r.inspected, r.failed),
                (recorded_in_h, recorded_in_h, 0)
            );
            assert_eq!(r.flags["long_silence"], recorded_in_h);
            assert_eq!(r.mean_score, Some(75.0));
        }
    }
    stop.cancel();
    worker.await.unwrap();
    let seen = inspector.seen.lock().unwrap().clone();
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a call inspected twice");
    assert_eq!(seen.len(), (0..70).filter(|i| i % 3 != 2).count());
    // The next hour's report has its own calls.
    until("the next hour's report", || async {
        store.make_due_hour_reports(h + 3 * HOUR_MS).await.unwrap();
        store.hour_report(h + HOUR_MS).await.unwrap().is_some()
    })
    .await;
    let next = store.hour_report(h + HOUR_MS).await.unwrap().unwrap();
    assert_eq!(next.calls as usize + recorded_in_h as usize, seen.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hours_calls_are_inspected_and_reported_within_the_next_hour() {
    for db in testing::all().await {
        eprintln!("backend: {}", db.name);
        an_hours_calls_are_reported_by_the_next_hours_end(db.store.clone()).await;
    }
}
