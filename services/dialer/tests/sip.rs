//! Two SIP user agents on loopback, one dialing through the other as its
//! "trunk": answer, busy, ring timeout with CANCEL, early media, hang-up
//! from either side, hold by re-INVITE, and media flowing once answered.

use huikuan_core::Disposition;
use huikuan_dialer::media::{MediaEvent, RtpSocket};
use huikuan_dialer::sdp::Direction;
use huikuan_dialer::sip::{CallEvent, DialStep, IncomingCall, SipAgent, Trunk, TrunkConfig};
use rsipstack::sip::StatusCode;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::timeout;

const LOOPBACK: &str = "127.0.0.1:0";

async fn phone() -> (Arc<SipAgent>, mpsc::Receiver<IncomingCall>) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let (tx, rx) = mpsc::channel(8);
    let agent = SipAgent::start(LOOPBACK.parse().unwrap(), "test-phone", Some(tx))
        .await
        .unwrap();
    (agent, rx)
}

async fn dialer(to: &SipAgent, ring_secs: u64) -> Trunk {
    let agent = SipAgent::start(LOOPBACK.parse().unwrap(), "huikuan-test", None)
        .await
        .unwrap();
    Trunk::new(
        TrunkConfig {
            max_concurrent: 4,
            calls_per_second: 50.0,
            ring_timeout_secs: ring_secs,
            codec: "pcma".into(),
            ..TrunkConfig::new("loop", &to.local_addr().to_string(), "4008001234")
        },
        agent,
    )
    .unwrap()
}

fn ip() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

async fn step(attempt: &mut huikuan_dialer::sip::DialAttempt) -> DialStep {
    timeout(Duration::from_secs(10), attempt.next())
        .await
        .expect("dial step within 10 s")
}

#[tokio::test]
async fn answered_call_carries_media_and_ends_with_bye_both_ways() {
    let (phone, mut incoming) = phone().await;
    let trunk = dialer(&phone, 30).await;
    let rtp = RtpSocket::bind(ip()).await.unwrap();
    let mut attempt = trunk
        .dial("+86 138-0013-8000", None, rtp.local_addr().unwrap())
        .await
        .unwrap();

    let call = timeout(Duration::from_secs(5), incoming.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call.number, "+8613800138000");
    assert_eq!(call.caller, "4008001234");
    let offer = call.offer.clone().unwrap();
    assert_eq!(offer.dtmf_payload_type, Some(101));
    call.ring(None).unwrap();
    let phone_rtp = RtpSocket::bind(ip()).await.unwrap();
    let phone_addr = phone_rtp.local_addr().unwrap();
    let answering = tokio::spawn(async move { call.answer(phone_addr).await });

    match step(&mut attempt).await {
        DialStep::Progress {
            code: 180,
            early_media: None,
        } => {}
        DialStep::Progress { code, early_media } => panic!("got {code} {early_media:?}"),
        DialStep::Failed { code, reason, .. } => panic!("failed {code:?} {reason}"),
        DialStep::Answered { .. } => panic!("answered"),
    }
    let DialStep::Answered { mut call, remote } = step(&mut attempt).await else {
        panic!("expected answer");
    };
    assert_eq!(remote.rtp, phone_addr);
    // The trunk prefers PCMA and the phone answered with what we offered first.
    let (mut phone_call, phone_offer) = answering.await.unwrap().expect("phone answered");
    assert_eq!(phone_offer.rtp, rtp.local_addr().unwrap());

    // Media both ways.
    let (robot_media, _robot_events) = rtp.start(remote);
    let (phone_media, mut phone_events) = phone_rtp.start(phone_offer);
    robot_media.play(&vec![0.25; 1600]);
    let mut loud = 0;
    while loud < 800 {
        match timeout(Duration::from_secs(3), phone_events.recv())
            .await
            .unwrap()
        {
            Some(MediaEvent::Audio { samples, .. }) => {
                loud += samples.iter().filter(|s| s.abs() > 0.1).count()
            }
            Some(_) => {}
            None => panic!("media stopped"),
        }
    }

    // Hold and resume from the phone's side reach the robot as media changes.
    let (answer, event) = tokio::join!(phone_call.reoffer(Direction::SendOnly), async {
        timeout(Duration::from_secs(5), call.next_event())
            .await
            .unwrap()
    });
    assert_eq!(
        answer.expect("hold answered").direction,
        Direction::RecvOnly
    );
    match event {
        CallEvent::MediaChanged(m) => assert!(m.direction.is_hold()),
        other => panic!("expected hold, got {other:?}"),
    }
    let (answer, event) = tokio::join!(phone_call.reoffer(Direction::SendRecv), async {
        timeout(Duration::from_secs(5), call.next_event())
            .await
            .unwrap()
    });
    assert_eq!(
        answer.expect("resume answered").direction,
        Direction::SendRecv
    );
    match event {
        CallEvent::MediaChanged(m) => assert!(!m.direction.is_hold()),
        other => panic!("expected resume, got {other:?}"),
    }

    // The robot hangs up; the phone hears the BYE.
    call.hangup().await;
    match timeout(Duration::from_secs(5), phone_call.next_event())
        .await
        .unwrap()
    {
        CallEvent::Ended { by_peer: true, .. } => {}
        other => panic!("expected BYE, got {other:?}"),
    }
    robot_media.stop();
    phone_media.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(phone.open_dialogs(), 0);
}

