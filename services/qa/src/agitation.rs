//! A raised voice, against the speaker's own level in the call.
//!
//! Each side's baseline is the median pitch (in semitones) and the median
//! loudness of its voiced frames over the whole call: voiced frames are
//! the vowels, whose level says how loud a voice is, where the pauses
//! and consonants inside speech would only lower a median. Every stretch
//! of its speech (`qa.agitation_window_ms`, half overlapping) is measured
//! the same way. A stretch is agitated when its pitch and its loudness
//! both rise by their thresholds, when its loudness alone rises by twice
//! its threshold, or when the speaker used agitated wording then: a
//! raised voice is louder as well as higher, and a pitch rise alone is
//! more often intonation or the tracker jumping an octave than a person
//! shouting. Its score (for the call's summary) is half the pitch rise
//! over its threshold plus half the loudness rise over its threshold
//! (each counted up to twice), plus `qa.agitation_wording` for agitated
//! words. For
//! the same reason a frame's pitch more than [`OCTAVE_SLIP_ST`] from the
//! baseline is taken an octave back. Agitated stretches that touch make
//! one flag: a jump when shorter than [`SUSTAINED_MS`], a raised voice
//! when longer.

use crate::config::QaConfig;
use crate::flag::{Flag, FlagKind, Speaker, VoiceEvidence};
use crate::prosody::{semitones, VoiceTrack, FRAME_MS};
use serde::Serialize;

/// An agitated stretch this long is a sustained raised voice.
pub const SUSTAINED_MS: u64 = 3000;
/// Voiced speech needed for a pitch baseline, and voiced share of a
/// stretch for its pitch to count.
const MIN_BASELINE_FRAMES: usize = 100;
const MIN_VOICED_SHARE: f32 = 0.3;
/// Stretches shorter than this are not judged.
const MIN_STRETCH_MS: u64 = 300;
/// A frame this far from the speaker's median pitch is an octave error of
/// the tracker (a person's voice rarely moves this far in a call).
pub const OCTAVE_SLIP_ST: f32 = 9.0;

/// `st` folded back by octaves until within [`OCTAVE_SLIP_ST`] of `base`.
fn unslipped(st: f32, base: f32) -> f32 {
    let mut s = st;
    while s - base > OCTAVE_SLIP_ST {
        s -= 12.0;
    }
    while base - s > OCTAVE_SLIP_ST {
        s += 12.0;
    }
    s
}

/// One side's voice over the call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceSummary {
    /// Median pitch of voiced speech (None with too little of it).
    pub baseline_pitch_hz: Option<f32>,
    /// Median loudness of speech, dBFS.
    pub baseline_loudness_db: Option<f32>,
    /// 0-100: the most agitated stretch's score, 2 and above being 100.
    pub agitation: u8,
}

fn median(mut v: Vec<f32>) -> Option<f32> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

struct Stretch {
    start_ms: u64,
    end_ms: u64,
    score: f32,
    agitated: bool,
    voice: VoiceEvidence,
    words: Option<String>,
}

/// Agitation flags of one side, and its summary. `speech` are its spans
/// of speech; `worded` the spans where it used agitated wording, with the
/// words.
pub fn check(
    speaker: Speaker,
    track: &VoiceTrack,
    speech: &[(u64, u64)],
    worded: &[(u64, u64, String)],
    config: &QaConfig,
) -> (Vec<Flag>, VoiceSummary) {
    let frames_of = |spans: &[(u64, u64)]| -> Vec<usize> {
        spans.iter().flat_map(|&(a, b)| track.range(a, b)).collect()
    };
    let voiced_frames: Vec<usize> = frames_of(speech)
        .into_iter()
        .filter(|&i| track.pitch_hz[i].is_finite())
        .collect();
    let enough = voiced_frames.len() >= MIN_BASELINE_FRAMES;
    let base_st = enough
        .then(|| {
            median(
                voiced_frames
                    .iter()
                    .map(|&i| semitones(track.pitch_hz[i]))
                    .collect(),
            )
        })
        .flatten();
    let base_db = enough
        .then(|| {
            median(
                voiced_frames
                    .iter()
                    .map(|&i| track.loudness_db[i])
                    .collect(),
            )
        })
        .flatten();
    let mut stretches = Vec::new();
    let window = config.agitation_window_ms.max(FRAME_MS);
    for &(a, b) in speech {
        let mut start = a;
        loop {
            let end = (start + window).min(b);
            if end - start >= MIN_STRETCH_MS.min(window) {
                stretches.push(judge(track, start, end, base_st, base_db, worded, config));
            }
            if end >= b {
                break;
            }
            start += window / 2;
        }
    }
    let peak = stretches.iter().map(|s| s.score).fold(0.0f32, f32::max);
    let summary = VoiceSummary {
        baseline_pitch_hz: base_st.map(hz),
        baseline_loudness_db: base_db,
        agitation: (peak.min(2.0) * 50.0).round() as u8,
    };
    (episodes(speaker, stretches), summary)
}

