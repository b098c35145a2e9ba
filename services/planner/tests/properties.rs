//! The hard rules hold for any portfolio, history, time zone and
//! configuration: random ones, through a whole day of re-planning.
//!
//! Each case plans a random portfolio (debtors in UTC+8, UTC+5, UTC+5:30
//! and zones abroad that change their clocks, on days that include the
//! changes), then plays the day out: the earliest planned call is made,
//! recorded in the history, and the rest of the day is planned again from
//! that moment, until nothing is left. Every plan on the way, and the
//! day's calls together, are checked against the rules as the campaign
//! configured them and as they hold whatever it says.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use huikuan_planner::holidays::DayKind;
use huikuan_planner::rules::{NumberHistory, Promise, EARLIEST, LATEST, MOST_PER_DAY};
use huikuan_planner::{
    plan, AccountDay, CampaignRules, Capacity, Channel, ContactModel, Holidays, PastAttempt, Plan,
    PlanAccount, PlanInput, PlannedCall, Strategy as CallStrategy,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};

const ZONES: &[&str] = &[
    "Asia/Shanghai",
    "Asia/Urumqi",
    "Asia/Karachi",
    "Asia/Tashkent",
    "Asia/Kolkata",
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
];

/// Ordinary days and the days clocks change in the zones above.
const DAYS: &[&str] = &[
    "2026-12-09",
    "2026-03-08",
    "2026-03-29",
    "2026-04-05",
    "2026-10-04",
    "2026-10-25",
    "2026-11-01",
    "2026-10-01",
    "2026-06-15",
];

const DIALECTS: &[&str] = &["mandarin", "cantonese", "sichuanese"];
const SEGMENTS: &[&str] = &["early", "mid", "late"];

#[derive(Debug, Clone)]
struct Case {
    day: NaiveDate,
    /// Minutes after the day's 00:00 UTC (may be the evening before in the
    /// east, or the day after in the west).
    now: DateTime<Utc>,
    rules: CampaignRules,
    capacity: Capacity,
    accounts: Vec<PlanAccount>,
}

fn rules_strategy() -> impl Strategy<Value = CampaignRules> {
    (
        0u32..24,
        1u32..25,
        1u32..10,
        0u32..12,
        0u32..300,
        0u32..3,
        any::<bool>(),
    )
        .prop_filter_map(
            "a window must open before it closes",
            |(start, end, per_day, week_extra, gap, grace, holidays)| {
                let time = |h: u32| {
                    NaiveTime::from_hms_opt(h.min(23), if h >= 24 { 59 } else { 0 }, 0).unwrap()
                };
                let r = CampaignRules {
                    window_start: time(start),
                    window_end: time(end),
                    attempts_per_day: per_day,
                    attempts_per_week: per_day + week_extra,
                    min_gap_minutes: gap,
                    promise_grace_days: grace,
                    skip_holidays: holidays,
                };
                r.validate().is_ok().then_some(r)
            },
        )
}

fn capacity_strategy() -> impl Strategy<Value = Capacity> {
    (
        prop::sample::select(ZONES),
        prop::array::uniform24(0u32..4),
        prop::array::uniform24(0u32..3),
        prop::array::uniform24(0u32..2),
        prop::array::uniform24(0u32..2),
    )
        .prop_map(|(tz, robot, mandarin, cantonese, specialist)| Capacity {
            tz: tz.parse().unwrap(),
            robot,
            agents: BTreeMap::from([
                ("mandarin".to_string(), mandarin),
                ("cantonese".to_string(), cantonese),
            ]),
            specialist,
        })
}

fn utc_of(day: NaiveDate, minutes: i64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN)) + Duration::minutes(minutes)
}

