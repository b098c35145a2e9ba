//! `huikuan qa FILE.wav --dialect D --json` with the real speech models:
//! a stereo call made of synthesized turns (the collector on channel 1,
//! the debtor on channel 2) is heard and checked, and the JSON object
//! keeps its contract. A call with a threat and without the recording
//! notice is flagged for both, where they are; the same call said properly
//! is not; a recording that is not a stereo call is refused by name.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_huikuan");

fn huikuan(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("HUIKUAN_DATA_DIR", dir)
        .env_remove("HUIKUAN_CONFIG")
        .env("HUIKUAN_LOG", "warn")
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `words` in the Mandarin voice at 8 kHz.
fn speak(dir: &Path, n: usize, words: &str) -> Vec<i16> {
    let file = dir.join(format!("turn{n}.wav"));
    ok(
        huikuan(dir)
            .args(["tts", words, "--rate", "8000", "--out"])
            .arg(&file)
            .output()
            .unwrap(),
        "tts",
    );
    hound::WavReader::open(&file)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

/// Turns said one after another, 0.8 s apart, collector on the left;
/// returns the file and each turn's span (ms).
fn call(dir: &Path, name: &str, turns: &[(usize, &str)]) -> (PathBuf, Vec<(u64, u64)>) {
    let mut tracks = [Vec::<i16>::new(), Vec::new()];
    let mut at = 4000usize;
    let mut spans = Vec::new();
    for (n, (channel, words)) in turns.iter().enumerate() {
        let samples = speak(dir, n, words);
        for t in tracks.iter_mut() {
            t.resize(at + samples.len(), 0);
        }
        tracks[*channel][at..].copy_from_slice(&samples);
        spans.push((at as u64 / 8, (at + samples.len()) as u64 / 8));
        at += samples.len() + 6400;
    }
    let path = dir.join(name);
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..at {
        w.write_sample(tracks[0].get(i).copied().unwrap_or(0))
            .unwrap();
        w.write_sample(tracks[1].get(i).copied().unwrap_or(0))
            .unwrap();
    }
    w.finalize().unwrap();
    (path, spans)
}

fn inspect(dir: &Path, file: &Path) -> serde_json::Value {
    let out = ok(
        huikuan(dir)
            .arg("qa")
            .arg(file)
            .args(["--dialect", "mandarin", "--lender", "安心借", "--json"])
            .output()
            .unwrap(),
        "qa",
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "qa --json printed no JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn flags_of<'a>(v: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    v["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["type"] == kind)
        .collect()
}

#[test]
fn a_threat_and_a_missing_recording_notice_are_flagged_and_a_proper_call_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let (bad, spans) = call(
        dir.path(),
        "bad.wav",
        &[
            (0, "您好，这里是安心借的客服，请问您是王先生本人吗？"),
            (1, "对，我就是。"),
            (0, "你再不还钱，就让你好看，后果自负。"),
            (1, "好的，我知道了。"),
        ],
    );
    let v = inspect(dir.path(), &bad);
    let score = v["score"].as_f64().unwrap();
    assert!((0.0..100.0).contains(&score), "{v}");
    for f in v["flags"].as_array().unwrap() {
        for key in ["type", "channel", "start_ms", "end_ms", "evidence"] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
        assert!(f["channel"] == "agent" || f["channel"] == "debtor", "{f}");
    }
    let threats = flags_of(&v, "forbidden_wording");
    assert_eq!(threats.len(), 1, "{v}");
    let t = threats[0];
    assert_eq!(t["channel"], "agent");
    assert_eq!(t["rule"], "threat");
    let (start, end) = (
        t["start_ms"].as_u64().unwrap(),
        t["end_ms"].as_u64().unwrap(),
    );
    assert!(
        start + 1000 >= spans[2].0 && end <= spans[2].1 + 1000,
        "{t} vs {:?}",
        spans[2]
    );
    let missing = flags_of(&v, "missing_disclosure");
    assert_eq!(missing.len(), 1, "{v}");
    assert_eq!(missing[0]["rule"], "recording_notice");

    let (good, _) = call(
        dir.path(),
        "good.wav",
        &[
            (
                0,
                "您好，本次通话将被录音。这里是安心借的客服，请问您是王先生本人吗？",
            ),
            (1, "对，我就是。"),
            (
                0,
                "您在安心借的借款已经逾期十五天，请问您什么时候可以处理？",
            ),
            (1, "好的，我知道了。"),
        ],
    );
    let v = inspect(dir.path(), &good);
    assert!(flags_of(&v, "forbidden_wording").is_empty(), "{v}");
    assert!(flags_of(&v, "missing_disclosure").is_empty(), "{v}");
    assert!(v["score"].as_f64().unwrap() > score, "{v}");
    assert!(v["transcript"].as_array().unwrap().len() >= 4, "{v}");
}

#[test]
fn a_recording_that_is_not_a_stereo_call_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mono = dir.path().join("mono.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&mono, spec).unwrap();
    for _ in 0..8000 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    for (file, says) in [("mono.wav", "1 channel"), ("absent.wav", "absent.wav")] {
        let out = huikuan(dir.path())
            .args(["qa", file, "--json"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(file) && err.contains(says), "{err}");
        assert!(out.stdout.is_empty());
    }
}

/// A QA worker killed (SIGKILL) while it inspects a call loses nothing:
/// after its lease runs out the next worker takes the call, and every
/// call has exactly one result.
#[test]
fn a_qa_worker_killed_while_inspecting_loses_nothing_and_inspects_nothing_twice() {
    use huikuan_store::{testing, Store};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let recordings = data.join("recordings");
    std::fs::create_dir_all(recordings.join("day")).unwrap();
    let lines: [&[(usize, &str)]; 2] = [
        &[
            (
                0,
                "您好，本次通话将被录音。这里是回款金融的客服，请问您是王先生本人吗？",
            ),
            (1, "对，我就是。"),
            (
                0,
                "您在回款金融的借款已经逾期十五天，请问您什么时候可以处理？",
            ),
        ],
        &[
            (0, "您好，这里是回款金融的客服，请问您是李女士本人吗？"),
            (1, "是我，什么事？"),
            (0, "再不还钱你就要坐牢了。"),
        ],
    ];
    for (i, turns) in lines.iter().enumerate() {
        let (file, _) = call(dir.path(), &format!("call{i}.wav"), turns);
        std::fs::rename(&file, recordings.join(format!("day/call{i}.wav"))).unwrap();
    }
    let url = huikuan_store::sqlite_url_for_dir(&data).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::connect(&url)).unwrap();
    rt.block_on(async {
        use chrono::TimeZone;
        // 10:00 in Beijing tomorrow: inside every debtor's calling window.
        let day = chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive()
            + chrono::Duration::days(1);
        let at = chrono_tz::Asia::Shanghai
            .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc);
        let leases = testing::leased_calls(&store, "qa", 3, at).await;
        for (i, l) in leases.iter().enumerate() {
            let path = format!("day/call{}.wav", i % 2);
            testing::report_recorded(&store, l, at, Some(path)).await;
        }
    });
    std::fs::write(dir.path().join("huikuan.toml"), "[qa]\nlease_seconds = 3\n").unwrap();
    let worker = |id: &str| {
        huikuan(dir.path())
            .env("HUIKUAN_CONFIG", dir.path().join("huikuan.toml"))
            .env("HUIKUAN_DATA_DIR", &data)
            .env("DATABASE_URL", &url)
            .args(["qa-worker", "--id", id])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let jobs = || rt.block_on(store.inspection_jobs()).unwrap();
    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let started = std::time::Instant::now();
        while !done() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(300),
                "waited five minutes for {what}: {:?}",
                jobs()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let signal = |child: &std::process::Child, sig: &str| {
        let ok = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    };
    let holding = |jobs: &[(String, String, Option<String>, i32)]| {
        jobs.iter()
            .find(|(_, status, w, _)| status == "working" && w.as_deref() == Some("first"))
            .map(|(id, ..)| id.clone())
    };
    let mut first = worker("first");
    // Frozen while it holds a call (so that it cannot finish it between
    // the look and the kill), then killed.
    let killed = loop {
        wait("the first worker to take a call", &|| {
            holding(&jobs()).is_some()
        });
        signal(&first, "-STOP");
        if let Some(id) = holding(&jobs()) {
            break id;
        }
        signal(&first, "-CONT");
    };
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(rt
        .block_on(store.inspection_result(&killed))
        .unwrap()
        .is_none());

    let mut second = worker("second");
    wait("every call to be inspected", &|| {
        jobs().iter().all(|(_, status, _, _)| status == "done")
    });
    second.kill().unwrap();
    second.wait().unwrap();
    let all = jobs();
    assert_eq!(all.len(), 3);
    let taken_over = all.iter().find(|(id, ..)| *id == killed).unwrap();
    assert_eq!(
        taken_over.3, 2,
        "the killed worker's call was leased again once: {all:?}"
    );
    // One result per call (the results are keyed by the call): none lost.
    for (id, ..) in &all {
        assert!(
            rt.block_on(store.inspection_result(id)).unwrap().is_some(),
            "{id} lost"
        );
    }
    // The call with the threat is flagged for it.
    let threat = all
        .iter()
        .filter_map(|(id, ..)| rt.block_on(store.inspection_result(id)).unwrap())
        .filter(|(_, json)| json.contains("\"forbidden_wording\""))
        .count();
    assert!(threat >= 1);
}

/// A supervisor reviews inspected calls in Chromium (tests/browser/qa.mjs):
/// two recorded calls are inspected by a `huikuan qa-worker`, which also
/// makes their hour's report; `huikuan console` serves the quality pages.
/// The report is listed and exported as CSV, the list filters by flag
/// type, and the call page shows the flags, the transcript with the flags
/// inline, the pitch chart and the recording, which plays from a flag.
/// Screenshots go to $HUIKUAN_SCREENSHOTS when set.
#[test]
fn a_supervisor_reviews_inspected_calls_in_chromium() {
    use huikuan_store::{testing, Store};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let recordings = data.join("recordings");
    std::fs::create_dir_all(recordings.join("day")).unwrap();
    let calls: [&[(usize, &str)]; 2] = [
        &[
            (0, "您好，这里是回款金融的客服，请问您是李女士本人吗？"),
            (1, "是我，什么事？"),
            (0, "你再不还钱，就让你好看，后果自负。"),
            (1, "你这是威胁我吗？"),
        ],
        &[
            (
                0,
                "您好，本次通话将被录音。这里是回款金融的客服，请问您是王先生本人吗？",
            ),
            (1, "是的，我就是王先生本人。"),
            (
                0,
                "您在回款金融的借款已经逾期十五天，请问您什么时候可以处理？",
            ),
        ],
    ];
    for (i, turns) in calls.iter().enumerate() {
        let (file, _) = call(dir.path(), &format!("call{i}.wav"), turns);
        std::fs::rename(&file, recordings.join(format!("day/call{i}.wav"))).unwrap();
    }
    let url = huikuan_store::sqlite_url_for_dir(&data).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::connect(&url)).unwrap();
    use chrono::TimeZone;
    let day = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        + chrono::Duration::days(1);
    let lease_at = chrono_tz::Asia::Shanghai
        .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    // The calls ended in the last hour, so that its report is due.
    let ended = chrono::Utc::now() - chrono::Duration::hours(1);
    let hour_ms = huikuan_store::inspections::HOUR_MS;
    let hour = ended.timestamp_millis().div_euclid(hour_ms) * hour_ms;
    rt.block_on(async {
        let leases = testing::leased_calls(&store, "qa", 2, lease_at).await;
        for (i, l) in leases.iter().enumerate() {
            testing::report_recorded(&store, l, ended, Some(format!("day/call{i}.wav"))).await;
        }
    });
    let with_data = |cmd: &mut Command| {
        cmd.env("HUIKUAN_DATA_DIR", &data).env("DATABASE_URL", &url);
    };
    let mut worker = huikuan(dir.path());
    with_data(&mut worker);
    let worker = common::Killed(
        worker
            .args(["qa-worker", "--id", "qa"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = std::time::Instant::now();
    while !rt
        .block_on(store.hour_report(hour))
        .unwrap()
        .is_some_and(|r| r.complete())
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(300),
            "no complete hour report after five minutes: {:?}",
            rt.block_on(store.inspection_jobs()).unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(worker);
    let password = "qa-review-password-0123";
    for (name, role) in [("zhou", "supervisor"), ("ann", "agent")] {
        let mut cmd = huikuan(dir.path());
        with_data(&mut cmd);
        common::add_user(cmd, name, role, "mandarin", password);
    }
    let port = common::free_port();
    let mut console = huikuan(dir.path());
    with_data(&mut console);
    let mut console = console
        .arg("console")
        .env("HUIKUAN_CONSOLE_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    common::wait_listening(port, &mut console);
    let _console = common::Killed(console);
    let config = serde_json::json!({
        "url": format!("http://127.0.0.1:{port}"),
        "supervisor": "zhou",
        "agent": "ann",
        "password": password,
        "calls": 2,
        "flagged": 1,
        "screenshots": std::env::var("HUIKUAN_SCREENSHOTS").unwrap_or_default(),
    });
    let page = common::BrowserScript::start("qa.mjs", dir.path(), &config)
        .results(std::time::Duration::from_secs(300));
    eprintln!("{page:#}");
    let csv = page["csv"].as_str().unwrap();
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("hour,collector,calls,inspected,failed,mean_score,forbidden_wording"));
    let all: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(all[1..5], ["all", "2", "2", "0"], "{csv}");
    assert!(page["csv_type"].as_str().unwrap().starts_with("text/csv"));
    let flags = page["flags"].to_string();
    for want in [
        "forbidden_wording",
        "threat",
        "让你好看",
        "missing_disclosure",
        "recording_notice",
    ] {
        assert!(flags.contains(want), "{want} not among the flags: {flags}");
    }
    assert!(page["score"].as_str().unwrap().parse::<u32>().unwrap() < 100);
    // The threat's line carries its flag inline, on the collector's side.
    let lines = page["lines"].as_array().unwrap();
    let threat = lines
        .iter()
        .find(|l| l["text"].as_str().unwrap().contains("好看"))
        .unwrap_or_else(|| panic!("the threat's line: {lines:?}"));
    assert_eq!(threat["channel"], "agent");
    assert!(
        threat["flags"].to_string().contains("forbidden_wording"),
        "{threat}"
    );
    assert!(lines.iter().any(|l| l["channel"] == "debtor"));
    assert!(page["chart_width"].as_u64().unwrap() >= 1000);
    assert!(page["duration_s"].as_f64().unwrap() > 5.0);
    let (seek, played) = (
        page["seek_ms"].as_f64().unwrap() / 1000.0,
        page["played_from_s"].as_f64().unwrap(),
    );
    assert!(
        (played - (seek - 0.5).max(0.0)).abs() < 1.5,
        "played from {played} s for a flag at {seek} s"
    );
    assert_eq!(page["agent_status"], 403);
    // Opening the call and playing its recording were audited.
    let audit = rt
        .block_on(store.audit_entries(&huikuan_store::AuditFilter {
            actor: Some("zhou".into()),
            limit: 100,
            ..Default::default()
        }))
        .unwrap();
    for action in ["view_inspection", "play_recording"] {
        assert!(
            audit.iter().any(|e| e.action == action),
            "no {action} in {audit:?}"
        );
    }
}
