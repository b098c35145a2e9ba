//! The robot's side of one answered call. Line audio is heard ([`Ear`]),
//! each finished debtor turn goes to the dialogue policy, and its reply is
//! spoken ([`Voice`]). Around that loop:
//!
//! * Greeting: the robot first listens briefly, and lets a "喂" it hears
//!   starting finish before it opens (a short one is answered while its
//!   words are still being recognised); a greeting that still cuts into
//!   the opening gets the opening again from its start. A carrier
//!   announcement or voicemail greeting ("您拨打的电话已关机",
//!   "请在嘀声后留言") ends the call with its disposition instead of
//!   talking to a recording.
//! * Barge-in: the first moments of possible debtor speech during robot
//!   speech pause playback (an onset, [`RobotCallConfig::barge_in_onset_ms`]);
//!   if the VAD does not confirm it as speech (a click, a cough) the line
//!   goes on where it paused. Confirmed speech stops the line; if the
//!   words turn out to be only a backchannel (嗯, 对, 好) the cut line is
//!   resumed from the sentence that was cut, otherwise they are the next
//!   turn. The robot's own voice coming back on the line is removed
//!   before any of this hears it (echo cancellation), so it never cuts
//!   itself off.
//! * Recognition runs beside the call: while a turn is being decoded the
//!   robot keeps playing, pausing and timing; words being decoded are
//!   not silence.
//! * Silence: no speech for the timeout after the robot finished asks
//!   "can you hear me?", then ends politely (policy `max_silences`).
//! * The call ends when the policy reaches an outcome (after its last
//!   line is played), when the debtor hangs up, or at the maximum length.

use super::ear::{Ear, EarOptions};
use super::voice::{Queued, Voice};
use crate::media::{MediaEvent, MediaHandle};
use crate::sip::CallEvent;
use huikuan_core::call::{CallRecord, EndedBy, Event, Leg, Party, Speaker, TranscriptLine};
use huikuan_core::Dialect;
use huikuan_core::Disposition;
use huikuan_dialogue::announce::classify_announcement;
use huikuan_dialogue::conversation::Conversation;
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

/// Only a backchannel: "I'm listening", not a turn.
pub fn is_backchannel(text: &str) -> bool {
    let core: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation() && !"，。！？、…~".contains(*c))
        .collect();
    !core.is_empty()
        && core.len() <= 3
        && core
            .iter()
            .all(|c| "嗯啊哦噢喔呃额唔对係系是好行".contains(*c))
}

/// The line the robot is saying now.
struct Saying {
    generation: u64,
    sentences: Vec<String>,
    /// media id -> sentence index, as sentences reach the line.
    media_ids: Vec<(u64, usize)>,
    /// The sentence playing now.
    playing: usize,
    transcript_index: usize,
    closing: bool,
}

pub struct RobotCall<'e> {
    pub conversation: Conversation<'e>,
    pub dialect: Dialect,
    pub config: RobotCallConfig,
}

enum Next {
    Continue,
    Hangup,
    /// The call is over without the robot closing it: who ended it, why.
    Gone(EndedBy, String),
}

