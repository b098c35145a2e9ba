//! Speech recognition behind the [`Recognizer`] trait, an async pool that
//! bounds how many decodes run at once, and the streaming layer that turns
//! endpointed audio into partial and final hypotheses.

pub mod answers;
pub mod background;
pub mod beams;
pub mod neighbours;
pub mod pool;
pub mod quantize;
pub mod rescore;
pub mod sherpa;
pub mod whisper;

pub use pool::AsrPool;
pub use quantize::WeightType;
pub use whisper::{AudioCtx, WhisperConfig, WhisperRecognizer};

use std::sync::atomic::AtomicBool;

/// What to recognize: 16 kHz mono samples and how to decode them.
#[derive(Debug, Clone)]
pub struct RecognizeRequest<'a> {
    pub samples: &'a [f32],
    /// Whisper language code from the dialect pack ("zh").
    pub language: &'a str,
    /// Initial prompt from the dialect pack (may be empty).
    pub prompt: &'a str,
    /// Threads this decode may use (None: the recognizer's own setting).
    pub threads: Option<i32>,
    /// Set when nobody waits for the result any more: a recognizer that
    /// can stops at its next step.
    pub cancelled: Option<&'a AtomicBool>,
    /// The answers the turn is likely to be (the stage's, from the dialect
    /// pack): a recognizer that can hears a short turn as the one it fits
    /// best (see [`answers`]). Empty: decoded freely.
    pub answers: &'a [String],
}

/// How to decode an utterance, as a stream asks its pool: the dialect
/// pack's language, the prompt, and the answers the turn is likely to be
/// (see [`RecognizeRequest`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoding {
    pub language: String,
    pub prompt: String,
    pub answers: Vec<String>,
}

impl Decoding {
    /// Decoded freely in `language`, with no prompt and no answers.
    pub fn plain(language: &str) -> Self {
        Decoding {
            language: language.to_string(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// Simplified Chinese, cleaned.
    pub text: String,
    /// Highest no-speech probability over the segments (0 when none).
    pub no_speech_prob: f32,
    /// How sure the recognizer was of its words, 0..=1: the geometric
    /// mean of its text tokens' probabilities (1 when it reports none,
    /// 0 for no words).
    pub confidence: f32,
    /// Wall time the decode took.
    pub decode_ms: u64,
    /// The recognizer's readings of the audio, best first by its own
    /// score (`text` among them); empty when it gives only one (greedy
    /// decoding). See [`rescore`].
    pub nbest: Vec<Hypothesis>,
}

/// One reading of the audio and how likely the recognizer found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypothesis {
    /// Simplified Chinese, cleaned as [`Transcript::text`].
    pub text: String,
    /// Mean log-probability of its tokens (end of text included): 0 is
    /// certain, below -1 is a guess.
    pub score: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error("recognizer model {path}: {reason}")]
    Model { path: String, reason: String },
    #[error("recognition failed: {0}")]
    Decode(String),
    #[error("the recognizer is shutting down")]
    Closed,
}

/// A speech recognizer. Implementations block (they are CPU bound); call
/// them through [`AsrPool`] from async code.
pub trait Recognizer: Send + Sync {
    fn recognize(&self, req: &RecognizeRequest<'_>) -> Result<Transcript, AsrError>;
    /// Model and parameters, for logs and benchmark tables.
    fn describe(&self) -> String;
}
