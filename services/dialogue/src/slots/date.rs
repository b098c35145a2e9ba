//! Dates and times as debtors say them, resolved against today:
//! 今天, 明天, 后天, 大后天, 这周五, 下周三, 礼拜五, 月底, 下个月15号,
//! 28号, 12月1号, 三天后, 一周后; and callback times (下午三点, 晚上八点半).

use super::number::parse_hundredths;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

fn weekday(c: char) -> Option<Weekday> {
    Some(match c {
        '一' | '1' => Weekday::Mon,
        '二' | '2' => Weekday::Tue,
        '三' | '3' => Weekday::Wed,
        '四' | '4' => Weekday::Thu,
        '五' | '5' => Weekday::Fri,
        '六' | '6' => Weekday::Sat,
        '日' | '天' | '7' => Weekday::Sun,
        _ => return None,
    })
}

fn last_day_of_month(y: i32, m: u32) -> Option<NaiveDate> {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()
}

fn next_month(d: NaiveDate) -> (i32, u32) {
    if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    }
}

/// The longest run of number characters starting at char index `i`.
fn number_at(c: &[char], i: usize) -> Option<(u64, usize)> {
    let mut j = i;
    while j < c.len() && (super::number::is_number_char(c[j]) && c[j] != '点') {
        j += 1;
    }
    // Shrink until it parses (e.g. "十五号" -> "十五").
    while j > i {
        let s: String = c[i..j].iter().collect();
        if let Some(v) = parse_hundredths(&s) {
            if v.is_multiple_of(100) {
                return Some((v / 100, j));
            }
        }
        j -= 1;
    }
    None
}

fn find(text: &str, pat: &str) -> Option<usize> {
    text.find(pat).map(|b| text[..b].chars().count())
}

