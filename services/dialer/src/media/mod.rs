//! RTP media for G.711 telephone calls.

pub mod jitter;
pub mod recorder;

pub use jitter::{JitterBuffer, Playout};
pub use recorder::CallRecorder;
