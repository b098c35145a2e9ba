//! The engines a speech worker loads once per process and every call
//! shares: the recognizer pool, the voices, the dialect packs and the VAD
//! model (made by `SpeechConfig::engines`).

use crate::asr::AsrPool;
use crate::pack::DialectPacks;
use crate::tts::Synthesizer;
use crate::vad::VadConfig;
use std::sync::Arc;

/// Everything a speech worker loads once: the recognizer pool, the voices,
/// the dialect packs and where the VAD model is.
#[derive(Clone)]
pub struct SpeechEngines {
    pub pool: AsrPool,
    pub tts: Arc<dyn Synthesizer>,
    pub packs: DialectPacks,
    pub vad: VadConfig,
    pub use_prompt: bool,
    /// Tell the recognizer what a call's next turn is expected to be.
    pub expect_answers: bool,
    /// Hear a short turn as the stage's likely answer it fits best.
    pub hear_answers: bool,
    /// How much the expected answers weigh among a beam's readings.
    pub rescore_weight: f32,
}
