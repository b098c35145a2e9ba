//! The agent's (and a listening supervisor's) leg of a bridged call: a
//! browser joined by WebRTC, PCMU only (`huikuan_webrtc_leg`), and the
//! conversion between the line's samples and PCMU payloads.

use bytes::Bytes;
use huikuan_speech::audio::g711::Law;

pub use huikuan_webrtc_leg::{AgentLeg, AgentLegConfig, AgentLegError, PCMU};

/// Line samples (as the line decodes G.711: divided by 32768) to a PCMU
/// payload. A frame decoded from PCMU comes back as the same bytes, so
/// the debtor's audio reaches the browser as it arrived.
pub fn pcmu_from_line(samples: &[f32]) -> Bytes {
    let pcm: Vec<i16> = samples
        .iter()
        .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect();
    Bytes::from(Law::Ulaw.encode(&pcm))
}

/// A PCMU payload to line samples.
pub fn line_from_pcmu(payload: &[u8]) -> Vec<f32> {
    Law::Ulaw
        .decode(payload)
        .into_iter()
        .map(|s| f32::from(s) / 32768.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{line_from_pcmu, pcmu_from_line};
    use huikuan_speech::audio::g711::Law;

    #[test]
    fn the_debtors_pcmu_reaches_the_agent_unchanged() {
        let all: Vec<u8> = (0..=255).collect();
        let again = pcmu_from_line(&line_from_pcmu(&all));
        // mu-law has two codes for zero; every other byte comes back as
        // it was, and every one decodes to the same value.
        assert_eq!(Law::Ulaw.decode(&again), Law::Ulaw.decode(&all));
        let changed = all.iter().zip(again.iter()).filter(|(a, b)| a != b).count();
        assert!(changed <= 1, "{changed} bytes changed");
    }
}
