//! `huikuan_core::call::CallRecord` to and from its `huikuan.v1`
//! message: the dialer sends a record this way, the orchestrator reads it
//! back, every name and size checked, errors naming the field
//! (`record.transcript[3].speaker: ...`).

use crate::pb;
use huikuan_core::call::{
    CallRecord, EchoFigures, EndedBy, Event, Figures, Leg, MediaFigures, Outcome, Party, Speaker,
    TimelineEvent, TranscriptLine,
};
use huikuan_core::Disposition;

/// How much of a call a record may carry.
pub const MAX_TRANSCRIPT_LINES: usize = 5_000;
pub const MAX_TIMELINE_EVENTS: usize = 20_000;
pub const MAX_LEGS: usize = 64;
pub const MAX_TEXT_CHARS: usize = 4_000;
pub const MAX_FIGURES: usize = 10_000;

/// A field of a record and why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

pub(crate) fn refuse(field: impl Into<String>, reason: impl Into<String>) -> RecordError {
    RecordError {
        field: field.into(),
        reason: reason.into(),
    }
}

pub(crate) fn text(field: &str, s: String) -> Result<String, RecordError> {
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(refuse(
            field,
            format!("longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(s)
}

pub(crate) fn optional(s: String) -> Option<String> {
    Some(s).filter(|s| !s.is_empty())
}

fn bounded<T>(field: &str, items: Vec<T>, max: usize) -> Result<Vec<T>, RecordError> {
    if items.len() > max {
        return Err(refuse(field, format!("more than {max}")));
    }
    Ok(items)
}

pub(crate) fn disposition(field: &str, s: &str) -> Result<Disposition, RecordError> {
    s.parse().map_err(|e: String| refuse(field, e))
}

fn party_name(p: Party) -> &'static str {
    match p {
        Party::Robot => "robot",
        Party::Agent => "agent",
        Party::Supervisor => "supervisor",
    }
}

fn party(field: &str, s: &str) -> Result<Party, RecordError> {
    Ok(match s {
        "robot" => Party::Robot,
        "agent" => Party::Agent,
        "supervisor" => Party::Supervisor,
        other => return Err(refuse(field, format!("unknown party '{}'", trunc(other)))),
    })
}

fn speaker(field: &str, s: &str) -> Result<Speaker, RecordError> {
    Ok(match s {
        "robot" => Speaker::Robot,
        "agent" => Speaker::Agent,
        "debtor" => Speaker::Debtor,
        "announcement" => Speaker::Announcement,
        other => return Err(refuse(field, format!("unknown speaker '{}'", trunc(other)))),
    })
}

fn ended_by_name(by: EndedBy) -> &'static str {
    match by {
        EndedBy::Robot => "robot",
        EndedBy::Agent => "agent",
        EndedBy::Debtor => "debtor",
        EndedBy::Network => "network",
        EndedBy::System => "system",
    }
}

fn ended_by(field: &str, s: &str) -> Result<EndedBy, RecordError> {
    Ok(match s {
        "robot" => EndedBy::Robot,
        "agent" => EndedBy::Agent,
        "debtor" => EndedBy::Debtor,
        "network" => EndedBy::Network,
        "system" => EndedBy::System,
        other => {
            return Err(refuse(
                field,
                format!("unknown ended_by '{}'", trunc(other)),
            ))
        }
    })
}

fn trunc(s: &str) -> std::borrow::Cow<'_, str> {
    huikuan_core::truncate(s, huikuan_core::ECHO_CHARS)
}

fn event_to_pb(e: &TimelineEvent) -> pb::TimelineEvent {
    let (name, detail) = match &e.event {
        Event::Answered => ("answered", String::new()),
        Event::RobotLine => ("robot_line", String::new()),
        Event::DebtorTurn => ("debtor_turn", String::new()),
        Event::BargeIn => ("barge_in", String::new()),
        Event::HandoffRequested { reason } => ("handoff_requested", reason.clone()),
        Event::Queued => ("queued", String::new()),
        Event::AgentJoined { agent } => ("agent_joined", agent.clone()),
        Event::AgentAudio => ("agent_audio", String::new()),
        Event::ListenIn { supervisor } => ("listen_in", supervisor.clone()),
        Event::Whisper { supervisor } => ("whisper", supervisor.clone()),
        Event::Hold => ("hold", String::new()),
        Event::Resumed => ("resumed", String::new()),
        Event::Ended { by } => ("ended", ended_by_name(*by).to_string()),
    };
    pb::TimelineEvent {
        at_ms: e.at_ms,
        event: name.to_string(),
        detail,
    }
}