/// A calendar date mentioned in `text`, resolved against `today`.
pub fn resolve_date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    let c: Vec<char> = text.chars().collect();
    // Month and day: 12月1号, 下个月15号, 下月初, 下个月底.
    for marker in ["下个月", "下月"] {
        if let Some(p) = find(text, marker) {
            let after = p + marker.chars().count();
            let (y, m) = next_month(today);
            if let Some((d, _)) = number_at(&c, after) {
                if let Some(date) = NaiveDate::from_ymd_opt(y, m, d as u32) {
                    return Some(date);
                }
            }
            let rest: String = c[after..].iter().collect();
            if rest.starts_with("底") || rest.starts_with("末") {
                return last_day_of_month(y, m);
            }
            if rest.starts_with("初") {
                return NaiveDate::from_ymd_opt(y, m, 1);
            }
            if rest.starts_with("中") {
                return NaiveDate::from_ymd_opt(y, m, 15);
            }
        }
    }
    for (i, &ch) in c.iter().enumerate() {
        if ch == '月' && i > 0 {
            // Walk back over the month number.
            let mut s = i;
            while s > 0 && super::number::is_number_char(c[s - 1]) {
                s -= 1;
            }
            if s < i {
                let month: String = c[s..i].iter().collect();
                if let (Some(m), Some((d, _))) = (parse_hundredths(&month), number_at(&c, i + 1)) {
                    let m = (m / 100) as u32;
                    let mut date = NaiveDate::from_ymd_opt(today.year(), m, d as u32)?;
                    if date < today {
                        date = NaiveDate::from_ymd_opt(today.year() + 1, m, d as u32)?;
                    }
                    return Some(date);
                }
            }
        }
    }
    // Relative days.
    if text.contains("大后天") {
        return Some(today + Duration::days(3));
    }
    for (pat, days) in [
        ("后天", 2),
        ("明天", 1),
        ("明日", 1),
        ("明儿", 1),
        ("今天", 0),
        ("今日", 0),
        ("今儿", 0),
        ("今晚", 0),
    ] {
        if text.contains(pat) {
            return Some(today + Duration::days(days));
        }
    }
    // N天后, 过N天, 一周后, 一个星期后, 半个月后.
    for (i, &ch) in c.iter().enumerate() {
        if let Some((n, j)) = number_at(&c, i) {
            if i > 0 && super::number::is_number_char(c[i - 1]) {
                continue;
            }
            let rest: String = c[j..].iter().collect();
            let before: String = c[..i].iter().collect();
            let later = |r: &str| {
                r.starts_with("后")
                    || r.starts_with("之后")
                    || r.starts_with("以后")
                    || before.ends_with('过')
            };
            for (unit, days) in [
                ("天", 1),
                ("日", 1),
                ("个星期", 7),
                ("星期", 7),
                ("周", 7),
                ("个礼拜", 7),
                ("礼拜", 7),
            ] {
                if let Some(r) = rest.strip_prefix(unit) {
                    if later(r) {
                        return Some(today + Duration::days(n as i64 * days));
                    }
                }
            }
        }
        let _ = ch;
    }
    if text.contains("半个月") {
        return Some(today + Duration::days(15));
    }
    // Weekdays: 这周五, 下周三, 下下周一, 礼拜五, 星期天.
    for prefix in [
        "下下个星期",
        "下下星期",
        "下下周",
        "下下礼拜",
        "下个星期",
        "下星期",
        "下周",
        "下个礼拜",
        "下礼拜",
        "这个星期",
        "这星期",
        "这周",
        "本周",
        "这个礼拜",
        "这礼拜",
        "星期",
        "周",
        "礼拜",
    ] {
        if let Some(p) = find(text, prefix) {
            let Some(&wd_char) = c.get(p + prefix.chars().count()) else {
                continue;
            };
            let Some(wd) = weekday(wd_char) else { continue };
            let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
            let in_week =
                |weeks: i64| monday + Duration::days(weeks * 7 + wd.num_days_from_monday() as i64);
            let date = if prefix.starts_with("下下") {
                in_week(2)
            } else if prefix.starts_with('下') {
                in_week(1)
            } else if prefix.starts_with('这') || prefix.starts_with('本') {
                in_week(0)
            } else {
                // A bare weekday: the next one, today included.
                let d = in_week(0);
                if d < today {
                    in_week(1)
                } else {
                    d
                }
            };
            return Some(date);
        }
    }
    if text.contains("月底")
        || text.contains("月末")
        || text.contains("这个月") && text.contains("底")
    {
        return last_day_of_month(today.year(), today.month());
    }
    if text.contains("年底") {
        return NaiveDate::from_ymd_opt(today.year(), 12, 31);
    }
    if text.contains("月中") {
        let d = NaiveDate::from_ymd_opt(today.year(), today.month(), 15)?;
        return Some(if d < today {
            NaiveDate::from_ymd_opt(next_month(today).0, next_month(today).1, 15)?
        } else {
            d
        });
    }
    // A bare day of the month: 28号, 十五号, 5日.
    for (i, &ch) in c.iter().enumerate() {
        if (ch == '号' || ch == '日') && i > 0 {
            let mut s = i;
            while s > 0 && super::number::is_number_char(c[s - 1]) {
                s -= 1;
            }
            // 前两日, 这几日, 两日: a number of days, not a day of the month.
            if s == i || c[s] == '两' || s > 0 && matches!(c[s - 1], '前' | '这' | '那' | '近')
            {
                continue;
            }
            let day: String = c[s..i].iter().collect();
            let d = (parse_hundredths(&day)? / 100) as u32;
            if let Some(date) = NaiveDate::from_ymd_opt(today.year(), today.month(), d) {
                if date >= today {
                    return Some(date);
                }
            }
            let (y, m) = next_month(today);
            return NaiveDate::from_ymd_opt(y, m, d);
        }
    }
    None
}

