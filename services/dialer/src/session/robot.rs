//! The robot stage of one answered call. Line audio is heard ([`Ear`]),
//! each finished debtor turn goes to the dialogue policy, and its reply is
//! spoken ([`Voice`]). The stage ends the call ([`StageEnd::Ended`]), or
//! hands it on when the policy decides a person is needed
//! ([`StageEnd::Handoff`], with the reason and the robot's summary): the
//! debtor's line then stays up for the handoff stage. Around the loop:
//!
//! * Greeting ([`Greeting`]): the robot first listens briefly, and lets a
//!   "喂" it hears starting finish before it opens (a short one is
//!   answered while its words are still being recognised); a greeting
//!   that still cuts into the opening gets the opening again from its
//!   start. A carrier announcement or voicemail greeting
//!   ("您拨打的电话已关机", "请在嘀声后留言") ends the call with its
//!   disposition instead of talking to a recording.
//! * Barge-in: who has the floor, pausing on onsets and stopping on
//!   confirmed speech, is [`super::floor`]. The robot's own voice coming
//!   back on the line is removed before any of this hears it (echo
//!   cancellation), so it never cuts itself off.
//! * Recognition runs beside the call: while a turn is being decoded the
//!   robot keeps playing, pausing and timing; words being decoded are
//!   not silence.
//! * Turns ([`Turns`]): no speech for the timeout after the robot finished
//!   asks "can you hear me?", then ends politely (policy `max_silences`);
//!   each reply's delay from the end of the turn it answers is measured.
//! * The stage ends when the policy reaches an outcome (after its last
//!   line is played), when the debtor hangs up, or at the maximum length.

use super::ear::{Ear, EarOptions};
use super::floor::{Floor, MAX_PAUSE_MS};
use super::voice::Voice;
use crate::media::{MediaEvent, SharedLine};
use crate::sip::CallEvent;
use huikuan_core::call::{CallRecord, EndedBy, Event, Leg, Party, Speaker, TranscriptLine};
use huikuan_core::Dialect;
use huikuan_core::Disposition;
use huikuan_dialogue::conversation::Conversation;
use huikuan_dialogue::policy::Certainty;
use huikuan_speech::stream::RecognitionEvent;
use huikuan_speech::SpeechEngines;
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RobotCallConfig {
    /// Silence that ends a debtor turn.
    pub end_silence_ms: u32,
    /// Listen this long after answer before the opening line.
    pub greeting_wait_ms: u64,
    /// No speech this long after the robot finished: a silence turn.
    pub silence_timeout_ms: u64,
    pub max_call_ms: u64,
    pub barge_in: bool,
    /// Pause the robot's voice after this much possible debtor speech,
    /// before the VAD confirms it (0: stop only on confirmed speech).
    pub barge_in_onset_ms: u32,
    /// Remove the echo of the robot's voice from what it hears.
    pub cancel_echo: bool,
    /// Start recognising a turn after this much quiet (0: only at its end).
    /// It decodes what the end-of-turn decode would, so it only moves the
    /// decode earlier.
    pub speculate_after_ms: u64,
}

impl Default for RobotCallConfig {
    fn default() -> Self {
        RobotCallConfig {
            end_silence_ms: 450,
            greeting_wait_ms: 1200,
            silence_timeout_ms: 6000,
            max_call_ms: 300_000,
            barge_in: true,
            barge_in_onset_ms: 32,
            cancel_echo: true,
            speculate_after_ms: 120,
        }
    }
}

pub struct RobotCall<'e> {
    pub conversation: Conversation<'e>,
    pub dialect: Dialect,
    pub config: RobotCallConfig,
}

/// A call the robot hands on to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    /// Why (`request_human`, `complaint`, ...).
    pub reason: String,
    /// The robot's summary of the conversation so far.
    pub summary: String,
    /// What the robot says while handing over ("这就为您转接人工客服").
    pub line: String,
}

/// How the robot stage ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageEnd {
    /// The call is over: closed by the robot, the debtor or the line.
    Ended,
    /// A person is needed; the debtor's line is still up.
    Handoff(Handoff),
}

/// What the robot stage leaves: the call's record so far, how it ended,
/// and the line's audio for the stage after it.
pub struct RobotStage {
    pub record: CallRecord,
    pub end: StageEnd,
    pub audio: mpsc::Receiver<MediaEvent>,
}

