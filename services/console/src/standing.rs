//! Agents' standing lines: the audio of auto-answer.
//!
//! Problem: an agent who answers automatically should hear the debtor the
//! moment the call is accepted, but joining the browser to the call's
//! dialer by WebRTC at that moment costs ICE and DTLS set-up (hundreds of
//! milliseconds idle, seconds on a loaded machine).
//!
//! Mechanism: while auto-answer is on, the agent's page keeps one PCMU
//! peer connection with the console ([`StandingLines::open`]), across
//! calls. A call accepted on it is attached ([`StandingLines::attach`])
//! and its dialer told `Relayed`: the debtor's payloads then arrive on the
//! call's `Handoff` stream and go out on this connection ([`to_agent`]),
//! renumbered into the line's own RTP sequence (the browser hears one
//! stream across calls), and the agent's payloads go to the attached call
//! as `ToCall::AgentVoice`. Between calls the agent's packets are dropped
//! and nothing is sent.
//!
//! Guarantees: at most one standing line per agent (a new offer replaces
//! the old one); voice never waits behind a slow side (it is dropped, and
//! takes at most half of a call's message queue, so a hang-up always
//! fits); a line whose connection failed leaves the map. A call whose
//! standing line goes away is left held by its dialer, as after a page
//! reload: the page joins it directly with an offer
//! ([`StandingLines::detach`] on that offer).
//!
//! [`to_agent`]: StandingLines::to_agent

use bytes::Bytes;
use huikuan_core::handoff::ToCall;
use huikuan_webrtc_leg::{AgentLeg, AgentLegConfig, AgentLegError, RTCPeerConnectionState};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// Debtor payloads waiting for the browser (200 ms) before more are
/// dropped.
const TO_BROWSER: usize = 10;

/// The call a standing line carries.
struct Attached {
    call: String,
    to_call: mpsc::Sender<ToCall>,
}

type Slot = Arc<Mutex<Option<Attached>>>;

struct Line {
    id: u64,
    to_browser: mpsc::Sender<Vec<u8>>,
    state: tokio::sync::watch::Receiver<RTCPeerConnectionState>,
    attached: Slot,
}

/// Every agent's standing line.
pub struct StandingLines {
    lines: Arc<Mutex<HashMap<String, Line>>>,
    config: AgentLegConfig,
    next_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends voice to a call only while its queue is at most half full.
fn voice_fits(to: &mpsc::Sender<ToCall>) -> bool {
    to.capacity() > to.max_capacity() / 2
}

impl StandingLines {
    /// `config`: how browsers reach the console (loopback candidates for a
    /// console serving its own host).
    pub fn new(config: AgentLegConfig) -> StandingLines {
        StandingLines {
            lines: Arc::default(),
            config,
            next_id: AtomicU64::new(1),
        }
    }

    /// Answers `agent`'s offer of a standing line (replacing any they
    /// had); returns the answer for the page.
    pub async fn open(&self, agent: &str, offer: &str) -> Result<String, AgentLegError> {
        let (leg, answer) = AgentLeg::answer(offer, &self.config).await?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (to_browser, from_call) = mpsc::channel(TO_BROWSER);
        let attached = Slot::default();
        let line = Line {
            id,
            to_browser,
            state: leg.state(),
            attached: attached.clone(),
        };
        if let Some(old) = lock(&self.lines).insert(agent.to_string(), line) {
            tracing::debug!(agent, line = old.id, "a standing line replaced");
        }
        let lines = self.lines.clone();
        let agent = agent.to_string();
        tokio::spawn(async move {
            carry(leg, from_call, attached).await;
            let mut lines = lock(&lines);
            if lines.get(&agent).is_some_and(|l| l.id == id) {
                lines.remove(&agent);
            }
            tracing::info!(%agent, "standing line closed");
        });
        Ok(answer)
    }

    /// Closes `agent`'s standing line (auto-answer turned off).
    pub fn close(&self, agent: &str) {
        // Dropping the line's sender ends its task, which closes the
        // connection.
        lock(&self.lines).remove(agent);
    }

    /// True when `agent` has a standing line that is up.
    pub fn is_up(&self, agent: &str) -> bool {
        lock(&self.lines)
            .get(agent)
            .is_some_and(|l| *l.state.borrow() == RTCPeerConnectionState::Connected)
    }

    /// Carries `call` on `agent`'s standing line, if it is up; false
    /// otherwise (the page joins the call directly).
    pub fn attach(&self, agent: &str, call: &str, to_call: mpsc::Sender<ToCall>) -> bool {
        let lines = lock(&self.lines);
        let Some(line) = lines.get(agent) else {
            return false;
        };
        if *line.state.borrow() != RTCPeerConnectionState::Connected {
            return false;
        }
        *lock(&line.attached) = Some(Attached {
            call: call.to_string(),
            to_call,
        });
        true
    }

    /// `call` no longer goes over `agent`'s standing line (it ended, or
    /// the page joined it directly).
    pub fn detach(&self, agent: &str, call: &str) {
        if let Some(line) = lock(&self.lines).get(agent) {
            let mut slot = lock(&line.attached);
            if slot.as_ref().is_some_and(|a| a.call == call) {
                *slot = None;
            }
        }
    }

    /// The debtor's voice on `call` to `agent`, if the call is on their
    /// standing line; dropped when the browser is behind.
    pub fn to_agent(&self, agent: &str, call: &str, payload: Vec<u8>) {
        let lines = lock(&self.lines);
        let Some(line) = lines.get(agent) else {
            return;
        };
        if lock(&line.attached)
            .as_ref()
            .is_some_and(|a| a.call == call)
        {
            let _ = line.to_browser.try_send(payload);
        }
    }
}

/// Moves one standing line's packets until it is closed, replaced or its
/// connection fails.
async fn carry(mut leg: AgentLeg, mut from_call: mpsc::Receiver<Vec<u8>>, attached: Slot) {
    let mut state = leg.state();
    let (mut seq, mut ts): (u16, u32) = (rand::random(), rand::random());
    loop {
        tokio::select! {
            p = leg.recv() => match p {
                Some(p) => {
                    let slot = lock(&attached);
                    if let Some(a) = slot.as_ref() {
                        if voice_fits(&a.to_call) {
                            let _ = a.to_call.try_send(ToCall::AgentVoice(p.payload.to_vec()));
                        }
                    }
                }
                None => break,
            },
            v = from_call.recv() => match v {
                Some(v) => {
                    seq = seq.wrapping_add(1);
                    ts = ts.wrapping_add(v.len() as u32);
                    if let Err(e) = leg.send_payload(seq, ts, Bytes::from(v)).await {
                        tracing::debug!(error = %e, "a frame on a standing line was lost");
                    }
                }
                None => break,
            },
            changed = state.changed() => {
                let now = *state.borrow_and_update();
                if changed.is_err()
                    || matches!(now, RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed)
                {
                    break;
                }
            }
        }
    }
    leg.close().await;
}
