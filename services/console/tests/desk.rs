//! The agent desktop's live side against a served console: the WebSocket
//! (refused without the page's CSRF token or from another origin), the
//! screen pop (masked) of a call the ACD offers, accept, WebRTC signalling
//! relayed to the call, the live transcript, the end of the call, and the
//! wrap-up form: validated against the debt, and the outcome handed to
//! the call exactly as filed, with its audit line.

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use huikuan_console::floor::AgentState;
use huikuan_console::{password, Console, ConsoleConfig};
use huikuan_core::call::{Speaker, TranscriptLine};
use huikuan_core::handoff::{FromCall, QueuedCall, ToCall};
use huikuan_core::staff::{Role, Skills};
use huikuan_core::{Dialect, Disposition};
use huikuan_store::testing;
use huikuan_store::AuditFilter;
use serde_json::{json, Value};
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;

mod common;
use common::{body_text, cookie_value, hidden, PASSWORD};

/// Logs in through the router; the session cookie and CSRF token.
async fn login(app: &Router, name: &str) -> (String, String) {
    let page = app
        .clone()
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let login_cookie = cookie_value(&page, "hk_login").unwrap();
    let token = hidden(&body_text(page).await, "csrf");
    let res = app
        .clone()
        .oneshot(
            Request::post("/login")
                .header(header::COOKIE, format!("hk_login={login_cookie}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "name={name}&password={PASSWORD}&csrf={token}"
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = format!("hk_session={}", cookie_value(&res, "hk_session").unwrap());
    let page = app
        .clone()
        .oneshot(
            Request::get("/agent")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let csrf = hidden(&body_text(page).await, "csrf");
    (cookie, csrf)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(
    addr: SocketAddr,
    cookie: &str,
    csrf: &str,
    origin: &str,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    open_at(addr, "/agent/ws", cookie, csrf, origin).await
}

async fn open_at(
    addr: SocketAddr,
    path: &str,
    cookie: &str,
    csrf: &str,
    origin: &str,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("ws://{addr}{path}?csrf={csrf}")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    req.headers_mut().insert("origin", origin.parse().unwrap());
    tokio_tungstenite::connect_async(req).await.map(|(s, _)| s)
}

/// The next message of type `t` (others, like presence, are skipped).
async fn next_of(ws: &mut Socket, t: &str) -> Value {
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(30), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no '{t}' message"))
            .expect("socket open")
            .unwrap();
        if let Message::Text(text) = m {
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["t"] == t {
                return v;
            }
        }
    }
}

fn wrap_up(cookie: &str, csrf: &str, body: Value) -> Request<Body> {
    Request::post("/agent/wrapup")
        .header(header::COOKIE, cookie)
        .header("x-csrf-token", csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A console served on a free loopback port with these users (the
/// password is [`PASSWORD`]), its router for plain requests, and what
/// stops it.
struct Served {
    db: testing::TestDb,
    console: Console,
    app: Router,
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn served(users: &[(&str, Role)], skills: &Skills) -> Served {
    let db = testing::sqlite().await;
    for (name, role) in users {
        db.store
            .create_user(name, *role, skills, &password::hash(PASSWORD).unwrap())
            .await
            .unwrap();
    }
    let console = Console::new(db.store.clone(), ConsoleConfig::default(), false).unwrap();
    let app = console
        .router()
        .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(console.clone().serve(listener, None, async {
        let _ = stopped.await;
    }));
    Served {
        db,
        console,
        app,
        addr,
        stop,
        served,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_takes_a_handed_over_call_and_files_its_outcome() {
    let skills: Skills = "cantonese".parse().unwrap();
    let Served {
        db,
        console,
        app,
        addr,
        stop,
        served,
    } = served(&[("li", Role::Agent), ("sun", Role::Supervisor)], &skills).await;
    let store = db.store.clone();
    let (cookie, csrf) = login(&app, "li").await;
    let origin = format!("http://{addr}");

    // Without the page's token, or from another site: no socket.
    assert!(open(addr, &cookie, "wrong-token", &origin).await.is_err());
    assert!(open(addr, &cookie, &csrf, "http://evil.example")
        .await
        .is_err());

    let mut ws = open(addr, &cookie, &csrf, &origin).await.unwrap();
    next_of(&mut ws, "presence").await;
    console
        .floor()
        .set("li", skills.clone(), AgentState::Available);
    let (up, mut down) = console.queue_call(QueuedCall {
        call_id: "attempt-1".into(),
        account_id: "ACC-1".into(),
        debtor_name: "陈大文".into(),
        phone: "+8613800000007".into(),
        time_zone: "Asia/Shanghai".into(),
        dialect: Dialect::Cantonese,
        overdue_amount: "3250.50".into(),
        days_past_due: 35,
        product: "消费贷".into(),
        reason: "request_human".into(),
        summary: "债务人要求人工".into(),
        transcript: vec![TranscriptLine {
            speaker: Speaker::Debtor,
            at_ms: 3000,
            text: "我要同真人讲".into(),
            interrupted: false,
            intent: Some("request_human".into()),
        }],
    });

    // The screen pop: the facts, the transcript so far, the number masked.
    let offer = next_of(&mut ws, "offer").await;
    let pop = &offer["call"];
    assert_eq!(pop["name"], "陈大文");
    assert_eq!(pop["phone"], "+86138****0007");
    assert_eq!(pop["overdue_amount"], "3250.50");
    assert_eq!(pop["days_past_due"], 35);
    assert_eq!(pop["transcript"][0]["text"], "我要同真人讲");

    ws.send(Message::Text(
        json!({"t": "accept", "call": "attempt-1"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let call = next_of(&mut ws, "call").await;
    assert_eq!(
        call["call"]["phone"], "+8613800000007",
        "the agent on the call sees it"
    );
    assert_eq!(
        down.recv().await,
        Some(ToCall::Accepted { agent: "li".into() })
    );

    // Signalling goes through to the call and back.
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n";
    ws.send(Message::Text(
        json!({"t": "offer", "call": "attempt-1", "sdp": sdp})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert_eq!(down.recv().await, Some(ToCall::Offer { sdp: sdp.into() }));
    up.send(FromCall::Answer {
        sdp: "v=0 answer".into(),
    })
    .await
    .unwrap();
    assert_eq!(next_of(&mut ws, "answer").await["sdp"], "v=0 answer");
    up.send(FromCall::Line(TranscriptLine {
        speaker: Speaker::Debtor,
        at_ms: 9000,
        text: "下个月十号还一千".into(),
        interrupted: false,
        intent: None,
    }))
    .await
    .unwrap();
    assert_eq!(
        next_of(&mut ws, "line").await["line"]["text"],
        "下个月十号还一千"
    );

    // A supervisor listens in and whispers; an agent may not.
    assert!(open_at(addr, "/supervisor/ws", &cookie, &csrf, &origin)
        .await
        .is_err());
    let (sup_cookie, sup_csrf) = login(&app, "sun").await;
    let mut sup = open_at(addr, "/supervisor/ws", &sup_cookie, &sup_csrf, &origin)
        .await
        .unwrap();
    let say = |v: Value| Message::Text(v.to_string().into());
    sup.send(say(
        json!({"t": "whisper", "call": "attempt-1", "on": true}),
    ))
    .await
    .unwrap();
    assert_eq!(
        next_of(&mut sup, "error").await["error"],
        "you are not listening to this call"
    );
    sup.send(say(
        json!({"t": "listen", "call": "attempt-1", "sdp": "v=0 listen"}),
    ))
    .await
    .unwrap();
    let listening = next_of(&mut sup, "listening").await;
    assert_eq!(listening["call"]["phone"], "+86138****0007");
    assert_eq!(listening["call"]["agent"], "li");
    assert_eq!(
        down.recv().await,
        Some(ToCall::Listen {
            supervisor: "sun".into(),
            sdp: "v=0 listen".into()
        })
    );
    up.send(FromCall::ListenAnswer {
        supervisor: "sun".into(),
        sdp: "v=0 for sun".into(),
    })
    .await
    .unwrap();
    assert_eq!(next_of(&mut sup, "answer").await["sdp"], "v=0 for sun");
    sup.send(say(
        json!({"t": "whisper", "call": "attempt-1", "on": true}),
    ))
    .await
    .unwrap();
    assert_eq!(next_of(&mut sup, "whisper").await["on"], true);
    assert_eq!(
        down.recv().await,
        Some(ToCall::Whisper {
            supervisor: "sun".into(),
            on: true
        })
    );
    // The page goes away: its listening stops.
    drop(sup);
    assert_eq!(
        down.recv().await,
        Some(ToCall::StopListening {
            supervisor: "sun".into()
        })
    );
    let heard: Vec<String> = store
        .audit_entries(&AuditFilter {
            actor: Some("sun".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "listen_in")
        .map(|e| e.detail)
        .collect();
    assert_eq!(heard.len(), 2, "{heard:?}");

    // No outcome while the call is on.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let date = (today + chrono::Duration::days(5)).to_string();
    let promise = |amount: &str| {
        json!({"call": "attempt-1", "disposition": "promise_to_pay",
               "promise_date": date, "promise_amount": amount, "notes": "agreed"})
    };
    let res = app
        .clone()
        .oneshot(wrap_up(&cookie, &csrf, promise("1000.00")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);

    up.send(FromCall::Ended { by_debtor: true }).await.unwrap();
    assert_eq!(next_of(&mut ws, "ended").await["by_debtor"], true);
    assert_eq!(console.floor().get("li").unwrap().state, AgentState::WrapUp);

    // A promise above the debt, or without the CSRF header: refused.
    let res = app
        .clone()
        .oneshot(wrap_up(&cookie, &csrf, promise("4000.00")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(res).await.starts_with("promise_amount:"));
    let res = app
        .clone()
        .oneshot(wrap_up(&cookie, "", promise("1000.00")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = app
        .clone()
        .oneshot(wrap_up(&cookie, &csrf, promise("1000.00")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", body_text(res).await);
    let Some(ToCall::Outcome(o)) = down.recv().await else {
        panic!("no outcome reached the call")
    };
    assert_eq!(o.disposition, Disposition::PromiseToPay);
    assert_eq!(o.promise_date, Some(date.parse().unwrap()));
    assert_eq!(o.promise_amount.as_deref(), Some("1000.00"));
    assert_eq!(o.agent, "li");
    assert_eq!(
        down.recv().await,
        None,
        "filed once, then the call is let go"
    );
    assert_eq!(
        console.floor().get("li").unwrap().state,
        AgentState::Available
    );
    let actions: Vec<String> = store
        .audit_entries(&AuditFilter {
            actor: Some("li".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["screen_pop", "accept_call", "disposition"] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} not audited: {actions:?}"
        );
    }

    drop(ws);
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
}

fn queued(id: &str) -> QueuedCall {
    QueuedCall {
        call_id: id.into(),
        account_id: format!("ACC-{id}"),
        debtor_name: "陈大文".into(),
        phone: "+8613800000007".into(),
        time_zone: "Asia/Shanghai".into(),
        dialect: Dialect::Cantonese,
        overdue_amount: "3250.50".into(),
        days_past_due: 35,
        product: "消费贷".into(),
        reason: "request_human".into(),
        summary: String::new(),
        transcript: Vec::new(),
    }
}

/// Waits for the console's side of `agent`'s standing line to be up (or
/// down).
async fn standing_is(console: &Console, agent: &str, up: bool) {
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while console.bridge().standing().is_up(agent) != up {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the standing line did not become up={up}"));
}

/// Auto-answer's standing line: one WebRTC connection between the agent's
/// page and the console, opened once and used for call after call. A call
/// accepted on it is told `Relayed`; the debtor's PCMU payloads from the
/// call reach the page unchanged and numbered as one stream across calls,
/// the agent's payloads reach the call unchanged, and nothing of the
/// agent's reaches a call that has ended. Without the line up, an accept
/// joins directly as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_answer_talks_on_one_standing_line_across_calls() {
    use huikuan_webrtc_leg::offerer::{payload, Offerer};
    let skills: Skills = "cantonese".parse().unwrap();
    let Served {
        db: _db,
        console,
        app,
        addr,
        stop,
        served,
    } = served(&[("li", Role::Agent)], &skills).await;
    let (cookie, csrf) = login(&app, "li").await;
    let mut ws = open(addr, &cookie, &csrf, &format!("http://{addr}"))
        .await
        .unwrap();
    next_of(&mut ws, "presence").await;
    let say = |v: Value| Message::Text(v.to_string().into());

    // The page opens its standing line.
    let mut browser = Offerer::pcmu().await;
    ws.send(say(json!({"t": "standing_offer", "sdp": "not sdp"})))
        .await
        .unwrap();
    assert_eq!(next_of(&mut ws, "error").await["what"], "standing_offer");
    ws.send(say(
        json!({"t": "standing_offer", "sdp": browser.offer().await}),
    ))
    .await
    .unwrap();
    let answer = next_of(&mut ws, "standing_answer").await;
    browser
        .answered(answer["sdp"].as_str().unwrap().to_string())
        .await;
    standing_is(&console, "li", true).await;

    let mut said: u16 = 0;
    let mut last_seq: Option<u16> = None;
    for id in ["call-1", "call-2"] {
        console
            .floor()
            .set("li", skills.clone(), AgentState::Available);
        let (up, mut down) = console.queue_call(queued(id));
        next_of(&mut ws, "offer").await;
        ws.send(say(json!({"t": "accept", "call": id, "standing": true})))
            .await
            .unwrap();
        let call = next_of(&mut ws, "call").await;
        assert_eq!(call["call"]["relayed"], true, "{call}");
        assert_eq!(
            down.recv().await,
            Some(ToCall::Accepted { agent: "li".into() })
        );
        assert_eq!(down.recv().await, Some(ToCall::Relayed));

        // The debtor's voice reaches the page as it was sent, numbered on
        // from the line's last packet.
        let mut heard = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            let mut i = 0u16;
            while heard.len() < 20 {
                up.send(FromCall::DebtorVoice(payload(i).to_vec()))
                    .await
                    .unwrap();
                i += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                while let Ok(p) = browser.heard.try_recv() {
                    heard.push(p);
                }
            }
        })
        .await
        .expect("the debtor's voice reaches the page");
        for p in &heard {
            assert!(
                (0..200).any(|i| payload(i) == p.payload),
                "a payload changed on the way"
            );
            if let Some(last) = last_seq {
                assert_eq!(
                    p.header.sequence_number,
                    last.wrapping_add(1),
                    "one stream across calls"
                );
            }
            last_seq = Some(p.header.sequence_number);
        }

        // The agent's voice reaches the call unchanged.
        let mut got = 0;
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while got < 20 {
                said += 1;
                browser.say(said, payload(said)).await;
                match tokio::time::timeout(std::time::Duration::from_millis(10), down.recv()).await
                {
                    Ok(Some(ToCall::AgentVoice(p))) => {
                        assert!((1..=said).any(|i| payload(i) == p), "changed on the way");
                        got += 1;
                    }
                    Ok(other) => panic!("unexpected {other:?}"),
                    Err(_) => {}
                }
            }
        })
        .await
        .expect("the agent's voice reaches the call");

        // The call ends: the agent's voice no longer goes to it.
        up.send(FromCall::Ended { by_debtor: true }).await.unwrap();
        next_of(&mut ws, "ended").await;
        while let Ok(m) = down.try_recv() {
            assert!(matches!(m, ToCall::AgentVoice(_)), "{m:?}");
        }
        for _ in 0..20 {
            said += 1;
            browser.say(said, payload(said)).await;
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let res = app
            .clone()
            .oneshot(wrap_up(
                &cookie,
                &csrf,
                json!({"call": id, "disposition": "refused"}),
            ))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{}", body_text(res).await);
        match down.recv().await {
            Some(ToCall::Outcome(o)) => assert_eq!(o.disposition, Disposition::Refused),
            other => panic!("after the call's end only its outcome: {other:?}"),
        }
    }

    // Auto-answer off: the line closes and an accept joins directly.
    ws.send(say(json!({"t": "standing_close"}))).await.unwrap();
    standing_is(&console, "li", false).await;
    console
        .floor()
        .set("li", skills.clone(), AgentState::Available);
    let (_up, mut down) = console.queue_call(queued("call-3"));
    next_of(&mut ws, "offer").await;
    ws.send(say(
        json!({"t": "accept", "call": "call-3", "standing": true}),
    ))
    .await
    .unwrap();
    assert_eq!(next_of(&mut ws, "call").await["call"]["relayed"], false);
    assert_eq!(
        down.recv().await,
        Some(ToCall::Accepted { agent: "li".into() })
    );
    assert!(down.try_recv().is_err(), "no Relayed without the line");

    browser.close().await;
    let _ = stop.send(());
    let _ = served.await;
}

/// Flags an agent's line that says 后果自负; remembers what it was fed.
struct ThreatSpotter;

struct SpotterCall {
    heard_before: usize,
}

impl huikuan_console::live_quality::LiveInspector for ThreatSpotter {
    fn start(&self, call: &QueuedCall) -> Box<dyn huikuan_console::live_quality::LiveListener> {
        Box::new(SpotterCall {
            heard_before: call.transcript.len(),
        })
    }
}

impl huikuan_console::live_quality::LiveListener for SpotterCall {
    fn hear(&mut self, line: &TranscriptLine) -> Vec<huikuan_console::live_quality::LiveFlag> {
        if line.speaker != Speaker::Agent || !line.text.contains("后果自负") {
            return Vec::new();
        }
        vec![huikuan_console::live_quality::LiveFlag {
            kind: "forbidden_wording".into(),
            channel: "agent".into(),
            at_ms: line.at_ms,
            rule: "threat".into(),
            evidence: format!("「{}」 ({} lines before)", line.text, self.heard_before),
            raised_at_ms: 0,
        }]
    }
}

/// A handed-over call's words are checked as they arrive: the agent's
/// threat shows on the supervisor's floor (and its JSON) with the words,
/// the call and when; ordinary words raise nothing; an agent's desk
/// never gets the flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threat_on_a_live_call_reaches_the_supervisors_floor() {
    let skills: Skills = "cantonese".parse().unwrap();
    let Served {
        db: _db,
        console,
        app,
        addr: _,
        stop,
        served,
    } = served(&[("sam", Role::Supervisor)], &skills).await;
    assert!(console
        .bridge()
        .inspect_live(std::sync::Arc::new(ThreatSpotter)));
    assert!(
        !console
            .bridge()
            .inspect_live(std::sync::Arc::new(ThreatSpotter)),
        "a second inspector is refused"
    );
    // A Cantonese agent on a break, so that the call waits on the floor:
    // were nobody there who speaks its dialect, it would be given up at
    // once and leave the floor before its words were checked.
    console.floor().set(
        "ann",
        skills.clone(),
        AgentState::Break {
            code: "lunch".into(),
        },
    );
    let mut call = queued("q1");
    call.transcript.push(TranscriptLine {
        speaker: Speaker::Debtor,
        at_ms: 1000,
        text: "系我".into(),
        interrupted: false,
        intent: None,
    });
    let (up, _down) = console.queue_call(call);
    let said = |speaker, at_ms, text: &str| {
        FromCall::Line(TranscriptLine {
            speaker,
            at_ms,
            text: text.into(),
            interrupted: false,
            intent: None,
        })
    };
    up.send(said(Speaker::Agent, 20_000, "陈生你好，我系客服。"))
        .await
        .unwrap();
    up.send(said(Speaker::Agent, 25_000, "你再唔还钱，后果自负。"))
        .await
        .unwrap();
    let (cookie, _) = login(&app, "sam").await;
    let floor = || async {
        let res = app
            .clone()
            .oneshot(
                Request::get("/api/floor")
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        serde_json::from_str::<Value>(&body_text(res).await).unwrap()
    };
    // The lines travel through the call's task: wait for the flag.
    let started = std::time::Instant::now();
    let flags = loop {
        let f = floor().await["flags"].clone();
        if !f.as_array().unwrap().is_empty() {
            break f;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no flag on the floor"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let flags = flags.as_array().unwrap();
    assert_eq!(flags.len(), 1, "{flags:?}");
    let f = &flags[0];
    assert_eq!(
        (
            f["call"].as_str(),
            f["account"].as_str(),
            f["type"].as_str()
        ),
        (Some("q1"), Some("ACC-q1"), Some("forbidden_wording"))
    );
    assert_eq!(f["at_ms"], 25_000);
    assert!(f["raised_at_ms"].as_i64().unwrap() > 0);
    assert_eq!(
        f["evidence"], "「你再唔还钱，后果自负。」 (1 lines before)",
        "the robot's part of the transcript was given to the check first"
    );
    // The floor page shows it too.
    let page = app
        .clone()
        .oneshot(
            Request::get("/supervisor")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let html = body_text(page).await;
    assert!(html.contains("你再唔还钱，后果自负。") && html.contains("threat"));
    assert_eq!(
        console.bridge().get("q1").unwrap().quality_flags.len(),
        1,
        "kept on the call"
    );
    drop(up);
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
}