fn event_from_pb(field: &str, e: pb::TimelineEvent) -> Result<TimelineEvent, RecordError> {
    let detail = text(&format!("{field}.detail"), e.detail)?;
    let event = match e.event.as_str() {
        "answered" => Event::Answered,
        "robot_line" => Event::RobotLine,
        "debtor_turn" => Event::DebtorTurn,
        "barge_in" => Event::BargeIn,
        "handoff_requested" => Event::HandoffRequested { reason: detail },
        "queued" => Event::Queued,
        "agent_joined" => Event::AgentJoined { agent: detail },
        "agent_audio" => Event::AgentAudio,
        "listen_in" => Event::ListenIn { supervisor: detail },
        "whisper" => Event::Whisper { supervisor: detail },
        "hold" => Event::Hold,
        "resumed" => Event::Resumed,
        "ended" => Event::Ended {
            by: ended_by(&format!("{field}.detail"), &detail)?,
        },
        other => {
            return Err(refuse(
                format!("{field}.event"),
                format!("unknown event '{}'", trunc(other)),
            ))
        }
    };
    Ok(TimelineEvent {
        at_ms: e.at_ms,
        event,
    })
}

fn outcome_to_pb(o: &Outcome) -> pb::CallOutcome {
    pb::CallOutcome {
        disposition: o.disposition.as_str().to_string(),
        promise_date: o.promise_date.map(|d| d.to_string()).unwrap_or_default(),
        promise_amount: o.promise_amount.map(|m| m.to_string()).unwrap_or_default(),
        callback_time: o
            .callback_time
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_default(),
        handoff_reason: o.handoff_reason.clone().unwrap_or_default(),
        identity_verified: o.identity_verified,
        debt_disclosed: o.debt_disclosed,
        turns: o.turns,
        summary: o.summary.clone(),
    }
}

fn outcome_from_pb(o: pb::CallOutcome) -> Result<Outcome, RecordError> {
    let f = "record.outcome";
    Ok(Outcome {
        disposition: disposition(&format!("{f}.disposition"), &o.disposition)?,
        promise_date: optional(o.promise_date)
            .map(|d| {
                d.parse().map_err(|_| {
                    refuse(format!("{f}.promise_date"), "not a date in YYYY-MM-DD form")
                })
            })
            .transpose()?,
        promise_amount: optional(o.promise_amount)
            .map(|a| {
                a.parse()
                    .map_err(|e: String| refuse(format!("{f}.promise_amount"), e))
            })
            .transpose()?,
        callback_time: optional(o.callback_time)
            .map(|t| {
                chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S").map_err(|_| {
                    refuse(
                        format!("{f}.callback_time"),
                        "not a local time in YYYY-MM-DDTHH:MM:SS form",
                    )
                })
            })
            .transpose()?,
        handoff_reason: optional(text(&format!("{f}.handoff_reason"), o.handoff_reason)?),
        identity_verified: o.identity_verified,
        debt_disclosed: o.debt_disclosed,
        turns: o.turns,
        summary: text(&format!("{f}.summary"), o.summary)?,
    })
}

fn echo_to_pb(e: &EchoFigures) -> pb::EchoFigures {
    pb::EchoFigures {
        active_ms: e.active_ms,
        returned_dbfs: e.returned_dbfs,
        residual_dbfs: e.residual_dbfs,
        delay_ms: e.delay_ms,
        silenced_ms: e.silenced_ms,
    }
}

