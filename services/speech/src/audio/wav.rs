//! WAV files: reading (any rate, 16/24/32-bit or float; channels mixed
//! down, or kept interleaved) and writing 16-bit mono or stereo.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("{path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: cannot write: {reason}")]
    Write { path: String, reason: String },
}

/// Mono samples in [-1, 1] and their rate.
#[derive(Debug, Clone)]
pub struct Clip {
    pub rate: u32,
    pub samples: Vec<f32>,
}

impl Clip {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.rate as f64
    }
}

pub fn read_mono(path: &Path) -> Result<Clip, WavError> {
    let (spec, interleaved) = read_interleaved(path)?;
    let channels = spec.channels.max(1) as usize;
    let samples = interleaved
        .chunks(channels)
        .map(|f| f.iter().sum::<f32>() / channels as f32)
        .collect();
    Ok(Clip {
        rate: spec.sample_rate,
        samples,
    })
}

/// A WAV file's format and its samples in [-1, 1], channels interleaved
/// (integer PCM of any width, or float).
pub fn read_interleaved(path: &Path) -> Result<(hound::WavSpec, Vec<f32>), WavError> {
    let err = |reason: String| WavError::Read {
        path: path.display().to_string(),
        reason,
    };
    let reader = hound::WavReader::open(path).map_err(|e| err(e.to_string()))?;
    let spec = reader.spec();
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .into_samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(|e| err(e.to_string()))?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1i64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(|e| err(e.to_string()))?
        }
    };
    Ok((spec, interleaved))
}

pub fn to_i16(x: f32) -> i16 {
    (x.clamp(-1.0, 1.0) * 32767.0).round() as i16
}

/// Writes 16-bit PCM; `channels` holds one sample vector per channel (the
/// shorter ones are padded with silence).
pub fn write_pcm16(path: &Path, rate: u32, channels: &[&[f32]]) -> Result<(), WavError> {
    let err = |reason: String| WavError::Write {
        path: path.display().to_string(),
        reason,
    };
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(|e| err(e.to_string()))?;
    let frames = channels.iter().map(|c| c.len()).max().unwrap_or(0);
    for i in 0..frames {
        for c in channels {
            w.write_sample(to_i16(c.get(i).copied().unwrap_or(0.0)))
                .map_err(|e| err(e.to_string()))?;
        }
    }
    w.finalize().map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_round_trip_mixes_to_mono() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.wav");
        let left = vec![0.5f32; 100];
        let right = vec![-0.25f32; 80];
        write_pcm16(&p, 8000, &[&left, &right]).unwrap();
        let clip = read_mono(&p).unwrap();
        assert_eq!(clip.rate, 8000);
        assert_eq!(clip.samples.len(), 100);
        assert!((clip.samples[0] - 0.125).abs() < 1e-3);
        assert!((clip.samples[90] - 0.25).abs() < 1e-3);
        let missing = read_mono(&dir.path().join("nope.wav")).unwrap_err();
        assert!(missing.to_string().contains("nope.wav"));
    }
}
