//! The words of a call against the rules: forbidden and rude wording, the
//! statements required, the debt disclosed before the debtor is verified,
//! a promise not read back, and agitated wording.

use crate::config::QaConfig;
use crate::flag::{Flag, FlagKind, Speaker};
use crate::loose::LooseText;
use crate::rules::{Leniency, Phrase, QaRules};
use crate::Utterance;
use chrono::NaiveDate;
use huikuan_dialogue::matcher::{glyphs, Glyph, Matchable};
use huikuan_dialogue::normalize::simplify;
use huikuan_dialogue::slots::{resolve_amount, resolve_date};
use huikuan_dialogue::{Intent, Nlu};

/// An utterance's text as recognized (simplified) and in standard
/// Mandarin, each read once into what matching needs, with what the
/// debtor's words mean.
pub struct Heard<'a> {
    pub utterance: &'a Utterance,
    texts: [String; 2],
    glyphs: [Vec<Glyph>; 2],
    loose: [LooseText; 2],
    pub intent: Option<Intent>,
    /// The debtor promised to pay on a day or an amount.
    pub promised: bool,
}

impl<'a> Heard<'a> {
    pub fn new(utterance: &'a Utterance, rules: &QaRules, nlu: &Nlu, today: NaiveDate) -> Self {
        let raw = simplify(&utterance.text);
        let understood = (utterance.speaker == Speaker::Debtor)
            .then(|| nlu.understand(&utterance.text, rules.dialect, today));
        let normalized = match &understood {
            Some(u) => u.normalized.clone(),
            None => nlu.normalize(&utterance.text, rules.dialect),
        };
        // A promise to read back names its day or amount and is said in
        // words of promising, not only guessed from a day and a verb
        // ("今日我打..." is no promise taken).
        let promised = understood.as_ref().is_some_and(|u| {
            u.intent == Intent::PromiseToPay
                && (u.date.is_some() || u.amount_hundredths.is_some())
                && u.cues.iter().any(|c| c.starts_with("promise_to_pay:"))
        });
        Heard {
            utterance,
            glyphs: [glyphs(&raw), glyphs(&normalized)],
            loose: [LooseText::new(&raw), LooseText::new(&normalized)],
            texts: [raw, normalized],
            intent: understood.map(|u| u.intent),
            promised,
        }
    }

    /// The phrases of `list` heard here, each with the words that matched
    /// (marked `~` when matched by sound, `≈` by loose sound); exact
    /// matches of every phrase are taken before any by sound.
    pub fn find(&self, list: &[Phrase], leniency: Leniency) -> Vec<(String, String)> {
        let mut hits: Vec<(String, String)> = Vec::new();
        let heard = |hits: &[(String, String)], p: &Phrase| hits.iter().any(|(h, _)| *h == p.text);
        for (glyphs, loose) in self.glyphs.iter().zip(&self.loose) {
            let mut m = Matchable::of(glyphs.clone());
            for sound in [false, true] {
                for p in list {
                    if sound && p.glyphs.len() < leniency.sound_from {
                        continue;
                    }
                    for f in m.take_spans(&p.glyphs, sound) {
                        if !heard(&hits, p) {
                            let said = m.text_of(f.start, f.end);
                            let said = if f.by_sound { format!("{said}~") } else { said };
                            hits.push((p.text.clone(), said));
                        }
                    }
                }
            }
            for p in list {
                let n = p.glyphs.len();
                if n < leniency.loose_from || heard(&hits, p) {
                    continue;
                }
                let wrong = usize::from(n >= leniency.one_wrong_from);
                if let Some(said) = loose.find(&p.loose, wrong) {
                    hits.push((p.text.clone(), format!("{said}≈")));
                }
            }
        }
        hits
    }

    fn says_all(&self, groups: &[Vec<Phrase>]) -> bool {
        groups
            .iter()
            .all(|g| !self.find(g, Leniency::STATEMENT).is_empty())
    }
}

fn flag(kind: FlagKind, u: &Utterance, rule: &str, evidence: String) -> Flag {
    Flag {
        kind,
        speaker: u.speaker,
        start_ms: u.start_ms,
        end_ms: u.end_ms,
        evidence,
        rule: rule.to_string(),
        voice: None,
    }
}

fn quote(u: &Utterance, hits: &[(String, String)]) -> String {
    let found: Vec<String> = hits
        .iter()
        .map(|(phrase, said)| {
            if phrase == said {
                phrase.clone()
            } else {
                format!("{said} as {phrase}")
            }
        })
        .collect();
    format!("「{}」: {}", u.text, found.join(", "))
}

