//! What one call leaves behind besides its outcome: the timed transcript of
//! both sides and the figures the call measured.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Robot,
    Debtor,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscriptLine {
    pub speaker: Speaker,
    /// Call time (ms since media started) the words began.
    pub at_ms: u64,
    pub text: String,
    /// The robot's line was cut short by the debtor speaking.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// The debtor's words as understood (intent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallReport {
    pub disposition: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<huikuan_dialogue::conversation::Outcome>,
    pub transcript: Vec<TranscriptLine>,
    /// End of each debtor turn to the first robot audio of the reply.
    pub response_ms: Vec<u64>,
    /// Recognizer time for each debtor turn.
    pub decode_ms: Vec<u64>,
    /// Debtor speech start to the first silent tick of the robot's
    /// playback (paused on the onset or stopped), per barge-in, on the
    /// call's tick clock.
    pub barge_in_stop_ms: Vec<u64>,
    /// Pauses on a possible barge-in that the VAD did not confirm (the
    /// robot's line went on).
    pub onsets_resumed: u32,
    /// What the echo canceller did (none when it was off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echo: Option<huikuan_speech::echo::EchoStats>,
    pub duration_ms: u64,
    /// The stereo recording's path inside the recordings directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
    /// RTP figures of the call's media (packets, loss, jitter, playout delay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<crate::media::MediaStats>,
    /// Why the call ended when the robot did not close it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
}

impl CallReport {
    pub fn transcript_text(&self) -> String {
        self.transcript
            .iter()
            .map(|l| {
                let who = match l.speaker {
                    Speaker::Robot => "robot ",
                    Speaker::Debtor => "debtor",
                };
                let cut = if l.interrupted { " [cut]" } else { "" };
                format!("{:>7.1}s {who}: {}{cut}", l.at_ms as f64 / 1000.0, l.text)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
