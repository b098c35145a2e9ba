//! What the dialer's live-call tests share: the models, the sample
//! account, the simulator with the test personas, and one robot call.
#![allow(dead_code)]

use chrono::NaiveDate;
use huikuan_core::Dialect;
use huikuan_dialer::call::{CallRequest, Dialer};
use huikuan_dialer::session::{CallRecord, RobotCallConfig};
use huikuan_dialer::sim::{PersonaSet, Simulator};
use huikuan_dialer::sip::Trunk;
use huikuan_dialogue::conversation::{CallAccount, Engine};
use huikuan_speech::SpeechConfig;
use huikuan_speech::SpeechEngines;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// The speech engines, loaded once per test binary (each test gets a
/// handle on the same models and decode budget).
pub fn engines() -> SpeechEngines {
    static ENGINES: std::sync::OnceLock<SpeechEngines> = std::sync::OnceLock::new();
    ENGINES
        .get_or_init(|| {
            SpeechConfig::default()
                .engines()
                .expect("speech models missing: run ./scripts/fetch-models.sh")
        })
        .clone()
}

pub fn account() -> CallAccount {
    serde_json::from_str(&std::fs::read_to_string(repo().join("samples/account.json")).unwrap())
        .unwrap()
}

/// The day the test calls are made (promises are resolved against it).
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

/// The debtor simulator on loopback with every persona of
/// tests/data/personas.
pub async fn simulator(engines: &SpeechEngines) -> Arc<Simulator> {
    let personas = PersonaSet::load_dir(&repo().join("tests/data/personas"))
        .unwrap()
        .on_day(today());
    Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        personas,
        engines.clone(),
        None,
    )
    .await
    .unwrap()
}

/// One robot call to `number` through `trunk` on the sample account,
/// recorded into `recordings`; prints the transcript.
pub async fn robot_call(
    trunk: &Trunk,
    engines: &SpeechEngines,
    dialogue: &Engine,
    number: &str,
    dialect: Dialect,
    config: RobotCallConfig,
    recordings: &Path,
) -> CallRecord {
    let dialer = Dialer {
        trunk,
        engines,
        dialogue,
        config,
        recordings: Some(recordings.to_path_buf()),
    };
    let report = dialer
        .call(CallRequest {
            attempt_id: format!("attempt-{number}"),
            number: number.into(),
            caller_id: None,
            account: account(),
            dialect,
            today: today(),
            handoff: None,
            for_agent: false,
        })
        .await;
    eprintln!(
        "--- {number}: {} ({:?})\n{}",
        report.disposition,
        report.ended_by,
        report.transcript_text()
    );
    report
}
