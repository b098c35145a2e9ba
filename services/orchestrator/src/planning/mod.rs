//! Planning a campaign's day from the store, and re-planning an account
//! after its outcome: the thin shell around the pure planner.
//!
//! [`make_plan`] reads the campaign's accounts a page at a time, learns
//! the contact model and the payment propensity from their history, plans
//! the day under the campaign's settings ([`settings`]) and saves it as a
//! draft with its capacity, what is left of it and the models, so that
//! [`replan_account`] re-plans one account later with the same models and
//! the capacity still free. Approving, pausing and editing are the
//! store's (`huikuan_store::plans`).

pub mod drafts;
pub mod facts;
pub mod replanner;
pub mod settings;

use crate::planning::settings::Resolved;
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use huikuan_planner::rules::at_local;
use huikuan_planner::{
    plan, Capacity, CapacityRecord, Channel, ContactModel, PlanAccount, PlanBasis, PlanInput,
    PlannedCall, PromiseRecord, Propensity,
};
use huikuan_store::plans::inputs::AccountFacts;
use huikuan_store::plans::lifecycle::Replanned;
use huikuan_store::{NewPlan, PlanDay, PlannedCallRow, SkipRow, Store};
use std::collections::BTreeSet;

pub use settings::PlanSettings;

/// Accounts read per page.
const PAGE: u64 = 20_000;

const NOTHING_QUEUED: &str =
    "no call is queued for it: its last outcome settled it or awaits a person's decision";

/// Priority of callbacks the debtor asked for.
pub const CALLBACK_PRIORITY: i32 = 100;
/// Priority of promise follow-ups.
pub const FOLLOW_UP_PRIORITY: i32 = 90;

/// What making a plan did.
#[derive(Debug, Clone)]
pub struct Made {
    pub plan: PlanDay,
    pub planned: usize,
    pub skipped: usize,
    pub notes: Vec<String>,
}

fn tz_of(f: &AccountFacts) -> Tz {
    f.time_zone
        .parse()
        .unwrap_or(huikuan_core::region::CHINA_TIME)
}

/// The room a plan leaves: `capacity` less its calls.
fn room_after(capacity: &Capacity, calls: &[PlannedCall], accounts: &[PlanAccount]) -> Capacity {
    let mut room = capacity.clone();
    for c in calls {
        let hour = c.at.with_timezone(&capacity.tz).hour() as usize;
        let slot = match c.channel {
            Channel::Robot => room.robot.get_mut(hour),
            Channel::Specialist => room.specialist.get_mut(hour),
            Channel::Agent => accounts
                .get(c.account)
                .and_then(|a| room.agents.get_mut(&a.dialect))
                .and_then(|row| row.get_mut(hour)),
        };
        if let Some(n) = slot {
            *n = n.saturating_sub(1);
        }
    }
    room
}

/// A callback the debtor asked for, still ahead at `now`.
fn is_callback(a: &PlanAccount, now: DateTime<Utc>) -> bool {
    a.day.callback_at.is_some_and(|t| t >= now)
}

/// A pending or broken promise is followed up.
fn is_follow_up(a: &PlanAccount) -> bool {
    matches!(
        a.day.promise,
        Some(
            huikuan_planner::rules::Promise::Broken { .. }
                | huikuan_planner::rules::Promise::Pending { .. }
        )
    )
}

/// Each call's priority, in the plan's order: callbacks, then promise
/// follow-ups, then by expected amount (10-80, the most valuable highest).
fn priorities(calls: &[PlannedCall], accounts: &[PlanAccount], now: DateTime<Utc>) -> Vec<i32> {
    let mut out = vec![0; calls.len()];
    let mut regular: Vec<usize> = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        let a = &accounts[c.account];
        if is_callback(a, now) {
            out[i] = CALLBACK_PRIORITY;
        } else if is_follow_up(a) {
            out[i] = FOLLOW_UP_PRIORITY;
        } else {
            regular.push(i);
        }
    }
    regular.sort_by(|&a, &b| {
        calls[b]
            .expected_fen
            .cmp(&calls[a].expected_fen)
            .then(calls[a].account_id.cmp(&calls[b].account_id))
    });
    let n = regular.len().max(1) as f64;
    for (rank, &i) in regular.iter().enumerate() {
        out[i] = 10 + (70.0 * (1.0 - rank as f64 / n)).round() as i32;
    }
    out
}

fn call_row(
    c: &PlannedCall,
    a: &PlanAccount,
    phone: &str,
    centre: Tz,
    priority: i32,
) -> PlannedCallRow {
    PlannedCallRow {
        account_id: c.account_id.clone(),
        contact_id: c.contact_id.clone(),
        phone: phone.to_string(),
        channel: c.channel.as_str().to_string(),
        dialect: a.dialect.clone(),
        time_zone: a.day.tz.name().to_string(),
        planned_at_ms: c.at.timestamp_millis(),
        centre_hour: c.at.with_timezone(&centre).hour() as i32,
        priority,
        expected_fen: c.expected_fen,
        reasons: c.reasons.join("; "),
        state: huikuan_core::PlannedCallState::Planned,
    }
}

