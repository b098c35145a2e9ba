//! Line echo cancellation: the far end sends back part of what we said (a
//! two-wire hybrid in the carrier's network, a handset's loudspeaker
//! reaching its microphone). Heard unfiltered, that echo would cut the
//! robot off in mid-sentence and be recognised as the debtor's words.
//!
//! [`EchoCanceller`] removes it with the adaptive filter of WebRTC's AEC3
//! (the `aec3` crate's port, with its own echo-path delay estimation) on
//! 16 kHz audio, given what was sent and what came back on the same
//! clock. The linear filter's output is used, not AEC3's nonlinear
//! residual suppressor: the suppressor also swallows the first ~100 ms
//! of a debtor who starts talking over the robot (measured: 30-40 dB
//! down), which is exactly what barge-in must hear, while the linear
//! output keeps it within 1 dB and still takes echo down about 30 dB once
//! converged (about a second of the robot's speech; 8 dB before).
//!
//! What the filter leaves of the echo is still speech to a VAD, however
//! quiet. So a 10 ms frame is silenced (a G.168-style non-linear
//! processor) when what came out is either far below the echo the filter
//! took from it, or no louder than the echo this line returns for the
//! loudest thing we said in the last half second. The line's return is
//! the loudest echo the filter found over the loudest we said, each over
//! the last half second (so neither the echo's delay nor the shape of
//! our words matters), taken as the lower quartile of those ratios over
//! our last two seconds of speech (so a debtor talking over us, which
//! the filter partly takes for echo, does not raise it). Until the
//! filter has converged and a second of it is known, it is a cautious
//! -10 dB, or less where less than that came back of anything we said:
//! everything heard over two echo windows, over the loudest we said in
//! the first of them, is at least the return, so on a line that returns
//! nothing a debtor is heard over our first words whatever their level.
//! When the filter adds more than it removes (it has diverged: the echo
//! path shifted, as when a jitter buffer grows on a loaded machine) the
//! line itself is used until it re-converges, and the gate still holds.
//! Residual echo is silenced, and a debtor louder than the echo passes
//! from the first frame. No high-pass filter, noise suppression or gain
//! control either, so when no echo is possible the recognizer hears the
//! line itself. While nothing has been said for a while there is nothing
//! to cancel and the audio passes untouched, which keeps the cost to the
//! moments the robot speaks.

use aec3::api::config::EchoCanceller3Config;
use aec3::api::control::EchoControl;
use aec3::audio_processing::aec3::block_processor::BlockProcessor;
use aec3::audio_processing::aec3::echo_canceller3::EchoCanceller3;
use aec3::audio_processing::audio_buffer::AudioBuffer;
use aec3::audio_processing::stream_config::StreamConfig;

/// The canceller works on 16 kHz audio in 10 ms frames.
pub const ECHO_RATE: u32 = 16_000;
const FRAME: usize = (ECHO_RATE / 100) as usize;

/// Below this RMS a frame counts as quiet (about -50 dBFS).
const QUIET_RMS: f32 = 0.003;
const QUIET_ENERGY: f64 = QUIET_RMS as f64 * QUIET_RMS as f64;

/// Echo arrives within this long of what caused it (round trip, both
/// jitter buffers and the echo path); after this much quiet on our side
/// there is nothing left to cancel.
const ECHO_TAIL_MS: u64 = 1_500;

/// AEC3's linear output lags its input by one of its 64-sample blocks.
const LINEAR_LAG: usize = 64;

/// A frame whose output is more than 6 dB below the echo the filter took
/// from it is residual echo (energy ratio).
const RESIDUAL_GATE: f64 = 0.25;

/// A frame no more than 3 dB above the echo expected from what we said
/// is residual echo too (energy ratio).
const EXPECTED_GATE: f64 = 2.0;

/// After a frame of sound that is not echo, the gate holds open for
/// this many frames (the quiet between a debtor's syllables).
const HOLD_OPEN_FRAMES: u32 = 15;

/// Echo estimates below this energy (about -70 dBFS) silence nothing.
const ECHO_FLOOR: f64 = 1e-7;

