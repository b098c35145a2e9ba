//! Quality flags on human calls while they happen.
//!
//! A handed-over call's live transcript (both sides, as its dialer
//! recognizes them) passes through the bridge line by line; when the
//! console has a [`LiveInspector`], each line is checked as it arrives
//! and what it raises is kept on the call and shown on the supervisor's
//! floor (refreshed every two seconds) and to a supervisor listening in.
//! The checks themselves are the quality inspection's (`huikuan-qa`,
//! joined in by the composition root): this crate only carries lines in
//! and flags out. The call's recording is inspected in full after it
//! ends, as every call's is.

use huikuan_core::call::TranscriptLine;
use huikuan_core::handoff::QueuedCall;
use serde::Serialize;

/// Flags kept per live call at most (the oldest make room).
pub const KEPT_PER_CALL: usize = 50;

/// Starts the live check of each handed-over call.
pub trait LiveInspector: Send + Sync {
    fn start(&self, call: &QueuedCall) -> Box<dyn LiveListener>;
}

/// One call's live check, fed its lines in the order they were said.
pub trait LiveListener: Send {
    fn hear(&mut self, line: &TranscriptLine) -> Vec<LiveFlag>;
}

/// A flag raised while the call is on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveFlag {
    /// A flag type of the inspection (`forbidden_wording`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// `agent` or `debtor`.
    pub channel: String,
    /// Call time (ms since media started) the words began.
    pub at_ms: u64,
    pub rule: String,
    pub evidence: String,
    /// When the console raised it (epoch ms; the bridge sets it).
    pub raised_at_ms: i64,
}
