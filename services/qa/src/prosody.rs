//! The voice of one side of a call, 10 ms at a time: its pitch (F0, by
//! pYIN, the `pyin` crate) and its loudness (RMS level in dBFS).
//!
//! Pitch is tracked at 8 kHz (telephone audio has nothing of F0 above
//! that) between 62.5 and 500 Hz, in quarter-semitone bins, and only where
//! the side speaks: silence has no pitch and costs nothing. 62.5 Hz is
//! 8000/128 exactly: pYIN's longest period then maps onto its lowest
//! bin, never below it.

use huikuan_speech::audio::resample;
use pyin::{Framing, PYINExecutor, PadMode};

/// Milliseconds per measurement.
pub const FRAME_MS: u64 = 10;
const RATE: u32 = 8000;
const HOP: usize = (RATE as u64 * FRAME_MS / 1000) as usize;
const PYIN_FRAME: usize = 512;
pub const MIN_PITCH_HZ: f64 = 62.5;
pub const MAX_PITCH_HZ: f64 = 500.0;
/// Quiet floor of a frame's level, so that digital silence is a number.
pub const FLOOR_DB: f32 = -100.0;

/// One side's pitch and loudness, frame `i` covering
/// `i * FRAME_MS .. (i + 1) * FRAME_MS`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VoiceTrack {
    /// Hz; NaN where the side is not voiced (or not speaking).
    pub pitch_hz: Vec<f32>,
    /// dBFS of the frame's RMS.
    pub loudness_db: Vec<f32>,
}

impl VoiceTrack {
    pub fn frames(&self) -> usize {
        self.loudness_db.len()
    }

    /// At most `points_per_second` points a second of the track, for a chart:
    /// each the median pitch of its voiced frames (or none) and the
    /// highest loudness, with its time in ms.
    pub fn summarized(&self, points_per_second: u64) -> Vec<(u64, Option<f32>, f32)> {
        let step = (1000 / FRAME_MS / points_per_second.max(1)).max(1) as usize;
        self.loudness_db
            .chunks(step)
            .zip(self.pitch_hz.chunks(step))
            .enumerate()
            .map(|(i, (db, hz))| {
                let mut voiced: Vec<f32> = hz.iter().copied().filter(|f| f.is_finite()).collect();
                voiced.sort_by(f32::total_cmp);
                let pitch = voiced
                    .get(voiced.len() / 2)
                    .map(|p| (p * 10.0).round() / 10.0);
                let loud = db.iter().copied().fold(FLOOR_DB, f32::max);
                (
                    (i * step) as u64 * FRAME_MS,
                    pitch,
                    (loud * 10.0).round() / 10.0,
                )
            })
            .collect()
    }

    /// The frames of `start_ms..end_ms`.
    pub fn range(&self, start_ms: u64, end_ms: u64) -> std::ops::Range<usize> {
        let n = self.frames();
        let a = ((start_ms / FRAME_MS) as usize).min(n);
        let b = (end_ms.div_ceil(FRAME_MS) as usize).clamp(a, n);
        a..b
    }
}

/// Tracks pitch; one per thread (pYIN keeps working buffers).
pub struct PitchTracker {
    pyin: PYINExecutor<f32>,
}

impl Default for PitchTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl PitchTracker {
    pub fn new() -> Self {
        PitchTracker {
            pyin: PYINExecutor::new(
                MIN_PITCH_HZ,
                MAX_PITCH_HZ,
                RATE,
                PYIN_FRAME,
                None,
                Some(HOP),
                Some(0.25),
            ),
        }
    }