struct State<'a, 'e> {
    conv: &'a mut Conversation<'e>,
    dialect: Dialect,
    config: &'a RobotCallConfig,
    voice: Voice,
    media: MediaHandle,
    record: CallRecord,
    saying: Option<Saying>,
    opened: bool,
    /// The opening was said again after a greeting cut into it.
    reopened: bool,
    opened_at_ms: u64,
    /// End of the debtor turn a reply is owed for.
    awaiting_reply_since: Option<u64>,
    /// When the robot last finished speaking or the debtor last spoke.
    quiet_since: u64,
    barge: Option<Barge>,
    onset: Option<Onset>,
    /// The pause or stop whose timing is still being measured.
    cut: Option<Cut>,
    announcement: Option<(huikuan_core::Disposition, &'static str)>,
}

struct Barge {
    /// The cut line's remaining sentences, for a backchannel.
    remaining: Vec<String>,
}

/// Playback paused on a possible onset, waiting for the VAD's verdict.
struct Onset {
    paused_at_ms: u64,
}

/// Timing one barge-in: from the debtor's speech start (ear time) to the
/// first silent tick on the line, kept once the speech is confirmed.
struct Cut {
    from_ms: u64,
    on_line_ms: Option<u64>,
    confirmed: bool,
}

/// A pause is kept at least this long for the VAD to confirm speech; the
/// line goes on once it has not, and nothing sounds like a voice.
const ONSET_CONFIRM_MS: u64 = 600;

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

/// Sounds that keep the onset detector busy without ever becoming speech
/// (a television, a bad line) hold the robot's voice no longer than this.
const MAX_PAUSE_MS: u64 = 3_000;

impl<'e> RobotCall<'e> {
    /// Runs the call until it ends. `line` carries the SIP side (None for
    /// local audio); the caller hangs up when this returns.
    pub async fn run(
        mut self,
        engines: &SpeechEngines,
        media: MediaHandle,
        mut audio: mpsc::Receiver<MediaEvent>,
        mut line: Option<&mut mpsc::Receiver<CallEvent>>,
    ) -> CallRecord {
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
        };
        let mut ear = match Ear::new(engines, self.dialect, options) {
            Ok(e) => e,
            Err(e) => {
                let mut record =
                    CallRecord::ended(Disposition::Failed, format!("speech engines: {e}"));
                record.outcome = Some(self.conversation.interrupted("no speech engine"));
                return record;
            }
        };
        let (voice, mut queued) = Voice::new(engines.tts.clone(), media.clone());
        let mut st = State {
            conv: &mut self.conversation,
            dialect: self.dialect,
            config: &self.config,
            voice,
            media: media.clone(),
            record: CallRecord::new(Disposition::Failed),
            saying: None,
            opened: false,
            reopened: false,
            opened_at_ms: 0,
            awaiting_reply_since: None,
            quiet_since: 0,
            barge: None,
            onset: None,
            cut: None,
            announcement: None,
        };
        st.record.note(media.now_ms(), Event::Answered);
        let mut ticker = tokio::time::interval(Duration::from_millis(100));
        let ended_by: Option<(EndedBy, String)> = loop {
            let next = tokio::select! {
                e = audio.recv() => match e {
                    Some(e) => st.on_media(e, &mut ear).await,
                    None => Next::Gone(EndedBy::Network, "media stopped".into()),
                },
                q = queued.recv() => {
                    if let Some(q) = q {
                        st.on_queued(q);
                    }
                    Next::Continue
                }
                e = async {
                    match line.as_deref_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => match e {
                    Some(CallEvent::Ended { by_peer, reason }) => Next::Gone(
                        if by_peer { EndedBy::Debtor } else { EndedBy::Network },
                        reason,
                    ),
                    Some(CallEvent::MediaChanged(remote)) => {
                        st.media.update_remote(remote);
                        Next::Continue
                    }
                    Some(CallEvent::Dtmf(key)) => {
                        st.note_dtmf(key);
                        Next::Continue
                    }
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
                Next::Continue => {}
                Next::Hangup => break None,
                Next::Gone(by, why) => break Some((by, why)),
            }
        };
        st.voice.stop();
        let end_ms = media.now_ms();
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
            return record;
        }
        let outcome = match (st.conv.outcome().cloned(), &ended_by) {
            (Some(o), _) => o,
            (None, Some((_, why))) => st.conv.interrupted(why),
            (None, None) => st.conv.interrupted("ended"),
        };
        if let Some(reason) = &outcome.handoff_reason {
            record.note(
                end_ms,
                Event::HandoffRequested {
                    reason: reason.clone(),
                },
            );
        }
        let by = ended_by.as_ref().map_or(EndedBy::Robot, |(by, _)| *by);
        record.note(end_ms, Event::Ended { by });
        record.disposition = outcome.disposition;
        record.outcome = Some(outcome);
        record.ended_by = ended_by.map(|(_, why)| why);
        record.sort();
        record
    }
}

impl<'a, 'e> State<'a, 'e> {
    fn say(&mut self, text: &str, closing: bool) {
        if text.trim().is_empty() {
            return;
        }
        let (generation, sentences) = self.voice.say(text, self.dialect);
        self.record.note(self.media.now_ms(), Event::RobotLine);
        self.record.transcript.push(TranscriptLine {
            speaker: Speaker::Robot,
            at_ms: self.media.now_ms(),
            text: text.to_string(),
            interrupted: false,
            intent: None,
        });
        self.saying = Some(Saying {
            generation,
            sentences,
            media_ids: Vec::new(),
            playing: 0,
            transcript_index: self.record.transcript.len() - 1,
            closing,
        });
    }

