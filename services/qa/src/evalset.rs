//! The labelled evaluation set: synthetic stereo calls whose flags are
//! known, made from the words of `tests/data/qa/evalset.toml`.
//!
//! The collector's lines are spoken by a synthesized voice on channel 1.
//! The debtor (channel 2) is one of two kinds, half the calls each: the
//! same voice three semitones lower, answering with words (so that a
//! confirmation of identity and replies are understood), or a real
//! recording of the dialect (one speaker per call, from the speech test
//! clips), whose words are not known, so the collector then states no
//! debt. Every case is built from a clean call: forbidden wording of
//! each category, a disclosure left out, the debt told before the debtor
//! confirmed, talk-over, a long silence, a raised voice (the debtor's turn
//! resampled 5-7 semitones higher and made 9-12 dB louder, as a person
//! shouting is).

use crate::flag::FlagKind;
use crate::prosody::level_db;
use huikuan_core::Dialect;
use huikuan_speech::audio::{resample, wav};
use huikuan_speech::tts::Synthesizer;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The calls' sample rate: the telephone's.
pub const RATE: u32 = 8000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalScript {
    pub lenders: Vec<String>,
    pub names: Vec<String>,
    pub mandarin: DialectLines,
    pub sichuanese: DialectLines,
    pub cantonese: DialectLines,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialectLines {
    pub opening: Vec<String>,
    pub opening_without_recording: Vec<String>,
    pub opening_without_identity: Vec<String>,
    pub confirm: Vec<String>,
    pub debt: Vec<String>,
    pub middle: Vec<String>,
    pub closing: Vec<String>,
    /// Category -> wordings.
    pub forbidden: BTreeMap<String, Vec<String>>,
}

impl EvalScript {
    pub fn parse(text: &str) -> Result<EvalScript, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    fn lines(&self, d: Dialect) -> &DialectLines {
        match d {
            Dialect::Sichuanese => &self.sichuanese,
            Dialect::Cantonese => &self.cantonese,
            _ => &self.mandarin,
        }
    }
}

/// A flag the call must raise: its type, and where (none: anywhere).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    #[serde(rename = "type")]
    pub kind: String,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
}

/// One call of the set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledCall {
    pub file: String,
    pub dialect: Dialect,
    pub case: String,
    pub lender: String,
    pub debtor: String,
    pub duration_ms: u64,
    pub expect: Vec<Expected>,
}

/// Real recordings of a dialect, at the calls' rate.
pub struct Clips {
    by_dialect: BTreeMap<&'static str, Vec<Vec<f32>>>,
}

impl Clips {
    /// Every WAV of `dir/DIALECT/`.
    pub fn load(dir: &Path) -> Result<Clips, String> {
        let mut by_dialect = BTreeMap::new();
        for d in [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese] {
            let folder = dir.join(d.as_str());
            let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
                .map_err(|e| format!("{}: {e}", folder.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "wav"))
                .collect();
            files.sort();
            let mut clips = Vec::new();
            for f in files {
                let clip = wav::read_mono(&f).map_err(|e| e.to_string())?;
                let samples = resample::convert(&clip.samples, clip.rate, RATE)
                    .map_err(|e| format!("{}: {e}", f.display()))?;
                clips.push(voiced(&samples).to_vec());
            }
            if clips.is_empty() {
                return Err(format!("{}: no WAV clips", folder.display()));
            }
            by_dialect.insert(d.as_str(), clips);
        }
        Ok(Clips { by_dialect })
    }
}

/// The cases, each built from a clean call.
#[derive(Debug, Clone, PartialEq)]
enum Case {
    Clean,
    Forbidden(String, usize),
    WithoutRecording,
    WithoutIdentity,
    EarlyDisclosure,
    TalkOver,
    LongSilence,
    Agitation,
}

