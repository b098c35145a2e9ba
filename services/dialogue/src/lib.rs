//! Huikuan's dialogue brain, on text only: what a debtor's (possibly
//! mis-recognised, possibly dialect) words mean, and what the robot says
//! next.
//!
//! Here: normalisation of Sichuanese and Cantonese wording to standard
//! Mandarin (dialect-pack lexicons, Traditional to Simplified, full-width
//! forms, fillers), matching that tolerates homophone recognition errors
//! (compared by pinyin as well as by character), intents from a closed set
//! with the cues that fired (phrase tables first, a small trained
//! classifier for turns they say nothing about), and slots (dates resolved to calendar days,
//! amounts in yuan, callback times); the collection conversation policy and
//! the robot's lines; and what a carrier announcement (关机, 空号, 正在通话中,
//! 留言) means as a call disposition.
//!
//! Not here: audio (speech), calls (dialer), storage. Everything here is a
//! pure function of its inputs and the data in `dialects/` (the script,
//! compiled in or loaded from a folder at run time: [`script`]).

pub mod announce;
pub mod classifier;
pub mod conversation;
pub mod eval;
pub mod intent;
pub mod lines;
pub mod nlu;
pub mod normalize;
pub mod policy;
pub mod script;
pub mod slots;

/// Phrase matching by character and by sound (it lives in core, where
/// the recognizer's rescoring uses it too).
pub use huikuan_core::matcher;

pub use conversation::{CallAccount, Conversation, Engine, Outcome, Turn};
pub use intent::Intent;
pub use nlu::{Nlu, NluResult};
pub use policy::Certainty;
pub use script::{ScriptError, ScriptFiles};
