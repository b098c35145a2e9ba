//! Who has the floor on a call, and barge-in: the robot's line being said,
//! a possible debtor onset pausing it, confirmed speech stopping it, and
//! the timing of each stop as the debtor hears it.
//!
//! The first moments of possible debtor speech during robot speech pause
//! playback (an onset, [`super::RobotCallConfig::barge_in_onset_ms`]); if
//! the VAD does not confirm it as speech (a click, a cough) within
//! [`ONSET_CONFIRM_MS`] and nothing sounds like a voice, the line goes on
//! where it paused. Confirmed speech stops the line; if the words turn
//! out to be only a backchannel (嗯, 对, 好) the cut line is resumed from
//! the sentence that was cut, otherwise they are the next turn.

use super::voice::{Queued, Voice};
use crate::media::Line;
use huikuan_core::call::{CallRecord, Event};

/// A pause is kept at least this long for the VAD to confirm speech; the
/// line goes on once it has not, and nothing sounds like a voice.
pub const ONSET_CONFIRM_MS: u64 = 600;

/// Sounds that keep the onset detector busy without ever becoming speech
/// (a television, a bad line) hold the robot's voice no longer than this.
pub const MAX_PAUSE_MS: u64 = 3_000;

/// The line the robot is saying now.
pub struct Saying {
    generation: u64,
    pub sentences: Vec<String>,
    /// media id -> sentence index, as sentences reach the line.
    media_ids: Vec<(u64, usize)>,
    /// The sentence playing now.
    playing: usize,
    transcript_index: usize,
    pub closing: bool,
}

/// A line cut by the debtor: what was left of it, for a backchannel.
pub struct Barge {
    pub remaining: Vec<String>,
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

#[derive(Default)]
pub struct Floor {
    saying: Option<Saying>,
    /// The robot's last line was cut by confirmed speech.
    barge: Option<Barge>,
    onset: Option<Onset>,
    /// The pause or stop whose timing is still being measured.
    cut: Option<Cut>,
}

impl Floor {
    /// The robot starts saying a line (its transcript line is
    /// `transcript_index`).
    pub fn saying(
        &mut self,
        generation: u64,
        sentences: Vec<String>,
        transcript_index: usize,
        closing: bool,
    ) {
        self.saying = Some(Saying {
            generation,
            sentences,
            media_ids: Vec::new(),
            playing: 0,
            transcript_index,
            closing,
        });
    }

    /// The robot's closing line is being said (words change nothing now).
    pub fn closing(&self) -> bool {
        self.saying.as_ref().is_some_and(|s| s.closing)
    }

    /// The line cut by the debtor's last barge-in, taken.
    pub fn take_barge(&mut self) -> Option<Barge> {
        self.barge.take()
    }

    pub fn barged(&self) -> bool {
        self.barge.is_some()
    }

    /// A sentence of the current line reached the media queue.
    pub fn queued(&mut self, q: Queued) {
        if let Some(s) = self.saying.as_mut() {
            if s.generation == q.generation {
                s.media_ids.push((q.media_id, q.sentence));
            }
        }
    }

    /// A queued sentence started playing; true when it was the line's
    /// first (the reply is being heard).
    pub fn started(&mut self, media_id: u64) -> bool {
        let Some(s) = self.saying.as_mut() else {
            return false;
        };
        match s.media_ids.iter().find(|(m, _)| *m == media_id) {
            Some(&(_, idx)) => {
                s.playing = idx;
                idx == 0
            }
            None => false,
        }
    }

    pub fn may_barge_in(&self, enabled: bool, voice: &Voice) -> bool {
        enabled && voice.busy() && !self.closing()
    }

    /// Possible speech began (`at_ms`, ear time): the line pauses.
    pub fn onset(&mut self, at_ms: u64, may_barge_in: bool, line: &dyn Line) {
        if may_barge_in && self.onset.is_none() && !line.is_paused() {
            line.pause_playback();
            self.cut = Some(Cut {
                from_ms: at_ms,
                on_line_ms: None,
                confirmed: false,
            });
            self.onset = Some(Onset {
                paused_at_ms: line.now_ms(),
            });
            tracing::debug!(at_ms, "possible barge-in: playback paused");
        }
    }

    /// The VAD confirmed speech starting at `at_ms`: over the robot, it
    /// stops the line; otherwise a pause for an onset is lifted.
    pub fn speech_started(
        &mut self,
        at_ms: u64,
        may_barge_in: bool,
        voice: &Voice,
        line: &dyn Line,
        record: &mut CallRecord,
    ) {
        let paused = self.onset.take().is_some();
        if may_barge_in {
            self.barge_in(at_ms, paused, voice, line, record);
        } else if paused {
            line.resume_playback();
            self.cut = None;
        }
    }

    /// Confirmed debtor speech during robot speech: the line stops (it
    /// was already paused when an onset came first).
    fn barge_in(
        &mut self,
        speech_start_ms: u64,
        paused: bool,
        voice: &Voice,
        line: &dyn Line,
        record: &mut CallRecord,
    ) {
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
        self.note_cut(record);
        voice.stop();
        record.note(speech_start_ms, Event::BargeIn);
        if let Some(s) = self.saying.take() {
            if let Some(l) = record.transcript.get_mut(s.transcript_index) {
                l.interrupted = true;
            }
            self.barge = Some(Barge {
                remaining: s.sentences[s.playing.min(s.sentences.len())..].to_vec(),
            });
        }
        tracing::debug!(at_ms = line.now_ms(), "barge-in: playback stopped");
    }

    /// The debtor pressed a key that answers the robot (a key menu is
    /// often answered before it is finished): the line being said stops,
    /// as words would stop it, and a pause for an onset ends with it.
    pub fn key_pressed(&mut self, voice: &Voice, record: &mut CallRecord) {
        self.onset = None;
        self.cut = None;
        if let Some(s) = self.saying.take() {
            if voice.busy() {
                voice.stop();
                if let Some(l) = record.transcript.get_mut(s.transcript_index) {
                    l.interrupted = true;
                }
            }
        }
    }

    /// The line fell silent (paused or stopped) on this tick.
    pub fn playback_cut(&mut self, at_ms: u64, record: &mut CallRecord) {
        if let Some(c) = self.cut.as_mut() {
            c.on_line_ms.get_or_insert(at_ms);
        }
        self.note_cut(record);
    }

    /// Records a barge-in's stop time once it is both confirmed and on
    /// the line.
    fn note_cut(&mut self, record: &mut CallRecord) {
        if let Some(Cut {
            from_ms,
            on_line_ms: Some(at),
            confirmed: true,
        }) = self.cut
        {
            record
                .figures
                .barge_in_stop_ms
                .push(at.saturating_sub(from_ms));
            self.cut = None;
        }
    }

    /// On the robot's tick: a pause that did not become speech (and the
    /// debtor is quiet again, or it has lasted too long) lets the line go
    /// on where it paused.
    pub fn tick(
        &mut self,
        now: u64,
        hearing_voice: bool,
        line: &dyn Line,
        record: &mut CallRecord,
    ) {
        if let Some(o) = &self.onset {
            let paused_for = now.saturating_sub(o.paused_at_ms);
            if (paused_for >= ONSET_CONFIRM_MS && !hearing_voice) || paused_for >= MAX_PAUSE_MS {
                self.onset = None;
                self.cut = None;
                line.resume_playback();
                record.figures.onsets_resumed += 1;
                tracing::debug!(at_ms = now, "no barge-in after all: playback resumed");
            }
        }
    }
}
