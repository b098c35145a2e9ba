//! A recording heard end to end (the real voice-activity detector, a real
//! speech clip, a recognizer that notes what it is asked): each side's
//! turn is recognized once, however many stretches of speech it has, and
//! the robot's voice is given its call record's words, not recognized.

use huikuan_core::call::{CallRecord, Event, Speaker as Said, TranscriptLine};
use huikuan_core::{Dialect, Disposition};
use huikuan_qa::listen::RobotWords;
use huikuan_qa::{Listener, Recording, Speaker};
use huikuan_speech::asr::{AsrError, RecognizeRequest, Recognizer, Transcript};
use huikuan_speech::audio::{resample, wav};
use huikuan_speech::SpeechConfig;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const RATE: u32 = 8000;

/// Answers "N ms" for each utterance and keeps those lengths.
#[derive(Default)]
struct Noting {
    asked_ms: Mutex<Vec<u64>>,
}

impl Recognizer for Noting {
    fn recognize(&self, req: &RecognizeRequest<'_>) -> Result<Transcript, AsrError> {
        let ms = req.samples.len() as u64 / 16;
        self.asked_ms.lock().unwrap().push(ms);
        Ok(Transcript {
            text: format!("{ms} ms"),
            no_speech_prob: 0.0,
            confidence: 1.0,
            decode_ms: 0,
            nbest: Vec::new(),
        })
    }
    fn describe(&self) -> String {
        "noting".into()
    }
}

fn testdata() -> PathBuf {
    huikuan_speech::eval::speech_testdata()
        .expect("speech test data not found: set HUIKUAN_SPEECH_TESTDATA")
}

fn silence(ms: u64) -> Vec<f32> {
    vec![0.0; (ms * u64::from(RATE) / 1000) as usize]
}

fn ms_of(samples: &[f32]) -> u64 {
    samples.len() as u64 * 1000 / u64::from(RATE)
}

/// The collector says two sentences with a short pause between them (one
/// turn), the debtor answers, the collector says one more. The clip's
/// voice runs from about 0.5 s to 3.45 s of its 4 s, so the pause between
/// the first two is about 1.45 s (about 1.2 s between the detector's
/// stretches): over the detector's 400 ms of silence, within a turn.
struct Call {
    recording: Recording,
    /// Where the debtor's answer ends, ms.
    answer_end_ms: u64,
}

fn call() -> Call {
    let clip = wav::read_mono(&testdata().join("mandarin/aishell1_BAC009S0764W0123.wav")).unwrap();
    let clip = resample::convert(&clip.samples, clip.rate, RATE).unwrap();
    let mut collector = silence(500);
    collector.extend(&clip);
    collector.extend(silence(400));
    collector.extend(&clip);
    let turn_end = ms_of(&collector);
    let mut debtor = silence(turn_end + 800);
    debtor.extend(&clip);
    let answer_end_ms = ms_of(&debtor);
    collector.extend(silence(answer_end_ms + 800 - turn_end));
    collector.extend(&clip);
    collector.extend(silence(500));
    debtor.resize(collector.len(), 0.0);
    Call {
        recording: Recording {
            rate: RATE,
            channels: [collector, debtor],
        },
        answer_end_ms,
    }
}

fn listener(recognizer: Arc<Noting>) -> Listener {
    let speech = SpeechConfig::default();
    Listener {
        recognizer,
        vad: speech.vad(),
        packs: speech.packs().unwrap(),
        use_prompt: speech.use_prompt,
    }
}

#[test]
fn each_turn_is_recognized_once_and_the_robots_voice_is_given_its_words() {
    let call = call();
    let clip_ms = 4_000;

    // Everything recognized.
    let noting = Arc::new(Noting::default());
    let heard = listener(noting.clone())
        .listen(&call.recording, Dialect::Mandarin, &RobotWords::default())
        .unwrap();
    let asked = noting.asked_ms.lock().unwrap().clone();
    // The collector's first turn was heard as (at least) two stretches,
    // and is recognized as one utterance spanning both sentences.
    let first_turn: Vec<_> = heard.speech[0]
        .iter()
        .filter(|(start, _)| *start < call.answer_end_ms)
        .collect();
    assert!(first_turn.len() >= 2, "{:?}", heard.speech[0]);
    assert_eq!(asked.len(), 3, "one decode per turn: {asked:?}");
    let said: Vec<(Speaker, &str)> = heard
        .utterances
        .iter()
        .map(|u| (u.speaker, u.text.as_str()))
        .collect();
    assert_eq!(
        said.iter().map(|s| s.0).collect::<Vec<_>>(),
        [Speaker::Agent, Speaker::Debtor, Speaker::Agent],
        "{said:?}"
    );
    // The first decode holds both sentences and the pause; the others
    // one sentence each.
    let first = &heard.utterances[0];
    assert_eq!(first.text, format!("{} ms", asked[0]));
    assert!(
        asked[0] > 2 * clip_ms - 1_000 && asked[1] < clip_ms + 500 && asked[2] < clip_ms + 500,
        "{asked:?}"
    );
    assert_eq!(
        (first.start_ms, first.end_ms),
        (first_turn[0].0, first_turn[first_turn.len() - 1].1)
    );

    // The robot spoke the first turn (its record says so) until an agent
    // joined after the debtor's answer: only the other two are recognized.
    let mut record = CallRecord::new(Disposition::HandedToAgent);
    record.transcript.push(TranscriptLine {
        speaker: Said::Robot,
        at_ms: 400,
        text: "您好，这里是回款金融。".into(),
        interrupted: false,
        intent: None,
    });
    record.note(
        call.answer_end_ms,
        Event::AgentJoined { agent: "li".into() },
    );
    let noting = Arc::new(Noting::default());
    let heard = listener(noting.clone())
        .listen(
            &call.recording,
            Dialect::Mandarin,
            &RobotWords::from_record(&record),
        )
        .unwrap();
    assert_eq!(noting.asked_ms.lock().unwrap().len(), 2);
    let texts: Vec<&str> = heard.utterances.iter().map(|u| u.text.as_str()).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert_eq!(texts[0], "您好，这里是回款金融。");
    assert_eq!(heard.utterances[0].end_ms, first.end_ms);
}
