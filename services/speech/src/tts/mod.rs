//! Speech synthesis behind the [`Synthesizer`] trait: text normalised to
//! words (`spoken`), split into sentences that are synthesized one at a
//! time (so the first can play while the next is made), in the voice the
//! dialect pack names, resampled to the rate the caller wants (8 kHz for
//! the line, 16 kHz for wideband).

pub mod baker;
pub mod espeak;
pub mod g2p;
pub mod sherpa;
pub mod spoken;
pub mod zhtts;

use crate::audio;
use crate::pack::DialectPacks;
use huikuan_core::Dialect;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("voice model {path}: {reason}")]
    Model { path: String, reason: String },
    #[error("no voice '{voice}' for {dialect} (configured in its dialect pack)")]
    NoVoice { voice: String, dialect: Dialect },
    #[error("synthesis failed: {0}")]
    Synthesis(String),
    #[error("the synthesizer is shutting down")]
    Closed,
}

/// How a voice says a sentence: its speed and its pitch, each relative to
/// the voice's own (above 1: faster, higher).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceStyle {
    pub speed: f32,
    pub pitch: f32,
}

impl Default for VoiceStyle {
    fn default() -> Self {
        VoiceStyle {
            speed: 1.0,
            pitch: 1.0,
        }
    }
}

/// One voice model: speaks a normalised sentence at its native rate.
pub trait Voice: Send + Sync {
    fn rate(&self) -> u32;
    fn speak_sentence(&self, spoken: &str, style: VoiceStyle) -> Result<Vec<f32>, SynthError>;
}

/// Text to speech in a dialect.
pub trait Synthesizer: Send + Sync {
    /// One sentence in a style (a simulated debtor's voice: higher,
    /// slower...), as mono samples at `rate` Hz.
    fn styled(
        &self,
        text: &str,
        dialect: Dialect,
        rate: u32,
        style: VoiceStyle,
    ) -> Result<Vec<f32>, SynthError>;

    /// One sentence (any text: numbers, amounts and dates are read out),
    /// as mono samples at `rate` Hz, in the dialect pack's voice as it is.
    fn sentence(&self, text: &str, dialect: Dialect, rate: u32) -> Result<Vec<f32>, SynthError> {
        self.styled(text, dialect, rate, VoiceStyle::default())
    }

    /// A whole text: sentence by sentence, joined with short pauses.
    fn text(&self, text: &str, dialect: Dialect, rate: u32) -> Result<Vec<f32>, SynthError> {
        let pause = vec![0.0; rate as usize / 5];
        let mut out = Vec::new();
        for (i, s) in split_sentences(text).iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(&pause);
            }
            out.extend(self.sentence(s, dialect, rate)?);
        }
        Ok(out)
    }
}

