//! What the orchestrator needs to run.

use huikuan_store::dispatch::DispatchPolicy;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct OrchestratorConfig {
    /// Every gRPC call must present this bearer token.
    pub token: String,
    /// Lease length when a worker does not ask for one.
    pub default_lease: Duration,
    /// Longest lease a worker may ask for.
    pub max_lease: Duration,
    /// How often expired leases are swept back into the queue.
    pub expiry_sweep: Duration,
    pub policy: DispatchPolicy,
    /// Rows per transaction of an `ImportAccounts` stream.
    pub import_batch_rows: usize,
    /// Where recordings are kept: reported paths must lie inside it.
    pub recordings: Option<std::path::PathBuf>,
    /// TLS for the gRPC port; required to listen beyond loopback unless
    /// `insecure`.
    pub tls: Option<crate::tls::ServerTls>,
    /// Plaintext beyond loopback is allowed (a private network one trusts).
    pub insecure: bool,
    /// Admission limits per kind of request; none: sized to the store's
    /// connections (`Limits::for_connections`).
    pub limits: Option<crate::gate::Limits>,
    /// How campaigns are planned (re-planning after outcomes uses it).
    pub planning: std::sync::Arc<crate::planning::PlanSettings>,
}

impl OrchestratorConfig {
    pub fn new(token: impl Into<String>) -> Self {
        OrchestratorConfig {
            token: token.into(),
            default_lease: Duration::from_secs(120),
            max_lease: Duration::from_secs(3600),
            expiry_sweep: Duration::from_secs(1),
            policy: DispatchPolicy::default(),
            import_batch_rows: huikuan_store::import::DEFAULT_BATCH_ROWS,
            recordings: None,
            tls: None,
            insecure: false,
            limits: None,
            planning: Default::default(),
        }
    }
}