impl Case {
    fn name(&self) -> String {
        match self {
            Case::Clean => "clean".into(),
            Case::Forbidden(c, i) => format!("forbidden_{c}_{i}"),
            Case::WithoutRecording => "without_recording_notice".into(),
            Case::WithoutIdentity => "without_identity".into(),
            Case::EarlyDisclosure => "early_disclosure".into(),
            Case::TalkOver => "talk_over".into(),
            Case::LongSilence => "long_silence".into(),
            Case::Agitation => "agitation".into(),
        }
    }
}

/// A call being laid out: two tracks and a clock.
struct Layout {
    tracks: [Vec<f32>; 2],
    at: usize,
    expect: Vec<Expected>,
}

fn ms(samples: usize) -> u64 {
    samples as u64 * 1000 / RATE as u64
}

impl Layout {
    /// `samples` on `channel` after `gap_ms` of nothing (negative: they
    /// start that long before the last turn ended). Returns its span.
    fn turn(&mut self, channel: usize, samples: &[f32], gap_ms: i64) -> (u64, u64) {
        let gap = gap_ms * RATE as i64 / 1000;
        let start = (self.at as i64 + gap).max(0) as usize;
        let track = &mut self.tracks[channel];
        if track.len() < start + samples.len() {
            track.resize(start + samples.len(), 0.0);
        }
        for (t, s) in track[start..].iter_mut().zip(samples) {
            *t = (*t + s).clamp(-1.0, 1.0);
        }
        self.at = self.at.max(start + samples.len());
        (ms(start), ms(start + samples.len()))
    }

    fn expect(&mut self, kind: FlagKind, span: Option<(u64, u64)>) {
        self.expect.push(Expected {
            kind: kind.as_str().into(),
            start_ms: span.map(|s| s.0),
            end_ms: span.map(|s| s.1),
        });
    }
}

/// Scales `samples` so that their speech is at `db` dBFS (measured over
/// the louder half of 10 ms frames).
fn at_level(samples: &[f32], db: f32) -> Vec<f32> {
    let mut levels: Vec<f32> = samples.chunks(80).map(level_db).collect();
    levels.sort_by(f32::total_cmp);
    let active = levels.get(levels.len() * 3 / 4).copied().unwrap_or(-100.0);
    let gain = 10f32.powf((db - active) / 20.0);
    samples
        .iter()
        .map(|s| (s * gain).clamp(-1.0, 1.0))
        .collect()
}

/// The voice of a turn without the silence or background around it, so
/// that a label's span is where the voice is: from the first to the last
/// 10 ms frame within 30 dB of the turn's loud frames (its 95th
/// percentile).
fn voiced(samples: &[f32]) -> &[f32] {
    let frames: Vec<f32> = samples.chunks(80).map(level_db).collect();
    let mut sorted = frames.clone();
    sorted.sort_by(f32::total_cmp);
    let Some(loud) = sorted.get(sorted.len() * 95 / 100) else {
        return samples;
    };
    let floor = loud - 30.0;
    match (
        frames.iter().position(|l| *l >= floor),
        frames.iter().rposition(|l| *l >= floor),
    ) {
        (Some(a), Some(b)) => &samples[a * 80..((b + 1) * 80).min(samples.len())],
        _ => samples,
    }
}

/// Pitch moved by `semitones` (and tempo with it), by resampling.
fn shifted(samples: &[f32], semitones: f32) -> Vec<f32> {
    let ratio = (semitones / 12.0).exp2();
    let to = (RATE as f32 / ratio).round() as u32;
    resample::convert(samples, RATE, to).unwrap_or_else(|_| samples.to_vec())
}

struct Maker<'a> {
    synth: &'a dyn Synthesizer,
    clips: &'a Clips,
    rng: StdRng,
}

