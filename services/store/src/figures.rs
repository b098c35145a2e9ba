//! The day's figures for the managers' dashboard: reported calls by
//! disposition and by hour, the promises they took, and how promises
//! that fell due turned out. Read by report time (indexed), so a
//! dashboard refreshed every few seconds reads one day's rows, never the
//! whole history.

use crate::dispatch::stmt;
use crate::{Result, Store};
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
                "SELECT disposition, (reported_at_ms / ?) AS hour, COUNT(*) AS n, SUM(COALESCE(promise_fen, 0)) AS fen \
                 FROM call_attempts WHERE reported_at_ms IS NOT NULL AND reported_at_ms >= ? AND reported_at_ms < ? \
                 GROUP BY disposition, hour",
                vec![HOUR_MS.into(), from_ms.into(), until_ms.into()],
            ))
            .await?;
        let mut f = CallFigures::default();
        for r in rows {
            let disposition: Option<String> = r.try_get("", "disposition")?;
            let hour: i64 = r.try_get("", "hour")?;
            let n = r.try_get::<i64>("", "n")? as u64;
            let fen: i64 = r.try_get("", "fen")?;
            *f.by_disposition
                .entry(disposition.unwrap_or_default())
                .or_default() += n;
            *f.by_hour.entry(hour * HOUR_MS).or_default() += n;
            f.promised_fen += fen;
        }
        Ok(f)
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