    /// Pitch of 8 kHz `samples`, one value per 10 ms (NaN: unvoiced).
    pub fn pitch_8k(&mut self, samples: &[f32]) -> Vec<f32> {
        let frames = samples.len() / HOP;
        if frames == 0 {
            return Vec::new();
        }
        let clean: Vec<f32> = samples
            .iter()
            .map(|s| if s.is_finite() { *s } else { 0.0 })
            .collect();
        // pYIN asserts on inputs it cannot handle: audio from the network
        // must not take the process down, so such a stretch is unvoiced.
        let pyin = &mut self.pyin;
        let tracked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pyin.pyin(&clean, f32::NAN, Framing::Center(PadMode::Constant(0.0)))
                .1
        }));
        match tracked {
            Ok(mut f0) => {
                f0.resize(frames, f32::NAN);
                f0
            }
            Err(_) => {
                tracing::warn!(
                    samples = samples.len(),
                    "pitch tracking failed on a stretch of audio; treated as unvoiced"
                );
                vec![f32::NAN; frames]
            }
        }
    }

    /// One side's voice: loudness everywhere, pitch within `speech`
    /// (spans in ms).
    pub fn track(&mut self, samples: &[f32], rate: u32, speech: &[(u64, u64)]) -> VoiceTrack {
        let at_8k;
        let audio: &[f32] = if rate == RATE {
            samples
        } else {
            at_8k = resample::convert(samples, rate, RATE).unwrap_or_default();
            &at_8k
        };
        let loudness_db: Vec<f32> = audio.chunks(HOP).map(level_db).collect();
        let mut pitch_hz = vec![f32::NAN; loudness_db.len()];
        for &(start, end) in speech {
            let a = ((start / FRAME_MS) as usize).min(pitch_hz.len());
            let b = (end.div_ceil(FRAME_MS) as usize).clamp(a, pitch_hz.len());
            if b <= a {
                continue;
            }
            let span = &audio[a * HOP..(b * HOP).min(audio.len())];
            for (slot, f0) in pitch_hz[a..b].iter_mut().zip(self.pitch_8k(span)) {
                *slot = f0;
            }
        }
        VoiceTrack {
            pitch_hz,
            loudness_db,
        }
    }
}

/// RMS level of samples in dBFS (full scale sine = -3 dB).
pub fn level_db(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return FLOOR_DB;
    }
    let power = samples
        .iter()
        .filter(|s| s.is_finite())
        .map(|s| s * s)
        .sum::<f32>()
        / samples.len() as f32;
    (10.0 * power.max(1e-10).log10()).max(FLOOR_DB)
}