/// A time of day to call back: 下午三点, 晚上八点半, 明天上午十点, 3点.
pub fn resolve_callback(text: &str, today: NaiveDate) -> Option<NaiveDateTime> {
    let c: Vec<char> = text.chars().collect();
    let p = c.iter().position(|&ch| ch == '点' || ch == ':')?;
    let mut s = p;
    while s > 0 && super::number::is_number_char(c[s - 1]) && c[s - 1] != '点' {
        s -= 1;
    }
    if s == p {
        return None;
    }
    let hour: String = c[s..p].iter().collect();
    let mut h = (parse_hundredths(&hour)? / 100) as u32;
    let mut m = 0;
    if c.get(p + 1) == Some(&'半') {
        m = 30;
    } else if let Some((mm, j)) = number_at(&c, p + 1) {
        if c.get(j) == Some(&'分') || c[p] == ':' || mm < 60 {
            m = mm as u32;
        }
    } else if c.get(p + 1) == Some(&'一') && c.get(p + 2) == Some(&'刻') {
        m = 15;
    }
    let before: String = c[..s].iter().collect();
    // "一点" is more often "a little" (少一点, 减一点) than one o'clock:
    // a bare 一点 counts only with a time of day or a day around it.
    const CONTEXT: [&str; 14] = [
        "上午", "下午", "晚上", "中午", "早上", "凌晨", "傍晚", "今晚", "明晚", "今天", "明天",
        "后天", "夜里", "晚",
    ];
    let bare_one =
        h == 1 && c[p] == '点' && m == 0 && !matches!(c.get(p + 1), Some('钟') | Some('整'));
    if bare_one && !CONTEXT.iter().any(|w| before.contains(w)) {
        return None;
    }
    let pm = ["下午", "晚上", "傍晚", "今晚", "明晚", "夜里", "晚"]
        .iter()
        .any(|w| before.contains(w));
    if pm && h < 12 {
        h += 12;
    }
    if before.contains("中午") && h < 6 {
        h += 12;
    }
    let time = NaiveTime::from_hms_opt(h, m.min(59), 0)?;
    let date = resolve_date(text, today).unwrap_or(today);
    let date = if text.contains("明晚") {
        today + Duration::days(1)
    } else {
        date
    };
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<String> {
        // 2026-11-24 is a Tuesday.
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        resolve_date(s, today).map(|d| d.to_string())
    }

    #[test]
    fn relative_and_calendar_dates() {
        for (s, want) in [
            ("我明天还", "2026-11-25"),
            ("后天吧", "2026-11-26"),
            ("大后天", "2026-11-27"),
            ("今天下午就转", "2026-11-24"),
            ("这周五", "2026-11-27"),
            ("下周三", "2026-12-02"),
            ("星期五还", "2026-11-27"),
            ("礼拜一", "2026-11-30"),
            ("周二", "2026-11-24"),
            ("月底", "2026-11-30"),
            ("下个月15号", "2026-12-15"),
            ("下月初", "2026-12-01"),
            ("28号", "2026-11-28"),
            ("二十号", "2026-12-20"),
            ("三天后", "2026-11-27"),
            ("过两天", "2026-11-26"),
            ("一周后", "2026-12-01"),
            ("一个星期之后", "2026-12-01"),
            ("12月1号", "2026-12-01"),
            ("一月五号", "2027-01-05"),
            ("下个月底", "2026-12-31"),
        ] {
            assert_eq!(d(s).as_deref(), Some(want), "{s}");
        }
        assert_eq!(d("我没钱"), None);
    }

    #[test]
    fn callback_times() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let t =
            |s: &str| resolve_callback(s, today).map(|t| t.format("%Y-%m-%dT%H:%M").to_string());
        assert_eq!(t("下午三点再打").as_deref(), Some("2026-11-24T15:00"));
        assert_eq!(t("明天上午十点").as_deref(), Some("2026-11-25T10:00"));
        assert_eq!(t("晚上八点半").as_deref(), Some("2026-11-24T20:30"));
        assert_eq!(t("明晚7点").as_deref(), Some("2026-11-25T19:00"));
        assert_eq!(t("我在开会"), None);
        assert_eq!(t("利息减一点嘛"), None);
        assert_eq!(t("下午一点").as_deref(), Some("2026-11-24T13:00"));
    }
}