fn hz(st: f32) -> f32 {
    100.0 * (st / 12.0).exp2()
}

fn judge(
    track: &VoiceTrack,
    start_ms: u64,
    end_ms: u64,
    base_st: Option<f32>,
    base_db: Option<f32>,
    worded: &[(u64, u64, String)],
    config: &QaConfig,
) -> Stretch {
    let frames = track.range(start_ms, end_ms);
    let n = frames.len().max(1);
    let voiced: Vec<usize> = frames.filter(|&i| track.pitch_hz[i].is_finite()).collect();
    let enough = voiced.len() as f32 / n as f32 >= MIN_VOICED_SHARE;
    let st = match (enough, base_st) {
        (true, Some(b)) => median(
            voiced
                .iter()
                .map(|&i| unslipped(semitones(track.pitch_hz[i]), b))
                .collect(),
        ),
        _ => None,
    };
    let db = enough
        .then(|| median(voiced.iter().map(|&i| track.loudness_db[i]).collect()))
        .flatten();
    let rise_st = match (st, base_st) {
        (Some(s), Some(b)) => s - b,
        _ => 0.0,
    };
    let rise_db = match (db, base_db) {
        (Some(d), Some(b)) => d - b,
        _ => 0.0,
    };
    let words = worded
        .iter()
        .find(|(a, b, _)| *a < end_ms && start_ms < *b)
        .map(|(_, _, w)| w.clone());
    let score = 0.5 * (rise_st / config.agitation_pitch_st).clamp(0.0, 2.0)
        + 0.5 * (rise_db / config.agitation_loudness_db).clamp(0.0, 2.0)
        + if words.is_some() {
            config.agitation_wording
        } else {
            0.0
        };
    let agitated = (rise_st >= config.agitation_pitch_st
        && rise_db >= config.agitation_loudness_db)
        || rise_db >= 2.0 * config.agitation_loudness_db
        || words.is_some();
    Stretch {
        start_ms,
        end_ms,
        score,
        agitated,
        voice: VoiceEvidence {
            pitch_hz: st.map_or(f32::NAN, hz),
            baseline_pitch_hz: base_st.map_or(f32::NAN, hz),
            pitch_rise_st: rise_st,
            loudness_db: db.unwrap_or(f32::NAN),
            baseline_loudness_db: base_db.unwrap_or(f32::NAN),
            loudness_rise_db: rise_db,
        },
        words,
    }
}

/// Agitated stretches that touch, as one flag each, with the evidence of
/// the most agitated.
fn episodes(speaker: Speaker, stretches: Vec<Stretch>) -> Vec<Flag> {
    let mut flags: Vec<(Flag, f32)> = Vec::new();
    for s in stretches.into_iter().filter(|s| s.agitated) {
        if let Some((last, peak)) = flags.last_mut() {
            if s.start_ms <= last.end_ms {
                last.end_ms = last.end_ms.max(s.end_ms);
                if s.score > *peak {
                    *peak = s.score;
                    last.voice = Some(s.voice);
                    last.evidence = describe(&s);
                }
                continue;
            }
        }
        flags.push((
            Flag {
                kind: FlagKind::Agitation,
                speaker,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                evidence: describe(&s),
                rule: String::new(),
                voice: Some(s.voice),
            },
            s.score,
        ));
    }
    flags
        .into_iter()
        .map(|(mut f, _)| {
            f.rule = if f.end_ms - f.start_ms >= SUSTAINED_MS {
                "raised_voice"
            } else {
                "voice_jump"
            }
            .into();
            f
        })
        .collect()
}

