//! A call's media without a network: the far end is a pair of channels of
//! 8 kHz frames (a sound card's microphone in, its speaker out; or a test
//! feeding a debtor's voice). Same 20 ms clock, playback queue, pause and
//! cut, recorder and events as the RTP session, so the robot cannot tell
//! the difference; there is simply no packet, codec or jitter buffer.

use super::rtp_session::{
    heard_frame, lock, next_tick, sent_frame, MediaEvent, MediaHandle, Tick, EVENT_QUEUE, FRAME,
};
use crate::sdp::AudioSession;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;

/// The far end of a local line: what it says (any length of 8 kHz
/// samples) and what it hears (one 20 ms frame a tick).
pub struct FarEnd {
    pub says: mpsc::Receiver<Vec<f32>>,
    pub hears: mpsc::UnboundedSender<Vec<f32>>,
}

impl MediaHandle {
    /// Starts a local line: its clock runs until the handle is stopped.
    pub fn start_local(far: FarEnd) -> (MediaHandle, mpsc::Receiver<MediaEvent>) {
        let nowhere = SocketAddr::from(([127, 0, 0, 1], 0));
        let handle = MediaHandle::new(AudioSession::pcmu(nowhere), nowhere);
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        tokio::spawn(run_local(handle.clone(), far, tx));
        (handle, rx)
    }
}

async fn run_local(h: MediaHandle, mut far: FarEnd, events: mpsc::Sender<MediaEvent>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut dtmf_first = true;
    let mut incoming: VecDeque<f32> = VecDeque::new();
    let mut tick_no: u64 = 0;
    loop {
        tokio::select! {
            _ = h.cancel.cancelled() => break,
            _ = ticker.tick() => {
                let at_ms = tick_no * 20;
                tick_no += 1;
                while let Ok(block) = far.says.try_recv() {
                    incoming.extend(block);
                }
                let mut received: Vec<f32> =
                    incoming.drain(..incoming.len().min(FRAME)).collect();
                received.resize(FRAME, 0.0);
                lock(&h.stats).received += 1;
                let tick = next_tick(&mut lock(&h.out), &mut dtmf_first);
                let sent = match tick {
                    Tick::Audio { samples, started, finished, cut } => {
                        sent_frame(&h, at_ms, samples, started, finished, cut, &received, &events)
                    }
                    // No DTMF over a local line: silence.
                    Tick::Dtmf(..) => vec![0.0; FRAME],
                };
                if far.hears.send(sent.clone()).is_ok() {
                    lock(&h.stats).sent += 1;
                }
                if !heard_frame(&h, at_ms, received, sent, &events) {
                    break;
                }
            }
        }
    }
    h.cancel.cancel();
}