impl Maker<'_> {
    fn say(&mut self, text: &str, level: f32) -> Result<Vec<f32>, String> {
        let s = self
            .synth
            .sentence(text, Dialect::Mandarin, RATE)
            .map_err(|e| format!("speaking '{text}': {e}"))?;
        Ok(at_level(voiced(&s), level))
    }

    fn pick<'s>(&mut self, list: &'s [String]) -> &'s str {
        list.choose(&mut self.rng).map(String::as_str).unwrap_or("")
    }

    fn call(
        &mut self,
        script: &EvalScript,
        dialect: Dialect,
        case: &Case,
        real_debtor: bool,
    ) -> Result<(Layout, String, String), String> {
        let lines = script.lines(dialect);
        let lender = self.pick(&script.lenders).to_string();
        let name = self.pick(&script.names).to_string();
        let fill = |s: &str| s.replace("{lender}", &lender).replace("{name}", &name);
        let agent_db = self.rng.random_range(-22.0..-18.0);
        let debtor_db = self.rng.random_range(-26.0..-20.0);
        // The debtor's turns: the lower voice with words, or one real
        // recording of the dialect.
        let clip = if real_debtor {
            let clips = &self.clips.by_dialect[dialect.as_str()];
            Some(clips[self.rng.random_range(0..clips.len())].clone())
        } else {
            None
        };
        let debtor_label = if real_debtor { "recording" } else { "voice" }.to_string();
        let debtor_turn = |m: &mut Self, words: &str| -> Result<Vec<f32>, String> {
            match &clip {
                Some(c) => Ok(at_level(c, debtor_db)),
                None => Ok(at_level(&shifted(&m.say(words, -20.0)?, -3.0), debtor_db)),
            }
        };
        let mut l = Layout {
            tracks: [Vec::new(), Vec::new()],
            at: RATE as usize / 2,
            expect: Vec::new(),
        };
        let gap = |m: &mut Self| m.rng.random_range(400..1200);
        let opening = match case {
            Case::WithoutRecording => self.pick(&lines.opening_without_recording).to_string(),
            Case::WithoutIdentity => self.pick(&lines.opening_without_identity).to_string(),
            _ => self.pick(&lines.opening).to_string(),
        };
        if matches!(case, Case::WithoutRecording | Case::WithoutIdentity) {
            l.expect(FlagKind::MissingDisclosure, None);
        }
        let opening = self.say(&fill(&opening), agent_db)?;
        l.turn(0, &opening, 0);
        if *case == Case::EarlyDisclosure {
            let debt = fill(self.pick(&lines.debt));
            let debt = self.say(&debt, agent_db)?;
            let g = gap(self);
            let span = l.turn(0, &debt, g);
            l.expect(FlagKind::ForbiddenWording, Some(span));
        }
        let confirm = self.pick(&lines.confirm).to_string();
        let reply = debtor_turn(self, &confirm)?;
        let g = gap(self);
        l.turn(1, &reply, g);
        // What the collector says next: the debt (the debtor has
        // confirmed), or, with a debtor whose words are not known, a line
        // that states none.
        let next = if real_debtor || *case == Case::EarlyDisclosure {
            self.pick(&lines.middle).to_string()
        } else {
            self.pick(&lines.debt).to_string()
        };
        let next = self.say(&fill(&next), agent_db)?;
        let g = gap(self);
        l.turn(0, &next, g);
        let replies = [
            "我现在手头有点紧。",
            "下个月发工资再说吧。",
            "我知道了，我想想办法。",
        ];
        let words = *replies.choose(&mut self.rng).unwrap_or(&replies[0]);
        let mut reply = debtor_turn(self, words)?;
        let mut reply_gap: i64 = gap(self);
        match case {
            Case::TalkOver => {
                let over = self
                    .rng
                    .random_range(2200..3200)
                    .min(ms(next.len()) as i64 - 200);
                reply_gap = -over;
            }
            Case::Agitation => {
                // A raised voice: shouting is 10-20 dB louder than
                // ordinary speech, and higher.
                let st = self.rng.random_range(5.0..7.0);
                let louder = self.rng.random_range(9.0..12.0);
                reply = at_level(&shifted(&reply, st), debtor_db + louder);
            }
            _ => {}
        }
        let span = l.turn(1, &reply, reply_gap);
        match case {
            Case::TalkOver => {
                let start = span.0;
                let end = (span.0 as i64 - reply_gap) as u64;
                l.expect(FlagKind::TalkOver, Some((start, end)));
            }
            Case::Agitation => l.expect(FlagKind::Agitation, Some(span)),
            _ => {}
        }
        let silence = *case == Case::LongSilence;
        let line = match case {
            Case::Forbidden(category, i) => lines.forbidden[category][*i].clone(),
            _ => self.pick(&lines.middle).to_string(),
        };
        let line = self.say(&fill(&line), agent_db)?;
        let g = if silence {
            self.rng.random_range(10_000..13_000)
        } else {
            gap(self)
        };
        let before = l.at;
        let span = l.turn(0, &line, g);
        if silence {
            l.expect(FlagKind::LongSilence, Some((ms(before), span.0)));
        }
        if let Case::Forbidden(..) = case {
            l.expect(FlagKind::ForbiddenWording, Some(span));
        }
        let third = debtor_turn(self, "好的，我知道了。")?;
        let g = gap(self);
        l.turn(1, &third, g);
        let closing = fill(self.pick(&lines.closing));
        let closing = self.say(&closing, agent_db)?;
        let g = gap(self);
        l.turn(0, &closing, g);
        l.at += RATE as usize / 2;
        Ok((l, lender, debtor_label))
    }
}

