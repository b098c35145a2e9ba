//! The supervisor's floor: every user who takes calls, signed in or not,
//! with their state, time in it and the call they are on; the handoffs
//! waiting; the calls dialers are making. No debtor's name or number is
//! shown here (the floor refreshes every two seconds): listening in, which
//! is audited, shows the call. The live calls' quality flags are listed
//! as they are raised, with the words that raised them.

use crate::bridge::LiveCall;
use crate::error::ConsoleError;
use crate::live_quality::LiveFlag;
use crate::session::CurrentUser;
use crate::Console;
use axum::extract::State;
use axum::response::Html;
use axum::Json;
use huikuan_core::staff::Permission;
use serde::Serialize;

#[derive(Serialize)]
pub(super) struct AgentRow {
    name: String,
    role: &'static str,
    skills: String,
    /// `offline` when not signed in.
    state: String,
    since_ms: Option<i64>,
    call: Option<CallRow>,
}

/// A handed-over call, as the floor shows it.
#[derive(Serialize)]
pub(super) struct CallRow {
    call: String,
    account: String,
    dialect: &'static str,
    reason: String,
    /// Queued at, or taken by its agent at.
    since_ms: i64,
    /// The debtor's line has ended (the agent is wrapping up).
    ended: bool,
    /// Live quality flags its words raised, newest last.
    flags: Vec<LiveFlag>,
}

/// A live quality flag with the call and agent it belongs to.
#[derive(Serialize)]
pub(super) struct FlagRow {
    call: String,
    account: String,
    agent: String,
    #[serde(flatten)]
    flag: LiveFlag,
}

fn call_row(c: &LiveCall) -> CallRow {
    CallRow {
        call: c.call.call_id.clone(),
        account: c.call.account_id.clone(),
        dialect: c.call.dialect.as_str(),
        reason: c.call.reason.clone(),
        since_ms: c.accepted_at_ms.unwrap_or(c.queued_at_ms),
        ended: c.ended.is_some(),
        flags: c.quality_flags.clone(),
    }
}

async fn rows(console: &Console) -> Result<Vec<AgentRow>, ConsoleError> {
    let users = console.store().users().await?;
    Ok(users
        .into_iter()
        .filter(|u| !u.disabled && u.role.may(Permission::TakeCalls))
        .map(|u| {
            let p = console.floor().get(&u.name);
            AgentRow {
                role: u.role.as_str(),
                skills: u.skills.to_string(),
                state: p
                    .as_ref()
                    .map_or_else(|| "offline".into(), |p| p.state.label()),
                since_ms: p.map(|p| p.since_ms),
                call: console.bridge().of_agent(&u.name).as_ref().map(call_row),
                name: u.name,
            }
        })
        .collect())
}

/// The floor as the page shows it and refreshes it.
#[derive(Serialize)]
pub(super) struct FloorView {
    agents: Vec<AgentRow>,
    queue: crate::acd::QueueFigures,
    longest_wait_s: i64,
    /// The handoffs no agent has taken yet, oldest first.
    waiting: Vec<CallRow>,
    /// Calls dialers hold right now (robot calls and handed-over ones).
    calls_in_progress: u64,
    /// The live calls' quality flags, newest first.
    flags: Vec<FlagRow>,
}

async fn view(console: &Console) -> Result<FloorView, ConsoleError> {
    let queue = console.floor().figures();
    let live = console.bridge().all();
    let mut flags: Vec<FlagRow> = live
        .iter()
        .flat_map(|c| {
            c.quality_flags.iter().map(|f| FlagRow {
                call: c.call.call_id.clone(),
                account: c.call.account_id.clone(),
                agent: c.agent.clone().unwrap_or_default(),
                flag: f.clone(),
            })
        })
        .collect();
    flags.sort_by_key(|f| std::cmp::Reverse(f.flag.raised_at_ms));
    Ok(FloorView {
        flags,
        agents: rows(console).await?,
        longest_wait_s: queue.longest_wait_ms / 1000,
        queue,
        waiting: live
            .iter()
            .filter(|c| c.agent.is_none())
            .map(call_row)
            .collect(),
        calls_in_progress: console.store().calls_in_progress().await?,
    })
}

pub(super) async fn page(
    State(console): State<Console>,
    me: CurrentUser,
) -> Result<Html<String>, ConsoleError> {
    console
        .allow(&me, Permission::WatchFloor, "/supervisor")
        .await?;
    let mut ctx = tera::Context::new();
    ctx.insert("floor", &view(&console).await?);
    ctx.insert("may_listen", &me.user.role.may(Permission::ListenIn));
    console.render(&me, "supervisor.html", ctx)
}

/// The same, as JSON, for the page to refresh itself.
pub(super) async fn floor(
    State(console): State<Console>,
    me: CurrentUser,
) -> Result<Json<FloorView>, ConsoleError> {
    console
        .allow(&me, Permission::WatchFloor, "/api/floor")
        .await?;
    Ok(Json(view(&console).await?))
}
