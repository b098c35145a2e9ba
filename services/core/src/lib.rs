//! Huikuan's domain model, kept pure: no I/O beyond reading a portfolio from
//! any `Read`, no database, no network.
//!
//! What lives here: the vocabulary every other crate speaks (accounts, the
//! contacts and debts that belong to them, dialects, regions and time zones,
//! money in yuan, phone numbers, call dispositions and promises to pay), the
//! validation of portfolio rows, and the collection rules that decide whether
//! a contact may be called now (calling window, daily attempt cap), how
//! numbers are read aloud in Chinese, matching a phrase in what was heard by
//! character or by sound (pinyin), the kinds of quality flag, script forms (Traditional/Simplified,
//! full-width), and the dialect packs (`dialects/`,
//! compiled in or read from a folder) that configure speech and
//! understanding.
//!
//! What does not: persistence (`huikuan-store`), transport
//! (`huikuan-orchestrator`), and anything speech or telephony.

pub mod account;
pub mod attempt;
pub mod call;
pub mod channel;
pub mod dialect;
pub mod disposition;
pub mod flag_kind;
pub mod handoff;
pub mod matcher;
pub mod money;
pub mod numerals;
pub mod outcome;
pub mod pack;
pub mod phone;
pub mod portfolio;
pub mod region;
pub mod rules;
pub mod schedule;
pub mod script;
pub mod staff;
pub mod synthetic;

pub use account::{AccountRecord, ContactRecord, DebtRecord};
pub use attempt::{
    AttemptStatus, CampaignStatus, ImportState, PlanAction, PlanStatus, PlannedCallState,
    PromiseStatus,
};
pub use channel::Channel;
pub use dialect::Dialect;
pub use disposition::Disposition;
pub use money::Money;
pub use outcome::OutcomeLimits;
pub use phone::PhoneNumber;
pub use region::Region;
pub use rules::CallingRules;

/// `text` cut to at most `max` characters (with `…` when cut): what an
/// error message may repeat of an input without growing with it.
pub fn truncate(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => text.into(),
        Some((at, _)) => format!("{}…", &text[..at]).into(),
    }
}

/// How much of an input value an error message repeats.
pub const ECHO_CHARS: usize = 40;
