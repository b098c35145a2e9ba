//! The handoff stage: the robot stage decided the debtor needs a person
//! ([`super::StageEnd::Handoff`]). The robot says the hand-over line in
//! the debtor's dialect; then, with a [`HandoffLink`] to the
//! orchestrator's agent desk, the debtor's line stays up while the call
//! waits for an agent (the hold line, then a re-assurance every
//! [`REASSURE`]), and an agent who accepts is joined by WebRTC
//! ([`AgentLeg`]): the debtor's frames go to the browser as PCMU, the
//! agent's PCMU to the debtor's line (which records it as the call's first
//! channel, so one recording covers robot and agent), and both sides are
//! transcribed live and sent to the desk. An agent on a standing line
//! (auto-answer) is joined through the desk instead ([`ToCall::Relayed`]):
//! the same PCMU payloads travel on the `Handoff` stream. When nobody
//! takes the call the
//! robot promises a callback at the time the desk gives and ends politely;
//! after the call the agent's wrap-up comes back as the call's outcome.
//! Supervisors may listen in on a bridged call and whisper to its agent
//! ([`super::listen_in`]).
//!
//! Without a link, or when the orchestrator has no desk, the call ends
//! after the hand-over line as handed to an agent.

use super::ear::{Ear, EarOptions};
use super::listen_in::Listeners;
use super::robot::Handoff;
use super::voice::Voice;
use crate::media::agent_leg::{line_from_pcmu, pcmu_from_line, AgentLeg, AgentLegConfig};
use crate::media::{MediaEvent, SharedLine};
use crate::sip::CallEvent;
use huikuan_core::call::{
    CallRecord, EndedBy, Event, Leg, Outcome, Party, Speaker, TranscriptLine,
};
use huikuan_core::handoff::{AgentOutcome, FromCall, ToCall};
use huikuan_core::{Dialect, Disposition};
use huikuan_dialogue::conversation::Engine;
use huikuan_proto::{client, pb};
use huikuan_speech::stream::RecognitionEvent;
use huikuan_speech::SpeechEngines;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// The longest the hand-over line may take before the call ends anyway.
const LINE_LIMIT: Duration = Duration::from_secs(30);
/// A waiting debtor hears a re-assurance this often.
pub const REASSURE: Duration = Duration::from_secs(20);
/// After the call, how long the agent's outcome is waited for (the desk
/// closes the stream sooner when the agent's wrap-up time runs out).
const OUTCOME_LIMIT: Duration = Duration::from_secs(3600);
/// The most of the agent's voice queued for the debtor's line (a burst of
/// packets after a network stall) before the backlog is dropped, so the
/// bridge's delay stays bounded.
const AGENT_BACKLOG_MS: u64 = 120;

/// The way to the agent desk: the orchestrator, and the call's opening
/// message (its lease and the screen pop's facts; the stage adds the
/// reason, summary and transcript).
pub struct HandoffLink {
    pub grpc: client::Client,
    pub start: pb::HandoffStart,
    pub agent_leg: AgentLegConfig,
}

/// What the stage needs besides the line.
pub struct HandoffStage<'a> {
    pub engines: &'a SpeechEngines,
    pub dialogue: &'a Engine,
    pub dialect: Dialect,
    pub link: Option<HandoffLink>,
}

