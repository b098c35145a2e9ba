//! End to end, as deployed: `huikuan serve` (orchestrator on SQLite),
//! `huikuan sim` (debtor personas on a SIP port) and `huikuan dialer` (the
//! worker calling them through the SIP trunk with the real speech models).
//! A small campaign: the promise is stored exactly, busy and wrong party
//! end as such (the wrong party heard no debt), the request for a person
//! is handed off, and every answered call has a playable recording and a
//! call record (transcript, timeline, figures) stored with its attempt.
//! And a handed-over call taken by an agent in Chromium: screen pop,
//! WebRTC audio both ways, the live transcript, and the wrap-up's promise
//! stored exactly.

mod common;

use common::{free_port, free_udp_port, repo, Killed};
use huikuan_core::Dialect;
use huikuan_store::testing;
use sea_orm::{ConnectionTrait, Statement};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_huikuan");

/// The tests here each run a whole system with live calls on two cores:
/// one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn huikuan(dir: &Path, db_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("DATABASE_URL", db_url)
        .env("HUIKUAN_DATA_DIR", dir)
        .env("HUIKUAN_CONFIG", dir.join("huikuan.toml"))
        .env("HUIKUAN_LOG", "warn")
        // The console on a port of its own: tests run servers side by side.
        .env("HUIKUAN_CONSOLE_LISTEN", "127.0.0.1:0")
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

/// Writes `rows` (portfolio CSV rows, no header) to DIR/portfolio.csv with
/// the debtors in a time zone where it is now early afternoon, imports
/// them into `campaign`, and plans and approves the campaign's day there
/// with `huikuan plan`: only an approved plan's calls are dialled. Returns
/// the debtors' time zone and day.
fn import_and_plan(
    dir: &Path,
    db_url: &str,
    campaign: &str,
    rows: &str,
) -> (chrono_tz::Tz, chrono::NaiveDate) {
    import_and_plan_as(dir, db_url, campaign, rows, true)
}

/// The same, leaving the plan a draft unless `approve`.
fn import_and_plan_as(
    dir: &Path,
    db_url: &str,
    campaign: &str,
    rows: &str,
    approve: bool,
) -> (chrono_tz::Tz, chrono::NaiveDate) {
    let (zone, today) = common::daytime_zone();
    let csv = format!(
        "{}\n{}",
        huikuan_core::synthetic::CSV_HEADER,
        common::in_zone(rows, &zone)
    );
    std::fs::write(dir.join("portfolio.csv"), csv).unwrap();
    run_ok(
        dir,
        db_url,
        &["import", "portfolio.csv", "--campaign", campaign],
    );
    let date = today.to_string();
    let mut args = vec![
        "plan",
        "--campaign",
        campaign,
        "--date",
        &date,
        "--by",
        "e2e",
    ];
    if approve {
        args.push("--approve");
    }
    let out = huikuan(dir, db_url).args(&args).output().unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && printed.contains("approved by e2e") == approve,
        "huikuan plan: {printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Rows whose number is on the do-not-call list (their fourth field)
    // are left off.
    let planned = rows
        .lines()
        .filter(|l| l.split(',').nth(3) == Some(""))
        .count();
    assert!(
        printed.contains(&format!("{planned} calls planned")),
        "every account planned: {printed}"
    );
    (zone.parse().unwrap(), today)
}

/// Runs a `huikuan` command to its end and checks that it succeeded.
fn run_ok(dir: &Path, db_url: &str, args: &[&str]) {
    let out = huikuan(dir, db_url).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "huikuan {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config(grpc: u16, sip: u16, lease_seconds: u32) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:{grpc}"
token = "e2e-token-0123456789"

[dispatch]
window_start = "00:00"
window_end = "24:00"

# Whatever day the test runs on.
[planning.rules]
skip_holidays = false

[dialer]
orchestrator = "http://127.0.0.1:{grpc}"
max_calls = 4
lease_seconds = {lease_seconds}
platform = "易贷"

# Test builds are unoptimised and the simulator's ears share two cores with
# the robot's: give the simulated debtors time to answer.
[dialer.robot]
silence_timeout_ms = 12000

[dialer.trunk]
name = "sim"
proxy = "127.0.0.1:{sip}"
caller_id = "4008001234"
ring_timeout_secs = 5
"#
    )
}

async fn rows(db: &testing::TestDb, sql: &str) -> Vec<(String, String, i64)> {
    let conn = db.store.connection();
    conn.query_all(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
                r.try_get_by_index(2).unwrap(),
            )
        })
        .collect()
}