enum Next {
    Continue,
    /// The robot closed the conversation (its last line was said).
    Hangup,
    /// The policy handed the call on.
    Handoff(Handoff),
    /// The call is over without the robot closing it: who ended it, why.
    Gone(EndedBy, String),
}

/// Opening the conversation: when the robot first spoke, and whether a
/// greeting made it say its opening again.
#[derive(Default)]
struct Greeting {
    opened: bool,
    /// The opening was said again after a greeting cut into it.
    reopened: bool,
    opened_at_ms: u64,
}

/// The turns' timing.
#[derive(Default)]
struct Turns {
    /// End of the debtor turn a reply is owed for.
    awaiting_reply_since: Option<u64>,
    /// When the robot last finished speaking or the debtor last spoke.
    quiet_since: u64,
}

struct State<'a, 'e> {
    conv: &'a mut Conversation<'e>,
    dialect: Dialect,
    config: &'a RobotCallConfig,
    voice: Voice,
    line: SharedLine,
    record: CallRecord,
    greeting: Greeting,
    floor: Floor,
    turns: Turns,
    announcement: Option<(Disposition, String)>,
}

/// A greeting heard before the opening no longer than this is answered
/// while it is still being recognised ("喂，你好？" is about a second;
/// a voicemail greeting or a carrier's recording is longer).
const SHORT_GREETING_MS: u64 = 1_600;

/// What the robot's ear hears at a tick.
struct Hearing {
    /// Confirmed speech (VAD).
    speech: bool,
    /// Speech or its possible start (onset detector).
    voice: bool,
    /// The oldest utterance still being recognised (start, end ms).
    decoding: Option<(u64, u64)>,
}

impl Hearing {
    fn of(ear: &Ear) -> Hearing {
        Hearing {
            speech: ear.in_speech(),
            voice: ear.hearing_voice(),
            decoding: ear.decoding(),
        }
    }
}

