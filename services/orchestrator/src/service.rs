//! The `huikuan.v1.Orchestrator` service: validates requests, calls the
//! store, publishes events.

use crate::config::OrchestratorConfig;
use crate::convert::{self, invalid, status};
use crate::events::EventBus;
use crate::gate::{Gates, Limits};
use crate::pb::{self, event::Kind, orchestrator_server::Orchestrator};
use crate::report::{check_worker_id, parse_report, report_error};
use chrono::Utc;
use futures::Stream;
use huikuan_core::CampaignStatus;
use huikuan_store::accounts::AccountFilter;
use huikuan_store::import::{ImportOptions, Importer};
use huikuan_store::{Campaign, OutcomeReport, ReportQueue, ReportResult, Store};
use std::pin::Pin;
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

const MAX_LEASES_PER_CALL: u32 = 500;
const MAX_REPORTS_PER_CALL: usize = 500;

pub struct OrchestratorService {
    store: Store,
    config: OrchestratorConfig,
    events: EventBus,
    /// Single outcome reports, written in groups when they arrive together.
    reports: ReportQueue,
    gates: Gates,
    /// Where handed-over calls wait for agents (none: handoffs are refused
    /// and the dialer ends such calls itself).
    desk: Option<crate::handoff::SharedDesk>,
    /// Planned agent calls leased and not yet at the desk.
    dials: crate::agent_dials::AgentDials,
}

impl OrchestratorService {
    /// Must be called inside the Tokio runtime (it starts the report writer).
    pub fn new(store: Store, config: OrchestratorConfig, events: EventBus) -> Self {
        let limits = config
            .limits
            .unwrap_or_else(|| Limits::for_connections(store.connections()));
        OrchestratorService {
            gates: Gates::new(limits),
            reports: ReportQueue::start(store.clone(), config.policy),
            store,
            config,
            events,
            desk: None,
            dials: Default::default(),
        }
    }

    /// Queues handed-over calls at `desk`.
    pub fn with_desk(mut self, desk: Option<crate::handoff::SharedDesk>) -> Self {
        self.desk = desk;
        self
    }

    /// The gates requests pass (tests hold their places).
    pub fn gates(&self) -> &Gates {
        &self.gates
    }

    async fn campaign_with_stats(
        &self,
        c: huikuan_store::Campaign,
    ) -> Result<pb::Campaign, Status> {
        let stats = self.store.campaign_stats(&c.id).await.map_err(status)?;
        Ok(convert::campaign(c, Some(stats)))
    }

    /// The campaign a request names (`campaign`: id or name, required).
    async fn named_campaign(&self, campaign: &str) -> Result<Campaign, Status> {
        if campaign.trim().is_empty() {
            return Err(invalid("campaign", "required"));
        }
        self.store.find_campaign(campaign).await.map_err(status)
    }

    async fn set_status(
        &self,
        campaign: &str,
        to: CampaignStatus,
    ) -> Result<Response<pb::Campaign>, Status> {
        let c = self.named_campaign(campaign).await?;
        let c = self
            .store
            .set_campaign_status(&c.id, to)
            .await
            .map_err(status)?;
        tracing::info!(campaign = %c.name, status = %to, "campaign status changed");
        self.events.publish(
            &c.id,
            Kind::CampaignChanged(pb::CampaignChanged {
                status: to.to_string(),
            }),
        );
        Ok(Response::new(self.campaign_with_stats(c).await?))
    }
}

