//! The day's plan for a campaign: for every account, a call (when, on
//! which number, by whom, and why) or the rule that keeps it off the day.
//!
//! Mechanism: the hard rules give each account its window
//! ([`crate::rules`]); the strategy its channel ([`crate::strategy`]).
//! Every hour of the window in the debtor's local time is a candidate,
//! worth the expected amount recovered by a call then: the chance of
//! reaching the debtor at that hour ([`crate::contact_model`]) times the
//! chance they pay once reached times the overdue amount. Callbacks and
//! promise follow-ups go first, then candidates by worth; each account
//! takes its best candidate whose hour still has room for its channel
//! (robot lines, agents with the debtor's dialect, specialists), counted
//! in the centre's hours.
//!
//! Guarantees: deterministic (ties broken by account id, then time); no
//! call outside the hard rules; no hour over capacity; each account
//! appears once, planned with its reasons or skipped with its rule.

use crate::contact_model::ContactModel;
use crate::rules::{AccountDay, CampaignRules, DayWindow};
use crate::strategy::{Channel, DebtFacts, Strategy};
use crate::Holidays;
use chrono::{DateTime, Duration, DurationRound, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One account as the planner sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanAccount {
    pub day: AccountDay,
    pub segment: String,
    /// The dialect an agent must speak ("mandarin", "cantonese", ...).
    pub dialect: String,
    pub overdue_fen: i64,
    pub days_past_due: i32,
    pub broken_promises: u32,
    pub hardship: bool,
    /// The chance the debtor pays once reached (0-1).
    pub payment_propensity: f64,
    /// The account's own past attempts and right-party contacts by local
    /// hour.
    pub own_hours: [(u32, u32); 24],
}

/// Calls each channel can make per hour of the centre's day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// The centre's time zone: the hours below are its hours.
    pub tz: Tz,
    pub robot: [u32; 24],
    /// By dialect, from the roster.
    pub agents: BTreeMap<String, [u32; 24]>,
    pub specialist: [u32; 24],
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCall {
    pub account_id: String,
    pub contact_id: String,
    pub at: DateTime<Utc>,
    pub channel: Channel,
    /// The chance of reaching the debtor then.
    pub contact_p: f64,
    /// Expected fen recovered by the call.
    pub expected_fen: i64,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotPlanned {
    pub account_id: String,
    /// The rule's stable name (`daily_cap`, `holiday`, `no_capacity`, ...).
    pub rule: &'static str,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// By time, then account.
    pub calls: Vec<PlannedCall>,
    /// By account.
    pub not_planned: Vec<NotPlanned>,
    /// Configuration the hard rules overrode.
    pub notes: Vec<String>,
}

/// What the plan is made from.
pub struct PlanInput<'a> {
    /// The campaign's day (each debtor's own local date).
    pub day: NaiveDate,
    /// Planning time: nothing is planned before it.
    pub now: DateTime<Utc>,
    pub rules: &'a CampaignRules,
    pub holidays: &'a Holidays,
    pub strategy: &'a Strategy,
    pub model: &'a ContactModel,
    pub capacity: &'a Capacity,
}

/// One hour an account could be called in.
struct Candidate<'a> {
    account: &'a PlanAccount,
    window: &'a DayWindow,
    at: DateTime<Utc>,
    local_hour: u8,
    channel: Channel,
    first: bool,
    p: f64,
    worth: f64,
}

/// Each hour start in `[from, until)` in `tz`, the first at `from`.
fn hour_starts(from: DateTime<Utc>, until: DateTime<Utc>, tz: Tz) -> Vec<DateTime<Utc>> {
    let mut v = vec![from];
    let mut t = from
        .with_timezone(&tz)
        .duration_trunc(Duration::hours(1))
        .map_or(from, |t| t.with_timezone(&Utc))
        + Duration::hours(1);
    while t < until {
        v.push(t);
        t += Duration::hours(1);
    }
    v
}

impl Capacity {
    fn slot(&mut self, channel: Channel, dialect: &str, at: DateTime<Utc>) -> Option<&mut u32> {
        let hour = at.with_timezone(&self.tz).hour() as usize;
        match channel {
            Channel::Robot => self.robot.get_mut(hour),
            Channel::Specialist => self.specialist.get_mut(hour),
            Channel::Agent => self.agents.get_mut(dialect)?.get_mut(hour),
        }
    }
}

