//! `huikuan dev bench-onset`: how often a sound of a given length, made
//! over the robot's voice, is noticed as a possible barge-in onset and how
//! often it is confirmed as speech. Each sound is the start of a spoken
//! word, put on a faintly noisy line at many offsets (so it falls on the
//! detectors' 32 ms windows every way) and taken through the robot's
//! hearing path: G.711 μ-law, 8 -> 16 kHz resampling, the echo canceller
//! with the robot's opening as what was sent, then the endpointer with
//! the robot's onset setting. What a sound too short for speech must be
//! for the robot to pause for it and then go on.

use huikuan_core::Dialect;
use huikuan_speech::audio::{rms, through_codec, Law, StreamResampler};
use huikuan_speech::echo::EchoCanceller;
use huikuan_speech::vad::{Endpointer, VadEvent};
use huikuan_speech::SpeechEngines;
use indicatif::ProgressBar;

const RATE: u32 = 8000;
const FRAME: usize = 160;

/// What a sound was to the endpointer.
#[derive(Default)]
struct Heard {
    onset: bool,
    confirmed: bool,
}

/// The robot's setting for onsets (ms of possible speech).
const ONSET_MS: u32 = 32;

/// Faint uniform noise (about -65 dBFS), the same for the same seed.
fn line_noise(n: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((state >> 8) as f32 / 16_777_216.0 - 0.5) * 0.002
        })
        .collect()
}

/// One sound `at` samples into the robot's speech, through the robot's
/// hearing path.
fn hear_one(
    engines: &SpeechEngines,
    robot: &[f32],
    sound: &[f32],
    at: usize,
    seed: u32,
) -> anyhow::Result<Heard> {
    let mut vad = engines.vad.clone();
    vad.onset_ms = ONSET_MS;
    let mut endpointer = Endpointer::new(vad)?;
    let lead = RATE as usize;
    let total = lead + robot.len().max(at + sound.len()) + RATE as usize;
    let mut line = line_noise(total, seed);
    for (i, s) in sound.iter().enumerate() {
        line[lead + at + i] += s;
    }
    let line = through_codec(&line, Law::Ulaw);
    let mut sent = vec![0.0; lead];
    sent.extend_from_slice(robot);
    sent.resize(total, 0.0);
    let mut up_line = StreamResampler::new(RATE, 16_000, FRAME)?;
    let mut up_sent = StreamResampler::new(RATE, 16_000, FRAME)?;
    let mut echo = EchoCanceller::new();
    let (mut heard16, mut sent16, mut clean) = (Vec::new(), Vec::new(), Vec::new());
    let mut out = Heard::default();
    for (heard, said) in line.chunks_exact(FRAME).zip(sent.chunks_exact(FRAME)) {
        heard16.clear();
        sent16.clear();
        clean.clear();
        up_line.push(heard, &mut heard16)?;
        up_sent.push(said, &mut sent16)?;
        echo.process(&sent16, &heard16, &mut clean);
        for e in endpointer.push(&clean) {
            match e {
                VadEvent::Onset { .. } => out.onset = true,
                VadEvent::SpeechStart { .. } => out.confirmed = true,
                _ => {}
            }
        }
    }
    Ok(out)
}

pub fn bench_onset(
    engines: &SpeechEngines,
    words: &[String],
    lengths_ms: &[u32],
    offsets: u32,
    into_robot_ms: &[u32],
) -> anyhow::Result<()> {
    let opening = "您好，本次通话将被录音。这里是易贷的客服，请问您是张伟本人吗？";
    let robot = through_codec(
        &engines.tts.sentence(opening, Dialect::Mandarin, RATE)?,
        Law::Ulaw,
    );
    let runs = words.len() * lengths_ms.len() * into_robot_ms.len() * offsets as usize;
    let bar = ProgressBar::new(runs as u64);
    for word in words {
        let voice = engines.tts.sentence(word, Dialect::Mandarin, RATE)?;
        let start = voice
            .chunks(FRAME)
            .position(|f| rms(f) > 0.02)
            .ok_or_else(|| anyhow::anyhow!("'{word}': the voice said nothing loud"))?
            * FRAME;
        for &into_ms in into_robot_ms {
            for &ms in lengths_ms {
                let end = (start + ms as usize * RATE as usize / 1000).min(voice.len());
                let sound = &voice[start..end];
                let (mut onsets, mut confirmed) = (0, 0);
                for offset in 0..offsets {
                    // 13 samples apart: the offsets cover a 32 ms window
                    // (256 samples at 8 kHz) about twice over every 40.
                    let at = into_ms as usize * RATE as usize / 1000 + offset as usize * 13;
                    let h = hear_one(engines, &robot, sound, at, offset)?;
                    onsets += h.onset as u32;
                    confirmed += h.confirmed as u32;
                    bar.inc(1);
                }
                bar.suspend(|| {
                    println!(
                        "{{\"word\":\"{word}\",\"into_robot_ms\":{into_ms},\"sound_ms\":{},\"offsets\":{offsets},\"onset\":{onsets},\"confirmed\":{confirmed}}}",
                        (end - start) * 1000 / RATE as usize
                    )
                });
            }
        }
    }
    bar.finish_and_clear();
    Ok(())
}
