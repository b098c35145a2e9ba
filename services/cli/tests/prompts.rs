//! `huikuan prompts` end to end with the real Mandarin voice: the
//! recording script, a placeholder delivery said by the voice, its import,
//! what the installed pack covers, a bad delivery refused file by file
//! without touching the installed pack, and a line spoken through the pack.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_huikuan");

fn huikuan(args: &[&str], config: Option<&Path>) -> Output {
    let mut c = Command::new(BIN);
    if let Some(cfg) = config {
        c.arg("--config").arg(cfg);
    }
    c.args(args)
        .env_remove("HUIKUAN_CONFIG")
        .env("HUIKUAN_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The percentage and the synthesized words `check` shows for a line.
fn row<'a>(check: &'a str, line: &str) -> (f64, &'a str) {
    let l = check
        .lines()
        .find(|l| l.split_whitespace().next() == Some(line))
        .unwrap_or_else(|| panic!("no row for {line} in\n{check}"));
    let mut cols = l.split_whitespace();
    cols.next();
    let pct = cols.next().unwrap().trim_end_matches('%').parse().unwrap();
    let rest = l.split_once('%').unwrap().1.trim();
    (pct, rest)
}

#[test]
fn a_placeholder_pack_is_imported_checked_and_spoken_and_a_bad_delivery_changes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let delivery = work.path().join("delivery");
    let prompts = work.path().join("prompts");

    let script = ok(&huikuan(
        &["prompts", "script", "--dialect", "mandarin"],
        None,
    ));
    let entries: Vec<&str> = script.lines().collect();
    assert!(
        entries.contains(&"lines/ask_date.wav\t请问您哪天可以还款"),
        "{script}"
    );
    assert!(entries.contains(&"pieces/万.wav\t万"), "{script}");
    assert!(entries.iter().all(|e| e.split('\t').count() == 2));

    let made = ok(&huikuan(
        &[
            "prompts",
            "placeholder",
            s(&delivery),
            "--dialect",
            "mandarin",
        ],
        None,
    ));
    assert!(
        made.contains(&format!("{} placeholder recordings", entries.len())),
        "{made}"
    );
    let imported = ok(&huikuan(
        &[
            "prompts",
            "import",
            s(&delivery),
            "--dialect",
            "mandarin",
            "--into",
            s(&prompts),
        ],
        None,
    ));
    assert!(
        imported.contains(&format!("mandarin: installed {} recordings", entries.len())),
        "{imported}"
    );

    let check = ok(&huikuan(
        &[
            "prompts",
            "check",
            "--dialect",
            "mandarin",
            "--dir",
            s(&prompts),
        ],
        None,
    ));
    // Fixed lines are all recorded; a line with the debtor's name has the
    // name synthesized; amounts and dates come from pieces.
    assert_eq!(row(&check, "reprompt"), (100.0, ""), "{check}");
    assert_eq!(row(&check, "ask_date"), (100.0, ""), "{check}");
    assert_eq!(row(&check, "confirm"), (100.0, ""), "{check}");
    let (pct, synthesized) = row(&check, "opening");
    assert!(pct < 100.0 && synthesized.contains("张伟"), "{check}");
    assert!(
        check.contains(&format!("0 of {} script recordings missing", entries.len())),
        "{check}"
    );

    // A delivery with a wrong rate and a stray file: refused, naming both,
    // and the installed pack stays as it was.
    let index = std::fs::read_to_string(prompts.join("mandarin/prompts.tsv")).unwrap();
    let bad_rate = delivery.join("lines/ask_date.wav");
    let mut w = hound::WavWriter::create(
        &bad_rate,
        hound::WavSpec {
            channels: 1,
            sample_rate: 11_025,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        },
    )
    .unwrap();
    for i in 0..5_000 {
        w.write_sample(((i as f32 * 0.1).sin() * 8_000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    std::fs::copy(
        delivery.join("lines/ask_amount.wav"),
        delivery.join("lines/ask_amount_twice.wav"),
    )
    .unwrap();
    let refused = huikuan(
        &[
            "prompts",
            "import",
            s(&delivery),
            "--dialect",
            "mandarin",
            "--into",
            s(&prompts),
        ],
        None,
    );
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("2 problem(s)"), "{err}");
    assert!(
        err.contains("lines/ask_date.wav: sample rate 11025 Hz"),
        "{err}"
    );
    assert!(
        err.contains("lines/ask_amount_twice.wav: not in the recording script"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(prompts.join("mandarin/prompts.tsv")).unwrap(),
        index
    );

    // The robot's confirmation said through the pack: a telephone-rate
    // WAV whose length is the recordings' with the pauses between.
    let config = work.path().join("huikuan.toml");
    std::fs::write(
        &config,
        format!("[speech]\nprompts_dir = \"{}\"\n", s(&prompts)),
    )
    .unwrap();
    let wav = work.path().join("confirm.wav");
    ok(&huikuan(
        &[
            "tts",
            "和您确认一下：您在12月3日还款1500元，对吗？",
            "--rate",
            "8000",
            "--out",
            s(&wav),
        ],
        Some(&config),
    ));
    let said = hound::WavReader::open(&wav).unwrap();
    assert_eq!(said.spec().sample_rate, 8_000);
    assert!(said.duration() > 8_000, "{} samples", said.duration());
}
