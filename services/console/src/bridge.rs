//! The calls handed over to people, from queue to filed outcome: the
//! console's side of the bridge.
//!
//! Problem: a handed-over call lives in a dialer (which holds the debtor's
//! line and the agent's WebRTC leg); the console decides who takes it
//! (the [`crate::acd`]) and carries the agent's browser's signalling. Both
//! sides come and go: the debtor hangs up, the agent's page reloads, the
//! dialer's stream breaks.
//!
//! Mechanism: each call is a [`LiveCall`] in a map, joined to its dialer
//! by the two channels of [`Bridge::queue`] (the orchestrator's `Handoff`
//! stream on the other end). What the call says (transcript lines, the
//! answer to an offer, its end) is kept and published as [`News`]; what
//! the agent does goes to the call as a [`ToCall`]. The ACD's routing
//! steps come in through [`Bridge::on_step`] (a give-up tells the dialer
//! to promise a callback). A call accepted on the agent's standing line
//! (auto-answer) has its voices carried by [`crate::standing`].
//!
//! Guarantees: a call leaves the map exactly once: abandoned while
//! queued, given up, or after its agent's wrap-up (filed or timed out);
//! only the agent who accepted a call may signal for it, hold it, hang
//! it up or file its outcome; the full phone number goes only to that
//! agent.

use crate::acd::{Step, Waiting};
use crate::floor::Floor;
use crate::live_quality::{LiveFlag, LiveInspector, KEPT_PER_CALL};
use crate::standing::StandingLines;
use chrono::{Duration, NaiveDateTime, Timelike, Utc};
use huikuan_core::call::TranscriptLine;
use huikuan_core::handoff::{AgentOutcome, FromCall, QueuedCall, ToCall};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use tokio::sync::{broadcast, mpsc};

/// Messages a call may have waiting for the console before it reads them.
const CHANNEL: usize = 256;

/// A handed-over call as the console keeps it.
#[derive(Debug, Clone)]
pub struct LiveCall {
    pub call: QueuedCall,
    pub queued_at_ms: i64,
    /// The agent who accepted it.
    pub agent: Option<String>,
    pub accepted_at_ms: Option<i64>,
    /// The dialer's latest answer to the agent's offer.
    pub answer_sdp: Option<String>,
    /// The debtor's line ended (true: the debtor hung up).
    pub ended: Option<bool>,
    /// Supervisors listening in.
    pub listeners: Vec<String>,
    /// Quality flags its words raised so far ([`crate::live_quality`]).
    pub quality_flags: Vec<LiveFlag>,
    to_call: mpsc::Sender<ToCall>,
}

/// What happened to a call, for the pages that show it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum News {
    Line {
        call: String,
        line: TranscriptLine,
    },
    Answer {
        call: String,
        sdp: String,
    },
    LegFailed {
        call: String,
        why: String,
    },
    Ended {
        call: String,
        by_debtor: bool,
    },
    ListenAnswer {
        call: String,
        supervisor: String,
        sdp: String,
    },
    ListenFailed {
        call: String,
        supervisor: String,
        why: String,
    },
    /// The live check flagged the call's words (for supervisors).
    QualityFlag {
        call: String,
        flag: LiveFlag,
    },
}