/// The line's echo return (energy ratio) before anything is known:
/// -10 dB, louder than most lines return (so our first words' echo is
/// silenced even while the filter has not converged), while a debtor
/// within 7 dB of our own level still passes from our first word.
const PRIOR_RETURN: f64 = 0.1;

/// Frames of our speech before the filter's echo estimates say anything
/// of the line (it converges over about half a second).
const CONVERGING_FRAMES: u64 = 50;

/// What came back bounds the line's return with this margin (energy
/// ratio, 3 dB: an echo path's spread lowers its loudest frame a little).
const RETURN_BOUND_MARGIN: f64 = 2.0;

/// The line's bound is the lower decile of this many frames' bounds.
const BOUND_HOLD_FRAMES: usize = 500;

/// Frames' bounds known before their decile bounds unfiltered frames.
const BOUND_TRUSTED_FRAMES: usize = 100;

/// A frame the filter took less than half of (3 dB) is judged as the
/// line itself: a filter that has drifted off the echo path removes
/// little of it while its estimate of the line's return is still low.
const UNFILTERED_SHARE: f64 = 0.5;

/// What we said counts towards the bound from this energy on (about
/// -40 dBFS): quieter, and the line's noise would make it meaningless.
const BOUND_MIN_SENT: f64 = 1e-4;

/// Returns known before the line's own is trusted over the prior.
const LEARNING_FRAMES: usize = 100;

/// The line's return is the lower quartile of the returns seen over
/// this many frames of our speech: a debtor talking over us for up to
/// 1.5 s of it does not raise it.
const RETURN_HOLD_FRAMES: usize = 200;

/// Echo comes back within this many 10 ms frames of what caused it (the
/// echo path and both jitter buffers, however they have grown).
const ECHO_WINDOW_FRAMES: usize = 50;

/// AEC3 on one mono 16 kHz stream, with its audio buffers.
struct Aec {
    aec: EchoCanceller3,
    render: AudioBuffer,
    capture: AudioBuffer,
    linear: AudioBuffer,
    stream: StreamConfig,
    /// The input, `LINEAR_LAG` samples behind, to line up with the output.
    lagged: Vec<f32>,
}

// SAFETY: `EchoCanceller3` is not `Send` only because it holds its block
// processor as a `Box<dyn BlockProcessorBackend>` whose trait has no
// `Send` bound. Outside the crate's own tests the only implementation
// ever boxed there is `BlockProcessor` (built in `EchoCanceller3::new`),
// which is `Send` (checked below at compile time); every other field is
// owned data. An `Aec` is used by one call's task at a time.
unsafe impl Send for Aec {}
const _: () = {
    const fn send<T: Send>() {}
    send::<BlockProcessor>();
    send::<AudioBuffer>();
    send::<StreamConfig>();
};

impl Aec {
    fn new() -> Aec {
        let rate = ECHO_RATE as usize;
        let mut config = EchoCanceller3Config::default();
        config.filter.export_linear_aec_output = true;
        let aec = EchoCanceller3::with_multichannel_config(config, None, ECHO_RATE as i32, 1, 1);
        let buffer = || AudioBuffer::from_sample_rates(rate, 1, rate, 1, rate);
        Aec {
            aec,
            render: buffer(),
            capture: buffer(),
            linear: buffer(),
            stream: StreamConfig::new(rate, 1, false),
            lagged: vec![0.0; LINEAR_LAG],
        }
    }

    /// One 10 ms frame: `sent` is the reference, `heard` becomes `out`
    /// (the linear filter's output) and `aligned` the input that output
    /// came from; returns the energy of the echo the filter took away.
    fn frame(&mut self, sent: &[f32], heard: &[f32], out: &mut [f32], aligned: &mut [f32]) -> f64 {
        self.render.copy_from(&[sent], &self.stream);
        self.render.split_into_frequency_bands();
        self.aec.analyze_render(&mut self.render);
        self.capture.copy_from(&[heard], &self.stream);
        self.aec.analyze_capture(&mut self.capture);
        self.capture.split_into_frequency_bands();
        self.aec
            .process_capture_with_linear_output(&mut self.capture, &mut self.linear, false);
        self.linear.merge_frequency_bands();
        self.linear.copy_to_stream(&self.stream, &mut [out]);
        // What the filter took away: its echo estimate.
        self.lagged.extend_from_slice(heard);
        let n = out.len();
        let echo = self.lagged[..n]
            .iter()
            .zip(out.iter())
            .map(|(&x, &y)| ((x - y) as f64).powi(2))
            .sum::<f64>()
            / n as f64;
        aligned.copy_from_slice(&self.lagged[..n]);
        self.lagged.drain(..n);
        echo
    }
}

