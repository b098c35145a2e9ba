//! `huikuan serve`: the all-in-one process: the orchestrator (gRPC), the
//! Speech service on the same port, the web console on its own, and a
//! quality-inspection worker at low priority.

use crate::config::Config;
use anyhow::Context;
use huikuan_orchestrator::OrchestratorConfig;
use huikuan_store::Store;
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    crate::datadir::prepare(&config.data_dir)?;
    let lock = crate::datadir::DataDirLock::take(&config.data_dir)?;
    tracing::info!(lock = %lock.path().display(), "data directory taken");
    let url = config.database_url()?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("opening database {}", redact(&url)))?;
    tracing::info!(database = %redact(&url), "database ready");
    let interrupted = store.mark_interrupted_imports().await?;
    if interrupted > 0 {
        tracing::warn!(
            runs = interrupted,
            "imports whose process died are recorded as interrupted (huikuan import runs)"
        );
    }
    let mut orch = OrchestratorConfig::new(config.server.token.clone());
    orch.policy = config.policy()?;
    orch.default_lease = Duration::from_secs(config.dispatch.lease_seconds);
    orch.recordings = Some(config.recordings_dir());
    orch.tls = config.server_tls()?;
    orch.insecure = config.server.insecure;
    config
        .planning
        .resolve()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    orch.planning = std::sync::Arc::new(config.planning.clone());
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("binding {}", config.server.listen))?;
    let (mut extra, recognizer) = speech_services(&config);
    let stop = tokio_util::sync::CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        on_signal.cancel();
    });
    let (desk, console) = crate::console::start(&config, store.clone(), stop.clone()).await?;
    match (config.qa.in_serve, recognizer) {
        (true, Some(recognizer)) => {
            crate::qa::spawn_worker(&config, store.clone(), recognizer, stop.clone())?
        }
        (true, None) => {
            tracing::error!("quality inspection unavailable: the recognizer did not load")
        }
        (false, _) => {
            tracing::info!("quality inspection left to qa-worker processes (qa.in_serve = false)")
        }
    }
    extra.desk = Some(std::sync::Arc::new(crate::console::ConsoleDesk(desk)));
    let served = huikuan_orchestrator::serve_with(
        store.clone(),
        orch,
        listener,
        stop.clone().cancelled_owned(),
        extra,
    )
    .await;
    stop.cancel();
    match console.await {
        Ok(Err(e)) => tracing::error!(error = %e, "console stopped with an error"),
        Err(e) => tracing::error!(error = %e, "console task failed"),
        Ok(Ok(())) => {}
    }
    served?;
    store.close().await?;
    Ok(ExitCode::SUCCESS)
}

/// The Speech service on the same port, behind the same token, when its
/// models load; otherwise the orchestrator runs alone and says why. The
/// recognizer is returned for the quality inspection to share.
fn speech_services(
    config: &Config,
) -> (
    huikuan_orchestrator::ExtraServices,
    Option<std::sync::Arc<dyn huikuan_speech::Recognizer>>,
) {
    use huikuan_proto::pb;
    use huikuan_speech::service::SpeechService;
    let mut extra = huikuan_orchestrator::ExtraServices::default();
    if !config.speech.enabled {
        tracing::info!("speech service disabled (speech.enabled = false)");
        return (extra, None);
    }
    let mut recognizer = None;
    let loaded = tokio::task::block_in_place(|| config.speech.engines());
    match loaded {
        Ok(engines) => {
            tracing::info!(
                recognizer = %engines.pool.recognizer().describe(),
                "speech service ready"
            );
            recognizer = Some(engines.pool.recognizer().clone());
            let auth = huikuan_orchestrator::auth::BearerAuth::new(&config.server.token);
            extra.routes =
                extra
                    .routes
                    .add_service(pb::speech_server::SpeechServer::with_interceptor(
                        SpeechService::new(engines),
                        auth,
                    ));
        }
        Err(e) => tracing::error!(error = %e, "speech service unavailable"),
    }
    (extra, recognizer)
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown requested; finishing in-flight calls");
}

/// A database URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
