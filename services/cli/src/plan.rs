//! `huikuan plan`: make (and approve) a campaign's plan for a day, export
//! it, and explain one account's decision. A stable contract for scripts:
//! the export's columns are exactly
//! `account_id,contact,channel,planned_at,priority,reason` and the skipped
//! file's `account_id,rule`.

use crate::config::Config;
use anyhow::{bail, Context};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use clap::Args;
use huikuan_core::{PlanAction, PlannedCallState};
use huikuan_orchestrator::planning;
use huikuan_store::plans::lifecycle::Change;
use huikuan_store::{PlanCallFilter, PlanDay, Store};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct PlanArgs {
    /// The campaign (name or id); with --explain, defaults to the
    /// account's own.
    #[arg(long)]
    campaign: Option<String>,
    /// The debtors' local day, YYYY-MM-DD.
    #[arg(long)]
    date: NaiveDate,
    /// Approve the plan once made (or the day's draft, with --explain
    /// absent and the plan already made).
    #[arg(long)]
    approve: bool,
    /// Write the planned calls as CSV.
    #[arg(long)]
    export: Option<PathBuf>,
    /// Write the accounts not planned and the rule that skipped each, as
    /// CSV.
    #[arg(long)]
    skipped: Option<PathBuf>,
    /// Print one account's decision and its reasons (from the day's plan).
    #[arg(long, value_name = "ACCOUNT")]
    explain: Option<String>,
    /// Who is planning or approving, for the audit log.
    #[arg(long, default_value = "cli")]
    by: String,
    /// Why, for the audit log when approving.
    #[arg(long, default_value = "approved from the command line")]
    why: String,
    /// Export the day's saved plan without making it again.
    #[arg(long)]
    saved: bool,
}

pub async fn run(config: Config, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&config.database_url()?).await?;
    let code = match &args.explain {
        Some(account) => explain(&store, &config, &args, account).await?,
        None => make(&store, &config, &args).await?,
    };
    store.close().await?;
    Ok(code)
}

