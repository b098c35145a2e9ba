//! Supervisors listening in on a bridged call, and whispering to its
//! agent.
//!
//! Each supervisor's browser is one more WebRTC leg ([`AgentLeg`], PCMU)
//! of the call. Every 20 ms tick of the debtor's line, each listener is
//! sent the call as it sounds: the debtor's frame plus what the debtor was
//! sent (the agent's voice, or the hold prompt). Nobody hears a listener
//! until it whispers; a whisper goes into the agent's ear only: the
//! whispering listeners' voices are mixed into the frame the agent is
//! sent, never onto the debtor's line (nor into the call's recording).
//!
//! A listener's packets are drained on every tick whether it whispers or
//! not; a whisper waits at most [`WHISPER_BUFFER_FRAMES`] frames, so a
//! burst from the browser never builds up delay.

use crate::media::agent_leg::{
    line_from_pcmu, pcmu_from_line, AgentLeg, AgentLegConfig, AgentLegError,
};
use huikuan_speech::audio::rms;
use std::collections::{HashMap, VecDeque};

/// The most of a whisper held for the agent's ear (frames of 20 ms).
pub const WHISPER_BUFFER_FRAMES: usize = 5;
/// A whisper frame this loud counts as the supervisor's voice.
const VOICE: f32 = 0.01;

struct Listener {
    leg: AgentLeg,
    whisper: bool,
    /// Their voice has reached the agent since whispering was switched on.
    heard: bool,
    seq: u16,
    ts: u32,
    waiting: VecDeque<f32>,
}

/// The supervisors on one call, by name.
#[derive(Default)]
pub struct Listeners {
    by_name: HashMap<String, Listener>,
}

/// What one tick gives the agent: the whisper to add to the frame the
/// agent is sent, and the supervisors whose voice reached the agent for
/// the first time since they began whispering.
pub struct Whispered {
    pub frame: Option<Vec<f32>>,
    pub first_heard: Vec<String>,
}

impl Listeners {
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Answers `supervisor`'s offer (replacing a leg they had: a reload).
    pub async fn join(
        &mut self,
        supervisor: &str,
        offer: &str,
        config: &AgentLegConfig,
    ) -> Result<String, AgentLegError> {
        self.stop(supervisor).await;
        let (leg, sdp) = AgentLeg::answer(offer, config).await?;
        self.by_name.insert(
            supervisor.to_string(),
            Listener {
                leg,
                whisper: false,
                heard: false,
                seq: rand::random(),
                ts: rand::random(),
                waiting: VecDeque::new(),
            },
        );
        Ok(sdp)
    }

    /// Whispering on or off; false when `supervisor` is not listening.
    pub fn whisper(&mut self, supervisor: &str, on: bool) -> bool {
        match self.by_name.get_mut(supervisor) {
            Some(l) => {
                l.whisper = on;
                l.heard = false;
                l.waiting.clear();
                true
            }
            None => false,
        }
    }

    pub async fn stop(&mut self, supervisor: &str) {
        if let Some(l) = self.by_name.remove(supervisor) {
            l.leg.close().await;
        }
    }

    pub async fn close_all(&mut self) {
        for (_, l) in self.by_name.drain() {
            l.leg.close().await;
        }
    }

    /// One tick of the call: `debtor` is the debtor's frame, `sent` what
    /// the debtor was sent on the same tick.
    pub async fn tick(&mut self, debtor: &[f32], sent: &[f32]) -> Whispered {
        let n = debtor.len();
        let call: Vec<f32> = (0..n)
            .map(|i| debtor[i] + sent.get(i).copied().unwrap_or(0.0))
            .collect();
        let payload = pcmu_from_line(&call);
        let mut mix: Option<Vec<f32>> = None;
        let mut first_heard = Vec::new();
        for (name, l) in self.by_name.iter_mut() {
            l.seq = l.seq.wrapping_add(1);
            l.ts = l.ts.wrapping_add(n as u32);
            if let Err(e) = l.leg.send_payload(l.seq, l.ts, payload.clone()).await {
                tracing::debug!(error = %e, "a frame to a listener was lost");
            }
            while let Some(p) = l.leg.try_recv() {
                if l.whisper {
                    l.waiting.extend(line_from_pcmu(&p.payload));
                }
            }
            let most = WHISPER_BUFFER_FRAMES * n;
            if l.waiting.len() > most {
                let extra = l.waiting.len() - most;
                l.waiting.drain(..extra);
            }
            if !l.whisper || l.waiting.len() < n {
                continue;
            }
            let frame: Vec<f32> = l.waiting.drain(..n).collect();
            if !l.heard && rms(&frame) > VOICE {
                l.heard = true;
                first_heard.push(name.clone());
            }
            let m = mix.get_or_insert_with(|| vec![0.0; n]);
            for (m, s) in m.iter_mut().zip(frame) {
                *m += s;
            }
        }
        Whispered {
            frame: mix,
            first_heard,
        }
    }
}
