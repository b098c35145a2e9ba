//! Running the orchestrator: gRPC services, the lease-expiry sweeper and
//! graceful shutdown.

use crate::auth::BearerAuth;
use crate::config::OrchestratorConfig;
use crate::events::EventBus;
use crate::pb::{self, event::Kind, orchestrator_server::OrchestratorServer};
use crate::service::OrchestratorService;
use huikuan_store::Store;
use std::future::Future;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// Other gRPC services to serve on the same port (the all-in-one binary
/// adds the speech service), with their descriptors for reflection. They
/// bring their own authentication.
#[derive(Default)]
pub struct ExtraServices {
    pub routes: tonic::service::Routes,
    pub descriptor_sets: Vec<&'static [u8]>,
    /// The agent desk handed-over calls are queued at (the console's ACD).
    pub desk: Option<crate::handoff::SharedDesk>,
}

/// Serves until `shutdown` resolves, then stops accepting, ends open event
/// streams and the sweeper, and lets in-flight calls finish.
pub async fn serve(
    store: Store,
    config: OrchestratorConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    serve_with(store, config, listener, shutdown, ExtraServices::default()).await
}

/// [`serve`] plus `extra` services.
pub async fn serve_with(
    store: Store,
    config: OrchestratorConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
    extra: ExtraServices,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !config.token.is_empty(),
        "an API token is required (set server.token or HUIKUAN_TOKEN)"
    );
    crate::auth::check_token(&config.token).map_err(|e| anyhow::anyhow!("server.token: {e}"))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() && config.tls.is_none() && !config.insecure {
        anyhow::bail!(
            "server.listen: {addr} is reachable from other hosts, and without TLS the token and every debtor's data would cross the network in the clear: set server.tls_cert and server.tls_key (or server.insecure = true on a network you trust)"
        );
    }
    let events = EventBus::default();
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<OrchestratorServer<OrchestratorService>>()
        .await;
    let mut reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    for set in extra.descriptor_sets {
        reflection = reflection.register_encoded_file_descriptor_set(set);
    }
    let reflection = reflection.build_v1()?;
    let service = OrchestratorService::new(store.clone(), config.clone(), events.clone())
        .with_desk(extra.desk);
    let api = OrchestratorServer::with_interceptor(service, BearerAuth::new(&config.token));

    let replanner = tokio::spawn(crate::planning::replanner::run(
        store.clone(),
        events.clone(),
        config.planning.clone(),
    ));
    let drafter = tokio::spawn(crate::planning::drafts::run(
        store.clone(),
        config.planning.clone(),
        events.closed(),
    ));
    let sweeper = tokio::spawn(sweep_expired_leases(
        store,
        config.expiry_sweep,
        events.clone(),
    ));
    let bus = events.clone();
    let shutdown = async move {
        shutdown.await;
        bus.close();
    };
    tracing::info!(
        %addr,
        tls = config.tls.is_some(),
        client_certificates = config.tls.as_ref().is_some_and(|t| t.requires_client_certificates()),
        "orchestrator listening"
    );
    // Streams per connection are bounded too, so a client that opens
    // thousands at once waits on its side instead of filling our memory.
    let mut builder = tonic::transport::Server::builder().max_concurrent_streams(Some(512));
    if let Some(tls) = &config.tls {
        builder = builder.tls_config(tls.config())?;
    }
    let routes = extra
        .routes
        .add_service(health_service)
        .add_service(reflection)
        .add_service(api);
    let result = builder
        .add_routes(routes)
        .serve_with_incoming_shutdown(no_delay(listener), shutdown)
        .await;
    events.close();
    let _ = sweeper.await;
    let _ = replanner.await;
    let _ = drafter.await;
    tracing::info!("orchestrator stopped");
    Ok(result?)
}

/// Accepted connections with Nagle's algorithm off: a LeaseCalls reply
/// spans several TCP segments, and without this the second one waits for
/// the client's delayed ACK (about 40 ms on Linux) on every call.
fn no_delay(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        if let Err(e) = conn.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
        Ok(conn)
    })
}

async fn sweep_expired_leases(store: Store, every: std::time::Duration, events: EventBus) {
    let mut stop = events.closed();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|c| *c) => return,
        }
        if let Err(e) = store.fold_count_deltas().await {
            tracing::warn!(error = %e, "folding campaign count deltas failed");
        }
        match store.expire_leases(chrono::Utc::now()).await {
            Ok(expired) => {
                if !expired.is_empty() {
                    tracing::info!(
                        attempts = expired.len(),
                        "leases expired; attempts re-queued"
                    );
                }
                for (attempt_id, campaign_id) in expired {
                    tracing::debug!(%attempt_id, "lease expired; attempt re-queued");
                    events.publish(
                        &campaign_id,
                        Kind::LeaseExpired(pb::LeaseExpired { attempt_id }),
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "lease expiry sweep failed"),
        }
    }
}