/// Minutes around the day: from 2 days before it to the end of the day
/// after.
fn account_strategy(day: NaiveDate, index: usize) -> impl Strategy<Value = PlanAccount> {
    let number = (
        prop::collection::vec(-2880i64..2880, 0..9),
        prop::bool::weighted(0.1),
    );
    (
        prop::sample::select(ZONES),
        prop::collection::vec(number, 0..3),
        prop::option::weighted(0.3, (0u8..3, -5i64..5)),
        prop::option::weighted(0.1, -3i64..3),
        prop::option::weighted(0.2, -600i64..2000),
        prop::sample::select(SEGMENTS),
        prop::sample::select(DIALECTS),
        (
            1i64..5_000_000,
            0i32..400,
            0u32..4,
            prop::bool::weighted(0.1),
        ),
        0.0f64..1.0,
    )
        .prop_map(
            move |(tz, numbers, promise, hold, callback, segment, dialect, debt, propensity)| {
                let tz: Tz = tz.parse().unwrap();
                let (overdue_fen, days_past_due, broken_promises, hardship) = debt;
                let id = format!("A{index:03}");
                PlanAccount {
                    day: AccountDay {
                        account_id: id.clone(),
                        tz,
                        numbers: numbers
                            .into_iter()
                            .enumerate()
                            .map(|(i, (attempts, dnc))| NumberHistory {
                                contact_id: format!("{id}/{i}"),
                                dnc,
                                attempts: attempts.into_iter().map(|m| utc_of(day, m)).collect(),
                            })
                            .collect(),
                        promise: promise.map(|(kind, offset)| {
                            let date = day + Duration::days(offset);
                            match kind {
                                0 => Promise::Pending { date },
                                1 => Promise::Kept,
                                _ => Promise::Broken { date },
                            }
                        }),
                        complaint_hold_until: hold.map(|d| day + Duration::days(d)),
                        callback_at: callback.map(|m| utc_of(day, m)),
                    },
                    segment: segment.into(),
                    dialect: dialect.into(),
                    overdue_fen,
                    days_past_due,
                    broken_promises,
                    hardship,
                    payment_propensity: propensity,
                    own_hours: [(0, 0); 24],
                }
            },
        )
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(DAYS),
        -720i64..2160,
        rules_strategy(),
        capacity_strategy(),
        1usize..30,
    )
        .prop_flat_map(|(day, now, rules, capacity, n)| {
            let day: NaiveDate = day.parse().unwrap();
            let accounts: Vec<_> = (0..n).map(|i| account_strategy(day, i)).collect();
            (Just(day), Just(now), Just(rules), Just(capacity), accounts)
        })
        .prop_map(|(day, now, rules, capacity, accounts)| {
            // History is what happened before planning.
            let now = utc_of(day, now);
            let accounts = accounts
                .into_iter()
                .map(|mut a: PlanAccount| {
                    for n in &mut a.day.numbers {
                        n.attempts.retain(|t| *t < now);
                        n.attempts.sort();
                    }
                    a
                })
                .collect();
            Case {
                day,
                now,
                rules,
                capacity,
                accounts,
            }
        })
}

fn model() -> ContactModel {
    let mut history = Vec::new();
    for (s, segment) in SEGMENTS.iter().enumerate() {
        for hour in 0..24u8 {
            for i in 0..(hour as usize + s * 3) {
                history.push(PastAttempt {
                    segment: segment.to_string(),
                    local_hour: hour,
                    right_party: (i + hour as usize).is_multiple_of(3),
                    weekend: (i + s).is_multiple_of(4),
                });
            }
        }
    }
    ContactModel::learn(&history)
}

fn run(case: &Case, now: DateTime<Utc>, accounts: &[PlanAccount]) -> Plan {
    plan(
        &PlanInput {
            day: case.day,
            now,
            rules: &case.rules,
            holidays: &Holidays::built_in(),
            strategy: &CallStrategy::default(),
            model: &model(),
            capacity: &case.capacity,
        },
        accounts,
    )
}

