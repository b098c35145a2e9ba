//! Speaking on a call: text synthesized at 8 kHz sentence by sentence on
//! the blocking pool (the first clause of the first sentence on its own),
//! each part queued on the line as soon as it is ready (so the first plays
//! while the next is made). Every utterance has
//! a generation number; barge-in bumps it, and sentences of an older
//! generation still being made are thrown away.

use crate::media::SharedLine;
use huikuan_core::Dialect;
use huikuan_speech::tts::{split_sentences, Synthesizer, VoiceStyle};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// A sentence went onto the line: which utterance, which sentence of it,
/// and its id in the media queue (see `MediaEvent::PlaybackStarted`).
#[derive(Debug, Clone, Copy)]
pub struct Queued {
    pub generation: u64,
    pub sentence: usize,
    pub media_id: u64,
}

pub struct Voice {
    tts: Arc<dyn Synthesizer>,
    line: SharedLine,
    generation: Arc<AtomicU64>,
    /// Sentences being synthesized and not yet queued.
    making: Arc<AtomicUsize>,
    queued: mpsc::UnboundedSender<Queued>,
    style: VoiceStyle,
}

/// Pause after each sentence (its samples are queued with the sentence).
pub const SENTENCE_PAUSE_MS: u64 = 150;
/// Pause after a first clause spoken on its own.
const CLAUSE_PAUSE_MS: u64 = 80;

/// The parts a text is spoken in, each with the pause after it: its
/// sentences, the first one split after its first clause (a comma or
/// colon after at least two characters), so the first audio of a reply
/// is short and ready soon.
pub fn speaking_parts(text: &str) -> Vec<(String, u64)> {
    let mut parts: Vec<(String, u64)> = split_sentences(text)
        .into_iter()
        .map(|s| (s, SENTENCE_PAUSE_MS))
        .collect();
    if let Some((first, _)) = parts.first() {
        let chars: Vec<char> = first.chars().collect();
        let cut = chars
            .iter()
            .position(|c| "，,：:".contains(*c))
            .filter(|&i| i >= 2 && i + 1 < chars.len());
        if let Some(i) = cut {
            let clause: String = chars[..=i].iter().collect();
            let rest: String = chars[i + 1..].iter().collect();
            parts[0] = (rest, SENTENCE_PAUSE_MS);
            parts.insert(0, (clause, CLAUSE_PAUSE_MS));
        }
    }
    parts
}

impl Voice {
    pub fn new(
        tts: Arc<dyn Synthesizer>,
        line: SharedLine,
    ) -> (Voice, mpsc::UnboundedReceiver<Queued>) {
        let (queued, rx) = mpsc::unbounded_channel();
        (
            Voice {
                tts,
                line,
                generation: Arc::new(AtomicU64::new(0)),
                making: Arc::new(AtomicUsize::new(0)),
                queued,
                style: VoiceStyle::default(),
            },
            rx,
        )
    }

    /// Speaks faster or slower, higher or lower than the dialect's voice
    /// (a simulated debtor).
    pub fn set_style(&mut self, style: VoiceStyle) {
        self.style = style;
    }

    /// Starts saying `text`; returns its generation and the parts it is
    /// spoken in (see [`speaking_parts`]).
    pub fn say(&self, text: &str, dialect: Dialect) -> (u64, Vec<String>) {
        let generation = self.generation.load(Ordering::SeqCst);
        let list = speaking_parts(text);
        let sentences: Vec<String> = list.iter().map(|(s, _)| s.clone()).collect();
        self.making.fetch_add(sentences.len(), Ordering::SeqCst);
        let tts = self.tts.clone();
        let line = self.line.clone();
        let current = self.generation.clone();
        let making = self.making.clone();
        let queued = self.queued.clone();
        let style = self.style;
        tokio::spawn(async move {
            let total = list.len();
            for (i, (s, pause_ms)) in list.into_iter().enumerate() {
                let stale = current.load(Ordering::SeqCst) != generation;
                let made = if stale {
                    None
                } else {
                    let tts = tts.clone();
                    tokio::task::spawn_blocking(move || tts.styled(&s, dialect, 8000, style))
                        .await
                        .ok()
                };
                let fresh = current.load(Ordering::SeqCst) == generation;
                match made {
                    Some(Ok(mut samples)) if fresh => {
                        samples.extend(std::iter::repeat_n(0.0, pause_ms as usize * 8));
                        let media_id = line.play(&samples);
                        let _ = queued.send(Queued {
                            generation,
                            sentence: i,
                            media_id,
                        });
                    }
                    Some(Err(e)) => tracing::error!(error = %e, "synthesis failed"),
                    _ => {}
                }
                making.fetch_sub(1, Ordering::SeqCst);
                if !fresh {
                    making.fetch_sub(total - i - 1, Ordering::SeqCst);
                    return;
                }
            }
        });
        (generation, sentences)
    }

    /// Barge-in: stop what is playing and drop sentences not yet made.
    /// Returns the ms of speech that were cut.
    pub fn stop(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.line.stop_playback()
    }

    /// Speaking, or about to (a sentence is being made).
    pub fn busy(&self) -> bool {
        self.making.load(Ordering::SeqCst) > 0 || self.line.is_playing()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_starts_with_its_first_clause() {
        let parts = speaking_parts("好的，和您确认一下：您在十二月二日还款，对吗？再见。");
        let texts: Vec<&str> = parts.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "好的，",
                "和您确认一下：您在十二月二日还款，对吗？",
                "再见。"
            ]
        );
        assert_eq!(parts[0].1, CLAUSE_PAUSE_MS);
        assert_eq!(parts[1].1, SENTENCE_PAUSE_MS);
        // Nothing to split: one character before the comma, or no comma.
        assert_eq!(speaking_parts("嗯，好").len(), 1);
        assert_eq!(speaking_parts("请问您哪天可以还款？").len(), 1);
        assert_eq!(speaking_parts("好的，").len(), 1);
    }
}
