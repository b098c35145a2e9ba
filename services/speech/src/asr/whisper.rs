//! whisper.cpp through whisper-rs: one model per process, a pool of decode
//! states (one per concurrent decode), the encoder window fitted to the
//! utterance.

use super::answers::{self, Candidate, NextTokens, MAX_ANSWER_MS};
use super::beams::{self, BeamTrace};
use super::quantize::{self, WeightType};
use super::{AsrError, Hypothesis, RecognizeRequest, Recognizer, Transcript};
use crate::text::clean_transcript;
use std::cell::Cell;
use std::ffi::{c_char, c_void, CStr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::Instant;
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};
use whisper_rs_sys::{
    ggml_log_level, ggml_log_level_GGML_LOG_LEVEL_ERROR as GGML_LOG_LEVEL_ERROR,
    ggml_log_level_GGML_LOG_LEVEL_WARN as GGML_LOG_LEVEL_WARN,
};

/// How much of whisper's 30 s encoder window to compute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AudioCtx {
    /// The whole 30 s window (1500 frames) every time.
    Full,
    /// Frames for the utterance (50 per second) plus `margin`, at least `min`.
    Fit { min: i32, margin: i32 },
}

#[derive(Debug, Clone)]
pub struct WhisperConfig {
    /// A ggml whisper model file (any size: base, small, large-v3-turbo...).
    pub model: PathBuf,
    /// How to store the model's weight matrices: f16 loads `model` as it
    /// is; a quantized type loads a copy made beside it.
    pub weights: WeightType,
    /// Threads per decode.
    pub threads: i32,
    /// 0 or 1: greedy; above: beam search of that width.
    pub beam_size: i32,
    /// Candidates for greedy decoding with temperature fallback.
    pub best_of: i32,
    /// Retry at higher temperature when a decode looks like a failure
    /// (repetition, low log-probability).
    pub temperature_fallback: bool,
    pub audio_ctx: AudioCtx,
}

impl WhisperConfig {
    pub fn new(model: impl Into<PathBuf>) -> Self {
        WhisperConfig {
            model: model.into(),
            weights: WeightType::F16,
            threads: 2,
            beam_size: 0,
            best_of: 1,
            temperature_fallback: false,
            audio_ctx: AudioCtx::Full,
        }
    }

    fn audio_ctx_for(&self, samples: usize) -> i32 {
        match self.audio_ctx {
            AudioCtx::Full => 0,
            AudioCtx::Fit { min, margin } => {
                let frames = ((samples as u64 * 50).div_ceil(16_000)) as i32 + margin;
                let n = frames.max(min);
                if n >= 1500 {
                    0
                } else {
                    n
                }
            }
        }
    }
}

pub struct WhisperRecognizer {
    config: WhisperConfig,
    ctx: WhisperContext,
    idle_states: Mutex<Vec<WhisperState>>,
}

static LOG_HOOKS: Once = Once::new();

thread_local! {
    /// This thread's decode was stopped on request: the "failed to
    /// encode/decode" whisper logs next is expected, not an error.
    static STOPPED_ON_REQUEST: Cell<bool> = const { Cell::new(false) };
}

/// whisper.cpp's abort callback: asked after the encoder and after each
/// decoder step whether to stop.
unsafe extern "C" fn stop_when_cancelled(flag: *mut c_void) -> bool {
    // SAFETY: set only with a pointer to an `AtomicBool` that outlives the
    // decode (see `recognize`).
    let stop = unsafe { (*(flag as *const AtomicBool)).load(Ordering::Relaxed) };
    if stop {
        STOPPED_ON_REQUEST.with(|s| s.set(true));
    }
    stop
}

/// whisper.cpp's own log lines, into tracing (ggml's go through
/// whisper-rs's hook): errors and warnings as such, the rest at debug
/// level. A decode stopped on request logs its failure at debug level.
unsafe extern "C" fn whisper_log(level: ggml_log_level, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: whisper.cpp passes a NUL-terminated string valid for the call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    match level {
        GGML_LOG_LEVEL_ERROR if STOPPED_ON_REQUEST.with(Cell::get) => {
            tracing::debug!(target: "whisper", "{text} (decode stopped on request)")
        }
        GGML_LOG_LEVEL_ERROR => tracing::error!(target: "whisper", "{text}"),
        GGML_LOG_LEVEL_WARN => tracing::warn!(target: "whisper", "{text}"),
        // Its info lines are model-loading detail (sizes, devices).
        _ => tracing::debug!(target: "whisper", "{text}"),
    }
}

