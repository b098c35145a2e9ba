//! One call inspected: every check over what was heard, the call's score
//! and its measurements.

use crate::activity::{self, Talk};
use crate::agitation::{self, VoiceSummary};
use crate::config::QaConfig;
use crate::flag::{Flag, FlagKind, Speaker};
use crate::listen::HeardCall;
use crate::rules::QaRules;
use crate::wording::{self, Heard};
use chrono::NaiveDate;
use huikuan_dialogue::Nlu;
use serde::Serialize;

/// Utterances shorter than this say little about speech rate.
const RATE_MIN_MS: u64 = 3000;

/// What the inspection found in one call.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// 100 less every flag's penalty, at least 0.
    pub score: f32,
    pub flags: Vec<Flag>,
    pub talk: Talk,
    /// [collector, debtor].
    pub voices: [VoiceSummary; 2],
    /// Characters per minute of the collector's longer utterances.
    pub agent_chars_per_minute: Option<f32>,
}

/// What the call is about, as far as the inspection needs to know.
#[derive(Debug, Clone, Default)]
pub struct CallFacts {
    /// The lender's name, which the collector must say.
    pub lender: Option<String>,
    /// The call's day (for dates the debtor names).
    pub day: Option<NaiveDate>,
}

fn spoken_chars(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphanumeric()).count()
}

/// Points a second of each side's pitch and loudness kept for charts.
pub const TRACK_POINTS_PER_SECOND: u64 = 10;

/// The inspection with what was heard, as the results keep it and
/// `huikuan qa --json` prints it: the score and flags (the CLI's
/// contract) and the measurements, then the transcript, where each side
/// spoke, and each side's pitch and loudness for charts
/// ([`TRACK_POINTS_PER_SECOND`]: ms, Hz or null, dBFS).
pub fn to_json(result: &Inspection, heard: &HeardCall) -> serde_json::Result<serde_json::Value> {
    let mut json = serde_json::to_value(result)?;
    json["transcript"] = serde_json::to_value(&heard.utterances)?;
    json["duration_ms"] = heard.duration_ms.into();
    json["speech"] = serde_json::json!({"agent": heard.speech[0], "debtor": heard.speech[1]});
    json["tracks"] = serde_json::json!({
        "agent": heard.voices[0].summarized(TRACK_POINTS_PER_SECOND),
        "debtor": heard.voices[1].summarized(TRACK_POINTS_PER_SECOND),
    });
    Ok(json)
}

pub fn inspect(
    call: &HeardCall,
    rules: &QaRules,
    nlu: &Nlu,
    facts: &CallFacts,
    config: &QaConfig,
) -> Inspection {
    let today = facts
        .day
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(2026, 1, 5).expect("a valid date"));
    let heard: Vec<Heard> = call
        .utterances
        .iter()
        .map(|u| Heard::new(u, rules, nlu, today))
        .collect();
    let (mut flags, agitated) = wording::check(&heard, rules, facts.lender.as_deref(), config);
    let (talk_flags, talk) = activity::check(&call.speech[0], &call.speech[1], config);
    flags.extend(talk_flags);
    let mut voices = Vec::new();
    for speaker in Speaker::BOTH {
        let worded: Vec<(u64, u64, String)> = heard
            .iter()
            .zip(&agitated)
            .filter(|(h, hits)| h.utterance.speaker == speaker && !hits.is_empty())
            .map(|(h, hits)| {
                let words: Vec<&str> = hits.iter().map(|(_, said)| said.as_str()).collect();
                (h.utterance.start_ms, h.utterance.end_ms, words.join("、"))
            })
            .collect();
        let (f, summary) = agitation::check(
            speaker,
            &call.voices[speaker.channel()],
            &call.speech[speaker.channel()],
            &worded,
            config,
        );
        flags.extend(f);
        voices.push(summary);
    }
    let (mut chars, mut ms) = (0usize, 0u64);
    for u in call
        .utterances
        .iter()
        .filter(|u| u.speaker == Speaker::Agent && u.end_ms - u.start_ms >= RATE_MIN_MS)
    {
        let (n, long) = (spoken_chars(&u.text), u.end_ms - u.start_ms);
        (chars, ms) = (chars + n, ms + long);
        let rate = n as f32 * 60_000.0 / long as f32;
        if rate > config.max_agent_chars_per_minute {
            flags.push(Flag {
                kind: FlagKind::SpeechRate,
                speaker: Speaker::Agent,
                start_ms: u.start_ms,
                end_ms: u.end_ms,
                evidence: format!(
                    "{rate:.0} characters a minute (at most {:.0}): 「{}」",
                    config.max_agent_chars_per_minute, u.text
                ),
                rule: "max_agent_chars_per_minute".into(),
                voice: None,
            });
        }
    }
    let agent_chars_per_minute = (ms > 0).then(|| chars as f32 * 60_000.0 / ms as f32);
    flags.sort_by_key(|f| (f.start_ms, f.kind, f.speaker.channel()));
    let penalty: f32 = flags
        .iter()
        .map(|f| config.penalty.for_flag(f.kind, f.speaker))
        .sum();
    let [agent, debtor]: [VoiceSummary; 2] = voices.try_into().expect("two sides");
    Inspection {
        score: (100.0 - penalty).max(0.0),
        flags,
        talk,
        voices: [agent, debtor],
        agent_chars_per_minute,
    }
}
