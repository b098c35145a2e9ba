//! Barge-in on its own (no other calls competing for the cores, so the
//! robot hears the sound while it is still talking): a sound from the
//! debtor's side too short to be speech only pauses the robot, whose line
//! then goes on.

mod common;

use common::{account, engines, init_tracing, today};
use huikuan_core::Dialect;
use huikuan_dialer::media::{LineSimulation, MediaEvent, RtpSocket};
use huikuan_dialer::sdp::AudioSession;
use huikuan_dialer::session::{RobotCall, RobotCallConfig};
use huikuan_dialogue::conversation::Engine;
use huikuan_speech::audio::rms;

/// A sound from the debtor's side too short to be speech (the first
/// 200 ms of a word, as a cough or a word broken off would be) pauses the
/// robot's opening at once, but the VAD does not confirm it: the line
/// goes on where it paused, uncut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sound_too_short_for_speech_only_pauses_the_robot() {
    init_tracing();
    let engines = engines();
    let ip = "127.0.0.1".parse().unwrap();
    let robot_sock = RtpSocket::bind(ip).await.unwrap();
    let phone_sock = RtpSocket::bind(ip).await.unwrap();
    let (robot_media, robot_events) =
        robot_sock.start(AudioSession::pcmu(phone_sock.local_addr().unwrap()));
    let (phone, mut phone_events) = phone_sock.start(AudioSession::pcmu(robot_media.local_addr()));
    // A real line carries some noise even when nobody talks.
    phone.simulate_line(LineSimulation {
        noise_dbfs: Some(-60.0),
        ..Default::default()
    });
    let phone_line = phone.clone();
    let word = engines
        .tts
        .sentence("喂，你好", Dialect::Mandarin, 8000)
        .unwrap();
    let start = word
        .chunks(160)
        .position(|f| rms(f) > 0.02)
        .expect("a spoken word")
        * 160;
    let burst = word[start..start + 8 * 200].to_vec();

    let dialogue = Engine::builtin();
    let robot = RobotCall {
        conversation: dialogue
            .start(account(), Dialect::Mandarin, today())
            .unwrap(),
        dialect: Dialect::Mandarin,
        config: RobotCallConfig {
            max_call_ms: 14_000,
            silence_timeout_ms: 30_000,
            ..Default::default()
        },
    };
    let played = tokio::spawn(async move {
        // Into the robot's opening, once it has talked for a second.
        let mut loud_ms = 0;
        let mut sent_at = None;
        while let Some(e) = phone_events.recv().await {
            if let MediaEvent::Audio { at_ms, samples, .. } = e {
                if rms(&samples) > 0.02 {
                    loud_ms += 20;
                }
                if loud_ms >= 1_000 && sent_at.is_none() {
                    phone.play(&burst);
                    sent_at = Some(at_ms);
                }
            }
        }
        sent_at
    });
    let report = robot
        .run(&engines, robot_media.clone(), robot_events, None)
        .await;
    robot_media.stop();
    phone_line.stop();
    eprintln!(
        "{}\nonsets resumed {}, barge-in stop ms {:?}",
        report.transcript_text(),
        report.onsets_resumed,
        report.barge_in_stop_ms
    );
    assert!(played.await.unwrap().is_some(), "the sound was played");
    assert!(
        report.onsets_resumed >= 1,
        "the robot did not pause for the sound"
    );
    assert!(report.barge_in_stop_ms.is_empty(), "{report:?}");
    assert!(
        !report.transcript.iter().any(|l| l.interrupted),
        "the opening was cut: {}",
        report.transcript_text()
    );
}
