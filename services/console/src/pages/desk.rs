//! The agent desktop's live side: one WebSocket per open desktop page
//! (`/agent/ws`, checked and spoken as [`super::page_socket`] says),
//! carrying offers (the screen pop), the call's transcript and WebRTC
//! signalling, and the wrap-up form (`POST /agent/wrapup`). A page that
//! goes away leaves its call up: the next page of the same agent is given
//! the call again and offers its audio anew.
//!
//! With auto-answer the page keeps a standing line (`standing_offer`,
//! answered with `standing_answer`; `standing_close`), and accepts with
//! `standing: true`: when the line is up the call's audio goes over it
//! and the `call` message says `relayed: true`, so the page offers
//! nothing; otherwise the page joins the call directly as without it.

use super::page_socket::{self, PageMessage, SocketQuery};
use crate::audit::Action;
use crate::bridge::{BridgeError, LiveCall, News};
use crate::error::ConsoleError;
use crate::floor::AgentState;
use crate::session::CurrentUser;
use crate::Console;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use huikuan_core::handoff::{AgentOutcome, ToCall};
use huikuan_core::outcome::{OutcomeLimits, Owed};
use huikuan_core::staff::Permission;
use huikuan_core::{Disposition, Money};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

pub(super) async fn socket(
    State(console): State<Console>,
    me: CurrentUser,
    Query(q): Query<SocketQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ConsoleError> {
    console
        .allow(&me, Permission::TakeCalls, "/agent/ws")
        .await?;
    Ok(page_socket::checked(&me, &q, &headers, ws)?
        .on_upgrade(move |socket| run(console, me, socket)))
}

/// The screen pop of a call: masked unless `full` (the agent on it).
pub(super) fn pop(c: &LiveCall, full: bool, ring_s: u32) -> Value {
    pop_relayed(c, full, ring_s, false)
}

/// The screen pop, saying whether the call's audio is on the agent's
/// standing line.
fn pop_relayed(c: &LiveCall, full: bool, ring_s: u32, relayed: bool) -> Value {
    let q = &c.call;
    json!({
        "call": q.call_id,
        "account": q.account_id,
        "name": q.debtor_name,
        "phone": if full { q.phone.clone() } else { huikuan_core::phone::mask(&q.phone) },
        "dialect": q.dialect.as_str(),
        "overdue_amount": q.overdue_amount,
        "days_past_due": q.days_past_due,
        "product": q.product,
        "reason": q.reason,
        "summary": q.summary,
        "transcript": q.transcript,
        "ring_s": ring_s,
        "queued_at_ms": c.queued_at_ms,
        "ended": c.ended,
        "relayed": relayed,
    })
}

struct Desk {
    console: Console,
    me: CurrentUser,
    socket: WebSocket,
}

impl Desk {
    fn name(&self) -> &str {
        &self.me.user.name
    }

    async fn send(&mut self, v: Value) -> bool {
        page_socket::send(&mut self.socket, v).await
    }

    async fn presence(&mut self) -> bool {
        let p = self.console.floor().get(self.name());
        self.send(json!({"t": "presence", "presence": p})).await
    }

    /// The agent's call, if any, or the offer ringing them.
    async fn catch_up(&mut self) -> bool {
        if let Some(c) = self.console.bridge().of_agent(self.name()) {
            return self
                .send(json!({"t": "call", "call": pop(&c, true, 0)}))
                .await;
        }
        let ringing = self
            .console
            .floor()
            .with_acd(|acd, _| acd.agent(&self.me.user.name))
            .and_then(|(state, _, call)| (state == AgentState::Available).then_some(call))
            .flatten();
        if let Some(id) = ringing {
            return self.offer(&id).await;
        }
        true
    }

    async fn offer(&mut self, id: &str) -> bool {
        let Some(c) = self.console.bridge().get(id) else {
            return true;
        };
        let ring = self.console.config().ring_timeout_seconds;
        let detail = format!("offered, {}", c.call.reason);
        if let Err(e) = self
            .console
            .audit_by(&self.me, Action::ScreenPop, &c.call.account_id, &detail)
            .await
        {
            tracing::error!(error = %e, "audit of a screen pop failed: offer not shown");
            return true;
        }
        self.send(json!({"t": "offer", "call": pop(&c, false, ring)}))
            .await
    }

    fn mine(&self, call: &str) -> bool {
        self.console
            .bridge()
            .get(call)
            .is_some_and(|c| c.agent.as_deref() == Some(self.name()))
    }

    async fn error(&mut self, what: &str, e: impl std::fmt::Display) -> bool {
        page_socket::send_error(&mut self.socket, what, e).await
    }

    /// One message from the page.
    async fn handle(&mut self, text: &str) -> bool {
        let PageMessage { t, call, body: m } = match page_socket::read(text) {
            Ok(m) => m,
            Err((what, why)) => return self.error(&what, why).await,
        };
        let t = t.as_str();
        let name = self.me.user.name.clone();
        match t {
            "accept" => {
                let taken = self
                    .console
                    .floor()
                    .with_acd(|acd, now| acd.accept(&call, &name, now));
                if let Err(e) = taken {
                    return self.error(t, e).await;
                }
                match self.console.bridge().accepted(&call, &name) {
                    Ok(c) => {
                        let _ = self
                            .console
                            .audit_by(&self.me, Action::AcceptCall, &c.call.account_id, &call)
                            .await;
                        let relayed = m["standing"].as_bool() == Some(true)
                            && self.console.bridge().relay(&call, &name);
                        self.send(json!({"t": "call", "call": pop_relayed(&c, true, 0, relayed)}))
                            .await
                            && self.presence().await
                    }
                    Err(e) => self.error(t, e).await,
                }
            }
            "decline" => {
                self.console
                    .floor()
                    .apply(|acd, now| acd.decline(&call, &name, now));
                let _ = self
                    .console
                    .audit_by(&self.me, Action::DeclineCall, &call, "")
                    .await;
                self.send(json!({"t": "withdrawn", "call": call})).await
            }
            "offer" => {
                let sdp = m["sdp"].as_str().unwrap_or_default();
                if !sdp.starts_with("v=0") {
                    return self.error(t, "sdp: not an SDP offer").await;
                }
                let sent = self.console.bridge().send(
                    &call,
                    &name,
                    ToCall::Offer {
                        sdp: sdp.to_string(),
                    },
                );
                match sent {
                    Ok(()) => {
                        // Joined directly from now on.
                        self.console.bridge().standing().detach(&name, &call);
                        true
                    }
                    Err(e) => self.error(t, e).await,
                }
            }
            "standing_offer" => {
                let sdp = m["sdp"].as_str().unwrap_or_default();
                if !sdp.starts_with("v=0") {
                    return self.error(t, "sdp: not an SDP offer").await;
                }
                match self.console.bridge().standing().open(&name, sdp).await {
                    Ok(answer) => {
                        tracing::info!(agent = %name, "standing line opened");
                        self.send(json!({"t": "standing_answer", "sdp": answer}))
                            .await
                    }
                    Err(e) => self.error(t, e).await,
                }
            }
            "standing_close" => {
                self.console.bridge().standing().close(&name);
                true
            }
            "hold" => {
                let on = m["on"].as_bool().unwrap_or(true);
                match self.console.bridge().send(&call, &name, ToCall::Hold(on)) {
                    Ok(()) => true,
                    Err(e) => self.error(t, e).await,
                }
            }
            "hangup" => {
                let _ = self
                    .console
                    .audit_by(&self.me, Action::HangupCall, &call, "")
                    .await;
                match self.console.bridge().send(&call, &name, ToCall::Hangup) {
                    Ok(()) | Err(BridgeError::DialerGone) => true,
                    Err(e) => self.error(t, e).await,
                }
            }
            _ => self.error(t, "unknown message type").await,
        }
    }

    async fn news(&mut self, n: News) -> bool {
        // A supervisor's listening is theirs (silent to the agent), and
        // so are the live quality flags.
        if matches!(
            n,
            News::ListenAnswer { .. } | News::ListenFailed { .. } | News::QualityFlag { .. }
        ) {
            return true;
        }
        let call = n.call().to_string();
        let ended = matches!(n, News::Ended { .. });
        // An ended call is still the agent's until filed.
        if !self.mine(&call) {
            return true;
        }
        let Ok(v) = serde_json::to_value(&n) else {
            return true;
        };
        self.send(v).await && (!ended || self.presence().await)
    }

    async fn step(&mut self, step: crate::acd::Step) -> bool {
        use crate::acd::Step;
        match step {
            Step::Offer { call, agent } if agent == self.me.user.name => self.offer(&call).await,
            Step::Withdraw { call, agent } if agent == self.me.user.name => {
                self.send(json!({"t": "withdrawn", "call": call})).await && self.presence().await
            }
            _ => true,
        }
    }
}

async fn run(console: Console, me: CurrentUser, socket: WebSocket) {
    let mut steps = console.floor().subscribe();
    let mut news = console.bridge().subscribe();
    let mut desk = Desk {
        console,
        me,
        socket,
    };
    if !(desk.presence().await && desk.catch_up().await) {
        return;
    }
    loop {
        let alive = tokio::select! {
            m = desk.socket.recv() => match m {
                Some(Ok(Message::Text(t))) => desk.handle(t.as_str()).await,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => false,
                Some(Ok(_)) => true,
            },
            s = steps.recv() => match s {
                Ok(s) => desk.step(s).await,
                Err(RecvError::Lagged(_)) => desk.catch_up().await,
                Err(RecvError::Closed) => false,
            },
            n = news.recv() => match n {
                Ok(n) => desk.news(n).await,
                Err(RecvError::Lagged(_)) => desk.catch_up().await,
                Err(RecvError::Closed) => false,
            },
        };
        if !alive {
            return;
        }
    }
}

/// The wrap-up form, as the page posts it (JSON, with the CSRF header).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WrapUp {
    call: String,
    disposition: String,
    #[serde(default)]
    promise_date: String,
    #[serde(default)]
    promise_amount: String,
    /// `YYYY-MM-DDTHH:MM`, the debtor's local time.
    #[serde(default)]
    callback_time: String,
    #[serde(default)]
    notes: String,
}

