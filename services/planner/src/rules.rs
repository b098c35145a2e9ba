//! The hard rules of collection calling, which no plan breaks whatever a
//! campaign configures: the calling window in the debtor's local time
//! (never before 08:00 nor from 22:00 on), attempts per number per day
//! (never above 6) and per 7 days, the least gap between two attempts to
//! one number, no call before a promise's date (plus grace), callback
//! times honoured, do-not-call numbers, complaint holds and public
//! holidays.
//!
//! [`AccountDay::window`] applies them to one account on one day: either
//! the window in which it may be called (on which number, from when, how
//! many attempts are left, and why) or the [`Skip`] that keeps it off the
//! day, naming its rule. A closed set, its wording beside the data.

use crate::holidays::{DayKind, Holidays};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// No call starts before this local time, whatever the configuration.
pub const EARLIEST: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(t) => t,
    None => panic!("08:00 is a time"),
};
/// No call starts at or after this local time, whatever the configuration.
pub const LATEST: NaiveTime = match NaiveTime::from_hms_opt(22, 0, 0) {
    Some(t) => t,
    None => panic!("22:00 is a time"),
};
/// Attempts per number per day, whatever the configuration.
pub const MOST_PER_DAY: u32 = 6;

/// A campaign's rules as configured; [`CampaignRules::effective`] holds
/// them within the limits nothing may pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignRules {
    /// First local time a call may start.
    pub window_start: NaiveTime,
    /// Local time from which no call starts.
    pub window_end: NaiveTime,
    /// Attempts per number per local day.
    pub attempts_per_day: u32,
    /// Attempts per number in the 7 local days ending with the planned one.
    pub attempts_per_week: u32,
    /// Least time between two attempts to one number.
    pub min_gap_minutes: u32,
    /// Days after a promise's date before it is followed up.
    pub promise_grace_days: u32,
    /// Skip public holidays.
    pub skip_holidays: bool,
}

impl Default for CampaignRules {
    fn default() -> Self {
        CampaignRules {
            window_start: EARLIEST,
            window_end: NaiveTime::from_hms_opt(21, 0, 0).expect("21:00 is a time"),
            attempts_per_day: 3,
            attempts_per_week: 10,
            min_gap_minutes: 120,
            promise_grace_days: 1,
            skip_holidays: true,
        }
    }
}

impl CampaignRules {
    /// Configuration that cannot mean anything, named by field.
    pub fn validate(&self) -> Result<(), String> {
        if self.window_start >= self.window_end {
            return Err(format!(
                "window_start {} must be before window_end {}",
                self.window_start, self.window_end
            ));
        }
        if self.attempts_per_day == 0 {
            return Err("attempts_per_day must be at least 1".into());
        }
        if self.attempts_per_week < self.attempts_per_day {
            return Err(format!(
                "attempts_per_week ({}) must be at least attempts_per_day ({})",
                self.attempts_per_week, self.attempts_per_day
            ));
        }
        Ok(())
    }

    /// The rules as applied: the window cut to 08:00-22:00 and the daily
    /// attempts to [`MOST_PER_DAY`], with a note for each cut.
    pub fn effective(&self) -> (CampaignRules, Vec<String>) {
        let mut r = self.clone();
        let mut notes = Vec::new();
        if r.window_start < EARLIEST {
            notes.push(format!(
                "window_start {} is before {EARLIEST}: calls start at {EARLIEST}",
                r.window_start
            ));
            r.window_start = EARLIEST;
        }
        if r.window_end > LATEST {
            notes.push(format!(
                "window_end {} is after {LATEST}: no call starts from {LATEST}",
                r.window_end
            ));
            r.window_end = LATEST;
        }
        if r.attempts_per_day > MOST_PER_DAY {
            notes.push(format!(
                "attempts_per_day {} is above {MOST_PER_DAY}: held to {MOST_PER_DAY}",
                r.attempts_per_day
            ));
            r.attempts_per_day = MOST_PER_DAY;
        }
        (r, notes)
    }
}

/// One of an account's numbers and its attempts so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberHistory {
    pub contact_id: String,
    pub dnc: bool,
    /// When each attempt on this number started.
    pub attempts: Vec<DateTime<Utc>>,
}

/// The account's latest promise to pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promise {
    /// Not due yet, or due and not yet known to be kept.
    Pending {
        date: NaiveDate,
    },
    Kept,
    Broken {
        date: NaiveDate,
    },
}

