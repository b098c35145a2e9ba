//! Live calls: the robot's side of a call ([`robot`]: hear, understand,
//! decide, speak, with barge-in, silence and announcement handling) and
//! the pieces both the robot and the debtor simulator use ([`ear`]:
//! line audio to recognised speech; [`voice`]: text to queued line audio).
//! What a call leaves behind is `huikuan_core::call::CallRecord`.

pub mod agent_first;
pub mod ear;
pub mod floor;
pub mod handoff;
pub mod listen_in;
pub mod robot;
pub mod voice;

pub use ear::{Ear, EarOptions};
pub use huikuan_core::call::{CallRecord, Speaker, TranscriptLine};
pub use robot::{Handoff, RobotCall, RobotCallConfig, RobotStage, StageEnd};
pub use voice::{Queued, Voice};
