//! One call as it is kept and read: who was on it (legs), what happened
//! when (the timeline), what was said (the transcript by speaker, in time
//! order), how it ended (the outcome, with a typed disposition), where its
//! recording is, and what it measured.
//!
//! The dialer fills it in as the call runs and reports it; the store keeps
//! it (as its serde JSON) with the attempt; the console and the QA robot
//! read it. Records written before it existed (a transcript array and a
//! metrics object) are read into it by [`CallRecord::from_legacy`].

use crate::{Disposition, Money};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// Who is on a call besides the debtor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Robot,
    Agent,
    /// Listening in (and perhaps whispering to the agent).
    Supervisor,
}

/// One party's time on the call (call ms, from media start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub party: Party,
    /// The agent's or supervisor's user name; none for the robot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    pub joined_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_ms: Option<u64>,
}

/// Who said a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Robot,
    Agent,
    Debtor,
    /// A carrier's or voicemail's recording heard on the line
    /// ("您拨打的电话已关机"), not a person.
    Announcement,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Robot => "robot",
            Speaker::Agent => "agent",
            Speaker::Debtor => "debtor",
            Speaker::Announcement => "announcement",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub speaker: Speaker,
    /// Call time (ms since media started) the words began.
    pub at_ms: u64,
    pub text: String,
    /// The line was cut short by the other side speaking.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// The words as understood (intent), or what they were (greeting,
    /// backchannel, early media).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
}

/// Who or what ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    /// The robot closed the conversation.
    Robot,
    Agent,
    /// The debtor hung up.
    Debtor,
    /// The network or the far end: no answer, busy, a failure, media gone.
    Network,
    /// Huikuan: the call's time limit, a carrier announcement, shutdown.
    System,
}

/// Something that happened on a call, at a call time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Answered,
    RobotLine,
    DebtorTurn,
    /// The debtor spoke over the robot and the robot stopped.
    BargeIn,
    HandoffRequested {
        reason: String,
    },
    /// Waiting for an agent.
    Queued,
    AgentJoined {
        agent: String,
    },
    /// The first packet of the agent's voice arrived: audio goes both
    /// ways (again, after a reload of the agent's page).
    AgentAudio,
    /// A supervisor listens in (silently).
    ListenIn {
        supervisor: String,
    },
    /// A supervisor's whisper reached the agent (the debtor hears none of
    /// it): the first of their voice after whispering was switched on.
    Whisper {
        supervisor: String,
    },
    Hold,
    Resumed,
    Ended {
        by: EndedBy,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub at_ms: u64,
    #[serde(flatten)]
    pub event: Event,
}

/// How the conversation ended, as the robot (or an agent) concluded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub disposition: Disposition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promise_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promise_amount: Option<Money>,
    /// When the debtor asked to be called back, in their local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_time: Option<NaiveDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff_reason: Option<String>,
    pub identity_verified: bool,
    pub debt_disclosed: bool,
    pub turns: u32,
    pub summary: String,
}

/// What the echo canceller did on one call.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EchoFigures {
    /// Time the canceller ran (we were speaking or had just spoken).
    pub active_ms: u64,
    /// Median level of what came back in the 10 ms frames we spoke in,
    /// and of what was left of it after cancellation (dBFS, -100 for
    /// nothing); medians, so a debtor talking over us for a minority of
    /// those frames does not count as echo.
    pub returned_dbfs: f32,
    pub residual_dbfs: f32,
    /// The echo path's delay as the canceller estimated it, ms.
    pub delay_ms: i32,
    /// Time with sound silenced as residual echo.
    pub silenced_ms: u64,
}

/// A call's RTP figures.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFigures {
    pub sent: u64,
    pub received: u64,
    pub malformed: u64,
    pub foreign_payload: u64,
    pub dtmf_in: u64,
    pub lost: u64,
    pub late: u64,
    /// Quiet frames the jitter buffer dropped to shorten its delay, and
    /// ticks it waited to lengthen it.
    pub jitter_dropped: u64,
    pub jitter_stretched: u64,
    /// The far end's interarrival jitter (RFC 3550) and the playout delay
    /// the buffer aims at now, ms.
    pub jitter_ms: u64,
    pub playout_delay_ms: u64,
    /// Line frames the call's listener was too far behind to take: they
    /// were left out of what it hears (the line itself, the recording and
    /// the outgoing audio go on at their pace).
    pub unheard: u64,
}

/// What a call measured.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// End of each debtor turn to the first robot audio of the reply.
    #[serde(default)]
    pub response_ms: Vec<u64>,
    /// Recognizer time for each debtor turn.
    #[serde(default)]
    pub decode_ms: Vec<u64>,
    /// Debtor speech start to the first silent tick of the robot's
    /// playback, per barge-in.
    #[serde(default)]
    pub barge_in_stop_ms: Vec<u64>,
    /// Pauses on a possible barge-in that were not speech after all.
    #[serde(default)]
    pub onsets_resumed: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo: Option<EchoFigures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaFigures>,
}

