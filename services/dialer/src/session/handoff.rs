//! The handoff stage: the robot stage decided the debtor needs a person
//! ([`super::StageEnd::Handoff`]). The robot says the hand-over line in
//! the debtor's dialect on the same line and the call ends as handed to
//! an agent. (When agents take calls in the console, this stage will keep
//! the line up while the call waits for one and bridge it to them.)

use super::robot::Handoff;
use super::voice::Voice;
use crate::media::{MediaEvent, SharedLine};
use crate::sip::CallEvent;
use huikuan_core::call::{CallRecord, EndedBy, Event, Party, Speaker, TranscriptLine};
use huikuan_core::Dialect;
use huikuan_speech::SpeechEngines;
use std::time::Duration;
use tokio::sync::mpsc;

/// The longest the hand-over line may take before the call ends anyway.
const LINE_LIMIT: Duration = Duration::from_secs(30);

/// Says `handoff.line` and ends the call; the record gets the line, the
/// time the robot left and who ended the call.
pub async fn hand_over(
    engines: &SpeechEngines,
    line: SharedLine,
    audio: &mut mpsc::Receiver<MediaEvent>,
    mut signalling: Option<&mut mpsc::Receiver<CallEvent>>,
    dialect: Dialect,
    handoff: &Handoff,
    record: &mut CallRecord,
) {
    let (voice, mut queued) = Voice::new(engines.tts.clone(), line.clone());
    let now = line.now_ms();
    if !handoff.line.trim().is_empty() {
        voice.say(&handoff.line, dialect);
        record.note(now, Event::RobotLine);
        record.transcript.push(TranscriptLine {
            speaker: Speaker::Robot,
            at_ms: now,
            text: handoff.line.clone(),
            interrupted: false,
            intent: None,
        });
    }
    let limit = tokio::time::sleep(LINE_LIMIT);
    tokio::pin!(limit);
    let by = loop {
        if !voice.busy() {
            break EndedBy::Robot;
        }
        tokio::select! {
            e = audio.recv() => {
                if e.is_none() {
                    break EndedBy::Network;
                }
            }
            _ = queued.recv() => {}
            e = async {
                match signalling.as_deref_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => match e {
                Some(CallEvent::Ended { by_peer: true, .. }) => break EndedBy::Debtor,
                Some(CallEvent::Ended { .. }) | None => break EndedBy::Network,
                Some(CallEvent::MediaChanged(remote)) => line.update_remote(remote),
                Some(CallEvent::Dtmf(_)) => {}
            },
            _ = &mut limit => break EndedBy::System,
        }
    };
    voice.stop();
    let end_ms = line.now_ms();
    if let Some(robot) = record.legs.iter_mut().find(|l| l.party == Party::Robot) {
        robot.left_ms = Some(end_ms);
    }
    record.duration_ms = end_ms;
    record.note(end_ms, Event::Ended { by });
    record.sort();
}
