//! Inbound calls, for the debtor simulator (a phone that rings): the
//! offer, the dialed number, and the choices a phone has: ring (with or
//! without early media), answer with an SDP answer, or reject with a code.

use super::call::{sdp_headers, ActiveCall};
use super::{SipAgent, SipError};
use crate::sdp::{self, AudioSession};
use huikuan_speech::audio::g711::Law;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::StatusCode;
use rsipstack::transaction::Transaction;
use std::net::SocketAddr;
use std::sync::Arc;
use tracing::debug;

pub struct IncomingCall {
    agent: Arc<SipAgent>,
    dialog: InviteDialog,
    states: DialogStateReceiver,
    /// The dialed number (user part of the Request-URI).
    pub number: String,
    /// The caller id as presented (user part of From).
    pub caller: String,
    /// The caller's offer, when it parsed.
    pub offer: Result<AudioSession, sdp::SdpError>,
    session_id: u64,
}

impl IncomingCall {
    pub(crate) fn accept_transaction(
        agent: &Arc<SipAgent>,
        mut tx: Transaction,
    ) -> Result<IncomingCall, SipError> {
        let (sender, states) = agent.dialogs.new_dialog_state_channel();
        let contact = agent.dialogs.build_local_contact(None, None).ok();
        let dialog = agent
            .dialogs
            .get_or_create_server_invite(&tx, sender, None, contact)?;
        let request = tx.original.clone();
        let number = request
            .uri
            .auth
            .as_ref()
            .map(|a| a.user.clone())
            .unwrap_or_default();
        let caller = request
            .from_header()
            .ok()
            .and_then(|f| f.uri().ok())
            .and_then(|u| u.auth.map(|a| a.user))
            .unwrap_or_default();
        let offer = sdp::parse(&request.body, None);
        let mut d = dialog.clone();
        tokio::spawn(async move {
            if let Err(e) = d.handle(&mut tx).await {
                debug!(error = %e, "inbound INVITE transaction ended with an error");
            }
        });
        Ok(IncomingCall {
            agent: agent.clone(),
            dialog,
            states,
            number,
            caller,
            offer,
            session_id: rand::random::<u32>() as u64,
        })
    }

    /// 180 Ringing, or 183 with `early_media_rtp` as our SDP answer.
    pub fn ring(&self, early_media_rtp: Option<SocketAddr>) -> Result<(), SipError> {
        let (headers, body) = match (early_media_rtp, &self.offer) {
            (Some(rtp), Ok(offer)) => (
                Some(sdp_headers()),
                Some(self.answer_sdp(rtp, offer).into_bytes()),
            ),
            _ => (None, None),
        };
        self.dialog.ringing(headers, body)?;
        Ok(())
    }

    fn answer_sdp(&self, rtp: SocketAddr, offer: &AudioSession) -> String {
        sdp::build(
            self.session_id,
            1,
            rtp,
            Some((offer.law, offer.dtmf_payload_type)),
            offer.direction.reversed(),
        )
    }

    pub fn reject(self, status: StatusCode) {
        if let Err(e) = self.dialog.reject(Some(status), None) {
            debug!(error = %e, "reject");
        }
        self.agent.dialogs.remove_dialog(&self.dialog.id());
    }

    /// Answers (200 with our SDP) and waits for the caller's ACK; None when
    /// the caller gave up first or the offer was unusable (488 sent).
    pub async fn answer(mut self, rtp: SocketAddr) -> Option<(ActiveCall, AudioSession)> {
        let offer = match &self.offer {
            Ok(o) => o.clone(),
            Err(e) => {
                debug!(error = %e, "offer unusable: 488");
                self.reject(StatusCode::NotAcceptableHere);
                return None;
            }
        };
        let answer = self.answer_sdp(rtp, &offer);
        if self
            .dialog
            .accept(Some(sdp_headers()), Some(answer.into_bytes()))
            .is_err()
        {
            self.agent.dialogs.remove_dialog(&self.dialog.id());
            return None;
        }
        loop {
            match self.states.recv().await {
                Some(DialogState::Confirmed(..)) => break,
                Some(DialogState::Terminated(..)) | None => {
                    self.agent.dialogs.remove_dialog(&self.dialog.id());
                    return None;
                }
                Some(_) => {}
            }
        }
        let law = offer.law;
        Some((
            ActiveCall {
                agent: self.agent.clone(),
                dialog: self.dialog.clone(),
                states: self.states,
                local_rtp: rtp,
                law,
                sdp_session: self.session_id,
                sdp_version: 1,
                ended: false,
            },
            offer,
        ))
    }

    /// Waits until the caller cancels (for a phone that never answers).
    pub async fn wait_cancelled(&mut self) {
        loop {
            match self.states.recv().await {
                Some(DialogState::Terminated(..)) | None => break,
                Some(_) => {}
            }
        }
        self.agent.dialogs.remove_dialog(&self.dialog.id());
    }

    pub fn law(&self) -> Option<Law> {
        self.offer.as_ref().ok().map(|o| o.law)
    }
}
