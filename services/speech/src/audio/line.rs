//! What a telephone call does to a caller's voice, so recognition can be
//! measured on audio as the robot hears it.
//!
//! The caller's voice is taken down to the line's 8 kHz, made louder or
//! quieter (clipping where it goes past full scale, as a hot handset
//! does), laid over a noise bed (line hiss, and background speech such as
//! a television at a given level below the voice), passed through a G.711
//! codec, and loses whole 20 ms packets at random (a lost packet is
//! silence: the robot's jitter buffer has nothing to play). The result
//! comes back at the recognizer's 16 kHz with a little of the noise bed
//! before and after the voice, as the endpointer cuts an utterance.
//!
//! The randomness (noise, which packets are lost) comes from a seed, so a
//! measurement run again hears exactly the same audio.

use super::resample::ResampleError;
use super::{convert, frame_len, rms, through_codec, trim_quiet, Law, ASR_RATE, LINE_RATE};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One line's conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct LineCondition {
    /// Gain on the caller's voice, dB (a quiet handset: -15; a loud one: +9).
    pub gain_db: f32,
    /// Line hiss this many dB below the voice (None: a clean line).
    pub hiss_snr_db: Option<f32>,
    /// Background speech this many dB below the voice (None: none).
    pub background_snr_db: Option<f32>,
    pub law: Law,
    /// Share of 20 ms packets lost, 0..=1.
    pub loss: f32,
    /// Seeds the hiss and the packet losses.
    pub seed: u64,
}

impl Default for LineCondition {
    fn default() -> Self {
        LineCondition {
            gain_db: 0.0,
            hiss_snr_db: None,
            background_snr_db: None,
            law: Law::Alaw,
            loss: 0.0,
            seed: 0,
        }
    }
}

/// Noise bed kept before and after the voice.
pub const LEAD_MS: u32 = 200;
pub const TAIL_MS: u32 = 120;

/// `voice` (mono, at `rate`) as heard by the robot through a line with
/// `condition`, at 16 kHz. `background` (8 kHz, any length, looped) is the
/// background speech when the condition has some.
pub fn through_line(
    voice: &[f32],
    rate: u32,
    background: Option<&[f32]>,
    condition: &LineCondition,
) -> Result<Vec<f32>, ResampleError> {
    let narrow = convert(voice, rate, LINE_RATE)?;
    let voice = trim_quiet(&narrow, LINE_RATE, 0);
    let gain = 10f32.powf(condition.gain_db / 20.0);
    let level = rms(voice) * gain;
    let lead = (LINE_RATE * LEAD_MS / 1000) as usize;
    let tail = (LINE_RATE * TAIL_MS / 1000) as usize;
    let mut line = vec![0.0f32; lead + voice.len() + tail];
    for (o, x) in line[lead..].iter_mut().zip(voice) {
        *o = (x * gain).clamp(-1.0, 1.0);
    }
    let mut rng = StdRng::seed_from_u64(condition.seed);
    if let Some(snr) = condition.hiss_snr_db {
        // Uniform noise of this RMS: amplitude sqrt(3) * rms.
        let amp = 3f32.sqrt() * level * 10f32.powf(-snr / 20.0);
        for o in line.iter_mut() {
            *o += amp * rng.random_range(-1.0f32..1.0);
        }
    }
    if let (Some(snr), Some(bg)) = (condition.background_snr_db, background) {
        let bg_level = rms(bg);
        if bg_level > 0.0 {
            let scale = level * 10f32.powf(-snr / 20.0) / bg_level;
            let start = rng.random_range(0..bg.len());
            for (i, o) in line.iter_mut().enumerate() {
                *o += scale * bg[(start + i) % bg.len()];
            }
        }
    }
    for o in line.iter_mut() {
        *o = o.clamp(-1.0, 1.0);
    }
    let mut coded = through_codec(&line, condition.law);
    if condition.loss > 0.0 {
        for packet in coded.chunks_mut(frame_len(LINE_RATE)) {
            if rng.random::<f32>() < condition.loss {
                packet.fill(0.0);
            }
        }
    }
    convert(&coded, LINE_RATE, ASR_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(secs: f32, rate: u32) -> Vec<f32> {
        (0..(secs * rate as f32) as usize)
            .map(|i| 0.3 * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn the_line_adds_its_noise_bed_and_the_same_seed_gives_the_same_audio() {
        let voice = tone(1.0, 16_000);
        let clean = through_line(&voice, 16_000, None, &LineCondition::default()).unwrap();
        // 200 ms before, the voice, 120 ms after; at 16 kHz.
        assert!((clean.len() as i64 - (3_200 + 16_000 + 1_920)).abs() < 40);
        assert!(rms(&clean[..2_000]) < 0.001);
        let hissy = LineCondition {
            hiss_snr_db: Some(10.0),
            seed: 7,
            ..Default::default()
        };
        let a = through_line(&voice, 16_000, None, &hissy).unwrap();
        let b = through_line(&voice, 16_000, None, &hissy).unwrap();
        assert_eq!(a, b);
        // Hiss 10 dB below a 0.21 RMS voice, squeezed into the 4 kHz band.
        let bed = rms(&a[400..2_800]);
        assert!(bed > 0.02 && bed < 0.1, "{bed}");
    }

    #[test]
    fn lost_packets_are_silence_and_gain_clips_at_full_scale() {
        let voice = tone(2.0, 8_000);
        let lossy = LineCondition {
            loss: 0.5,
            seed: 3,
            ..Default::default()
        };
        let out = through_line(&voice, 8_000, None, &lossy).unwrap();
        let silent = out[3_200..3_200 + 32_000]
            .chunks(320)
            .filter(|p| rms(&p[40..280]) < 0.001)
            .count();
        assert!(
            (30..=70).contains(&silent),
            "{silent} of 100 packets silent"
        );
        let hot = LineCondition {
            gain_db: 20.0,
            ..Default::default()
        };
        let out = through_line(&voice, 8_000, None, &hot).unwrap();
        // A 0.3 tone 20 dB up would have an RMS of 2.1; clipped at full
        // scale it is nearly a square wave of RMS just under 1.
        let level = rms(&out[3_200..3_200 + 16_000]);
        assert!(level > 0.8 && level < 1.0, "{level}");
    }

    #[test]
    fn background_speech_sits_the_given_level_below_the_voice() {
        let voice = tone(1.0, 8_000);
        let bg: Vec<f32> = tone(0.5, 8_000).iter().map(|x| x * 0.1).collect();
        let c = LineCondition {
            background_snr_db: Some(6.0),
            ..Default::default()
        };
        let out = through_line(&voice, 8_000, Some(&bg), &c).unwrap();
        // Before the voice only the background plays: 6 dB below 0.21.
        let before = rms(&out[200..3_000]);
        assert!((before - 0.212 * 0.5).abs() < 0.02, "{before}");
    }
}
