//! The recording script of a dialect: every phrase a studio records, with
//! the file it goes in. The robot's lines are cut at their punctuation
//! (the robot pauses there anyway) and at their variables (what changes
//! per call); the same phrase in two lines is recorded once. Then the days
//! a read-back says after a date (明天, 下周三), then the pieces amounts,
//! dates and times are assembled from.

use super::plan::pause_ms;
use super::{said_chars, Kind};
use std::collections::HashSet;

/// Pieces every pack needs: digits, 十百千万, 两, and the units of amounts
/// (元角分), dates (月日) and times (点半).
pub const PIECES: &str = "零一二三四五六七八九十百千万两元角分月日点半";

/// The pieces of the recording script: the single characters of
/// [`PIECES`], then the common pairs said as one (三千, 十二月, 二十五日,
/// 十五点), which the plan prefers, so an amount or a date has fewer joins
/// and sounds less like a list of syllables.
pub fn pieces() -> Vec<String> {
    use huikuan_core::numerals::{colloquial, read_integer};
    let mut all: Vec<String> = PIECES.chars().map(String::from).collect();
    for unit in [10, 100, 1_000, 10_000] {
        for digit in 1..=9u64 {
            let said = read_integer(digit * unit);
            all.push(colloquial(&said));
            all.push(said);
        }
    }
    all.extend((1..=12).map(|m| format!("{}月", read_integer(m))));
    all.extend((1..=31).map(|d| format!("{}日", read_integer(d))));
    all.extend((0..=23).map(|h| format!("{}点", read_integer(h))));
    let mut seen = HashSet::new();
    all.retain(|p| seen.insert(p.clone()));
    all
}

/// One recording to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptEntry {
    /// Its file in the pack without `.wav`: `lines/confirm.2`, `pieces/三`.
    pub name: String,
    pub kind: Kind,
    /// What to say.
    pub text: String,
}

/// The phrases of a line's template that never change: its text outside
/// `{{ }}`, `{% %}` and `{# #}`, cut at punctuation.
pub fn fixed_phrases(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut rest = template;
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        let said: String = said_chars(cur).into_iter().collect();
        if !said.is_empty() {
            out.push(said);
        }
        cur.clear();
    };
    while let Some(c) = rest.chars().next() {
        let tag_end = match rest.get(..2) {
            Some("{{") => Some("}}"),
            Some("{%") => Some("%}"),
            Some("{#") => Some("#}"),
            _ => None,
        };
        if let Some(end) = tag_end {
            flush(&mut cur, &mut out);
            rest = rest.find(end).map_or("", |i| &rest[i + 2..]);
            continue;
        }
        if pause_ms(c).is_some_and(|ms| ms > 0) {
            flush(&mut cur, &mut out);
        } else {
            cur.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    flush(&mut cur, &mut out);
    out
}

/// What to record for a dialect whose lines are `lines` (name, template).
pub fn recording_script<'a>(
    lines: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<ScriptEntry> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (line, template) in lines {
        let phrases = fixed_phrases(template);
        let single = phrases.len() == 1;
        for (k, text) in phrases.into_iter().enumerate() {
            if !seen.insert(text.clone()) {
                continue;
            }
            let name = if single {
                format!("lines/{line}")
            } else {
                format!("lines/{line}.{}", k + 1)
            };
            out.push(ScriptEntry {
                name,
                kind: Kind::Line,
                text,
            });
        }
    }
    // The day a date falls on (下周三), said whole after it in a read-back.
    for text in huikuan_core::numerals::day_phrases() {
        if seen.insert(text.clone()) {
            out.push(ScriptEntry {
                name: format!("days/{text}"),
                kind: Kind::Line,
                text,
            });
        }
    }
    for text in pieces() {
        out.push(ScriptEntry {
            name: format!("pieces/{text}"),
            kind: Kind::Piece,
            text,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_cut_at_its_punctuation_and_its_variables() {
        assert_eq!(
            fixed_phrases("好的，和您确认一下：您在{{ promise_date | date_cn }}还款{{ promise_amount | yuan }}，对吗？"),
            vec!["好的", "和您确认一下", "您在", "还款", "对吗"]
        );
        assert_eq!(
            fixed_phrases("{% if x %}“稍等”{% else %}再见。{% endif %}"),
            vec!["稍等", "再见"]
        );
        assert!(fixed_phrases("{{ name }}").is_empty());
    }

    #[test]
    fn pieces_are_the_characters_then_the_pairs_said_as_one() {
        let p = pieces();
        assert_eq!(p[0], "零");
        for pair in [
            "二十",
            "两千",
            "九万",
            "十二月",
            "三十一日",
            "零点",
            "二十三点",
        ] {
            assert!(p.contains(&pair.to_string()), "{pair}");
        }
        assert!(!p.contains(&"一十".to_string()));
        assert!(p
            .iter()
            .all(|t| t.chars().all(crate::prompts::plan::is_number_char)));
        let unique: HashSet<&String> = p.iter().collect();
        assert_eq!(unique.len(), p.len());
    }

    #[test]
    fn a_phrase_said_in_two_lines_is_recorded_once_and_pieces_come_last() {
        let s = recording_script([
            ("ask_date", "请问您哪天可以还款？"),
            ("confirm", "您在{{ d }}还款，对吗？"),
            ("bye", "再见。"),
        ]);
        let names: Vec<(&str, &str)> = s
            .iter()
            .take(4)
            .map(|e| (e.name.as_str(), e.text.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("lines/ask_date", "请问您哪天可以还款"),
                ("lines/confirm.1", "您在"),
                ("lines/confirm.2", "还款"),
                ("lines/confirm.3", "对吗"),
            ]
        );
        assert_eq!(s[4].name, "lines/bye");
        // Then the days a read-back says after a date, then the pieces.
        let days = huikuan_core::numerals::day_phrases().len();
        assert_eq!(s.len(), 5 + days + pieces().len());
        assert_eq!(s[5].name, "days/今天");
        assert!(s[5..5 + days].iter().all(|e| e.kind == Kind::Line));
        assert!(s[5 + days..].iter().all(|e| e.kind == Kind::Piece));
        let again = recording_script([("a", "再见。"), ("b", "好，再见。")]);
        assert_eq!(again[1].name, "lines/b.1");
        assert_eq!(again[2].name, "days/今天");
    }
}
