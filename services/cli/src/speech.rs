//! `huikuan asr`, `huikuan eval-asr`: the recognizer from the command line.

use crate::config::Config;
use anyhow::Context;
use huikuan_core::Dialect;
use huikuan_speech::asr::{RecognizeRequest, Recognizer, WhisperRecognizer};
use huikuan_speech::audio::Law;
use huikuan_speech::eval::{self, EvalTotals};
use huikuan_speech::{DialectPack, SpeechConfig};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

/// Decoding options shared by `asr` and `eval-asr` (override `[speech]`).
#[derive(clap::Args, Clone)]
pub struct DecodeArgs {
    /// mandarin, sichuanese or cantonese.
    #[arg(long)]
    pub(crate) dialect: Option<String>,
    /// Run the audio through an 8 kHz G.711 μ-law line first.
    #[arg(long)]
    telephone: bool,
    /// A ggml whisper model instead of the configured one.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Weight storage: f16, q8_0, q5_1, q5_0 or q4_0.
    #[arg(long)]
    weights: Option<String>,
    /// Beam width (0 = greedy).
    #[arg(long)]
    beam: Option<i32>,
    /// Encoder window: fit or full.
    #[arg(long)]
    audio_ctx: Option<String>,
    /// Minimum encoder frames with --audio-ctx fit (50 per second; 1500 = 30 s).
    #[arg(long)]
    audio_ctx_min: Option<i32>,
    /// Decode without the dialect pack's prompt.
    #[arg(long)]
    no_prompt: bool,
    /// Threads per decode.
    #[arg(long)]
    threads: Option<i32>,
    /// Retry hard segments at higher temperature.
    #[arg(long)]
    fallback: bool,
}

impl DecodeArgs {
    pub(crate) fn speech_config(&self, config: &Config) -> SpeechConfig {
        let mut s = config.speech.clone();
        if let Some(m) = &self.model {
            s.whisper_model = Some(m.clone());
        }
        if let Some(w) = &self.weights {
            s.whisper_weights = w.clone();
        }
        if let Some(b) = self.beam {
            s.beam_size = b;
        }
        if let Some(a) = &self.audio_ctx {
            s.audio_ctx = a.clone();
        }
        if let Some(m) = self.audio_ctx_min {
            s.audio_ctx_min = m;
        }
        if let Some(t) = self.threads {
            s.threads = t;
        }
        if self.no_prompt {
            s.use_prompt = false;
        }
        if self.fallback {
            s.temperature_fallback = true;
        }
        s
    }

    fn line(&self) -> Option<Law> {
        self.telephone.then_some(Law::Ulaw)
    }
}

/// The `--dialect` argument of every command.
pub(crate) fn parse_dialect(s: &str) -> anyhow::Result<Dialect> {
    s.parse()
        .map_err(|e: String| anyhow::anyhow!("--dialect: {e}"))
}

fn load(speech: &SpeechConfig) -> anyhow::Result<WhisperRecognizer> {
    let wc = speech.whisper()?;
    let bar = ProgressBar::new_spinner();
    bar.set_message(format!("loading {}", wc.model.display()));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let r = WhisperRecognizer::load(wc);
    bar.finish_and_clear();
    Ok(r?)
}

fn prompt(speech: &SpeechConfig, pack: &DialectPack) -> String {
    if speech.use_prompt {
        pack.asr_prompt()
    } else {
        String::new()
    }
}

#[derive(clap::Args)]
pub struct AsrArgs {
    /// WAV files (any rate; mixed down to mono).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    decode: DecodeArgs,
}

