//! From what the store knows of an account to what the planner reads: its
//! segment, numbers with their attempts, latest promise, complaint hold,
//! callback, hardship, and its own record by hour; and the history the
//! contact model and the payment propensity learn from.

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use huikuan_core::Disposition;
use huikuan_planner::rules::{NumberHistory, Promise};
use huikuan_planner::{AccountDay, PastAttempt, PlanAccount, PromiseRecord};
use huikuan_store::plans::inputs::AccountFacts;

/// The segment an account falls in, by days past due: what the contact
/// model and the strategy group accounts by.
pub fn segment(days_past_due: i32) -> &'static str {
    match days_past_due {
        ..=30 => "early",
        31..=90 => "mid",
        _ => "late",
    }
}

/// The dialect an agent must speak for the account ("auto": Mandarin).
pub fn agent_dialect(dialect: &str) -> String {
    match dialect.parse::<huikuan_core::Dialect>() {
        Ok(huikuan_core::Dialect::Auto) | Err(_) => "mandarin".into(),
        Ok(d) => d.as_str().into(),
    }
}

fn disposition(a: &huikuan_store::plans::inputs::AttemptFacts) -> Option<Disposition> {
    a.disposition.as_deref().and_then(|d| d.parse().ok())
}

/// Reached the debtor themself.
fn right_party(d: Disposition) -> bool {
    d.is_contact() && d != Disposition::WrongParty
}

/// What one account teaches the models.
pub fn history(f: &AccountFacts, tz: Tz) -> (Vec<PastAttempt>, PromiseRecord) {
    let seg = segment(f.days_past_due);
    let attempts = f
        .attempts
        .iter()
        .filter_map(|a| {
            let d = disposition(a)?;
            let at = DateTime::<Utc>::from_timestamp_millis(a.started_ms)?;
            let local = at.with_timezone(&tz);
            Some(PastAttempt {
                segment: seg.to_string(),
                local_hour: local.hour() as u8,
                right_party: right_party(d),
                weekend: huikuan_planner::plan::is_weekend(local.date_naive()),
            })
        })
        .collect();
    (attempts, promise_record(f))
}

/// Promises kept and broken.
pub fn promise_record(f: &AccountFacts) -> PromiseRecord {
    PromiseRecord {
        kept: f.promises.iter().filter(|p| p.status == "kept").count() as u32,
        broken: f.promises.iter().filter(|p| p.status == "broken").count() as u32,
    }
}

/// The account as the planner reads it; `propensity` is its chance of
/// paying once reached.
pub fn plan_account(
    f: &AccountFacts,
    tz: Tz,
    complaint_hold_days: u32,
    propensity: f64,
) -> PlanAccount {
    let numbers = f
        .contacts
        .iter()
        .map(|c| NumberHistory {
            contact_id: c.contact_id.clone(),
            dnc: c.dnc,
            attempts: f
                .attempts
                .iter()
                .filter(|a| a.contact_id == c.contact_id)
                .filter_map(|a| DateTime::<Utc>::from_timestamp_millis(a.started_ms))
                .collect(),
        })
        .collect();
    let promise = f.promises.last().and_then(|p| {
        let date: NaiveDate = p.date.parse().ok()?;
        match p.status.as_str() {
            "pending" => Some(Promise::Pending { date }),
            "broken" => Some(Promise::Broken { date }),
            _ => Some(Promise::Kept),
        }
    });
    let local_day = |ms: i64| {
        DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.with_timezone(&tz).date_naive())
    };
    let complaint_hold_until = f
        .attempts
        .iter()
        .filter(|a| {
            matches!(
                disposition(a),
                Some(Disposition::Complaint | Disposition::Dispute)
            )
        })
        .filter_map(|a| local_day(a.started_ms))
        .max()
        .map(|d| d + Duration::days(i64::from(complaint_hold_days)));
    let last = f.attempts.iter().rev().find(|a| a.disposition.is_some());
    let callback_at = last
        .filter(|a| disposition(a) == Some(Disposition::CallbackRequested))
        .and_then(|a| a.callback_at_ms)
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    let hardship = f
        .attempts
        .iter()
        .any(|a| disposition(a) == Some(Disposition::Hardship));
    let mut own_hours = [(0u32, 0u32); 24];
    for a in &f.attempts {
        let (Some(d), Some(at)) = (
            disposition(a),
            DateTime::<Utc>::from_timestamp_millis(a.started_ms),
        ) else {
            continue;
        };
        let slot = &mut own_hours[at.with_timezone(&tz).hour() as usize];
        slot.0 += 1;
        slot.1 += u32::from(right_party(d));
    }
    PlanAccount {
        day: AccountDay {
            account_id: f.account_id.clone(),
            tz,
            numbers,
            promise,
            complaint_hold_until,
            callback_at,
        },
        segment: segment(f.days_past_due).to_string(),
        dialect: agent_dialect(&f.dialect),
        overdue_fen: f.overdue_fen,
        days_past_due: f.days_past_due,
        broken_promises: promise_record(f).broken,
        hardship,
        payment_propensity: propensity,
        own_hours,
    }
}
