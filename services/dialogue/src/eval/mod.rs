//! Scoring the NLU on a labelled file (`tests/data/nlu/*.tsv`): intent
//! accuracy, macro-F1 over intents, slot exact-match, per split; and
//! scoring what was understood of spoken answers at a stage of the call
//! (`spoken`).

pub mod spoken;

use crate::intent::Intent;
use crate::nlu::{Nlu, Slots};
use chrono::NaiveDate;
use huikuan_core::Dialect;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Example {
    pub line: usize,
    pub split: String,
    pub text: String,
    pub intent: Intent,
    pub slots: Slots,
}

/// One row of a labelled file: its 1-based line and its cells, trimmed.
pub(crate) struct Row<'a> {
    pub line: usize,
    cells: Vec<&'a str>,
}

impl<'a> Row<'a> {
    pub fn cell(&self, k: usize) -> &'a str {
        self.cells.get(k).map(|s| s.trim()).unwrap_or("")
    }

    /// The intent in cell `k`, or an error naming the line and field.
    pub fn intent(&self, k: usize) -> Result<Intent, (usize, String)> {
        self.cell(k)
            .parse::<Intent>()
            .map_err(|e| (self.line, format!("intent: {e}")))
    }

    /// The slots in the three cells from `k` (date, amount, callback time).
    pub fn slots(&self, k: usize) -> Slots {
        let opt = |k: usize| Some(self.cell(k).to_string()).filter(|s| !s.is_empty());
        Slots {
            date: opt(k),
            amount: opt(k + 1),
            callback_time: opt(k + 2),
        }
    }
}

/// The non-empty rows of a labelled file after its header row.
pub(crate) fn rows(text: &str) -> impl Iterator<Item = Row<'_>> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Row {
            line: i + 1,
            cells: l.split('\t').collect(),
        })
}

/// Parses the TSV (header row first); errors give the line and name the
/// field.
pub fn parse(text: &str) -> Result<Vec<Example>, (usize, String)> {
    let mut out = Vec::new();
    for row in rows(text) {
        if row.cell(1).is_empty() {
            return Err((row.line, "text: empty".into()));
        }
        out.push(Example {
            line: row.line,
            split: row.cell(0).to_string(),
            text: row.cell(1).to_string(),
            intent: row.intent(2)?,
            slots: row.slots(3),
        });
    }
    Ok(out)
}

/// The example utterances of a script (`dialects/<dialect>/utterances.tsv`,
/// all of the `dev` split): what the phrase tables were written from and
/// the classifier learns from. The held-out `test` rows live apart, in
/// `tests/data/nlu`, and are never read here.
pub fn development_sets_of(
    files: &crate::script::ScriptFiles,
) -> Result<Vec<(Dialect, Vec<Example>)>, crate::script::ScriptError> {
    crate::script::DIALECTS
        .iter()
        .map(|d| {
            let file = crate::script::ScriptFiles::of(*d, "utterances.tsv");
            let rows = parse(files.text(&file)).map_err(|(line, why)| {
                crate::script::ScriptError::new(&files.name(&file), Some(line), why)
            })?;
            Ok((*d, rows.into_iter().filter(|r| r.split == "dev").collect()))
        })
        .collect()
}

/// The built-in script's example utterances (see [`development_sets_of`]).
pub fn development_sets() -> Vec<(Dialect, Vec<Example>)> {
    development_sets_of(&crate::script::ScriptFiles::builtin())
        .expect("built-in example utterances are valid")
}

#[derive(Debug, Clone, Default)]
pub struct Score {
    pub n: usize,
    pub intent_correct: usize,
    pub slots_exact: usize,
    pub macro_f1: f64,
}

impl Score {
    pub fn accuracy(&self) -> f64 {
        self.intent_correct as f64 / self.n.max(1) as f64
    }
    pub fn slot_exact(&self) -> f64 {
        self.slots_exact as f64 / self.n.max(1) as f64
    }
}

pub struct Miss<'a> {
    pub example: &'a Example,
    pub got_intent: Intent,
    pub got_slots: Slots,
    pub cues: Vec<String>,
}