/// What the canceller did on one call (kept in the call record).
pub use huikuan_core::call::EchoFigures;

/// Frame levels in 1 dB steps from -100 dBFS to 0, for medians.
#[derive(Clone)]
struct LevelHistogram([u32; 101]);

impl LevelHistogram {
    fn add(&mut self, frame: &[f32]) {
        let db = dbfs(energy(frame)).clamp(-100.0, 0.0);
        self.0[(db + 100.0).round() as usize] += 1;
    }

    fn median_dbfs(&self) -> f32 {
        let total: u32 = self.0.iter().sum();
        let mut seen = 0;
        for (i, n) in self.0.iter().enumerate() {
            seen += n;
            if total > 0 && seen * 2 >= total {
                return i as f32 - 100.0;
            }
        }
        -100.0
    }
}

pub struct EchoCanceller {
    aec: Aec,
    /// 16 kHz samples short of a whole frame.
    sent: Vec<f32>,
    heard: Vec<f32>,
    frame_out: Vec<f32>,
    /// The input `frame_out` came from.
    frame_in: Vec<f32>,
    /// Ms since what we sent last had sound.
    quiet_sent_ms: u64,
    active: bool,
    active_frames: u64,
    silenced_frames: u64,
    /// Energies of what we sent and of the echo the filter took away in
    /// the last `ECHO_WINDOW_FRAMES` frames.
    sent_energies: std::collections::VecDeque<f64>,
    echo_energies: std::collections::VecDeque<f64>,
    /// Frames we spoke in while the canceller ran.
    spoken_frames: u64,
    /// Frames the gate still holds open for the debtor.
    open_frames: u32,
    /// The line's return (energy ratio) in the last frames we spoke in.
    returns: std::collections::VecDeque<f64>,
    /// Their lower quartile, once enough are known.
    learnt_return: Option<f64>,
    /// Energies of what came back in the last two echo windows.
    heard_energies: std::collections::VecDeque<f64>,
    /// Everything that came back over two echo windows (echo, debtor and
    /// noise alike) over the loudest we said in the first of them, whose
    /// echo must be among it: each is at least the line's return (energy
    /// ratios, the newest first).
    bounds: std::collections::VecDeque<f64>,
    /// Their lower decile: an upper bound on the line's return that
    /// neither a debtor talking over us now and then raises nor a short
    /// stretch the line did not deliver (lost packets) lowers; `None`
    /// until we have spoken an echo window before.
    return_bound: Option<f64>,
    /// Scratch space for quantiles.
    sorted: Vec<f64>,
    /// Levels of frames where we were speaking, before and after.
    returned: LevelHistogram,
    residual: LevelHistogram,
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&s| (s as f64) * (s as f64)).sum::<f64>() / x.len().max(1) as f64
}

fn dbfs(mean_energy: f64) -> f32 {
    if mean_energy <= 1e-10 {
        -100.0
    } else {
        (10.0 * mean_energy.log10()) as f32
    }
}

/// The lower 1/`fraction` quantile of `values` (not empty), using
/// `scratch` for the selection.
fn quantile(
    values: &std::collections::VecDeque<f64>,
    fraction: usize,
    scratch: &mut Vec<f64>,
) -> f64 {
    scratch.clear();
    scratch.extend(values.iter().copied());
    let q = scratch.len() / fraction;
    *scratch.select_nth_unstable_by(q, f64::total_cmp).1
}

/// Adds a frame's energy to the newest of a history of `frames`.
fn push_energy(history: &mut std::collections::VecDeque<f64>, energy: f64, frames: usize) {
    history.push_front(energy);
    history.truncate(frames);
}