/// `time` on `day` in `tz`, as the rules read it.
fn local_at(tz: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    tz.from_local_datetime(&day.and_time(time))
        .earliest()
        .unwrap_or_else(|| tz.from_utc_datetime(&day.and_time(time)))
        .with_timezone(&Utc)
}

/// Checks one plan against the rules, given the history it was made from.
fn check_plan(
    case: &Case,
    now: DateTime<Utc>,
    accounts: &[PlanAccount],
    p: &Plan,
) -> Result<(), TestCaseError> {
    let by_id: HashMap<&str, &PlanAccount> = accounts
        .iter()
        .map(|a| (a.day.account_id.as_str(), a))
        .collect();
    // Each account once: planned or skipped with a rule.
    let mut seen = HashMap::new();
    for id in p
        .calls
        .iter()
        .map(|c| &c.account_id)
        .chain(p.not_planned.iter().map(|n| &n.account_id))
    {
        *seen.entry(id.as_str()).or_insert(0) += 1;
    }
    prop_assert_eq!(seen.len(), accounts.len());
    prop_assert!(
        seen.values().all(|n| *n == 1),
        "an account twice: {:?}",
        seen
    );
    let holidays = Holidays::built_in();
    let (held, _) = case.rules.effective();
    let mut used: HashMap<(Channel, String, u32), u32> = HashMap::new();
    for c in &p.calls {
        let a = by_id[c.account_id.as_str()];
        let tz = a.day.tz;
        let local = c.at.with_timezone(&tz);
        prop_assert!(c.at >= now, "{} planned before now", c.account_id);
        prop_assert_eq!(
            local.date_naive(),
            case.day,
            "{} on another day",
            &c.account_id
        );
        // Never 22:00-08:00, whatever the configuration.
        prop_assert!(
            local.time() >= EARLIEST && local.time() < LATEST,
            "{} at {} local",
            c.account_id,
            local
        );
        // The configured window.
        prop_assert!(c.at >= local_at(tz, case.day, case.rules.window_start.max(EARLIEST)));
        prop_assert!(c.at < local_at(tz, case.day, case.rules.window_end.min(LATEST)));
        if case.rules.skip_holidays {
            prop_assert_eq!(holidays.kind(case.day), DayKind::Working);
        }
        let number = a.day.numbers.iter().find(|n| n.contact_id == c.contact_id);
        prop_assert!(number.is_some(), "{} on a number it lacks", c.account_id);
        let number = number.unwrap();
        prop_assert!(!number.dnc, "{} on a do-not-call number", c.account_id);
        if let Some(until) = a.day.complaint_hold_until {
            prop_assert!(case.day > until, "{} during a complaint hold", c.account_id);
        }
        if let Some(Promise::Pending { date }) = a.day.promise {
            prop_assert!(
                case.day > date + Duration::days(i64::from(case.rules.promise_grace_days)),
                "{} before its promise's date and grace",
                c.account_id
            );
        }
        check_number(case, tz, &number.attempts, Some(c.at), &held)?;
        let hour = c.at.with_timezone(&case.capacity.tz).hour();
        *used
            .entry((c.channel, a.dialect.clone(), hour))
            .or_default() += 1;
    }
    for ((channel, dialect, hour), n) in used {
        let room = match channel {
            Channel::Robot => case.capacity.robot[hour as usize],
            Channel::Specialist => case.capacity.specialist[hour as usize],
            Channel::Agent => case
                .capacity
                .agents
                .get(&dialect)
                .map_or(0, |a| a[hour as usize]),
        };
        prop_assert!(
            n <= room,
            "{n} {channel:?} {dialect} calls at {hour}:00, room for {room}"
        );
    }
    Ok(())
}

