//! A small trained intent classifier for the turns the phrase tables say
//! nothing about: multinomial naive Bayes over character 1-3-grams of the
//! normalised text, trained on the `dev` split of the labelled sets in
//! `tests/data/nlu` (never on the held-out `test` split) when the NLU is
//! built, in a few milliseconds.
//! Each decision names its evidence: the n-grams that favoured the chosen
//! intent most over every other.

use crate::intent::Intent;
use std::collections::HashMap;

const CLASSES: usize = Intent::ALL.len();
/// Additive smoothing of n-gram counts.
const ALPHA: f64 = 0.5;

/// A labelled, already normalised utterance.
pub struct TrainingExample {
    pub normalized: String,
    pub intent: Intent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub intent: Intent,
    /// Posterior probability of `intent` under the model.
    pub probability: f64,
    /// The n-grams that spoke most for `intent`.
    pub evidence: Vec<String>,
}

pub struct IntentModel {
    /// ln P(intent).
    log_prior: [f64; CLASSES],
    /// ln P(n-gram | intent) for every n-gram seen in training.
    log_likelihood: HashMap<String, [f64; CLASSES]>,
}

fn ngrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::with_capacity(chars.len() * 3);
    for n in 1..=3 {
        for w in chars.windows(n) {
            out.push(w.iter().collect());
        }
    }
    out
}

impl IntentModel {
    pub fn train<'a>(examples: impl IntoIterator<Item = &'a TrainingExample>) -> Self {
        let mut docs = [0f64; CLASSES];
        let mut totals = [0f64; CLASSES];
        let mut counts: HashMap<String, [f64; CLASSES]> = HashMap::new();
        for ex in examples {
            let c = ex.intent as usize;
            docs[c] += 1.0;
            for g in ngrams(&ex.normalized) {
                counts.entry(g).or_insert([0.0; CLASSES])[c] += 1.0;
                totals[c] += 1.0;
            }
        }
        let n_docs: f64 = docs.iter().sum();
        let vocab = counts.len() as f64;
        let mut log_prior = [0f64; CLASSES];
        for c in 0..CLASSES {
            log_prior[c] = ((docs[c] + 1.0) / (n_docs + CLASSES as f64)).ln();
        }
        let log_likelihood = counts
            .into_iter()
            .map(|(g, per_class)| {
                let mut l = [0f64; CLASSES];
                for c in 0..CLASSES {
                    l[c] = ((per_class[c] + ALPHA) / (totals[c] + ALPHA * vocab)).ln();
                }
                (g, l)
            })
            .collect();
        IntentModel {
            log_prior,
            log_likelihood,
        }
    }

    /// The most probable intent, or `None` when no n-gram of the text was
    /// ever seen in training.
    pub fn predict(&self, normalized: &str) -> Option<Prediction> {
        let grams: Vec<(String, &[f64; CLASSES])> = ngrams(normalized)
            .into_iter()
            .filter_map(|g| self.log_likelihood.get(&g).map(|l| (g, l)))
            .collect();
        if grams.is_empty() {
            return None;
        }
        let mut score = self.log_prior;
        for (_, l) in &grams {
            for c in 0..CLASSES {
                score[c] += l[c];
            }
        }
        let best = (0..CLASSES).max_by(|&a, &b| score[a].total_cmp(&score[b]))?;
        let total: f64 = score.iter().map(|s| (s - score[best]).exp()).sum();
        let intent = Intent::ALL[best];
        // Evidence: how much more likely each n-gram is under the chosen
        // intent than under its strongest rival for that n-gram.
        let mut margins: Vec<(f64, &String)> = grams
            .iter()
            .map(|(g, l)| {
                let rival = (0..CLASSES)
                    .filter(|&c| c != best)
                    .map(|c| l[c])
                    .fold(f64::NEG_INFINITY, f64::max);
                (l[best] - rival, g)
            })
            .filter(|(m, _)| *m > 0.0)
            // Longer n-grams read better as evidence: weigh by length.
            .map(|(m, g)| (m * g.chars().count() as f64, g))
            .collect();
        margins.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut evidence: Vec<String> = Vec::new();
        for (_, g) in margins {
            if !evidence.iter().any(|e| e.contains(g.as_str())) {
                evidence.push(g.clone());
            }
            if evidence.len() == 3 {
                break;
            }
        }
        Some(Prediction {
            intent,
            probability: 1.0 / total,
            evidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, intent: Intent) -> TrainingExample {
        TrainingExample {
            normalized: text.into(),
            intent,
        }
    }

    #[test]
    fn learns_from_examples_and_names_its_evidence() {
        let model = IntentModel::train(&[
            ex("我在吃饭", Intent::BusyCallBack),
            ex("在开会不方便", Intent::BusyCallBack),
            ex("正在吃饭呢", Intent::BusyCallBack),
            ex("我没钱还", Intent::FinancialHardship),
            ex("最近没工作没钱", Intent::FinancialHardship),
            ex("生病了没钱", Intent::FinancialHardship),
        ]);
        let p = model.predict("我们在吃饭").unwrap();
        assert_eq!(p.intent, Intent::BusyCallBack);
        assert!(p.probability > 0.5 && p.probability <= 1.0);
        assert!(p.evidence.iter().any(|g| g.contains("吃饭")), "{p:?}");
        let p = model.predict("家里没钱").unwrap();
        assert_eq!(p.intent, Intent::FinancialHardship);
        assert_eq!(model.predict("xyz"), None);
    }
}
