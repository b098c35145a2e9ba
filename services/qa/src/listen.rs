//! A recording heard: each channel cut into stretches of speech by the
//! voice activity detector, each side's turns (stretches apart by short
//! pauses while the other side is quiet) recognized as one utterance with
//! the dialect's settings, and each channel's pitch and loudness tracked
//! where it speaks.
//!
//! A turn is recognized whole rather than sentence by sentence: whisper's
//! encoder costs the same for any utterance up to 8 s, so a turn of three
//! short sentences costs one decode instead of three, and the words of a
//! sentence are read with the sentences around them.

use crate::flag::Speaker;
use crate::prosody::{PitchTracker, VoiceTrack};
use crate::recording::Recording;
use crate::Utterance;
use huikuan_core::Dialect;
use huikuan_speech::asr::{AsrError, RecognizeRequest, Recognizer};
use huikuan_speech::audio::resample;
use huikuan_speech::vad::{Endpointer, VadConfig, VadError, VadEvent, VAD_RATE};
use huikuan_speech::DialectPacks;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(transparent)]
    Vad(#[from] VadError),
    #[error(transparent)]
    Asr(#[from] AsrError),
    #[error("resampling the recording: {0}")]
    Resample(String),
}

/// What was heard on both channels.
#[derive(Debug, Clone, Default)]
pub struct HeardCall {
    pub duration_ms: u64,
    /// Both sides' utterances in order of their start.
    pub utterances: Vec<Utterance>,
    /// Where each side spoke, [collector, debtor].
    pub speech: [Vec<(u64, u64)>; 2],
    pub voices: [VoiceTrack; 2],
}

/// The robot's words as its call record has them: each line it was told
/// to say and when (ms into the call), up to when a person took over the
/// collector's channel. A robot line's voice starts a little after its
/// time (synthesis) and may pause between sentences, so each stretch of
/// speech on the collector's channel belongs to the latest line begun
/// by its start.
#[derive(Debug, Clone, Default)]
pub struct RobotWords {
    pub lines: Vec<(u64, String)>,
    /// The collector's channel is a person's from here (an agent joined).
    pub until_ms: u64,
}

/// How early a stretch of the robot's voice may seem to start before its
/// line's time (the voice-activity detector's onset).
const ROBOT_LEAD_MS: u64 = 200;

impl RobotWords {
    /// From a call record: its robot lines, until an agent joined.
    pub fn from_record(record: &huikuan_core::call::CallRecord) -> RobotWords {
        use huikuan_core::call::{Event, Speaker as Said};
        let mut lines: Vec<(u64, String)> = record
            .transcript
            .iter()
            .filter(|l| l.speaker == Said::Robot && !l.text.trim().is_empty())
            .map(|l| (l.at_ms, l.text.clone()))
            .collect();
        lines.sort_by_key(|l| l.0);
        let until_ms = record
            .timeline
            .iter()
            .filter(|e| matches!(e.event, Event::AgentJoined { .. }))
            .map(|e| e.at_ms)
            .min()
            .unwrap_or(u64::MAX);
        RobotWords { lines, until_ms }
    }

    /// The line a stretch of the collector's speech starting at
    /// `start_ms` is the voice of, if the robot's.
    fn line_of(&self, start_ms: u64) -> Option<usize> {
        if start_ms >= self.until_ms {
            return None;
        }
        self.lines
            .iter()
            .rposition(|(at, _)| *at <= start_ms + ROBOT_LEAD_MS)
    }
}

/// The engines that hear a recording, loaded once per process.
pub struct Listener {
    pub recognizer: Arc<dyn Recognizer>,
    pub vad: VadConfig,
    pub packs: DialectPacks,
    pub use_prompt: bool,
}

impl Listener {
    /// The endpointer's settings for a recording already whole: short
    /// pauses end an utterance, so a side's speech is where it was.
    fn vad_config(&self) -> VadConfig {
        VadConfig {
            end_silence_ms: 400,
            min_speech_ms: 200,
            max_speech_ms: 20_000,
            onset_ms: 0,
            ..self.vad.clone()
        }
    }

    /// Hears `recording`; the collector's speech that `robot` says was
    /// the robot's is given its line's words instead of being recognized.
    pub fn listen(
        &self,
        recording: &Recording,
        dialect: Dialect,
        robot: &RobotWords,
    ) -> Result<HeardCall, ListenError> {
        let pack = self.packs.get(dialect);
        let prompt = if self.use_prompt {
            pack.asr_prompt()
        } else {
            String::new()
        };
        let mut heard = HeardCall {
            duration_ms: recording.duration_ms(),
            ..HeardCall::default()
        };
        let mut tracker = PitchTracker::new();
        // Where the time goes, for the logs: [voice activity, recognition,
        // pitch] in ms.
        let mut spent = [0u128; 3];
        // Each side's speech first: where one side's turn ends depends on
        // when the other speaks.
        let mut audio: [Vec<f32>; 2] = Default::default();
        for speaker in Speaker::BOTH {
            let started = std::time::Instant::now();
            let ch = speaker.channel();
            audio[ch] = resample::convert(&recording.channels[ch], recording.rate, VAD_RATE)
                .map_err(|e| ListenError::Resample(e.to_string()))?;
            let mut vad = Endpointer::new(self.vad_config())?;
            let mut events = Vec::new();
            for block in audio[ch].chunks(512) {
                events.extend(vad.push(block));
            }
            events.extend(vad.flush());
            heard.speech[ch] = events
                .into_iter()
                .filter_map(|e| match e {
                    VadEvent::SpeechEnd {
                        start_ms, end_ms, ..
                    } => Some((start_ms, end_ms)),
                    _ => None,
                })
                .collect();
            spent[0] += started.elapsed().as_millis();
        }
        for speaker in Speaker::BOTH {
            let started = std::time::Instant::now();
            let ch = speaker.channel();
            let other = &heard.speech[1 - ch];
            let mut said = Vec::new();
            // The robot line the last stretch came from.
            let mut last_line: Option<usize> = None;
            // Stretches of this side's turn not yet recognized.
            let mut turn: Option<(u64, u64)> = None;
            let words =
                |t: (u64, u64)| self.recognize(&audio[ch], t, speaker, &pack.asr.language, &prompt);
            for &(start_ms, end_ms) in &heard.speech[ch] {
                let line = match speaker {
                    Speaker::Agent => robot.line_of(start_ms),
                    Speaker::Debtor => None,
                };
                if let Some(i) = line {
                    if let Some(t) = turn.take() {
                        said.extend(words(t)?);
                    }
                    if last_line == Some(i) {
                        if let Some(u) = said.last_mut() {
                            u.end_ms = end_ms;
                        }
                    } else {
                        said.push(Utterance {
                            speaker,
                            start_ms,
                            end_ms,
                            text: robot.lines[i].1.clone(),
                        });
                        last_line = Some(i);
                    }
                    continue;
                }
                last_line = None;
                turn = match turn {
                    Some(t) if same_turn(t, (start_ms, end_ms), other) => Some((t.0, end_ms)),
                    Some(t) => {
                        said.extend(words(t)?);
                        Some((start_ms, end_ms))
                    }
                    None => Some((start_ms, end_ms)),
                };
            }
            if let Some(t) = turn {
                said.extend(words(t)?);
            }
            heard.utterances.extend(said);
            spent[1] += started.elapsed().as_millis();
            let started = std::time::Instant::now();
            heard.voices[ch] =
                tracker.track(&recording.channels[ch], recording.rate, &heard.speech[ch]);
            spent[2] += started.elapsed().as_millis();
        }
        tracing::debug!(
            audio_ms = heard.duration_ms,
            vad_ms = spent[0],
            asr_ms = spent[1],
            pitch_ms = spent[2],
            "recording heard"
        );
        heard
            .utterances
            .sort_by_key(|u| (u.start_ms, u.speaker.channel()));
        Ok(heard)
    }

    /// The words of `audio` (16 kHz) from `from` to `until` ms, if any.
    fn recognize(
        &self,
        audio: &[f32],
        (from, until): (u64, u64),
        speaker: Speaker,
        language: &str,
        prompt: &str,
    ) -> Result<Option<Utterance>, ListenError> {
        let per_ms = (VAD_RATE / 1000) as usize;
        let end = (until as usize * per_ms).min(audio.len());
        let start = (from as usize * per_ms).min(end);
        let t = self.recognizer.recognize(&RecognizeRequest {
            samples: &audio[start..end],
            language,
            prompt,
            threads: None,
            cancelled: None,
            answers: &[],
        })?;
        if t.text.trim().is_empty() {
            return Ok(None);
        }
        Ok(Some(Utterance {
            speaker,
            start_ms: from,
            end_ms: until,
            text: t.text,
        }))
    }
}

/// A pause of one side no longer than this, with the other side quiet in
/// it, is within a turn: the turn is recognized as one utterance. (The
/// detector's stretches end about 0.2 s after the voice, so this is a
/// spoken pause of up to about 1.7 s: someone thinking between sentences,
/// not someone waiting for an answer that does not come.)
pub const TURN_PAUSE_MS: u64 = 1_500;

/// A turn is cut for recognition once it is this long (whisper's encoder
/// costs the same for any utterance up to 8 s, and more beyond).
pub const TURN_MAX_MS: u64 = 12_000;

/// Whether `next` (a stretch of one side's speech) goes on the turn
/// `turn` of the same side: a short pause, the other side (`other`'s
/// stretches) quiet in it, and the turn not too long.
fn same_turn(turn: (u64, u64), next: (u64, u64), other: &[(u64, u64)]) -> bool {
    let (pause_from, pause_until) = (turn.1, next.0);
    pause_until.saturating_sub(pause_from) <= TURN_PAUSE_MS
        && next.1.saturating_sub(turn.0) <= TURN_MAX_MS
        && !other
            .iter()
            .any(|&(s, e)| s < pause_until && e > pause_from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use huikuan_core::call::{CallRecord, Event, Speaker as Said, TranscriptLine};
    use huikuan_core::Disposition;

    #[test]
    fn a_turn_goes_on_over_short_pauses_while_the_other_side_is_quiet() {
        let quiet: &[(u64, u64)] = &[];
        // Sentences 1.2 s apart: one turn.
        assert!(same_turn((1_000, 3_000), (4_200, 5_000), quiet));
        // A pause longer than a turn's: the next turn.
        assert!(!same_turn((1_000, 3_000), (4_600, 5_000), quiet));
        // The other side spoke in the pause, even briefly: a new turn.
        assert!(!same_turn(
            (1_000, 3_000),
            (3_600, 5_000),
            &[(3_200, 3_400)]
        ));
        // The other side talking over the sentences themselves does not
        // cut the turn; only speech in the pause does.
        assert!(same_turn(
            (1_000, 3_000),
            (3_600, 5_000),
            &[(2_000, 2_900), (3_700, 4_000)]
        ));
        // Too long a turn is cut.
        assert!(!same_turn((1_000, 11_000), (11_500, 13_500), quiet));
        assert!(same_turn((1_000, 11_000), (11_500, 13_000), quiet));
    }

    #[test]
    fn the_robots_speech_is_given_its_lines_words_until_an_agent_joins() {
        let mut record = CallRecord::new(Disposition::HandedToAgent);
        for (speaker, at_ms, text) in [
            (Said::Robot, 500, "您好，这里是回款金融。"),
            (Said::Debtor, 4000, "你好。"),
            (Said::Robot, 6000, "请问您是王先生本人吗？"),
            (Said::Robot, 20_000, "好的，马上为您转人工。"),
            (Said::Agent, 31_000, "王先生您好，我是客服小李。"),
        ] {
            record.transcript.push(TranscriptLine {
                speaker,
                at_ms,
                text: text.into(),
                interrupted: false,
                intent: None,
            });
        }
        record.note(30_000, Event::AgentJoined { agent: "li".into() });
        let robot = RobotWords::from_record(&record);
        assert_eq!(robot.lines.len(), 3);
        assert_eq!(robot.until_ms, 30_000);
        // Before the first line: not the robot's (someone else on the line).
        assert_eq!(robot.line_of(100), None);
        // The voice starts after its line's time, or just before it.
        assert_eq!(robot.line_of(900), Some(0));
        assert_eq!(robot.line_of(5_900), Some(1));
        assert_eq!(robot.line_of(9_000), Some(1), "a second sentence of it");
        assert_eq!(robot.line_of(21_000), Some(2));
        // The agent's channel after they joined is heard, never assumed.
        assert_eq!(robot.line_of(31_000), None);
        assert_eq!(RobotWords::default().line_of(900), None);
    }
}
