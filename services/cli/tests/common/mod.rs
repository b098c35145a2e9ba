//! What the CLI's end-to-end tests share: the repository, free ports,
//! children killed however a test ends, users made with `huikuan user add`,
//! and the browser scripts of tests/browser run under node.

#![allow(dead_code)] // each test binary uses its own part of this

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `huikuan user add NAME --role ROLE --skills SKILLS` with the password
/// on stdin, run by `huikuan` (a command set up with the test's data).
pub fn add_user(mut huikuan: Command, name: &str, role: &str, skills: &str, password: &str) {
    let mut child = huikuan
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

/// Waits until something listens on `port`, or `server` has exited.
pub fn wait_listening(port: u16, server: &mut Child) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = server.try_wait().unwrap() {
            panic!("the server exited at start: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "nothing listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A script of tests/browser running under node with its config. It
/// prints progress lines and, last, one JSON line of results.
pub struct BrowserScript {
    child: Killed,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: PathBuf,
}

impl BrowserScript {
    /// Starts `script` with `config` written to DIR/NAME.json.
    pub fn start(script: &str, dir: &Path, config: &serde_json::Value) -> BrowserScript {
        let config_file = dir.join(format!("{script}.json"));
        std::fs::write(&config_file, config.to_string()).unwrap();
        let stderr = dir.join(format!("{script}.stderr"));
        let mut child = Command::new("node")
            .arg(repo().join("tests/browser").join(script))
            .arg(&config_file)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("node (scripts/ensure-deps.sh installs it)");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        BrowserScript {
            child: Killed(child),
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    fn why(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.seen.join("\n"),
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }

    /// Blocks until the script prints `line` (it has reached that point).
    pub fn wait_for_line(&mut self, line: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let done = l == line;
                    self.seen.push(l);
                    if done {
                        return;
                    }
                }
                Err(_) => panic!("the browser never printed {line}: {}", self.why()),
            }
        }
    }

    /// Waits for the script to end and returns its results.
    pub fn results(mut self, limit: Duration) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.0.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "the browser script ran over {limit:?}: {}",
                self.why()
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        assert!(
            status.success(),
            "the browser script failed: {}",
            self.why()
        );
        let last = self.seen.last().cloned().unwrap_or_default();
        serde_json::from_str(&last).unwrap_or_else(|e| panic!("results: {e}: {}", self.why()))
    }
}

/// A time zone where it is now early afternoon, and today's date there.
/// No plan calls anyone between 22:00 and 08:00 in their own time, so a
/// test's debtors live here to be callable whenever the test runs.
pub fn daytime_zone() -> (String, chrono::NaiveDate) {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    let offset = 13 - now.hour() as i64;
    let zone = match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    let today = (now + chrono::Duration::hours(offset)).date_naive();
    (zone, today)
}

/// Portfolio CSV rows with their empty time zone column (the 8th) set
/// to `zone`.
pub fn in_zone(rows: &str, zone: &str) -> String {
    rows.lines()
        .map(|row| {
            let mut cols: Vec<&str> = row.split(',').collect();
            if cols.len() > 7 && cols[7].is_empty() {
                cols[7] = zone;
            }
            cols.join(",") + "\n"
        })
        .collect()
}
