//! Transcript text: Simplified script, half-width forms, and the canonical
//! form used to score recognition (no punctuation, no spaces, numbers read
//! out in Chinese).

use huikuan_core::numerals::spell_numbers;
pub use huikuan_core::script::{half_width, to_simplified};

/// What the recognizer hands on: Simplified, half-width, trimmed.
pub fn clean_transcript(text: &str) -> String {
    collapse_repeats(&half_width(&to_simplified(text.trim())))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Collapses the decoding loops whisper falls into on short or noisy audio:
/// a phrase (2 to 40 characters) said three or more times in a row, or a
/// whole sentence (ending in 。！？) said twice, becomes one; a dangling
/// start of the same sentence after it is dropped. Short repeats (对对对,
/// 好的好的) stay.
pub fn collapse_repeats(text: &str) -> String {
    collapse_sentence_loops(&collapse_phrase_loops(text))
}

fn collapse_sentence_loops(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(c.len());
    let mut i = 0;
    'outer: while i < c.len() {
        for len in (4..=60usize.min((c.len() - i) / 2)).rev() {
            let unit = &c[i..i + len];
            if !"。！？!?".contains(unit[len - 1]) {
                continue;
            }
            if &c[i + len..i + 2 * len] == unit {
                out.extend_from_slice(unit);
                let mut j = i + 2 * len;
                while j + len <= c.len() && &c[j..j + len] == unit {
                    j += len;
                }
                // A trailing, cut-off start of the same sentence.
                let rest = &c[j..];
                if rest.len() >= 2 && rest.len() < len && unit.starts_with(rest) {
                    j = c.len();
                }
                i = j;
                continue 'outer;
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out.into_iter().collect()
}

fn collapse_phrase_loops(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < c.len() {
        for len in 2..=40usize.min((c.len() - i) / 3) {
            let unit = &c[i..i + len];
            if unit.iter().all(|ch| ch.is_whitespace()) {
                continue;
            }
            let mut copies = 1;
            while i + (copies + 1) * len <= c.len()
                && &c[i + copies * len..i + (copies + 1) * len] == unit
            {
                copies += 1;
            }
            if copies >= 3 {
                out.extend(unit);
                i += copies * len;
                continue 'outer;
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// The form two transcripts are compared in: Simplified, numbers as
/// Chinese words, only Han characters and lower-case Latin letters/digits
/// kept (punctuation, spaces and symbols dropped).
pub fn scoring_form(text: &str) -> String {
    let t = spell_numbers(&half_width(&to_simplified(text)));
    t.chars()
        .filter(|&c| is_cjk(c) || c.is_ascii_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_form_ignores_script_punctuation_and_digit_style() {
        assert_eq!(scoring_form("聽日還錢，好唔好？"), "听日还钱好唔好");
        assert_eq!(scoring_form("我 26 岁 ＯＫ"), "我二十六岁ok");
        assert_eq!(scoring_form("二十六"), scoring_form("26"));
        assert_eq!(to_simplified("搵到"), "揾到");
        assert_eq!(clean_transcript("  還款  計劃 "), "还款 计划");
    }

    #[test]
    fn decoding_loops_collapse_but_ordinary_repeats_stay() {
        assert_eq!(collapse_repeats("好的。好的。好的。好的。"), "好的。");
        assert_eq!(
            collapse_repeats("我会还的。一二线城市。一二线城市。一二线城市。一二线"),
            "我会还的。一二线城市。一二线"
        );
        assert_eq!(collapse_repeats("对对对，哈哈哈"), "对对对，哈哈哈");
        assert_eq!(collapse_repeats("好的好的"), "好的好的");
        assert_eq!(
            collapse_repeats(
                "一二线城市虽然也处于调整中。一二线城市虽然也处于调整中。一二线城市虽"
            ),
            "一二线城市虽然也处于调整中。"
        );
        assert_eq!(collapse_repeats("我没钱。你听我说。"), "我没钱。你听我说。");
    }
}