impl<'e> RobotCall<'e> {
    /// Runs the robot stage until the call ends or is handed on.
    /// `signalling` carries the SIP side (None for a local line); the
    /// caller hangs up when the stage ends the call.
    pub async fn run(
        mut self,
        engines: &SpeechEngines,
        line: SharedLine,
        mut audio: mpsc::Receiver<MediaEvent>,
        mut signalling: Option<&mut mpsc::Receiver<CallEvent>>,
    ) -> RobotStage {
        let options = EarOptions {
            end_silence_ms: Some(self.config.end_silence_ms),
            speculate_after_ms: self.config.speculate_after_ms,
            onset_ms: if self.config.barge_in {
                self.config.barge_in_onset_ms
            } else {
                0
            },
            cancel_echo: self.config.cancel_echo,
            defer_decoding: false,
            low_priority: false,
        };
        let mut ear = match Ear::new(engines, self.dialect, options) {
            Ok(e) => e,
            Err(e) => {
                let mut record =
                    CallRecord::ended(Disposition::Failed, format!("speech engines: {e}"));
                record.outcome = Some(self.conversation.interrupted("no speech engine"));
                return RobotStage {
                    record,
                    end: StageEnd::Ended,
                    audio,
                };
            }
        };
        let (voice, mut queued) = Voice::new(engines.tts.clone(), line.clone());
        let mut st = State {
            conv: &mut self.conversation,
            dialect: self.dialect,
            config: &self.config,
            voice,
            line: line.clone(),
            record: CallRecord::new(Disposition::Failed),
            greeting: Greeting::default(),
            floor: Floor::default(),
            turns: Turns::default(),
            announcement: None,
        };
        st.record.note(line.now_ms(), Event::Answered);
        let mut ticker = tokio::time::interval(Duration::from_millis(100));
        let end = loop {
            let next = tokio::select! {
                e = audio.recv() => match e {
                    Some(e) => st.on_media(e, &mut ear).await,
                    None => Next::Gone(EndedBy::Network, "media stopped".into()),
                },
                q = queued.recv() => {
                    if let Some(q) = q {
                        st.floor.queued(q);
                    }
                    Next::Continue
                }
                e = async {
                    match signalling.as_deref_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => match e {
                    Some(CallEvent::Ended { by_peer, reason }) => Next::Gone(
                        if by_peer { EndedBy::Debtor } else { EndedBy::Network },
                        reason,
                    ),
                    Some(CallEvent::MediaChanged(remote)) => {
                        st.line.update_remote(remote);
                        Next::Continue
                    }
                    Some(CallEvent::Dtmf(key)) => st.on_key(key),
                    None => Next::Gone(EndedBy::Network, "signalling closed".into()),
                },
                _ = ticker.tick() => {
                    // Finals decoded while no audio came in.
                    match st.on_events(ear.ready()) {
                        Next::Continue => st.on_tick(Hearing::of(&ear)),
                        next => next,
                    }
                }
            };
            match next {
                // The recognizer hears the next turn as an answer at the
                // stage the conversation is at now.
                Next::Continue => ear.expect(st.conv.expectation()),
                next => break next,
            }
        };
        st.voice.stop();
        let end_ms = line.now_ms();
        let mut record = std::mem::replace(&mut st.record, CallRecord::new(Disposition::Failed));
        record.duration_ms = end_ms;
        record.figures.echo = ear.echo_stats();
        record.legs.push(Leg {
            party: Party::Robot,
            who: None,
            joined_ms: 0,
            left_ms: Some(end_ms),
        });
        if let Some((d, phrase)) = st.announcement {
            record.disposition = d;
            record.ended_by = Some(format!("carrier announcement: {phrase}"));
            record.note(
                end_ms,
                Event::Ended {
                    by: EndedBy::System,
                },
            );
            record.sort();
            return RobotStage {
                record,
                end: StageEnd::Ended,
                audio,
            };
        }
        let outcome = match (st.conv.outcome().cloned(), &end) {
            (Some(o), _) => o,
            (None, Next::Gone(_, why)) => st.conv.interrupted(why),
            (None, _) => st.conv.interrupted("ended"),
        };
        record.disposition = outcome.disposition;
        let stage_end = match end {
            Next::Handoff(handoff) => {
                record.note(
                    end_ms,
                    Event::HandoffRequested {
                        reason: handoff.reason.clone(),
                    },
                );
                StageEnd::Handoff(handoff)
            }
            Next::Gone(by, why) => {
                record.note(end_ms, Event::Ended { by });
                record.ended_by = Some(why);
                StageEnd::Ended
            }
            _ => {
                record.note(end_ms, Event::Ended { by: EndedBy::Robot });
                StageEnd::Ended
            }
        };
        record.outcome = Some(outcome);
        record.sort();
        RobotStage {
            record,
            end: stage_end,
            audio,
        }
    }
}

impl<'a, 'e> State<'a, 'e> {
    fn say(&mut self, text: &str, closing: bool) {
        if text.trim().is_empty() {
            return;
        }
        let (generation, sentences) = self.voice.say(text, self.dialect);
        let now = self.line.now_ms();
        self.record.note(now, Event::RobotLine);
        self.note_line(Speaker::Robot, text, now, None);
        let index = self.record.transcript.len() - 1;
        self.floor.saying(generation, sentences, index, closing);
    }

    /// A key the debtor pressed (RFC 4733 or SIP INFO). Where the
    /// conversation offers keys it is a turn, answered as a spoken one
    /// is; anywhere else it is only written in the transcript.
    fn on_key(&mut self, key: char) -> Next {
        let now = self.line.now_ms();
        let shown = format!("[DTMF {key}]");
        let turn = if self.greeting.opened && !self.floor.closing() {
            self.conv.reply_key(key)
        } else {
            None
        };
        let Some(turn) = turn else {
            self.note_line(Speaker::Debtor, &shown, now, None);
            return Next::Continue;
        };
        tracing::debug!(key = %key, intent = %turn.intent, "debtor pressed a key");
        self.floor.key_pressed(&self.voice, &mut self.record);
        self.turns.quiet_since = now;
        self.record.note(now, Event::DebtorTurn);
        self.note_debtor(&shown, now, Some(turn.intent.as_str().to_string()));
        // Not timed: response times are from the end of a spoken turn.
        self.turns.awaiting_reply_since = None;
        self.answer(turn)
    }

    fn may_barge_in(&self) -> bool {
        self.floor.may_barge_in(self.config.barge_in, &self.voice)
    }