/// One call, from dial to hang-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// How the attempt ended: the outcome's, or the network's (busy, no
    /// answer) when there was no conversation.
    pub disposition: Disposition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default)]
    pub legs: Vec<Leg>,
    #[serde(default)]
    pub timeline: Vec<TimelineEvent>,
    #[serde(default)]
    pub transcript: Vec<TranscriptLine>,
    /// The stereo recording's path inside the recordings directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
    #[serde(default)]
    pub duration_ms: u64,
    /// Why the call ended when the conversation did not close it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    #[serde(default)]
    pub figures: Figures,
}

impl CallRecord {
    pub fn new(disposition: Disposition) -> CallRecord {
        CallRecord {
            disposition,
            outcome: None,
            legs: Vec::new(),
            timeline: Vec::new(),
            transcript: Vec::new(),
            recording: None,
            duration_ms: 0,
            ended_by: None,
            figures: Figures::default(),
        }
    }

    /// A call that ended before any conversation, and why.
    pub fn ended(disposition: Disposition, why: impl Into<String>) -> CallRecord {
        CallRecord {
            ended_by: Some(why.into()),
            ..CallRecord::new(disposition)
        }
    }

    pub fn note(&mut self, at_ms: u64, event: Event) {
        self.timeline.push(TimelineEvent { at_ms, event });
    }

    /// Puts the transcript and the timeline in time order (lines heard
    /// and decoded late are added when known, not when said); lines said
    /// at the same time keep the order they were added in.
    pub fn sort(&mut self) {
        self.transcript.sort_by_key(|l| l.at_ms);
        self.timeline.sort_by_key(|e| e.at_ms);
    }

    /// Whether anyone answered (there are words on the record).
    pub fn answered(&self) -> bool {
        !self.transcript.is_empty()
    }

    /// Whether the robot handed the call over to a person (asked for
    /// one, whether or not an agent took it).
    pub fn handed_over(&self) -> bool {
        self.disposition == Disposition::HandedToAgent
            || self
                .outcome
                .as_ref()
                .is_some_and(|o| o.handoff_reason.is_some())
            || self
                .timeline
                .iter()
                .any(|e| matches!(e.event, Event::HandoffRequested { .. }))
    }

    /// The agent who took the call over, the first one if several did.
    pub fn agent(&self) -> Option<&str> {
        self.timeline
            .iter()
            .find_map(|e| match &e.event {
                Event::AgentJoined { agent } => Some(agent.as_str()),
                _ => None,
            })
            .or_else(|| {
                self.legs
                    .iter()
                    .find(|l| l.party == Party::Agent)
                    .and_then(|l| l.who.as_deref())
            })
    }

