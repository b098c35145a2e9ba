//! Bulk portfolio import: validated account records are upserted in
//! batches, each batch one transaction, keyed by the lender's account id.
//!
//! Idempotent: re-importing a file changes nothing that is already equal
//! and never creates a second account, contact, debt or call attempt. A
//! crash loses at most the batch being written and the one being read,
//! never half of one.

use crate::entity::{account, call_attempt, contact, debt, import_run};
use crate::{ids, now_ms, Result, Store, StoreError, DEBTOR_TIME_ZONES, DEBTOR_TIME_ZONE_COLUMN};
use huikuan_core::portfolio::{self, FieldError, RawRow, RowError};
use huikuan_core::{AccountRecord, AttemptStatus};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QuerySelect, QueryTrait, Statement, TransactionTrait,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

mod sqlite;

/// Rows per INSERT statement: keeps bind parameters well under SQLite's limit.
const ROWS_PER_STATEMENT: usize = 500;

/// Default rows per transaction.
pub const DEFAULT_BATCH_ROWS: usize = 20_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Rows written (after folding repeats of one account id in the batch).
    pub written: u64,
    /// Rows that repeated an account id earlier in the same batch: the later
    /// row wins, as it would across batches.
    pub folded: u64,
}

/// The totals of one import, also kept in `import_runs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportRun {
    pub id: String,
    pub accepted: u64,
    pub rejected: u64,
}

fn values<const N: usize>(v: [SimpleExpr; N]) -> [SimpleExpr; N] {
    v
}

/// One batch turned into statements, ready to run in one transaction.
/// Building it is CPU work that needs no connection, so the importer does
/// it while the previous batch is still being written.
pub struct PreparedBatch {
    campaign_id: String,
    chunks: Vec<PreparedChunk>,
    time_zones: Option<Statement>,
    stats: BatchStats,
}

/// The statements for up to `ROWS_PER_STATEMENT` accounts.
struct PreparedChunk {
    /// Accounts, debts and contacts, in that order (foreign keys).
    upserts: [Statement; 3],
    /// The chunk's existing attempts: (id, campaign, contact, status).
    existing_attempts: Statement,
    dnc_contacts: HashSet<String>,
    new_attempts: Option<Statement>,
}

impl Store {
    /// Writes one batch of validated records into `campaign_id` atomically.
    pub async fn import_batch(
        &self,
        campaign_id: &str,
        records: &[AccountRecord],
    ) -> Result<BatchStats> {
        let batch = self.prepare_batch(campaign_id, records);
        self.write_batch(batch).await
    }

    /// Builds a batch's statements; the last occurrence of an account id
    /// in the batch wins.
    pub fn prepare_batch(&self, campaign_id: &str, records: &[AccountRecord]) -> PreparedBatch {
        let rows = last_of_each(records);
        let now = now_ms();
        let backend = self.backend();
        PreparedBatch {
            campaign_id: campaign_id.to_string(),
            chunks: rows
                .chunks(ROWS_PER_STATEMENT)
                .map(|chunk| prepare_chunk(backend, campaign_id, chunk, now))
                .collect(),
            time_zones: (!rows.is_empty()).then(|| time_zones_statement(backend, &rows)),
            stats: BatchStats {
                written: rows.len() as u64,
                folded: (records.len() - rows.len()) as u64,
            },
        }
    }

    /// Runs a prepared batch in one transaction.
    pub async fn write_batch(&self, batch: PreparedBatch) -> Result<BatchStats> {
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        for chunk in batch.chunks {
            write_chunk(&txn, &batch.campaign_id, chunk).await?;
        }
        if let Some(zones) = batch.time_zones {
            txn.execute(zones).await?;
        }
        txn.commit().await?;
        self.tz_cache.invalidate();
        Ok(batch.stats)
    }

