//! Reading accounts: one in full, or pages of them with filters.

use crate::entity::{account, call_attempt, contact, debt, promise};
use crate::{Result, Store, StoreError};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// An account with everything the console or a dialer needs about it.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub account: account::Model,
    pub contacts: Vec<contact::Model>,
    pub debts: Vec<debt::Model>,
    pub attempts: Vec<call_attempt::Model>,
    pub promises: Vec<promise::Model>,
}

#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    pub campaign_id: Option<String>,
    pub dialect: Option<String>,
    pub province: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AccountPage {
    pub accounts: Vec<account::Model>,
    /// Pass back to get the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

pub const MAX_PAGE_SIZE: u64 = 1_000;

/// Page tokens are opaque to clients: `p1` and the hex of the last account
/// id of the page before, so a token that was not handed out is refused
/// instead of silently giving an empty page.
mod page_token {
    const PREFIX: &str = "p1";

    pub fn encode(last_account_id: &str) -> String {
        let mut out = String::with_capacity(PREFIX.len() + 2 * last_account_id.len());
        out.push_str(PREFIX);
        for b in last_account_id.bytes() {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    pub fn decode(token: &str) -> Option<String> {
        let hex = token.strip_prefix(PREFIX)?;
        if hex.is_empty() || hex.len() % 2 != 0 || hex.len() > 2 * 64 {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        let id = String::from_utf8(bytes?).ok()?;
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            .then_some(id)
    }
}

impl Store {
    pub async fn get_account(&self, id: &str) -> Result<AccountView> {
        let account = account::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account {id}")))?;
        let backend = self.backend();
        let contacts = contact::Entity::find()
            .filter(crate::of_accounts(
                backend,
                contact::Column::Id,
                contact::Column::AccountId,
                [id],
            ))
            .order_by_asc(contact::Column::Priority)
            .all(&self.db)
            .await?;
        let debts = debt::Entity::find()
            .filter(crate::of_accounts(
                backend,
                debt::Column::Id,
                debt::Column::AccountId,
                [id],
            ))
            .order_by_asc(debt::Column::LoanId)
            .all(&self.db)
            .await?;
        let attempts = call_attempt::Entity::find()
            .filter(crate::of_accounts(
                backend,
                call_attempt::Column::Id,
                call_attempt::Column::AccountId,
                [id],
            ))
            .order_by_asc(call_attempt::Column::CreatedAtMs)
            .order_by_asc(call_attempt::Column::Seq)
            .all(&self.db)
            .await?;
        let promises = promise::Entity::find()
            .filter(promise::Column::AccountId.eq(id))
            .order_by_asc(promise::Column::CreatedAtMs)
            .all(&self.db)
            .await?;
        Ok(AccountView {
            account,
            contacts,
            debts,
            attempts,
            promises,
        })
    }

    /// Keyset paging by account id: stable under concurrent imports.
    pub async fn list_accounts(
        &self,
        filter: &AccountFilter,
        page_size: u64,
        page_token: Option<&str>,
    ) -> Result<AccountPage> {
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(StoreError::InvalidArgument {
                field: "page_size",
                reason: format!("must be between 1 and {MAX_PAGE_SIZE}"),
            });
        }
        let mut q = account::Entity::find();
        if let Some(c) = &filter.campaign_id {
            q = q.filter(account::Column::CampaignId.eq(c.as_str()));
        }
        if let Some(d) = &filter.dialect {
            q = q.filter(account::Column::Dialect.eq(d.as_str()));
        }
        if let Some(p) = &filter.province {
            // Stored as the canonical name, so the filter is made one too
            // (四川省, Sichuan, 廣東 find what the import accepted).
            let canonical = huikuan_core::region::canonical_province(p).ok_or_else(|| {
                StoreError::InvalidArgument {
                    field: "province",
                    reason: format!(
                        "'{}' is not a Chinese province-level division",
                        huikuan_core::truncate(p, huikuan_core::ECHO_CHARS)
                    ),
                }
            })?;
            q = q.filter(account::Column::Province.eq(canonical));
        }
        if let Some(token) = page_token {
            let after = page_token::decode(token).ok_or_else(|| StoreError::InvalidArgument {
                field: "page_token",
                reason: "not a token this server handed out (pass next_page_token as it came)"
                    .into(),
            })?;
            q = q.filter(account::Column::Id.gt(after));
        }
        let mut accounts = q
            .order_by_asc(account::Column::Id)
            .limit(page_size + 1)
            .all(&self.db)
            .await?;
        let next_page_token = if accounts.len() as u64 > page_size {
            accounts.truncate(page_size as usize);
            accounts.last().map(|a| page_token::encode(&a.id))
        } else {
            None
        };
        Ok(AccountPage {
            accounts,
            next_page_token,
        })
    }
}
