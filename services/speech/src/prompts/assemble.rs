//! Playing a plan: recordings and synthesized words one after another at
//! one loudness, joined by a short cross-fade (no gap, no click), quiet
//! only where the text has punctuation.

use super::plan::Part;
use super::recording::{level, EDGE_MS};
use super::PromptPacks;
use crate::audio;
use crate::tts::{SynthError, Synthesizer, VoiceStyle};
use huikuan_core::Dialect;
use std::sync::Arc;

/// Length of the cross-fade between two joined parts.
pub const JOIN_MS: u32 = 5;

/// A [`Synthesizer`] that says what its packs have recorded with the
/// recordings and the rest with `voice`. Styled speech (a simulated
/// debtor's voice) is always `voice`'s.
pub struct PromptedVoice {
    packs: PromptPacks,
    voice: Arc<dyn Synthesizer>,
}

impl PromptedVoice {
    pub fn new(packs: PromptPacks, voice: Arc<dyn Synthesizer>) -> PromptedVoice {
        PromptedVoice { packs, voice }
    }

    pub fn packs(&self) -> &PromptPacks {
        &self.packs
    }
}

impl Synthesizer for PromptedVoice {
    fn styled(
        &self,
        text: &str,
        dialect: Dialect,
        rate: u32,
        style: VoiceStyle,
    ) -> Result<Vec<f32>, SynthError> {
        let Some(pack) = self
            .packs
            .get(dialect)
            .filter(|_| style == VoiceStyle::default())
        else {
            return self.voice.styled(text, dialect, rate, style);
        };
        let parts = pack.plan(text);
        if !parts.iter().any(|p| matches!(p, Part::Recorded(_))) {
            return self.voice.styled(text, dialect, rate, style);
        }
        let mut out: Vec<f32> = Vec::new();
        let mut after_pause = true;
        for part in parts {
            let sound = match part {
                Part::Pause(ms) => {
                    out.extend(std::iter::repeat_n(0.0, (rate * ms / 1000) as usize));
                    after_pause = true;
                    continue;
                }
                Part::Recorded(i) => pack.recording(i).samples(rate),
                Part::Synthesized(words) => {
                    let made = self.voice.sentence(&words, dialect, rate)?;
                    let mut made = audio::trim_quiet(&made, rate, EDGE_MS).to_vec();
                    level(&mut made, rate);
                    made
                }
            };
            if after_pause {
                out.extend(sound);
            } else {
                join(&mut out, &sound, rate);
            }
            after_pause = false;
        }
        Ok(out)
    }
}