async fn make(store: &Store, config: &Config, args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let Some(name) = &args.campaign else {
        bail!("--campaign: which campaign to plan (name or id)");
    };
    let campaign = store.find_campaign(name).await?;
    let settings = config
        .planning
        .for_campaign(&campaign.name)
        .resolve()
        .map_err(anyhow::Error::msg)?;
    let plan = if args.saved {
        store
            .plan_for(&campaign.id, args.date)
            .await?
            .with_context(|| format!("no plan for {} yet", args.date))?
    } else {
        let accounts = store.campaign_stats(&campaign.id).await?.accounts;
        let bar = ProgressBar::new(accounts);
        bar.set_style(
            ProgressStyle::with_template("reading accounts {pos}/{len} {bar:30} {elapsed}")
                .map_err(|e| anyhow::anyhow!("progress style: {e}"))?,
        );
        let started = std::time::Instant::now();
        let made = planning::make_plan(
            store,
            &campaign.id,
            args.date,
            Utc::now(),
            &settings,
            &args.by,
            &|n| bar.inc(n),
        )
        .await?;
        bar.finish_and_clear();
        for note in &made.notes {
            println!("note: {note}");
        }
        println!(
            "plan for {} on {}: {} calls planned, {} accounts not planned ({:.1} s)",
            campaign.name,
            args.date,
            made.planned,
            made.skipped,
            started.elapsed().as_secs_f64()
        );
        made.plan
    };
    let plan = if args.approve {
        let approved = store
            .plan_action(
                &plan.id,
                PlanAction::Approve,
                Change {
                    who: &args.by,
                    why: &args.why,
                    remote: "cli",
                },
            )
            .await?;
        println!("approved by {}", args.by);
        approved
    } else {
        println!(
            "status: {} (approve with --approve or on the console)",
            plan.status
        );
        plan
    };
    if let Some(path) = &args.export {
        let n = export(store, &plan, path).await?;
        println!("{n} planned calls written to {}", path.display());
    }
    if let Some(path) = &args.skipped {
        let n = export_skipped(store, &plan, path).await?;
        println!("{n} accounts not planned written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

const PAGE: u64 = 5_000;

/// `account_id,contact,channel,planned_at,priority,reason`, by time.
async fn export(store: &Store, plan: &PlanDay, path: &PathBuf) -> anyhow::Result<u64> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("{}", path.display()))?;
    w.write_record([
        "account_id",
        "contact",
        "channel",
        "planned_at",
        "priority",
        "reason",
    ])?;
    let mut offset = 0;
    let mut n = 0;
    loop {
        let (calls, _) = store
            .planned_calls(&plan.id, &PlanCallFilter::default(), offset, PAGE)
            .await?;
        if calls.is_empty() {
            break;
        }
        offset += calls.len() as u64;
        for c in calls
            .iter()
            .filter(|c| c.state != PlannedCallState::Excluded)
        {
            w.write_record([
                c.account_id.as_str(),
                c.phone.as_str(),
                c.channel.as_str(),
                &local_rfc3339(c.planned_at_ms, &c.time_zone),
                &c.priority.to_string(),
                c.reasons.as_str(),
            ])?;
            n += 1;
        }
    }
    w.flush()?;
    Ok(n)
}

/// `account_id,rule`, by account.
async fn export_skipped(store: &Store, plan: &PlanDay, path: &PathBuf) -> anyhow::Result<u64> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("{}", path.display()))?;
    w.write_record(["account_id", "rule"])?;
    let mut offset = 0;
    loop {
        let (skips, _) = store.plan_skips(&plan.id, None, offset, PAGE).await?;
        if skips.is_empty() {
            break;
        }
        offset += skips.len() as u64;
        for s in &skips {
            w.write_record([s.account_id.as_str(), s.rule.as_str()])?;
        }
    }
    w.flush()?;
    Ok(offset)
}

/// An instant in RFC 3339 with the debtor's own offset.
pub fn local_rfc3339(ms: i64, time_zone: &str) -> String {
    let tz: Tz = time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&tz).to_rfc3339())
        .unwrap_or_default()
}

async fn explain(
    store: &Store,
    _config: &Config,
    args: &PlanArgs,
    account: &str,
) -> anyhow::Result<ExitCode> {
    let campaign = match &args.campaign {
        Some(c) => store.find_campaign(c).await?,
        None => {
            let view = store.get_account(account).await?;
            let id = view
                .account
                .campaign_id
                .with_context(|| format!("account {account} is in no campaign"))?;
            store.get_campaign(&id).await?
        }
    };
    let Some(plan) = store.plan_for(&campaign.id, args.date).await? else {
        println!(
            "no plan for {} on {}: make one with `huikuan plan --campaign {} --date {}`",
            campaign.name, args.date, campaign.name, args.date
        );
        return Ok(ExitCode::FAILURE);
    };
    println!(
        "account {account}, campaign {}, {} (plan {})",
        campaign.name, args.date, plan.status
    );
    if let Some(c) = store.planned_call(&plan.id, account).await? {
        println!(
            "decision: {} call at {} on {} (priority {}){}",
            c.channel,
            local_rfc3339(c.planned_at_ms, &c.time_zone),
            c.phone,
            c.priority,
            match c.state {
                PlannedCallState::Planned => String::new(),
                other => format!(", {other}"),
            }
        );
        println!(
            "expected recovery: {:.2} yuan",
            c.expected_fen as f64 / 100.0
        );
        for r in c.reasons.split("; ") {
            println!("  - {r}");
        }
    } else if let Some(s) = store.plan_skip(&plan.id, account).await? {
        println!("decision: not called ({})", s.rule);
        println!("  - {}", s.why);
    } else {
        println!("decision: none (the account was not in the campaign when the plan was made)");
    }
    Ok(ExitCode::SUCCESS)
}