/// The largest energy of frames `range` back (0: the newest).
fn loudest(history: &std::collections::VecDeque<f64>, range: std::ops::Range<usize>) -> f64 {
    history
        .range(range.start.min(history.len())..range.end.min(history.len()))
        .copied()
        .fold(0.0, f64::max)
}

impl Default for EchoCanceller {
    fn default() -> Self {
        EchoCanceller::new()
    }
}

impl EchoCanceller {
    pub fn new() -> EchoCanceller {
        EchoCanceller {
            aec: Aec::new(),
            sent: Vec::new(),
            heard: Vec::new(),
            frame_out: vec![0.0; FRAME],
            frame_in: vec![0.0; FRAME],
            quiet_sent_ms: u64::MAX / 2,
            active: false,
            active_frames: 0,
            silenced_frames: 0,
            sent_energies: std::collections::VecDeque::with_capacity(2 * ECHO_WINDOW_FRAMES + 1),
            echo_energies: std::collections::VecDeque::with_capacity(ECHO_WINDOW_FRAMES + 1),
            spoken_frames: 0,
            open_frames: 0,
            returns: std::collections::VecDeque::with_capacity(RETURN_HOLD_FRAMES + 1),
            heard_energies: std::collections::VecDeque::with_capacity(2 * ECHO_WINDOW_FRAMES + 1),
            bounds: std::collections::VecDeque::with_capacity(BOUND_HOLD_FRAMES + 1),
            return_bound: None,
            learnt_return: None,
            sorted: Vec::with_capacity(BOUND_HOLD_FRAMES.max(RETURN_HOLD_FRAMES)),
            returned: LevelHistogram([0; 101]),
            residual: LevelHistogram([0; 101]),
        }
    }

    /// Takes what was sent and what came back over the same stretch of
    /// time (16 kHz, equal lengths) and appends what came back with our
    /// echo removed to `out`, a whole number of 10 ms frames at a time.
    pub fn process(&mut self, sent: &[f32], heard: &[f32], out: &mut Vec<f32>) {
        self.sent.extend_from_slice(sent);
        self.heard.extend_from_slice(heard);
        if self.sent.len() != self.heard.len() {
            // Out of step: keep the line, drop the reference.
            out.append(&mut self.heard);
            self.sent.clear();
            return;
        }
        let whole = self.heard.len() / FRAME * FRAME;
        for at in (0..whole).step_by(FRAME) {
            self.frame(at..at + FRAME, out);
        }
        self.sent.drain(..whole);
        self.heard.drain(..whole);
    }

