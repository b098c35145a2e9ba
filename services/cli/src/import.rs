//! `huikuan import FILE --campaign NAME` and `huikuan import runs`.

use crate::config::Config;
use anyhow::Context;
use huikuan_core::portfolio::{read_raw, Format, RowError};
use huikuan_store::import::{ImportOptions, Importer};
use huikuan_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ImportArgs {
    #[command(subcommand)]
    command: Option<ImportCommand>,
    #[command(flatten)]
    file: FileArgs,
}

#[derive(clap::Subcommand)]
enum ImportCommand {
    /// List import runs, newest first: how each ended and what it kept.
    Runs {
        #[arg(long)]
        campaign: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
}

#[derive(clap::Args)]
struct FileArgs {
    /// Portfolio file: .csv, or .jsonl/.ndjson (JSON Lines).
    file: Option<PathBuf>,
    /// Campaign to put the accounts in (created if it does not exist).
    #[arg(long)]
    campaign: Option<String>,
    /// Override the format guessed from the file name.
    #[arg(long, value_parser = ["csv", "jsonl"])]
    format: Option<String>,
    /// Rows per transaction.
    #[arg(long, default_value_t = huikuan_store::import::DEFAULT_BATCH_ROWS)]
    batch_rows: usize,
    /// A repeated account id replaces the earlier row (default: the later
    /// row is an error).
    #[arg(long)]
    last_wins: bool,
    /// Refuse accounts that are in another campaign (default: move them).
    #[arg(long)]
    no_move: bool,
    /// Exit with status 3 when any row was rejected.
    #[arg(long)]
    strict: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub async fn run(config: Config, args: ImportArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ImportCommand::Runs { campaign, limit }) => runs(config, campaign, limit).await,
        None => import_file(config, args.file).await,
    }
}

async fn runs(config: Config, campaign: Option<String>, limit: u64) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&config.database_url()?)
        .await
        .context("opening database")?;
    let campaign_id = match campaign {
        Some(c) => Some(store.find_campaign(&c).await?.id),
        None => None,
    };
    let runs = store
        .list_import_runs(campaign_id.as_deref(), limit)
        .await?;
    println!("run\tcampaign\tstate\taccepted\trejected\tmoved\tstarted\tended\tsource");
    let time = |ms: i64| {
        chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    for r in runs {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.id,
            r.campaign,
            r.state,
            r.accepted,
            r.rejected,
            r.moved,
            time(r.started_at_ms),
            r.finished_at_ms.map(time).unwrap_or_else(|| "-".into()),
            r.source
        );
    }
    store.close().await?;
    Ok(ExitCode::SUCCESS)
}

async fn import_file(config: Config, args: FileArgs) -> anyhow::Result<ExitCode> {
    let file_path = args
        .file
        .context("FILE: required (or `huikuan import runs` to list imports)")?;
    let campaign_name = args.campaign.context("--campaign: required")?;
    let path = file_path.display().to_string();
    let format = match args.format.as_deref() {
        Some("csv") => Format::Csv,
        Some(_) => Format::JsonLines,
        None => Format::from_path(&path).with_context(|| {
            format!("{path}: cannot tell the format from the name; pass --format csv|jsonl")
        })?,
    };
    let file = std::fs::File::open(&file_path).with_context(|| format!("opening {path}"))?;
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
    let campaign = store.ensure_campaign(&campaign_name).await?;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let mut importer = Importer::start(&store, &campaign.id, &path, None, today)
        .await?
        .with_options(ImportOptions {
            batch_rows: args.batch_rows,
            last_wins: args.last_wins,
            no_move: args.no_move,
        });
    let stderr = std::io::stderr();
    let report = |errors: Vec<RowError>| {
        if !errors.is_empty() {
            bar.suspend(|| {
                let mut out = stderr.lock();
                for e in errors {
                    let _ = writeln!(out, "{path}: {e}");
                }
            });
        }
    };
    let started = std::time::Instant::now();
    let mut since_msg = 0u32;
    // Ctrl-C between rows cancels the import (its first poll installs the
    // handler, so from here on Ctrl-C no longer kills the process).
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    let _ = futures::FutureExt::now_or_never(interrupt.as_mut());
    let mut stopped = false;
    let mut rows = rows;
    let (run, late) = loop {
        let Some(item) = rows.next() else {
            break importer.finish().await?;
        };
        let (line, raw) = match item {
            Ok(item) => item,
            Err(e) => {
                // The file broke off: keep the whole batches read, say where.
                let (run, late) = importer.cancel().await?;
                report(late);
                bar.abandon();
                anyhow::bail!(
                    "{path}: {e} (import stopped; {} rows before it were kept in whole batches, run {} cancelled)",
                    run.accepted,
                    run.id
                );
            }
        };
        report(importer.push(line, raw).await?);
        since_msg += 1;
        if since_msg == 10_000 {
            since_msg = 0;
            bar.set_message(format!("{} rows", importer.accepted()));
        }
        if futures::FutureExt::now_or_never(interrupt.as_mut()).is_some() {
            stopped = true;
            break importer.cancel().await?;
        }
    };
    report(late);
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} into campaign '{}': {} accepted, {} rejected, {} moved from other campaigns in {:.1}s ({:.0} rows/s), run {}",
        if stopped { "import cancelled (whole batches kept)" } else { "imported" },
        campaign.name,
        run.accepted,
        run.rejected,
        run.moved,
        secs,
        (run.accepted + run.rejected) as f64 / secs.max(1e-9),
        run.id
    );
    store.close().await?;
    Ok(if stopped {
        ExitCode::from(130)
    } else if args.strict && run.rejected > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
