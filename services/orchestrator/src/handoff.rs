//! The `Handoff` stream: a call the robot hands to a person, carried
//! between the dialer that holds it and the agent desk.
//!
//! The orchestrator does not route calls to agents itself: an
//! [`AgentDesk`] does (the console's ACD, joined to this crate by the
//! composition root, so neither crate depends on the other). This module
//! checks the opening message (the attempt's lease belongs to the caller),
//! queues the call at the desk, and relays the messages both ways as
//! `huikuan_core::handoff` values. When the dialer's stream breaks, the
//! desk hears that the call ended; when the desk drops the call, the
//! stream ends.

use crate::agent_dials::AgentDials;
use crate::convert::{invalid, status};
use crate::pb::{self, handoff_up};
use huikuan_core::handoff::{FromCall, QueuedCall, ToCall};
use huikuan_proto::handoff::{from_call_from_pb, queued_from_pb, to_call_to_pb};
use huikuan_store::Store;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::{Status, Streaming};

/// A queued call's two directions at the desk.
pub struct DeskLine {
    /// What the call tells the desk.
    pub to_desk: mpsc::Sender<FromCall>,
    /// What the desk asks of the call; the desk closes it when it is done
    /// with the call (after the outcome, or a give-up).
    pub from_desk: mpsc::Receiver<ToCall>,
}

/// Where handed-over calls wait for agents.
pub trait AgentDesk: Send + Sync + 'static {
    /// Queues a call; its messages flow on the returned line.
    fn queue(&self, call: QueuedCall) -> DeskLine;

    /// Calls of each dialect the desk could give an agent at once now
    /// (free agents who speak it, less calls already waiting): what
    /// planned agent calls are leased against. None by default.
    fn room(&self) -> huikuan_store::AgentRoom {
        huikuan_store::AgentRoom::new()
    }
}

pub type SharedDesk = Arc<dyn AgentDesk>;

pub type HandoffStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::HandoffDown, Status>> + Send>>;

/// Serves one `Handoff` stream.
pub async fn serve(
    store: &Store,
    desk: Option<&SharedDesk>,
    dials: &AgentDials,
    mut up: Streaming<pb::HandoffUp>,
) -> Result<HandoffStream, Status> {
    let desk = desk.ok_or_else(|| {
        Status::unavailable("no agent desk runs with this orchestrator: handoffs cannot be queued")
    })?;
    let first = up
        .message()
        .await?
        .ok_or_else(|| invalid("start", "the stream ended before its first message"))?;
    let Some(handoff_up::Kind::Start(start)) = first.kind else {
        return Err(invalid("start", "the first message must be start"));
    };
    let (attempt, worker, token) = (
        start.attempt_id.clone(),
        start.worker_id.clone(),
        start.lease_token,
    );
    crate::report::check_worker_id(&worker)?;
    let call = queued_from_pb(start).map_err(|e| invalid(&e.field, e.reason))?;
    let holds = store
        .holds_lease(&attempt, &worker, token, chrono::Utc::now())
        .await
        .map_err(status)?;
    if !holds {
        return Err(Status::failed_precondition(format!(
            "start: worker {worker} holds no live lease {token} on attempt {attempt}"
        )));
    }
    dials.arrived(&attempt);
    tracing::info!(%attempt, dialect = %call.dialect, reason = %call.reason, "handoff queued");
    let DeskLine { to_desk, from_desk } = desk.queue(call);
    tokio::spawn(async move {
        let mut ended = false;
        loop {
            match up.message().await {
                Ok(Some(m)) => match from_call_from_pb(m) {
                    // Voice is dropped rather than queued when the desk
                    // is behind (a late packet is worth nothing).
                    Ok(m @ FromCall::DebtorVoice(_)) => {
                        if let Err(mpsc::error::TrySendError::Closed(_)) = to_desk.try_send(m) {
                            return;
                        }
                    }
                    Ok(m) => {
                        ended |= matches!(m, FromCall::Ended { .. });
                        if to_desk.send(m).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!(%attempt, error = %e, "handoff message refused"),
                },
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%attempt, error = %e, "handoff stream broke");
                    break;
                }
            }
        }
        if !ended {
            // The dialer went away without saying: the call is gone.
            let _ = to_desk.send(FromCall::Ended { by_debtor: false }).await;
        }
    });
    let down = ReceiverStream::new(from_desk).map(|m| Ok(to_call_to_pb(&m)));
    Ok(Box::pin(down))
}