    /// The transcript as people read it: one line per utterance, with
    /// its time, speaker and whether it was cut.
    pub fn transcript_text(&self) -> String {
        self.transcript
            .iter()
            .map(|l| {
                let cut = if l.interrupted { " [cut]" } else { "" };
                format!(
                    "{:>7.1}s {:<12} {}{cut}",
                    l.at_ms as f64 / 1000.0,
                    format!("{}:", l.speaker.as_str()),
                    l.text
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A record as rows written before this type kept it: the transcript
    /// as a JSON array of `{speaker, at_ms, text, interrupted?, intent?}`
    /// (speakers `robot` and `debtor`; a debtor line whose intent is
    /// `early media` or `announcement` was a recording on the line) and
    /// the metrics as a JSON object (`response_ms`, `decode_ms`,
    /// `barge_in_stop_ms`, `onsets_resumed`, `echo`, `media`,
    /// `handoff_reason`).
    pub fn from_legacy(
        disposition: Disposition,
        transcript: Option<&str>,
        metrics: Option<&str>,
    ) -> Result<CallRecord, String> {
        #[derive(Deserialize)]
        struct OldLine {
            speaker: String,
            at_ms: u64,
            text: String,
            #[serde(default)]
            interrupted: bool,
            #[serde(default)]
            intent: Option<String>,
        }
        let mut record = CallRecord::new(disposition);
        if let Some(t) = transcript.filter(|t| !t.trim().is_empty()) {
            let lines: Vec<OldLine> =
                serde_json::from_str(t).map_err(|e| format!("transcript: {e}"))?;
            for l in lines {
                let recording = matches!(l.intent.as_deref(), Some("early media" | "announcement"));
                let speaker = match l.speaker.as_str() {
                    "robot" => Speaker::Robot,
                    "agent" => Speaker::Agent,
                    _ if recording => Speaker::Announcement,
                    _ => Speaker::Debtor,
                };
                record.transcript.push(TranscriptLine {
                    speaker,
                    at_ms: l.at_ms,
                    text: l.text,
                    interrupted: l.interrupted,
                    intent: l.intent,
                });
            }
        }
        if let Some(m) = metrics.filter(|m| !m.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(m).map_err(|e| format!("metrics: {e}"))?;
            let list = |k: &str| -> Vec<u64> {
                v.get(k)
                    .and_then(|x| x.as_array())
                    .map(|a| a.iter().filter_map(|n| n.as_u64()).collect())
                    .unwrap_or_default()
            };
            record.figures = Figures {
                response_ms: list("response_ms"),
                decode_ms: list("decode_ms"),
                barge_in_stop_ms: list("barge_in_stop_ms"),
                onsets_resumed: v
                    .get("onsets_resumed")
                    .and_then(|x| x.as_u64())
                    .unwrap_or(0) as u32,
                echo: v
                    .get("echo")
                    .and_then(|x| serde_json::from_value(x.clone()).ok()),
                media: v
                    .get("media")
                    .and_then(|x| serde_json::from_value(x.clone()).ok()),
            };
            if let Some(reason) = v.get("handoff_reason").and_then(|x| x.as_str()) {
                record.note(
                    0,
                    Event::HandoffRequested {
                        reason: reason.to_string(),
                    },
                );
            }
        }
        record.sort();
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handed_over_call_names_its_agent() {
        let mut r = CallRecord::new(Disposition::PromiseToPay);
        assert!(!r.handed_over());
        assert_eq!(r.agent(), None);
        r.note(
            9_000,
            Event::HandoffRequested {
                reason: "request_human".into(),
            },
        );
        assert!(r.handed_over());
        assert_eq!(r.agent(), None, "asked for a person, no one took it");
        r.legs.push(Leg {
            party: Party::Agent,
            who: Some("ann".into()),
            joined_ms: 12_000,
            left_ms: None,
        });
        assert_eq!(r.agent(), Some("ann"));
        r.note(
            11_000,
            Event::AgentJoined {
                agent: "bob".into(),
            },
        );
        assert_eq!(r.agent(), Some("bob"), "the first to join");
        assert!(CallRecord::new(Disposition::HandedToAgent).handed_over());
    }

    #[test]
    fn a_record_round_trips_through_its_json() {
        let mut r = CallRecord::new(Disposition::PromiseToPay);
        r.legs.push(Leg {
            party: Party::Robot,
            who: None,
            joined_ms: 0,
            left_ms: Some(40_000),
        });
        r.note(0, Event::Answered);
        r.note(30_000, Event::Ended { by: EndedBy::Robot });
        r.transcript.push(TranscriptLine {
            speaker: Speaker::Debtor,
            at_ms: 2_000,
            text: "是我".into(),
            interrupted: false,
            intent: Some("confirm_identity".into()),
        });
        r.outcome = Some(Outcome {
            disposition: Disposition::PromiseToPay,
            promise_date: "2026-12-09".parse().ok(),
            promise_amount: "3250.50".parse().ok(),
            callback_time: None,
            handoff_reason: None,
            identity_verified: true,
            debt_disclosed: true,
            turns: 3,
            summary: "promise".into(),
        });
        r.figures.media = Some(MediaFigures {
            sent: 10,
            ..Default::default()
        });
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""disposition":"promise_to_pay""#), "{json}");
        assert!(json.contains(r#""event":"ended","by":"robot""#), "{json}");
        let back: CallRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn rows_written_the_old_way_are_read_into_the_record() {
        let transcript = r#"[{"speaker":"robot","at_ms":1300,"text":"您好"},
            {"speaker":"debtor","at_ms":100,"text":"喂","intent":"greeting"},
            {"speaker":"debtor","at_ms":0,"text":"您拨打的电话已关机","intent":"early media"},
            {"speaker":"debtor","at_ms":5000,"text":"转人工","intent":"request_human"}]"#;
        let metrics = r#"{"response_ms":[640,700],"decode_ms":[210],"barge_in_stop_ms":[],
            "onsets_resumed":1,"echo":null,"handoff_reason":"request_human",
            "media":{"sent":500,"received":480,"malformed":0,"foreign_payload":0,"dtmf_in":0,
            "lost":2,"late":0,"jitter_dropped":0,"jitter_stretched":0,"jitter_ms":3,
            "playout_delay_ms":20,"unheard":0}}"#;
        let r =
            CallRecord::from_legacy(Disposition::HandedToAgent, Some(transcript), Some(metrics))
                .unwrap();
        let order: Vec<(u64, Speaker)> =
            r.transcript.iter().map(|l| (l.at_ms, l.speaker)).collect();
        assert_eq!(
            order,
            vec![
                (0, Speaker::Announcement),
                (100, Speaker::Debtor),
                (1300, Speaker::Robot),
                (5000, Speaker::Debtor)
            ]
        );
        assert_eq!(r.figures.response_ms, vec![640, 700]);
        assert_eq!(r.figures.onsets_resumed, 1);
        assert_eq!(r.figures.media.unwrap().lost, 2);
        assert_eq!(
            r.timeline,
            vec![TimelineEvent {
                at_ms: 0,
                event: Event::HandoffRequested {
                    reason: "request_human".into()
                }
            }]
        );
        assert!(CallRecord::from_legacy(Disposition::Busy, Some("{"), None).is_err());
        assert_eq!(
            CallRecord::from_legacy(Disposition::Busy, None, None).unwrap(),
            CallRecord::new(Disposition::Busy)
        );
    }
}