    async fn on_media(&mut self, e: MediaEvent, ear: &mut Ear) -> Next {
        match e {
            MediaEvent::Audio { samples, sent, .. } => {
                let events = ear.hear(&samples, &sent).await;
                self.on_events(events)
            }
            MediaEvent::Dtmf { key, .. } => self.on_key(key),
            MediaEvent::TalkspurtArrived { .. } => Next::Continue,
            MediaEvent::PlaybackCut { at_ms } => {
                self.floor.playback_cut(at_ms, &mut self.record);
                Next::Continue
            }
            MediaEvent::PlaybackStarted { at_ms, id } => {
                if self.floor.started(id) {
                    if let Some(since) = self.turns.awaiting_reply_since.take() {
                        self.record
                            .figures
                            .response_ms
                            .push(at_ms.saturating_sub(since));
                    }
                }
                Next::Continue
            }
            MediaEvent::PlaybackFinished { at_ms, .. } => {
                if !self.voice.busy() {
                    self.turns.quiet_since = at_ms;
                    if self.floor.closing() {
                        return Next::Hangup;
                    }
                }
                Next::Continue
            }
        }
    }

    fn on_events(&mut self, events: Vec<RecognitionEvent>) -> Next {
        for ev in events {
            match self.on_speech(ev) {
                Next::Continue => {}
                next => return next,
            }
        }
        Next::Continue
    }

    fn on_speech(&mut self, ev: RecognitionEvent) -> Next {
        match ev {
            RecognitionEvent::Onset { at_ms } => {
                let may = self.may_barge_in();
                self.floor.onset(at_ms, may, self.line.as_ref());
                Next::Continue
            }
            RecognitionEvent::SpeechStarted { at_ms } => {
                self.turns.quiet_since = self.line.now_ms();
                let may = self.may_barge_in();
                self.floor.speech_started(
                    at_ms,
                    may,
                    &self.voice,
                    self.line.as_ref(),
                    &mut self.record,
                );
                Next::Continue
            }
            RecognitionEvent::Partial { .. } => Next::Continue,
            RecognitionEvent::Final {
                text,
                start_ms,
                end_ms,
                decode_ms,
                confidence,
                no_speech,
                ..
            } => {
                self.record.figures.decode_ms.push(decode_ms);
                tracing::debug!(
                    %text,
                    confidence,
                    no_speech,
                    start_ms,
                    end_ms,
                    decode_ms,
                    "debtor's turn heard"
                );
                let certainty = Certainty {
                    confidence,
                    no_speech,
                };
                self.on_turn(text, certainty, start_ms, end_ms)
            }
        }
    }

    fn on_turn(&mut self, text: String, certainty: Certainty, start_ms: u64, end_ms: u64) -> Next {
        self.turns.quiet_since = self.line.now_ms();
        let barge = self.floor.take_barge();
        if let Some(b) = &barge {
            if self.conv.engine().policy.is_backchannel(&text) && !b.remaining.is_empty() {
                self.note_debtor(&text, start_ms, Some("backchannel".into()));
                let rest = b.remaining.join("");
                self.say(&rest, false);
                return Next::Continue;
            }
        }
        if self.floor.closing() {
            // The last line is being said; words now change nothing.
            self.note_debtor(&text, start_ms, None);
            return Next::Continue;
        }
        if self.conv.outcome().is_none() && !self.has_debtor_turns() && !text.is_empty() {
            if let Some((d, phrase)) = self.conv.engine().announcements.classify(&text) {
                let a = (d, phrase.to_string());
                self.note_line(
                    Speaker::Announcement,
                    &text,
                    start_ms,
                    Some("announcement".into()),
                );
                self.announcement = Some(a);
                return Next::Hangup;
            }
        }
        let g = &self.greeting;
        if !g.opened || start_ms < g.opened_at_ms {
            // "喂，你好" before the robot spoke: answer it with the opening.
            self.note_debtor(&text, start_ms, Some("greeting".into()));
            // Said over the start of the opening, which it cut: the debtor
            // heard little of it, so it is said again from the start, once
            // (what is said over the second opening is an answer).
            if !self.greeting.opened || (barge.is_some() && !self.greeting.reopened) {
                self.greeting.reopened = self.greeting.opened;
                self.open(Some(end_ms));
            }
            return Next::Continue;
        }
        let turn = self.conv.reply_heard(&text, certainty);
        self.record.note(start_ms, Event::DebtorTurn);
        let shown = if text.trim().is_empty() {
            "[unclear]"
        } else {
            text.as_str()
        };
        self.note_debtor(shown, start_ms, Some(turn.intent.as_str().to_string()));
        self.turns.awaiting_reply_since = Some(end_ms);
        self.answer(turn)
    }

