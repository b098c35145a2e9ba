//! `huikuan`: one binary for every Huikuan job.
//!
//! `serve` runs the whole system in one process; the other subcommands are
//! the operator's tools (import, campaigns, accounts) and developer tools
//! (synthetic portfolios, load generators).

/// Imports, statement building and the call pipelines allocate many small
/// buffers across threads; mimalloc serves them with far less contention
/// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc asks for transparent huge pages on the memory it reserves.
/// Each first touch of such memory then has the kernel zero a whole 2 MiB
/// page, again after every purge: planning a million accounts spent a
/// third of its time in the kernel zeroing pages (4-5 s of system time),
/// 1 s without them. The process's own allocations do not need them
/// (the speech models are allocated by their C libraries, which do not
/// ask for them), so they are turned off for the process, first thing.
/// False when the kernel refuses (an old kernel without the flag: memory
/// works as before).
fn no_transparent_huge_pages() -> bool {
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process's
    // memory; it takes no pointers.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0 }
}

mod admin;
mod bench;
mod bench_agents;
mod bench_onset;
mod bench_overload;
mod config;
mod console;
mod datadir;
mod dialer;
mod import;
mod nlu;
mod plan;
mod prompts;
mod qa;
mod script;
mod serve;
mod simulate;
mod speech;
mod spoken;
mod talk;
mod users;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "huikuan",
    version,
    about = "Huikuan (回款): voice debt-collection robot and call-center platform"
)]
struct Cli {
    /// Config file (default: ./huikuan.toml when present).
    #[arg(long, global = true, env = "HUIKUAN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the all-in-one server (gRPC orchestrator on the configured database).
    Serve,
    /// Run the web console alone (agents, supervisors, managers, admins).
    Console,
    /// Manage console users (the first admin is made this way).
    #[command(subcommand)]
    User(users::UserCommand),
    /// Import a CSV or JSON Lines portfolio into a campaign.
    Import(import::ImportArgs),
    /// Make (and approve) a campaign's plan for a day, export it, or explain one account's decision.
    Plan(plan::PlanArgs),
    /// Manage campaigns.
    #[command(subcommand)]
    Campaign(admin::CampaignCommand),
    /// Look at accounts.
    #[command(subcommand)]
    Accounts(admin::AccountsCommand),
    /// Transcribe WAV files: prints FILE<TAB>transcript per line.
    Asr(speech::AsrArgs),
    /// Inspect a call recording (stereo WAV: channel 1 the collector,
    /// channel 2 the debtor): its flags and score.
    Qa(qa::QaArgs),
    /// Inspect the calls queued for quality inspection, until stopped
    /// (any number of workers share the queue).
    QaWorker(qa::QaWorkerArgs),
    /// Score the recognizer on DIR/transcripts.tsv: per-clip and total CER, real-time factor.
    EvalAsr(speech::EvalArgs),
    /// Understand debtor utterances (stdin, one per line) as JSON lines of intent and slots.
    Nlu(nlu::NluArgs),
    /// Talk to the collection robot in text (debtor lines on stdin); prints the outcome JSON.
    Chat(nlu::ChatArgs),
    /// The robot's script (dialects/): check a folder before using it.
    #[command(subcommand)]
    Script(script::ScriptCommand),
    /// Score the NLU on a labelled file: accuracy, macro-F1, slot exact-match per split.
    EvalNlu(nlu::EvalNluArgs),
    /// Score understanding of spoken answers through a telephone line
    /// (tests/data/spoken): intent and slot accuracy, false actions and
    /// false promises per dialect, with the live call's recognizer.
    EvalSpoken(spoken::EvalSpokenArgs),
    /// Load every speech model and voice and report what works.
    CheckModels,
    /// Speak text into a WAV file in a dialect's voice.
    Tts(speech::TtsArgs),
    /// Recorded prompt packs: what to record, install a delivery, what a pack covers.
    #[command(subcommand)]
    Prompts(prompts::PromptsCommand),
    /// Run a dialer worker: lease calls from the orchestrator and place them through the SIP trunk.
    Dialer(dialer::DialerArgs),
    /// Run the debtor simulator: a SIP phone answering as scripted personas.
    Sim(dialer::SimArgs),
    /// Talk to the robot through the microphone and speakers (build with --features talk).
    Talk(talk::TalkArgs),
    /// Developer tools: synthetic data and load generators.
    #[command(subcommand)]
    Dev(bench::DevCommand),
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    // rsipstack logs every SIP message whole (numbers included) at info:
    // that is for HUIKUAN_LOG=rsipstack=info when debugging a trunk.
    let filter = EnvFilter::try_from_env("HUIKUAN_LOG").unwrap_or_else(|_| {
        EnvFilter::new(
            "info,sqlx=warn,sea_orm=warn,h2=warn,tower=warn,whisper_rs=warn,rsipstack=warn",
        )
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> std::process::ExitCode {
    let huge_pages_off = no_transparent_huge_pages();
    let cli = Cli::parse();
    init_tracing();
    if !huge_pages_off {
        tracing::debug!("transparent huge pages stay on for this process");
    }
    datadir::private_files();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let config = config::Config::load(cli.config.as_deref())?;
        match cli.command {
            Command::Serve => serve::run(config).await,
            Command::Console => console::run(config).await,
            Command::User(cmd) => users::run(config, cmd).await,
            Command::Import(args) => import::run(config, args).await,
            Command::Campaign(cmd) => admin::campaign(config, cmd).await,
            Command::Plan(args) => plan::run(config, args).await,
            Command::Accounts(cmd) => admin::accounts(config, cmd).await,
            Command::Dev(cmd) => bench::run(config, cmd).await,
            Command::Dialer(args) => dialer::dialer(config, args).await,
            Command::Sim(args) => dialer::sim(config, args).await,
            Command::Talk(args) => talk::run(config, args).await,
            Command::Asr(args) => tokio::task::block_in_place(|| speech::asr(config, args)),
            Command::Qa(args) => tokio::task::block_in_place(|| qa::qa(config, args)),
            Command::QaWorker(args) => qa::worker(config, args).await,
            Command::Nlu(args) => tokio::task::block_in_place(|| nlu::run(args)),
            Command::Chat(args) => tokio::task::block_in_place(|| nlu::chat(args)),
            Command::Script(cmd) => tokio::task::block_in_place(|| script::run(cmd)),
            Command::EvalNlu(args) => tokio::task::block_in_place(|| nlu::eval(args)),
            Command::CheckModels => tokio::task::block_in_place(|| speech::check_models(config)),
            Command::Tts(args) => tokio::task::block_in_place(|| speech::tts(config, args)),
            Command::Prompts(cmd) => tokio::task::block_in_place(|| prompts::run(config, cmd)),
            Command::EvalAsr(args) => {
                tokio::task::block_in_place(|| speech::eval_asr(config, args))
            }
            Command::EvalSpoken(args) => tokio::task::block_in_place(|| spoken::run(config, args)),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn transparent_huge_pages_are_off_once_asked() {
        assert!(super::no_transparent_huge_pages(), "the kernel refused");
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let thp = status
            .lines()
            .find_map(|l| l.strip_prefix("THP_enabled:"))
            .map(str::trim);
        assert_eq!(thp, Some("0"), "THP_enabled line of /proc/self/status");
    }
}
