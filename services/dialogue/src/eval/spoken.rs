//! Scoring what the robot understood of spoken answers
//! (`tests/data/spoken/DIALECT.tsv`), each said at a stage of the call.
//!
//! A row is `stage<TAB>say<TAB>intent<TAB>date<TAB>amount<TAB>callback_time`:
//! `say` is the words a debtor answers with (spoken by a voice for the
//! measurement), `clip:FILE`, a recording from the dialect's folder of
//! real speech, which is talk about something else (a television, a
//! neighbour), or `noise:SOUND`, no words at all (hiss, music, gibberish);
//! clips and noise are labelled `unclear`.
//!
//! Beyond right and wrong, a turn is judged by what the robot would do
//! with it at that stage under the policy:
//! * it **acts** when the turn's intent is not `unclear`, or when it names
//!   a date or an amount while the robot is asking for them;
//! * a **false action** is acting on a wrong intent or wrong terms;
//! * a **false promise**, the worst of them, is a turn that would put
//!   terms the debtor did not say to the read-back, or accept a read-back
//!   the debtor did not accept.

use crate::intent::Intent;
use crate::nlu::{NluResult, Slots};
use crate::policy::{Action, Policy, Stage};
use crate::slots::number::format_hundredths;

/// What the debtor says in a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    Words(String),
    /// A recording's file name in the dialect's folder of real speech.
    Clip(String),
    /// A sound that is no words at all, by name (`noise:music`).
    Noise(String),
}

#[derive(Debug, Clone)]
pub struct SpokenExample {
    pub line: usize,
    pub stage: Stage,
    pub said: Said,
    pub intent: Intent,
    pub slots: Slots,
}

/// Parses a spoken bench file (header row first); errors give the line
/// and name the field.
pub fn parse(text: &str) -> Result<Vec<SpokenExample>, (usize, String)> {
    let mut out = Vec::new();
    for row in super::rows(text) {
        let at = |why: String| (row.line, why);
        let stage = Stage::named(row.cell(0)).map_err(|e| at(format!("stage: {e}")))?;
        let said = match row.cell(1) {
            "" => return Err(at("say: empty".into())),
            s => match (s.strip_prefix("clip:"), s.strip_prefix("noise:")) {
                (Some(f), _) if f.trim().is_empty() => {
                    return Err(at("say: clip: names no file".into()))
                }
                (Some(f), _) => Said::Clip(f.trim().to_string()),
                (_, Some(n)) if n.trim().is_empty() => {
                    return Err(at("say: noise: names no sound".into()))
                }
                (_, Some(n)) => Said::Noise(n.trim().to_string()),
                _ => Said::Words(s.to_string()),
            },
        };
        out.push(SpokenExample {
            line: row.line,
            stage,
            said,
            intent: row.intent(2)?,
            slots: row.slots(3),
        });
    }
    Ok(out)
}

/// What the robot would make of one understood turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Judgement {
    pub intent_right: bool,
    /// None when the row has no slots to get right.
    pub slots_right: Option<bool>,
    pub acted: bool,
    pub false_action: bool,
    pub false_promise: bool,
}

/// Whether the robot, at `stage`, would take the date or amount of `r` as
/// the debtor's terms (the conversation's own rule: a date or an amount
/// while paying or confirming answers "when / how much").
fn takes_terms(policy: &Policy, stage: Stage, r: &NluResult) -> bool {
    let has_terms = r.date.is_some() || r.amount_hundredths.is_some();
    crate::conversation::answers_when_or_how_much(stage, r)
        || (has_terms
            && r.callback.is_none()
            && policy
                .rule(stage, r.intent)
                .is_some_and(|rule| matches!(rule.action, Action::Negotiate)))
}

fn accepts(policy: &Policy, stage: Stage, intent: Intent) -> bool {
    policy
        .rule(stage, intent)
        .is_some_and(|rule| rule.action == Action::Accept)
}

/// Judges what was understood (`r`) of what the row says.
pub fn judge(policy: &Policy, ex: &SpokenExample, r: &NluResult) -> Judgement {
    let terms = takes_terms(policy, ex.stage, r);
    let intent_right = r.intent == ex.intent;
    let has_slots = ex.slots != Slots::default();
    let slots_right = r.slots == ex.slots;
    let acted = r.intent != Intent::Unclear || terms;
    let wrong_terms = terms
        && (r.date.map(|d| d.format("%Y-%m-%d").to_string()) != ex.slots.date
            || r.amount_hundredths.map(format_hundredths) != ex.slots.amount);
    let false_accept =
        !terms && accepts(policy, ex.stage, r.intent) && !accepts(policy, ex.stage, ex.intent);
    Judgement {
        intent_right,
        slots_right: has_slots.then_some(slots_right),
        acted,
        false_action: acted && (!intent_right || (has_slots && !slots_right) || wrong_terms),
        false_promise: wrong_terms || false_accept,
    }
}