fn echo_from_pb(e: pb::EchoFigures) -> EchoFigures {
    EchoFigures {
        active_ms: e.active_ms,
        returned_dbfs: e.returned_dbfs,
        residual_dbfs: e.residual_dbfs,
        delay_ms: e.delay_ms,
        silenced_ms: e.silenced_ms,
    }
}

fn media_to_pb(m: &MediaFigures) -> pb::MediaFigures {
    pb::MediaFigures {
        sent: m.sent,
        received: m.received,
        malformed: m.malformed,
        foreign_payload: m.foreign_payload,
        dtmf_in: m.dtmf_in,
        lost: m.lost,
        late: m.late,
        jitter_dropped: m.jitter_dropped,
        jitter_stretched: m.jitter_stretched,
        jitter_ms: m.jitter_ms,
        playout_delay_ms: m.playout_delay_ms,
        unheard: m.unheard,
    }
}

fn media_from_pb(m: pb::MediaFigures) -> MediaFigures {
    MediaFigures {
        sent: m.sent,
        received: m.received,
        malformed: m.malformed,
        foreign_payload: m.foreign_payload,
        dtmf_in: m.dtmf_in,
        lost: m.lost,
        late: m.late,
        jitter_dropped: m.jitter_dropped,
        jitter_stretched: m.jitter_stretched,
        jitter_ms: m.jitter_ms,
        playout_delay_ms: m.playout_delay_ms,
        unheard: m.unheard,
    }
}

/// A transcript line as its message.
pub fn line_to_pb(l: &TranscriptLine) -> pb::TranscriptLine {
    pb::TranscriptLine {
        speaker: l.speaker.as_str().to_string(),
        at_ms: l.at_ms,
        text: l.text.clone(),
        interrupted: l.interrupted,
        intent: l.intent.clone().unwrap_or_default(),
    }
}

/// A transcript line from its message; `f` names it in errors.
pub fn line_from_pb(f: &str, l: pb::TranscriptLine) -> Result<TranscriptLine, RecordError> {
    Ok(TranscriptLine {
        speaker: speaker(&format!("{f}.speaker"), &l.speaker)?,
        at_ms: l.at_ms,
        text: text(&format!("{f}.text"), l.text)?,
        interrupted: l.interrupted,
        intent: optional(text(&format!("{f}.intent"), l.intent)?),
    })
}

/// A record as its message.
pub fn to_pb(r: &CallRecord) -> pb::CallRecord {
    pb::CallRecord {
        disposition: r.disposition.as_str().to_string(),
        outcome: r.outcome.as_ref().map(outcome_to_pb),
        legs: r
            .legs
            .iter()
            .map(|l| pb::Leg {
                party: party_name(l.party).to_string(),
                who: l.who.clone().unwrap_or_default(),
                joined_ms: l.joined_ms,
                left_ms: l.left_ms,
            })
            .collect(),
        timeline: r.timeline.iter().map(event_to_pb).collect(),
        transcript: r.transcript.iter().map(line_to_pb).collect(),
        recording: r.recording.clone().unwrap_or_default(),
        duration_ms: r.duration_ms,
        ended_by: r.ended_by.clone().unwrap_or_default(),
        figures: Some(pb::CallFigures {
            response_ms: r.figures.response_ms.clone(),
            decode_ms: r.figures.decode_ms.clone(),
            barge_in_stop_ms: r.figures.barge_in_stop_ms.clone(),
            onsets_resumed: r.figures.onsets_resumed,
            echo: r.figures.echo.as_ref().map(echo_to_pb),
            media: r.figures.media.as_ref().map(media_to_pb),
        }),
    }
}

