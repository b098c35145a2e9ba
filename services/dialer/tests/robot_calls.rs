//! The robot calling the debtor simulator over real SIP and RTP on
//! loopback, with the real speech models on both ends: every persona in
//! tests/data/personas ends with the disposition it should, the promise is
//! stored exactly, a wrong party hears no debt, a line that echoes the
//! robot's voice back does not make it cut itself off, and each answered
//! call leaves a playable stereo recording.

mod common;

use common::{engines, init_tracing, robot_call};
use huikuan_core::Dialect;
use huikuan_dialer::session::{CallRecord, RobotCallConfig};
use huikuan_dialer::sim::{HeardCall, Simulator};
use huikuan_dialer::sip::{SipAgent, Trunk, TrunkConfig};
use huikuan_dialogue::conversation::Engine;
use huikuan_speech::SpeechEngines;
use std::sync::Arc;
use std::time::Duration;

struct Rig {
    sim: Arc<Simulator>,
    trunk: Trunk,
    engines: SpeechEngines,
    dialogue: Engine,
    recordings: tempfile::TempDir,
}

async fn rig() -> Rig {
    init_tracing();
    let engines = engines();
    let sim = common::simulator(&engines).await;
    let agent = SipAgent::start("127.0.0.1:0".parse().unwrap(), "huikuan-test", None)
        .await
        .unwrap();
    let trunk = Trunk::new(
        TrunkConfig {
            max_concurrent: 3,
            calls_per_second: 20.0,
            ring_timeout_secs: 4,
            ..TrunkConfig::new("sim", &sim.sip_addr().to_string(), "4008001234")
        },
        agent,
    )
    .unwrap();
    Rig {
        sim,
        trunk,
        engines,
        dialogue: Engine::builtin(),
        recordings: tempfile::tempdir().unwrap(),
    }
}

async fn call(rig: &Rig, number: &str, dialect: Dialect) -> (CallRecord, Option<HeardCall>) {
    // Unoptimised test builds with both ends' recognizers on two cores:
    // give the simulated debtors time to answer.
    let config = RobotCallConfig {
        silence_timeout_ms: 12_000,
        ..Default::default()
    };
    let report = robot_call(
        &rig.trunk,
        &rig.engines,
        &rig.dialogue,
        number,
        dialect,
        config,
        rig.recordings.path(),
    )
    .await;
    // The simulator files its record when its side of the call is over.
    let mut heard = None;
    for _ in 0..300 {
        heard = rig
            .sim
            .calls()
            .into_iter()
            .find(|c| c.number.ends_with(number));
        if heard.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "simulator heard ({number}): {:?}\nrobot response ms {:?}, simulator measured {:?} (heard {:?}), barge-in stop ms {:?} (simulator {:?}), onsets resumed {}, echo {:?}",
        heard.as_ref().map(|h| h.heard_text()),
        report.figures.response_ms,
        heard.as_ref().map(|h| h.response_ms.clone()),
        heard.as_ref().map(|h| h.heard_response_ms.clone()),
        report.figures.barge_in_stop_ms,
        heard.as_ref().map(|h| h.barge_in_stop_ms.clone()),
        report.figures.onsets_resumed,
        report.figures.echo
    );
    (report, heard)
}

/// The call's recording is a stereo WAV in `dir`, under a name that says
/// nothing of whom was called.
fn assert_recording(report: &CallRecord, dir: &std::path::Path, number: &str) {
    let name = report.recording.as_ref().expect("a recording path");
    assert!(!name.contains(number), "{name}");
    let r = hound::WavReader::open(dir.join(name)).expect("a playable WAV");
    let spec = r.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 8000));
    assert!(r.duration() > 8000, "more than a second of call");
}

