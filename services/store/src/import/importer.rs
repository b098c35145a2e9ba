//! The import driver shared by `huikuan import` and the `ImportAccounts`
//! gRPC stream, so both apply one set of rules: rows are validated as they
//! arrive, good ones are written in batches, and every row ends either
//! imported or reported with its line.
//!
//! A full batch is written by a task of its own while the next one is read
//! and validated, so reading and writing overlap on two cores; at most one
//! batch is being written at a time, and a failed write is returned by the
//! next `push` that fills a batch, or by `finish`.
//!
//! An account id seen earlier in the same import is an error on the later
//! row (unless `last_wins`); a row that would move an account from another
//! campaign is counted as a move, or refused with `no_move` (reported once
//! its batch is written, by the next `push` or by `finish`). `finish`
//! writes the last, partial batch; `cancel` drops it, so a stopped import
//! keeps whole batches only. Either records the run's end; an importer
//! dropped without either (its process or request died) stops beating and
//! its run is later found `interrupted`.

use super::sqlite::{self, SqliteWriter};
use super::{runs, BatchOutcome, NumberedRecord, DEFAULT_BATCH_ROWS};
use crate::{Result, Store, StoreError};
use huikuan_core::portfolio::{self, FieldError, RawRow, RowError};
use huikuan_core::ImportState;
use sea_orm::DbErr;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How an import treats repeats and moves, and its batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Rows per transaction.
    pub batch_rows: usize,
    /// A repeated account id replaces the earlier row instead of being
    /// refused.
    pub last_wins: bool,
    /// Refuse rows whose account is in another campaign instead of moving it.
    pub no_move: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            batch_rows: DEFAULT_BATCH_ROWS,
            last_wins: false,
            no_move: false,
        }
    }
}

/// The totals of one import, also kept in `import_runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRun {
    pub id: String,
    pub accepted: u64,
    pub rejected: u64,
    /// Accounts moved here from another campaign.
    pub moved: u64,
    pub state: ImportState,
}

pub struct Importer {
    store: Store,
    campaign_id: String,
    today: chrono::NaiveDate,
    options: ImportOptions,
    pending: Vec<NumberedRecord>,
    /// The line each account id was first seen on, by a 128-bit digest of
    /// the id (not kept with `last_wins`): 24 bytes an id instead of the
    /// id's string, 50-70 MB for a million.
    seen: HashMap<[u64; 2], u32>,
    writing: Option<tokio::task::JoinHandle<Result<BatchOutcome>>>,
    /// SQLite databases in a file get the direct writer.
    sqlite: Option<Arc<Mutex<SqliteWriter>>>,
    run: ImportRun,
    /// Rejected rows not yet added to the run record.
    unsaved_rejected: u64,
    /// Rows refused when their batch was written, not yet handed out.
    late: Vec<RowError>,
    heartbeat: tokio::task::JoinHandle<()>,
}

/// 128 bits of SipHash over an account id: two ids of one import sharing
/// one is a chance of about 10^-26 for a million rows.
fn id_digest(id: &str) -> [u64; 2] {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    [half(0), half(1)]
}

impl Drop for Importer {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

impl Importer {
    pub async fn start(
        store: &Store,
        campaign_id: &str,
        source: &str,
        sha256: Option<String>,
        today: chrono::NaiveDate,
    ) -> Result<Importer> {
        let id = store.start_import_run(source, sha256, campaign_id).await?;
        let sqlite = match store.sqlite_file() {
            Some(file) => Some(Arc::new(Mutex::new(SqliteWriter::open(file)?))),
            None => None,
        };
        let heartbeat = tokio::spawn({
            let store = store.clone();
            let id = id.clone();
            async move {
                let mut tick = tokio::time::interval(runs::HEARTBEAT);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if let Err(e) = store.import_heartbeat(&id).await {
                        tracing::warn!(error = %e, run = %id, "import heartbeat");
                    }
                }
            }
        });
        Ok(Importer {
            store: store.clone(),
            campaign_id: campaign_id.to_string(),
            today,
            options: ImportOptions::default(),
            pending: Vec::with_capacity(DEFAULT_BATCH_ROWS),
            seen: HashMap::new(),
            writing: None,
            sqlite,
            run: ImportRun {
                id,
                accepted: 0,
                rejected: 0,
                moved: 0,
                state: ImportState::Running,
            },
            unsaved_rejected: 0,
            late: Vec::new(),
            heartbeat,
        })
    }

