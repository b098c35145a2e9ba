//! `huikuan user ...`: console users, managed on the configured database.
//! The first admin is made this way; every change is audited as done by
//! `cli:$USER` from `local`.

use crate::config::Config;
use anyhow::Context;
use huikuan_console::password;
use huikuan_core::staff::{Role, Skills};
use huikuan_store::Store;
use std::io::BufRead;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Add a user; prints a generated password unless --password-stdin.
    Add {
        name: String,
        /// agent, supervisor, manager or admin.
        #[arg(long)]
        role: String,
        /// Dialects the user takes calls in: mandarin, sichuanese, cantonese.
        #[arg(long, default_value = "")]
        skills: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Disable a user and end their sessions.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Set a new password (generated unless --password-stdin); lifts a lockout
    /// and ends the user's sessions.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `cli:` and the operating-system user running the command.
fn actor() -> String {
    let name = ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        // SAFETY: getuid has no preconditions and cannot fail.
        .unwrap_or_else(|| format!("uid {}", unsafe { libc::getuid() }));
    format!("cli:{name}")
}

/// The password to set, and whether it was generated (and must be shown).
fn new_password(from_stdin: bool, name: &str) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((password::generate(), true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    password::check_new(&pw, name).map_err(anyhow::Error::msg)?;
    Ok((pw, false))
}

pub async fn run(config: Config, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&config.database_url()?).await?;
    let audit = |action: &'static str, subject: String, detail: String| {
        let store = store.clone();
        async move {
            store
                .audit(&actor(), action, &subject, &detail, "local")
                .await
        }
    };
    match cmd {
        UserCommand::Add {
            name,
            role,
            skills,
            password_stdin,
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg).context("--role")?;
            let skills: Skills = skills
                .parse()
                .map_err(anyhow::Error::msg)
                .context("--skills")?;
            if role == Role::Agent && skills.is_empty() {
                anyhow::bail!(
                    "--skills: an agent needs at least one dialect (e.g. --skills mandarin)"
                );
            }
            let (pw, generated) = new_password(password_stdin, &name)?;
            let phc =
                tokio::task::spawn_blocking(move || password::hash(&pw).map(|h| (h, pw))).await??;
            store.create_user(&name, role, &skills, &phc.0).await?;
            audit(
                "user_add",
                name.clone(),
                format!("role={role} skills={skills}"),
            )
            .await?;
            println!(
                "added {name} ({role}{})",
                if skills.is_empty() {
                    String::new()
                } else {
                    format!(": {skills}")
                }
            );
            if generated {
                println!("password: {}", phc.1);
            }
        }
        UserCommand::List => {
            let now = chrono::Utc::now().timestamp_millis();
            for u in store.users().await? {
                let status = if u.disabled {
                    "disabled"
                } else if u.locked_at(now) {
                    "locked"
                } else {
                    "active"
                };
                println!("{}\t{}\t{}\t{status}", u.name, u.role, u.skills);
            }
        }
        UserCommand::Disable { name } => {
            store.set_user_disabled(&name, true).await?;
            audit("user_disable", name.clone(), String::new()).await?;
            println!("disabled {name}");
        }
        UserCommand::Enable { name } => {
            store.set_user_disabled(&name, false).await?;
            audit("user_enable", name.clone(), String::new()).await?;
            println!("enabled {name}");
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            if store.user(&name).await?.is_none() {
                anyhow::bail!("user '{name}' not found");
            }
            let (pw, generated) = new_password(password_stdin, &name)?;
            let phc =
                tokio::task::spawn_blocking(move || password::hash(&pw).map(|h| (h, pw))).await??;
            store.set_password_hash(&name, &phc.0).await?;
            audit(
                "user_password",
                name.clone(),
                "set from the command line".into(),
            )
            .await?;
            println!("new password set for {name}");
            if generated {
                println!("password: {}", phc.1);
            }
        }
    }
    store.close().await?;
    Ok(ExitCode::SUCCESS)
}
