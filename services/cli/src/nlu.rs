//! `huikuan nlu`: one utterance per line on stdin, one JSON object per line
//! on stdout: `{"intent": "...", "slots": {"date": "YYYY-MM-DD", "amount":
//! "3500", "callback_time": "YYYY-MM-DDTHH:MM"}}` (absent slots omitted).

use anyhow::Context;
use chrono::NaiveDate;
use huikuan_core::Dialect;
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

pub fn run(args: NluArgs) -> anyhow::Result<ExitCode> {
    let dialect: Dialect = args
        .dialect
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--dialect: {e}"))?;
    let today = match &args.today {
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .with_context(|| format!("--today: '{t}' is not a date in YYYY-MM-DD form"))?,
        None => chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive(),
    };
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