pub fn asr(config: Config, args: AsrArgs) -> anyhow::Result<ExitCode> {
    let speech = args.decode.speech_config(&config);
    let dialect = parse_dialect(args.decode.dialect.as_deref().unwrap_or("mandarin"))?;
    let packs = speech.packs()?;
    let pack = packs.get(dialect);
    let recognizer = load(&speech)?;
    let prompt = prompt(&speech, pack);
    let mut failed = false;
    for file in &args.files {
        let result = eval::load_clip(file, args.decode.line())
            .map_err(anyhow::Error::from)
            .and_then(|(samples, _)| {
                recognizer
                    .recognize(&RecognizeRequest {
                        samples: &samples,
                        language: &pack.asr.language,
                        prompt: &prompt,
                        threads: None,
                        cancelled: None,
                        answers: &[],
                    })
                    .with_context(|| file.display().to_string())
            });
        match result {
            Ok(t) => println!("{}\t{}", file.display(), t.text),
            Err(e) => {
                eprintln!("error: {e:#}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A folder with transcripts.tsv (filename, transcript) and the WAVs.
    dir: PathBuf,
    #[command(flatten)]
    decode: DecodeArgs,
    /// Print one JSON object per clip and a total, instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn eval_asr(config: Config, args: EvalArgs) -> anyhow::Result<ExitCode> {
    let speech = args.decode.speech_config(&config);
    let dialect = match args.decode.dialect.as_deref() {
        Some(d) => parse_dialect(d)?,
        // The folder's name when it names a dialect (testdata/speech/cantonese).
        None => args
            .dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<Dialect>().ok())
            .filter(|d| *d != Dialect::Auto)
            .context("--dialect: not given and the folder name is not a dialect")?,
    };
    let items = eval::read_manifest(&args.dir)?;
    let packs = speech.packs()?;
    let pack = packs.get(dialect);
    let recognizer = load(&speech)?;
    let prompt = prompt(&speech, pack);
    let bar = ProgressBar::new(items.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} recognizing {pos}/{len} [{bar:30}] {msg}")
            .expect("valid template"),
    );
    let mut totals = EvalTotals::default();
    for item in &items {
        let c = eval::score_clip(&recognizer, pack, &prompt, item, args.decode.line())?;
        totals.add(&c);
        bar.inc(1);
        bar.set_message(format!("CER {:.1}%", totals.cer.rate() * 100.0));
        bar.suspend(|| {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "file": c.file, "reference": c.reference, "hypothesis": c.hypothesis,
                        "errors": c.cer.errors, "ref_chars": c.cer.ref_chars,
                        "cer": c.cer.rate(), "audio_s": c.audio_s, "decode_s": c.decode_s,
                    })
                );
            } else {
                println!(
                    "{}\t{:.1}%\t{}\t{}",
                    c.file,
                    c.cer.rate() * 100.0,
                    c.hypothesis,
                    c.reference
                );
            }
        });
    }
    bar.finish_and_clear();
    let band = if args.decode.telephone {
        "telephone (8 kHz G.711 μ-law)"
    } else {
        "16 kHz"
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "total": true, "dialect": dialect.as_str(), "band": band,
                "recognizer": recognizer.describe(), "prompt": prompt,
                "clips": items.len(), "errors": totals.cer.errors, "ref_chars": totals.cer.ref_chars,
                "cer": totals.cer.rate(), "audio_s": totals.audio_s, "decode_s": totals.decode_s,
                "rtf": totals.rtf(),
            })
        );
    } else {
        println!(
            "TOTAL\t{}\t{} clips\tCER {:.1}% ({}/{})\tRTF {:.3}\t{}\t{}",
            dialect,
            items.len(),
            totals.cer.rate() * 100.0,
            totals.cer.errors,
            totals.cer.ref_chars,
            totals.rtf(),
            band,
            recognizer.describe()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct TtsArgs {
    /// What to say (amounts, dates, phone numbers are read out).
    text: String,
    /// mandarin, sichuanese or cantonese.
    #[arg(long, default_value = "mandarin")]
    dialect: String,
    /// Output WAV file.
    #[arg(short, long)]
    out: PathBuf,
    /// 8000 for the telephone line, 16000 wideband.
    #[arg(long, default_value_t = 16000, value_parser = clap::value_parser!(u32).range(8000..=48000))]
    rate: u32,
}

pub fn tts(config: Config, args: TtsArgs) -> anyhow::Result<ExitCode> {
    use huikuan_speech::tts::split_sentences;
    let dialect = parse_dialect(&args.dialect)?;
    let engine = config.speech.synthesizer()?;
    let sentences = split_sentences(&args.text);
    let bar = ProgressBar::new(sentences.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} speaking {pos}/{len} sentences {msg}")
            .expect("valid template"),
    );
    let started = std::time::Instant::now();
    let mut samples = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        if i > 0 {
            samples.extend(std::iter::repeat_n(0.0, args.rate as usize / 5));
        }
        samples.extend(engine.sentence(s, dialect, args.rate)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    huikuan_speech::audio::write_pcm16(&args.out, args.rate, &[&samples])?;
    let secs = samples.len() as f64 / args.rate as f64;
    println!(
        "{}: {:.2} s of speech at {} Hz in {:.2} s",
        args.out.display(),
        secs,
        args.rate,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `huikuan check-models`: loads every speech engine and says what works.
pub fn check_models(config: Config) -> anyhow::Result<ExitCode> {
    let speech = &config.speech;
    let mut ok = true;
    let mut report = |what: &str, r: Result<String, String>| match r {
        Ok(s) => println!("ok      {what}: {s}"),
        Err(e) => {
            ok = false;
            println!("MISSING {what}: {e}");
        }
    };
    report(
        "recognizer",
        speech
            .recognizer()
            .map(|r| r.describe())
            .map_err(|e| e.to_string()),
    );
    report(
        "VAD",
        huikuan_speech::vad::Endpointer::new(speech.vad())
            .map(|_| speech.vad().model.display().to_string())
            .map_err(|e| e.to_string()),
    );
    use huikuan_speech::tts::Synthesizer;
    let tts = speech.tts_engine()?;
    if let Some(dir) = &speech.prompts_dir {
        match huikuan_speech::prompts::PromptPacks::load(dir) {
            Ok(packs) => {
                for dialect in [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese] {
                    let n = packs.get(dialect).map_or(0, |p| p.recordings().len());
                    println!("ok      recorded prompts ({dialect}): {n} recordings");
                }
            }
            Err(e) => report("recorded prompts", Err(e.to_string())),
        }
    }
    for dialect in [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese] {
        report(
            &format!("voice ({dialect})"),
            tts.sentence("您好。", dialect, 8_000)
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    if s.len() > 800 {
                        Ok(format!("{:.2} s for 您好", s.len() as f64 / 8_000.0))
                    } else {
                        Err("produced no audio".into())
                    }
                }),
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