    pub async fn start_import_run(
        &self,
        source: &str,
        sha256: Option<String>,
        campaign_id: &str,
    ) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let model = import_run::ActiveModel {
            id: Set(id.clone()),
            source: Set(source.to_string()),
            sha256: Set(sha256),
            campaign_id: Set(campaign_id.to_string()),
            accepted: Set(0),
            rejected: Set(0),
            started_at_ms: Set(now_ms()),
            finished_at_ms: Set(None),
        };
        let _guard = self.write_guard().await;
        import_run::Entity::insert(model)
            .exec_without_returning(&self.db)
            .await?;
        Ok(id)
    }

    pub async fn finish_import_run(&self, id: &str, accepted: u64, rejected: u64) -> Result<()> {
        let _guard = self.write_guard().await;
        import_run::Entity::update_many()
            .col_expr(import_run::Column::Accepted, Expr::value(accepted as i64))
            .col_expr(import_run::Column::Rejected, Expr::value(rejected as i64))
            .col_expr(import_run::Column::FinishedAtMs, Expr::value(now_ms()))
            .filter(import_run::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// The calling-window check asks which zones debtors live in; the batch
/// adds its zones to that small set (one row per zone) instead of an index
/// over every account.
fn time_zones_statement(backend: DatabaseBackend, rows: &[&AccountRecord]) -> Statement {
    let zones: BTreeSet<&str> = rows.iter().map(|r| r.region.time_zone.name()).collect();
    let zone_col = Alias::new(DEBTOR_TIME_ZONE_COLUMN);
    let mut q = Query::insert();
    q.into_table(Alias::new(DEBTOR_TIME_ZONES))
        .columns([zone_col.clone()])
        .on_conflict(OnConflict::column(zone_col).do_nothing().to_owned());
    for z in zones {
        q.values_panic([z.into()]);
    }
    backend.build(&q)
}

fn prepare_chunk(
    backend: DatabaseBackend,
    campaign_id: &str,
    chunk: &[&AccountRecord],
    now: i64,
) -> PreparedChunk {
    use account::Column as A;
    let mut accounts = Query::insert();
    accounts
        .into_table(account::Entity)
        .columns([
            A::Id,
            A::CampaignId,
            A::Name,
            A::Dialect,
            A::Province,
            A::City,
            A::TimeZone,
            A::CreatedAtMs,
            A::UpdatedAtMs,
        ])
        .on_conflict(
            OnConflict::column(A::Id)
                .update_columns([
                    A::CampaignId,
                    A::Name,
                    A::Dialect,
                    A::Province,
                    A::City,
                    A::TimeZone,
                    A::UpdatedAtMs,
                ])
                .to_owned(),
        );
    for r in chunk {
        accounts.values_panic(values([
            r.external_id.clone().into(),
            campaign_id.into(),
            r.name.clone().into(),
            r.dialect.as_str().into(),
            r.region.province.clone().into(),
            r.region.city.clone().into(),
            r.region.time_zone.name().into(),
            now.into(),
            now.into(),
        ]));
    }

    use debt::Column as D;
    let mut debts = Query::insert();
    debts
        .into_table(debt::Entity)
        .columns([
            D::Id,
            D::AccountId,
            D::LoanId,
            D::Product,
            D::PrincipalFen,
            D::OverdueFen,
            D::DueDate,
            D::DaysPastDue,
            D::UpdatedAtMs,
        ])
        .on_conflict(
            OnConflict::column(D::Id)
                .update_columns([
                    D::Product,
                    D::PrincipalFen,
                    D::OverdueFen,
                    D::DueDate,
                    D::DaysPastDue,
                    D::UpdatedAtMs,
                ])
                .to_owned(),
        );
    for r in chunk {
        let d = &r.debt;
        debts.values_panic(values([
            ids::debt(&r.external_id, &d.loan_id).into(),
            r.external_id.clone().into(),
            d.loan_id.clone().into(),
            d.product.clone().into(),
            d.principal.fen().into(),
            d.overdue_amount.fen().into(),
            d.due_date.format("%Y-%m-%d").to_string().into(),
            (d.days_past_due as i32).into(),
            now.into(),
        ]));
    }

    use contact::Column as C;
    let mut contacts = Query::insert();
    contacts
        .into_table(contact::Entity)
        .columns([
            C::Id,
            C::AccountId,
            C::Phone,
            C::Priority,
            C::Dnc,
            C::AttemptsToday,
        ])
        .on_conflict(
            OnConflict::column(C::Id)
                .update_columns([C::Priority, C::Dnc])
                .to_owned(),
        );
    let mut dnc_contacts = HashSet::new();
    let mut first_callable: Vec<(&AccountRecord, String)> = Vec::with_capacity(chunk.len());
    for r in chunk {
        let mut first = None;
        for (priority, c) in r.contacts.iter().enumerate() {
            let id = ids::contact(&r.external_id, c.phone.e164());
            if c.dnc {
                dnc_contacts.insert(id.clone());
            } else if first.is_none() {
                first = Some(id.clone());
            }
            contacts.values_panic(values([
                id.into(),
                r.external_id.clone().into(),
                c.phone.e164().into(),
                (priority as i32).into(),
                c.dnc.into(),
                0i32.into(),
            ]));
        }
        if let Some(first) = first {
            first_callable.push((r, first));
        }
    }

    // Look the chunk's existing attempts up by account (new accounts have
    // none); `write_chunk` decides which to cancel and cancels them by
    // primary key: a status filter in the lookup would let the planner scan
    // every queued attempt.
    use call_attempt::Column as T;
    let existing_attempts = call_attempt::Entity::find()
        .select_only()
        .columns([T::Id, T::CampaignId, T::ContactId, T::Status])
        .filter(crate::of_accounts(
            backend,
            T::Id,
            T::AccountId,
            chunk.iter().map(|r| r.external_id.as_str()),
        ))
        .build(backend);

    let new_attempts = (!first_callable.is_empty()).then(|| {
        let mut q = Query::insert();
        q.into_table(call_attempt::Entity)
            .columns([
                T::Id,
                T::CampaignId,
                T::AccountId,
                T::ContactId,
                T::Seq,
                T::Status,
                T::NotBeforeMs,
                T::TimeZone,
                T::LeaseToken,
                T::CreatedAtMs,
            ])
            .on_conflict(OnConflict::column(T::Id).do_nothing().to_owned());
        for (r, contact_id) in &first_callable {
            q.values_panic(values([
                ids::attempt(campaign_id, contact_id, 0).into(),
                campaign_id.into(),
                r.external_id.clone().into(),
                contact_id.clone().into(),
                0i32.into(),
                AttemptStatus::Queued.as_str().into(),
                now.into(),
                r.region.time_zone.name().into(),
                0i64.into(),
                now.into(),
            ]));
        }
        backend.build(&q)
    });
    PreparedChunk {
        upserts: [
            backend.build(&accounts),
            backend.build(&debts),
            backend.build(&contacts),
        ],
        existing_attempts,
        dnc_contacts,
        new_attempts,
    }
}

/// For each row of a batch, whether it is the last with its account id
/// (the one to write).
fn is_last_of_its_account(records: &[AccountRecord]) -> Vec<bool> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        last.insert(r.external_id.as_str(), i);
    }
    records
        .iter()
        .enumerate()
        .map(|(i, r)| last[r.external_id.as_str()] == i)
        .collect()
}

