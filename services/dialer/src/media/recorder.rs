//! The call recording: one stereo WAV per call, left channel the robot (or
//! agent), right channel the debtor, both on the call's own clock so that
//! barge-in and silences are where they happened.

use huikuan_speech::audio::{wav::WavError, write_pcm16};
use std::path::Path;

pub struct CallRecorder {
    rate: u32,
    robot: Vec<f32>,
    debtor: Vec<f32>,
}

fn place(track: &mut Vec<f32>, start: usize, samples: &[f32]) {
    if track.len() < start + samples.len() {
        track.resize(start + samples.len(), 0.0);
    }
    for (t, s) in track[start..start + samples.len()].iter_mut().zip(samples) {
        *t = (*t + s).clamp(-1.0, 1.0);
    }
}

impl CallRecorder {
    pub fn new(rate: u32) -> Self {
        CallRecorder {
            rate,
            robot: Vec::new(),
            debtor: Vec::new(),
        }
    }

    fn offset(&self, at_ms: u64) -> usize {
        (at_ms * self.rate as u64 / 1000) as usize
    }

    /// What the robot (or agent) said, starting `at_ms` into the call.
    pub fn robot(&mut self, at_ms: u64, samples: &[f32]) {
        let o = self.offset(at_ms);
        place(&mut self.robot, o, samples);
    }

    /// What came in from the debtor's side, starting `at_ms` into the call.
    pub fn debtor(&mut self, at_ms: u64, samples: &[f32]) {
        let o = self.offset(at_ms);
        place(&mut self.debtor, o, samples);
    }

    pub fn duration_ms(&self) -> u64 {
        self.robot.len().max(self.debtor.len()) as u64 * 1000 / self.rate as u64
    }

    /// Writes the stereo WAV (16-bit).
    pub fn save(&self, path: &Path) -> Result<(), WavError> {
        write_pcm16(path, self.rate, &[&self.robot, &self.debtor])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_land_on_their_channel_at_their_time() {
        let mut r = CallRecorder::new(8000);
        r.robot(0, &vec![0.5; 8000]); // 0-1 s robot
        r.debtor(500, &vec![-0.25; 4000]); // 0.5-1.0 s debtor (barge-in)
        r.debtor(2000, &vec![0.1; 800]); // 2.0-2.1 s debtor
        assert_eq!(r.duration_ms(), 2100);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("call.wav");
        r.save(&p).unwrap();
        let reader = hound::WavReader::open(&p).unwrap();
        assert_eq!(reader.spec().channels, 2);
        let s: Vec<i16> = reader.into_samples::<i16>().map(|x| x.unwrap()).collect();
        let (left, right): (Vec<i16>, Vec<i16>) = (
            s.iter().step_by(2).copied().collect(),
            s.iter().skip(1).step_by(2).copied().collect(),
        );
        assert_eq!(left.len(), 2100 * 8);
        assert!(left[100] > 16000 && right[100] == 0);
        assert!(right[4100] < -8000 && left[4100] > 16000);
        assert!(left[9000] == 0 && right[9000] == 0);
        assert!(right[16100] > 3000);
    }
}
