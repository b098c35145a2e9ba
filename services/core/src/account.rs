//! A debtor account as accepted from a portfolio: who, how to reach them, what
//! they owe.

use crate::{Dialect, Money, PhoneNumber, Region};
use chrono::NaiveDate;

/// One phone number of a debtor, with its own consent state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub phone: PhoneNumber,
    /// Do-not-call: the number must never be dialled (debtor's request,
    /// third party's number, regulator order).
    pub dnc: bool,
}

/// One loan of the debtor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtRecord {
    pub loan_id: String,
    pub product: String,
    pub principal: Money,
    pub overdue_amount: Money,
    pub due_date: NaiveDate,
    pub days_past_due: u32,
}

/// A validated portfolio row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// The lender's own account id: the key re-imports upsert on.
    pub external_id: String,
    pub name: String,
    /// In priority order; the first callable one is dialled first.
    pub contacts: Vec<ContactRecord>,
    pub dialect: Dialect,
    pub region: Region,
    pub debt: DebtRecord,
}

impl AccountRecord {
    /// The dialect to open the call in: the stated one, or the region prior.
    pub fn effective_dialect(&self) -> Dialect {
        match self.dialect {
            Dialect::Auto => self.region.dialect_prior(),
            d => d,
        }
    }
}
