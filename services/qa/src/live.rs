//! A human call checked while it happens, for the supervisor's floor.
//!
//! Problem: a recording is inspected after the call ends; a supervisor
//! must see an agent's threat while the call is still on, within seconds
//! of the words.
//!
//! Mechanism: the bridged call's live transcript (both sides, as the
//! dialer recognizes them) is fed here one utterance at a time, in the
//! order said. Each is read as the recording's inspection reads it
//! ([`crate::wording::Heard`]) and checked by the same rules: the
//! collector's forbidden and rude wording, agitated wording from either
//! side, and the debt stated before the debtor confirmed who they are.
//!
//! Guarantees: the wording checks are the recording's own, so a live
//! flag of the collector's wording is one the call's inspection raises
//! from the same words (agitated wording is flagged here by itself, rule
//! `agitated_wording`; the recording weighs it with the voice). What needs the
//! whole call (a statement never made, a promise never read back) or the
//! voice (talk-over, silences, a raised voice) waits for the recording.
//! Pure and quick (no audio, no model): it runs on the console's thread
//! that receives the line.

use crate::flag::Flag;
use crate::rules::QaRuleBook;
use crate::wording::{agitated_wording, collector_wording, DisclosureWatch, Heard};
use crate::{Speaker, Utterance};
use chrono::NaiveDate;
use huikuan_core::Dialect;
use huikuan_dialogue::Nlu;
use std::sync::Arc;

/// The rules and the NLU live checks share across calls.
#[derive(Clone)]
pub struct LiveInspection {
    rules: Arc<QaRuleBook>,
    nlu: Arc<Nlu>,
}

impl LiveInspection {
    pub fn new(rules: QaRuleBook, nlu: Nlu) -> LiveInspection {
        LiveInspection {
            rules: Arc::new(rules),
            nlu: Arc::new(nlu),
        }
    }

    /// A call in `dialect` on `day` (for the dates the debtor names).
    pub fn start(&self, dialect: Dialect, day: NaiveDate) -> LiveCall {
        LiveCall {
            shared: self.clone(),
            dialect,
            day,
            disclosure: DisclosureWatch::default(),
        }
    }
}

/// One call's live check: what it has heard so far.
pub struct LiveCall {
    shared: LiveInspection,
    dialect: Dialect,
    day: NaiveDate,
    disclosure: DisclosureWatch,
}

impl LiveCall {
    /// The flags `said` raises, given what came before it.
    pub fn hear(&mut self, said: &Utterance) -> Vec<Flag> {
        let rules = self.shared.rules.get(self.dialect);
        let h = Heard::new(said, rules, &self.shared.nlu, self.day);
        let mut flags = if said.speaker == Speaker::Agent {
            collector_wording(&h, rules)
        } else {
            Vec::new()
        };
        flags.extend(self.disclosure.hear(&h, rules));
        flags.extend(agitated_wording(&h, rules));
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FlagKind;

    fn inspection() -> LiveInspection {
        LiveInspection::new(QaRuleBook::builtin(), Nlu::builtin())
    }

    fn said(speaker: Speaker, at: u64, text: &str) -> Utterance {
        Utterance {
            speaker,
            start_ms: at,
            end_ms: at + 2000,
            text: text.into(),
        }
    }

    fn kinds(flags: &[Flag]) -> Vec<(FlagKind, &str)> {
        flags.iter().map(|f| (f.kind, f.rule.as_str())).collect()
    }

    #[test]
    fn a_threat_is_flagged_as_it_is_said_and_ordinary_words_are_not() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let mut call = inspection().start(Dialect::Mandarin, day);
        assert!(call
            .hear(&said(Speaker::Agent, 0, "您好，请问是王先生本人吗？"))
            .is_empty());
        assert!(call
            .hear(&said(Speaker::Debtor, 3000, "对，是我。"))
            .is_empty());
        let flags = call.hear(&said(
            Speaker::Agent,
            6000,
            "你再不还钱，就让你好看，后果自负。",
        ));
        assert_eq!(
            kinds(&flags),
            [(FlagKind::ForbiddenWording, "threat")],
            "{flags:?}"
        );
        assert_eq!(
            (flags[0].start_ms, flags[0].speaker),
            (6000, Speaker::Agent)
        );
        assert!(
            flags[0].evidence.contains("让你好看"),
            "{}",
            flags[0].evidence
        );
        // The same words from the debtor are not the collector's wording.
        assert!(
            kinds(&call.hear(&said(Speaker::Debtor, 9000, "后果自负？")))
                .iter()
                .all(|(k, _)| *k != FlagKind::ForbiddenWording)
        );
    }

    #[test]
    fn the_debt_before_the_debtor_confirms_is_flagged_once_and_not_after() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let live = inspection();
        let mut early = live.start(Dialect::Mandarin, day);
        let debt = "您在安心借的借款已经逾期十五天了。";
        let first = early.hear(&said(Speaker::Agent, 0, debt));
        assert_eq!(
            kinds(&first),
            [(FlagKind::ForbiddenWording, "early_disclosure")],
            "{first:?}"
        );
        assert!(early.hear(&said(Speaker::Agent, 3000, debt)).is_empty());

        let mut proper = live.start(Dialect::Mandarin, day);
        proper.hear(&said(Speaker::Agent, 0, "请问您是王先生本人吗？"));
        proper.hear(&said(Speaker::Debtor, 2000, "对，我就是。"));
        assert!(proper.hear(&said(Speaker::Agent, 4000, debt)).is_empty());
    }
}
