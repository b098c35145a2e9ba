//! `huikuan console`: the web console alone (the same one `huikuan serve`
//! runs beside the orchestrator).

use crate::config::Config;
use anyhow::Context;
use huikuan_console::Console;
use huikuan_store::Store;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    crate::datadir::prepare(&config.data_dir)?;
    let _lock = if config.database_url.is_empty() {
        Some(crate::datadir::DataDirLock::take(&config.data_dir)?)
    } else {
        None
    };
    let store = Store::connect(&config.database_url()?).await?;
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        crate::serve::shutdown_signal().await;
        on_signal.cancel();
    });
    start(&config, store.clone(), stop).await?.1.await??;
    store.close().await?;
    Ok(ExitCode::SUCCESS)
}

/// Binds the console's port and serves it until `stop`; the task's handle.
pub async fn start(
    config: &Config,
    store: Store,
    stop: CancellationToken,
) -> anyhow::Result<(Console, tokio::task::JoinHandle<anyhow::Result<()>>)> {
    let cfg = config.console.clone();
    let tls = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => Some(huikuan_console::tls::ConsoleTls::from_files(cert, key)?),
        _ => None,
    };
    let console = Console::new(store, cfg.clone(), tls.is_some())?;
    console.set_recordings(config.recordings_dir());
    let live = tokio::task::block_in_place(|| crate::qa::LiveQuality::from_config(config))?;
    console.bridge().inspect_live(std::sync::Arc::new(live));
    let listener = std::net::TcpListener::bind(cfg.listen)
        .with_context(|| format!("console.listen: binding {}", cfg.listen))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let addr = listener.local_addr()?;
    tracing::info!(url = %format!("{scheme}://{addr}/"), "console ready");
    if console.store().users().await?.is_empty() {
        tracing::warn!(
            "no console users yet: add the first admin with `huikuan user add NAME --role admin`"
        );
    }
    let served = console.clone();
    Ok((
        console,
        tokio::spawn(async move { served.serve(listener, tls, stop.cancelled_owned()).await }),
    ))
}

/// The console as the orchestrator's agent desk: handed-over calls queue
/// at its ACD.
pub struct ConsoleDesk(pub Console);

impl huikuan_orchestrator::AgentDesk for ConsoleDesk {
    fn queue(&self, call: huikuan_core::handoff::QueuedCall) -> huikuan_orchestrator::DeskLine {
        let (to_desk, from_desk) = self.0.queue_call(call);
        huikuan_orchestrator::DeskLine { to_desk, from_desk }
    }

    fn room(&self) -> huikuan_store::AgentRoom {
        self.0.agent_room()
    }
}
