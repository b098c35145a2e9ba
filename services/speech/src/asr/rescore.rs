//! Choosing among the recognizer's readings by what the robot expects.
//!
//! Problem: at telephone band the recognizer often holds the right
//! reading of an answer but ranks a near-homophone or a garble of it
//! first ("还两千" below "还两天"), and the robot, which knows what it
//! asked and which answers are likely, would have chosen the other.
//!
//! Mechanism: every reading of the N-best ([`Transcript::nbest`], the
//! recognizer's pick first) gets a fit: the share of its characters that
//! the stage's likely answers and the words in play cover, found longest
//! phrase first, a character matched as written counting 1 and one
//! matched only by sound (toneless pinyin, the dialogue's matcher) 1/2.
//! A reading's total is its recognizer score (mean log-probability) plus
//! `weight` times its fit; the best total wins.
//!
//! Guarantees: the result is always a reading the recognizer produced;
//! the recognizer's pick is kept unless another reading both fits the
//! expected answers better and totals higher, so with weight 0, no
//! expected phrases or a single reading nothing changes; readings much
//! shorter or longer than the pick (by more than a quarter of its
//! characters and at least 2) are never chosen, as rescoring is for
//! words misheard, not for an answer cut short or padded out; a reading
//! that is only the prompt coming back is never chosen.

use super::{Hypothesis, Transcript};
use huikuan_core::matcher::{glyphs, Glyph, Matchable};
use huikuan_core::pack::{DialectPack, Expectation};

/// The phrases a turn is expected to contain, as glyphs, longest first.
pub struct Expected {
    phrases: Vec<Vec<Glyph>>,
}

impl Expected {
    pub fn new<'a>(phrases: impl IntoIterator<Item = &'a str>) -> Self {
        let mut phrases: Vec<Vec<Glyph>> = phrases
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(glyphs)
            .collect();
        phrases.sort_by_key(|p| std::cmp::Reverse(p.len()));
        Expected { phrases }
    }

    /// The stage's likely answers and the words in play.
    pub fn for_turn(pack: &DialectPack, e: &Expectation) -> Self {
        Expected::new(pack.likely_answers(e).into_iter().chain(e.words_in_play()))
    }

    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The share of `text`'s characters (punctuation and spaces left out)
    /// covered by expected phrases, written (1) or by sound (1/2).
    pub fn fit(&self, text: &str) -> f32 {
        let letters: String = text.chars().filter(|c| c.is_alphanumeric()).collect();
        let mut m = Matchable::new(&letters);
        if m.is_empty() {
            return 0.0;
        }
        let mut covered = 0.0;
        for by_sound in [false, true] {
            for p in &self.phrases {
                for f in m.take_spans(p, by_sound) {
                    let n = (f.end - f.start) as f32;
                    covered += if f.by_sound { n / 2.0 } else { n };
                }
            }
        }
        covered / m.len() as f32
    }
}

fn length_close(pick: &str, other: &str) -> bool {
    let (a, b) = (pick.chars().count(), other.chars().count());
    a.abs_diff(b) <= (a / 4).max(2)
}

/// The index in `readings` (the recognizer's pick first) of the reading
/// to act on, as the module doc says.
pub fn choose_reading(
    readings: &[Hypothesis],
    expected: &Expected,
    weight: f32,
    is_prompt_echo: impl Fn(&str) -> bool,
) -> usize {
    let Some(pick) = readings.first() else {
        return 0;
    };
    if weight <= 0.0 || expected.is_empty() || readings.len() < 2 {
        return 0;
    }
    let pick_fit = expected.fit(&pick.text);
    let mut best = (0, pick.score + weight * pick_fit);
    for (i, r) in readings.iter().enumerate().skip(1) {
        if r.text.is_empty() || !length_close(&pick.text, &r.text) || is_prompt_echo(&r.text) {
            continue;
        }
        let fit = expected.fit(&r.text);
        let total = r.score + weight * fit;
        if fit > pick_fit && total > best.1 {
            best = (i, total);
        }
    }
    best.0
}

