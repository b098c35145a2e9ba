//! The dialer worker: leases due call attempts from the orchestrator over
//! gRPC, runs up to N calls at once through the trunk, and reports each
//! outcome with its transcript, recording path and measured figures.
//!
//! Crash safety comes from the orchestrator's leases: an outcome is
//! reported as soon as its call ends (and retried while the orchestrator is
//! unreachable, within the lease); a worker that dies leaves its leases to
//! expire, and the attempts go back to the queue.

use crate::call::{CallRequest, Dialer};
use crate::media::agent_leg::AgentLegConfig;
use crate::session::handoff::HandoffLink;
use crate::session::{CallRecord, RobotCallConfig};
use crate::sip::{SipAgent, Trunk, TrunkConfig};
use chrono::{NaiveDate, TimeZone, Utc};
use huikuan_core::handoff::QueuedCall;
use huikuan_core::Dialect;
use huikuan_dialogue::conversation::{CallAccount, Engine};
use huikuan_proto::client;
use huikuan_proto::pb;
use huikuan_speech::SpeechEngines;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// `[dialer]` in huikuan.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialerConfig {
    /// The orchestrator's gRPC address (the token is `server.token`):
    /// `http://` on loopback, `https://` between hosts.
    pub orchestrator: String,
    /// What an `https://` orchestrator is trusted by and shown.
    pub orchestrator_tls: OrchestratorTls,
    pub worker_id: String,
    /// Calls at once (also capped by the trunk's own limit).
    pub max_calls: usize,
    /// Leases must outlast the longest call.
    pub lease_seconds: u32,
    /// Wait between lease requests when nothing was due.
    pub idle_poll_ms: u64,
    /// Local SIP address (UDP).
    pub sip_listen: SocketAddr,
    /// The lender's name as debtors know it (the robot says it).
    pub platform: String,
    /// Recordings directory; relative paths are under the data directory.
    pub recordings: PathBuf,
    pub robot: RobotCallConfig,
    pub trunk: Option<TrunkConfig>,
    /// Print each call's transcript and outcome on stdout as it ends.
    pub print_calls: bool,
    /// Agents' browsers may reach this dialer on loopback (a browser on
    /// the dialer's own host: the demo, the tests).
    pub agent_leg_loopback: bool,
    /// Stop once nothing was due and no call was running for this long
    /// (batch runs, demos); none: run until shut down.
    pub idle_exit_secs: Option<u64>,
}

/// `[dialer.orchestrator_tls]`: PEM files; all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrchestratorTls {
    /// The CA that signed the orchestrator's certificate (default: the
    /// system's roots).
    pub ca: Option<PathBuf>,
    /// This worker's certificate and key, for an orchestrator that asks.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// The name on the orchestrator's certificate, when the address is not it.
    pub domain: Option<String>,
}

impl OrchestratorTls {
    pub fn client(&self) -> anyhow::Result<Option<client::ClientTls>> {
        if self.ca.is_none() && self.cert.is_none() && self.key.is_none() && self.domain.is_none() {
            return Ok(None);
        }
        client::ClientTls::from_files(
            self.ca.as_deref(),
            self.cert.as_deref(),
            self.key.as_deref(),
            self.domain.clone(),
            "dialer.orchestrator_tls",
        )
        .map(Some)
    }
}