async fn next_signal(s: &mut Option<&mut mpsc::Receiver<CallEvent>>) -> Option<CallEvent> {
    match s.as_deref_mut() {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn line_text(dialogue: &Engine, dialect: Dialect, name: &str, ctx: &tera::Context) -> String {
    dialogue
        .lines
        .render(dialect, name, ctx)
        .unwrap_or_else(|e| {
            tracing::error!(line = name, error = %e, "a handoff line cannot be rendered");
            String::new()
        })
}

fn say(voice: &Voice, record: &mut CallRecord, at_ms: u64, text: &str, dialect: Dialect) {
    if text.trim().is_empty() {
        return;
    }
    voice.say(text, dialect);
    record.note(at_ms, Event::RobotLine);
    record.transcript.push(TranscriptLine {
        speaker: Speaker::Robot,
        at_ms,
        text: text.to_string(),
        interrupted: false,
        intent: None,
    });
}

/// Says `handoff.line`, then queues the call for an agent and bridges it
/// (or ends it, without a desk); the record gets every line, the legs,
/// who ended the call and, when an agent filed one, the agent's outcome.
pub async fn hand_over(
    stage: HandoffStage<'_>,
    line: SharedLine,
    audio: &mut mpsc::Receiver<MediaEvent>,
    mut signalling: Option<&mut mpsc::Receiver<CallEvent>>,
    handoff: &Handoff,
    record: &mut CallRecord,
) {
    let dialect = stage.dialect;
    let (voice, mut queued) = Voice::new(stage.engines.tts.clone(), line.clone());
    say(&voice, record, line.now_ms(), &handoff.line, dialect);
    let link_config = stage.agent_leg_config();
    let desk = match stage.link {
        Some(link) => open(link, handoff, record).await,
        None => None,
    };
    let Some((up, down)) = desk else {
        let by = say_and_end(&voice, &mut queued, &line, audio, &mut signalling).await;
        finish(record, &line, by, None);
        return;
    };
    record.note(line.now_ms(), Event::Queued);
    let mut bridge = Bridged {
        dialogue: stage.dialogue,
        dialect,
        agent_leg: None,
        relayed: false,
        agent: None,
        on_hold: false,
        awaiting_agent_audio: false,
        up,
        seq: rand::random(),
        ts: rand::random(),
        debtor_ear: Ear::new(stage.engines, dialect, transcript_ear()).ok(),
        agent_ear: Ear::new(stage.engines, dialect, transcript_ear()).ok(),
        ears_from_ms: None,
        listeners: Listeners::default(),
    };
    bridge
        .run(
            &voice,
            &mut queued,
            &line,
            audio,
            &mut signalling,
            down,
            record,
            &link_config,
        )
        .await;
}

/// How the bridged call's two sides are heard: for the agent's screen and
/// the record only, so on the low-priority lane (the robot's turns on
/// other calls come first; under load the transcript falls behind).
fn transcript_ear() -> EarOptions {
    EarOptions {
        low_priority: true,
        ..EarOptions::default()
    }
}

impl HandoffStage<'_> {
    fn agent_leg_config(&self) -> AgentLegConfig {
        self.link
            .as_ref()
            .map(|l| l.agent_leg.clone())
            .unwrap_or_default()
    }
}

/// Opens the `Handoff` stream; `None` when the orchestrator will not
/// queue the call (no desk, unreachable, refused).
async fn open(
    link: HandoffLink,
    handoff: &Handoff,
    record: &CallRecord,
) -> Option<(
    mpsc::Sender<pb::HandoffUp>,
    tonic::Streaming<pb::HandoffDown>,
)> {
    let HandoffLink {
        mut grpc,
        mut start,
        ..
    } = link;
    start.reason = handoff.reason.clone();
    start.summary = handoff.summary.clone();
    start.transcript = record
        .transcript
        .iter()
        .map(huikuan_proto::call::line_to_pb)
        .collect();
    let (tx, rx) = mpsc::channel(256);
    tx.send(pb::HandoffUp {
        kind: Some(pb::handoff_up::Kind::Start(start)),
    })
    .await
    .ok()?;
    match grpc.handoff(ReceiverStream::new(rx)).await {
        Ok(resp) => Some((tx, resp.into_inner())),
        Err(s) => {
            tracing::warn!(error = %s, "the agent desk did not take the call: it ends after the hand-over line");
            None
        }
    }
}

/// Lets the voice finish what it says (or the line end); who ended it.
async fn say_and_end(
    voice: &Voice,
    queued: &mut mpsc::UnboundedReceiver<super::Queued>,
    line: &SharedLine,
    audio: &mut mpsc::Receiver<MediaEvent>,
    signalling: &mut Option<&mut mpsc::Receiver<CallEvent>>,
) -> EndedBy {
    let limit = tokio::time::sleep(LINE_LIMIT);
    tokio::pin!(limit);
    let by = loop {
        if !voice.busy() {
            break EndedBy::Robot;
        }
        tokio::select! {
            e = audio.recv() => {
                if e.is_none() {
                    break EndedBy::Network;
                }
            }
            _ = queued.recv() => {}
            e = next_signal(signalling) => match e {
                Some(CallEvent::Ended { by_peer: true, .. }) => break EndedBy::Debtor,
                Some(CallEvent::Ended { .. }) | None => break EndedBy::Network,
                Some(CallEvent::MediaChanged(remote)) => line.update_remote(remote),
                Some(CallEvent::Dtmf(_)) => {}
            },
            _ = &mut limit => break EndedBy::System,
        }
    };
    voice.stop();
    by
}

/// Closes the record: the robot's and agent's legs, the duration, who
/// ended the call, and the agent's outcome when filed.
fn finish(record: &mut CallRecord, line: &SharedLine, by: EndedBy, agent: Option<AgentOutcome>) {
    let end_ms = line.now_ms();
    for leg in record.legs.iter_mut() {
        if leg.left_ms.is_none() {
            leg.left_ms = Some(end_ms);
        }
    }
    record.duration_ms = end_ms;
    record.note(end_ms, Event::Ended { by });
    if let Some(o) = agent {
        let robot = record.outcome.clone();
        record.disposition = o.disposition;
        record.outcome = Some(Outcome {
            disposition: o.disposition,
            promise_date: o.promise_date,
            promise_amount: o.promise_amount.and_then(|a| a.parse().ok()),
            callback_time: o.callback_time,
            handoff_reason: robot.as_ref().and_then(|r| r.handoff_reason.clone()),
            identity_verified: robot.as_ref().is_some_and(|r| r.identity_verified),
            debt_disclosed: robot.as_ref().is_some_and(|r| r.debt_disclosed),
            turns: robot.as_ref().map_or(0, |r| r.turns),
            summary: if o.notes.is_empty() {
                format!("filed by agent {}", o.agent)
            } else {
                format!("filed by agent {}: {}", o.agent, o.notes)
            },
        });
    }
    record.sort();
}

/// The call while it waits for, and talks to, an agent.
struct Bridged<'a> {
    dialogue: &'a Engine,
    dialect: Dialect,
    agent_leg: Option<AgentLeg>,
    /// The agent's audio comes through the desk (the agent's standing
    /// line): the debtor's voice goes up the stream, the agent's comes
    /// down it.
    relayed: bool,
    agent: Option<String>,
    on_hold: bool,
    /// Joined, and no packet from the agent's browser yet.
    awaiting_agent_audio: bool,
    up: mpsc::Sender<pb::HandoffUp>,
    /// RTP numbering of the packets sent to the browser.
    seq: u16,
    ts: u32,
    debtor_ear: Option<Ear>,
    agent_ear: Option<Ear>,
    /// The call time both ears started hearing at.
    ears_from_ms: Option<u64>,
    /// Supervisors listening in.
    listeners: Listeners,
}