/// Splits after 。！？；… and line breaks, keeping the punctuation; long
/// sentences are also split after commas once they pass ~24 characters so
/// the first audio is ready sooner.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c == '\n' || c == '\r' {
            if !cur.trim().is_empty() {
                out.push(cur.trim().to_string());
            }
            cur.clear();
            continue;
        }
        cur.push(c);
        let hard = "。！？!?；;…".contains(c);
        let soft = "，,".contains(c) && cur.chars().count() >= 24;
        if hard || soft {
            if !cur.trim().is_empty() {
                out.push(cur.trim().to_string());
            }
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Quiet kept before and after each synthesized sentence.
pub const EDGE_QUIET_MS: u32 = 40;

/// Sentences kept by [`TtsEngine`]: a collection script's fixed lines
/// (the recording notice, confirmations, the goodbye) come back in every
/// call, and at 8 kHz a few seconds of speech is ~100 KB.
pub const CACHED_SENTENCES: usize = 512;

/// The voices of all dialect packs, by name, and the packs that pick them.
/// Sentences already spoken are kept (least recently used dropped first),
/// so a script's fixed lines are synthesized once per process.
pub struct TtsEngine {
    packs: DialectPacks,
    voices: HashMap<String, Arc<dyn Voice>>,
    spoken: Mutex<SentenceCache>,
}

impl TtsEngine {
    pub fn new(packs: DialectPacks) -> Self {
        TtsEngine {
            packs,
            voices: HashMap::new(),
            spoken: Mutex::new(SentenceCache::new(CACHED_SENTENCES)),
        }
    }

    pub fn with_voice(mut self, name: &str, voice: Arc<dyn Voice>) -> Self {
        self.voices.insert(name.to_string(), voice);
        self
    }

    pub fn has_voice_for(&self, dialect: Dialect) -> bool {
        self.voices.contains_key(&self.packs.get(dialect).tts.voice)
    }
}

impl Synthesizer for TtsEngine {
    fn styled(
        &self,
        text: &str,
        dialect: Dialect,
        rate: u32,
        style: VoiceStyle,
    ) -> Result<Vec<f32>, SynthError> {
        let pack = self.packs.get(dialect);
        let voice = self
            .voices
            .get(&pack.tts.voice)
            .ok_or_else(|| SynthError::NoVoice {
                voice: pack.tts.voice.clone(),
                dialect,
            })?;
        let style = VoiceStyle {
            speed: pack.tts.speed * style.speed,
            pitch: style.pitch,
        };
        let key = SentenceKey {
            voice: pack.tts.voice.clone(),
            text: text.to_string(),
            speed_bits: style.speed.to_bits(),
            pitch_bits: style.pitch.to_bits(),
            rate,
        };
        if let Some(samples) = self.spoken.lock().ok().and_then(|mut c| c.get(&key)) {
            return Ok(samples.to_vec());
        }
        let spoken = spoken::to_spoken(text);
        let native = voice.speak_sentence(&spoken, style)?;
        // Voices start and end with silence of their own (up to ~300 ms):
        // dead air before a reply. Callers put their own pauses between
        // sentences.
        let native = audio::trim_quiet(&native, voice.rate(), EDGE_QUIET_MS);
        let samples = audio::convert(native, voice.rate(), rate)
            .map_err(|e| SynthError::Synthesis(e.to_string()))?;
        if let Ok(mut c) = self.spoken.lock() {
            c.put(key, Arc::from(&samples[..]));
        }
        Ok(samples)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SentenceKey {
    voice: String,
    text: String,
    speed_bits: u32,
    pitch_bits: u32,
    rate: u32,
}

/// A bounded map of synthesized sentences; when full, the one used
/// longest ago goes.
struct SentenceCache {
    capacity: usize,
    clock: u64,
    entries: HashMap<SentenceKey, (Arc<[f32]>, u64)>,
}

impl SentenceCache {
    fn new(capacity: usize) -> Self {
        SentenceCache {
            capacity: capacity.max(1),
            clock: 0,
            entries: HashMap::new(),
        }
    }

    fn get(&mut self, key: &SentenceKey) -> Option<Arc<[f32]>> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(key).map(|(samples, used)| {
            *used = clock;
            samples.clone()
        })
    }

    fn put(&mut self, key: SentenceKey, samples: Arc<[f32]>) {
        self.clock += 1;
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.entries.remove(&k);
            }
        }
        self.entries.insert(key, (samples, self.clock));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A voice that counts what it is asked to speak.
    struct CountingVoice(AtomicUsize);

    impl Voice for CountingVoice {
        fn rate(&self) -> u32 {
            8000
        }
        fn speak_sentence(&self, spoken: &str, _style: VoiceStyle) -> Result<Vec<f32>, SynthError> {
            self.0.fetch_add(1, Ordering::Relaxed);
            // A tone as long as the text, so different texts differ.
            Ok((0..spoken.chars().count() * 800)
                .map(|i| 0.3 * (i as f32 * 0.2).sin())
                .collect())
        }
    }

    #[test]
    fn a_sentence_spoken_before_is_not_synthesized_again_and_the_cache_stays_bounded() {
        let packs = DialectPacks::builtin();
        let name = packs.get(Dialect::Mandarin).tts.voice.clone();
        let voice = Arc::new(CountingVoice(AtomicUsize::new(0)));
        let tts = TtsEngine::new(packs).with_voice(&name, voice.clone());
        let first = tts
            .sentence("本次通话将被录音。", Dialect::Mandarin, 8000)
            .unwrap();
        let again = tts
            .sentence("本次通话将被录音。", Dialect::Mandarin, 8000)
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(voice.0.load(Ordering::Relaxed), 1);
        // Another rate is another recording.
        let wide = tts
            .sentence("本次通话将被录音。", Dialect::Mandarin, 16000)
            .unwrap();
        assert_ne!(wide.len(), first.len());
        assert_eq!(voice.0.load(Ordering::Relaxed), 2);
        // Past the bound the least recently used sentence goes; the fixed
        // line, used throughout, stays.
        for i in 0..CACHED_SENTENCES + 10 {
            tts.sentence(&format!("第{i}句。"), Dialect::Mandarin, 8000)
                .unwrap();
            tts.sentence("本次通话将被录音。", Dialect::Mandarin, 8000)
                .unwrap();
        }
        assert!(tts.spoken.lock().unwrap().entries.len() <= CACHED_SENTENCES);
        let before = voice.0.load(Ordering::Relaxed);
        tts.sentence("本次通话将被录音。", Dialect::Mandarin, 8000)
            .unwrap();
        assert_eq!(voice.0.load(Ordering::Relaxed), before);
        tts.sentence("第0句。", Dialect::Mandarin, 8000).unwrap();
        assert_eq!(voice.0.load(Ordering::Relaxed), before + 1);
    }

    #[test]
    fn sentences_split_at_stops_and_at_commas_when_long() {
        assert_eq!(
            split_sentences("您好。请问是张先生吗？\n好的"),
            vec!["您好。", "请问是张先生吗？", "好的"]
        );
        let long = "您在我们平台的借款已经逾期十五天了，逾期金额三千二百五十元，请您尽快处理。";
        let parts = split_sentences(long);
        assert_eq!(parts.concat(), long);
        assert!(parts.len() >= 2, "{parts:?}");
    }
}
