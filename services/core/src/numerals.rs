//! Chinese numerals: numbers as they are read aloud (3250 -> 三千二百五十,
//! 2026 as a year -> 二零二六), used by speech output and by the scoring of
//! transcripts, where "26" and "二十六" must compare equal.

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Each digit on its own: phone numbers, years, codes ("2026" -> 二零二六).
pub fn read_digits(digits: &str) -> String {
    digits
        .chars()
        .map(|c| c.to_digit(10).map(|d| DIGITS[d as usize]).unwrap_or(c))
        .collect()
}

/// 0..=9999 in the 个/十/百/千 positions; `leading_one` keeps 一十 (inside
/// a larger number: 一万零一十) instead of 十 (on its own: 十五).
fn below_10000(n: u64, leading_one: bool) -> String {
    const UNITS: [&str; 4] = ["", "十", "百", "千"];
    let digits = [n / 1000 % 10, n / 100 % 10, n / 10 % 10, n % 10];
    let mut out = String::new();
    let mut pending_zero = false;
    let mut started = false;
    for (i, &d) in digits.iter().enumerate() {
        let unit = UNITS[3 - i];
        if d == 0 {
            if started {
                pending_zero = true;
            }
            continue;
        }
        if pending_zero {
            out.push('零');
            pending_zero = false;
        }
        // 十五, not 一十五, at the head of a number.
        let bare_ten = d == 1 && unit == "十" && !started && !leading_one;
        if !bare_ten {
            out.push(DIGITS[d as usize]);
        }
        out.push_str(unit);
        started = true;
    }
    out
}

/// An integer as read aloud: 0 -> 零, 15 -> 十五, 205 -> 二百零五,
/// 10010 -> 一万零一十, 120000000 -> 一亿二千万.
pub fn read_integer(n: u64) -> String {
    if n == 0 {
        return "零".to_string();
    }
    // Groups of four digits: 个, 万, 亿, 万亿.
    const GROUPS: [&str; 5] = ["", "万", "亿", "万亿", "亿亿"];
    let mut groups = Vec::new();
    let mut rest = n;
    while rest > 0 {
        groups.push(rest % 10_000);
        rest /= 10_000;
    }
    let mut out = String::new();
    let top = groups.len() - 1;
    let mut need_zero = false;
    for i in (0..groups.len()).rev() {
        let g = groups[i];
        if g == 0 {
            need_zero = !out.is_empty();
            continue;
        }
        if need_zero || (i < top && g < 1000 && !out.is_empty()) {
            out.push('零');
        }
        need_zero = false;
        out.push_str(&below_10000(g, i < top));
        out.push_str(GROUPS[i]);
    }
    out
}

/// A decimal string such as "3.5" or "12" as read aloud (三点五, 十二).
/// Returns `None` for anything that is not digits with at most one point.
pub fn read_decimal(s: &str) -> Option<String> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = if int.len() > 16 {
        read_digits(int)
    } else {
        read_integer(int.parse().ok()?)
    };
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push('点');
        out.push_str(&read_digits(f));
    }
    Some(out)
}

/// Replaces every run of ASCII digits (with an optional decimal part) in
/// free text by its reading: years before 年 and long runs (phone numbers,
/// ids: 5 digits or more) digit by digit, other numbers as quantities.
pub fn spell_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let mut end = i;
        if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
            end = i + 1;
            while end < chars.len() && chars[end].is_ascii_digit() {
                end += 1;
            }
        }
        let run: String = chars[start..end].iter().collect();
        let int_len = i - start;
        let next = chars.get(end).copied();
        let spoken = if (int_len == 4 && next == Some('年')) || (int_len >= 5 && end == i) {
            read_digits(&run)
        } else {
            read_decimal(&run).unwrap_or_else(|| read_digits(&run))
        };
        out.push_str(&spoken);
        i = end;
    }
    out
}

/// 2 is said 两 before 千, 万 and 亿 at the head of a number (两万元).
pub fn colloquial(number: &str) -> String {
    for unit in ['千', '万', '亿'] {
        let head: String = ['二', unit].iter().collect();
        if let Some(rest) = number.strip_prefix(&head) {
            return format!("两{unit}{rest}");
        }
    }
    number.to_string()
}

