//! `huikuan qa FILE.wav --dialect D [--json]`: one call recording
//! inspected from the command line, as the QA robot inspects every call.
//! With `--json` it prints one object, a stable contract for scripts:
//! `{"score": 0-100, "flags": [{"type", "channel", "start_ms", "end_ms",
//! "evidence", "rule"}], ...}` (more fields may follow).

use crate::config::Config;
use crate::speech::{parse_dialect, DecodeArgs};
use anyhow::Context;
use huikuan_qa::worker::{CallInspector, WorkerOptions};
use huikuan_qa::{inspect, CallFacts, Listener, Recording};
use huikuan_speech::Recognizer;
use huikuan_store::Store;
use indicatif::ProgressBar;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct QaArgs {
    /// A stereo WAV: channel 1 the collector (robot or agent), channel 2
    /// the debtor.
    file: PathBuf,
    /// The lender's name, which the collector must say (without it, only
    /// the rest of the identity statement is checked).
    #[arg(long)]
    lender: Option<String>,
    /// The call's day, YYYY-MM-DD (for dates the debtor names).
    #[arg(long)]
    day: Option<chrono::NaiveDate>,
    /// Print one JSON object instead of a report.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    decode: DecodeArgs,
}

pub fn qa(config: Config, args: QaArgs) -> anyhow::Result<ExitCode> {
    let dialect = parse_dialect(args.decode.dialect.as_deref().unwrap_or("mandarin"))?;
    let recording = Recording::read(&args.file)?;
    let speech = args.decode.speech_config(&config);
    let rules = config.qa_rules()?;
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar.set_message("loading the recognizer");
    let listener = listener(&speech, speech.recognizer()?)?;
    let nlu = config.dialogue_engine()?.nlu;
    bar.set_message(format!(
        "listening to {:.0} s of call",
        recording.duration_ms() as f64 / 1000.0
    ));
    let heard = listener
        .listen(
            &recording,
            dialect,
            &huikuan_qa::listen::RobotWords::default(),
        )
        .with_context(|| args.file.display().to_string())?;
    let facts = CallFacts {
        lender: args.lender.clone(),
        day: args.day,
    };
    let result = inspect(&heard, rules.get(dialect), &nlu, &facts, &config.qa);
    bar.finish_and_clear();
    if args.json {
        println!("{}", huikuan_qa::inspect::to_json(&result, &heard)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: score {:.0}, {} flag(s)",
        args.file.display(),
        result.score,
        result.flags.len()
    );
    for f in &result.flags {
        println!(
            "  {:>7.1}-{:<7.1} {:<6} {:<18} {:<18} {}",
            f.start_ms as f64 / 1000.0,
            f.end_ms as f64 / 1000.0,
            f.speaker,
            f.kind,
            f.rule,
            f.evidence
        );
    }
    println!("transcript:");
    for u in &heard.utterances {
        println!(
            "  {:>7.1} {:<6} {}",
            u.start_ms as f64 / 1000.0,
            u.speaker,
            u.text
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct EvalsetArgs {
    /// Where to write calls/*.wav and labels.jsonl.
    #[arg(long, short)]
    out: PathBuf,
    /// Calls of each case per dialect and kind of debtor.
    #[arg(long, default_value_t = 2)]
    per_case: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The words of the calls.
    #[arg(long, default_value = "tests/data/qa/evalset.toml")]
    script: PathBuf,
    /// Real recordings per dialect (DIR/mandarin/*.wav, ...).
    #[arg(long, default_value = "../shared/testdata/speech")]
    clips: PathBuf,
}

pub fn evalset(config: Config, args: EvalsetArgs) -> anyhow::Result<ExitCode> {
    use huikuan_qa::evalset::{generate, Clips, EvalScript};
    let text =
        std::fs::read_to_string(&args.script).with_context(|| args.script.display().to_string())?;
    let script =
        EvalScript::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.script.display()))?;
    let clips = Clips::load(&args.clips).map_err(anyhow::Error::msg)?;
    let synth = config.speech.tts_engine()?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} making calls {pos}/{len} [{bar:30}]")
            .expect("valid template"),
    );
    let calls = generate(
        &script,
        &synth,
        &clips,
        &args.out,
        args.per_case,
        args.seed,
        |n, total| {
            bar.set_length(total as u64);
            bar.set_position(n as u64);
        },
    )
    .map_err(anyhow::Error::msg)?;
    bar.finish_and_clear();
    let seconds: u64 = calls.iter().map(|c| c.duration_ms).sum::<u64>() / 1000;
    println!(
        "{}: {} calls, {} s of audio, labels in labels.jsonl",
        args.out.display(),
        calls.len(),
        seconds
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct EvalQaArgs {
    /// A set written by `huikuan dev qa-evalset`.
    dir: PathBuf,
    /// Only the first N calls.
    #[arg(long)]
    limit: Option<usize>,
    /// Print every mistake (missed labels, false flags).
    #[arg(long)]
    mistakes: bool,
    #[command(flatten)]
    decode: DecodeArgs,
}

pub fn eval_qa(config: Config, args: EvalQaArgs) -> anyhow::Result<ExitCode> {
    use huikuan_qa::evalset::LabelledCall;
    use huikuan_qa::evaluation::EvalReport;
    let labels_path = args.dir.join("labels.jsonl");
    let text =
        std::fs::read_to_string(&labels_path).with_context(|| labels_path.display().to_string())?;
    let mut calls = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let call: LabelledCall = serde_json::from_str(line)
            .with_context(|| format!("{}:{}", labels_path.display(), i + 1))?;
        calls.push(call);
    }
    calls.truncate(args.limit.unwrap_or(usize::MAX));
    let speech = args.decode.speech_config(&config);
    let rules = config.qa_rules()?;
    let listener = listener(&speech, speech.recognizer()?)?;
    let nlu = config.dialogue_engine()?.nlu;
    let bar = ProgressBar::new(calls.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} inspecting {pos}/{len} [{bar:30}] {msg}",
        )
        .expect("valid template"),
    );
    let mut report = EvalReport::default();
    let (mut audio_ms, started) = (0u64, std::time::Instant::now());
    for call in &calls {
        let path = args.dir.join(&call.file);
        let recording = Recording::read(&path)?;
        let heard = listener
            .listen(
                &recording,
                call.dialect,
                &huikuan_qa::listen::RobotWords::default(),
            )
            .with_context(|| path.display().to_string())?;
        let facts = CallFacts {
            lender: Some(call.lender.clone()),
            day: None,
        };
        let result = inspect(&heard, rules.get(call.dialect), &nlu, &facts, &config.qa);
        report.add(call, &result.flags);
        audio_ms += recording.duration_ms();
        bar.inc(1);
        bar.set_message(format!(
            "{:.1}x real time",
            audio_ms as f64 / 1000.0 / started.elapsed().as_secs_f64()
        ));
    }
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    if args.mistakes {
        for m in &report.mistakes {
            println!("{m}");
        }
    }
    print!("{}", report.table());
    println!(
        "{} calls, {:.0} s of stereo audio inspected in {:.0} s: {:.1}x real time ({})",
        report.calls,
        audio_ms as f64 / 1000.0,
        wall,
        audio_ms as f64 / 1000.0 / wall,
        listener.recognizer.describe()
    );
    Ok(ExitCode::SUCCESS)
}

