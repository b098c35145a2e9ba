//! One outbound collection call from dial to report, as stages:
//!
//! ```text
//! dial -> early media -> robot -> (handoff) -> hang up -> save
//! ```
//!
//! * dial: an RTP socket, the INVITE through the trunk;
//! * early media: what the carrier plays before an answer is listened to,
//!   and a carrier announcement (已关机, 空号) ends the call with its
//!   disposition;
//! * robot ([`RobotCall`]): the conversation on the answered line, which
//!   ends the call or hands it on ([`StageEnd::Handoff`]); a call planned
//!   for an agent skips it ([`agent_first`]);
//! * handoff ([`handoff::hand_over`]): the hand-over line, then the
//!   queue and an agent's browser bridged to the line (or the end, with
//!   no agent desk);
//! * hang up, and save: the stereo recording and the line's figures into
//!   the call's record.

use crate::media::SharedLine;
use crate::media::{MediaEvent, MediaHandle, RtpSocket};
use crate::session::{
    agent_first, handoff, CallRecord, Ear, EarOptions, RobotCall, RobotCallConfig, RobotStage,
    Speaker, StageEnd, TranscriptLine,
};
use crate::sip::{DialStep, Trunk};
use chrono::NaiveDate;
use huikuan_core::call::{EndedBy, Event};
use huikuan_core::{Dialect, Disposition};
use huikuan_dialogue::announce::Announcements;
use huikuan_dialogue::conversation::{CallAccount, Engine};
use huikuan_speech::stream::RecognitionEvent;
use huikuan_speech::SpeechEngines;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

pub struct CallRequest {
    /// The attempt this call is for.
    pub attempt_id: String,
    pub number: String,
    pub caller_id: Option<String>,
    pub account: CallAccount,
    pub dialect: Dialect,
    pub today: NaiveDate,
    /// The agent desk a handed-over call waits at; none: such calls end
    /// after the hand-over line.
    pub handoff: Option<handoff::HandoffLink>,
    /// Planned for an agent: handed to the desk as soon as the debtor
    /// answers, with no robot conversation ([`agent_first`]).
    pub for_agent: bool,
}

pub struct Dialer<'a> {
    pub trunk: &'a Trunk,
    pub engines: &'a SpeechEngines,
    pub dialogue: &'a Engine,
    pub config: RobotCallConfig,
    /// Recordings go here (`DAY/<random>.wav`, see [`recording_name`]);
    /// none when absent.
    pub recordings: Option<PathBuf>,
}

/// What the dialer hears before an answer: the carrier's recordings,
/// judged by the script's announcements.
struct EarlyMedia<'e> {
    announcements: &'e Announcements,
    ear: Option<Ear>,
    heard: Vec<TranscriptLine>,
    announcement: Option<(huikuan_core::Disposition, String)>,
}

impl EarlyMedia<'_> {
    async fn hear(&mut self, samples: &[f32]) -> Vec<RecognitionEvent> {
        match self.ear.as_mut() {
            // Nothing is sent before an answer: no echo to cancel.
            Some(ear) => ear.hear(samples, &[]).await,
            None => Vec::new(),
        }
    }

    /// Keeps what was said; true when it was the first carrier
    /// announcement heard (the call should be cancelled).
    fn take_events(&mut self, events: Vec<RecognitionEvent>) -> bool {
        let mut first = false;
        for ev in events {
            if let RecognitionEvent::Final { text, start_ms, .. } = ev {
                if self.announcement.is_none() {
                    if let Some((d, phrase)) = self.announcements.classify(&text) {
                        self.announcement = Some((d, phrase.to_string()));
                        first = true;
                    }
                }
                self.heard.push(TranscriptLine {
                    speaker: Speaker::Announcement,
                    at_ms: start_ms,
                    text,
                    interrupted: false,
                    intent: Some("early media".into()),
                });
            }
        }
        first
    }

    /// The dial ended: listens to the audio still queued and to the open
    /// utterance.
    async fn finish(&mut self, rx: &mut mpsc::Receiver<MediaEvent>) {
        if self.ear.is_none() || self.announcement.is_some() {
            return;
        }
        while let Ok(event) = rx.try_recv() {
            if let MediaEvent::Audio { samples, .. } = event {
                let events = self.hear(&samples).await;
                self.take_events(events);
            }
        }
        if let Some(ear) = self.ear.as_mut() {
            let events = ear.finish().await;
            self.take_events(events);
        }
    }
}

fn failed(why: String) -> CallRecord {
    CallRecord::ended(Disposition::Failed, why)
}

