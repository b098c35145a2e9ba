//! The conversation policy file (`dialects/policy.toml`): limits, the
//! (stage, intent) -> action table, the keys a debtor may press instead
//! of answering aloud, which lines state the debt, and what counts as a
//! backchannel. Actions are a fixed vocabulary the engine implements;
//! everything else is data.

use crate::intent::Intent;
use crate::nlu::NluResult;
use crate::script::{line_of_nth, ScriptError};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Identify,
    Pay,
    Confirm,
    Callback,
}

impl Stage {
    fn parse(s: &str) -> Option<Option<Stage>> {
        Some(match s {
            "*" => None,
            "identify" => Some(Stage::Identify),
            "pay" => Some(Stage::Pay),
            "confirm" => Some(Stage::Confirm),
            "callback" => Some(Stage::Callback),
            _ => return None,
        })
    }

    /// A stage by its name in the policy file.
    pub fn named(s: &str) -> Result<Stage, String> {
        Stage::parse(s)
            .flatten()
            .ok_or_else(|| format!("unknown stage '{s}' (identify, pay, confirm or callback)"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Identify => "identify",
            Stage::Pay => "pay",
            Stage::Confirm => "confirm",
            Stage::Callback => "callback",
        }
    }
}

/// What the engine does with a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Say the line, stay in the stage.
    Say,
    /// Say the line, then repeat the stage's question.
    SayThenRepeat,
    /// Identity confirmed: state the debt and ask for payment.
    Verify,
    /// Work the date and amount towards a promise within the limits.
    Negotiate,
    /// New date/amount in the confirmation stage.
    Renegotiate,
    /// The read-back was accepted: record the promise.
    Accept,
    /// Offer a part payment at the minimum amount.
    OfferPart,
    /// Persuade once; the second refusal ends the call.
    PersuadeThenClose,
    /// Ask for a time to call back, or end with it.
    Callback,
    /// Ask again; after `max_unclear` in a row, end politely.
    Reprompt,
    /// End the call with this disposition.
    Close(String),
    /// Hand the call to a person for this reason.
    Handoff(String),
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "say" => Action::Say,
            "say_then_repeat" => Action::SayThenRepeat,
            "verify" => Action::Verify,
            "negotiate" => Action::Negotiate,
            "renegotiate" => Action::Renegotiate,
            "accept" => Action::Accept,
            "offer_part" => Action::OfferPart,
            "persuade_then_close" => Action::PersuadeThenClose,
            "callback" => Action::Callback,
            "reprompt" => Action::Reprompt,
            other => {
                if let Some(d) = other.strip_prefix("close:") {
                    d.parse::<huikuan_core::Disposition>().ok()?;
                    Action::Close(d.to_string())
                } else if let Some(r) = other.strip_prefix("handoff:") {
                    Action::Handoff(r.to_string())
                } else {
                    return None;
                }
            }
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_turns: u32,
    pub max_unclear: u32,
    /// Silent turns in a row ("can you hear me?") before a polite end.
    pub max_silences: u32,
    pub max_failed_turns: u32,
    pub latest_days: i64,
    pub min_amount_share: f64,
    pub high_balance_yuan: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    stage: String,
    intent: String,
    action: String,
    line: Option<String>,
}

/// The lines that state the debt.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    pub lines: Vec<String>,
}

/// "I'm listening" turns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backchannel {
    pub chars: String,
    pub max_chars: usize,
}

/// How sure the robot must be of what it heard before it acts on it.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Understanding {
    /// Least recognizer confidence (geometric mean of the words' token
    /// probabilities, 0..=1) of a turn the robot acts on.
    pub min_confidence: f32,
    /// Turns the recognizer thinks more likely than this to be no speech
    /// at all (0..=1) are not acted on.
    pub max_no_speech: f32,
}

impl Default for Understanding {
    /// Trusts everything (a script without the section).
    fn default() -> Self {
        Understanding {
            min_confidence: 0.0,
            max_no_speech: 1.0,
        }
    }
}

/// How sure the recognizer was of a turn's words; typed turns are certain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Certainty {
    pub confidence: f32,
    pub no_speech: f32,
}

impl Certainty {
    pub const TYPED: Certainty = Certainty {
        confidence: 1.0,
        no_speech: 0.0,
    };
}

impl Understanding {
    /// Whether a turn heard this way may be acted on.
    pub fn trusts(&self, h: Certainty) -> bool {
        h.confidence >= self.min_confidence && h.no_speech <= self.max_no_speech
    }

