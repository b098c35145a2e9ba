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
            q = q.filter(account::Column::Province.eq(p.as_str()));
        }
        if let Some(after) = page_token {
            q = q.filter(account::Column::Id.gt(after));
        }
        let mut accounts = q
            .order_by_asc(account::Column::Id)
            .limit(page_size + 1)
            .all(&self.db)
            .await?;
        let next_page_token = if accounts.len() as u64 > page_size {
            accounts.truncate(page_size as usize);
            accounts.last().map(|a| a.id.clone())
        } else {
            None
        };
        Ok(AccountPage {
            accounts,
            next_page_token,
        })
    }
}
