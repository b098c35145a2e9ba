//! Which dialect the debtor is speaking: the prior from the account's
//! region, updated by lexical cues in every final transcript (啥子, 莫得 for
//! Sichuanese; 冇, 佢, 嘅 for Cantonese; standard forms weakly for
//! Mandarin). A switch needs a clear margin, so one stray word does not
//! flip the call; every decision lists the cues that made it.

use crate::pack::DialectPacks;
use huikuan_core::Dialect;

const DIALECTS: [Dialect; 3] = [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese];
/// Weight of the region prior.
const PRIOR: f32 = 1.5;
/// Evidence a challenger needs over the current dialect to take over.
const SWITCH_MARGIN: f32 = 1.5;

#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub dialect: Dialect,
    /// Mandarin, Sichuanese, Cantonese.
    pub scores: [f32; 3],
    /// "dialect:word" for every cue seen in this transcript.
    pub cues: Vec<String>,
    pub switched: bool,
}

pub struct DialectDetector {
    cues: Vec<(usize, String, f32)>,
    scores: [f32; 3],
    current: Dialect,
}

fn index(d: Dialect) -> usize {
    DIALECTS.iter().position(|x| *x == d).unwrap_or(0)
}

impl DialectDetector {
    /// `prior`: the account's dialect (from its region or the portfolio);
    /// `Auto` starts from Mandarin with no prior weight.
    pub fn new(packs: &DialectPacks, prior: Dialect) -> Self {
        let mut cues = Vec::new();
        for pack in packs.iter() {
            for (word, weight) in &pack.detect.cues {
                cues.push((index(pack.dialect), word.clone(), *weight));
            }
        }
        // Longer cues first, so 冇钱 is counted before 冇 is.
        cues.sort_by_key(|(_, w, _)| std::cmp::Reverse(w.chars().count()));
        let mut scores = [0.0; 3];
        let current = if prior == Dialect::Auto {
            Dialect::Mandarin
        } else {
            scores[index(prior)] = PRIOR;
            prior
        };
        DialectDetector {
            cues,
            scores,
            current,
        }
    }

    pub fn current(&self) -> Dialect {
        self.current
    }

    /// Adds the evidence of one (Simplified) transcript.
    pub fn observe(&mut self, transcript: &str) -> Detection {
        let mut text: String = transcript.to_string();
        let mut fired = Vec::new();
        for (d, word, weight) in &self.cues {
            let n = text.matches(word.as_str()).count();
            if n > 0 {
                self.scores[*d] += weight * n as f32;
                fired.push(format!("{}:{word}", DIALECTS[*d]));
                // A longer cue consumes its characters.
                text = text.replace(word.as_str(), "\u{3000}");
            }
        }
        let cur = index(self.current);
        let (best, best_score) =
            self.scores
                .iter()
                .enumerate()
                .fold((cur, self.scores[cur]), |acc, (i, &s)| {
                    if s > acc.1 {
                        (i, s)
                    } else {
                        acc
                    }
                });
        let switched = best != cur && best_score - self.scores[cur] >= SWITCH_MARGIN;
        if switched {
            self.current = DIALECTS[best];
        }
        Detection {
            dialect: self.current,
            scores: self.scores,
            cues: fired,
            switched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sichuanese_answer_switches_a_mandarin_call() {
        let packs = DialectPacks::builtin();
        let mut d = DialectDetector::new(&packs, Dialect::Mandarin);
        let first = d.observe("喂，你好，哪位？");
        assert_eq!(first.dialect, Dialect::Mandarin);
        assert!(!first.switched);
        let det = d.observe("啥子钱哦，我莫得钱，晓得不嘛");
        assert_eq!(det.dialect, Dialect::Sichuanese, "{det:?}");
        assert!(det.switched);
        assert!(
            det.cues.iter().any(|c| c == "sichuanese:莫得"),
            "{:?}",
            det.cues
        );
    }

    #[test]
    fn the_region_prior_holds_against_a_single_weak_cue() {
        let packs = DialectPacks::builtin();
        let mut d = DialectDetector::new(&packs, Dialect::Cantonese);
        // One standard word from a Cantonese speaker does not flip the call.
        assert_eq!(d.observe("我知道").dialect, Dialect::Cantonese);
        // Cantonese particles keep it there.
        let det = d.observe("佢而家冇钱畀你");
        assert_eq!(det.dialect, Dialect::Cantonese);
        assert!(det.scores[2] > det.scores[0] + 5.0, "{det:?}");
    }

    #[test]
    fn auto_starts_mandarin_and_follows_cantonese_cues() {
        let packs = DialectPacks::builtin();
        let mut d = DialectDetector::new(&packs, Dialect::Auto);
        assert_eq!(d.current(), Dialect::Mandarin);
        assert_eq!(d.observe("唔该，我听日先还钱").dialect, Dialect::Cantonese);
    }
}
