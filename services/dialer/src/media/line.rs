//! What carries one call's audio to and from the debtor: a [`Line`].
//!
//! The call stages speak to a line, not to RTP: queue an utterance, pause
//! it for a possible barge-in, resume or cut it, read the call clock, hang
//! up. Its audio comes to them as [`MediaEvent`]s on the 20 ms clock (each
//! heard frame with the frame sent on the same tick). Lines: the RTP
//! session towards a SIP peer, and the local line of `huikuan talk` and of
//! tests ([`MediaHandle::start_local`], a sound card or a channel). The
//! agent's WebRTC leg will be the next.
//!
//! [`MediaEvent`]: super::MediaEvent

use super::{MediaFigures, MediaHandle};
use crate::sdp::AudioSession;
use std::sync::Arc;

pub trait Line: Send + Sync {
    /// Milliseconds since the line started (the call clock).
    fn now_ms(&self) -> u64;
    /// Queues 8 kHz speech after what is queued; returns its id for the
    /// playback events.
    fn play(&self, samples: &[f32]) -> u64;
    /// Drops what is queued; returns how many ms were cut.
    fn stop_playback(&self) -> u64;
    /// Silence goes out and the queue waits (a possible barge-in).
    fn pause_playback(&self);
    fn resume_playback(&self);
    fn is_paused(&self) -> bool;
    /// Something is queued (playing, or paused).
    fn is_playing(&self) -> bool;
    /// Milliseconds of speech queued and not yet sent.
    fn queued_ms(&self) -> u64;
    /// The far end's media moved (a SIP re-INVITE). Lines without SDP
    /// ignore it.
    fn update_remote(&self, _remote: AudioSession) {}
    /// What the line measured so far.
    fn figures(&self) -> MediaFigures;
    /// Stops the line's clock.
    fn stop(&self);
}

/// A line shared by a call's stages and their voices.
pub type SharedLine = Arc<dyn Line>;

impl Line for MediaHandle {
    fn now_ms(&self) -> u64 {
        MediaHandle::now_ms(self)
    }
    fn play(&self, samples: &[f32]) -> u64 {
        MediaHandle::play(self, samples)
    }
    fn stop_playback(&self) -> u64 {
        MediaHandle::stop_playback(self)
    }
    fn pause_playback(&self) {
        MediaHandle::pause_playback(self)
    }
    fn resume_playback(&self) {
        MediaHandle::resume_playback(self)
    }
    fn is_paused(&self) -> bool {
        MediaHandle::is_paused(self)
    }
    fn is_playing(&self) -> bool {
        MediaHandle::is_playing(self)
    }
    fn queued_ms(&self) -> u64 {
        MediaHandle::queued_ms(self)
    }
    fn update_remote(&self, remote: AudioSession) {
        MediaHandle::update_remote(self, remote)
    }
    fn figures(&self) -> MediaFigures {
        self.stats()
    }
    fn stop(&self) {
        MediaHandle::stop(self)
    }
}
