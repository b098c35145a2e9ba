//! Huikuan's speech engine: everything between telephone audio and text.
//!
//! Here: G.711 and rate conversion, WAV files, line echo cancellation,
//! voice activity detection and endpointing, speech recognition (whisper,
//! behind the `Recognizer` trait, loaded once per process and shared by all
//! calls), speech synthesis
//! (behind `Synthesizer`), recorded prompt packs (a person's recordings
//! of the fixed lines, the rest synthesized), the dialect packs that
//! configure both, the
//! dialect detector, and recognition scoring (CER).
//!
//! The `huikuan.v1.Speech` gRPC service (streaming recognition, synthesis;
//! its types from `huikuan-proto`) is here too, without authentication:
//! the server that mounts it adds that.
//!
//! Not here: what the words mean (dialogue) and SIP/RTP (dialer).

pub mod asr;
pub mod audio;
pub mod config;
pub mod detect;
pub mod echo;
pub mod engines;
pub mod eval;
pub use huikuan_core::pack;
pub mod prompts;
pub mod service;
pub mod stream;
pub mod text;
pub mod tts;
pub mod vad;

pub use asr::{AsrPool, Recognizer, Transcript};
pub use config::SpeechConfig;
pub use engines::SpeechEngines;
pub use pack::{DialectPack, DialectPacks};
