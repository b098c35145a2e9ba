//! The `Handoff` stream's messages to and from `huikuan_core::handoff`,
//! every field checked and named in errors (`start.dialect: ...`).

use crate::call::{disposition, line_from_pb, line_to_pb, optional, refuse, text, RecordError};
use crate::pb::{self, handoff_down, handoff_up};
use huikuan_core::handoff::{AgentOutcome, FromCall, QueuedCall, ToCall};
use huikuan_core::Dialect;

const LOCAL_TIME: &str = "%Y-%m-%dT%H:%M:%S";
/// An SDP larger than this is refused (a browser's is a few KiB).
pub const MAX_SDP_BYTES: usize = 64 * 1024;

fn sdp(field: &str, s: String) -> Result<String, RecordError> {
    if s.len() > MAX_SDP_BYTES {
        return Err(refuse(field, format!("larger than {MAX_SDP_BYTES} bytes")));
    }
    if s.trim().is_empty() {
        return Err(refuse(field, "empty"));
    }
    Ok(s)
}

fn local_time(field: &str, s: &str) -> Result<chrono::NaiveDateTime, RecordError> {
    chrono::NaiveDateTime::parse_from_str(s, LOCAL_TIME)
        .map_err(|_| refuse(field, "not a local time in YYYY-MM-DDTHH:MM:SS form"))
}

/// The opening message's call, checked.
pub fn queued_from_pb(s: pb::HandoffStart) -> Result<QueuedCall, RecordError> {
    if s.attempt_id.trim().is_empty() {
        return Err(refuse("start.attempt_id", "required"));
    }
    let dialect: Dialect = s
        .dialect
        .parse()
        .map_err(|e: String| refuse("start.dialect", e))?;
    let transcript = s
        .transcript
        .into_iter()
        .enumerate()
        .take(crate::call::MAX_TRANSCRIPT_LINES + 1)
        .map(|(i, l)| line_from_pb(&format!("start.transcript[{i}]"), l))
        .collect::<Result<Vec<_>, _>>()?;
    if transcript.len() > crate::call::MAX_TRANSCRIPT_LINES {
        return Err(refuse("start.transcript", "too many lines"));
    }
    Ok(QueuedCall {
        call_id: text("start.attempt_id", s.attempt_id)?,
        account_id: text("start.account_id", s.account_id)?,
        debtor_name: text("start.debtor_name", s.debtor_name)?,
        phone: text("start.phone", s.phone)?,
        time_zone: text("start.time_zone", s.time_zone)?,
        dialect,
        overdue_amount: text("start.overdue_amount", s.overdue_amount)?,
        days_past_due: s.days_past_due,
        product: text("start.product", s.product)?,
        reason: text("start.reason", s.reason)?,
        summary: text("start.summary", s.summary)?,
        transcript,
    })
}

/// The opening message for `call`, under the dialer's lease.
pub fn queued_to_pb(call: &QueuedCall, lease_token: i64, worker_id: &str) -> pb::HandoffStart {
    pb::HandoffStart {
        attempt_id: call.call_id.clone(),
        lease_token,
        worker_id: worker_id.to_string(),
        account_id: call.account_id.clone(),
        debtor_name: call.debtor_name.clone(),
        phone: call.phone.clone(),
        time_zone: call.time_zone.clone(),
        dialect: call.dialect.as_str().to_string(),
        overdue_amount: call.overdue_amount.clone(),
        days_past_due: call.days_past_due,
        product: call.product.clone(),
        reason: call.reason.clone(),
        summary: call.summary.clone(),
        transcript: call.transcript.iter().map(line_to_pb).collect(),
    }
}

