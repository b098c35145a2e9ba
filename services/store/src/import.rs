//! Bulk portfolio import: validated account records are upserted in
//! batches, each batch one transaction, keyed by the lender's account id.
//!
//! Idempotent: re-importing a file changes nothing that is already equal
//! and never creates a second account, contact, debt or call attempt. A
//! crash loses at most the batch in flight, never half of it.

use crate::entity::{account, call_attempt, contact, debt, import_run};
use crate::{ids, now_ms, Result, Store, DEBTOR_TIME_ZONES, DEBTOR_TIME_ZONE_COLUMN};
use huikuan_core::portfolio::{self, FieldError, RawRow, RowError};
use huikuan_core::{AccountRecord, AttemptStatus};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait,
};
use std::collections::HashMap;

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

impl Store {
    /// Writes one batch of validated records into `campaign_id` atomically.
    pub async fn import_batch(
        &self,
        campaign_id: &str,
        records: &[AccountRecord],
    ) -> Result<BatchStats> {
        // Last occurrence of an account id in the batch wins.
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            last.insert(r.external_id.as_str(), i);
        }
        let rows: Vec<&AccountRecord> = records
            .iter()
            .enumerate()
            .filter(|(i, r)| last[r.external_id.as_str()] == *i)
            .map(|(_, r)| r)
            .collect();
        let now = now_ms();
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            self.write_chunk(&txn, campaign_id, chunk, now).await?;
        }
        if !rows.is_empty() {
            self.remember_time_zones(&txn, &rows).await?;
        }
        txn.commit().await?;
        self.tz_cache.invalidate();
        Ok(BatchStats {
            written: rows.len() as u64,
            folded: (records.len() - rows.len()) as u64,
        })
    }

    /// The calling-window check asks which zones debtors live in; the
    /// batch adds its zones to that small set (one row per zone) instead
    /// of an index over every account.
    async fn remember_time_zones(
        &self,
        txn: &DatabaseTransaction,
        rows: &[&AccountRecord],
    ) -> Result<()> {
        let zones: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.region.time_zone.name()).collect();
        let zone_col = Alias::new(DEBTOR_TIME_ZONE_COLUMN);
        let mut q = Query::insert();
        q.into_table(Alias::new(DEBTOR_TIME_ZONES))
            .columns([zone_col.clone()])
            .on_conflict(OnConflict::column(zone_col).do_nothing().to_owned());
        for z in zones {
            q.values_panic([z.into()]);
        }
        txn.execute(self.backend().build(&q)).await?;
        Ok(())
    }

    async fn write_chunk(
        &self,
        txn: &DatabaseTransaction,
        campaign_id: &str,
        chunk: &[&AccountRecord],
        now: i64,
    ) -> Result<()> {
        let backend = self.backend();
        use account::Column as A;
        let mut q = Query::insert();
        q.into_table(account::Entity)
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
            q.values_panic(values([
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
        txn.execute(backend.build(&q)).await?;

        use debt::Column as D;
        let mut q = Query::insert();
        q.into_table(debt::Entity)
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
            q.values_panic(values([
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
        txn.execute(backend.build(&q)).await?;

        use contact::Column as C;
        let mut q = Query::insert();
        q.into_table(contact::Entity)
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
        let mut dnc_contacts = Vec::new();
        let mut first_callable: Vec<(&AccountRecord, String)> = Vec::with_capacity(chunk.len());
        for r in chunk {
            let mut first = None;
            for (priority, c) in r.contacts.iter().enumerate() {
                let id = ids::contact(&r.external_id, c.phone.e164());
                if c.dnc {
                    dnc_contacts.push(id.clone());
                } else if first.is_none() {
                    first = Some(id.clone());
                }
                q.values_panic(values([
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
        txn.execute(backend.build(&q)).await?;

        // An account moved to this campaign stops being called by its old one;
        // a number now marked do-not-call is never dialled again.
        use call_attempt::Column as T;
        let queued = AttemptStatus::Queued.as_str();
        let cancelled = AttemptStatus::Cancelled.as_str();
        // Look the chunk's existing attempts up by account (new accounts have
        // none), decide here, then cancel by primary key: a status filter in
        // the lookup would let the planner scan every queued attempt.
        let existing = call_attempt::Entity::find()
            .select_only()
            .columns([T::Id, T::CampaignId, T::ContactId, T::Status])
            .filter(T::AccountId.is_in(chunk.iter().map(|r| r.external_id.as_str())))
            .into_tuple::<(String, String, String, String)>()
            .all(txn)
            .await?;
        let dnc: std::collections::HashSet<&str> =
            dnc_contacts.iter().map(String::as_str).collect();
        let to_cancel: Vec<&str> = existing
            .iter()
            .filter(|(_, campaign, contact, status)| {
                status == queued && (campaign != campaign_id || dnc.contains(contact.as_str()))
            })
            .map(|(id, ..)| id.as_str())
            .collect();
        if !to_cancel.is_empty() {
            call_attempt::Entity::update_many()
                .col_expr(T::Status, Expr::value(cancelled))
                .filter(T::Id.is_in(to_cancel))
                .filter(T::Status.eq(queued))
                .exec(txn)
                .await?;
        }

        if !first_callable.is_empty() {
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
                    queued.into(),
                    now.into(),
                    r.region.time_zone.name().into(),
                    0i64.into(),
                    now.into(),
                ]));
            }
            txn.execute(backend.build(&q)).await?;
        }
        Ok(())
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

/// Validates rows as they arrive and writes them in batches; shared by the
/// CLI import and the `ImportAccounts` gRPC stream so both apply one set of
/// rules.
pub struct Importer<'a> {
    store: &'a Store,
    campaign_id: String,
    today: chrono::NaiveDate,
    batch_rows: usize,
    pending: Vec<AccountRecord>,
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
        Ok(Importer {
            store,
            campaign_id: campaign_id.to_string(),
            today,
            batch_rows: DEFAULT_BATCH_ROWS,
            pending: Vec::with_capacity(DEFAULT_BATCH_ROWS),
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

    async fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let stats = self
            .store
            .import_batch(&self.campaign_id, &self.pending)
            .await?;
        self.run.accepted += stats.written + stats.folded;
        self.pending.clear();
        Ok(())
    }

    /// Rows accepted and written so far.
    pub fn accepted(&self) -> u64 {
        self.run.accepted
    }

    pub async fn finish(mut self) -> Result<ImportRun> {
        self.flush().await?;
        self.store
            .finish_import_run(&self.run.id, self.run.accepted, self.run.rejected)
            .await?;
        Ok(self.run)
    }
}
