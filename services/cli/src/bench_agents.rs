//! `huikuan dev bench-agents CONFIG.json`: the handoff benchmark's agents
//! without a browser, so that twenty of them fit beside the system on a
//! small machine (twenty Chromium pages take most of two cores).
//!
//! Each agent does what the agent desktop does with auto-answer on, over
//! the same endpoints: logs in (the login form's double-submit token, then
//! the session cookie), goes available, opens the desk's WebSocket with
//! the page's CSRF token and origin, opens a standing line (a PCMU WebRTC
//! connection to the console, `huikuan_webrtc_leg::offerer`) and keeps
//! its microphone (a WAV, looped) talking on it; it accepts every offer
//! with `standing: true`, and after the benchmark's hang-up files the
//! wrap-up as JSON with the CSRF header. The HTTP requests are written by
//! hand (HTTP/1.1, one request per connection): the workspace has no HTTP
//! client, and these four requests do not justify one.
//!
//! It speaks the protocol of `tests/browser/bench_agents.mjs`: `READY`
//! once every agent is on the floor; per round `WINDOW_START <epoch ms>
//! <calls>` once every agent's call has audio (or none joined for
//! `settle_s`), `WINDOW_END <epoch ms>` after `talk_s`; `MIC_LOOP <agent>
//! <epoch ms>` each time an agent's clip starts again; last, one JSON
//! line with what each agent heard per call.

use anyhow::{anyhow, bail, Context};
use futures::{SinkExt, StreamExt};
use huikuan_speech::audio::g711::Law;
use huikuan_webrtc_leg::offerer::Offerer;
use huikuan_webrtc_leg::RTCPeerConnectionState;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[derive(Deserialize)]
struct BenchConfig {
    /// The console, `http://HOST:PORT`.
    url: String,
    agents: Vec<String>,
    password: String,
    /// The agents' voice.
    wav: std::path::PathBuf,
    rounds: u32,
    talk_s: u64,
    settle_s: u64,
    disposition: String,
    limit_s: u64,
}

/// What one agent's current call has heard.
#[derive(Default)]
struct Heard {
    call: Option<String>,
    accepted_at: Option<Instant>,
    first_audio_ms: Option<u64>,
    packets: u64,
    peak: f32,
    relayed: bool,
    /// Calls filed so far.
    filed: u32,
}

type Shared = Arc<Mutex<Heard>>;

fn lock(h: &Shared) -> std::sync::MutexGuard<'_, Heard> {
    h.lock().unwrap_or_else(|p| p.into_inner())
}

/// One HTTP/1.1 exchange; the status, the `Set-Cookie` values and the body.
async fn http(
    host: &str,
    request_head: &str,
    body: &str,
) -> anyhow::Result<(u16, Vec<String>, String)> {
    let mut s = tokio::net::TcpStream::connect(host)
        .await
        .with_context(|| format!("connecting to {host}"))?;
    let req = format!(
        "{request_head}\r\nHost: {host}\r\nOrigin: http://{host}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("an HTTP answer without headers"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow!("an HTTP answer without a status"))?;
    let cookies = head
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("set-cookie")
                .then(|| v.trim().split(';').next().unwrap_or("").to_string())
        })
        .collect();
    Ok((status, cookies, body.to_string()))
}

fn hidden(html: &str, name: &str) -> anyhow::Result<String> {
    let key = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&key)
        .ok_or_else(|| anyhow!("no {name} field in the page"))?;
    let rest = &html[at + key.len()..];
    Ok(rest[..rest.find('"').unwrap_or(0)].to_string())
}

fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// Logs in and goes available; the session cookie and the page's token.
async fn on_the_floor(host: &str, name: &str, password: &str) -> anyhow::Result<(String, String)> {
    let (_, cookies, page) = http(host, "GET /login HTTP/1.1", "").await?;
    let login_cookie = cookies
        .into_iter()
        .find(|c| c.starts_with("hk_login="))
        .ok_or_else(|| anyhow!("no login cookie"))?;
    let token = hidden(&page, "csrf")?;
    let (status, cookies, _) = http(
        host,
        &format!("POST /login HTTP/1.1\r\nCookie: {login_cookie}\r\nContent-Type: application/x-www-form-urlencoded"),
        &form(&[("name", name), ("password", password), ("csrf", &token)]),
    )
    .await?;
    let session = cookies
        .into_iter()
        .find(|c| c.starts_with("hk_session="))
        .ok_or_else(|| anyhow!("{name}: login refused ({status})"))?;
    let (_, _, page) = http(
        host,
        &format!("GET /agent HTTP/1.1\r\nCookie: {session}"),
        "",
    )
    .await?;
    let csrf = hidden(&page, "csrf")?;
    let (status, _, _) = http(
        host,
        &format!("POST /agent/state HTTP/1.1\r\nCookie: {session}\r\nContent-Type: application/x-www-form-urlencoded"),
        &form(&[("csrf", &csrf), ("state", "available")]),
    )
    .await?;
    if status >= 400 {
        bail!("{name}: going available refused ({status})");
    }
    Ok((session, csrf))
}

