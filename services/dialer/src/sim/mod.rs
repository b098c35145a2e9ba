//! The debtor simulator: a SIP phone (UAS) that answers the robot's calls
//! as scripted personas, speaking their lines with TTS and taking turns by
//! listening with ASR, and writes down what it heard and how long the
//! robot took to answer each of its lines. It is the demo partner and the
//! end-to-end test peer.

pub mod persona;
pub mod phone;

pub use persona::{
    Answer, Expectation, ExpectedOutcome, Listen, Persona, PersonaSet, PersonaTurn, PersonaVoice,
};
pub use phone::{HeardCall, Simulator};
