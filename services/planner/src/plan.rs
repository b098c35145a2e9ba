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
use chrono::{DateTime, Datelike, Duration, DurationRound, NaiveDate, Offset, Timelike, Utc};
use chrono_tz::Tz;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

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
    /// The account's place in the accounts the plan was made from.
    pub account: usize,
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

/// One account's turns: the hours of its window, best first, which it
/// takes one after another while the better ones are full.
struct Turns<'a> {
    /// The account's place in the accounts planned.
    index: usize,
    account: &'a PlanAccount,
    /// The contact chance at each local hour of the day for the account's
    /// segment and day kind, before its own attempts.
    priors: &'a [f64; 24],
    window: &'a DayWindow,
    channel: Channel,
    rule: &'a str,
    /// Callbacks and promise follow-ups go before everything else.
    first: bool,
    /// The day is a Saturday or Sunday (the contact model's day kind).
    weekend: bool,
    /// The start of the hour `from` falls in, in the debtor's zone: turn
    /// `i > 0` starts `i` hours after it.
    hour_zero: DateTime<Utc>,
    /// The debtor's and the centre's hours of the window.
    local: HourOf,
    centre: HourOf,
    /// Turn indices, best first (by worth, then time).
    order: Vec<u8>,
    next: usize,
    planned: bool,
}

/// One hour an account could be called in.
struct Candidate {
    at: DateTime<Utc>,
    local_hour: u8,
    p: f64,
    worth: f64,
}

impl Turns<'_> {
    fn at(&self, turn: u8) -> DateTime<Utc> {
        match turn {
            0 => self.window.from,
            n => self.hour_zero + Duration::hours(i64::from(n)),
        }
    }

    fn candidate(&self, turn: u8) -> Candidate {
        let a = self.account;
        let at = self.at(turn);
        let local_hour = self.local.hour(at);
        let own = a.own_hours[usize::from(local_hour)];
        let p = ContactModel::refined(self.priors[usize::from(local_hour)], own).p;
        Candidate {
            at,
            local_hour,
            p,
            worth: p * a.payment_propensity.clamp(0.0, 1.0) * a.overdue_fen.max(0) as f64,
        }
    }
}

/// An account's best turn not yet tried, as the queue orders it: callbacks
/// and follow-ups first, then by worth; ties by account, then time.
struct Head {
    first: bool,
    worth: f64,
    /// The account's place in the order of account ids.
    rank: u32,
    at: DateTime<Utc>,
    turns: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.first
            .cmp(&other.first)
            .then(self.worth.total_cmp(&other.worth))
            .then(other.rank.cmp(&self.rank))
            .then(other.at.cmp(&self.at))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Head {}

/// The hour of the day in a zone, for the instants of one account's
/// window: by its offset when the offset is the same at both ends of the
/// window (no clock change in it, which is every window but a few a year
/// in zones that change their clocks), else by the zone's rules.
#[derive(Clone, Copy)]
struct HourOf {
    tz: Tz,
    offset_s: Option<i64>,
}

impl HourOf {
    fn new(tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> HourOf {
        let offset =
            |t: DateTime<Utc>| i64::from(t.with_timezone(&tz).offset().fix().local_minus_utc());
        let last = (until - Duration::seconds(1)).max(from);
        let (a, b) = (offset(from), offset(last));
        HourOf {
            tz,
            offset_s: (a == b).then_some(a),
        }
    }

    fn hour(&self, at: DateTime<Utc>) -> u8 {
        match self.offset_s {
            Some(off) => (at.timestamp() + off).div_euclid(3600).rem_euclid(24) as u8,
            None => at.with_timezone(&self.tz).hour() as u8,
        }
    }
}

impl Capacity {
    /// Calls `channel` can still make in the centre's `hour`.
    fn room(&self, channel: Channel, dialect: &str, hour: u8) -> u32 {
        let hour = usize::from(hour);
        match channel {
            Channel::Robot => self.robot.get(hour),
            Channel::Specialist => self.specialist.get(hour),
            Channel::Agent => self.agents.get(dialect).and_then(|r| r.get(hour)),
        }
        .copied()
        .unwrap_or(0)
    }

