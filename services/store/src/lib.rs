//! Huikuan's persistence layer: the database is the source of truth.
//!
//! This crate owns the schema (sea-orm entities and migrations), and every
//! read and write the services make: bulk portfolio import, campaigns,
//! accounts, the day's plans and what they release into the call-attempt
//! queue, the queue with its leases and outcomes, the quality inspection's
//! queue, results and hourly reports, and the console's users, sessions
//! and audit log.
//!
//! Backends: SQLite (the all-in-one default, a file in the data directory)
//! and PostgreSQL (`postgres://` URLs) behind the same API. Money is integer
//! fen, instants are UTC epoch milliseconds with the debtor's time zone kept
//! beside them. Leasing is safe across processes: every state change is a
//! conditional `UPDATE ... WHERE status = ...`, so a leased attempt can never
//! be handed out twice, and PostgreSQL additionally skips locked rows.
//!
//! It knows nothing of gRPC or of how calls are placed.

pub mod accounts;
pub mod audit;
pub mod calls;
pub mod campaigns;
pub mod dispatch;
pub mod entity;
pub mod figures;
pub mod group_commit;
pub mod import;
pub mod inspection_reads;
pub mod inspections;
pub mod migration;
pub mod plans;
pub mod users;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};

pub use accounts::{AccountFilter, AccountPage, AccountView};
pub use audit::{AuditEntry, AuditFilter};
pub use campaigns::Campaign;
pub use dispatch::{AgentRoom, Lease, OutcomeReport, ReportResult};
pub use group_commit::ReportQueue;
pub use import::{ImportOptions, ImportRun, ImportRunView};
pub use inspection_reads::{Collector, InspectionFilter, InspectionRow, InspectionView};
pub use inspections::{HourReport, InspectionJob, NewInspection, StoredFlag};
pub use plans::{NewPlan, PlanCallFilter, PlanDay, PlannedCallRow, SkipRow};
pub use users::{Session, User};

/// Errors a store call can return; each maps to one gRPC status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The request is valid but conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    #[error("{field}: {reason}")]
    InvalidArgument { field: &'static str, reason: String },
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

const SQLITE_CONNECTIONS: u32 = 4;
const POSTGRES_CONNECTIONS: u32 = 16;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite admits one writer at a time; taking this in-process lock before
    /// a write transaction avoids busy-wait storms between our own tasks.
    /// Other processes are still covered by SQLite's busy timeout.
    write_lock: Option<Arc<Mutex<()>>>,
    tz_cache: TimeZoneCache,
    /// The database file, for SQLite databases kept in one.
    sqlite_file: Option<Arc<std::path::PathBuf>>,
    contact_keys: ContactKeys,
}

/// The set of debtor time zones, refreshed at most every few seconds.
#[derive(Clone, Default)]
struct TimeZoneCache(Arc<std::sync::Mutex<Option<CachedZones>>>);

type CachedZones = (std::time::Instant, Vec<String>);

impl TimeZoneCache {
    const TTL: Duration = Duration::from_secs(5);

    fn get(&self) -> Option<Vec<String>> {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, z)| z.clone())
    }

    fn put(&self, zones: Vec<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), zones));
    }

    fn invalidate(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The zones debtors live in (table and column): kept by the import,
/// read by the calling-window check.
pub(crate) const DEBTOR_TIME_ZONES: &str = "debtor_time_zones";
pub(crate) const DEBTOR_TIME_ZONE_COLUMN: &str = "time_zone";

/// The file a SQLite URL names; `None` for an in-memory database.
fn sqlite_file_of(url: &str) -> Result<Option<Arc<std::path::PathBuf>>> {
    use sea_orm::sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Db(DbErr::Custom(format!("database URL: {e}"))))?;
    let file = options.get_filename();
    let in_memory = file.as_os_str().is_empty()
        || file.as_os_str() == ":memory:"
        || url.contains("mode=memory");
    Ok((!in_memory).then(|| Arc::new(file.to_path_buf())))
}