/// `t` with the reading chosen for the turn expected as `e` in its text
/// (and that reading's confidence: the geometric mean of its tokens'
/// probabilities). `t` unchanged when the recognizer's pick stays.
pub fn rescore(mut t: Transcript, pack: &DialectPack, e: &Expectation, weight: f32) -> Transcript {
    if t.nbest.len() < 2 || weight <= 0.0 {
        return t;
    }
    let expected = Expected::for_turn(pack, e);
    let i = choose_reading(&t.nbest, &expected, weight, |s| pack.is_prompt_echo(s));
    if i > 0 {
        let chosen = &t.nbest[i];
        tracing::debug!(pick = %t.text, chosen = %chosen.text, "rescored by the expected answers");
        t.text = chosen.text.clone();
        t.confidence = chosen.score.exp().clamp(0.0, 1.0);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readings(list: &[(&str, f32)]) -> Vec<Hypothesis> {
        list.iter()
            .map(|(t, s)| Hypothesis {
                text: t.to_string(),
                score: *s,
            })
            .collect()
    }

    fn pay_stage() -> Expected {
        Expected::new(["明天还", "还两千", "先还一部分", "没钱", "分期", "张伟"])
    }

    #[test]
    fn the_right_reading_below_the_first_is_chosen() {
        // What was said: 我明天先还两千. The recognizer ranks a
        // near-homophone of the amount first.
        let r = readings(&[
            ("我明天先还两天", -0.30),
            ("我明天先还两千", -0.38),
            ("我明天先换两天", -0.45),
        ]);
        assert_eq!(choose_reading(&r, &pay_stage(), 1.0, |_| false), 1);
        // Without the stage's answers, or with no weight, the pick stays.
        assert_eq!(choose_reading(&r, &Expected::new([]), 1.0, |_| false), 0);
        assert_eq!(choose_reading(&r, &pay_stage(), 0.0, |_| false), 0);
    }

    #[test]
    fn a_reading_the_recognizer_found_unlikely_is_not_chosen_for_its_words() {
        // The stage's words fit the second reading, but the recognizer
        // gave it far less: what was heard wins.
        let r = readings(&[("我已经找到工作了", -0.20), ("我明天还两千了", -1.90)]);
        assert_eq!(choose_reading(&r, &pay_stage(), 1.0, |_| false), 0);
    }

    #[test]
    fn only_readings_of_about_the_same_length_and_no_prompt_echo_compete() {
        // A cut-short reading fits better but drops what followed.
        let r = readings(&[("明天还但是只能还一半", -0.30), ("明天还", -0.29)]);
        assert_eq!(choose_reading(&r, &pay_stage(), 1.0, |_| false), 0);
        let r = readings(&[("没前分析", -0.30), ("没钱，分期", -0.32)]);
        assert_eq!(choose_reading(&r, &pay_stage(), 1.0, |_| false), 1);
        assert_eq!(
            choose_reading(&r, &pay_stage(), 1.0, |s| s.contains("分期")),
            0
        );
    }

    #[test]
    fn written_matches_fit_better_than_matches_by_sound() {
        let e = pay_stage();
        assert_eq!(e.fit("没钱"), 1.0);
        assert_eq!(e.fit("没前"), 0.5);
        assert_eq!(e.fit("天气很好"), 0.0);
        assert_eq!(e.fit("，。"), 0.0);
        assert!((e.fit("我没钱") - 2.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn rescoring_a_transcript_takes_the_chosen_reading_and_its_confidence() {
        let packs = huikuan_core::pack::DialectPacks::builtin();
        let pack = packs.get(huikuan_core::Dialect::Mandarin);
        let e = Expectation {
            stage: Some("pay".into()),
            words: vec!["张伟".into()],
        };
        let t = Transcript {
            text: "我明天先还两天".into(),
            no_speech_prob: 0.0,
            confidence: 0.74,
            decode_ms: 1,
            nbest: readings(&[("我明天先还两天", -0.30), ("我明天先还两千", -0.38)]),
        };
        let r = rescore(t.clone(), pack, &e, 1.0);
        assert_eq!(r.text, "我明天先还两千");
        assert!((r.confidence - (-0.38f32).exp()).abs() < 1e-6);
        assert_eq!(rescore(t.clone(), pack, &Expectation::default(), 1.0), t);
    }
}