impl News {
    pub fn call(&self) -> &str {
        match self {
            News::Line { call, .. }
            | News::Answer { call, .. }
            | News::LegFailed { call, .. }
            | News::Ended { call, .. }
            | News::ListenAnswer { call, .. }
            | News::ListenFailed { call, .. }
            | News::QualityFlag { call, .. } => call,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BridgeError {
    #[error("no such call (it ended or was filed)")]
    NoCall,
    #[error("this call is not yours")]
    NotYours,
    #[error("the call's dialer is gone")]
    DialerGone,
    #[error("only a call an agent is on can be listened to")]
    NotBridged,
    #[error("you are not listening to this call")]
    NotListening,
}

/// The live calls.
#[derive(Clone)]
pub struct Bridge {
    inner: Arc<BridgeInner>,
}

struct BridgeInner {
    calls: Mutex<HashMap<String, LiveCall>>,
    news: broadcast::Sender<News>,
    floor: Arc<Floor>,
    /// A call nobody took is called back this many minutes later.
    callback_after_minutes: i64,
    standing: StandingLines,
    /// Checks human calls' words as they are said, when set.
    live_quality: OnceLock<Arc<dyn LiveInspector>>,
}

impl Bridge {
    pub fn new(floor: Arc<Floor>, callback_after_minutes: i64, standing: StandingLines) -> Bridge {
        Bridge {
            inner: Arc::new(BridgeInner {
                calls: Mutex::new(HashMap::new()),
                news: broadcast::channel(1024).0,
                floor,
                callback_after_minutes,
                standing,
                live_quality: OnceLock::new(),
            }),
        }
    }

    /// Checks every call queued from now on with `inspector` while it
    /// is on. Set once; a second inspector is refused (false).
    pub fn inspect_live(&self, inspector: Arc<dyn LiveInspector>) -> bool {
        self.inner.live_quality.set(inspector).is_ok()
    }

    /// The agents' standing lines.
    pub fn standing(&self) -> &StandingLines {
        &self.inner.standing
    }

    fn calls(&self) -> MutexGuard<'_, HashMap<String, LiveCall>> {
        self.inner.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// News of every call.
    pub fn subscribe(&self) -> broadcast::Receiver<News> {
        self.inner.news.subscribe()
    }

    pub fn get(&self, call: &str) -> Option<LiveCall> {
        self.calls().get(call).cloned()
    }

    /// The call this agent accepted and has not filed yet.
    pub fn of_agent(&self, agent: &str) -> Option<LiveCall> {
        self.calls()
            .values()
            .find(|c| c.agent.as_deref() == Some(agent))
            .cloned()
    }

    /// Every live call.
    pub fn all(&self) -> Vec<LiveCall> {
        let mut v: Vec<LiveCall> = self.calls().values().cloned().collect();
        v.sort_by_key(|c| c.queued_at_ms);
        v
    }

    /// Queues a handed-over call at the ACD; returns its two directions.
    pub fn queue(&self, call: QueuedCall) -> (mpsc::Sender<FromCall>, mpsc::Receiver<ToCall>) {
        let (to_desk, mut from_call) = mpsc::channel::<FromCall>(CHANNEL);
        let (to_call, from_desk) = mpsc::channel::<ToCall>(CHANNEL);
        let id = call.call_id.clone();
        let now = crate::now_ms();
        let waiting = Waiting {
            call: id.clone(),
            dialect: call.dialect,
            queued_at_ms: now,
        };
        let mut live = self.inner.live_quality.get().map(|i| i.start(&call));
        self.calls().insert(
            id.clone(),
            LiveCall {
                call,
                queued_at_ms: now,
                agent: None,
                accepted_at_ms: None,
                answer_sdp: None,
                ended: None,
                listeners: Vec::new(),
                quality_flags: Vec::new(),
                to_call,
            },
        );
        self.inner.floor.apply(|acd, now| acd.enqueue(waiting, now));
        let bridge = self.clone();
        tokio::spawn(async move {
            while let Some(m) = from_call.recv().await {
                let flags = match (&m, live.as_mut()) {
                    (FromCall::Line(line), Some(check)) => check.hear(line),
                    _ => Vec::new(),
                };
                bridge.heard_from_call(&id, m);
                for flag in flags {
                    bridge.flagged(&id, flag);
                }
            }
            // The dialer is gone: the call ended if it had not said so.
            bridge.heard_from_call(&id, FromCall::Ended { by_debtor: false });
        });
        (to_desk, from_desk)
    }

    fn publish(&self, news: News) {
        let _ = self.inner.news.send(news);
    }

    fn flagged(&self, id: &str, mut flag: LiveFlag) {
        flag.raised_at_ms = crate::now_ms();
        tracing::warn!(call = %id, kind = %flag.kind, rule = %flag.rule, evidence = %flag.evidence, "live quality flag");
        if let Some(c) = self.calls().get_mut(id) {
            if c.quality_flags.len() >= KEPT_PER_CALL {
                c.quality_flags.remove(0);
            }
            c.quality_flags.push(flag.clone());
        }
        self.publish(News::QualityFlag {
            call: id.to_string(),
            flag,
        });
    }

    fn heard_from_call(&self, id: &str, m: FromCall) {
        match m {
            FromCall::DebtorVoice(payload) => {
                let agent = self.calls().get(id).and_then(|c| c.agent.clone());
                if let Some(agent) = agent {
                    self.inner.standing.to_agent(&agent, id, payload);
                }
            }
            FromCall::Line(line) => {
                if let Some(c) = self.calls().get_mut(id) {
                    c.call.transcript.push(line.clone());
                }
                self.publish(News::Line {
                    call: id.to_string(),
                    line,
                });
            }
            FromCall::Answer { sdp } => {
                if let Some(c) = self.calls().get_mut(id) {
                    c.answer_sdp = Some(sdp.clone());
                }
                self.publish(News::Answer {
                    call: id.to_string(),
                    sdp,
                });
            }
            FromCall::AgentLegFailed { why } => self.publish(News::LegFailed {
                call: id.to_string(),
                why,
            }),
            FromCall::ListenAnswer { supervisor, sdp } => self.publish(News::ListenAnswer {
                call: id.to_string(),
                supervisor,
                sdp,
            }),
            FromCall::ListenFailed { supervisor, why } => {
                if let Some(c) = self.calls().get_mut(id) {
                    c.listeners.retain(|s| *s != supervisor);
                }
                self.publish(News::ListenFailed {
                    call: id.to_string(),
                    supervisor,
                    why,
                })
            }
            FromCall::Ended { by_debtor } => {
                let agent = {
                    let mut calls = self.calls();
                    let Some(c) = calls.get_mut(id) else { return };
                    if c.ended.is_some() {
                        return;
                    }
                    c.ended = Some(by_debtor);
                    let agent = c.agent.clone();
                    if agent.is_none() {
                        // Still queued: gone before anyone took it.
                        calls.remove(id);
                    }
                    agent
                };
                match &agent {
                    None => self.inner.floor.apply(|acd, now| acd.abandon(id, now)),
                    Some(a) => {
                        self.inner.standing.detach(a, id);
                        self.inner.floor.apply(|acd, now| {
                            acd.end_call(a, now);
                            Vec::new()
                        })
                    }
                }
                self.publish(News::Ended {
                    call: id.to_string(),
                    by_debtor,
                });
            }
        }
    }

    /// Carries out a routing step of the ACD that concerns calls.
    pub fn on_step(&self, step: &Step) {
        if let Step::GiveUp { call } = step {
            let Some(c) = self.calls().remove(call) else {
                return;
            };
            let at = callback_time(&c.call, Utc::now(), self.inner.callback_after_minutes);
            tracing::info!(call = %call, callback = %at, "nobody took the call: callback promised");
            let _ = c.to_call.try_send(ToCall::GiveUp { callback_time: at });
        }
    }

    /// `agent` accepted the call (the ACD already agreed).
    pub fn accepted(&self, call: &str, agent: &str) -> Result<LiveCall, BridgeError> {
        let mut calls = self.calls();
        let c = calls.get_mut(call).ok_or(BridgeError::NoCall)?;
        c.agent = Some(agent.to_string());
        c.accepted_at_ms = Some(crate::now_ms());
        c.to_call
            .try_send(ToCall::Accepted {
                agent: agent.to_string(),
            })
            .map_err(|_| BridgeError::DialerGone)?;
        Ok(c.clone())
    }

    /// Carries the call's audio on `agent`'s standing line, if it is up
    /// and `agent` took the call: the dialer is told `Relayed`. False
    /// when the page must join the call directly.
    pub fn relay(&self, call: &str, agent: &str) -> bool {
        let calls = self.calls();
        let Some(c) = calls.get(call) else {
            return false;
        };
        if c.agent.as_deref() != Some(agent) || c.ended.is_some() {
            return false;
        }
        if !self.inner.standing.attach(agent, call, c.to_call.clone()) {
            return false;
        }
        if c.to_call.try_send(ToCall::Relayed).is_err() {
            self.inner.standing.detach(agent, call);
            return false;
        }
        true
    }

    /// Sends `m` to the call, if `agent` is the one who took it.
    pub fn send(&self, call: &str, agent: &str, m: ToCall) -> Result<(), BridgeError> {
        let calls = self.calls();
        let c = calls.get(call).ok_or(BridgeError::NoCall)?;
        if c.agent.as_deref() != Some(agent) {
            return Err(BridgeError::NotYours);
        }
        c.to_call.try_send(m).map_err(|_| BridgeError::DialerGone)
    }

    /// `supervisor` listens in on a call an agent is on (their browser's
    /// offer goes to the call).
    pub fn listen(&self, call: &str, supervisor: &str, sdp: String) -> Result<(), BridgeError> {
        let mut calls = self.calls();
        let c = calls.get_mut(call).ok_or(BridgeError::NoCall)?;
        if c.agent.is_none() || c.ended.is_some() {
            return Err(BridgeError::NotBridged);
        }
        c.to_call
            .try_send(ToCall::Listen {
                supervisor: supervisor.to_string(),
                sdp,
            })
            .map_err(|_| BridgeError::DialerGone)?;
        if !c.listeners.iter().any(|s| s == supervisor) {
            c.listeners.push(supervisor.to_string());
        }
        Ok(())
    }

    /// Whispering to the agent on (true) or off, or (`None`) no longer
    /// listening; only for a supervisor listening to the call.
    pub fn listener_says(
        &self,
        call: &str,
        supervisor: &str,
        whisper: Option<bool>,
    ) -> Result<(), BridgeError> {
        let mut calls = self.calls();
        let c = calls.get_mut(call).ok_or(BridgeError::NoCall)?;
        if !c.listeners.iter().any(|s| s == supervisor) {
            return Err(BridgeError::NotListening);
        }
        let supervisor = supervisor.to_string();
        let m = match whisper {
            Some(on) => ToCall::Whisper { supervisor, on },
            None => {
                c.listeners.retain(|s| *s != supervisor);
                ToCall::StopListening { supervisor }
            }
        };
        c.to_call.try_send(m).map_err(|_| BridgeError::DialerGone)
    }

    /// Files the agent's outcome: the call goes to its dialer to report
    /// and leaves the console.
    pub fn file(&self, call: &str, outcome: AgentOutcome) -> Result<LiveCall, BridgeError> {
        let mut calls = self.calls();
        let c = calls.get(call).ok_or(BridgeError::NoCall)?;
        if c.agent.as_deref() != Some(outcome.agent.as_str()) {
            return Err(BridgeError::NotYours);
        }
        let c = calls.remove(call).ok_or(BridgeError::NoCall)?;
        // A dialer that is gone has already reported the call.
        let _ = c.to_call.try_send(ToCall::Outcome(outcome));
        Ok(c)
    }

    /// An agent's wrap-up time ran out without an outcome: the dialer
    /// reports the call as handed to an agent.
    pub fn drop_unfiled(&self, agent: &str) -> Option<LiveCall> {
        let mut calls = self.calls();
        let id = calls
            .iter()
            .find(|(_, c)| c.agent.as_deref() == Some(agent) && c.ended.is_some())
            .map(|(id, _)| id.clone())?;
        calls.remove(&id)
    }
}

/// When to call back a call nobody took: `after` minutes from `now` in
/// the debtor's time zone, rounded up to the next ten minutes.
pub fn callback_time(call: &QueuedCall, now: chrono::DateTime<Utc>, after: i64) -> NaiveDateTime {
    let tz: chrono_tz::Tz = call.time_zone.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let local = (now + Duration::minutes(after))
        .with_timezone(&tz)
        .naive_local();
    let local = local
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(local);
    let extra = (10 - i64::from(local.minute() % 10)) % 10;
    local + Duration::minutes(extra)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::AcdRules;
    use crate::floor::AgentState;
    use huikuan_core::call::Speaker;
    use huikuan_core::staff::Skills;
    use huikuan_core::{Dialect, Disposition};

    fn call(id: &str, dialect: Dialect) -> QueuedCall {
        QueuedCall {
            call_id: id.into(),
            account_id: "ACC".into(),
            debtor_name: "张伟".into(),
            phone: "+8613800000007".into(),
            time_zone: "Asia/Shanghai".into(),
            dialect,
            overdue_amount: "3250.50".into(),
            days_past_due: 35,
            product: "消费贷".into(),
            reason: "request_human".into(),
            summary: String::new(),
            transcript: Vec::new(),
        }
    }

    fn bridge() -> (Bridge, Arc<Floor>) {
        let floor = Arc::new(Floor::new(AcdRules::default()));
        (
            Bridge::new(floor.clone(), 60, StandingLines::new(Default::default())),
            floor,
        )
    }

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_call_goes_from_queue_to_agent_to_filed_outcome() {
        let (b, floor) = bridge();
        let mut steps = floor.subscribe();
        floor.set(
            "li",
            Skills::new([Dialect::Cantonese]),
            AgentState::Available,
        );
        let (up, mut down) = b.queue(call("c1", Dialect::Cantonese));
        assert_eq!(
            steps.recv().await.unwrap(),
            Step::Offer {
                call: "c1".into(),
                agent: "li".into()
            }
        );
        floor
            .with_acd(|acd, now| acd.accept("c1", "li", now))
            .unwrap();
        b.accepted("c1", "li").unwrap();
        assert_eq!(
            down.recv().await,
            Some(ToCall::Accepted { agent: "li".into() })
        );
        // Only the agent on the call may signal for it.
        assert_eq!(
            b.send("c1", "wang", ToCall::Hangup),
            Err(BridgeError::NotYours)
        );
        let mut news = b.subscribe();
        up.send(FromCall::Line(TranscriptLine {
            speaker: Speaker::Debtor,
            at_ms: 1,
            text: "你好".into(),
            interrupted: false,
            intent: None,
        }))
        .await
        .unwrap();
        assert!(matches!(news.recv().await.unwrap(), News::Line { .. }));
        assert_eq!(b.get("c1").unwrap().call.transcript.len(), 1);
        up.send(FromCall::Ended { by_debtor: true }).await.unwrap();
        assert!(matches!(
            news.recv().await.unwrap(),
            News::Ended {
                by_debtor: true,
                ..
            }
        ));
        assert_eq!(floor.get("li").unwrap().state, AgentState::WrapUp);
        let outcome = AgentOutcome {
            agent: "li".into(),
            disposition: Disposition::PromiseToPay,
            promise_date: Some("2026-12-10".parse().unwrap()),
            promise_amount: Some("1000.00".into()),
            callback_time: None,
            notes: String::new(),
        };
        b.file("c1", outcome.clone()).unwrap();
        assert_eq!(down.recv().await, Some(ToCall::Outcome(outcome)));
        // Filed once: the call has left the console and its channel.
        assert!(b.get("c1").is_none());
        assert_eq!(down.recv().await, None);
    }

    #[tokio::test]
    async fn a_debtor_who_hangs_up_in_the_queue_is_counted_once_as_abandoned() {
        let (b, floor) = bridge();
        floor.set(
            "away",
            Skills::new([Dialect::Mandarin]),
            AgentState::Break {
                code: "lunch".into(),
            },
        );
        let (up, _down) = b.queue(call("c2", Dialect::Mandarin));
        up.send(FromCall::Ended { by_debtor: true }).await.unwrap();
        drop(up);
        settle().await;
        assert!(b.get("c2").is_none());
        let f = floor.figures();
        assert_eq!((f.waiting, f.abandoned), (0, 1));
    }

    #[tokio::test]
    async fn a_call_nobody_takes_is_given_back_with_a_callback_time() {
        let (b, floor) = bridge();
        let mut steps = floor.subscribe();
        // Nobody on the floor speaks Mandarin: given up at once.
        let (_up, mut down) = b.queue(call("c3", Dialect::Mandarin));
        let step = steps.recv().await.unwrap();
        assert_eq!(step, Step::GiveUp { call: "c3".into() });
        b.on_step(&step);
        let Some(ToCall::GiveUp { callback_time }) = down.recv().await else {
            panic!("expected a give-up")
        };
        assert_eq!(callback_time.minute() % 10, 0);
        assert!(b.get("c3").is_none());
        assert_eq!(down.recv().await, None);
    }

    #[test]
    fn callbacks_are_in_the_debtors_own_time_rounded_up() {
        let mut c = call("c", Dialect::Mandarin);
        let now = "2026-12-05T03:21:40Z".parse().unwrap();
        assert_eq!(
            callback_time(&c, now, 60).to_string(),
            "2026-12-05 12:30:00"
        );
        c.time_zone = "Asia/Urumqi".into(); // UTC+6
        assert_eq!(
            callback_time(&c, now, 60).to_string(),
            "2026-12-05 10:30:00"
        );
    }
}