/// The SQLite URL for a data directory (created if missing).
pub fn sqlite_url_for_dir(dir: &Path) -> std::io::Result<String> {
    std::fs::create_dir_all(dir)?;
    let file = dir.join("huikuan.db");
    Ok(format!("sqlite://{}?mode=rwc", file.display()))
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        let sqlite = url.starts_with("sqlite:");
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false)
            .max_connections(if sqlite {
                SQLITE_CONNECTIONS
            } else {
                POSTGRES_CONNECTIONS
            })
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
                // 64 MiB of page cache per connection: an import batch's
                // index pages stay in memory instead of spilling mid-transaction.
                .pragma("cache_size", "-65536")
                // 16 KiB pages for new databases: fewer, shallower B-tree
                // pages per imported row (an existing file keeps its size).
                .page_size(16384)
                .pragma("temp_store", "memory")
        });
        let db = sea_orm::Database::connect(opts).await?;
        migration::Migrator::up(&db, None).await?;
        let sqlite_file = if sqlite { sqlite_file_of(url)? } else { None };
        let salt: String = db
            .query_one(sea_orm::Statement::from_sql_and_values(
                db.get_database_backend(),
                dispatch::stmt(
                    db.get_database_backend(),
                    "SELECT value FROM settings WHERE key = ?",
                    vec![],
                )
                .sql,
                [migration::m20261204_000008_contact_keys::SALT_KEY.into()],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("settings: the contact key salt is missing".into()))?
            .try_get_by_index(0)?;
        tracing::debug!(backend = ?db.get_database_backend(), "store connected and migrated");
        Ok(Store {
            db,
            write_lock: sqlite.then(|| Arc::new(Mutex::new(()))),
            tz_cache: TimeZoneCache::default(),
            sqlite_file,
            contact_keys: ContactKeys::new(&salt),
        })
    }

    /// The SQLite database file, unless the database is elsewhere (or in
    /// memory).
    pub(crate) fn sqlite_file(&self) -> Option<&Path> {
        self.sqlite_file.as_deref().map(|p| p.as_path())
    }

    pub(crate) fn contact_keys(&self) -> &ContactKeys {
        &self.contact_keys
    }

    /// Connections in the pool (SQLite 4, PostgreSQL 16).
    pub fn connections(&self) -> usize {
        if self.write_lock.is_some() {
            SQLITE_CONNECTIONS as usize
        } else {
            POSTGRES_CONNECTIONS as usize
        }
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.db.get_database_backend()
    }

    /// Serialises writers on SQLite; free on PostgreSQL.
    async fn write_guard(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }

    /// The write lock as an owned guard, for work on another thread.
    async fn write_guard_owned(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.write_lock {
            Some(m) => Some(m.clone().lock_owned().await),
            None => None,
        }
    }

    pub async fn close(self) -> Result<()> {
        Ok(self.db.close().await?)
    }
}

/// Deterministic ids: the same natural key always yields the same id, which
/// is what makes re-imports and repeated reports idempotent. Each id is its
/// natural key led by the account id, so rows of one account sit together
/// and a portfolio sorted by account appends to the B-trees rather than
/// scattering over them. `/` separates the parts: account ids never
/// contain it (see `huikuan_core::portfolio`), so the account part is
/// always everything before the first `/`.
pub(crate) mod ids {

    pub fn debt(account_id: &str, loan_id: &str) -> String {
        format!("{account_id}/{loan_id}")
    }

    pub fn attempt(campaign_id: &str, contact_id: &str, seq: i32) -> String {
        format!("{contact_id}/{campaign_id}/{seq}")
    }
}

/// Contact ids: `ACCOUNT/c` and 16 hex digits of SHA-256 over this
/// database's secret and the number (migration 8), so no id carries a
/// phone number and the same contact always gets the same id.
#[derive(Clone)]
pub(crate) struct ContactKeys {
    salt: Arc<[u8]>,
}

impl ContactKeys {
    pub fn new(salt: &str) -> ContactKeys {
        ContactKeys {
            salt: salt.as_bytes().into(),
        }
    }

    pub fn contact_id(&self, account_id: &str, e164: &str) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(&self.salt)
            .chain_update(b"/")
            .chain_update(e164.as_bytes())
            .finalize();
        let mut id = String::with_capacity(account_id.len() + 18);
        id.push_str(account_id);
        id.push_str("/c");
        for b in &digest[..8] {
            id.push_str(&format!("{b:02x}"));
        }
        id
    }
}

/// The rows of `accounts` in a table keyed by account-led ids (contacts,
/// debts, call attempts). SQLite keeps no account index on those tables
/// (migration 5): an account's rows are the key range after `ACCOUNT/`,
/// which ends before `ACCOUNT0` (`0` follows `/` in byte order, SQLite's
/// text order). PostgreSQL orders text by the database collation, so it
/// finds them by its `account_id` indexes.
pub(crate) fn of_accounts<'a, C: sea_orm::ColumnTrait>(
    backend: DatabaseBackend,
    id: C,
    account_id: C,
    accounts: impl IntoIterator<Item = &'a str>,
) -> sea_orm::Condition {
    if backend == DatabaseBackend::Sqlite {
        accounts
            .into_iter()
            .fold(sea_orm::Condition::any(), |any, a| {
                any.add(
                    sea_orm::Condition::all()
                        .add(id.gt(format!("{a}/")))
                        .add(id.lt(format!("{a}0"))),
                )
            })
    } else {
        sea_orm::Condition::all().add(account_id.is_in(accounts))
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(feature = "testing")]
pub mod testing;