#[tokio::test]
async fn the_debtor_hanging_up_ends_the_robots_call() {
    let (phone, mut incoming) = phone().await;
    let trunk = dialer(&phone, 30).await;
    let rtp = RtpSocket::bind(ip()).await.unwrap();
    let mut attempt = trunk
        .dial("13800138001", None, rtp.local_addr().unwrap())
        .await
        .unwrap();
    let call = incoming.recv().await.unwrap();
    let answering =
        tokio::spawn(async move { call.answer("127.0.0.1:40002".parse().unwrap()).await });
    let DialStep::Answered { mut call, .. } = step(&mut attempt).await else {
        panic!("expected answer");
    };
    let (mut phone_call, _) = answering.await.unwrap().unwrap();
    // The Call-ID names this agent's own host, not the SIP library's.
    let id = phone_call.call_id();
    assert!(id.ends_with("@127.0.0.1") && id.len() > 40, "{id}");
    assert_eq!(call.call_id(), id);
    phone_call.hangup().await;
    match timeout(Duration::from_secs(5), call.next_event())
        .await
        .unwrap()
    {
        CallEvent::Ended { by_peer: true, .. } => {}
        other => panic!("expected the debtor's BYE, got {other:?}"),
    }
}

#[tokio::test]
async fn busy_and_invalid_numbers_become_dispositions() {
    let (phone, mut incoming) = phone().await;
    let trunk = dialer(&phone, 30).await;
    for (status, want) in [
        (StatusCode::BusyHere, Disposition::Busy),
        (StatusCode::NotFound, Disposition::InvalidNumber),
        (StatusCode::TemporarilyUnavailable, Disposition::NoAnswer),
        (StatusCode::ServiceUnavailable, Disposition::Failed),
    ] {
        let mut attempt = trunk
            .dial("13800138002", None, "127.0.0.1:40000".parse().unwrap())
            .await
            .unwrap();
        incoming.recv().await.unwrap().reject(status.clone());
        match step(&mut attempt).await {
            DialStep::Failed {
                code, disposition, ..
            } => {
                assert_eq!(code, Some(status.code()));
                assert_eq!(disposition, want, "{status}");
            }
            _ => panic!("{status}: expected a failure"),
        }
    }
}

#[tokio::test]
async fn ring_timeout_cancels_and_early_media_is_offered() {
    let (phone, mut incoming) = phone().await;
    let trunk = dialer(&phone, 1).await;
    let mut attempt = trunk
        .dial("13800138003", None, "127.0.0.1:40000".parse().unwrap())
        .await
        .unwrap();
    let mut call = incoming.recv().await.unwrap();
    call.ring(Some("127.0.0.1:41000".parse().unwrap())).unwrap();
    match step(&mut attempt).await {
        DialStep::Progress {
            code: 183,
            early_media: Some(m),
        } => {
            assert_eq!(
                m.rtp,
                "127.0.0.1:41000".parse::<std::net::SocketAddr>().unwrap()
            )
        }
        _ => panic!("expected 183 with SDP"),
    }
    let waiting = tokio::spawn(async move { call.wait_cancelled().await });
    match step(&mut attempt).await {
        DialStep::Failed { disposition, .. } => assert_eq!(disposition, Disposition::NoAnswer),
        _ => panic!("expected no answer after the ring timeout"),
    }
    timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_dialer_refuses_calls_and_unknown_dialogs() {
    // The dialer's agent takes no calls: an INVITE to it gets 403.
    let (phone, _incoming) = phone().await;
    let dialer_agent = SipAgent::start(LOOPBACK.parse().unwrap(), "huikuan-test", None)
        .await
        .unwrap();
    let trunk = Trunk::new(
        TrunkConfig {
            max_concurrent: 1,
            calls_per_second: 10.0,
            ring_timeout_secs: 5,
            ..TrunkConfig::new("back", &dialer_agent.local_addr().to_string(), "1")
        },
        phone.clone(),
    )
    .unwrap();
    let mut attempt = trunk
        .dial("100", None, "127.0.0.1:40000".parse().unwrap())
        .await
        .unwrap();
    match step(&mut attempt).await {
        DialStep::Failed { code, .. } => assert_eq!(code, Some(403)),
        _ => panic!("expected 403"),
    }
}

#[test]
fn trunk_config_errors_name_the_field() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let agent = SipAgent::start(LOOPBACK.parse().unwrap(), "t", None)
            .await
            .unwrap();
        let base = TrunkConfig {
            codec: "g729".into(),
            ..TrunkConfig::new("t1", "pbx.example:5060", "1")
        };
        let e = Trunk::new(base.clone(), agent.clone())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("trunk t1: proxy"), "{e}");
        let e = Trunk::new(
            TrunkConfig {
                proxy: "10.0.0.1:5060".into(),
                ..base
            },
            agent,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("codec") && e.contains("g729"), "{e}");
    });
}
