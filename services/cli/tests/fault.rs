//! Crash tests: the `huikuan` binary is killed with SIGKILL in the middle of
//! an import and in the middle of leasing, restarted, and the database is
//! checked for duplicate and lost rows. Runs on SQLite and, when
//! HUIKUAN_TEST_PG is set, on PostgreSQL.

use huikuan_orchestrator::{client, pb};
use huikuan_store::testing::{self, TestDb};
use sea_orm::{ConnectionTrait, Statement};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_huikuan");
const TOKEN: &str = "fault-token-0123456789";

fn huikuan(db: &TestDb, dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("DATABASE_URL", &db.url)
        .env("HUIKUAN_DATA_DIR", dir)
        .env("HUIKUAN_LOG", "warn")
        // The console on a port of its own: tests run servers side by side.
        .env("HUIKUAN_CONSOLE_LISTEN", "127.0.0.1:0")
        .env_remove("HUIKUAN_CONFIG")
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

async fn ids(db: &TestDb, sql: &str) -> Vec<String> {
    let conn = db.store.connection();
    let rows = conn
        .query_all(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

async fn count(db: &TestDb, table: &str) -> usize {
    let conn = db.store.connection();
    let sql = format!("SELECT COUNT(*) FROM {table}");
    let row = conn
        .query_one(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap() as usize
}

/// Every key in the tables an import writes, sorted, for comparing two runs.
async fn snapshot(db: &TestDb) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    for (table, sql) in [
        ("accounts", "SELECT id FROM accounts"),
        // Contact ids (and campaign ids) differ between databases: each
        // database has its own secret for them. The natural keys do not.
        ("contacts", "SELECT account_id || '/' || phone FROM contacts"),
        ("debts", "SELECT id FROM debts"),
        (
            "call_attempts",
            "SELECT c.account_id || '/' || c.phone || ':' || CAST(a.seq AS TEXT) || ':' || a.status \
             FROM call_attempts a JOIN contacts c ON c.id = a.contact_id",
        ),
    ] {
        let v = ids(db, sql).await;
        let set: BTreeSet<String> = v.iter().cloned().collect();
        assert_eq!(set.len(), v.len(), "{}: duplicate ids in {table}", db.name);
        out.push((table.to_string(), set));
    }
    out
}

fn kill(child: &mut Child) {
    // Child::kill sends SIGKILL on Unix: no destructor, no flush, no commit.
    child.kill().expect("SIGKILL");
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_import_resumes_without_duplicates_or_losses() {
    // HUIKUAN_FAULT_ROWS=1000000 runs the full-size version (see
    // docs/benchmarks.md); the suite uses a size that still spans 30 batches.
    let rows: u64 = std::env::var("HUIKUAN_FAULT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    const BATCH: usize = 1_000;
    let kill_after = (3 * BATCH).max(rows as usize / 3);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portfolio.csv");
    let mut buf = Vec::new();
    huikuan_core::synthetic::write_csv(&mut buf, rows, 7, "KILL").unwrap();
    std::fs::write(&file, &buf).unwrap();

    for db in testing::all().await {
        eprintln!("backend: {}", db.name);
        // Reference: the same file imported without interruption.
        let reference = match db.name {
            "sqlite" => testing::sqlite().await,
            _ => testing::postgres().await.unwrap(),
        };
        let status = huikuan(&reference, dir.path())
            .args(["import", "--quiet", "--campaign", "c1"])
            .arg(&file)
            .status()
            .unwrap();
        assert!(status.success());
        let expected = snapshot(&reference).await;
        assert_eq!(expected[0].1.len(), rows as usize);

        let mut child = huikuan(&db, dir.path())
            .args(["import", "--quiet", "--campaign", "c1", "--batch-rows"])
            .arg(BATCH.to_string())
            .arg(&file)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Kill it once some batches are in, long before the end.
        let mut seen = 0;
        for _ in 0..200_000 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            seen = count(&db, "accounts").await;
            if seen >= kill_after {
                break;
            }
            if let Some(st) = child.try_wait().unwrap() {
                panic!("import finished ({st}) before it could be killed");
            }
        }
        kill(&mut child);
        let after_kill = count(&db, "accounts").await;
        assert!(
            after_kill >= seen && after_kill < rows as usize,
            "{after_kill}"
        );
        // Whole batches only: every committed account has its debt and attempt.
        assert_eq!(after_kill % BATCH, 0, "half a batch is visible");
        // The killed run is on record as interrupted with exactly the rows
        // it kept (the reference run in its own database).
        let listed = huikuan(&db, dir.path())
            .args(["import", "runs"])
            .output()
            .unwrap();
        assert!(listed.status.success());
        let listed = String::from_utf8_lossy(&listed.stdout).to_string();
        let killed: Vec<&str> = listed.lines().nth(1).unwrap().split('\t').collect();
        assert_eq!(
            (killed[2], killed[3]),
            ("interrupted", after_kill.to_string().as_str()),
            "{listed}"
        );
        assert_eq!(count(&db, "debts").await, after_kill);
        let partial = snapshot(&db).await;
        for ((table, got), (_, want)) in partial.iter().zip(&expected) {
            assert!(got.is_subset(want), "{table}: rows not in the file");
        }

        // Run the same import again to the end.
        let status = huikuan(&db, dir.path())
            .args(["import", "--quiet", "--campaign", "c1"])
            .arg(&file)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let resumed = snapshot(&db).await;
        for ((table, got), (_, want)) in resumed.iter().zip(&expected) {
            assert_eq!(got.len(), want.len(), "{}: {table} count", db.name);
            assert_eq!(got, want, "{}: {table} ids", db.name);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(db: &TestDb, dir: &Path, port: u16) -> Child {
    huikuan(db, dir)
        .arg("serve")
        .env("HUIKUAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("HUIKUAN_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// What one worker saw: leases granted and outcomes the server acknowledged.
#[derive(Default)]
struct WorkerLog {
    granted: Vec<(String, i64)>,
    acked: Vec<(String, String)>,
}

async fn worker(endpoint: String, n: usize, stop: tokio::sync::watch::Receiver<bool>) -> WorkerLog {
    let mut log = WorkerLog::default();
    let worker_id = format!("w{n}");
    let mut conn = None;
    let mut idle_rounds = 0;
    while !*stop.borrow() {
        let c = match &mut conn {
            Some(c) => c,
            None => match client::connect(&endpoint, TOKEN).await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let leases = match c
            .lease_calls(pb::LeaseCallsRequest {
                worker_id: worker_id.clone(),
                max_calls: 5,
                lease_seconds: 2,
                agent_calls: false,
            })
            .await
        {
            Ok(r) => r.into_inner().leases,
            Err(_) => {
                conn = None;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if leases.is_empty() {
            idle_rounds += 1;
            // Leases held by the killed server come back after expiry.
            tokio::time::sleep(Duration::from_millis(200)).await;
            if idle_rounds > 100 {
                break;
            }
            continue;
        }
        idle_rounds = 0;
        for l in leases {
            log.granted.push((l.attempt_id.clone(), l.lease_token));
            let disposition = if l.attempt_id.as_bytes()[0] % 2 == 0 {
                "refused"
            } else {
                "paid"
            };
            let req = pb::ReportOutcomeRequest {
                attempt_id: l.attempt_id.clone(),
                lease_token: l.lease_token,
                worker_id: worker_id.clone(),
                disposition: disposition.into(),
                duration_ms: 1_000,
                ..Default::default()
            };
            match c.report_outcome(req).await {
                Ok(_) => log.acked.push((l.attempt_id, disposition.to_string())),
                // Server gone mid-report, or the lease was lost with it:
                // the attempt comes back after expiry.
                Err(_) => {
                    conn = None;
                    break;
                }
            }
        }
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_during_leasing_loses_and_duplicates_nothing() {
    const ACCOUNTS: u64 = 600;
    const WORKERS: usize = 8;
    for db in testing::all().await {
        eprintln!("backend: {}", db.name);
        let dir = tempfile::tempdir().unwrap();
        // Calls are due at any hour, so the test does not depend on the clock.
        std::fs::write(
            dir.path().join("huikuan.toml"),
            "[dispatch]\nwindow_start = \"00:00\"\nwindow_end = \"24:00\"\ndaily_cap = 100\n",
        )
        .unwrap();
        let file = dir.path().join("p.csv");
        let mut buf = Vec::new();
        huikuan_core::synthetic::write_csv(&mut buf, ACCOUNTS, 3, "LEASE").unwrap();
        std::fs::write(&file, &buf).unwrap();
        let status = huikuan(&db, dir.path())
            .args(["import", "--quiet", "--campaign", "lease"])
            .arg(&file)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        // Released for dialling at once, as an approved plan releases them.
        let campaign = db.store.find_campaign("lease").await.unwrap();
        testing::release_queued(&db.store, &campaign.id, chrono::Utc::now()).await;
        let queued: HashSet<String> =
            ids(&db, "SELECT id FROM call_attempts WHERE status = 'queued'")
                .await
                .into_iter()
                .collect();
        assert!(queued.len() >= ACCOUNTS as usize / 2);

        let port = free_port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut server = start_server(&db, dir.path(), port);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let tasks: Vec<_> = (0..WORKERS)
            .map(|n| tokio::spawn(worker(endpoint.clone(), n, stop_rx.clone())))
            .collect();

        // Kill the server once about a third of the queue is done.
        let done_sql = "SELECT id FROM call_attempts WHERE status = 'completed'";
        for _ in 0..6_000 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if ids(&db, done_sql).await.len() >= queued.len() / 3 {
                break;
            }
        }
        kill(&mut server);
        let at_kill = ids(&db, done_sql).await.len();
        assert!(
            at_kill < queued.len(),
            "everything was done before the kill"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut server = start_server(&db, dir.path(), port);

        // Until every queued attempt is completed (leases from the killed
        // server expire after 2 s and are handed out again).
        for _ in 0..12_000 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let done = ids(&db, done_sql).await.len();
            if done >= queued.len() {
                break;
            }
        }
        stop_tx.send(true).unwrap();
        let mut logs = Vec::new();
        for t in tasks {
            logs.push(t.await.unwrap());
        }
        kill(&mut server);

        // Nothing lost: every attempt that was queued is completed, none is
        // left leased or queued, and no attempt appeared from nowhere.
        let completed: HashSet<String> = ids(&db, done_sql).await.into_iter().collect();
        assert_eq!(completed, queued, "{}: completed != queued", db.name);
        let all_attempts = count(&db, "call_attempts").await;
        let leased = ids(&db, "SELECT id FROM call_attempts WHERE status = 'leased'").await;
        assert!(leased.is_empty(), "{}: still leased: {leased:?}", db.name);

        // Nothing duplicated: each attempt was acknowledged to exactly one
        // worker, and the stored outcome is the acknowledged one.
        let mut acked: HashMap<String, String> = HashMap::new();
        for log in &logs {
            for (id, disp) in &log.acked {
                assert!(
                    acked.insert(id.clone(), disp.clone()).is_none(),
                    "{}: {id} acknowledged twice",
                    db.name
                );
            }
        }
        let conn = db.store.connection();
        let rows = conn
            .query_all(Statement::from_string(
                conn.get_database_backend(),
                "SELECT id, disposition FROM call_attempts WHERE status = 'completed'",
            ))
            .await
            .unwrap();
        for r in rows {
            let id: String = r.try_get_by_index(0).unwrap();
            let disp: String = r.try_get_by_index(1).unwrap();
            if let Some(want) = acked.get(&id) {
                assert_eq!(&disp, want, "{}: {id} outcome", db.name);
            }
        }
        // A lease token is never granted for one attempt twice.
        let mut tokens = HashSet::new();
        for log in &logs {
            for g in &log.granted {
                assert!(tokens.insert(g.clone()), "{}: lease {g:?} twice", db.name);
            }
        }
        eprintln!(
            "{}: {} attempts, {} completed before the kill, {} acknowledged, {} total rows",
            db.name,
            queued.len(),
            at_kill,
            acked.len(),
            all_attempts
        );
    }
}

/// `huikuan` with its SQLite database in `data` (no DATABASE_URL), started
/// by a shell with a permissive umask.
fn huikuan_in(data: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "umask 022 && exec \"$0\" \"$@\"", BIN])
        .env("HUIKUAN_DATA_DIR", data)
        .env("HUIKUAN_LOG", "warn")
        .env("HUIKUAN_TOKEN", TOKEN)
        .env("HUIKUAN_CONSOLE_LISTEN", "127.0.0.1:0")
        .env_remove("DATABASE_URL")
        .env_remove("HUIKUAN_CONFIG")
        .current_dir(data.parent().unwrap())
        .stdin(Stdio::null());
    cmd
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Waits until something accepts connections on `port`, or `child` exits.
async fn listening(port: u16, child: &mut Child) {
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("the server exited ({st}) before listening");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The data directory and everything in it are private to their owner
/// whatever the umask, an existing database others can read is reported,
/// and a second server on the same directory exits naming the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_is_private_and_served_by_one_server() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let out = huikuan_in(&data)
        .args(["campaign", "create", "private"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&data), 0o700);
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }

    let port = free_port();
    let mut first = huikuan_in(&data)
        .env("HUIKUAN_LISTEN", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    listening(port, &mut first).await;
    let second = huikuan_in(&data)
        .env("HUIKUAN_LISTEN", format!("127.0.0.1:{}", free_port()))
        .arg("serve")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{said}");
    assert!(
        said.contains("in use by another huikuan serve")
            && said.contains(&format!("pid {}", first.id())),
        "{said}"
    );
    kill(&mut first);

    // A database made readable by others is reported at the next start.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            data.join("huikuan.db"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    let log = tmp.path().join("serve.log");
    let port = free_port();
    let mut again = huikuan_in(&data)
        .env("HUIKUAN_LISTEN", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    listening(port, &mut again).await;
    kill(&mut again);
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("database can be read by other users"),
        "{said}"
    );
}