    pub fn with_options(mut self, options: ImportOptions) -> Self {
        self.options = ImportOptions {
            batch_rows: options.batch_rows.max(1),
            ..options
        };
        self
    }

    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.options.batch_rows = rows.max(1);
        self
    }

    /// Writes through the portable (sea-orm) writer, the one PostgreSQL
    /// and in-memory SQLite use, even where the direct SQLite writer
    /// could open the file; the test that both writers store the same
    /// rows uses it.
    pub fn with_portable_writer(mut self) -> Self {
        self.sqlite = None;
        self
    }

    /// The run's id (in `import_runs`).
    pub fn run_id(&self) -> &str {
        &self.run.id
    }

    /// Takes one row. Returns the errors to report now: this row's if it
    /// was rejected, and rows of an earlier batch refused when it was
    /// written. Good rows are written once a batch is full.
    pub async fn push(
        &mut self,
        line: u64,
        raw: std::result::Result<RawRow, Vec<FieldError>>,
    ) -> Result<Vec<RowError>> {
        let checked = raw
            .and_then(|raw| portfolio::validate(&raw, self.today))
            .and_then(|record| self.first_time(line, record));
        match checked {
            Ok(record) => {
                self.pending.push((line, record));
                if self.pending.len() >= self.options.batch_rows {
                    self.flush().await?;
                }
            }
            Err(errors) => {
                self.run.rejected += 1;
                self.unsaved_rejected += 1;
                self.late.push(RowError { line, errors });
            }
        }
        Ok(std::mem::take(&mut self.late))
    }

    /// Refuses a row whose account id an earlier row of this import had.
    fn first_time(
        &mut self,
        line: u64,
        record: huikuan_core::AccountRecord,
    ) -> std::result::Result<huikuan_core::AccountRecord, Vec<FieldError>> {
        if self.options.last_wins {
            return Ok(record);
        }
        let key = id_digest(&record.external_id);
        match self.seen.get(&key) {
            Some(first) => Err(vec![FieldError {
                field: "account_id".into(),
                reason: format!(
                    "'{}' repeats line {first} (the earlier row is kept; --last-wins lets a later row replace it)",
                    record.external_id
                ),
            }]),
            None => {
                self.seen.insert(key, u32::try_from(line).unwrap_or(u32::MAX));
                Ok(record)
            }
        }
    }

    /// Hands the pending rows to a writer task once the previous batch is
    /// written. The batch is prepared here first (statements for the
    /// portable writer, bound values for the SQLite one), so that work
    /// overlaps the previous write too.
    async fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return self.wait_for_writer().await;
        }
        let store = self.store.clone();
        let records = std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(self.options.batch_rows),
        );
        let run = self.run.id.clone();
        let no_move = self.options.no_move;
        let task = if let Some(writer) = &self.sqlite {
            let batch = sqlite::SqliteBatch::prepare(
                self.store.contact_keys(),
                &self.campaign_id,
                &run,
                no_move,
                records,
            );
            let writer = writer.clone();
            self.wait_for_writer().await?;
            let rejected = std::mem::take(&mut self.unsaved_rejected);
            tokio::spawn(async move { sqlite::write_batch(&store, writer, batch, rejected).await })
        } else {
            self.wait_for_writer().await?;
            let rejected = std::mem::take(&mut self.unsaved_rejected);
            let batch =
                self.store
                    .prepare_batch(&self.campaign_id, &run, rejected, no_move, records);
            tokio::spawn(async move { store.write_batch(batch).await })
        };
        self.writing = Some(task);
        Ok(())
    }

    async fn wait_for_writer(&mut self) -> Result<()> {
        if let Some(task) = self.writing.take() {
            let done = task.await.map_err(|e| {
                StoreError::Db(DbErr::Custom(format!("import batch writer stopped: {e}")))
            })??;
            self.run.accepted += done.written;
            self.run.moved += done.moved;
            self.run.rejected += done.refused.len() as u64;
            for (line, campaign) in done.refused {
                self.late.push(RowError {
                    line,
                    errors: vec![FieldError {
                        field: "account_id".into(),
                        reason: format!(
                            "the account is in campaign '{campaign}' and --no-move refuses moving it"
                        ),
                    }],
                });
            }
        }
        Ok(())
    }

    /// Rows accepted and written so far.
    pub fn accepted(&self) -> u64 {
        self.run.accepted
    }

    /// Writes the last rows and records the run as finished. Returns the
    /// totals and the errors not yet handed out.
    pub async fn finish(mut self) -> Result<(ImportRun, Vec<RowError>)> {
        self.flush().await?;
        self.wait_for_writer().await?;
        self.store.analyze_after_load().await?;
        self.end(ImportState::Finished).await
    }

    /// Stops the import: the rows of the unfinished batch are dropped
    /// (whole batches only are kept), the batch being written completes,
    /// and the run is recorded as cancelled.
    pub async fn cancel(mut self) -> Result<(ImportRun, Vec<RowError>)> {
        self.pending.clear();
        self.wait_for_writer().await?;
        self.end(ImportState::Cancelled).await
    }

    async fn end(mut self, state: ImportState) -> Result<(ImportRun, Vec<RowError>)> {
        self.heartbeat.abort();
        let rest = runs::Progress {
            rejected: std::mem::take(&mut self.unsaved_rejected),
            ..Default::default()
        };
        self.store.end_import_run(&self.run.id, state, rest).await?;
        self.run.state = state;
        Ok((self.run.clone(), std::mem::take(&mut self.late)))
    }
}
