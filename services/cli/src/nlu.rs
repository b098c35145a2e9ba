//! `huikuan nlu`: one utterance per line on stdin, one JSON object per line
//! on stdout: `{"intent": "...", "slots": {"date": "YYYY-MM-DD", "amount":
//! "3500", "callback_time": "YYYY-MM-DDTHH:MM"}}` (absent slots omitted).

use crate::speech::parse_dialect;
use anyhow::Context;
use chrono::NaiveDate;
use huikuan_dialogue::Nlu;
use std::io::{BufRead, Write};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct NluArgs {
    /// mandarin, sichuanese, cantonese or auto.
    #[arg(long, default_value = "mandarin")]
    dialect: String,
    /// The date relative dates are resolved against (default: today in China).
    #[arg(long)]
    today: Option<String>,
    /// Add the normalised text and the cues that fired.
    #[arg(long)]
    explain: bool,
}

/// `--today`, or today's date in China.
fn parse_today(arg: Option<&str>) -> anyhow::Result<NaiveDate> {
    Ok(match arg {
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .with_context(|| format!("--today: '{t}' is not a date in YYYY-MM-DD form"))?,
        None => huikuan_core::region::today_in_china(),
    })
}

pub fn run(args: NluArgs) -> anyhow::Result<ExitCode> {
    let dialect = parse_dialect(&args.dialect)?;
    let today = parse_today(args.today.as_deref())?;
    let nlu = Nlu::builtin();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for line in stdin.lock().lines() {
        let line = line.context("reading stdin")?;
        let r = nlu.understand(&line, dialect, today);
        let mut obj = serde_json::json!({ "intent": r.intent.as_str(), "slots": r.slots });
        if args.explain {
            obj["normalized"] = r.normalized.into();
            obj["cues"] = r.cues.into();
        }
        writeln!(out, "{obj}")?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct EvalNluArgs {
    /// A labelled file: tests/data/nlu/DIALECT.tsv (held out) or
    /// dialects/DIALECT/utterances.tsv (the examples the NLU learns from).
    file: std::path::PathBuf,
    /// Default: the file's name (mandarin.tsv -> mandarin).
    #[arg(long)]
    dialect: Option<String>,
    /// List the development split's misses with the cues that fired (the
    /// held-out split's misses are never listed).
    #[arg(long)]
    errors: bool,
}

pub fn eval(args: EvalNluArgs) -> anyhow::Result<ExitCode> {
    use huikuan_dialogue::eval::{evaluate, parse};
    let path = args.file.display().to_string();
    let name = args
        .dialect
        .clone()
        .or_else(|| {
            // tests/data/nlu/DIALECT.tsv, or dialects/DIALECT/utterances.tsv.
            let stem = args.file.file_stem()?.to_string_lossy().into_owned();
            if stem == "utterances" {
                args.file
                    .parent()?
                    .file_name()
                    .map(|d| d.to_string_lossy().into_owned())
            } else {
                Some(stem)
            }
        })
        .unwrap_or_default();
    let dialect = parse_dialect(&name)?;
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {path}"))?;
    let examples = parse(&text).map_err(|(line, e)| anyhow::anyhow!("{path}:{line}: {e}"))?;
    let today = NaiveDate::from_ymd_opt(2026, 11, 24).expect("valid date");
    let nlu = Nlu::builtin();
    let (scores, misses) = evaluate(&nlu, &examples, dialect, today);
    // Decision time per utterance, over many passes (measured, not asserted).
    let mut times = Vec::with_capacity(examples.len() * 20);
    for _ in 0..20 {
        for ex in &examples {
            let t = std::time::Instant::now();
            std::hint::black_box(nlu.understand(&ex.text, dialect, today));
            times.push(t.elapsed());
        }
    }
    times.sort();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e6;
    for (split, s) in &scores {
        println!(
            "{dialect}\t{split}\t{} utterances\tintent accuracy {:.1}%\tmacro-F1 {:.3}\tslot exact-match {:.1}%",
            s.n,
            s.accuracy() * 100.0,
            s.macro_f1,
            s.slot_exact() * 100.0
        );
    }
    println!(
        "{dialect}\tdecision time per utterance: p50 {:.1} µs, p99 {:.1} µs",
        pct(0.5),
        pct(0.99)
    );
    if args.errors {
        for m in misses.iter().filter(|m| m.example.split != "test") {
            println!(
                "line {}: {}\twant {} {:?}\tgot {} {:?}\t{:?}",
                m.example.line,
                m.example.text,
                m.example.intent,
                m.example.slots,
                m.got_intent,
                m.got_slots,
                m.cues
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct ChatArgs {
    /// mandarin, sichuanese or cantonese.
    #[arg(long, default_value = "mandarin")]
    dialect: String,
    /// JSON: {"name", "platform", "product", "overdue_amount", "due_date", "days_past_due"}.
    #[arg(long)]
    account: std::path::PathBuf,
    /// The date the call happens on (default: today in China).
    #[arg(long)]
    today: Option<String>,
}

/// `huikuan chat`: robot lines out, debtor lines in (stdin), the outcome
/// as JSON at the end.
pub fn chat(args: ChatArgs) -> anyhow::Result<ExitCode> {
    use huikuan_dialogue::{CallAccount, Engine};
    let dialect = parse_dialect(&args.dialect)?;
    let path = args.account.display().to_string();
    let text = std::fs::read_to_string(&args.account).with_context(|| format!("reading {path}"))?;
    let account: CallAccount =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let today = parse_today(args.today.as_deref())?;
    let engine = Engine::builtin();
    let mut call = engine
        .start(account, dialect, today)
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let mut out = std::io::stdout();
    writeln!(out, "机器人: {}", call.opening())?;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    while call.outcome().is_none() {
        write!(out, "债务人> ")?;
        out.flush()?;
        let Some(line) = lines.next() else { break };
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let turn = call.reply(&line);
        writeln!(out, "机器人: {}", turn.line)?;
    }
    writeln!(out)?;
    match call.outcome() {
        Some(o) => writeln!(out, "{}", serde_json::to_string_pretty(o)?)?,
        None => writeln!(
            out,
            "{{\"disposition\": \"dropped\", \"summary\": \"the debtor hung up before the end\"}}"
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
