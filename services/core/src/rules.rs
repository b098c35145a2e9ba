//! Collection rules that hold before any planning: the calling window in the
//! debtor's local time and the daily attempt cap per contact.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// When a contact may be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallingRules {
    /// First local time a call may start (inclusive).
    pub window_start: NaiveTime,
    /// Local time from which no call may start (exclusive).
    pub window_end: NaiveTime,
    /// Leases per contact per local calendar day.
    pub daily_cap: u32,
}

impl Default for CallingRules {
    fn default() -> Self {
        CallingRules {
            window_start: NaiveTime::from_hms_opt(8, 0, 0).expect("valid time"),
            window_end: NaiveTime::from_hms_opt(21, 0, 0).expect("valid time"),
            daily_cap: 3,
        }
    }
}

impl CallingRules {
    pub fn validate(&self) -> Result<(), String> {
        if self.window_start >= self.window_end {
            return Err(format!(
                "calling window start {} must be before its end {}",
                self.window_start, self.window_end
            ));
        }
        if self.daily_cap == 0 {
            return Err("daily attempt cap must be at least 1".into());
        }
        Ok(())
    }

    /// Whether a call may start at `now` for a debtor in `tz`.
    pub fn in_window(&self, now: DateTime<Utc>, tz: Tz) -> bool {
        let local = now.with_timezone(&tz).time();
        local >= self.window_start && local < self.window_end
    }

    /// The debtor's calendar day at `now`: the day the attempt cap counts in.
    pub fn local_day(&self, now: DateTime<Utc>, tz: Tz) -> NaiveDate {
        now.with_timezone(&tz).date_naive()
    }

    /// The next moment at or after `now` when the window is open in `tz`,
    /// on a later day than today if `skip_today` (the cap is used up).
    pub fn next_window_open(&self, now: DateTime<Utc>, tz: Tz, skip_today: bool) -> DateTime<Utc> {
        if !skip_today && self.in_window(now, tz) {
            return now;
        }
        let local = now.with_timezone(&tz);
        let mut day = local.date_naive();
        if skip_today || local.time() >= self.window_end {
            day += Duration::days(1);
        }
        // earliest() handles a window start that falls into a DST gap.
        tz.from_local_datetime(&day.and_time(self.window_start))
            .earliest()
            .unwrap_or_else(|| tz.from_utc_datetime(&day.and_time(self.window_start)))
            .with_timezone(&Utc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn window_is_counted_in_the_debtors_time_zone() {
        let r = CallingRules::default();
        // 00:30 UTC = 08:30 Beijing: open. 13:00 UTC = 21:00 Beijing: closed.
        assert!(r.in_window(utc("2026-11-24T00:30:00Z"), Shanghai));
        assert!(!r.in_window(utc("2026-11-23T23:59:00Z"), Shanghai));
        assert!(!r.in_window(utc("2026-11-24T13:00:00Z"), Shanghai));
        assert!(r.in_window(utc("2026-11-24T12:59:59Z"), Shanghai));
        // 08:30 Beijing is 06:30 in Urumqi when counted there.
        assert!(!r.in_window(utc("2026-11-24T00:30:00Z"), chrono_tz::Asia::Urumqi));
    }

    #[test]
    fn next_window_open_moves_to_the_next_morning() {
        let r = CallingRules::default();
        let late = utc("2026-11-24T14:00:00Z"); // 22:00 Beijing
        assert_eq!(
            r.next_window_open(late, Shanghai, false),
            utc("2026-11-25T00:00:00Z")
        );
        let noon = utc("2026-11-24T04:00:00Z");
        assert_eq!(r.next_window_open(noon, Shanghai, false), noon);
        assert_eq!(
            r.next_window_open(noon, Shanghai, true),
            utc("2026-11-25T00:00:00Z")
        );
        let early = utc("2026-11-23T22:00:00Z"); // 06:00 Beijing
        assert_eq!(
            r.next_window_open(early, Shanghai, false),
            utc("2026-11-24T00:00:00Z")
        );
    }

    #[test]
    fn rejects_empty_windows_and_zero_caps() {
        let r = CallingRules {
            daily_cap: 0,
            ..CallingRules::default()
        };
        assert!(r.validate().is_err());
        let r = CallingRules {
            window_start: r.window_end,
            ..CallingRules::default()
        };
        assert!(r.validate().is_err());
    }
}
