//! Huikuan's dialer: everything between a phone line and the speech and
//! dialogue engines.
//!
//! * [`sip`]: the SIP user agent on rsipstack: trunks (outbound proxy,
//!   digest credentials, caller id, CPS and concurrency limits), outbound
//!   calls with early media and ring timeout, SIP codes as dispositions,
//!   hold by re-INVITE, and inbound calls for the simulator.
//! * [`sdp`]: G.711 offer/answer with RFC 4733 telephone-event.
//! * [`media`]: RTP on a 20 ms clock with a jitter buffer, DTMF, and the
//!   stereo call recording.
//! * [`session`]: the live robot call (hear, understand, decide, speak;
//!   barge-in, silence, carrier announcements).
//! * [`call`]: one outbound call from INVITE to report; [`worker`]: the
//!   dialer worker leasing calls from the orchestrator.
//! * [`sim`]: the debtor simulator (scripted personas on a SIP phone).
//!
//! Not here: what the robot says and decides (huikuan-dialogue), how it
//! hears and speaks (huikuan-speech), the call queue (the orchestrator).

pub mod call;
pub mod media;
pub mod sdp;
pub mod session;
pub mod sim;
pub mod sip;
pub mod worker;

pub use worker::DialerConfig;
