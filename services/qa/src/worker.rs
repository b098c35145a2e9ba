//! A QA worker: takes the calls queued for inspection from the store one
//! at a time, inspects each recording, stores the result, and makes each
//! hour's report when it is due. Any number of workers (processes or
//! tasks) share the queue; the store's leases keep them from inspecting a
//! call into the results twice, and a worker that dies leaves its call to
//! the next once its lease runs out.
//!
//! The inspection itself runs on a thread of its own (the recognizer is
//! CPU bound); embedded in a server that also runs live calls it can run
//! at low priority, so that the calls keep the cores they need.

use crate::inspect::{inspect, CallFacts};
use crate::listen::{Listener, RobotWords};
use crate::recording::Recording;
use crate::rules::QaRuleBook;
use crate::QaConfig;
use huikuan_core::Dialect;
use huikuan_dialogue::Nlu;
use huikuan_store::{InspectionJob, NewInspection, Store, StoredFlag};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The clock the worker runs on: epoch milliseconds (a test's is
/// simulated).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Inspects one recorded call; the worker's engine.
pub trait Inspector: Send + Sync + 'static {
    /// The inspection's result for the store, or why there is none.
    fn inspect(&self, job: &InspectionJob) -> Result<NewInspection, String>;
}

/// The real inspector: the recording heard and checked.
pub struct CallInspector {
    pub listener: Listener,
    pub rules: QaRuleBook,
    pub nlu: Nlu,
    pub config: QaConfig,
    /// Where recordings are (their paths are relative to it).
    pub recordings: PathBuf,
    /// The lender's name, which collectors must say.
    pub lender: Option<String>,
}

impl Inspector for CallInspector {
    fn inspect(&self, job: &InspectionJob) -> Result<NewInspection, String> {
        let path = self.recordings.join(&job.recording_path);
        let recording = Recording::read(&path).map_err(|e| e.to_string())?;
        let dialect = match job.dialect.parse::<Dialect>() {
            Ok(Dialect::Auto) | Err(_) => Dialect::Mandarin,
            Ok(d) => d,
        };
        let robot = match (&job.call_record, self.config.robot_words_from_record) {
            (Some(json), true) => serde_json::from_str::<huikuan_core::call::CallRecord>(json)
                .map(|r| RobotWords::from_record(&r))
                .unwrap_or_else(|e| {
                    tracing::warn!(call = %job.attempt_id, error = %e, "call record unreadable: the robot's words are recognized");
                    RobotWords::default()
                }),
            _ => RobotWords::default(),
        };
        let heard = self
            .listener
            .listen(&recording, dialect, &robot)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let facts = CallFacts {
            lender: self.lender.clone(),
            day: None,
        };
        let result = inspect(
            &heard,
            self.rules.get(dialect),
            &self.nlu,
            &facts,
            &self.config,
        );
        let flags = result
            .flags
            .iter()
            .map(|f| StoredFlag {
                kind: f.kind.as_str().into(),
                channel: f.speaker.as_str().into(),
                start_ms: f.start_ms as i64,
                end_ms: f.end_ms as i64,
                rule: f.rule.clone(),
                evidence: f.evidence.clone(),
            })
            .collect();
        let json = crate::inspect::to_json(&result, &heard).map_err(|e| e.to_string())?;
        Ok(NewInspection {
            dialect: dialect.as_str().into(),
            score: f64::from(result.score),
            flags,
            result: json.to_string(),
        })
    }
}

/// How a worker runs.
#[derive(Clone)]
pub struct WorkerOptions {
    /// Its name in the queue's leases.
    pub id: String,
    /// How long a leased call is its own before another may take it.
    pub lease: Duration,
    /// How long to wait when the queue is empty.
    pub idle_wait: Duration,
    /// Inspect at low scheduling priority (beside live calls).
    pub low_priority: bool,
}

type Request = (
    InspectionJob,
    oneshot::Sender<Result<NewInspection, String>>,
);

/// The inspector's own thread.
fn start_thread(inspector: Arc<dyn Inspector>, low_priority: bool) -> mpsc::Sender<Request> {
    let (tx, rx) = mpsc::channel::<Request>();
    std::thread::Builder::new()
        .name("qa-inspect".into())
        .spawn(move || {
            if low_priority {
                huikuan_speech::asr::background::lower_own_priority();
            }
            for (job, reply) in rx {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    inspector.inspect(&job)
                }))
                .unwrap_or_else(|_| Err("the inspection panicked".into()));
                let _ = reply.send(result);
            }
        })
        .expect("a thread for inspections");
    tx
}

/// Runs until `stop` resolves: leases, inspects, stores, reports.
pub async fn run(
    store: Store,
    inspector: Arc<dyn Inspector>,
    clock: Clock,
    options: WorkerOptions,
    stop: impl std::future::Future<Output = ()>,
) {
    let thread = start_thread(inspector, options.low_priority);
    tokio::pin!(stop);
    let lease_ms = options.lease.as_millis() as i64;
    loop {
        let now = clock();
        if let Err(e) = store.make_due_hour_reports(now).await {
            tracing::error!(error = %e, "making the hourly QA reports");
        }
        let job = match store.lease_inspection(&options.id, now, lease_ms).await {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(error = %e, "leasing a call to inspect");
                None
            }
        };
        let Some(job) = job else {
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(options.idle_wait) => continue,
            }
        };
        let (reply, answer) = oneshot::channel();
        if thread.send((job.clone(), reply)).is_err() {
            tracing::error!("the inspection thread is gone");
            return;
        }
        let result = tokio::select! {
            _ = &mut stop => return,
            r = answer => r.unwrap_or_else(|_| Err("the inspection thread is gone".into())),
        };
        let done = clock();
        match result {
            Ok(inspection) => {
                let score = inspection.score;
                match store.finish_inspection(&job, inspection, done).await {
                    Ok(true) => tracing::info!(attempt = %job.attempt_id, score, "call inspected"),
                    Ok(false) => {
                        tracing::warn!(attempt = %job.attempt_id, "inspected after its lease ran out; another worker has it")
                    }
                    Err(e) => {
                        tracing::error!(attempt = %job.attempt_id, error = %e, "storing an inspection")
                    }
                }
            }
            Err(why) => {
                tracing::warn!(attempt = %job.attempt_id, error = %why, "call not inspected");
                if let Err(e) = store.fail_inspection(&job, &why, done).await {
                    tracing::error!(attempt = %job.attempt_id, error = %e, "marking an inspection failed");
                }
            }
        }
    }
}
