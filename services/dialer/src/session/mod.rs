//! Live calls: the robot's side of a call ([`robot`]: hear, understand,
//! decide, speak, with barge-in, silence and announcement handling) and
//! the pieces both the robot and the debtor simulator use ([`ear`]:
//! line audio to recognised speech; [`voice`]: text to queued line audio;
//! [`report`]: the timed transcript and what a call measured).

pub mod ear;
pub mod report;
pub mod robot;
pub mod voice;

pub use ear::{Ear, EarOptions};
pub use report::{CallReport, Speaker, TranscriptLine};
pub use robot::{RobotCall, RobotCallConfig};
pub use voice::{Queued, Voice};