/// How the live part of a bridged call ended.
enum Over {
    /// The line ended (by whom); an agent may still file an outcome.
    Line(EndedBy),
    /// The desk is gone before any agent took the call.
    DeskGone,
}

impl Bridged<'_> {
    async fn tell(&mut self, m: FromCall) {
        let _ = self
            .up
            .send(huikuan_proto::handoff::from_call_to_pb(&m))
            .await;
    }

    /// Files and streams the lines an ear made out; `origin` is the call
    /// time of the ear's first sample.
    async fn heard(
        &mut self,
        speaker: Speaker,
        origin: u64,
        events: Vec<RecognitionEvent>,
        record: &mut CallRecord,
    ) {
        for ev in events {
            if let RecognitionEvent::Final { text, start_ms, .. } = ev {
                if text.trim().is_empty() {
                    continue;
                }
                let l = TranscriptLine {
                    speaker,
                    at_ms: origin + start_ms,
                    text,
                    interrupted: false,
                    intent: None,
                };
                record.transcript.push(l.clone());
                self.tell(FromCall::Line(l)).await;
            }
        }
    }

    async fn agent_packet(&mut self) -> Option<rtp::packet::Packet> {
        match self.agent_leg.as_mut() {
            Some(leg) => leg.recv().await,
            None => std::future::pending().await,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run(
        &mut self,
        voice: &Voice,
        queued: &mut mpsc::UnboundedReceiver<super::Queued>,
        line: &SharedLine,
        audio: &mut mpsc::Receiver<MediaEvent>,
        signalling: &mut Option<&mut mpsc::Receiver<CallEvent>>,
        mut down: tonic::Streaming<pb::HandoffDown>,
        record: &mut CallRecord,
        leg_config: &AgentLegConfig,
    ) {
        let empty = tera::Context::new();
        say(
            voice,
            record,
            line.now_ms(),
            &line_text(self.dialogue, self.dialect, "hold", &empty),
            self.dialect,
        );
        let mut reassure =
            tokio::time::interval_at(tokio::time::Instant::now() + REASSURE, REASSURE);
        let mut down_open = true;
        let mut outcome: Option<AgentOutcome> = None;
        let over = loop {
            tokio::select! {
                e = audio.recv() => match e {
                    None => break Over::Line(EndedBy::Network),
                    Some(MediaEvent::Audio { at_ms, samples, sent }) => {
                        let talking = self.joined() && !self.on_hold;
                        let whispered = if self.listeners.is_empty() {
                            None
                        } else {
                            let w = self.listeners.tick(&samples, &sent).await;
                            for supervisor in w.first_heard {
                                record.note(at_ms, Event::Whisper { supervisor });
                            }
                            w.frame
                        };
                        if talking {
                            match whispered {
                                Some(mut w) => {
                                    for (w, s) in w.iter_mut().zip(&samples) {
                                        *w += s;
                                    }
                                    self.forward_to_agent(&w).await;
                                }
                                None => self.forward_to_agent(&samples).await,
                            }
                        }
                        if self.agent.is_some() {
                            // Both ears hear every tick from the agent's
                            // arrival on: the debtor's frame, and what the
                            // debtor was sent of the agent's voice (silence
                            // while held or rejoining), so their lines
                            // fall on the call's clock.
                            let origin = *self.ears_from_ms.get_or_insert(at_ms);
                            if let Some(ear) = self.debtor_ear.as_mut() {
                                let events = ear.hear(&samples, &sent).await;
                                self.heard(Speaker::Debtor, origin, events, record).await;
                            }
                            let agent_voice = if talking { sent } else { vec![0.0; samples.len()] };
                            if let Some(ear) = self.agent_ear.as_mut() {
                                let events = ear.hear(&agent_voice, &[]).await;
                                self.heard(Speaker::Agent, origin, events, record).await;
                            }
                        }
                    }
                    Some(_) => {}
                },
                p = self.agent_packet() => match p {
                    Some(p) => self.agent_voice(&p.payload, line, record),
                    None => {
                        // The browser's connection is gone (a reload): the
                        // debtor is held until the page offers again.
                        if let Some(leg) = self.agent_leg.take() {
                            leg.close().await;
                        }
                        say(voice, record, line.now_ms(), &line_text(self.dialogue, self.dialect, "hold", &empty), self.dialect);
                    }
                },
                _ = queued.recv() => {}
                e = next_signal(signalling) => match e {
                    Some(CallEvent::Ended { by_peer: true, .. }) => break Over::Line(EndedBy::Debtor),
                    Some(CallEvent::Ended { .. }) | None => break Over::Line(EndedBy::Network),
                    Some(CallEvent::MediaChanged(remote)) => line.update_remote(remote),
                    Some(CallEvent::Dtmf(_)) => {}
                },
                _ = reassure.tick(), if !self.joined() || self.on_hold => {
                    if !voice.busy() {
                        say(voice, record, line.now_ms(), &line_text(self.dialogue, self.dialect, "hold_reassure", &empty), self.dialect);
                    }
                }
                m = down.message(), if down_open => {
                    let m = match m {
                        Ok(Some(m)) => huikuan_proto::handoff::to_call_from_pb(m),
                        Ok(None) | Err(_) => {
                            down_open = false;
                            if self.agent.is_none() {
                                break Over::DeskGone;
                            }
                            continue;
                        }
                    };
                    match m {
                        Err(e) => tracing::warn!(error = %e, "handoff message refused"),
                        Ok(ToCall::Accepted { agent }) => {
                            let at = line.now_ms();
                            record.note(at, Event::AgentJoined { agent: agent.clone() });
                            record.legs.push(Leg { party: Party::Agent, who: Some(agent.clone()), joined_ms: at, left_ms: None });
                            for leg in record.legs.iter_mut().filter(|l| l.party == Party::Robot) {
                                leg.left_ms.get_or_insert(at);
                            }
                            self.agent = Some(agent);
                        }
                        Ok(ToCall::Offer { sdp }) => self.join(&sdp, leg_config, voice).await,
                        Ok(ToCall::Relayed) => {
                            if let Some(old) = self.agent_leg.take() {
                                old.close().await;
                            }
                            self.relayed = true;
                            self.awaiting_agent_audio = true;
                            voice.stop();
                        }
                        Ok(ToCall::AgentVoice(p)) => {
                            if self.relayed {
                                self.agent_voice(&p, line, record);
                            }
                        }
                        Ok(ToCall::Hold(on)) => {
                            self.on_hold = on;
                            record.note(line.now_ms(), if on { Event::Hold } else { Event::Resumed });
                            if on {
                                line.stop_playback();
                                say(voice, record, line.now_ms(), &line_text(self.dialogue, self.dialect, "hold", &empty), self.dialect);
                            } else {
                                voice.stop();
                            }
                        }
                        Ok(ToCall::Hangup) => break Over::Line(EndedBy::Agent),
                        Ok(ToCall::GiveUp { callback_time }) => {
                            voice.stop();
                            let mut ctx = tera::Context::new();
                            ctx.insert("callback_time", &callback_time.format("%Y-%m-%dT%H:%M").to_string());
                            say(voice, record, line.now_ms(), &line_text(self.dialogue, self.dialect, "agent_callback", &ctx), self.dialect);
                            let by = say_and_end(voice, queued, line, audio, signalling).await;
                            let robot = record.outcome.clone();
                            record.disposition = Disposition::CallbackRequested;
                            record.outcome = Some(Outcome {
                                disposition: Disposition::CallbackRequested,
                                callback_time: Some(callback_time),
                                summary: "no agent took the call in time: callback promised".into(),
                                ..robot.unwrap_or_else(|| empty_outcome(Disposition::CallbackRequested))
                            });
                            finish(record, line, by, None);
                            return;
                        }
                        Ok(ToCall::Outcome(o)) => outcome = Some(o),
                        Ok(ToCall::Listen { supervisor, sdp }) => {
                            match self.listeners.join(&supervisor, &sdp, leg_config).await {
                                Ok(sdp) => {
                                    record.note(line.now_ms(), Event::ListenIn { supervisor: supervisor.clone() });
                                    self.tell(FromCall::ListenAnswer { supervisor, sdp }).await;
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "a supervisor's listen-in cannot be joined");
                                    self.tell(FromCall::ListenFailed { supervisor, why: e.to_string() }).await;
                                }
                            }
                        }
                        Ok(ToCall::Whisper { supervisor, on }) => {
                            self.listeners.whisper(&supervisor, on);
                        }
                        Ok(ToCall::StopListening { supervisor }) => self.listeners.stop(&supervisor).await,
                    }
                }
            }
        };
        voice.stop();
        if let Some(leg) = self.agent_leg.take() {
            leg.close().await;
        }
        self.listeners.close_all().await;
        let by = match over {
            Over::Line(by) => by,
            Over::DeskGone => {
                // Nobody will take it: the debtor is told so politely.
                let text = line_text(
                    self.dialogue,
                    self.dialect,
                    "callback_close_untimed",
                    &empty,
                );
                say(voice, record, line.now_ms(), &text, self.dialect);
                say_and_end(voice, queued, line, audio, signalling).await
            }
        };
        self.tell(FromCall::Ended {
            by_debtor: by == EndedBy::Debtor,
        })
        .await;
        // The last words of both sides, still being decoded (after the
        // agent's wrap-up has begun: they go to the record).
        if let Some(origin) = self.ears_from_ms {
            if let Some(mut ear) = self.debtor_ear.take() {
                let events = ear.finish().await;
                self.heard(Speaker::Debtor, origin, events, record).await;
            }
            if let Some(mut ear) = self.agent_ear.take() {
                let events = ear.finish().await;
                self.heard(Speaker::Agent, origin, events, record).await;
            }
        }
        // The debtor's line is over; the agent files the outcome.
        line.stop();
        if self.agent.is_some() && outcome.is_none() && down_open {
            let wait = tokio::time::timeout(OUTCOME_LIMIT, async {
                while let Ok(Some(m)) = down.message().await {
                    if let Ok(ToCall::Outcome(o)) = huikuan_proto::handoff::to_call_from_pb(m) {
                        return Some(o);
                    }
                }
                None
            });
            outcome = wait.await.ok().flatten();
        }
        finish(record, line, by, outcome);
    }

    /// The agent's browser is joined, directly or through the desk.
    fn joined(&self) -> bool {
        self.agent_leg.is_some() || self.relayed
    }

    /// 20 ms of the agent's voice (PCMU) to the debtor, unless held.
    fn agent_voice(&mut self, payload: &[u8], line: &SharedLine, record: &mut CallRecord) {
        if std::mem::take(&mut self.awaiting_agent_audio) {
            record.note(line.now_ms(), Event::AgentAudio);
        }
        if self.on_hold {
            return;
        }
        if line.queued_ms() > AGENT_BACKLOG_MS {
            // A burst after a stall: the debtor would hear the agent late
            // from now on; drop the backlog and catch up.
            let cut = line.stop_playback();
            tracing::debug!(cut_ms = cut, "the agent's voice caught up");
        }
        line.play(&line_from_pcmu(payload));
    }

    /// Joins (or re-joins) the agent's browser directly.
    async fn join(&mut self, offer: &str, config: &AgentLegConfig, voice: &Voice) {
        if let Some(old) = self.agent_leg.take() {
            old.close().await;
        }
        self.relayed = false;
        match AgentLeg::answer(offer, config).await {
            Ok((leg, sdp)) => {
                self.agent_leg = Some(leg);
                self.awaiting_agent_audio = true;
                voice.stop();
                self.tell(FromCall::Answer { sdp }).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the agent's audio cannot be joined");
                self.tell(FromCall::AgentLegFailed { why: e.to_string() })
                    .await;
            }
        }
    }

    /// One frame of the debtor to the agent's browser, as PCMU: on the
    /// agent's leg, or up the stream when relayed (dropped when the
    /// stream is more than half full, so its other messages always fit).
    async fn forward_to_agent(&mut self, samples: &[f32]) {
        let payload = pcmu_from_line(samples);
        if self.relayed {
            if self.up.capacity() > self.up.max_capacity() / 2 {
                let m = FromCall::DebtorVoice(payload.to_vec());
                let _ = self
                    .up
                    .try_send(huikuan_proto::handoff::from_call_to_pb(&m));
            }
            return;
        }
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(samples.len() as u32);
        if let Some(leg) = &self.agent_leg {
            if let Err(e) = leg.send_payload(self.seq, self.ts, payload).await {
                tracing::debug!(error = %e, "a frame to the agent was lost");
            }
        }
    }
}

fn empty_outcome(d: Disposition) -> Outcome {
    Outcome {
        disposition: d,
        promise_date: None,
        promise_amount: None,
        callback_time: None,
        handoff_reason: None,
        identity_verified: false,
        debt_disclosed: false,
        turns: 0,
        summary: String::new(),
    }
}
