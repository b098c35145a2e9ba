//! Voice activity detection and endpointing: silero VAD (ONNX) through
//! sherpa-onnx, fed 16 kHz audio in any block size, emitting speech-start
//! and speech-end events with timestamps on the stream's own clock.
//!
//! One [`Endpointer`] per call leg: the detector is stateful.
//!
//! Speech is confirmed after `min_speech_ms` of it, which keeps clicks and
//! breaths from becoming utterances. A caller that must react sooner (the
//! robot stopping its voice when the debtor cuts in) asks for an onset
//! detector as well: a second silero instance that reports speech after
//! only `onset_ms` ([`VadEvent::Onset`]), which may still turn out to be
//! a click that is never confirmed.

use sherpa_rs::silero_vad::{SileroVad, SileroVadConfig};
use std::path::PathBuf;

/// The detector works on 16 kHz audio.
pub const VAD_RATE: u32 = 16_000;

#[derive(Debug, Clone)]
pub struct VadConfig {
    /// silero_vad.onnx.
    pub model: PathBuf,
    /// Speech probability above which a window counts as speech.
    pub threshold: f32,
    /// Shorter bursts are ignored (clicks, breaths).
    pub min_speech_ms: u32,
    /// Silence that ends an utterance (end-of-speech), e.g. 500-800 ms.
    pub end_silence_ms: u32,
    /// An utterance longer than this is cut (and recognized) anyway.
    pub max_speech_ms: u32,
    /// Report a possible speech onset after this much speech, before
    /// `min_speech_ms` confirms it (0: no onset events).
    pub onset_ms: u32,
}

