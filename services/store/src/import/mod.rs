//! Bulk portfolio import: validated account records are upserted in
//! batches, each batch one transaction, keyed by the lender's account id.
//!
//! Idempotent: re-importing a file changes nothing that is already equal
//! and never creates a second account, contact, debt or call attempt. A
//! crash loses at most the batch being written and the one being read,
//! never half of one; each batch adds its counts to its import run in the
//! same transaction.
//!
//! An account already in another campaign moves to this one (its queued
//! calls there are cancelled), and the run counts it; with `no_move` such
//! rows are refused instead. An account whose overdue amount is 0 is kept
//! up to date but not called: it gets no new call, and its queued ones are
//! cancelled.
//!
//! This module prepares batches and writes them through sea-orm (the
//! portable writer, for PostgreSQL and in-memory SQLite); `sqlite` is the
//! direct writer for SQLite files, `importer` drives either from rows as
//! they arrive, `runs` keeps the record of each import.

use crate::entity::{account, call_attempt, contact, debt};
use crate::{ids, now_ms, ContactKeys, Result, Store, DEBTOR_TIME_ZONES, DEBTOR_TIME_ZONE_COLUMN};
use huikuan_core::{AccountRecord, AttemptStatus};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter,
    QuerySelect, QueryTrait, Statement, TransactionTrait,
};
use std::collections::{BTreeSet, HashMap, HashSet};

mod importer;
pub mod runs;
mod sqlite;

pub use importer::{ImportOptions, ImportRun, Importer};
pub use runs::ImportRunView;

/// Rows per INSERT statement: keeps bind parameters well under SQLite's limit.
const ROWS_PER_STATEMENT: usize = 500;

/// Default rows per transaction.
pub const DEFAULT_BATCH_ROWS: usize = 20_000;

/// A validated row and the line (or stream message) it came from.
pub type NumberedRecord = (u64, AccountRecord);

/// What writing one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows written (repeats of one account id in the batch included:
    /// the later row wins).
    pub written: u64,
    /// Accounts moved here from another campaign.
    pub moved: u64,
    /// Rows not written because they would have moved an account
    /// (`no_move`): their line and the campaign the account stays in.
    pub refused: Vec<(u64, String)>,
}

fn values<const N: usize>(v: [SimpleExpr; N]) -> [SimpleExpr; N] {
    v
}

/// One batch turned into statements, ready to run in one transaction.
/// Building it is CPU work that needs no connection, so the importer does
/// it while the previous batch is still being written.
pub struct PreparedBatch {
    campaign_id: String,
    keys: ContactKeys,
    run_id: String,
    /// Rows rejected since the last batch, added to the run with this one.
    rejected: u64,
    no_move: bool,
    chunks: Vec<PreparedChunk>,
    time_zones: Option<Statement>,
    /// Rows in the batch, repeats included.
    rows: u64,
}

/// The statements for up to `ROWS_PER_STATEMENT` accounts.
struct PreparedChunk {
    /// The rows, kept to prepare the chunk again without refused ones.
    rows: Vec<NumberedRecord>,
    /// The chunk's accounts as stored: (id, campaign id, campaign name).
    existing_accounts: Statement,
    /// Accounts, debts and contacts, in that order (foreign keys).
    upserts: [Statement; 3],
    /// The chunk's existing attempts: (id, campaign, contact, status, account).
    existing_attempts: Statement,
    dnc_contacts: HashSet<String>,
    /// Accounts owing nothing: they are not called.
    settled: HashSet<String>,
    new_attempts: Option<Statement>,
}

impl Store {
    /// After a bulk load on PostgreSQL: fresh statistics of the loaded
    /// tables, so that the next queries (a plan of the whole portfolio
    /// first) are planned for the tables' real sizes, not for the empty
    /// tables autovacuum last saw. SQLite plans without statistics.
    pub(crate) async fn analyze_after_load(&self) -> Result<()> {
        if self.backend() == sea_orm::DatabaseBackend::Postgres {
            self.db
                .execute_unprepared("ANALYZE accounts, contacts, debts, call_attempts")
                .await?;
        }
        Ok(())
    }