/// Totals over many judged turns.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SpokenScore {
    pub turns: usize,
    pub intent_right: usize,
    pub with_slots: usize,
    pub slots_right: usize,
    pub acted: usize,
    pub false_actions: usize,
    pub false_promises: usize,
}

impl SpokenScore {
    pub fn add(&mut self, j: &Judgement) {
        self.turns += 1;
        self.intent_right += usize::from(j.intent_right);
        if let Some(right) = j.slots_right {
            self.with_slots += 1;
            self.slots_right += usize::from(right);
        }
        self.acted += usize::from(j.acted);
        self.false_actions += usize::from(j.false_action);
        self.false_promises += usize::from(j.false_promise);
    }

    pub fn merge(&mut self, o: &SpokenScore) {
        self.turns += o.turns;
        self.intent_right += o.intent_right;
        self.with_slots += o.with_slots;
        self.slots_right += o.slots_right;
        self.acted += o.acted;
        self.false_actions += o.false_actions;
        self.false_promises += o.false_promises;
    }

    pub fn intent_accuracy(&self) -> f64 {
        self.intent_right as f64 / self.turns.max(1) as f64
    }

    pub fn slot_accuracy(&self) -> f64 {
        self.slots_right as f64 / self.with_slots.max(1) as f64
    }

    /// False actions per turn.
    pub fn false_action_rate(&self) -> f64 {
        self.false_actions as f64 / self.turns.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use chrono::NaiveDate;

    const TODAY: (i32, u32, u32) = (2026, 11, 24);

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(TODAY.0, TODAY.1, TODAY.2).unwrap()
    }

    fn row(line: &str) -> SpokenExample {
        parse(&format!("header\n{line}\n")).unwrap().remove(0)
    }

    #[test]
    fn rows_parse_and_bad_ones_name_the_line_and_field() {
        let ex = row("pay\t下个月15号还三千五\tpromise_to_pay\t2026-12-15\t3500\t");
        assert_eq!(ex.stage, Stage::Pay);
        assert_eq!(ex.slots.amount.as_deref(), Some("3500"));
        let ex = row("identify\tclip:a.wav\tunclear\t\t\t");
        assert_eq!(ex.said, Said::Clip("a.wav".into()));
        let ex = row("confirm\tnoise:music\tunclear\t\t\t");
        assert_eq!(ex.said, Said::Noise("music".into()));
        let e = parse("h\nlater\t好\tunclear\n").unwrap_err();
        assert_eq!(e.0, 2);
        assert!(e.1.starts_with("stage: unknown stage 'later'"), "{}", e.1);
        assert_eq!(
            parse("h\npay\t\tunclear\n").unwrap_err(),
            (2, "say: empty".into())
        );
        assert_eq!(
            parse("h\npay\tclip: \tunclear\n").unwrap_err(),
            (2, "say: clip: names no file".into())
        );
        let e = parse("h\npay\t好\tmaybe\n").unwrap_err();
        assert!(e.1.starts_with("intent:"), "{}", e.1);
    }

    #[test]
    fn wrong_terms_and_an_accepted_read_back_nobody_accepted_are_false_promises() {
        let engine = Engine::builtin();
        let (nlu, policy) = (&engine.nlu, &engine.policy);
        let d = huikuan_core::Dialect::Mandarin;
        // Heard right: no false action.
        let ex = row("pay\t我明天还\tpromise_to_pay\t2026-11-25\t\t");
        let j = judge(policy, &ex, &nlu.understand("我明天还", d, today()));
        assert!(j.intent_right && j.acted && !j.false_action && !j.false_promise);
        // "明天" misheard as "后天": the right intent with the wrong date.
        let j = judge(policy, &ex, &nlu.understand("我后天还", d, today()));
        assert!(j.intent_right && j.false_action && j.false_promise);
        assert_eq!(j.slots_right, Some(false));
        // A television saying a day while the robot asks when: terms taken.
        let tv = row("pay\tclip:news.wav\tunclear\t\t\t");
        let j = judge(policy, &tv, &nlu.understand("星期五天气晴", d, today()));
        assert!(j.acted && j.false_promise, "{j:?}");
        // A refusal heard as "yes" at the read-back accepts it.
        let refuse = row("confirm\t我不还\trefuse_to_pay\t\t\t");
        let j = judge(policy, &refuse, &nlu.understand("对，是我", d, today()));
        assert!(j.false_action && j.false_promise, "{j:?}");
        // Not understood at all: no action, so nothing false.
        let j = judge(policy, &refuse, &nlu.understand("嗯嗯嗯", d, today()));
        assert!(!j.acted && !j.false_action && !j.false_promise, "{j:?}");
        let mut s = SpokenScore::default();
        s.add(&j);
        s.add(&Judgement {
            intent_right: true,
            slots_right: Some(true),
            acted: true,
            ..Default::default()
        });
        assert_eq!((s.turns, s.intent_right, s.with_slots), (2, 1, 1));
        assert_eq!(s.intent_accuracy(), 0.5);
        assert_eq!(s.slot_accuracy(), 1.0);
    }
}
