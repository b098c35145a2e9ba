//! What an inspection finds: flags of a closed set of kinds, each on one
//! side of the call, with its time span and the evidence for it.

use serde::Serialize;
use std::fmt;

/// Whose voice a flag is about: channel 1 of the recording is the
/// collector (robot or agent), channel 2 the debtor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Agent,
    Debtor,
}

impl Speaker {
    pub const BOTH: [Speaker; 2] = [Speaker::Agent, Speaker::Debtor];

    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Agent => "agent",
            Speaker::Debtor => "debtor",
        }
    }

    /// The recording's channel (0-based) this speaker is on.
    pub fn channel(self) -> usize {
        match self {
            Speaker::Agent => 0,
            Speaker::Debtor => 1,
        }
    }
}

impl fmt::Display for Speaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use huikuan_core::flag_kind::FlagKind;

/// One finding: its kind, whose voice, when, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    #[serde(rename = "type")]
    pub kind: FlagKind,
    #[serde(rename = "channel")]
    pub speaker: Speaker,
    pub start_ms: u64,
    pub end_ms: u64,
    /// What a supervisor reads: the words heard, or the measurements.
    pub evidence: String,
    /// The rule that raised it (a wording category, a disclosure's name,
    /// a threshold's key).
    pub rule: String,
    /// Measurements behind it, where there are some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceEvidence>,
}

/// Pitch and loudness of a span against the speaker's level in the call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VoiceEvidence {
    pub pitch_hz: f32,
    pub baseline_pitch_hz: f32,
    /// Semitones above the baseline.
    pub pitch_rise_st: f32,
    pub loudness_db: f32,
    pub baseline_loudness_db: f32,
    /// Decibels above the baseline.
    pub loudness_rise_db: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_kinds_read_back_from_their_names_and_bad_names_are_named() {
        for k in FlagKind::ALL {
            assert_eq!(k.as_str().parse::<FlagKind>(), Ok(*k));
            assert!(!k.about().is_empty());
        }
        let e = "threat".parse::<FlagKind>().unwrap_err();
        assert!(e.contains("'threat'") && e.contains("talk_over"), "{e}");
    }

    #[test]
    fn a_flag_serializes_as_the_cli_contract_says() {
        let f = Flag {
            kind: FlagKind::TalkOver,
            speaker: Speaker::Debtor,
            start_ms: 1000,
            end_ms: 2600,
            evidence: "both spoke 1.6 s".into(),
            rule: "talk_over_ms".into(),
            voice: None,
        };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["type"], "talk_over");
        assert_eq!(v["channel"], "debtor");
        assert_eq!(v["start_ms"], 1000);
        assert_eq!(v["end_ms"], 2600);
        assert!(v.get("voice").is_none());
    }
}
