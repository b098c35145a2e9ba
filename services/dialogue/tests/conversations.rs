//! Scripted calls (tests/data/conversations/*.txt) through the whole
//! policy: each must end with the expected outcome, start with the
//! recording notice, and never state the debt where the script says so.

use chrono::NaiveDate;
use huikuan_core::Dialect;
use huikuan_dialogue::{CallAccount, Certainty, Engine};

/// The account the scripts are written for (also the demo's).
fn account() -> CallAccount {
    serde_json::from_str(include_str!("../../../samples/account.json")).unwrap()
}

struct Script {
    name: String,
    /// Each debtor turn, with words the robot's reply to it must contain.
    turns: Vec<(String, Vec<String>)>,
    expect: Vec<(String, String)>,
    no_disclosure: bool,
}

fn scripts(text: &str) -> Vec<Script> {
    let mut out: Vec<Script> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            out.push(Script {
                name: name.to_string(),
                turns: Vec::new(),
                expect: Vec::new(),
                no_disclosure: false,
            });
        } else if let Some(t) = line.strip_prefix("> ") {
            out.last_mut()
                .unwrap()
                .turns
                .push((t.to_string(), Vec::new()));
        } else if let Some(w) = line.strip_prefix("< ") {
            let s = out.last_mut().unwrap();
            let name = s.name.clone();
            s.turns
                .last_mut()
                .unwrap_or_else(|| panic!("'< {w}' before any turn in {name}"))
                .1
                .push(w.to_string());
        } else if let Some(e) = line.strip_prefix("= ") {
            let s = out.last_mut().unwrap();
            for kv in e.split_whitespace() {
                match kv.split_once('=') {
                    Some((k, v)) => s.expect.push((k.into(), v.into())),
                    None if kv == "nodisclose" => s.no_disclosure = true,
                    None => panic!("bad expectation '{kv}' in {}", s.name),
                }
            }
        }
    }
    out
}

/// Whether an outcome's value is the one a script expects: amounts as
/// money (`3250.5` is `3250.50`), callback times to the minute as
/// written (`2026-11-24T15:00`), everything else as text.
fn same_value(key: &str, got: Option<&str>, want: &str) -> bool {
    let Some(got) = got else { return false };
    match key {
        "promise_amount" => got.parse::<huikuan_core::Money>().ok() == want.parse().ok(),
        "callback_time" => {
            chrono::NaiveDateTime::parse_from_str(got, "%Y-%m-%dT%H:%M:%S").ok()
                == chrono::NaiveDateTime::parse_from_str(want, "%Y-%m-%dT%H:%M").ok()
        }
        _ => got == want,
    }
}

/// A debtor turn and how sure the recognizer was of it: `text [heard at
/// 0.20]` is heard with confidence 0.20, plain text is certain.
fn heard(turn: &str) -> (&str, Certainty) {
    match turn
        .strip_suffix(']')
        .and_then(|t| t.rsplit_once(" [heard at "))
    {
        Some((text, at)) => (
            text,
            Certainty {
                confidence: at.parse().expect("a confidence after 'heard at'"),
                no_speech: 0.0,
            },
        ),
        None => (turn, Certainty::TYPED),
    }
}

