//! `huikuan dialer` (the worker placing robot calls) and `huikuan sim`
//! (the debtor simulator answering them).

use crate::config::Config;
use clap::Args;
use huikuan_dialer::sim::{PersonaSet, Simulator};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct DialerArgs {
    /// Stop after this many seconds with nothing left to call (default: run until SIGINT/SIGTERM).
    #[arg(long)]
    pub idle_exit_secs: Option<u64>,
    /// Print each call's transcript and outcome as it ends.
    #[arg(long)]
    pub print_calls: bool,
}

#[derive(Args)]
pub struct SimArgs {
    /// SIP address to answer on (UDP).
    #[arg(long, default_value = "127.0.0.1:5090")]
    pub listen: SocketAddr,
    /// Directory of persona TOML files.
    #[arg(long, default_value = "tests/data/personas")]
    pub personas: PathBuf,
    /// Write one JSON record per call here (what the simulator heard and said).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The day the personas' relative dates (下周三) mean, YYYY-MM-DD,
    /// when the robot calls on another day than today in China.
    #[arg(long)]
    pub today: Option<chrono::NaiveDate>,
}

pub async fn dialer(config: Config, args: DialerArgs) -> anyhow::Result<ExitCode> {
    let engines = config.speech.engines()?;
    let dialogue = config.dialogue_engine()?;
    let recordings = config.recordings_dir();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        crate::serve::shutdown_signal().await;
        stop.cancel();
    });
    let mut dialer_config = config.dialer.clone();
    dialer_config.print_calls |= args.print_calls;
    if args.idle_exit_secs.is_some() {
        dialer_config.idle_exit_secs = args.idle_exit_secs;
    }
    let stats = huikuan_dialer::worker::run(
        dialer_config,
        &config.server.token,
        engines,
        dialogue,
        recordings,
        shutdown,
    )
    .await?;
    println!(
        "dialer: {} calls, {} outcomes reported, {} reports failed",
        stats.calls, stats.reported, stats.report_failures
    );
    Ok(if stats.report_failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub async fn sim(config: Config, args: SimArgs) -> anyhow::Result<ExitCode> {
    let mut personas = PersonaSet::load_dir(&args.personas).map_err(anyhow::Error::msg)?;
    if let Some(today) = args.today {
        personas = personas.on_day(today);
    }
    let engines = config.speech.engines()?;
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out)?;
    }
    let sim = Simulator::start(args.listen, personas.clone(), engines, args.out.clone()).await?;
    println!(
        "sim: {} personas answering on sip:{}",
        personas.len(),
        sim.sip_addr()
    );
    crate::serve::shutdown_signal().await;
    for call in sim.calls() {
        println!(
            "{} {}: answered={} {} heard: {}",
            call.number,
            call.persona,
            call.answered,
            call.ended_by,
            call.heard_text()
        );
    }
    Ok(ExitCode::SUCCESS)
}