pub fn from_call_to_pb(m: &FromCall) -> pb::HandoffUp {
    let kind = match m {
        FromCall::Line(l) => handoff_up::Kind::Line(line_to_pb(l)),
        FromCall::Answer { sdp } => handoff_up::Kind::AnswerSdp(sdp.clone()),
        FromCall::AgentLegFailed { why } => handoff_up::Kind::AgentLegFailed(why.clone()),
        FromCall::Ended { by_debtor } => handoff_up::Kind::Ended(pb::HandoffEnded {
            by_debtor: *by_debtor,
        }),
        FromCall::ListenAnswer { supervisor, sdp } => {
            handoff_up::Kind::ListenAnswer(pb::ListenAnswer {
                supervisor: supervisor.clone(),
                sdp: sdp.clone(),
            })
        }
        FromCall::ListenFailed { supervisor, why } => {
            handoff_up::Kind::ListenFailed(pb::ListenFailed {
                supervisor: supervisor.clone(),
                why: why.clone(),
            })
        }
        FromCall::DebtorVoice(p) => handoff_up::Kind::DebtorVoice(p.clone()),
    };
    pb::HandoffUp { kind: Some(kind) }
}

/// A message after the opening one; `start` again is an error.
pub fn from_call_from_pb(m: pb::HandoffUp) -> Result<FromCall, RecordError> {
    Ok(match m.kind {
        None => return Err(refuse("kind", "empty message")),
        Some(handoff_up::Kind::Start(_)) => {
            return Err(refuse("start", "sent once, first"));
        }
        Some(handoff_up::Kind::Line(l)) => FromCall::Line(line_from_pb("line", l)?),
        Some(handoff_up::Kind::AnswerSdp(s)) => FromCall::Answer {
            sdp: sdp("answer_sdp", s)?,
        },
        Some(handoff_up::Kind::AgentLegFailed(why)) => FromCall::AgentLegFailed {
            why: text("agent_leg_failed", why)?,
        },
        Some(handoff_up::Kind::Ended(e)) => FromCall::Ended {
            by_debtor: e.by_debtor,
        },
        Some(handoff_up::Kind::ListenAnswer(a)) => FromCall::ListenAnswer {
            supervisor: name("listen_answer.supervisor", a.supervisor)?,
            sdp: sdp("listen_answer.sdp", a.sdp)?,
        },
        Some(handoff_up::Kind::ListenFailed(f)) => FromCall::ListenFailed {
            supervisor: name("listen_failed.supervisor", f.supervisor)?,
            why: text("listen_failed.why", f.why)?,
        },
        Some(handoff_up::Kind::DebtorVoice(p)) => FromCall::DebtorVoice(voice("debtor_voice", p)?),
    })
}

pub fn to_call_to_pb(m: &ToCall) -> pb::HandoffDown {
    let kind = match m {
        ToCall::Accepted { agent } => handoff_down::Kind::AcceptedBy(agent.clone()),
        ToCall::Offer { sdp } => handoff_down::Kind::OfferSdp(sdp.clone()),
        ToCall::Hold(on) => handoff_down::Kind::Hold(*on),
        ToCall::Hangup => handoff_down::Kind::Hangup(true),
        ToCall::GiveUp { callback_time } => {
            handoff_down::Kind::GiveUp(callback_time.format(LOCAL_TIME).to_string())
        }
        ToCall::Outcome(o) => handoff_down::Kind::Outcome(pb::AgentOutcome {
            agent: o.agent.clone(),
            disposition: o.disposition.as_str().to_string(),
            promise_date: o.promise_date.map(|d| d.to_string()).unwrap_or_default(),
            promise_amount: o.promise_amount.clone().unwrap_or_default(),
            callback_time: o
                .callback_time
                .map(|t| t.format(LOCAL_TIME).to_string())
                .unwrap_or_default(),
            notes: o.notes.clone(),
        }),
        ToCall::Listen { supervisor, sdp } => handoff_down::Kind::Listen(pb::ListenOffer {
            supervisor: supervisor.clone(),
            sdp: sdp.clone(),
        }),
        ToCall::Whisper { supervisor, on } => handoff_down::Kind::Whisper(pb::Whisper {
            supervisor: supervisor.clone(),
            on: *on,
        }),
        ToCall::StopListening { supervisor } => {
            handoff_down::Kind::StopListening(supervisor.clone())
        }
        ToCall::Relayed => handoff_down::Kind::Relayed(true),
        ToCall::AgentVoice(p) => handoff_down::Kind::AgentVoice(p.clone()),
    };
    pb::HandoffDown { kind: Some(kind) }
}

