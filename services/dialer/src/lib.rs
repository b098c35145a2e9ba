//! Huikuan's dialer: everything between a phone line and the speech and
//! dialogue engines.
//!
//! Here so far: RTP media for G.711 calls: parsing and building packets
//! (the `rtp` crate), a jitter buffer that turns packets arriving early,
//! late, twice or not at all into a steady 20 ms frame clock, and the call
//! recorder (robot/agent on the left channel, debtor on the right).
//!
//! Still to come here: the SIP user agent (rsipstack), the live call
//! session joining speech and dialogue, and the dialer worker.

pub mod call;
pub mod media;
pub mod sdp;
pub mod session;
pub mod sim;
pub mod sip;
pub mod worker;

pub use worker::DialerConfig;
