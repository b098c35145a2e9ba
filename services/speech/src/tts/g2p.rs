//! Hanzi to pinyin with tones for the Mandarin voice: a phrase table for
//! polyphones (还 huán in 还款, hái in 还有; 行 háng in 银行), the most
//! common reading otherwise (the `pinyin` crate), and the tone changes
//! speakers make: 一 and 不 before other tones, and third-tone sandhi.

use pinyin::ToPinyin;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One spoken syllable: toneless pinyin and tone 1-5 (5 = neutral).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syllable {
    pub text: String,
    pub tone: u8,
}

impl Syllable {
    fn parse(s: &str) -> Option<Syllable> {
        let s = s.trim();
        let (body, tone) = match s.chars().last()? {
            d @ '1'..='5' => (&s[..s.len() - 1], d as u8 - b'0'),
            _ => (s, 5),
        };
        if body.is_empty() || !body.chars().all(|c| c.is_ascii_lowercase()) {
            return None;
        }
        Some(Syllable {
            text: body.to_string(),
            tone,
        })
    }
}

impl std::fmt::Display for Syllable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.text, self.tone)
    }
}

/// A piece of the sentence: a syllable, or a pause at punctuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Syllable(Syllable),
    /// A phrase break (，、；：).
    Break,
}

struct Phrases {
    map: HashMap<String, Vec<Syllable>>,
    longest: usize,
}

fn phrases() -> &'static Phrases {
    static P: OnceLock<Phrases> = OnceLock::new();
    P.get_or_init(|| {
        let mut map = HashMap::new();
        let mut longest = 1;
        for line in include_str!("polyphones.tsv").lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some((word, py)) = line.split_once('\t') else {
                continue;
            };
            let syl: Option<Vec<Syllable>> = py.split_whitespace().map(Syllable::parse).collect();
            match syl {
                Some(s) if s.len() == word.chars().count() => {
                    longest = longest.max(s.len());
                    map.insert(word.to_string(), s);
                }
                _ => debug_assert!(false, "bad polyphone line: {line}"),
            }
        }
        Phrases { map, longest }
    })
}

fn default_reading(c: char) -> Option<Syllable> {
    let p = c.to_pinyin()?;
    let mut s = Syllable::parse(p.with_tone_num_end())?;
    // 嗯 is "n"/"ng" in dictionaries; the voice knows it as "en".
    if s.text == "n" || s.text == "ng" || s.text == "m" {
        s.text = "en".into();
    }
    Some(s)
}

const NUMERALS: &str = "零一二两三四五六七八九十百千万亿第";

/// Syllables and breaks of a sentence (already normalised to words: no
/// digits). Characters with no reading (Latin, symbols) are skipped.
pub fn to_pinyin(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let table = phrases();
    let mut out: Vec<(char, Token)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if "，,、；;：:".contains(c) {
            if !matches!(out.last(), Some((_, Token::Break)) | None) {
                out.push((c, Token::Break));
            }
            i += 1;
            continue;
        }
        let mut matched = false;
        for len in (2..=table.longest.min(chars.len() - i)).rev() {
            let word: String = chars[i..i + len].iter().collect();
            if let Some(syl) = table.map.get(&word) {
                for (k, s) in syl.iter().enumerate() {
                    out.push((chars[i + k], Token::Syllable(s.clone())));
                }
                i += len;
                matched = true;
                break;
            }
        }
        if matched {
            continue;
        }
        if let Some(s) = default_reading(c) {
            out.push((c, Token::Syllable(s)));
        }
        i += 1;
    }
    apply_tone_changes(&mut out);
    while matches!(out.last(), Some((_, Token::Break))) {
        out.pop();
    }
    out.into_iter().map(|(_, t)| t).collect()
}

fn tone_at(v: &[(char, Token)], i: usize) -> Option<u8> {
    match v.get(i) {
        Some((_, Token::Syllable(s))) => Some(s.tone),
        _ => None,
    }
}

fn apply_tone_changes(v: &mut [(char, Token)]) {
    // 一 and 不.
    for i in 0..v.len() {
        let next = tone_at(v, i + 1);
        let prev_char = if i > 0 { Some(v[i - 1].0) } else { None };
        let next_char = v.get(i + 1).map(|x| x.0);
        let (c, tok) = &mut v[i];
        let Token::Syllable(s) = tok else { continue };
        match (*c, s.text.as_str()) {
            ('不', "bu") if s.tone == 4 && next == Some(4) => s.tone = 2,
            ('一', "yi") if s.tone == 1 => {
                let in_number = prev_char.is_some_and(|p| NUMERALS.contains(p))
                    || next_char.is_some_and(|n| "月日号一二三四五六七八九零".contains(n))
                    || next.is_none();
                if !in_number {
                    s.tone = if next == Some(4) {
                        2
                    } else if next.is_some_and(|t| t != 5) {
                        4
                    } else {
                        1
                    };
                }
            }
            _ => {}
        }
    }
    // Third-tone sandhi: in a run of third tones all but the last rise.
    for i in 0..v.len() {
        if tone_at(v, i) == Some(3) && tone_at(v, i + 1) == Some(3) {
            if let (_, Token::Syllable(s)) = &mut v[i] {
                s.tone = 2;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py(text: &str) -> String {
        to_pinyin(text)
            .iter()
            .map(|t| match t {
                Token::Syllable(s) => s.to_string(),
                Token::Break => "|".into(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn polyphones_follow_the_word() {
        assert_eq!(py("请还款"), "qing3 huan2 kuan3");
        assert_eq!(py("还有"), "hai2 you3");
        assert_eq!(py("银行"), "yin2 hang2");
        assert_eq!(py("不行"), "bu4 xing2");
        assert_eq!(py("利率"), "li4 lv4");
        assert_eq!(py("的确"), "di2 que4");
    }

    #[test]
    fn tone_changes() {
        assert_eq!(py("你好"), "ni2 hao3");
        assert_eq!(py("不是"), "bu2 shi4");
        assert_eq!(py("不能"), "bu4 neng2");
        assert_eq!(py("一次"), "yi2 ci4");
        assert_eq!(py("一天"), "yi4 tian1");
        assert_eq!(py("十一月一日"), "shi2 yi1 yue4 yi1 ri4");
        assert_eq!(py("我的"), "wo3 de5");
    }

    #[test]
    fn punctuation_is_a_break_and_symbols_are_skipped() {
        assert_eq!(py("好的，再见。"), "hao3 de5 | zai4 jian4");
        assert_eq!(py("嗯"), "en2");
        assert_eq!(py("ABC"), "");
    }
}