    fn frame(&mut self, range: std::ops::Range<usize>, out: &mut Vec<f32>) {
        let sent = &self.sent[range.clone()];
        let heard = &self.heard[range];
        let (sent_energy, heard_energy) = (energy(sent), energy(heard));
        let speaking = sent_energy >= QUIET_ENERGY;
        if speaking {
            self.quiet_sent_ms = 0;
        } else {
            self.quiet_sent_ms = self.quiet_sent_ms.saturating_add(10);
        }
        let echo_possible = self.quiet_sent_ms < ECHO_TAIL_MS;
        // Start and stop only while the line is quiet, so the canceller's
        // few ms of latency never shift a word.
        let line_quiet = heard_energy < QUIET_ENERGY;
        if echo_possible != self.active && (line_quiet || echo_possible) {
            self.active = echo_possible;
        }
        if !self.active {
            out.extend_from_slice(heard);
            return;
        }
        let echo = self
            .aec
            .frame(sent, heard, &mut self.frame_out, &mut self.frame_in);
        // The loudest we said that can be coming back now, and the
        // loudest echo the filter found over the same stretch: their
        // ratio is the line's return whatever the echo's delay and the
        // shape of our words, and a debtor talking over us is not echo
        // to the filter.
        let w = ECHO_WINDOW_FRAMES;
        push_energy(&mut self.sent_energies, sent_energy, 2 * w);
        push_energy(&mut self.echo_energies, echo, w);
        push_energy(&mut self.heard_energies, heard_energy, 2 * w);
        let causing = loudest(&self.sent_energies, 0..w);
        let returned = loudest(&self.echo_energies, 0..w);
        if speaking {
            self.spoken_frames += 1;
            if causing > ECHO_FLOOR && self.spoken_frames > CONVERGING_FRAMES {
                self.returns.push_front((returned / causing).min(1.0));
                self.returns.truncate(RETURN_HOLD_FRAMES);
                if self.returns.len() >= LEARNING_FRAMES {
                    self.learnt_return = Some(quantile(&self.returns, 4, &mut self.sorted));
                }
            }
        }
        let said_before = loudest(&self.sent_energies, w..2 * w);
        if said_before > BOUND_MIN_SENT {
            let bound = loudest(&self.heard_energies, 0..2 * w) / said_before;
            self.bounds.push_front(bound);
            self.bounds.truncate(BOUND_HOLD_FRAMES);
            self.return_bound = Some(quantile(&self.bounds, 10, &mut self.sorted));
        }
        let mut expected = causing * self.line_return();
        let mut left = energy(&self.frame_out);
        let input = energy(&self.frame_in);
        if left > input {
            // The filter added more than it took away: it has diverged
            // (the echo path moved) and the line itself (the same
            // samples, its output's lag kept) is the better estimate of
            // the debtor until it has re-converged.
            self.frame_out.copy_from_slice(&self.frame_in);
            left = input;
        }
        if left > input * UNFILTERED_SHARE {
            // The filter took next to nothing away, so what is left may
            // hold all the echo the line returns: at most its bound.
            expected = expected.max(causing * self.unfiltered_return());
        }
        let echo_like = (echo > ECHO_FLOOR && left < echo * RESIDUAL_GATE)
            || (expected > ECHO_FLOOR && left < expected * EXPECTED_GATE);
        // Once the debtor is heard, their quieter sounds within a word
        // pass too (the gate holds open), so words are not chopped.
        if !echo_like && left > QUIET_ENERGY {
            self.open_frames = HOLD_OPEN_FRAMES;
        }
        let residual = echo_like && self.open_frames == 0;
        self.open_frames = self.open_frames.saturating_sub(1);
        if residual {
            // Only frames that had sound count as silenced.
            if left > QUIET_ENERGY {
                self.silenced_frames += 1;
            }
            self.frame_out.fill(0.0);
        }
        self.active_frames += 1;
        if speaking {
            self.returned.add(heard);
            self.residual.add(&self.frame_out);
        }
        out.extend_from_slice(&self.frame_out);
    }

    /// What the line returns of what we send before any filtering: its
    /// bound, or until a second of bounds is known (a debtor talking over
    /// our first words would weigh too much in fewer) what it returns
    /// through the filter.
    fn unfiltered_return(&self) -> f64 {
        match self.return_bound {
            Some(b) if self.bounds.len() >= BOUND_TRUSTED_FRAMES => {
                (b * RETURN_BOUND_MARGIN).min(1.0)
            }
            _ => self.line_return(),
        }
    }

    /// What the line returns of what we send through the filter (energy
    /// ratio): the lower quartile of its last returns, or while too few
    /// are known the prior, unless less than that came back of anything
    /// we said.
    fn line_return(&self) -> f64 {
        self.learnt_return.unwrap_or_else(|| {
            self.return_bound
                .map_or(PRIOR_RETURN, |b| PRIOR_RETURN.min(b * RETURN_BOUND_MARGIN))
        })
    }

