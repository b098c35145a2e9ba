//! Phrase matching that forgives homophone recognition errors: a phrase of
//! two or more characters matches where each character shares a (toneless)
//! pinyin reading with the phrase's, so 张单 finds 账单 and 换款 finds 还款;
//! single characters must match exactly. Matches consume their characters,
//! longest phrases first, so 不是我 is not also counted as 是我; callers
//! take exact matches of every phrase before any match by sound, so the
//! 没有钱 that was said is not heard as a homophone 没有欠.

use pinyin::ToPinyinMulti;

/// One character with its possible toneless readings.
#[derive(Debug, Clone)]
pub struct Glyph {
    pub ch: char,
    readings: Vec<&'static str>,
}

impl Glyph {
    pub fn new(ch: char) -> Self {
        let readings = ch
            .to_pinyin_multi()
            .map(|m| m.into_iter().map(|p| p.plain()).collect())
            .unwrap_or_default();
        Glyph { ch, readings }
    }

    /// `self` is a character of the text, `phrase` one of the phrase: the
    /// text character's everyday reading must be one of the phrase
    /// character's readings (换 huàn sounds like 还 in 还款; 不 bù does not
    /// sound like 服 fú, though 不 has a rare reading fǒu/fú).
    fn sounds_like(&self, phrase: &Glyph) -> bool {
        self.ch == phrase.ch
            || self
                .readings
                .first()
                .is_some_and(|r| phrase.readings.contains(r))
    }
}

pub fn glyphs(text: &str) -> Vec<Glyph> {
    text.chars().map(Glyph::new).collect()
}

/// A text being matched: its glyphs and which are already used.
pub struct Matchable {
    glyphs: Vec<Glyph>,
    used: Vec<bool>,
}

impl Matchable {
    pub fn new(text: &str) -> Self {
        let glyphs = glyphs(text);
        let used = vec![false; glyphs.len()];
        Matchable { glyphs, used }
    }

    /// Finds `phrase` in unused characters, by sound too when `by_sound`;
    /// marks and counts every occurrence. Returns (occurrences, whether any
    /// was by sound only).
    pub fn take(&mut self, phrase: &[Glyph], by_sound: bool) -> (usize, bool) {
        let n = phrase.len();
        if n == 0 || n > self.glyphs.len() {
            return (0, false);
        }
        let allow_sound = by_sound;
        let mut count = 0;
        let mut by_sound = false;
        let mut i = 0;
        while i + n <= self.glyphs.len() {
            let window = &self.glyphs[i..i + n];
            let free = !self.used[i..i + n].iter().any(|u| *u);
            let exact = window.iter().zip(phrase).all(|(a, b)| a.ch == b.ch);
            let sound =
                allow_sound && n >= 2 && window.iter().zip(phrase).all(|(a, b)| a.sounds_like(b));
            if free && (exact || sound) {
                self.used[i..i + n].iter_mut().for_each(|u| *u = true);
                count += 1;
                by_sound |= !exact;
                i += n;
            } else {
                i += 1;
            }
        }
        (count, by_sound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homophones_match_and_matches_consume() {
        let mut m = Matchable::new("你们的张单我已经换款了");
        assert_eq!(m.take(&glyphs("账单"), false), (0, false));
        assert_eq!(m.take(&glyphs("账单"), true), (1, true));
        assert_eq!(m.take(&glyphs("还款"), true), (1, true));
        let mut m = Matchable::new("不是我");
        assert_eq!(m.take(&glyphs("不是我"), true).0, 1);
        assert_eq!(m.take(&glyphs("是我"), true).0, 0);
        // One character: exact only (对 does not match 队).
        let mut m = Matchable::new("球队");
        assert_eq!(m.take(&glyphs("对"), true).0, 0);
        // A rare reading of the text's character does not count.
        let mut m = Matchable::new("可不可以");
        assert_eq!(m.take(&glyphs("客服"), true).0, 0);
    }
}