/// The caps and the least gap on one number, with `extra` as one more
/// attempt.
fn check_number(
    case: &Case,
    tz: Tz,
    attempts: &[DateTime<Utc>],
    extra: Option<DateTime<Utc>>,
    held: &CampaignRules,
) -> Result<(), TestCaseError> {
    let mut all: Vec<DateTime<Utc>> = attempts.iter().copied().chain(extra).collect();
    all.sort();
    let day_from = local_at(tz, case.day, NaiveTime::MIN);
    let day_to = local_at(tz, case.day + Duration::days(1), NaiveTime::MIN);
    let week_from = local_at(tz, case.day - Duration::days(6), NaiveTime::MIN);
    let on_day = |from: DateTime<Utc>| all.iter().filter(|t| **t >= from && **t < day_to).count();
    let Some(extra) = extra else { return Ok(()) };
    prop_assert!(on_day(day_from) as u32 <= held.attempts_per_day.min(MOST_PER_DAY));
    prop_assert!(held.attempts_per_day <= MOST_PER_DAY);
    prop_assert!(on_day(week_from) as u32 <= case.rules.attempts_per_week);
    let gap = Duration::minutes(i64::from(case.rules.min_gap_minutes));
    if let Some(before) = all.iter().filter(|t| **t < extra).max() {
        prop_assert!(
            extra - *before >= gap,
            "{} after {}: gap below {} min",
            extra,
            before,
            case.rules.min_gap_minutes
        );
    }
    Ok(())
}

/// Makes the earliest planned call: it joins its number's history.
fn make_call(accounts: &mut [PlanAccount], call: &PlannedCall) {
    let a = accounts
        .iter_mut()
        .find(|a| a.day.account_id == call.account_id)
        .expect("the plan's account");
    let n = a
        .day
        .numbers
        .iter_mut()
        .find(|n| n.contact_id == call.contact_id)
        .expect("the plan's number");
    n.attempts.push(call.at);
    n.attempts.sort();
    // A callback is used by the call made at its time.
    if a.day.callback_at == Some(call.at) {
        a.day.callback_at = None;
    }
}