/// Semitones of `hz` above 100 Hz.
pub fn semitones(hz: f32) -> f32 {
    12.0 * (hz / 100.0).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, seconds: f32, rate: u32, amplitude: f32) -> Vec<f32> {
        (0..(seconds * rate as f32) as usize)
            .map(|i| amplitude * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin())
            .collect()
    }

    /// A voice-like tone: a fundamental and falling harmonics.
    fn voiced(hz: f32, seconds: f32, rate: u32) -> Vec<f32> {
        let mut out = vec![0.0; (seconds * rate as f32) as usize];
        for k in 1..=6 {
            for (o, s) in out
                .iter_mut()
                .zip(tone(hz * k as f32, seconds, rate, 0.3 / k as f32))
            {
                *o += s;
            }
        }
        out
    }

    fn gross_error_rate(track: &[f32], truth: f32) -> f32 {
        let inner = &track[5..track.len() - 5];
        let wrong = inner
            .iter()
            .filter(|f| !f.is_finite() || (semitones(**f) - semitones(truth)).abs() > 0.5)
            .count();
        wrong as f32 / inner.len() as f32
    }

    #[test]
    fn pure_and_harmonic_tones_are_tracked_within_half_a_semitone() {
        let mut t = PitchTracker::new();
        for hz in [80.0, 110.0, 150.0, 220.0, 330.0, 440.0] {
            let f0 = t.pitch_8k(&tone(hz, 1.0, 8000, 0.5));
            assert_eq!(f0.len(), 100);
            assert!(gross_error_rate(&f0, hz) < 0.02, "{hz} Hz: {f0:?}");
            let f0 = t.pitch_8k(&voiced(hz, 1.0, 8000));
            assert!(gross_error_rate(&f0, hz) < 0.02, "{hz} Hz harmonic: {f0:?}");
        }
    }

    #[test]
    fn audio_at_other_rates_is_tracked_and_silence_has_no_pitch() {
        let mut t = PitchTracker::new();
        let mut audio = vec![0.0f32; 16_000];
        audio.extend(voiced(200.0, 1.0, 16_000));
        let track = t.track(&audio, 16_000, &[(1000, 2000)]);
        assert_eq!(track.frames(), 200);
        assert!(track.pitch_hz[..100].iter().all(|f| f.is_nan()));
        assert!(gross_error_rate(&track.pitch_hz[100..], 200.0) < 0.03);
        assert!(track.loudness_db[50] <= FLOOR_DB + 1.0);
        assert!((track.loudness_db[150] - level_db(&voiced(200.0, 1.0, 8000))).abs() < 1.5);
    }

    #[test]
    fn noise_silence_and_garbage_never_take_the_tracker_down() {
        let mut t = PitchTracker::new();
        assert!(t.pitch_8k(&[]).is_empty());
        assert!(t.pitch_8k(&[0.0; 8000]).iter().all(|f| f.is_nan()));
        let garbage: Vec<f32> = (0..8000)
            .map(|i| match i % 7 {
                0 => f32::NAN,
                1 => f32::INFINITY,
                _ => ((i * 7919) % 13) as f32 / 13.0 - 0.5,
            })
            .collect();
        assert_eq!(t.pitch_8k(&garbage).len(), 100);
        assert_eq!(t.pitch_8k(&[0.1; 79]).len(), 0);
    }

    /// A vowel-like voice with a known pitch contour: a glottal pulse
    /// train (Rosenberg pulses) through three formant resonators, with
    /// a little noise, through the telephone's G.711.
    fn vowel(contour: impl Fn(f32) -> f32, seconds: f32) -> Vec<f32> {
        let rate = 8000.0;
        let n = (seconds * rate) as usize;
        let mut phase = 0.0f32;
        let mut source = Vec::with_capacity(n);
        for i in 0..n {
            let f0 = contour(i as f32 / rate);
            phase += f0 / rate;
            if phase >= 1.0 {
                phase -= 1.0;
            }
            // Rosenberg pulse: opening 40%, closing 16% of the period.
            let g = if phase < 0.4 {
                0.5 * (1.0 - (std::f32::consts::PI * phase / 0.4).cos())
            } else if phase < 0.56 {
                (std::f32::consts::PI * (phase - 0.4) / 0.32).cos()
            } else {
                0.0
            };
            source.push(g);
        }
        let mut out: Vec<f32> = source.windows(2).map(|w| w[1] - w[0]).collect();
        for (f, bw) in [(700.0f32, 80.0f32), (1200.0, 90.0), (2600.0, 120.0)] {
            let r = (-std::f32::consts::PI * bw / rate).exp();
            let (a1, a2) = (
                2.0 * r * (2.0 * std::f32::consts::PI * f / rate).cos(),
                -r * r,
            );
            let (mut y1, mut y2) = (0.0f32, 0.0f32);
            for x in out.iter_mut() {
                let y = *x + a1 * y1 + a2 * y2;
                y2 = y1;
                y1 = y;
                *x = y;
            }
        }
        let peak = out.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let mut seed = 12345u32;
        let samples: Vec<f32> = out
            .iter()
            .map(|x| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                0.3 * x / peak + 0.003 * ((seed >> 8) as f32 / (1 << 24) as f32 - 0.5)
            })
            .collect();
        huikuan_speech::audio::through_codec(&samples, huikuan_speech::audio::Law::Ulaw)
    }

    #[test]
    fn a_vowel_gliding_like_mandarin_tones_is_tracked_with_few_gross_errors() {
        // Rising (tone 2), falling (tone 4) and dipping (tone 3) contours,
        // a man's voice and a woman's.
        type Contour = Box<dyn Fn(f32) -> f32>;
        let contours: Vec<(&str, Contour)> = vec![
            ("rising 110-160 Hz", Box::new(|t| 110.0 + 50.0 * t)),
            ("falling 260-170 Hz", Box::new(|t| 260.0 - 90.0 * t)),
            (
                "dipping 220-180-220 Hz",
                Box::new(|t| 180.0 + 160.0 * (t - 0.5) * (t - 0.5)),
            ),
        ];
        let mut t = PitchTracker::new();
        for (name, f) in contours {
            let audio = vowel(&f, 1.0);
            let track = t.pitch_8k(&audio);
            let inner = 5..track.len() - 5;
            let wrong = inner
                .clone()
                .filter(|&i| {
                    let truth = f(i as f32 * FRAME_MS as f32 / 1000.0);
                    !track[i].is_finite() || (semitones(track[i]) - semitones(truth)).abs() > 1.0
                })
                .count();
            let rate = wrong as f32 / inner.len() as f32;
            assert!(
                rate <= 0.05,
                "{name}: {wrong} gross errors of {}: {track:?}",
                inner.len()
            );
        }
    }

    /// On real speech against librosa's pYIN (the reference the crate
    /// ports; tracks made by scripts/pitch-reference.py): of the frames
    /// both call voiced, few are grossly apart (more than 20%), and the
    /// two mostly agree on which frames are voiced.
    #[test]
    fn real_speech_is_tracked_as_the_reference_tracker_does() {
        let dir = huikuan_speech::eval::speech_testdata()
            .expect("speech test data not found: set HUIKUAN_SPEECH_TESTDATA");
        let refs =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/qa/pitch");
        let mut t = PitchTracker::new();
        let mut checked = 0;
        for entry in std::fs::read_dir(&refs).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let Some(stem) = name.strip_suffix(".f0.csv") else {
                continue;
            };
            let clip = ["mandarin", "sichuanese", "cantonese"]
                .iter()
                .map(|d| dir.join(d).join(format!("{stem}.wav")))
                .find(|p| p.is_file())
                .unwrap_or_else(|| panic!("{stem}.wav not in {}", dir.display()));
            let c = huikuan_speech::audio::wav::read_mono(&clip).unwrap();
            let at_8k = resample::convert(&c.samples, c.rate, RATE).unwrap();
            let ours = t.pitch_8k(&at_8k);
            let reference: Vec<Option<f32>> = std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .skip(1)
                .map(|l| l.split(',').nth(1).and_then(|v| v.parse().ok()))
                .collect();
            // Compared at the lag (within 30 ms) where they agree best:
            // resamplers delay audio by a few milliseconds each.
            let compare = |lag: isize| {
                let (mut both, mut gross, mut fine, mut agree, mut n) = (0, 0, 0, 0, 0);
                for (i, r) in reference.iter().enumerate() {
                    let Some(o) = ours.get((i as isize + lag).max(0) as usize) else {
                        continue;
                    };
                    n += 1;
                    if o.is_finite() == r.is_some() {
                        agree += 1;
                    }
                    if let (true, Some(r)) = (o.is_finite(), r) {
                        both += 1;
                        // A gross error, as pitch trackers are scored: more
                        // than 20% off (about 3.2 semitones: octave and
                        // other harmonic errors, not smoothing).
                        if (o / r - 1.0).abs() > 0.2 {
                            gross += 1;
                        }
                        if (semitones(*o) - semitones(*r)).abs() > 0.5 {
                            fine += 1;
                        }
                    }
                }
                let share = |k: usize| k as f32 / both.max(1) as f32;
                (
                    share(fine),
                    share(gross),
                    agree as f32 / n.max(1) as f32,
                    both,
                )
            };
            // The lag where the most frames are within half a semitone.
            let (lag, (fine_rate, gross_rate, agreement, both)) = (-3..=3)
                .map(|lag| (lag, compare(lag)))
                .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                .unwrap();
            eprintln!(
                "{stem}: at {lag} frames' lag, {both} frames voiced in both: {gross_rate:.3} gross errors, \
                 {fine_rate:.3} more than half a semitone apart; voicing agrees on {agreement:.3}"
            );
            assert!(both > 50, "{stem}: too little voiced speech to compare");
            assert!(
                gross_rate <= 0.05,
                "{stem}: gross error rate {gross_rate:.3}"
            );
            assert!(agreement >= 0.8, "{stem}: voicing agrees on {agreement:.3}");
            checked += 1;
        }
        assert!(checked >= 4, "reference tracks in {}", refs.display());
    }

    #[test]
    fn levels_are_in_dbfs() {
        assert!((level_db(&tone(440.0, 1.0, 8000, 1.0)) + 3.01).abs() < 0.05);
        assert!((level_db(&tone(440.0, 1.0, 8000, 0.5)) + 9.03).abs() < 0.05);
        assert_eq!(level_db(&[0.0; 80]), FLOOR_DB);
        assert!((semitones(200.0) - 12.0).abs() < 1e-4);
    }
}
