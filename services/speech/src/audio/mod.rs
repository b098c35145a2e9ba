//! Telephone audio: G.711, rate conversion, WAV files and 20 ms framing.

pub mod g711;
pub mod resample;
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

/// What a telephone line does to 16 kHz audio: down to 8 kHz, through a
/// G.711 codec, and back up to 16 kHz for the recognizer.
pub fn telephone_band(
    samples: &[f32],
    rate: u32,
    law: Law,
) -> Result<Vec<f32>, resample::ResampleError> {
    let narrow = convert(samples, rate, LINE_RATE)?;
    let pcm: Vec<i16> = narrow.iter().map(|&x| wav::to_i16(x)).collect();
    let decoded: Vec<f32> = law
        .decode(&law.encode(&pcm))
        .iter()
        .map(|&s| s as f32 / 32768.0)
        .collect();
    convert(&decoded, LINE_RATE, ASR_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_ms_frames() {
        let f = frames(&vec![0.1; 8000 + 10], LINE_RATE);
        assert_eq!(f.len(), 51);
        assert!(f.iter().all(|x| x.len() == 160));
        assert_eq!(f[50][10], 0.0);
        assert_eq!(frame_len(ASR_RATE), 320);
    }
}
