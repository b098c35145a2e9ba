//! `huikuan eval-spoken` with the real speech models on small benches:
//! sounds that are no words (hiss, music, gibberish) and a neighbour's
//! talk are never acted on once the robot acts only on what it heard
//! surely, clear answers still are, and a broken bench file is refused by
//! file, line and field.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_huikuan");

fn eval_spoken(bench: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .args(["eval-spoken", "--dialect", "mandarin", "--json", "--data"])
        .arg(bench)
        .args(extra)
        .env_remove("HUIKUAN_CONFIG")
        .env("HUIKUAN_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The JSON object for both lines of Mandarin, gated or trusting.
fn both(out: &Output, gated: bool) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["line"] == "both" && v["gated"] == gated)
        .expect("a figure for both lines")
}

fn bench(rows: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("stage\tsay\tintent\tdate\tamount\tcallback_time\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    std::fs::write(dir.path().join("mandarin.tsv"), text).unwrap();
    dir
}

#[test]
fn noise_music_gibberish_and_a_neighbours_talk_never_act_and_clear_answers_do() {
    let noise = bench(&[
        "identify\tnoise:hiss\tunclear\t\t\t",
        "pay\tnoise:music\tunclear\t\t\t",
        "confirm\tnoise:music\tunclear\t\t\t",
        "confirm\tnoise:gibberish\tunclear\t\t\t",
        "pay\tnoise:gibberish\tunclear\t\t\t",
        "confirm\tnoise:hiss\tunclear\t\t\t",
    ]);
    let out = eval_spoken(noise.path(), &[]);
    let gated = both(&out, true);
    assert_eq!(gated["turns"], 12, "{gated}");
    assert_eq!(gated["acted"], 0, "{gated}");
    assert_eq!(gated["false_promises"], 0, "{gated}");

    let clear = bench(&[
        "identify\t对，我就是本人\tconfirm_identity\t\t\t",
        "pay\t我明天还两千\tpromise_to_pay\t2026-11-25\t2000\t",
    ]);
    let out = eval_spoken(clear.path(), &[]);
    let gated = both(&out, true);
    assert!(gated["acted"].as_u64().unwrap() >= 2, "{gated}");
    assert_eq!(gated["false_promises"], 0, "{gated}");

    let broken = bench(&[
        "identify\t对\tconfirm_identity\t\t\t",
        "later\t好\tunclear\t\t\t",
    ]);
    let out = eval_spoken(broken.path(), &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mandarin.tsv:3: stage: unknown stage 'later'"),
        "{err}"
    );
}
