//! Outcomes flow back into the day's plan: each recorded outcome re-plans
//! its account (its next call today, or why there is none), and plans
//! whose day is over are closed.
//!
//! It follows the event bus, so it adds nothing to the path of a report:
//! an outcome is recorded and answered first, re-planned after. A re-plan
//! missed (the bus dropped events for a slow follower, or the process
//! stopped) leaves the account's follow-up unreleased, never dialled
//! outside a plan: the next plan of the campaign picks it up.

use super::settings::{PlanSettings, Resolved};
use crate::events::EventBus;
use crate::pb::event::Kind;
use futures::StreamExt;
use huikuan_core::PlanStatus;
use huikuan_store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often plans whose day is over are looked for.
const FINISH_EVERY: Duration = Duration::from_secs(30);

enum Wake {
    Event(Option<crate::pb::Event>),
    Finish,
    Stop,
}

/// Re-plans accounts as their outcomes arrive, until the bus closes.
pub async fn run(store: Store, events: EventBus, settings: Arc<PlanSettings>) {
    let mut outcomes = Box::pin(events.watch(String::new()));
    let mut stop = events.closed();
    let mut finish = tokio::time::interval(FINISH_EVERY);
    let mut resolved: HashMap<String, Option<Arc<Resolved>>> = HashMap::new();
    loop {
        let wake = tokio::select! {
            e = outcomes.next() => Wake::Event(e),
            _ = finish.tick() => Wake::Finish,
            _ = stop.wait_for(|c| *c) => Wake::Stop,
        };
        let event = match wake {
            Wake::Event(Some(e)) => e,
            Wake::Event(None) | Wake::Stop => return,
            Wake::Finish => {
                match store
                    .finish_plans(chrono::Utc::now().timestamp_millis())
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(plans = n, "plans whose day is over are done"),
                    Err(e) => tracing::warn!(error = %e, "closing finished plans failed"),
                }
                continue;
            }
        };
        let Some(Kind::OutcomeReported(o)) = event.kind else {
            continue;
        };
        let campaign_id = event.campaign_id;
        let settings = match resolved.get(&campaign_id) {
            Some(s) => s.clone(),
            None => {
                let s = match store.get_campaign(&campaign_id).await {
                    Ok(c) => match settings.for_campaign(&c.name).resolve() {
                        Ok(r) => Some(Arc::new(r)),
                        Err(e) => {
                            tracing::warn!(campaign = %c.name, error = %e, "planning settings unusable: no re-planning");
                            None
                        }
                    },
                    Err(e) => {
                        tracing::warn!(%campaign_id, error = %e, "campaign of an outcome not found");
                        None
                    }
                };
                resolved.insert(campaign_id.clone(), s.clone());
                s
            }
        };
        let Some(settings) = settings else { continue };
        let started = std::time::Instant::now();
        let plan = match store.plans_of(&campaign_id, 1).await {
            Ok(mut p) => p.pop(),
            Err(e) => {
                tracing::warn!(error = %e, "reading the campaign's plan failed");
                continue;
            }
        };
        let Some(plan) = plan.filter(|p| p.status != PlanStatus::Draft && p.status.editable())
        else {
            continue;
        };
        match super::replan_account(&store, &plan, &o.account_id, chrono::Utc::now(), &settings)
            .await
        {
            Ok(decided) => tracing::debug!(
                account = %o.account_id,
                ?decided,
                ms = started.elapsed().as_millis() as u64,
                "re-planned after an outcome"
            ),
            Err(e) => {
                tracing::warn!(account = %o.account_id, error = %e, "re-planning after an outcome failed")
            }
        }
    }
}