/// The phone of `contact_id` among an account's numbers.
fn phone_of<'a>(f: &'a AccountFacts, contact_id: &str) -> &'a str {
    f.contacts
        .iter()
        .find(|n| n.contact_id == contact_id)
        .map_or("", |n| n.phone.as_str())
}

/// Why an account with nothing queued is off the day: the hard rule that
/// keeps it off if one does (a do-not-call number has no call queued
/// either), else that nothing is queued.
fn unqueued_skip(
    f: &AccountFacts,
    day: NaiveDate,
    now: DateTime<Utc>,
    settings: &Resolved,
) -> SkipRow {
    let account = facts::plan_account(f, tz_of(f), settings.complaint_hold_days, 0.0);
    match account
        .day
        .window(day, now, &settings.rules, &settings.holidays)
    {
        Err(skip) => SkipRow {
            account_id: f.account_id.clone(),
            rule: skip.rule().to_string(),
            why: skip.explain(account.day.tz),
        },
        Ok(_) => SkipRow {
            account_id: f.account_id.clone(),
            rule: "nothing_queued".into(),
            why: NOTHING_QUEUED.into(),
        },
    }
}

/// The campaign's accounts as the planner reads them, and what the models
/// learn from, read a page at a time: only what planning needs is kept of
/// each page.
struct Portfolio {
    /// Accounts with a call queued, by id; their payment propensity is set
    /// once every account's record has been read.
    accounts: Vec<PlanAccount>,
    /// Each queued account's phones, in the order of its numbers.
    phones: Vec<Vec<String>>,
    /// Each queued account's own promise record.
    own: Vec<PromiseRecord>,
    /// Every account's record, by segment: what the propensity learns.
    records: Vec<(&'static str, PromiseRecord)>,
    past: Vec<huikuan_planner::PastAttempt>,
    /// Accounts with nothing queued, with why.
    unqueued: Vec<SkipRow>,
    zones: BTreeSet<String>,
}

impl Portfolio {
    async fn read(
        store: &Store,
        campaign_id: &str,
        day: NaiveDate,
        now: DateTime<Utc>,
        settings: &Resolved,
        progress: &(dyn Fn(u64) + Sync),
    ) -> anyhow::Result<Portfolio> {
        let since = (now - Duration::days(i64::from(settings.history_days))).timestamp_millis();
        // Room for every account at once: a million accounts grown by
        // doubling would be copied over and over.
        let expected = store.campaign_stats(campaign_id).await?.accounts as usize;
        let mut p = Portfolio {
            accounts: Vec::with_capacity(expected),
            phones: Vec::with_capacity(expected),
            own: Vec::with_capacity(expected),
            records: Vec::with_capacity(expected),
            past: Vec::new(),
            unqueued: Vec::new(),
            zones: BTreeSet::new(),
        };
        // The next page is read while this one is turned into accounts.
        let (tx, mut pages) = tokio::sync::mpsc::channel(1);
        let reader = {
            let (store, campaign_id) = (store.clone(), campaign_id.to_string());
            tokio::spawn(async move {
                store
                    .send_planning_pages(&campaign_id, since, PAGE, tx)
                    .await
            })
        };
        while let Some(page) = pages.recv().await {
            progress(page.len() as u64);
            for f in &page {
                if !p.zones.contains(&f.time_zone) {
                    p.zones.insert(f.time_zone.clone());
                }
                let tz = tz_of(f);
                let (attempts, record) = facts::history(f, tz);
                p.past.extend(attempts);
                p.records.push((facts::segment(f.days_past_due), record));
                if !f.queued {
                    p.unqueued.push(unqueued_skip(f, day, now, settings));
                    continue;
                }
                let account = facts::plan_account(f, tz, settings.complaint_hold_days, 0.0);
                p.phones.push(
                    account
                        .day
                        .numbers
                        .iter()
                        .map(|n| phone_of(f, &n.contact_id).to_string())
                        .collect(),
                );
                p.accounts.push(account);
                p.own.push(record);
            }
        }
        reader.await??;
        Ok(p)
    }
}

/// Plans `campaign_id`'s `day` as of `now` and saves it as the day's
/// draft. `progress` is told each page of accounts read.
pub async fn make_plan(
    store: &Store,
    campaign_id: &str,
    day: NaiveDate,
    now: DateTime<Utc>,
    settings: &Resolved,
    made_by: &str,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Made> {
    let reading = std::time::Instant::now();
    let Portfolio {
        mut accounts,
        phones,
        own,
        records,
        past,
        unqueued,
        zones,
    } = Portfolio::read(store, campaign_id, day, now, settings, progress).await?;
    let started = std::time::Instant::now();
    let model = ContactModel::learn(&past);
    drop(past);
    let propensity = Propensity::learn(records.iter().map(|(s, r)| (*s, *r)));
    drop(records);
    for (a, record) in accounts.iter_mut().zip(own) {
        a.payment_propensity = propensity.of(&a.segment, record);
    }
    let made = plan(
        &PlanInput {
            day,
            now,
            rules: &settings.rules,
            holidays: &settings.holidays,
            strategy: &settings.strategy,
            model: &model,
            capacity: &settings.capacity,
        },
        &accounts,
    );
    let priority = priorities(&made.calls, &accounts, now);
    let centre = settings.capacity.tz;
    let mut calls: Vec<PlannedCallRow> = made
        .calls
        .iter()
        .zip(priority)
        .map(|(c, priority)| {
            let a = &accounts[c.account];
            let phone = a
                .day
                .numbers
                .iter()
                .position(|n| n.contact_id == c.contact_id)
                .map_or("", |n| phones[c.account][n].as_str());
            call_row(c, a, phone, centre, priority)
        })
        .collect();
    // In the order of the table's key, so that saving appends.
    calls.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    let room = room_after(&settings.capacity, &made.calls, &accounts);
    let mut skips: Vec<SkipRow> = Vec::with_capacity(made.not_planned.len() + unqueued.len());
    skips.extend(made.not_planned.into_iter().map(|n| SkipRow {
        account_id: n.account_id,
        rule: n.rule.to_string(),
        why: n.why,
    }));
    skips.extend(unqueued);
    skips.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    let (held, _) = settings.rules.effective();
    let ends_at = zones
        .iter()
        .map(|tz| at_local(tz.parse().unwrap_or(centre), day, held.window_end))
        .max()
        .unwrap_or_else(|| at_local(centre, day, held.window_end));
    let basis = PlanBasis::new(&settings.rules, &model, propensity);
    let new = NewPlan {
        campaign_id: campaign_id.to_string(),
        day,
        made_by: made_by.to_string(),
        ends_at_ms: ends_at.timestamp_millis(),
        capacity: serde_json::to_string(&CapacityRecord::from(&settings.capacity))?,
        room: serde_json::to_string(&CapacityRecord::from(&room))?,
        notes: made.notes.clone(),
        model: serde_json::to_string(&basis)?,
        calls,
        skips,
    };
    let planned_in = started.elapsed();
    let (planned, skipped) = (new.calls.len(), new.skips.len());
    let saved = store.save_plan(new).await?;
    tracing::info!(
        campaign = campaign_id,
        %day,
        accounts = accounts.len(),
        planned,
        skipped,
        reading_ms = (started - reading).as_millis() as u64,
        planning_ms = planned_in.as_millis() as u64,
        saving_ms = (started.elapsed() - planned_in).as_millis() as u64,
        "plan made"
    );
    Ok(Made {
        plan: saved,
        planned,
        skipped,
        notes: made.notes,
    })
}

/// Plans one account's next call on `plan`'s day as of `now`, with the
/// plan's models and the capacity it has left, and records it. Returns
/// what was decided, or `None` when the account is not the campaign's.
pub async fn replan_account(
    store: &Store,
    plan_day: &PlanDay,
    account_id: &str,
    now: DateTime<Utc>,
    settings: &Resolved,
) -> anyhow::Result<Option<Replanned>> {
    if plan_day.model.is_empty() {
        // A drill's plan (`Store::release_queued`): not the planner's, not
        // re-planned.
        return Ok(None);
    }
    let since = (now - Duration::days(i64::from(settings.history_days))).timestamp_millis();
    let Some(f) = store
        .planning_account(&plan_day.campaign_id, account_id, since)
        .await?
    else {
        return Ok(None);
    };
    let basis: PlanBasis = serde_json::from_str(&plan_day.model)?;
    let model = basis.model();
    let room: CapacityRecord = serde_json::from_str(&plan_day.room)?;
    let room = room.to_capacity().map_err(anyhow::Error::msg)?;
    let tz = tz_of(&f);
    let (replanned, left) = if !f.queued {
        (
            Replanned::Off {
                rule: "nothing_queued".into(),
                why: NOTHING_QUEUED.into(),
            },
            room,
        )
    } else {
        let account = facts::plan_account(
            &f,
            tz,
            settings.complaint_hold_days,
            basis
                .propensity
                .of(facts::segment(f.days_past_due), facts::promise_record(&f)),
        );
        let made = plan(
            &PlanInput {
                day: plan_day.day,
                now,
                rules: &settings.rules,
                holidays: &settings.holidays,
                strategy: &settings.strategy,
                model: &model,
                capacity: &room,
            },
            std::slice::from_ref(&account),
        );
        match (made.calls.first(), made.not_planned.first()) {
            (Some(c), _) => {
                let priority = if is_callback(&account, now) {
                    CALLBACK_PRIORITY
                } else {
                    10
                };
                (
                    Replanned::Call(call_row(
                        c,
                        &account,
                        phone_of(&f, &c.contact_id),
                        room.tz,
                        priority,
                    )),
                    room_after(&room, &made.calls, std::slice::from_ref(&account)),
                )
            }
            (None, Some(n)) => (
                Replanned::Off {
                    rule: n.rule.to_string(),
                    why: n.why.clone(),
                },
                room,
            ),
            (None, None) => return Ok(None),
        }
    };
    store
        .replan_account(
            &plan_day.id,
            account_id,
            &replanned,
            &serde_json::to_string(&CapacityRecord::from(&left))?,
        )
        .await?;
    Ok(Some(replanned))
}
