//! Group commit for single outcome reports.
//!
//! Every `ReportOutcome` is its own request, but a report alone is a
//! transaction alone: a lock, a few statements, a commit, each a hand-off
//! to the database's connection thread. Reports that arrive while others
//! are being written wait in a queue, and the next write takes them all
//! (up to `MAX_GROUP`) as one set-based batch (`Store::report_outcomes`).
//! A lone report is written at once, as before; under load the batches
//! grow by themselves.
//!
//! Each report still gets exactly the result it would have had alone: the
//! batch judges them in arrival order (a repeat is already recorded, a
//! contradiction a conflict). If the batch as a whole fails (a database
//! error), nothing of it was kept and each report is written again alone,
//! so one report's failure never becomes another's.

use crate::dispatch::DispatchPolicy;
use crate::{OutcomeReport, ReportResult, Result, Store, StoreError};
use chrono::Utc;
use sea_orm::DbErr;
use tokio::sync::{mpsc, oneshot};

/// Reports written together at most.
pub const MAX_GROUP: usize = 256;

/// Reports waiting for the writer at most; senders wait beyond that.
const QUEUE_DEPTH: usize = 4 * MAX_GROUP;

struct Pending {
    report: OutcomeReport,
    reply: oneshot::Sender<Result<ReportResult>>,
}

/// A handle to the report writer; cheap to clone. The writer task ends
/// when the last handle is dropped, after writing what was queued.
#[derive(Clone)]
pub struct ReportQueue {
    tx: mpsc::Sender<Pending>,
}

impl ReportQueue {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store, policy: DispatchPolicy) -> ReportQueue {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(write_groups(store, policy, rx));
        ReportQueue { tx }
    }

    /// Records one report, together with whatever else is waiting.
    pub async fn report(&self, report: OutcomeReport) -> Result<ReportResult> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending { report, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Db(DbErr::Custom("the report writer has stopped".into()))
}

async fn write_groups(store: Store, policy: DispatchPolicy, mut rx: mpsc::Receiver<Pending>) {
    let mut group: Vec<Pending> = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (reports, replies): (Vec<OutcomeReport>, Vec<_>) =
            group.drain(..).map(|p| (p.report, p.reply)).unzip();
        let now = Utc::now();
        match store.report_outcomes(&reports, now, &policy).await {
            Ok(results) => {
                tracing::trace!(reports = reports.len(), "group of outcome reports");
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, reports = reports.len(), "group of outcome reports failed; writing each alone");
                for (report, reply) in reports.iter().zip(replies) {
                    let _ = reply.send(store.report_outcome(report, now, &policy).await);
                }
            }
        }
    }
}
