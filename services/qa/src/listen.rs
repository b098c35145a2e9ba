//! A recording heard: each channel cut into utterances by the voice
//! activity detector, each utterance recognized with the dialect's
//! settings, and each channel's pitch and loudness tracked where it
//! speaks.

use crate::flag::Speaker;
use crate::prosody::{PitchTracker, VoiceTrack};
use crate::recording::Recording;
use crate::Utterance;
use huikuan_core::Dialect;
use huikuan_speech::asr::{AsrError, RecognizeRequest, Recognizer};
use huikuan_speech::audio::resample;
use huikuan_speech::vad::{Endpointer, VadConfig, VadError, VadEvent, VAD_RATE};
use huikuan_speech::DialectPacks;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(transparent)]
    Vad(#[from] VadError),
    #[error(transparent)]
    Asr(#[from] AsrError),
    #[error("resampling the recording: {0}")]
    Resample(String),
}

/// What was heard on both channels.
#[derive(Debug, Clone, Default)]
pub struct HeardCall {
    pub duration_ms: u64,
    /// Both sides' utterances in order of their start.
    pub utterances: Vec<Utterance>,
    /// Where each side spoke, [collector, debtor].
    pub speech: [Vec<(u64, u64)>; 2],
    pub voices: [VoiceTrack; 2],
}

/// The engines that hear a recording, loaded once per process.
pub struct Listener {
    pub recognizer: Arc<dyn Recognizer>,
    pub vad: VadConfig,
    pub packs: DialectPacks,
    pub use_prompt: bool,
}

impl Listener {
    /// The endpointer's settings for a recording already whole: short
    /// pauses end an utterance, so a side's speech is where it was.
    fn vad_config(&self) -> VadConfig {
        VadConfig {
            end_silence_ms: 400,
            min_speech_ms: 200,
            max_speech_ms: 20_000,
            onset_ms: 0,
            ..self.vad.clone()
        }
    }

    pub fn listen(
        &self,
        recording: &Recording,
        dialect: Dialect,
    ) -> Result<HeardCall, ListenError> {
        let pack = self.packs.get(dialect);
        let prompt = if self.use_prompt {
            pack.asr_prompt()
        } else {
            String::new()
        };
        let mut heard = HeardCall {
            duration_ms: recording.duration_ms(),
            ..HeardCall::default()
        };
        let mut tracker = PitchTracker::new();
        for speaker in Speaker::BOTH {
            let samples = &recording.channels[speaker.channel()];
            let audio = resample::convert(samples, recording.rate, VAD_RATE)
                .map_err(|e| ListenError::Resample(e.to_string()))?;
            let mut vad = Endpointer::new(self.vad_config())?;
            let mut segments = Vec::new();
            for block in audio.chunks(512) {
                segments.extend(vad.push(block));
            }
            segments.extend(vad.flush());
            for event in segments {
                let VadEvent::SpeechEnd {
                    start_ms,
                    end_ms,
                    samples,
                } = event
                else {
                    continue;
                };
                heard.speech[speaker.channel()].push((start_ms, end_ms));
                let t = self.recognizer.recognize(&RecognizeRequest {
                    samples: &samples,
                    language: &pack.asr.language,
                    prompt: &prompt,
                    threads: None,
                    cancelled: None,
                })?;
                if !t.text.trim().is_empty() {
                    heard.utterances.push(Utterance {
                        speaker,
                        start_ms,
                        end_ms,
                        text: t.text,
                    });
                }
            }
            heard.voices[speaker.channel()] =
                tracker.track(samples, recording.rate, &heard.speech[speaker.channel()]);
        }
        heard
            .utterances
            .sort_by_key(|u| (u.start_ms, u.speaker.channel()));
        Ok(heard)
    }
}