/// Money in yuan as read on the phone: 3250.50 -> 三千二百五十元五角,
/// 800 -> 八百元, 0.05 -> 五分.
pub fn read_yuan(amount: &str) -> Option<String> {
    let a = amount.replace([',', '，', ' '], "");
    let (int, frac) = a.split_once('.').unwrap_or((&a, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yuan: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut fd = frac.bytes().map(|b| (b - b'0') as u64);
    let jiao = fd.next().unwrap_or(0);
    let fen = fd.next().unwrap_or(0);
    let mut out = String::new();
    if yuan > 0 || (jiao == 0 && fen == 0) {
        out.push_str(&colloquial(&read_integer(yuan)));
        out.push('元');
    }
    if jiao > 0 {
        out.push_str(&read_integer(jiao));
        out.push('角');
    }
    if fen > 0 {
        if jiao == 0 && yuan > 0 {
            out.push('零');
        }
        out.push_str(&read_integer(fen));
        out.push('分');
    }
    Some(out)
}

/// Digits of a phone number, with 1 read 幺 as Chinese operators do.
pub fn read_phone(digits: &str) -> String {
    read_digits(digits).replace('一', "幺")
}

/// Month and day (and the year when `with_year`): 2026-12-01 -> 十二月一日.
pub fn read_date(year: i32, month: u32, day: u32, with_year: bool) -> String {
    let mut out = String::new();
    if with_year {
        out.push_str(&read_digits(&year.to_string()));
        out.push('年');
    }
    out.push_str(&read_integer(month as u64));
    out.push('月');
    out.push_str(&read_integer(day as u64));
    out.push('日');
    out
}

/// Weekday names after 这周 / 下周 / 星期 (Monday first).
const WEEKDAYS: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];

/// A date as the day it falls on, seen from `today`: 今天, 明天, 后天,
/// 这周五, 下周三, or 星期三 when it is further out. Said after the date
/// in a read-back ("十二月二日，下周三"), so a debtor who said 下周三 hears
/// their own words and a misheard date stands out.
pub fn read_day(date: chrono::NaiveDate, today: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let days = (date - today).num_days();
    match days {
        0 => return "今天".into(),
        1 => return "明天".into(),
        2 => return "后天".into(),
        _ => {}
    }
    let weekday = WEEKDAYS[date.weekday().num_days_from_monday() as usize];
    let monday = |d: chrono::NaiveDate| {
        d - chrono::Duration::days(d.weekday().num_days_from_monday() as i64)
    };
    let weeks = (monday(date) - monday(today)).num_days() / 7;
    match weeks {
        0 => format!("这周{weekday}"),
        1 => format!("下周{weekday}"),
        _ => format!("星期{weekday}"),
    }
}

/// Everything [`read_day`] can say (for a recording script).
pub fn day_phrases() -> Vec<String> {
    let mut all: Vec<String> = ["今天", "明天", "后天"].map(String::from).to_vec();
    for week in ["这周", "下周", "星期"] {
        all.extend(WEEKDAYS.iter().map(|d| format!("{week}{d}")));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_as_spoken() {
        for (n, want) in [
            (0, "零"),
            (7, "七"),
            (10, "十"),
            (15, "十五"),
            (20, "二十"),
            (105, "一百零五"),
            (110, "一百一十"),
            (1001, "一千零一"),
            (3250, "三千二百五十"),
            (10010, "一万零一十"),
            (12000, "一万二千"),
            (35000, "三万五千"),
            (100000, "十万"),
            (1000500, "一百万零五百"),
            (120000000, "一亿二千万"),
            (100000001, "一亿零一"),
        ] {
            assert_eq!(read_integer(n), want, "{n}");
        }
    }

    #[test]
    fn numbers_in_text() {
        assert_eq!(spell_numbers("还款3.5万"), "还款三点五万");
        assert_eq!(spell_numbers("2026年12月1日"), "二零二六年十二月一日");
        assert_eq!(
            spell_numbers("拨打13800138000"),
            "拨打一三八零零一三八零零零"
        );
        assert_eq!(spell_numbers("第26号"), "第二十六号");
        assert_eq!(spell_numbers("没有数字"), "没有数字");
        assert_eq!(read_decimal("1.x"), None);
    }

    #[test]
    fn a_day_is_said_as_seen_from_today() {
        // 2026-11-24 is a Tuesday.
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let day = |d: u32| {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
                + chrono::Duration::days(d as i64);
            read_day(date, today)
        };
        assert_eq!(day(0), "今天");
        assert_eq!(day(1), "明天");
        assert_eq!(day(2), "后天");
        assert_eq!(day(3), "这周五");
        assert_eq!(day(5), "这周日");
        assert_eq!(day(6), "下周一");
        assert_eq!(day(8), "下周三");
        assert_eq!(day(12), "下周日");
        assert_eq!(day(13), "星期一");
        assert_eq!(day(14), "星期二");
        let phrases = day_phrases();
        for d in 0..=20 {
            assert!(phrases.contains(&day(d)), "{}", day(d));
        }
    }
}