pub fn to_call_from_pb(m: pb::HandoffDown) -> Result<ToCall, RecordError> {
    Ok(match m.kind {
        None => return Err(refuse("kind", "empty message")),
        Some(handoff_down::Kind::AcceptedBy(a)) => ToCall::Accepted {
            agent: text("accepted_by", a)?,
        },
        Some(handoff_down::Kind::OfferSdp(s)) => ToCall::Offer {
            sdp: sdp("offer_sdp", s)?,
        },
        Some(handoff_down::Kind::Hold(on)) => ToCall::Hold(on),
        Some(handoff_down::Kind::Hangup(_)) => ToCall::Hangup,
        Some(handoff_down::Kind::GiveUp(t)) => ToCall::GiveUp {
            callback_time: local_time("give_up", &t)?,
        },
        Some(handoff_down::Kind::Outcome(o)) => ToCall::Outcome(AgentOutcome {
            agent: text("outcome.agent", o.agent)?,
            disposition: disposition("outcome.disposition", &o.disposition)?,
            promise_date: optional(o.promise_date)
                .map(|d| {
                    d.parse().map_err(|_| {
                        refuse("outcome.promise_date", "not a date in YYYY-MM-DD form")
                    })
                })
                .transpose()?,
            promise_amount: optional(o.promise_amount),
            callback_time: optional(o.callback_time)
                .map(|t| local_time("outcome.callback_time", &t))
                .transpose()?,
            notes: text("outcome.notes", o.notes)?,
        }),
        Some(handoff_down::Kind::Listen(l)) => ToCall::Listen {
            supervisor: name("listen.supervisor", l.supervisor)?,
            sdp: sdp("listen.sdp", l.sdp)?,
        },
        Some(handoff_down::Kind::Whisper(w)) => ToCall::Whisper {
            supervisor: name("whisper.supervisor", w.supervisor)?,
            on: w.on,
        },
        Some(handoff_down::Kind::StopListening(s)) => ToCall::StopListening {
            supervisor: name("stop_listening", s)?,
        },
        Some(handoff_down::Kind::Relayed(_)) => ToCall::Relayed,
        Some(handoff_down::Kind::AgentVoice(p)) => ToCall::AgentVoice(voice("agent_voice", p)?),
    })
}

/// A voice payload larger than this is refused (160 ms of PCMU; a
/// packet carries 20 ms, 160 bytes).
pub const MAX_VOICE_BYTES: usize = 1280;

/// A PCMU payload: not empty, at most [`MAX_VOICE_BYTES`].
fn voice(field: &str, p: Vec<u8>) -> Result<Vec<u8>, RecordError> {
    if p.is_empty() {
        return Err(refuse(field, "empty"));
    }
    if p.len() > MAX_VOICE_BYTES {
        return Err(refuse(
            field,
            format!("larger than {MAX_VOICE_BYTES} bytes"),
        ));
    }
    Ok(p)
}