/// What the rules need of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDay {
    pub account_id: String,
    pub tz: Tz,
    /// In dial order.
    pub numbers: Vec<NumberHistory>,
    pub promise: Option<Promise>,
    /// No call until after this day (a complaint being handled).
    pub complaint_hold_until: Option<NaiveDate>,
    /// The time the debtor asked to be called back at.
    pub callback_at: Option<DateTime<Utc>>,
}

/// When and on which number an account may be called on the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayWindow {
    pub contact_id: String,
    /// The first moment a call may start.
    pub from: DateTime<Utc>,
    /// No call starts at or after this.
    pub until: DateTime<Utc>,
    /// Attempts left on the number today.
    pub attempts_left: u32,
    /// Set when the call is a callback the debtor asked for at `from`.
    pub callback: bool,
    /// Set when a promise was broken (or not kept by its date and grace).
    pub promise_follow_up: bool,
    /// Why, in words a manager reads.
    pub reasons: Vec<String>,
}

/// Why an account is not called on the day: the rule, with its facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    Holiday {
        name: String,
    },
    /// The holidays file does not cover the day's year: nothing is planned
    /// rather than risk calling on a holiday.
    NoHolidayData {
        year: i32,
    },
    NoNumber,
    DoNotCall,
    ComplaintHold {
        until: NaiveDate,
    },
    PromisePending {
        date: NaiveDate,
        follow_up_from: NaiveDate,
    },
    CallbackLater {
        at: DateTime<Utc>,
    },
    DailyCapUsed {
        attempts: u32,
        cap: u32,
    },
    WeeklyCapUsed {
        attempts: u32,
        cap: u32,
    },
    /// The least gap after the last attempt runs past the window.
    NoTimeLeft {
        next_allowed: DateTime<Utc>,
    },
    /// The day's window is over (planning late in the day).
    WindowOver,
}

impl Skip {
    /// The rule's name, stable (filters, exports).
    pub fn rule(&self) -> &'static str {
        match self {
            Skip::Holiday { .. } => "holiday",
            Skip::NoHolidayData { .. } => "no_holiday_data",
            Skip::NoNumber => "no_number",
            Skip::DoNotCall => "do_not_call",
            Skip::ComplaintHold { .. } => "complaint_hold",
            Skip::PromisePending { .. } => "promise_pending",
            Skip::CallbackLater { .. } => "callback_later",
            Skip::DailyCapUsed { .. } => "daily_cap",
            Skip::WeeklyCapUsed { .. } => "weekly_cap",
            Skip::NoTimeLeft { .. } => "min_gap",
            Skip::WindowOver => "window_over",
        }
    }

    /// In words a manager reads; times in the debtor's zone.
    pub fn explain(&self, tz: Tz) -> String {
        let local = |t: &DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        match self {
            Skip::Holiday { name } => format!("public holiday ({name})"),
            Skip::NoHolidayData { year } => {
                format!("no public holidays on file for {year}: not planned")
            }
            Skip::NoNumber => "no phone number".into(),
            Skip::DoNotCall => "every number is on the do-not-call list".into(),
            Skip::ComplaintHold { until } => format!("complaint hold until {until}"),
            Skip::PromisePending {
                date,
                follow_up_from,
            } => format!("promised to pay by {date}: no call before {follow_up_from}"),
            Skip::CallbackLater { at } => format!("asked to be called back at {}", local(at)),
            Skip::DailyCapUsed { attempts, cap } => {
                format!("{attempts} of {cap} attempts today used")
            }
            Skip::WeeklyCapUsed { attempts, cap } => {
                format!("{attempts} of {cap} attempts in 7 days used")
            }
            Skip::NoTimeLeft { next_allowed } => format!(
                "the next attempt may start at {}, after the calling window",
                local(next_allowed)
            ),
            Skip::WindowOver => "today's calling window is over".into(),
        }
    }
}

/// `time` on `day` in `tz` (the earliest instant, across a DST change).
pub fn at_local(tz: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    tz.from_local_datetime(&day.and_time(time))
        .earliest()
        .unwrap_or_else(|| tz.from_utc_datetime(&day.and_time(time)))
        .with_timezone(&Utc)
}

