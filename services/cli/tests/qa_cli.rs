//! `huikuan qa FILE.wav --dialect D --json` with the real speech models:
//! a stereo call made of synthesized turns (the collector on channel 1,
//! the debtor on channel 2) is heard and checked, and the JSON object
//! keeps its contract. A call with a threat and without the recording
//! notice is flagged for both, where they are; the same call said properly
//! is not; a recording that is not a stereo call is refused by name.

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