/// Writes the set into `out` (`calls/*.wav` and `labels.jsonl`): per
/// dialect, `per_case` calls of each case with each kind of debtor, and
/// every wording of every forbidden category once.
pub fn generate(
    script: &EvalScript,
    synth: &dyn Synthesizer,
    clips: &Clips,
    out: &Path,
    per_case: usize,
    seed: u64,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<LabelledCall>, String> {
    let mut plan = Vec::new();
    for dialect in [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese] {
        for real in [false, true] {
            for _ in 0..per_case {
                for case in [
                    Case::Clean,
                    Case::Clean,
                    Case::TalkOver,
                    Case::LongSilence,
                    Case::Agitation,
                    Case::WithoutRecording,
                    Case::WithoutIdentity,
                ] {
                    plan.push((dialect, case, real));
                }
                if !real {
                    plan.push((dialect, Case::EarlyDisclosure, real));
                }
            }
        }
        for (category, wordings) in &script.lines(dialect).forbidden {
            for i in 0..wordings.len() {
                plan.push((dialect, Case::Forbidden(category.clone(), i), i % 2 == 1));
            }
        }
    }
    let dir = out.join("calls");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut maker = Maker {
        synth,
        clips,
        rng: StdRng::seed_from_u64(seed),
    };
    let mut calls = Vec::new();
    for (n, (dialect, case, real)) in plan.iter().enumerate() {
        let (layout, lender, debtor) = maker.call(script, *dialect, case, *real)?;
        let file = format!("{:03}_{}_{}.wav", n + 1, dialect.as_str(), case.name());
        let path = dir.join(&file);
        let len = layout.at;
        let [a, d] = &layout.tracks;
        let (a, d) = (&a[..a.len().min(len)], &d[..d.len().min(len)]);
        wav::write_pcm16(&path, RATE, &[a, d]).map_err(|e| e.to_string())?;
        calls.push(LabelledCall {
            file: format!("calls/{file}"),
            dialect: *dialect,
            case: case.name(),
            lender,
            debtor,
            duration_ms: ms(len),
            expect: layout.expect,
        });
        progress(n + 1, plan.len());
    }
    let labels: Vec<String> = calls
        .iter()
        .map(|c| serde_json::to_string(c).expect("labels serialize"))
        .collect();
    let path = out.join("labels.jsonl");
    std::fs::write(&path, labels.join("\n") + "\n")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(calls)
}
