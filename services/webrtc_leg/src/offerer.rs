//! The browser's side of a leg, for programs that stand in for a browser
//! (the tests, and the handoff benchmark's agents): it offers one audio
//! codec (PCMU, as the console's page does, or another to be refused),
//! sends on a microphone track and hands over what it hears.

use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::mpsc;
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_PCMU};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
pub use webrtc::rtp_transceiver::rtp_codec::RTCRtpCodecCapability;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpCodecParameters, RTPCodecType};
use webrtc::track::track_local::track_local_static_rtp::TrackLocalStaticRTP;
use webrtc::track::track_local::TrackLocalWriter;

/// An audio codec as a browser would offer it.
pub fn codec(mime: &str, rate: u32, channels: u16) -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: mime.to_owned(),
        clock_rate: rate,
        channels,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

/// A peer that offers, as a browser does.
pub struct Offerer {
    pub pc: Arc<RTCPeerConnection>,
    mic: Arc<TrackLocalStaticRTP>,
    /// Every RTP packet heard, in arrival order.
    pub heard: mpsc::Receiver<rtp::packet::Packet>,
}

impl Offerer {
    /// A peer that offers PCMU only.
    pub async fn pcmu() -> Offerer {
        Offerer::offering(codec(MIME_TYPE_PCMU, 8000, 0), crate::PCMU).await
    }

    /// A peer that offers only `offered`, as payload type `pt`.
    pub async fn offering(offered: RTCRtpCodecCapability, pt: u8) -> Offerer {
        let mut media = MediaEngine::default();
        media
            .register_codec(
                RTCRtpCodecParameters {
                    capability: offered.clone(),
                    payload_type: pt,
                    ..Default::default()
                },
                RTPCodecType::Audio,
            )
            .expect("codec registers");
        let registry =
            register_default_interceptors(Registry::new(), &mut media).expect("interceptors");
        let mut settings = SettingEngine::default();
        settings.set_include_loopback_candidate(true);
        let api = APIBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .build();
        let pc = Arc::new(
            api.new_peer_connection(RTCConfiguration::default())
                .await
                .expect("peer connection"),
        );
        let mic = Arc::new(TrackLocalStaticRTP::new(
            offered,
            "mic".into(),
            "agent".into(),
        ));
        pc.add_track(mic.clone()).await.expect("track");
        let (tx, heard) = mpsc::channel(1000);
        pc.on_track(Box::new(move |remote, _, _| {
            let tx = tx.clone();
            Box::pin(async move {
                while let Ok((p, _)) = remote.read_rtp().await {
                    if tx.send(p).await.is_err() {
                        break;
                    }
                }
            })
        }));
        Offerer { pc, mic, heard }
    }

    /// What it hears, for a reader of its own (`heard` is then empty).
    pub fn take_heard(&mut self) -> mpsc::Receiver<rtp::packet::Packet> {
        std::mem::replace(&mut self.heard, mpsc::channel(1).1)
    }

    /// The offer, with every candidate gathered.
    pub async fn offer(&self) -> String {
        let offer = self.pc.create_offer(None).await.expect("offer");
        let mut gathered = self.pc.gathering_complete_promise().await;
        self.pc
            .set_local_description(offer)
            .await
            .expect("local description");
        let _ = gathered.recv().await;
        self.pc
            .local_description()
            .await
            .expect("local description set")
            .sdp
    }

    pub async fn answered(&self, sdp: String) {
        self.pc
            .set_remote_description(RTCSessionDescription::answer(sdp).expect("answer SDP"))
            .await
            .expect("remote description");
    }

    /// Sends the `seq`th 20 ms PCMU packet of the microphone.
    pub async fn say(&self, seq: u16, payload: Bytes) {
        self.mic
            .write_rtp(&packet(seq, payload))
            .await
            .expect("write to the microphone track");
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// One payload per 20 ms packet, distinct and recognisable (for checks
/// that payloads cross unchanged).
pub fn payload(i: u16) -> Bytes {
    Bytes::from(
        (0..160)
            .map(|k| (i as usize * 7 + k) as u8)
            .collect::<Vec<u8>>(),
    )
}

/// The `seq`th 20 ms PCMU packet of a microphone.
pub fn packet(seq: u16, payload: Bytes) -> rtp::packet::Packet {
    rtp::packet::Packet {
        header: rtp::header::Header {
            version: 2,
            payload_type: crate::PCMU,
            sequence_number: seq,
            timestamp: u32::from(seq) * 160,
            ..Default::default()
        },
        payload,
    }
}
