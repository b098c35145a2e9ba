//! Text normalisation for speech: what the robot writes (¥3,250.50,
//! 2026-12-01, 13800138000, 5%, 14:30) into what it says (三千二百五十元五角,
//! 十二月一日, 一三八..., 百分之五, 十四点三十分).

use huikuan_core::numerals::{
    colloquial, read_date, read_decimal, read_digits, read_integer, read_phone, read_yuan,
};

fn take_digits(c: &[char], mut i: usize, allow: &[char]) -> usize {
    while i < c.len() && (c[i].is_ascii_digit() || allow.contains(&c[i])) {
        i += 1;
    }
    i
}

fn s(c: &[char]) -> String {
    c.iter().collect()
}

/// Rewrites every number-like token in `text` into words.
pub fn to_spoken(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < c.len() {
        // ¥1,234.50 / ￥1234
        if (c[i] == '¥' || c[i] == '￥') && c.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
            let end = take_digits(&c, i + 1, &[',', '.']);
            let tok = s(&c[i + 1..end]);
            let tok = tok.trim_end_matches(['.', ',']);
            if let Some(w) = read_yuan(tok) {
                out.push_str(&w);
                // "¥500元" would say 元 twice.
                i = end + usize::from(c.get(end) == Some(&'元'));
                continue;
            }
        }
        if !c[i].is_ascii_digit() {
            out.push(c[i]);
            i += 1;
            continue;
        }
        let int_end = take_digits(&c, i, &[]);
        let int = s(&c[i..int_end]);
        let next = c.get(int_end).copied();
        // 2026-12-01 or 2026/12/01
        if int.len() == 4 && matches!(next, Some('-') | Some('/')) {
            let m_end = take_digits(&c, int_end + 1, &[]);
            if m_end > int_end + 1 && c.get(m_end) == next.as_ref() {
                let d_end = take_digits(&c, m_end + 1, &[]);
                let (y, m, d) = (
                    int.parse().ok(),
                    s(&c[int_end + 1..m_end]).parse().ok(),
                    s(&c[m_end + 1..d_end]).parse().ok(),
                );
                if let (Some(y), Some(m), Some(d)) = (y, m, d) {
                    if (1..=12).contains(&m) && (1..=31).contains(&d) {
                        out.push_str(&read_date(y, m, d, false));
                        i = d_end;
                        continue;
                    }
                }
            }
        }
        // 14:30
        if next == Some(':') && int.len() <= 2 {
            let m_end = take_digits(&c, int_end + 1, &[]);
            if m_end == int_end + 3 {
                let h: u64 = int.parse().unwrap_or(0);
                let m: u64 = s(&c[int_end + 1..m_end]).parse().unwrap_or(0);
                if h < 24 && m < 60 {
                    out.push_str(&read_integer(h));
                    out.push('点');
                    if m > 0 {
                        if m < 10 {
                            out.push('零');
                        }
                        out.push_str(&read_integer(m));
                        out.push('分');
                    }
                    i = m_end;
                    continue;
                }
            }
        }
        // Thousands separators and decimals: 3,250.50
        let mut end = int_end;
        while end + 3 < c.len()
            && c[end] == ','
            && c[end + 1..end + 4].iter().all(|d| d.is_ascii_digit())
            && !c.get(end + 4).is_some_and(|d| d.is_ascii_digit())
        {
            end += 4;
        }
        if c.get(end) == Some(&'.') && c.get(end + 1).is_some_and(|d| d.is_ascii_digit()) {
            end = take_digits(&c, end + 1, &[]);
        }
        let number = s(&c[i..end]).replace(',', "");
        let after = c.get(end).copied();
        if after == Some('%') || after == Some('％') {
            out.push_str("百分之");
            out.push_str(&read_decimal(&number).unwrap_or_else(|| read_digits(&number)));
            i = end + 1;
            continue;
        }
        if after == Some('元') {
            if let Some(w) = read_yuan(&number) {
                out.push_str(&w);
                i = end + 1;
                continue;
            }
        }
        let spoken = if number.len() >= 7 && !number.contains('.') {
            // Phone numbers, account and card numbers: digit by digit.
            read_phone(&number)
        } else if number.len() == 4 && after == Some('年') {
            read_digits(&number)
        } else {
            colloquial(&read_decimal(&number).unwrap_or_else(|| read_digits(&number)))
        };
        out.push_str(&spoken);
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_dates_phones_percentages_times() {
        assert_eq!(to_spoken("¥3,250.50"), "三千二百五十元五角");
        assert_eq!(to_spoken("欠款¥800元"), "欠款八百元");
        assert_eq!(to_spoken("共3250.05元"), "共三千二百五十元零五分");
        assert_eq!(to_spoken("请在2026-12-01前还款"), "请在十二月一日前还款");
        assert_eq!(to_spoken("致电13800138000"), "致电幺三八零零幺三八零零零");
        assert_eq!(to_spoken("年化利率5%"), "年化利率百分之五");
        assert_eq!(to_spoken("0.05%"), "百分之零点零五");
        assert_eq!(to_spoken("下午14:30回电"), "下午十四点三十分回电");
        assert_eq!(to_spoken("9:05"), "九点零五分");
        assert_eq!(to_spoken("逾期15天"), "逾期十五天");
        assert_eq!(to_spoken("2026年"), "二零二六年");
        assert_eq!(to_spoken("12,000"), "一万二千");
        assert_eq!(to_spoken("第2期"), "第二期");
        assert_eq!(read_yuan("0.5").unwrap(), "五角");
        assert_eq!(read_yuan("20000").unwrap(), "两万元");
        assert_eq!(to_spoken("2000元"), "两千元");
        assert_eq!(to_spoken("20000块"), "两万块");
    }
}