    /// Builds a batch's statements; the last occurrence of an account id
    /// in the batch wins.
    pub(crate) fn prepare_batch(
        &self,
        campaign_id: &str,
        run_id: &str,
        rejected: u64,
        no_move: bool,
        records: Vec<NumberedRecord>,
    ) -> PreparedBatch {
        let total = records.len() as u64;
        let rows = last_of_each(records);
        let now = now_ms();
        let backend = self.backend();
        let time_zones = (!rows.is_empty()).then(|| time_zones_statement(backend, &rows));
        let mut chunks = Vec::with_capacity(rows.len() / ROWS_PER_STATEMENT + 1);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<NumberedRecord> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
            chunks.push(prepare_chunk(
                backend,
                &self.contact_keys,
                campaign_id,
                chunk,
                now,
            ));
        }
        PreparedBatch {
            campaign_id: campaign_id.to_string(),
            keys: self.contact_keys.clone(),
            run_id: run_id.to_string(),
            rejected,
            no_move,
            chunks,
            time_zones,
            rows: total,
        }
    }

    /// Runs a prepared batch in one transaction, its run's counts with it.
    pub(crate) async fn write_batch(&self, batch: PreparedBatch) -> Result<BatchOutcome> {
        let backend = self.backend();
        let _guard = self.write_guard().await;
        let txn = self.db.begin().await?;
        let mut outcome = BatchOutcome::default();
        for chunk in batch.chunks {
            let done = write_chunk(
                &txn,
                backend,
                &batch.keys,
                &batch.campaign_id,
                chunk,
                batch.no_move,
            )
            .await?;
            outcome.moved += done.moved;
            outcome.refused.extend(done.refused);
        }
        outcome.written = batch.rows - outcome.refused.len() as u64;
        if let Some(zones) = batch.time_zones {
            txn.execute(zones).await?;
        }
        txn.execute(runs::add_progress(
            backend,
            &batch.run_id,
            runs::Progress {
                accepted: outcome.written,
                rejected: batch.rejected + outcome.refused.len() as u64,
                moved: outcome.moved,
            },
        ))
        .await?;
        txn.commit().await?;
        self.tz_cache.invalidate();
        Ok(outcome)
    }
}

