//! An established call, either direction: the in-dialog events the call
//! logic cares about (the peer hung up, put us on hold or moved its media,
//! sent DTMF by SIP INFO), answered as the protocol requires, and hanging
//! up. The dialog leaves the agent's table when the call ends.

use super::SipAgent;
use crate::sdp::{self, AudioSession};
use huikuan_speech::audio::g711::Law;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver, TerminatedReason};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;
use tracing::debug;

#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    /// The peer ended the call (BYE, or CANCEL before answer).
    Ended { by_peer: bool, reason: String },
    /// A re-INVITE or UPDATE changed the peer's media (hold, resume, move).
    MediaChanged(AudioSession),
    /// A key sent as SIP INFO (application/dtmf-relay).
    Dtmf(char),
}

pub struct ActiveCall {
    pub(crate) agent: Arc<SipAgent>,
    pub(crate) dialog: InviteDialog,
    pub(crate) states: DialogStateReceiver,
    pub(crate) local_rtp: SocketAddr,
    pub(crate) law: Law,
    pub(crate) sdp_session: u64,
    pub(crate) sdp_version: u64,
    pub(crate) ended: bool,
}

pub(crate) fn sdp_headers() -> Vec<Header> {
    vec![Header::ContentType("application/sdp".into())]
}

fn describe(reason: &TerminatedReason) -> (bool, String) {
    match reason {
        TerminatedReason::UasBye => (true, "peer hung up".into()),
        TerminatedReason::UacBye => (true, "peer hung up".into()),
        TerminatedReason::UacCancel => (true, "caller cancelled".into()),
        TerminatedReason::Timeout => (false, "SIP timeout".into()),
        other => (false, format!("{other:?}")),
    }
}

impl ActiveCall {
    pub fn call_id(&self) -> String {
        self.dialog.id().call_id
    }

    /// The next in-dialog event; `Ended` once (then it keeps returning it).
    pub async fn next_event(&mut self) -> CallEvent {
        if self.ended {
            return CallEvent::Ended {
                by_peer: false,
                reason: "call already ended".into(),
            };
        }
        loop {
            let Some(state) = self.states.recv().await else {
                return self.finish(false, "dialog closed".into());
            };
            match state {
                DialogState::Terminated(_, reason) => {
                    let (by_peer, reason) = describe(&reason);
                    return self.finish(by_peer, reason);
                }
                DialogState::Updated(_, req, handle) => {
                    if req.body.is_empty() {
                        let _ = handle.reply(StatusCode::OK).await;
                        continue;
                    }
                    match sdp::parse(&req.body, Some(self.law)) {
                        Ok(remote) => {
                            self.sdp_version += 1;
                            let answer = sdp::build(
                                self.sdp_session,
                                self.sdp_version,
                                self.local_rtp,
                                Some((remote.law, remote.dtmf_payload_type)),
                                remote.direction.reversed(),
                            );
                            let _ = handle
                                .respond(
                                    StatusCode::OK,
                                    Some(sdp_headers()),
                                    Some(answer.into_bytes()),
                                )
                                .await;
                            return CallEvent::MediaChanged(remote);
                        }
                        Err(e) => {
                            debug!(error = %e, method = %req.method, "re-offer not acceptable");
                            let _ = handle.reply(StatusCode::NotAcceptableHere).await;
                        }
                    }
                }
                DialogState::Info(_, req, handle) => {
                    let _ = handle.reply(StatusCode::OK).await;
                    if let Some(key) = dtmf_relay_key(&req.body) {
                        return CallEvent::Dtmf(key);
                    }
                }
                DialogState::Options(_, _, handle)
                | DialogState::Message(_, _, handle)
                | DialogState::Notify(_, _, handle) => {
                    let _ = handle.reply(StatusCode::OK).await;
                }
                DialogState::Refer(_, req, handle) => {
                    debug!(method = %req.method, "transfer requests are declined");
                    let _ = handle.reply(StatusCode::Decline).await;
                }
                DialogState::Publish(_, _, handle) => {
                    let _ = handle.reply(StatusCode::MethodNotAllowed).await;
                }
                _ => {}
            }
        }
    }

    fn finish(&mut self, by_peer: bool, reason: String) -> CallEvent {
        self.ended = true;
        self.agent.dialogs.remove_dialog(&self.dialog.id());
        CallEvent::Ended { by_peer, reason }
    }

    /// Ends the call from our side (BYE).
    pub async fn hangup(&mut self) {
        if self.ended {
            return;
        }
        if let Err(e) = self.dialog.hangup().await {
            debug!(error = %e, "hangup");
        }
        self.ended = true;
        self.agent.dialogs.remove_dialog(&self.dialog.id());
    }

    /// Puts the peer on hold (`SendOnly`) or resumes (`SendRecv`) with a
    /// re-INVITE; returns the peer's answer.
    pub async fn reoffer(&mut self, direction: crate::sdp::Direction) -> Option<AudioSession> {
        self.sdp_version += 1;
        let offer = sdp::build(
            self.sdp_session,
            self.sdp_version,
            self.local_rtp,
            Some((self.law, Some(sdp::DTMF_PAYLOAD_TYPE))),
            direction,
        );
        match self
            .dialog
            .reinvite(Some(sdp_headers()), Some(offer.into_bytes()))
            .await
        {
            Ok(Some(resp)) if resp.status_code.code() / 100 == 2 => {
                sdp::parse(&resp.body, Some(self.law)).ok()
            }
            Ok(_) => None,
            Err(e) => {
                debug!(error = %e, "re-INVITE");
                None
            }
        }
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }
}

/// An established call driven by its own task: in-dialog events arrive on
/// `events`; dropping `hangup` (or sending on it) ends the call with BYE.
pub struct CallControl {
    pub events: tokio::sync::mpsc::Receiver<CallEvent>,
    pub hangup: tokio::sync::oneshot::Sender<()>,
}

impl ActiveCall {
    /// Hands the call to a task that answers in-dialog requests at once
    /// (a re-INVITE is never left waiting on the call logic).
    pub fn spawn(mut self) -> CallControl {
        let (tx, events) = tokio::sync::mpsc::channel(16);
        let (hangup, mut hangup_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut hangup_rx => {
                        self.hangup().await;
                        return;
                    }
                    e = self.next_event() => {
                        let ended = matches!(e, CallEvent::Ended { .. });
                        let _ = tx.send(e).await;
                        if ended {
                            return;
                        }
                    }
                }
            }
        });
        CallControl { events, hangup }
    }
}

impl Drop for ActiveCall {
    fn drop(&mut self) {
        if !self.ended {
            let dialog = self.dialog.clone();
            let agent = self.agent.clone();
            tokio::spawn(async move {
                let _ = dialog.hangup().await;
                agent.dialogs.remove_dialog(&dialog.id());
            });
        }
    }
}

/// `Signal=5` (or `Signal= #`) from an application/dtmf-relay INFO body.
fn dtmf_relay_key(body: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(body).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("signal") {
            return None;
        }
        let c = v.trim().chars().next()?;
        crate::media::dtmf::event_of(c).map(|_| c.to_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn dtmf_relay_bodies() {
        assert_eq!(
            super::dtmf_relay_key(b"Signal=5\r\nDuration=160\r\n"),
            Some('5')
        );
        assert_eq!(super::dtmf_relay_key(b"signal= #\r\n"), Some('#'));
        assert_eq!(super::dtmf_relay_key(b"Signal=x\r\n"), None);
        assert_eq!(super::dtmf_relay_key(&[0xff, 0xfe]), None);
    }
}
