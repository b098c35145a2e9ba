//! Tomorrow's plans, drafted without being asked: from `draft_at` (in the
//! centre's time, `[planning] draft_at` or a campaign's own) every active
//! campaign that has no plan for the centre's next day gets a draft, made
//! by `planner`, for a manager to review and approve. Nothing is dialled
//! from a draft.
//!
//! Idempotent: a campaign that already has a plan for that day (drafted
//! here, made with `huikuan plan`, or approved) is left alone, so a check
//! every minute makes each draft once, and a restart after `draft_at`
//! catches up. It runs in its own task: a big campaign's plan takes
//! seconds, and the re-planning of outcomes never waits for it.

use super::settings::PlanSettings;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use huikuan_core::CampaignStatus;
use huikuan_store::Store;
use std::sync::Arc;

/// How often drafts that are due are looked for.
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Who the drafts are made by, in the plan and the audit log.
pub const MADE_BY: &str = "planner";

/// The day to draft at `now`: the centre's next day once its local time
/// has reached `draft_at`, nothing before.
pub fn draft_day(now: DateTime<Utc>, tz: Tz, draft_at: NaiveTime) -> Option<NaiveDate> {
    let local = now.with_timezone(&tz);
    (local.time() >= draft_at).then(|| local.date_naive() + Duration::days(1))
}

/// One draft made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drafted {
    pub campaign: String,
    pub day: NaiveDate,
    pub planned: usize,
    pub skipped: usize,
}

/// Makes the drafts due at `now`. A campaign whose settings or plan fail
/// is logged and left for the next check; the others go on.
pub async fn draft_due(store: &Store, settings: &PlanSettings, now: DateTime<Utc>) -> Vec<Drafted> {
    let campaigns = match store.list_campaigns().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "listing campaigns for tomorrow's drafts failed");
            return Vec::new();
        }
    };
    let mut made = Vec::new();
    for c in campaigns
        .into_iter()
        .filter(|c| c.status == CampaignStatus::Active)
    {
        let s = settings.for_campaign(&c.name);
        let Some(at) = s.draft_at else { continue };
        let Ok(tz) = s.centre_time_zone.parse::<Tz>() else {
            tracing::warn!(campaign = %c.name, zone = %s.centre_time_zone, "planning.centre_time_zone unknown: no draft");
            continue;
        };
        let Some(day) = draft_day(now, tz, at) else {
            continue;
        };
        match store.plan_for(&c.id, day).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(campaign = %c.name, error = %e, "reading tomorrow's plan failed");
                continue;
            }
        }
        let resolved = match s.resolve() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(campaign = %c.name, error = %e, "planning settings unusable: no draft");
                continue;
            }
        };
        match super::make_plan(store, &c.id, day, now, &resolved, MADE_BY, &|_| {}).await {
            Ok(m) => {
                tracing::info!(campaign = %c.name, %day, planned = m.planned, skipped = m.skipped, "tomorrow's plan drafted for review");
                made.push(Drafted {
                    campaign: c.name,
                    day,
                    planned: m.planned,
                    skipped: m.skipped,
                });
            }
            Err(e) => {
                tracing::warn!(campaign = %c.name, %day, error = %e, "drafting tomorrow's plan failed")
            }
        }
    }
    made
}

/// Checks for drafts due every minute until `stop` turns true.
pub async fn run(
    store: Store,
    settings: Arc<PlanSettings>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(CHECK_EVERY);
    loop {
        let go = tokio::select! {
            _ = every.tick() => true,
            _ = stop.wait_for(|c| *c) => false,
        };
        if !go {
            return;
        }
        draft_due(&store, &settings, Utc::now()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_next_day_is_drafted_from_draft_at_in_the_centres_time() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let at = NaiveTime::from_hms_opt(18, 0, 0).unwrap();
        let utc = |h, m| Utc.with_ymd_and_hms(2026, 12, 5, h, m, 0).unwrap();
        // 09:59 UTC is 17:59 in Beijing: not yet.
        assert_eq!(draft_day(utc(9, 59), tz, at), None);
        assert_eq!(draft_day(utc(10, 0), tz, at), "2026-12-06".parse().ok());
        // 16:30 UTC is 00:30 on the 6th there: the 7th is next.
        assert_eq!(
            draft_day(utc(16, 30), tz, NaiveTime::from_hms_opt(0, 0, 0).unwrap()),
            "2026-12-07".parse().ok()
        );
    }
}
