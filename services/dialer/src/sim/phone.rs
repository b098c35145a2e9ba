//! The simulator's phone: answers (or not) per persona, speaks the
//! persona's lines, listens to the robot and keeps a record of each call.
//! Voice-to-voice latency is measured here, from outside the robot: from
//! the end of the persona's line (its last RTP frame of speech) to the
//! first RTP packet of the robot's reply as it arrives (`response_ms`), and
//! to the first loud frame of it out of this phone's jitter buffer, as
//! the debtor's ear gets it (`heard_response_ms`). Barge-in is timed here
//! too: from the first sent frame of a line the persona starts over the
//! robot to the end of the last loud robot frame before the robot fell
//! silent, as this phone played it out (`barge_in_stop_ms`).

use super::persona::{Answer, ExpectedOutcome, Listen, Persona, PersonaSet, MAX_CORRECTIONS};
use crate::media::{MediaEvent, RtpSocket};
use crate::session::{Ear, EarOptions, Voice};
use crate::sip::{CallEvent, IncomingCall, SipAgent, SipError};
use huikuan_speech::audio::rms;
use huikuan_speech::stream::RecognitionEvent;
use huikuan_speech::tts::VoiceStyle;
use huikuan_speech::SpeechEngines;
use rsipstack::sip::StatusCode;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeardLine {
    pub at_ms: u64,
    pub text: String,
}

/// What the simulator's phone went through on one call.
#[derive(Debug, Clone, Serialize, Default)]
pub struct HeardCall {
    pub persona: String,
    pub number: String,
    pub caller: String,
    pub answered: bool,
    /// What the robot said, as the simulator's ASR heard it.
    pub heard: Vec<HeardLine>,
    /// What the persona said.
    pub said: Vec<HeardLine>,
    /// End of each persona line to the arrival of the first RTP packet of
    /// the robot's reply (the marker packet of its talkspurt).
    pub response_ms: Vec<u64>,
    /// End of each persona line to the first loud frame of the reply out
    /// of this phone's jitter buffer (what a listener hears).
    pub heard_response_ms: Vec<u64>,
    /// Start of each line said over the robot to the end of the robot's
    /// last loud frame before it fell silent, as played out here.
    pub barge_in_stop_ms: Vec<u64>,
    pub ended_by: String,
    pub duration_ms: u64,
    /// What the persona's call should have ended with, on the day of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<ExpectedOutcome>,
}