/// Appends `next` to `out`, the last [`JOIN_MS`] of one faded into the
/// first of the other.
pub fn join(out: &mut Vec<f32>, next: &[f32], rate: u32) {
    let fade = ((rate * JOIN_MS / 1000) as usize)
        .min(out.len())
        .min(next.len() / 2);
    let start = out.len() - fade;
    for (k, s) in next[..fade].iter().enumerate() {
        let w = (k + 1) as f32 / (fade + 1) as f32;
        out[start + k] = out[start + k] * (1.0 - w) + s * w;
    }
    out.extend_from_slice(&next[fade..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::{Kind, PromptPack, Recording, PACK_RATE};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The tone a piece is recorded as: its own pitch, so the order can
    /// be heard back.
    fn pitch_of(text: &str) -> f32 {
        250.0 + 200.0 * (PIECES.chars().position(|c| text.starts_with(c)).unwrap() as f32)
    }

    const PIECES: &str = "十二月三日千百五元";

    /// A placeholder recording: 5 ms of quiet, a tone, 5 ms of quiet,
    /// made at 48 kHz and far too quiet, as a studio might deliver it.
    fn placeholder(kind: Kind, text: &str) -> Recording {
        let rate = 48_000;
        let f = pitch_of(text);
        let mut s = vec![0.0; 240];
        s.extend(
            (0..rate * 200 / 1000)
                .map(|i| 0.01 * (i as f32 * 2.0 * std::f32::consts::PI * f / rate as f32).sin()),
        );
        s.extend(vec![0.0; 240]);
        let fit = crate::prompts::recording::fit(1, rate, &s).unwrap();
        Recording::new(text, kind, text, fit)
    }

    /// The synthesized voice: a counting loud hum at another pitch.
    struct Hum(AtomicUsize);
    impl Synthesizer for Hum {
        fn styled(
            &self,
            text: &str,
            _: Dialect,
            rate: u32,
            _: VoiceStyle,
        ) -> Result<Vec<f32>, SynthError> {
            self.0.fetch_add(1, Ordering::Relaxed);
            let n = text.chars().count() as u32 * rate / 5;
            let mut s = vec![0.0; rate as usize / 10];
            s.extend((0..n).map(|i| 0.6 * (i as f32 * 0.05).sin()));
            s.extend(vec![0.0; rate as usize / 10]);
            Ok(s)
        }
    }

    /// Dominant pitch of each 10 ms window (zero crossings), or 0 when
    /// quiet.
    fn pitches(s: &[f32], rate: u32) -> Vec<f32> {
        s.chunks(rate as usize / 100)
            .map(|w| {
                if audio::rms(w) < 0.01 {
                    return 0.0;
                }
                let crossings = w
                    .windows(2)
                    .filter(|p| (p[0] < 0.0) != (p[1] < 0.0))
                    .count();
                crossings as f32 * rate as f32 / (2.0 * w.len() as f32)
            })
            .collect()
    }

    #[test]
    fn an_amount_and_a_date_are_assembled_from_pieces_in_order_without_gaps() {
        let pieces: Vec<Recording> = PIECES
            .chars()
            .map(|c| placeholder(Kind::Piece, &c.to_string()))
            .collect();
        let hum = Arc::new(Hum(AtomicUsize::new(0)));
        let voice = PromptedVoice::new(
            PromptPacks::default().with(PromptPack::new(Dialect::Mandarin, pieces)),
            hum.clone(),
        );
        for rate in [8_000, PACK_RATE] {
            // 十二月三日, then 三千五百元, with a comma between.
            let out = voice
                .sentence("12月3日，3500元", Dialect::Mandarin, rate)
                .unwrap();
            assert_eq!(hum.0.load(Ordering::Relaxed), 0, "nothing synthesized");
            let heard = pitches(&out, rate);
            // Every 10 ms window between the first and the last sound is
            // sounding, except the comma's pause.
            let quiet: Vec<usize> = (0..heard.len()).filter(|&i| heard[i] == 0.0).collect();
            let first = heard.iter().position(|p| *p > 0.0).unwrap();
            let last = heard.iter().rposition(|p| *p > 0.0).unwrap();
            let inner: Vec<&usize> = quiet.iter().filter(|&&i| i > first && i < last).collect();
            let pause_windows = (crate::prompts::plan::COMMA_PAUSE_MS / 10) as usize;
            assert!(
                inner.len() <= pause_windows + 2,
                "{} quiet windows inside at {rate} Hz: {inner:?}",
                inner.len()
            );
            // And the pieces come in order: each piece's pitch, held for
            // at least 30 ms (a window astride a join is neither).
            let mut runs: Vec<(f32, usize)> = Vec::new();
            for p in heard.iter().filter(|p| **p > 0.0) {
                let nearest = PIECES
                    .chars()
                    .map(|c| pitch_of(&c.to_string()))
                    .min_by(|a, b| (a - p).abs().total_cmp(&(b - p).abs()))
                    .unwrap();
                match runs.last_mut() {
                    Some((f, n)) if *f == nearest => *n += 1,
                    _ => runs.push((nearest, 1)),
                }
            }
            let mut order: Vec<f32> = Vec::new();
            for (f, _) in runs.into_iter().filter(|r| r.1 >= 3) {
                if order.last() != Some(&f) {
                    order.push(f);
                }
            }
            let expected: Vec<f32> = "十二月三日三千五百元"
                .chars()
                .map(|c| pitch_of(&c.to_string()))
                .collect();
            assert_eq!(order, expected, "at {rate} Hz");
        }
    }

    #[test]
    fn what_is_not_recorded_is_synthesized_at_the_recordings_loudness() {
        let pack = PromptPack::new(Dialect::Mandarin, vec![placeholder(Kind::Line, "元")]);
        let hum = Arc::new(Hum(AtomicUsize::new(0)));
        let voice = PromptedVoice::new(PromptPacks::default().with(pack), hum.clone());
        let out = voice.sentence("好多元", Dialect::Mandarin, 8_000).unwrap();
        assert_eq!(hum.0.load(Ordering::Relaxed), 1);
        // The loud hum came down to the pack's level: no jump between the
        // synthesized part and the recording.
        let hum_part = &out[..1_000];
        let rec_part = &out[out.len() - 1_000..];
        let ratio = audio::rms(hum_part) / audio::rms(rec_part);
        assert!((0.7..1.4).contains(&ratio), "{ratio}");
        // A sentence with nothing recorded, a styled voice, or a dialect
        // without a pack: the synthesized voice as it is.
        let plain = voice.sentence("好多", Dialect::Mandarin, 8_000).unwrap();
        assert_eq!(
            plain,
            hum.sentence("好多", Dialect::Mandarin, 8_000).unwrap()
        );
        let styled = VoiceStyle {
            speed: 1.2,
            pitch: 1.0,
        };
        let before = hum.0.load(Ordering::Relaxed);
        voice
            .styled("五元", Dialect::Mandarin, 8_000, styled)
            .unwrap();
        voice.sentence("元", Dialect::Cantonese, 8_000).unwrap();
        assert_eq!(hum.0.load(Ordering::Relaxed), before + 2);
    }
}
