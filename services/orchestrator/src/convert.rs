//! Conversions between store/domain values and protobuf messages, and from
//! store errors to gRPC statuses.

use crate::pb;
use chrono::{DateTime, Utc};
use huikuan_core::portfolio::RawRow;
use huikuan_core::Money;
use huikuan_store::campaigns::CampaignStats;
use huikuan_store::{AccountView, Campaign, Lease, StoreError};
use tonic::Status;

/// The longest message a status carries: it travels in an HTTP/2 header
/// (`grpc-message`), which a peer may refuse when it is large.
const MAX_MESSAGE: usize = 1024;

/// A status message cut to `MAX_MESSAGE` characters.
fn bounded(message: String) -> String {
    huikuan_core::truncate(&message, MAX_MESSAGE).into_owned()
}

pub fn status(e: StoreError) -> Status {
    let e = match e {
        StoreError::NotFound(m) => StoreError::NotFound(bounded(m)),
        StoreError::AlreadyExists(m) => StoreError::AlreadyExists(bounded(m)),
        StoreError::Conflict(m) => StoreError::Conflict(bounded(m)),
        StoreError::InvalidArgument { field, reason } => StoreError::InvalidArgument {
            field,
            reason: bounded(reason),
        },
        other => other,
    };
    match e {
        StoreError::NotFound(what) => Status::not_found(format!("{what} not found")),
        StoreError::AlreadyExists(what) => Status::already_exists(format!("{what} already exists")),
        StoreError::Conflict(msg) => Status::failed_precondition(msg),
        StoreError::InvalidArgument { field, reason } => {
            Status::invalid_argument(format!("{field}: {reason}"))
        }
        StoreError::Db(e) => {
            tracing::error!(error = %e, "database error");
            Status::internal("database error (see server log)")
        }
    }
}

pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Status {
    Status::invalid_argument(bounded(format!("{field}: {reason}")))
}

pub fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

fn opt_time(ms: Option<i64>) -> String {
    ms.map(time).unwrap_or_default()
}

pub fn yuan(fen: i64) -> String {
    Money::from_fen(fen).to_string()
}

pub fn campaign(c: Campaign, stats: Option<CampaignStats>) -> pb::Campaign {
    pb::Campaign {
        id: c.id,
        name: c.name,
        status: c.status.to_string(),
        created_at: time(c.created_at_ms),
        caller_id: c.caller_id.unwrap_or_default(),
        stats: stats.map(|s| pb::CampaignStats {
            accounts: s.accounts,
            queued: s.queued,
            leased: s.leased,
            completed: s.completed,
        }),
    }
}

pub fn account(v: AccountView) -> pb::Account {
    let phone_of = |contact_id: &str| {
        v.contacts
            .iter()
            .find(|c| c.id == contact_id)
            .map(|c| c.phone.clone())
            .unwrap_or_default()
    };
    let a = &v.account;
    pb::Account {
        account_id: a.id.clone(),
        campaign_id: a.campaign_id.clone().unwrap_or_default(),
        name: a.name.clone(),
        dialect: a.dialect.clone(),
        province: a.province.clone(),
        city: a.city.clone().unwrap_or_default(),
        time_zone: a.time_zone.clone(),
        contacts: v
            .contacts
            .iter()
            .map(|c| pb::Contact {
                phone: c.phone.clone(),
                dnc: c.dnc,
                priority: c.priority,
            })
            .collect(),
        debts: v
            .debts
            .iter()
            .map(|d| pb::Debt {
                loan_id: d.loan_id.clone(),
                product: d.product.clone(),
                principal: yuan(d.principal_fen),
                overdue_amount: yuan(d.overdue_fen),
                due_date: d.due_date.clone(),
                days_past_due: d.days_past_due,
            })
            .collect(),
        attempts: v
            .attempts
            .iter()
            .map(|t| pb::Attempt {
                attempt_id: t.id.clone(),
                status: t.status.clone(),
                phone: phone_of(&t.contact_id),
                disposition: t.disposition.clone().unwrap_or_default(),
                not_before: time(t.not_before_ms),
                reported_at: opt_time(t.reported_at_ms),
                seq: t.seq,
            })
            .collect(),
        promises: v
            .promises
            .iter()
            .map(|p| pb::Promise {
                date: p.promised_date.clone(),
                amount: yuan(p.amount_fen),
                status: p.status.clone(),
            })
            .collect(),
    }
}

pub fn account_summary(a: huikuan_store::entity::account::Model) -> pb::Account {
    pb::Account {
        account_id: a.id,
        campaign_id: a.campaign_id.unwrap_or_default(),
        name: a.name,
        dialect: a.dialect,
        province: a.province,
        city: a.city.unwrap_or_default(),
        time_zone: a.time_zone,
        ..Default::default()
    }
}

pub fn lease(l: Lease) -> pb::CallLease {
    pb::CallLease {
        attempt_id: l.attempt_id,
        lease_token: l.lease_token,
        expires_at: time(l.expires_at_ms),
        campaign_id: l.campaign_id,
        caller_id: l.caller_id.unwrap_or_default(),
        account_id: l.account_id,
        debtor_name: l.debtor_name,
        phone: l.phone,
        dialect: l.dialect.to_string(),
        time_zone: l.time_zone,
        overdue_amount: yuan(l.overdue_fen),
        product: l.product,
        due_date: l.due_date,
        days_past_due: l.days_past_due,
        channel: l.channel.as_str().to_string(),
    }
}

/// A gRPC import row as the raw text row the file importer validates.
pub fn raw_row(r: pb::AccountRow) -> RawRow {
    let mut raw = RawRow::default();
    let fields: [(&'static str, String); 14] = [
        ("account_id", r.account_id),
        ("name", r.name),
        ("phones", r.phones.join(";")),
        ("dnc_phones", r.dnc_phones.join(";")),
        ("dialect", r.dialect),
        ("province", r.province),
        ("city", r.city),
        ("timezone", r.timezone),
        ("loan_id", r.loan_id),
        ("product", r.product),
        ("principal", r.principal),
        ("overdue_amount", r.overdue_amount),
        ("due_date", r.due_date),
        ("days_past_due", r.days_past_due),
    ];
    for (k, v) in fields {
        if !v.is_empty() {
            raw.set(k, v);
        }
    }
    raw
}
