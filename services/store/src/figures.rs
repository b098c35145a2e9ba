//! The day's figures for the managers' dashboard: reported calls by
//! disposition and by hour, the promises they took, how promises that
//! fell due turned out, and the calls the plans in force hold per hour. Read by report time (indexed), so a
//! dashboard refreshed every few seconds reads one day's rows, never the
//! whole history.

use crate::dispatch::stmt;
use crate::{Result, Store};
use huikuan_core::{Disposition, PlanStatus, PlannedCallState};
use sea_orm::ConnectionTrait;
use std::collections::BTreeMap;

/// Calls reported in a time range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFigures {
    /// By disposition name.
    pub by_disposition: BTreeMap<String, u64>,
    /// Promise amounts taken, fen.
    pub promised_fen: i64,
    /// Calls reported per hour (epoch ms of the hour's start).
    pub by_hour: BTreeMap<i64, u64>,
    /// Of those, the calls someone answered.
    pub contacts_by_hour: BTreeMap<i64, u64>,
    /// Calls the robot handed over to a person, and those an agent took.
    pub handed_over: u64,
    pub taken_by_agent: u64,
    /// Answered calls (a contact) that no person joined.
    pub contacts_robot_only: u64,
    /// Handed-over calls no agent took: the debtor left the queue
    /// (`abandoned`), or no agent came in time and the robot promised a
    /// callback (`given_up`).
    pub abandoned: u64,
    pub given_up: u64,
}

impl CallFigures {
    /// Calls with this disposition.
    pub fn of(&self, d: Disposition) -> u64 {
        self.by_disposition.get(d.as_str()).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.by_disposition.values().sum()
    }

    /// Calls someone answered.
    pub fn contacts(&self) -> u64 {
        Disposition::ALL
            .iter()
            .filter(|d| d.is_contact())
            .map(|d| self.of(*d))
            .sum()
    }
}

/// Promises by how they turned out (all that fell due in the range).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PromiseFigures {
    pub kept: u64,
    pub broken: u64,
}

const HOUR_MS: i64 = 3_600_000;

impl Store {
    /// Calls reported from `from_ms` to `until_ms`.
    pub async fn call_figures(&self, from_ms: i64, until_ms: i64) -> Result<CallFigures> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                "SELECT disposition, (reported_at_ms / ?) AS hour, handed_over, \
                 (CASE WHEN agent_name IS NULL THEN 0 ELSE 1 END) AS taken, \
                 COUNT(*) AS n, CAST(SUM(COALESCE(promise_fen, 0)) AS BIGINT) AS fen \
                 FROM call_attempts WHERE reported_at_ms IS NOT NULL AND reported_at_ms >= ? AND reported_at_ms < ? \
                 GROUP BY disposition, hour, handed_over, taken",
                vec![HOUR_MS.into(), from_ms.into(), until_ms.into()],
            ))
            .await?;
        let mut f = CallFigures::default();
        for r in rows {
            let disposition: Option<String> = r.try_get("", "disposition")?;
            let hour: i64 = r.try_get("", "hour")?;
            let n = r.try_get::<i64>("", "n")? as u64;
            let fen: i64 = r.try_get("", "fen")?;
            let handed_over = i64::from(r.try_get::<i16>("", "handed_over")?) != 0;
            let taken = r.try_get::<i32>("", "taken")? != 0;
            let contact = disposition
                .as_deref()
                .and_then(|d| d.parse::<Disposition>().ok())
                .is_some_and(Disposition::is_contact);
            f.handed_over += if handed_over { n } else { 0 };
            f.taken_by_agent += if taken { n } else { 0 };
            f.contacts_robot_only += if contact && !handed_over && !taken {
                n
            } else {
                0
            };
            if handed_over && !taken {
                match disposition.as_deref() {
                    Some("handed_to_agent") => f.abandoned += n,
                    Some("callback_requested") => f.given_up += n,
                    _ => {}
                }
            }
            *f.by_disposition
                .entry(disposition.unwrap_or_default())
                .or_default() += n;
            *f.by_hour.entry(hour * HOUR_MS).or_default() += n;
            if contact {
                *f.contacts_by_hour.entry(hour * HOUR_MS).or_default() += n;
            }
            f.promised_fen += fen;
        }
        Ok(f)
    }

    /// Calls the plans in force (approved, executing or paused) hold
    /// from `from_ms` to `until_ms`, per hour (epoch ms of the hour's
    /// start); excluded ones are not counted.
    pub async fn planned_per_hour(
        &self,
        from_ms: i64,
        until_ms: i64,
    ) -> Result<BTreeMap<i64, u64>> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                "SELECT (c.planned_at_ms / ?) AS hour, COUNT(*) AS n \
                 FROM planned_calls c JOIN plan_days d ON d.id = c.plan_day_id \
                 WHERE d.status IN (?, ?, ?) AND c.state <> ? \
                 AND c.planned_at_ms >= ? AND c.planned_at_ms < ? GROUP BY hour",
                vec![
                    HOUR_MS.into(),
                    PlanStatus::Approved.as_str().into(),
                    PlanStatus::Executing.as_str().into(),
                    PlanStatus::Paused.as_str().into(),
                    PlannedCallState::Excluded.as_str().into(),
                    from_ms.into(),
                    until_ms.into(),
                ],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<i64>("", "hour")? * HOUR_MS,
                    r.try_get::<i64>("", "n")? as u64,
                ))
            })
            .collect()
    }

    /// Promises created from `from_ms` that have turned out kept or broken.
    pub async fn promise_figures(&self, from_ms: i64) -> Result<PromiseFigures> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                "SELECT status, COUNT(*) AS n FROM promises WHERE created_at_ms >= ? GROUP BY status",
                vec![from_ms.into()],
            ))
            .await?;
        let mut f = PromiseFigures::default();
        for r in rows {
            let status: String = r.try_get("", "status")?;
            let n = r.try_get::<i64>("", "n")? as u64;
            match status.as_str() {
                "kept" => f.kept += n,
                "broken" => f.broken += n,
                _ => {}
            }
        }
        Ok(f)
    }
}