#[test]
fn scripted_conversations_end_as_expected() {
    let engine = Engine::builtin();
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for (file, dialect) in [
        ("mandarin", Dialect::Mandarin),
        ("sichuanese", Dialect::Sichuanese),
        ("cantonese", Dialect::Cantonese),
    ] {
        let path = format!(
            "{}/../../tests/data/conversations/{file}.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let all = scripts(&text);
        assert!(
            all.len() >= 30,
            "{file}: only {} scripted conversations",
            all.len()
        );
        for s in all {
            count += 1;
            let mut c = engine.start(account(), dialect, today).unwrap();
            let opening = c.opening();
            let mut log = vec![format!("robot: {opening}")];
            assert!(
                opening.contains("录音"),
                "{file}/{}: the first line must give the recording notice: {opening}",
                s.name
            );
            for (t, says) in &s.turns {
                let key = t
                    .strip_prefix("[key ")
                    .and_then(|k| k.strip_suffix(']'))
                    .and_then(|k| k.chars().next());
                let line = if let Some(key) = key {
                    match c.reply_key(key) {
                        Some(turn) => {
                            log.push(format!(
                                "debtor presses {key}  [{} {:?}]",
                                turn.intent, turn.cues
                            ));
                            turn.line
                        }
                        None => {
                            log.push(format!("debtor presses {key}  (means nothing here)"));
                            String::new()
                        }
                    }
                } else {
                    let (t, hearing) = heard(t);
                    let turn = c.reply_heard(t, hearing);
                    log.push(format!("debtor: {t}  [{} {:?}]", turn.intent, turn.cues));
                    turn.line
                };
                log.push(format!("robot: {line}"));
                for w in says {
                    if !line.contains(w.as_str()) {
                        failures.push(format!(
                            "{file}/{}: the robot's reply does not say {w:?}\n{}",
                            s.name,
                            log.join("\n")
                        ));
                    }
                }
                if s.no_disclosure {
                    assert!(
                        !line.contains("三千二百五十") && !line.contains("逾期"),
                        "{file}/{}: debt stated to an unverified party: {line}",
                        s.name,
                    );
                }
            }
            let Some(outcome) = c.outcome().cloned() else {
                failures.push(format!(
                    "{file}/{}: call did not end\n{}",
                    s.name,
                    log.join("\n")
                ));
                continue;
            };
            let json = serde_json::to_value(&outcome).unwrap();
            for (k, v) in &s.expect {
                let got = json
                    .get(k)
                    .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()));
                if !same_value(k, got.as_deref(), v) {
                    failures.push(format!(
                        "{file}/{}: {k}: want {v}, got {got:?}\n{}\n{json}",
                        s.name,
                        log.join("\n")
                    ));
                }
            }
            if s.no_disclosure && outcome.debt_disclosed {
                failures.push(format!("{file}/{}: debt disclosed", s.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_line_of_every_dialect_is_free_of_forbidden_wording() {
    // The engine refuses a script with forbidden wording in a line, and
    // one whose policy names a line some dialect lacks: the built-in one
    // loads, and its list is the one in dialects/forbidden.txt.
    let engine = Engine::builtin();
    assert!(engine.forbidden.len() >= 20, "{:?}", engine.forbidden);
    let mut count = 0;
    for (dialect, name, src) in engine.lines.sources() {
        count += 1;
        assert_eq!(engine.forbidden_in(src), None, "{dialect}/{name}: {src}");
    }
    for d in [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese] {
        assert!(engine.lines.has(d, "opening"));
    }
    assert!(count >= 3 * 20, "{count} lines");
}

/// A copy of dialects/ in a temporary folder, with `edit` applied to one
/// of its files.
fn edited_script(file: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialects");
    for f in huikuan_dialogue::script::FILES {
        let to = dir.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let text = std::fs::read_to_string(repo.join(f)).unwrap();
        let text = if *f == file { edit(&text) } else { text };
        std::fs::write(to, text).unwrap();
    }
    dir
}

/// An edited script loads from a folder and changes what the robot says;
/// a broken one is refused with its file and line, and a line with
/// forbidden wording too.
#[test]
fn a_script_loaded_from_a_folder_changes_the_words_and_broken_ones_are_named() {
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let edited = edited_script("mandarin/lines.toml", |t| {
        t.replace(
            "这里是{{ platform }}的客服",
            "这里是{{ platform }}的回访专线",
        )
    });
    let engine = Engine::load(edited.path()).unwrap();
    let mut c = engine.start(account(), Dialect::Mandarin, today).unwrap();
    assert!(c.opening().contains("回访专线"), "{}", c.opening());

    let broken = edited_script("mandarin/lines.toml", |t| {
        t.replacen("{{ platform }}", "{{ platform ", 1)
    });
    let e = Engine::load(broken.path()).err().unwrap();
    let text = std::fs::read_to_string(broken.path().join("mandarin/lines.toml")).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("{{ platform "))
        .unwrap()
        + 1;
    assert!(e.file.ends_with("mandarin/lines.toml"), "{e}");
    assert_eq!(e.line, Some(line), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("lines.toml:{line}: lines.")),
        "{e}"
    );

    let rude = edited_script("sichuanese/lines.toml", |t| {
        t.replacen("再见", "再不还钱就上门找你，再见", 1)
    });
    let e = Engine::load(rude.path()).err().unwrap();
    assert!(e.file.ends_with("sichuanese/lines.toml"), "{e}");
    assert!(e.line.is_some() && e.problem.contains("forbidden"), "{e}");

    let unknown = edited_script("announcements.toml", |t| {
        t.replacen("disposition = \"busy\"", "disposition = \"engaged\"", 1)
    });
    let e = Engine::load(unknown.path()).err().unwrap();
    assert!(e.to_string().contains("announcements.toml:"), "{e}");
    assert!(e.problem.starts_with("disposition"), "{e}");
}

#[test]
fn a_debt_line_cannot_render_before_identity_is_confirmed() {
    let engine = Engine::builtin();
    let ctx =
        tera::Context::from_serialize(serde_json::json!({"name": "张伟", "platform": "易贷"}))
            .unwrap();
    let e = engine
        .lines
        .render(Dialect::Mandarin, "disclose", &ctx)
        .unwrap_err();
    assert!(
        e.contains("product") || e.contains("days_past_due") || e.contains("amount"),
        "{e}"
    );
}

/// Words the recognizer was not sure of are never acted on: the robot
/// asks again, in other words the second time, and the read-back is not
/// accepted until a turn it heard clearly accepts it.
#[test]
fn a_turn_heard_unsure_is_asked_again_in_other_words_and_never_acts() {
    let engine = Engine::builtin();
    let gate = engine.policy.understanding;
    assert!(gate.min_confidence > 0.0, "{gate:?}");
    let unsure = Certainty {
        confidence: gate.min_confidence * 0.5,
        no_speech: 0.0,
    };
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    for (dialect, me, promise, yes) in [
        (Dialect::Mandarin, "是我", "下周五还三千", "对的"),
        (Dialect::Sichuanese, "是我噻", "下周五还三千", "对头"),
        (Dialect::Cantonese, "系我", "下礼拜五还三千蚊", "啱"),
    ] {
        let mut c = engine.start(account(), dialect, today).unwrap();
        c.opening();
        c.reply(me);
        let confirm = c.reply(promise).line;
        assert!(confirm.contains("三千"), "{dialect}: {confirm}");
        let first = c.reply_heard(yes, unsure);
        assert_eq!(first.intent.as_str(), "unclear", "{dialect}");
        assert!(first.outcome.is_none(), "{dialect}: {:?}", first.outcome);
        let second = c.reply_heard(yes, unsure);
        assert!(second.outcome.is_none(), "{dialect}");
        assert_ne!(
            first.line, second.line,
            "{dialect}: asked again in other words"
        );
        // Noise that reads as "no speech" is not acted on either.
        let noise = c.reply_heard(
            yes,
            Certainty {
                confidence: 1.0,
                no_speech: (gate.max_no_speech + 1.0) / 2.0,
            },
        );
        assert_eq!(noise.intent.as_str(), "unclear", "{dialect}");
        // Three unclear turns in a row end the call politely, with no promise.
        let o = noise.outcome.expect("ended after too many unclear turns");
        assert_eq!(o.disposition.as_str(), "failed", "{dialect}");
        assert_eq!(o.promise_date, None);

        // Heard clearly, the same words accept the read-back.
        let mut c = engine.start(account(), dialect, today).unwrap();
        c.opening();
        c.reply(me);
        c.reply(promise);
        c.reply_heard(yes, unsure);
        let accepted = c.reply_heard(yes, Certainty::TYPED);
        let o = accepted.outcome.expect("the promise is recorded");
        assert_eq!(o.disposition.as_str(), "promise_to_pay", "{dialect}");
    }
}

/// A dialect pack's expected answers are per stage of the policy: a stage
/// the policy does not have is refused with its file and line.
#[test]
fn expected_answers_for_an_unknown_stage_are_refused() {
    let edited = edited_script("sichuanese/dialect.toml", |t| {
        t.replacen("confirm = [", "confirmed = [", 1)
    });
    let e = Engine::load(edited.path()).err().unwrap();
    assert!(e.file.ends_with("sichuanese/dialect.toml"), "{e}");
    let text = std::fs::read_to_string(edited.path().join("sichuanese/dialect.toml")).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("confirmed = ["))
        .unwrap()
        + 1;
    assert_eq!(e.line, Some(line), "{e}");
    assert!(
        e.to_string()
            .contains("asr.expect.confirmed: unknown stage"),
        "{e}"
    );
}