/// Every persona, run as one small campaign (three calls at a time, as a
/// dialer worker would).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_persona_ends_with_the_right_disposition() {
    let rig = rig().await;
    let cases: &[(&str, Dialect, &str)] = &[
        ("13800000001", Dialect::Mandarin, "promise_to_pay"),
        ("13800000002", Dialect::Sichuanese, "wrong_party"),
        ("13800000003", Dialect::Mandarin, "busy"),
        ("13800000004", Dialect::Mandarin, "no_answer"),
        ("13800000005", Dialect::Mandarin, "powered_off"),
        ("13800000006", Dialect::Mandarin, "no_answer"),
        ("13800000007", Dialect::Cantonese, "handed_to_agent"),
        ("13800000008", Dialect::Mandarin, "refused"),
        ("13800000009", Dialect::Mandarin, "dropped"),
        ("13800000010", Dialect::Sichuanese, "promise_to_pay"),
        ("13800000011", Dialect::Mandarin, "invalid_number"),
        ("13800000012", Dialect::Mandarin, "promise_to_pay"),
    ];
    let results = futures::future::join_all(
        cases
            .iter()
            .map(|(number, dialect, _)| call(&rig, number, *dialect)),
    )
    .await;
    let mut wrong = Vec::new();
    for ((number, _, want), (report, heard)) in cases.iter().zip(&results) {
        if report.disposition.as_str() != *want {
            wrong.push(format!("{number}: {} (want {want})", report.disposition));
        }
        let answered = heard.as_ref().is_some_and(|h| h.answered);
        if answered {
            assert_recording(report, rig.recordings.path(), number);
        }
        match *number {
            "13800000001" => {
                let o = report.outcome.as_ref().unwrap();
                assert_eq!(o.promise_date, "2026-12-02".parse().ok());
                // "三千五" said, more than the 3,250.50 overdue: a promise of all of it.
                assert_eq!(o.promise_amount, "3250.5".parse().ok());
                // The simulator timed the robot's replies both as they
                // arrived and as its phone played them; a reply is heard
                // no earlier than its first packet arrives.
                let h = heard.as_ref().unwrap();
                assert!(!h.response_ms.is_empty(), "replies timed on arrival");
                assert!(!h.heard_response_ms.is_empty(), "replies timed as heard");
                assert!(
                    h.heard_response_ms.iter().min() >= h.response_ms.iter().min(),
                    "heard {:?} before arriving {:?}",
                    h.heard_response_ms,
                    h.response_ms
                );
            }
            "13800000002" => {
                let heard = heard.as_ref().unwrap().heard_text();
                for secret in ["逾期", "消费贷", "三千", "3250", "3,250"] {
                    assert!(
                        !heard.contains(secret),
                        "wrong party heard '{secret}': {heard}"
                    );
                }
                assert!(!report.outcome.as_ref().unwrap().debt_disclosed);
            }
            "13800000007" => assert_eq!(
                report.outcome.as_ref().unwrap().handoff_reason.as_deref(),
                Some("request_human")
            ),
            "13800000010" => {
                assert!(
                    !report.figures.barge_in_stop_ms.is_empty(),
                    "the robot was cut in on"
                );
                assert!(report.transcript.iter().any(|l| l.interrupted));
                // Timed from the debtor's side too.
                assert!(
                    !heard.as_ref().unwrap().barge_in_stop_ms.is_empty(),
                    "the simulator timed the robot falling silent"
                );
                let o = report.outcome.as_ref().unwrap();
                assert_eq!(o.promise_date, "2026-11-25".parse().ok());
                assert_eq!(o.promise_amount, "3000".parse().ok());
            }
            "13800000012" => {
                // The robot's voice came back loud enough to be heard as
                // speech, and was cancelled well below it.
                let echo = report.figures.echo.expect("echo figures");
                assert!(echo.returned_dbfs > -45.0, "no echo came back: {echo:?}");
                assert!(
                    echo.residual_dbfs < echo.returned_dbfs - 15.0,
                    "echo not cancelled: {echo:?}"
                );
                assert!(
                    report.figures.barge_in_stop_ms.is_empty()
                        && !report.transcript.iter().any(|l| l.interrupted),
                    "the robot cut itself off on its own echo"
                );
                let o = report.outcome.as_ref().unwrap();
                assert_eq!(o.promise_date, "2026-12-02".parse().ok());
                // "三千五" said, more than the 3,250.50 overdue: a promise of all of it.
                assert_eq!(o.promise_amount, "3250.5".parse().ok());
            }
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "wrong dispositions: {wrong:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rig.sim.open_dialogs(), 0, "every dialog ended");
}