impl WhisperRecognizer {
    /// Loads the model (once per process: share the result).
    pub fn load(config: WhisperConfig) -> Result<Self, AsrError> {
        LOG_HOOKS.call_once(|| {
            whisper_rs::install_logging_hooks();
            // SAFETY: `whisper_log` is a valid callback for the process's
            // lifetime and reads nothing through its user data.
            unsafe { whisper_rs_sys::whisper_log_set(Some(whisper_log), std::ptr::null_mut()) };
        });
        let path = config.model.display().to_string();
        if !config.model.is_file() {
            return Err(AsrError::Model {
                path,
                reason: "no such file (run ./scripts/fetch-models.sh, or set speech.whisper_model)"
                    .into(),
            });
        }
        let model =
            quantize::quantized(&config.model, config.weights).map_err(|e| AsrError::Model {
                path: path.clone(),
                reason: format!("cannot store its weights as {}: {e}", config.weights.name()),
            })?;
        let ctx = WhisperContext::new_with_params(&model, WhisperContextParameters::default())
            .map_err(|e| AsrError::Model {
                path: model.display().to_string(),
                reason: format!("does not load as a ggml whisper model: {e}"),
            })?;
        if !ctx.is_multilingual() {
            return Err(AsrError::Model {
                path,
                reason: "an English-only model cannot recognise Chinese".into(),
            });
        }
        Ok(WhisperRecognizer {
            config,
            ctx,
            idle_states: Mutex::new(Vec::new()),
        })
    }

    pub fn config(&self) -> &WhisperConfig {
        &self.config
    }

    fn take_state(&self) -> Result<WhisperState, AsrError> {
        if let Some(s) = self.idle_states.lock().map_err(|_| AsrError::Closed)?.pop() {
            return Ok(s);
        }
        self.ctx
            .create_state()
            .map_err(|e| AsrError::Decode(format!("cannot create a decode state: {e}")))
    }

    /// The beam's readings as text, the pick (`text`, heard with
    /// `confidence`) first, then the others best first, each once.
    fn readings(
        &self,
        trace: &BeamTrace,
        text: &str,
        confidence: f32,
        beam_size: usize,
    ) -> Vec<Hypothesis> {
        let mut out: Vec<Hypothesis> = Vec::new();
        for (tokens, score) in trace.readings(beam_size * 2) {
            let mut bytes = Vec::new();
            for t in tokens {
                if let Ok(b) = self.ctx.token_to_bytes(t) {
                    bytes.extend_from_slice(b);
                }
            }
            let reading = clean_transcript(&String::from_utf8_lossy(&bytes));
            if !reading.is_empty() && !out.iter().any(|h| h.text == reading) {
                out.push(Hypothesis {
                    text: reading,
                    score,
                });
            }
        }
        let pick = match out.iter().position(|h| h.text == text) {
            Some(i) => out.remove(i),
            None => Hypothesis {
                text: text.to_string(),
                score: confidence.max(1e-6).ln(),
            },
        };
        out.insert(0, pick);
        out
    }

    /// Whether `req` asks for its answers to be heard and is short enough.
    fn may_be_answer(&self, req: &RecognizeRequest<'_>) -> bool {
        !req.answers.is_empty() && req.samples.len() as u64 <= MAX_ANSWER_MS * 16
    }