impl Default for DialerConfig {
    fn default() -> Self {
        DialerConfig {
            orchestrator: "http://127.0.0.1:50051".into(),
            orchestrator_tls: OrchestratorTls::default(),
            worker_id: format!("dialer-{}", std::process::id()),
            max_calls: 4,
            lease_seconds: 600,
            idle_poll_ms: 1000,
            sip_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            platform: "回款金融".into(),
            recordings: PathBuf::from("recordings"),
            robot: RobotCallConfig::default(),
            trunk: None,
            print_calls: false,
            agent_leg_loopback: true,
            idle_exit_secs: None,
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct WorkerStats {
    pub calls: u64,
    pub reported: u64,
    pub report_failures: u64,
}

/// Everything a call needs, shared by the worker's call tasks.
struct Shared {
    trunk: Trunk,
    engines: SpeechEngines,
    dialogue: Engine,
    robot: RobotCallConfig,
    recordings: PathBuf,
    platform: String,
    worker_id: String,
    print_calls: bool,
    agent_leg: AgentLegConfig,
}

/// Runs until `shutdown`; then finishes the calls in progress.
pub async fn run(
    config: DialerConfig,
    token: &str,
    engines: SpeechEngines,
    dialogue: Engine,
    recordings: PathBuf,
    shutdown: CancellationToken,
) -> anyhow::Result<WorkerStats> {
    let trunk_config = config
        .trunk
        .clone()
        .ok_or_else(|| anyhow::anyhow!("dialer.trunk: no SIP trunk configured"))?;
    let agent = SipAgent::start(config.sip_listen, "huikuan-dialer", None).await?;
    let trunk = Trunk::new(trunk_config, agent)?;
    let tls = config.orchestrator_tls.client()?;
    let mut grpc = client::connect_with(&config.orchestrator, token, tls.as_ref()).await?;
    let shared = Arc::new(Shared {
        trunk,
        engines,
        dialogue,
        robot: config.robot.clone(),
        recordings,
        platform: config.platform.clone(),
        worker_id: config.worker_id.clone(),
        print_calls: config.print_calls,
        agent_leg: AgentLegConfig {
            loopback: config.agent_leg_loopback,
        },
    });
    info!(worker = %config.worker_id, max_calls = config.max_calls, "dialer worker started");
    let mut calls: JoinSet<(bool, bool)> = JoinSet::new();
    let mut stats = WorkerStats::default();
    let max = config.max_calls.max(1);
    let mut idle_since = tokio::time::Instant::now();
    loop {
        while let Some(done) = calls.try_join_next() {
            count(&mut stats, done);
        }
        if shutdown.is_cancelled() {
            break;
        }
        let free = max - calls.len();
        let mut leased = 0;
        if free > 0 {
            let req = pb::LeaseCallsRequest {
                worker_id: config.worker_id.clone(),
                max_calls: free as u32,
                lease_seconds: config.lease_seconds,
                // Every call here can reach the desk: calls planned for
                // agents are welcome.
                agent_calls: true,
            };
            match grpc.lease_calls(req).await {
                Ok(resp) => {
                    for lease in resp.into_inner().leases {
                        leased += 1;
                        let shared = shared.clone();
                        let grpc = grpc.clone();
                        calls.spawn(async move { run_lease(shared, grpc, lease).await });
                    }
                }
                Err(e) => warn!(error = %e, "LeaseCalls failed; retrying"),
            }
        }
        if leased > 0 || !calls.is_empty() {
            idle_since = tokio::time::Instant::now();
        } else if config
            .idle_exit_secs
            .is_some_and(|s| idle_since.elapsed() >= Duration::from_secs(s))
        {
            info!("nothing due and no call running: stopping");
            break;
        }
        if leased == 0 {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_millis(config.idle_poll_ms)) => {}
                Some(done) = calls.join_next(), if !calls.is_empty() => count(&mut stats, done),
            }
        }
    }
    info!(
        in_progress = calls.len(),
        "shutting down: finishing calls in progress"
    );
    while let Some(done) = calls.join_next().await {
        count(&mut stats, done);
    }
    Ok(stats)
}

fn count(stats: &mut WorkerStats, done: Result<(bool, bool), tokio::task::JoinError>) {
    stats.calls += 1;
    match done {
        Ok((true, _)) => stats.reported += 1,
        Ok((false, _)) | Err(_) => stats.report_failures += 1,
    }
}

/// The debtor's date where they live (for "明天", "下周三"); China's when
/// the lease names no zone this worker knows.
fn debtor_today(time_zone: &str) -> NaiveDate {
    match time_zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => Utc::now().with_timezone(&tz).date_naive(),
        Err(_) => huikuan_core::region::today_in_china(),
    }
}