fn describe(s: &Stretch) -> String {
    let v = &s.voice;
    let mut parts = Vec::new();
    if v.pitch_hz.is_finite() && v.baseline_pitch_hz.is_finite() {
        parts.push(format!(
            "pitch {:.0} Hz, {:+.1} semitones against {:.0} Hz",
            v.pitch_hz, v.pitch_rise_st, v.baseline_pitch_hz
        ));
    }
    if v.loudness_db.is_finite() && v.baseline_loudness_db.is_finite() {
        parts.push(format!(
            "loudness {:.1} dBFS, {:+.1} dB against {:.1}",
            v.loudness_db, v.loudness_rise_db, v.baseline_loudness_db
        ));
    }
    if let Some(w) = &s.words {
        parts.push(format!("agitated wording {w}"));
    }
    format!("score {:.2}: {}", s.score, parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A side speaking at 150 Hz and -20 dBFS, with a stretch of its
    /// speech at `rise_st` and `rise_db` above that.
    fn voice(seconds: u64, raised: (u64, u64), rise_st: f32, rise_db: f32) -> VoiceTrack {
        let n = (seconds * 1000 / FRAME_MS) as usize;
        let mut t = VoiceTrack {
            pitch_hz: vec![150.0; n],
            loudness_db: vec![-20.0; n],
        };
        for i in t.range(raised.0, raised.1) {
            t.pitch_hz[i] = 150.0 * (rise_st / 12.0).exp2();
            t.loudness_db[i] = -20.0 + rise_db;
        }
        t
    }

    fn flags_for(rise_st: f32, rise_db: f32, raised: (u64, u64)) -> Vec<Flag> {
        let t = voice(30, raised, rise_st, rise_db);
        check(
            Speaker::Debtor,
            &t,
            &[(0, 30_000)],
            &[],
            &QaConfig::default(),
        )
        .0
    }

    #[test]
    fn a_raised_voice_is_flagged_where_it_is_and_a_level_voice_is_not() {
        assert!(flags_for(0.0, 0.0, (0, 0)).is_empty());
        // Both rises at their thresholds.
        let f = flags_for(3.5, 7.0, (10_000, 15_000));
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].start_ms >= 9000 && f[0].start_ms <= 10_000, "{f:?}");
        assert!(f[0].end_ms >= 15_000 && f[0].end_ms <= 16_000, "{f:?}");
        assert_eq!(f[0].rule, "raised_voice");
        let v = f[0].voice.unwrap();
        assert!((v.pitch_rise_st - 3.5).abs() < 0.1 && (v.loudness_rise_db - 7.0).abs() < 0.1);
        assert!((v.baseline_pitch_hz - 150.0).abs() < 1.0);
        // A short jump.
        let f = flags_for(4.0, 8.0, (20_000, 21_500));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "voice_jump");
    }

    #[test]
    fn loudness_alone_needs_twice_its_threshold_and_pitch_alone_never_flags() {
        assert!(flags_for(4.0, 0.0, (10_000, 15_000)).is_empty());
        assert!(flags_for(0.0, 9.0, (10_000, 15_000)).is_empty());
        assert_eq!(flags_for(0.0, 12.5, (10_000, 15_000)).len(), 1);
        assert!(flags_for(6.5, 0.0, (10_000, 15_000)).is_empty());
        assert!(flags_for(8.0, 5.0, (10_000, 15_000)).is_empty());
        assert!(flags_for(2.5, 11.0, (10_000, 15_000)).is_empty());
        // The tracker an octave off is not a raised voice.
        assert!(flags_for(12.0, 1.0, (10_000, 15_000)).is_empty());
        assert_eq!(unslipped(12.5, 0.0), 0.5);
        assert_eq!(unslipped(-11.0, 0.0), 1.0);
        assert_eq!(unslipped(8.0, 0.0), 8.0);
        // Quieter or lower is not agitation.
        assert!(flags_for(-8.0, -15.0, (10_000, 15_000)).is_empty());
    }

    #[test]
    fn agitated_words_count_and_the_summary_scores_the_peak() {
        let t = voice(30, (0, 0), 0.0, 0.0);
        let worded = vec![(5000, 6000, "别再打了".to_string())];
        let (f, s) = check(
            Speaker::Debtor,
            &t,
            &[(0, 30_000)],
            &worded,
            &QaConfig::default(),
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].evidence.contains("别再打了"));
        assert_eq!(s.agitation, 50);
        assert!((s.baseline_pitch_hz.unwrap() - 150.0).abs() < 0.5);
        assert_eq!(s.baseline_loudness_db, Some(-20.0));
    }

    #[test]
    fn without_enough_voice_there_is_no_pitch_baseline() {
        let mut t = voice(30, (0, 0), 0.0, 0.0);
        t.pitch_hz.iter_mut().for_each(|p| *p = f32::NAN);
        let (f, s) = check(
            Speaker::Agent,
            &t,
            &[(0, 30_000)],
            &[],
            &QaConfig::default(),
        );
        assert!(f.is_empty());
        assert_eq!(s.baseline_pitch_hz, None);
    }
}
