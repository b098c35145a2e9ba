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
        Matchable::of(glyphs(text))
    }

    /// A text already read into glyphs (to match it afresh many times).
    pub fn of(glyphs: Vec<Glyph>) -> Self {
        let used = vec![false; glyphs.len()];
        Matchable { glyphs, used }
    }

    /// Finds `phrase` in unused characters, by sound too when `by_sound`;
    /// marks and counts every occurrence. Returns (occurrences, whether any
    /// was by sound only).
    pub fn take(&mut self, phrase: &[Glyph], by_sound: bool) -> (usize, bool) {
        let found = self.take_spans(phrase, by_sound);
        (found.len(), found.iter().any(|f| f.by_sound))
    }

    /// As [`Matchable::take`], with where each occurrence is (character
    /// positions), for evidence quoting what was heard.
    pub fn take_spans(&mut self, phrase: &[Glyph], allow_sound: bool) -> Vec<Found> {
        let n = phrase.len();
        let mut found = Vec::new();
        if n == 0 || n > self.glyphs.len() {
            return found;
        }
        let mut i = 0;
        while i + n <= self.glyphs.len() {
            let window = &self.glyphs[i..i + n];
            let free = !self.used[i..i + n].iter().any(|u| *u);
            let exact = window.iter().zip(phrase).all(|(a, b)| a.ch == b.ch);
            let sound =
                allow_sound && n >= 2 && window.iter().zip(phrase).all(|(a, b)| a.sounds_like(b));
            if free && (exact || sound) {
                self.used[i..i + n].iter_mut().for_each(|u| *u = true);
                found.push(Found {
                    start: i,
                    end: i + n,
                    by_sound: !exact,
                });
                i += n;
            } else {
                i += 1;
            }
        }
        found
    }

    /// How many of the text's characters matches have used so far.
    pub fn used_count(&self) -> usize {
        self.used.iter().filter(|u| **u).count()
    }

    /// How many characters the text has.
    pub fn len(&self) -> usize {
        self.glyphs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.glyphs.is_empty()
    }

    /// The characters `start..end` of the text.
    pub fn text_of(&self, start: usize, end: usize) -> String {
        self.glyphs[start.min(self.glyphs.len())..end.min(self.glyphs.len())]
            .iter()
            .map(|g| g.ch)
            .collect()
    }
}

/// One occurrence of a phrase: character positions `start..end` in the
/// text, and whether it matched by sound only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub by_sound: bool,
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

    #[test]
    fn spans_say_where_each_occurrence_is() {
        let mut m = Matchable::new("我说张单，账单");
        let found = m.take_spans(&glyphs("账单"), true);
        assert_eq!(
            found,
            vec![
                Found {
                    start: 2,
                    end: 4,
                    by_sound: true
                },
                Found {
                    start: 5,
                    end: 7,
                    by_sound: false
                },
            ]
        );
        assert_eq!(m.text_of(2, 4), "张单");
    }
}
