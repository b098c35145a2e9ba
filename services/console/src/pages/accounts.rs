//! One account as a supervisor or manager sees it: debts, contacts (phone
//! numbers masked), attempts and promises. Every view is audited. Agents
//! see an account only through a call of their own.

use crate::audit::Action;
use crate::error::ConsoleError;
use crate::session::CurrentUser;
use crate::Console;
use axum::extract::{Path, State};
use axum::response::Html;
use huikuan_core::staff::Permission;
use huikuan_core::Money;
use serde::Serialize;

#[derive(Serialize)]
struct ContactRow {
    phone: String,
    priority: i32,
    dnc: bool,
}

#[derive(Serialize)]
struct DebtRow {
    loan_id: String,
    product: String,
    overdue: String,
    days_past_due: i32,
    due_date: String,
}

#[derive(Serialize)]
struct AttemptRow {
    seq: i32,
    status: String,
    disposition: String,
    promise: String,
}

pub(super) async fn page(
    State(console): State<Console>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> Result<Html<String>, ConsoleError> {
    console
        .allow(&me, Permission::ReadAllCalls, "/accounts")
        .await?;
    if id.is_empty() || id.len() > 64 {
        return Err(ConsoleError::BadInput {
            field: "id",
            reason: "an account id is 1-64 characters".into(),
        });
    }
    let view = console.store().get_account(&id).await?;
    console
        .audit_by(&me, Action::ViewAccount, &view.account.id, "account page")
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("id", &view.account.id);
    ctx.insert("name", &view.account.name);
    ctx.insert("dialect", &view.account.dialect);
    ctx.insert("province", &view.account.province);
    ctx.insert("city", &view.account.city);
    let contacts: Vec<ContactRow> = view
        .contacts
        .iter()
        .map(|c| ContactRow {
            phone: huikuan_core::phone::mask(&c.phone),
            priority: c.priority,
            dnc: c.dnc,
        })
        .collect();
    ctx.insert("contacts", &contacts);
    let debts: Vec<DebtRow> = view
        .debts
        .iter()
        .map(|d| DebtRow {
            loan_id: d.loan_id.clone(),
            product: d.product.clone(),
            overdue: Money::from_fen(d.overdue_fen).to_string(),
            days_past_due: d.days_past_due,
            due_date: d.due_date.clone(),
        })
        .collect();
    ctx.insert("debts", &debts);
    let attempts: Vec<AttemptRow> = view
        .attempts
        .iter()
        .map(|a| AttemptRow {
            seq: a.seq,
            status: a.status.clone(),
            disposition: a.disposition.clone().unwrap_or_default(),
            promise: match (&a.promise_date, a.promise_fen) {
                (Some(d), Some(f)) => format!("{} on {d}", Money::from_fen(f)),
                _ => String::new(),
            },
        })
        .collect();
    ctx.insert("attempts", &attempts);
    console.render(&me, "account.html", ctx)
}
