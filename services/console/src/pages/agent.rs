//! The agent desktop: the agent's state (available, break with a pause
//! code, on call, wrap-up) and time in it.

use super::bad;
use crate::audit::Action;
use crate::error::ConsoleError;
use crate::floor::AgentState;
use crate::session::CurrentUser;
use crate::Console;
use axum::extract::{Form, State};
use axum::response::{Html, Redirect};
use huikuan_core::staff::Permission;
use serde::Deserialize;

pub(super) async fn page(
    State(console): State<Console>,
    me: CurrentUser,
) -> Result<Html<String>, ConsoleError> {
    console.allow(&me, Permission::TakeCalls, "/agent").await?;
    let mut ctx = tera::Context::new();
    ctx.insert("presence", &console.floor().get(&me.user.name));
    ctx.insert(
        "state_label",
        &console.floor().get(&me.user.name).map(|p| p.state.label()),
    );
    ctx.insert("pause_codes", &console.config().pause_codes);
    ctx.insert("wrap_up_seconds", &console.config().wrap_up_seconds);
    let dispositions: Vec<&str> = huikuan_core::Disposition::ALL
        .iter()
        .filter(|d| d.filed_by_agent())
        .map(|d| d.as_str())
        .collect();
    ctx.insert("dispositions", &dispositions);
    let skills: Vec<&str> = me
        .user
        .skills
        .dialects()
        .iter()
        .map(|d| d.as_str())
        .collect();
    ctx.insert("skills", &skills);
    console.render(&me, "agent.html", ctx)
}

#[derive(Deserialize)]
pub(super) struct StateForm {
    state: String,
    #[serde(default)]
    code: String,
}

/// The states an agent may choose; on call and wrap-up come with calls.
pub(super) async fn set_state(
    State(console): State<Console>,
    me: CurrentUser,
    Form(f): Form<StateForm>,
) -> Result<Redirect, ConsoleError> {
    console
        .allow(&me, Permission::TakeCalls, "/agent/state")
        .await?;
    let wanted = match f.state.as_str() {
        "available" => Some(AgentState::Available),
        "break" => {
            if !console.config().pause_codes.contains(&f.code) {
                return Err(bad(
                    "code",
                    format!(
                        "pause code must be one of: {}",
                        console.config().pause_codes.join(", ")
                    ),
                ));
            }
            Some(AgentState::Break {
                code: f.code.clone(),
            })
        }
        "offline" => None,
        _ => return Err(bad("state", "must be available, break or offline")),
    };
    if let Some(p) = console.floor().get(&me.user.name) {
        if matches!(p.state, AgentState::OnCall | AgentState::WrapUp) {
            return Err(ConsoleError::Conflict(format!(
                "you are {}: finish the call first",
                p.state.label()
            )));
        }
    }
    let label = match wanted {
        Some(state) => console
            .floor()
            .set(&me.user.name, me.user.skills.clone(), state)
            .state
            .label(),
        None => {
            console.floor().sign_off(&me.user.name);
            "offline".into()
        }
    };
    console
        .audit_by(&me, Action::AgentState, &me.user.name, &label)
        .await?;
    Ok(Redirect::to("/agent"))
}
