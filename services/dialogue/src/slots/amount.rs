//! Amounts of money in yuan: 三千, 三千五, 两万, 一万二, 1.5万, 2千3,
//! 五百块, 500元, 两千三百五十 (Cantonese 蚊 is normalised to 元 first).

use super::number::{is_number_char, parse_hundredths};

/// What may follow a number that is not money.
const NOT_MONEY: &[&str] = &[
    "号",
    "日",
    "月",
    "天",
    "点",
    "周",
    "个星期",
    "星期",
    "个礼拜",
    "礼拜",
    "岁",
    "期",
    "年",
    "次",
    "分钟",
    "小时",
    "个小时",
    "个月",
    "折",
    "成",
    "%",
    "个人",
    "位",
    "楼",
    "层",
];
const MONEY_UNITS: &[&str] = &["元", "块", "块钱", "蚊", "rmb", "人民币"];
const PAY_VERBS: &[char] = &[
    '还', '给', '转', '付', '打', '凑', '交', '存', '先', '拿', '出',
];

/// The amount (in hundredths of a yuan) the text offers or mentions.
pub fn resolve_amount(text: &str) -> Option<u64> {
    let c: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut fallback = None;
    while i < c.len() {
        if !is_number_char(c[i]) || c[i] == '点' || c[i] == '亿' {
            i += 1;
            continue;
        }
        let start = i;
        while i < c.len() && is_number_char(c[i]) {
            i += 1;
        }
        let mut end = i;
        while end > start && (c[end - 1] == '点' || c[end - 1] == '.') {
            end -= 1;
        }
        let token: String = c[start..end].iter().collect();
        let rest: String = c[end..].iter().collect();
        let before = if start > 0 { Some(c[start - 1]) } else { None };
        if NOT_MONEY.iter().any(|u| rest.starts_with(u))
            || before == Some('第')
            || before == Some('下')
        {
            continue;
        }
        let Some(v) = parse_hundredths(&token) else {
            continue;
        };
        // A lone small number with nothing money-like around it (一下, 一个) is not an amount.
        let has_unit = MONEY_UNITS.iter().any(|u| rest.starts_with(u));
        let after_verb = before.is_some_and(|b| PAY_VERBS.contains(&b));
        if has_unit || (after_verb && v >= 100 * 10) {
            return Some(v);
        }
        if v >= 100 * 100 && fallback.is_none() && token.chars().count() >= 2 {
            fallback = Some(v);
        }
    }
    fallback
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::number::format_hundredths;

    fn a(s: &str) -> Option<String> {
        resolve_amount(s).map(format_hundredths)
    }

    #[test]
    fn amounts_in_context() {
        assert_eq!(a("我先还三千").as_deref(), Some("3000"));
        assert_eq!(a("三千五可以吗").as_deref(), Some("3500"));
        assert_eq!(a("两万块我哪有").as_deref(), Some("20000"));
        assert_eq!(a("先还一万二").as_deref(), Some("12000"));
        assert_eq!(a("1.5万").as_deref(), Some("15000"));
        assert_eq!(a("给你转2千3").as_deref(), Some("2300"));
        assert_eq!(a("五百元").as_deref(), Some("500"));
        assert_eq!(a("还两千三百五十").as_deref(), Some("2350"));
        assert_eq!(a("28号还").as_deref(), None);
        assert_eq!(a("等我一下").as_deref(), None);
        assert_eq!(a("分三期").as_deref(), None);
        assert_eq!(a("下个月15号还5000").as_deref(), Some("5000"));
        assert_eq!(a("三天后").as_deref(), None);
    }
}
