//! Sounds that are not words, for checking that the robot never takes
//! them for an answer: a hissing line, music, and gibberish (real speech
//! played backwards: the voice, rhythm and pitch of talk with no words in
//! it). All at the line's 8 kHz, from a seed, so a check hears the same
//! sound every time.

use super::LINE_RATE;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f32::consts::PI;

/// The kinds, by the names bench files use (`noise:music`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    Hiss,
    Music,
    Gibberish,
}

impl Sound {
    pub const ALL: [Sound; 3] = [Sound::Hiss, Sound::Music, Sound::Gibberish];

    pub fn name(self) -> &'static str {
        match self {
            Sound::Hiss => "hiss",
            Sound::Music => "music",
            Sound::Gibberish => "gibberish",
        }
    }

    pub fn named(s: &str) -> Result<Sound, String> {
        Sound::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown sound '{s}' (hiss, music or gibberish)"))
    }
}

/// `secs` of white noise at about -20 dBFS.
pub fn hiss(secs: f32, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..(secs * LINE_RATE as f32) as usize)
        .map(|_| 0.17 * rng.random_range(-1.0f32..1.0))
        .collect()
}

/// `secs` of a tune: a note every quarter second from a pentatonic scale,
/// with two overtones and a soft chord under it.
pub fn music(secs: f32, seed: u64) -> Vec<f32> {
    const SCALE: [f32; 5] = [262.0, 294.0, 330.0, 392.0, 440.0];
    let mut rng = StdRng::seed_from_u64(seed);
    let rate = LINE_RATE as f32;
    let note_len = (rate / 4.0) as usize;
    let n = (secs * rate) as usize;
    let mut out = Vec::with_capacity(n);
    let mut f = SCALE[0];
    for i in 0..n {
        if i % note_len == 0 {
            f = SCALE[rng.random_range(0..SCALE.len())]
                * if rng.random_bool(0.3) { 2.0 } else { 1.0 };
        }
        let t = i as f32 / rate;
        let in_note = (i % note_len) as f32 / note_len as f32;
        let envelope = (1.0 - in_note).powf(0.5);
        let melody = (2.0 * PI * f * t).sin()
            + 0.4 * (4.0 * PI * f * t).sin()
            + 0.2 * (6.0 * PI * f * t).sin();
        let chord = (2.0 * PI * 131.0 * t).sin() + (2.0 * PI * 165.0 * t).sin();
        out.push(0.15 * envelope * melody + 0.05 * chord);
    }
    out
}

/// Speech backwards: `speech` (8 kHz) reversed.
pub fn gibberish(speech: &[f32]) -> Vec<f32> {
    speech.iter().rev().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::rms;

    #[test]
    fn sounds_are_repeatable_and_audible() {
        assert_eq!(hiss(0.5, 1), hiss(0.5, 1));
        assert_ne!(hiss(0.5, 1), hiss(0.5, 2));
        assert_eq!(music(1.0, 3), music(1.0, 3));
        for s in [hiss(1.0, 1), music(1.0, 1)] {
            assert_eq!(s.len(), 8_000);
            let level = rms(&s);
            assert!(level > 0.03 && level < 0.3, "{level}");
        }
        assert_eq!(gibberish(&[1.0, 2.0, 3.0]), vec![3.0, 2.0, 1.0]);
        assert_eq!(Sound::named("music"), Ok(Sound::Music));
        assert!(Sound::named("tv")
            .unwrap_err()
            .contains("unknown sound 'tv'"));
    }
}
