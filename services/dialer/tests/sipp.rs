//! Interop with SIPp, a SIP implementation nobody here wrote: SIPp as the
//! phone answering the robot's INVITE (echoing our RTP back), and SIPp as a
//! client sending a dialer worker requests it never expects, malformed
//! ones included. Nothing may crash and every dialog must end.
//! Needs `sipp` (Debian package sip-tester; ./scripts/ensure-deps.sh).

use huikuan_dialer::media::{MediaEvent, RtpSocket};
use huikuan_dialer::sip::{DialStep, SipAgent, Trunk, TrunkConfig};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::time::timeout;

fn udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sipp() -> Command {
    let mut c = Command::new("sipp");
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

#[tokio::test]
async fn sipp_answers_the_robots_call_and_media_flows() {
    let port = udp_port();
    let media_port = udp_port() & !1;
    let mut uas = tokio::process::Command::from(sipp())
        .args([
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-m",
            "1",
            "-rtp_echo",
            "-timeout",
            "60",
            "-timeout_error",
        ])
        .args(["-p", &port.to_string(), "-mp", &media_port.to_string()])
        .kill_on_drop(true)
        .spawn()
        .expect("sipp (apt-get install sip-tester)");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let agent = SipAgent::start("127.0.0.1:0".parse().unwrap(), "huikuan-test", None)
        .await
        .unwrap();
    let trunk = Trunk::new(
        TrunkConfig {
            max_concurrent: 1,
            ring_timeout_secs: 10,
            ..TrunkConfig::new("sipp", &format!("127.0.0.1:{port}"), "4008001234")
        },
        agent.clone(),
    )
    .unwrap();
    let rtp = RtpSocket::bind("127.0.0.1".parse().unwrap()).await.unwrap();
    let mut attempt = trunk
        .dial("13800000001", None, rtp.local_addr().unwrap())
        .await
        .unwrap();
    let (mut call, remote) = loop {
        match timeout(Duration::from_secs(10), attempt.next())
            .await
            .unwrap()
        {
            DialStep::Progress { .. } => {}
            DialStep::Answered { call, remote } => break (call, remote),
            DialStep::Failed { code, reason, .. } => {
                panic!("sipp did not answer: {code:?} {reason}")
            }
        }
    };
    let (media, mut events) = rtp.start(remote);
    let tone: Vec<f32> = (0..16000).map(|i| 0.3 * (i as f32 * 0.3).sin()).collect();
    media.play(&tone);
    let mut echoed = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while echoed < 4000 && tokio::time::Instant::now() < deadline {
        if let Ok(Some(MediaEvent::Audio { samples, .. })) =
            timeout(Duration::from_millis(200), events.recv()).await
        {
            echoed += samples.iter().filter(|s| s.abs() > 0.05).count();
        }
    }
    assert!(
        echoed >= 4000,
        "SIPp echoed {echoed} loud samples of our 16000"
    );
    call.hangup().await;
    media.stop();
    let status = timeout(Duration::from_secs(15), uas.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "SIPp's call did not complete: {status}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(agent.open_dialogs(), 0);
}

#[tokio::test]
async fn unexpected_and_malformed_sip_leaves_the_dialer_working() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let agent = SipAgent::start("127.0.0.1:0".parse().unwrap(), "huikuan-test", None)
        .await
        .unwrap();
    let target = agent.local_addr();
    // Datagrams that are not SIP at all.
    let junk = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in [
        &b"\x00\x01\x02"[..],
        b"SIP/2.0 200\r\n\r\n",
        &[0xff; 1400][..],
        b"INVITE\r\n\r\n",
    ] {
        junk.send_to(d, target).unwrap();
    }
    let scenario =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/sipp/unexpected.xml");
    let port = udp_port();
    let out = tokio::process::Command::from(sipp())
        .arg(target.to_string())
        .args(["-sf"])
        .arg(&scenario)
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-m",
            "1",
            "-timeout",
            "30",
            "-timeout_error",
        ])
        .kill_on_drop(true)
        .output()
        .await
        .expect("sipp (apt-get install sip-tester)");
    assert!(
        out.status.success(),
        "SIPp's scenario failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(agent.open_dialogs(), 0);
}
