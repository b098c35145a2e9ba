//! A browser's audio leg over WebRTC (the `webrtc` crate) that speaks
//! PCMU only, so G.711 payloads from a telephone line reach the browser,
//! and the browser's reach the line, as they are: no decoding, no
//! re-encoding, no jitter buffer on the way (the browser has its own).
//!
//! The dialer joins an agent's or a supervisor's browser to a live call
//! with it; the console holds an agent's *standing line* (auto-answer)
//! with it. It knows nothing of calls: it answers one offer and then
//! moves packets.
//!
//! The browser offers (PCMU only, by `setCodecPreferences`); this side
//! answers once its ICE candidates are gathered, so the answer carries
//! them and no trickle is needed. An offer without PCMU is refused, named.
//! Payloads travel as [`rtp::packet::Packet`]s: what is written keeps its
//! sequence numbers and timestamps (the track puts in its own SSRC and
//! payload type), and what arrives is handed over packet by packet.

pub mod offerer;

use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::mpsc;
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_PCMU};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::network_type::NetworkType;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
pub use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType,
};
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::TrackLocalWriter;

/// G.711 mu-law's static payload type.
pub const PCMU: u8 = 0;

/// Packets from the browser buffered before the oldest are dropped
/// (2 s of 20 ms packets).
const INCOMING: usize = 100;

/// How the agent leg reaches browsers.
#[derive(Debug, Clone, Default)]
pub struct AgentLegConfig {
    /// Offer loopback candidates too (a browser on the dialer's own host:
    /// the demo and the tests).
    pub loopback: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentLegError {
    #[error("the browser's offer has no PCMU audio (it must offer audio/PCMU, e.g. with setCodecPreferences)")]
    NoPcmu,
    #[error("the browser's offer is not valid SDP: {0}")]
    BadOffer(String),
    #[error("webrtc: {0}")]
    WebRtc(#[from] webrtc::Error),
}

/// One browser joined to one call.
pub struct AgentLeg {
    pc: Arc<RTCPeerConnection>,
    track: Arc<TrackLocalStaticRTP>,
    incoming: mpsc::Receiver<rtp::packet::Packet>,
    state: tokio::sync::watch::Receiver<RTCPeerConnectionState>,
}

fn pcmu() -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: MIME_TYPE_PCMU.to_owned(),
        clock_rate: 8000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

/// True when the SDP offers PCMU for audio.
fn offers_pcmu(sdp: &str) -> bool {
    sdp.lines().any(|l| {
        l.trim_end()
            .to_ascii_uppercase()
            .starts_with("A=RTPMAP:0 PCMU/8000")
    })
}

impl AgentLeg {
    /// Answers a browser's offer; returns the leg and the answer to send
    /// back.
    pub async fn answer(
        offer_sdp: &str,
        config: &AgentLegConfig,
    ) -> Result<(AgentLeg, String), AgentLegError> {
        if !offers_pcmu(offer_sdp) {
            return Err(AgentLegError::NoPcmu);
        }
        let mut media = MediaEngine::default();
        media.register_codec(
            RTCRtpCodecParameters {
                capability: pcmu(),
                payload_type: PCMU,
                ..Default::default()
            },
            RTPCodecType::Audio,
        )?;
        let registry = register_default_interceptors(Registry::new(), &mut media)?;
        let mut settings = SettingEngine::default();
        settings.set_network_types(vec![NetworkType::Udp4]);
        settings.set_include_loopback_candidate(config.loopback);
        let api = APIBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .build();
        let pc = Arc::new(api.new_peer_connection(RTCConfiguration::default()).await?);

        let track = Arc::new(TrackLocalStaticRTP::new(
            pcmu(),
            "debtor".to_owned(),
            "huikuan-call".to_owned(),
        ));
        let sender = pc.add_track(track.clone()).await?;
        // RTCP from the browser must be read for the interceptors to work.
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1500];
            while sender.read(&mut buf).await.is_ok() {}
        });

        let (tx, incoming) = mpsc::channel(INCOMING);
        pc.on_track(Box::new(move |remote, _receiver, _transceiver| {
            let tx = tx.clone();
            Box::pin(async move {
                while let Ok((packet, _)) = remote.read_rtp().await {
                    if packet.header.payload_type != PCMU {
                        continue;
                    }
                    if tx.try_send(packet).is_err() && tx.is_closed() {
                        break;
                    }
                }
            })
        }));
        let (state_tx, state) = tokio::sync::watch::channel(RTCPeerConnectionState::New);
        pc.on_peer_connection_state_change(Box::new(move |s| {
            let _ = state_tx.send(s);
            Box::pin(async {})
        }));

        let offer = RTCSessionDescription::offer(offer_sdp.to_owned())
            .map_err(|e| AgentLegError::BadOffer(e.to_string()))?;
        pc.set_remote_description(offer)
            .await
            .map_err(|e| AgentLegError::BadOffer(e.to_string()))?;
        let answer = pc.create_answer(None).await?;
        let mut gathered = pc.gathering_complete_promise().await;
        pc.set_local_description(answer).await?;
        let _ = gathered.recv().await;
        let sdp = pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or_else(|| webrtc::Error::new("no local description after answering".into()))?;
        Ok((
            AgentLeg {
                pc,
                track,
                incoming,
                state,
            },
            sdp,
        ))
    }

    /// Sends one packet of PCMU toward the browser, as it came from the
    /// debtor's leg.
    pub async fn send(&self, packet: &rtp::packet::Packet) -> Result<(), AgentLegError> {
        self.track.write_rtp(packet).await?;
        Ok(())
    }

    /// Sends a PCMU payload with the given sequence number and timestamp.
    pub async fn send_payload(
        &self,
        sequence_number: u16,
        timestamp: u32,
        payload: Bytes,
    ) -> Result<(), AgentLegError> {
        let packet = rtp::packet::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: PCMU,
                sequence_number,
                timestamp,
                ..Default::default()
            },
            payload,
        };
        self.send(&packet).await
    }

    /// The next packet of the agent's voice (PCMU); `None` once the
    /// connection is gone.
    pub async fn recv(&mut self) -> Option<rtp::packet::Packet> {
        self.incoming.recv().await
    }

    /// A packet of the browser's voice already received, if any.
    pub fn try_recv(&mut self) -> Option<rtp::packet::Packet> {
        self.incoming.try_recv().ok()
    }

    /// The connection's state, watched.
    pub fn state(&self) -> tokio::sync::watch::Receiver<RTCPeerConnectionState> {
        self.state.clone()
    }

    /// Waits until the connection is up (`Ok`) or has failed (`Err` with
    /// the state it ended in).
    pub async fn connected(&self) -> Result<(), RTCPeerConnectionState> {
        let mut state = self.state.clone();
        loop {
            let now = *state.borrow_and_update();
            match now {
                RTCPeerConnectionState::Connected => return Ok(()),
                RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => return Err(now),
                _ => {}
            }
            if state.changed().await.is_err() {
                return Err(RTCPeerConnectionState::Closed);
            }
        }
    }

    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            tracing::debug!(error = %e, "closing the agent's peer connection");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_offers_with_pcmu_are_taken() {
        assert!(offers_pcmu(
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n"
        ));
        assert!(!offers_pcmu(
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
        ));
    }
}
