//! A call's stereo recording: channel 1 the collector (robot or agent),
//! channel 2 the debtor, on the call's own clock.

use huikuan_speech::audio::wav::{read_interleaved, WavError};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("{path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path}: has {channels} channel(s); a call recording has 2 (channel 1 the collector, channel 2 the debtor)")]
    NotStereo { path: String, channels: u16 },
    #[error("{path}: sample rate {rate} Hz; 8000 Hz or more is needed")]
    Rate { path: String, rate: u32 },
}

#[derive(Debug, Clone)]
pub struct Recording {
    pub rate: u32,
    /// [collector, debtor], samples in -1..1.
    pub channels: [Vec<f32>; 2],
}

impl Recording {
    pub fn duration_ms(&self) -> u64 {
        let n = self.channels[0].len().max(self.channels[1].len()) as u64;
        n * 1000 / self.rate.max(1) as u64
    }

    /// Reads a 16-bit, 24-bit, 32-bit integer or float stereo WAV file.
    pub fn read(path: &Path) -> Result<Recording, RecordingError> {
        let name = path.display().to_string();
        let (spec, samples) = read_interleaved(path).map_err(|e| match e {
            WavError::Read { path, reason } | WavError::Write { path, reason } => {
                RecordingError::Unreadable { path, reason }
            }
        })?;
        if spec.channels != 2 {
            return Err(RecordingError::NotStereo {
                path: name,
                channels: spec.channels,
            });
        }
        if spec.sample_rate < 8000 {
            return Err(RecordingError::Rate {
                path: name,
                rate: spec.sample_rate,
            });
        }
        let clean = |s: f32| {
            if s.is_finite() {
                s.clamp(-1.0, 1.0)
            } else {
                0.0
            }
        };
        let collector = samples.iter().step_by(2).map(|s| clean(*s)).collect();
        let debtor = samples
            .iter()
            .skip(1)
            .step_by(2)
            .map(|s| clean(*s))
            .collect();
        Ok(Recording {
            rate: spec.sample_rate,
            channels: [collector, debtor],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stereo_file_reads_back_per_channel_and_a_mono_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("huikuan-qa-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stereo = dir.join("call.wav");
        huikuan_speech::audio::wav::write_pcm16(&stereo, 8000, &[&[0.5; 800], &[-0.25; 800]])
            .unwrap();
        let r = Recording::read(&stereo).unwrap();
        assert_eq!(r.rate, 8000);
        assert_eq!(r.duration_ms(), 100);
        assert!((r.channels[0][10] - 0.5).abs() < 1e-3 && (r.channels[1][10] + 0.25).abs() < 1e-3);
        let mono = dir.join("mono.wav");
        huikuan_speech::audio::wav::write_pcm16(&mono, 8000, &[&[0.5; 800]]).unwrap();
        let e = Recording::read(&mono).unwrap_err().to_string();
        assert!(e.contains("mono.wav") && e.contains("1 channel"), "{e}");
        let e = Recording::read(&dir.join("missing.wav"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.wav"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
