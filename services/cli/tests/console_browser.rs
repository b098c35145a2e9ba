//! The console in a real browser: `huikuan user add` makes an agent, a
//! supervisor and an admin; `huikuan console` serves; Debian's Chromium,
//! driven by playwright-core (tests/browser/console.mjs), logs each of
//! them in and walks their pages. Screenshots go to $HUIKUAN_SCREENSHOTS
//! when set (docs/screenshots is made this way).
//!
//! Needs `chromium` and `node` with tests/browser/node_modules, which
//! scripts/ensure-deps.sh installs.

use huikuan_store::{AuditFilter, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Kills the console when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn huikuan(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_huikuan"));
    c.env("HUIKUAN_DATA_DIR", data)
        .env("HUIKUAN_LOG", "warn")
        .current_dir(data);
    c
}

fn add_user(data: &Path, name: &str, role: &str, skills: &str, password: &str) {
    let mut child = huikuan(data)
        .args([
            "user",
            "add",
            name,
            "--role",
            role,
            "--skills",
            skills,
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "user add {name}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until the console answers on `port` (or has exited).
fn wait_listening(port: u16, console: &mut Child) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = console.try_wait().unwrap() {
            panic!("huikuan console exited at start: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "console never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_supervisors_and_admins_use_their_pages_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let password = format!("pw-{}", uuid_like());
    add_user(data, "ann", "agent", "mandarin,sichuanese", &password);
    add_user(data, "sup1", "supervisor", "mandarin", &password);
    add_user(data, "root1", "admin", "", &password);

    let port = free_port();
    let mut child = huikuan(data)
        .arg("console")
        .env("HUIKUAN_CONSOLE_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(port, &mut child);
    let _console = Running(child);

    let shots = std::env::var("HUIKUAN_SCREENSHOTS").unwrap_or_default();
    let config = serde_json::json!({
        "url": format!("http://127.0.0.1:{port}"),
        "password": password,
        "agent": "ann",
        "supervisor": "sup1",
        "admin": "root1",
        "screenshots": shots,
    });
    let config_file = data.join("browser.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(repo().join("tests/browser/console.mjs"))
            .arg(&config_file)
            .output()
            .expect("node (scripts/ensure-deps.sh installs it)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "browser walk failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let results: serde_json::Value = serde_json::from_slice(
        out.stdout
            .trim_ascii_end()
            .rsplit(|b| *b == b'\n')
            .next()
            .unwrap(),
    )
    .unwrap();
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