    fn slot(&mut self, channel: Channel, dialect: &str, hour: u8) -> Option<&mut u32> {
        let hour = usize::from(hour);
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
    let weekend = is_weekend(input.day);
    let mut priors: HashMap<&str, [f64; 24]> = HashMap::new();
    for a in accounts {
        if !priors.contains_key(a.segment.as_str()) {
            priors.insert(&a.segment, input.model.priors_on(&a.segment, weekend));
        }
    }
    // The hard rules and each account's turns: each account on its own,
    // so a big portfolio is split between the cores.
    let windowed = in_parts(accounts, |offset, part| {
        let mut windows = Vec::with_capacity(part.len());
        let mut skipped = Vec::new();
        for (i, a) in part.iter().enumerate() {
            match a
                .day
                .window(input.day, input.now, input.rules, input.holidays)
            {
                Ok(w) => windows.push((offset + i, a, w)),
                Err(skip) => skipped.push(NotPlanned {
                    account_id: a.day.account_id.clone(),
                    rule: skip.rule(),
                    why: skip.explain(a.day.tz),
                }),
            }
        }
        (windows, skipped)
    });
    let mut not_planned = Vec::new();
    let mut windows = Vec::with_capacity(accounts.len());
    for (w, skipped) in windowed {
        windows.extend(w);
        not_planned.extend(skipped);
    }
    let mut turns: Vec<Turns<'_>> = in_parts(&windows, |_, part| {
        part.iter()
            .map(|(i, a, w)| turns_of(input, *i, a, w, &priors[a.segment.as_str()]))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    // Each account's turns are in order, so merging them through a queue
    // of each one's best untried turn takes the candidates in the order a
    // sort of all of them would, holding one per account.
    let ranks = ranks_by_id(&turns);
    let mut queue: BinaryHeap<Head> = BinaryHeap::with_capacity(turns.len());
    let mut capacity = input.capacity.clone();
    for (i, t) in turns.iter_mut().enumerate() {
        if let Some(head) = head_of(t, i, ranks[i], &capacity) {
            queue.push(head);
        }
    }
    // Which account takes which turn; worded once the merge is done.
    let mut taken: Vec<(usize, u8)> = Vec::new();
    while let Some(head) = queue.pop() {
        let t = &mut turns[head.turns];
        let turn = t.order[t.next];
        let room = capacity.slot(t.channel, &t.account.dialect, t.centre.hour(head.at));
        match room {
            Some(room) if *room > 0 => {
                *room -= 1;
                t.planned = true;
                taken.push((head.turns, turn));
            }
            _ => {
                // Hours only fill up: a turn whose hour is full now would
                // be refused when its time came, so the next head skips
                // those too.
                if let Some(next) = head_of(t, head.turns, head.rank, &capacity) {
                    queue.push(next);
                }
            }
        }
    }
    let mut calls: Vec<PlannedCall> = in_parts(&taken, |_, part| {
        part.iter()
            .map(|&(i, turn)| {
                let t = &turns[i];
                let best = t.candidate(t.order[0]).local_hour;
                planned_call(t, &t.candidate(turn), best, input.model)
            })
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    for left in in_parts(&turns, |_, part| {
        part.iter()
            .filter(|t| !t.planned)
            .map(|t| NotPlanned {
                account_id: t.account.day.account_id.clone(),
                rule: "no_capacity",
                why: match t.channel {
                    Channel::Agent => format!(
                        "no {} agent has room in the calling window",
                        t.account.dialect
                    ),
                    other => format!("no {} capacity left in the calling window", other.as_str()),
                },
            })
            .collect::<Vec<_>>()
    }) {
        not_planned.extend(left);
    }
    calls.sort_by(|x, y| x.at.cmp(&y.at).then(x.account_id.cmp(&y.account_id)));
    not_planned.sort_by(|x, y| x.account_id.cmp(&y.account_id));
    Plan {
        calls,
        not_planned,
        notes,
    }
}

/// Below this many items a plan's steps run on the calling thread.
const PARALLEL_FROM: usize = 20_000;

/// `work` on consecutive parts of `items`, one per core for a big slice
/// (each part with the offset of its first item), the results in order.
fn in_parts<'t, T: Sync, R: Send>(
    items: &'t [T],
    work: impl Fn(usize, &'t [T]) -> R + Sync,
) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() < PARALLEL_FROM || cores < 2 {
        return vec![work(0, items)];
    }
    let size = items.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let work = &work;
        let parts: Vec<_> = items
            .chunks(size)
            .enumerate()
            .map(|(n, part)| scope.spawn(move || work(n * size, part)))
            .collect();
        parts
            .into_iter()
            .map(|p| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// An account's turns in its window, best first.
fn turns_of<'a>(
    input: &PlanInput<'a>,
    index: usize,
    a: &'a PlanAccount,
    w: &'a DayWindow,
    priors: &'a [f64; 24],
) -> Turns<'a> {
    let (channel, rule) = input.strategy.channel_for(&DebtFacts {
        segment: &a.segment,
        days_past_due: a.days_past_due,
        overdue_fen: a.overdue_fen,
        broken_promises: a.broken_promises,
        hardship: a.hardship,
    });
    let hour_zero = w
        .from
        .with_timezone(&a.day.tz)
        .duration_trunc(Duration::hours(1))
        .map_or(w.from, |t| t.with_timezone(&Utc));
    let mut t = Turns {
        index,
        account: a,
        priors,
        window: w,
        channel,
        rule,
        first: w.callback || w.promise_follow_up,
        weekend: is_weekend(input.day),
        hour_zero,
        local: HourOf::new(a.day.tz, w.from, w.until),
        centre: HourOf::new(input.capacity.tz, w.from, w.until),
        order: Vec::new(),
        next: 0,
        planned: false,
    };
    // Turn 0 starts at `from`; then each hour start before `until`.
    let mut count = 1u8;
    if !w.callback {
        while count < u8::MAX && t.at(count) < w.until {
            count += 1;
        }
    }
    // Turns start in time order, so a stable sort by worth keeps ties in
    // time order.
    let worth: Vec<f64> = (0..count).map(|i| t.candidate(i).worth).collect();
    let mut order: Vec<u8> = (0..count).collect();
    order.sort_by(|x, y| worth[usize::from(*y)].total_cmp(&worth[usize::from(*x)]));
    t.order = order;
    t
}

/// Saturday or Sunday.
pub fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)
}

/// Each account's place in the order of account ids (no sorting when the
/// accounts come in that order, as the store reads them).
fn ranks_by_id(turns: &[Turns<'_>]) -> Vec<u32> {
    let id = |i: usize| turns[i].account.day.account_id.as_str();
    let mut by_id: Vec<usize> = (0..turns.len()).collect();
    if !(1..turns.len()).all(|i| id(i - 1) <= id(i)) {
        by_id.sort_by(|x, y| id(*x).cmp(id(*y)));
    }
    let mut ranks = vec![0u32; turns.len()];
    for (rank, i) in by_id.into_iter().enumerate() {
        ranks[i] = rank as u32;
    }
    ranks
}

/// The account's next turn to try whose hour has room, if any is left.
fn head_of(t: &mut Turns<'_>, index: usize, rank: u32, capacity: &Capacity) -> Option<Head> {
    let turn = loop {
        let turn = *t.order.get(t.next)?;
        if capacity.room(t.channel, &t.account.dialect, t.centre.hour(t.at(turn))) > 0 {
            break turn;
        }
        t.next += 1;
    };
    let c = t.candidate(turn);
    Some(Head {
        first: t.first,
        worth: c.worth,
        rank,
        at: c.at,
        turns: index,
    })
}

fn planned_call(t: &Turns<'_>, c: &Candidate, best: u8, model: &ContactModel) -> PlannedCall {
    let a = t.account;
    let mut reasons = Vec::new();
    let segment = model.estimate(&a.segment, c.local_hour);
    let own = a.own_hours[usize::from(c.local_hour)];
    let on_days = model.estimate_on(&a.segment, c.local_hour, t.weekend);
    let days = match on_days.attempts {
        0 => String::new(),
        n => format!(
            ", {} of {n} on {}",
            on_days.contacts,
            if t.weekend { "weekends" } else { "weekdays" }
        ),
    };
    reasons.push(format!(
        "contact chance {:.0}% at {:02}:00 (segment {}: {} answers in {} calls{days}; this debtor: {} of {})",
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
            t.channel.as_str()
        ));
    }
    reasons.push(format!(
        "{} call: strategy rule \"{}\"",
        t.channel.as_str(),
        t.rule
    ));
    reasons.extend(t.window.reasons.iter().cloned());
    PlannedCall {
        account: t.index,
        account_id: a.day.account_id.clone(),
        contact_id: t.window.contact_id.clone(),
        at: c.at,
        channel: t.channel,
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
