//! One recording made fit to play: checked (rate, mono, no clipping, not
//! silent), brought to the pack's loudness and trimmed to its sound.

use super::PACK_RATE;
use crate::audio::{self, rms, wav};
use std::path::Path;

/// Sample rates a recording may have (it is converted to [`PACK_RATE`]).
pub const RATES: [u32; 7] = [8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000];
/// Speech level every part is brought to (RMS of its sounding 10 ms
/// windows): -20 dBFS, so recordings and synthesized words match.
pub const TARGET_RMS: f32 = 0.1;
/// Highest peak after levelling.
const PEAK: f32 = 0.95;
/// Quiet kept at each end of a recording: joins have no audible gap.
pub const EDGE_MS: u32 = 10;
/// Samples in a row at full scale that make a recording clipped.
const CLIPPED_RUN: usize = 3;
/// Below this (about -45 dBFS) a 10 ms window holds no sound.
const QUIET_RMS: f32 = 0.0056;
/// Windows this far below the loudest one are not counted in the level.
const LEVEL_FLOOR: f32 = 0.1;
/// Less sound than this is not a word.
const MIN_SOUND_MS: usize = 60;

/// Reads a WAV file and makes it fit to play ([`fit`]); the error says
/// why not, without the path (the caller names the file).
pub fn prepare(path: &Path) -> Result<Vec<f32>, String> {
    let (spec, samples) = wav::read_interleaved(path).map_err(|e| match e {
        wav::WavError::Read { reason, .. } | wav::WavError::Write { reason, .. } => reason,
    })?;
    fit(spec.channels, spec.sample_rate, &samples)
}

/// A recording's samples checked and made fit to play: at [`PACK_RATE`],
/// at [`TARGET_RMS`], with [`EDGE_MS`] of quiet at each end.
pub fn fit(channels: u16, rate: u32, samples: &[f32]) -> Result<Vec<f32>, String> {
    if channels != 1 {
        return Err(format!("{channels} channels: recordings must be mono"));
    }
    if !RATES.contains(&rate) {
        let list: Vec<String> = RATES.iter().map(u32::to_string).collect();
        return Err(format!(
            "sample rate {rate} Hz: recordings must be {} Hz",
            list.join(", ")
        ));
    }
    if let Some(at) = clipped_at(samples) {
        return Err(format!(
            "clipped at {:.2} s: record it again with peaks below full scale",
            at as f64 / rate as f64
        ));
    }
    let loudest = windows(samples, rate).map(rms).fold(0.0f32, f32::max);
    if loudest < QUIET_RMS {
        return Err("silent: nothing louder than -45 dBFS".into());
    }
    let mut wide = audio::convert(samples, rate, PACK_RATE).map_err(|e| e.to_string())?;
    level(&mut wide, PACK_RATE);
    let trimmed = audio::trim_quiet(&wide, PACK_RATE, EDGE_MS).to_vec();
    let sound_ms = trimmed.len() * 1000 / PACK_RATE as usize;
    if sound_ms < MIN_SOUND_MS + 2 * EDGE_MS as usize {
        return Err(format!(
            "too short: {} ms of sound, a word takes at least {MIN_SOUND_MS} ms",
            sound_ms.saturating_sub(2 * EDGE_MS as usize)
        ));
    }
    Ok(trimmed)
}

/// Where `samples` first stay at full scale for [`CLIPPED_RUN`] samples.
fn clipped_at(samples: &[f32]) -> Option<usize> {
    let mut run = 0;
    for (i, s) in samples.iter().enumerate() {
        if s.abs() >= 0.999 {
            run += 1;
            if run == CLIPPED_RUN {
                return Some(i + 1 - CLIPPED_RUN);
            }
        } else {
            run = 0;
        }
    }
    None
}

fn windows(samples: &[f32], rate: u32) -> std::slice::Chunks<'_, f32> {
    samples.chunks((rate / 100).max(1) as usize)
}

/// The speech level of `samples`: the RMS of its 10 ms windows that are
/// within 20 dB of the loudest (0 for silence).
pub fn speech_level(samples: &[f32], rate: u32) -> f32 {
    let levels: Vec<f32> = windows(samples, rate).map(rms).collect();
    let loudest = levels.iter().copied().fold(0.0f32, f32::max);
    if loudest < QUIET_RMS {
        return 0.0;
    }
    let sounding: Vec<f32> = levels
        .into_iter()
        .filter(|l| *l >= loudest * LEVEL_FLOOR)
        .collect();
    (sounding.iter().map(|l| l * l).sum::<f32>() / sounding.len() as f32).sqrt()
}

/// Brings `samples` to [`TARGET_RMS`], peaks kept below full scale
/// (silence is left as it is).
pub fn level(samples: &mut [f32], rate: u32) {
    let now = speech_level(samples, rate);
    if now <= 0.0 {
        return;
    }
    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    let gain = (TARGET_RMS / now).min(PEAK / peak.max(f32::EPSILON));
    samples.iter_mut().for_each(|s| *s *= gain);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, ms: u32, amp: f32) -> Vec<f32> {
        (0..rate * ms / 1000)
            .map(|i| amp * (i as f32 * 2.0 * std::f32::consts::PI * 300.0 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn a_quiet_recording_is_brought_to_the_pack_level_and_trimmed() {
        let mut s = vec![0.0; 4_410];
        s.extend(tone(44_100, 400, 0.02));
        s.extend(vec![0.0; 8_820]);
        let out = fit(1, 44_100, &s).unwrap();
        let level = speech_level(&out, PACK_RATE);
        assert!((level - TARGET_RMS).abs() < 0.01, "{level}");
        let ms = out.len() as u32 * 1000 / PACK_RATE;
        assert!((400..=430).contains(&ms), "{ms} ms");
    }

    #[test]
    fn bad_recordings_say_why() {
        let t = tone(16_000, 300, 0.3);
        assert!(fit(2, 16_000, &t).unwrap_err().contains("2 channels"));
        let e = fit(1, 11_025, &t).unwrap_err();
        assert!(e.starts_with("sample rate 11025 Hz"), "{e}");
        let mut loud = t.clone();
        loud[2_400..2_410].fill(1.0);
        let e = fit(1, 16_000, &loud).unwrap_err();
        assert!(e.starts_with("clipped at 0.15 s"), "{e}");
        let e = fit(1, 16_000, &vec![0.001; 16_000]).unwrap_err();
        assert!(e.starts_with("silent"), "{e}");
        let e = fit(1, 16_000, &tone(16_000, 20, 0.3)).unwrap_err();
        assert!(e.starts_with("too short"), "{e}");
        // One sample touching full scale is a peak, not clipping.
        let mut peak = t;
        peak[100] = 1.0;
        assert!(fit(1, 16_000, &peak).is_ok());
    }
}
