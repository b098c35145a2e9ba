//! What the console's live pages' WebSockets share (the agent desk's
//! `/agent/ws`, the supervisor's `/supervisor/ws`): the upgrade, and the
//! message protocol.
//!
//! A socket belongs to the session that opened it: the session cookie,
//! the page's CSRF token in the URL and the `Origin` of this host are
//! checked before the upgrade (browsers send no CSRF header on a
//! WebSocket, and other sites could otherwise open one with the cookie).
//! Messages are JSON objects with a `t` (type) about one `call` (or the
//! agent's standing line, [`WITHOUT_CALL`]); what a
//! page sends wrong is answered with an `error` message naming it.

use crate::error::ConsoleError;
use crate::session::CurrentUser;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{header, HeaderMap};
use serde::Deserialize;
use serde_json::{json, Value};

/// Largest message a page may send (an SDP offer is a few KiB).
const MAX_MESSAGE: usize = 128 * 1024;
/// The longest call id a page may name.
const MAX_CALL_ID: usize = 64;
/// Message types about the page's own line, not about a call.
const WITHOUT_CALL: &[&str] = &["standing_offer", "standing_close"];

#[derive(Deserialize)]
pub(super) struct SocketQuery {
    #[serde(default)]
    csrf: String,
}

/// The upgrade, if the socket is the session's own page: same origin,
/// with the session's CSRF token in the URL.
pub(super) fn checked(
    me: &CurrentUser,
    q: &SocketQuery,
    headers: &HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<WebSocketUpgrade, ConsoleError> {
    let header = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let host = header(header::HOST);
    let origin_host = header(header::ORIGIN).map(|o| o.split_once("://").map_or(o, |(_, h)| h));
    if origin_host.is_none() || origin_host != host {
        return Err(ConsoleError::Csrf("the socket's Origin is not this site"));
    }
    if !crate::csrf::same(&q.csrf, &me.session.csrf_token) {
        return Err(ConsoleError::Csrf("the socket's CSRF token is wrong"));
    }
    Ok(ws.max_message_size(MAX_MESSAGE))
}

/// Sends `v`; false once the page is gone.
pub(super) async fn send(socket: &mut WebSocket, v: Value) -> bool {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .is_ok()
}

/// Tells the page what of its message `what` was wrong.
pub(super) async fn send_error(
    socket: &mut WebSocket,
    what: &str,
    e: impl std::fmt::Display,
) -> bool {
    send(
        socket,
        json!({"t": "error", "what": what, "error": e.to_string()}),
    )
    .await
}

/// A page's message: its type, the call it is about, and the rest.
pub(super) struct PageMessage {
    pub t: String,
    pub call: String,
    pub body: Value,
}

/// Reads a page's message; a wrong one gives what was wrong (the message
/// or its type) and why.
pub(super) fn read(text: &str) -> Result<PageMessage, (String, &'static str)> {
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return Err(("message".into(), "not a JSON object"));
    };
    let t = body["t"].as_str().unwrap_or_default().to_string();
    let call = body["call"].as_str().unwrap_or_default().to_string();
    if (call.is_empty() && !WITHOUT_CALL.contains(&t.as_str())) || call.len() > MAX_CALL_ID {
        return Err((t, "call: required, at most 64 characters"));
    }
    Ok(PageMessage { t, call, body })
}