/// The rows of a batch to write: the last occurrence of each account id.
fn last_of_each(records: &[AccountRecord]) -> Vec<&AccountRecord> {
    records
        .iter()
        .zip(is_last_of_its_account(records))
        .filter(|(_, last)| *last)
        .map(|(r, _)| r)
        .collect()
}

/// A call attempt already stored for an account being imported.
struct ExistingAttempt {
    id: String,
    campaign_id: String,
    contact_id: String,
    status: String,
}

/// The queued attempts a re-import stops: an account moved to another
/// campaign is no longer called by its old one, and a number now marked
/// do-not-call is never dialled again.
fn stale_attempts<'a>(
    existing: &'a [ExistingAttempt],
    campaign_id: &str,
    is_dnc: impl Fn(&str) -> bool,
) -> Vec<&'a str> {
    let queued = AttemptStatus::Queued.as_str();
    existing
        .iter()
        .filter(|a| a.status == queued && (a.campaign_id != campaign_id || is_dnc(&a.contact_id)))
        .map(|a| a.id.as_str())
        .collect()
}

/// Runs one chunk's statements. An account moved to this campaign stops
/// being called by its old one; a number now marked do-not-call is never
/// dialled again.
async fn write_chunk(
    txn: &DatabaseTransaction,
    campaign_id: &str,
    chunk: PreparedChunk,
) -> Result<()> {
    for statement in chunk.upserts {
        txn.execute(statement).await?;
    }
    let mut existing = Vec::new();
    for row in txn.query_all(chunk.existing_attempts).await? {
        let (id, campaign_id, contact_id, status) = row.try_get_many_by_index()?;
        existing.push(ExistingAttempt {
            id,
            campaign_id,
            contact_id,
            status,
        });
    }
    let queued = AttemptStatus::Queued.as_str();
    let to_cancel = stale_attempts(&existing, campaign_id, |c| chunk.dnc_contacts.contains(c));
    if !to_cancel.is_empty() {
        use call_attempt::Column as T;
        call_attempt::Entity::update_many()
            .col_expr(T::Status, Expr::value(AttemptStatus::Cancelled.as_str()))
            .filter(T::Id.is_in(to_cancel))
            .filter(T::Status.eq(queued))
            .exec(txn)
            .await?;
    }
    if let Some(statement) = chunk.new_attempts {
        txn.execute(statement).await?;
    }
    Ok(())
}

