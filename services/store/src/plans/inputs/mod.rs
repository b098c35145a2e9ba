//! What planning a campaign's day reads: each account with its debts
//! summed, its numbers in dial order, its attempts since a given time and
//! its promises. Read a page of accounts at a time (keyset on the account
//! id), so a million accounts are planned in bounded memory.
//!
//! The same queries on both backends ([`Queries`]), their rows gathered
//! into accounts in one place ([`Page`]). A SQLite file is read on a
//! connection of its own on a blocking thread ([`sqlite`]): through the
//! pool, every row would be handed from SQLite's worker thread to the
//! caller, which is half the time of planning a million accounts.

mod sqlite;

use crate::dispatch::stmt;
use crate::{Result, Store};
use sea_orm::{ConnectionTrait, DatabaseBackend};
use tokio::sync::mpsc;

/// One account, as planning reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFacts {
    pub account_id: String,
    pub dialect: String,
    pub time_zone: String,
    /// Summed over its debts.
    pub overdue_fen: i64,
    /// The oldest of its debts'.
    pub days_past_due: i32,
    /// In dial order.
    pub contacts: Vec<ContactFacts>,
    /// Dialled attempts (any campaign) since the time asked for, oldest
    /// first.
    pub attempts: Vec<AttemptFacts>,
    pub promises: Vec<PromiseFacts>,
    /// A call is queued for it in the campaign (an account whose last
    /// outcome settled it, or needs a person's decision, has none).
    pub queued: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactFacts {
    pub contact_id: String,
    pub phone: String,
    pub priority: i32,
    pub dnc: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFacts {
    pub contact_id: String,
    pub started_ms: i64,
    /// `None` while the call is out (leased, not reported).
    pub disposition: Option<String>,
    pub callback_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseFacts {
    /// YYYY-MM-DD.
    pub date: String,
    /// `pending`, `kept` or `broken`.
    pub status: String,
    pub created_at_ms: i64,
}

/// The statements that read a page's rows, with `?` placeholders: the
/// range's bounds first (see [`in_range`]), then the values named.
struct Queries {
    /// campaign, after, limit: `id, dialect, time_zone`.
    accounts: &'static str,
    /// `account_id, overdue_fen, days_past_due`.
    debts: String,
    /// `account_id, id, phone, priority, dnc`.
    contacts: String,
    /// campaign, the range, since, campaign: the attempts dialled since
    /// then and those queued in the campaign, in one scan: `account_id,
    /// contact_id, leased_at_ms, disposition, callback_at_ms, queued`.
    attempts: String,
    /// first and last account: `account_id, promised_date, status, created_at_ms`.
    promises: &'static str,
}

impl Queries {
    fn new(backend: DatabaseBackend) -> Queries {
        let range = if backend == DatabaseBackend::Sqlite {
            "id > ? AND id < ?"
        } else {
            "account_id >= ? AND account_id <= ?"
        };
        Queries {
            accounts: "SELECT id, dialect, time_zone FROM accounts WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?",
            debts: format!("SELECT account_id, overdue_fen, days_past_due FROM debts WHERE {range}"),
            contacts: format!("SELECT account_id, id, phone, priority, dnc FROM contacts WHERE {range}"),
            attempts: format!(
                "SELECT account_id, contact_id, leased_at_ms, disposition, callback_at_ms, \
                 (status = '{queued}' AND campaign_id = ?) FROM call_attempts \
                 WHERE {range} AND ((leased_at_ms IS NOT NULL AND leased_at_ms >= ?) \
                 OR (status = '{queued}' AND campaign_id = ?))",
                queued = huikuan_core::AttemptStatus::Queued.as_str()
            ),
            promises: "SELECT account_id, promised_date, status, created_at_ms FROM promises \
                 WHERE account_id >= ? AND account_id <= ?",
        }
    }
}

/// The bounds of [`Queries`]' range for these accounts (sorted by id), in
/// a table whose keys lead with the account id (`crate::ids`): on SQLite
/// the key range from the first account's rows to the last's (rows of
/// other accounts in it are dropped by [`Page`]); on PostgreSQL the
/// account index.
fn in_range(backend: DatabaseBackend, accounts: &[AccountFacts]) -> (String, String) {
    let (first, last) = match (accounts.first(), accounts.last()) {
        (Some(f), Some(l)) => (f.account_id.as_str(), l.account_id.as_str()),
        _ => ("", ""),
    };
    if backend == DatabaseBackend::Sqlite {
        (format!("{first}/"), format!("{last}0"))
    } else {
        (first.to_string(), last.to_string())
    }
}

/// A page of accounts (sorted by id) being filled with its tables' rows;
/// a row of an account not in the page is dropped.
struct Page {
    accounts: Vec<AccountFacts>,
    /// The account the last row was for: a table's rows come in the
    /// order of its key, which leads with the account id, so the next row
    /// is nearly always for this account or the next one.
    at: usize,
}

impl Page {
    fn new(accounts: Vec<AccountFacts>) -> Page {
        Page { accounts, at: 0 }
    }

    fn account(&mut self, account_id: &str) -> Option<&mut AccountFacts> {
        let near = [self.at, self.at + 1].into_iter().find(|&i| {
            self.accounts
                .get(i)
                .is_some_and(|a| a.account_id == account_id)
        });
        let i = match near {
            Some(i) => i,
            None => self
                .accounts
                .binary_search_by(|a| a.account_id.as_str().cmp(account_id))
                .ok()?,
        };
        self.at = i;
        Some(&mut self.accounts[i])
    }

    fn debt(&mut self, account_id: &str, overdue_fen: i64, days_past_due: i32) {
        if let Some(a) = self.account(account_id) {
            a.overdue_fen += overdue_fen;
            a.days_past_due = a.days_past_due.max(days_past_due);
        }
    }

    fn contact(&mut self, account_id: &str, contact: ContactFacts) {
        if let Some(a) = self.account(account_id) {
            a.contacts.push(contact);
        }
    }

    /// An attempt of [`Queries::attempts`]: kept if dialled since
    /// `since_ms`, marking the account queued if `queued`.
    fn attempt(&mut self, account_id: &str, attempt: AttemptFacts, since_ms: i64, queued: bool) {
        if let Some(a) = self.account(account_id) {
            a.queued |= queued;
            if attempt.started_ms >= since_ms {
                a.attempts.push(attempt);
            }
        }
    }

    fn promise(&mut self, account_id: &str, promise: PromiseFacts) {
        if let Some(a) = self.account(account_id) {
            a.promises.push(promise);
        }
    }

    /// Numbers in dial order, attempts and promises oldest first.
    fn finish(mut self) -> Vec<AccountFacts> {
        for a in self.accounts.iter_mut() {
            a.contacts.sort_by(|x, y| {
                x.priority
                    .cmp(&y.priority)
                    .then(x.contact_id.cmp(&y.contact_id))
            });
            a.attempts.sort_by_key(|t| t.started_ms);
            a.promises.sort_by_key(|p| p.created_at_ms);
        }
        self.accounts
    }
}

fn read_error(e: impl std::fmt::Display) -> crate::StoreError {
    crate::StoreError::Db(sea_orm::DbErr::Custom(format!("planning read: {e}")))
}

/// Pages filled at once beside the one being handed over (PostgreSQL).
const FILLING_AHEAD: usize = 1;

impl Store {
    /// Every account of the campaign with its facts (attempts since
    /// `since_ms`), `page` accounts at a time in id order, sent to `pages`
    /// until all are sent or no one receives them.
    pub async fn send_planning_pages(
        &self,
        campaign_id: &str,
        since_ms: i64,
        page: u64,
        pages: mpsc::Sender<Vec<AccountFacts>>,
    ) -> Result<()> {
        if let Some(file) = self.sqlite_file() {
            let (file, campaign_id) = (file.to_path_buf(), campaign_id.to_string());
            return tokio::task::spawn_blocking(move || {
                sqlite::send_pages(&file, &campaign_id, since_ms, page, &pages)
            })
            .await
            .map_err(read_error)?;
        }
        // Each page is filled on a task of its own while the next page's
        // accounts are read and it is filled in turn: the server reads one
        // page while the rows of the other are taken, on both cores.
        let mut filling = std::collections::VecDeque::new();
        let mut after: Option<String> = None;
        loop {
            let accounts = self
                .planning_accounts(campaign_id, after.as_deref(), page)
                .await?;
            let last_page = accounts.is_empty();
            if let Some(last) = accounts.last() {
                after = Some(last.account_id.clone());
                let (store, campaign_id) = (self.clone(), campaign_id.to_string());
                filling.push_back(tokio::spawn(async move {
                    store.fill(&campaign_id, accounts, since_ms).await
                }));
            }
            while filling.len() > if last_page { 0 } else { FILLING_AHEAD } {
                let Some(next) = filling.pop_front() else {
                    break;
                };
                if pages.send(next.await.map_err(read_error)??).await.is_err() {
                    return Ok(());
                }
            }
            if last_page {
                return Ok(());
            }
        }
    }

    /// Up to `limit` of the campaign's accounts after `after` (by id),
    /// their facts not yet filled in.
    async fn planning_accounts(
        &self,
        campaign_id: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AccountFacts>> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                Queries::new(self.backend()).accounts,
                vec![
                    campaign_id.into(),
                    after.unwrap_or("").into(),
                    (limit as i64).into(),
                ],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AccountFacts {
                    account_id: r.try_get_by_index(0)?,
                    dialect: r.try_get_by_index(1)?,
                    time_zone: r.try_get_by_index(2)?,
                    ..AccountFacts::default()
                })
            })
            .collect()
    }

    /// One account, if it belongs to the campaign.
    pub async fn planning_account(
        &self,
        campaign_id: &str,
        account_id: &str,
        since_ms: i64,
    ) -> Result<Option<AccountFacts>> {
        let rows = self
            .db
            .query_all(stmt(
                self.backend(),
                "SELECT id, dialect, time_zone FROM accounts WHERE campaign_id = ? AND id = ?",
                vec![campaign_id.into(), account_id.into()],
            ))
            .await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let account = AccountFacts {
            account_id: r.try_get_by_index(0)?,
            dialect: r.try_get_by_index(1)?,
            time_zone: r.try_get_by_index(2)?,
            ..AccountFacts::default()
        };
        Ok(self.fill(campaign_id, vec![account], since_ms).await?.pop())
    }

    /// Debts, contacts, attempts and promises of `accounts` (sorted by id).
    async fn fill(
        &self,
        campaign_id: &str,
        accounts: Vec<AccountFacts>,
        since_ms: i64,
    ) -> Result<Vec<AccountFacts>> {
        if accounts.is_empty() {
            return Ok(accounts);
        }
        let backend = self.backend();
        let q = Queries::new(backend);
        let (lo, hi) = in_range(backend, &accounts);
        let (first, last) = (
            accounts[0].account_id.clone(),
            accounts[accounts.len() - 1].account_id.clone(),
        );
        let mut page = Page::new(accounts);
        let range = |sql: &str| stmt(backend, sql, vec![lo.as_str().into(), hi.as_str().into()]);
        // The four tables at once, on connections of their own: the
        // server reads one while this task takes the rows of another.
        let (debts, contacts, attempts, promises) = tokio::try_join!(
            self.db.query_all(range(&q.debts)),
            self.db.query_all(range(&q.contacts)),
            self.db.query_all(stmt(
                backend,
                &q.attempts,
                vec![
                    campaign_id.into(),
                    lo.as_str().into(),
                    hi.as_str().into(),
                    since_ms.into(),
                    campaign_id.into(),
                ],
            )),
            self.db
                .query_all(stmt(backend, q.promises, vec![first.into(), last.into()],)),
        )?;
        for r in debts {
            let account: String = r.try_get_by_index(0)?;
            page.debt(&account, r.try_get_by_index(1)?, r.try_get_by_index(2)?);
        }
        for r in contacts {
            let account: String = r.try_get_by_index(0)?;
            let contact = ContactFacts {
                contact_id: r.try_get_by_index(1)?,
                phone: r.try_get_by_index(2)?,
                priority: r.try_get_by_index(3)?,
                dnc: r.try_get_by_index(4)?,
            };
            page.contact(&account, contact);
        }
        for r in attempts {
            let account: String = r.try_get_by_index(0)?;
            let attempt = AttemptFacts {
                contact_id: r.try_get_by_index(1)?,
                // Queued and never dialled: not an attempt made.
                started_ms: r.try_get_by_index::<Option<i64>>(2)?.unwrap_or(i64::MIN),
                disposition: r.try_get_by_index(3)?,
                callback_at_ms: r.try_get_by_index(4)?,
            };
            page.attempt(&account, attempt, since_ms, r.try_get_by_index(5)?);
        }
        for r in promises {
            let account: String = r.try_get_by_index(0)?;
            let promise = PromiseFacts {
                date: r.try_get_by_index(1)?,
                status: r.try_get_by_index(2)?,
                created_at_ms: r.try_get_by_index(3)?,
            };
            page.promise(&account, promise);
        }
        Ok(page.finish())
    }
}
