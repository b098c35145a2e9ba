//! Matching by loose sound: what telephone audio and a small recognizer
//! blur most in Mandarin. Two syllables are alike when their toneless
//! readings agree once retroflex and flat initials (zh/z, ch/c, sh/s), n
//! and l, and front and back nasal finals (in/ing, en/eng, an/ang) are
//! taken as one: 录音 lùyīn heard as 鲁英 lǔyīng still says 录音.
//!
//! Used after exact and plain-sound matching found nothing, as leniently
//! as the caller asks ([`crate::rules::Leniency`]).

use pinyin::ToPinyinMulti;

/// A syllable with the blurred distinctions folded.
fn fold(reading: &str) -> String {
    let mut s = reading.to_string();
    for (from, to) in [("zh", "z"), ("ch", "c"), ("sh", "s")] {
        if let Some(rest) = s.strip_prefix(from) {
            s = format!("{to}{rest}");
        }
    }
    if let Some(rest) = s.strip_prefix('l') {
        s = format!("n{rest}");
    }
    for (from, to) in [("ing", "in"), ("eng", "en"), ("ang", "an")] {
        if let Some(stem) = s.strip_suffix(from) {
            s = format!("{stem}{to}");
        }
    }
    s
}

/// Every folded reading of a character (itself when it has none).
fn keys(ch: char, all: bool) -> Vec<String> {
    match ch.to_pinyin_multi() {
        Some(m) => {
            let readings: Vec<String> = m.into_iter().map(|p| fold(p.plain())).collect();
            if all {
                readings
            } else {
                readings.into_iter().take(1).collect()
            }
        }
        None => vec![ch.to_string()],
    }
}

/// A phrase ready for loose matching: each character's folded readings.
#[derive(Debug, Clone)]
pub struct LoosePhrase {
    keys: Vec<Vec<String>>,
}

impl LoosePhrase {
    pub fn new(phrase: &str) -> Self {
        LoosePhrase {
            keys: phrase.chars().map(|c| keys(c, true)).collect(),
        }
    }
}

/// A text ready for loose matching: each character's everyday reading.
pub struct LooseText {
    chars: Vec<char>,
    keys: Vec<String>,
}

impl LooseText {
    pub fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let keys = chars
            .iter()
            .map(|c| keys(*c, false).into_iter().next().unwrap_or_default())
            .collect();
        LooseText { chars, keys }
    }

    /// The first place `phrase` is said, loosely, with at most `wrong`
    /// syllables heard as something else: its words as heard.
    pub fn find(&self, phrase: &LoosePhrase, wrong: usize) -> Option<String> {
        let n = phrase.keys.len();
        if n == 0 || n > self.keys.len() {
            return None;
        }
        (0..=self.keys.len() - n)
            .find(|&i| {
                phrase
                    .keys
                    .iter()
                    .zip(&self.keys[i..i + n])
                    .filter(|(want, got)| !want.contains(got))
                    .count()
                    <= wrong
            })
            .map(|i| self.chars[i..i + n].iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blurred_sounds_match_and_other_sounds_do_not() {
        let heard = LooseText::new("你好,本次通话将被鲁英这里是新和金融的客服");
        assert_eq!(
            heard.find(&LoosePhrase::new("将被录音"), 0).as_deref(),
            Some("将被鲁英")
        );
        assert_eq!(
            heard.find(&LoosePhrase::new("信和金融"), 0).as_deref(),
            Some("新和金融")
        );
        assert_eq!(heard.find(&LoosePhrase::new("坐牢了"), 0), None);
        // One syllable heard wrong, when allowed: 信 xin heard as 现 xian.
        let heard = LooseText::new("我是现何金融的客服");
        assert_eq!(heard.find(&LoosePhrase::new("信和金融"), 0), None);
        assert_eq!(
            heard.find(&LoosePhrase::new("信和金融"), 1).as_deref(),
            Some("现何金融")
        );
        // zh/z and n/l folded: 抓你 zhua ni heard as 抓里 zhua li.
        let heard = LooseText::new("明天就去法院立案抓里");
        assert_eq!(
            heard.find(&LoosePhrase::new("立案抓你"), 0).as_deref(),
            Some("立案抓里")
        );
        assert_eq!(fold("shang"), "san");
        assert_eq!(fold("ling"), "nin");
    }
}
