//! The console in a real browser: `huikuan user add` makes an agent, a
//! supervisor and an admin; `huikuan console` serves; Debian's Chromium,
//! driven by playwright-core (tests/browser/console.mjs), logs each of
//! them in and walks their pages. Screenshots go to $HUIKUAN_SCREENSHOTS
//! when set (docs/screenshots is made this way).
//!
//! Needs `chromium` and `node` with tests/browser/node_modules, which
//! scripts/ensure-deps.sh installs.

mod common;

use common::{add_user, free_port, wait_listening, BrowserScript, Killed};
use huikuan_store::{AuditFilter, Store};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn huikuan(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_huikuan"));
    c.env("HUIKUAN_DATA_DIR", data)
        .env("HUIKUAN_LOG", "warn")
        .current_dir(data);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_supervisors_and_admins_use_their_pages_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let password = format!("pw-{}", uuid_like());
    add_user(
        huikuan(data),
        "ann",
        "agent",
        "mandarin,sichuanese",
        &password,
    );
    add_user(huikuan(data), "sup1", "supervisor", "mandarin", &password);
    add_user(huikuan(data), "root1", "admin", "", &password);

    let port = free_port();
    let mut child = huikuan(data)
        .arg("console")
        .env("HUIKUAN_CONSOLE_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(port, &mut child);
    let _console = Killed(child);

    let shots = std::env::var("HUIKUAN_SCREENSHOTS").unwrap_or_default();
    let config = serde_json::json!({
        "url": format!("http://127.0.0.1:{port}"),
        "password": password,
        "agent": "ann",
        "supervisor": "sup1",
        "admin": "root1",
        "screenshots": shots,
    });
    let results = tokio::task::block_in_place(|| {
        BrowserScript::start("console.mjs", data, &config).results(Duration::from_secs(300))
    });
    assert_eq!(
        results["wrong_password_message"],
        "Wrong user name or password."
    );
    assert_eq!(results["agent_on_supervisor_page"], 403);
    assert!(results["agent_state"]
        .as_str()
        .unwrap()
        .starts_with("available"));
    let floor = results["floor_after_break"].as_str().unwrap();
    assert!(
        floor.contains("ann") && floor.contains("break: lunch"),
        "{floor}"
    );

    // What the audit log recorded of the walk.
    let store = Store::connect(&huikuan_store::sqlite_url_for_dir(data).unwrap())
        .await
        .unwrap();
    let of = |actor: &str| AuditFilter {
        actor: Some(actor.into()),
        limit: 1000,
        ..Default::default()
    };
    let ann: Vec<(String, String)> = store
        .audit_entries(&of("ann"))
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| (e.action, e.detail))
        .collect();
    let actions: Vec<&str> = ann.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "login_failed",
            "login",
            "agent_state",
            "forbidden",
            "agent_state"
        ],
        "{ann:?}"
    );
    assert_eq!(ann[2].1, "available");
    assert_eq!(ann[4].1, "break: lunch");
    for user in ["sup1", "root1"] {
        let entries = store.audit_entries(&of(user)).await.unwrap();
        assert!(
            entries
                .iter()
                .any(|e| e.action == "login" && e.remote == "127.0.0.1"),
            "{user}"
        );
    }
}

/// A per-run suffix for the password.
fn uuid_like() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{t:x}-{}", std::process::id())
}
