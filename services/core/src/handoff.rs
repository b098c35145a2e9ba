//! A call the robot hands to a person, as the two sides of the bridge see
//! it: the call (held by a dialer, reached through the orchestrator) and
//! the agent desk (the console's ACD and the agent's browser).
//!
//! Plain data, so that neither side depends on the other: the orchestrator
//! carries these over its `Handoff` stream, and the composition root joins
//! it to the console. [`QueuedCall`] opens the conversation; after it the
//! call tells the desk [`FromCall`]s and the desk tells the call
//! [`ToCall`]s, until the call has ended and its outcome is filed. For an
//! agent on a standing line (auto-answer) the voices travel here too, as
//! PCMU payloads.

use crate::call::TranscriptLine;
use crate::{Dialect, Disposition};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// What the desk is told when a call joins the queue: enough for the
/// agent's screen pop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedCall {
    /// The call's id: its attempt.
    pub call_id: String,
    pub account_id: String,
    pub debtor_name: String,
    /// E.164; the desk masks it except for the agent on the call.
    pub phone: String,
    /// The debtor's IANA time zone (callback times are in it).
    pub time_zone: String,
    pub dialect: Dialect,
    /// Yuan, a decimal string ("3250.50").
    pub overdue_amount: String,
    pub days_past_due: i32,
    pub product: String,
    /// Why the robot handed over (`request_human`, `complaint`, ...).
    pub reason: String,
    /// The robot's one-paragraph summary.
    pub summary: String,
    /// Everything said so far.
    pub transcript: Vec<TranscriptLine>,
}

/// From the call to the desk.
#[derive(Debug, Clone, PartialEq)]
pub enum FromCall {
    /// Words said since (either side), as they are recognised.
    Line(TranscriptLine),
    /// The call's answer to the agent browser's offer.
    Answer { sdp: String },
    /// The agent's audio could not be joined (the offer was refused, or
    /// the connection failed): why.
    AgentLegFailed { why: String },
    /// The debtor's line ended (hung up, or the network).
    Ended { by_debtor: bool },
    /// The call's answer to a supervisor's listen-in offer.
    ListenAnswer { supervisor: String, sdp: String },
    /// A supervisor's listen-in could not be joined: why.
    ListenFailed { supervisor: String, why: String },
    /// 20 ms of the debtor's voice, a PCMU payload as the line carried
    /// it, for an agent on a standing line (after [`ToCall::Relayed`]).
    DebtorVoice(Vec<u8>),
}

/// What an agent files after a call, as the robot's outcome is filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentOutcome {
    pub agent: String,
    pub disposition: Disposition,
    pub promise_date: Option<NaiveDate>,
    /// Yuan, a decimal string, with `promise_date`.
    pub promise_amount: Option<String>,
    /// Debtor-local time, for `callback_requested`.
    pub callback_time: Option<NaiveDateTime>,
    pub notes: String,
}

/// From the desk to the call.
#[derive(Debug, Clone, PartialEq)]
pub enum ToCall {
    /// An agent accepted the call.
    Accepted { agent: String },
    /// The agent's browser offers its audio (first join, or a re-attach
    /// after a page reload: the call replaces the agent's leg).
    Offer { sdp: String },
    /// The debtor hears the hold prompt (true) or the agent again (false).
    Hold(bool),
    /// The agent hung up: the call ends the debtor's line.
    Hangup,
    /// Nobody took the call in time: the robot promises a callback at
    /// this debtor-local time and ends the call politely.
    GiveUp { callback_time: NaiveDateTime },
    /// The agent's wrap-up: the call's outcome.
    Outcome(AgentOutcome),
    /// A supervisor's browser offers to listen in (silently: it hears the
    /// debtor and the agent; nobody hears it until it whispers).
    Listen { supervisor: String, sdp: String },
    /// The supervisor speaks to the agent only (true) or is silent again.
    Whisper { supervisor: String, on: bool },
    /// The supervisor stops listening.
    StopListening { supervisor: String },
    /// The agent's audio comes through the desk (the agent's standing
    /// line): the call sends the debtor's voice as
    /// [`FromCall::DebtorVoice`] and plays [`ToCall::AgentVoice`]. An
    /// [`ToCall::Offer`] afterwards joins the browser directly again.
    Relayed,
    /// 20 ms of the agent's voice, a PCMU payload, after `Relayed`.
    AgentVoice(Vec<u8>),
}
