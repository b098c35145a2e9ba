//! `huikuan prompts`: recorded prompt packs. `script` lists what a studio
//! records for a dialect, `import` checks a delivery and installs it in
//! `speech.prompts_dir`, `check` shows what the installed pack covers of
//! every line and what is left to the synthesized voice, `placeholder`
//! writes a delivery said by the synthesized voice (a guide for the
//! studio, and a pack to try the system with).

use crate::config::Config;
use anyhow::Context as _;
use huikuan_core::Dialect;
use huikuan_speech::prompts::import::{import, Imported};
use huikuan_speech::prompts::script::{recording_script, ScriptEntry};
use huikuan_speech::prompts::{Part, PromptPack, PromptPacks};
use huikuan_speech::tts::Synthesizer;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum PromptsCommand {
    /// What a studio records for a dialect: FILE<TAB>TEXT per recording.
    Script {
        #[arg(long)]
        dialect: String,
    },
    /// Check a studio's delivery and install it as a dialect's pack: DIR
    /// holds lines/, days/, pieces/ and extra/ (with --dialect), or a folder per
    /// dialect (mandarin/, sichuanese/, cantonese/).
    Import {
        dir: PathBuf,
        #[arg(long)]
        dialect: Option<String>,
        /// The prompts directory (default: speech.prompts_dir).
        #[arg(long)]
        into: Option<PathBuf>,
        /// Install a pack that lacks some recordings (they are synthesized).
        #[arg(long)]
        partial: bool,
    },
    /// What the installed pack says of every line and what is synthesized.
    Check {
        #[arg(long)]
        dialect: String,
        /// The prompts directory (default: speech.prompts_dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also write every line as the debtor hears it, through the pack
        /// (SAY/recorded) and synthesized (SAY/synthesized), each folder
        /// with a transcripts.tsv for `huikuan eval-asr`.
        #[arg(long)]
        say: Option<PathBuf>,
    },
    /// Write a delivery said by the synthesized voice, as a studio's guide
    /// or a placeholder pack.
    Placeholder {
        out: PathBuf,
        #[arg(long)]
        dialect: String,
    },
}

pub fn run(config: Config, cmd: PromptsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PromptsCommand::Script { dialect } => {
            for e in script_of(&config, spoken(&dialect)?)? {
                println!("{}.wav\t{}", e.name, e.text);
            }
            Ok(ExitCode::SUCCESS)
        }
        PromptsCommand::Import {
            dir,
            dialect,
            into,
            partial,
        } => {
            let into = prompts_dir(&config, into)?;
            let deliveries: Vec<(Dialect, PathBuf)> = match dialect {
                Some(d) => vec![(spoken(&d)?, dir)],
                None => {
                    let found: Vec<(Dialect, PathBuf)> = huikuan_dialogue::script::DIALECTS
                        .iter()
                        .map(|d| (*d, PromptPacks::folder(&dir, *d)))
                        .filter(|(_, p)| p.is_dir())
                        .collect();
                    anyhow::ensure!(
                        !found.is_empty(),
                        "{}: no mandarin/, sichuanese/ or cantonese/ folder (or give --dialect)",
                        dir.display()
                    );
                    found
                }
            };
            let mut ok = true;
            for (d, src) in deliveries {
                ok &= import_one(&config, d, &src, &into, partial)?;
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        PromptsCommand::Check { dialect, dir, say } => {
            check(&config, spoken(&dialect)?, dir, say.as_deref())
        }
        PromptsCommand::Placeholder { out, dialect } => {
            placeholder(&config, spoken(&dialect)?, &out)
        }
    }
}

fn spoken(name: &str) -> anyhow::Result<Dialect> {
    let d: Dialect = name
        .parse()
        .map_err(|e| anyhow::anyhow!("--dialect: {e}"))?;
    anyhow::ensure!(
        d != Dialect::Auto,
        "--dialect: a pack is for one dialect: mandarin, sichuanese or cantonese"
    );
    Ok(d)
}

fn prompts_dir(config: &Config, given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    given
        .or_else(|| config.speech.prompts_dir.clone())
        .context("no prompts directory: set speech.prompts_dir in huikuan.toml or give one")
}

/// The recording script of `dialect` for the robot's configured lines.
fn script_of(config: &Config, dialect: Dialect) -> anyhow::Result<Vec<ScriptEntry>> {
    let engine = config.dialogue_engine()?;
    Ok(recording_script(
        engine
            .lines
            .sources()
            .iter()
            .filter(|(d, _, _)| *d == dialect)
            .map(|(_, name, src)| (name.as_str(), src.as_str())),
    ))
}

fn import_one(
    config: &Config,
    dialect: Dialect,
    src: &Path,
    into: &Path,
    partial: bool,
) -> anyhow::Result<bool> {
    let script = script_of(config, dialect)?;
    let dest = PromptPacks::folder(into, dialect);
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} checking {pos}/{len} recordings")
            .expect("valid template"),
    );
    let result = import(src, &script, &dest, partial, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    match result {
        Ok(Imported {
            recordings,
            missing,
            ignored,
        }) => {
            println!(
                "{dialect}: installed {recordings} recordings in {}",
                dest.display()
            );
            for e in &missing {
                println!("  synthesized (no recording): {}.wav '{}'", e.name, e.text);
            }
            for f in &ignored {
                println!("  ignored (not a .wav): {f}");
            }
            Ok(true)
        }
        Err(e) => {
            eprintln!(
                "{dialect}: {} problem(s) in {}; nothing installed:",
                e.problems.len(),
                src.display()
            );
            for p in &e.problems {
                eprintln!("  {p}");
            }
            Ok(false)
        }
    }
}