impl HeardCall {
    pub fn heard_text(&self) -> String {
        self.heard
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub struct Simulator {
    agent: Arc<SipAgent>,
    calls: Arc<Mutex<Vec<HeardCall>>>,
}

const LOUD: f32 = 0.02;
/// Any of the robot's voice, however quiet (it sends digital silence
/// between sentences and when stopped).
const SOUND: f32 = 0.001;
/// The robot counts as fallen silent after this long without a sound
/// (longer than its pauses between clauses and sentences).
const SILENT_AFTER_MS: u64 = 300;
/// Faster than anything could react to the persona's voice.
const REACTION_FLOOR_MS: u64 = 60;
const REACTION_MS: u64 = 250;
/// The longest a simulated phone stays on a call, unless its persona
/// says otherwise (`max_call_s`).
const MAX_CALL: Duration = Duration::from_secs(180);

/// A persona's voice the `repeats`-th time in a row it is asked to say a
/// line again: 15% slower each time, down to 70% of its own speed.
fn repeat_style(own: VoiceStyle, repeats: u32) -> VoiceStyle {
    VoiceStyle {
        speed: own.speed * 0.85f32.powi(repeats as i32).max(0.7),
        ..own
    }
}

/// The robot asked to hear the last line again ("再说一遍", "听得到吗").
fn asks_to_repeat(heard: &str) -> bool {
    [
        "再说一遍",
        "再讲一次",
        "再说一次",
        "没有听清",
        "没听清",
        "听唔清",
        "听到我",
        "听得到",
        "听唔听到",
    ]
    .iter()
    .any(|p| heard.contains(p))
}

impl Simulator {
    pub async fn start(
        bind: SocketAddr,
        personas: PersonaSet,
        engines: SpeechEngines,
        out_dir: Option<PathBuf>,
    ) -> Result<Arc<Simulator>, SipError> {
        let (tx, mut rx) = mpsc::channel::<IncomingCall>(64);
        let agent = SipAgent::start(bind, "huikuan-sim", Some(tx)).await?;
        let sim = Arc::new(Simulator {
            agent: agent.clone(),
            calls: Arc::new(Mutex::new(Vec::new())),
        });
        let calls = sim.calls.clone();
        let personas = Arc::new(personas);
        // Calls up right now.
        let active = Arc::new(tokio::sync::watch::Sender::new(0usize));
        let rtp_ip = agent.local_addr().ip();
        tokio::spawn(async move {
            while let Some(call) = rx.recv().await {
                let personas = personas.clone();
                let engines = engines.clone();
                let calls = calls.clone();
                let out_dir = out_dir.clone();
                let active = active.clone();
                tokio::spawn(async move {
                    let Some(persona) = personas.for_number(&call.number).cloned() else {
                        tracing::info!(number = %huikuan_core::phone::mask(&call.number), "no persona: 404");
                        call.reject(StatusCode::NotFound);
                        return;
                    };
                    active.send_modify(|n| *n += 1);
                    let today = personas.today();
                    let (mut record, ear) =
                        play_persona(call, persona, today, &engines, rtp_ip).await;
                    active.send_modify(|n| *n -= 1);
                    if let Some(mut ear) = ear {
                        // Recognised once no call is up, so it takes no
                        // CPU from calls in progress.
                        let _ = active.subscribe().wait_for(|n| *n == 0).await;
                        for (at_ms, text) in ear.decode_deferred().await {
                            record.heard.push(HeardLine { at_ms, text });
                        }
                    }
                    if let Some(dir) = out_dir {
                        let path = dir.join(format!(
                            "{}-{}.json",
                            record.number,
                            chrono::Utc::now().format("%H%M%S%3f")
                        ));
                        if let Ok(json) = serde_json::to_string_pretty(&record) {
                            let _ = std::fs::write(path, json);
                        }
                    }
                    calls.lock().unwrap_or_else(|p| p.into_inner()).push(record);
                });
            }
        });
        Ok(sim)
    }

    pub fn sip_addr(&self) -> SocketAddr {
        self.agent.local_addr()
    }

    /// Calls finished so far.
    pub fn calls(&self) -> Vec<HeardCall> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn open_dialogs(&self) -> usize {
        self.agent.open_dialogs()
    }
}

/// Plays one call; with `listen = "after_call"` also returns the ear
/// holding what was heard, still to be recognised.
async fn play_persona(
    mut call: IncomingCall,
    persona: Persona,
    today: chrono::NaiveDate,
    engines: &SpeechEngines,
    rtp_ip: IpAddr,
) -> (HeardCall, Option<Ear>) {
    let mut record = HeardCall {
        persona: persona.name.clone(),
        number: call.number.clone(),
        caller: call.caller.clone(),
        expected: persona.expect.as_ref().map(|e| e.on(today)),
        ..Default::default()
    };
    let dialect = persona.speaking();
    match persona.answer {
        Answer::Busy => {
            call.reject(StatusCode::BusyHere);
            record.ended_by = "rejected busy".into();
            return (record, None);
        }
        Answer::Reject => {
            let code = persona.reject_code.unwrap_or(480);
            call.reject(StatusCode::from(code));
            record.ended_by = format!("rejected {code}");
            return (record, None);
        }
        Answer::NoAnswer => {
            let _ = call.ring(None);
            let _ = tokio::time::timeout(MAX_CALL, call.wait_cancelled()).await;
            record.ended_by = "rang out".into();
            return (record, None);
        }
        Answer::EarlyAnnouncement => {
            let Ok(rtp) = RtpSocket::bind(rtp_ip).await else {
                call.reject(StatusCode::ServerInternalError);
                return (record, None);
            };
            let addr = rtp.local_addr().unwrap_or(SocketAddr::new(rtp_ip, 0));
            let Ok(offer) = call.offer.clone() else {
                call.reject(StatusCode::NotAcceptableHere);
                return (record, None);
            };
            let _ = call.ring(Some(addr));
            let (media, _events) = rtp.start(offer);
            let (voice, _q) = Voice::new(engines.tts.clone(), std::sync::Arc::new(media.clone()));
            let text = persona.announcement.clone().unwrap_or_default();
            let started = Instant::now();
            let waiting = call.wait_cancelled();
            tokio::pin!(waiting);
            loop {
                if !voice.busy() {
                    voice.say(&text, dialect);
                }
                tokio::select! {
                    _ = &mut waiting => break,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
                if started.elapsed() > MAX_CALL {
                    break;
                }
            }
            media.stop();
            record.ended_by = "caller cancelled during the announcement".into();
            return (record, None);
        }
        Answer::Announcement | Answer::Answer => {}
    }

    let _ = call.ring(None);
    tokio::time::sleep(Duration::from_millis(persona.ring_ms)).await;
    let Ok(rtp) = RtpSocket::bind(rtp_ip).await else {
        call.reject(StatusCode::ServerInternalError);
        return (record, None);
    };
    let addr = rtp.local_addr().unwrap_or(SocketAddr::new(rtp_ip, 0));
    let Some((active, remote)) = call.answer(addr).await else {
        record.ended_by = "caller gave up before answer".into();
        return (record, None);
    };
    record.answered = true;
    let mut control = active.spawn();
    let (media, mut audio) = rtp.start(remote);
    if let Some(line) = persona.line {
        media.simulate_line(line);
    }
    let (mut voice, mut queued) =
        Voice::new(engines.tts.clone(), std::sync::Arc::new(media.clone()));
    let own_style = persona.voice.map(|v| v.style()).unwrap_or_default();
    voice.set_style(own_style);
    let mut repeats = 0u32;
    let listen = persona.listen;
    let ear = Ear::new(
        engines,
        dialect,
        EarOptions {
            defer_decoding: listen == Listen::AfterCall,
            ..Default::default()
        },
    );
    let mut ear = match ear {
        Ok(e) => e,
        Err(e) => {
            record.ended_by = format!("no speech engine: {e}");
            let _ = control.hangup.send(());
            return (record, None);
        }
    };

    let mut turn = 0usize;
    let mut speak_at: Option<(Instant, String)> = None;
    // A key to press instead of a yes or no, when the robot offered keys.
    let mut press_at: Option<(Instant, char)> = None;
    let mut hangup_at: Option<Instant> = None;
    // The end of the persona's last line, until the robot's reply to it
    // arrives (first packet) and is heard (first loud frame).
    let mut awaiting_packet: Option<u64> = None;
    let mut awaiting_sound: Option<u64> = None;
    let mut robot_loud_at: u64 = 0;
    let mut robot_sound_at: u64 = 0;
    // A line said over the robot: when its first frame went out, and
    // whether the robot was talking then.
    let mut barge_said: Option<u64> = None;
    let mut barging = false;
    let mut owed_turn = false;
    let mut corrections = 0usize;
    let deadline = Instant::now() + persona.max_call_s.map_or(MAX_CALL, Duration::from_secs);
    let far = Instant::now() + Duration::from_secs(3600);

    if persona.answer == Answer::Announcement {
        let text = persona.announcement.clone().unwrap_or_default();
        voice.say(&text, dialect);
        record.said.push(HeardLine { at_ms: 0, text });
        hangup_at = Some(Instant::now() + Duration::from_secs(12));
    } else if let Some(g) = &persona.greeting {
        voice.say(g, dialect);
        record.said.push(HeardLine {
            at_ms: 0,
            text: g.clone(),
        });
    }

    let ended_by = loop {
        tokio::select! {
            e = audio.recv() => match e {
                Some(MediaEvent::Audio { at_ms, samples, sent }) => {
                    let level = rms(&samples);
                    if level > LOUD {
                        if let Some(end) = awaiting_sound.take() {
                            // Only a reply if the robot was quiet when we finished.
                            if end >= robot_loud_at + 300 {
                                record.heard_response_ms.push(at_ms.saturating_sub(end));
                            }
                        }
                        robot_loud_at = at_ms;
                    }
                    if level > SOUND {
                        robot_sound_at = at_ms;
                    }
                    if let Some(from) = barge_said {
                        if at_ms >= robot_sound_at + SILENT_AFTER_MS {
                            // Quiet within 60 ms is the robot's own pause
                            // between sentences, not a reaction to us: no
                            // detector hears speech that fast.
                            if robot_sound_at >= from + REACTION_FLOOR_MS {
                                record.barge_in_stop_ms.push(robot_sound_at + 20 - from);
                            }
                            barge_said = None;
                        }
                    }
                    for ev in ear.hear(&samples, &sent).await {
                        match ev {
                            RecognitionEvent::SpeechStarted { .. } => {
                                let now = Instant::now();
                                match persona.turns.get(turn) {
                                    Some(t) if t.barge_in_ms.is_some() => {
                                        let ms = t.barge_in_ms.unwrap_or_default();
                                        speak_at = Some((now + Duration::from_millis(ms), t.say.clone()));
                                        turn += 1;
                                    }
                                    Some(t) if t.hangup_ms.is_some() => {
                                        hangup_at = Some(now + Duration::from_millis(t.hangup_ms.unwrap_or_default()));
                                        turn += 1;
                                    }
                                    _ => owed_turn = true,
                                }
                            }
                            RecognitionEvent::Final { text, start_ms, .. } => {
                                tracing::debug!(at_ms = start_ms, heard = %text, owed_turn, "the phone heard the robot");
                                // Words not made out still end the robot's turn.
                                let asks_again = asks_to_repeat(&text);
                                if !text.trim().is_empty() {
                                    record.heard.push(HeardLine { at_ms: start_ms, text: text.clone() });
                                }
                                if owed_turn && speak_at.is_none() && press_at.is_none() {
                                    owed_turn = false;
                                    // Asked to say it again before any answer (the
                                    // greeting talked over), a person answers the
                                    // question instead of saying 喂 again.
                                    let last_said = (turn > 0)
                                        .then(|| {
                                            record.said.iter().rev()
                                                .find(|l| !l.text.starts_with("[DTMF"))
                                                .map(|l| l.text.clone())
                                        })
                                        .flatten();
                                    // Asked to say it again, a person repeats it more
                                    // slowly each time; a new line is said as usual.
                                    repeats = if asks_again && last_said.is_some() { repeats + 1 } else { 0 };
                                    voice.set_style(repeat_style(own_style, repeats));
                                    let next = match (asks_again, last_said) {
                                        (true, Some(last)) => Some(last),
                                        _ => persona.turns.get(turn).filter(|t| t.answers(&text)).map(|t| {
                                            // A read-back with the wrong date is corrected, not agreed to.
                                            match t.correction_for(&text, dialect, today).filter(|_| corrections < MAX_CORRECTIONS) {
                                                Some(correction) => {
                                                    corrections += 1;
                                                    correction.to_string()
                                                }
                                                None => {
                                                    turn += 1;
                                                    t.say.clone()
                                                }
                                            }
                                        }),
                                    };
                                    let at = Instant::now() + Duration::from_millis(REACTION_MS);
                                    let key = next
                                        .as_deref()
                                        .filter(|_| persona.presses_keys)
                                        .and_then(|say| super::persona::key_for(&text, say, dialect, today));
                                    if let Some(key) = key {
                                        press_at = Some((at, key));
                                    } else if let Some(say) = next.filter(|s| !s.trim().is_empty()) {
                                        speak_at = Some((at, say));
                                    }
                                }
                            }
                            RecognitionEvent::Partial { .. } | RecognitionEvent::Onset { .. } => {}
                        }
                    }
                }
                Some(MediaEvent::TalkspurtArrived { at_ms }) => {
                    if let Some(end) = awaiting_packet.take() {
                        // Only a reply if the robot was quiet when we finished.
                        if end >= robot_loud_at + 300 {
                            record.response_ms.push(at_ms.saturating_sub(end));
                        }
                    }
                }
                Some(MediaEvent::PlaybackStarted { at_ms, .. }) => {
                    // The robot's voice was on the line a moment ago
                    // (not between its sentences): this line starts over
                    // it.
                    if std::mem::take(&mut barging) && at_ms < robot_sound_at + 60 {
                        barge_said = Some(at_ms);
                    }
                }
                Some(MediaEvent::PlaybackFinished { at_ms, .. }) => {
                    if !voice.busy() {
                        // The line's words ended before its trailing pause.
                        let end = at_ms.saturating_sub(crate::session::voice::SENTENCE_PAUSE_MS);
                        awaiting_packet = Some(end);
                        awaiting_sound = Some(end);
                    }
                }
                Some(_) => {}
                None => break "media stopped".to_string(),
            },
            _ = queued.recv() => {}
            e = control.events.recv() => match e {
                Some(CallEvent::Ended { .. }) | None => break "robot hung up".to_string(),
                Some(CallEvent::MediaChanged(m)) => media.update_remote(m),
                Some(CallEvent::Dtmf(_)) => {}
            },
            _ = tokio::time::sleep_until(speak_at.as_ref().map(|(t, _)| *t).unwrap_or(far)) => {
                if let Some((_, text)) = speak_at.take() {
                    awaiting_packet = None;
                    awaiting_sound = None;
                    barging = true;
                    voice.say(&text, dialect);
                    record.said.push(HeardLine { at_ms: media.now_ms(), text });
                }
            }
            _ = tokio::time::sleep_until(press_at.map(|(t, _)| t).unwrap_or(far)) => {
                if let Some((_, key)) = press_at.take() {
                    awaiting_packet = None;
                    awaiting_sound = None;
                    let sent = media.send_dtmf(key);
                    tracing::debug!(%key, sent, "the phone pressed a key");
                    record.said.push(HeardLine { at_ms: media.now_ms(), text: format!("[DTMF {key}]") });
                }
            }
            _ = tokio::time::sleep_until(hangup_at.unwrap_or(far)) => {
                let _ = control.hangup.send(());
                break "simulator hung up".to_string();
            }
            _ = tokio::time::sleep_until(deadline) => {
                let _ = control.hangup.send(());
                break "simulator time limit".to_string();
            }
        }
    };
    for ev in ear.finish().await {
        if let RecognitionEvent::Final { text, start_ms, .. } = ev {
            if !text.is_empty() {
                record.heard.push(HeardLine {
                    at_ms: start_ms,
                    text,
                });
            }
        }
    }
    media.stop();
    record.duration_ms = media.now_ms();
    record.ended_by = ended_by;
    (record, (listen == Listen::AfterCall).then_some(ear))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_said_again_is_said_more_slowly_each_time_within_a_floor() {
        let own = VoiceStyle {
            speed: 1.2,
            pitch: 0.9,
        };
        assert_eq!(repeat_style(own, 0), own);
        let once = repeat_style(own, 1);
        assert!((once.speed - 1.02).abs() < 1e-4 && once.pitch == 0.9);
        assert!(repeat_style(own, 2).speed < once.speed);
        assert!((repeat_style(own, 5).speed - 1.2 * 0.7).abs() < 1e-4);
    }
}