fn bad(field: &'static str, reason: impl Into<String>) -> ConsoleError {
    ConsoleError::BadInput {
        field,
        reason: reason.into(),
    }
}

/// Checks the form against the call: what the dialer reports is what the
/// orchestrator will accept.
fn outcome_of(f: &WrapUp, c: &LiveCall, agent: &str) -> Result<AgentOutcome, ConsoleError> {
    let disposition: Disposition = f.disposition.parse().map_err(|e| bad("disposition", e))?;
    if !disposition.filed_by_agent() {
        return Err(bad(
            "disposition",
            format!("{disposition} is not an outcome an agent files"),
        ));
    }
    if f.notes.chars().count() > 2000 {
        return Err(bad("notes", "at most 2000 characters"));
    }
    let tz: chrono_tz::Tz = c
        .call
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let local_now = chrono::Utc::now().with_timezone(&tz).naive_local();
    let mut out = AgentOutcome {
        agent: agent.to_string(),
        disposition,
        promise_date: None,
        promise_amount: None,
        callback_time: None,
        notes: f.notes.trim().to_string(),
    };
    match disposition {
        Disposition::PromiseToPay => {
            let date = chrono::NaiveDate::parse_from_str(f.promise_date.trim(), "%Y-%m-%d")
                .map_err(|_| bad("promise_date", "required, as YYYY-MM-DD"))?;
            let amount: Money = f
                .promise_amount
                .trim()
                .parse()
                .map_err(|e: String| bad("promise_amount", e))?;
            let overdue: Money =
                c.call.overdue_amount.parse().map_err(|e: String| {
                    bad("promise_amount", format!("the debt's amount: {e}"))
                })?;
            // Said the agent's way: the desk files no settlement of the
            // whole balance.
            if amount > overdue {
                return Err(bad(
                    "promise_amount",
                    format!("{amount} is more than the overdue amount {overdue}"),
                ));
            }
            OutcomeLimits::default()
                .check_promise(
                    date,
                    amount,
                    false,
                    local_now.date(),
                    Owed {
                        overdue,
                        balance: overdue,
                    },
                )
                .map_err(|r| bad(r.field, r.reason))?;
            out.promise_date = Some(date);
            out.promise_amount = Some(amount.to_string());
        }
        Disposition::CallbackRequested => {
            let at =
                chrono::NaiveDateTime::parse_from_str(f.callback_time.trim(), "%Y-%m-%dT%H:%M")
                    .map_err(|_| bad("callback_time", "required, as YYYY-MM-DDTHH:MM"))?;
            if at <= local_now {
                return Err(bad("callback_time", "must be in the future"));
            }
            if at > local_now + chrono::Duration::days(30) {
                return Err(bad("callback_time", "at most 30 days ahead"));
            }
            out.callback_time = Some(at);
        }
        _ => {}
    }
    Ok(out)
}