/// A record from its message, every name and size checked.
pub fn from_pb(r: pb::CallRecord) -> Result<CallRecord, RecordError> {
    let legs = bounded("record.legs", r.legs, MAX_LEGS)?
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(Leg {
                party: party(&format!("record.legs[{i}].party"), &l.party)?,
                who: optional(text(&format!("record.legs[{i}].who"), l.who)?),
                joined_ms: l.joined_ms,
                left_ms: l.left_ms,
            })
        })
        .collect::<Result<_, RecordError>>()?;
    let timeline = bounded("record.timeline", r.timeline, MAX_TIMELINE_EVENTS)?
        .into_iter()
        .enumerate()
        .map(|(i, e)| event_from_pb(&format!("record.timeline[{i}]"), e))
        .collect::<Result<_, RecordError>>()?;
    let transcript = bounded("record.transcript", r.transcript, MAX_TRANSCRIPT_LINES)?
        .into_iter()
        .enumerate()
        .map(|(i, l)| line_from_pb(&format!("record.transcript[{i}]"), l))
        .collect::<Result<_, RecordError>>()?;
    let figures = match r.figures {
        None => Figures::default(),
        Some(f) => Figures {
            response_ms: bounded("record.figures.response_ms", f.response_ms, MAX_FIGURES)?,
            decode_ms: bounded("record.figures.decode_ms", f.decode_ms, MAX_FIGURES)?,
            barge_in_stop_ms: bounded(
                "record.figures.barge_in_stop_ms",
                f.barge_in_stop_ms,
                MAX_FIGURES,
            )?,
            onsets_resumed: f.onsets_resumed,
            echo: f.echo.map(echo_from_pb),
            media: f.media.map(media_from_pb),
        },
    };
    Ok(CallRecord {
        disposition: disposition("record.disposition", &r.disposition)?,
        outcome: r.outcome.map(outcome_from_pb).transpose()?,
        legs,
        timeline,
        transcript,
        recording: optional(r.recording),
        duration_ms: r.duration_ms,
        ended_by: optional(text("record.ended_by", r.ended_by)?),
        figures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> CallRecord {
        let mut r = CallRecord::new(Disposition::HandedToAgent);
        r.legs.push(Leg {
            party: Party::Robot,
            who: None,
            joined_ms: 0,
            left_ms: Some(9_000),
        });
        for (at, e) in [
            (0, Event::Answered),
            (1_000, Event::RobotLine),
            (3_000, Event::DebtorTurn),
            (3_100, Event::BargeIn),
            (
                4_000,
                Event::HandoffRequested {
                    reason: "request_human".into(),
                },
            ),
            (9_000, Event::Ended { by: EndedBy::Robot }),
        ] {
            r.note(at, e);
        }
        r.transcript.push(TranscriptLine {
            speaker: Speaker::Announcement,
            at_ms: 10,
            text: "请不要挂机".into(),
            interrupted: false,
            intent: Some("early media".into()),
        });
        r.outcome = Some(Outcome {
            disposition: Disposition::HandedToAgent,
            promise_date: None,
            promise_amount: "1.50".parse().ok(),
            callback_time: chrono::NaiveDateTime::parse_from_str(
                "2026-12-05T15:00:00",
                "%Y-%m-%dT%H:%M:%S",
            )
            .ok(),
            handoff_reason: Some("request_human".into()),
            identity_verified: true,
            debt_disclosed: false,
            turns: 2,
            summary: "s".into(),
        });
        r.figures.echo = Some(EchoFigures {
            delay_ms: 40,
            ..Default::default()
        });
        r.figures.media = Some(MediaFigures {
            lost: 3,
            ..Default::default()
        });
        r.recording = Some("2026-12-04/ab.wav".into());
        r
    }

    #[test]
    fn a_record_survives_its_message() {
        let r = record();
        assert_eq!(from_pb(to_pb(&r)).unwrap(), r);
    }

    #[test]
    fn bad_names_and_sizes_are_refused_by_field() {
        let mut m = to_pb(&record());
        m.transcript[0].speaker = "ghost".into();
        assert_eq!(
            from_pb(m).unwrap_err().field,
            "record.transcript[0].speaker"
        );
        let mut m = to_pb(&record());
        m.timeline[5].detail = "martians".into();
        assert_eq!(from_pb(m).unwrap_err().field, "record.timeline[5].detail");
        let mut m = to_pb(&record());
        m.transcript[0].text = "字".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(from_pb(m).unwrap_err().field, "record.transcript[0].text");
        let mut m = to_pb(&record());
        m.disposition = "promised".into();
        assert_eq!(from_pb(m).unwrap_err().field, "record.disposition");
    }
}
