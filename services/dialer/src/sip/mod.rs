//! The SIP side of a call, on rsipstack: one user agent per process
//! ([`SipAgent`]) that places outbound calls through a trunk ([`Trunk`]:
//! outbound proxy, digest credentials, caller id, CPS and concurrency
//! limits, ring timeout with CANCEL) and, for the debtor simulator,
//! answers inbound ones. Final responses become dispositions in
//! [`status`]; media is negotiated with [`crate::sdp`].

pub mod agent;
pub mod call;
pub mod inbound;
pub mod limits;
pub mod outbound;
pub mod status;

pub use agent::{SipAgent, SipError};
pub use call::{ActiveCall, CallControl, CallEvent};
pub use inbound::IncomingCall;
pub use limits::CallLimiter;
pub use outbound::{DialAttempt, DialStep, Trunk, TrunkConfig};
