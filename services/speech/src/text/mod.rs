//! Text around the recognizer: normalisation and error rates.

pub mod cer;
pub mod normalize;

pub use cer::CerCount;
pub use normalize::{clean_transcript, scoring_form, to_simplified};