/// What hears recordings: `recognizer` with the speech settings' VAD,
/// packs and prompts.
fn listener(
    speech: &huikuan_speech::SpeechConfig,
    recognizer: Arc<dyn Recognizer>,
) -> anyhow::Result<Listener> {
    Ok(Listener {
        recognizer,
        vad: speech.vad(),
        packs: speech.packs()?,
        use_prompt: speech.use_prompt,
    })
}

/// The inspection as the workers run it, on `recognizer`.
fn call_inspector(
    config: &Config,
    recognizer: Arc<dyn Recognizer>,
) -> anyhow::Result<CallInspector> {
    Ok(CallInspector {
        listener: listener(&config.speech, recognizer)?,
        rules: config.qa_rules()?,
        nlu: config.dialogue_engine()?.nlu,
        config: config.qa.clone(),
        recordings: config.recordings_dir(),
        lender: Some(config.dialer.platform.clone()).filter(|p| !p.trim().is_empty()),
    })
}

fn wall_clock() -> huikuan_qa::worker::Clock {
    Arc::new(|| chrono::Utc::now().timestamp_millis())
}

/// The worker `huikuan serve` runs beside live calls, at low priority.
pub fn spawn_worker(
    config: &Config,
    store: Store,
    recognizer: Arc<dyn Recognizer>,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let inspector = tokio::task::block_in_place(|| call_inspector(config, recognizer))?;
    let options = WorkerOptions {
        id: format!("serve-{}", std::process::id()),
        lease: std::time::Duration::from_secs(config.qa.lease_seconds),
        idle_wait: std::time::Duration::from_secs(2),
        low_priority: true,
    };
    tracing::info!(worker = %options.id, "quality inspection running");
    tokio::spawn(huikuan_qa::worker::run(
        store,
        Arc::new(inspector),
        wall_clock(),
        options,
        stop.cancelled_owned(),
    ));
    Ok(())
}