/// A user's name: required.
fn name(field: &str, s: String) -> Result<String, RecordError> {
    if s.trim().is_empty() {
        return Err(refuse(field, "required"));
    }
    text(field, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use huikuan_core::call::{Speaker, TranscriptLine};
    use huikuan_core::Disposition;

    #[test]
    fn every_message_survives_the_wire() {
        let call = QueuedCall {
            call_id: "a1".into(),
            account_id: "ACC-1".into(),
            debtor_name: "张伟".into(),
            phone: "+8613800000007".into(),
            time_zone: "Asia/Shanghai".into(),
            dialect: Dialect::Cantonese,
            overdue_amount: "3250.50".into(),
            days_past_due: 35,
            product: "消费贷".into(),
            reason: "request_human".into(),
            summary: "要求人工".into(),
            transcript: vec![TranscriptLine {
                speaker: Speaker::Debtor,
                at_ms: 1200,
                text: "我要人工".into(),
                interrupted: false,
                intent: Some("request_human".into()),
            }],
        };
        let back = queued_from_pb(queued_to_pb(&call, 7, "w1")).unwrap();
        assert_eq!(back, call);
        let ups = [
            FromCall::Line(call.transcript[0].clone()),
            FromCall::Answer { sdp: "v=0".into() },
            FromCall::AgentLegFailed { why: "ice".into() },
            FromCall::Ended { by_debtor: true },
            FromCall::ListenAnswer {
                supervisor: "zhao".into(),
                sdp: "v=0".into(),
            },
            FromCall::ListenFailed {
                supervisor: "zhao".into(),
                why: "no PCMU".into(),
            },
            FromCall::DebtorVoice(vec![0xff; 160]),
        ];
        for m in ups {
            assert_eq!(from_call_from_pb(from_call_to_pb(&m)).unwrap(), m);
        }
        let downs = [
            ToCall::Accepted { agent: "li".into() },
            ToCall::Offer { sdp: "v=0".into() },
            ToCall::Hold(true),
            ToCall::Hangup,
            ToCall::GiveUp {
                callback_time: "2026-12-05T15:30:00".parse().unwrap(),
            },
            ToCall::Outcome(AgentOutcome {
                agent: "li".into(),
                disposition: Disposition::PromiseToPay,
                promise_date: Some("2026-12-10".parse().unwrap()),
                promise_amount: Some("1000.00".into()),
                callback_time: None,
                notes: "ok".into(),
            }),
            ToCall::Listen {
                supervisor: "zhao".into(),
                sdp: "v=0".into(),
            },
            ToCall::Whisper {
                supervisor: "zhao".into(),
                on: true,
            },
            ToCall::StopListening {
                supervisor: "zhao".into(),
            },
            ToCall::Relayed,
            ToCall::AgentVoice(vec![0x7f; 160]),
        ];
        for m in downs {
            assert_eq!(to_call_from_pb(to_call_to_pb(&m)).unwrap(), m);
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let mut start = pb::HandoffStart {
            attempt_id: "a".into(),
            dialect: "klingon".into(),
            ..Default::default()
        };
        assert_eq!(
            queued_from_pb(start.clone()).unwrap_err().field,
            "start.dialect"
        );
        start.dialect = "mandarin".into();
        start.attempt_id = " ".into();
        assert_eq!(queued_from_pb(start).unwrap_err().field, "start.attempt_id");
        let e = to_call_from_pb(pb::HandoffDown {
            kind: Some(handoff_down::Kind::GiveUp("tomorrow".into())),
        })
        .unwrap_err();
        assert_eq!(e.field, "give_up");
        let e = from_call_from_pb(pb::HandoffUp {
            kind: Some(handoff_up::Kind::AnswerSdp("x".repeat(MAX_SDP_BYTES + 1))),
        })
        .unwrap_err();
        assert_eq!(e.field, "answer_sdp");
        let e = to_call_from_pb(pb::HandoffDown {
            kind: Some(handoff_down::Kind::Outcome(pb::AgentOutcome {
                disposition: "paid_maybe".into(),
                ..Default::default()
            })),
        })
        .unwrap_err();
        assert_eq!(e.field, "outcome.disposition");
        let e = to_call_from_pb(pb::HandoffDown {
            kind: Some(handoff_down::Kind::Listen(pb::ListenOffer {
                supervisor: "".into(),
                sdp: "v=0".into(),
            })),
        })
        .unwrap_err();
        assert_eq!(e.field, "listen.supervisor");
        let e = to_call_from_pb(pb::HandoffDown {
            kind: Some(handoff_down::Kind::AgentVoice(vec![0; MAX_VOICE_BYTES + 1])),
        })
        .unwrap_err();
        assert_eq!(e.field, "agent_voice");
        let e = from_call_from_pb(pb::HandoffUp {
            kind: Some(handoff_up::Kind::DebtorVoice(Vec::new())),
        })
        .unwrap_err();
        assert_eq!(e.field, "debtor_voice");
    }
}
