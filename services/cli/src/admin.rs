//! `huikuan campaign ...` and `huikuan accounts ...`: operator commands that
//! work directly on the configured database.

use crate::config::Config;
use huikuan_core::{CampaignStatus, Money};
use huikuan_store::accounts::AccountFilter;
use huikuan_store::Store;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum CampaignCommand {
    /// Create an (active) campaign.
    Create {
        name: String,
        /// The number its calls present (default: the trunk's caller id).
        #[arg(long)]
        caller_id: Option<String>,
    },
    /// Set the number a campaign's calls present; without a number, its
    /// calls present the trunk's caller id again.
    CallerId {
        campaign: String,
        caller_id: Option<String>,
    },
    /// List campaigns.
    List,
    /// Show a campaign (id or name) with its progress.
    Show { campaign: String },
    /// Stop dispatching a campaign's calls.
    Pause { campaign: String },
    /// Dispatch a paused campaign's calls again.
    Resume { campaign: String },
}

#[derive(clap::Subcommand)]
pub enum AccountsCommand {
    /// List accounts, a page at a time.
    List {
        #[arg(long)]
        campaign: Option<String>,
        #[arg(long)]
        dialect: Option<String>,
        #[arg(long)]
        province: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u64,
        /// Where the next page starts (the `next:` value a previous page printed).
        #[arg(long)]
        after: Option<String>,
    },
    /// Show one account with its contacts, debts, attempts and promises.
    Show { account_id: String },
}

async fn open(config: &Config) -> anyhow::Result<Store> {
    Ok(Store::connect(&config.database_url()?).await?)
}

fn print_campaign(c: &huikuan_store::Campaign) {
    println!(
        "{}\t{}\t{}\t{}\tcaller id {}",
        c.id,
        c.name,
        c.status,
        crate_time(c.created_at_ms),
        c.caller_id.as_deref().unwrap_or("(trunk's)")
    );
}

fn crate_time(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

pub async fn campaign(config: Config, cmd: CampaignCommand) -> anyhow::Result<ExitCode> {
    let store = open(&config).await?;
    match cmd {
        CampaignCommand::Create { name, caller_id } => {
            print_campaign(&store.create_campaign(&name, caller_id.as_deref()).await?)
        }
        CampaignCommand::CallerId {
            campaign,
            caller_id,
        } => {
            let c = store.find_campaign(&campaign).await?;
            print_campaign(
                &store
                    .set_campaign_caller_id(&c.id, caller_id.as_deref())
                    .await?,
            );
        }
        CampaignCommand::List => {
            for c in store.list_campaigns().await? {
                print_campaign(&c);
            }
        }
        CampaignCommand::Show { campaign } => {
            let c = store.find_campaign(&campaign).await?;
            let s = store.campaign_stats(&c.id).await?;
            print_campaign(&c);
            println!(
                "accounts {}\tqueued {}\tleased {}\tcompleted {}",
                s.accounts, s.queued, s.leased, s.completed
            );
        }
        CampaignCommand::Pause { campaign } => {
            let c = store.find_campaign(&campaign).await?;
            print_campaign(
                &store
                    .set_campaign_status(&c.id, CampaignStatus::Paused)
                    .await?,
            );
        }
        CampaignCommand::Resume { campaign } => {
            let c = store.find_campaign(&campaign).await?;
            print_campaign(
                &store
                    .set_campaign_status(&c.id, CampaignStatus::Active)
                    .await?,
            );
        }
    }
    store.close().await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn accounts(config: Config, cmd: AccountsCommand) -> anyhow::Result<ExitCode> {
    let store = open(&config).await?;
    match cmd {
        AccountsCommand::List {
            campaign,
            dialect,
            province,
            limit,
            after,
        } => {
            let campaign_id = match campaign {
                Some(c) => Some(store.find_campaign(&c).await?.id),
                None => None,
            };
            let filter = AccountFilter {
                campaign_id,
                dialect,
                province,
            };
            let page = store
                .list_accounts(&filter, limit, after.as_deref())
                .await?;
            for a in &page.accounts {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    a.id,
                    a.name,
                    a.dialect,
                    a.province,
                    a.city.as_deref().unwrap_or("")
                );
            }
            if let Some(next) = page.next_page_token {
                println!("next: {next}");
            }
        }
        AccountsCommand::Show { account_id } => {
            let v = store.get_account(&account_id).await?;
            let a = &v.account;
            println!(
                "account  {}  {}  dialect {}  {} {}  ({})",
                a.id,
                a.name,
                a.dialect,
                a.province,
                a.city.as_deref().unwrap_or(""),
                a.time_zone
            );
            for c in &v.contacts {
                println!(
                    "contact  {}{}  attempts today {}",
                    c.phone,
                    if c.dnc { "  DO NOT CALL" } else { "" },
                    c.attempts_today
                );
            }
            for d in &v.debts {
                println!(
                    "debt     {}  {}  principal ¥{}  overdue ¥{}  due {}  {} days past due",
                    d.loan_id,
                    d.product,
                    Money::from_fen(d.principal_fen),
                    Money::from_fen(d.overdue_fen),
                    d.due_date,
                    d.days_past_due
                );
            }
            for t in &v.attempts {
                println!(
                    "attempt  #{} {}  {}  {}",
                    t.seq,
                    t.id,
                    t.status,
                    t.disposition.as_deref().unwrap_or("-")
                );
            }
            for p in &v.promises {
                println!(
                    "promise  {}  ¥{}  {}",
                    p.promised_date,
                    Money::from_fen(p.amount_fen),
                    p.status
                );
            }
        }
    }
    store.close().await?;
    Ok(ExitCode::SUCCESS)
}