impl AccountDay {
    /// Whether, on which number and when the account may be called on
    /// `day` (the debtor's local date), planning at `now`. `rules` are
    /// held to the hard limits here whatever they say.
    pub fn window(
        &self,
        day: NaiveDate,
        now: DateTime<Utc>,
        rules: &CampaignRules,
        holidays: &Holidays,
    ) -> Result<DayWindow, Skip> {
        let (rules, _) = rules.effective();
        if rules.skip_holidays {
            match holidays.kind(day) {
                DayKind::Working => {}
                DayKind::Holiday(name) => {
                    return Err(Skip::Holiday {
                        name: name.to_string(),
                    })
                }
                DayKind::Unknown => {
                    return Err(Skip::NoHolidayData {
                        year: chrono::Datelike::year(&day),
                    })
                }
            }
        }
        if let Some(until) = self.complaint_hold_until {
            if day <= until {
                return Err(Skip::ComplaintHold { until });
            }
        }
        let mut reasons = Vec::new();
        let mut promise_follow_up = false;
        match self.promise {
            Some(Promise::Pending { date }) => {
                let follow_up_from = date + Duration::days(i64::from(rules.promise_grace_days) + 1);
                if day < follow_up_from {
                    return Err(Skip::PromisePending {
                        date,
                        follow_up_from,
                    });
                }
                promise_follow_up = true;
                reasons.push(format!("promise of {date} not kept: follow-up"));
            }
            Some(Promise::Broken { date }) => {
                promise_follow_up = true;
                reasons.push(format!("promise of {date} broken: follow-up"));
            }
            Some(Promise::Kept) | None => {}
        }
        let open = at_local(self.tz, day, rules.window_start);
        let close = at_local(self.tz, day, rules.window_end);
        let mut from = open.max(now);
        let mut callback = false;
        if let Some(at) = self.callback_at {
            if at >= close {
                return Err(Skip::CallbackLater { at });
            }
            if at >= from {
                from = at;
                callback = true;
                reasons.push(format!(
                    "callback asked for at {}",
                    at.with_timezone(&self.tz).format("%H:%M")
                ));
            }
        }
        if from >= close {
            return Err(Skip::WindowOver);
        }
        if self.numbers.is_empty() {
            return Err(Skip::NoNumber);
        }
        let week_from = at_local(self.tz, day - Duration::days(6), NaiveTime::MIN);
        let day_from = at_local(self.tz, day, NaiveTime::MIN);
        let day_to = at_local(self.tz, day + Duration::days(1), NaiveTime::MIN);
        let gap = Duration::minutes(i64::from(rules.min_gap_minutes));
        let mut first_skip = None;
        for n in self.numbers.iter().filter(|n| !n.dnc) {
            let count = |since: DateTime<Utc>| {
                n.attempts
                    .iter()
                    .filter(|a| **a >= since && **a < day_to)
                    .count() as u32
            };
            let today = count(day_from);
            let week = count(week_from);
            let skip = if today >= rules.attempts_per_day {
                Some(Skip::DailyCapUsed {
                    attempts: today,
                    cap: rules.attempts_per_day,
                })
            } else if week >= rules.attempts_per_week {
                Some(Skip::WeeklyCapUsed {
                    attempts: week,
                    cap: rules.attempts_per_week,
                })
            } else {
                None
            };
            let earliest = match n.attempts.iter().filter(|a| **a < day_to).max() {
                Some(last) => from.max(*last + gap),
                None => from,
            };
            let skip = skip.or((earliest >= close).then_some(Skip::NoTimeLeft {
                next_allowed: earliest,
            }));
            if let Some(s) = skip {
                first_skip.get_or_insert(s);
                continue;
            }
            let attempts_left = rules.attempts_per_day - today;
            let mut reasons = reasons;
            reasons.push(format!(
                "{attempts_left} of {} attempts left today",
                rules.attempts_per_day
            ));
            if earliest > from {
                reasons.push(format!(
                    "not before {}: {} min after the last attempt",
                    earliest.with_timezone(&self.tz).format("%H:%M"),
                    rules.min_gap_minutes
                ));
            }
            return Ok(DayWindow {
                contact_id: n.contact_id.clone(),
                from: earliest,
                until: close,
                attempts_left,
                callback: callback && earliest == from,
                promise_follow_up,
                reasons,
            });
        }
        Err(first_skip.unwrap_or(Skip::DoNotCall))
    }
}

#[cfg(test)]
mod tests;
