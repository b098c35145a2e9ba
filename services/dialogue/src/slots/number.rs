//! Numbers as debtors say them: 三千, 三千五 (3,500), 一万二 (12,000),
//! 两万, 1.5万, 2千3, 两千三百五十, 3500, 十五, 二十八.

const UNITS: [(char, u64); 4] = [('十', 10), ('百', 100), ('千', 1000), ('万', 10_000)];

fn digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '幺' => 1,
        '二' | '两' | '俩' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        c if c.is_ascii_digit() => c as u64 - '0' as u64,
        _ => return None,
    })
}

fn unit(c: char) -> Option<u64> {
    UNITS.iter().find(|(u, _)| *u == c).map(|(_, v)| *v)
}

/// Characters that can be part of a spoken number.
pub fn is_number_char(c: char) -> bool {
    digit(c).is_some() || unit(c).is_some() || c == '点' || c == '.' || c == '亿'
}

/// Parses a whole token as a number in hundredths (so 1.5万 and 三千五
/// stay exact). `None` if the token is not a number.
pub fn parse_hundredths(token: &str) -> Option<u64> {
    let t: Vec<char> = token.chars().filter(|c| *c != ',' && *c != '，').collect();
    if t.is_empty() {
        return None;
    }
    // Arabic digits with an optional decimal part and an optional unit: 1.5万, 2千3, 3500.
    if t[0].is_ascii_digit() {
        let mut i = 0;
        while i < t.len() && (t[i].is_ascii_digit() || t[i] == '.') {
            i += 1;
        }
        let num: String = t[..i].iter().collect();
        let (int, frac) = num.split_once('.').unwrap_or((&num, ""));
        let mut value = int.parse::<u64>().ok()? * 100;
        if !frac.is_empty() {
            let f: String = frac.chars().chain("00".chars()).take(2).collect();
            value += f.parse::<u64>().ok()?;
        }
        if i == t.len() {
            return Some(value);
        }
        let u = unit(t[i])?;
        let mut total = value * u;
        // 2千3 = 2,300: a trailing digit counts in the next lower unit.
        let rest: String = t[i + 1..].iter().collect();
        if !rest.is_empty() {
            let r = parse_hundredths(&rest)?;
            total += if rest.chars().count() == 1 && u >= 10 {
                r * (u / 10)
            } else {
                r
            };
        }
        return Some(total);
    }
    parse_chinese(&t)
}

fn parse_chinese(t: &[char]) -> Option<u64> {
    // Split at 万: (head)万(tail).
    if let Some(p) = t.iter().position(|&c| c == '万') {
        let head = if p == 0 { 100 } else { parse_chinese(&t[..p])? };
        let tail = &t[p + 1..];
        let mut total = head * 10_000;
        if !tail.is_empty() {
            // 一万二 = 12,000: one bare digit after 万 is thousands.
            if tail.len() == 1 {
                total += digit(tail[0])? * 100_000;
            } else {
                total += parse_chinese(tail)?;
            }
        }
        return Some(total);
    }
    // Decimal point: 三点五.
    if let Some(p) = t.iter().position(|&c| c == '点' || c == '.') {
        let int = if p == 0 { 0 } else { parse_chinese(&t[..p])? };
        let frac: Option<Vec<u64>> = t[p + 1..].iter().map(|&c| digit(c)).collect();
        let frac = frac?;
        let h = frac.first().copied().unwrap_or(0) * 10 + frac.get(1).copied().unwrap_or(0);
        return Some(int + h);
    }
    // Plain digit strings: 一五 or 3500 written in Han digits digit by digit.
    if t.iter().all(|&c| digit(c).is_some()) {
        let mut v = 0u64;
        for &c in t {
            v = v.checked_mul(10)? + digit(c)?;
        }
        return Some(v * 100);
    }
    let mut total = 0u64;
    let mut pending: Option<u64> = None;
    let mut last_unit = 0u64;
    for (i, &c) in t.iter().enumerate() {
        if let Some(d) = digit(c) {
            if d == 0 {
                continue; // 一百零五: the zero only marks a gap
            }
            if pending.is_some() {
                return None; // two digits in a row inside a unit number
            }
            pending = Some(d);
            // 三千五 = 3,500: a final bare digit after a unit is one unit lower.
            if i == t.len() - 1 && last_unit >= 100 && t[i - 1] != '零' {
                total += d * (last_unit / 10);
                pending = None;
            }
        } else if let Some(u) = unit(c) {
            let n = pending.take().unwrap_or(1);
            total += n * u;
            last_unit = u;
        } else {
            return None;
        }
    }
    total += pending.unwrap_or(0);
    Some(total * 100)
}

/// Hundredths as a decimal string without trailing zeros: 350000 -> "3500".
pub fn format_hundredths(v: u64) -> String {
    if v.is_multiple_of(100) {
        format!("{}", v / 100)
    } else if v.is_multiple_of(10) {
        format!("{}.{}", v / 100, (v % 100) / 10)
    } else {
        format!("{}.{:02}", v / 100, v % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        parse_hundredths(s)
            .map(format_hundredths)
            .unwrap_or_else(|| "-".into())
    }

    #[test]
    fn spoken_numbers() {
        for (s, want) in [
            ("三千", "3000"),
            ("三千五", "3500"),
            ("两万", "20000"),
            ("一万二", "12000"),
            ("一万二千五百", "12500"),
            ("1.5万", "15000"),
            ("2千3", "2300"),
            ("两千三百五十", "2350"),
            ("3500", "3500"),
            ("五百", "500"),
            ("十五", "15"),
            ("二十八", "28"),
            ("一百零五", "105"),
            ("三点五", "3.5"),
            ("八百五", "850"),
            ("万五", "15000"),
            ("一千零五十", "1050"),
            ("12.5", "12.5"),
        ] {
            assert_eq!(n(s), want, "{s}");
        }
        assert_eq!(n("三五千"), "-");
        assert_eq!(n("好"), "-");
    }
}