#[derive(clap::Args)]
pub struct QaWorkerArgs {
    /// This worker's name in the queue (default: qa-HOST-PID).
    #[arg(long)]
    id: Option<String>,
}

/// `huikuan qa-worker`: inspects queued calls until stopped.
pub async fn worker(config: Config, args: QaWorkerArgs) -> anyhow::Result<ExitCode> {
    let url = config.database_url()?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("opening database {}", crate::serve::redact(&url)))?;
    let recognizer = tokio::task::block_in_place(|| config.speech.recognizer())?;
    let inspector = tokio::task::block_in_place(|| call_inspector(&config, recognizer))?;
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let options = WorkerOptions {
        id: args
            .id
            .unwrap_or_else(|| format!("qa-{host}-{}", std::process::id())),
        lease: std::time::Duration::from_secs(config.qa.lease_seconds),
        idle_wait: std::time::Duration::from_secs(2),
        low_priority: false,
    };
    tracing::info!(worker = %options.id, "quality inspection worker running");
    huikuan_qa::worker::run(
        store.clone(),
        Arc::new(inspector),
        wall_clock(),
        options,
        crate::serve::shutdown_signal(),
    )
    .await;
    store.close().await?;
    Ok(ExitCode::SUCCESS)
}

/// The quality inspection's live check, as the console's live inspector
/// of handed-over calls: the agent's and the debtor's lines are checked
/// as they come (the robot's part is the robot's script, inspected from
/// the recording).
pub struct LiveQuality(pub huikuan_qa::live::LiveInspection);

struct LiveQualityCall(huikuan_qa::live::LiveCall);

impl LiveQuality {
    pub fn from_config(config: &Config) -> anyhow::Result<LiveQuality> {
        Ok(LiveQuality(huikuan_qa::live::LiveInspection::new(
            config.qa_rules()?,
            config.dialogue_engine()?.nlu,
        )))
    }
}

impl huikuan_console::live_quality::LiveInspector for LiveQuality {
    fn start(
        &self,
        call: &huikuan_core::handoff::QueuedCall,
    ) -> Box<dyn huikuan_console::live_quality::LiveListener> {
        let tz: chrono_tz::Tz = call.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
        let day = chrono::Utc::now().with_timezone(&tz).date_naive();
        let mut live = LiveQualityCall(self.0.start(call.dialect, day));
        // What the debtor said to the robot counts (who they confirmed
        // they are); flags of the robot's part are the recording's.
        for line in &call.transcript {
            let _ = huikuan_console::live_quality::LiveListener::hear(&mut live, line);
        }
        Box::new(live)
    }
}

impl huikuan_console::live_quality::LiveListener for LiveQualityCall {
    fn hear(
        &mut self,
        line: &huikuan_core::call::TranscriptLine,
    ) -> Vec<huikuan_console::live_quality::LiveFlag> {
        use huikuan_core::call::Speaker as Said;
        let speaker = match line.speaker {
            Said::Agent => huikuan_qa::Speaker::Agent,
            Said::Debtor => huikuan_qa::Speaker::Debtor,
            Said::Robot | Said::Announcement => return Vec::new(),
        };
        let said = huikuan_qa::Utterance {
            speaker,
            start_ms: line.at_ms,
            end_ms: line.at_ms,
            text: line.text.clone(),
        };
        self.0
            .hear(&said)
            .into_iter()
            .map(|f| huikuan_console::live_quality::LiveFlag {
                kind: f.kind.as_str().to_string(),
                channel: f.speaker.as_str().to_string(),
                at_ms: f.start_ms,
                rule: f.rule,
                evidence: f.evidence,
                raised_at_ms: 0,
            })
            .collect()
    }
}
