//! Throw-away databases for tests: a SQLite file in a temporary directory
//! always, and a fresh PostgreSQL database per test when `HUIKUAN_TEST_PG`
//! names a server (e.g. `postgres://postgres@127.0.0.1:5432/test`).

use crate::Store;
use sea_orm::{ConnectionTrait, Database};

/// A store plus what keeps it alive; dropped at the end of a test.
pub struct TestDb {
    pub name: &'static str,
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = crate::sqlite_url_for_dir(dir.path()).expect("data dir");
    let store = Store::connect(&url).await.expect("sqlite store");
    TestDb {
        name: "sqlite",
        store,
        url,
        _dir: Some(dir),
    }
}

/// A new, empty PostgreSQL database, or `None` when `HUIKUAN_TEST_PG` is unset.
pub async fn postgres() -> Option<TestDb> {
    let url = empty_postgres_url().await?;
    let store = Store::connect(&url).await.expect("postgres store");
    Some(TestDb {
        name: "postgres",
        store,
        url,
        _dir: None,
    })
}

/// The URL of a new PostgreSQL database with nothing in it (not even the
/// schema), or `None` when `HUIKUAN_TEST_PG` is unset.
pub async fn empty_postgres_url() -> Option<String> {
    let admin_url = std::env::var("HUIKUAN_TEST_PG")
        .ok()
        .filter(|s| !s.is_empty())?;
    let admin = Database::connect(&admin_url)
        .await
        .expect("HUIKUAN_TEST_PG must name a reachable PostgreSQL");
    let db_name = format!("huikuan_t_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {db_name}"))
        .await
        .expect("create test database");
    let _ = admin.close().await;
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (admin_url.clone(), String::new()),
    };
    let root = base
        .rsplit_once('/')
        .map(|(r, _)| r.to_string())
        .unwrap_or(base);
    Some(format!("{root}/{db_name}{query}"))
}

/// Every backend this run can test: SQLite, and PostgreSQL when configured.
pub async fn all() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    dbs.extend(postgres().await);
    dbs
}

/// Releases every queued, unreleased attempt of `campaign_id` for
/// dialling from `at` (or its own due time, if later), as a plan
/// approved by "test" does (`Store::release_queued`). For tests of the
/// queue itself; plans with reasons are the planner's.
pub async fn release_queued(store: &Store, campaign_id: &str, at: chrono::DateTime<chrono::Utc>) {
    store
        .release_queued(
            campaign_id,
            at,
            crate::plans::lifecycle::Change {
                who: "test",
                why: "a test releases its queue",
                remote: "test",
            },
        )
        .await
        .expect("release the queue");
}

/// Imports `n` synthetic accounts into `campaign` and leases their first
/// calls at `lease_at` (inside their calling window; the leases last a
/// week).
pub async fn leased_calls(
    store: &Store,
    campaign: &str,
    n: u64,
    lease_at: chrono::DateTime<chrono::Utc>,
) -> Vec<crate::Lease> {
    use huikuan_core::portfolio::{read_raw, Format};
    let c = store.ensure_campaign(campaign).await.expect("campaign");
    let mut csv = Vec::new();
    huikuan_core::synthetic::write_csv(&mut csv, n, 7, &campaign.to_uppercase()).expect("csv");
    let mut imp =
        crate::import::Importer::start(store, &c.id, "test.csv", None, lease_at.date_naive())
            .await
            .expect("import");
    for item in read_raw(std::io::Cursor::new(csv), Format::Csv).expect("rows") {
        let (line, raw) = item.expect("row");
        imp.push(line, raw).await.expect("push");
    }
    imp.finish().await.expect("import finished");
    release_queued(store, &c.id, lease_at).await;
    store
        .lease_calls(
            "test",
            n as u32,
            std::time::Duration::from_secs(7 * 86_400),
            lease_at,
            &test_policy(),
        )
        .await
        .expect("lease")
}

fn test_policy() -> crate::dispatch::DispatchPolicy {
    crate::dispatch::DispatchPolicy {
        retry_after: std::time::Duration::ZERO,
        ..Default::default()
    }
}

/// Reports a leased call answered and refused at `ended_at`, with its
/// recording if it has one.
pub async fn report_recorded(
    store: &Store,
    lease: &crate::Lease,
    ended_at: chrono::DateTime<chrono::Utc>,
    recording: Option<String>,
) {
    let report = crate::OutcomeReport {
        attempt_id: lease.attempt_id.clone(),
        lease_token: lease.lease_token,
        worker_id: "test".into(),
        disposition: huikuan_core::Disposition::Refused,
        note: None,
        duration_ms: 30_000,
        promise: None,
        settles_balance: false,
        callback_at: None,
        recording_path: recording,
        call: None,
    };
    store
        .report_outcome(&report, ended_at, &test_policy())
        .await
        .expect("report");
}