/// The calling-window check asks which zones debtors live in; the batch
/// adds its zones to that small set (one row per zone) instead of an index
/// over every account.
fn time_zones_statement(backend: DatabaseBackend, rows: &[NumberedRecord]) -> Statement {
    let zones: BTreeSet<&str> = rows
        .iter()
        .map(|(_, r)| r.region.time_zone.name())
        .collect();
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
    keys: &ContactKeys,
    campaign_id: &str,
    rows: Vec<NumberedRecord>,
    now: i64,
) -> PreparedChunk {
    let chunk: Vec<&AccountRecord> = rows.iter().map(|(_, r)| r).collect();
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
    for r in &chunk {
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
    for r in &chunk {
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
    let settled: HashSet<String> = chunk
        .iter()
        .filter(|r| owes_nothing(r))
        .map(|r| r.external_id.clone())
        .collect();
    for r in &chunk {
        let mut first = None;
        for (priority, c) in r.contacts.iter().enumerate() {
            let id = keys.contact_id(&r.external_id, c.phone.e164());
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
        if let Some(first) = first.filter(|_| !owes_nothing(r)) {
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
        .columns([T::Id, T::CampaignId, T::ContactId, T::Status, T::AccountId])
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
    let existing_accounts = crate::dispatch::stmt(
        backend,
        &format!(
            "SELECT a.id, a.campaign_id, c.name FROM accounts a LEFT JOIN campaigns c ON c.id = a.campaign_id \
             WHERE a.id IN ({})",
            crate::dispatch::placeholders(chunk.len())
        ),
        chunk.iter().map(|r| r.external_id.as_str().into()).collect(),
    );
    let (upserts, new_attempts) = (
        [
            backend.build(&accounts),
            backend.build(&debts),
            backend.build(&contacts),
        ],
        new_attempts,
    );
    PreparedChunk {
        rows,
        existing_accounts,
        upserts,
        existing_attempts,
        dnc_contacts,
        settled,
        new_attempts,
    }
}

/// An account whose overdue amount is 0 has nothing to be called about.
fn owes_nothing(r: &AccountRecord) -> bool {
    r.debt.overdue_amount.fen() <= 0
}

/// For each row of a batch, whether it is the last with its account id
/// (the one to write).
fn is_last_of_its_account(records: &[NumberedRecord]) -> Vec<bool> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for (i, (_, r)) in records.iter().enumerate() {
        last.insert(r.external_id.as_str(), i);
    }
    records
        .iter()
        .enumerate()
        .map(|(i, (_, r))| last[r.external_id.as_str()] == i)
        .collect()
}

/// The rows of a batch to write: the last occurrence of each account id.
fn last_of_each(records: Vec<NumberedRecord>) -> Vec<NumberedRecord> {
    let keep = is_last_of_its_account(&records);
    records
        .into_iter()
        .zip(keep)
        .filter(|(_, last)| *last)
        .map(|(r, _)| r)
        .collect()
}

/// A call attempt already stored for an account being imported.
struct ExistingAttempt {
    id: String,
    account_id: String,
    campaign_id: String,
    contact_id: String,
    status: String,
}

/// The queued attempts a re-import stops: an account moved to another
/// campaign is no longer called by its old one, a number now marked
/// do-not-call is never dialled again, and an account that owes nothing
/// is not called.
fn stale_attempts<'a>(
    existing: &'a [ExistingAttempt],
    campaign_id: &str,
    is_dnc: impl Fn(&str) -> bool,
    owes_nothing: impl Fn(&str) -> bool,
) -> Vec<&'a ExistingAttempt> {
    let queued = AttemptStatus::Queued.as_str();
    existing
        .iter()
        .filter(|a| {
            a.status == queued
                && (a.campaign_id != campaign_id
                    || is_dnc(&a.contact_id)
                    || owes_nothing(&a.account_id))
        })
        .collect()
}

/// What writing one chunk did: accounts moved, rows refused.
#[derive(Default)]
struct ChunkOutcome {
    moved: u64,
    refused: Vec<(u64, String)>,
}

/// The accounts of `rows` that are stored in another campaign: account id
/// to (line, that campaign's name).
fn moving(
    rows: &[NumberedRecord],
    stored: &HashMap<String, (Option<String>, Option<String>)>,
    campaign_id: &str,
) -> HashMap<String, (u64, String)> {
    rows.iter()
        .filter_map(|(line, r)| {
            let (from, name) = stored.get(&r.external_id)?;
            let from = from.as_deref().filter(|from| *from != campaign_id)?;
            Some((
                r.external_id.clone(),
                (*line, name.clone().unwrap_or_else(|| from.to_string())),
            ))
        })
        .collect()
}

/// Runs one chunk's statements. An account moved to this campaign stops
/// being called by its old one (with `no_move` it is not written at all);
/// a number now marked do-not-call is never dialled again.
async fn write_chunk(
    txn: &DatabaseTransaction,
    backend: DatabaseBackend,
    keys: &ContactKeys,
    campaign_id: &str,
    mut chunk: PreparedChunk,
    no_move: bool,
) -> Result<ChunkOutcome> {
    let mut stored = HashMap::new();
    for row in txn.query_all(chunk.existing_accounts.clone()).await? {
        let (id, campaign, name): (String, Option<String>, Option<String>) =
            row.try_get_many_by_index()?;
        stored.insert(id, (campaign, name));
    }
    let moves = moving(&chunk.rows, &stored, campaign_id);
    let mut outcome = ChunkOutcome::default();
    if no_move && !moves.is_empty() {
        outcome.refused = moves.values().cloned().collect();
        outcome.refused.sort();
        let rows: Vec<NumberedRecord> = std::mem::take(&mut chunk.rows)
            .into_iter()
            .filter(|(_, r)| !moves.contains_key(&r.external_id))
            .collect();
        if rows.is_empty() {
            return Ok(outcome);
        }
        chunk = prepare_chunk(backend, keys, campaign_id, rows, now_ms());
    } else {
        outcome.moved = moves.len() as u64;
    }
    for statement in chunk.upserts {
        txn.execute(statement).await?;
    }
    let mut existing = Vec::new();
    for row in txn.query_all(chunk.existing_attempts).await? {
        let (id, campaign_id, contact_id, status, account_id) = row.try_get_many_by_index()?;
        existing.push(ExistingAttempt {
            id,
            account_id,
            campaign_id,
            contact_id,
            status,
        });
    }
    let queued = AttemptStatus::Queued.as_str();
    let to_cancel = stale_attempts(
        &existing,
        campaign_id,
        |c| chunk.dnc_contacts.contains(c),
        |a| chunk.settled.contains(a),
    );
    if !to_cancel.is_empty() {
        use call_attempt::Column as T;
        call_attempt::Entity::update_many()
            .col_expr(T::Status, Expr::value(AttemptStatus::Cancelled.as_str()))
            .filter(T::Id.is_in(to_cancel.iter().map(|a| a.id.as_str())))
            .filter(T::Status.eq(queued))
            .exec(txn)
            .await?;
    }
    if let Some(statement) = chunk.new_attempts {
        txn.execute(statement).await?;
    }
    Ok(outcome)
}