impl Dialer<'_> {
    pub async fn call(&self, req: CallRequest) -> CallRecord {
        let conversation = match self
            .dialogue
            .start(req.account.clone(), req.dialect, req.today)
        {
            Ok(c) => c,
            Err(e) => return failed(format!("account: {e}")),
        };
        let rtp_ip = self.trunk.local_ip();
        let rtp = match RtpSocket::bind(rtp_ip).await {
            Ok(s) => s,
            Err(e) => return failed(format!("RTP socket: {e}")),
        };
        let local_rtp = match rtp.local_addr() {
            Ok(a) => a,
            Err(e) => return failed(format!("RTP socket: {e}")),
        };
        let mut attempt = match self
            .trunk
            .dial(&req.number, req.caller_id.as_deref(), local_rtp)
            .await
        {
            Ok(a) => a,
            Err(e) => return failed(e.to_string()),
        };
        let mut rtp = Some(rtp);
        let mut media: Option<(MediaHandle, mpsc::Receiver<MediaEvent>)> = None;
        let mut early = EarlyMedia {
            announcements: &self.dialogue.announcements,
            ear: None,
            heard: Vec::new(),
            announcement: None,
        };

        let (call, remote) = loop {
            let step = tokio::select! {
                s = attempt.next() => s,
                e = async {
                    match media.as_mut() {
                        Some((_, rx)) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    if let Some(MediaEvent::Audio { samples, .. }) = e {
                        let events = early.hear(&samples).await;
                        if early.take_events(events) {
                            attempt.cancel().await;
                        }
                    }
                    continue;
                }
            };
            match step {
                DialStep::Progress { early_media, .. } => {
                    if let Some(remote) = early_media {
                        if let Some(sock) = rtp.take() {
                            media = Some(sock.start(remote));
                            early.ear =
                                Ear::new(self.engines, req.dialect, EarOptions::default()).ok();
                        }
                    }
                }
                DialStep::Answered { call, remote } => break (call, remote),
                DialStep::Failed {
                    code,
                    disposition,
                    reason,
                } => {
                    // The call ended (ring timeout, say) while the carrier
                    // may still have been talking: judge by what was heard,
                    // including audio not yet listened to.
                    if let Some((_, rx)) = media.as_mut() {
                        early.finish(rx).await;
                    }
                    let mut record = CallRecord::ended(disposition, reason);
                    let announced = early.announcement.is_some();
                    if let Some((d, phrase)) = early.announcement.take() {
                        record.disposition = d;
                        record.ended_by =
                            Some(format!("carrier announcement in early media: {phrase}"));
                    } else if let Some(c) = code {
                        record.ended_by =
                            Some(format!("SIP {c}: {}", record.ended_by.unwrap_or_default()));
                    }
                    record.transcript = early.heard;
                    let end_ms = media.as_ref().map_or(0, |(m, _)| m.now_ms());
                    record.note(
                        end_ms,
                        Event::Ended {
                            by: if announced {
                                EndedBy::System
                            } else {
                                EndedBy::Network
                            },
                        },
                    );
                    if let Some((m, _)) = &media {
                        record.duration_ms = end_ms;
                        self.save(m, &mut record);
                        m.stop();
                    }
                    return record;
                }
            }
        };
        let (handle, events) = match (media, rtp) {
            (Some((m, rx)), _) => {
                m.update_remote(remote);
                (m, rx)
            }
            (None, Some(sock)) => sock.start(remote),
            (None, None) => return failed("RTP socket lost".into()),
        };
        let mut control = call.spawn();
        let robot = RobotCall {
            conversation,
            dialect: req.dialect,
            config: self.config.clone(),
        };
        let line: SharedLine = Arc::new(handle.clone());
        let RobotStage {
            mut record,
            end,
            mut audio,
        } = if req.for_agent {
            let (record, h) =
                agent_first::start(self.dialogue, req.dialect, &req.account, line.now_ms());
            RobotStage {
                record,
                end: StageEnd::Handoff(h),
                audio: events,
            }
        } else {
            robot
                .run(
                    self.engines,
                    line.clone(),
                    events,
                    Some(&mut control.events),
                )
                .await
        };
        if let StageEnd::Handoff(h) = &end {
            let stage = handoff::HandoffStage {
                engines: self.engines,
                dialogue: self.dialogue,
                dialect: req.dialect,
                link: req.handoff,
            };
            handoff::hand_over(
                stage,
                line,
                &mut audio,
                Some(&mut control.events),
                h,
                &mut record,
            )
            .await;
        }
        let _ = control.hangup.send(());
        handle.stop();
        record.transcript.append(&mut early.heard);
        record.sort();
        self.save(&handle, &mut record);
        record
    }

    fn save(&self, media: &MediaHandle, record: &mut CallRecord) {
        record.figures.media = Some(media.stats());
        let Some(dir) = &self.recordings else { return };
        let name = recording_name(chrono::Utc::now().date_naive());
        let path = dir.join(&name);
        if let Some(day) = path.parent() {
            if let Err(e) = std::fs::create_dir_all(day) {
                tracing::error!(error = %e, dir = %day.display(), "recording directory");
                return;
            }
        }
        match media.save_recording(&path) {
            Ok(_) => record.recording = Some(name),
            Err(e) => tracing::error!(error = %e, path = %path.display(), "saving the recording"),
        }
    }
}

/// A new recording's path inside the recordings directory: the day's
/// folder and a random name (`2026-12-04/7f3c….wav`). Nothing in it says
/// whose call it was: the attempt's row in the database names it.
pub fn recording_name(day: chrono::NaiveDate) -> String {
    format!("{day}/{:032x}.wav", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::recording_name;

    #[test]
    fn recording_names_say_nothing_of_the_call_and_never_collide() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let a = recording_name(day);
        assert!(a.starts_with("2026-12-04/") && a.ends_with(".wav"), "{a}");
        assert_eq!(a.len(), "2026-12-04/".len() + 32 + 4);
        assert_ne!(a, recording_name(day));
    }
}