/// The values every line is shown with (samples/account.json, a promise
/// and a call-back time).
fn sample_context() -> tera::Context {
    let mut c = tera::Context::new();
    c.insert("name", "张伟");
    c.insert("platform", "易贷");
    c.insert("product", "消费贷");
    c.insert("amount", &325_050);
    c.insert("due_date", "2026-10-20");
    c.insert("days_past_due", &35);
    c.insert("min_amount", &97_600);
    c.insert("latest_date", "2026-12-08");
    c.insert("today", "2026-11-24");
    c.insert("promise_date", "2026-12-03");
    c.insert("promise_amount", &150_000);
    c.insert("callback_time", "2026-11-25T15:30");
    c
}

fn check(
    config: &Config,
    dialect: Dialect,
    dir: Option<PathBuf>,
    say: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let dir = prompts_dir(config, dir)?;
    let folder = PromptPacks::folder(&dir, dialect);
    let pack = if folder.is_dir() {
        PromptPack::load(&folder, dialect)?
    } else {
        println!(
            "{dialect}: no pack at {}: every line is synthesized",
            folder.display()
        );
        PromptPack::new(dialect, Vec::new())
    };
    let engine = config.dialogue_engine()?;
    let ctx = sample_context();
    let (mut recorded_all, mut said_all) = (0usize, 0usize);
    println!("{:<24} {:>9}  synthesized", "line", "recorded");
    for (d, name, _) in engine.lines.sources() {
        if *d != dialect {
            continue;
        }
        let text = match engine.lines.render(dialect, name, &ctx) {
            Ok(t) => t,
            Err(e) => {
                println!("{name:<24} cannot be shown: {e}");
                continue;
            }
        };
        let (mut recorded, mut said) = (0usize, 0usize);
        let mut synthesized = Vec::new();
        for sentence in huikuan_speech::tts::split_sentences(&text) {
            for part in pack.plan(&sentence) {
                match part {
                    Part::Recorded(i) => {
                        let n = huikuan_speech::prompts::said_chars(&pack.recording(i).text).len();
                        recorded += n;
                        said += n;
                    }
                    Part::Synthesized(words) => {
                        said += words.chars().count();
                        synthesized.push(words);
                    }
                    Part::Pause(_) => {}
                }
            }
        }
        recorded_all += recorded;
        said_all += said;
        println!(
            "{name:<24} {:>8.0}%  {}",
            100.0 * recorded as f64 / said.max(1) as f64,
            synthesized.join(" · ")
        );
    }
    let script = script_of(config, dialect)?;
    let have: std::collections::HashSet<&str> =
        pack.recordings().iter().map(|r| r.name.as_str()).collect();
    let missing: Vec<&ScriptEntry> = script
        .iter()
        .filter(|e| !have.contains(e.name.as_str()))
        .collect();
    println!(
        "{dialect}: {} recordings; {:.1}% of what the lines say (shown with samples/account.json) is recorded; {} of {} script recordings missing",
        pack.recordings().len(),
        100.0 * recorded_all as f64 / said_all.max(1) as f64,
        missing.len(),
        script.len()
    );
    for e in missing {
        println!("  missing {}.wav '{}'", e.name, e.text);
    }
    if let Some(out) = say {
        say_every_line(config, dialect, pack, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes every line through the pack and synthesized, and how long each
/// took to make.
fn say_every_line(
    config: &Config,
    dialect: Dialect,
    pack: PromptPack,
    out: &Path,
) -> anyhow::Result<()> {
    use std::sync::Arc;
    const RATE: u32 = huikuan_speech::prompts::PACK_RATE;
    let engine = config.dialogue_engine()?;
    let ctx = sample_context();
    let recorded = huikuan_speech::prompts::PromptedVoice::new(
        PromptPacks::default().with(pack),
        Arc::new(config.speech.tts_engine()?),
    );
    let synthesized = config.speech.tts_engine()?;
    let voices: [(&str, &dyn Synthesizer); 2] =
        [("recorded", &recorded), ("synthesized", &synthesized)];
    let lines: Vec<(String, String)> = engine
        .lines
        .sources()
        .iter()
        .filter(|(d, _, _)| *d == dialect)
        .filter_map(|(_, name, _)| {
            let text = engine.lines.render(dialect, name, &ctx).ok()?;
            Some((name.clone(), text))
        })
        .collect();
    let bar = ProgressBar::new((lines.len() * voices.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} saying {pos}/{len} lines").expect("valid template"),
    );
    for (kind, voice) in voices {
        let dir = out.join(kind);
        std::fs::create_dir_all(&dir)?;
        let mut manifest = String::from("filename\ttranscript\n");
        let mut made_ms = Vec::new();
        let mut seconds = 0.0;
        for (name, text) in &lines {
            let started = std::time::Instant::now();
            let samples = voice.text(text, dialect, RATE)?;
            made_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            seconds += samples.len() as f64 / RATE as f64;
            let file = format!("{name}.wav");
            huikuan_speech::audio::write_pcm16(&dir.join(&file), RATE, &[&samples])?;
            manifest.push_str(&format!("{file}\t{text}\n"));
            bar.inc(1);
        }
        std::fs::write(dir.join("transcripts.tsv"), manifest)?;
        made_ms.sort_by(f64::total_cmp);
        bar.suspend(|| {
            println!(
                "{kind}: {} lines, {seconds:.1} s of speech, made in p50 {:.1} ms / max {:.1} ms per line, in {}",
                lines.len(),
                made_ms[made_ms.len() / 2],
                made_ms[made_ms.len() - 1],
                dir.display()
            )
        });
    }
    bar.finish_and_clear();
    Ok(())
}

fn placeholder(config: &Config, dialect: Dialect, out: &Path) -> anyhow::Result<ExitCode> {
    let script = script_of(config, dialect)?;
    let voice = config.speech.tts_engine()?;
    let bar = ProgressBar::new(script.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} saying {pos}/{len} recordings")
            .expect("valid template"),
    );
    const RATE: u32 = huikuan_speech::prompts::PACK_RATE;
    for e in &script {
        let samples = voice
            .sentence(&e.text, dialect, RATE)
            .with_context(|| format!("{}: '{}'", e.name, e.text))?;
        let path = out.join(format!("{}.wav", e.name));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        huikuan_speech::audio::write_pcm16(&path, RATE, &[&samples])?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "{dialect}: {} placeholder recordings in {} (the synthesized voice; `huikuan prompts import {} --dialect {dialect}` installs them)",
        script.len(),
        out.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