/// Every wording flag of a call, and the agitated wording found per
/// utterance (index into `heard`) for the voice's score.
pub fn check(
    heard: &[Heard<'_>],
    rules: &QaRules,
    lender: Option<&str>,
    config: &QaConfig,
) -> (Vec<Flag>, Vec<Vec<(String, String)>>) {
    let mut flags = Vec::new();
    let agent: Vec<&Heard> = heard
        .iter()
        .filter(|h| h.utterance.speaker == Speaker::Agent)
        .collect();
    for h in &agent {
        flags.extend(collector_wording(h, rules));
    }
    let mut disclosure = DisclosureWatch::default();
    flags.extend(heard.iter().find_map(|h| disclosure.hear(h, rules)));
    flags.extend(missing_statements(&agent, rules, lender, config));
    flags.extend(promises_not_read_back(heard));
    let agitated = heard
        .iter()
        .map(|h| h.find(&rules.agitated, Leniency::FLAG))
        .collect();
    (flags, agitated)
}

/// The collector's forbidden wording (by category) and rude wording in
/// one utterance of theirs.
pub fn collector_wording(h: &Heard<'_>, rules: &QaRules) -> Vec<Flag> {
    let mut flags = Vec::new();
    for c in &rules.forbidden {
        let hits = h.find(&c.phrases, Leniency::FLAG);
        if !hits.is_empty() {
            flags.push(flag(
                FlagKind::ForbiddenWording,
                h.utterance,
                &c.name,
                quote(h.utterance, &hits),
            ));
        }
    }
    let rude = h.find(&rules.rude, Leniency::FLAG);
    if !rude.is_empty() {
        flags.push(flag(
            FlagKind::RudeAttitude,
            h.utterance,
            "rude",
            quote(h.utterance, &rude),
        ));
    }
    flags
}

/// Agitated wording in one utterance, either side's, as a flag.
pub fn agitated_wording(h: &Heard<'_>, rules: &QaRules) -> Option<Flag> {
    let hits = h.find(&rules.agitated, Leniency::FLAG);
    (!hits.is_empty()).then(|| {
        flag(
            FlagKind::Agitation,
            h.utterance,
            "agitated_wording",
            quote(h.utterance, &hits),
        )
    })
}

/// The debt stated by the collector before the debtor confirmed who they
/// are, watched utterance by utterance in the order they were said: the
/// first such statement is flagged, once; after the debtor confirms,
/// nothing is.
#[derive(Debug, Default, Clone)]
pub struct DisclosureWatch {
    over: bool,
}

impl DisclosureWatch {
    pub fn hear(&mut self, h: &Heard<'_>, rules: &QaRules) -> Option<Flag> {
        if self.over {
            return None;
        }
        if h.intent == Some(Intent::ConfirmIdentity) {
            self.over = true;
            return None;
        }
        if h.utterance.speaker != Speaker::Agent {
            return None;
        }
        let hits = h.find(&rules.debt, Leniency::FLAG);
        if hits.is_empty() {
            return None;
        }
        self.over = true;
        Some(flag(
            FlagKind::ForbiddenWording,
            h.utterance,
            "early_disclosure",
            format!(
                "the debt stated before the debtor confirmed who they are: {}",
                quote(h.utterance, &hits)
            ),
        ))
    }
}

/// Required statements never made (or, for those due at the start, not
/// made in time).
fn missing_statements(
    agent: &[&Heard<'_>],
    rules: &QaRules,
    lender: Option<&str>,
    config: &QaConfig,
) -> Vec<Flag> {
    let Some(first) = agent.first() else {
        return Vec::new();
    };
    let start = first.utterance.start_ms;
    let end = agent.last().map_or(start, |h| h.utterance.end_ms);
    let mut flags = Vec::new();
    for r in &rules.required {
        let wordings = r.wordings_for(lender);
        let deadline = if r.at_start {
            start + config.identity_within_ms
        } else {
            u64::MAX
        };
        let said = agent
            .iter()
            .filter(|h| h.utterance.start_ms <= deadline)
            .any(|h| wordings.iter().any(|w| h.says_all(w)));
        if !said {
            let (until, when) = if r.at_start {
                (
                    deadline.min(end),
                    format!(
                        " within {} s of the collector's first words",
                        config.identity_within_ms / 1000
                    ),
                )
            } else {
                (end, String::new())
            };
            let unknown = if lender.is_none()
                && r.wordings
                    .iter()
                    .flatten()
                    .flatten()
                    .any(|p| p.contains(crate::rules::LENDER))
            {
                " (the lender's name was not known, so it was not asked for)"
            } else {
                ""
            };
            flags.push(Flag {
                kind: FlagKind::MissingDisclosure,
                speaker: Speaker::Agent,
                start_ms: start,
                end_ms: until,
                evidence: format!("'{}' was not said{when}{unknown}", r.name),
                rule: r.name.clone(),
                voice: None,
            });
        }
    }
    flags
}

/// A debtor's promise to pay not answered by the collector reading back
/// a date and an amount (in one utterance) before the call ends.
fn promises_not_read_back(heard: &[Heard<'_>]) -> Option<Flag> {
    let today = NaiveDate::from_ymd_opt(2000, 1, 1)?;
    let at = heard.iter().position(|h| h.promised)?;
    let read_back = heard[at + 1..].iter().any(|h| {
        h.utterance.speaker == Speaker::Agent
            && resolve_date(&h.texts[1], today).is_some()
            && resolve_amount(&h.texts[1]).is_some()
    });
    let u = heard[at].utterance;
    (!read_back).then(|| Flag {
        kind: FlagKind::MissingDisclosure,
        speaker: Speaker::Agent,
        start_ms: u.start_ms,
        end_ms: heard.last().map_or(u.end_ms, |h| h.utterance.end_ms),
        evidence: format!(
            "the debtor promised to pay (「{}」) and the date and amount were not read back",
            u.text
        ),
        rule: "promise_read_back".into(),
        voice: None,
    })
}