/// Validates rows as they arrive and writes them in batches; shared by the
/// CLI import and the `ImportAccounts` gRPC stream so both apply one set of
/// rules.
///
/// A full batch is written by a task of its own while the next one is read
/// and validated, so reading and writing overlap on two cores; at most one
/// batch is being written at a time, and a failed write is returned by the
/// next `push` that fills a batch, or by `finish`.
pub struct Importer<'a> {
    store: &'a Store,
    campaign_id: String,
    today: chrono::NaiveDate,
    batch_rows: usize,
    pending: Vec<AccountRecord>,
    writing: Option<tokio::task::JoinHandle<Result<u64>>>,
    /// SQLite databases in a file get the direct writer.
    sqlite: Option<Arc<Mutex<sqlite::SqliteWriter>>>,
    run: ImportRun,
}

impl<'a> Importer<'a> {
    pub async fn start(
        store: &'a Store,
        campaign_id: &str,
        source: &str,
        sha256: Option<String>,
        today: chrono::NaiveDate,
    ) -> Result<Importer<'a>> {
        let id = store.start_import_run(source, sha256, campaign_id).await?;
        let sqlite = match store.sqlite_file() {
            Some(file) => Some(Arc::new(Mutex::new(sqlite::SqliteWriter::open(file)?))),
            None => None,
        };
        Ok(Importer {
            store,
            campaign_id: campaign_id.to_string(),
            today,
            batch_rows: DEFAULT_BATCH_ROWS,
            pending: Vec::with_capacity(DEFAULT_BATCH_ROWS),
            writing: None,
            sqlite,
            run: ImportRun {
                id,
                accepted: 0,
                rejected: 0,
            },
        })
    }

    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
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

    /// Takes one row; returns its errors if it was rejected. Good rows are
    /// written once a batch is full.
    pub async fn push(
        &mut self,
        line: u64,
        raw: std::result::Result<RawRow, Vec<FieldError>>,
    ) -> Result<Option<RowError>> {
        match raw.and_then(|raw| portfolio::validate(&raw, self.today)) {
            Ok(record) => {
                self.pending.push(record);
                if self.pending.len() >= self.batch_rows {
                    self.flush().await?;
                }
                Ok(None)
            }
            Err(errors) => {
                self.run.rejected += 1;
                Ok(Some(RowError { line, errors }))
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
        let campaign_id = self.campaign_id.clone();
        let task = if let Some(writer) = &self.sqlite {
            let records = std::mem::replace(&mut self.pending, Vec::with_capacity(self.batch_rows));
            let batch = sqlite::SqliteBatch::prepare(&campaign_id, records);
            let writer = writer.clone();
            self.wait_for_writer().await?;
            tokio::spawn(async move {
                let stats = sqlite::write_batch(&store, writer, batch).await?;
                Ok(stats.written + stats.folded)
            })
        } else {
            let batch = self.store.prepare_batch(&campaign_id, &self.pending);
            self.pending.clear();
            self.wait_for_writer().await?;
            tokio::spawn(async move {
                let stats = store.write_batch(batch).await?;
                Ok(stats.written + stats.folded)
            })
        };
        self.writing = Some(task);
        Ok(())
    }

    async fn wait_for_writer(&mut self) -> Result<()> {
        if let Some(task) = self.writing.take() {
            let accepted = task.await.map_err(|e| {
                StoreError::Db(DbErr::Custom(format!("import batch writer stopped: {e}")))
            })??;
            self.run.accepted += accepted;
        }
        Ok(())
    }

    /// Rows accepted and written so far.
    pub fn accepted(&self) -> u64 {
        self.run.accepted
    }

    pub async fn finish(mut self) -> Result<ImportRun> {
        self.flush().await?;
        self.wait_for_writer().await?;
        self.store
            .finish_import_run(&self.run.id, self.run.accepted, self.run.rejected)
            .await?;
        Ok(self.run)
    }
}