/// The agents' microphone: the WAV at 8 kHz as 20 ms PCMU payloads.
fn voice(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let clip = huikuan_speech::audio::wav::read_mono(path)?;
    let at8k = huikuan_speech::audio::resample::convert(&clip.samples, clip.rate, 8000)?;
    let pcm: Vec<i16> = at8k
        .iter()
        .map(|&s| huikuan_speech::audio::wav::to_i16(s))
        .collect();
    Ok(pcm.chunks_exact(160).map(|c| Law::Ulaw.encode(c)).collect())
}

/// One agent: its desk socket, standing line, microphone and ears, until
/// the benchmark closes `hangups`.
/// Who an agent is and what it says and files.
struct AgentSpec {
    host: String,
    name: String,
    password: String,
    disposition: String,
    mic: Arc<Vec<Vec<u8>>>,
}

async fn agent(
    spec: AgentSpec,
    heard: Shared,
    mut hangups: mpsc::Receiver<()>,
    ready: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<()> {
    let AgentSpec {
        host,
        name,
        password,
        disposition,
        mic,
    } = spec;
    let (session, csrf) = on_the_floor(&host, &name, &password).await?;
    let mut req = format!("ws://{host}/agent/ws?csrf={csrf}").into_client_request()?;
    req.headers_mut().insert("cookie", session.parse()?);
    req.headers_mut()
        .insert("origin", format!("http://{host}").parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;

    let mut line = Offerer::pcmu().await;
    let offer = line.offer().await;
    ws.send(Message::Text(
        json!({"t": "standing_offer", "sdp": offer})
            .to_string()
            .into(),
    ))
    .await?;
    let mut ears = line.take_heard();
    let line = Arc::new(line);
    // The microphone talks all the time, as a browser's does; each time
    // its clip starts again is printed (`MIC_LOOP <agent> <epoch ms>`), so
    // that what was said can be put on the wall clock.
    let talking = line.clone();
    let speaker = name.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for ((seq, frame), n) in (0u16..).zip(mic.iter().cycle()).zip(0usize..) {
            tick.tick().await;
            if talking.pc.connection_state() == RTCPeerConnectionState::Closed {
                return;
            }
            if n % mic.len() == 0 {
                println!("MIC_LOOP {speaker} {}", epoch_ms());
            }
            talking.say(seq, bytes::Bytes::copy_from_slice(frame)).await;
        }
    });
    let hearing = heard.clone();
    tokio::spawn(async move {
        while let Some(p) = ears.recv().await {
            let mut h = lock(&hearing);
            if h.call.is_none() {
                continue;
            }
            if h.first_audio_ms.is_none() {
                h.first_audio_ms = h.accepted_at.map(|a| a.elapsed().as_millis() as u64);
            }
            h.packets += 1;
            let pcm: Vec<f32> = Law::Ulaw
                .decode(&p.payload)
                .into_iter()
                .map(|s| f32::from(s) / 32768.0)
                .collect();
            h.peak = h.peak.max(huikuan_speech::audio::rms(&pcm));
        }
    });

    let mut ready = Some(ready);
    loop {
        tokio::select! {
            m = ws.next() => {
                let Some(m) = m else { bail!("{name}: the desk's socket closed") };
                let Message::Text(text) = m? else { continue };
                let m: Value = serde_json::from_str(&text)?;
                match m["t"].as_str().unwrap_or_default() {
                    "standing_answer" => {
                        line.answered(m["sdp"].as_str().unwrap_or_default().to_string()).await;
                        let until = Instant::now() + Duration::from_secs(60);
                        while line.pc.connection_state() != RTCPeerConnectionState::Connected {
                            if Instant::now() > until {
                                bail!("{name}: the standing line did not come up");
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        if let Some(r) = ready.take() {
                            let _ = r.send(());
                        }
                    }
                    "offer" => {
                        let call = m["call"]["call"].as_str().unwrap_or_default().to_string();
                        {
                            let mut h = lock(&heard);
                            h.accepted_at = Some(Instant::now());
                            h.first_audio_ms = None;
                            h.packets = 0;
                            h.peak = 0.0;
                        }
                        ws.send(Message::Text(
                            json!({"t": "accept", "call": call, "standing": true}).to_string().into(),
                        ))
                        .await?;
                    }
                    "call" => {
                        let mut h = lock(&heard);
                        h.call = m["call"]["call"].as_str().map(str::to_string);
                        h.relayed = m["call"]["relayed"] == true;
                    }
                    "ended" => {
                        let call = lock(&heard).call.take();
                        if let Some(call) = call {
                            let body = json!({"call": call, "disposition": disposition}).to_string();
                            let (status, _, answer) = http(
                                &host,
                                &format!("POST /agent/wrapup HTTP/1.1\r\nCookie: {session}\r\nContent-Type: application/json\r\nX-CSRF-Token: {csrf}"),
                                &body,
                            )
                            .await?;
                            if status != 200 {
                                bail!("{name}: wrap-up refused ({status}): {answer}");
                            }
                            lock(&heard).filed += 1;
                        }
                    }
                    "error" => tracing::warn!(agent = %name, message = %m, "the desk refused"),
                    _ => {}
                }
            }
            h = hangups.recv() => {
                if h.is_none() {
                    line.close().await;
                    return Ok(());
                }
                let call = lock(&heard).call.clone();
                if let Some(call) = call {
                    ws.send(Message::Text(json!({"t": "hangup", "call": call}).to_string().into())).await?;
                }
            }
        }
    }
}

fn epoch_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

pub async fn run(config: &Path) -> anyhow::Result<()> {
    let cfg: BenchConfig = serde_json::from_str(
        &std::fs::read_to_string(config)
            .with_context(|| format!("reading {}", config.display()))?,
    )
    .with_context(|| format!("{}: not a bench-agents configuration", config.display()))?;
    let host = cfg
        .url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("url: only http://HOST:PORT"))?
        .trim_end_matches('/')
        .to_string();
    let mic = Arc::new(voice(&cfg.wav).with_context(|| format!("wav: {}", cfg.wav.display()))?);
    let mut agents = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for name in &cfg.agents {
        let heard = Shared::default();
        let (hangup, hangups) = mpsc::channel(4);
        let (ready, on_floor) = tokio::sync::oneshot::channel();
        let spec = AgentSpec {
            host: host.clone(),
            name: name.clone(),
            password: cfg.password.clone(),
            disposition: cfg.disposition.clone(),
            mic: mic.clone(),
        };
        let h = heard.clone();
        let who = name.clone();
        tasks.spawn(async move {
            if let Err(e) = agent(spec, h, hangups, ready).await {
                eprintln!("agent {who}: {e:#}");
            }
        });
        on_floor
            .await
            .map_err(|_| anyhow!("agent {name} did not reach the floor"))?;
        agents.push((name.clone(), heard, hangup));
    }
    println!("READY");
    let limit = Instant::now() + Duration::from_secs(cfg.limit_s);
    let mut calls = Vec::new();
    for round in 0..cfg.rounds {
        // Every call bridged (audio heard), or none more for settle_s.
        let (mut count, mut since) = (0, Instant::now());
        let on: Vec<usize> = loop {
            let on: Vec<usize> = agents
                .iter()
                .enumerate()
                .filter(|(_, (_, h, _))| {
                    let h = lock(h);
                    h.call.is_some() && h.packets > 0
                })
                .map(|(i, _)| i)
                .collect();
            if on.len() == agents.len() || Instant::now() > limit {
                break on;
            }
            if on.len() != count {
                (count, since) = (on.len(), Instant::now());
            }
            if count > 0 && since.elapsed() > Duration::from_secs(cfg.settle_s) {
                break on;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        println!("WINDOW_START {} {}", epoch_ms(), on.len());
        tokio::time::sleep(Duration::from_secs(cfg.talk_s)).await;
        println!("WINDOW_END {}", epoch_ms());
        // Every hung-up call filed before the next round.
        let filed_before: Vec<u32> = on.iter().map(|&i| lock(&agents[i].1).filed).collect();
        for &i in &on {
            let (name, h, hangup) = &agents[i];
            {
                let h = lock(h);
                calls.push(
                    json!({"agent": name, "round": round, "call": h.call, "packets": h.packets,
                    "peak": h.peak, "first_audio_ms": h.first_audio_ms, "relayed": h.relayed}),
                );
            }
            let _ = hangup.send(()).await;
        }
        for (k, &i) in on.iter().enumerate() {
            while lock(&agents[i].1).filed <= filed_before[k] {
                if Instant::now() > limit {
                    bail!("agent {} did not file its call", agents[i].0);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    for (_, _, hangup) in agents {
        drop(hangup);
    }
    while tasks.join_next().await.is_some() {}
    println!("{}", json!({ "calls": calls }));
    Ok(())
}
