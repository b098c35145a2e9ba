//! A call's media: the [`Line`] the call stages speak to, the RTP session
//! for G.711 telephone calls (with its jitter buffer, DTMF and packet
//! checks), the local line without a network, the stereo recorder, and the
//! agent's WebRTC leg of a bridged call.

pub mod agent_leg;
pub mod dtmf;
pub mod jitter;
pub mod line;
pub mod local;
pub mod packet;
pub mod recorder;
pub mod rtp_session;

pub use jitter::{JitterBuffer, Playout};
pub use line::{Line, SharedLine};
pub use local::FarEnd;
pub use recorder::CallRecorder;
pub use rtp_session::{LineSimulation, MediaEvent, MediaFigures, MediaHandle, RtpSocket};
