//! Telephone audio: G.711, rate conversion, WAV files, 20 ms framing, and
//! what a line does to a voice (`line`).

pub mod g711;
pub mod line;
pub mod resample;
pub mod sounds;
pub mod wav;

pub use g711::Law;
pub use resample::{convert, StreamResampler};
pub use wav::{read_mono, write_pcm16, Clip};

/// The telephone rate and the recognizer's rate.
pub const LINE_RATE: u32 = 8_000;
pub const ASR_RATE: u32 = 16_000;
/// One RTP packet's worth of audio.
pub const FRAME_MS: u32 = 20;

pub const fn frame_len(rate: u32) -> usize {
    (rate * FRAME_MS / 1000) as usize
}

/// Splits samples into 20 ms frames, zero-padding the last one.
pub fn frames(samples: &[f32], rate: u32) -> Vec<Vec<f32>> {
    let n = frame_len(rate);
    samples
        .chunks(n)
        .map(|c| {
            let mut f = c.to_vec();
            f.resize(n, 0.0);
            f
        })
        .collect()
}

/// Root mean square of `samples` (0 for none).
pub fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

/// Below this RMS (about -45 dBFS) a 10 ms window holds no speech.
const QUIET_RMS: f32 = 0.0056;

/// `samples` without the quiet before the first and after the last
/// non-quiet 10 ms window, keeping `keep_ms` of it at each end; all of it
/// when nothing is louder than quiet.
pub fn trim_quiet(samples: &[f32], rate: u32, keep_ms: u32) -> &[f32] {
    let window = (rate / 100).max(1) as usize;
    let loud = |w: &[f32]| rms(w) >= QUIET_RMS;
    let windows: Vec<&[f32]> = samples.chunks(window).collect();
    let (Some(first), Some(last)) = (
        windows.iter().position(|w| loud(w)),
        windows.iter().rposition(|w| loud(w)),
    ) else {
        return samples;
    };
    let keep = (rate * keep_ms / 1000) as usize;
    let start = (first * window).saturating_sub(keep);
    let end = ((last + 1) * window + keep).min(samples.len());
    &samples[start..end]
}

/// What a telephone line does to 16 kHz audio: down to 8 kHz, through a
/// G.711 codec, and back up to 16 kHz for the recognizer.
pub fn telephone_band(
    samples: &[f32],
    rate: u32,
    law: Law,
) -> Result<Vec<f32>, resample::ResampleError> {
    let narrow = convert(samples, rate, LINE_RATE)?;
    convert(&through_codec(&narrow, law), LINE_RATE, ASR_RATE)
}

/// 8 kHz audio as it comes out of a G.711 codec.
pub fn through_codec(samples: &[f32], law: Law) -> Vec<f32> {
    let pcm: Vec<i16> = samples.iter().map(|&x| wav::to_i16(x)).collect();
    law.decode(&law.encode(&pcm))
        .iter()
        .map(|&s| s as f32 / 32768.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_the_sound_and_a_little_quiet_around_it() {
        let mut s = vec![0.0; 800]; // 100 ms quiet at 8 kHz
        s.extend(vec![0.001; 400]); // 50 ms of line hiss, still quiet
        s.extend(vec![0.2; 1600]); // 200 ms of sound
        s.extend(vec![0.0; 2400]); // 300 ms quiet
        let t = trim_quiet(&s, LINE_RATE, 40);
        assert_eq!(t.len(), 320 + 1600 + 320);
        assert_eq!(t[320], 0.2);
        assert_eq!(t[319], 0.001);
        let quiet = vec![0.0; 1000];
        assert_eq!(trim_quiet(&quiet, LINE_RATE, 40).len(), 1000);
        assert!(trim_quiet(&[], LINE_RATE, 40).is_empty());
    }

    #[test]
    fn twenty_ms_frames() {
        let f = frames(&vec![0.1; 8000 + 10], LINE_RATE);
        assert_eq!(f.len(), 51);
        assert!(f.iter().all(|x| x.len() == 160));
        assert_eq!(f[50][10], 0.0);
        assert_eq!(frame_len(ASR_RATE), 320);
    }
}
