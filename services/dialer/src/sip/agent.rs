//! One SIP user agent per process: the rsipstack endpoint on a UDP port,
//! its dialog layer, and the loop that routes every incoming request: new
//! INVITEs to the inbound handler (or 403 when this agent takes no calls),
//! in-dialog requests (BYE, re-INVITE, INFO, OPTIONS, CANCEL) to their
//! dialog, anything else answered with the right error. Nothing a peer
//! sends can stop the loop.

use super::inbound::IncomingCall;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::{Method, StatusCode};
use rsipstack::transaction::endpoint::Endpoint;
use rsipstack::transaction::Transaction;
use rsipstack::transport::{udp::UdpConnection, SipAddr, TransportLayer};
use rsipstack::EndpointBuilder;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("cannot bind SIP on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("SIP {0}")]
    Stack(String),
    #[error("trunk {trunk}: {field}: {reason}")]
    Config {
        trunk: String,
        field: &'static str,
        reason: String,
    },
}

impl From<rsipstack::Error> for SipError {
    fn from(e: rsipstack::Error) -> Self {
        SipError::Stack(e.to_string())
    }
}

pub struct SipAgent {
    endpoint: Endpoint,
    pub(crate) dialogs: Arc<DialogLayer>,
    cancel: CancellationToken,
    local: SocketAddr,
}

impl SipAgent {
    /// Binds UDP on `bind` and starts serving. With `inbound`, new INVITEs
    /// are handed over there (the simulator); without, they get 403.
    pub async fn start(
        bind: SocketAddr,
        user_agent: &str,
        inbound: Option<mpsc::Sender<IncomingCall>>,
    ) -> Result<Arc<SipAgent>, SipError> {
        let cancel = CancellationToken::new();
        let transport = TransportLayer::new(cancel.clone());
        let conn = UdpConnection::create_connection(bind, None, Some(cancel.child_token()))
            .await
            .map_err(|e| SipError::Bind {
                addr: bind,
                reason: e.to_string(),
            })?;
        transport.add_transport(conn.into());
        let endpoint = EndpointBuilder::new()
            .with_cancel_token(cancel.clone())
            .with_transport_layer(transport)
            .with_user_agent(user_agent)
            .build();
        let local = endpoint
            .get_addrs()
            .first()
            .and_then(|a: &SipAddr| a.get_socketaddr().ok())
            .unwrap_or(bind);
        let incoming = endpoint.incoming_transactions()?;
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        let agent = Arc::new(SipAgent {
            endpoint,
            dialogs,
            cancel,
            local,
        });
        let inner = agent.endpoint.inner.clone();
        tokio::spawn(async move {
            if let Err(e) = inner.serve().await {
                warn!(error = %e, "SIP endpoint stopped");
            }
        });
        tokio::spawn(route_incoming(agent.clone(), incoming, inbound));
        info!(%local, "SIP user agent listening (UDP)");
        Ok(agent)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Dialogs still in the agent's table (each call removes its own).
    pub fn open_dialogs(&self) -> usize {
        self.dialogs.len()
    }

    pub fn shutdown(&self) {
        self.cancel.cancel();
    }
}

impl Drop for SipAgent {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn route_incoming(
    agent: Arc<SipAgent>,
    mut incoming: rsipstack::transaction::TransactionReceiver,
    inbound: Option<mpsc::Sender<IncomingCall>>,
) {
    while let Some(mut tx) = incoming.recv().await {
        let method = tx.original.method;
        debug!(%method, "incoming SIP request");
        if body_cut_short(&tx) {
            // RFC 3261 18.3: a datagram whose body is shorter than its
            // Content-Length is malformed, whatever it carries.
            if method != Method::Ack {
                reply(tx, StatusCode::BadRequest);
            }
            continue;
        }
        if let Some(mut dialog) = agent.dialogs.match_dialog(&tx) {
            tokio::spawn(async move {
                if let Err(e) = dialog.handle(&mut tx).await {
                    debug!(error = %e, "in-dialog request ended with an error");
                }
            });
            continue;
        }
        match method {
            Method::Invite if has_to_tag(&tx) => reply(tx, StatusCode::CallTransactionDoesNotExist),
            Method::Invite => match &inbound {
                Some(sender) => match IncomingCall::accept_transaction(&agent, tx) {
                    Ok(call) => {
                        if let Err(mpsc::error::SendError(call)) = sender.send(call).await {
                            call.reject(StatusCode::TemporarilyUnavailable);
                        }
                    }
                    Err(e) => debug!(error = %e, "INVITE could not start a dialog"),
                },
                None => reply(tx, StatusCode::Forbidden),
            },
            Method::Options => reply(tx, StatusCode::OK),
            Method::Ack => {}
            Method::Bye | Method::Cancel | Method::Info | Method::Update | Method::Notify => {
                reply(tx, StatusCode::CallTransactionDoesNotExist)
            }
            _ => reply(tx, StatusCode::MethodNotAllowed),
        }
    }
}

/// Whether the request's Content-Length promises more body than arrived.
fn body_cut_short(tx: &Transaction) -> bool {
    tx.original.headers.iter().any(|h| match h {
        rsipstack::sip::Header::ContentLength(len) => len
            .value()
            .trim()
            .parse::<usize>()
            .map_or(true, |len| len > tx.original.body.len()),
        _ => false,
    })
}

fn has_to_tag(tx: &Transaction) -> bool {
    rsipstack::dialog::DialogId::try_from(tx).is_ok_and(|id| !id.local_tag.is_empty())
}

fn reply(mut tx: Transaction, status: StatusCode) {
    tokio::spawn(async move {
        if let Err(e) = tx.reply(status).await {
            debug!(error = %e, "reply failed");
        }
    });
}