    /// Says the conversation's reply to a debtor turn, closing the call or
    /// handing it on when the reply does.
    fn answer(&mut self, turn: huikuan_dialogue::conversation::Turn) -> Next {
        if let Some(o) = turn
            .outcome
            .as_ref()
            .filter(|o| o.disposition == Disposition::HandedToAgent)
        {
            // A person is needed: the handoff stage says the line.
            return Next::Handoff(Handoff {
                reason: o.handoff_reason.clone().unwrap_or_default(),
                summary: o.summary.clone(),
                line: turn.line.clone(),
            });
        }
        let closing = turn.outcome.is_some();
        if turn.line.trim().is_empty() && closing {
            return Next::Hangup;
        }
        self.say(&turn.line, closing);
        Next::Continue
    }

    fn has_debtor_turns(&self) -> bool {
        self.record
            .transcript
            .iter()
            .any(|l| l.speaker == Speaker::Debtor && l.intent.as_deref() != Some("greeting"))
    }

    fn note_debtor(&mut self, text: &str, at_ms: u64, intent: Option<String>) {
        self.note_line(Speaker::Debtor, text, at_ms, intent);
    }

    fn note_line(&mut self, speaker: Speaker, text: &str, at_ms: u64, intent: Option<String>) {
        self.record.transcript.push(TranscriptLine {
            speaker,
            at_ms,
            text: text.to_string(),
            interrupted: false,
            intent,
        });
    }

    /// Says the opening; the first time, it marks where the debtor's
    /// greeting ends and their answers begin.
    fn open(&mut self, reply_to: Option<u64>) {
        if !self.greeting.opened {
            self.greeting.opened_at_ms = self.line.now_ms();
        }
        self.greeting.opened = true;
        self.turns.awaiting_reply_since = reply_to;
        let line = self.conv.opening();
        self.say(&line, false);
    }

    fn on_tick(&mut self, ear: Hearing) -> Next {
        let now = self.line.now_ms();
        if now >= self.config.max_call_ms {
            return Next::Gone(EndedBy::System, "maximum call length".into());
        }
        self.floor
            .tick(now, ear.voice, self.line.as_ref(), &mut self.record);
        let quiet = !self.voice.busy() && !self.floor.barged() && !ear.speech;
        if !self.greeting.opened {
            // A "喂" just starting (not yet confirmed as speech) is let
            // finish rather than talked over, unless the line never
            // falls quiet.
            let voice_starting = ear.voice && now < self.config.greeting_wait_ms + MAX_PAUSE_MS;
            // A short greeting is answered before its words are known; a
            // longer one may be a recording, which must not be talked to.
            let awaiting_words = ear
                .decoding
                .is_some_and(|(start, end)| end - start > SHORT_GREETING_MS);
            if now >= self.config.greeting_wait_ms && quiet && !voice_starting && !awaiting_words {
                self.open(ear.decoding.map(|(_, end)| end));
            }
            return Next::Continue;
        }
        // Words still being recognised are not silence, nor is a voice
        // just starting (not yet confirmed as speech) when the timeout
        // falls: it is let become speech rather than asked whether it
        // can hear us, unless the line never falls quiet.
        let silent_for = now.saturating_sub(self.turns.quiet_since);
        let voice_starting =
            ear.voice && silent_for < self.config.silence_timeout_ms + MAX_PAUSE_MS;
        if quiet
            && ear.decoding.is_none()
            && !voice_starting
            && silent_for >= self.config.silence_timeout_ms
            && !self.floor.closing()
        {
            self.turns.quiet_since = now;
            let turn = self.conv.silence();
            self.note_line(Speaker::Debtor, "[silence]", now, Some("silence".into()));
            let closing = turn.outcome.is_some();
            self.say(&turn.line, closing);
        }
        Next::Continue
    }
}
