//! RTP media for G.711 telephone calls.

pub mod dtmf;
pub mod jitter;
pub mod packet;
pub mod recorder;
pub mod rtp_session;

pub use jitter::{JitterBuffer, Playout};
pub use recorder::CallRecorder;
pub use rtp_session::{LineSimulation, MediaEvent, MediaHandle, MediaStats, RtpSocket};