/// The planner's choice spelt out the slow way, as a check of its merge:
/// every hour of every account's window is a candidate; callbacks and
/// follow-ups first, then by worth (ties by account, then time); each
/// account takes its first candidate whose hour has room for its channel.
fn greedy_by_sorting(case: &Case) -> Vec<(String, DateTime<Utc>, Channel)> {
    let model = model();
    let strategy = CallStrategy::default();
    let holidays = Holidays::built_in();
    let mut candidates = Vec::new();
    for a in &case.accounts {
        let Ok(w) = a.day.window(case.day, case.now, &case.rules, &holidays) else {
            continue;
        };
        let (channel, _) = strategy.channel_for(&huikuan_planner::strategy::DebtFacts {
            segment: &a.segment,
            days_past_due: a.days_past_due,
            overdue_fen: a.overdue_fen,
            broken_promises: a.broken_promises,
            hardship: a.hardship,
        });
        let mut times = vec![w.from];
        if !w.callback {
            let local = w.from.with_timezone(&a.day.tz);
            let mut t = local
                .with_minute(0)
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .map_or(w.from, |t| t.with_timezone(&Utc))
                + Duration::hours(1);
            while t < w.until {
                times.push(t);
                t += Duration::hours(1);
            }
        }
        for at in times {
            let hour = at.with_timezone(&a.day.tz).hour() as u8;
            let p = model
                .for_account(
                    &a.segment,
                    hour,
                    huikuan_planner::plan::is_weekend(case.day),
                    a.own_hours[usize::from(hour)],
                )
                .p;
            let worth = p * a.payment_propensity.clamp(0.0, 1.0) * a.overdue_fen.max(0) as f64;
            candidates.push((w.callback || w.promise_follow_up, worth, a, at, channel));
        }
    }
    candidates.sort_by(|x, y| {
        y.0.cmp(&x.0)
            .then(y.1.total_cmp(&x.1))
            .then(x.2.day.account_id.cmp(&y.2.day.account_id))
            .then(x.3.cmp(&y.3))
    });
    let mut room = case.capacity.clone();
    let mut planned = std::collections::HashSet::new();
    let mut taken = Vec::new();
    for (_, _, a, at, channel) in candidates {
        if planned.contains(&a.day.account_id) {
            continue;
        }
        let hour = at.with_timezone(&room.tz).hour() as usize;
        let slot = match channel {
            Channel::Robot => Some(&mut room.robot[hour]),
            Channel::Specialist => Some(&mut room.specialist[hour]),
            Channel::Agent => room.agents.get_mut(&a.dialect).map(|r| &mut r[hour]),
        };
        if let Some(n) = slot.filter(|n| **n > 0) {
            *n -= 1;
            planned.insert(a.day.account_id.clone());
            taken.push((a.day.account_id.clone(), at, channel));
        }
    }
    taken.sort_by(|x, y| x.1.cmp(&y.1).then(x.0.cmp(&y.0)));
    taken
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_plan_ever_breaks_a_hard_rule_through_a_day_of_replanning(case in case_strategy()) {
        let mut accounts = case.accounts.clone();
        let mut now = case.now;
        for _ in 0..200 {
            let p = run(&case, now, &accounts);
            check_plan(&case, now, &accounts, &p)?;
            let Some(first) = p.calls.first().cloned() else { break };
            make_call(&mut accounts, &first);
            now = first.at + Duration::minutes(1);
        }
        // The day's calls together, per number.
        let (held, _) = case.rules.effective();
        for (a, original) in accounts.iter().zip(&case.accounts) {
            for (n, before) in a.day.numbers.iter().zip(&original.day.numbers) {
                let made: Vec<_> = n.attempts.iter().filter(|t| !before.attempts.contains(t)).collect();
                prop_assert!(!n.dnc || made.is_empty(), "{} called on do-not-call", n.contact_id);
                let mut so_far = before.attempts.clone();
                for t in made {
                    check_number(&case, a.day.tz, &so_far, Some(*t), &held)?;
                    so_far.push(*t);
                }
                let day_from = local_at(a.day.tz, case.day, NaiveTime::MIN);
                let day_to = local_at(a.day.tz, case.day + Duration::days(1), NaiveTime::MIN);
                let today = n.attempts.iter().filter(|t| **t >= day_from && **t < day_to).count() as u32;
                let before_today = before.attempts.iter().filter(|t| **t >= day_from && **t < day_to).count() as u32;
                prop_assert!(today <= held.attempts_per_day.max(before_today), "{}: {today} attempts today", n.contact_id);
            }
        }
    }

    #[test]
    fn the_plan_takes_the_calls_a_sort_of_every_candidate_would(case in case_strategy()) {
        let p = run(&case, case.now, &case.accounts);
        let taken: Vec<(String, DateTime<Utc>, Channel)> = p
            .calls
            .iter()
            .map(|c| (c.account_id.clone(), c.at, c.channel))
            .collect();
        prop_assert_eq!(taken, greedy_by_sorting(&case));
    }

    #[test]
    fn the_same_inputs_give_the_same_plan(case in case_strategy()) {
        let a = run(&case, case.now, &case.accounts);
        let b = run(&case, case.now, &case.accounts);
        prop_assert_eq!(a, b);
    }
}

#[test]
fn a_day_never_starts_before_eight_in_a_zone_that_springs_forward() {
    // New York moves from 02:00 to 03:00 on 2026-03-08; London on 03-29.
    for (zone, day) in [
        ("America/New_York", "2026-03-08"),
        ("Europe/London", "2026-03-29"),
    ] {
        let tz: Tz = zone.parse().unwrap();
        let day: NaiveDate = day.parse().unwrap();
        let open = local_at(tz, day, EARLIEST);
        assert_eq!(open.with_timezone(&tz).hour(), 8, "{zone}");
        assert_eq!(open.with_timezone(&tz).day(), day.day(), "{zone}");
    }
}