/// Scores per split ("dev", "test", "all").
pub fn evaluate<'a>(
    nlu: &Nlu,
    examples: &'a [Example],
    dialect: Dialect,
    today: NaiveDate,
) -> (BTreeMap<String, Score>, Vec<Miss<'a>>) {
    let mut pairs: BTreeMap<String, Vec<(Intent, Intent)>> = BTreeMap::new();
    let mut scores: BTreeMap<String, Score> = BTreeMap::new();
    let mut misses = Vec::new();
    for ex in examples {
        let r = nlu.understand(&ex.text, dialect, today);
        for split in [ex.split.as_str(), "all"] {
            let s = scores.entry(split.to_string()).or_default();
            s.n += 1;
            s.intent_correct += usize::from(r.intent == ex.intent);
            s.slots_exact += usize::from(r.slots == ex.slots);
            pairs
                .entry(split.to_string())
                .or_default()
                .push((ex.intent, r.intent));
        }
        if r.intent != ex.intent || r.slots != ex.slots {
            misses.push(Miss {
                example: ex,
                got_intent: r.intent,
                got_slots: r.slots,
                cues: r.cues,
            });
        }
    }
    for (split, p) in pairs {
        if let Some(s) = scores.get_mut(&split) {
            s.macro_f1 = macro_f1(&p);
        }
    }
    (scores, misses)
}

/// How the classifier alone does on utterances it was not trained on, at
/// one probability threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCheck {
    pub threshold: f64,
    pub utterances: usize,
    /// Utterances given an intent other than unclear at this threshold.
    pub answered: usize,
    /// Of those, how many were right.
    pub correct: usize,
}

/// K-fold cross-validation of the classifier over development rows of
/// every dialect (each normalised in its own dialect): for each threshold,
/// how many utterances get a confident answer and how many of those are
/// right. Folds are every k-th row, so the result is repeatable.
pub fn cross_validate_model(
    nlu: &Nlu,
    sets: &[(Dialect, Vec<Example>)],
    folds: usize,
    thresholds: &[f64],
) -> Vec<ModelCheck> {
    use crate::classifier::{IntentModel, TrainingExample};
    let all: Vec<TrainingExample> = sets
        .iter()
        .flat_map(|(d, rows)| {
            rows.iter().map(|r| TrainingExample {
                normalized: nlu.normalize(&r.text, *d),
                intent: r.intent,
            })
        })
        .collect();
    let mut checks: Vec<ModelCheck> = thresholds
        .iter()
        .map(|&threshold| ModelCheck {
            threshold,
            utterances: all.len(),
            answered: 0,
            correct: 0,
        })
        .collect();
    let folds = folds.max(2);
    for fold in 0..folds {
        let model = IntentModel::train(
            all.iter()
                .enumerate()
                .filter(|(i, _)| i % folds != fold)
                .map(|(_, e)| e),
        );
        for (_, e) in all.iter().enumerate().filter(|(i, _)| i % folds == fold) {
            let Some(p) = model.predict(&e.normalized) else {
                continue;
            };
            for c in checks.iter_mut() {
                if p.intent != Intent::Unclear && p.probability >= c.threshold {
                    c.answered += 1;
                    c.correct += usize::from(p.intent == e.intent);
                }
            }
        }
    }
    checks
}

/// Mean F1 over the intents that occur as gold or prediction.
pub fn macro_f1(pairs: &[(Intent, Intent)]) -> f64 {
    let mut f1s = Vec::new();
    for intent in Intent::ALL {
        let tp = pairs
            .iter()
            .filter(|(g, p)| *g == intent && *p == intent)
            .count() as f64;
        let fp = pairs
            .iter()
            .filter(|(g, p)| *g != intent && *p == intent)
            .count() as f64;
        let fn_ = pairs
            .iter()
            .filter(|(g, p)| *g == intent && *p != intent)
            .count() as f64;
        if tp + fp + fn_ == 0.0 {
            continue;
        }
        f1s.push(if tp == 0.0 {
            0.0
        } else {
            2.0 * tp / (2.0 * tp + fp + fn_)
        });
    }
    f1s.iter().sum::<f64>() / f1s.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_f1_and_parse_errors() {
        use Intent::*;
        let perfect = [(Abusive, Abusive), (Complaint, Complaint)];
        assert_eq!(macro_f1(&perfect), 1.0);
        let half = [(Abusive, Abusive), (Complaint, Abusive)];
        // abusive: tp1 fp1 -> 2/3; complaint: fn1 -> 0.
        assert!((macro_f1(&half) - (2.0 / 3.0) / 2.0).abs() < 1e-9);
        let e = parse("h\ndev\t你好\tgreeting\n").unwrap_err();
        assert_eq!(e, (2, "intent: unknown intent 'greeting'".to_string()));
    }
}
