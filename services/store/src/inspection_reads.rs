//! What the console's quality pages read of the inspections: the calls
//! inspected, newest first, filtered by flag type, by who spoke for the
//! lender and by score, a page at a time; one call's whole result with
//! its recording; and the hourly reports.
//!
//! Read-only; the queue and the writing of results are
//! [`crate::inspections`].

use crate::dispatch::stmt;
use crate::inspections::{HourReport, StoredFlag};
use crate::{Result, Store};
use sea_orm::{ConnectionTrait, QueryResult, Value};

/// Who spoke for the lender on a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collector {
    /// The robot alone.
    Robot,
    /// This agent (after the robot handed the call over).
    Agent(String),
}

/// Which inspected calls to list.
#[derive(Debug, Clone, Default)]
pub struct InspectionFilter {
    /// Calls with at least one flag of this type.
    pub kind: Option<String>,
    pub collector: Option<Collector>,
    /// Calls scored at most this.
    pub max_score: Option<f64>,
    /// Calls that ended in `[since_ms, until_ms)`.
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

/// One inspected call, as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionRow {
    pub attempt_id: String,
    pub account_id: String,
    pub campaign_id: String,
    pub finished_at_ms: i64,
    pub inspected_at_ms: i64,
    /// None: the robot alone.
    pub agent_name: Option<String>,
    pub dialect: String,
    pub score: f64,
    pub flag_count: i64,
    /// The types of its flags, each once, in order.
    pub kinds: Vec<String>,
}

/// One inspected call in full.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionView {
    pub row: InspectionRow,
    /// Inside the recordings directory.
    pub recording_path: Option<String>,
    /// The inspection as JSON (score, flags, transcript, tracks).
    pub result: String,
    pub flags: Vec<StoredFlag>,
}

const ROW_COLUMNS: &str = "i.attempt_id, a.account_id, i.campaign_id, i.finished_at_ms, \
     i.inspected_at_ms, i.agent_name, i.dialect, i.score, i.flag_count";

fn row_from(r: &QueryResult) -> Result<InspectionRow> {
    Ok(InspectionRow {
        attempt_id: r.try_get_by_index(0)?,
        account_id: r.try_get_by_index(1)?,
        campaign_id: r.try_get_by_index(2)?,
        finished_at_ms: r.try_get_by_index(3)?,
        inspected_at_ms: r.try_get_by_index(4)?,
        agent_name: r.try_get_by_index(5)?,
        dialect: r.try_get_by_index(6)?,
        score: r.try_get_by_index(7)?,
        flag_count: i64::from(r.try_get_by_index::<i32>(8)?),
        kinds: Vec::new(),
    })
}

impl InspectionFilter {
    /// The WHERE clause over `inspections i` and its values.
    fn clause(&self) -> (String, Vec<Value>) {
        let mut parts = vec!["1 = 1".to_string()];
        let mut values: Vec<Value> = Vec::new();
        if let Some(kind) = &self.kind {
            parts.push(
                "i.attempt_id IN (SELECT attempt_id FROM inspection_flags WHERE kind = ?)".into(),
            );
            values.push(kind.as_str().into());
        }
        match &self.collector {
            Some(Collector::Robot) => parts.push("i.agent_name IS NULL".into()),
            Some(Collector::Agent(name)) => {
                parts.push("i.agent_name = ?".into());
                values.push(name.as_str().into());
            }
            None => {}
        }
        if let Some(max) = self.max_score {
            parts.push("i.score <= ?".into());
            values.push(max.into());
        }
        if let Some(since) = self.since_ms {
            parts.push("i.finished_at_ms >= ?".into());
            values.push(since.into());
        }
        if let Some(until) = self.until_ms {
            parts.push("i.finished_at_ms < ?".into());
            values.push(until.into());
        }
        (parts.join(" AND "), values)
    }
}

impl Store {
    /// The inspected calls `filter` selects, newest first: `limit` of them
    /// from `offset`, and how many there are in all.
    pub async fn inspections(
        &self,
        filter: &InspectionFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<InspectionRow>, u64)> {
        let backend = self.backend();
        let (clause, values) = filter.clause();
        let total = self
            .db
            .query_one(stmt(
                backend,
                &format!("SELECT CAST(COUNT(*) AS BIGINT) FROM inspections i WHERE {clause}"),
                values.clone(),
            ))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        let mut page_values = values;
        page_values.push((limit.min(i64::MAX as u64) as i64).into());
        page_values.push((offset.min(i64::MAX as u64) as i64).into());
        let mut rows = self
            .db
            .query_all(stmt(
                backend,
                &format!(
                    "SELECT {ROW_COLUMNS} FROM inspections i \
                     JOIN call_attempts a ON a.id = i.attempt_id WHERE {clause} \
                     ORDER BY i.finished_at_ms DESC, i.attempt_id LIMIT ? OFFSET ?"
                ),
                page_values,
            ))
            .await?
            .iter()
            .map(row_from)
            .collect::<Result<Vec<_>>>()?;
        self.add_kinds(&mut rows).await?;
        Ok((rows, total.max(0) as u64))
    }