impl OrchestratorService {
    /// Publishes a newly recorded outcome and builds its response.
    fn recorded(&self, report: &OutcomeReport, result: ReportResult) -> pb::ReportOutcomeResponse {
        // An agent call that ended before the desk no longer holds its agent.
        self.dials.arrived(&report.attempt_id);
        match result {
            ReportResult::AlreadyRecorded { .. } => pb::ReportOutcomeResponse {
                already_recorded: true,
                follow_up_attempt_id: String::new(),
            },
            ReportResult::Recorded {
                campaign_id,
                account_id,
                follow_up,
            } => {
                self.events.publish(
                    &campaign_id,
                    Kind::OutcomeReported(pb::OutcomeReported {
                        attempt_id: report.attempt_id.clone(),
                        disposition: report.disposition.to_string(),
                        account_id,
                    }),
                );
                pb::ReportOutcomeResponse {
                    already_recorded: false,
                    follow_up_attempt_id: follow_up.unwrap_or_default(),
                }
            }
        }
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

#[tonic::async_trait]
impl Orchestrator for OrchestratorService {
    async fn create_campaign(
        &self,
        req: Request<pb::CreateCampaignRequest>,
    ) -> Result<Response<pb::Campaign>, Status> {
        let _place = self.gates.reads.enter().await?;
        let req = req.into_inner();
        let c = self
            .store
            .create_campaign(&req.name, Some(&req.caller_id))
            .await
            .map_err(status)?;
        tracing::info!(campaign = %c.name, id = %c.id, "campaign created");
        self.events.publish(
            &c.id,
            Kind::CampaignChanged(pb::CampaignChanged {
                status: c.status.to_string(),
            }),
        );
        Ok(Response::new(convert::campaign(c, None)))
    }

    async fn get_campaign(
        &self,
        req: Request<pb::GetCampaignRequest>,
    ) -> Result<Response<pb::Campaign>, Status> {
        let _place = self.gates.reads.enter().await?;
        let c = self.named_campaign(&req.into_inner().campaign).await?;
        Ok(Response::new(self.campaign_with_stats(c).await?))
    }

    async fn list_campaigns(
        &self,
        _: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        let _place = self.gates.reads.enter().await?;
        let campaigns = self.store.list_campaigns().await.map_err(status)?;
        Ok(Response::new(pb::ListCampaignsResponse {
            campaigns: campaigns
                .into_iter()
                .map(|c| convert::campaign(c, None))
                .collect(),
        }))
    }

    async fn pause_campaign(
        &self,
        req: Request<pb::CampaignRef>,
    ) -> Result<Response<pb::Campaign>, Status> {
        let _place = self.gates.reads.enter().await?;
        self.set_status(&req.into_inner().campaign, CampaignStatus::Paused)
            .await
    }

    async fn resume_campaign(
        &self,
        req: Request<pb::CampaignRef>,
    ) -> Result<Response<pb::Campaign>, Status> {
        let _place = self.gates.reads.enter().await?;
        self.set_status(&req.into_inner().campaign, CampaignStatus::Active)
            .await
    }

    async fn set_campaign_caller_id(
        &self,
        req: Request<pb::SetCampaignCallerIdRequest>,
    ) -> Result<Response<pb::Campaign>, Status> {
        let _place = self.gates.reads.enter().await?;
        let req = req.into_inner();
        let c = self.named_campaign(&req.campaign).await?;
        let c = self
            .store
            .set_campaign_caller_id(&c.id, Some(&req.caller_id))
            .await
            .map_err(status)?;
        tracing::info!(campaign = %c.name, caller_id = ?c.caller_id, "campaign caller id changed");
        Ok(Response::new(self.campaign_with_stats(c).await?))
    }

    async fn import_accounts(
        &self,
        req: Request<Streaming<pb::ImportAccountsRequest>>,
    ) -> Result<Response<pb::ImportAccountsResponse>, Status> {
        let _place = self.gates.imports.enter().await?;
        let mut stream = req.into_inner();
        let Some(first) = stream.next().await.transpose()? else {
            return Err(invalid("campaign", "the stream is empty"));
        };
        if first.campaign.trim().is_empty() {
            return Err(invalid("campaign", "required in the first message"));
        }
        let campaign = self
            .store
            .ensure_campaign(&first.campaign)
            .await
            .map_err(status)?;
        let today = huikuan_core::region::today_in_china();
        let importer = Importer::start(
            &self.store,
            &campaign.id,
            "grpc:ImportAccounts",
            None,
            today,
        )
        .await
        .map_err(status)?
        .with_options(ImportOptions {
            last_wins: first.last_wins,
            no_move: first.no_move,
            batch_rows: self.config.import_batch_rows,
        });
        // The rows are read in a task of its own: if the client goes
        // away, this request's future is dropped, but the task still sees
        // the stream break off and records the run as cancelled.
        let task = tokio::spawn(crate::import::import_stream(importer, first, stream));
        let (run, errors, stream_error) = task
            .await
            .map_err(|e| Status::internal(format!("import stopped: {e}")))?
            .map_err(status)?;
        tracing::info!(campaign = %campaign.name, accepted = run.accepted, rejected = run.rejected, moved = run.moved, state = %run.state, "grpc import ended");
        self.events.publish(
            &campaign.id,
            Kind::ImportFinished(pb::ImportFinished {
                import_run_id: run.id.clone(),
                accepted: run.accepted,
                rejected: run.rejected,
                moved: run.moved,
                state: run.state.to_string(),
            }),
        );
        if let Some(e) = stream_error {
            return Err(Status::aborted(format!(
                "import stream failed ({} rows kept, in whole batches; run {} cancelled): {}",
                run.accepted,
                run.id,
                e.message()
            )));
        }
        Ok(Response::new(pb::ImportAccountsResponse {
            accepted: run.accepted,
            rejected: run.rejected,
            errors,
            import_run_id: run.id,
            moved: run.moved,
        }))
    }

    async fn get_account(
        &self,
        req: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::Account>, Status> {
        let _place = self.gates.reads.enter().await?;
        let id = req.into_inner().account_id;
        if id.trim().is_empty() {
            return Err(invalid("account_id", "required"));
        }
        let view = self.store.get_account(&id).await.map_err(status)?;
        Ok(Response::new(convert::account(view)))
    }

    async fn list_accounts(
        &self,
        req: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        let _place = self.gates.reads.enter().await?;
        let r = req.into_inner();
        let page_size = if r.page_size == 0 {
            100
        } else {
            r.page_size as u64
        };
        let campaign_id = match r.campaign.trim() {
            "" => None,
            c => Some(self.store.find_campaign(c).await.map_err(status)?.id),
        };
        if !r.dialect.is_empty() {
            r.dialect
                .parse::<huikuan_core::Dialect>()
                .map_err(|e| invalid("dialect", e))?;
        }
        let filter = AccountFilter {
            campaign_id,
            dialect: Some(r.dialect).filter(|s| !s.is_empty()),
            province: Some(r.province).filter(|s| !s.is_empty()),
        };
        let token = Some(r.page_token.as_str()).filter(|t| !t.is_empty());
        let page = self
            .store
            .list_accounts(&filter, page_size, token)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: page
                .accounts
                .into_iter()
                .map(convert::account_summary)
                .collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn lease_calls(
        &self,
        req: Request<pb::LeaseCallsRequest>,
    ) -> Result<Response<pb::LeaseCallsResponse>, Status> {
        let _place = self.gates.dispatch.enter().await?;
        let r = req.into_inner();
        let worker = r.worker_id.trim();
        check_worker_id(worker)?;
        if r.max_calls == 0 || r.max_calls > MAX_LEASES_PER_CALL {
            return Err(invalid(
                "max_calls",
                format!("must be between 1 and {MAX_LEASES_PER_CALL}"),
            ));
        }
        let ttl = match r.lease_seconds {
            0 => self.config.default_lease,
            s => Duration::from_secs(u64::from(s)),
        };
        if ttl > self.config.max_lease {
            return Err(invalid(
                "lease_seconds",
                format!("must be at most {}", self.config.max_lease.as_secs()),
            ));
        }
        // Calls planned for agents go to workers that hand them to the
        // desk, while agents of their dialect are free.
        let room = match (&self.desk, r.agent_calls) {
            (Some(desk), true) => self.dials.room(desk.room(), std::time::Instant::now()),
            _ => huikuan_store::AgentRoom::new(),
        };
        let leases = self
            .store
            .lease_calls_with_agents(
                worker,
                r.max_calls,
                ttl,
                Utc::now(),
                &self.config.policy,
                &room,
            )
            .await
            .map_err(status)?;
        let expires = std::time::Instant::now() + ttl;
        for l in leases
            .iter()
            .filter(|l| l.channel == huikuan_core::Channel::Agent)
        {
            self.dials
                .leased(&l.attempt_id, l.dialect.as_str(), expires);
        }
        for l in &leases {
            self.events.publish(
                &l.campaign_id,
                Kind::CallLeased(pb::CallLeased {
                    attempt_id: l.attempt_id.clone(),
                    worker_id: worker.to_string(),
                    account_id: l.account_id.clone(),
                }),
            );
        }
        tracing::debug!(worker, leased = leases.len(), "leases handed out");
        Ok(Response::new(pb::LeaseCallsResponse {
            leases: leases.into_iter().map(convert::lease).collect(),
        }))
    }

    async fn report_outcome(
        &self,
        req: Request<pb::ReportOutcomeRequest>,
    ) -> Result<Response<pb::ReportOutcomeResponse>, Status> {
        let _place = self.gates.dispatch.enter().await?;
        let report = parse_report(req.into_inner(), self.config.recordings.as_deref())?;
        let result = self.reports.report(report.clone()).await.map_err(status)?;
        Ok(Response::new(self.recorded(&report, result)))
    }

    async fn report_outcomes(
        &self,
        req: Request<pb::ReportOutcomesRequest>,
    ) -> Result<Response<pb::ReportOutcomesResponse>, Status> {
        let _place = self.gates.dispatch.enter().await?;
        let reports = req.into_inner().reports;
        if reports.is_empty() || reports.len() > MAX_REPORTS_PER_CALL {
            return Err(invalid(
                "reports",
                format!("must hold between 1 and {MAX_REPORTS_PER_CALL} reports"),
            ));
        }
        // Parse every report; the good ones go to the store together and
        // the results are put back in the order they came.
        let mut results: Vec<Option<pb::ReportOutcomeResult>> = Vec::with_capacity(reports.len());
        let mut parsed = Vec::with_capacity(reports.len());
        for (i, r) in reports.into_iter().enumerate() {
            match parse_report(r, self.config.recordings.as_deref()) {
                Ok(report) => {
                    parsed.push(report);
                    results.push(None);
                }
                Err(e) => results.push(Some(report_error(&format!("reports[{i}]."), e))),
            }
        }
        let stored = self
            .store
            .report_outcomes(&parsed, Utc::now(), &self.config.policy)
            .await
            .map_err(status)?;
        let mut stored = parsed.iter().zip(stored);
        let mut recorded = 0usize;
        for (i, slot) in results.iter_mut().enumerate() {
            if slot.is_some() {
                continue;
            }
            let Some((report, result)) = stored.next() else {
                break;
            };
            *slot = Some(match result {
                Ok(result) => {
                    recorded += 1;
                    pb::ReportOutcomeResult {
                        result: Some(pb::report_outcome_result::Result::Recorded(
                            self.recorded(report, result),
                        )),
                    }
                }
                Err(e) => report_error(&format!("reports[{i}]."), status(e)),
            });
        }
        tracing::debug!(reports = results.len(), recorded, "batch of outcomes");
        Ok(Response::new(pb::ReportOutcomesResponse {
            results: results.into_iter().flatten().collect(),
        }))
    }

    type WatchEventsStream = EventStream;

    async fn watch_events(
        &self,
        req: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let place = self.gates.watchers.enter().await?;
        let campaign = req.into_inner().campaign_id;
        // The stream holds its place for as long as it is open.
        let stream = self.events.watch(campaign).map(move |ev| {
            let _held = &place;
            Ok(ev)
        });
        Ok(Response::new(Box::pin(stream)))
    }

    type HandoffStream = crate::handoff::HandoffStream;

    async fn handoff(
        &self,
        req: Request<Streaming<pb::HandoffUp>>,
    ) -> Result<Response<Self::HandoffStream>, Status> {
        let stream = crate::handoff::serve(
            &self.store,
            self.desk.as_ref(),
            &self.dials,
            req.into_inner(),
        )
        .await?;
        Ok(Response::new(stream))
    }
}
