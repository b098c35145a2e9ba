//! The robot against real SIP software nobody here wrote:
//!
//! * Kamailio as the carrier trunk: it challenges every INVITE for digest
//!   credentials (407), relays the authenticated call to the debtor's
//!   phone and stays in the signalling path (Record-Route), so the ACK and
//!   BYE must follow its route. A wrong password gets no call.
//! * baresip as the debtor's phone: it answers by itself, speaks a
//!   recorded line and records what it hears; the robot must understand
//!   it and be understood.
//!
//! Needs `kamailio` and `baresip` (Debian packages kamailio and
//! baresip-core; ./scripts/ensure-deps.sh installs them).

mod common;

use common::{engines, init_tracing, robot_call};
use huikuan_core::Dialect;
use huikuan_dialer::session::{CallRecord, RobotCallConfig, Speaker};
use huikuan_dialer::sip::{DialStep, SipAgent, Trunk, TrunkConfig};
use huikuan_dialogue::conversation::Engine;
use huikuan_speech::SpeechEngines;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Waits until something has bound `addr` (UDP), or the child exits.
fn wait_bound(addr: SocketAddr, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while UdpSocket::bind(addr).is_ok() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited at start ({status}); see its log above");
        }
        assert!(Instant::now() < deadline, "{what} did not bind {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A peer process, stopped with its whole process group on drop
/// (Kamailio forks its workers).
struct Peer {
    child: Child,
    log: PathBuf,
}

impl Peer {
    fn start(mut cmd: Command, log: PathBuf) -> Peer {
        let out = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e} (run ./scripts/ensure-deps.sh)"));
        Peer { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

const TRUNK_USER: &str = "huikuan";
const TRUNK_PASSWORD: &str = "s3cret-trunk";

/// Kamailio as a carrier trunk on `listen`: digest authentication of
/// INVITEs, then every call relayed to `phone`, recording the route.
fn kamailio(dir: &Path, listen: SocketAddr, phone: SocketAddr) -> Peer {
    let cfg = format!(
        r#"#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=2
auto_aliases=no
listen=udp:{listen}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "xlog.so"
loadmodule "auth.so"

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ xlog("L_INFO", "in-dialog $rm via route\n"); t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (!is_method("INVITE")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    if (!pv_proxy_authenticate("$fd", "{TRUNK_PASSWORD}", "0") || $au != "{TRUNK_USER}") {{
        xlog("L_INFO", "challenge $rm $ru from $si:$sp user=$au\n");
        proxy_challenge("$fd", "0");
        exit;
    }}
    consume_credentials();
    remove_hf("Route");
    record_route();
    $du = "sip:{phone}";
    xlog("L_INFO", "relay $rm $ru to $du\n");
    t_relay();
}}
"#
    );
    let path = dir.join("kamailio.cfg");
    std::fs::write(&path, cfg).unwrap();
    let mut cmd = Command::new("kamailio");
    cmd.args([
        "-f",
        path.to_str().unwrap(),
        "-DD",
        "-E",
        "-m",
        "32",
        "-M",
        "8",
    ]);
    cmd.args(["-Y", dir.to_str().unwrap()]);
    let mut peer = Peer::start(cmd, dir.join("kamailio.log"));
    wait_bound(listen, &mut peer.child, "kamailio");
    peer
}

fn trunk(agent: std::sync::Arc<SipAgent>, proxy: SocketAddr, password: Option<&str>) -> Trunk {
    Trunk::new(
        TrunkConfig {
            domain: Some("carrier.test".into()),
            username: password.map(|_| TRUNK_USER.to_string()),
            password: password.map(str::to_string),
            ring_timeout_secs: 10,
            ..TrunkConfig::new("carrier", &proxy.to_string(), "4008001234")
        },
        agent,
    )
    .unwrap()
}

async fn call(
    trunk: &Trunk,
    engines: &SpeechEngines,
    number: &str,
    config: RobotCallConfig,
    recordings: &Path,
) -> CallRecord {
    let dialogue = Engine::builtin();
    robot_call(
        trunk,
        engines,
        &dialogue,
        number,
        Dialect::Mandarin,
        config,
        recordings,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kamailio_trunk_authenticates_the_robot_and_routes_the_whole_call() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let engines = engines();
    let sim = common::simulator(&engines).await;
    let proxy = free_udp();
    let kamailio = kamailio(dir.path(), proxy, sim.sip_addr());
    let agent = SipAgent::start("127.0.0.1:0".parse().unwrap(), "huikuan-test", None)
        .await
        .unwrap();

    // Wrong credentials: the trunk keeps challenging and nothing rings.
    let wrong = trunk(agent.clone(), proxy, Some("not-the-password"));
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut attempt = wrong
        .dial("13800000001", None, rtp.local_addr().unwrap())
        .await
        .unwrap();
    let refused = loop {
        match tokio::time::timeout(Duration::from_secs(15), attempt.next())
            .await
            .expect("the trunk answers")
        {
            DialStep::Progress { .. } => continue,
            DialStep::Answered { .. } => panic!("a wrong password got a call through"),
            DialStep::Failed { code, reason, .. } => break (code, reason),
        }
    };
    assert!(
        matches!(refused.0, Some(401 | 403 | 407)),
        "refused with {refused:?}"
    );
    assert!(
        sim.calls().is_empty(),
        "no call reached the phone: {:?}",
        sim.calls()
    );

    // The right credentials: the whole conversation through the trunk.
    let good = trunk(agent.clone(), proxy, Some(TRUNK_PASSWORD));
    let config = RobotCallConfig {
        // Unoptimised test builds with both ends' recognizers on two cores.
        silence_timeout_ms: 12_000,
        ..Default::default()
    };
    let report = call(&good, &engines, "13800000001", config, dir.path()).await;
    assert_eq!(report.disposition.as_str(), "promise_to_pay", "{report:?}");
    let outcome = report.outcome.as_ref().unwrap();
    assert_eq!(outcome.promise_date, "2026-12-02".parse().ok());
    // "三千五" said, more than the 3,250.50 overdue: a promise of all of it.
    assert_eq!(outcome.promise_amount, "3250.5".parse().ok());

    let mut record = None;
    for _ in 0..100 {
        record = sim.calls().into_iter().next();
        if record.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let record = record.expect("the phone kept a record of the call");
    assert!(record.answered);
    // The phone saw the caller id the trunk was given.
    assert_eq!(record.caller, "4008001234");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sim.open_dialogs(), 0, "the BYE reached the phone");
    assert_eq!(
        agent.open_dialogs(),
        0,
        "every dialog ended on the robot's side"
    );

    let log = kamailio.log();
    assert!(log.contains("challenge INVITE"), "no 407 challenge:\n{log}");
    assert!(
        log.contains("relay INVITE sip:13800000001@carrier.test"),
        "no authenticated relay:\n{log}"
    );
    assert!(
        log.contains("in-dialog BYE via route"),
        "the BYE did not follow the recorded route:\n{log}"
    );
}

/// What baresip says into the call: quiet while the robot opens, then
/// "对，我就是，什么事？", then quiet, as 8 kHz mono 16-bit WAV.
fn debtor_line(engines: &SpeechEngines, path: &Path) {
    let words = engines
        .tts
        .sentence("对，我就是，什么事？", Dialect::Mandarin, 8000)
        .unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let quiet = |w: &mut hound::WavWriter<_>, secs: u32| {
        for _ in 0..secs * 8000 {
            w.write_sample(0i16).unwrap();
        }
    };
    quiet(&mut w, 9);
    for s in words {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    quiet(&mut w, 40);
    w.finalize().unwrap();
}

/// The phone's own number (baresip answers calls to its account's user).
const PHONE_NUMBER: &str = "13800000001";

fn baresip(dir: &Path, listen: SocketAddr, say: &Path) -> Peer {
    let conf = dir.join("baresip");
    let heard = dir.join("heard");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::create_dir_all(&heard).unwrap();
    std::fs::write(
        conf.join("config"),
        format!(
            "poll_method epoll\nsip_listen {listen}\naudio_source aufile,{}\n\
             audio_player aufile,/dev/null\naudio_alert aufile,/dev/null\n\
             module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
             module sndfile.so\nmodule_app account.so\nsnd_path {}\n",
            say.display(),
            heard.display()
        ),
    )
    .unwrap();
    std::fs::write(
        conf.join("accounts"),
        format!(
            "<sip:{PHONE_NUMBER}@{}>;regint=0;answermode=auto;audio_codecs=PCMU/8000/1,PCMA/8000/1\n",
            listen.ip()
        ),
    )
    .unwrap();
    let mut cmd = Command::new("baresip");
    cmd.args(["-f", conf.to_str().unwrap()]);
    let mut peer = Peer::start(cmd, dir.join("baresip.log"));
    wait_bound(listen, &mut peer.child, "baresip");
    peer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_phone_and_robot_understand_each_other() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let engines = engines();
    let say = dir.path().join("say.wav");
    debtor_line(&engines, &say);
    let phone_addr = free_udp();
    let phone = baresip(dir.path(), phone_addr, &say);
    let agent = SipAgent::start("127.0.0.1:0".parse().unwrap(), "huikuan-test", None)
        .await
        .unwrap();
    let direct = trunk(agent.clone(), phone_addr, None);
    let config = RobotCallConfig {
        // Two silences after the debtor's one line end the call.
        silence_timeout_ms: 4_000,
        ..Default::default()
    };
    let report = call(&direct, &engines, PHONE_NUMBER, config, dir.path()).await;
    assert!(
        report.transcript.iter().any(
            |l| l.speaker == Speaker::Debtor && l.intent.as_deref() == Some("confirm_identity")
        ),
        "the robot did not understand the phone's '对，我就是': {}",
        report.transcript_text()
    );
    assert!(
        report.outcome.as_ref().is_some_and(|o| o.debt_disclosed),
        "identity confirmed, so the debt is stated: {report:?}"
    );
    let media = report.figures.media.expect("media figures");
    assert!(media.received > 100 && media.sent > 100, "{media:?}");
    drop(phone);

    // What the phone heard (its own recording of the decoded audio) is
    // the robot's opening, recognisable as such.
    let heard = std::fs::read_dir(dir.path().join("heard"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        .expect("baresip recorded what it heard");
    let mut reader = hound::WavReader::open(&heard).unwrap();
    let rate = reader.spec().sample_rate;
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| s.unwrap() as f32 / 32768.0)
        .collect();
    assert!(
        samples.len() as u32 > rate * 5,
        "the phone heard {} samples",
        samples.len()
    );
    let opening = &samples[..samples.len().min(rate as usize * 8)];
    let audio = huikuan_speech::audio::resample::convert(opening, rate, 16_000).unwrap();
    let text = engines
        .pool
        .recognize(audio, huikuan_speech::asr::Decoding::plain("zh"))
        .await
        .unwrap()
        .text;
    eprintln!("the phone heard: {text}");
    assert!(
        ["录音", "客服", "本人", "张伟", "易贷"]
            .iter()
            .any(|w| text.contains(w)),
        "the phone did not hear the robot's opening: {text}"
    );
}
