//! Huikuan's quality-inspection robot: every call, robot's or agent's,
//! checked as a supervisor would, from its stereo recording.
//!
//! Here: reading a call recording ([`recording`]), hearing it (voice
//! activity, recognition per channel, pitch and loudness: [`listen`],
//! [`prosody`]), the checks (the rules' wording in [`wording`], talk-over
//! and silences in [`activity`], a raised voice in [`agitation`]), and the
//! call's flags and score ([`inspect`]). The rules are data in
//! `dialects/qa.toml` and `dialects/DIALECT/qa.toml` ([`rules`]); the
//! thresholds are configuration ([`config`]).
//!
//! And the worker that takes recorded calls from the store's queue,
//! inspects them and keeps the results ([`worker`]).
//!
//! And the live check of a human call's words while it happens, for the
//! supervisor's floor ([`live`]).
//!
//! Not here: the queue and results themselves (store), the pages
//! (console), the dialer: the inspection reads recordings and the call
//! record, and never touches a live call's audio.

pub mod activity;
pub mod agitation;
pub mod config;
pub mod evalset;
pub mod evaluation;
pub mod flag;
pub mod inspect;
pub mod listen;
pub mod live;
pub mod loose;
pub mod prosody;
pub mod recording;
pub mod rules;
pub mod wording;
pub mod worker;

pub use config::QaConfig;
pub use flag::{Flag, FlagKind, Speaker};
pub use inspect::{inspect, CallFacts, Inspection};
pub use listen::{HeardCall, Listener};
pub use recording::Recording;
pub use rules::{QaRuleBook, QaRules};

use serde::Serialize;

/// Something one side said, and when (ms into the call).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Utterance {
    #[serde(rename = "channel")]
    pub speaker: Speaker,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}
