//! Streaming recognition for one call leg: audio in (16 kHz, any block
//! size), events out: speech started, partial hypotheses while the speaker
//! talks (re-decoding the utterance so far, never more than one at a time
//! and never holding up the audio), and a final hypothesis at end of
//! speech, tagged with the dialect the detector settled on.

use crate::asr::rescore::rescore;
use crate::asr::{AsrError, AsrPool, Decoding, Transcript};
use crate::detect::{Detection, DialectDetector};
use crate::pack::{DialectPack, DialectPacks, Expectation};
use crate::vad::{Endpointer, VadEvent};
use futures::FutureExt;
use huikuan_core::Dialect;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::task::{JoinError, JoinHandle};

#[derive(Debug, Clone, PartialEq)]
pub enum RecognitionEvent {
    /// Possible speech (see `VadConfig::onset_ms`): not yet confirmed.
    Onset {
        at_ms: u64,
    },
    SpeechStarted {
        at_ms: u64,
    },
    Partial {
        text: String,
        start_ms: u64,
        /// Stream time of the audio the partial covers.
        upto_ms: u64,
    },
    Final {
        text: String,
        start_ms: u64,
        end_ms: u64,
        dialect: Dialect,
        detection: Detection,
        decode_ms: u64,
        /// The recognizer's confidence in the words (see [`Transcript`]).
        confidence: f32,
        /// How likely the recognizer thought the audio held no speech.
        no_speech: f32,
    },
}

#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Decode the utterance so far every this many ms of speech (0: no partials).
    pub partial_every_ms: u64,
    /// Use the dialect pack's prompt.
    pub use_prompt: bool,
    /// Start decoding the utterance once the speaker has been quiet this
    /// long (0: off; at least `DECODE_TAIL_MS`), instead of only when the
    /// end-of-speech silence has passed; the result is used at end of
    /// speech if nothing was said in between. It decodes the samples the
    /// final decode would, so it saves most of the end-of-speech wait on
    /// replies without changing what is recognised.
    pub speculate_after_ms: u64,
    /// Decode nothing while the stream runs: each utterance ends with an
    /// empty final (for turn-taking) and its audio is kept for
    /// [`StreamingRecognizer::decode_deferred`]. For listeners whose words
    /// are only needed afterwards (a load test's simulated phones).
    pub defer_decoding: bool,
    /// `push` does not wait for an utterance's decode: its final comes
    /// out of a later `push` (or [`StreamingRecognizer::ready`]) once
    /// decoded, finals always in the order spoken. `finish` waits for
    /// them all.
    pub decode_in_background: bool,
    /// How much the expected answers ([`StreamingRecognizer::expect`])
    /// weigh in choosing among the recognizer's readings of a turn
    /// (0: its pick always; see [`crate::asr::rescore`]; only with
    /// `answers_in_prompt`).
    pub rescore_weight: f32,
    /// Tell the prompt the words in play and the stage's likely answers
    /// (else the pack's prompt alone).
    pub answers_in_prompt: bool,
    /// Hear a short turn as the stage's likely answer it fits best, when
    /// it fits one better than its free reading (see
    /// [`crate::asr::answers`]).
    pub hear_answers: bool,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            partial_every_ms: 0,
            use_prompt: true,
            speculate_after_ms: 0,
            defer_decoding: false,
            decode_in_background: false,
            rescore_weight: 0.0,
            answers_in_prompt: false,
            hear_answers: false,
        }
    }
}

/// An utterance that has ended, being decoded.
struct PendingFinal {
    start_ms: u64,
    end_ms: u64,
    task: Decode,
}

/// An utterance heard while decoding was deferred.
struct HeldUtterance {
    start_ms: u64,
    samples: Vec<f32>,
}

struct PendingPartial {
    start_ms: u64,
    upto_ms: u64,
    task: Decode,
}

/// A decode running as its own task, aborted when dropped: a decode
/// nobody waits for any more (a stale partial, a speculation the speaker
/// talked through, a recognizer gone) stops taking the machine's time.
struct Decode(JoinHandle<Result<Transcript, AsrError>>);

impl Decode {
    fn spawn(decode: impl Future<Output = Result<Transcript, AsrError>> + Send + 'static) -> Self {
        Decode(tokio::spawn(decode))
    }

    /// Decodes `audio` through `pool` with the given language and prompt.
    fn of(pool: &AsrPool, audio: Vec<f32>, decoding: Decoding) -> Self {
        let pool = pool.clone();
        Decode::spawn(async move { pool.recognize(audio, decoding).await })
    }

    fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl Future for Decode {
    type Output = Result<Result<Transcript, AsrError>, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl Drop for Decode {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A decode started when the speaker went quiet.
struct Speculation {
    task: Decode,
}

/// Below this RMS a block counts as quiet (about -50 dBFS), or below
/// twice the line's noise level on a noisier line.
const QUIET_RMS: f32 = 0.003;

/// The noise level follows quieter blocks outside speech with this
/// weight, and louder ones only slowly (the first moments of an utterance
/// come before the VAD confirms it and must not lift it to speech level).
const NOISE_FALL: f32 = 0.2;
const NOISE_RISE: f32 = 0.01;

/// Quiet kept at the end of an utterance's audio for decoding. Speculative
/// and final decodes trim to the same tail, so they decode the same
/// samples and speculation changes when a turn is recognised, not what.
pub const DECODE_TAIL_MS: u64 = 120;

/// `audio` without its trailing quiet beyond `DECODE_TAIL_MS`, given that
/// its last `quiet_ms` were quiet.
fn decode_audio(audio: &[f32], quiet_ms: u64) -> &[f32] {
    let cut = (quiet_ms.saturating_sub(DECODE_TAIL_MS) * 16) as usize;
    &audio[..audio.len() - cut.min(audio.len())]
}

/// The recognizer's prompt for a turn expected as `e` says (none when
/// prompts are off): the same for live calls and for measurements.
fn prompt_for(pack: &DialectPack, use_prompt: bool, e: &Expectation) -> String {
    if use_prompt {
        pack.asr_prompt_expecting(e)
    } else {
        String::new()
    }
}

/// What the prompt and the rescoring are told of a turn expected as `e`:
/// all of it only with `answers_in_prompt`.
pub fn told(options: &StreamOptions, e: &Expectation) -> Expectation {
    match options.answers_in_prompt {
        true => e.clone(),
        false => Expectation::default(),
    }
}

/// How a turn expected as `e` is decoded with `options`: the pack's
/// language, the prompt (with the stage's answers when
/// `answers_in_prompt`), and the answers to hear it as (when
/// `hear_answers`). The same for live calls and for measurements.
pub fn decoding_for(pack: &DialectPack, options: &StreamOptions, e: &Expectation) -> Decoding {
    Decoding {
        language: pack.asr.language.clone(),
        prompt: prompt_for(pack, options.use_prompt, &told(options, e)),
        answers: match options.hear_answers {
            true => pack
                .likely_answers(e)
                .into_iter()
                .map(str::to_string)
                .collect(),
            false => Vec::new(),
        },
    }
}

pub struct StreamingRecognizer {
    speculation: Option<Speculation>,
    expectation: Expectation,
    /// Milliseconds of quiet audio in a row.
    quiet_ms: u64,
    /// The line's noise level (RMS), from blocks outside speech.
    noise_floor: f32,
    endpointer: Endpointer,
    pool: AsrPool,
    packs: DialectPacks,
    detector: DialectDetector,
    options: StreamOptions,
    utterance_start_ms: u64,
    last_partial_ms: u64,
    partial: Option<PendingPartial>,
    held: Vec<HeldUtterance>,
    finals: VecDeque<PendingFinal>,
}

impl StreamingRecognizer {
    pub fn new(
        endpointer: Endpointer,
        pool: AsrPool,
        packs: DialectPacks,
        prior: Dialect,
        options: StreamOptions,
    ) -> Self {
        let detector = DialectDetector::new(&packs, prior);
        StreamingRecognizer {
            speculation: None,
            expectation: Expectation::default(),
            quiet_ms: 0,
            noise_floor: 0.0,
            endpointer,
            pool,
            packs,
            detector,
            options,
            utterance_start_ms: 0,
            last_partial_ms: 0,
            partial: None,
            held: Vec::new(),
            finals: VecDeque::new(),
        }
    }

    /// Decodes the utterances held with `defer_decoding`, in order, as
    /// (start ms, text); unclear ones are left out.
    pub async fn decode_deferred(&mut self) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for u in std::mem::take(&mut self.held) {
            let decoding = self.decode_args();
            match self.pool.recognize(u.samples, decoding).await {
                Ok(t) if !t.text.trim().is_empty() => {
                    self.detector.observe(&t.text);
                    out.push((u.start_ms, t.text));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "deferred decode failed"),
            }
        }
        out
    }

    pub fn dialect(&self) -> Dialect {
        self.detector.current()
    }

    /// True while the speaker is talking (for barge-in).
    pub fn in_speech(&self) -> bool {
        self.endpointer.in_speech()
    }

    /// True while the speaker is talking or may have started to.
    pub fn hearing_voice(&self) -> bool {
        self.endpointer.hearing_voice()
    }

    pub fn now_ms(&self) -> u64 {
        self.endpointer.now_ms()
    }

    /// Start and end (stream ms) of the oldest utterance still being
    /// decoded; None when no decode is pending.
    pub fn decoding(&self) -> Option<(u64, u64)> {
        self.finals.front().map(|f| (f.start_ms, f.end_ms))
    }

    /// The finals decoded since the last call, in order, without waiting
    /// (an utterance whose decode failed is logged and left out).
    pub fn ready(&mut self) -> Vec<RecognitionEvent> {
        let mut out = Vec::new();
        self.collect_finals(&mut out);
        out
    }

    /// What the next turns are expected to be (the stage of the call and
    /// the words in play), told to the recognizer with the prompt.
    pub fn expect(&mut self, e: Expectation) {
        self.expectation = e;
    }

    fn decode_args(&self) -> Decoding {
        let pack = self.packs.get(self.detector.current());
        decoding_for(pack, &self.options, &self.expectation)
    }

    /// Feeds audio; returns the events it caused (finals are decoded
    /// before this returns unless decoded in the background, partials
    /// are collected when ready).
    pub async fn push(&mut self, samples: &[f32]) -> Result<Vec<RecognitionEvent>, AsrError> {
        self.track_quiet(samples);
        let vad_events = self.endpointer.push(samples);
        let mut out = self.handle(vad_events);
        if self.options.decode_in_background {
            self.collect_finals(&mut out);
        } else {
            self.wait_finals(&mut out).await?;
        }
        self.collect_partial(&mut out, false).await;
        self.maybe_start_partial();
        self.maybe_speculate();
        Ok(out)
    }

    fn track_quiet(&mut self, samples: &[f32]) {
        if samples.is_empty() {
            return;
        }
        let rms = crate::audio::rms(samples);
        if !self.endpointer.in_speech() {
            let rate = if rms < self.noise_floor {
                NOISE_FALL
            } else {
                NOISE_RISE
            };
            self.noise_floor += rate * (rms - self.noise_floor);
        }
        if rms < QUIET_RMS.max(2.0 * self.noise_floor) {
            self.quiet_ms += samples.len() as u64 * 1000 / 16_000;
        } else {
            self.quiet_ms = 0;
            // The speaker went on: what was decoded is not the utterance.
            self.speculation = None;
        }
    }

    fn maybe_speculate(&mut self) {
        let after = self.options.speculate_after_ms;
        if after == 0 || self.speculation.is_some() || !self.endpointer.in_speech() {
            return;
        }
        if self.quiet_ms < after.max(DECODE_TAIL_MS) {
            return;
        }
        // On a busy machine a speculation would only queue, and a wasted
        // one would hold up real decodes: decode at end of speech instead.
        if !self.pool.is_idle() {
            return;
        }
        let audio = decode_audio(self.endpointer.current_audio(), self.quiet_ms).to_vec();
        if audio.len() < 8_000 {
            return;
        }
        self.speculation = Some(Speculation {
            task: Decode::of(&self.pool, audio, self.decode_args()),
        });
    }

    /// Waits for a partial decode in flight, if any, and returns it.
    pub async fn settle(&mut self) -> Vec<RecognitionEvent> {
        let mut out = Vec::new();
        self.collect_partial(&mut out, true).await;
        out
    }

    /// End of stream: the open utterance, if any, is finalised, and every
    /// decode still pending is waited for.
    pub async fn finish(&mut self) -> Result<Vec<RecognitionEvent>, AsrError> {
        let vad_events = self.endpointer.flush();
        let mut out = self.handle(vad_events);
        self.wait_finals(&mut out).await?;
        Ok(out)
    }

    /// Moves the decoded finals at the head of the queue to `out`. A
    /// failed decode loses its utterance only, never the events beside it
    /// (a barge-in's start, the next final).
    fn collect_finals(&mut self, out: &mut Vec<RecognitionEvent>) {
        while self.finals.front().is_some_and(|f| f.task.is_finished()) {
            let Some(f) = self.finals.pop_front() else {
                break;
            };
            // Finished, so this does not wait.
            if let Some(result) = f.task.now_or_never() {
                if let Err(e) = self.finalise(f.start_ms, f.end_ms, result, out) {
                    tracing::warn!(error = %e, start_ms = f.start_ms, "an utterance was not recognised");
                }
            }
        }
    }

    /// Waits for every pending final, in order.
    async fn wait_finals(&mut self, out: &mut Vec<RecognitionEvent>) -> Result<(), AsrError> {
        while let Some(f) = self.finals.pop_front() {
            let result = f.task.await;
            self.finalise(f.start_ms, f.end_ms, result, out)?;
        }
        Ok(())
    }

    fn finalise(
        &mut self,
        start_ms: u64,
        end_ms: u64,
        result: Result<Result<Transcript, AsrError>, JoinError>,
        out: &mut Vec<RecognitionEvent>,
    ) -> Result<(), AsrError> {
        let t = result.map_err(|e| AsrError::Decode(format!("decode task: {e}")))??;
        let t = rescore(
            t,
            self.packs.get(self.detector.current()),
            &told(&self.options, &self.expectation),
            self.options.rescore_weight,
        );
        if t.text.trim().is_empty() {
            return Ok(());
        }
        let detection = self.detector.observe(&t.text);
        out.push(RecognitionEvent::Final {
            text: t.text,
            start_ms,
            end_ms,
            dialect: detection.dialect,
            detection,
            decode_ms: t.decode_ms,
            confidence: t.confidence,
            no_speech: t.no_speech_prob,
        });
        Ok(())
    }

    /// Forget audio heard so far in the current utterance (e.g. the
    /// robot's own echo before barge-in was confirmed).
    pub fn reset(&mut self) {
        self.endpointer.reset();
        self.quiet_ms = 0;
        self.speculation = None;
        self.partial = None;
    }

    /// Turns VAD events into recognition events; an utterance that ended
    /// is queued for decoding (its final comes from the queue).
    fn handle(&mut self, events: Vec<VadEvent>) -> Vec<RecognitionEvent> {
        let mut out = Vec::new();
        for e in events {
            match e {
                VadEvent::Onset { at_ms } => out.push(RecognitionEvent::Onset { at_ms }),
                VadEvent::SpeechStart { at_ms } => {
                    self.utterance_start_ms = at_ms;
                    self.last_partial_ms = at_ms;
                    out.push(RecognitionEvent::SpeechStarted { at_ms });
                }
                VadEvent::SpeechEnd {
                    start_ms,
                    end_ms,
                    samples,
                } => {
                    // A partial of this utterance is stale now.
                    self.partial = None;
                    if self.options.defer_decoding {
                        self.held.push(HeldUtterance {
                            start_ms,
                            samples: decode_audio(&samples, self.quiet_ms).to_vec(),
                        });
                        out.push(RecognitionEvent::Final {
                            text: String::new(),
                            start_ms,
                            end_ms,
                            dialect: self.detector.current(),
                            detection: self.detector.observe(""),
                            decode_ms: 0,
                            confidence: 0.0,
                            no_speech: 0.0,
                        });
                        continue;
                    }
                    // Decoded already if the speaker has been quiet since
                    // (a speculation that failed is decoded again).
                    let speculation = self.speculation.take();
                    let decoding = self.decode_args();
                    let samples = decode_audio(&samples, self.quiet_ms).to_vec();
                    let pool = self.pool.clone();
                    let task = Decode::spawn(async move {
                        // (Stopped with this decode if it is dropped.)
                        if let Some(s) = speculation {
                            if let Ok(Ok(t)) = s.task.await {
                                return Ok(t);
                            }
                        }
                        pool.recognize(samples, decoding).await
                    });
                    self.finals.push_back(PendingFinal {
                        start_ms,
                        end_ms,
                        task,
                    });
                }
            }
        }
        out
    }

    async fn collect_partial(&mut self, out: &mut Vec<RecognitionEvent>, wait: bool) {
        let ready = self
            .partial
            .as_ref()
            .is_some_and(|p| wait || p.task.is_finished());
        if !ready {
            return;
        }
        if let Some(p) = self.partial.take() {
            if let Ok(Ok(t)) = p.task.await {
                if !t.text.trim().is_empty() && self.endpointer.in_speech() {
                    out.push(RecognitionEvent::Partial {
                        text: t.text,
                        start_ms: p.start_ms,
                        upto_ms: p.upto_ms,
                    });
                }
            }
        }
    }

    fn maybe_start_partial(&mut self) {
        let every = self.options.partial_every_ms;
        if every == 0 || self.partial.is_some() || !self.endpointer.in_speech() {
            return;
        }
        let now = self.endpointer.now_ms();
        if now < self.last_partial_ms + every {
            return;
        }
        self.last_partial_ms = now;
        let audio = self.endpointer.current_audio().to_vec();
        if audio.len() < 8_000 {
            return;
        }
        self.partial = Some(PendingPartial {
            start_ms: self.utterance_start_ms,
            upto_ms: now,
            task: Decode::of(&self.pool, audio, self.decode_args()),
        });
    }
}
