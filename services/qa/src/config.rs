//! The inspection's thresholds and its workers' settings (`[qa]` in
//! huikuan.toml): every one has a default, and its unit is in its name.

use crate::flag::FlagKind;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QaConfig {
    /// Both sides speaking at once for at least this long is talk-over.
    pub talk_over_ms: u64,
    /// No one speaking for at least this long, after the first words and
    /// before the last, is a long silence.
    pub long_silence_ms: u64,
    /// The identity and lender must be said within this long of the
    /// collector's first words.
    pub identity_within_ms: u64,
    /// A stretch of speech whose pitch is this many semitones above the
    /// speaker's median in the call...
    pub agitation_pitch_st: f32,
    /// ...and whose loudness is this many decibels above it is agitated;
    /// loudness alone at twice its threshold is too, pitch alone never
    /// (see the `agitation` module).
    pub agitation_loudness_db: f32,
    /// Stretches of voice measured against the baseline, in milliseconds.
    pub agitation_window_ms: u64,
    /// Agitated wording (the rules' cues) adds this to a stretch's score
    /// (1.0 flags on its own).
    pub agitation_wording: f32,
    /// Collector speech faster than this (characters per minute, over
    /// utterances of at least 3 s) is flagged.
    pub max_agent_chars_per_minute: f32,
    /// Points a flag of each kind takes off the call's 100.
    pub penalty: Penalties,
    /// `huikuan serve` inspects calls too (at low priority, beside live
    /// calls); `huikuan qa-worker` processes add to it or replace it.
    pub in_serve: bool,
    /// How long a worker holds a call before another may take it over
    /// (its inspection must finish well within it).
    pub lease_seconds: u64,
    /// The robot's words are taken from its call record (what it was
    /// told to say, placed where the recording has its voice) instead of
    /// being recognized again; a person's words are always recognized.
    pub robot_words_from_record: bool,
}

impl Default for QaConfig {
    fn default() -> Self {
        QaConfig {
            talk_over_ms: 1500,
            long_silence_ms: 8000,
            identity_within_ms: 60_000,
            robot_words_from_record: true,
            agitation_pitch_st: 3.0,
            agitation_loudness_db: 6.0,
            agitation_window_ms: 1000,
            agitation_wording: 1.0,
            max_agent_chars_per_minute: 330.0,
            penalty: Penalties::default(),
            in_serve: true,
            lease_seconds: 600,
        }
    }
}

/// Points off per flag, by kind. The debtor's own agitation is reported
/// but costs the call nothing: it is not the collector's fault.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Penalties {
    pub forbidden_wording: f32,
    pub missing_disclosure: f32,
    pub rude_attitude: f32,
    pub talk_over: f32,
    pub long_silence: f32,
    pub agent_agitation: f32,
    pub debtor_agitation: f32,
    pub speech_rate: f32,
}

impl Default for Penalties {
    fn default() -> Self {
        Penalties {
            forbidden_wording: 30.0,
            missing_disclosure: 20.0,
            rude_attitude: 15.0,
            talk_over: 5.0,
            long_silence: 5.0,
            agent_agitation: 10.0,
            debtor_agitation: 0.0,
            speech_rate: 5.0,
        }
    }
}

impl QaConfig {
    /// The thresholds make sense: named errors otherwise.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("qa.talk_over_ms", self.talk_over_ms as f32),
            ("qa.long_silence_ms", self.long_silence_ms as f32),
            ("qa.identity_within_ms", self.identity_within_ms as f32),
            ("qa.agitation_pitch_st", self.agitation_pitch_st),
            ("qa.agitation_loudness_db", self.agitation_loudness_db),
            ("qa.agitation_window_ms", self.agitation_window_ms as f32),
            (
                "qa.max_agent_chars_per_minute",
                self.max_agent_chars_per_minute,
            ),
            ("qa.lease_seconds", self.lease_seconds as f32),
        ];
        for (key, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{key}: must be above 0 (is {v})"));
            }
        }
        if !(self.agitation_wording.is_finite() && self.agitation_wording >= 0.0) {
            return Err("qa.agitation_wording: must be 0 or more".into());
        }
        for kind in FlagKind::ALL {
            for (key, v) in self.penalty.of(*kind) {
                if !(v.is_finite() && (0.0..=100.0).contains(&v)) {
                    return Err(format!("qa.penalty.{key}: must be 0 to 100 (is {v})"));
                }
            }
        }
        Ok(())
    }
}

impl Penalties {
    /// The penalties that apply to a kind, with their keys (agitation has
    /// one per side).
    fn of(&self, kind: FlagKind) -> Vec<(&'static str, f32)> {
        match kind {
            FlagKind::ForbiddenWording => vec![("forbidden_wording", self.forbidden_wording)],
            FlagKind::MissingDisclosure => vec![("missing_disclosure", self.missing_disclosure)],
            FlagKind::RudeAttitude => vec![("rude_attitude", self.rude_attitude)],
            FlagKind::TalkOver => vec![("talk_over", self.talk_over)],
            FlagKind::LongSilence => vec![("long_silence", self.long_silence)],
            FlagKind::Agitation => vec![
                ("agent_agitation", self.agent_agitation),
                ("debtor_agitation", self.debtor_agitation),
            ],
            FlagKind::SpeechRate => vec![("speech_rate", self.speech_rate)],
        }
    }

    /// Points a flag takes off.
    pub fn for_flag(&self, kind: FlagKind, speaker: crate::flag::Speaker) -> f32 {
        match (kind, speaker) {
            (FlagKind::Agitation, crate::flag::Speaker::Debtor) => self.debtor_agitation,
            (FlagKind::Agitation, crate::flag::Speaker::Agent) => self.agent_agitation,
            (k, _) => self.of(k)[0].1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_valid() {
        let c = QaConfig::default();
        assert_eq!(c.talk_over_ms, 1500);
        assert_eq!(c.long_silence_ms, 8000);
        c.validate().unwrap();
    }

    #[test]
    fn a_bad_threshold_is_named() {
        let c: QaConfig = toml::from_str("long_silence_ms = 0").unwrap();
        assert!(c.validate().unwrap_err().starts_with("qa.long_silence_ms"));
        let c: QaConfig = toml::from_str("[penalty]\ntalk_over = 120.0").unwrap();
        assert!(c
            .validate()
            .unwrap_err()
            .starts_with("qa.penalty.talk_over"));
        let e = toml::from_str::<QaConfig>("talkover_ms = 3").unwrap_err();
        assert!(e.to_string().contains("talkover_ms"), "{e}");
    }
}