async fn run_lease(
    shared: Arc<Shared>,
    mut grpc: client::Client,
    lease: pb::CallLease,
) -> (bool, bool) {
    let dialect: Dialect = lease.dialect.parse().unwrap_or(Dialect::Mandarin);
    let dialer = Dialer {
        trunk: &shared.trunk,
        engines: &shared.engines,
        dialogue: &shared.dialogue,
        config: shared.robot.clone(),
        recordings: Some(shared.recordings.clone()),
    };
    let request = CallRequest {
        attempt_id: lease.attempt_id.clone(),
        number: lease.phone.clone(),
        caller_id: Some(lease.caller_id.clone()).filter(|c| !c.is_empty()),
        account: CallAccount {
            name: lease.debtor_name.clone(),
            platform: shared.platform.clone(),
            product: lease.product.clone(),
            overdue_amount: lease.overdue_amount.clone(),
            due_date: lease.due_date.clone(),
            days_past_due: lease.days_past_due,
        },
        dialect,
        today: debtor_today(&lease.time_zone),
        handoff: Some(HandoffLink {
            grpc: grpc.clone(),
            start: huikuan_proto::handoff::queued_to_pb(
                &QueuedCall {
                    call_id: lease.attempt_id.clone(),
                    account_id: lease.account_id.clone(),
                    debtor_name: lease.debtor_name.clone(),
                    phone: lease.phone.clone(),
                    time_zone: lease.time_zone.clone(),
                    dialect,
                    overdue_amount: lease.overdue_amount.clone(),
                    days_past_due: lease.days_past_due,
                    product: lease.product.clone(),
                    reason: String::new(),
                    summary: String::new(),
                    transcript: Vec::new(),
                },
                lease.lease_token,
                &shared.worker_id,
            ),
            agent_leg: shared.agent_leg.clone(),
        }),
        for_agent: lease.channel == huikuan_core::Channel::Agent.as_str(),
    };
    info!(attempt = %lease.attempt_id, phone = %huikuan_core::phone::mask(&lease.phone), %dialect, "calling");
    let record = dialer.call(request).await;
    info!(attempt = %lease.attempt_id, disposition = %record.disposition, "call ended");
    let answered = record.answered();
    if shared.print_calls {
        let outcome = record
            .outcome
            .as_ref()
            .and_then(|o| serde_json::to_string(o).ok())
            .unwrap_or_default();
        println!(
            "=== {} {} ({dialect}): {}\n{}\noutcome: {outcome}\nrecording: {}\n",
            huikuan_core::phone::mask(&lease.phone),
            lease.debtor_name,
            record.disposition,
            record.transcript_text(),
            record.recording.as_deref().unwrap_or("-"),
        );
    }
    let req = outcome_request(&lease, &shared.worker_id, &record);
    for attempt in 0..5u32 {
        match grpc.report_outcome(req.clone()).await {
            Ok(_) => return (true, answered),
            Err(s)
                if s.code() == tonic::Code::InvalidArgument
                    || s.code() == tonic::Code::FailedPrecondition =>
            {
                error!(attempt = %lease.attempt_id, error = %s, "outcome refused");
                return (false, answered);
            }
            Err(s) => {
                warn!(attempt = %lease.attempt_id, error = %s, "ReportOutcome failed; retrying");
                tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
            }
        }
    }
    (false, answered)
}

/// The orchestrator's report for a finished call.
pub fn outcome_request(
    lease: &pb::CallLease,
    worker_id: &str,
    record: &CallRecord,
) -> pb::ReportOutcomeRequest {
    let outcome = record.outcome.as_ref();
    let callback_at = outcome
        .and_then(|o| o.callback_time)
        .and_then(|local| {
            let tz: chrono_tz::Tz = lease.time_zone.parse().ok()?;
            tz.from_local_datetime(&local).earliest()
        })
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    let note = match (outcome, &record.ended_by) {
        (Some(o), Some(why)) => format!("{} [{why}]", o.summary),
        (Some(o), None) => o.summary.clone(),
        (None, Some(why)) => why.clone(),
        (None, None) => String::new(),
    };
    pb::ReportOutcomeRequest {
        attempt_id: lease.attempt_id.clone(),
        lease_token: lease.lease_token,
        worker_id: worker_id.to_string(),
        disposition: record.disposition.as_str().to_string(),
        note: huikuan_core::truncate(&note, 1000).into_owned(),
        duration_ms: record.duration_ms as i64,
        promise_date: outcome
            .and_then(|o| o.promise_date)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        promise_amount: outcome
            .and_then(|o| o.promise_amount)
            .map(|m| m.to_string())
            .unwrap_or_default(),
        settles_balance: false,
        callback_at,
        recording_path: record.recording.clone().unwrap_or_default(),
        record: Some(huikuan_proto::call::to_pb(record)),
    }
}
