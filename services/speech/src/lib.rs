//! Huikuan's speech engine: everything between telephone audio and text.
//!
//! Here: G.711 and rate conversion, WAV files, voice activity detection and
//! endpointing, speech recognition (whisper, behind the `Recognizer` trait,
//! loaded once per process and shared by all calls), speech synthesis
//! (behind `Synthesizer`), the dialect packs that configure both, the
//! dialect detector, and recognition scoring (CER).
//!
//! Not here: what the words mean (dialogue), SIP/RTP (dialer), and the gRPC
//! transport of these engines (the speech service wraps this crate).

pub mod asr;
pub mod audio;
pub mod config;
pub mod eval;
pub mod pack;
pub mod text;
pub mod tts;
pub mod vad;

pub use asr::{AsrPool, Recognizer, Transcript};
pub use config::SpeechConfig;
pub use pack::{DialectPack, DialectPacks};