/// A dialer killed (SIGKILL) mid-call: the outcome it already reported
/// stays as it was, the call it was on returns to the queue when its lease
/// expires, and the next dialer completes it; nothing is left leased.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_dialer_loses_no_outcome_and_leaves_nothing_stuck() {
    let _one = ONE_AT_A_TIME.lock().await;
    let db = testing::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (grpc, sip) = (free_port(), free_udp_port());
    std::fs::write(dir.path().join("huikuan.toml"), config(grpc, sip, 600)).unwrap();
    std::fs::write(dir.path().join("short-lease.toml"), config(grpc, sip, 12)).unwrap();
    let (_, today) = import_and_plan(
        dir.path(),
        &db.url,
        "crash",
        // The answered call is the wrong party's, the shortest there is:
        // what is tested is the lease, not the conversation.
        "K-BUSY,张伟,13800000003,,mandarin,北京,北京,,,消费贷,5000.00,3250.50,2026-10-20,35\n\
         K-ANSWERED,张伟,13800000002,,sichuanese,四川,成都,,,消费贷,5000.00,3250.50,2026-10-20,35\n",
    );
    let _server = Killed(huikuan(dir.path(), &db.url).arg("serve").spawn().unwrap());
    let _sim = simulator(dir.path(), &db.url, sip, None, today);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = "SELECT account_id, status, lease_token FROM call_attempts WHERE disposition IS NOT NULL OR status = 'leased' ORDER BY account_id";
    let mut first = Killed(
        huikuan(dir.path(), &db.url)
            .env("HUIKUAN_CONFIG", dir.path().join("short-lease.toml"))
            .arg("dialer")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Wait until the busy call is reported and the other call is under way.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let before = loop {
        let r = rows(&db, state).await;
        let busy_done = r.iter().any(|(a, s, _)| a == "K-BUSY" && s == "completed");
        let answered_on = r.iter().any(|(a, s, _)| a == "K-ANSWERED" && s == "leased");
        if busy_done && answered_on {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "calls did not start: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    first.0.kill().unwrap(); // SIGKILL, mid-call
    let _ = first.0.wait();

    // The lease (12 s) expires and the sweeper puts the attempt back.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = rows(&db, "SELECT account_id, status, lease_token FROM call_attempts WHERE account_id = 'K-ANSWERED'").await;
        if r.iter().all(|(_, s, _)| s == "queued") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the killed dialer's lease never expired: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let status = huikuan(dir.path(), &db.url)
        .args(["dialer", "--idle-exit-secs", "3"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let after = rows(&db, "SELECT account_id, status, lease_token FROM call_attempts WHERE status <> 'queued' ORDER BY account_id").await;
    // The busy outcome reported before the crash is untouched.
    let busy_before = before.iter().find(|(a, _, _)| a == "K-BUSY").unwrap();
    assert!(
        after.contains(busy_before),
        "{after:?} lost {busy_before:?}"
    );
    // The interrupted call was made again and completed, once.
    let answered: Vec<_> = after.iter().filter(|(a, _, _)| a == "K-ANSWERED").collect();
    assert_eq!(answered.len(), 1, "{after:?}");
    assert_eq!(answered[0].1, "completed");
    assert!(after.iter().all(|(_, s, _)| s != "leased"), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_campaign_against_simulated_debtors() {
    let _one = ONE_AT_A_TIME.lock().await;
    let db = testing::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let grpc = free_port();
    let sip = free_udp_port();
    std::fs::write(dir.path().join("huikuan.toml"), config(grpc, sip, 600)).unwrap();
    let (_, today) = import_and_plan(
        dir.path(),
        &db.url,
        "e2e",
        "E2E-PROMISE,张伟,13800000001,,mandarin,北京,北京,,,消费贷,5000.00,3250.50,2026-10-20,35\n\
         E2E-WRONG,张伟,13800000002,,sichuanese,四川,成都,,,消费贷,5000.00,3250.50,2026-10-20,35\n\
         E2E-BUSY,张伟,13800000003,,mandarin,北京,北京,,,消费贷,5000.00,3250.50,2026-10-20,35\n\
         E2E-HUMAN,张伟,13800000007,,cantonese,广东,广州,,,消费贷,5000.00,3250.50,2026-10-20,35\n",
    );

    // This campaign's calls present its own number, not the trunk's.
    run_ok(
        dir.path(),
        &db.url,
        &["campaign", "caller-id", "e2e", "95188"],
    );

    // The server and the dialer log at their default level into files,
    // checked afterwards for debtors' numbers and names.
    let log = |name: &str| std::fs::File::create(dir.path().join(name)).unwrap();
    let _server = Killed(
        huikuan(dir.path(), &db.url)
            .env_remove("HUIKUAN_LOG")
            .stderr(log("serve.log"))
            .arg("serve")
            .spawn()
            .unwrap(),
    );
    let sim_out = dir.path().join("sim");
    let _sim = simulator(dir.path(), &db.url, sip, Some(&sim_out), today);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut dialer = huikuan(dir.path(), &db.url)
        .env_remove("HUIKUAN_LOG")
        .stderr(log("dialer.log"))
        .args(["dialer", "--idle-exit-secs", "3"])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(900);
    let status = loop {
        if let Some(s) = dialer.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dialer still running after 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(status.success(), "dialer exit {status}");

    let conn = db.store.connection();
    let rows = conn
        .query_all(Statement::from_string(
            conn.get_database_backend(),
            "SELECT account_id, disposition, promise_date, promise_fen, recording_path, call_record \
             FROM call_attempts WHERE status = 'completed' ORDER BY account_id",
        ))
        .await
        .unwrap();
    let mut seen = std::collections::HashMap::new();
    for r in &rows {
        let account: String = r.try_get_by_index(0).unwrap();
        let disposition: String = r.try_get_by_index(1).unwrap();
        let promise_date: Option<String> = r.try_get_by_index(2).unwrap();
        let promise_fen: Option<i64> = r.try_get_by_index(3).unwrap();
        let recording: Option<String> = r.try_get_by_index(4).unwrap();
        let call: Option<String> = r.try_get_by_index(5).unwrap();
        let call: huikuan_core::call::CallRecord =
            serde_json::from_str(&call.expect("a call record")).unwrap();
        eprintln!(
            "{account}: {disposition} {promise_date:?} {promise_fen:?} {recording:?}\n{}",
            call.transcript_text()
        );
        assert_eq!(call.disposition.as_str(), disposition);
        assert_eq!(call.recording, recording);
        if disposition != "busy" {
            let name = recording.expect("answered calls are recorded");
            assert!(
                !name.contains("13800000") && !name.contains(&account),
                "a recording named after its call: {name}"
            );
            let wav = hound::WavReader::open(dir.path().join("recordings").join(&name))
                .expect("a playable recording");
            assert_eq!(wav.spec().channels, 2);
            assert!(call.answered(), "a transcript");
            assert!(call.figures.media.is_some_and(|m| m.received > 0));
        }
        seen.insert(account, (disposition, promise_date, promise_fen));
    }
    // The date the debtor named, resolved in their time zone today.
    let personas =
        huikuan_dialer::sim::PersonaSet::load_dir(&repo().join("tests/data/personas")).unwrap();
    let promise_line = &personas.for_number("13800000001").unwrap().turns[1].say;
    let said =
        huikuan_dialogue::nlu::Nlu::builtin().understand(promise_line, Dialect::Mandarin, today);
    let want_date = said.date.unwrap().to_string();
    // The debtor says 3,500, more than the 3,250.50 overdue: the robot
    // reads back and records a promise of all of it (the server would
    // refuse a promise above the debt).
    assert_eq!(said.amount_hundredths, Some(350_000));
    assert_eq!(
        seen.get("E2E-PROMISE"),
        Some(&("promise_to_pay".to_string(), Some(want_date), Some(325_050)))
    );
    assert_eq!(
        seen.get("E2E-WRONG").map(|s| s.0.as_str()),
        Some("wrong_party")
    );
    assert_eq!(seen.get("E2E-BUSY").map(|s| s.0.as_str()), Some("busy"));
    // The debtor asked for a person; no agent who speaks Cantonese is
    // on the console's floor, so the call is given back at once and the
    // robot promises a callback.
    assert_eq!(
        seen.get("E2E-HUMAN").map(|s| s.0.as_str()),
        Some("callback_requested")
    );

    // What the wrong party's phone heard: no debt.
    let mut wrong_heard = None;
    for entry in std::fs::read_dir(&sim_out).unwrap() {
        let path = entry.unwrap().path();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            v["caller"], "95188",
            "caller id presented to {}",
            v["number"]
        );
        if v["number"]
            .as_str()
            .is_some_and(|n| n.ends_with("13800000002"))
        {
            wrong_heard = Some(v["heard"].to_string());
        }
    }
    let heard = wrong_heard.expect("the simulator's record of the wrong-party call");
    for secret in ["逾期", "消费贷", "3250", "三千二"] {
        assert!(
            !heard.contains(secret),
            "the wrong party heard '{secret}': {heard}"
        );
    }

    // At the default log level no line names a debtor or their number
    // (masked ones are fine: 138****0001).
    for name in ["serve.log", "dialer.log"] {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(text.lines().count() > 3, "{name} is nearly empty:\n{text}");
        for secret in [
            "13800000001",
            "13800000002",
            "13800000003",
            "13800000007",
            "张伟",
        ] {
            assert!(!text.contains(secret), "{name} shows '{secret}':\n{text}");
        }
    }
}

/// `huikuan serve` with its console on port `web` (logging into
/// DIR/serve.log, listening when this returns) and the simulated debtors'
/// phones on SIP port `sip` (their records in DIR/sim).
fn serve_with_console(
    dir: &Path,
    db_url: &str,
    web: u16,
    sip: u16,
    today: chrono::NaiveDate,
) -> (Killed, Killed) {
    let mut server = huikuan(dir, db_url)
        .env("HUIKUAN_CONSOLE_LISTEN", format!("127.0.0.1:{web}"))
        .env_remove("HUIKUAN_LOG")
        .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
        .arg("serve")
        .spawn()
        .unwrap();
    common::wait_listening(web, &mut server);
    let server = Killed(server);
    let sim = simulator(dir, db_url, sip, Some(&dir.join("sim")), today);
    (server, sim)
}

/// `huikuan sim` with the test personas on SIP port `sip`, writing its
/// records into `out`; the debtors' relative dates (下周三) mean what they
/// mean on `today`, the day the calls were planned for.
fn simulator(
    dir: &Path,
    db_url: &str,
    sip: u16,
    out: Option<&Path>,
    today: chrono::NaiveDate,
) -> Killed {
    let mut sim = huikuan(dir, db_url);
    sim.args(["sim", "--listen", &format!("127.0.0.1:{sip}")])
        .arg("--personas")
        .arg(repo().join("tests/data/personas"))
        .args(["--today", &today.to_string()])
        .stdout(Stdio::null());
    if let Some(out) = out {
        sim.arg("--out").arg(out);
    }
    Killed(sim.spawn().unwrap())
}

/// Runs a browser script until it prints `ready`, then a dialer, and
/// waits for both to end (the dialer when it has had nothing to do for
/// 3 s); the script's results.
async fn browser_then_dialer(
    dir: &Path,
    db_url: &str,
    script: &str,
    config: &serde_json::Value,
    ready: &str,
) -> serde_json::Value {
    let browser = tokio::task::block_in_place(|| {
        let mut b = common::BrowserScript::start(script, dir, config);
        b.wait_for_line(ready, Duration::from_secs(180));
        b
    });
    let mut dialer = huikuan(dir, db_url)
        .env_remove("HUIKUAN_LOG")
        .stderr(std::fs::File::create(dir.join("dialer.log")).unwrap())
        .args(["dialer", "--idle-exit-secs", "3"])
        .spawn()
        .unwrap();
    let page = tokio::task::block_in_place(move || browser.results(Duration::from_secs(900)));
    eprintln!("{page:#}");
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(s) = dialer.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the dialer did not finish after the browser"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(status.success(), "dialer exit {status}");
    page
}

/// The console's part of the configuration for the agent's call: rings
/// and waits long enough for a busy machine (the test waits for events).
const CONSOLE: &str = r#"
[console]
ring_timeout_seconds = 120
queue_wait_seconds = 900
wrap_up_seconds = 900
"#;

/// A debtor asks the robot for a person; an agent in Chromium (logged in
/// on the console `huikuan serve` runs) gets the screen pop with the
/// transcript so far, turns auto-answer on while it rings, accepts, and
/// talks with the debtor over the standing WebRTC line the page then
/// keeps with the console: the agent's
/// recorded voice reaches the simulated debtor's recognizer, the debtor's
/// answer reaches the page (packets and level measured there) and its
/// live transcript. The agent reloads the page mid-call and is back on
/// the call with audio, joined directly to the dialer. A supervisor listens in from the floor and
/// whispers to the agent. The agent hangs up and files a promise, refused
/// first above the debt; the promise's date and amount are stored exactly,
/// the single recording covers both parts of the call, and the audit log
/// has the agent's steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_takes_over_a_live_call_in_chromium() {
    let _one = ONE_AT_A_TIME.lock().await;
    let db = testing::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (grpc, sip, web) = (free_port(), free_udp_port(), free_port());
    std::fs::write(
        dir.path().join("huikuan.toml"),
        config(grpc, sip, 600) + CONSOLE,
    )
    .unwrap();
    let (_, today) = import_and_plan(
        dir.path(),
        &db.url,
        "desk",
        "DESK-1,张伟,13800000020,,mandarin,北京,北京,,,消费贷,5000.00,3250.50,2026-10-20,35\n",
    );
    let password = "desk-test-password-0123";
    common::add_user(
        huikuan(dir.path(), &db.url),
        "wang",
        "agent",
        "mandarin",
        password,
    );
    common::add_user(
        huikuan(dir.path(), &db.url),
        "zhao",
        "supervisor",
        "mandarin",
        password,
    );
    // The agent's voice: Chromium's fake microphone plays this file in a
    // loop.
    let voice = agent_voice(
        dir.path(),
        &db.url,
        "您好张先生，我是客服王经理。请问您打算哪天还款？",
        Duration::from_secs(4),
    );

    let (_server, _sim) = serve_with_console(dir.path(), &db.url, web, sip, today);
    let sim_out = dir.path().join("sim");

    let promise_date = (today + chrono::Duration::days(7)).to_string();
    let shots = std::env::var("HUIKUAN_SCREENSHOTS").unwrap_or_default();
    let browser_config = serde_json::json!({
        "url": format!("http://127.0.0.1:{web}"),
        "agent": "wang",
        "supervisor": "zhao",
        "password": password,
        "wav": voice,
        "promise_date": promise_date,
        "promise_amount": "3000.00",
        "too_much": "3250.51",
        "call_ms": 600_000,
        "standing_line": true,
        "screenshots": shots,
    });
    // Once the agent is on the floor, the robot calls.
    let page = browser_then_dialer(
        dir.path(),
        &db.url,
        "agent_call.mjs",
        &browser_config,
        "READY",
    )
    .await;

    // The screen pop: the debt, the masked number, why, and the robot's
    // part of the call.
    let facts = page["pop_facts"].as_str().unwrap();
    for want in ["张伟", "138****0020", "3250.50", "mandarin"] {
        assert!(facts.contains(want), "screen pop without {want}: {facts}");
    }
    assert!(!facts.contains("13800000020"), "{facts}");
    let pop_lines = page["pop_transcript"].as_array().unwrap();
    let speakers: Vec<&str> = pop_lines
        .iter()
        .map(|l| l["speaker"].as_str().unwrap())
        .collect();
    assert!(
        speakers.contains(&"robot") && speakers.contains(&"debtor"),
        "{pop_lines:?}"
    );
    // In the call the agent sees the full number.
    assert!(page["call_facts"].as_str().unwrap().contains("13800000020"));
    // The debtor's audio reached the page: packets at 50 a second and a
    // voice's level, and their answer in the live transcript.
    let heard = &page["heard"];
    assert!(heard["packets"].as_u64().unwrap() >= 50, "{heard}");
    assert!(heard["peak"].as_f64().unwrap() > 0.02, "{heard}");
    assert!(heard["first_audio_ms"].as_u64().is_some(), "{heard}");
    assert_eq!(
        heard["relayed"], true,
        "auto-answer's call is heard on the standing line: {heard}"
    );
    let live = page["call_transcript"].as_array().unwrap();
    assert!(live.iter().any(|l| l["speaker"] == "debtor"), "{live:?}");
    // After a reload the page is back on the call, audio joined again.
    let again = &page["after_reload"];
    assert!(again["packets"].as_u64().unwrap() >= 50, "{again}");
    assert_eq!(again["relayed"], false, "rejoined directly: {again}");
    assert!(
        page["after_reload_transcript"].as_array().unwrap().len() >= live.len(),
        "the transcript so far comes back after a reload"
    );
    // The supervisor heard the call (masked number) and the floor showed
    // the agent's call without the debtor's name.
    let listened = &page["listen_heard"];
    assert!(listened["packets"].as_u64().unwrap() >= 50, "{listened}");
    assert!(listened["peak"].as_f64().unwrap() > 0.02, "{listened}");
    let facts = page["listen_facts"].as_str().unwrap();
    assert!(
        facts.contains("138****0020") && facts.contains("wang"),
        "{facts}"
    );
    let row = page["floor_row"].as_str().unwrap();
    assert!(row.contains("DESK-1") && !row.contains("张伟"), "{row}");
    let refused = page["too_much_error"].as_str().unwrap();
    assert!(
        refused.contains("promise_amount") && refused.contains("3250.50"),
        "{refused}"
    );

    // The agent's voice reached the debtor's phone, which answered it.
    let mut sim_record = None;
    for entry in std::fs::read_dir(&sim_out).unwrap() {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        if v["number"]
            .as_str()
            .is_some_and(|n| n.ends_with("13800000020"))
        {
            sim_record = Some(v);
        }
    }
    let sim_record = sim_record.expect("the simulator's record of the call");
    // The debtor's phone stayed up through the reload until the agent
    // hung up.
    assert_eq!(sim_record["ended_by"], "robot hung up");
    let said = sim_record["said"].to_string();
    assert!(
        said.contains("三千块"),
        "the debtor never answered the agent: {sim_record:#}"
    );

    // The agent's outcome, stored exactly, in the call's record.
    let conn = db.store.connection();
    let row = conn
        .query_one(Statement::from_string(
            conn.get_database_backend(),
            "SELECT disposition, promise_date, promise_fen, recording_path, call_record \
             FROM call_attempts WHERE account_id = 'DESK-1' AND status = 'completed'",
        ))
        .await
        .unwrap()
        .expect("the call's attempt is completed");
    let disposition: String = row.try_get_by_index(0).unwrap();
    let stored_date: Option<String> = row.try_get_by_index(1).unwrap();
    let stored_fen: Option<i64> = row.try_get_by_index(2).unwrap();
    assert_eq!(
        (disposition.as_str(), stored_date, stored_fen),
        ("promise_to_pay", Some(promise_date), Some(300_000))
    );
    let recording: String = row.try_get_by_index(3).unwrap();
    let people = conn
        .query_one(Statement::from_string(
            conn.get_database_backend(),
            "SELECT handed_over, agent_name FROM call_attempts \
             WHERE account_id = 'DESK-1' AND status = 'completed'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            people.try_get_by_index::<i16>(0).unwrap(),
            people.try_get_by_index::<Option<String>>(1).unwrap()
        ),
        (1, Some("wang".to_string())),
        "the dashboard counts this call as handed over and taken"
    );
    let call: String = row.try_get_by_index(4).unwrap();
    let call: huikuan_core::call::CallRecord = serde_json::from_str(&call).unwrap();
    eprintln!("{}", call.transcript_text());
    use huikuan_core::call::{Event, Party, Speaker};
    let joined = call
        .timeline
        .iter()
        .find_map(|e| match &e.event {
            Event::AgentJoined { agent } => Some((e.at_ms, agent.clone())),
            _ => None,
        })
        .expect("the agent joined");
    assert_eq!(joined.1, "wang");
    // Audio both ways at once, and again after the reload.
    let at = |want: fn(&Event) -> bool| -> Vec<u64> {
        call.timeline
            .iter()
            .filter(|e| want(&e.event))
            .map(|e| e.at_ms)
            .collect()
    };
    let audio = at(|e| matches!(e, Event::AgentAudio));
    let asked = at(|e| matches!(e, Event::HandoffRequested { .. }));
    assert!(audio.len() >= 2, "{:?}", call.timeline);
    // The supervisor listened in, and their whisper reached the agent.
    for want in [
        Event::ListenIn {
            supervisor: "zhao".into(),
        },
        Event::Whisper {
            supervisor: "zhao".into(),
        },
    ] {
        assert!(
            call.timeline.iter().any(|e| e.event == want),
            "no {want:?} in {:?}",
            call.timeline
        );
    }
    eprintln!(
        "handoff asked at {} ms, agent joined at {} ms, audio both ways at {audio:?} ms",
        asked[0], joined.0
    );
    assert!(call
        .legs
        .iter()
        .any(|l| l.party == Party::Agent && l.who.as_deref() == Some("wang")));
    for who in [Speaker::Agent, Speaker::Debtor] {
        assert!(
            call.transcript
                .iter()
                .any(|l| l.speaker == who && l.at_ms >= joined.0),
            "no {who:?} line after the agent joined"
        );
    }
    let outcome = call.outcome.as_ref().unwrap();
    assert!(outcome.summary.contains("wang"), "{}", outcome.summary);
    // One recording, both parts of the call.
    let wav = hound::WavReader::open(dir.path().join("recordings").join(&recording)).unwrap();
    let recorded_ms = u64::from(wav.duration()) * 1000 / u64::from(wav.spec().sample_rate);
    assert_eq!(wav.spec().channels, 2);
    assert!(
        recorded_ms > joined.0 + 2000,
        "{recorded_ms} ms recorded, agent joined at {}",
        joined.0
    );

    // What the audit log has of the agent's call.
    let entries = db
        .store
        .audit_entries(&huikuan_store::AuditFilter {
            actor: Some("wang".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e.detail.as_str()))
        .filter(|(a, _)| ["screen_pop", "accept_call", "hangup_call", "disposition"].contains(a))
        .collect();
    assert_eq!(
        actions.iter().map(|a| a.0).collect::<Vec<_>>(),
        ["screen_pop", "accept_call", "hangup_call", "disposition"],
        "{actions:?}"
    );
    assert_eq!(
        actions[3].1,
        format!(
            "promise_to_pay {} 3000.00",
            browser_config["promise_date"].as_str().unwrap()
        )
    );
    let zhao: Vec<String> = db
        .store
        .audit_entries(&huikuan_store::AuditFilter {
            actor: Some("zhao".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .rev()
        .filter(|e| e.action == "listen_in")
        .map(|e| format!("{} {}", e.subject, e.detail))
        .collect();
    assert_eq!(zhao.len(), 2, "{zhao:?}");
    assert!(
        zhao[0].starts_with("DESK-1 call ") && zhao[0].ends_with("agent wang"),
        "{zhao:?}"
    );
    assert!(zhao[1].ends_with("whisper on"), "{zhao:?}");
}

/// An agent's voice saying `words` (DIR/agent-voice.wav, 48 kHz), with
/// `pause` of silence after them so that they end a turn when played in a
/// loop.
fn agent_voice(dir: &Path, db_url: &str, words: &str, pause: Duration) -> std::path::PathBuf {
    let voice = dir.join("agent-voice.wav");
    run_ok(
        dir,
        db_url,
        &[
            "tts",
            words,
            "--rate",
            "48000",
            "--out",
            voice.to_str().unwrap(),
        ],
    );
    pad_with_silence(&voice, pause);
    voice
}

/// Appends `pause` of silence to a 16-bit mono WAV file.
fn pad_with_silence(path: &Path, pause: Duration) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let mut samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let rate = u64::from(spec.sample_rate);
    samples.extend(std::iter::repeat_n(
        0,
        (rate * pause.as_millis() as u64 / 1000) as usize,
    ));
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// A collection manager in Chromium reviews the day's draft plan the
/// planner made (its chart and reasons), excludes one account saying why,
/// approves the plan, and watches the live dashboard count the robot's
/// calls to the simulated debtors. The excluded account is never dialled,
/// the others are, and the audit log has the manager's changes with
/// their reasons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_approves_the_days_plan_and_watches_it_run_in_chromium() {
    let _one = ONE_AT_A_TIME.lock().await;
    let db = testing::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (grpc, sip, web) = (free_port(), free_udp_port(), free_port());
    std::fs::write(
        dir.path().join("huikuan.toml"),
        config(grpc, sip, 600) + CONSOLE,
    )
    .unwrap();
    let (_, today) = import_and_plan_as(
        dir.path(),
        &db.url,
        "morning",
        "MGR-PROMISE,张伟,13800000001,,mandarin,北京,北京,,,消费贷,5000.00,3250.50,2026-10-20,35\n\
         MGR-WRONG,张伟,13800000002,,sichuanese,四川,成都,,,消费贷,5000.00,3250.50,2026-10-20,35\n\
         MGR-EXCLUDED,张伟,13800000003,,mandarin,北京,北京,,,消费贷,5000.00,3250.50,2026-10-20,35\n\
         MGR-DNC,张伟,13800000004,13800000004,mandarin,北京,北京,,,消费贷,5000.00,3250.50,2026-10-20,35\n",
        false,
    );
    let password = "manager-test-password-0123";
    common::add_user(
        huikuan(dir.path(), &db.url),
        "qian",
        "manager",
        "",
        password,
    );
    let (_server, _sim) = serve_with_console(dir.path(), &db.url, web, sip, today);
    let browser_config = serde_json::json!({
        "url": format!("http://127.0.0.1:{web}"),
        "manager": "qian",
        "password": password,
        "accounts": 3,
        "exclude": "MGR-EXCLUDED",
        "skipped": "MGR-DNC",
        "calls": 2,
        "wait_ms": 600_000,
        "screenshots": std::env::var("HUIKUAN_SCREENSHOTS").unwrap_or_default(),
    });
    // Once the plan is approved, the robot calls.
    let page = browser_then_dialer(
        dir.path(),
        &db.url,
        "manager.mjs",
        &browser_config,
        "APPROVED",
    )
    .await;

    // What the manager saw: the draft listed, reasons on each call, and
    // the dashboard's figures of the two calls made.
    assert!(page["plans_row"].as_str().unwrap().contains("3"), "{page}");
    assert!(page["first_reasons"].as_str().unwrap().len() > 10, "{page}");
    let kpis = &page["kpis"];
    assert_eq!(kpis["calls"], "2", "{kpis}");
    assert_eq!(kpis["contact_rate"], "100%", "{kpis}");
    // The wrong party is a contact but not the debtor.
    assert_eq!(kpis["rpc_rate"], "50%", "{kpis}");
    assert_eq!(kpis["promise_rate"], "100%", "{kpis}");
    assert_eq!(kpis["containment"], "100%", "{kpis}");
    assert_eq!(kpis["handoffs"], "0", "{kpis}");
    let outcomes = page["dispositions"].as_str().unwrap();
    assert!(
        outcomes.contains("promise_to_pay") && outcomes.contains("wrong_party"),
        "{outcomes}"
    );

    // The excluded account was never dialled; the others were.
    let done = rows(
        &db,
        "SELECT account_id, disposition, seq FROM call_attempts WHERE status = 'completed' ORDER BY account_id",
    )
    .await;
    let accounts: Vec<&str> = done.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(accounts, ["MGR-PROMISE", "MGR-WRONG"], "{done:?}");
    assert!(
        page["skipped_row"]
            .as_str()
            .unwrap()
            .contains("do_not_call"),
        "{page}"
    );
    // The manager's changes, each with its reason.
    let audit = rows(
        &db,
        "SELECT action, detail, at_ms FROM audit_log WHERE actor = 'qian' AND action LIKE 'plan_%' ORDER BY at_ms",
    )
    .await;
    let actions: Vec<(&str, &str)> = audit.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(actions[0].0, "plan_edit");
    assert!(actions[0].1.contains("exclude") && actions[0].1.contains("住院"));
    assert_eq!(
        actions[1],
        ("plan_approve", "reviewed: one account excluded")
    );
}

/// A call the plan gives to an agent: the Cantonese account with a large
/// balance goes to the agents' channel (the built-in strategy), with a
/// Cantonese speaker on the roster. The dialer leases it only once an
/// agent who speaks Cantonese is on the floor (`huikuan dev bench-agents`:
/// the agent desktop's protocol without a browser), and on answer the
/// robot only greets (who is calling, for which lender, that the call is
/// recorded) and hands the call straight to that agent, who talks to the
/// debtor and files the outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_planned_for_an_agent_goes_straight_to_a_free_agent_of_its_dialect() {
    let _one = ONE_AT_A_TIME.lock().await;
    let db = testing::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (grpc, sip, web) = (free_port(), free_udp_port(), free_port());
    std::fs::write(
        dir.path().join("roster.toml"),
        "[[agent]]\nname = \"chen\"\ndialects = [\"cantonese\"]\nhours = [\"00:00-00:00\"]\n",
    )
    .unwrap();
    let config = config(grpc, sip, 600).replace(
        "[planning.rules]",
        "[planning]\nroster = \"roster.toml\"\n\n[planning.rules]",
    ) + CONSOLE;
    std::fs::write(dir.path().join("huikuan.toml"), config).unwrap();
    let (_, today) = import_and_plan(
        dir.path(),
        &db.url,
        "agents",
        "BIG-1,陈大文,13800000021,,cantonese,广东,广州,,,经营贷,90000.00,45000.00,2026-08-01,95\n",
    );
    let planned = rows(
        &db,
        "SELECT account_id, channel, priority FROM planned_calls WHERE account_id = 'BIG-1'",
    )
    .await;
    assert_eq!(planned[0].1, "agent", "{planned:?}");
    let password = "agent-test-password-0123";
    common::add_user(
        huikuan(dir.path(), &db.url),
        "chen",
        "agent",
        "cantonese",
        password,
    );
    let voice = agent_voice(
        dir.path(),
        &db.url,
        "您好陈先生，我是客服陈经理。请问您打算哪天还款？",
        Duration::from_secs(3),
    );
    let (_server, _sim) = serve_with_console(dir.path(), &db.url, web, sip, today);

    // With nobody on the floor the call stays queued: a dialer finds
    // nothing to do.
    let idle = huikuan(dir.path(), &db.url)
        .args(["dialer", "--idle-exit-secs", "3"])
        .output()
        .unwrap();
    assert!(idle.status.success());
    let queued = rows(
        &db,
        "SELECT account_id, status, 0 FROM call_attempts WHERE account_id = 'BIG-1'",
    )
    .await;
    assert_eq!(queued[0].1, "queued", "dialled with no agent free");

    // The agent comes on; then the dialer runs.
    let agents = dir.path().join("agents.json");
    std::fs::write(
        &agents,
        serde_json::json!({
            "url": format!("http://127.0.0.1:{web}"),
            "agents": ["chen"],
            "password": password,
            "wav": voice,
            "rounds": 1,
            "talk_s": 5,
            "settle_s": 60,
            "disposition": "refused",
            "limit_s": 900,
        })
        .to_string(),
    )
    .unwrap();
    let mut agent = huikuan(dir.path(), &db.url)
        .args(["dev", "bench-agents"])
        .arg(&agents)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("agents.log")).unwrap())
        .spawn()
        .unwrap();
    let out = agent.stdout.take().unwrap();
    let agent = common::Killed(agent);
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_line = |want: &str, limit: Duration| -> String {
        loop {
            match lines.recv_timeout(limit) {
                Ok(l) if l.starts_with(want) => return l,
                Ok(_) => continue,
                Err(_) => panic!(
                    "the agent never printed {want}: {}",
                    std::fs::read_to_string(dir.path().join("agents.log")).unwrap_or_default()
                ),
            }
        }
    };
    tokio::task::block_in_place(|| wait_line("READY", Duration::from_secs(120)));
    let dialer = huikuan(dir.path(), &db.url)
        .env_remove("HUIKUAN_LOG")
        .stderr(std::fs::File::create(dir.path().join("dialer.log")).unwrap())
        .args(["dialer", "--idle-exit-secs", "3"])
        .spawn()
        .unwrap();
    let mut dialer = common::Killed(dialer);
    let heard = tokio::task::block_in_place(|| wait_line("{", Duration::from_secs(900)));
    drop(agent);
    let heard: serde_json::Value = serde_json::from_str(&heard).unwrap();
    let call = &heard["calls"][0];
    assert!(call["packets"].as_u64().unwrap() >= 50, "{heard}");
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while dialer.0.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the dialer did not finish"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The agent's outcome, the agent's name, and the call: the robot's
    // greeting and no conversation of its own.
    let conn = db.store.connection();
    let row = conn
        .query_one(Statement::from_string(
            conn.get_database_backend(),
            "SELECT disposition, agent_name, handed_over, plan_channel, call_record \
             FROM call_attempts WHERE account_id = 'BIG-1' AND status = 'completed'",
        ))
        .await
        .unwrap()
        .expect("the call's attempt is completed");
    assert_eq!(
        (
            row.try_get_by_index::<String>(0).unwrap(),
            row.try_get_by_index::<Option<String>>(1).unwrap(),
            row.try_get_by_index::<i16>(2).unwrap(),
            row.try_get_by_index::<Option<String>>(3).unwrap(),
        ),
        (
            "refused".to_string(),
            Some("chen".to_string()),
            1,
            Some("agent".to_string())
        )
    );
    let record: huikuan_core::call::CallRecord =
        serde_json::from_str(&row.try_get_by_index::<String>(4).unwrap()).unwrap();
    eprintln!("{}", record.transcript_text());
    use huikuan_core::call::{Event, Speaker};
    assert!(record.timeline.iter().any(|e| e.event
        == Event::HandoffRequested {
            reason: "planned_agent_call".into()
        }));
    assert!(record.timeline.iter().any(|e| e.event
        == Event::AgentJoined {
            agent: "chen".into()
        }));
    let robot: Vec<&str> = record
        .transcript
        .iter()
        .filter(|l| l.speaker == Speaker::Robot)
        .map(|l| l.text.as_str())
        .collect();
    assert!(
        robot[0].contains("录音") && robot[0].contains("易贷"),
        "the robot greets first: {robot:?}"
    );
    assert!(
        robot
            .iter()
            .all(|l| !l.contains("45000") && !l.contains("本人")),
        "no robot conversation: {robot:?}"
    );
}