/// Plans `accounts` for the day.
pub fn plan(input: &PlanInput<'_>, accounts: &[PlanAccount]) -> Plan {
    let (_, notes) = input.rules.effective();
    let mut not_planned = Vec::new();
    let mut windows = Vec::new();
    for a in accounts {
        match a
            .day
            .window(input.day, input.now, input.rules, input.holidays)
        {
            Ok(w) => windows.push((a, w)),
            Err(skip) => not_planned.push(NotPlanned {
                account_id: a.day.account_id.clone(),
                rule: skip.rule(),
                why: skip.explain(a.day.tz),
            }),
        }
    }
    let mut candidates = Vec::new();
    let mut chosen_by = HashMap::new();
    for (a, w) in &windows {
        let (channel, rule) = input.strategy.channel_for(&DebtFacts {
            segment: &a.segment,
            days_past_due: a.days_past_due,
            overdue_fen: a.overdue_fen,
            broken_promises: a.broken_promises,
            hardship: a.hardship,
        });
        chosen_by.insert(a.day.account_id.as_str(), (channel, rule));
        let times = match w.callback {
            true => vec![w.from],
            false => hour_starts(w.from, w.until, a.day.tz),
        };
        for at in times {
            let local_hour = at.with_timezone(&a.day.tz).hour() as u8;
            let own = a.own_hours[usize::from(local_hour)];
            let p = input.model.for_account(&a.segment, local_hour, own).p;
            candidates.push(Candidate {
                account: a,
                window: w,
                at,
                local_hour,
                channel,
                first: w.callback || w.promise_follow_up,
                p,
                worth: p * a.payment_propensity.clamp(0.0, 1.0) * a.overdue_fen.max(0) as f64,
            });
        }
    }
    // Callbacks and follow-ups first, then by worth; ties by account, time.
    candidates.sort_by(|x, y| {
        y.first
            .cmp(&x.first)
            .then(y.worth.total_cmp(&x.worth))
            .then(x.account.day.account_id.cmp(&y.account.day.account_id))
            .then(x.at.cmp(&y.at))
    });
    let mut capacity = input.capacity.clone();
    let mut planned: HashSet<&str> = HashSet::new();
    let mut best_hour: HashMap<&str, u8> = HashMap::new();
    let mut calls = Vec::new();
    for c in &candidates {
        let id = c.account.day.account_id.as_str();
        best_hour.entry(id).or_insert(c.local_hour);
        if planned.contains(id) {
            continue;
        }
        let Some(room) = capacity.slot(c.channel, &c.account.dialect, c.at) else {
            continue;
        };
        if *room == 0 {
            continue;
        }
        *room -= 1;
        planned.insert(id);
        calls.push(planned_call(c, chosen_by[id].1, best_hour[id], input.model));
    }
    for (a, _) in &windows {
        let id = a.day.account_id.as_str();
        if !planned.contains(id) {
            let channel = chosen_by.get(id).map_or(Channel::Robot, |c| c.0);
            not_planned.push(NotPlanned {
                account_id: id.to_string(),
                rule: "no_capacity",
                why: match channel {
                    Channel::Agent => {
                        format!("no {} agent has room in the calling window", a.dialect)
                    }
                    other => format!("no {} capacity left in the calling window", other.name()),
                },
            });
        }
    }
    calls.sort_by(|x, y| x.at.cmp(&y.at).then(x.account_id.cmp(&y.account_id)));
    not_planned.sort_by(|x, y| x.account_id.cmp(&y.account_id));
    Plan {
        calls,
        not_planned,
        notes,
    }
}

fn planned_call(c: &Candidate<'_>, rule: &str, best: u8, model: &ContactModel) -> PlannedCall {
    let a = c.account;
    let mut reasons = Vec::new();
    let segment = model.estimate(&a.segment, c.local_hour);
    let own = a.own_hours[usize::from(c.local_hour)];
    reasons.push(format!(
        "contact chance {:.0}% at {:02}:00 (segment {}: {} answers in {} calls; this debtor: {} of {})",
        c.p * 100.0,
        c.local_hour,
        a.segment,
        segment.contacts,
        segment.attempts,
        own.1,
        own.0
    ));
    if best != c.local_hour {
        reasons.push(format!(
            "{best:02}:00 would be better but is full for the {}",
            c.channel.name()
        ));
    }
    reasons.push(format!(
        "{} call: strategy rule \"{rule}\"",
        c.channel.name()
    ));
    reasons.extend(c.window.reasons.iter().cloned());
    PlannedCall {
        account_id: a.day.account_id.clone(),
        contact_id: c.window.contact_id.clone(),
        at: c.at,
        channel: c.channel,
        contact_p: c.p,
        expected_fen: c.worth.round() as i64,
        reasons,
    }
}

/// Capacity as a plan keeps it (JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CapacityRecord {
    pub tz: String,
    pub robot: [u32; 24],
    pub agents: BTreeMap<String, [u32; 24]>,
    pub specialist: [u32; 24],
}

impl From<&Capacity> for CapacityRecord {
    fn from(c: &Capacity) -> Self {
        CapacityRecord {
            tz: c.tz.name().to_string(),
            robot: c.robot,
            agents: c.agents.clone(),
            specialist: c.specialist,
        }
    }
}

impl CapacityRecord {
    pub fn to_capacity(&self) -> Result<Capacity, String> {
        Ok(Capacity {
            tz: self
                .tz
                .parse()
                .map_err(|_| format!("capacity: unknown time zone '{}'", self.tz))?,
            robot: self.robot,
            agents: self.agents.clone(),
            specialist: self.specialist,
        })
    }
}

#[cfg(test)]
mod tests;