    /// Each row's flag types, in one query for the page.
    async fn add_kinds(&self, rows: &mut [InspectionRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let marks = vec!["?"; rows.len()].join(", ");
        let ids: Vec<Value> = rows.iter().map(|r| r.attempt_id.as_str().into()).collect();
        let found = self
            .db
            .query_all(stmt(
                self.backend(),
                &format!(
                    "SELECT attempt_id, kind FROM inspection_flags WHERE attempt_id IN ({marks}) \
                     ORDER BY attempt_id, seq"
                ),
                ids,
            ))
            .await?;
        for f in found {
            let id: String = f.try_get_by_index(0)?;
            let kind: String = f.try_get_by_index(1)?;
            if let Some(row) = rows.iter_mut().find(|r| r.attempt_id == id) {
                if !row.kinds.contains(&kind) {
                    row.kinds.push(kind);
                }
            }
        }
        Ok(())
    }

    /// One inspected call: its row, recording, result and flags.
    pub async fn inspection(&self, attempt_id: &str) -> Result<Option<InspectionView>> {
        let backend = self.backend();
        let Some(r) = self
            .db
            .query_one(stmt(
                backend,
                &format!(
                    "SELECT {ROW_COLUMNS}, a.recording_path, i.result FROM inspections i \
                     JOIN call_attempts a ON a.id = i.attempt_id WHERE i.attempt_id = ?"
                ),
                vec![attempt_id.into()],
            ))
            .await?
        else {
            return Ok(None);
        };
        let mut row = row_from(&r)?;
        let recording_path: Option<String> = r.try_get_by_index(9)?;
        let result: String = r.try_get_by_index(10)?;
        let flags = self
            .db
            .query_all(stmt(
                backend,
                "SELECT kind, channel, start_ms, end_ms, rule, evidence FROM inspection_flags \
                 WHERE attempt_id = ? ORDER BY seq",
                vec![attempt_id.into()],
            ))
            .await?
            .iter()
            .map(|f| {
                Ok(StoredFlag {
                    kind: f.try_get_by_index(0)?,
                    channel: f.try_get_by_index(1)?,
                    start_ms: f.try_get_by_index(2)?,
                    end_ms: f.try_get_by_index(3)?,
                    rule: f.try_get_by_index(4)?,
                    evidence: f.try_get_by_index(5)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        for f in &flags {
            if !row.kinds.contains(&f.kind) {
                row.kinds.push(f.kind.clone());
            }
        }
        Ok(Some(InspectionView {
            row,
            recording_path,
            result,
            flags,
        }))
    }

    /// The hourly reports made for hours starting in `[since_ms,
    /// until_ms)`, newest first.
    pub async fn hour_reports(&self, since_ms: i64, until_ms: i64) -> Result<Vec<HourReport>> {
        self.db
            .query_all(stmt(
                self.backend(),
                "SELECT hour_start_ms, report FROM inspection_hours \
                 WHERE hour_start_ms >= ? AND hour_start_ms < ? ORDER BY hour_start_ms DESC",
                vec![since_ms.into(), until_ms.into()],
            ))
            .await?
            .iter()
            .map(|r| {
                let start: i64 = r.try_get_by_index(0)?;
                let json: String = r.try_get_by_index(1)?;
                serde_json::from_str(&json)
                    .map_err(|e| crate::StoreError::Conflict(format!("hour report {start}: {e}")))
            })
            .collect()
    }

    /// The agents who have inspected calls, by name.
    pub async fn inspected_agents(&self) -> Result<Vec<String>> {
        self.db
            .query_all(stmt(
                self.backend(),
                "SELECT DISTINCT agent_name FROM inspections WHERE agent_name IS NOT NULL \
                 ORDER BY agent_name",
                vec![],
            ))
            .await?
            .iter()
            .map(|r| Ok(r.try_get_by_index(0)?))
            .collect()
    }
}
