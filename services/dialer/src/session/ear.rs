//! Hearing one side of a call: 8 kHz line frames resampled to 16 kHz,
//! cleared of our own echo when asked, and fed to a streaming recognizer
//! (VAD endpointing, then ASR), giving speech-onset, speech-start and
//! final-transcript events on the call clock. Utterances are decoded in
//! the background: a final comes out of a later frame (or [`Ear::ready`])
//! once decoded, so the call goes on while the machine is busy.

use huikuan_core::pack::Expectation;
use huikuan_core::Dialect;
use huikuan_speech::audio::StreamResampler;
use huikuan_speech::echo::{EchoCanceller, EchoFigures};
use huikuan_speech::stream::{RecognitionEvent, StreamOptions, StreamingRecognizer};
use huikuan_speech::vad::Endpointer;
use huikuan_speech::SpeechEngines;

/// How an ear listens; the default is the plain recognizer.
#[derive(Debug, Clone, Copy, Default)]
pub struct EarOptions {
    /// Overrides the VAD's end-of-speech silence (the main term of the
    /// robot's response time).
    pub end_silence_ms: Option<u32>,
    /// Decode a turn from this much quiet on, not only at its end (0: off).
    pub speculate_after_ms: u64,
    /// Report possible speech after this much of it (0: off): the robot
    /// pauses its voice on it.
    pub onset_ms: u32,
    /// Remove the echo of what this side sends (the frames passed with
    /// each line frame).
    pub cancel_echo: bool,
    /// Only find where utterances end while the call runs (empty finals)
    /// and recognise them afterwards ([`Ear::decode_deferred`]).
    pub defer_decoding: bool,
    /// Decode on the process's low-priority lane: for a transcript no
    /// turn waits on (a call bridged to a person), which may fall behind
    /// under load while the robot's turns and the media may not.
    pub low_priority: bool,
}

/// The echo canceller and the converter for its reference.
struct EchoPath {
    canceller: EchoCanceller,
    resampler: StreamResampler,
    sent: Vec<f32>,
    clean: Vec<f32>,
}

pub struct Ear {
    packs: huikuan_core::pack::DialectPacks,
    resampler: StreamResampler,
    recognizer: StreamingRecognizer,
    echo: Option<EchoPath>,
    buf: Vec<f32>,
}

impl Ear {
    pub fn new(
        engines: &SpeechEngines,
        dialect: Dialect,
        options: EarOptions,
    ) -> Result<Ear, String> {
        let mut vad = engines.vad.clone();
        if let Some(ms) = options.end_silence_ms {
            vad.end_silence_ms = ms;
        }
        vad.onset_ms = options.onset_ms;
        let endpointer = Endpointer::new(vad).map_err(|e| e.to_string())?;
        let pool = match options.low_priority {
            true => engines.pool.for_transcripts(),
            false => engines.pool.clone(),
        };
        let recognizer = StreamingRecognizer::new(
            endpointer,
            pool,
            engines.packs.clone(),
            dialect,
            StreamOptions {
                partial_every_ms: 0,
                use_prompt: engines.use_prompt,
                speculate_after_ms: options.speculate_after_ms,
                defer_decoding: options.defer_decoding,
                decode_in_background: true,
                rescore_weight: engines.rescore_weight,
                answers_in_prompt: engines.expect_answers,
                hear_answers: engines.hear_answers,
            },
        );
        let upsampler = || StreamResampler::new(8000, 16000, 160).map_err(|e| e.to_string());
        let echo = match options.cancel_echo {
            false => None,
            true => Some(EchoPath {
                canceller: EchoCanceller::new(),
                resampler: upsampler()?,
                sent: Vec::with_capacity(640),
                clean: Vec::with_capacity(640),
            }),
        };
        Ok(Ear {
            packs: engines.packs.clone(),
            resampler: upsampler()?,
            recognizer,
            echo,
            buf: Vec::with_capacity(640),
        })
    }

    /// One 8 kHz line frame and the frame this side sent on the same tick
    /// in; the events they completed out. Recognition errors are logged and
    /// the audio dropped: a call goes on.
    pub async fn hear(&mut self, frame: &[f32], sent: &[f32]) -> Vec<RecognitionEvent> {
        self.buf.clear();
        if let Err(e) = self.resampler.push(frame, &mut self.buf) {
            tracing::warn!(error = %e, "resampling a line frame");
            return Vec::new();
        }
        if let Some(echo) = self.echo.as_mut() {
            echo.sent.clear();
            echo.clean.clear();
            match echo.resampler.push(sent, &mut echo.sent) {
                Ok(()) => echo
                    .canceller
                    .process(&echo.sent, &self.buf, &mut echo.clean),
                Err(e) => {
                    tracing::warn!(error = %e, "resampling the echo reference");
                    echo.clean.extend_from_slice(&self.buf);
                }
            }
            std::mem::swap(&mut self.buf, &mut echo.clean);
        }
        if self.buf.is_empty() {
            return Vec::new();
        }
        let samples = std::mem::take(&mut self.buf);
        let r = self.recognizer.push(&samples).await;
        self.buf = samples;
        match r {
            Ok(events) => self.screen_all(events),
            Err(e) => {
                tracing::warn!(error = %e, "recognition failed");
                Vec::new()
            }
        }
    }

    /// The finals decoded since the last frame, without waiting.
    /// What the next turns are expected to be (see
    /// [`StreamingRecognizer::expect`]).
    pub fn expect(&mut self, e: Expectation) {
        self.recognizer.expect(e);
    }

    pub fn ready(&mut self) -> Vec<RecognitionEvent> {
        let events = self.recognizer.ready();
        self.screen_all(events)
    }

    /// Start and end (call clock) of the oldest utterance still being
    /// decoded; None when every utterance heard has been recognised.
    pub fn decoding(&self) -> Option<(u64, u64)> {
        self.recognizer.decoding()
    }

    fn screen_all(&self, events: Vec<RecognitionEvent>) -> Vec<RecognitionEvent> {
        events.into_iter().map(|e| self.screen(e)).collect()
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
                confidence,
                no_speech,
            } if self.packs.get(dialect).is_prompt_echo(&text) => {
                tracing::debug!(%text, "prompt echo heard as unclear speech");
                RecognitionEvent::Final {
                    text: String::new(),
                    start_ms,
                    end_ms,
                    dialect,
                    detection,
                    decode_ms,
                    confidence,
                    no_speech,
                }
            }
            e => e,
        }
    }

    /// What the echo canceller did, if this ear has one.
    pub fn echo_stats(&self) -> Option<EchoFigures> {
        self.echo.as_ref().map(|e| e.canceller.stats())
    }

    /// The speaker is talking now (VAD).
    pub fn in_speech(&self) -> bool {
        self.recognizer.in_speech()
    }

    /// The speaker is talking or may have started to (onset detector).
    pub fn hearing_voice(&self) -> bool {
        self.recognizer.hearing_voice()
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
