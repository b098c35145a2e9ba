//! The supervisor's live side: one WebSocket per open floor page
//! (`/supervisor/ws`, spoken as [`super::page_socket`] says) to listen in on an agent's call (WebRTC signalling
//! relayed to the call's dialer, the call's live transcript back) and to
//! whisper to the agent. The socket is checked as the desk's is and needs
//! the `ListenIn` permission. Every listen-in and every whisper is audited before it is
//! carried out. A page that goes away stops its listening.

use super::desk::pop;
use super::page_socket::{self, PageMessage, SocketQuery};
use crate::audit::Action;
use crate::bridge::{BridgeError, News};
use crate::error::ConsoleError;
use crate::session::CurrentUser;
use crate::Console;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use huikuan_core::staff::Permission;
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
        .allow(&me, Permission::ListenIn, "/supervisor/ws")
        .await?;
    Ok(page_socket::checked(&me, &q, &headers, ws)?
        .on_upgrade(move |socket| run(console, me, socket)))
}

struct Listening {
    console: Console,
    me: CurrentUser,
    socket: WebSocket,
    /// The calls this page listens to.
    calls: Vec<String>,
}

impl Listening {
    async fn send(&mut self, v: Value) -> bool {
        page_socket::send(&mut self.socket, v).await
    }

    async fn error(&mut self, what: &str, e: impl std::fmt::Display) -> bool {
        page_socket::send_error(&mut self.socket, what, e).await
    }

    async fn handle(&mut self, text: &str) -> bool {
        let PageMessage { t, call, body: m } = match page_socket::read(text) {
            Ok(m) => m,
            Err((what, why)) => return self.error(&what, why).await,
        };
        let t = t.as_str();
        let Some(live) = self.console.bridge().get(&call) else {
            return self.error(t, "no such call (it ended or was filed)").await;
        };
        let account = live.call.account_id.clone();
        let name = self.me.user.name.clone();
        match t {
            "listen" => {
                let sdp = m["sdp"].as_str().unwrap_or_default();
                if !sdp.starts_with("v=0") {
                    return self.error(t, "sdp: not an SDP offer").await;
                }
                let agent = live.agent.clone().unwrap_or_default();
                let detail = format!("call {call}, agent {agent}");
                if let Err(e) = self
                    .console
                    .audit_by(&self.me, Action::ListenIn, &account, &detail)
                    .await
                {
                    return self.error(t, e).await;
                }
                match self.console.bridge().listen(&call, &name, sdp.to_string()) {
                    Ok(()) => {
                        if !self.calls.contains(&call) {
                            self.calls.push(call.clone());
                        }
                        let mut facts = pop(&live, false, 0);
                        facts["agent"] = json!(agent);
                        self.send(json!({"t": "listening", "call": facts})).await
                    }
                    Err(e) => self.error(t, e).await,
                }
            }
            "whisper" => {
                if !live.listeners.contains(&name) {
                    return self.error(t, BridgeError::NotListening).await;
                }
                let on = m["on"].as_bool().unwrap_or(false);
                let detail = format!("call {call}, whisper {}", if on { "on" } else { "off" });
                if let Err(e) = self
                    .console
                    .audit_by(&self.me, Action::ListenIn, &account, &detail)
                    .await
                {
                    return self.error(t, e).await;
                }
                match self.console.bridge().listener_says(&call, &name, Some(on)) {
                    Ok(()) => {
                        self.send(json!({"t": "whisper", "call": call, "on": on}))
                            .await
                    }
                    Err(e) => self.error(t, e).await,
                }
            }
            "stop" => {
                self.calls.retain(|c| *c != call);
                match self.console.bridge().listener_says(&call, &name, None) {
                    Ok(()) => self.send(json!({"t": "stopped", "call": call})).await,
                    Err(e) => self.error(t, e).await,
                }
            }
            _ => self.error(t, "unknown message type").await,
        }
    }

    async fn news(&mut self, n: News) -> bool {
        if !self.calls.iter().any(|c| c == n.call()) {
            return true;
        }
        let me = self.me.user.name.as_str();
        let v = match n {
            News::Line { call, line } => json!({"t": "line", "call": call, "line": line}),
            News::QualityFlag { call, flag } => json!({"t": "flag", "call": call, "flag": flag}),
            News::ListenAnswer {
                call,
                supervisor,
                sdp,
            } if supervisor == me => json!({"t": "answer", "call": call, "sdp": sdp}),
            News::ListenFailed {
                call,
                supervisor,
                why,
            } if supervisor == me => {
                self.calls.retain(|c| *c != call);
                json!({"t": "listen_failed", "call": call, "why": why})
            }
            News::Ended { call, .. } => {
                self.calls.retain(|c| *c != call);
                json!({"t": "ended", "call": call})
            }
            _ => return true,
        };
        self.send(v).await
    }
}

async fn run(console: Console, me: CurrentUser, socket: WebSocket) {
    let mut news = console.bridge().subscribe();
    let mut page = Listening {
        console,
        me,
        socket,
        calls: Vec::new(),
    };
    loop {
        let alive = tokio::select! {
            m = page.socket.recv() => match m {
                Some(Ok(Message::Text(t))) => page.handle(t.as_str()).await,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => false,
                Some(Ok(_)) => true,
            },
            n = news.recv() => match n {
                Ok(n) => page.news(n).await,
                // Missed news: transcript lines only; the audio goes on.
                Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => false,
            },
        };
        if !alive {
            break;
        }
    }
    let name = page.me.user.name.clone();
    for call in std::mem::take(&mut page.calls) {
        let _ = page.console.bridge().listener_says(&call, &name, None);
    }
}
