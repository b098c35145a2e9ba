//! The supervisor's floor: every user who takes calls, signed in or not,
//! with their state and time in it.

use crate::error::ConsoleError;
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
}

async fn view(console: &Console) -> Result<FloorView, ConsoleError> {
    let queue = console.floor().figures();
    Ok(FloorView {
        agents: rows(console).await?,
        longest_wait_s: queue.longest_wait_ms / 1000,
        queue,
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