    /// The expected answer (`req.answers`) to hear the turn just decoded
    /// in `state` as, instead of its free reading `free`; None keeps it.
    /// Scoring failures are logged and keep the free reading.
    fn hear_answer(
        &self,
        state: &mut WhisperState,
        req: &RecognizeRequest<'_>,
        free: &str,
        threads: usize,
    ) -> Option<Hypothesis> {
        let tokens = |text: &str| self.ctx.tokenize(text, 256).unwrap_or_default();
        let mut candidates: Vec<Candidate> = req
            .answers
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .map(|a| Candidate {
                text: a.to_string(),
                tokens: tokens(a),
            })
            .collect();
        if !free.is_empty() {
            candidates.push(Candidate {
                text: free.to_string(),
                tokens: tokens(free),
            });
        }
        let eot = self.ctx.token_eot();
        let mut ends = vec![eot];
        if let [stop] = tokens("。")[..] {
            ends.push(stop);
        }
        let prefix = self.decoder_prefix(req);
        let mut decoder = StateDecoder {
            state,
            threads,
            upto: eot as usize + 1,
        };
        let scores = match answers::score(&mut decoder, &prefix, &candidates, &ends) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "scoring the expected answers");
                return None;
            }
        };
        let mut scored: Vec<Hypothesis> = candidates
            .iter()
            .zip(&scores)
            .map(|(c, s)| Hypothesis {
                text: c.text.clone(),
                score: *s,
            })
            .collect();
        let free_total = match free.is_empty() {
            true => f32::NEG_INFINITY,
            false => scored.pop().map_or(f32::NEG_INFINITY, |h| h.score),
        };
        answers::choose(free, free_total, &scored)
    }

    /// The tokens whisper decodes before the text: the prompt after
    /// `<|startofprev|>` (its last half-context, as whisper takes it),
    /// then start of transcript, language, transcribe, no timestamps.
    fn decoder_prefix(&self, req: &RecognizeRequest<'_>) -> Vec<i32> {
        let ctx = &self.ctx;
        let mut prefix = Vec::new();
        if !req.prompt.is_empty() {
            let prompt = ctx.tokenize(req.prompt, 1024).unwrap_or_default();
            let take = prompt.len().min(ctx.n_text_ctx() as usize / 2);
            if take > 0 {
                prefix.push(ctx.token_prev());
                prefix.extend_from_slice(&prompt[prompt.len() - take..]);
            }
        }
        prefix.push(ctx.token_sot());
        if let Some(lang) = whisper_rs::get_lang_id(req.language) {
            prefix.push(ctx.token_lang(lang));
        }
        prefix.push(ctx.token_transcribe());
        prefix.push(ctx.token_not());
        prefix
    }

    fn put_state(&self, s: WhisperState) {
        if let Ok(mut v) = self.idle_states.lock() {
            v.push(s);
        }
    }
}

/// The decoder of a state that has just encoded a turn, for scoring
/// readings of it (see `answers`).
struct StateDecoder<'a> {
    state: &'a mut WhisperState,
    threads: usize,
    /// Text tokens and the end of text: the ids below this.
    upto: usize,
}

impl NextTokens for StateDecoder<'_> {
    fn next(&mut self, tokens: &[i32], n_past: usize) -> Result<Vec<f32>, String> {
        let Some((last, before)) = tokens.split_last() else {
            return Err("nothing to decode".into());
        };
        // whisper-rs reads the logits of a batch's first row, and whisper
        // fills only its last: the tokens before the last one go first.
        if !before.is_empty() {
            self.state
                .decode(before, n_past, self.threads)
                .map_err(|e| e.to_string())?;
        }
        self.state
            .decode(&[*last], n_past + before.len(), self.threads)
            .map_err(|e| e.to_string())?;
        let logits = self.state.get_logits().map_err(|e| e.to_string())?;
        Ok(answers::log_softmax_upto(logits, self.upto))
    }
}

/// The geometric mean of token probabilities, summed as logs.
#[derive(Debug, Default)]
struct TokenConfidence {
    log_sum: f64,
    n: u32,
}

impl TokenConfidence {
    fn add(&mut self, p: f32) {
        self.log_sum += f64::from(p.clamp(1e-6, 1.0)).ln();
        self.n += 1;
    }

    fn mean(&self) -> f32 {
        if self.n == 0 {
            1.0
        } else {
            (self.log_sum / f64::from(self.n)).exp() as f32
        }
    }
}