    fn on_queued(&mut self, q: Queued) {
        if let Some(s) = self.saying.as_mut() {
            if s.generation == q.generation {
                s.media_ids.push((q.media_id, q.sentence));
            }
        }
    }

    fn note_dtmf(&mut self, key: char) {
        self.record.transcript.push(TranscriptLine {
            speaker: Speaker::Debtor,
            at_ms: self.media.now_ms(),
            text: format!("[DTMF {key}]"),
            interrupted: false,
            intent: None,
        });
    }

    fn closing(&self) -> bool {
        self.saying.as_ref().is_some_and(|s| s.closing)
    }

    async fn on_media(&mut self, e: MediaEvent, ear: &mut Ear) -> Next {
        match e {
            MediaEvent::Audio { samples, sent, .. } => {
                let events = ear.hear(&samples, &sent).await;
                self.on_events(events)
            }
            MediaEvent::Dtmf { key, .. } => {
                self.note_dtmf(key);
                Next::Continue
            }
            MediaEvent::TalkspurtArrived { .. } => Next::Continue,
            MediaEvent::PlaybackCut { at_ms } => {
                if let Some(c) = self.cut.as_mut() {
                    c.on_line_ms.get_or_insert(at_ms);
                }
                self.note_cut();
                Next::Continue
            }
            MediaEvent::PlaybackStarted { at_ms, id } => {
                if let Some(s) = self.saying.as_mut() {
                    if let Some(&(_, idx)) = s.media_ids.iter().find(|(m, _)| *m == id) {
                        s.playing = idx;
                        if idx == 0 {
                            if let Some(since) = self.awaiting_reply_since.take() {
                                self.record
                                    .figures
                                    .response_ms
                                    .push(at_ms.saturating_sub(since));
                            }
                        }
                    }
                }
                Next::Continue
            }
            MediaEvent::PlaybackFinished { at_ms, .. } => {
                if !self.voice.busy() {
                    self.quiet_since = at_ms;
                    if self.closing() {
                        return Next::Hangup;
                    }
                }
                Next::Continue
            }
        }
    }

    fn on_events(&mut self, events: Vec<RecognitionEvent>) -> Next {
        for ev in events {
            if let Next::Hangup = self.on_speech(ev) {
                return Next::Hangup;
            }
        }
        Next::Continue
    }

    fn on_speech(&mut self, ev: RecognitionEvent) -> Next {
        match ev {
            RecognitionEvent::Onset { at_ms } => {
                if self.may_barge_in() && self.onset.is_none() && !self.media.is_paused() {
                    self.media.pause_playback();
                    self.cut = Some(Cut {
                        from_ms: at_ms,
                        on_line_ms: None,
                        confirmed: false,
                    });
                    self.onset = Some(Onset {
                        paused_at_ms: self.media.now_ms(),
                    });
                    tracing::debug!(at_ms, "possible barge-in: playback paused");
                }
                Next::Continue
            }
            RecognitionEvent::SpeechStarted { at_ms } => {
                self.quiet_since = self.media.now_ms();
                let paused = self.onset.take().is_some();
                if self.may_barge_in() {
                    self.barge_in(at_ms, paused);
                } else if paused {
                    self.media.resume_playback();
                    self.cut = None;
                }
                Next::Continue
            }
            RecognitionEvent::Partial { .. } => Next::Continue,
            RecognitionEvent::Final {
                text,
                start_ms,
                end_ms,
                decode_ms,
                ..
            } => {
                self.record.figures.decode_ms.push(decode_ms);
                self.on_turn(text, start_ms, end_ms)
            }
        }
    }

    /// Records a barge-in's stop time once it is both confirmed and on
    /// the line.
    fn note_cut(&mut self) {
        if let Some(Cut {
            from_ms,
            on_line_ms: Some(at),
            confirmed: true,
        }) = self.cut
        {
            self.record
                .figures
                .barge_in_stop_ms
                .push(at.saturating_sub(from_ms));
            self.cut = None;
        }
    }

    fn may_barge_in(&self) -> bool {
        self.config.barge_in && self.voice.busy() && !self.closing()
    }

