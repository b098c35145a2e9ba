//! Hearing one side of a call: 8 kHz line frames resampled to 16 kHz and
//! fed to a streaming recognizer (VAD endpointing, then ASR), giving
//! speech-start and final-transcript events on the call clock.

use huikuan_core::Dialect;
use huikuan_speech::audio::StreamResampler;
use huikuan_speech::service::SpeechEngines;
use huikuan_speech::stream::{RecognitionEvent, StreamOptions, StreamingRecognizer};
use huikuan_speech::vad::Endpointer;

pub struct Ear {
    packs: huikuan_core::pack::DialectPacks,
    resampler: StreamResampler,
    recognizer: StreamingRecognizer,
    buf: Vec<f32>,
}

impl Ear {
    /// `end_silence_ms` overrides the VAD's end-of-speech silence (the
    /// main term of the robot's response time); with `speculate_after_ms`
    /// the turn is decoded from that much quiet on, not only at its end.
    pub fn new(
        engines: &SpeechEngines,
        dialect: Dialect,
        end_silence_ms: Option<u32>,
        speculate_after_ms: u64,
    ) -> Result<Ear, String> {
        Ear::build(engines, dialect, end_silence_ms, speculate_after_ms, false)
    }

    /// An ear that only finds where utterances end while the call runs
    /// (empty finals) and recognises them afterwards
    /// ([`Ear::decode_deferred`]).
    pub fn deferring(engines: &SpeechEngines, dialect: Dialect) -> Result<Ear, String> {
        Ear::build(engines, dialect, None, 0, true)
    }

    fn build(
        engines: &SpeechEngines,
        dialect: Dialect,
        end_silence_ms: Option<u32>,
        speculate_after_ms: u64,
        defer_decoding: bool,
    ) -> Result<Ear, String> {
        let mut vad = engines.vad.clone();
        if let Some(ms) = end_silence_ms {
            vad.end_silence_ms = ms;
        }
        let endpointer = Endpointer::new(vad).map_err(|e| e.to_string())?;
        let recognizer = StreamingRecognizer::new(
            endpointer,
            engines.pool.clone(),
            engines.packs.clone(),
            dialect,
            StreamOptions {
                partial_every_ms: 0,
                use_prompt: engines.use_prompt,
                speculate_after_ms,
                defer_decoding,
            },
        );
        Ok(Ear {
            packs: engines.packs.clone(),
            resampler: StreamResampler::new(8000, 16000, 160).map_err(|e| e.to_string())?,
            recognizer,
            buf: Vec::with_capacity(640),
        })
    }

    /// One 8 kHz frame in; the events it completed out. Recognition errors
    /// are logged and the audio dropped: a call goes on.
    pub async fn hear(&mut self, frame: &[f32]) -> Vec<RecognitionEvent> {
        self.buf.clear();
        if let Err(e) = self.resampler.push(frame, &mut self.buf) {
            tracing::warn!(error = %e, "resampling a line frame");
            return Vec::new();
        }
        if self.buf.is_empty() {
            return Vec::new();
        }
        let samples = std::mem::take(&mut self.buf);
        let r = self.recognizer.push(&samples).await;
        self.buf = samples;
        match r {
            Ok(events) => events.into_iter().map(|e| self.screen(e)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "recognition failed");
                Vec::new()
            }
        }
    }

    /// A final that is only the recognizer's prompt coming back is heard
    /// as unclear speech (empty text), not as words.
    fn screen(&self, e: RecognitionEvent) -> RecognitionEvent {
        match e {
            RecognitionEvent::Final {
                text,
                start_ms,
                end_ms,
                dialect,
                detection,
                decode_ms,
            } if self.packs.get(dialect).is_prompt_echo(&text) => {
                tracing::debug!(%text, "prompt echo heard as unclear speech");
                RecognitionEvent::Final {
                    text: String::new(),
                    start_ms,
                    end_ms,
                    dialect,
                    detection,
                    decode_ms,
                }
            }
            e => e,
        }
    }

    /// The speaker is talking now (VAD).
    pub fn in_speech(&self) -> bool {
        self.recognizer.in_speech()
    }

    /// End of the call: the open utterance, if any.
    pub async fn finish(&mut self) -> Vec<RecognitionEvent> {
        self.recognizer.finish().await.unwrap_or_default()
    }

    /// What a deferring ear heard, recognised now: (start ms, text),
    /// prompt echoes left out.
    pub async fn decode_deferred(&mut self) -> Vec<(u64, String)> {
        let heard = self.recognizer.decode_deferred().await;
        heard
            .into_iter()
            .filter(|(_, text)| {
                !self
                    .packs
                    .get(self.recognizer.dialect())
                    .is_prompt_echo(text)
            })
            .collect()
    }

    pub fn dialect(&self) -> Dialect {
        self.recognizer.dialect()
    }
}