pub(super) async fn wrap_up(
    State(console): State<Console>,
    me: CurrentUser,
    Json(f): Json<WrapUp>,
) -> Result<Json<Value>, ConsoleError> {
    console
        .allow(&me, Permission::TakeCalls, "/agent/wrapup")
        .await?;
    let c = console
        .bridge()
        .get(&f.call)
        .ok_or_else(|| ConsoleError::NotFound(format!("call {}", f.call)))?;
    if c.agent.as_deref() != Some(me.user.name.as_str()) {
        return Err(ConsoleError::Forbidden("this call is not yours".into()));
    }
    if c.ended.is_none() {
        return Err(ConsoleError::Conflict(
            "the call is still on: hang up before filing its outcome".into(),
        ));
    }
    let outcome = outcome_of(&f, &c, &me.user.name)?;
    let detail = match (&outcome.promise_date, &outcome.promise_amount) {
        (Some(d), Some(a)) => format!("{} {d} {a}", outcome.disposition),
        _ => outcome.disposition.to_string(),
    };
    console
        .audit_by(&me, Action::Disposition, &c.call.account_id, &detail)
        .await?;
    console
        .bridge()
        .file(&f.call, outcome)
        .map_err(|e| ConsoleError::Conflict(e.to_string()))?;
    let name = me.user.name.clone();
    console
        .floor()
        .apply(|acd, now| acd.end_wrap_up(&name, now));
    Ok(Json(json!({"ok": true})))
}