impl Recognizer for WhisperRecognizer {
    fn recognize(&self, req: &RecognizeRequest<'_>) -> Result<Transcript, AsrError> {
        let started = Instant::now();
        // Whisper needs at least ~1 s; pad short turns with silence.
        const MIN_SAMPLES: usize = 16_000 + 1_600;
        let padded: Vec<f32>;
        let samples = if req.samples.len() < MIN_SAMPLES {
            let mut p = req.samples.to_vec();
            p.resize(MIN_SAMPLES, 0.0);
            padded = p;
            &padded[..]
        } else {
            req.samples
        };
        let c = &self.config;
        let strategy = if c.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: c.beam_size,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy {
                best_of: c.best_of.max(1),
            }
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(req.threads.unwrap_or(c.threads).max(1));
        params.set_language(Some(req.language));
        params.set_translate(false);
        params.set_no_context(true);
        params.set_single_segment(false);
        params.set_no_timestamps(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_suppress_nst(true);
        params.set_audio_ctx(c.audio_ctx_for(samples.len()));
        // Speech carries at most ~7 syllables a second, each one or two
        // tokens: more than that is the decoder looping.
        let secs = req.samples.len() as f64 / 16_000.0;
        params.set_max_tokens((secs * 15.0) as i32 + 12);
        if !c.temperature_fallback {
            params.set_temperature_inc(0.0);
        }
        if !req.prompt.is_empty() {
            params.set_initial_prompt(req.prompt);
        }
        if let Some(flag) = req.cancelled {
            // SAFETY: whisper calls `stop_when_cancelled` with this pointer
            // only during `state.full` below, while `req` (and so `flag`)
            // is borrowed; the callback only reads the atomic.
            unsafe {
                params.set_abort_callback(Some(stop_when_cancelled));
                params.set_abort_callback_user_data(flag as *const AtomicBool as *mut c_void);
            }
        }
        let eot = self.ctx.token_eot();
        // A beam search's other readings (see `beams`).
        let trace = (c.beam_size > 1).then(|| BeamTrace::new(eot));
        if let Some(trace) = &trace {
            // SAFETY: whisper calls `beams::record` with this pointer only
            // during `state.full` below, while `trace` lives; the callback
            // reads the logits and locks the trace's own mutex.
            unsafe {
                params.set_filter_logits_callback(Some(beams::record));
                params
                    .set_filter_logits_callback_user_data(trace as *const BeamTrace as *mut c_void);
            }
        }
        let mut state = self.take_state()?;
        STOPPED_ON_REQUEST.with(|s| s.set(false));
        let result = state.full(params, samples);
        let out = result
            .map_err(|e| AsrError::Decode(e.to_string()))
            .and_then(|_| {
                let mut text = String::new();
                let mut no_speech = 0f32;
                let mut confidence = TokenConfidence::default();
                let mut segments = 0;
                for seg in state.as_iter() {
                    segments += 1;
                    text.push_str(
                        &seg.to_str_lossy()
                            .map_err(|e| AsrError::Decode(e.to_string()))?,
                    );
                    no_speech = no_speech.max(seg.no_speech_probability());
                    for i in 0..seg.n_tokens() {
                        if let Some(t) = seg.get_token(i) {
                            // Special tokens (end of text, timestamps,
                            // language) say nothing about the words.
                            if t.token_id() < eot {
                                confidence.add(t.token_probability());
                            }
                        }
                    }
                }
                Ok((text, no_speech, confidence, segments))
            });
        let out = out.map(|(text, no_speech, confidence, segments)| {
            let text = clean_transcript(&text);
            let confidence = if text.is_empty() {
                0.0
            } else {
                confidence.mean()
            };
            (text, no_speech, confidence, segments)
        });
        // A short turn heard as the answer it fits best (see `answers`).
        let answer = match &out {
            Ok((text, ..)) if self.may_be_answer(req) => {
                let threads = req.threads.unwrap_or(c.threads).max(1) as usize;
                self.hear_answer(&mut state, req, text, threads)
            }
            _ => None,
        };
        self.put_state(state);
        let (mut text, no_speech_prob, mut confidence, segments) = out?;
        if let Some(a) = answer {
            tracing::debug!(free = %text, answer = %a.text, score = a.score, "heard as an expected answer");
            text = a.text;
            confidence = a.score.exp().clamp(0.0, 1.0);
        }
        // One window's readings only: a trace of several (over 30 s of
        // audio) mixes their prefixes.
        let nbest = match &trace {
            Some(trace) if segments == 1 && !text.is_empty() => {
                self.readings(trace, &text, confidence, c.beam_size as usize)
            }
            _ => Vec::new(),
        };
        Ok(Transcript {
            confidence,
            text,
            no_speech_prob,
            decode_ms: started.elapsed().as_millis() as u64,
            nbest,
        })
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let decoding = if c.beam_size > 1 {
            format!("beam {}", c.beam_size)
        } else if c.best_of > 1 {
            format!("greedy best-of {}", c.best_of)
        } else {
            "greedy".to_string()
        };
        let ctx = match c.audio_ctx {
            AudioCtx::Full => "audio_ctx full".to_string(),
            AudioCtx::Fit { min, margin } => format!("audio_ctx fit (min {min}, +{margin})"),
        };
        format!(
            "whisper {} {} ({decoding}, {ctx}, fallback {}, {} threads)",
            c.model
                .file_name()
                .map(|f| f.to_string_lossy())
                .unwrap_or_default(),
            c.weights.name(),
            if c.temperature_fallback { "on" } else { "off" },
            c.threads
        )
    }
}