    pub fn stats(&self) -> EchoFigures {
        EchoFigures {
            active_ms: self.active_frames * 10,
            returned_dbfs: self.returned.median_dbfs(),
            residual_dbfs: self.residual.median_dbfs(),
            delay_ms: self.aec.aec.metrics().delay_ms,
            silenced_ms: self.silenced_frames * 10,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::rms;

    /// A speech-like test signal: a few harmonics and some breath noise
    /// under a syllable-rate envelope, with a slowly moving pitch.
    fn voice(secs: f32, seed: f32) -> Vec<f32> {
        let n = (secs * ECHO_RATE as f32) as usize;
        let mut noise = lcg_noise(12345u32.wrapping_add((seed * 1000.0) as u32));
        (0..n)
            .map(|i| {
                let t = i as f32 / ECHO_RATE as f32;
                let f0 = 140.0 + 30.0 * (t * 0.7 + seed).sin();
                let env = (0.5 + 0.5 * (t * 2.0 * std::f32::consts::PI * 4.0 + seed).sin()).powi(2);
                let tone: f32 = (1..6)
                    .map(|h| (2.0 * std::f32::consts::PI * f0 * h as f32 * t).sin() / h as f32)
                    .sum();
                0.15 * env * (tone + 0.5 * noise())
            })
            .collect()
    }

    /// White noise in -1..1 from a fixed-seed LCG: the same every run.
    fn lcg_noise(seed: u32) -> impl FnMut() -> f32 {
        let mut state = seed;
        move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        }
    }

    /// A quiet line's own noise, about -60 dBFS.
    fn line_noise(n: usize) -> Vec<f32> {
        let mut noise = lcg_noise(777);
        (0..n).map(|_| noise() * 0.0017).collect()
    }

    fn run(ec: &mut EchoCanceller, sent: &[f32], heard: &[f32]) -> Vec<f32> {
        let mut out = Vec::new();
        for (s, h) in sent.chunks(320).zip(heard.chunks(320)) {
            ec.process(s, h, &mut out);
        }
        out
    }

    #[test]
    fn echo_of_what_we_said_is_removed_and_the_far_end_kept() {
        let rate = ECHO_RATE as usize;
        let ours = voice(6.0, 0.0);
        let theirs = voice(1.5, 2.0);
        // The echo comes back 120 ms later, 10 dB down; the far end talks
        // from 4.5 s on, over the last of our speech.
        let delay = rate * 120 / 1000;
        let mut heard = vec![0.0f32; ours.len()];
        for i in delay..ours.len() {
            heard[i] = 0.316 * ours[i - delay];
        }
        let talk_at = rate * 9 / 2;
        for (i, s) in theirs.iter().enumerate() {
            heard[talk_at + i] += s;
        }
        let mut ec = EchoCanceller::new();
        let out = run(&mut ec, &ours, &heard);
        assert_eq!(out.len(), heard.len());
        // Once the canceller has converged (its first second), echo alone
        // comes out at least 15 dB down (about 30 dB on real speech).
        let (a, b) = (rate, rate * 4);
        let reduction = 20.0 * (rms(&heard[a..b]) / rms(&out[a..b]).max(1e-9)).log10();
        assert!(reduction > 15.0, "echo reduced by only {reduction:.1} dB");
        // The far end's words come through at their own level, from their
        // first moments on.
        let far = 20.0 * (rms(&out[talk_at..]) / rms(&theirs)).log10();
        assert!(
            far.abs() < 1.0,
            "far-end speech came through at {far:.1} dB"
        );
        let onset = talk_at..talk_at + rate / 10;
        let first = 20.0 * (rms(&out[onset]) / rms(&theirs[..rate / 10])).log10();
        assert!(
            first > -3.0,
            "the far end's first 100 ms came through at {first:.1} dB"
        );
        let stats = ec.stats();
        assert!(stats.active_ms >= 5_000, "{stats:?}");
        assert!(
            stats.residual_dbfs < stats.returned_dbfs - 15.0,
            "{stats:?}"
        );
        assert!((100..=140).contains(&stats.delay_ms), "{stats:?}");
    }

    #[test]
    fn echo_stays_silenced_when_the_echo_path_suddenly_grows() {
        let rate = ECHO_RATE as usize;
        let ours = voice(8.0, 0.0);
        // 120 ms for the first four seconds, then 320 ms (a jitter
        // buffer that grew), 12 dB down throughout; nobody talks.
        let mut heard = vec![0.0f32; ours.len()];
        for (i, h) in heard.iter_mut().enumerate() {
            let delay = if i < rate * 4 { rate * 120 } else { rate * 320 } / 1000;
            if i >= delay {
                *h = 0.25 * ours[i - delay];
            }
        }
        let mut ec = EchoCanceller::new();
        let out = run(&mut ec, &ours, &heard);
        // Every 10 ms frame after the first second that still has sound
        // is echo a VAD could take for the debtor.
        let leaked = out[rate..]
            .chunks(FRAME)
            .filter(|f| rms(f) > QUIET_RMS)
            .count();
        let frames = (out.len() - rate) / FRAME;
        assert!(
            leaked * 100 <= frames,
            "{leaked} of {frames} frames of echo came through"
        );
    }

    #[test]
    fn on_a_line_without_echo_the_far_end_comes_through_over_us_at_once() {
        let rate = ECHO_RATE as usize;
        let ours = voice(6.0, 0.0);
        let theirs = voice(1.0, 2.0);
        // The far end talks over our first second (while the line's
        // return is not known yet, and a cautious one assumed) and again
        // once it is.
        let (early, late) = (rate / 2, rate * 4);
        let mut heard = vec![0.0f32; ours.len()];
        for at in [early, late] {
            for (i, s) in theirs.iter().enumerate() {
                heard[at + i] = *s;
            }
        }
        let mut ec = EchoCanceller::new();
        let out = run(&mut ec, &ours, &heard);
        for at in [early, late] {
            let first = at..at + rate / 10;
            let level = 20.0 * (rms(&out[first]) / rms(&theirs[..rate / 10])).log10();
            assert!(
                level > -3.0,
                "the first 100 ms at {at} came through at {level:.1} dB"
            );
        }
        // All of it, however quiet between syllables: the gate holds
        // open behind a voice (early on, the filter, adapting to what it
        // takes for echo, costs about a decibel).
        for (at, within) in [(early, 2.0), (late, 1.0)] {
            let all = 20.0 * (rms(&out[at..at + rate]) / rms(&theirs)).log10();
            assert!(all.abs() < within, "at {at} came through at {all:.1} dB");
        }
    }

    #[test]
    fn on_a_line_without_echo_a_quieter_far_end_is_not_taken_for_echo() {
        let rate = ECHO_RATE as usize;
        let ours = voice(4.0, 0.0);
        // 8 dB below us, a second into our speech: the filter has not
        // learnt the line yet, but nothing has come back of what we said.
        let theirs: Vec<f32> = voice(0.3, 2.0).iter().map(|s| s * 0.4).collect();
        let at = rate;
        let mut heard = line_noise(ours.len());
        for (h, t) in heard[at..].iter_mut().zip(&theirs) {
            *h += t;
        }
        let mut ec = EchoCanceller::new();
        let out = run(&mut ec, &ours, &heard);
        let gated: Vec<usize> = theirs
            .chunks(FRAME)
            .zip(out[at..].chunks(FRAME))
            .enumerate()
            .filter(|(_, (t, o))| rms(t) > QUIET_RMS && rms(o) < rms(t) * 0.5)
            .map(|(i, _)| i)
            .collect();
        assert!(gated.is_empty(), "frames taken for echo: {gated:?}");
    }

    #[test]
    fn a_stretch_the_line_did_not_deliver_does_not_hide_its_echo() {
        let rate = ECHO_RATE as usize;
        let ours = voice(5.0, 0.0);
        // 12 dB down, 120 ms late, over the line's noise; from 1.5 s to
        // 2.7 s nothing arrives at all (lost packets).
        let delay = rate * 120 / 1000;
        let mut heard = line_noise(ours.len());
        for i in delay..ours.len() {
            heard[i] += 0.25 * ours[i - delay];
        }
        heard[rate * 3 / 2..rate * 27 / 10].fill(0.0);
        let mut ec = EchoCanceller::new();
        run(&mut ec, &ours, &heard);
        // Unfiltered, the line is still expected to return its echo.
        let echo_return = 0.25f64 * 0.25;
        assert!(
            ec.unfiltered_return() >= echo_return,
            "{} < {echo_return}",
            ec.unfiltered_return()
        );
    }

    #[test]
    fn without_our_speech_the_line_passes_untouched() {
        let theirs = voice(2.0, 1.0);
        let silence = vec![0.0f32; theirs.len()];
        let mut ec = EchoCanceller::new();
        let out = run(&mut ec, &silence, &theirs);
        assert_eq!(out, theirs);
        assert_eq!(ec.stats().active_ms, 0);
    }
}
