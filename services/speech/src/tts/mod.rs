//! Speech synthesis behind the [`Synthesizer`] trait: text normalised to
//! words (`spoken`), split into sentences that are synthesized one at a
//! time (so the first can play while the next is made), in the voice the
//! dialect pack names, resampled to the rate the caller wants (8 kHz for
//! the line, 16 kHz for wideband).

pub mod baker;
pub mod espeak;
pub mod g2p;
pub mod spoken;
pub mod zhtts;

use crate::audio;
use crate::pack::DialectPacks;
use huikuan_core::Dialect;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("voice model {path}: {reason}")]
    Model { path: String, reason: String },
    #[error("no voice '{voice}' for {dialect} (configured in its dialect pack)")]
    NoVoice { voice: String, dialect: Dialect },
    #[error("synthesis failed: {0}")]
    Synthesis(String),
    #[error("the synthesizer is shutting down")]
    Closed,
}

/// One voice model: speaks a normalised sentence at its native rate.
pub trait Voice: Send + Sync {
    fn rate(&self) -> u32;
    fn speak_sentence(&self, spoken: &str, speed: f32) -> Result<Vec<f32>, SynthError>;
}

/// Text to speech in a dialect.
pub trait Synthesizer: Send + Sync {
    /// One sentence (any text: numbers, amounts and dates are read out),
    /// as mono samples at `rate` Hz.
    fn sentence(&self, text: &str, dialect: Dialect, rate: u32) -> Result<Vec<f32>, SynthError>;

    /// A whole text: sentence by sentence, joined with short pauses.
    fn text(&self, text: &str, dialect: Dialect, rate: u32) -> Result<Vec<f32>, SynthError> {
        let pause = vec![0.0; rate as usize / 5];
        let mut out = Vec::new();
        for (i, s) in split_sentences(text).iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(&pause);
            }
            out.extend(self.sentence(s, dialect, rate)?);
        }
        Ok(out)
    }
}

/// Splits after 。！？；… and line breaks, keeping the punctuation; long
/// sentences are also split after commas once they pass ~24 characters so
/// the first audio is ready sooner.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c == '\n' || c == '\r' {
            if !cur.trim().is_empty() {
                out.push(cur.trim().to_string());
            }
            cur.clear();
            continue;
        }
        cur.push(c);
        let hard = "。！？!?；;…".contains(c);
        let soft = "，,".contains(c) && cur.chars().count() >= 24;
        if hard || soft {
            if !cur.trim().is_empty() {
                out.push(cur.trim().to_string());
            }
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Quiet kept before and after each synthesized sentence.
pub const EDGE_QUIET_MS: u32 = 40;

/// The voices of all dialect packs, by name, and the packs that pick them.
pub struct TtsEngine {
    packs: DialectPacks,
    voices: HashMap<String, Arc<dyn Voice>>,
}

impl TtsEngine {
    pub fn new(packs: DialectPacks) -> Self {
        TtsEngine {
            packs,
            voices: HashMap::new(),
        }
    }

    pub fn with_voice(mut self, name: &str, voice: Arc<dyn Voice>) -> Self {
        self.voices.insert(name.to_string(), voice);
        self
    }

    pub fn has_voice_for(&self, dialect: Dialect) -> bool {
        self.voices.contains_key(&self.packs.get(dialect).tts.voice)
    }
}

impl Synthesizer for TtsEngine {
    fn sentence(&self, text: &str, dialect: Dialect, rate: u32) -> Result<Vec<f32>, SynthError> {
        let pack = self.packs.get(dialect);
        let voice = self
            .voices
            .get(&pack.tts.voice)
            .ok_or_else(|| SynthError::NoVoice {
                voice: pack.tts.voice.clone(),
                dialect,
            })?;
        let spoken = spoken::to_spoken(text);
        let native = voice.speak_sentence(&spoken, pack.tts.speed)?;
        // Voices start and end with silence of their own (up to ~300 ms):
        // dead air before a reply. Callers put their own pauses between
        // sentences.
        let native = audio::trim_quiet(&native, voice.rate(), EDGE_QUIET_MS);
        audio::convert(native, voice.rate(), rate).map_err(|e| SynthError::Synthesis(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_at_stops_and_at_commas_when_long() {
        assert_eq!(
            split_sentences("您好。请问是张先生吗？\n好的"),
            vec!["您好。", "请问是张先生吗？", "好的"]
        );
        let long = "您在我们平台的借款已经逾期十五天了，逾期金额三千二百五十元，请您尽快处理。";
        let parts = split_sentences(long);
        assert_eq!(parts.concat(), long);
        assert!(parts.len() >= 2, "{parts:?}");
    }
}