    /// What `text`, read as `r`, means when heard with `certainty`: `r`,
    /// or `unclear` (nothing to act on) when it is not trusted.
    pub fn screen(&self, r: NluResult, text: &str, certainty: Certainty) -> NluResult {
        if self.trusts(certainty) {
            return r;
        }
        NluResult {
            cues: vec![format!(
                "unsure:heard {:?} at confidence {:.2}, no speech {:.2} ({})",
                text,
                certainty.confidence,
                certainty.no_speech,
                r.intent.as_str()
            )],
            ..NluResult::unclear(r.normalized)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    limits: Limits,
    #[serde(default)]
    understanding: Understanding,
    disclosure: Disclosure,
    backchannel: Backchannel,
    #[serde(default)]
    keys: std::collections::BTreeMap<String, KeyMenuFile>,
    rule: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyMenuFile {
    offer: String,
    offer_again: String,
    press: std::collections::BTreeMap<String, String>,
}

/// The keys a debtor may press at one stage instead of answering aloud
/// (a yes/no the recognizer could not make out: 是我, 对, 啱 are half a
/// second of sound). The robot offers them when it did not understand
/// the spoken answer: `offer` the first time, `offer_again` (other
/// words) the second. A key means its intent for certain; a key not in
/// the menu, or pressed at a stage without one, means nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMenu {
    pub stage: Stage,
    pub offer: String,
    pub offer_again: String,
    pub press: Vec<(char, Intent)>,
}

impl KeyMenu {
    /// What pressing `key` means here.
    pub fn meaning(&self, key: char) -> Option<Intent> {
        self.press.iter().find(|(k, _)| *k == key).map(|(_, i)| *i)
    }
}

/// The keys a telephone keypad sends (RFC 4733 events 0-11).
const KEYPAD: &str = "0123456789*#";

#[derive(Debug, Clone)]
pub struct Rule {
    pub stage: Option<Stage>,
    pub intent: Option<Intent>,
    pub action: Action,
    pub line: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub limits: Limits,
    pub understanding: Understanding,
    pub disclosure: Disclosure,
    pub backchannel: Backchannel,
    keys: Vec<KeyMenu>,
    rules: Vec<Rule>,
}

impl Policy {
    pub fn builtin() -> Policy {
        Policy::parse(
            "dialects/policy.toml",
            include_str!("../../../dialects/policy.toml"),
        )
        .expect("built-in policy is valid")
    }

    /// Errors name the file, the line and the field.
    pub fn parse(file: &str, text: &str) -> Result<Policy, ScriptError> {
        let f: PolicyFile = toml::from_str(text).map_err(|e| ScriptError::toml(file, text, &e))?;
        let mut rules = Vec::new();
        for (i, r) in f.rule.iter().enumerate() {
            let at = |field: &str, why: String| {
                ScriptError::new(
                    file,
                    line_of_nth(text, "[[rule]]", i),
                    format!("rule {}: {field}: {why}", i + 1),
                )
            };
            let stage = Stage::parse(&r.stage)
                .ok_or_else(|| at("stage", format!("unknown stage '{}'", r.stage)))?;
            let intent = if r.intent == "*" {
                None
            } else {
                Some(r.intent.parse::<Intent>().map_err(|e| at("intent", e))?)
            };
            let action = Action::parse(&r.action)
                .ok_or_else(|| at("action", format!("unknown action '{}'", r.action)))?;
            rules.push(Rule {
                stage,
                intent,
                action,
                line: r.line.clone(),
            });
        }
        let mut keys = Vec::new();
        for (stage_name, k) in &f.keys {
            let at = |why: String| {
                ScriptError::new(
                    file,
                    text.lines()
                        .position(|l| l.trim() == format!("[keys.{stage_name}]"))
                        .map(|i| i + 1),
                    format!("keys.{stage_name}: {why}"),
                )
            };
            let stage = Stage::named(stage_name).map_err(at)?;
            let mut press = Vec::new();
            for (key, intent) in &k.press {
                let mut chars = key.chars();
                let (Some(c), None) = (chars.next(), chars.next()) else {
                    return Err(at(format!("press: '{key}' is not one key (0-9, * or #)")));
                };
                if !KEYPAD.contains(c) {
                    return Err(at(format!(
                        "press: '{key}' is not a keypad key (0-9, * or #)"
                    )));
                }
                let intent = intent
                    .parse::<Intent>()
                    .map_err(|e| at(format!("press.{key}: {e}")))?;
                press.push((c, intent));
            }
            if press.is_empty() {
                return Err(at("press: names no key".into()));
            }
            keys.push(KeyMenu {
                stage,
                offer: k.offer.clone(),
                offer_again: k.offer_again.clone(),
                press,
            });
        }
        if f.backchannel.max_chars == 0 || f.backchannel.chars.is_empty() {
            return Err(ScriptError::new(
                file,
                crate::script::line_of_key(text, "max_chars", 1),
                "backchannel: needs characters and max_chars of at least 1",
            ));
        }
        let u = f.understanding;
        if !(0.0..=1.0).contains(&u.min_confidence) || !(0.0..=1.0).contains(&u.max_no_speech) {
            return Err(ScriptError::new(
                file,
                crate::script::line_of_key(text, "min_confidence", 1),
                "understanding: min_confidence and max_no_speech are within 0..=1",
            ));
        }
        Ok(Policy {
            limits: f.limits,
            understanding: u,
            disclosure: f.disclosure,
            backchannel: f.backchannel,
            keys,
            rules,
        })
    }

    /// The keys a debtor may press at `stage`, if any.
    pub fn keys(&self, stage: Stage) -> Option<&KeyMenu> {
        self.keys.iter().find(|k| k.stage == stage)
    }

    /// Whether the line states the debt (said only to a verified debtor).
    pub fn discloses(&self, line: &str) -> bool {
        self.disclosure.lines.iter().any(|l| l == line)
    }

    /// Only a backchannel ("I'm listening"), not a turn.
    pub fn is_backchannel(&self, text: &str) -> bool {
        let core: Vec<char> = text
            .chars()
            .filter(|c| {
                !c.is_whitespace() && !c.is_ascii_punctuation() && !"，。！？、…~".contains(*c)
            })
            .collect();
        !core.is_empty()
            && core.len() <= self.backchannel.max_chars
            && core.iter().all(|c| self.backchannel.chars.contains(*c))
    }

    /// The rule for this stage and intent, most specific first: this
    /// stage and intent, any stage and this intent, this stage and any
    /// intent, any stage and any intent.
    pub fn rule(&self, stage: Stage, intent: Intent) -> Option<&Rule> {
        let find = |s: Option<Stage>, i: Option<Intent>| {
            self.rules.iter().find(|r| r.stage == s && r.intent == i)
        };
        find(Some(stage), Some(intent))
            .or_else(|| find(None, Some(intent)))
            .or_else(|| find(Some(stage), None))
            .or_else(|| find(None, None))
    }

    pub fn lines_used(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().filter_map(|r| r.line.as_deref()).chain(
            self.keys
                .iter()
                .flat_map(|k| [k.offer.as_str(), k.offer_again.as_str()]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backchannels_are_short_acknowledgements() {
        let p = Policy::builtin();
        for t in ["嗯", "嗯嗯", "对。", "係", "哦"] {
            assert!(p.is_backchannel(t), "{t}");
        }
        for t in ["好的", "我是", "不是我", "明天还", "嗯我明天还", ""] {
            assert!(!p.is_backchannel(t), "{t}");
        }
    }

    #[test]
    fn keys_mean_their_intent_only_at_their_stage() {
        let p = Policy::builtin();
        let identify = p.keys(Stage::Identify).expect("identify has keys");
        assert_eq!(identify.meaning('1'), Some(Intent::ConfirmIdentity));
        assert_eq!(identify.meaning('2'), Some(Intent::DenyIdentity));
        assert_eq!(identify.meaning('5'), None);
        assert!(p.keys(Stage::Confirm).is_some());
        assert!(p.keys(Stage::Pay).is_none());
        let used: Vec<&str> = p.lines_used().collect();
        assert!(used.contains(&"keys_identify_again"), "{used:?}");
    }

    #[test]
    fn a_broken_key_menu_is_named_by_file_line_and_field() {
        let text = include_str!("../../../dialects/policy.toml");
        let header = |t: &str| {
            t.lines()
                .position(|l| l.trim() == "[keys.identify]")
                .map(|i| i + 1)
        };
        for (from, to, says) in [
            (
                "\"1\" = \"confirm_identity\"",
                "\"12\" = \"confirm_identity\"",
                "not one key",
            ),
            (
                "\"1\" = \"confirm_identity\"",
                "\"A\" = \"confirm_identity\"",
                "not a keypad key",
            ),
            (
                "\"2\" = \"deny_identity\"",
                "\"2\" = \"deny_everything\"",
                "unknown intent",
            ),
        ] {
            let broken = text.replacen(from, to, 1);
            let e = Policy::parse("policy.toml", &broken).unwrap_err();
            assert_eq!(e.line, header(&broken), "{e}");
            assert!(
                e.problem.contains("keys.identify") && e.problem.contains(says),
                "{e}"
            );
        }
        let broken = text.replacen("[keys.identify]", "[keys.greeting]", 1);
        let e = Policy::parse("policy.toml", &broken).unwrap_err();
        assert!(e.problem.contains("unknown stage 'greeting'"), "{e}");
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn a_broken_rule_is_named_by_file_and_line() {
        let text = include_str!("../../../dialects/policy.toml").replacen(
            "intent = \"deny_identity\"",
            "intent = \"deny_everything\"",
            1,
        );
        let e = Policy::parse("policy.toml", &text).unwrap_err();
        let line = text
            .lines()
            .position(|l| l.contains("deny_everything"))
            .unwrap()
            + 1;
        // The rule's header is the line before its first field.
        assert_eq!(e.file, "policy.toml");
        assert!(
            e.line.is_some_and(|l| l < line && line - l <= 3),
            "{e} ({line})"
        );
        assert!(e.problem.contains("intent"), "{e}");
    }
}
