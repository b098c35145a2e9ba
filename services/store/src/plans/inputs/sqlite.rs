//! Planning's read of a SQLite file: a read-only connection of its own on
//! the calling (blocking) thread, the rows stepped where they are gathered
//! into accounts, and one read transaction for the whole campaign, so
//! every page comes from the same snapshot of the database (writers go on
//! meanwhile: the file is in WAL mode).

use super::{in_range, AccountFacts, AttemptFacts, ContactFacts, Page, PromiseFacts, Queries};
use rusqlite::{params, Connection, OpenFlags};
use sea_orm::DatabaseBackend;
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;

/// See [`crate::Store::send_planning_pages`].
pub(super) fn send_pages(
    file: &Path,
    campaign_id: &str,
    since_ms: i64,
    page: u64,
    pages: &mpsc::Sender<Vec<AccountFacts>>,
) -> crate::Result<()> {
    read(file, campaign_id, since_ms, page, pages).map_err(super::read_error)
}

fn read(
    file: &Path,
    campaign_id: &str,
    since_ms: i64,
    page: u64,
    pages: &mpsc::Sender<Vec<AccountFacts>>,
) -> rusqlite::Result<()> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "cache_size", "-65536")?;
    let q = Queries::new(DatabaseBackend::Sqlite);
    let snapshot = conn.unchecked_transaction()?;
    let mut accounts = conn.prepare(q.accounts)?;
    let mut debts = conn.prepare(&q.debts)?;
    let mut contacts = conn.prepare(&q.contacts)?;
    let mut attempts = conn.prepare(&q.attempts)?;
    let mut promises = conn.prepare(q.promises)?;
    let mut after = String::new();
    loop {
        let mut rows = accounts.query(params![campaign_id, after, page as i64])?;
        let mut read = Vec::with_capacity(page as usize);
        while let Some(r) = rows.next()? {
            read.push(AccountFacts {
                account_id: r.get(0)?,
                dialect: r.get(1)?,
                time_zone: r.get(2)?,
                ..AccountFacts::default()
            });
        }
        let (Some(first), Some(last)) = (read.first(), read.last()) else {
            break;
        };
        let (first, last) = (first.account_id.clone(), last.account_id.clone());
        let (lo, hi) = in_range(DatabaseBackend::Sqlite, &read);
        let mut p = Page::new(read);
        let mut rows = debts.query(params![lo, hi])?;
        while let Some(r) = rows.next()? {
            p.debt(r.get_ref(0)?.as_str()?, r.get(1)?, r.get(2)?);
        }
        let mut rows = contacts.query(params![lo, hi])?;
        while let Some(r) = rows.next()? {
            let contact = ContactFacts {
                contact_id: r.get(1)?,
                phone: r.get(2)?,
                priority: r.get(3)?,
                dnc: r.get(4)?,
            };
            p.contact(r.get_ref(0)?.as_str()?, contact);
        }
        let mut rows = attempts.query(params![campaign_id, lo, hi, since_ms, campaign_id])?;
        while let Some(r) = rows.next()? {
            let attempt = AttemptFacts {
                contact_id: r.get(1)?,
                // Queued and never dialled: not an attempt made.
                started_ms: r.get::<_, Option<i64>>(2)?.unwrap_or(i64::MIN),
                disposition: r.get(3)?,
                callback_at_ms: r.get(4)?,
            };
            p.attempt(r.get_ref(0)?.as_str()?, attempt, since_ms, r.get(5)?);
        }
        let mut rows = promises.query(params![first, last])?;
        while let Some(r) = rows.next()? {
            let promise = PromiseFacts {
                date: r.get(1)?,
                status: r.get(2)?,
                created_at_ms: r.get(3)?,
            };
            p.promise(r.get_ref(0)?.as_str()?, promise);
        }
        after = last;
        if pages.blocking_send(p.finish()).is_err() {
            break;
        }
    }
    snapshot.finish()
}