impl VadConfig {
    pub fn new(model: impl Into<PathBuf>) -> Self {
        VadConfig {
            model: model.into(),
            threshold: 0.5,
            min_speech_ms: 200,
            end_silence_ms: 600,
            max_speech_ms: 20_000,
            onset_ms: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum VadEvent {
    /// Possible speech: `onset_ms` of it heard (see [`VadConfig::onset_ms`]),
    /// not yet confirmed. `at_ms` is when it began (stream time).
    Onset { at_ms: u64 },
    /// Speech detected; `at_ms` is when it began (stream time).
    SpeechStart { at_ms: u64 },
    /// An utterance ended after `end_silence_ms` of silence (or was cut at
    /// `max_speech_ms`, or the stream ended); its audio is attached, from
    /// shortly before speech was confirmed up to now (trailing silence
    /// included).
    SpeechEnd {
        start_ms: u64,
        end_ms: u64,
        samples: Vec<f32>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum VadError {
    #[error("VAD model {path}: {reason}")]
    Model { path: String, reason: String },
}

pub struct Endpointer {
    vad: SileroVad,
    /// The quick detector for onsets, when asked for.
    onset: Option<SileroVad>,
    onset_active: bool,
    config: VadConfig,
    /// Samples fed so far.
    fed: u64,
    speaking: bool,
    /// Audio since the current utterance began (for partial hypotheses).
    current: Vec<f32>,
    /// The last moments of audio, for the start of an utterance.
    recent: Vec<f32>,
    current_start: u64,
}

fn ms(samples: u64) -> u64 {
    samples * 1000 / VAD_RATE as u64
}

impl Endpointer {
    pub fn new(config: VadConfig) -> Result<Self, VadError> {
        let path = config.model.display().to_string();
        if !config.model.is_file() {
            return Err(VadError::Model {
                path,
                reason: "no such file (run ./scripts/fetch-models.sh)".into(),
            });
        }
        let detector = |min_speech_ms: u32, min_silence_ms: u32| {
            SileroVad::new(
                SileroVadConfig {
                    model: path.clone(),
                    threshold: config.threshold,
                    min_speech_duration: min_speech_ms as f32 / 1000.0,
                    min_silence_duration: min_silence_ms as f32 / 1000.0,
                    max_speech_duration: config.max_speech_ms as f32 / 1000.0,
                    sample_rate: VAD_RATE,
                    window_size: 512,
                    num_threads: Some(1),
                    ..Default::default()
                },
                (config.max_speech_ms as f32 / 1000.0) + 10.0,
            )
            .map_err(|e| VadError::Model {
                path: path.clone(),
                reason: e.to_string(),
            })
        };
        let vad = detector(config.min_speech_ms, config.end_silence_ms)?;
        // The onset detector only needs to notice speech coming back after
        // a short gap; its segments are thrown away.
        let onset = match config.onset_ms {
            0 => None,
            ms => Some(detector(ms, 100)?),
        };
        Ok(Endpointer {
            vad,
            onset,
            onset_active: false,
            config,
            fed: 0,
            speaking: false,
            current: Vec::new(),
            recent: Vec::new(),
            current_start: 0,
        })
    }

    pub fn config(&self) -> &VadConfig {
        &self.config
    }

    /// True between a speech start and its end.
    pub fn in_speech(&self) -> bool {
        self.speaking
    }

    /// Speech confirmed, or the onset detector hearing a possible start.
    pub fn hearing_voice(&self) -> bool {
        self.speaking || self.onset_active
    }

    /// Stream time (ms) of everything fed so far.
    pub fn now_ms(&self) -> u64 {
        ms(self.fed)
    }

    /// The current utterance's audio so far (empty when not in speech).
    pub fn current_audio(&self) -> &[f32] {
        &self.current
    }

    /// Feeds 16 kHz samples; returns what happened in them.
    pub fn push(&mut self, samples: &[f32]) -> Vec<VadEvent> {
        let mut events = Vec::new();
        self.vad.accept_waveform(samples.to_vec());
        self.fed += samples.len() as u64;
        self.detect_onset(samples, &mut events);
        let detected = self.vad.is_speech();
        // The detector confirms speech after min_speech_ms of it.
        let back = ((self.config.min_speech_ms as u64 + 100) * VAD_RATE as u64 / 1000) as usize;
        if detected && !self.speaking {
            self.speaking = true;
            self.current_start = self.fed.saturating_sub(back as u64);
            // The utterance began before it was confirmed: keep its start.
            self.current.clear();
            let lead = back.saturating_sub(samples.len()).min(self.recent.len());
            self.current
                .extend_from_slice(&self.recent[self.recent.len() - lead..]);
            events.push(VadEvent::SpeechStart {
                at_ms: ms(self.current_start),
            });
        }
        if self.speaking {
            self.current.extend_from_slice(samples);
        }
        self.recent.extend_from_slice(samples);
        if self.recent.len() > 2 * back {
            let drop = self.recent.len() - back;
            self.recent.drain(..drop);
        }
        self.drain_segments(&mut events);
        if !detected && self.speaking && self.vad.is_empty() {
            self.speaking = false;
            self.current.clear();
        }
        events
    }

    /// The onset detector's view of `samples` (already counted in `fed`).
    fn detect_onset(&mut self, samples: &[f32], events: &mut Vec<VadEvent>) {
        let Some(onset) = self.onset.as_mut() else {
            return;
        };
        onset.accept_waveform(samples.to_vec());
        let active = onset.is_speech();
        while !onset.is_empty() {
            onset.pop();
        }
        if active && !self.onset_active && !self.speaking {
            // The detector reports speech one window after onset_ms of it.
            let back = (self.config.onset_ms as u64 + 32) * VAD_RATE as u64 / 1000;
            events.push(VadEvent::Onset {
                at_ms: ms(self.fed.saturating_sub(back)),
            });
        }
        self.onset_active = active;
    }

    /// Ends the stream: an utterance still open is closed and returned.
    pub fn flush(&mut self) -> Vec<VadEvent> {
        let mut events = Vec::new();
        self.vad.flush();
        self.drain_segments(&mut events);
        self.speaking = false;
        self.current.clear();
        events
    }

    /// Forgets everything buffered (e.g. audio heard while the robot spoke).
    pub fn reset(&mut self) {
        self.vad.clear();
        if let Some(o) = self.onset.as_mut() {
            o.clear();
        }
        self.onset_active = false;
        self.recent.clear();
        self.speaking = false;
        self.current.clear();
    }

    fn drain_segments(&mut self, events: &mut Vec<VadEvent>) {
        while !self.vad.is_empty() {
            let seg = self.vad.front();
            self.vad.pop();
            let start = seg.start.max(0) as u64;
            let end = start + seg.samples.len() as u64;
            if !self.speaking {
                events.push(VadEvent::SpeechStart { at_ms: ms(start) });
            }
            // The utterance as this endpointer held it (from just before
            // speech was confirmed, up to now), which is what partial and
            // speculative decodes saw too; the detector's own segment when
            // nothing was held.
            let samples = if self.current.is_empty() {
                seg.samples
            } else {
                std::mem::take(&mut self.current)
            };
            events.push(VadEvent::SpeechEnd {
                start_ms: ms(start),
                end_ms: ms(end),
                samples,
            });
            self.speaking = self.vad.is_speech();
            self.current.clear();
            if self.speaking {
                self.current_start = self.fed;
            }
        }
    }
}