    /// Confirmed debtor speech during robot speech: the line stops (it
    /// was already paused when an onset came first).
    fn barge_in(&mut self, speech_start_ms: u64, paused: bool) {
        match self.cut.as_mut().filter(|_| paused) {
            Some(c) => c.confirmed = true,
            None => {
                self.cut = Some(Cut {
                    from_ms: speech_start_ms,
                    on_line_ms: None,
                    confirmed: true,
                })
            }
        }
        self.note_cut();
        self.voice.stop();
        let now = self.media.now_ms();
        self.record.note(speech_start_ms, Event::BargeIn);
        if let Some(s) = self.saying.take() {
            if let Some(line) = self.record.transcript.get_mut(s.transcript_index) {
                line.interrupted = true;
            }
            self.barge = Some(Barge {
                remaining: s.sentences[s.playing.min(s.sentences.len())..].to_vec(),
            });
        }
        tracing::debug!(at_ms = now, "barge-in: playback stopped");
    }

    fn on_turn(&mut self, text: String, start_ms: u64, end_ms: u64) -> Next {
        self.quiet_since = self.media.now_ms();
        let barge = self.barge.take();
        if let Some(b) = &barge {
            if is_backchannel(&text) && !b.remaining.is_empty() {
                self.note_debtor(&text, start_ms, Some("backchannel".into()));
                let rest = b.remaining.join("");
                self.say(&rest, false);
                return Next::Continue;
            }
        }
        if self.closing() {
            // The last line is being said; words now change nothing.
            self.note_debtor(&text, start_ms, None);
            return Next::Continue;
        }
        if self.conv.outcome().is_none() && !self.has_debtor_turns() && !text.is_empty() {
            if let Some(a) = classify_announcement(&text) {
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
        if !self.opened || start_ms < self.opened_at_ms {
            // "喂，你好" before the robot spoke: answer it with the opening.
            self.note_debtor(&text, start_ms, Some("greeting".into()));
            // Said over the start of the opening, which it cut: the debtor
            // heard little of it, so it is said again from the start, once
            // (what is said over the second opening is an answer).
            if !self.opened || (barge.is_some() && !self.reopened) {
                self.reopened = self.opened;
                self.open(Some(end_ms));
            }
            return Next::Continue;
        }
        let turn = self.conv.reply(&text);
        self.record.note(start_ms, Event::DebtorTurn);
        let shown = if text.trim().is_empty() {
            "[unclear]"
        } else {
            text.as_str()
        };
        self.note_debtor(shown, start_ms, Some(turn.intent.as_str().to_string()));
        self.awaiting_reply_since = Some(end_ms);
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
        if !self.opened {
            self.opened_at_ms = self.media.now_ms();
        }
        self.opened = true;
        self.awaiting_reply_since = reply_to;
        let line = self.conv.opening();
        self.say(&line, false);
    }

    fn on_tick(&mut self, ear: Hearing) -> Next {
        let now = self.media.now_ms();
        if now >= self.config.max_call_ms {
            return Next::Gone(EndedBy::System, "maximum call length".into());
        }
        if let Some(o) = &self.onset {
            let paused_for = now.saturating_sub(o.paused_at_ms);
            if (paused_for >= ONSET_CONFIRM_MS && !ear.voice) || paused_for >= MAX_PAUSE_MS {
                // Not speech after all (and the debtor is quiet again):
                // the line goes on where it paused.
                self.onset = None;
                self.cut = None;
                self.media.resume_playback();
                self.record.figures.onsets_resumed += 1;
                tracing::debug!(at_ms = now, "no barge-in after all: playback resumed");
            }
        }
        let quiet = !self.voice.busy() && self.barge.is_none() && !ear.speech;
        if !self.opened {
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
        // Words still being recognised are not silence.
        if quiet
            && ear.decoding.is_none()
            && now.saturating_sub(self.quiet_since) >= self.config.silence_timeout_ms
            && self.saying.as_ref().is_none_or(|s| !s.closing)
        {
            self.quiet_since = now;
            let turn = self.conv.silence();
            self.record.transcript.push(TranscriptLine {
                speaker: Speaker::Debtor,
                at_ms: now,
                text: "[silence]".into(),
                interrupted: false,
                intent: Some("silence".into()),
            });
            let closing = turn.outcome.is_some();
            self.say(&turn.line, closing);
        }
        Next::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::is_backchannel;

    #[test]
    fn backchannels_are_short_acknowledgements() {
        for t in ["嗯", "嗯嗯", "对。", "好的", "係", "哦"] {
            if t == "好的" {
                assert!(!is_backchannel(t), "{t}");
            } else {
                assert!(is_backchannel(t), "{t}");
            }
        }
        for t in ["我是", "不是我", "明天还", "嗯我明天还", ""] {
            assert!(!is_backchannel(t), "{t}");
        }
    }
}
