//! The agent's WebRTC leg against another WebRTC peer standing in for the
//! browser (offering PCMU only, as the console's page does): the answer
//! speaks PCMU only, and payloads cross both ways unchanged, in order.
//! The same exchange with Chromium is the console's browser test. A
//! supervisor's listening leg is tested the same way.

use huikuan_dialer::media::agent_leg::{
    pcmu_from_line, AgentLeg, AgentLegConfig, AgentLegError, PCMU,
};
use huikuan_dialer::session::listen_in::Listeners;
use huikuan_webrtc_leg::offerer::{codec, payload, Offerer};
use std::time::Duration;
use tokio::time::timeout;
use webrtc::api::media_engine::MIME_TYPE_OPUS;

const STEP: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcmu_payloads_cross_the_agent_leg_unchanged_both_ways() {
    let mut browser = Offerer::pcmu().await;
    let offer = browser.offer().await;
    let config = AgentLegConfig { loopback: true };
    let (mut leg, answer) = AgentLeg::answer(&offer, &config).await.unwrap();
    let audio_codecs: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=rtpmap:"))
        .collect();
    assert_eq!(audio_codecs, ["a=rtpmap:0 PCMU/8000"], "{answer}");
    browser.answered(answer).await;
    timeout(STEP, leg.connected())
        .await
        .expect("ICE/DTLS in time")
        .unwrap();

    // Debtor -> browser: the dialer forwards the SIP leg's packets.
    // Browser -> debtor: the agent's microphone. Both run until 50 packets
    // have arrived on each side (packets sent before the other side's
    // track is bound may be lost, as on any new call).
    let send_debtor = async {
        for i in 0..2000u16 {
            leg.send_payload(i, u32::from(i) * 160, payload(i))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let mut from_debtor = Vec::new();
    let receive_debtor = async {
        while from_debtor.len() < 50 {
            let p = browser.heard.recv().await.expect("browser track open");
            from_debtor.push(p);
        }
    };
    timeout(STEP, async {
        tokio::select! {
            _ = send_debtor => panic!("2,000 packets sent, fewer than 50 heard"),
            _ = receive_debtor => {}
        }
    })
    .await
    .expect("debtor audio reaches the browser");
    for p in &from_debtor {
        assert_eq!(p.header.payload_type, PCMU);
        let i = p.header.sequence_number;
        assert_eq!(p.payload, payload(i), "payload {i} unchanged");
        assert_eq!(p.header.timestamp, u32::from(i) * 160);
    }
    assert!(from_debtor
        .windows(2)
        .all(|w| w[0].header.sequence_number < w[1].header.sequence_number));

    let mut from_agent = Vec::new();
    timeout(STEP, async {
        let mut i = 0u16;
        loop {
            browser.say(i, payload(i)).await;
            i += 1;
            while let Ok(Some(p)) = timeout(Duration::from_millis(5), leg.recv()).await {
                from_agent.push(p);
            }
            if from_agent.len() >= 50 {
                break;
            }
        }
    })
    .await
    .expect("the agent's voice reaches the dialer");
    for p in &from_agent {
        assert_eq!(p.payload, payload(p.header.sequence_number));
    }
    leg.close().await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_without_pcmu_is_refused_by_name() {
    let browser = Offerer::offering(codec(MIME_TYPE_OPUS, 48000, 2), 111).await;
    let offer = browser.offer().await;
    let refused = AgentLeg::answer(&offer, &AgentLegConfig::default()).await;
    assert!(matches!(refused, Err(AgentLegError::NoPcmu)));
    assert!(AgentLegError::NoPcmu.to_string().contains("PCMU"));
    browser.close().await;
}

/// A supervisor's browser listening in (`session::listen_in`): it hears
/// the call as it sounds (the debtor's frame plus what the debtor was
/// sent), and its microphone reaches the agent's frame only while it
/// whispers, noted once as first heard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_hears_the_call_and_reaches_the_agent_only_while_whispering() {
    let mut browser = Offerer::pcmu().await;
    let offer = browser.offer().await;
    let mut listeners = Listeners::default();
    let answer = listeners
        .join("sup", &offer, &AgentLegConfig { loopback: true })
        .await
        .unwrap();
    browser.answered(answer).await;
    assert!(!listeners.is_empty());
    // Quiet, distinct levels: mu-law keeps them apart.
    let debtor = vec![0.10f32; 160];
    let sent = vec![0.05f32; 160];
    let call = pcmu_from_line(&[0.15f32; 160]);

    // The listener hears the call, 50 packets of it.
    let mut got = 0;
    timeout(STEP, async {
        while got < 50 {
            let whispered = listeners.tick(&debtor, &sent).await;
            assert!(whispered.frame.is_none(), "nobody whispers yet");
            while let Ok(p) = browser.heard.try_recv() {
                assert_eq!(p.payload, call, "the listener hears debtor + sent");
                got += 1;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the call reaches the listener");

    // The supervisor talks: nothing reaches the agent until whispering,
    // then their voice does, noted once.
    let voice = pcmu_from_line(&[0.3f32; 160]);
    let mut seq = 0u16;
    for _ in 0..50 {
        seq += 1;
        browser.say(seq, voice.clone()).await;
        let whispered = listeners.tick(&debtor, &sent).await;
        assert!(whispered.frame.is_none(), "heard before whispering");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(listeners.whisper("sup", true));
    assert!(!listeners.whisper("nobody", true));
    let mut firsts = Vec::new();
    let mut frames = 0;
    timeout(STEP, async {
        while frames < 20 {
            seq += 1;
            browser.say(seq, voice.clone()).await;
            let whispered = listeners.tick(&debtor, &sent).await;
            firsts.extend(whispered.first_heard);
            if let Some(f) = whispered.frame {
                assert_eq!(f.len(), 160);
                assert!(
                    f.iter().all(|s| (s - 0.3).abs() < 0.02),
                    "the whisper as spoken"
                );
                frames += 1;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the whisper reaches the agent's frame");
    assert_eq!(firsts, ["sup"], "first heard once");

    // Whispering off: the agent's frame is clean again at once.
    listeners.whisper("sup", false);
    for _ in 0..20 {
        seq += 1;
        browser.say(seq, voice.clone()).await;
        assert!(listeners.tick(&debtor, &sent).await.frame.is_none());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    listeners.stop("sup").await;
    assert!(listeners.is_empty());
    browser.close().await;
}
