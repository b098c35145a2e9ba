//! `huikuan import FILE --campaign NAME`.

use crate::config::Config;
use anyhow::Context;
use huikuan_core::portfolio::{read_raw, Format};
use huikuan_store::import::Importer;
use huikuan_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// Portfolio file: .csv, or .jsonl/.ndjson (JSON Lines).
    file: PathBuf,
    /// Campaign to put the accounts in (created if it does not exist).
    #[arg(long)]
    campaign: String,
    /// Override the format guessed from the file name.
    #[arg(long, value_parser = ["csv", "jsonl"])]
    format: Option<String>,
    /// Rows per transaction.
    #[arg(long, default_value_t = huikuan_store::import::DEFAULT_BATCH_ROWS)]
    batch_rows: usize,
    /// Exit with status 3 when any row was rejected.
    #[arg(long)]
    strict: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub async fn run(config: Config, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let path = args.file.display().to_string();
    let format = match args.format.as_deref() {
        Some("csv") => Format::Csv,
        Some(_) => Format::JsonLines,
        None => Format::from_path(&path).with_context(|| {
            format!("{path}: cannot tell the format from the name; pass --format csv|jsonl")
        })?,
    };
    let file = std::fs::File::open(&args.file).with_context(|| format!("opening {path}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(size)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} importing [{bar:40}] {bytes}/{total_bytes} {msg} ({eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let rows = read_raw(bar.wrap_read(file), format).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;

    let url = config.database_url()?;
    let store = Store::connect(&url).await.context("opening database")?;
    let campaign = store.ensure_campaign(&args.campaign).await?;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let mut importer = Importer::start(&store, &campaign.id, &path, None, today)
        .await?
        .with_batch_rows(args.batch_rows);
    let stderr = std::io::stderr();
    let started = std::time::Instant::now();
    let mut since_msg = 0u32;
    for item in rows {
        let (line, raw) = match item {
            Ok(item) => item,
            Err(e) => {
                // The file broke off: keep what was read, say where.
                let run = importer.finish().await?;
                bar.abandon();
                anyhow::bail!(
                    "{path}: {e} (import stopped; {} rows before it were kept)",
                    run.accepted
                );
            }
        };
        if let Some(err) = importer.push(line, raw).await? {
            bar.suspend(|| {
                let _ = writeln!(stderr.lock(), "{path}: {err}");
            });
        }
        since_msg += 1;
        if since_msg == 10_000 {
            since_msg = 0;
            bar.set_message(format!("{} rows", importer.accepted()));
        }
    }
    let run = importer.finish().await?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "imported into campaign '{}': {} accepted, {} rejected in {:.1}s ({:.0} rows/s), run {}",
        campaign.name,
        run.accepted,
        run.rejected,
        secs,
        (run.accepted + run.rejected) as f64 / secs.max(1e-9),
        run.id
    );
    store.close().await?;
    Ok(if args.strict && run.rejected > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
