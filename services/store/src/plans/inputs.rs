//! What planning a campaign's day reads: each account with its debts
//! summed, its numbers in dial order, its attempts since a given time and
//! its promises. Read a page of accounts at a time (keyset on the account
//! id), so a million accounts are planned in bounded memory.

use crate::dispatch::stmt;
use crate::{Result, Store};
use sea_orm::{ConnectionTrait, DatabaseBackend, Value};
use std::collections::HashMap;

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

/// Rows of these accounts in a table whose keys lead with the account id
/// (`crate::ids`): on SQLite the key range from the first account's rows
/// to the last's (rows of other accounts in it are dropped by the caller);
/// on PostgreSQL the account index.
fn in_range(backend: DatabaseBackend, ids: &[String]) -> (String, Vec<Value>) {
    if backend == DatabaseBackend::Sqlite {
        let lo = ids
            .iter()
            .map(|a| format!("{a}/"))
            .min()
            .unwrap_or_default();
        let hi = ids
            .iter()
            .map(|a| format!("{a}0"))
            .max()
            .unwrap_or_default();
        ("id > ? AND id < ?".into(), vec![lo.into(), hi.into()])
    } else {
        let lo = ids.first().cloned().unwrap_or_default();
        let hi = ids.last().cloned().unwrap_or_default();
        (
            "account_id >= ? AND account_id <= ?".into(),
            vec![lo.into(), hi.into()],
        )
    }
}

impl Store {
    /// Up to `limit` of the campaign's accounts after `after` (by id),
    /// with attempts since `since_ms`.
    pub async fn planning_page(
        &self,
        campaign_id: &str,
        after: Option<&str>,
        limit: u64,
        since_ms: i64,
    ) -> Result<Vec<AccountFacts>> {
        let backend = self.backend();
        let rows = self
            .db
            .query_all(stmt(
                backend,
                "SELECT id, dialect, time_zone FROM accounts WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?",
                vec![
                    campaign_id.into(),
                    after.unwrap_or("").into(),
                    (limit as i64).into(),
                ],
            ))
            .await?;
        let mut accounts = Vec::with_capacity(rows.len());
        for r in &rows {
            accounts.push(AccountFacts {
                account_id: r.try_get_by_index(0)?,
                dialect: r.try_get_by_index(1)?,
                time_zone: r.try_get_by_index(2)?,
                ..AccountFacts::default()
            });
        }
        self.fill(campaign_id, &mut accounts, since_ms).await?;
        Ok(accounts)
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
        let mut accounts = vec![AccountFacts {
            account_id: r.try_get_by_index(0)?,
            dialect: r.try_get_by_index(1)?,
            time_zone: r.try_get_by_index(2)?,
            ..AccountFacts::default()
        }];
        self.fill(campaign_id, &mut accounts, since_ms).await?;
        Ok(accounts.pop())
    }

    /// Debts, contacts, attempts and promises of `accounts` (sorted by id).
    async fn fill(
        &self,
        campaign_id: &str,
        accounts: &mut [AccountFacts],
        since_ms: i64,
    ) -> Result<()> {
        if accounts.is_empty() {
            return Ok(());
        }
        let backend = self.backend();
        let ids: Vec<String> = accounts.iter().map(|a| a.account_id.clone()).collect();
        let at: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, a)| (a.as_str(), i))
            .collect();
        let (range, values) = in_range(backend, &ids);
        let query = |sql: String, extra: Vec<Value>| {
            let mut v = values.clone();
            v.extend(extra);
            stmt(backend, &sql, v)
        };
        for r in self
            .db
            .query_all(query(
                format!("SELECT account_id, overdue_fen, days_past_due FROM debts WHERE {range}"),
                vec![],
            ))
            .await?
        {
            let Some(&i) = at.get(r.try_get_by_index::<String>(0)?.as_str()) else {
                continue;
            };
            let a = &mut accounts[i];
            a.overdue_fen += r.try_get_by_index::<i64>(1)?;
            a.days_past_due = a.days_past_due.max(r.try_get_by_index(2)?);
        }
        for r in self
            .db
            .query_all(query(
                format!("SELECT account_id, id, phone, priority, dnc FROM contacts WHERE {range}"),
                vec![],
            ))
            .await?
        {
            let Some(&i) = at.get(r.try_get_by_index::<String>(0)?.as_str()) else {
                continue;
            };
            accounts[i].contacts.push(ContactFacts {
                contact_id: r.try_get_by_index(1)?,
                phone: r.try_get_by_index(2)?,
                priority: r.try_get_by_index(3)?,
                dnc: r.try_get_by_index(4)?,
            });
        }
        for r in self
            .db
            .query_all(query(
                format!(
                    "SELECT account_id, contact_id, leased_at_ms, disposition, callback_at_ms FROM call_attempts \
                     WHERE {range} AND leased_at_ms IS NOT NULL AND leased_at_ms >= ?"
                ),
                vec![since_ms.into()],
            ))
            .await?
        {
            let Some(&i) = at.get(r.try_get_by_index::<String>(0)?.as_str()) else {
                continue;
            };
            accounts[i].attempts.push(AttemptFacts {
                contact_id: r.try_get_by_index(1)?,
                started_ms: r.try_get_by_index(2)?,
                disposition: r.try_get_by_index(3)?,
                callback_at_ms: r.try_get_by_index(4)?,
            });
        }
        for r in self
            .db
            .query_all(query(
                format!(
                    "SELECT account_id FROM call_attempts WHERE {range} AND status = '{}' AND campaign_id = ?",
                    huikuan_core::AttemptStatus::Queued.as_str()
                ),
                vec![campaign_id.into()],
            ))
            .await?
        {
            if let Some(&i) = at.get(r.try_get_by_index::<String>(0)?.as_str()) {
                accounts[i].queued = true;
            }
        }
        let (lo, hi) = (ids[0].clone(), ids[ids.len() - 1].clone());
        for r in self
            .db
            .query_all(stmt(
                backend,
                "SELECT account_id, promised_date, status, created_at_ms FROM promises \
                 WHERE account_id >= ? AND account_id <= ?",
                vec![lo.into(), hi.into()],
            ))
            .await?
        {
            let Some(&i) = at.get(r.try_get_by_index::<String>(0)?.as_str()) else {
                continue;
            };
            accounts[i].promises.push(PromiseFacts {
                date: r.try_get_by_index(1)?,
                status: r.try_get_by_index(2)?,
                created_at_ms: r.try_get_by_index(3)?,
            });
        }
        for a in accounts.iter_mut() {
            a.contacts.sort_by(|x, y| {
                x.priority
                    .cmp(&y.priority)
                    .then(x.contact_id.cmp(&y.contact_id))
            });
            a.attempts.sort_by_key(|t| t.started_ms);
            a.promises.sort_by_key(|p| p.created_at_ms);
        }
        Ok(())
    }
}
