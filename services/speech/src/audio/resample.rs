//! Sample-rate conversion (rubato's synchronous FFT resampler): 8 kHz
//! telephone audio to the 16 kHz the recognizer wants, and TTS output
//! (16/22.05/24 kHz) down to 8 kHz for the line.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("cannot resample {from} Hz -> {to} Hz: {reason}")]
    Setup { from: u32, to: u32, reason: String },
    #[error("resampling failed: {0}")]
    Run(String),
}

/// Converts a whole clip.
pub fn convert(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, ResampleError> {
    if from == to || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let mut r =
        Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Both).map_err(|e| {
            ResampleError::Setup {
                from,
                to,
                reason: e.to_string(),
            }
        })?;
    let input = InterleavedSlice::new(samples, 1, samples.len())
        .map_err(|e| ResampleError::Run(e.to_string()))?;
    let out = r
        .process_all(&input, samples.len(), None)
        .map_err(|e| ResampleError::Run(e.to_string()))?;
    Ok(out.take_data())
}

/// A running converter for a live stream: feed blocks of any size, take
/// what is ready. Its delay is fixed (`delay_frames`, at the output rate).
pub struct StreamResampler {
    inner: Fft<f32>,
    from: u32,
    to: u32,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
}

impl StreamResampler {
    /// `block` is the input chunk the converter works on (e.g. 160 samples
    /// = 20 ms at 8 kHz).
    pub fn new(from: u32, to: u32, block: usize) -> Result<Self, ResampleError> {
        let inner = Fft::<f32>::new(from as usize, to as usize, block, 1, FixedSync::Input)
            .map_err(|e| ResampleError::Setup {
                from,
                to,
                reason: e.to_string(),
            })?;
        let out_buf = vec![0.0; inner.output_frames_max()];
        Ok(StreamResampler {
            inner,
            from,
            to,
            pending: Vec::new(),
            out_buf,
        })
    }

    pub fn rates(&self) -> (u32, u32) {
        (self.from, self.to)
    }

    pub fn delay_frames(&self) -> usize {
        self.inner.output_delay()
    }

    /// Appends converted samples for every complete input block to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), ResampleError> {
        if self.from == self.to {
            out.extend_from_slice(input);
            return Ok(());
        }
        self.pending.extend_from_slice(input);
        loop {
            let need = self.inner.input_frames_next();
            if self.pending.len() < need {
                return Ok(());
            }
            let cap = self.out_buf.len();
            let (read, written) = {
                let inp = InterleavedSlice::new(&self.pending[..need], 1, need)
                    .map_err(|e| ResampleError::Run(e.to_string()))?;
                let mut outp = InterleavedSlice::new_mut(&mut self.out_buf, 1, cap)
                    .map_err(|e| ResampleError::Run(e.to_string()))?;
                self.inner
                    .process_into_buffer(&inp, &mut outp, None)
                    .map_err(|e| ResampleError::Run(e.to_string()))?
            };
            out.extend_from_slice(&self.out_buf[..written]);
            self.pending.drain(..read);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f32, secs: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin() * 0.5)
            .collect()
    }

    /// Frequency estimate from zero crossings.
    fn crossings_hz(x: &[f32], rate: u32) -> f32 {
        let c = x.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        c as f32 * rate as f32 / x.len() as f32
    }

    #[test]
    fn clip_conversion_keeps_length_and_pitch() {
        let x = tone(8000, 440.0, 1.0);
        let y = convert(&x, 8000, 16000).unwrap();
        assert!((y.len() as i64 - 16000).abs() <= 2, "{}", y.len());
        assert!((crossings_hz(&y, 16000) - 440.0).abs() < 5.0);
        let z = convert(&tone(24000, 300.0, 0.5), 24000, 8000).unwrap();
        assert!((z.len() as i64 - 4000).abs() <= 2);
        assert!((crossings_hz(&z, 8000) - 300.0).abs() < 5.0);
    }

    #[test]
    fn stream_conversion_in_20ms_blocks() {
        let x = tone(8000, 500.0, 1.0);
        let mut r = StreamResampler::new(8000, 16000, 160).unwrap();
        let mut out = Vec::new();
        for block in x.chunks(160) {
            r.push(block, &mut out).unwrap();
        }
        assert_eq!(out.len(), 16000);
        let settled = &out[r.delay_frames()..];
        assert!((crossings_hz(settled, 16000) - 500.0).abs() < 6.0);
    }
}
